//! The development provider: writes each message to the log (number masked) and keeps the last
//! few in memory so tests can see what would have been sent. Never contacts anyone.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use super::{SmsMessage, SmsReceipt, mask_phone};

/// How many sent messages [`LogSms::sent`] remembers.
const REMEMBERED: usize = 100;

/// Logs messages instead of sending them.
#[derive(Debug, Default)]
pub struct LogSms {
    counter: AtomicU64,
    recent: Mutex<VecDeque<SmsMessage>>,
}

impl LogSms {
    pub fn new() -> Self {
        Self::default()
    }

    pub(super) fn send(&self, message: &SmsMessage) -> SmsReceipt {
        let n = self.counter.fetch_add(1, Ordering::Relaxed) + 1;
        let id = format!("log-{}-{n}", jiff::Timestamp::now().as_millisecond());
        tracing::info!(
            phone = %mask_phone(&message.phone),
            template = %message.template_code,
            params = ?message.params,
            id = %id,
            "sms (log provider, not sent)"
        );
        let mut recent = self.recent.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if recent.len() == REMEMBERED {
            recent.pop_front();
        }
        recent.push_back(message.clone());
        SmsReceipt { provider_message_id: id }
    }

    /// The most recent messages, oldest first (at most 100).
    pub fn sent(&self) -> Vec<SmsMessage> {
        self.recent.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).iter().cloned().collect()
    }
}
