//! SMS delivery: the text messages that tell officials a villager has applied for a service
//! (我要办事). Owns the provider clients (Aliyun Dysmsapi, Tencent Cloud SMS, and a log for
//! development), their request signing, and the sorting of every failure into "retry later"
//! (transient) or "give up" (permanent). The outbox and its retry schedule belong to the caller.
//! A full phone number never appears in a log line or an error text: only the masked form.
//!
//! ## SMS providers
//!
//! `xiaowei_integrations::sms` sends one text through one provider and says whether a failure is
//! worth retrying; the durable outbox and its retry schedule belong to the caller. `SmsConfig` (the
//! `[sms]` section: `provider = "log" | "aliyun" | "tencent"`, `sign_name`, the provider's keys, an
//! optional `endpoint`, `timeout_secs`, default 10) builds an `SmsSender`, an enum over the three
//! clients so the server holds one `Arc<SmsSender>`; a missing field is named in the error, and keys
//! are `SecretString`s that never print. Its `max_per_second` (by default the provider's
//! documented limit) and `max_in_flight` (default 32) build the [`Pace`] every request waits on.
//!
//! - Aliyun (Dysmsapi 2017-05-25 `SendSms`) is signed with ACS3-HMAC-SHA256, not the older RPC
//!   HMAC-SHA1: that is what the current official SDK (`alibabacloud-tea-openapi` 0.4) does by
//!   default. Parameters travel in the query string of a POST with an empty body; `TemplateParam` is
//!   a JSON object in the caller's order.
//! - Tencent Cloud (sms 2021-01-11 `SendSms`) is signed with TC3-HMAC-SHA256 over `content-type`
//!   and `host`, as the SDK does; `TemplateParamSet` is the values in the caller's order.
//! - `SmsError::is_transient()` is true for timeouts, refused connections, HTTP 5xx, malformed
//!   answers and the providers' throttling and server-side codes; rejections (template, signature
//!   name, number, credentials, balance) are permanent and carry the provider's code. Numbers are
//!   checked before sending, and error texts and logs show them masked (`138****1234`).
//! - HTTPS goes through rustls with the operating system's trust store (Debian: `ca-certificates`).
//! - `crates/integrations/tests/sms/` proves the signing against the official Python SDKs: each SDK
//!   and our client send the same message to a local capture server, and a Python oracle
//!   (`tests/sdk/`) recomputes every captured signature with the SDK's own signing code, including
//!   a tampered copy that must fail. The interpreter comes from `XIAOWEI_SDK_PYTHON`; without it the
//!   check is skipped with a notice unless `XIAOWEI_REQUIRE_SDK=1`. `scripts/test` builds
//!   `target/sdk-venv` from the pinned `tests/sdk/requirements.txt` and sets both.

mod aliyun;
mod config;
mod log;
mod pace;
mod tencent;

use std::fmt;
use std::time::Duration;

pub use aliyun::AliyunSms;
pub use config::{SmsConfig, SmsConfigError};
pub use log::LogSms;
pub use pace::{DEFAULT_IN_FLIGHT, Pace, Turn};
pub use tencent::{TencentSms, TencentSmsOptions};

/// The request timeout used when the configuration names none.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// One text message to one mainland mobile number, through a template approved by the provider.
#[derive(Clone, PartialEq, Eq)]
pub struct SmsMessage {
    /// An 11-digit mainland mobile number, e.g. `13812341234`.
    pub phone: String,
    /// The provider's template: `SMS_123456789` at Aliyun, a numeric id at Tencent Cloud.
    pub template_code: String,
    /// Template variables in the template's order, name → value. Aliyun receives them as a JSON
    /// object by name; Tencent Cloud as an array of the values in this order.
    pub params: Vec<(String, String)>,
}

impl fmt::Debug for SmsMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmsMessage")
            .field("phone", &mask_phone(&self.phone))
            .field("template_code", &self.template_code)
            .field("params", &self.params)
            .finish()
    }
}

/// What a provider answers when it has accepted a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmsReceipt {
    /// Aliyun's `BizId`, Tencent Cloud's `SerialNo`, or a synthetic id from the log provider.
    pub provider_message_id: String,
}

