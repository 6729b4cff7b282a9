//! The edge of the server under hostile input, on both engines: control characters in any path,
//! query or form are refused with a Chinese message naming the field (never a 500, nothing
//! stored); the client address comes from forwarding headers only when a trusted proxy sends
//! them, and a hall terminal's quota is its own; the error page's back link stays on the site;
//! the CSRF cookie is `Secure` when configured; `/metrics` is for loopback or a bearer token;
//! QR codes and enrolment links never carry the request's `Host`.

use xiaowei_core::Role;
use xiaowei_server::Config;

use crate::helpers::{Backend, TestApp, both_backends, hidden, person_id, roster_csv, with_app_config};
use crate::kiosk::{enrolled, register};

const TOWNSHIP: &str = "620922100";
const VILLAGE: &str = "620922100200";

/// Runs `body` on both engines with the configuration adjusted by `configure`.
macro_rules! both_backends_with {
    ($name:ident, $configure:expr, $body:expr) => {
        mod $name {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                with_app_config(Backend::Sqlite, $configure, $body).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                with_app_config(Backend::Postgres, $configure, $body).await;
            }
        }
    };
}

async fn status_and_text(response: reqwest::Response) -> (u16, String) {
    (response.status().as_u16(), response.text().await.unwrap())
}

fn refused_naming(status: u16, page: &str, field: &str) {
    assert_eq!(status, 400, "{page}");
    assert!(page.contains(&format!("{field}：含有不允许的控制字符")), "names {field}: {page}");
}

// ---- control characters ----

