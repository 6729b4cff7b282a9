//! Forms that come back filled in, over HTTP: an application and a message with faults return
//! 400 with every value kept, each message beside its field and the summary at the top; photos
//! already sent are staged and attached on the next submission (a forged token attaches
//! nothing; a file that is not a photo is named to add again); the kiosk self-query, the roster
//! import, the service item and the disclosure forms do the same; 在手机上继续 draws only this
//! site's pages, and the forms open on a phone with the choice kept.

use xiaowei_core::Role;
use xiaowei_store::{NewServiceItem, RequestKind};

use crate::helpers::{TestApp, both_backends, hidden, person_id, roster_csv};

const TOWNSHIP: &str = "620922100";
const NANCHA: &str = "620922100200";
const PHONE: &str = "13712345678";

/// A 1×1 PNG.
fn png() -> Vec<u8> {
    vec![
        0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0x49, 0x48, 0x44, 0x52, 0, 0, 0, 1, 0, 0, 0, 1,
        8, 6, 0, 0, 0, 0x1f, 0x15, 0xc4, 0x89, 0, 0, 0, 0x0a, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0, 1, 0, 0, 5,
        0, 1, 0x0d, 0x0a, 0x2d, 0xb4, 0, 0, 0, 0, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
    ]
}

/// An item that asks for the ID number.
async fn item_with_id(app: &TestApp) -> i64 {
    let item = NewServiceItem {
        department_id: app.own_department,
        name: "残疾人两项补贴申请".into(),
        conditions: "持有残疾人证".into(),
        materials: "身份证".into(),
        steps: "申请\n审核".into(),
        time_limit: xiaowei_core::service::TimeLimit::WorkingDays(15),
        fee: "不收费".into(),
        contact_phone: "0937-5522001".into(),
        external_url: None,
        requires_id: true,
        officer_id: None,
    };
    app.state.store().upsert_service_item(&item, 1).await.unwrap()
}

/// The CSRF token in a multipart form's action.
fn action_csrf(page: &str) -> String {
    page.split("csrf=").nth(1).unwrap().split('"').next().unwrap().to_owned()
}

/// The value of every `name="staged"` checkbox.
fn staged(page: &str) -> Vec<String> {
    page.split("name=\"staged\" value=\"").skip(1).map(|rest| rest.split('"').next().unwrap().to_owned()).collect()
}

both_backends!(an_application_with_faults_comes_back_filled_in_with_its_photos, |app: TestApp| async move {
    let item = item_with_id(&app).await;
    let villager = TestApp::client();
    app.prove_phone(&villager, PHONE).await;
    let page = villager
        .get(app.url(&format!("/services/{item}/apply?t={TOWNSHIP}&village={NANCHA}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains(&format!("<option value=\"{NANCHA}\" selected>")), "a village chosen before is kept");
    let key = hidden(&page, "form_key").unwrap();
    let mut wrong_id = person_id(5);
    wrong_id.replace_range(17.., if wrong_id.ends_with('1') { "2" } else { "1" });
    let form = reqwest::multipart::Form::new()
        .text("form_key", key.clone())
        .text("t", TOWNSHIP)
        .text("name", "孙秀英")
        .text("village", NANCHA)
        .text("id_number", wrong_id.clone())
        .text("description", "短")
        .part("photos", reqwest::multipart::Part::bytes(png()).file_name("门口.png"))
        .part("photos", reqwest::multipart::Part::bytes(b"%PDF-1.4".to_vec()).file_name("证明.pdf"));
    let r = villager
        .post(app.url(&format!("/services/{item}/apply?csrf={}", action_csrf(&page))))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let again = r.text().await.unwrap();
    assert!(again.contains("id=\"error-summary\""), "{again}");
    assert!(again.contains("身份证号：") && again.contains("需求描述："), "every fault at once: {again}");
    assert!(
        again.contains("aria-describedby=\"id_number-error\"")
            && again.contains("aria-describedby=\"description-error\"")
    );
    assert!(again.contains("value=\"孙秀英\"") && again.contains(&format!("value=\"{wrong_id}\"")), "{again}");
    assert!(again.contains(&format!("<option value=\"{NANCHA}\" selected>")), "{again}");
    assert!(again.contains(">短</textarea>"), "{again}");
    assert_eq!(hidden(&again, "form_key").unwrap(), key, "the once-only key is kept");
    assert!(again.contains("证明.pdf（不是 JPG 或 PNG 图片）"), "the file to add again is named: {again}");
    let tokens = staged(&again);
    assert_eq!(tokens.len(), 1, "the photo is kept: {again}");
    assert!(app.state.store().cases(&xiaowei_store::CaseFilter::default(), 10, 0).await.unwrap().0.is_empty());

    // A forged token attaches nothing; the staged one is attached.
    let forged = format!("{}.{}", "a".repeat(64), "b".repeat(24));
    let form = reqwest::multipart::Form::new()
        .text("form_key", key.clone())
        .text("t", TOWNSHIP)
        .text("name", "孙秀英")
        .text("village", NANCHA)
        .text("id_number", person_id(5))
        .text("description", "申请残疾人两项补贴，已有残疾人证。")
        .text("staged", tokens[0].clone())
        .text("staged", forged);
    let r = villager
        .post(app.url(&format!("/services/{item}/apply?csrf={}", action_csrf(&again))))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let (cases, _) = app.state.store().cases(&xiaowei_store::CaseFilter::default(), 10, 0).await.unwrap();
    assert_eq!(cases.len(), 1);
    let photos = app.state.store().photos(RequestKind::Case, cases[0].id).await.unwrap();
    assert_eq!(photos.len(), 1, "the staged photo, and nothing for the forged token");
});