/// Which service delivers the messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SmsProvider {
    /// Only writes the message to the log: development and tests.
    #[default]
    Log,
    /// Aliyun SMS (Dysmsapi 2017-05-25).
    Aliyun,
    /// Tencent Cloud SMS (sms 2021-01-11).
    Tencent,
}

impl SmsProvider {
    /// The name used in configuration and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Log => "log",
            Self::Aliyun => "aliyun",
            Self::Tencent => "tencent",
        }
    }

    /// The name shown to people.
    pub fn label(self) -> &'static str {
        match self {
            Self::Log => "日志短信（开发用）",
            Self::Aliyun => "阿里云短信",
            Self::Tencent => "腾讯云短信",
        }
    }
}

impl fmt::Display for SmsProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// Why a message was not sent. Transient failures ([`SmsError::is_transient`]) may succeed if
/// the same message is sent again later; permanent ones will fail the same way every time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SmsError {
    /// No complete answer within the configured timeout. The provider may still have sent it.
    #[error("{provider}：请求超时")]
    Timeout { provider: SmsProvider },
    /// The connection could not be made or broke off.
    #[error("{provider}：连接失败（{detail}）")]
    Connection { provider: SmsProvider, detail: String },
    /// The provider answered HTTP 5xx.
    #[error("{provider}：服务端错误（HTTP {status}{}）", code.as_deref().map(|c| format!("，{c}")).unwrap_or_default())]
    ServerError { provider: SmsProvider, status: u16, code: Option<String> },
    /// The provider limits how often we (or this number) may send: try again later.
    #[error("{provider}：发送频率超限（{code}：{message}）")]
    Throttled { provider: SmsProvider, code: String, message: String },
    /// The provider reported a failure on its side with its own error code.
    #[error("{provider}：服务暂不可用（{code}：{message}）")]
    Unavailable { provider: SmsProvider, code: String, message: String },
    /// The answer was not in the provider's format (a proxy's error page, a cut-off body).
    #[error("{provider}：无法识别的应答（{detail}）")]
    BadResponse { provider: SmsProvider, detail: String },
    /// The provider refused the message: template or signature not approved, invalid number,
    /// authentication failure, no balance. Sending it again will not help.
    #[error("{provider}：拒绝发送（{code}：{message}）")]
    Rejected { provider: SmsProvider, code: String, message: String },
    /// The number is not an 11-digit mainland mobile number; nothing was sent.
    #[error("手机号 {masked} 不是有效的大陆手机号码，未发送")]
    InvalidPhone { masked: String },
}

impl SmsError {
    /// Whether sending the same message again later may succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Timeout { .. }
            | Self::Connection { .. }
            | Self::ServerError { .. }
            | Self::Throttled { .. }
            | Self::Unavailable { .. }
            | Self::BadResponse { .. } => true,
            Self::Rejected { .. } | Self::InvalidPhone { .. } => false,
        }
    }

    /// The provider's error code, where it gave one.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Throttled { code, .. } | Self::Unavailable { code, .. } | Self::Rejected { code, .. } => Some(code),
            Self::ServerError { code, .. } => code.as_deref(),
            _ => None,
        }
    }
}

/// The configured provider; the server holds one of these behind an `Arc`.
#[derive(Debug)]
pub enum SmsSender {
    Log(LogSms),
    Aliyun(AliyunSms),
    Tencent(TencentSms),
}

impl SmsSender {
    /// Sends one message. The phone number is checked first; an invalid one is never sent.
    pub async fn send(&self, message: &SmsMessage) -> Result<SmsReceipt, SmsError> {
        if !is_mainland_mobile(&message.phone) {
            return Err(SmsError::InvalidPhone { masked: mask_phone(&message.phone) });
        }
        let result = match self {
            Self::Log(sender) => Ok(sender.send(message)),
            Self::Aliyun(sender) => sender.send(message).await,
            Self::Tencent(sender) => sender.send(message).await,
        };
        match &result {
            Ok(receipt) => tracing::info!(
                provider = self.provider().as_str(),
                phone = %mask_phone(&message.phone),
                template = %message.template_code,
                id = %receipt.provider_message_id,
                "sms accepted"
            ),
            Err(error) => tracing::warn!(
                provider = self.provider().as_str(),
                phone = %mask_phone(&message.phone),
                template = %message.template_code,
                transient = error.is_transient(),
                %error,
                "sms not sent"
            ),
        }
        result
    }

