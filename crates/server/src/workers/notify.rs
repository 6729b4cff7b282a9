//! Notifications and the loops behind them: the scheduler that runs the tracked requests' clocks
//! (`app::cases`, `app::messages`, `app::objections` each choose who a notice texts and write it
//! into the outbox with the change) and the delivery worker that drains the outbox through the SMS
//! gateway or WeChat with retries and backoff.
//!
//! Both loops take `now` from the caller, so tests drive them with a controllable clock. `serve`
//! runs the clocks every 15 s, and the delivery worker whenever texts are queued: the store raises
//! this instance's signal after every write that queues texts, PostgreSQL's `LISTEN/NOTIFY` carries
//! the news from other instances, and a 2-second poll covers the rest (retries coming due, another
//! process on one SQLite file, a missed notice). A round claims a batch and sends it concurrently,
//! as fast as the provider's pace allows (`[sms] max_per_second`, `max_in_flight`; see
//! `xiaowei_integrations::sms::Pace`). They are safe to run in several server instances at once:
//! every mark is compare-and-set and every claim one atomic statement in the store.
//!
//! ## 我要办事: cases, clocks and texts
//!
//! The catalogue (`service_items`, with a township handler per item and township in
//! `service_handlers`) is public; an application becomes a case (`service_cases`) with a tracking
//! number (`BJ` + date + six digits), its timeline (`case_events`, some public), photos and extension
//! requests. The rules are in core: `core::workday` is the working-day calendar (holidays and make-up
//! working days from the `calendar_days` table — seeded for 2025–2026 by migration 0008 and edited by
//! the county admin — weekends otherwise; the start day never counts) and the one deadline calculator
//! the message box will share; `core::service` holds the clocks (contact within 24 hours, completion
//! by the item's limit in working days or hours, reminders before each), the case state machine
//! (`submitted → in_progress → completed → closed`, or `reopened` on 不满意), the extension rule and
//! which notices go to whom. The deadline's explanation (holidays skipped, make-up days counted) is
//! written with the case, so a later calendar edit does not rewrite history.
//!
//! Every change that texts someone writes its outbox rows (`outbox`) in the same transaction
//! (`Store::create_case`, `Store::change`, `Store::fire`), with a dedup key. This module runs two
//! loops that take `now` from the caller (tests drive them with a controllable clock; `serve` runs
//! them when `workers = true`): `app::cases::run_clocks` sets each reminder or overdue mark once by
//! compare-and-set on its column, and `deliver_due` claims messages under a lease (one atomic
//! statement, so two instances never send one message twice; an expired lease is retried), sends
//! them through the `SmsGateway`, and records sent, retry with exponential backoff (30 s doubling,
//! at most an hour, 8 attempts) or failed with the provider's reason. Staff see every text on the case
//! page and in the outbox (`/staff/outbox`), and may requeue a failed one. The applicant needs no
//! account: the tracking number plus the phone (matched by blind index) opens the case, and texts
//! carry a keyed link (`/cases/{tracking}?k=…`, an HMAC of the tracking number).

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;

use xiaowei_core::Phone;
use xiaowei_core::message::MessageNotice;
use xiaowei_core::service::Notice;
use xiaowei_store::OutboxMessage;

use crate::state::AppState;
use crate::web::error::AppError;
use xiaowei_core::outbox::TextChannel;

pub use crate::state::gateway::{GatewayError, GatewayFuture, LogGateway, SharedGateway, SmsGateway};

/// Attempts before a transiently failing message is given up.
pub const MAX_ATTEMPTS: i64 = 8;
/// How long a worker holds a claimed message before another may retry it.
pub const LEASE_SECS: i64 = 120;
/// Messages a worker claims per round at most; fewer when the provider's pace could not send
/// them within half a lease.
const BATCH: i64 = 200;
/// How often the delivery worker looks for due texts it was not told about.
pub const DELIVERY_POLL: Duration = Duration::from_secs(2);

