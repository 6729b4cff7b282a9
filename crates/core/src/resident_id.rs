//! 身份证号: the 18-character resident ID number (GB 11643-1999).
//!
//! A [`ResidentId`] can only be built from a string with a valid check digit and a real birth
//! date, so code holding one never re-checks. Its `Debug` output is masked: an ID never leaks
//! into logs by accident.

use std::fmt;

use jiff::civil::Date;
use thiserror::Error;

use crate::text::compact;

/// Why a string is not a resident ID number. Messages are shown to villagers and clerks.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ResidentIdError {
    #[error("身份证号应为18位，当前为{0}位")]
    WrongLength(usize),
    #[error("身份证号前17位应为数字，最后一位为数字或X")]
    BadCharacter,
    #[error("身份证号中的出生日期无效")]
    BadBirthDate,
    #[error("身份证号校验位不正确，请核对")]
    BadCheckDigit,
}

/// A valid 18-character resident ID number, stored upper-case.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ResidentId(String);

const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK_CHARS: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];

/// The GB 11643 check character for the first 17 digits.
pub fn check_char(first17: &[u32; 17]) -> char {
    let sum: u32 = first17.iter().zip(WEIGHTS).map(|(d, w)| d * w).sum();
    CHECK_CHARS[(sum % 11) as usize]
}

impl ResidentId {
    /// Parses an ID number, tolerating full-width characters, spaces and a lower-case `x`.
    pub fn parse(input: &str) -> Result<Self, ResidentIdError> {
        let s = compact(input).to_ascii_uppercase();
        let count = s.chars().count();
        if count != 18 {
            return Err(ResidentIdError::WrongLength(count));
        }
        let mut digits = [0u32; 17];
        for (slot, c) in digits.iter_mut().zip(s.chars()) {
            *slot = c.to_digit(10).ok_or(ResidentIdError::BadCharacter)?;
        }
        let last = s.chars().last().ok_or(ResidentIdError::BadCharacter)?;
        if !(last.is_ascii_digit() || last == 'X') {
            return Err(ResidentIdError::BadCharacter);
        }
        let number = |range: std::ops::Range<usize>| digits[range].iter().fold(0i32, |acc, d| acc * 10 + *d as i32);
        let (year, month, day) = (number(6..10), number(10..12), number(12..14));
        let valid_date = i16::try_from(year).ok().zip(i8::try_from(month).ok()).zip(i8::try_from(day).ok());
        match valid_date {
            Some(((y, m), d)) if (1900..=2100).contains(&y) && Date::new(y, m, d).is_ok() => {}
            _ => return Err(ResidentIdError::BadBirthDate),
        }
        if check_char(&digits) != last {
            return Err(ResidentIdError::BadCheckDigit);
        }
        Ok(Self(s))
    }

    /// The full number. Only for encryption, hashing and authorised staff views.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The birth date encoded in the number.
    pub fn birth_date(&self) -> Date {
        let n = |r: std::ops::Range<usize>| self.0[r].parse::<i16>().unwrap_or(1);
        Date::new(n(6..10), n(10..12) as i8, n(12..14) as i8).unwrap_or(Date::constant(1900, 1, 1))
    }

    /// The public form: region code, eight stars, last four (`620922********1234`).
    pub fn masked(&self) -> String {
        format!("{}********{}", &self.0[..6], &self.0[14..])
    }
}

impl fmt::Debug for ResidentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ResidentId({})", self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Builds a valid ID from region, date and sequence.
    fn make(region: &str, date: &str, seq: &str) -> String {
        let body = format!("{region}{date}{seq}");
        let mut digits = [0u32; 17];
        for (slot, c) in digits.iter_mut().zip(body.chars()) {
            *slot = c.to_digit(10).unwrap_or(0);
        }
        format!("{body}{}", check_char(&digits))
    }

    #[test]
    fn a_well_known_valid_id_is_accepted() {
        // The published GB 11643 example.
        assert!(ResidentId::parse("11010519491231002X").is_ok());
    }

    #[test]
    fn a_lower_case_x_and_full_width_digits_are_accepted() {
        let id = ResidentId::parse("１１０１０５１９４９１２３１００２x").map(|i| i.expose().to_owned());
        assert_eq!(id, Ok("11010519491231002X".to_owned()));
    }

    #[test]
    fn an_id_with_a_wrong_check_digit_is_rejected() {
        assert_eq!(ResidentId::parse("110105194912310021"), Err(ResidentIdError::BadCheckDigit));
    }

    #[test]
    fn an_id_of_the_wrong_length_is_rejected() {
        assert_eq!(ResidentId::parse("12345"), Err(ResidentIdError::WrongLength(5)));
    }

    #[test]
    fn an_id_with_letters_inside_is_rejected() {
        assert_eq!(ResidentId::parse("1101051949123100AX"), Err(ResidentIdError::BadCharacter));
    }

    #[test]
    fn an_id_born_on_february_30th_is_rejected() {
        let id = make("620922", "19900230", "123");
        assert_eq!(ResidentId::parse(&id), Err(ResidentIdError::BadBirthDate));
    }

    #[test]
    fn the_mask_keeps_region_and_last_four() {
        let id = make("620922", "19800101", "123");
        let parsed = ResidentId::parse(&id).map(|i| i.masked());
        assert_eq!(parsed, Ok(format!("620922********{}", &id[14..])));
    }

    #[test]
    fn debug_output_is_masked() {
        let id = make("620922", "19800101", "123");
        let shown = ResidentId::parse(&id).map(|i| format!("{i:?}")).unwrap_or_default();
        assert!(!shown.contains("19800101"));
    }

    #[test]
    fn the_birth_date_is_read_from_the_number() {
        let id = make("620922", "19520229", "456");
        let date = ResidentId::parse(&id).map(|i| i.birth_date());
        assert_eq!(date, Ok(Date::constant(1952, 2, 29)));
    }

    proptest! {
        #[test]
        fn every_generated_valid_id_round_trips(year in 1900i16..2100, month in 1i8..=12, day in 1i8..=28, seq in 0u32..1000) {
            let id = make("620922", &format!("{year:04}{month:02}{day:02}"), &format!("{seq:03}"));
            let parsed = ResidentId::parse(&id);
            prop_assert_eq!(parsed.as_ref().map(|i| i.expose().to_owned()), Ok(id.clone()));
        }

        #[test]
        fn the_mask_never_reveals_the_middle_digits(year in 1900i16..2100, month in 1i8..=12, day in 1i8..=28, seq in 0u32..1000) {
            let id = make("620922", &format!("{year:04}{month:02}{day:02}"), &format!("{seq:03}"));
            let masked = ResidentId::parse(&id).map(|i| i.masked()).unwrap_or_default();
            prop_assert_eq!(masked.len(), 18);
            prop_assert_eq!(&masked[6..14], "********");
            prop_assert!(!masked.contains(&id[6..14]));
        }

        #[test]
        fn changing_one_digit_is_always_detected(pos in 0usize..17, delta in 1u32..10) {
            let id = make("620922", "19800101", "123");
            let mut chars: Vec<char> = id.chars().collect();
            let d = chars[pos].to_digit(10).unwrap_or(0);
            chars[pos] = char::from_digit((d + delta) % 10, 10).unwrap_or('0');
            let altered: String = chars.into_iter().collect();
            prop_assert!(ResidentId::parse(&altered).is_err());
        }

        #[test]
        fn arbitrary_text_never_panics(s in "\\PC{0,30}") {
            let _ = ResidentId::parse(&s);
        }
    }
}
