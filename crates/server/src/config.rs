//! Configuration: built-in defaults, then a TOML file, then `XIAOWEI_*` environment variables
//! (and `DATABASE_URL`), then command-line flags. Secrets are typed so they never print.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use xiaowei_integrations::{AttachmentConfig, SmsConfig};

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct Config {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Folder holding the SQLite file, attachments and generated keys.
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…`; defaults to `<data_dir>/xiaowei.db`.
    #[serde(skip_serializing)]
    pub database_url: Option<SecretString>,
    /// The personal-data key as 128 hex characters; defaults to `<data_dir>/keys/pii.key`.
    #[serde(skip_serializing)]
    pub pii_key: Option<SecretString>,
    /// How long a staff session lasts, in hours.
    pub session_hours: i64,
    /// Log format: `text` or `json`.
    pub log_format: String,
    /// Whether session cookies carry `Secure` (set when served over HTTPS).
    pub secure_cookies: bool,
    /// The site's public address (`https://…`), printed in roster QR codes and enrolment links;
    /// without it they hold only the path (and `serve` warns at start).
    pub public_url: Option<String>,
    /// Where roster scans are kept: a local folder (default `<data_dir>/attachments`) or S3.
    pub attachments: AttachmentConfig,
    /// Whether this instance runs the case clocks and text delivery (safe in several instances).
    pub workers: bool,
    /// The SMS provider: `log` (default), `aliyun` or `tencent`, with its credentials.
    pub sms: SmsConfig,
    /// The provider's approved template for each notice, e.g. `case_submitted = "SMS_123"`.
    pub sms_templates: std::collections::BTreeMap<String, String>,
    /// The publication ledger's signing key (`PRIVATE+KEY+…`, signed-note form); defaults to
    /// `<data_dir>/keys/ledger.key`, generated on first start. Every server of one database
    /// must use the same key.
    #[serde(skip_serializing)]
    pub ledger_key: Option<SecretString>,
    /// The ledger's origin (checkpoint first line and key name) for a newly generated key;
    /// defaults to the host of `public_url` followed by `/xiaowei-ledger`.
    pub ledger_origin: Option<String>,
    /// Working days within which a complaint (投诉) or a report (举报) left in the 留言箱 must be
    /// answered; questions and suggestions always get 3.
    pub complaint_reply_days: u32,
    pub wechat: WechatSettings,
    /// Reverse proxies (CIDR blocks or addresses) whose `Forwarded` / `X-Forwarded-For` headers
    /// name the client; from any other peer those headers are ignored.
    pub trusted_proxies: Vec<String>,
    /// A bearer token that may read `/metrics` from anywhere; without it only loopback may.
    #[serde(skip_serializing)]
    pub metrics_token: Option<SecretString>,
    /// 见证方: the witnesses (`[[witnesses]]` tables) that cosign the ledger's checkpoints.
    pub witnesses: Vec<WitnessSettings>,
    /// Seconds a witness may go without cosigning the newest checkpoint before an alert.
    pub witness_alert_secs: i64,
    /// Requests one client (see `web::client::QuotaKey`) may make to the read-only `/api/v1/`
    /// operations per minute, per server; more are answered 429.
    pub api_reads_per_minute: u32,
}

/// One witness of the publication ledger (a `[[witnesses]]` table): who runs it, where its
/// C2SP tlog-witness submission prefix is, and its cosignature verifier key.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
pub struct WitnessSettings {
    /// Shown to readers, e.g. `县纪委监委`.
    pub name: String,
    /// The submission prefix: `add-checkpoint` is posted to `<url>/add-checkpoint`.
    pub url: String,
    /// `<name>+<id>+<key>`, as `xiaowei witness key` prints it.
    pub vkey: String,
}

