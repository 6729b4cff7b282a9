//! The open API over HTTP on both engines: lists page with a `next` link and a `Link` header,
//! strong ETags answer 304, every error (a bad parameter, an unknown path, a wrong method, the
//! read quota) has the JSON shape with the field named, a roster is exactly as masked as its
//! page and a draft is not found, the OpenAPI document is 3.1 and lists every operation, and the
//! docs page is Chinese.

use serde_json::Value;
use xiaowei_core::Role;
use xiaowei_server::Config;

use crate::helpers::{Backend, TestApp, both_backends, person_id, roster_csv, with_app_config};

const TOWNSHIP: &str = "620922100";
const VILLAGE: &str = "620922100200";

async fn get(app: &TestApp, path: &str) -> (u16, reqwest::header::HeaderMap, Value) {
    let response = TestApp::client().get(app.url(path)).send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    (status, headers, serde_json::from_str(&text).unwrap_or_else(|_| panic!("{path}: not JSON: {text}")))
}

/// Asserts the error shape and returns the error object.
fn error_of(status: u16, body: &Value, expected_status: u16, code: &str, field: Option<&str>) -> Value {
    assert_eq!(status, expected_status, "{body}");
    let error = body["error"].clone();
    assert_eq!(error["code"], code, "{body}");
    assert!(error["message"].as_str().is_some_and(|m| !m.is_empty() && !m.is_ascii()), "{body}");
    assert_eq!(error["field"].as_str(), field, "{body}");
    assert_eq!(error["request_id"].as_str().map(str::len), Some(16), "{body}");
    error
}

both_backends!(lists_page_with_a_next_link_and_an_unchanged_answer_is_304, |app: TestApp| async move {
    let (status, headers, first) = get(&app, "/api/v1/townships?per_page=1").await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["total"], 3, "{first}");
    assert_eq!(first["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(first["items"][0]["code"], TOWNSHIP);
    assert_eq!(first["items"][0]["villages"], 1);
    let next = first["next"].as_str().unwrap().to_owned();
    assert_eq!(next, "/api/v1/townships?page=2&per_page=1");
    assert_eq!(headers["link"].to_str().unwrap(), format!("<{next}>; rel=\"next\""));
    let (_, _, last) = get(&app, "/api/v1/townships?page=3&per_page=1").await;
    assert_eq!(last["next"], Value::Null);
    assert_eq!(last["items"].as_array().map(Vec::len), Some(1));
    let (_, _, beyond) = get(&app, "/api/v1/townships?page=9").await;
    assert_eq!(beyond["items"].as_array().map(Vec::len), Some(0));

    let etag = headers["etag"].to_str().unwrap().to_owned();
    assert!(etag.starts_with('"') && etag.len() == 34, "{etag}");
    let again = TestApp::client()
        .get(app.url("/api/v1/townships?per_page=1"))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    assert_eq!(again.headers()["etag"].to_str().unwrap(), etag);
    assert!(again.text().await.unwrap().is_empty());
    let other = TestApp::client()
        .get(app.url("/api/v1/townships?per_page=2"))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 200);

    let (_, _, villages) = get(&app, &format!("/api/v1/townships/{TOWNSHIP}/villages")).await;
    assert_eq!(villages["items"][0]["code"], VILLAGE);
    assert_eq!(villages["items"][0]["name"], "南岔村");
});