/// How many texts one round claims for `gateway`: at most [`BATCH`], and no more than its pace
/// sends in half a lease, so that a claimed text is sent before its lease could run out and
/// another instance claim it again.
fn batch_for(gateway: &dyn SmsGateway) -> i64 {
    match gateway.per_second() {
        Some(rate) => (i64::from(rate) * LEASE_SECS / 2).clamp(1, BATCH),
        None => BATCH,
    }
}

/// The wait before retry number `attempts` (1-based): 30 s doubling, at most an hour.
pub fn backoff_secs(attempts: i64) -> i64 {
    let exponent = u32::try_from((attempts - 1).clamp(0, 7)).unwrap_or(0);
    (30_i64 << exponent).min(3600)
}

/// The template message of one outbox row: the keyword fields only (WeChat no longer shows
/// `first` or `remark`), each fitted to its keyword's type, and the link to the case page.
fn wechat_template(
    keywords: &crate::config::TemplateKeywords,
    openid: &str,
    template_id: &str,
    m: &OutboxMessage,
    param: &dyn Fn(&str) -> String,
) -> Result<serde_json::Value, GatewayError> {
    use xiaowei_integrations::wechat::{Keyword, template_message};
    let progress = Notice::parse(&m.notice).and_then(Notice::progress).unwrap_or("有更新");
    let at = jiff::Timestamp::from_second(m.created_at)
        .map(|t| {
            t.to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(8))).strftime("%Y年%-m月%-d日 %H:%M").to_string()
        })
        .unwrap_or_default();
    let fields = [
        (&keywords.code, param("code")),
        (&keywords.item, param("item")),
        (&keywords.progress, progress.to_owned()),
        (&keywords.time, at),
    ];
    let fitted: Result<Vec<Keyword>, _> = fields.iter().map(|(name, value)| Keyword::fit(name, value)).collect();
    let fitted = fitted.map_err(|e| GatewayError::Rejected(e.to_string()))?;
    Ok(template_message(openid, template_id, &param("link"), &fitted))
}

/// Sends one outbox row as a template message through the township's account.
async fn send_wechat(state: &AppState, m: &OutboxMessage, params: &[(String, String)]) -> Result<String, GatewayError> {
    let target = state.cipher().decrypt(&m.phone_enc).map_err(|_| GatewayError::Rejected("收件人无法解密".into()))?;
    let (account, openid) = target.split_once(':').ok_or(GatewayError::Rejected("收件人格式不正确".into()))?;
    let Some(template_id) = state.config().wechat.templates.get(&m.notice) else {
        return Err(GatewayError::Rejected(format!("未配置微信模板 wechat.templates.{}", m.notice)));
    };
    let param = |name: &str| params.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default();
    let message = wechat_template(&state.config().wechat.keywords, openid, template_id, m, &param)?;
    match crate::app::wechat::send_template(state, account, message).await {
        Ok(id) => Ok(format!("wechat-{id}")),
        Err(crate::app::wechat::WechatFailure::Api(e)) if e.is_transient() => {
            Err(GatewayError::Transient(e.to_string()))
        }
        Err(crate::app::wechat::WechatFailure::Api(e)) => Err(GatewayError::Rejected(e.to_string())),
        Err(crate::app::wechat::WechatFailure::App(e)) => Err(GatewayError::Transient(e.to_string())),
    }
}