    /// Which provider this is.
    pub fn provider(&self) -> SmsProvider {
        match self {
            Self::Log(_) => SmsProvider::Log,
            Self::Aliyun(_) => SmsProvider::Aliyun,
            Self::Tencent(_) => SmsProvider::Tencent,
        }
    }
}

impl From<LogSms> for SmsSender {
    fn from(sender: LogSms) -> Self {
        Self::Log(sender)
    }
}

impl From<AliyunSms> for SmsSender {
    fn from(sender: AliyunSms) -> Self {
        Self::Aliyun(sender)
    }
}

impl From<TencentSms> for SmsSender {
    fn from(sender: TencentSms) -> Self {
        Self::Tencent(sender)
    }
}

/// Whether `phone` is 11 ASCII digits starting with 1.
pub fn is_mainland_mobile(phone: &str) -> bool {
    phone.len() == 11 && phone.starts_with('1') && phone.bytes().all(|b| b.is_ascii_digit())
}

/// `13812341234` → `138****1234`. Anything that is not 11 characters long keeps at most its
/// first three and last two characters, so no input is ever shown whole.
pub fn mask_phone(phone: &str) -> String {
    let chars: Vec<char> = phone.chars().collect();
    let (head, tail) = match chars.len() {
        11 => (3, 4),
        n if n >= 8 => (3, 2),
        _ => (0, 0),
    };
    let hidden = chars.len() - head - tail;
    chars[..head].iter().chain(std::iter::repeat_n(&'*', hidden.max(4))).chain(&chars[chars.len() - tail..]).collect()
}

/// Replaces the number (with or without `+86`) by its masked form in a provider's message, and
/// masks any other run of eleven or more digits.
fn redact(text: &str, phone: &str) -> String {
    let text = if phone.is_empty() { text.to_owned() } else { text.replace(phone, &mask_phone(phone)) };
    mask_numbers(&text)
}