both_backends!(a_message_with_faults_comes_back_filled_in, |app: TestApp| async move {
    let villager = TestApp::client();
    app.prove_phone(&villager, PHONE).await;
    let page = villager
        .get(app.url(&format!("/t/{TOWNSHIP}/messages/new?kind=question&place={NANCHA}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains(&format!("<option value=\"{NANCHA}\" selected>")), "a place chosen before is kept: {page}");
    let key = hidden(&page, "form_key").unwrap();
    let long_name = "马".repeat(33);
    let form = reqwest::multipart::Form::new()
        .text("form_key", key.clone())
        .text("kind", "question")
        .text("place", NANCHA)
        .text("name", long_name.clone())
        .text("body", "路灯")
        .text("public", "1")
        .part("photos", reqwest::multipart::Part::bytes(png()).file_name("路灯.png"));
    let r = villager
        .post(app.url(&format!("/t/{TOWNSHIP}/messages/new?csrf={}", action_csrf(&page))))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let again = r.text().await.unwrap();
    assert!(again.contains("留言内容：") && again.contains("称呼："), "{again}");
    assert!(again.contains(&format!("<option value=\"{NANCHA}\" selected>")), "{again}");
    assert!(again.contains(&format!("value=\"{long_name}\"")) && again.contains(">路灯</textarea>"), "{again}");
    assert!(again.contains("name=\"public\" value=\"1\" checked"), "{again}");
    assert!(!again.contains("name=\"use_phone\" value=\"1\" checked"), "the unticked phone stays unticked");
    let tokens = staged(&again);
    assert_eq!(tokens.len(), 1);
    let form = reqwest::multipart::Form::new()
        .text("form_key", key)
        .text("kind", "question")
        .text("place", NANCHA)
        .text("name", "老马")
        .text("body", "北村路口的路灯坏了一个月，晚上看不见路。")
        .text("staged", tokens[0].clone());
    let r = villager
        .post(app.url(&format!("/t/{TOWNSHIP}/messages/new?csrf={}", action_csrf(&again))))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let everything = xiaowei_store::MessageFilter { org_prefix: "620922".into(), ..Default::default() };
    let (messages, _) = app.state.store().messages(&everything, 10, 0).await.unwrap();
    assert_eq!(messages.len(), 1);
    assert_eq!(app.state.store().photos(RequestKind::Message, messages[0].id).await.unwrap().len(), 1);
});

