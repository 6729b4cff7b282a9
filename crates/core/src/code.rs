//! Codes stored as text, read back into the core's enums, and the status change a
//! compare-and-set takes.
//!
//! Every enum whose code crosses the storage boundary implements `TryFrom<String>` and `FromStr`
//! through [`stored_code!`](crate::stored_code): a stored code that names no variant is an
//! [`UnknownCode`], never a silent default. A [`Transition`] is a `from → to` pair that only a
//! state machine in this crate can build, so a storage write can only be asked for a change the
//! rules allow.

use thiserror::Error;

/// A stored code that names no variant of the enum it should decode into.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("unknown {what} code {value:?}")]
pub struct UnknownCode {
    /// The enum's name, for the log.
    pub what: &'static str,
    /// The code as stored.
    pub value: String,
}

/// A status change a state machine has allowed: `from` is what the record must still be in (the
/// compare of a compare-and-set), `to` what it becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Transition<S> {
    from: S,
    to: S,
}

impl<S: Copy> Transition<S> {
    /// Only the state machines of this crate build transitions.
    pub(crate) fn new(from: S, to: S) -> Self {
        Self { from, to }
    }

    pub fn from(self) -> S {
        self.from
    }

    pub fn to(self) -> S {
        self.to
    }
}

/// Implements `TryFrom<String>` and `FromStr` for an enum with `parse(&str) -> Option<Self>`.
#[macro_export]
macro_rules! stored_code {
    ($($ty:ty),+ $(,)?) => {$(
        impl ::core::convert::TryFrom<::std::string::String> for $ty {
            type Error = $crate::code::UnknownCode;

            fn try_from(value: ::std::string::String) -> ::core::result::Result<Self, Self::Error> {
                <$ty>::parse(&value).ok_or_else(|| $crate::code::UnknownCode { what: stringify!($ty), value })
            }
        }

        impl ::core::str::FromStr for $ty {
            type Err = $crate::code::UnknownCode;

            fn from_str(value: &str) -> ::core::result::Result<Self, Self::Err> {
                <$ty>::parse(value)
                    .ok_or_else(|| $crate::code::UnknownCode { what: stringify!($ty), value: value.to_owned() })
            }
        }
    )+};
}

#[cfg(test)]
mod tests {
    use super::UnknownCode;
    use crate::alert::AlertStatus;

    #[test]
    fn a_known_code_decodes_and_an_unknown_one_is_an_error() {
        assert_eq!(AlertStatus::try_from("looked_at".to_owned()), Ok(AlertStatus::LookedAt));
        assert_eq!("resolved".parse::<AlertStatus>(), Ok(AlertStatus::Resolved));
        assert_eq!(
            AlertStatus::try_from("archived".to_owned()),
            Err(UnknownCode { what: "AlertStatus", value: "archived".into() })
        );
    }
}