both_backends!(control_characters_are_refused_naming_the_field_and_nothing_is_stored, |app: TestApp| async move {
    let client = TestApp::client();
    for path in ["/t/%00/subsidies", "/cases/BJ%00", "/rosters/1%1B/qr.svg", "/messages/LY%7F", "/wechat/%00/callback"]
    {
        let (status, page) = status_and_text(client.get(app.url(path)).send().await.unwrap()).await;
        refused_naming(status, &page, "网址");
        assert!(page.contains("<html"), "a Chinese page, not a bare error: {page}");
    }
    for (path, field) in [
        (format!("/t/{TOWNSHIP}/search?q=%E8%B7%AF%00"), "搜索词"),
        ("/objections?code=YY%00".to_owned(), "编号"),
        (format!("/objections/new?village={VILLAGE}&years=%01"), "“years”"),
    ] {
        let (status, page) = status_and_text(client.get(app.url(&path)).send().await.unwrap()).await;
        refused_naming(status, &page, field);
    }

    // Forms: an objection, a self-query, the staff login; a multi-line box keeps its line breaks.
    let csrf = app.csrf(&client, &format!("/objections/new?village={VILLAGE}")).await;
    let objection = |name: &'static str, body: &'static str| {
        let csrf = csrf.clone();
        let client = client.clone();
        let url = app.url("/objections/new");
        async move {
            let key = format!("{:032x}", rand::random::<u128>());
            let form = [
                ("csrf", csrf.as_str()),
                ("form_key", key.as_str()),
                ("village", VILLAGE),
                ("name", name),
                ("phone", "13912345678"),
                ("body", body),
            ];
            client.post(url).form(&form).send().await.unwrap()
        }
    };
    let (status, page) = status_and_text(objection("张三", "名单里有\u{0}已故人员").await).await;
    refused_naming(status, &page, "内容");
    let (status, page) = status_and_text(objection("张\u{0}三", "名单里有已故人员").await).await;
    refused_naming(status, &page, "姓名");
    let (status, page) = status_and_text(objection("张三", "名单里有\u{7}已故人员").await).await;
    refused_naming(status, &page, "内容");
    let store = app.state.store();
    assert_eq!(store.objections_within("620922", 50, 0).await.unwrap().len(), 0, "nothing stored");
    let ok = objection("张三", "第一行：名单里有已故人员\r\n第二行：\t请核实").await;
    assert_eq!(ok.status(), 303, "line breaks and tabs are allowed in a text box");

    let csrf = app.csrf(&client, &format!("/t/{TOWNSHIP}/self-query")).await;
    let form = [("csrf", csrf.as_str()), ("name", "马玉\u{0}兰"), ("id_number", "620922198001010071")];
    let (status, page) =
        status_and_text(client.post(app.url(&format!("/t/{TOWNSHIP}/self-query"))).form(&form).send().await.unwrap())
            .await;
    refused_naming(status, &page, "姓名");

    let login = TestApp::client();
    let csrf = app.csrf(&login, "/staff/login").await;
    let form = [("csrf", csrf.as_str()), ("username", "county_admin\u{0}"), ("password", "x")];
    let (status, page) = status_and_text(login.post(app.url("/staff/login")).form(&form).send().await.unwrap()).await;
    refused_naming(status, &page, "用户名");

    // A multipart form (a message with photos) is checked as it is read.
    let page = client.get(app.url(&format!("/t/{TOWNSHIP}/messages/new?kind=question"))).send().await.unwrap();
    let page = page.text().await.unwrap();
    let key = hidden(&page, "form_key").unwrap();
    let csrf = app.csrf(&client, "/staff/login").await;
    let form = reqwest::multipart::Form::new()
        .text("form_key", key)
        .text("kind", "question")
        .text("body", "路灯坏了\u{0}三天，请尽快修理");
    let sent =
        client.post(app.url(&format!("/t/{TOWNSHIP}/messages/new?csrf={csrf}"))).multipart(form).send().await.unwrap();
    let (status, page) = status_and_text(sent).await;
    refused_naming(status, &page, "内容");

    // A JSON body (the kiosk heartbeat) is checked too.
    let csrf = app.csrf(&client, "/staff/login").await;
    let heartbeat = client
        .post(app.url("/kiosk/heartbeat"))
        .header("x-csrf-token", csrf)
        .header("accept", "application/json")
        .header("content-type", "application/json")
        .body(r#"{"version":"1\u0000","screen":"home","last_error":""}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(heartbeat.status(), 400);
    assert!(heartbeat.text().await.unwrap().contains("控制字符"));
});

// ---- the client address and quotas ----

async fn self_query(app: &TestApp, client: &reqwest::Client, forwarded_for: Option<&str>, seq: u32) -> u16 {
    let csrf = app.csrf(client, "/staff/login").await;
    let id = person_id(seq);
    let form = [("csrf", csrf.as_str()), ("name", "某某"), ("id_number", id.as_str())];
    let mut request = client.post(app.url(&format!("/t/{TOWNSHIP}/self-query"))).form(&form);
    if let Some(address) = forwarded_for {
        request = request.header("x-forwarded-for", address);
    }
    request.send().await.unwrap().status().as_u16()
}

/// The address the audit log recorded for an objection sent with these headers.
async fn audited_address(app: &TestApp, headers: &[(&'static str, &'static str)]) -> String {
    let client = TestApp::client();
    let csrf = app.csrf(&client, &format!("/objections/new?village={VILLAGE}")).await;
    let key = format!("{:032x}", rand::random::<u128>());
    let form = [
        ("csrf", csrf.as_str()),
        ("form_key", key.as_str()),
        ("village", VILLAGE),
        ("name", "张三"),
        ("phone", "13912345678"),
        ("body", "名单里有已故人员，请核实"),
    ];
    let mut request = client.post(app.url("/objections/new")).form(&form);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    assert_eq!(request.send().await.unwrap().status(), 303);
    let audit = app.state.store().audit_entries("620922", 200, 0).await.unwrap();
    audit.iter().find(|a| a.action == "objection.create").unwrap().ip.clone()
}

both_backends!(forwarding_headers_from_an_untrusted_peer_are_ignored, |app: TestApp| async move {
    assert_eq!(audited_address(&app, &[("x-forwarded-for", "203.0.113.9")]).await, "127.0.0.1");
    // Spoofing a new address for every query does not escape the quota of 30 per ten minutes.
    let client = TestApp::client();
    for seq in 0..30 {
        let spoofed = format!("198.51.100.{seq}");
        assert_eq!(self_query(&app, &client, Some(&spoofed), seq).await, 200);
    }
    assert_eq!(self_query(&app, &client, Some("198.51.100.200"), 31).await, 429);
});

both_backends_with!(
    a_trusted_proxy_names_the_client_and_each_client_has_its_own_quota,
    |c: &mut Config| c.trusted_proxies = vec!["127.0.0.0/8".into()],
    |app: TestApp| async move {
        let proxied = [("x-forwarded-for", "6.6.6.6, 203.0.113.9")];
        assert_eq!(audited_address(&app, &proxied).await, "203.0.113.9", "the rightmost untrusted hop");
        let rfc = [("forwarded", "for=\"[2001:db8:cafe::17]:4711\";proto=https")];
        assert_eq!(audited_address(&app, &rfc).await, "2001:db8:cafe::17");
        let client = TestApp::client();
        for seq in 0..30 {
            assert_eq!(self_query(&app, &client, Some("198.51.100.1"), seq).await, 200);
        }
        assert_eq!(self_query(&app, &client, Some("198.51.100.1"), 30).await, 429, "one villager's quota is spent");
        assert_eq!(self_query(&app, &client, Some("198.51.100.2"), 31).await, 200, "another villager is not held up");
    }
);

both_backends!(a_hall_terminal_has_its_own_self_query_quota, |app: TestApp| async move {
    // Phones in the hall share its address and spend the address's quota.
    let phone = TestApp::client();
    for seq in 0..30 {
        assert_eq!(self_query(&app, &phone, None, seq).await, 200);
    }
    assert_eq!(self_query(&app, &phone, None, 30).await, 429);
    let admin = app.login_as(Role::CountyAdmin).await;
    let terminal = enrolled(&app, &register(&app, &admin, "大厅1号机", "60").await).await;
    for seq in 100..130 {
        assert_eq!(self_query(&app, &terminal, None, seq).await, 200, "query {seq} from the terminal");
    }
    assert_eq!(self_query(&app, &terminal, None, 130).await, 429, "the terminal's 31st query");
    // The kiosk's own self-query counts against the same device quota.
    let csrf = app.csrf(&terminal, "/staff/login").await;
    let id = person_id(131);
    let form = [("csrf", csrf.as_str()), ("name", "某某"), ("id_number", id.as_str())];
    let kiosk = terminal.post(app.url("/kiosk/self-query")).form(&form).send().await.unwrap();
    assert_eq!(kiosk.status(), 429);
});

// ---- the error page, cookies, metrics ----

both_backends!(the_error_page_links_back_only_to_a_path_on_this_site, |app: TestApp| async move {
    let client = TestApp::client();
    let back = |referer: String| {
        let client = client.clone();
        let url = app.url("/no-such-page");
        async move {
            let page = client.get(url).header("referer", referer).send().await.unwrap();
            assert_eq!(page.status(), 404);
            page.text().await.unwrap()
        }
    };
    let own = back(app.url("/t/620922100/subsidies?year=2025")).await;
    assert!(own.contains("href=\"/t/620922100/subsidies?year=2025\""), "{own}");
    for hostile in [app.url("//evil.example/phish"), app.url("/\\evil.example/phish"), "//evil.example/x".into()] {
        let page = back(hostile.clone()).await;
        assert!(!page.contains("evil.example"), "{hostile}: {page}");
        assert!(page.contains("href=\"/\""), "falls back to the home page: {page}");
    }
});

fn csrf_cookie(response: &reqwest::Response) -> String {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("xw_csrf="))
        .unwrap()
}