/// One delivery round for `worker`: claims a batch of due messages and sends them, as many at
/// once as the gateway allows. Returns (sent, failed or postponed); the first storage error, if
/// any, after every claimed message had its try.
pub async fn deliver_due(
    state: &AppState,
    gateway: &dyn SmsGateway,
    worker: &str,
    now: i64,
) -> Result<(usize, usize), AppError> {
    let claimed = state.store().claim_outbox(worker, now, LEASE_SECS, batch_for(gateway)).await?;
    let sends: Vec<_> = claimed.iter().map(|m| deliver_one(state, gateway, worker, m, now)).collect();
    let outcomes: Vec<Result<bool, AppError>> =
        futures_util::stream::iter(sends).buffer_unordered(gateway.in_flight().max(1)).collect().await;
    let (mut sent, mut not_sent) = (0, 0);
    let mut first_error = None;
    for outcome in outcomes {
        match outcome {
            Ok(true) => sent += 1,
            Ok(false) => not_sent += 1,
            Err(e) => {
                not_sent += 1;
                first_error.get_or_insert(e);
            }
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok((sent, not_sent)),
    }
}

/// Delivers rounds until nothing is due.
async fn drain(state: &AppState, gateway: &dyn SmsGateway, worker: &str) {
    loop {
        match deliver_due(state, gateway, worker, state.now()).await {
            Ok((0, 0)) => return,
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "text delivery failed");
                return;
            }
        }
    }
}

/// Runs the delivery worker until the returned task is aborted: a drain whenever this
/// instance queues texts, another instance announces some (PostgreSQL), or every `poll`.
pub fn spawn_delivery(state: AppState, gateway: SharedGateway, poll: Duration) -> tokio::task::JoinHandle<()> {
    let worker = format!("w-{}", &crate::web::security::random_token()[..12]);
    let queued = state.outbox_queued();
    tokio::spawn(async move {
        let mut listener = None;
        let mut listen_at = tokio::time::Instant::now();
        loop {
            if listener.is_none() && tokio::time::Instant::now() >= listen_at {
                match state.store().outbox_listener().await {
                    Ok(found) => listener = found,
                    Err(e) => tracing::warn!(error = %e, "cannot listen for queued texts; polling only"),
                }
                listen_at = tokio::time::Instant::now() + Duration::from_secs(30);
            }
            drain(&state, gateway.as_ref(), &worker).await;
            let heard = tokio::select! {
                () = queued.notified() => Ok(()),
                () = tokio::time::sleep(poll) => Ok(()),
                heard = announced(&mut listener) => heard,
            };
            if let Err(e) = heard {
                tracing::warn!(error = %e, "listening for queued texts failed; polling only");
                listener = None;
            }
        }
    })
}

/// Waits for another instance's announcement of queued texts; never, without a listener.
async fn announced(listener: &mut Option<xiaowei_store::OutboxListener>) -> Result<(), xiaowei_store::StoreError> {
    match listener {
        Some(listener) => listener.queued().await,
        None => std::future::pending().await,
    }
}

async fn deliver_one(
    state: &AppState,
    gateway: &dyn SmsGateway,
    worker: &str,
    m: &OutboxMessage,
    now: i64,
) -> Result<bool, AppError> {
    let store = state.store();
    let params: Vec<(String, String)> = serde_json::from_str(&m.params).unwrap_or_default();
    let result = if m.channel == TextChannel::Wechat {
        send_wechat(state, m, &params).await
    } else {
        let phone = match state.cipher().decrypt(&m.phone_enc).ok().and_then(|p| Phone::parse(&p).ok()) {
            Some(phone) => phone,
            None => {
                store.outbox_failed(m.id, worker, "手机号无法解密或格式不正确", None).await?;
                return Ok(false);
            }
        };
        gateway.send(phone.expose(), &m.notice, &params, &m.body).await
    };
    match result {
        Ok(provider_id) => {
            store.outbox_sent(m.id, worker, &provider_id, now).await?;
            Ok(true)
        }
        Err(GatewayError::Transient(reason)) if m.attempts < MAX_ATTEMPTS => {
            tracing::warn!(outbox = m.id, attempts = m.attempts, %reason, "text not delivered, will retry");
            store
                .outbox_failed(
                    m.id,
                    worker,
                    &format!("第{}次发送失败：{reason}", m.attempts),
                    Some(now + backoff_secs(m.attempts)),
                )
                .await?;
            Ok(false)
        }
        Err(GatewayError::Transient(reason)) => {
            tracing::warn!(outbox = m.id, %reason, "text given up after retries");
            store.outbox_failed(m.id, worker, &format!("重试{}次仍失败：{reason}", m.attempts), None).await?;
            Ok(false)
        }
        Err(GatewayError::Rejected(reason)) => {
            tracing::warn!(outbox = m.id, %reason, "text rejected by the provider");
            store.outbox_failed(m.id, worker, &format!("服务商拒绝：{reason}"), None).await?;
            Ok(false)
        }
    }
}

