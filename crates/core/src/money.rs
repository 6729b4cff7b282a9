//! Money in integer fen (分). Never floats: amounts are parsed from text straight into fen.

use std::fmt;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::text::compact;

/// A non-negative amount of money in fen (1 元 = 100 分).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
pub struct Fen(i64);

/// Why a text is not an amount.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AmountError {
    #[error("金额不能为空")]
    Empty,
    #[error("金额“{0}”不是有效的数字")]
    NotANumber(String),
    #[error("金额不能为负数")]
    Negative,
    #[error("金额最多保留两位小数（到分）")]
    TooPrecise,
    #[error("金额过大")]
    TooLarge,
}

impl Fen {
    /// Builds an amount from fen; `None` when negative.
    pub fn new(fen: i64) -> Option<Self> {
        (fen >= 0).then_some(Self(fen))
    }

    /// Whole yuan.
    pub fn from_yuan(yuan: i64) -> Option<Self> {
        yuan.checked_mul(100).and_then(Self::new)
    }

    pub fn as_fen(self) -> i64 {
        self.0
    }

    /// Parses yuan as clerks type it: `1,234.50`, `600元`, `￥600`, full-width digits.
    pub fn parse_yuan(input: &str) -> Result<Self, AmountError> {
        let s = compact(input).replace([',', '，', '￥', '¥'], "");
        let s = s.strip_suffix('元').unwrap_or(&s);
        if s.is_empty() {
            return Err(AmountError::Empty);
        }
        if let Some(rest) = s.strip_prefix('-')
            && !rest.is_empty()
            && rest.chars().all(|c| c.is_ascii_digit() || c == '.')
        {
            return Err(AmountError::Negative);
        }
        let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
        let digits_only = |t: &str| t.chars().all(|c| c.is_ascii_digit());
        if whole.is_empty() && frac.is_empty() || !digits_only(whole) || !digits_only(frac) {
            return Err(AmountError::NotANumber(input.trim().to_owned()));
        }
        let frac = frac.trim_end_matches('0');
        if frac.len() > 2 {
            return Err(AmountError::TooPrecise);
        }
        let whole: i64 = if whole.is_empty() { 0 } else { whole.parse().map_err(|_| AmountError::TooLarge)? };
        let cents: i64 = format!("{frac:0<2}").parse().map_err(|_| AmountError::NotANumber(input.trim().to_owned()))?;
        whole.checked_mul(100).and_then(|w| w.checked_add(cents)).map(Self).ok_or(AmountError::TooLarge)
    }

    pub fn checked_add(self, other: Self) -> Option<Self> {
        self.0.checked_add(other.0).map(Self)
    }
}

/// Shown as yuan with thousands separators and two decimals: `1,234.50`.
impl fmt::Display for Fen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let yuan = self.0 / 100;
        let digits = yuan.to_string();
        let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                grouped.push(',');
            }
            grouped.push(c);
        }
        write!(f, "{grouped}.{:02}", self.0 % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn amounts_with_separators_and_units_are_parsed() {
        assert_eq!(Fen::parse_yuan("1,234.50"), Ok(Fen(123_450)));
        assert_eq!(Fen::parse_yuan("600元"), Ok(Fen(60_000)));
        assert_eq!(Fen::parse_yuan("￥ 600"), Ok(Fen(60_000)));
        assert_eq!(Fen::parse_yuan("６００．５"), Ok(Fen(60_050)));
        assert_eq!(Fen::parse_yuan(".5"), Ok(Fen(50)));
    }

    #[test]
    fn a_negative_amount_is_rejected() {
        assert_eq!(Fen::parse_yuan("-5"), Err(AmountError::Negative));
    }

    #[test]
    fn three_decimals_are_too_precise() {
        assert_eq!(Fen::parse_yuan("1.005"), Err(AmountError::TooPrecise));
    }

    #[test]
    fn text_is_not_an_amount() {
        assert!(matches!(Fen::parse_yuan("六百"), Err(AmountError::NotANumber(_))));
        assert!(matches!(Fen::parse_yuan("."), Err(AmountError::NotANumber(_))));
        assert_eq!(Fen::parse_yuan(""), Err(AmountError::Empty));
    }

    #[test]
    fn display_groups_thousands() {
        assert_eq!(Fen(123_456_789).to_string(), "1,234,567.89");
        assert_eq!(Fen(5).to_string(), "0.05");
    }

    proptest! {
        #[test]
        fn display_then_parse_round_trips(fen in 0i64..10_000_000_000_000) {
            prop_assert_eq!(Fen::parse_yuan(&Fen(fen).to_string()), Ok(Fen(fen)));
        }

        #[test]
        fn arbitrary_text_never_panics(s in "\\PC{0,20}") {
            let _ = Fen::parse_yuan(&s);
        }
    }
}
