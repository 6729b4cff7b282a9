//! What a villager files is never lost to a clash of tracking numbers, what is said about texts
//! is true, texts about a report (举报) stay with those who may read it, and codes and tracking
//! numbers cannot be tried at speed. Every scenario runs on SQLite and PostgreSQL.

use xiaowei_core::Role;
use xiaowei_core::alert::AlertKind;
use xiaowei_core::{message, service};
use xiaowei_store::AlertFilter;

use crate::helpers::{TestApp, both_backends, hidden};

const NANCHA: &str = "620922100200";

fn location(r: &reqwest::Response) -> String {
    r.headers()["location"].to_str().unwrap().to_owned()
}

/// Opens the 留言箱 form for `kind` and posts it as a villager.
async fn leave(app: &TestApp, client: &reqwest::Client, kind: &str, body: &str) -> reqwest::Response {
    let page = client
        .get(app.url(&format!("/t/620922100/messages/new?kind={kind}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let key = hidden(&page, "form_key").unwrap();
    let csrf = page.split("csrf=").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let form = reqwest::multipart::Form::new()
        .text("form_key", key)
        .text("kind", kind.to_owned())
        .text("place", NANCHA)
        .text("body", body.to_owned());
    client.post(app.url(&format!("/t/620922100/messages/new?csrf={csrf}"))).multipart(form).send().await.unwrap()
}

/// Files a 反映问题 from the self-query's form for our village; returns the response.
async fn object(app: &TestApp, client: &reqwest::Client) -> reqwest::Response {
    let page =
        client.get(app.url(&format!("/objections/new?village={NANCHA}"))).send().await.unwrap().text().await.unwrap();
    let fields = [
        ("csrf", hidden(&page, "csrf").unwrap()),
        ("form_key", hidden(&page, "form_key").unwrap()),
        ("village", NANCHA.to_owned()),
        ("name", "赵六".to_owned()),
        ("phone", "13900001111".to_owned()),
        ("body", "我家2021年的补贴没有收到，请核实".to_owned()),
    ];
    client.post(app.url("/objections/new")).form(&fields).send().await.unwrap()
}

both_backends!(a_clashing_tracking_number_or_code_is_drawn_again, |app: TestApp| async move {
    let ([item, _], _) = crate::services::seed_cases(&app).await;
    let villager = TestApp::client();
    let now = app.state.now();

    // The second application draws the first one's number, then a free one.
    app.state.queue_draws(&[1, 1, 2]);
    let first = crate::services::apply(&app, &villager, item, &crate::services::GOOD, None).await;
    let second = crate::services::apply(&app, &villager, item, &crate::services::GOOD, None).await;
    assert_eq!((first.status().as_u16(), second.status().as_u16()), (303, 303));
    assert!(location(&first).starts_with(&format!("/cases/{}?", service::tracking_number(now, 1))));
    assert!(location(&second).starts_with(&format!("/cases/{}?", service::tracking_number(now, 2))));

    app.state.queue_draws(&[7, 7, 8]);
    let first = leave(&app, &villager, "question", "村里的路灯坏了好几天了").await;
    let second = leave(&app, &villager, "question", "村口的水渠堵了需要清理").await;
    assert_eq!((first.status().as_u16(), second.status().as_u16()), (303, 303));
    assert!(location(&first).starts_with(&format!("/messages/{}?", message::tracking_number(now, 7))));
    assert!(location(&second).starts_with(&format!("/messages/{}?", message::tracking_number(now, 8))));

    // Objection codes: 5 and 6 are the codes FAAAAAAA and GAAAAAAA.
    app.state.queue_draws(&[5, 5, 6]);
    let first = object(&app, &villager).await;
    let second = object(&app, &villager).await;
    assert_eq!((first.status().as_u16(), second.status().as_u16()), (303, 303));
    assert_eq!(
        (location(&first).as_str(), location(&second).as_str()),
        ("/objections/FAAAAAAA?new=1", "/objections/GAAAAAAA?new=1")
    );
    assert_eq!(app.state.store().objections_within(NANCHA, 10, 0).await.unwrap().len(), 2);
});

both_backends!(a_duplicate_names_its_field, |app: TestApp| async move {
    let clerk = app.login_as(Role::VillageClerk).await;
    let path = "/staff/orgs/620922100200001/households";
    let fields = [("household_no", "HX-001"), ("head_name", "测试"), ("members", "2")];
    assert_eq!(app.post_form(&clerk, path, &fields).await.status(), 303);
    let again = app.post_form(&clerk, path, &fields).await;
    assert_eq!(again.status(), 409);
    assert!(again.text().await.unwrap().contains("户号：该户号已登记"));
});

both_backends!(texts_about_a_report_are_listed_only_to_the_commission, |app: TestApp| async move {
    let store = app.state.store();
    let cipher = app.state.cipher();
    for (username, phone) in [("supervisor", "13909379999"), ("township_reviewer", "13909379998")] {
        let id = store.find_staff_by_username(username).await.unwrap().unwrap().id;
        store.set_staff_phone(id, Some((&cipher.encrypt(phone), &cipher.blind_index("phone", phone)))).await.unwrap();
    }
    let villager = TestApp::client();
    let sent = leave(&app, &villager, "report", "村主任虚报冒领低保资金，请查处").await;
    assert_eq!(sent.status().as_u16(), 200, "an anonymous report is shown its query password");
    let report = store
        .messages(
            &xiaowei_store::MessageFilter {
                org_prefix: "620922".into(),
                include_reports: true,
                kind: Some(xiaowei_core::message::MessageKind::Report),
                status: None,
                overdue_only: false,
                open_only: false,
            },
            10,
            0,
        )
        .await
        .unwrap()
        .0
        .remove(0);
    let texts = store.message_outbox(report.id).await.unwrap();
    assert!(!texts.is_empty(), "the commission is texted");

    let admin = app.login_as(Role::CountyAdmin).await;
    let page = admin.get(app.url("/staff/outbox")).send().await.unwrap().text().await.unwrap();
    assert!(!page.contains(&report.tracking) && !page.contains("举报"), "the county admin sees report texts");
    let retry = app.post_form(&admin, &format!("/staff/outbox/{}/retry", texts[0].id), &[]).await;
    assert_eq!(retry.status(), 404);

    let supervisor = app.login_as(Role::Supervisor).await;
    let page = supervisor.get(app.url("/staff/outbox")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains(&report.tracking), "the commission reads its own texts");
    assert_eq!(store.outbox_counts(false).await.unwrap().pending, 0);
    assert_eq!(store.outbox_counts(true).await.unwrap().pending, i64::try_from(texts.len()).unwrap());
});

both_backends!(codes_and_tracking_numbers_cannot_be_tried_at_speed, |app: TestApp| async move {
    let guesser = TestApp::client();
    let mut statuses = Vec::new();
    for n in 0..61 {
        statuses.push(guesser.get(app.url(&format!("/objections/ZZ{n:06}"))).send().await.unwrap().status().as_u16());
    }
    assert!(statuses[..60].iter().all(|s| *s == 404), "{statuses:?}");
    let refused = guesser.get(app.url("/objections/ZZZZZZZZ")).send().await.unwrap();
    assert_eq!(refused.status(), 429);
    assert!(refused.text().await.unwrap().contains("查询过于频繁"));

    for (form, tracking) in [("/cases", "BJ20251009000001"), ("/messages", "LY20251009000001")] {
        let page = guesser.get(app.url(form)).send().await.unwrap().text().await.unwrap();
        let csrf = hidden(&page, "csrf").unwrap_or_default();
        let mut last = 0;
        for _ in 0..31 {
            let fields = [
                ("csrf", csrf.as_str()),
                ("tracking", tracking),
                ("phone", "13712345678"),
                ("credential", "13712345678"),
            ];
            last = guesser.post(app.url(form)).form(&fields).send().await.unwrap().status().as_u16();
        }
        assert_eq!(last, 429, "{form}");
    }
});

both_backends!(the_timeline_says_a_text_was_sent_only_when_one_was, |app: TestApp| async move {
    let store = app.state.store();
    let villager = TestApp::client();
    // No one in reach has a phone: nothing is queued, the timeline says so, and one alert is raised.
    let first = leave(&app, &villager, "question", "村里的路灯坏了好几天了").await;
    let second = leave(&app, &villager, "question", "村口的水渠堵了需要清理").await;
    let page = villager.get(app.url(&location(&first))).send().await.unwrap().text().await.unwrap();
    assert!(!page.contains("已短信通知"), "{page}");
    assert!(page.contains("暂未找到可接收短信的承办人员"));
    assert_eq!(second.status(), 303);
    let filter = AlertFilter {
        org_prefix: "620922".into(),
        include_restricted: true,
        kind: Some(AlertKind::UnroutedMessage),
        status: None,
    };
    let (alerts, total) = store.alerts(&filter, 10, 0).await.unwrap();
    assert_eq!(total, 1, "one alert per township and kind, not per message");
    assert!(alerts[0].summary.contains("咨询留言") && alerts[0].summary.contains("无人接收"));

    // Once the clerk has a phone, the text is queued and the timeline says so.
    let cipher = app.state.cipher();
    let clerk = store.find_staff_by_username("village_clerk").await.unwrap().unwrap().id;
    let phone = "13909379996";
    store.set_staff_phone(clerk, Some((&cipher.encrypt(phone), &cipher.blind_index("phone", phone)))).await.unwrap();
    let routed = leave(&app, &villager, "question", "村委会门口的路面塌陷了").await;
    let page = villager.get(app.url(&location(&routed))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("已短信通知承办人员"), "{page}");

    // A service item whose department has no one to text: 办件无人接收, once per item and township.
    let department = store.ensure_department("县农业农村局", 1).await.unwrap();
    let item = store
        .upsert_service_item(
            &xiaowei_store::NewServiceItem {
                department_id: department,
                name: "农机购置补贴申请".into(),
                conditions: "本县农户".into(),
                materials: "身份证".into(),
                steps: "申请\n审核".into(),
                time_limit: xiaowei_core::service::TimeLimit::WorkingDays(15),
                fee: "不收费".into(),
                contact_phone: "0937-5522009".into(),
                external_url: None,
                requires_id: false,
                officer_id: None,
            },
            1,
        )
        .await
        .unwrap();
    for _ in 0..2 {
        let applied = crate::services::apply(&app, &villager, item, &crate::services::GOOD, None).await;
        assert_eq!(applied.status(), 303);
        let page = villager.get(app.url(&location(&applied))).send().await.unwrap().text().await.unwrap();
        assert!(!page.contains("已短信通知") && page.contains("暂未找到可接收短信的承办人员"), "{page}");
    }
    let filter = AlertFilter { kind: Some(AlertKind::UnroutedCase), ..filter };
    let (alerts, total) = store.alerts(&filter, 10, 0).await.unwrap();
    assert_eq!(total, 1);
    assert!(alerts[0].summary.contains("农机购置补贴申请"), "{}", alerts[0].summary);
});
