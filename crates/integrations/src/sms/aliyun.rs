//! Aliyun SMS, Dysmsapi 2017-05-25 `SendSms`, signed with ACS3-HMAC-SHA256 — the scheme the
//! current official SDK (`alibabacloud-tea-openapi` 0.4) uses by default: an RPC-style POST
//! whose parameters travel in the query string, with an empty body.

use std::time::Duration;

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::http::{exchange, host_header, percent_encode};
use super::{SmsError, SmsMessage, SmsProvider, SmsReceipt, redact};

/// The public endpoint.
pub const DEFAULT_ENDPOINT: &str = "https://dysmsapi.aliyuncs.com";

const ALGORITHM: &str = "ACS3-HMAC-SHA256";
const ACTION: &str = "SendSms";
const VERSION: &str = "2017-05-25";
const PROVIDER: SmsProvider = SmsProvider::Aliyun;

/// Aliyun codes that mean "too many messages for now" (per number or per account).
const THROTTLE_CODES: &[&str] =
    &["isv.BUSINESS_LIMIT_CONTROL", "isv.DAY_LIMIT_CONTROL", "isv.MONTH_LIMIT_CONTROL", "Throttling"];

/// Aliyun codes for a failure on Aliyun's side.
const UNAVAILABLE_CODES: &[&str] =
    &["isp.SYSTEM_ERROR", "isp.GATEWAY_ERROR", "InternalError", "ServiceUnavailable", "ServiceTimeout"];

/// A client for Aliyun SMS with one AccessKey and one approved signature name (签名).
pub struct AliyunSms {
    client: reqwest::Client,
    endpoint: reqwest::Url,
    access_key_id: String,
    access_key_secret: SecretString,
    sign_name: String,
}

impl std::fmt::Debug for AliyunSms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AliyunSms")
            .field("endpoint", &self.endpoint.as_str())
            .field("access_key_id", &self.access_key_id)
            .field("access_key_secret", &self.access_key_secret)
            .field("sign_name", &self.sign_name)
            .finish()
    }
}

impl AliyunSms {
    /// A client for `endpoint` (e.g. [`DEFAULT_ENDPOINT`]) whose requests give up after `timeout`.
    pub fn new(
        endpoint: reqwest::Url,
        access_key_id: String,
        access_key_secret: SecretString,
        sign_name: String,
        timeout: Duration,
    ) -> Result<Self, reqwest::Error> {
        Ok(Self { client: super::http::client(timeout)?, endpoint, access_key_id, access_key_secret, sign_name })
    }

    pub(super) async fn send(&self, message: &SmsMessage) -> Result<SmsReceipt, SmsError> {
        let nonce = format!("{:032x}", rand::random::<u128>());
        let date = jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
        let signed = self.sign(message, &date, &nonce);
        let url = format!("{}?{}", self.endpoint, signed.query);
        let mut request = self.client.post(url).header("accept", "application/json");
        for (name, value) in &signed.headers {
            request = request.header(*name, value);
        }
        let (status, body) = exchange(PROVIDER, request).await?;
        interpret(status.as_u16(), &body, &message.phone)
    }