both_backends!(every_error_has_the_json_shape_and_names_the_field, |app: TestApp| async move {
    for (path, field) in [
        ("/api/v1/townships?per_page=0", "per_page"),
        ("/api/v1/townships?per_page=101", "per_page"),
        ("/api/v1/townships?page=abc", "page"),
        ("/api/v1/townships?page=1&page=2", "query"),
        ("/api/v1/rosters", "place"),
        ("/api/v1/rosters?place=abc", "place"),
        ("/api/v1/rosters?place=620922100&programme=x", "programme"),
        ("/api/v1/rosters/abc", "id"),
        ("/api/v1/rosters/0/entries", "id"),
        ("/api/v1/disclosures?place=620922100&category=gossip", "category"),
        ("/api/v1/ledger/entries/-1", "index"),
        ("/api/v1/townships/62092/villages", "code"),
        ("/api/v1/cases/XX1", "tracking"),
        ("/api/v1/messages/LY20251009123456", "key"),
    ] {
        let (status, _, body) = get(&app, path).await;
        error_of(status, &body, 400, "invalid_input", Some(field));
    }
    for path in [
        "/api/v1/rosters/999999",
        "/api/v1/rosters?place=620922100999",
        "/api/v1/powers/999999",
        "/api/v1/disclosures/999999",
        "/api/v1/service-items/999999",
        "/api/v1/ledger/entries/999999",
        "/api/v1/nothing-here",
        "/api/v1/cases/BJ20251009123456?key=0123456789abcdef0123",
    ] {
        let (status, _, body) = get(&app, path).await;
        error_of(status, &body, 404, "not_found", None);
    }
    let wrong_method = TestApp::client().delete(app.url("/api/v1/townships")).send().await.unwrap();
    assert_eq!(wrong_method.status(), 405);
    assert!(wrong_method.headers().contains_key("allow"));
    let body: Value = serde_json::from_str(&wrong_method.text().await.unwrap()).unwrap();
    error_of(405, &body, 405, "method_not_allowed", None);
});

both_backends!(a_roster_is_as_masked_as_its_page_and_a_draft_is_not_found, |app: TestApp| async move {
    let clerk = app.login_as(Role::VillageClerk).await;
    let reviewer = app.login_as(Role::TownshipReviewer).await;
    let programme = app.programme().await;
    let fields = vec![
        ("programme_id", programme.to_string()),
        ("org_code", VILLAGE.to_owned()),
        ("year", "2025".to_owned()),
        ("phase", "proposed".to_owned()),
    ];
    let lines = [("张三", person_id(1), "600"), ("李四", person_id(2), "550.5"), ("王五", person_id(3), "600")];
    let roster = app.import_roster(&clerk, &fields, roster_csv(&lines)).await;
    let (status, _, _) = get(&app, &format!("/api/v1/rosters/{roster}")).await;
    assert_eq!(status, 404, "a draft is not public");
    app.publish(&clerk, &reviewer, roster).await;

    let (_, _, list) = get(&app, &format!("/api/v1/rosters?place={VILLAGE}&programme={programme}")).await;
    assert_eq!(list["total"], 1, "{list}");
    assert_eq!(list["items"][0]["id"], roster);
    assert_eq!(list["items"][0]["total_fen"], 175_050);
    let (_, _, detail) = get(&app, &format!("/api/v1/rosters/{roster}")).await;
    assert_eq!(detail["status"], "published", "{detail}");
    assert_eq!(detail["entry_count"], 3);
    assert!(detail["publicity_start"].is_string() && detail["ledger_leaf"].is_i64(), "{detail}");
    assert_eq!(detail["differences"].as_array().map(Vec::len), Some(0));
    let (_, headers, page) = get(&app, &format!("/api/v1/rosters/{roster}/entries?per_page=2")).await;
    assert_eq!(page["total"], 3);
    assert!(headers.contains_key("link"));
    assert_eq!(page["items"][1]["name"], "李四");
    assert_eq!(page["items"][1]["amount_fen"], 55_050);
    let (_, _, rest) = get(&app, &format!("/api/v1/rosters/{roster}/entries?page=2&per_page=2")).await;
    assert_eq!(rest["items"][0]["name"], "王五");

    // The masked ID is the page's own; no full ID and no account appear anywhere.
    let html =
        TestApp::client().get(app.url(&format!("/rosters/{roster}"))).send().await.unwrap().text().await.unwrap();
    let masked = page["items"][0]["id_masked"].as_str().unwrap();
    assert!(masked.contains('*') && html.contains(masked), "{masked}");
    let everything = format!("{list}{detail}{page}{rest}");
    for (_, id, _) in &lines {
        assert!(!everything.contains(id.as_str()), "a full ID leaked");
    }
    assert!(!everything.contains("622848") && !everything.contains("account"), "{everything}");

    // The leaf named by the roster is its publication.
    let leaf = detail["ledger_leaf"].as_i64().unwrap();
    let (_, _, entry) = get(&app, &format!("/api/v1/ledger/entries/{leaf}")).await;
    assert_eq!(entry["kind"], "roster");
    assert_eq!(entry["object_id"], roster);
    assert!(entry["text"].as_str().unwrap().starts_with("xiaowei-ledger-leaf/"), "{entry}");
    let (_, _, leaves) = get(&app, "/api/v1/ledger/entries").await;
    assert!(leaves["total"].as_i64().unwrap() > leaf);
});

