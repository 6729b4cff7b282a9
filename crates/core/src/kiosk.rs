//! 触摸终端 (kiosk terminals) in the township service halls: how long a terminal waits without a
//! touch before it wipes the screen, how long it warns first, when it counts as online, and the
//! heartbeat it reports. Pure rules; the server stores terminals and serves their pages.

use std::fmt;

/// How long a one-time enrolment link stays valid.
pub const ENROL_VALID_SECS: i64 = 7 * 86_400;
/// A terminal heard from within this many seconds is online; it beats every 30 seconds.
pub const ONLINE_WINDOW_SECS: i64 = 90;
/// The heartbeat period the terminal's script uses.
pub const HEARTBEAT_SECS: i64 = 30;

/// Whether a terminal last heard from at `last_seen` counts as online at `now`.
pub fn is_online(last_seen: Option<i64>, now: i64) -> bool {
    last_seen.is_some_and(|seen| seen <= now + 5 && now - seen <= ONLINE_WINDOW_SECS)
}

/// Seconds without a touch after which a terminal returns to its home screen and forgets every
/// personal detail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdleSeconds(i64);

impl IdleSeconds {
    pub const MIN: i64 = 15;
    pub const MAX: i64 = 600;
    pub const DEFAULT: Self = Self(60);

    /// Parses what an admin typed; empty means the default.
    pub fn parse(text: &str) -> Result<Self, KioskError> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(Self::DEFAULT);
        }
        let value: i64 = text.parse().map_err(|_| KioskError::IdleSeconds)?;
        Self::new(value).ok_or(KioskError::IdleSeconds)
    }

    pub fn new(value: i64) -> Option<Self> {
        (Self::MIN..=Self::MAX).contains(&value).then_some(Self(value))
    }

    pub fn get(self) -> i64 {
        self.0
    }

    /// How many of the last seconds show a countdown with a 继续使用 button: a third of the
    /// idle time, at least 5 and at most 15 seconds.
    pub fn countdown(self) -> i64 {
        (self.0 / 3).clamp(5, 15)
    }
}

/// What a terminal reports every [`HEARTBEAT_SECS`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heartbeat {
    /// The page-script version the terminal runs.
    pub version: String,
    /// Screen size as `WIDTHxHEIGHT`, e.g. `1080x1920`.
    pub screen: String,
    /// The last script error on the terminal, shortened; `None` when there was none.
    pub last_error: Option<String>,
}

/// Longest script error kept, in characters.
const MAX_ERROR_CHARS: usize = 300;

impl Heartbeat {
    pub fn parse(version: &str, screen: &str, last_error: &str) -> Result<Self, KioskError> {
        let version = version.trim();
        if version.is_empty()
            || version.len() > 64
            || !version.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-+".contains(&b))
        {
            return Err(KioskError::Version);
        }
        let screen = screen.trim();
        let valid_side = |s: &str| (2..=5).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit());
        match screen.split_once('x') {
            Some((w, h)) if valid_side(w) && valid_side(h) => {}
            _ => return Err(KioskError::Screen),
        }
        let error: String =
            last_error.chars().map(|c| if c.is_control() { ' ' } else { c }).take(MAX_ERROR_CHARS).collect();
        let error = error.trim();
        Ok(Self {
            version: version.to_owned(),
            screen: screen.to_owned(),
            last_error: (!error.is_empty()).then(|| error.to_owned()),
        })
    }
}

/// Why a kiosk setting or heartbeat was refused; the text names the field in Chinese.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KioskError {
    IdleSeconds,
    Version,
    Screen,
}

impl fmt::Display for KioskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::IdleSeconds => {
                write!(f, "无操作返回时间：请填写{}至{}之间的秒数", IdleSeconds::MIN, IdleSeconds::MAX)
            }
            Self::Version => f.write_str("版本：格式不正确"),
            Self::Screen => f.write_str("屏幕：应为“宽x高”，如 1080x1920"),
        }
    }
}

impl std::error::Error for KioskError {}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_terminal_heard_from_within_ninety_seconds_is_online() {
        assert!(is_online(Some(1000), 1000));
        assert!(is_online(Some(1000), 1090));
        assert!(!is_online(Some(1000), 1091));
        assert!(!is_online(None, 1000), "never heard from");
        assert!(!is_online(Some(2000), 1000), "a time far in the future is not trusted");
    }

    #[test]
    fn idle_seconds_default_to_sixty_and_stay_within_bounds() {
        assert_eq!(IdleSeconds::parse("").unwrap(), IdleSeconds::DEFAULT);
        assert_eq!(IdleSeconds::parse(" 90 ").unwrap().get(), 90);
        for bad in ["14", "601", "-5", "一分钟", "60.5"] {
            assert_eq!(IdleSeconds::parse(bad), Err(KioskError::IdleSeconds), "{bad}");
        }
        assert!(KioskError::IdleSeconds.to_string().starts_with("无操作返回时间"));
    }

    #[test]
    fn the_countdown_is_a_third_of_the_idle_time_between_five_and_fifteen_seconds() {
        assert_eq!(IdleSeconds::DEFAULT.countdown(), 15);
        assert_eq!(IdleSeconds::new(15).unwrap().countdown(), 5);
        assert_eq!(IdleSeconds::new(30).unwrap().countdown(), 10);
        assert_eq!(IdleSeconds::new(600).unwrap().countdown(), 15);
    }

    #[test]
    fn a_heartbeat_is_checked_and_its_error_shortened() {
        let beat = Heartbeat::parse("0.1.0-3fa2b1", "1080x1920", "").unwrap();
        assert_eq!((beat.version.as_str(), beat.screen.as_str(), beat.last_error), ("0.1.0-3fa2b1", "1080x1920", None));
        let long = "x".repeat(1000);
        let beat = Heartbeat::parse("1", "1920x1080", &format!("TypeError:\n{long}")).unwrap();
        let error = beat.last_error.unwrap();
        assert!(error.starts_with("TypeError: x") && error.chars().count() == MAX_ERROR_CHARS);
        assert_eq!(Heartbeat::parse("", "1080x1920", ""), Err(KioskError::Version));
        assert_eq!(Heartbeat::parse("1<script>", "1080x1920", ""), Err(KioskError::Version));
        for bad in ["1080*1920", "x1920", "1080x", "1080x1920x1", "108000x1"] {
            assert_eq!(Heartbeat::parse("1", bad, ""), Err(KioskError::Screen), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn any_idle_time_in_bounds_warns_before_it_ends(value in IdleSeconds::MIN..=IdleSeconds::MAX) {
            let idle = IdleSeconds::new(value).unwrap();
            prop_assert!(idle.countdown() < idle.get());
            prop_assert_eq!(IdleSeconds::parse(&value.to_string()).unwrap(), idle);
        }

        #[test]
        fn a_kept_error_never_holds_control_characters(text in "\\PC{0,400}[\n\r\t]{0,3}") {
            let beat = Heartbeat::parse("1", "800x600", &text).unwrap();
            if let Some(e) = beat.last_error {
                prop_assert!(!e.chars().any(char::is_control) && e.chars().count() <= MAX_ERROR_CHARS);
            }
        }
    }
}
