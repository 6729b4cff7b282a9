//! Open311 GeoReport v2 over HTTP, checked field by field against the specification: services
//! (JSON and XML) and their definitions, the request list with its filters and errors, one
//! request, tokens; filing with an integrator key issued in the back office (shown once, hashed
//! at rest, idempotent), the 12345 exchange (pull after a cursor, push contacted / replied /
//! completed through the case state machine onto the public timeline), scope, every use audited,
//! and expired or revoked keys refused.

use serde_json::Value;
use xiaowei_core::Role;
use xiaowei_store::{NewEvent, NewIntegratorToken, NewMessage};

use crate::helpers::{TestApp, both_backends};

const NANCHA: &str = "620922100200";

/// The fields of a GeoReport v2 service, in the specification's order.
const SERVICE_FIELDS: [&str; 7] =
    ["service_code", "service_name", "description", "metadata", "type", "keywords", "group"];
/// The fields of a GeoReport v2 service request.
const REQUEST_FIELDS: [&str; 17] = [
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
];
const ATTRIBUTE_FIELDS: [&str; 8] =
    ["variable", "code", "datatype", "required", "datatype_description", "order", "description", "values"];
const DATATYPES: [&str; 6] = ["string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"];

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
    k.sort();
    k
}

fn sorted(fields: &[&str]) -> Vec<String> {
    let mut k: Vec<String> = fields.iter().map(|s| (*s).to_owned()).collect();
    k.sort();
    k
}

/// A GeoReport datetime: ISO 8601 with the Beijing offset.
fn assert_datetime(v: &Value) {
    let s = v.as_str().unwrap_or_else(|| panic!("not a datetime: {v}"));
    assert!(s.ends_with("+08:00") && s.len() == 25, "{s}");
    s.parse::<jiff::Timestamp>().unwrap();
}

fn assert_request(r: &Value) {
    assert_eq!(keys(r), sorted(&REQUEST_FIELDS), "{r}");
    assert!(r["status"] == "open" || r["status"] == "closed", "{r}");
    for f in ["service_request_id", "service_name", "service_code", "agency_responsible", "address", "address_id"] {
        assert!(r[f].as_str().is_some_and(|s| !s.is_empty()), "{f} in {r}");
    }
    for f in ["requested_datetime", "updated_datetime", "expected_datetime"] {
        assert_datetime(&r[f]);
    }
    for f in ["zipcode", "lat", "long", "media_url"] {
        assert!(r[f].is_null(), "{f} in {r}");
    }
    assert!(r["description"].is_null() || r["description"].is_string());
    assert!(r["status_notes"].is_string());
}

/// A GeoReport error answer: the status, and an array of `{code, description}` with that code.
async fn assert_error(r: reqwest::Response, status: u16) -> String {
    assert_eq!(r.status(), status);
    let body: Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
    let errors = body.as_array().unwrap_or_else(|| panic!("errors are an array: {body}"));
    assert_eq!(errors.len(), 1);
    assert_eq!(keys(&errors[0]), sorted(&["code", "description"]));
    assert_eq!(errors[0]["code"], status);
    errors[0]["description"].as_str().unwrap().to_owned()
}

async fn get(app: &TestApp, path: &str) -> reqwest::Response {
    TestApp::client().get(app.url(path)).send().await.unwrap()
}

async fn get_json(app: &TestApp, path: &str) -> Value {
    let r = get(app, path).await;
    assert_eq!(r.status(), 200, "{path}");
    serde_json::from_str(&r.text().await.unwrap()).unwrap()
}

async fn post(app: &TestApp, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
    TestApp::client().post(app.url(path)).form(form).send().await.unwrap()
}

/// Stores a message of `kind` in 南岔村 as left at now.
async fn message(app: &TestApp, kind: &str, tracking: &str, allow_public: bool) {
    let now = app.state.now();
    let m = NewMessage {
        tracking: tracking.into(),
        submit_key: format!("o311-test-{tracking}"),
        kind: kind.parse().unwrap(),
        org_code: NANCHA.into(),
        author_name: "王五".into(),
        phone_enc: Some(app.state.cipher().encrypt("13800001234")),
        phone_idx: Some(app.state.cipher().blind_index("phone", "13800001234")),
        secret_idx: None,
        body: "村口路灯坏了，王五反映".into(),
        allow_public,
        submitted_at: now,
        reply_due: now + 3 * 86_400,
        reply_remind_at: now + 2 * 86_400,
        deadline_basis: "3个工作日".into(),
    };
    let event = NewEvent {
        kind: xiaowei_core::tracked::TimelineKind::Submitted,
        actor: "留言人".into(),
        staff_user_id: None,
        method: None,
        note: "提交".into(),
        public: true,
    };
    app.state.store().create_message(&m, &[], &event, &[]).await.unwrap();
}

