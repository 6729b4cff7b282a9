//! Faults found walking the demo as each user would, one regression test each: the 查询码 lookup
//! behind 「已提交异议？凭查询码查看进展」, the links of 短信记录, the village clerk's breadcrumb, a
//! reopened case counting on the calendar of its filing, and the timeline's doubled 「。。」.

use xiaowei_core::Role;
use xiaowei_core::service::{self, TimeLimit};

use crate::helpers::{TestApp, both_backends, store_objection};
use crate::services::{case_at, seed_cases};

const NANCHA_VILLAGE: &str = "620922100200";

both_backends!(the_objection_lookup_link_opens_a_form_and_an_unknown_code_says_so, |app: TestApp| async move {
    let client = TestApp::client();
    let page = client.get(app.url("/t/620922100/self-query")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("href=\"/objections?code=\""), "the self-query page links the lookup");
    let form = client.get(app.url("/objections?code=")).send().await.unwrap();
    assert_eq!(form.status(), 200);
    assert!(form.text().await.unwrap().contains("查询异议进展"));

    let unknown = client.get(app.url("/objections?code=zz99zz99")).send().await.unwrap();
    assert_eq!(unknown.status(), 404);
    let html = unknown.text().await.unwrap();
    assert!(html.contains("未找到这个查询码") && html.contains("value=\"ZZ99ZZ99\""), "the form again, code kept");

    let cipher = app.state.cipher();
    let o = xiaowei_store::NewObjection {
        code: "AB23CD45".into(),
        submit_key: "lookup-test".into(),
        org_code: NANCHA_VILLAGE.into(),
        roster_id: None,
        entry_id: None,
        programme_id: None,
        name: "马某".into(),
        phone_enc: cipher.encrypt("13712340001"),
        phone_idx: cipher.blind_index("phone", "13712340001"),
        body: "补助没有收到".into(),
        reply_due: 3_999_999_999,
        reply_remind_at: 3_999_900_000,
        deadline_basis: "5个工作日内答复".into(),
    };
    let id = store_objection(app.state.store(), &o, app.state.now()).await;
    let code = app.state.store().find_objection(id).await.unwrap().unwrap().code;
    let found = client.get(app.url(&format!("/objections?code={}", code.to_lowercase()))).send().await.unwrap();
    assert_eq!(found.status(), 303);
    assert_eq!(found.headers()["location"].to_str().unwrap(), format!("/objections/{code}"), "on to the objection");
});