/// The `[wechat]` section: where the official-account API lives (tests point it at a local
/// fake), the replay window, and the template message (模板消息) id for each notice. Account
/// credentials are not here: the county admin enters them in the back office, sealed at rest.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct WechatSettings {
    /// Base URL of the API (`/cgi-bin/…`, `/sns/oauth2/…`).
    pub api_base: String,
    /// Base URL of the OAuth authorisation page.
    pub oauth_base: String,
    /// A callback whose signed timestamp is further than this from our clock is refused.
    pub replay_window_secs: i64,
    pub timeout_secs: u64,
    /// Notice (e.g. `case_contacted`) → template id approved for the accounts.
    pub templates: std::collections::BTreeMap<String, String>,
    /// Which keyword of the picked template carries each part of a notice.
    pub keywords: TemplateKeywords,
}

/// The keywords of the template an account picks from the 模板库 for case notices (see the
/// README): since 2023 WeChat shows only keyword fields, each typed by its name's prefix, so a
/// notice fills four of them. The defaults are the numbering of a typical 办件进度 template; an
/// account whose template numbers them otherwise sets its own.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct TemplateKeywords {
    /// 办件编号: the tracking number (a `character_string`).
    pub code: String,
    /// 办理事项: the service item (a `thing`).
    pub item: String,
    /// 办理进度: 已受理 / 已办结 (a `phrase`).
    pub progress: String,
    /// 更新时间: when it happened (a `time`).
    pub time: String,
}

impl Default for TemplateKeywords {
    fn default() -> Self {
        Self {
            code: "character_string1".into(),
            item: "thing2".into(),
            progress: "phrase3".into(),
            time: "time4".into(),
        }
    }
}

impl Default for WechatSettings {
    fn default() -> Self {
        Self {
            api_base: xiaowei_integrations::wechat::DEFAULT_API_BASE.into(),
            oauth_base: "https://open.weixin.qq.com".into(),
            replay_window_secs: 300,
            timeout_secs: 10,
            templates: std::collections::BTreeMap::new(),
            keywords: TemplateKeywords::default(),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("data"),
            database_url: None,
            pii_key: None,
            session_hours: 12,
            log_format: "text".into(),
            secure_cookies: false,
            public_url: None,
            attachments: AttachmentConfig::default(),
            workers: true,
            sms: SmsConfig::default(),
            sms_templates: std::collections::BTreeMap::new(),
            ledger_key: None,
            ledger_origin: None,
            complaint_reply_days: xiaowei_core::message::DEFAULT_COMPLAINT_REPLY_DAYS,
            wechat: WechatSettings::default(),
            trusted_proxies: Vec::new(),
            metrics_token: None,
            witnesses: Vec::new(),
            witness_alert_secs: 3600,
            api_reads_per_minute: 600,
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("配置错误：{0}")]
pub struct ConfigError(String);

impl Config {
    /// Loads defaults < `file` (if given or if `xiaowei.toml` exists in the working folder) <
    /// environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        match file {
            Some(path) if !path.exists() => return Err(ConfigError(format!("找不到配置文件 {}", path.display()))),
            Some(path) => figment = figment.merge(Toml::file(path)),
            None => figment = figment.merge(Toml::file("xiaowei.toml")),
        }
        figment = figment.merge(Env::prefixed("XIAOWEI_")).merge(Env::raw().only(&["DATABASE_URL"]));
        let config: Self = figment.extract().map_err(|e| ConfigError(e.to_string()))?;
        parse_proxies(&config.trusted_proxies).map_err(ConfigError)?;
        for w in &config.witnesses {
            xiaowei_core::witness::CosignatureVerifier::new(&w.vkey)
                .map_err(|e| ConfigError(format!("见证方「{}」的公钥（vkey）无效：{e}", w.name)))?;
        }
        Ok(config)
    }

    /// The database URL, defaulting to the embedded SQLite file in the data folder.
    pub fn database_url(&self) -> SecretString {
        self.database_url.clone().filter(|url| !url.expose_secret().trim().is_empty()).unwrap_or_else(|| {
            SecretString::from(format!("sqlite://{}?mode=rwc", self.data_dir.join("xiaowei.db").display()))
        })
    }

