//! Proof against the official SDKs. The same message goes out once through the provider's own
//! Python SDK and once through our client, both to a local capture server. A Python oracle then
//! recomputes each captured request's signature with the SDK's own signing code: it must agree
//! with the SDK's request (so the oracle reads requests correctly), with ours (so we sign as the
//! provider verifies), and must disagree once our request is tampered with (so the check has
//! teeth). Timestamps and nonces differ per request, hence recomputation, not byte equality.
//!
//! The interpreter comes from `XIAOWEI_SDK_PYTHON` (`scripts/test` sets up a venv from
//! `tests/sdk/requirements.txt`); without it these tests print a notice and pass, unless
//! `XIAOWEI_REQUIRE_SDK=1`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{Value, json};
use xiaowei_integrations::{SmsError, SmsMessage};

use crate::fake::*;

fn python() -> Option<PathBuf> {
    match std::env::var_os("XIAOWEI_SDK_PYTHON").filter(|p| !p.is_empty()) {
        Some(path) => Some(PathBuf::from(path)),
        None if std::env::var("XIAOWEI_REQUIRE_SDK").as_deref() == Ok("1") => {
            panic!(
                "XIAOWEI_REQUIRE_SDK=1 but XIAOWEI_SDK_PYTHON is not set: run scripts/test or point it at a venv with tests/sdk/requirements.txt"
            )
        }
        None => {
            eprintln!(
                "notice: XIAOWEI_SDK_PYTHON is not set; the SMS signatures were NOT checked against the official SDKs"
            );
            None
        }
    }
}

/// Runs `tests/sdk/<script> <mode>` with `input` as JSON on stdin and returns its JSON output.
async fn oracle(python: &Path, script: &str, mode: &str, input: Value) -> Value {
    let python = python.to_path_buf();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/sdk").join(script);
    let mode = mode.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut child = Command::new(&python)
            .arg(&script)
            .arg(&mode)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
        child.stdin.take().expect("stdin").write_all(input.to_string().as_bytes()).expect("write stdin");
        let output = child.wait_with_output().expect("oracle output");
        assert!(
            output.status.success(),
            "{} {mode} failed:\n{}",
            script.display(),
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).expect("oracle prints JSON")
    })
    .await
    .expect("oracle task")
}

/// Template variables with a space, Chinese, and characters that percent-encoding and JSON
/// both treat specially.
fn message() -> SmsMessage {
    SmsMessage {
        phone: PHONE.into(),
        template_code: "SMS_465390123".into(),
        params: vec![
            ("name".into(), "张 三".into()),
            ("item".into(), "最低生活保障/临时救助+医疗".into()),
            ("code".into(), "A&B=C~*'\"%".into()),
        ],
    }
}