both_backends!(every_link_of_the_text_log_opens_for_the_county_admin, |app: TestApp| async move {
    let ([item, _], _) = seed_cases(&app).await;
    case_at(&app.state, item, app.own_department, app.state.now(), "outbox-links").await;
    let now = app.state.now();
    let cipher = app.state.cipher();
    let message = xiaowei_store::NewMessage {
        tracking: "LY20251009000901".into(),
        submit_key: "outbox-links".into(),
        kind: xiaowei_core::message::MessageKind::Question,
        org_code: NANCHA_VILLAGE.into(),
        author_name: String::new(),
        phone_enc: None,
        phone_idx: None,
        secret_idx: None,
        body: "村里的路灯什么时候修？".into(),
        allow_public: true,
        submitted_at: now,
        reply_due: now + 3 * 86_400,
        reply_remind_at: now + 2 * 86_400,
        deadline_basis: "3个工作日".into(),
    };
    let event = xiaowei_store::NewEvent {
        kind: xiaowei_core::tracked::TimelineKind::Submitted,
        actor: "留言人".into(),
        staff_user_id: None,
        method: None,
        note: "提交".into(),
        public: true,
    };
    let text = xiaowei_store::NewOutbox {
        dedup_key: "message:outbox-links".into(),
        channel: xiaowei_core::outbox::TextChannel::Sms,
        notice: "message_received".into(),
        recipient: "村级经办人 张三".into(),
        phone_enc: cipher.encrypt("13909370099"),
        phone_idx: cipher.blind_index("phone", "13909370099"),
        params: "[]".into(),
        body: "收到群众问题留言，编号LY20251009000901".into(),
    };
    app.state.store().create_message(&message, &[], &event, &[text]).await.unwrap();
    let admin = app.login_as(Role::CountyAdmin).await;
    let log = admin.get(app.url("/staff/outbox")).send().await.unwrap().text().await.unwrap();
    let links: Vec<&str> = log
        .split("href=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .filter(|l| l.starts_with("/staff/inbox/") || l.starts_with("/staff/cases/"))
        .collect();
    assert!(links.iter().any(|l| l.starts_with("/staff/inbox/LY")), "a message's text is listed: {links:?}");
    assert!(links.iter().any(|l| l.starts_with("/staff/cases/BJ")));
    for link in links {
        assert_eq!(admin.get(app.url(link)).send().await.unwrap().status(), 200, "{link}");
    }
});

both_backends!(the_village_clerks_breadcrumb_leads_nowhere_forbidden, |app: TestApp| async move {
    let clerk = app.login_as(Role::VillageClerk).await;
    let (village, _) = crate::helpers::scope_of(Role::VillageClerk);
    let page = clerk.get(app.url(&format!("/staff/village-office/{village}"))).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    for link in html.split("href=\"").skip(1).filter_map(|s| s.split('"').next()) {
        if link.starts_with("/staff/village-office/") {
            let status = clerk.get(app.url(link)).send().await.unwrap().status();
            assert_ne!(status, 403, "{link}");
        }
    }
    let township = &village[..9];
    assert!(!html.contains(&format!("href=\"/staff/village-office/{township}\"")), "no link to the township list");
    let admin = app.login_as(Role::TownshipAdmin).await;
    let html =
        admin.get(app.url(&format!("/staff/village-office/{village}"))).send().await.unwrap().text().await.unwrap();
    assert!(html.contains(&format!("href=\"/staff/village-office/{township}\"")), "the township admin keeps it");
});

both_backends!(a_reopened_case_counts_on_the_calendar_of_its_filing_and_says_so_once, |app: TestApp| async move {
    let ([item, _], _) = seed_cases(&app).await;
    let state = &app.state;
    let store = state.store();
    let filed = state.now() - 60;
    let id = case_at(state, item, app.own_department, filed, "reopen-calendar").await;
    let case = store.find_case(id).await.unwrap().unwrap();
    // After filing, the administrator declares the next ten days holidays.
    let today = xiaowei_core::tracked::beijing_date(filed);
    for d in 1..=10 {
        let day = today.checked_add(jiff::Span::new().days(d)).unwrap();
        store.set_calendar_day(&day.to_string(), "holiday", "临时假期", filed + 1).await.unwrap();
    }
    let officer = app.login_as(Role::DepartmentOfficer).await;
    let path = |what: &str| format!("/staff/cases/{}/{what}", case.tracking);
    let r = app.post_form(&officer, &path("contact"), &[("method", "phone"), ("note", "已电话联系")]).await;
    assert_eq!(r.status(), 303);
    let r = app.post_form(&officer, &path("complete"), &[("reply", "已审批，下月起发放")]).await;
    assert_eq!(r.status(), 303);

    let villager = TestApp::client();
    let k = xiaowei_server::app::cases::case_key(state, &case.tracking);
    let csrf = app.csrf(&villager, "/cases").await;
    let before = state.now();
    let rated = villager
        .post(app.url(&format!("/cases/{}/rate", case.tracking)))
        .form(&[("csrf", csrf.as_str()), ("k", &k), ("rating", "unsatisfied"), ("comment", "钱还没到。")])
        .send()
        .await
        .unwrap();
    assert_eq!(rated.status(), 303);
    let after_rating = state.now();
    let after = store.find_case(id).await.unwrap().unwrap();
    assert_eq!(after.status.as_str(), "reopened");
    let then = xiaowei_server::app::tracked::calendar_as_of(state, filed).await.unwrap();
    let current = xiaowei_server::app::tracked::calendar(state).await.unwrap();
    let due = |calendar: &xiaowei_core::workday::WorkCalendar, at: i64| {
        service::clocks(calendar, TimeLimit::WorkingDays(15), at).completion_due
    };
    assert!(due(&current, before) > due(&then, after_rating), "the later holidays would have moved it");
    assert!(
        (due(&then, before)..=due(&then, after_rating)).contains(&after.completion_due),
        "counted on the calendar of the filing"
    );
    assert!(!after.deadline_basis.contains("临时假期"), "{}", after.deadline_basis);

    let page =
        villager.get(app.url(&format!("/cases/{}?k={k}", case.tracking))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("钱还没到。办件重新办理"), "one full stop between the reason and the note");
    assert!(!page.contains("。。"));
});
