//! The org tree: county (县) → township (乡镇) → village (村) → group (村民小组).
//!
//! Orgs are identified by statistical division codes, which nest by prefix: a village's
//! 12-digit code starts with its township's 9 digits. Groups extend their village's code with
//! three more digits. Scope checks are therefore prefix checks on codes.

use std::fmt;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// A level of the org tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OrgLevel {
    County,
    Township,
    Village,
    Group,
}

impl OrgLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::County => "county",
            Self::Township => "township",
            Self::Village => "village",
            Self::Group => "group",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "county" => Some(Self::County),
            "township" => Some(Self::Township),
            "village" => Some(Self::Village),
            "group" => Some(Self::Group),
            _ => None,
        }
    }

    /// 县 / 乡镇 / 村 / 村民小组
    pub fn label(self) -> &'static str {
        match self {
            Self::County => "县",
            Self::Township => "乡镇",
            Self::Village => "村（社区）",
            Self::Group => "村民小组",
        }
    }

    /// How many digits a code of this level has.
    pub fn code_len(self) -> usize {
        match self {
            Self::County => 6,
            Self::Township => 9,
            Self::Village => 12,
            Self::Group => 15,
        }
    }

    /// The level directly above, if any.
    pub fn parent(self) -> Option<Self> {
        match self {
            Self::County => None,
            Self::Township => Some(Self::County),
            Self::Village => Some(Self::Township),
            Self::Group => Some(Self::Village),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DivisionCodeError {
    #[error("区划代码只能由数字组成")]
    NotDigits,
    #[error("{level}的区划代码应为{expected}位")]
    WrongLength { level: &'static str, expected: usize },
    #[error("区划代码{code}不在上级{parent}之下")]
    NotUnderParent { code: String, parent: String },
}

/// A statistical division code of a known level.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct DivisionCode(String);

impl DivisionCode {
    pub fn parse(code: &str, level: OrgLevel) -> Result<Self, DivisionCodeError> {
        let code = code.trim();
        if code.is_empty() || !code.chars().all(|c| c.is_ascii_digit()) {
            return Err(DivisionCodeError::NotDigits);
        }
        if code.len() != level.code_len() {
            return Err(DivisionCodeError::WrongLength { level: level.label(), expected: level.code_len() });
        }
        Ok(Self(code.to_owned()))
    }

    /// Checks that this code sits directly below `parent`.
    pub fn check_parent(&self, parent: &str) -> Result<(), DivisionCodeError> {
        if self.0.starts_with(parent) && self.0.len() > parent.len() {
            Ok(())
        } else {
            Err(DivisionCodeError::NotUnderParent { code: self.0.clone(), parent: parent.to_owned() })
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DivisionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether the org `code` lies inside the subtree rooted at `root` (itself included).
pub fn is_within(code: &str, root: &str) -> bool {
    !root.is_empty() && code.starts_with(root)
}

/// The name people use: official names end in 村委会 / 居委会 (the committee), while villagers
/// say 南岔村 or 疏勒社区.
pub fn display_name(official: &str) -> &str {
    official
        .strip_suffix("委会")
        .filter(|n| n.ends_with('村'))
        .or_else(|| official.strip_suffix("居委会").filter(|n| n.ends_with("社区")))
        .unwrap_or(official)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn committee_suffixes_are_dropped_for_display() {
        assert_eq!(display_name("南岔村委会"), "南岔村");
        assert_eq!(display_name("疏勒社区居委会"), "疏勒社区");
        assert_eq!(display_name("渊泉镇"), "渊泉镇");
    }

    #[test]
    fn a_village_code_must_have_twelve_digits() {
        assert!(DivisionCode::parse("620922100001", OrgLevel::Village).is_ok());
        assert!(matches!(
            DivisionCode::parse("620922100", OrgLevel::Village),
            Err(DivisionCodeError::WrongLength { expected: 12, .. })
        ));
        assert_eq!(DivisionCode::parse("62092a", OrgLevel::County), Err(DivisionCodeError::NotDigits));
    }

    #[test]
    fn a_village_must_sit_under_its_township() {
        let v = DivisionCode::parse("620922100001", OrgLevel::Village);
        assert_eq!(v.as_ref().map(|c| c.check_parent("620922100").is_ok()), Ok(true));
        assert_eq!(v.map(|c| c.check_parent("620922101").is_ok()), Ok(false));
    }

    #[test]
    fn subtree_membership_is_by_prefix() {
        assert!(is_within("620922100001", "620922100"));
        assert!(is_within("620922100", "620922100"));
        assert!(!is_within("620922101001", "620922100"));
        assert!(!is_within("620922100", ""));
    }
}