both_backends_with!(
    the_csrf_cookie_is_secure_when_cookies_are,
    |c: &mut Config| c.secure_cookies = true,
    |app: TestApp| async move {
        let page = TestApp::client().get(app.url("/staff/login")).send().await.unwrap();
        let cookie = csrf_cookie(&page);
        assert!(cookie.contains("; Secure") && cookie.contains("HttpOnly"), "{cookie}");
    }
);

both_backends!(the_csrf_cookie_is_not_secure_over_plain_http, |app: TestApp| async move {
    let page = TestApp::client().get(app.url("/staff/login")).send().await.unwrap();
    assert!(!csrf_cookie(&page).contains("Secure"));
});

async fn metrics_status(app: &TestApp, headers: &[(&str, &str)]) -> u16 {
    let mut request = TestApp::client().get(app.url("/metrics"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap().status().as_u16()
}

both_backends!(metrics_are_for_this_machine_only, |app: TestApp| async move {
    assert_eq!(metrics_status(&app, &[]).await, 200, "a loopback peer");
    assert_eq!(metrics_status(&app, &[("x-forwarded-for", "203.0.113.9")]).await, 404, "forwarded by a local proxy");
    assert_eq!(metrics_status(&app, &[("forwarded", "for=203.0.113.9")]).await, 404);
    assert_eq!(metrics_status(&app, &[("authorization", "Bearer anything")]).await, 200, "no token configured");
});

both_backends_with!(
    metrics_through_a_proxy_need_the_bearer_token,
    |c: &mut Config| {
        c.trusted_proxies = vec!["127.0.0.1".into()];
        c.metrics_token = Some(secrecy::SecretString::from("s3cret-metrics-token"));
    },
    |app: TestApp| async move {
        let outside = ("x-forwarded-for", "203.0.113.9");
        assert_eq!(metrics_status(&app, &[outside]).await, 404);
        assert_eq!(metrics_status(&app, &[outside, ("authorization", "Bearer wrong")]).await, 404);
        let page = TestApp::client().get(app.url("/metrics")).header("x-forwarded-for", "203.0.113.9").send().await;
        let page = page.unwrap().text().await.unwrap();
        assert!(page.contains("页面不存在") && !page.contains("http_requests_total"), "{page}");
        let token = ("authorization", "Bearer s3cret-metrics-token");
        assert_eq!(metrics_status(&app, &[outside, token]).await, 200);
        let body = TestApp::client()
            .get(app.url("/metrics"))
            .header("authorization", "Bearer s3cret-metrics-token")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(body.contains("http_requests_total"));
    }
);

// ---- links never built from Host ----

async fn published_roster(app: &TestApp) -> i64 {
    let clerk = app.login_as(Role::VillageClerk).await;
    let reviewer = app.login_as(Role::TownshipReviewer).await;
    let fields = vec![
        ("programme_id", app.programme().await.to_string()),
        ("org_code", VILLAGE.to_owned()),
        ("year", "2025".to_owned()),
        ("phase", "proposed".to_owned()),
    ];
    let id = app.import_roster(&clerk, &fields, roster_csv(&[("张三", person_id(1), "600")])).await;
    app.publish(&clerk, &reviewer, id).await;
    id
}

async fn qr_with_host(app: &TestApp, roster: i64, host: &str) -> String {
    let response =
        TestApp::client().get(app.url(&format!("/rosters/{roster}/qr.svg"))).header("host", host).send().await.unwrap();
    assert_eq!(response.status(), 200);
    response.text().await.unwrap()
}

both_backends!(a_forged_host_never_reaches_a_qr_code_or_an_enrolment_link, |app: TestApp| async move {
    let roster = published_roster(&app).await;
    let forged = qr_with_host(&app, roster, "evil.example").await;
    let other = qr_with_host(&app, roster, "another.example:8443").await;
    assert_eq!(forged, other, "the QR payload does not depend on Host");
    let path_only = qrcode::QrCode::with_error_correction_level(format!("/rosters/{roster}"), qrcode::EcLevel::M)
        .unwrap()
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build();
    assert_eq!(forged, path_only, "without public_url the QR code holds the page's path");

    let admin = app.login_as(Role::CountyAdmin).await;
    let csrf = app.csrf(&admin, "/staff/login").await;
    let key = format!("{:032x}", rand::random::<u128>());
    let form = [
        ("csrf", csrf.as_str()),
        ("form_key", key.as_str()),
        ("org_code", TOWNSHIP),
        ("name", "大厅2号机"),
        ("idle_seconds", "60"),
    ];
    let page = admin.post(app.url("/staff/kiosks")).header("host", "evil.example").form(&form).send().await.unwrap();
    let page = page.text().await.unwrap();
    assert!(page.contains("/kiosk/enrol/") && !page.contains("evil.example"), "{page}");
});

both_backends_with!(
    with_a_public_url_qr_codes_carry_it,
    |c: &mut Config| c.public_url = Some("https://xw.example.cn/".into()),
    |app: TestApp| async move {
        let roster = published_roster(&app).await;
        let svg = qr_with_host(&app, roster, "evil.example").await;
        let expected = qrcode::QrCode::with_error_correction_level(
            format!("https://xw.example.cn/rosters/{roster}"),
            qrcode::EcLevel::M,
        )
        .unwrap()
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build();
        assert_eq!(svg, expected);
    }
);
