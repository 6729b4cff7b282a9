//! Tencent Cloud SMS, sms 2021-01-11 `SendSms`, signed with TC3-HMAC-SHA256: a JSON POST whose
//! signature covers `content-type` and `host` and the body's SHA-256, with a key derived per
//! day and service.

use std::time::Duration;

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::http::{exchange, host_header};
use super::{SmsError, SmsMessage, SmsProvider, SmsReceipt, redact};

/// The public endpoint.
pub const DEFAULT_ENDPOINT: &str = "https://sms.tencentcloudapi.com";
/// The region used when the configuration names none.
pub const DEFAULT_REGION: &str = "ap-guangzhou";

const ALGORITHM: &str = "TC3-HMAC-SHA256";
const SERVICE: &str = "sms";
const ACTION: &str = "SendSms";
const VERSION: &str = "2021-01-11";
const CONTENT_TYPE: &str = "application/json";
const PROVIDER: SmsProvider = SmsProvider::Tencent;

/// Codes in the `LimitExceeded` family that are not about sending too often.
const PERMANENT_LIMIT_CODES: &[&str] =
    &["LimitExceeded.PhoneNumberCountLimit", "LimitExceeded.AppCountryOrRegionInBlacklist"];

/// `InternalError` codes that describe our request (clock, signature), not Tencent's trouble.
const PERMANENT_INTERNAL_CODES: &[&str] = &[
    "InternalError.RequestTimeException",
    "InternalError.SigFieldMissing",
    "InternalError.SigVerificationFail",
    "InternalError.RestApiInterfaceNotExist",
    "InternalError.JsonParseFail",
];

/// A client for Tencent Cloud SMS with one API key, one SMS application (`SmsSdkAppId`) and one
/// approved signature name (签名).
pub struct TencentSms {
    client: reqwest::Client,
    endpoint: reqwest::Url,
    secret_id: String,
    secret_key: SecretString,
    sdk_app_id: String,
    sign_name: String,
    region: String,
}

impl std::fmt::Debug for TencentSms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TencentSms")
            .field("endpoint", &self.endpoint.as_str())
            .field("secret_id", &self.secret_id)
            .field("secret_key", &self.secret_key)
            .field("sdk_app_id", &self.sdk_app_id)
            .field("sign_name", &self.sign_name)
            .field("region", &self.region)
            .finish()
    }
}

/// Everything [`TencentSms::new`] needs.
pub struct TencentSmsOptions {
    pub endpoint: reqwest::Url,
    pub secret_id: String,
    pub secret_key: SecretString,
    pub sdk_app_id: String,
    pub sign_name: String,
    pub region: String,
    pub timeout: Duration,
}

impl TencentSms {
    /// A client for `options.endpoint` (e.g. [`DEFAULT_ENDPOINT`]).
    pub fn new(options: TencentSmsOptions) -> Result<Self, reqwest::Error> {
        Ok(Self {
            client: super::http::client(options.timeout)?,
            endpoint: options.endpoint,
            secret_id: options.secret_id,
            secret_key: options.secret_key,
            sdk_app_id: options.sdk_app_id,
            sign_name: options.sign_name,
            region: options.region,
        })
    }

    pub(super) async fn send(&self, message: &SmsMessage) -> Result<SmsReceipt, SmsError> {
        let body = self.body(message);
        let timestamp = jiff::Timestamp::now().as_second();
        let authorization = self.authorization(&body, timestamp);
        let request = self
            .client
            .post(self.endpoint.clone())
            .header("content-type", CONTENT_TYPE)
            .header("authorization", authorization)
            .header("x-tc-action", ACTION)
            .header("x-tc-version", VERSION)
            .header("x-tc-timestamp", timestamp.to_string())
            .header("x-tc-region", &self.region)
            .header("x-tc-language", "zh-CN")
            .body(body);
        let (status, body) = exchange(PROVIDER, request).await?;
        interpret(status.as_u16(), &body, &message.phone)
    }