/// Issues a key in the back office as the county admin; returns the key shown once.
async fn issue_key(app: &TestApp, org: &str, kinds: &[&str]) -> String {
    let admin = app.login_as(Role::CountyAdmin).await;
    let mut fields = vec![("org_code", org), ("name", "县12345热线"), ("days", "30")];
    fields.extend(kinds.iter().map(|k| ("kinds", *k)));
    let r = app.post_form(&admin, "/staff/integrators", &fields).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let html = r.text().await.unwrap();
    let start = html.find("<code id=\"issued-key\">").expect("the key is shown") + "<code id=\"issued-key\">".len();
    let key = html[start..].split('<').next().unwrap().to_owned();
    assert!(key.starts_with("xw311_") && key.len() == 70, "{key}");
    let again = admin.get(app.url("/staff/integrators")).send().await.unwrap().text().await.unwrap();
    assert!(!again.contains(&key), "the key is shown once only");
    key
}

both_backends!(services_follow_the_georeport_shape, |app: TestApp| async move {
    let ([own, _], _) = crate::services::seed_cases(&app).await;
    let services = get_json(&app, "/open311/v2/services.json").await;
    let services = services.as_array().unwrap();
    for s in services {
        assert_eq!(keys(s), sorted(&SERVICE_FIELDS), "{s}");
        assert_eq!(s["type"], "realtime");
        assert!(s["metadata"].is_boolean());
        for f in ["service_code", "service_name", "description", "keywords", "group"] {
            assert!(s[f].as_str().is_some_and(|v| !v.is_empty()), "{f} in {s}");
        }
    }
    let codes: Vec<&str> = services.iter().map(|s| s["service_code"].as_str().unwrap()).collect();
    assert!(codes.contains(&format!("item-{own}").as_str()));
    for code in ["message-question", "message-complaint", "message-suggestion"] {
        assert!(codes.contains(&code), "{code}");
    }
    assert!(!codes.iter().any(|c| c.contains("report")), "举报 is never a service");
    let item = services.iter().find(|s| s["service_code"] == format!("item-{own}")).unwrap();
    assert_eq!(item["service_name"], "高龄补贴申领");
    assert_eq!(item["group"], "县民政局");

    let xml = get(&app, "/open311/v2/services.xml").await;
    assert!(xml.headers()["content-type"].to_str().unwrap().starts_with("application/xml"));
    let xml = xml.text().await.unwrap();
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<services><service>"), "{xml}");
    assert_eq!(xml.matches("<service>").count(), services.len());
    assert!(xml.contains(&format!("<service_code>item-{own}</service_code><service_name>高龄补贴申领</service_name>")));
    assert!(xml.contains("<metadata>true</metadata><type>realtime</type>"), "{xml}");

    let definition = get_json(&app, &format!("/open311/v2/services/item-{own}.json")).await;
    assert_eq!(keys(&definition), sorted(&["service_code", "attributes"]));
    assert_eq!(definition["service_code"], format!("item-{own}"));
    let question = get_json(&app, "/open311/v2/services/message-question.json").await;
    for d in [&definition, &question] {
        for a in d["attributes"].as_array().unwrap() {
            assert_eq!(keys(a), sorted(&ATTRIBUTE_FIELDS), "{a}");
            assert_eq!(a["variable"], true);
            assert!(DATATYPES.contains(&a["datatype"].as_str().unwrap()));
            assert!(a["required"].is_boolean() && a["order"].is_u64());
            for v in a["values"].as_array().unwrap() {
                assert_eq!(keys(v), sorted(&["key", "name"]));
            }
        }
    }
    assert_eq!(definition["attributes"][0]["code"], "id_number");
    assert_eq!(definition["attributes"][0]["required"], false, "this item does not require the ID number");
    assert_eq!(question["attributes"][0]["datatype"], "singlevaluelist");
    assert!(assert_error(get(&app, "/open311/v2/services/message-report.json").await, 404).await.contains("没有找到"));
    assert_error(get(&app, "/open311/v2/services/item-99999.json").await, 404).await;
    assert_error(get(&app, "/open311/v2/services/item-1.xml").await, 400).await;
    assert_error(get(&app, "/open311/v2/nothing.json").await, 404).await;
});