/// Masks every run of eleven or more ASCII digits (a mobile number, with or without `86`) to
/// its first three and last four digits, so no whole number survives in an error text.
fn mask_numbers(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.len() >= 11 {
            out.push_str(&run[..3]);
            out.extend(std::iter::repeat_n('*', run.len() - 7));
            out.push_str(&run[run.len() - 4..]);
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in text.chars() {
        if c.is_ascii_digit() {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

/// The parts of an HTTP exchange the providers share: building the client and sorting
/// transport failures.
mod http {
    use std::time::Duration;

    use super::{SmsError, SmsProvider};

    pub(super) fn client(timeout: Duration) -> Result<reqwest::Client, reqwest::Error> {
        reqwest::Client::builder().timeout(timeout).connect_timeout(timeout).build()
    }

    /// A status and body read in full, or the transport failure sorted.
    pub(super) async fn exchange(
        provider: SmsProvider,
        request: reqwest::RequestBuilder,
    ) -> Result<(reqwest::StatusCode, bytes::Bytes), SmsError> {
        let response = request.send().await.map_err(|e| transport_error(provider, e))?;
        let status = response.status();
        let body = response.bytes().await.map_err(|e| transport_error(provider, e))?;
        Ok((status, body))
    }

    /// A transport failure without its URL: Aliyun's signed URL carries `PhoneNumbers` and
    /// `TemplateParam`, and the error text goes to the log and the outbox. Any number that
    /// could remain in the cause chain is masked too.
    fn transport_error(provider: SmsProvider, error: reqwest::Error) -> SmsError {
        if error.is_timeout() {
            return SmsError::Timeout { provider };
        }
        let error = error.without_url();
        let mut detail = error.to_string();
        let mut source = std::error::Error::source(&error);
        while let Some(cause) = source {
            detail.push_str(": ");
            detail.push_str(&cause.to_string());
            source = cause.source();
        }
        SmsError::Connection { provider, detail: super::mask_numbers(&detail) }
    }

    /// RFC 3986 percent-encoding of everything but the unreserved characters, as both providers'
    /// canonical requests require.
    pub(super) fn percent_encode(value: &str) -> String {
        let mut out = String::with_capacity(value.len());
        for byte in value.bytes() {
            if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
                out.push(char::from(byte));
            } else {
                out.push_str(&format!("%{byte:02X}"));
            }
        }
        out
    }

    /// The `Host` header reqwest sends for `url`: the port only when it is not the default.
    pub(super) fn host_header(url: &reqwest::Url) -> String {
        let host = url.host_str().unwrap_or_default();
        match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mainland_number_is_masked_in_the_middle() {
        assert_eq!(mask_phone("13812341234"), "138****1234");
    }

    proptest::proptest! {
        #[test]
        fn the_mask_keeps_the_ends_and_never_the_middle_four(phone in "1[0-9]{10}") {
            let masked = mask_phone(&phone);
            proptest::prop_assert_eq!(masked, format!("{}****{}", &phone[..3], &phone[7..]));
        }
    }

    #[test]
    fn odd_input_is_never_shown_whole() {
        for input in ["", "1", "1234567", "123456789", "+8613812341234"] {
            let masked = mask_phone(input);
            assert!(masked.contains("****"), "{input} → {masked}");
            if input.len() > 1 {
                assert_ne!(masked, input);
                assert!(!masked.contains(&input[1..]), "{input} → {masked}");
            }
        }
    }

    #[test]
    fn only_eleven_digits_starting_with_one_are_mainland_mobiles() {
        assert!(is_mainland_mobile("13812341234"));
        for bad in ["", "1381234123", "138123412345", "23812341234", "1381234123a", "+8613812341"] {
            assert!(!is_mainland_mobile(bad), "{bad}");
        }
    }

    #[test]
    fn a_message_debug_print_masks_the_number() {
        let message = SmsMessage { phone: "13812341234".into(), template_code: "T".into(), params: vec![] };
        let printed = format!("{message:?}");
        assert!(printed.contains("138****1234"));
        assert!(!printed.contains("13812341234"));
    }

    #[test]
    fn provider_messages_lose_the_number() {
        assert_eq!(redact("号码+8613812341234无效", "13812341234"), "号码+86138****1234无效");
        assert_eq!(redact("号码13912345678无效", "13812341234"), "号码139****5678无效");
    }

    #[test]
    fn long_digit_runs_are_masked_and_short_ones_kept() {
        assert_eq!(mask_numbers("PhoneNumbers=13812341234&x=1"), "PhoneNumbers=138****1234&x=1");
        assert_eq!(mask_numbers("%2B8613812341234"), "%2B861******1234");
        assert_eq!(mask_numbers("127.0.0.1:54321 HTTP 500"), "127.0.0.1:54321 HTTP 500");
    }

    proptest::proptest! {
        #[test]
        fn no_mobile_number_survives_masking(prefix in "[^0-9]{0,8}", phone in "1[0-9]{10}", suffix in "[^0-9]{0,8}") {
            let masked = mask_numbers(&format!("{prefix}{phone}{suffix}"));
            proptest::prop_assert!(!masked.contains(&phone));
        }
    }

    #[test]
    fn transient_and_permanent_failures_are_told_apart() {
        let p = SmsProvider::Aliyun;
        assert!(SmsError::Timeout { provider: p }.is_transient());
        assert!(SmsError::ServerError { provider: p, status: 503, code: None }.is_transient());
        assert!(SmsError::Throttled { provider: p, code: "x".into(), message: String::new() }.is_transient());
        assert!(!SmsError::Rejected { provider: p, code: "x".into(), message: String::new() }.is_transient());
        assert!(!SmsError::InvalidPhone { masked: "1****".into() }.is_transient());
    }

    #[test]
    fn percent_encoding_keeps_only_unreserved_characters() {
        assert_eq!(http::percent_encode("a-b_c.d~e f/g+h*"), "a-b_c.d~e%20f%2Fg%2Bh%2A");
        assert_eq!(http::percent_encode("村"), "%E6%9D%91");
    }
}