both_backends!(the_kiosk_self_query_comes_back_at_the_step_to_fix, |app: TestApp| async move {
    let admin = app.login_as(Role::CountyAdmin).await;
    let kiosk = crate::kiosk::enrolled(&app, &crate::kiosk::register(&app, &admin, "大厅5号机", "60").await).await;
    let csrf = app.csrf(&kiosk, "/staff/login").await;
    let form = [("csrf", csrf.as_str()), ("village", NANCHA), ("name", ""), ("id_number", &person_id(9))];
    let r = kiosk.post(app.url("/kiosk/self-query")).form(&form).send().await.unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let again = r.text().await.unwrap();
    assert!(again.contains("姓名：") && again.contains("id=\"error-summary\""), "{again}");
    assert!(again.contains("data-step=\"name\""), "opens at the name: {again}");
    assert!(again.contains(&format!("value=\"{}\"", person_id(9))) && again.contains(&format!("value=\"{NANCHA}\"")));
    assert!(again.contains("data-continue=\"/t/620922100/self-query\""), "{again}");
});

both_backends!(continuing_on_a_phone_draws_only_this_sites_pages, |app: TestApp| async move {
    let phone = TestApp::client();
    let to = format!("/services/1/apply?t={TOWNSHIP}&village={NANCHA}");
    let r = phone.get(app.url("/kiosk/continue.svg")).query(&[("to", to.as_str())]).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/svg+xml");
    assert!(r.text().await.unwrap().starts_with("<?xml"));
    for refused in ["https://evil.example/", "//evil.example/", "/a b"] {
        let r = phone.get(app.url("/kiosk/continue.svg")).query(&[("to", refused)]).send().await.unwrap();
        assert_eq!(r.status(), 404, "{refused}");
    }
});

both_backends!(staff_forms_come_back_filled_in, |app: TestApp| async move {
    // The service item: every fault at once, the typed values kept.
    let admin = app.login_as(Role::CountyAdmin).await;
    let department = app.own_department.to_string();
    let fields = [
        ("department_id", department.as_str()),
        ("name", "宅基地审批"),
        ("conditions", "本村村民"),
        ("time_limit", "很快"),
        ("fee", ""),
        ("contact_phone", "0937-5522001"),
        ("requires_id", "1"),
    ];
    let r = app.post_form(&admin, "/staff/services", &fields).await;
    assert_eq!(r.status(), 400);
    let again = r.text().await.unwrap();
    assert!(again.contains("法定时限：") && again.contains("收费标准："), "{again}");
    assert!(
        again.contains("value=\"宅基地审批\"")
            && again.contains("value=\"很快\"")
            && again.contains(">本村村民</textarea>")
    );
    assert!(again.contains("name=\"requires_id\" value=\"1\" checked"), "{again}");

    // A disclosure: the title and period at fault, the body kept.
    let clerk = app.login_as(Role::VillageClerk).await;
    let fields = [
        ("org_code", NANCHA),
        ("category", "village_affairs"),
        ("title", ""),
        ("body", "## 村务\n本季度修缮水渠一条。"),
        ("period_kind", "quarter"),
        ("year", "2025"),
        ("number", ""),
    ];
    let r = app.post_form(&clerk, "/staff/disclosures", &fields).await;
    assert_eq!(r.status(), 400);
    let again = r.text().await.unwrap();
    assert!(again.contains("标题：") && again.contains("季度："), "{again}");
    assert!(
        again.contains("本季度修缮水渠一条。</textarea>")
            && again.contains(&format!("<option value=\"{NANCHA}\" selected>"))
    );

    // The roster import: the choices kept, the file asked for again by name.
    let programme = app.programme().await.to_string();
    let fields = [
        ("programme_id", programme.clone()),
        ("org_code", NANCHA.to_owned()),
        ("year", "2025".to_owned()),
        ("period", "2024年第一季度".to_owned()),
        ("phase", "proposed".to_owned()),
    ];
    let r = app.upload(&clerk, &fields, roster_csv(&[("张三", person_id(1), "600")])).await;
    assert_eq!(r.status(), 400);
    let again = r.text().await.unwrap();
    assert!(again.contains("批次：") && again.contains("value=\"2024年第一季度\""), "{again}");
    assert!(again.contains(&format!("<option value=\"{programme}\" selected>")), "{again}");
    assert!(again.contains("请重新选择文件“花名册.csv”"), "{again}");
});