both_backends!(requests_list_by_the_spec_and_keep_private_text_private, |app: TestApp| async move {
    let (_, [case, foreign_case]) = crate::services::seed_cases(&app).await;
    message(&app, "question", "LY20251009000001", true).await;
    message(&app, "report", "LY20251009000002", false).await;
    message(&app, "complaint", "LY20251009000003", false).await;

    let list = get_json(&app, "/open311/v2/requests.json").await;
    let list = list.as_array().unwrap();
    list.iter().for_each(assert_request);
    let ids: Vec<&str> = list.iter().map(|r| r["service_request_id"].as_str().unwrap()).collect();
    for id in [case.as_str(), "LY20251009000001", "LY20251009000003"] {
        assert!(ids.contains(&id), "{id} in {ids:?}");
    }
    assert!(!ids.contains(&"LY20251009000002"), "举报 is never listed");
    let case_row = list.iter().find(|r| r["service_request_id"] == case.as_str()).unwrap();
    assert_eq!(case_row["status"], "open");
    assert_eq!(case_row["status_notes"], "待联系");
    assert_eq!(case_row["address_id"], NANCHA);
    assert_eq!(case_row["address"], "渊泉镇南岔村");
    assert_eq!(case_row["agency_responsible"], "县民政局");
    assert!(case_row["description"].is_null(), "a case's description stays with the applicant");
    let question = list.iter().find(|r| r["service_request_id"] == "LY20251009000001").unwrap();
    assert_eq!(question["service_code"], "message-question");
    let text = question["description"].as_str().unwrap();
    assert!(text.contains("村口路灯坏了") && !text.contains("王五"), "redacted as on the public list: {text}");
    let complaint = list.iter().find(|r| r["service_request_id"] == "LY20251009000003").unwrap();
    assert!(complaint["description"].is_null(), "only a public question shows its text");
    assert!(!serde_json::to_string(&list).unwrap().contains("13800001234"));

    let one = get_json(&app, &format!("/open311/v2/requests/{case}.json")).await;
    assert_eq!(one.as_array().unwrap().len(), 1);
    assert_eq!(one[0], *case_row);
    assert_error(get(&app, "/open311/v2/requests/LY20251009000002.json").await, 404).await;
    assert_error(get(&app, "/open311/v2/requests/BJ20991231000000.json").await, 404).await;
    assert_error(get(&app, "/open311/v2/requests/nonsense.json").await, 400).await;

    let by_id = get_json(&app, &format!("/open311/v2/requests.json?service_request_id={case},{foreign_case}")).await;
    assert_eq!(by_id.as_array().unwrap().len(), 2);
    let by_code = get_json(&app, "/open311/v2/requests.json?service_code=message-complaint").await;
    assert_eq!(by_code.as_array().unwrap().len(), 1);
    let closed = get_json(&app, "/open311/v2/requests.json?status=closed").await;
    assert!(closed.as_array().unwrap().is_empty(), "nothing is answered yet");
    let open = get_json(&app, "/open311/v2/requests.json?status=open,closed").await;
    assert_eq!(open.as_array().unwrap().len(), list.len());
    let past = get_json(&app, "/open311/v2/requests.json?start_date=2020-01-01&end_date=2020-02-01").await;
    assert!(past.as_array().unwrap().is_empty());
    let now = jiff::Timestamp::from_second(app.state.now()).unwrap();
    let window = format!(
        "/open311/v2/requests.json?start_date={}&end_date={}",
        (now - jiff::SignedDuration::from_hours(1)).to_string().replace('+', "%2B"),
        (now + jiff::SignedDuration::from_hours(1)).to_string().replace('+', "%2B")
    );
    assert_eq!(get_json(&app, &window).await.as_array().unwrap().len(), list.len());
    let long = "/open311/v2/requests.json?start_date=2025-01-01&end_date=2025-06-01";
    assert!(assert_error(get(&app, long).await, 400).await.contains("90天"));
    assert!(assert_error(get(&app, "/open311/v2/requests.json?status=pending").await, 400).await.contains("status"));
    assert!(
        assert_error(get(&app, "/open311/v2/requests.json?start_date=yesterday").await, 400)
            .await
            .contains("start_date")
    );
    assert_error(get(&app, "/open311/v2/requests.json?service_code=message-report").await, 400).await;
    assert_error(get(&app, "/open311/v2/requests.json?jurisdiction_id=999").await, 404).await;
    assert_eq!(get(&app, "/open311/v2/requests.json?jurisdiction_id=620922").await.status(), 200);
});

