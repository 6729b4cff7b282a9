//! The `[sms]` section of the server configuration and the one constructor that turns it into a
//! sender. Secrets are `SecretString`s: they never appear in `Debug` output or serialised config.

use std::time::Duration;

use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use super::tencent::TencentSmsOptions;
use super::{
    AliyunSms, DEFAULT_IN_FLIGHT, DEFAULT_TIMEOUT, LogSms, Pace, SmsProvider, SmsSender, TencentSms, aliyun, tencent,
};

/// Which provider sends the texts, and its credentials.
///
/// ```toml
/// [sms]
/// provider = "aliyun"            # "log" (default), "aliyun" or "tencent"
/// sign_name = "瓜州县纪委监委"     # the approved signature (签名)
/// access_key_id = "LTAI…"        # aliyun
/// access_key_secret = "…"        # aliyun
/// # secret_id, secret_key, sdk_app_id, region = "ap-guangzhou"   # tencent
/// # endpoint = "https://dysmsapi.aliyuncs.com"                    # override, e.g. a test server
/// timeout_secs = 10
/// # max_per_second = 5000        # default: the provider's documented SendSms limit
/// # max_in_flight = 32           # requests awaiting an answer at once
/// ```
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmsConfig {
    pub provider: SmsProvider,
    /// The signature name the provider approved, shown in 【】 before the text.
    pub sign_name: Option<String>,
    /// Overrides the provider's public endpoint (`https://…`, or `http://…` for a local fake).
    pub endpoint: Option<String>,
    /// Aliyun AccessKey id.
    #[serde(skip_serializing)]
    pub access_key_id: Option<String>,
    /// Aliyun AccessKey secret.
    #[serde(skip_serializing)]
    pub access_key_secret: Option<SecretString>,
    /// Tencent Cloud SecretId.
    #[serde(skip_serializing)]
    pub secret_id: Option<String>,
    /// Tencent Cloud SecretKey.
    #[serde(skip_serializing)]
    pub secret_key: Option<SecretString>,
    /// Tencent Cloud SMS application id (`SmsSdkAppId`, e.g. `1400…`).
    pub sdk_app_id: Option<String>,
    /// Tencent Cloud region; `ap-guangzhou` when absent.
    pub region: Option<String>,
    /// Seconds before a request counts as timed out.
    pub timeout_secs: u64,
    /// Requests started per second at most; the provider's documented limit when absent
    /// (`SmsProvider::documented_per_second`). Several instances on one account share it.
    pub max_per_second: Option<u32>,
    /// Requests awaiting the provider's answer at once.
    pub max_in_flight: usize,
}

impl Default for SmsConfig {
    fn default() -> Self {
        Self {
            provider: SmsProvider::Log,
            sign_name: None,
            endpoint: None,
            access_key_id: None,
            access_key_secret: None,
            secret_id: None,
            secret_key: None,
            sdk_app_id: None,
            region: None,
            timeout_secs: DEFAULT_TIMEOUT.as_secs(),
            max_per_second: None,
            max_in_flight: DEFAULT_IN_FLIGHT,
        }
    }
}

