//! Every way a send can fail, against fakes that answer in each provider's real format: each
//! failure is transient (retry later) or permanent (give up) as the outbox needs, carries the
//! provider's code where there is one, and never shows the whole phone number.

use std::time::{Duration, Instant};

use xiaowei_integrations::{SmsError, SmsMessage};

use crate::fake::*;

fn message() -> SmsMessage {
    SmsMessage {
        phone: PHONE.into(),
        template_code: "SMS_465390123".into(),
        params: vec![("name".into(), "张三".into()), ("item".into(), "低保申请".into())],
    }
}

async fn send_against(provider: &str, reply: Reply) -> SmsError {
    let fake = Fake::start(reply).await;
    let error = sender(provider, &fake.url(), 1).send(&message()).await.expect_err("a failure");
    assert_eq!(fake.requests().len(), 1, "exactly one attempt; retrying is the caller's decision");
    let text = error.to_string();
    assert!(!text.contains(PHONE) && !format!("{error:?}").contains(PHONE), "the number leaked: {text}");
    error
}

fn json(status: u16, body: &str) -> Reply {
    Reply::Json(status, body.to_owned())
}

#[tokio::test]
async fn aliyun_failures_are_sorted() {
    let transient: &[(&str, Reply, Option<&str>)] = &[
        (
            "HTTP 500",
            json(
                500,
                r#"{"Code":"InternalError","Message":"The request processing has failed due to some unknown error.","RequestId":"r"}"#,
            ),
            Some("InternalError"),
        ),
        (
            "HTTP 503",
            json(
                503,
                r#"{"Code":"ServiceUnavailable","Message":"The request has failed due to a temporary failure of the server.","RequestId":"r"}"#,
            ),
            Some("ServiceUnavailable"),
        ),
        ("HTTP 502 from a proxy", Reply::Html(502, "<html>Bad Gateway</html>".into()), None),
        (
            "minute throttle",
            json(200, r#"{"Message":"触发分钟级流控Permits:1","RequestId":"r","Code":"isv.BUSINESS_LIMIT_CONTROL"}"#),
            Some("isv.BUSINESS_LIMIT_CONTROL"),
        ),
        (
            "API throttle",
            json(
                400,
                r#"{"Code":"Throttling.User","Message":"Request was denied due to user flow control.","RequestId":"r"}"#,
            ),
            Some("Throttling.User"),
        ),
        (
            "system error",
            json(200, r#"{"Message":"系统错误","RequestId":"r","Code":"isp.SYSTEM_ERROR"}"#),
            Some("isp.SYSTEM_ERROR"),
        ),
        ("malformed body", json(200, r#"{"Message":"OK","Code":"#), None),
        ("HTML instead of JSON", Reply::Html(200, "<html>维护中</html>".into()), None),
        ("no BizId", json(200, r#"{"Message":"OK","RequestId":"r","Code":"OK"}"#), None),
    ];
    for (case, reply, code) in transient {
        let error = send_against("aliyun", reply.clone()).await;
        assert!(error.is_transient(), "{case}: {error:?}");
        assert_eq!(error.code(), *code, "{case}");
    }

    let permanent: &[(&str, Reply, &str)] = &[
        (
            "template not approved",
            json(200, r#"{"Message":"模板不合法(不存在或被拉黑)","RequestId":"r","Code":"isv.SMS_TEMPLATE_ILLEGAL"}"#),
            "isv.SMS_TEMPLATE_ILLEGAL",
        ),
        (
            "invalid number",
            json(
                200,
                r#"{"Message":"13812341234 手机号码格式错误","RequestId":"r","Code":"isv.MOBILE_NUMBER_ILLEGAL"}"#,
            ),
            "isv.MOBILE_NUMBER_ILLEGAL",
        ),
        (
            "signature name",
            json(200, r#"{"Message":"签名不合法(不存在或被拉黑)","RequestId":"r","Code":"isv.SMS_SIGNATURE_ILLEGAL"}"#),
            "isv.SMS_SIGNATURE_ILLEGAL",
        ),
        (
            "unknown key",
            json(
                404,
                r#"{"RequestId":"r","HostId":"dysmsapi.aliyuncs.com","Code":"InvalidAccessKeyId.NotFound","Message":"Specified access key is not found.","Recommend":"https://next.api.aliyun.com/troubleshoot"}"#,
            ),
            "InvalidAccessKeyId.NotFound",
        ),
        (
            "bad signature",
            json(
                400,
                r#"{"RequestId":"r","HostId":"dysmsapi.aliyuncs.com","Code":"SignatureDoesNotMatch","Message":"Specified signature does not match our calculation."}"#,
            ),
            "SignatureDoesNotMatch",
        ),
    ];
    for (case, reply, code) in permanent {
        let error = send_against("aliyun", reply.clone()).await;
        assert!(matches!(&error, SmsError::Rejected { .. }), "{case}: {error:?}");
        assert_eq!(error.code(), Some(*code), "{case}");
    }
}

#[tokio::test]
async fn tencent_failures_are_sorted() {
    let status = |code: &str, message: &str| {
        json(
            200,
            &format!(
                r#"{{"Response":{{"SendStatusSet":[{{"SerialNo":"","PhoneNumber":"+8613812341234","Fee":0,"SessionContext":"","Code":"{code}","Message":"{message}","IsoCode":"CN"}}],"RequestId":"r"}}}}"#
            ),
        )
    };
    let error = |code: &str, message: &str| {
        json(200, &format!(r#"{{"Response":{{"Error":{{"Code":"{code}","Message":"{message}"}},"RequestId":"r"}}}}"#))
    };

    let transient: &[(&str, Reply, Option<&str>)] = &[
        ("HTTP 500", Reply::Html(500, "<html>Internal Server Error</html>".into()), None),
        ("HTTP 503", Reply::Html(503, "<html>Service Unavailable</html>".into()), None),
        (
            "thirty-second limit",
            status("LimitExceeded.PhoneNumberThirtySecondLimit", "单个手机号30秒内下发短信条数超过设定的上限"),
            Some("LimitExceeded.PhoneNumberThirtySecondLimit"),
        ),
        ("API rate limit", error("RequestLimitExceeded", "请求的次数超过了频率限制"), Some("RequestLimitExceeded")),
        ("internal timeout", error("InternalError.Timeout", "请求下发短信超时"), Some("InternalError.Timeout")),
        ("malformed body", json(200, r#"{"Response":{"SendStatusSet":[{"#), None),
        ("empty status set", json(200, r#"{"Response":{"SendStatusSet":[],"RequestId":"r"}}"#), None),
    ];
    for (case, reply, code) in transient {
        let error = send_against("tencent", reply.clone()).await;
        assert!(error.is_transient(), "{case}: {error:?}");
        assert_eq!(error.code(), *code, "{case}");
    }

    let permanent: &[(&str, Reply, &str)] = &[
        (
            "template not approved",
            error("FailedOperation.TemplateIncorrectOrUnapproved", "模板未审批或请求的内容与审核通过的模板内容不匹配"),
            "FailedOperation.TemplateIncorrectOrUnapproved",
        ),
        (
            "invalid number",
            status("InvalidParameterValue.IncorrectPhoneNumber", "手机号+8613812341234格式错误"),
            "InvalidParameterValue.IncorrectPhoneNumber",
        ),
        (
            "signature name",
            error("FailedOperation.SignatureIncorrectOrUnapproved", "签名未审批或格式错误"),
            "FailedOperation.SignatureIncorrectOrUnapproved",
        ),
        ("bad signature", error("AuthFailure.SignatureFailure", "请求签名验证失败"), "AuthFailure.SignatureFailure"),
        ("unknown key", error("AuthFailure.SecretIdNotFound", "密钥不存在"), "AuthFailure.SecretIdNotFound"),
        (
            "clock skew",
            error("InternalError.RequestTimeException", "请求时间戳与服务器时间相差过大"),
            "InternalError.RequestTimeException",
        ),
    ];
    for (case, reply, code) in permanent {
        let error = send_against("tencent", reply.clone()).await;
        assert!(matches!(&error, SmsError::Rejected { .. }), "{case}: {error:?}");
        assert_eq!(error.code(), Some(*code), "{case}");
    }
}

#[tokio::test]
async fn a_server_that_never_answers_is_a_timeout() {
    for provider in ["aliyun", "tencent"] {
        let started = Instant::now();
        let error = send_against(provider, Reply::Hang).await;
        assert!(matches!(error, SmsError::Timeout { .. }), "{provider}: {error:?}");
        assert!(error.is_transient());
        assert!(started.elapsed() < Duration::from_secs(5), "{provider} gave up after the configured second");
    }
}

#[tokio::test]
async fn a_refused_connection_is_transient() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/", listener.local_addr().expect("address"));
    drop(listener);
    for provider in ["aliyun", "tencent"] {
        let error = sender(provider, &url, 1).send(&message()).await.expect_err("refused");
        assert!(matches!(error, SmsError::Connection { .. }), "{provider}: {error:?}");
        assert!(error.is_transient());
    }
}

#[tokio::test]
async fn an_invalid_number_is_refused_before_anything_is_sent() {
    for provider in ["aliyun", "tencent"] {
        let fake = Fake::start(aliyun_ok()).await;
        let mut message = message();
        message.phone = "2381234123".into();
        let error = sender(provider, &fake.url(), 1).send(&message).await.expect_err("invalid");
        assert!(matches!(&error, SmsError::InvalidPhone { masked } if masked == "238*****23"), "{error:?}");
        assert!(!error.is_transient());
        assert!(fake.requests().is_empty());
    }
}

#[tokio::test]
async fn the_log_provider_sends_nothing_and_remembers_the_message() {
    let sender = xiaowei_integrations::SmsConfig::default().build().expect("log sender");
    let receipt = sender.send(&message()).await.expect("logged");
    assert!(receipt.provider_message_id.starts_with("log-"));
    let xiaowei_integrations::SmsSender::Log(log) = &sender else { panic!("not the log provider") };
    assert_eq!(log.sent(), vec![message()]);
}