    /// The query string and headers of one signed request.
    fn sign(&self, message: &SmsMessage, date: &str, nonce: &str) -> SignedRequest {
        let mut query = vec![
            ("PhoneNumbers", message.phone.clone()),
            ("SignName", self.sign_name.clone()),
            ("TemplateCode", message.template_code.clone()),
        ];
        if !message.params.is_empty() {
            query.push(("TemplateParam", template_param(&message.params)));
        }
        query.sort_by(|a, b| a.0.cmp(b.0));
        let query = query
            .iter()
            .map(|(name, value)| format!("{}={}", percent_encode(name), percent_encode(value)))
            .collect::<Vec<_>>()
            .join("&");

        let payload_hash = hex::encode(Sha256::digest(b""));
        // Sorted by name, as the canonical request lists them.
        let headers = vec![
            ("host", host_header(&self.endpoint)),
            ("x-acs-action", ACTION.to_owned()),
            ("x-acs-content-sha256", payload_hash.clone()),
            ("x-acs-date", date.to_owned()),
            ("x-acs-signature-nonce", nonce.to_owned()),
            ("x-acs-version", VERSION.to_owned()),
        ];
        let canonical_headers: String =
            headers.iter().map(|(name, value)| format!("{name}:{}\n", value.trim())).collect();
        let signed_headers = headers.iter().map(|(name, _)| *name).collect::<Vec<_>>().join(";");
        let path = self.endpoint.path();
        let canonical_request = format!("POST\n{path}\n{query}\n{canonical_headers}\n{signed_headers}\n{payload_hash}");
        let string_to_sign = format!("{ALGORITHM}\n{}", hex::encode(Sha256::digest(canonical_request.as_bytes())));
        let signature = hmac_sha256_hex(self.access_key_secret.expose_secret().as_bytes(), string_to_sign.as_bytes());
        let authorization = format!(
            "{ALGORITHM} Credential={},SignedHeaders={signed_headers},Signature={signature}",
            self.access_key_id
        );

        let mut headers: Vec<(&'static str, String)> =
            headers.into_iter().filter(|(name, _)| *name != "host").collect();
        headers.push(("authorization", authorization));
        SignedRequest { query, headers }
    }
}

struct SignedRequest {
    /// Canonical (sorted, percent-encoded) and sent as is.
    query: String,
    /// Everything but `host`, which reqwest derives from the URL exactly as it was signed.
    headers: Vec<(&'static str, String)>,
}

/// `{"name":"value",…}` in the caller's order (serde_json's map would sort the names).
fn template_param(params: &[(String, String)]) -> String {
    let fields: Vec<String> = params
        .iter()
        .map(|(name, value)| {
            format!("{}:{}", serde_json::Value::from(name.as_str()), serde_json::Value::from(value.as_str()))
        })
        .collect();
    format!("{{{}}}", fields.join(","))
}

fn hmac_sha256_hex(key: &[u8], data: &[u8]) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    mac.update(data);
    hex::encode(mac.finalize().into_bytes())
}

/// Aliyun's answer, both for `SendSms` itself and for gateway errors (which add `HostId` and
/// `Recommend`).
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Reply {
    code: Option<String>,
    message: Option<String>,
    biz_id: Option<String>,
}

fn interpret(status: u16, body: &[u8], phone: &str) -> Result<SmsReceipt, SmsError> {
    let reply = serde_json::from_slice::<Reply>(body).ok();
    if status >= 500 {
        return Err(SmsError::ServerError { provider: PROVIDER, status, code: reply.and_then(|r| r.code) });
    }
    let Some(reply) = reply else {
        return Err(SmsError::BadResponse {
            provider: PROVIDER,
            detail: format!("HTTP {status}，应答不是阿里云的 JSON 格式"),
        });
    };
    let Some(code) = reply.code else {
        return Err(SmsError::BadResponse { provider: PROVIDER, detail: format!("HTTP {status}，应答缺少 Code") });
    };
    let message = redact(reply.message.as_deref().unwrap_or_default(), phone);
    if code == "OK" && (200..300).contains(&status) {
        return match reply.biz_id.filter(|id| !id.is_empty()) {
            Some(id) => Ok(SmsReceipt { provider_message_id: id }),
            None => Err(SmsError::BadResponse { provider: PROVIDER, detail: "应答缺少 BizId".into() }),
        };
    }
    Err(classify(code, message))
}

fn classify(code: String, message: String) -> SmsError {
    let family = code.split('.').next().unwrap_or_default();
    if THROTTLE_CODES.contains(&code.as_str()) || family == "Throttling" {
        SmsError::Throttled { provider: PROVIDER, code, message }
    } else if UNAVAILABLE_CODES.contains(&code.as_str()) || UNAVAILABLE_CODES.contains(&family) {
        SmsError::Unavailable { provider: PROVIDER, code, message }
    } else {
        SmsError::Rejected { provider: PROVIDER, code, message }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client() -> AliyunSms {
        AliyunSms::new(
            reqwest::Url::parse("http://127.0.0.1:8123/").expect("url"),
            "LTAI_test".into(),
            SecretString::from("secret"),
            "瓜州县纪委".into(),
            Duration::from_secs(1),
        )
        .expect("client")
    }

    #[test]
    fn template_params_keep_their_order_and_escape_quotes() {
        let params = vec![("name".to_owned(), "张\"三".to_owned()), ("item".to_owned(), "低保".to_owned())];
        assert_eq!(template_param(&params), r#"{"name":"张\"三","item":"低保"}"#);
    }

    #[test]
    fn the_query_is_sorted_and_encoded_and_the_host_carries_the_port() {
        let message = SmsMessage {
            phone: "13812341234".into(),
            template_code: "SMS_1".into(),
            params: vec![("a".into(), "b c".into())],
        };
        let signed = client().sign(&message, "2026-01-01T00:00:00Z", "n");
        assert_eq!(
            signed.query,
            "PhoneNumbers=13812341234&SignName=%E7%93%9C%E5%B7%9E%E5%8E%BF%E7%BA%AA%E5%A7%94&TemplateCode=SMS_1&TemplateParam=%7B%22a%22%3A%22b%20c%22%7D"
        );
        let auth = &signed.headers.iter().find(|(n, _)| *n == "authorization").expect("auth").1;
        assert!(auth.starts_with("ACS3-HMAC-SHA256 Credential=LTAI_test,SignedHeaders=host;x-acs-action;"));
    }

    #[test]
    fn the_secret_is_not_in_debug_output() {
        assert!(!format!("{:?}", client()).contains("secret\""));
    }

    #[test]
    fn answers_are_sorted_into_success_retry_and_rejection() {
        let ok = interpret(200, br#"{"Code":"OK","Message":"OK","BizId":"9","RequestId":"r"}"#, "1");
        assert_eq!(ok, Ok(SmsReceipt { provider_message_id: "9".into() }));
        let throttled =
            interpret(200, r#"{"Code":"isv.BUSINESS_LIMIT_CONTROL","Message":"触发分钟级流控"}"#.as_bytes(), "1");
        assert!(matches!(throttled, Err(SmsError::Throttled { .. })));
        let rejected = interpret(200, r#"{"Code":"isv.SMS_TEMPLATE_ILLEGAL","Message":"模板不合法"}"#.as_bytes(), "1");
        assert!(matches!(&rejected, Err(e) if !e.is_transient() && e.code() == Some("isv.SMS_TEMPLATE_ILLEGAL")));
        let auth = interpret(404, br#"{"Code":"InvalidAccessKeyId.NotFound","Message":"x","HostId":"h"}"#, "1");
        assert!(matches!(auth, Err(SmsError::Rejected { .. })));
        assert!(matches!(interpret(503, b"<html>", "1"), Err(SmsError::ServerError { status: 503, .. })));
        assert!(matches!(interpret(200, b"{\"Code\":", "1"), Err(SmsError::BadResponse { .. })));
        assert!(matches!(interpret(200, br#"{"Code":"OK"}"#, "1"), Err(SmsError::BadResponse { .. })));
    }
}