/// Every notice key a text can be sent under: each needs a template in `[sms_templates]`.
pub fn sms_notice_keys() -> impl Iterator<Item = &'static str> {
    Notice::ALL
        .into_iter()
        .map(Notice::key)
        .chain(MessageNotice::ALL.into_iter().map(MessageNotice::key))
        .chain(
            xiaowei_core::objection::ObjectionNotice::ALL
                .into_iter()
                .map(xiaowei_core::objection::ObjectionNotice::key),
        )
        .chain([xiaowei_core::alert::DIGEST_NOTICE, xiaowei_core::phone_proof::CODE_NOTICE])
}

/// A configured SMS provider: looks up the provider's template for each notice, keeps the
/// provider's pace, and tells transient failures (retry) from rejections (give up).
pub struct ProviderGateway {
    sender: xiaowei_integrations::SmsSender,
    templates: std::collections::BTreeMap<String, String>,
    pace: xiaowei_integrations::sms::Pace,
}

impl ProviderGateway {
    /// The gateway for `sms` and `templates`; a `log` provider logs the rendered text instead.
    pub fn from_config(
        sms: &xiaowei_integrations::SmsConfig,
        templates: &std::collections::BTreeMap<String, String>,
    ) -> Result<SharedGateway, xiaowei_integrations::SmsConfigError> {
        let pace = sms.pace()?;
        if sms.provider == xiaowei_integrations::SmsProvider::Log {
            tracing::warn!(
                "sms provider is `log`: no text reaches a phone and verification codes are shown on the page; \
                 configure [sms] for a real installation"
            );
            return Ok(Arc::new(LogGateway));
        }
        let missing: Vec<&str> = sms_notice_keys().filter(|k| !templates.contains_key(*k)).collect();
        if !missing.is_empty() {
            tracing::warn!(missing = %missing.join(", "), "sms_templates lacks these notices; they will not be sent");
        }
        Ok(Arc::new(Self { sender: sms.build()?, templates: templates.clone(), pace }))
    }
}

impl SmsGateway for ProviderGateway {
    fn per_second(&self) -> Option<u32> {
        self.pace.per_second()
    }

    fn in_flight(&self) -> usize {
        self.pace.in_flight()
    }

    fn send<'a>(
        &'a self,
        phone: &'a str,
        notice: &'a str,
        params: &'a [(String, String)],
        _: &'a str,
    ) -> GatewayFuture<'a> {
        Box::pin(async move {
            let Some(template_code) = self.templates.get(notice) else {
                return Err(GatewayError::Rejected(format!("未配置短信模板 sms_templates.{notice}")));
            };
            let message = xiaowei_integrations::SmsMessage {
                phone: phone.to_owned(),
                template_code: template_code.clone(),
                params: params.to_vec(),
            };
            let _turn = self.pace.turn().await;
            match self.sender.send(&message).await {
                Ok(receipt) => Ok(receipt.provider_message_id),
                Err(e) if e.is_transient() => Err(GatewayError::Transient(e.to_string())),
                Err(e) => Err(GatewayError::Rejected(e.to_string())),
            }
        })
    }
}

/// Routes WeChat texts that could not be turned into 留言箱 messages when they arrived.
pub async fn route_wechat_texts(state: &AppState) -> Result<usize, AppError> {
    let texts = state.store().unrouted_wechat_texts(100).await?;
    for text in &texts {
        crate::app::messages::from_wechat_text(state, text).await?;
    }
    Ok(texts.len())
}