both_backends!(an_integrator_files_pulls_and_pushes_with_its_key, |app: TestApp| async move {
    let ([own, _], [_, foreign_case]) = crate::services::seed_cases(&app).await;
    let key = issue_key(&app, "620922100", &["cases", "messages"]).await;
    let store = app.state.store();
    let stored = store.integrator_tokens("620922").await.unwrap();
    assert_eq!(stored.len(), 1);
    assert!(key.starts_with(&stored[0].key_hint) && stored[0].key_hint.len() < 12, "only a hint is kept");

    let service = format!("item-{own}");
    let form = [
        ("api_key", key.as_str()),
        ("service_code", service.as_str()),
        ("address_id", NANCHA),
        ("last_name", "孙"),
        ("first_name", "大爷"),
        ("phone", "13700002222"),
        ("description", "申请高龄补贴，电话联系"),
    ];
    assert_error(post(&app, "/open311/v2/requests.json", &form[1..]).await, 401).await;
    let filed = post(&app, "/open311/v2/requests.json", &form).await;
    assert_eq!(filed.status(), 201);
    let filed: Value = filed.text().await.unwrap().parse().unwrap();
    assert_eq!(keys(&filed[0]), sorted(&["service_request_id", "service_notice", "account_id", "token"]));
    let id = filed[0]["service_request_id"].as_str().unwrap().to_owned();
    let token = filed[0]["token"].as_str().unwrap().to_owned();
    assert!(id.starts_with("BJ"));
    let again: Value = post(&app, "/open311/v2/requests.json", &form).await.text().await.unwrap().parse().unwrap();
    assert_eq!(again[0]["service_request_id"], id.as_str(), "the same request sent twice is filed once");
    let by_token = get_json(&app, &format!("/open311/v2/tokens/{token}.json")).await;
    assert_eq!(by_token, serde_json::json!([{ "service_request_id": id, "token": token }]));
    assert_error(get(&app, "/open311/v2/tokens/o311-unknown.json").await, 404).await;
    let case = store.find_case_by_tracking(&id).await.unwrap().unwrap();
    assert_eq!((case.applicant_name.as_str(), case.org_code.as_str()), ("孙大爷", NANCHA));
    assert_ne!(case.phone_enc, b"13700002222".to_vec(), "the phone is sealed as on the form");

    let mut bad = form.to_vec();
    bad[5] = ("phone", "12345");
    assert!(assert_error(post(&app, "/open311/v2/requests.json", &bad).await, 400).await.contains("手机号"));
    bad[5] = ("phone", "13700002222");
    bad[2] = ("address_id", "620922101200");
    assert_error(post(&app, "/open311/v2/requests.json", &bad).await, 403).await;
    let question = [
        ("api_key", key.as_str()),
        ("service_code", "message-question"),
        ("address_id", NANCHA),
        ("description", "请问高龄补贴什么时候发放？"),
        ("attribute[public]", "1"),
    ];
    let asked: Value = post(&app, "/open311/v2/requests.json", &question).await.text().await.unwrap().parse().unwrap();
    assert!(asked[0]["service_request_id"].as_str().unwrap().starts_with("LY"));

    // With its key the integrator reads the description; without, nobody does.
    let private = get_json(&app, &format!("/open311/v2/requests/{id}.json?api_key={key}")).await;
    assert_eq!(private[0]["description"], "申请高龄补贴，电话联系");
    assert!(get_json(&app, &format!("/open311/v2/requests/{id}.json")).await[0]["description"].is_null());

    let pull = get_json(&app, &format!("/open311/v2/exchange/requests.json?api_key={key}")).await;
    let pulled = pull["requests"].as_array().unwrap();
    let row = pulled.iter().find(|r| r["service_request_id"] == id.as_str()).expect("the new case is pulled");
    assert_eq!(row["phone"], "13700002222");
    assert_eq!(row["applicant_name"], "孙大爷");
    assert_eq!(row["kind"], "case");
    assert!(pulled.iter().all(|r| r["address_id"].as_str().unwrap().starts_with("620922100")), "its scope only");
    assert!(!pulled.iter().any(|r| r["service_request_id"] == foreign_case.as_str()));
    let cursor = pull["next_cursor"].as_str().unwrap().to_owned();
    let next = get_json(&app, &format!("/open311/v2/exchange/requests.json?api_key={key}&since={cursor}")).await;
    assert!(next["requests"].as_array().unwrap().is_empty(), "nothing new after the cursor");
    assert_eq!(next["next_cursor"], cursor.as_str());
    assert_error(get(&app, &format!("/open311/v2/exchange/requests.json?api_key={key}&since=x")).await, 400).await;

    let status = |s: &'static str, note: &'static str| {
        let (app, key, id) = (&app, key.clone(), id.clone());
        async move {
            let path = format!("/open311/v2/exchange/requests/{id}/status.json");
            post(app, &path, &[("api_key", key.as_str()), ("status", s), ("note", note)]).await
        }
    };
    assert!(assert_error(status("completed", "已办结").await, 409).await.contains("待联系"), "not before contact");
    let contacted = status("contacted", "已电话联系申请人").await;
    assert_eq!(contacted.status(), 200);
    let contacted: Value = contacted.text().await.unwrap().parse().unwrap();
    assert_request(&contacted[0]);
    assert_eq!(contacted[0]["status_notes"], "办理中");
    assert_eq!(status("contacted", "已电话联系申请人").await.status(), 409, "contact happens once");
    assert_eq!(status("replied", "材料已收齐，正在审核").await.status(), 200);
    let done: Value = status("completed", "高龄补贴已核定，下月发放").await.text().await.unwrap().parse().unwrap();
    assert_eq!(done[0]["status"], "closed");
    assert_eq!(done[0]["status_notes"], "已办结：高龄补贴已核定，下月发放");
    assert_error(status("closed", "x").await, 400).await;
    let foreign = format!("/open311/v2/exchange/requests/{foreign_case}/status.json");
    let refused = post(&app, &foreign, &[("api_key", key.as_str()), ("status", "contacted"), ("note", "联系")]).await;
    assert_error(refused, 404).await;

    let events = store.events(xiaowei_store::RequestKind::Case, case.id).await.unwrap();
    let public: Vec<_> = events.iter().filter(|e| e.public && e.actor == "县12345热线（接口）").collect();
    assert_eq!(public.len(), 3, "contact, progress and completion on the public timeline: {events:?}");
    let audit = store.audit_entries("", 500, 0).await.unwrap();
    for action in ["integrator.issue", "integrator.file", "integrator.read", "integrator.pull", "integrator.push"] {
        assert!(audit.iter().any(|a| a.action == action), "{action} audited");
    }
    // Every presented key is counted: 5 filings, 1 read, 3 pulls, 7 pushes (refused ones too).
    assert_eq!(store.integrator_tokens("620922").await.unwrap()[0].uses, 16, "every use counted");
});

