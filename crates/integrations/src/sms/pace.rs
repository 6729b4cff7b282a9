//! How fast one server may call its SMS provider: at most `per_second` requests started each
//! second, spaced evenly, and at most `in_flight` unanswered at once. Every text of the server
//! (outbox deliveries and verification codes alike) takes a turn here before its request.
//!
//! The defaults are the providers' documented per-account limits for `SendSms`:
//! - Aliyun Dysmsapi 2017-05-25 `SendSms`: 5,000 requests per second per account
//!   (<https://help.aliyun.com/en/sms/developer-reference/api-dysmsapi-2017-05-25-sendsms>, "QPS
//!   limit", and the API's flow-control table in the same reference);
//! - Tencent Cloud SMS 2021-01-11 `SendSms`: 3,000 requests per second
//!   (<https://cloud.tencent.com/document/api/382/55981>, 默认接口请求频率限制：3000次/秒).
//!
//! The limit is per account, so an installation running several instances against one account
//! sets `[sms] max_per_second` to its share. The providers' per-number limits (Aliyun: 50 notices
//! a day of one template to one number; Tencent: one identical text to a number per 30 s) are
//! theirs to enforce: a refusal comes back as a throttling error and is retried later.

use std::time::Duration;

use tokio::sync::{Semaphore, SemaphorePermit};
use tokio::time::Instant;

use super::SmsProvider;

/// Requests in flight when the configuration names no number.
pub const DEFAULT_IN_FLIGHT: usize = 32;

impl SmsProvider {
    /// The provider's documented `SendSms` limit in requests per second; `None` for the log.
    pub fn documented_per_second(self) -> Option<u32> {
        match self {
            Self::Log => None,
            Self::Aliyun => Some(5_000),
            Self::Tencent => Some(3_000),
        }
    }
}

/// Turns for requests to one provider (see the module docs).
#[derive(Debug)]
pub struct Pace {
    /// Time between two request starts; zero when unlimited.
    spacing: Duration,
    /// The earliest start of the next request.
    next: std::sync::Mutex<Instant>,
    in_flight: Semaphore,
    per_second: Option<u32>,
    limit: usize,
}

/// A request's turn: hold it until the answer is in.
#[derive(Debug)]
pub struct Turn<'a> {
    _permit: SemaphorePermit<'a>,
}

impl Pace {
    /// At most `per_second` request starts a second (`None`: no rate limit) and `in_flight`
    /// requests at once (at least one).
    pub fn new(per_second: Option<u32>, in_flight: usize) -> Self {
        let spacing = per_second.filter(|n| *n > 0).map_or(Duration::ZERO, |n| Duration::from_secs(1) / n);
        let limit = in_flight.max(1);
        Self {
            spacing,
            next: std::sync::Mutex::new(Instant::now()),
            in_flight: Semaphore::new(limit),
            per_second: per_second.filter(|n| *n > 0),
            limit,
        }
    }

    /// Waits for a free slot and for this request's start time.
    pub async fn turn(&self) -> Turn<'_> {
        // The semaphore is never closed, so acquiring only waits.
        let permit = loop {
            if let Ok(permit) = self.in_flight.acquire().await {
                break permit;
            }
        };
        tokio::time::sleep_until(self.reserve(Instant::now())).await;
        Turn { _permit: permit }
    }

    /// Books the next start at or after `now` and returns it.
    fn reserve(&self, now: Instant) -> Instant {
        let mut next = self.next.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let start = (*next).max(now);
        *next = start + self.spacing;
        start
    }

    /// Request starts allowed per second, if limited.
    pub fn per_second(&self) -> Option<u32> {
        self.per_second
    }

    /// Requests allowed at once.
    pub fn in_flight(&self) -> usize {
        self.limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_are_spaced_by_the_rate_and_a_quiet_spell_saves_nothing_up() {
        let pace = Pace::new(Some(10), 100);
        let t0 = Instant::now();
        let starts: Vec<Duration> = (0..21).map(|_| pace.reserve(t0) - t0).collect();
        assert_eq!(starts[1], Duration::from_millis(100));
        assert_eq!(starts[20], Duration::from_secs(2), "21 starts at 10 a second span 2 s");
        let later = t0 + Duration::from_secs(60);
        assert_eq!(pace.reserve(later), later, "after a quiet minute the next request goes at once");
        assert_eq!(pace.reserve(later) - later, Duration::from_millis(100), "and no burst was saved up");
    }

    #[test]
    fn without_a_rate_every_start_is_now() {
        let pace = Pace::new(None, 4);
        let t0 = Instant::now();
        assert!((0..100).all(|_| pace.reserve(t0) == t0));
        assert_eq!(pace.per_second(), None);
        assert_eq!(Pace::new(Some(0), 0).in_flight(), 1, "zero is read as the least that works");
    }

    #[tokio::test]
    async fn no_more_than_in_flight_requests_at_once() {
        let pace = std::sync::Arc::new(Pace::new(None, 2));
        let first = pace.turn().await;
        let _second = pace.turn().await;
        let waiting = {
            let pace = std::sync::Arc::clone(&pace);
            tokio::spawn(async move {
                let _third = pace.turn().await;
            })
        };
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        assert!(!waiting.is_finished(), "a third request waits for an answer");
        drop(first);
        waiting.await.expect("the third gets its turn");
    }

    #[test]
    fn the_documented_limits_are_the_defaults() {
        assert_eq!(SmsProvider::Aliyun.documented_per_second(), Some(5_000));
        assert_eq!(SmsProvider::Tencent.documented_per_second(), Some(3_000));
        assert_eq!(SmsProvider::Log.documented_per_second(), None);
    }
}
