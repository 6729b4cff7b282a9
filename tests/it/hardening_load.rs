//! What an anonymous flood or a hostile upload must not do: race the login count, lock a staff
//! account from elsewhere, have a spreadsheet bomb read, or refuse a file the form allows.

use std::net::{IpAddr, Ipv4Addr};

use xiaowei_core::Role;
use xiaowei_core::login::PER_CLIENT;

use crate::helpers::{PASSWORD, TestApp, both_backends, hidden, person_id};

const MIB: usize = 1024 * 1024;
const NANCHA: &str = "620922100200";

/// A client with its own cookie jar that connects from `local` (any 127.0.0.0/8 address).
fn client_from(local: Ipv4Addr) -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .local_address(IpAddr::V4(local))
        .build()
        .unwrap()
}

/// One login attempt with the client's CSRF token; returns the status.
async fn attempt(client: &reqwest::Client, base: &str, csrf: &str, username: &str, password: &str) -> u16 {
    let form = [("csrf", csrf), ("username", username), ("password", password)];
    client.post(format!("{base}/staff/login")).form(&form).send().await.unwrap().status().as_u16()
}

both_backends!(parallel_wrong_passwords_are_checked_no_more_often_than_allowed, |app: TestApp| async move {
    let attacker = client_from(Ipv4Addr::new(127, 0, 0, 1));
    let base = app.url("");
    let csrf = app.csrf(&attacker, "/staff/login").await;
    let username = Role::Supervisor.as_str();
    let mut tries = tokio::task::JoinSet::new();
    for i in 0..30 {
        let (attacker, base, csrf) = (attacker.clone(), base.clone(), csrf.clone());
        tries.spawn(async move { attempt(&attacker, &base, &csrf, username, &format!("wrong-password-{i}")).await });
    }
    let statuses = tries.join_all().await;
    let checked = statuses.iter().filter(|&&s| s == 401).count();
    assert!(statuses.iter().all(|&s| s == 401 || s == 429), "{statuses:?}");
    assert!(checked <= usize::try_from(PER_CLIENT).unwrap(), "{checked} wrong passwords were checked: {statuses:?}");
    let right = attempt(&attacker, &base, &csrf, username, PASSWORD).await;
    assert_eq!(right, 429, "the right password waits out the window");
});

both_backends!(wrong_passwords_from_elsewhere_do_not_lock_the_real_user_out, |app: TestApp| async move {
    let username = Role::Supervisor.as_str();
    let base = app.url("");
    let attacker = client_from(Ipv4Addr::new(127, 0, 0, 2));
    let csrf = app.csrf(&attacker, "/staff/login").await;
    for _ in 0..PER_CLIENT {
        assert_eq!(attempt(&attacker, &base, &csrf, username, "wrong-password").await, 401);
    }
    assert_eq!(attempt(&attacker, &base, &csrf, username, "wrong-password").await, 429);
    let locked = attempt(&attacker, &base, &csrf, username, PASSWORD).await;
    assert_eq!(locked, 429, "the attacker's client stays locked");
    let user = client_from(Ipv4Addr::new(127, 0, 0, 1));
    let csrf = app.csrf(&user, "/staff/login").await;
    assert_eq!(attempt(&user, &base, &csrf, username, PASSWORD).await, 303, "the real user still logs in");
});

/// A JPEG of `size` bytes: the magic bytes, then padding.
fn jpeg(size: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; size];
    bytes[..4].copy_from_slice(&[0xFF, 0xD8, 0xFF, 0xE0]);
    bytes[size - 2..].copy_from_slice(&[0xFF, 0xD9]);
    bytes
}