/// Runs the scheduler every `every` seconds until the process ends; the texts it queues wake
/// the delivery worker ([`spawn_delivery`]).
pub fn spawn_workers(state: AppState, every: Duration) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            let now = state.now();
            if let Err(e) = crate::app::cases::run_clocks(&state, now).await {
                tracing::warn!(error = %e, "case clocks failed");
            }
            if let Err(e) = crate::app::messages::run_clocks(&state, now).await {
                tracing::warn!(error = %e, "message clocks failed");
            }
            if let Err(e) = crate::app::objections::run_clocks(&state, now).await {
                tracing::warn!(error = %e, "objection clocks failed");
            }
            if let Err(e) = route_wechat_texts(&state).await {
                tracing::warn!(error = %e, "routing WeChat texts to the message box failed");
            }
            if let Err(e) = crate::workers::alerts::scan(&state, now).await {
                tracing::warn!(error = %e, "alert scan failed");
            }
            if let Err(e) = crate::workers::alerts::daily_digest(&state, now).await {
                tracing::warn!(error = %e, "alert digest failed");
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The README's configuration example, read as a configuration file: every notice the code
    /// sends has its template there, and the `[sms]` keys it shows exist.
    #[test]
    fn the_readme_configures_every_sms_notice() {
        let readme = include_str!("../../../../README.md");
        let block = readme
            .split("```toml")
            .map(|b| b.split("```").next().unwrap_or(""))
            .find(|b| b.contains("[sms_templates]"))
            .expect("the README shows an SMS configuration");
        let uncommented: String = block
            .lines()
            .map(|l| l.strip_prefix("# ").filter(|l| l.starts_with("endpoint")).unwrap_or(l))
            .collect::<Vec<_>>()
            .join("\n");
        use figment::providers::{Format, Serialized, Toml};
        let config: crate::config::Config =
            figment::Figment::from(Serialized::defaults(crate::config::Config::default()))
                .merge(Toml::string(&uncommented))
                .extract()
                .expect("the README example parses");
        assert_eq!(config.sms.endpoint.as_deref(), Some("https://dysmsapi.aliyuncs.com"));
        let missing: Vec<&str> = sms_notice_keys().filter(|k| !config.sms_templates.contains_key(*k)).collect();
        assert!(missing.is_empty(), "README lacks sms_templates keys {missing:?}");
        let unknown: Vec<&String> =
            config.sms_templates.keys().filter(|k| !sms_notice_keys().any(|n| n == k.as_str())).collect();
        assert!(unknown.is_empty(), "README names keys no notice uses: {unknown:?}");
    }

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        assert_eq!(backoff_secs(1), 30);
        assert_eq!(backoff_secs(2), 60);
        assert_eq!(backoff_secs(5), 480);
        assert_eq!(backoff_secs(8), 3600);
        assert_eq!(backoff_secs(100), 3600);
        assert_eq!(backoff_secs(0), 30);
    }

    /// A log sink the test reads back.
    #[derive(Clone, Default)]
    struct Buffer(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().map_err(|_| std::io::Error::other("poisoned"))?.extend_from_slice(bytes);
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

    #[tokio::test]
    async fn the_log_gateway_never_writes_a_case_links_key() {
        let logs = Buffer::default();
        let subscriber = tracing_subscriber::fmt().with_writer(logs.clone()).with_ansi(false).finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        let body = "您的申请已受理，查看进度：http://127.0.0.1:8080/cases/BJ20251009123456?k=0a1b2c3d4e5f";
        LogGateway.send("13912345678", "case_contacted", &[], body).await.unwrap();
        let logged = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
        assert!(logged.contains("/cases/BJ20251009123456?k=***"), "{logged}");
        assert!(!logged.contains("0a1b2c3d4e5f") && !logged.contains("13912345678"), "{logged}");
    }
}
