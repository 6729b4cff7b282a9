//! The text-message gateway the state holds: the [`SmsGateway`] trait every sender implements (a
//! real provider in `workers::notify`, the development log here, fakes in tests) and its errors.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use xiaowei_core::Phone;

/// Why a gateway did not deliver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GatewayError {
    /// Try again later (timeout, 5xx, throttling).
    Transient(String),
    /// The provider refused the message for good (template, number, signature).
    Rejected(String),
}

pub type GatewayFuture<'a> = Pin<Box<dyn Future<Output = Result<String, GatewayError>> + Send + 'a>>;

/// Whatever sends a text: a real provider, the development log, or a test fake. Returns the
/// provider's message id.
pub trait SmsGateway: Send + Sync {
    fn send<'a>(
        &'a self,
        phone: &'a str,
        notice: &'a str,
        params: &'a [(String, String)],
        body: &'a str,
    ) -> GatewayFuture<'a>;

    /// Whether texts reach real phones. The development log gateway's do not, so a verification
    /// code it "sends" is shown on the page instead (see `app::phones`).
    fn reaches_phones(&self) -> bool {
        true
    }

    /// Sends this gateway may start per second, if it is limited.
    fn per_second(&self) -> Option<u32> {
        None
    }

    /// Sends this gateway may have awaiting an answer at once.
    fn in_flight(&self) -> usize {
        xiaowei_integrations::sms::DEFAULT_IN_FLIGHT
    }
}

pub type SharedGateway = Arc<dyn SmsGateway>;

/// A gateway that only logs (development): the masked phone and the text. Texts about messages
/// (留言) log no phone at all, so that a reporter's number never reaches the log.
pub struct LogGateway;

impl SmsGateway for LogGateway {
    fn reaches_phones(&self) -> bool {
        false
    }

    fn send<'a>(
        &'a self,
        phone: &'a str,
        notice: &'a str,
        _: &'a [(String, String)],
        body: &'a str,
    ) -> GatewayFuture<'a> {
        Box::pin(async move {
            // A verification code may be a reporter's: no phone either.
            let masked = if notice.starts_with("message_") || notice == xiaowei_core::phone_proof::CODE_NOTICE {
                String::from("（不记录）")
            } else {
                Phone::parse(phone).map(|p| p.masked()).unwrap_or_default()
            };
            // The log keeps the text but not the key of its case link.
            let body = xiaowei_core::text::redact_link_keys(body);
            tracing::info!(phone = %masked, notice, %body, "text (log only)");
            Ok(format!("log-{:012x}", rand::random::<u64>() >> 16))
        })
    }
}
