//! The official-account HTTP API (`/cgi-bin/…`, `/sns/oauth2/…`) with a configurable base URL.
//! Every answer carries `errcode`/`errmsg` on failure; an expired or invalid access token
//! (40001, 40014, 42001) is reported as such so the caller can refresh and retry once.

use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

/// The public API.
pub const DEFAULT_API_BASE: &str = "https://api.weixin.qq.com";

/// Why a call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WechatApiError {
    #[error("微信接口连接失败：{0}")]
    Connection(String),
    #[error("微信接口应答无法识别：{0}")]
    BadResponse(String),
    #[error("微信接口错误 {code}：{message}")]
    Api { code: i64, message: String },
}

impl WechatApiError {
    /// Whether the access token used was expired or invalid, so a fresh one may succeed.
    pub fn is_token_expired(&self) -> bool {
        matches!(self, Self::Api { code: 40001 | 40014 | 42001, .. })
    }

    /// Whether the same call may succeed later (network trouble, system busy).
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Connection(_) | Self::BadResponse(_) => true,
            Self::Api { code, .. } => *code == -1 || *code == 45009 || self.is_token_expired(),
        }
    }
}

/// An access token and its lifetime in seconds.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken {
    pub token: String,
    pub expires_in: i64,
}

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessToken").field("expires_in", &self.expires_in).finish_non_exhaustive()
    }
}

/// A client for one API base URL (shared by every account).
#[derive(Debug, Clone)]
pub struct WechatApi {
    http: reqwest::Client,
    base: String,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    expires_in: i64,
}

#[derive(Deserialize)]
struct OauthAnswer {
    openid: String,
}

impl WechatApi {
    pub fn new(base: &str, timeout: Duration) -> Result<Self, WechatApiError> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| WechatApiError::Connection(e.to_string()))?;
        Ok(Self { http, base: base.trim_end_matches('/').to_owned() })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    async fn call(&self, request: reqwest::RequestBuilder) -> Result<Value, WechatApiError> {
        let response = request.send().await.map_err(|e| WechatApiError::Connection(e.without_url().to_string()))?;
        let status = response.status();
        let body = response.bytes().await.map_err(|e| WechatApiError::Connection(e.without_url().to_string()))?;
        let value: Value = serde_json::from_slice(&body)
            .map_err(|_| WechatApiError::BadResponse(format!("HTTP {}", status.as_u16())))?;
        match value.get("errcode").and_then(Value::as_i64) {
            Some(0) | None if status.is_success() => Ok(value),
            Some(code) if code != 0 => Err(WechatApiError::Api {
                code,
                message: value.get("errmsg").and_then(Value::as_str).unwrap_or_default().chars().take(200).collect(),
            }),
            _ => Err(WechatApiError::BadResponse(format!("HTTP {}", status.as_u16()))),
        }
    }

    /// `GET /cgi-bin/token`: a fresh access token for the account.
    pub async fn fetch_token(&self, appid: &str, secret: &str) -> Result<AccessToken, WechatApiError> {
        let value = self
            .call(self.http.get(format!("{}/cgi-bin/token", self.base)).query(&[
                ("grant_type", "client_credential"),
                ("appid", appid),
                ("secret", secret),
            ]))
            .await?;
        let answer: TokenAnswer =
            serde_json::from_value(value).map_err(|_| WechatApiError::BadResponse("access_token".into()))?;
        Ok(AccessToken { token: answer.access_token, expires_in: answer.expires_in })
    }

    /// `POST /cgi-bin/menu/create`.
    pub async fn create_menu(&self, access_token: &str, menu: &Value) -> Result<(), WechatApiError> {
        self.call(
            self.http
                .post(format!("{}/cgi-bin/menu/create", self.base))
                .query(&[("access_token", access_token)])
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(menu.to_string()),
        )
        .await?;
        Ok(())
    }

    /// `POST /cgi-bin/message/template/send`; returns the platform's `msgid`.
    pub async fn send_template(&self, access_token: &str, message: &Value) -> Result<String, WechatApiError> {
        let value = self
            .call(
                self.http
                    .post(format!("{}/cgi-bin/message/template/send", self.base))
                    .query(&[("access_token", access_token)])
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(message.to_string()),
            )
            .await?;
        Ok(value.get("msgid").map(|v| v.to_string().trim_matches('"').to_owned()).unwrap_or_default())
    }

    /// `GET /sns/oauth2/access_token`: the follower's openid for an OAuth code (snsapi_base).
    pub async fn oauth_openid(&self, appid: &str, secret: &str, code: &str) -> Result<String, WechatApiError> {
        let value = self
            .call(self.http.get(format!("{}/sns/oauth2/access_token", self.base)).query(&[
                ("appid", appid),
                ("secret", secret),
                ("code", code),
                ("grant_type", "authorization_code"),
            ]))
            .await?;
        let answer: OauthAnswer =
            serde_json::from_value(value).map_err(|_| WechatApiError::BadResponse("openid".into()))?;
        Ok(answer.openid)
    }
}

/// The OAuth authorisation URL (snsapi_base: no prompt, only the openid) that returns to
/// `redirect_uri` with `code` and `state`.
pub fn oauth_authorize_url(oauth_base: &str, appid: &str, redirect_uri: &str, state: &str) -> String {
    let mut url = format!("{}/connect/oauth2/authorize", oauth_base.trim_end_matches('/'));
    let query: String = [
        ("appid", appid),
        ("redirect_uri", redirect_uri),
        ("response_type", "code"),
        ("scope", "snsapi_base"),
        ("state", state),
    ]
    .iter()
    .map(|(k, v)| format!("{k}={}", percent_encode(v)))
    .collect::<Vec<_>>()
    .join("&");
    url.push('?');
    url.push_str(&query);
    url.push_str("#wechat_redirect");
    url
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_authorize_url_encodes_the_return_address() {
        let url = oauth_authorize_url("https://open.weixin.qq.com/", "wx1", "https://x/a?b=1", "s");
        assert_eq!(
            url,
            "https://open.weixin.qq.com/connect/oauth2/authorize?appid=wx1&redirect_uri=https%3A%2F%2Fx%2Fa%3Fb%3D1&response_type=code&scope=snsapi_base&state=s#wechat_redirect"
        );
    }

    #[test]
    fn expired_token_codes_are_recognised() {
        for code in [40001, 40014, 42001] {
            assert!(WechatApiError::Api { code, message: String::new() }.is_token_expired());
        }
        assert!(!WechatApiError::Api { code: 40013, message: String::new() }.is_token_expired());
    }
}