    /// Whether the configured database is the embedded one.
    pub fn uses_sqlite(&self) -> bool {
        self.database_url().expose_secret().starts_with("sqlite:")
    }

    /// A link to `path` for QR codes and links shown to be copied: absolute under `public_url`,
    /// else the bare path. Never built from a request's `Host`, which the sender chooses.
    pub fn public_link(&self, path: &str) -> String {
        match self.public_url.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
            Some(base) => format!("{}{path}", base.trim_end_matches('/')),
            None => path.to_owned(),
        }
    }

    /// The default folder for attachments when the configuration names none.
    /// The site's address for links in text messages: `public_url`, or the listen address.
    pub fn site_url(&self) -> String {
        match &self.public_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => format!("http://{}", self.listen),
        }
    }

    pub fn attachments_dir(&self) -> PathBuf {
        self.data_dir.join("attachments")
    }

    pub fn key_path(&self) -> PathBuf {
        self.data_dir.join("keys").join("pii.key")
    }

    /// The publication ledger's signing key file, next to the personal-data key.
    pub fn ledger_key_path(&self) -> PathBuf {
        self.data_dir.join("keys").join("ledger.key")
    }

    /// The ledger audit key file (payment details in roster leaves), next to the other keys.
    pub fn ledger_audit_key_path(&self) -> PathBuf {
        self.data_dir.join("keys").join("ledger-audit.key")
    }

    /// The origin to give a newly generated ledger key.
    pub fn ledger_origin(&self) -> String {
        if let Some(origin) = self.ledger_origin.as_deref().map(str::trim).filter(|o| !o.is_empty()) {
            return origin.to_owned();
        }
        let host = self
            .public_url
            .as_deref()
            .map(|u| u.split("://").last().unwrap_or(u).split('/').next().unwrap_or("").to_owned())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "xiaowei.local".to_owned());
        format!("{host}/xiaowei-ledger")
    }
}

/// Parses the `trusted_proxies` setting: CIDR blocks (`10.0.0.0/8`, `fd00::/8`) or single
/// addresses (`192.0.2.7`).
pub fn parse_proxies(entries: &[String]) -> Result<Vec<ipnet::IpNet>, String> {
    entries
        .iter()
        .map(|entry| {
            let entry = entry.trim();
            entry
                .parse::<ipnet::IpNet>()
                .or_else(|_| entry.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| format!("trusted_proxies：“{entry}”不是有效的地址或 CIDR 网段"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_listen_locally_and_keep_data_in_data() {
        let c = Config::default();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert!(c.database_url().expose_secret().ends_with("data/xiaowei.db?mode=rwc"));
    }

    #[test]
    fn secrets_do_not_print() {
        let c = Config { database_url: Some(SecretString::from("postgres://u:hunter2@h/db")), ..Config::default() };
        assert!(!format!("{c:?}").contains("hunter2"));
    }

    #[test]
    fn attachments_and_the_public_address_come_from_the_file() {
        let dir = std::env::temp_dir().join(format!("xiaowei-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("xiaowei.toml");
        std::fs::write(
            &file,
            "public_url = \"https://xw.example.cn\"\n[attachments]\nbackend = \"s3\"\ns3_bucket = \"scans\"\n",
        )
        .unwrap();
        let c = Config::load(Some(&file)).unwrap();
        assert_eq!(c.public_url.as_deref(), Some("https://xw.example.cn"));
        assert_eq!(c.attachments.backend, "s3");
        assert_eq!(c.attachments.s3_bucket.as_deref(), Some("scans"));
        assert!(c.attachments.max_bytes > 0, "unset fields keep their defaults");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_missing_config_file_is_an_error() {
        assert!(Config::load(Some(Path::new("/nonexistent/xiaowei.toml"))).is_err());
    }
}