/// Runs `body` on both engines with a read quota of three a minute.
macro_rules! with_small_quota {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;

            fn configure(config: &mut Config) {
                config.api_reads_per_minute = 3;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                with_app_config(Backend::Sqlite, configure, $body).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                with_app_config(Backend::Postgres, configure, $body).await;
            }
        }
    };
}

with_small_quota!(reads_beyond_the_quota_answer_429_with_retry_after, |app: TestApp| async move {
    for _ in 0..3 {
        assert_eq!(get(&app, "/api/v1/service-items").await.0, 200);
    }
    let (status, headers, body) = get(&app, "/api/v1/townships").await;
    error_of(status, &body, 429, "too_many_attempts", None);
    assert!(headers["retry-after"].to_str().unwrap().parse::<u64>().unwrap() >= 1);
    // The document and the pages are not API reads.
    assert_eq!(TestApp::client().get(app.url("/api/openapi.json")).send().await.unwrap().status(), 200);
    assert_eq!(TestApp::client().get(app.url("/")).send().await.unwrap().status(), 200);
});

both_backends!(the_document_is_openapi_3_1_and_the_page_lists_every_operation, |app: TestApp| async move {
    let (status, _, doc) = get(&app, "/api/openapi.json").await;
    assert_eq!(status, 200);
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    let served = xiaowei_server::api::document();
    assert_eq!(paths.len(), served.paths.paths.len());
    for (path, item) in paths {
        assert!(path.starts_with("/api/v1/"), "{path}");
        for (method, op) in item.as_object().unwrap() {
            for code in ["400", "404", "429"] {
                assert!(op["responses"][code]["content"]["application/json"].is_object(), "{method} {path} {code}");
            }
            assert!(op["summary"].as_str().is_some_and(|s| !s.is_ascii()), "{method} {path} needs a Chinese summary");
        }
    }
    for path in
        ["/api/v1/rosters/{id}/entries", "/api/v1/powers/{id}", "/api/v1/ledger/entries", "/api/v1/cases/{tracking}"]
    {
        assert!(paths.contains_key(path), "{path}");
    }
    let page = TestApp::client().get(app.url("/api/docs")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("开放接口") && html.contains("花名册明细") && html.contains("通用约定"), "{html}");
    for path in paths.keys() {
        assert!(html.contains(path.as_str()), "{path} missing from the page");
    }
    assert!(!html.contains("<script"), "the page needs no script");
});

async fn post_json(app: &TestApp, path: &str, body: &Value) -> (u16, Value) {
    let response = TestApp::client().post(app.url(path)).json_body(body).await;
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or_else(|_| panic!("{path}: not JSON: {text}")))
}

/// `reqwest` without its `json` feature: the body serialized by hand.
trait JsonBody {
    async fn json_body(self, body: &Value) -> reqwest::Response;
}

impl JsonBody for reqwest::RequestBuilder {
    async fn json_body(self, body: &Value) -> reqwest::Response {
        self.header("content-type", "application/json").body(body.to_string()).send().await.unwrap()
    }
}