/// Why an [`SmsConfig`] cannot become a sender.
#[derive(Debug, thiserror::Error)]
pub enum SmsConfigError {
    #[error("短信配置缺少 sms.{field}（provider = \"{}\" 时必填）", provider.as_str())]
    Missing { provider: SmsProvider, field: &'static str },
    #[error("短信配置 sms.endpoint 不是有效的 http(s) 地址：{0}")]
    Endpoint(String),
    #[error("短信配置 sms.timeout_secs 必须大于 0")]
    Timeout,
    #[error("短信配置 sms.{0} 必须大于 0")]
    Pace(&'static str),
    #[error("无法创建短信 HTTP 客户端：{0}")]
    Client(#[from] reqwest::Error),
}

impl SmsConfig {
    /// Builds the configured sender, naming the first missing field if any.
    pub fn build(&self) -> Result<SmsSender, SmsConfigError> {
        if self.timeout_secs == 0 {
            return Err(SmsConfigError::Timeout);
        }
        let timeout = Duration::from_secs(self.timeout_secs);
        match self.provider {
            SmsProvider::Log => Ok(SmsSender::Log(LogSms::new())),
            SmsProvider::Aliyun => Ok(SmsSender::Aliyun(AliyunSms::new(
                self.endpoint(aliyun::DEFAULT_ENDPOINT)?,
                self.required(&self.access_key_id, "access_key_id")?,
                self.required_secret(&self.access_key_secret, "access_key_secret")?,
                self.required(&self.sign_name, "sign_name")?,
                timeout,
            )?)),
            SmsProvider::Tencent => Ok(SmsSender::Tencent(TencentSms::new(TencentSmsOptions {
                endpoint: self.endpoint(tencent::DEFAULT_ENDPOINT)?,
                secret_id: self.required(&self.secret_id, "secret_id")?,
                secret_key: self.required_secret(&self.secret_key, "secret_key")?,
                sdk_app_id: self.required(&self.sdk_app_id, "sdk_app_id")?,
                sign_name: self.required(&self.sign_name, "sign_name")?,
                region: self
                    .region
                    .clone()
                    .filter(|r| !r.trim().is_empty())
                    .unwrap_or_else(|| tencent::DEFAULT_REGION.into()),
                timeout,
            })?)),
        }
    }

    /// The pace requests to the provider keep: the configured rate, else the provider's
    /// documented one.
    pub fn pace(&self) -> Result<Pace, SmsConfigError> {
        if self.max_per_second == Some(0) {
            return Err(SmsConfigError::Pace("max_per_second"));
        }
        if self.max_in_flight == 0 {
            return Err(SmsConfigError::Pace("max_in_flight"));
        }
        Ok(Pace::new(self.max_per_second.or(self.provider.documented_per_second()), self.max_in_flight))
    }

    fn required(&self, value: &Option<String>, field: &'static str) -> Result<String, SmsConfigError> {
        match value.as_deref().map(str::trim) {
            Some(v) if !v.is_empty() => Ok(v.to_owned()),
            _ => Err(SmsConfigError::Missing { provider: self.provider, field }),
        }
    }

    fn required_secret(
        &self,
        value: &Option<SecretString>,
        field: &'static str,
    ) -> Result<SecretString, SmsConfigError> {
        use secrecy::ExposeSecret;
        match value {
            Some(v) if !v.expose_secret().trim().is_empty() => Ok(SecretString::from(v.expose_secret().trim())),
            _ => Err(SmsConfigError::Missing { provider: self.provider, field }),
        }
    }

    fn endpoint(&self, default: &str) -> Result<reqwest::Url, SmsConfigError> {
        let text = self.endpoint.as_deref().map(str::trim).filter(|e| !e.is_empty()).unwrap_or(default);
        match reqwest::Url::parse(text) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.host_str().is_some() => Ok(url),
            _ => Err(SmsConfigError::Endpoint(text.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(toml_like_json: serde_json::Value) -> SmsConfig {
        serde_json::from_value(toml_like_json).expect("config")
    }

    #[test]
    fn an_empty_section_is_the_log_provider() {
        let config = parse(serde_json::json!({}));
        assert!(matches!(config.build(), Ok(SmsSender::Log(_))));
        assert_eq!(config.timeout_secs, 10);
    }

    #[test]
    fn a_missing_field_is_named() {
        let config = parse(serde_json::json!({"provider": "aliyun", "sign_name": "纪委", "access_key_id": "LTAI"}));
        let error = config.build().expect_err("incomplete");
        assert_eq!(error.to_string(), "短信配置缺少 sms.access_key_secret（provider = \"aliyun\" 时必填）");
        let config =
            parse(serde_json::json!({"provider": "tencent", "secret_id": "a", "secret_key": "b", "sign_name": "c"}));
        assert!(config.build().expect_err("incomplete").to_string().contains("sms.sdk_app_id"));
    }

    #[test]
    fn the_pace_defaults_to_the_providers_documented_limit() {
        let aliyun = parse(serde_json::json!({"provider": "aliyun"})).pace().expect("pace");
        assert_eq!((aliyun.per_second(), aliyun.in_flight()), (Some(5_000), 32));
        let tencent = parse(serde_json::json!({"provider": "tencent", "max_in_flight": 8})).pace().expect("pace");
        assert_eq!((tencent.per_second(), tencent.in_flight()), (Some(3_000), 8));
        let own = parse(serde_json::json!({"provider": "aliyun", "max_per_second": 40})).pace().expect("pace");
        assert_eq!(own.per_second(), Some(40));
        let zero = parse(serde_json::json!({"max_per_second": 0})).pace().expect_err("zero");
        assert_eq!(zero.to_string(), "短信配置 sms.max_per_second 必须大于 0");
    }

    #[test]
    fn an_unknown_provider_or_field_is_refused() {
        assert!(serde_json::from_value::<SmsConfig>(serde_json::json!({"provider": "huawei"})).is_err());
        assert!(serde_json::from_value::<SmsConfig>(serde_json::json!({"acess_key_id": "x"})).is_err());
    }

    #[test]
    fn a_bad_endpoint_is_refused() {
        let config = parse(serde_json::json!({
            "provider": "tencent", "secret_id": "a", "secret_key": "b", "sign_name": "c", "sdk_app_id": "1", "endpoint": "ftp://x"
        }));
        assert!(matches!(config.build(), Err(SmsConfigError::Endpoint(_))));
    }

    #[test]
    fn secrets_stay_out_of_debug_and_serialised_output() {
        let config = parse(serde_json::json!({
            "provider": "aliyun", "sign_name": "纪委", "access_key_id": "LTAI5t",
            "access_key_secret": "TopSecretValue", "secret_key": "AlsoSecret"
        }));
        let sender = config.build().expect("complete");
        for printed in [format!("{config:?}"), format!("{sender:?}"), serde_json::to_string(&config).expect("json")] {
            assert!(!printed.contains("TopSecretValue"), "{printed}");
            assert!(!printed.contains("AlsoSecret"), "{printed}");
        }
    }
}