fn assert_verified(results: &Value, who: &[&str]) {
    let results = results.as_array().expect("a list");
    assert_eq!(results.len(), who.len());
    for (result, who) in results.iter().zip(who) {
        assert_eq!(result["ok"], json!(true), "{who}'s request failed the SDK's signature check: {result}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aliyun_signature_agrees_with_the_official_sdk() {
    let Some(python) = python() else { return };
    let fake = Fake::start(aliyun_ok()).await;
    let message = message();
    let template_param: serde_json::Map<String, Value> =
        message.params.iter().map(|(n, v)| (n.clone(), Value::from(v.as_str()))).collect();

    let sdk_answer = oracle(
        &python,
        "aliyun_oracle.py",
        "send",
        json!({
            "endpoint": fake.host(),
            "access_key_id": ACCESS_KEY_ID,
            "access_key_secret": ACCESS_KEY_SECRET,
            "phone": message.phone,
            "sign_name": SIGN_NAME,
            "template_code": message.template_code,
            "template_param": Value::Object(template_param).to_string(),
        }),
    )
    .await;
    assert_eq!(sdk_answer["biz_id"], json!("900619746936498440^0"), "the SDK read our fake's answer: {sdk_answer}");

    let receipt = sender("aliyun", &fake.url(), 10).send(&message).await.expect("sent");
    assert_eq!(receipt.provider_message_id, "900619746936498440^0");

    let requests = fake.requests();
    let [theirs, ours] = requests.as_slice() else { panic!("expected two requests, got {}", requests.len()) };

    // Same shape as the SDK's: method, path, action and version, and the same parameters.
    assert_eq!((ours.method.as_str(), ours.path.as_str()), (theirs.method.as_str(), theirs.path.as_str()));
    for name in ["x-acs-action", "x-acs-version", "host"] {
        assert_eq!(ours.header(name), theirs.header(name), "{name}");
    }
    let fields = |r: &Captured| {
        let mut pairs = r.query_pairs();
        pairs.sort();
        pairs
    };
    let (ours_fields, theirs_fields) = (fields(ours), fields(theirs));
    let names = |pairs: &[(String, String)]| pairs.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    assert_eq!(names(&ours_fields), names(&theirs_fields), "query parameter names");
    for ((name, ours), (_, theirs)) in ours_fields.iter().zip(&theirs_fields) {
        if name == "TemplateParam" {
            let parse = |s: &str| serde_json::from_str::<Value>(s).expect("TemplateParam is JSON");
            assert_eq!(parse(ours), parse(theirs), "TemplateParam");
        } else {
            assert_eq!(ours, theirs, "{name}");
        }
    }
    assert_eq!(ours.body, theirs.body, "both send an empty body");

    // The signature, recomputed by the SDK's own code.
    let mut tampered = ours.clone();
    tampered.query = tampered.query.replace(PHONE, "13900000000");
    let verdicts = oracle(
        &python,
        "aliyun_oracle.py",
        "verify",
        json!({
            "access_key_id": ACCESS_KEY_ID,
            "access_key_secret": ACCESS_KEY_SECRET,
            "requests": [theirs, ours, tampered],
        }),
    )
    .await;
    let verdicts = verdicts.as_array().expect("a list");
    assert_verified(&json!(verdicts[..2]), &["the SDK", "our client"]);
    assert_eq!(verdicts[2]["ok"], json!(false), "a tampered request must fail: {}", verdicts[2]);
    assert!(verdicts[2].get("expected").is_some(), "it must fail on the signature itself: {}", verdicts[2]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tencent_signature_agrees_with_the_official_sdk() {
    let Some(python) = python() else { return };
    let fake = Fake::start(tencent_ok()).await;
    let message = message();

    let sdk_answer = oracle(
        &python,
        "tencent_oracle.py",
        "send",
        json!({
            "endpoint": fake.host(),
            "secret_id": SECRET_ID,
            "secret_key": SECRET_KEY,
            "region": REGION,
            "sdk_app_id": SDK_APP_ID,
            "sign_name": SIGN_NAME,
            "template_id": message.template_code,
            "phone_numbers": [format!("+86{PHONE}")],
            "template_params": message.params.iter().map(|(_, v)| v.clone()).collect::<Vec<_>>(),
        }),
    )
    .await;
    assert_eq!(sdk_answer["serial_no"], json!("5000:1045710669157053657849499619"), "{sdk_answer}");

    let receipt = sender("tencent", &fake.url(), 10).send(&message).await.expect("sent");
    assert_eq!(receipt.provider_message_id, "5000:1045710669157053657849499619");

    let requests = fake.requests();
    let [theirs, ours] = requests.as_slice() else { panic!("expected two requests, got {}", requests.len()) };
    assert_eq!((ours.method.as_str(), ours.path.as_str()), (theirs.method.as_str(), theirs.path.as_str()));
    for name in ["content-type", "host", "x-tc-action", "x-tc-version", "x-tc-region"] {
        assert_eq!(ours.header(name), theirs.header(name), "{name}");
    }
    let body = |r: &Captured| serde_json::from_str::<Value>(&r.body).expect("JSON body");
    assert_eq!(body(ours), body(theirs), "the same fields with the same values, TemplateParamSet in order");

    let mut tampered = ours.clone();
    tampered.body = tampered.body.replace(PHONE, "13900000000");
    let verdicts = oracle(
        &python,
        "tencent_oracle.py",
        "verify",
        json!({
            "secret_id": SECRET_ID,
            "secret_key": SECRET_KEY,
            "region": REGION,
            "requests": [theirs, ours, tampered],
        }),
    )
    .await;
    let verdicts = verdicts.as_array().expect("a list");
    assert_verified(&json!(verdicts[..2]), &["the SDK", "our client"]);
    assert_eq!(verdicts[2]["ok"], json!(false), "a tampered request must fail: {}", verdicts[2]);
    assert!(verdicts[2].get("expected").is_some(), "it must fail on the signature itself: {}", verdicts[2]);
}

/// Our fakes' rejections are what the SDKs understand as rejections, with the same code.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sdks_read_the_fakes_rejections_as_we_do() {
    let Some(python) = python() else { return };

    let aliyun = Fake::start(Reply::Json(
        200,
        r#"{"Message":"模板不合法(不存在或被拉黑)","RequestId":"r","Code":"isv.SMS_TEMPLATE_ILLEGAL"}"#.into(),
    ))
    .await;
    let sdk = oracle(
        &python,
        "aliyun_oracle.py",
        "send",
        json!({
            "endpoint": aliyun.host(), "access_key_id": ACCESS_KEY_ID, "access_key_secret": ACCESS_KEY_SECRET,
            "phone": PHONE, "sign_name": SIGN_NAME, "template_code": "SMS_0", "template_param": null,
        }),
    )
    .await;
    let ours = sender("aliyun", &aliyun.url(), 10).send(&message()).await.expect_err("rejected");
    assert_eq!(sdk["code"], json!("isv.SMS_TEMPLATE_ILLEGAL"), "{sdk}");
    assert!(matches!(&ours, SmsError::Rejected { code, .. } if code == "isv.SMS_TEMPLATE_ILLEGAL"), "{ours:?}");

    let tencent = Fake::start(Reply::Json(
        200,
        r#"{"Response":{"Error":{"Code":"FailedOperation.TemplateIncorrectOrUnapproved","Message":"模板未审批或请求的内容与审核通过的模板内容不匹配"},"RequestId":"r"}}"#.into(),
    ))
    .await;
    let sdk = oracle(
        &python,
        "tencent_oracle.py",
        "send",
        json!({
            "endpoint": tencent.host(), "secret_id": SECRET_ID, "secret_key": SECRET_KEY, "region": REGION,
            "sdk_app_id": SDK_APP_ID, "sign_name": SIGN_NAME, "template_id": "1", "phone_numbers": [PHONE],
            "template_params": [],
        }),
    )
    .await;
    let ours = sender("tencent", &tencent.url(), 10).send(&message()).await.expect_err("rejected");
    assert_eq!(sdk["error_code"], json!("FailedOperation.TemplateIncorrectOrUnapproved"), "{sdk}");
    assert_eq!(ours.code(), Some("FailedOperation.TemplateIncorrectOrUnapproved"));
    assert!(!ours.is_transient());
}
