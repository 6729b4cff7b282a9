//! What a failed send leaves behind: the WARN log line and the error text the outbox keeps.
//! For every kind of failure of both providers — connection refused, timeout, HTTP 500, a
//! provider error code naming the number, a malformed body — neither holds the whole number.

use std::io::Write;
use std::sync::{Arc, Mutex};

use xiaowei_integrations::SmsMessage;

use crate::fake::*;

/// A log sink the test can read back.
#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Buffer {
    type Writer = Self;

    fn make_writer(&'a self) -> Self {
        self.clone()
    }
}

fn message() -> SmsMessage {
    SmsMessage {
        phone: PHONE.into(),
        template_code: "SMS_465390123".into(),
        // A template parameter may carry a number too (the handler's callback number).
        params: vec![("name".into(), "张三".into()), ("tel".into(), "13987654321".into())],
    }
}

/// The failures each provider is put through, as (case, reply); `None` is a refused connection.
fn failures(provider: &str) -> Vec<(&'static str, Option<Reply>)> {
    let coded = match provider {
        "aliyun" => Reply::Json(
            200,
            r#"{"Message":"13812341234 手机号码格式错误","RequestId":"r","Code":"isv.MOBILE_NUMBER_ILLEGAL"}"#.into(),
        ),
        _ => Reply::Json(
            200,
            r#"{"Response":{"SendStatusSet":[{"SerialNo":"","PhoneNumber":"+8613812341234","Fee":0,"SessionContext":"","Code":"InvalidParameterValue.IncorrectPhoneNumber","Message":"手机号+8613812341234格式错误","IsoCode":"CN"}],"RequestId":"r"}}"#.into(),
        ),
    };
    vec![
        ("connection refused", None),
        ("timeout", Some(Reply::Hang)),
        ("HTTP 500", Some(Reply::Html(500, "<html>Internal Server Error</html>".into()))),
        ("provider error code", Some(coded)),
        ("malformed body", Some(Reply::Json(200, r#"{"Response":{"SendStatusSet":[{"#.into()))),
    ]
}

#[tokio::test]
async fn no_failure_of_either_provider_logs_or_keeps_a_whole_number() {
    let logs = Buffer::default();
    let subscriber = tracing_subscriber::fmt().with_writer(logs.clone()).with_ansi(false).finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let mut texts = Vec::new();
    for provider in ["aliyun", "tencent"] {
        for (case, reply) in failures(provider) {
            let (url, _fake) = match reply {
                Some(reply) => {
                    let fake = Fake::start(reply).await;
                    (fake.url(), Some(fake))
                }
                None => {
                    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
                    let url = format!("http://{}/", listener.local_addr().expect("address"));
                    drop(listener);
                    (url, None)
                }
            };
            let error = sender(provider, &url, 1).send(&message()).await.expect_err(case);
            texts.push(format!("{provider} {case}: {error}"));
        }
    }
    let logged = String::from_utf8(logs.0.lock().expect("lock").clone()).expect("UTF-8 log");
    assert_eq!(logged.matches("sms not sent").count(), 10, "one WARN line per failure: {logged}");
    for number in [PHONE, "13987654321"] {
        assert!(!logged.contains(number), "the log holds {number}: {logged}");
        for text in &texts {
            assert!(!text.contains(number), "the outbox would keep {number}: {text}");
        }
    }
    assert!(texts.iter().any(|t| t.contains("连接失败")), "{texts:?}");
}
