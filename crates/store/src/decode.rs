//! Reading stored codes and flags back into typed values at the storage boundary.
//!
//! Status, kind and phase codes are text columns decoded into the core's enums: row structs mark
//! them `#[sqlx(try_from = "String")]`, nullable ones `#[sqlx(try_from = "MaybeCode")]`, tuples
//! go through [`code`]. Yes/no columns are integers 0
//! or 1 on both engines (`INTEGER` on SQLite, `BIGINT` on PostgreSQL), which sqlx's `Any` driver
//! will not decode as `bool`: rows read them through [`Flag`] (`#[sqlx(try_from = "Flag")]`) and
//! writes bind `i64::from(b)`. Anything else stored is a [`StoreError::Corrupt`], never a
//! default.

use sqlx::any::{Any, AnyTypeInfo, AnyValueRef};
use sqlx::error::BoxDynError;
use sqlx::{Decode, Type};
use xiaowei_core::UnknownCode;

use crate::StoreError;

/// Decodes a code read outside a row struct (a tuple, a scalar).
pub(crate) fn code<T: TryFrom<String, Error = UnknownCode>>(stored: String) -> Result<T, StoreError> {
    T::try_from(stored).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// A stored 0 or 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flag(bool);

impl From<Flag> for bool {
    fn from(flag: Flag) -> Self {
        flag.0
    }
}

impl Type<Any> for Flag {
    fn type_info() -> AnyTypeInfo {
        <i64 as Type<Any>>::type_info()
    }

    fn compatible(ty: &AnyTypeInfo) -> bool {
        <i64 as Type<Any>>::compatible(ty)
    }
}

impl<'r> Decode<'r, Any> for Flag {
    fn decode(value: AnyValueRef<'r>) -> Result<Self, BoxDynError> {
        match <i64 as Decode<Any>>::decode(value)? {
            0 => Ok(Self(false)),
            1 => Ok(Self(true)),
            other => Err(format!("flag {other} is neither 0 nor 1").into()),
        }
    }
}

/// A nullable code column (a rating not yet given, a contact not yet made). sqlx cannot convert
/// into an `Option<T>` through `T`'s own conversion, so rows read the text through this and
/// convert it with `TryFrom<MaybeCode> for Option<T>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaybeCode(Option<String>);

impl<T: TryFrom<String, Error = UnknownCode>> TryFrom<MaybeCode> for Option<T> {
    type Error = UnknownCode;

    fn try_from(stored: MaybeCode) -> Result<Self, UnknownCode> {
        stored.0.map(T::try_from).transpose()
    }
}

impl Type<Any> for MaybeCode {
    fn type_info() -> AnyTypeInfo {
        <String as Type<Any>>::type_info()
    }

    fn compatible(ty: &AnyTypeInfo) -> bool {
        <String as Type<Any>>::compatible(ty)
    }
}

impl<'r> Decode<'r, Any> for MaybeCode {
    fn decode(value: AnyValueRef<'r>) -> Result<Self, BoxDynError> {
        Ok(Self(<Option<String> as Decode<Any>>::decode(value)?))
    }
}