both_backends!(a_case_and_a_message_are_filed_once_and_followed_by_key, |app: TestApp| async move {
    let item = app
        .state
        .store()
        .upsert_service_item(
            &xiaowei_store::NewServiceItem {
                department_id: app.own_department,
                name: "高龄补贴申领".into(),
                conditions: "户籍在本县".into(),
                materials: "身份证".into(),
                steps: "申请\n审核".into(),
                time_limit: xiaowei_core::service::TimeLimit::WorkingDays(15),
                fee: "不收费".into(),
                contact_phone: "0937-5522001".into(),
                external_url: None,
                requires_id: true,
                officer_id: None,
            },
            1,
        )
        .await
        .unwrap();
    let path = format!("/api/v1/service-items/{item}/cases");
    let mut application = serde_json::json!({
        "submit_key": "api-case-0000000001",
        "name": "孙大爷",
        "phone": "13712340000",
        "village": VILLAGE,
        "id_number": person_id(7),
        "description": "申请高龄补贴，请联系我",
    });
    // Without a proven phone, nothing is filed.
    let (status, refused) = post_json(&app, &path, &application).await;
    error_of(status, &refused, 400, "invalid_input", Some("phone_token"));
    // The phone is proven first, as on the pages: a code sent, then typed back.
    let (status, sent) = post_json(&app, "/api/v1/phone-codes", &serde_json::json!({"phone": "13712340000"})).await;
    assert_eq!((status, &sent["masked_phone"]), (201, &Value::from("137****0000")), "{sent}");
    let code = sent["shown_code"].as_str().expect("no SMS provider in tests: the code is shown").to_owned();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let try_code = |code: &str| serde_json::json!({"proof": sent["proof"], "code": code});
    let (status, refused) = post_json(&app, "/api/v1/phone-proofs", &try_code(wrong)).await;
    error_of(status, &refused, 400, "invalid_input", Some("code"));
    assert!(refused["error"]["message"].as_str().unwrap().contains("还可以再试4次"), "{refused}");
    let (status, proven) = post_json(&app, "/api/v1/phone-proofs", &try_code(&code)).await;
    assert_eq!(status, 201, "{proven}");
    let (status, refused) = post_json(&app, "/api/v1/phone-proofs", &try_code(&code)).await;
    error_of(status, &refused, 400, "invalid_input", Some("code"));
    application["phone_token"] = proven["phone_token"].clone();
    let (status, first) = post_json(&app, &path, &application).await;
    assert_eq!(status, 201, "{first}");
    assert_eq!(first["created"], true);
    let (status, again) = post_json(&app, &path, &application).await;
    assert_eq!((status, &again["tracking"], &again["created"]), (200, &first["tracking"], &Value::Bool(false)));
    let tracking = first["tracking"].as_str().unwrap();
    let key = first["key"].as_str().unwrap();
    let (status, _, case) = get(&app, &format!("/api/v1/cases/{tracking}?key={key}")).await;
    assert_eq!(status, 200, "{case}");
    assert_eq!(case["status"], "submitted");
    assert_eq!(case["phone_masked"], "137****0000");
    assert!(case["timeline"].as_array().is_some_and(|t| !t.is_empty()), "{case}");
    assert!(!case.to_string().contains("13712340000") && !case.to_string().contains(&person_id(7)));
    let wrong = format!("/api/v1/cases/{tracking}?key=0123456789abcdef0123");
    assert_eq!(get(&app, &wrong).await.0, 404);
    // The same validation as the form, with the field named.
    application["submit_key"] = "api-case-0000000002".into();
    application["id_number"] = "620922198001010011".into();
    let (status, refused) = post_json(&app, &path, &application).await;
    error_of(status, &refused, 400, "invalid_input", Some("id_number"));
    application["phone"] = "12345".into();
    let (status, refused) = post_json(&app, &path, &application).await;
    error_of(status, &refused, 400, "invalid_input", Some("phone"));
    let form = TestApp::client().post(app.url(&path)).body("name=x").send().await.unwrap();
    assert_eq!(form.status(), 415);

    let message = serde_json::json!({
        "submit_key": "api-message-00000001",
        "kind": "report",
        "place": VILLAGE,
        "body": "村里有人冒领补贴，请核查",
    });
    let (status, left) = post_json(&app, &format!("/api/v1/townships/{TOWNSHIP}/messages"), &message).await;
    assert_eq!(status, 201, "{left}");
    assert!(left["secret"].as_str().is_some_and(|s| s.len() >= 10), "an anonymous report gets its password once");
    let (status, again) = post_json(&app, &format!("/api/v1/townships/{TOWNSHIP}/messages"), &message).await;
    assert_eq!((status, &again["tracking"], &again["secret"]), (200, &left["tracking"], &Value::Null));
    let shown =
        format!("/api/v1/messages/{}?key={}", left["tracking"].as_str().unwrap(), left["key"].as_str().unwrap());
    let (status, _, view) = get(&app, &shown).await;
    assert_eq!((status, &view["kind"], &view["phone_masked"]), (200, &Value::from("report"), &Value::from("")));
    let complaint = serde_json::json!({
        "submit_key": "api-message-00000002", "kind": "complaint", "place": VILLAGE, "body": "路灯坏了很久没人修",
    });
    let (status, refused) = post_json(&app, &format!("/api/v1/townships/{TOWNSHIP}/messages"), &complaint).await;
    error_of(status, &refused, 400, "invalid_input", Some("phone"));
});