both_backends!(an_expired_or_revoked_key_is_refused, |app: TestApp| async move {
    crate::services::seed_cases(&app).await;
    let key = issue_key(&app, "620922", &["cases"]).await;
    let list = format!("/open311/v2/exchange/requests.json?api_key={key}");
    assert_eq!(get(&app, &list).await.status(), 200);
    let question = [
        ("api_key", key.as_str()),
        ("service_code", "message-question"),
        ("address_id", NANCHA),
        ("description", "请问低保怎么申请？"),
    ];
    assert!(assert_error(post(&app, "/open311/v2/requests.json", &question).await, 403).await.contains("留言"));

    let admin = app.login_as(Role::CountyAdmin).await;
    let id = app.state.store().integrator_tokens("620922").await.unwrap()[0].id;
    let unconfirmed = app.post_form(&admin, &format!("/staff/integrators/{id}/revoke"), &[]).await;
    assert_eq!(unconfirmed.status(), 400, "revoking asks for confirmation");
    assert_eq!(get(&app, &list).await.status(), 200);
    let revoked = app.post_form(&admin, &format!("/staff/integrators/{id}/revoke"), &[("confirm", "1")]).await;
    assert_eq!(revoked.status(), 303);
    assert!(assert_error(get(&app, &list).await, 401).await.contains("吊销"));
    let page = admin.get(app.url("/staff/integrators")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("已吊销"));

    let expired = "xw311_expired-key-for-the-test";
    let token = NewIntegratorToken {
        name: "旧系统".into(),
        org_code: "620922".into(),
        kinds: xiaowei_core::open311::Kinds { cases: true, messages: false },
        key_hash: xiaowei_server::open311::key_hash(&app.state, expired),
        key_hint: "xw311_expi".into(),
        created_by: 1,
        expires_at: app.state.now() - 1,
    };
    app.state.store().create_integrator_token(&token, app.state.now() - 86_400).await.unwrap();
    let old = format!("/open311/v2/exchange/requests.json?api_key={expired}");
    assert!(assert_error(get(&app, &old).await, 401).await.contains("过期"));
    assert!(
        assert_error(get(&app, "/open311/v2/exchange/requests.json?api_key=xw311_nope").await, 401)
            .await
            .contains("无效")
    );
    assert!(assert_error(get(&app, "/open311/v2/exchange/requests.json").await, 401).await.contains("api_key"));
    let other = app.login_as(Role::TownshipAdmin).await;
    assert_eq!(other.get(app.url("/staff/integrators")).send().await.unwrap().status(), 403);
});
