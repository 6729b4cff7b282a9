//! Mainland mobile phone numbers: personal data, masked everywhere but for the handling officer.

use std::fmt;

use thiserror::Error;

use crate::text::compact;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PhoneError {
    #[error("手机号应为以1开头的11位数字")]
    Invalid,
}

/// An 11-digit mainland mobile number (`1[3-9]x xxxx xxxx`).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Phone(String);

impl Phone {
    /// Parses a number, tolerating spaces, dashes, full-width digits and a `+86` prefix.
    pub fn parse(input: &str) -> Result<Self, PhoneError> {
        let s = compact(input).replace('-', "");
        let s = s.strip_prefix("+86").or_else(|| s.strip_prefix("86").filter(|r| r.len() == 11)).unwrap_or(&s);
        let ok = s.len() == 11
            && s.chars().all(|c| c.is_ascii_digit())
            && s.starts_with('1')
            && matches!(s.as_bytes()[1], b'3'..=b'9');
        if ok { Ok(Self(s.to_owned())) } else { Err(PhoneError::Invalid) }
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// `138****5678`
    pub fn masked(&self) -> String {
        format!("{}****{}", &self.0[..3], &self.0[7..])
    }
}

impl fmt::Debug for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Phone({})", self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_mobile_number_with_country_code_and_dashes_is_accepted() {
        assert_eq!(Phone::parse("+86 138-0000-1234").map(|p| p.masked()), Ok("138****1234".to_owned()));
    }

    #[test]
    fn a_landline_is_rejected() {
        assert_eq!(Phone::parse("0937-5521234"), Err(PhoneError::Invalid));
        assert_eq!(Phone::parse("12000001234"), Err(PhoneError::Invalid));
    }

    proptest! {
        #[test]
        fn the_mask_hides_the_middle_four(n in 13_000_000_000u64..20_000_000_000) {
            let s = n.to_string();
            let masked = Phone::parse(&s).map(|p| p.masked()).unwrap_or_default();
            prop_assert_eq!(&masked[3..7], "****");
        }

        #[test]
        fn arbitrary_text_never_panics(s in "\\PC{0,20}") {
            let _ = Phone::parse(&s);
        }
    }
}
