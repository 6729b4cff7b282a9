//! 触摸终端 over HTTP: the county admin registers a terminal and gets a one-time enrolment
//! link; the first browser to open it becomes the terminal (a second use is refused); the device
//! cookie opens the kiosk pages, heartbeats update last-seen on the staff list, a revoked device
//! is refused; the kiosk self-query answers exactly what the phone's does, never more.

use xiaowei_core::Role;

use crate::helpers::{TestApp, both_backends, person_id, roster_csv};

const TOWNSHIP: &str = "620922100";
const VILLAGE: &str = "620922100200";

/// Registers a terminal as the county admin and returns the enrolment path from the answer.
pub(crate) async fn register(app: &TestApp, admin: &reqwest::Client, name: &str, idle: &str) -> String {
    let r =
        app.post_form(admin, "/staff/kiosks", &[("org_code", TOWNSHIP), ("name", name), ("idle_seconds", idle)]).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store", "the one-time link is not cached");
    let html = r.text().await.unwrap();
    let at = html.find("/kiosk/enrol/").unwrap_or_else(|| panic!("no enrolment link: {html}"));
    html[at..at + "/kiosk/enrol/".len() + 64].to_owned()
}

/// A browser that opened the enrolment link: it holds the device cookie.
pub(crate) async fn enrolled(app: &TestApp, path: &str) -> reqwest::Client {
    let kiosk = TestApp::client();
    let r = kiosk.get(app.url(path)).send().await.unwrap();
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    assert_eq!(r.headers()["location"], "/kiosk");
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("xw_kiosk=") && cookie.contains("HttpOnly"), "{cookie}");
    kiosk
}