    /// The JSON body: the number in E.164 form, the template's values in the caller's order.
    fn body(&self, message: &SmsMessage) -> String {
        serde_json::json!({
            "PhoneNumberSet": [format!("+86{}", message.phone)],
            "SmsSdkAppId": self.sdk_app_id,
            "SignName": self.sign_name,
            "TemplateId": message.template_code,
            "TemplateParamSet": message.params.iter().map(|(_, value)| value.as_str()).collect::<Vec<_>>(),
        })
        .to_string()
    }

    fn authorization(&self, body: &str, timestamp: i64) -> String {
        let date =
            jiff::Timestamp::from_second(timestamp).map(|t| t.strftime("%Y-%m-%d").to_string()).unwrap_or_default();
        let host = host_header(&self.endpoint);
        let path = self.endpoint.path();
        let canonical_request = format!(
            "POST\n{path}\n\ncontent-type:{CONTENT_TYPE}\nhost:{host}\n\ncontent-type;host\n{}",
            hex::encode(Sha256::digest(body.as_bytes()))
        );
        let scope = format!("{date}/{SERVICE}/tc3_request");
        let string_to_sign =
            format!("{ALGORITHM}\n{timestamp}\n{scope}\n{}", hex::encode(Sha256::digest(canonical_request.as_bytes())));
        let secret_date = hmac_sha256(format!("TC3{}", self.secret_key.expose_secret()).as_bytes(), date.as_bytes());
        let secret_service = hmac_sha256(&secret_date, SERVICE.as_bytes());
        let secret_signing = hmac_sha256(&secret_service, b"tc3_request");
        let signature = hex::encode(hmac_sha256(&secret_signing, string_to_sign.as_bytes()));
        format!(
            "{ALGORITHM} Credential={}/{scope}, SignedHeaders=content-type;host, Signature={signature}",
            self.secret_id
        )
    }
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "Response")]
    response: Reply,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Reply {
    error: Option<ErrorReply>,
    #[serde(default)]
    send_status_set: Vec<SendStatus>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ErrorReply {
    code: String,
    #[serde(default)]
    message: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SendStatus {
    #[serde(default)]
    serial_no: String,
    code: String,
    #[serde(default)]
    message: String,
}

fn interpret(status: u16, body: &[u8], phone: &str) -> Result<SmsReceipt, SmsError> {
    let reply = serde_json::from_slice::<Envelope>(body).ok().map(|e| e.response);
    if status >= 500 {
        let code = reply.and_then(|r| r.error).map(|e| e.code);
        return Err(SmsError::ServerError { provider: PROVIDER, status, code });
    }
    let Some(reply) = reply else {
        return Err(SmsError::BadResponse {
            provider: PROVIDER,
            detail: format!("HTTP {status}，应答不是腾讯云的 JSON 格式"),
        });
    };
    if let Some(error) = reply.error {
        return Err(classify(error.code, redact(&error.message, phone)));
    }
    let Some(first) = reply.send_status_set.into_iter().next() else {
        return Err(SmsError::BadResponse {
            provider: PROVIDER,
            detail: format!("HTTP {status}，应答缺少 SendStatusSet"),
        });
    };
    if first.code != "Ok" {
        return Err(classify(first.code, redact(&first.message, phone)));
    }
    if first.serial_no.is_empty() {
        return Err(SmsError::BadResponse { provider: PROVIDER, detail: "应答缺少 SerialNo".into() });
    }
    Ok(SmsReceipt { provider_message_id: first.serial_no })
}

fn classify(code: String, message: String) -> SmsError {
    let family = code.split('.').next().unwrap_or_default();
    let throttled = matches!(family, "RequestLimitExceeded")
        || (family == "LimitExceeded" && !PERMANENT_LIMIT_CODES.contains(&code.as_str()));
    let unavailable = matches!(family, "ServiceUnavailable" | "ResourceUnavailable")
        || (family == "InternalError" && !PERMANENT_INTERNAL_CODES.contains(&code.as_str()));
    if throttled {
        SmsError::Throttled { provider: PROVIDER, code, message }
    } else if unavailable {
        SmsError::Unavailable { provider: PROVIDER, code, message }
    } else {
        SmsError::Rejected { provider: PROVIDER, code, message }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client() -> TencentSms {
        TencentSms::new(TencentSmsOptions {
            endpoint: reqwest::Url::parse("https://sms.tencentcloudapi.com").expect("url"),
            secret_id: "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE".into(),
            secret_key: SecretString::from("Gu5t9xGARNpq86cd98joQYCN3EXAMPLE"),
            sdk_app_id: "1400006666".into(),
            sign_name: "瓜州县纪委".into(),
            region: DEFAULT_REGION.into(),
            timeout: Duration::from_secs(1),
        })
        .expect("client")
    }

    #[test]
    fn template_values_go_in_the_callers_order_and_the_number_gets_plus_86() {
        let message = SmsMessage {
            phone: "13812341234".into(),
            template_code: "449739".into(),
            params: vec![("z".into(), "1".into()), ("a".into(), "2".into())],
        };
        let body: serde_json::Value = serde_json::from_str(&client().body(&message)).expect("json");
        assert_eq!(body["TemplateParamSet"], serde_json::json!(["1", "2"]));
        assert_eq!(body["PhoneNumberSet"], serde_json::json!(["+8613812341234"]));
    }

    #[test]
    fn the_authorization_names_the_utc_day_the_service_and_the_signed_headers() {
        // The signature itself is checked against the official SDK in tests/sms.
        let auth = client().authorization("{}", 1_551_113_065);
        assert!(auth.starts_with(
            "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/sms/tc3_request, SignedHeaders=content-type;host, Signature="
        ));
        assert_eq!(auth.rsplit('=').next().map(str::len), Some(64));
    }

    #[test]
    fn the_secret_is_not_in_debug_output() {
        assert!(!format!("{:?}", client()).contains("Gu5t9x"));
    }

    #[test]
    fn answers_are_sorted_into_success_retry_and_rejection() {
        let ok = br#"{"Response":{"SendStatusSet":[{"SerialNo":"5000:1","PhoneNumber":"+8613812341234","Fee":1,"SessionContext":"","Code":"Ok","Message":"send success","IsoCode":"CN"}],"RequestId":"r"}}"#;
        assert_eq!(interpret(200, ok, "13812341234"), Ok(SmsReceipt { provider_message_id: "5000:1".into() }));
        let error = br#"{"Response":{"Error":{"Code":"FailedOperation.TemplateIncorrectOrUnapproved","Message":"m"},"RequestId":"r"}}"#;
        assert!(matches!(interpret(200, error, "1"), Err(SmsError::Rejected { .. })));
        let auth = br#"{"Response":{"Error":{"Code":"AuthFailure.SignatureFailure","Message":"m"},"RequestId":"r"}}"#;
        assert!(matches!(interpret(200, auth, "1"), Err(SmsError::Rejected { .. })));
        let throttled = br#"{"Response":{"SendStatusSet":[{"SerialNo":"","Code":"LimitExceeded.PhoneNumberThirtySecondLimit","Message":"m"}],"RequestId":"r"}}"#;
        assert!(matches!(interpret(200, throttled, "1"), Err(SmsError::Throttled { .. })));
        let busy = br#"{"Response":{"Error":{"Code":"InternalError.Timeout","Message":"m"},"RequestId":"r"}}"#;
        assert!(matches!(interpret(200, busy, "1"), Err(SmsError::Unavailable { .. })));
        let clock =
            br#"{"Response":{"Error":{"Code":"InternalError.RequestTimeException","Message":"m"},"RequestId":"r"}}"#;
        assert!(matches!(interpret(200, clock, "1"), Err(SmsError::Rejected { .. })));
        assert!(matches!(interpret(200, b"[]", "1"), Err(SmsError::BadResponse { .. })));
        assert!(matches!(interpret(502, b"", "1"), Err(SmsError::ServerError { status: 502, .. })));
    }
}
