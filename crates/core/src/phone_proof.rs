//! Proving a phone by SMS code before a public filing: the code's shape and life, how many
//! tries it allows, the sending quotas per phone and per client, and how long a proven phone is
//! remembered. A filing from a browser goes under a proven phone; a WeChat follower signed in
//! through the account, a hall officer filing at a terminal (代办) and an integrator's hotline
//! vouch for the phone themselves.

use std::fmt;

/// Digits in a code.
pub const CODE_LEN: usize = 6;
/// The notice key (and SMS template key) of a verification code.
pub const CODE_NOTICE: &str = "phone_code";
/// Seconds a code may be used after it was sent.
pub const CODE_SECS: i64 = 300;
/// Wrong codes before the code is spent and a new one must be asked for.
pub const MAX_TRIES: i64 = 5;
/// Seconds a browser stays proven after the code matched.
pub const PROVEN_SECS: i64 = 7 * 86_400;
/// Seconds a hall terminal stays proven: the next villager must not file under this phone.
pub const KIOSK_PROVEN_SECS: i64 = 600;

/// A sending quota: at most `max` codes in `window` seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    pub window: i64,
    pub max: i64,
    /// The Chinese answer when the quota is used up.
    pub refusal: &'static str,
}

/// Codes one phone may be sent: one a minute, five an hour, ten a day.
pub const PER_PHONE: [Quota; 3] = [
    Quota { window: 60, max: 1, refusal: "验证码已发送，请1分钟后再重新获取" },
    Quota { window: 3600, max: 5, refusal: "该手机号获取验证码过于频繁，请1小时后再试" },
    Quota { window: 86_400, max: 10, refusal: "该手机号今日获取验证码次数已达上限，请明天再试" },
];

/// Codes one client (address or terminal) may ask for, whatever the phones: twenty an hour.
pub const PER_CLIENT: Quota =
    Quota { window: 3600, max: 20, refusal: "本设备获取验证码过于频繁，请1小时后再试" };

impl Quota {
    /// Whether a request is within the quota, given how many were made in the window before it.
    pub fn allows(&self, earlier_in_window: i64) -> bool {
        earlier_in_window < self.max
    }
}

/// A six-digit code, drawn from a random number. Kept out of logs.
#[derive(Clone, PartialEq, Eq)]
pub struct Code(String);

impl Code {
    /// The code for a random draw (uniform enough: the draw is reduced modulo 10⁶ from 64 bits).
    pub fn from_draw(draw: u64) -> Self {
        Self(format!("{:0width$}", draw % 1_000_000, width = CODE_LEN))
    }

    /// What a person typed, if it has the shape of a code (full-width digits and spaces allowed).
    pub fn parse(typed: &str) -> Option<Self> {
        let digits = crate::text::compact(typed);
        (digits.len() == CODE_LEN && digits.chars().all(|c| c.is_ascii_digit())).then_some(Self(digits))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Code(******)")
    }
}

/// A sent code as stored: when it was sent, how many wrong tries it has had, whether it matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sent {
    pub sent_at: i64,
    pub tries: i64,
    pub proven: bool,
}

/// Why a typed code does not prove the phone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// More than five minutes passed.
    Expired,
    /// Five wrong tries were used.
    Spent,
    /// It was used already.
    Used,
    /// Wrong; this many tries remain.
    Wrong { left: i64 },
}

impl Refused {
    /// The answer a person reads, naming the field.
    pub fn message(&self) -> String {
        match self {
            Self::Expired => "短信验证码：已过期（5分钟内有效），请重新获取".into(),
            Self::Spent => "短信验证码：错误次数过多，请重新获取".into(),
            Self::Used => "短信验证码：已使用，请重新获取".into(),
            Self::Wrong { left } => format!("短信验证码：不正确，还可以再试{left}次"),
        }
    }
}

/// Judges one try of a code at `now`, `matches` telling whether the typed code is the sent one.
/// A wrong try counts; the fifth wrong try spends the code.
pub fn judge(sent: Sent, matches: bool, now: i64) -> Result<(), Refused> {
    if sent.proven {
        return Err(Refused::Used);
    }
    if now > sent.sent_at + CODE_SECS {
        return Err(Refused::Expired);
    }
    if sent.tries >= MAX_TRIES {
        return Err(Refused::Spent);
    }
    if matches {
        Ok(())
    } else {
        let left = MAX_TRIES - sent.tries - 1;
        Err(if left == 0 { Refused::Spent } else { Refused::Wrong { left } })
    }
}

/// The text of the code, as the log provider shows it and as the provider's template reads.
pub fn text(code: &Code) -> String {
    format!("您的验证码为{}，5分钟内有效，仅用于在民生监督平台验证手机号。如非本人操作，请忽略。", code.expose())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sent() -> Sent {
        Sent { sent_at: 1_000, tries: 0, proven: false }
    }

    #[test]
    fn the_right_code_within_five_minutes_proves_the_phone() {
        assert_eq!(judge(sent(), true, 1_000 + CODE_SECS), Ok(()));
    }

    #[test]
    fn a_code_after_five_minutes_is_expired_even_if_right() {
        assert_eq!(judge(sent(), true, 1_001 + CODE_SECS), Err(Refused::Expired));
    }

    #[test]
    fn five_wrong_tries_spend_the_code() {
        let mut s = sent();
        for left in (1..MAX_TRIES).rev() {
            assert_eq!(judge(s, false, 1_010), Err(Refused::Wrong { left }));
            s.tries += 1;
        }
        assert_eq!(judge(s, false, 1_010), Err(Refused::Spent));
        s.tries += 1;
        assert_eq!(judge(s, true, 1_010), Err(Refused::Spent), "the right code no longer helps");
    }

    #[test]
    fn a_used_code_cannot_prove_again() {
        assert_eq!(judge(Sent { proven: true, ..sent() }, true, 1_010), Err(Refused::Used));
    }

    #[test]
    fn typed_codes_tolerate_spaces_and_full_width_digits() {
        assert_eq!(Code::parse(" 12 34 56 ").map(|c| c.expose().to_owned()), Some("123456".into()));
        assert_eq!(Code::parse("１２３４５６").map(|c| c.expose().to_owned()), Some("123456".into()));
        assert_eq!(Code::parse("12345"), None);
        assert_eq!(Code::parse("12345a"), None);
    }

    #[test]
    fn the_per_phone_quota_allows_one_a_minute() {
        assert!(PER_PHONE[0].allows(0));
        assert!(!PER_PHONE[0].allows(1));
        assert!(PER_PHONE[2].allows(9));
        assert!(!PER_PHONE[2].allows(10));
    }

    #[test]
    fn a_code_is_never_shown_in_debug_output() {
        assert_eq!(format!("{:?}", Code::from_draw(123_456)), "Code(******)");
    }

    proptest! {
        #[test]
        fn every_draw_gives_six_digits(draw in any::<u64>()) {
            let code = Code::from_draw(draw);
            prop_assert_eq!(code.expose().len(), CODE_LEN);
            prop_assert!(Code::parse(code.expose()).is_some());
        }

        #[test]
        fn a_wrong_code_never_proves(tries in 0..10i64, at in 0..1_000i64) {
            let s = Sent { sent_at: 0, tries, proven: false };
            prop_assert!(judge(s, false, at).is_err());
        }
    }
}