async fn heartbeat(app: &TestApp, kiosk: &reqwest::Client, screen: &str) -> u16 {
    let csrf = app.csrf(kiosk, "/staff/login").await;
    kiosk
        .post(app.url("/kiosk/heartbeat"))
        .header("x-csrf-token", csrf)
        .header("accept", "application/json")
        .header("content-type", "application/json")
        .body(serde_json::json!({ "version": "0.1.0-test", "screen": screen, "last_error": "" }).to_string())
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

both_backends!(an_enrolment_link_works_once_and_dresses_the_public_pages, |app: TestApp| async move {
    let admin = app.login_as(Role::CountyAdmin).await;
    let path = register(&app, &admin, "便民服务大厅1号机", "30").await;
    let kiosk = enrolled(&app, &path).await;
    let home = kiosk.get(app.url("/kiosk")).send().await.unwrap();
    assert_eq!(home.status(), 200);
    let renewed = home.headers()["set-cookie"].to_str().unwrap();
    assert!(renewed.starts_with("xw_kiosk=") && renewed.contains("Max-Age=34560000"), "renewed: {renewed}");
    let home = home.text().await.unwrap();
    assert!(home.contains("渊泉镇 民生监督") && home.contains("href=\"/kiosk/self-query\""), "{home}");
    assert!(home.contains("href=\"/t/620922100/subsidies\""), "tiles mirror the township's menu");
    assert!(home.contains("class=\"kiosk\"") && home.contains("data-kiosk-idle=\"30\""), "{home}");
    assert!(home.contains("/static/kiosk.js?v="));

    let again = TestApp::client().get(app.url(&path)).send().await.unwrap();
    assert_eq!(again.status(), 409);
    assert!(again.text().await.unwrap().contains("该登记链接已使用过"));

    let stranger = TestApp::client();
    let refused = stranger.get(app.url("/kiosk")).send().await.unwrap();
    assert_eq!(refused.status(), 403);
    assert!(refused.text().await.unwrap().contains("本终端尚未登记"));
    let phone_page = stranger.get(app.url("/t/620922100")).send().await.unwrap().text().await.unwrap();
    assert!(!phone_page.contains("kiosk"), "a phone gets the plain page");
    let kiosk_page = kiosk.get(app.url("/t/620922100")).send().await.unwrap();
    assert_eq!(kiosk_page.headers()["cache-control"], "no-store");
    assert!(kiosk_page.headers().get("x-kiosk-keep").is_none(), "public pages may be kept for offline use");
    let kiosk_page = kiosk_page.text().await.unwrap();
    assert!(kiosk_page.contains("class=\"kiosk\"") && kiosk_page.contains("⌂ 首页"));
    let bad = TestApp::client().get(app.url(&format!("/kiosk/enrol/{}", "0".repeat(64)))).send().await.unwrap();
    assert_eq!(bad.status(), 400);
    let audit = app.state.store().audit_entries("620922", 20, 0).await.unwrap();
    assert!(audit.iter().any(|a| a.action == "kiosk.enrol") && audit.iter().any(|a| a.action == "kiosk.create"));
});

both_backends!(heartbeats_show_on_the_staff_list_and_a_revoked_device_is_refused, |app: TestApp| async move {
    let admin = app.login_as(Role::CountyAdmin).await;
    let path = register(&app, &admin, "大厅2号机", "").await;
    let list = admin.get(app.url("/staff/kiosks")).send().await.unwrap().text().await.unwrap();
    assert!(list.contains("待登记") && list.contains("无操作 60 秒"), "default idle time: {list}");
    let kiosk = enrolled(&app, &path).await;
    let list = admin.get(app.url("/staff/kiosks")).send().await.unwrap().text().await.unwrap();
    assert!(list.contains("离线") && list.contains("从未"), "enrolled, not heard from yet");
    assert_eq!(heartbeat(&app, &kiosk, "1080x1920").await, 204);
    let list = admin.get(app.url("/staff/kiosks")).send().await.unwrap().text().await.unwrap();
    assert!(list.contains("在线") && list.contains("1080x1920") && list.contains("0.1.0-test"), "{list}");
    assert_eq!(heartbeat(&app, &kiosk, "1080*1920").await, 400, "a malformed screen is refused");
    let no_token = kiosk
        .post(app.url("/kiosk/heartbeat"))
        .header("content-type", "application/json")
        .body(serde_json::json!({ "version": "1", "screen": "10x10" }).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(no_token.status(), 403, "the heartbeat needs the CSRF header");
    assert_eq!(heartbeat(&app, &TestApp::client(), "1080x1920").await, 403, "no device cookie");

    let id = app.state.store().list_kiosk_terminals(TOWNSHIP).await.unwrap()[0].id;
    let unconfirmed = app.post_form(&admin, &format!("/staff/kiosks/{id}/revoke"), &[]).await;
    assert_eq!(unconfirmed.status(), 400, "revoking needs the confirmation box");
    let revoked = app.post_form(&admin, &format!("/staff/kiosks/{id}/revoke"), &[("confirm", "1")]).await;
    assert_eq!(revoked.status(), 303);
    assert_eq!(heartbeat(&app, &kiosk, "1080x1920").await, 403);
    assert_eq!(kiosk.get(app.url("/kiosk")).send().await.unwrap().status(), 403);
    let list = admin.get(app.url("/staff/kiosks")).send().await.unwrap().text().await.unwrap();
    assert!(list.contains("已停用"));
});

/// The `<main>` of a page, with the "重新查询" link (which differs by design) taken out.
fn main_of(html: &str) -> String {
    let start = html.find("<main>").unwrap();
    let end = html.find("</main>").unwrap();
    html[start..end].replace("/kiosk/self-query", "AGAIN").replace("/t/620922100/self-query", "AGAIN")
}

both_backends!(the_kiosk_self_query_answers_exactly_as_the_phone_does, |app: TestApp| async move {
    let clerk = app.login_as(Role::VillageClerk).await;
    let reviewer = app.login_as(Role::TownshipReviewer).await;
    let fields = vec![
        ("programme_id", app.programme().await.to_string()),
        ("org_code", VILLAGE.to_owned()),
        ("year", "2025".to_owned()),
        ("phase", "proposed".to_owned()),
    ];
    let csv = roster_csv(&[("马玉兰", person_id(7), "600"), ("张三", person_id(8), "600")]);
    let roster = app.import_roster(&clerk, &fields, csv).await;
    app.publish(&clerk, &reviewer, roster).await;

    let admin = app.login_as(Role::CountyAdmin).await;
    let kiosk = enrolled(&app, &register(&app, &admin, "大厅3号机", "60").await).await;
    let villages = kiosk.get(app.url("/kiosk/self-query")).send().await.unwrap().text().await.unwrap();
    assert!(villages.contains("href=\"/kiosk/self-query?village=620922100200\""), "{villages}");
    let picker = kiosk.get(app.url(&format!("/kiosk/self-query?village={VILLAGE}"))).send().await.unwrap();
    assert_eq!(picker.headers()["cache-control"], "no-store");
    let picker = picker.text().await.unwrap();
    assert!(picker.contains("data-surname=\"马\"") && picker.contains("data-name=\"马玉兰\""), "{picker}");
    assert!(picker.contains("data-key=\"X\""), "the keypad has the X key");
    let phone_form = kiosk.get(app.url("/t/620922100/self-query")).send().await.unwrap();
    assert_eq!(phone_form.headers()["location"], "/kiosk/self-query", "a terminal uses its keypad form");
    let foreign = kiosk.get(app.url("/kiosk/self-query?village=620923100200")).send().await.unwrap();
    assert_eq!(foreign.status(), 404, "only the terminal's own villages");

    let form = |csrf: String| [("csrf", csrf), ("name", "马玉兰".to_owned()), ("id_number", person_id(7))];
    let csrf = app.csrf(&kiosk, "/staff/login").await;
    let on_kiosk = kiosk.post(app.url("/kiosk/self-query")).form(&form(csrf)).send().await.unwrap();
    assert_eq!(on_kiosk.status(), 200);
    assert_eq!(on_kiosk.headers()["cache-control"], "no-store");
    assert_eq!(on_kiosk.headers()["x-kiosk-keep"], "no", "the service worker keeps no answer to a form");
    let on_kiosk = on_kiosk.text().await.unwrap();
    let phone = TestApp::client();
    let csrf = app.csrf(&phone, "/t/620922100/self-query").await;
    let on_phone = phone.post(app.url("/t/620922100/self-query")).form(&form(csrf)).send().await.unwrap();
    assert_eq!(on_phone.headers()["cache-control"], "no-store");
    let on_phone = on_phone.text().await.unwrap();
    assert!(on_kiosk.contains("马玉兰 的补贴记录") && on_kiosk.contains("data-kiosk-private=\"1\""), "{on_kiosk}");
    assert!(!on_kiosk.contains(&person_id(7)), "the full ID is not echoed");
    assert_eq!(main_of(&on_kiosk), main_of(&on_phone), "the kiosk shows what the phone shows");
    app.state.journal().flush(app.state.store()).await.unwrap();
    let audit = app.state.store().audit_entries("620922", 50, 0).await.unwrap();
    assert!(audit.iter().any(|a| a.action == "self_query" && a.actor_name == "触摸终端：大厅3号机"));

    let stranger = TestApp::client();
    let csrf = app.csrf(&stranger, "/staff/login").await;
    let refused = stranger.post(app.url("/kiosk/self-query")).form(&form(csrf)).send().await.unwrap();
    assert_eq!(refused.status(), 403, "the kiosk self-query needs an enrolled terminal");
});

both_backends!(the_service_worker_and_offline_screen_are_served, |app: TestApp| async move {
    let client = TestApp::client();
    let sw = client.get(app.url("/kiosk-sw.js")).send().await.unwrap();
    assert_eq!(sw.status(), 200);
    assert!(sw.headers()["content-type"].to_str().unwrap().starts_with("text/javascript"));
    let sw = sw.text().await.unwrap();
    assert!(sw.contains(&format!("const VERSION = '{}'", *xiaowei_server::web::assets::VERSION)));
    let offline = client.get(app.url("/kiosk/offline")).send().await.unwrap().text().await.unwrap();
    assert!(offline.contains("离线") && offline.contains("id=\"kiosk-offline\""));
});

/// Logs `client` (which may already hold a device cookie) in as the test account of `role`.
async fn login_on(app: &TestApp, client: &reqwest::Client, role: Role) {
    let csrf = app.csrf(client, "/staff/login").await;
    let form = [("csrf", csrf.as_str()), ("username", role.as_str()), ("password", crate::helpers::PASSWORD)];
    let r = client.post(app.url("/staff/login")).form(&form).send().await.unwrap();
    assert_eq!(r.status(), 303);
}

both_backends!(a_hall_officer_files_an_application_on_a_villagers_behalf, |app: TestApp| async move {
    let ([item, _], _) = crate::services::seed_cases(&app).await;
    let admin = app.login_as(Role::CountyAdmin).await;
    let kiosk = enrolled(&app, &register(&app, &admin, "大厅4号机", "60").await).await;
    let plain = kiosk.get(app.url(&format!("/services/{item}/apply?t={TOWNSHIP}"))).send().await.unwrap();
    assert!(!plain.text().await.unwrap().contains("代办："), "no officer logged in: a villager's own application");

    login_on(&app, &kiosk, Role::TownshipAdmin).await;
    let form = kiosk.get(app.url(&format!("/services/{item}/apply?t={TOWNSHIP}"))).send().await.unwrap();
    assert_eq!(form.headers()["x-kiosk-keep"], "no", "the service worker keeps no page shown to an officer");
    let form = form.text().await.unwrap();
    assert!(form.contains("代办：工作人员 乡镇管理员") && form.contains("代办中：乡镇管理员"), "{form}");
    let r = crate::services::apply(&app, &kiosk, item, &crate::services::GOOD, Some("kiosk-proxy-0000001")).await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let store = app.state.store();
    let case = store.find_case_by_submit_key("kiosk-proxy-0000001").await.unwrap().unwrap();
    let officer = store.find_staff_by_username("township_admin").await.unwrap().unwrap();
    assert_eq!(case.filed_by, Some(officer.id), "the case records who filed it");
    let page = kiosk.get(app.url(&format!("/staff/cases/{}", case.tracking))).send().await.unwrap();
    assert!(page.text().await.unwrap().contains("代办：乡镇管理员"));
    let audit = store.audit_entries("620922", 50, 0).await.unwrap();
    assert!(audit.iter().any(|a| a.action == "service_case.create" && a.actor_id == Some(officer.id)));

    // A message filed on the terminal names the officer in its first event.
    let page = kiosk.get(app.url(&format!("/t/{TOWNSHIP}/messages/new?kind=suggestion"))).send().await.unwrap();
    let page = page.text().await.unwrap();
    assert!(page.contains("代办：工作人员 乡镇管理员"), "{page}");
    let csrf = page.split("csrf=").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let form = reqwest::multipart::Form::new()
        .text("form_key", "kiosk-message-00001")
        .text("kind", "suggestion")
        .text("place", VILLAGE)
        .text("name", "孙大爷")
        .text("body", "建议乡里多开几趟班车。");
    let r =
        kiosk.post(app.url(&format!("/t/{TOWNSHIP}/messages/new?csrf={csrf}"))).multipart(form).send().await.unwrap();
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let message = store.find_message_by_submit_key("kiosk-message-00001").await.unwrap().unwrap();
    let events = store.events(xiaowei_store::RequestKind::Message, message.id).await.unwrap();
    assert_eq!(events[0].actor, "乡镇管理员（代办）");
    assert!(events[0].note.starts_with("工作人员在触摸终端代办"));
    assert_eq!(message.author_name, "孙大爷", "filed for the villager, under the villager's name");

    // The same officer on a phone, or a clerk on the terminal, files nothing on anyone's behalf.
    let phone = app.login_as(Role::TownshipAdmin).await;
    let mut other = crate::services::GOOD;
    other[1].1 = "13712340001";
    let r = crate::services::apply(&app, &phone, item, &other, Some("phone-own-000000001")).await;
    assert_eq!(r.status(), 303);
    assert_eq!(store.find_case_by_submit_key("phone-own-000000001").await.unwrap().unwrap().filed_by, None);
    let clerk_kiosk = enrolled(&app, &register(&app, &admin, "大厅5号机", "60").await).await;
    login_on(&app, &clerk_kiosk, Role::VillageClerk).await;
    other[1].1 = "13712340002";
    let r = crate::services::apply(&app, &clerk_kiosk, item, &other, Some("clerk-kiosk-0000001")).await;
    assert_eq!(r.status(), 303);
    assert_eq!(store.find_case_by_submit_key("clerk-kiosk-0000001").await.unwrap().unwrap().filed_by, None);
});