async fn apply_with_photo(app: &TestApp, villager: &reqwest::Client, item: i64, photo: Vec<u8>) -> reqwest::Response {
    app.prove_phone(villager, crate::services::GOOD[1].1).await;
    let page = villager
        .get(app.url(&format!("/services/{item}/apply?t=620922100")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = page.split("csrf=").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let mut form = reqwest::multipart::Form::new().text("form_key", hidden(&page, "form_key").unwrap());
    for (k, v) in crate::services::GOOD {
        form = form.text(k, v);
    }
    form = form.part("photos", reqwest::multipart::Part::bytes(photo).file_name("IMG_0001.jpg"));
    villager.post(app.url(&format!("/services/{item}/apply?csrf={csrf}"))).multipart(form).send().await.unwrap()
}

both_backends!(a_photo_of_7_9_mb_is_accepted_and_one_of_8_1_mb_refused_in_chinese, |app: TestApp| async move {
    let ([item, _], _) = crate::services::seed_cases(&app).await;
    let villager = TestApp::client();
    let accepted = apply_with_photo(&app, &villager, item, jpeg(79 * MIB / 10)).await;
    assert_eq!(accepted.status(), 303, "{}", accepted.text().await.unwrap());
    // The form comes back with what was typed, naming the photo to make smaller.
    let refused = apply_with_photo(&app, &villager, item, jpeg(81 * MIB / 10)).await;
    assert_eq!(refused.status(), 400);
    let html = refused.text().await.unwrap();
    assert!(html.contains("IMG_0001.jpg（超过8MB）") && html.contains("value=\"孙秀英\""), "{html}");
});

/// A roster file of about `size` bytes: two clean lines, the second with a blank 备注 padded out.
fn padded_roster(size: usize) -> Vec<u8> {
    let mut text = String::from("南岔村库区移民后期扶持花名册\n序号,姓名,身份证号,组,金额（元）,备注\n");
    text.push_str(&format!("1,张三,{},一组,600,\n2,李四,{},一组,600,", person_id(1), person_id(2)));
    let pad = size.saturating_sub(text.len() + 1);
    text.push_str(&" ".repeat(pad));
    text.push('\n');
    text.into_bytes()
}

fn roster_fields(programme: i64) -> Vec<(&'static str, String)> {
    vec![
        ("programme_id", programme.to_string()),
        ("org_code", NANCHA.into()),
        ("year", "2025".into()),
        ("phase", "proposed".into()),
        ("period", "2025年度".into()),
    ]
}

both_backends!(a_roster_of_7_9_mb_is_accepted_and_one_of_8_1_mb_refused_in_chinese, |app: TestApp| async move {
    let clerk = app.login_as(Role::VillageClerk).await;
    let fields = roster_fields(app.programme().await);
    let accepted = app.upload(&clerk, &fields, padded_roster(79 * MIB / 10)).await;
    assert_eq!(accepted.status(), 200);
    let html = accepted.text().await.unwrap();
    assert!(hidden(&html, "token").is_some(), "the file was read and checked clean: {html}");
    let refused = app.upload(&clerk, &fields, padded_roster(81 * MIB / 10)).await;
    assert_eq!(refused.status(), 413);
    let html = refused.text().await.unwrap();
    assert!(html.contains("文件过大") && html.contains("8MB"), "{html}");
});

both_backends!(spreadsheet_bombs_are_refused_by_every_import, |app: TestApp| async move {
    let bomb = xiaowei_sheets::shared_strings_bomb(64 * MIB).unwrap();
    assert!(bomb.len() < MIB, "a small file: {} bytes", bomb.len());
    let refused = |html: &str| html.contains("文件内容异常，已拒绝读取");

    let clerk = app.login_as(Role::VillageClerk).await;
    let roster = app.upload(&clerk, &roster_fields(app.programme().await), bomb.clone()).await;
    let html = roster.text().await.unwrap();
    assert!(refused(&html), "roster: {html}");

    let id = crate::disclosures::create(&app, &clerk, "finance", "2025年第三季度财务收支公开", "收支明细如下。").await;
    let lines =
        crate::disclosures::upload(&app, &clerk, &format!("/staff/disclosures/{id}/lines"), "收支.xlsx", bomb.clone())
            .await;
    let html = lines.text().await.unwrap();
    assert!(refused(&html), "finance sheet: {html}");

    let admin = app.login_as(Role::CountyAdmin).await;
    let page = admin.get(app.url("/staff/registries")).send().await.unwrap().text().await.unwrap();
    let csrf = app.csrf(&admin, "/staff/registries").await;
    let form = reqwest::multipart::Form::new()
        .text("kind", "deaths")
        .text("mode", "replace")
        .text("confirm", "1")
        .text("form_key", hidden(&page, "form_key").unwrap())
        .part("file", reqwest::multipart::Part::bytes(bomb).file_name("deaths.xlsx"));
    let registry = admin.post(app.url(&format!("/staff/registries?csrf={csrf}"))).multipart(form).send().await.unwrap();
    let html = registry.text().await.unwrap();
    assert!(refused(&html), "registry: {html}");
});
