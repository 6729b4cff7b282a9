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

crate::stored_code!(OrgLevel);

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

/// One row of a division-code CSV (`code,name,level,parent_code`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DivisionRow {
    pub code: DivisionCode,
    pub name: String,
    pub level: OrgLevel,
    pub parent_code: Option<String>,
}

/// A problem with one row of a division-code CSV; `line` counts from 1 with the header as line 1.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("第{line}行：{message}")]
pub struct RowError {
    pub line: usize,
    pub message: String,
}

/// Parses a division-code CSV and checks it as a whole: known levels, code lengths, each parent
/// listed earlier in the file (or in `known_parents`, the orgs already loaded) and one level up.
/// Every problem is reported, not just the first.
pub fn parse_division_csv(text: &str, known_parents: &[(String, OrgLevel)]) -> Result<Vec<DivisionRow>, Vec<RowError>> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).trim(csv::Trim::All).from_reader(text.as_bytes());
    let mut seen: std::collections::HashMap<String, OrgLevel> = known_parents.iter().cloned().collect();
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    let headers: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(|s| s.trim_start_matches('\u{feff}').to_owned()).collect(),
        Err(e) => return Err(vec![RowError { line: 1, message: format!("无法读取表头：{e}") }]),
    };
    let column = |name: &str| headers.iter().position(|h| h == name);
    let (Some(ci), Some(ni), Some(li), Some(pi)) =
        (column("code"), column("name"), column("level"), column("parent_code"))
    else {
        return Err(vec![RowError { line: 1, message: "表头应为 code,name,level,parent_code".into() }]);
    };
    for (index, record) in reader.records().enumerate() {
        let line = index + 2;
        let mut fail = |message: String| errors.push(RowError { line, message });
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                fail(format!("格式错误：{e}"));
                continue;
            }
        };
        let field = |i: usize| record.get(i).unwrap_or("").to_owned();
        let Some(level) = OrgLevel::parse(&field(li)) else {
            fail(format!("级别“{}”无效，应为 county、township、village 或 group", field(li)));
            continue;
        };
        let code = match DivisionCode::parse(&field(ci), level) {
            Ok(c) => c,
            Err(e) => {
                fail(e.to_string());
                continue;
            }
        };
        let name = field(ni);
        if name.is_empty() {
            fail("名称不能为空".into());
            continue;
        }
        let parent = field(pi);
        let parent_code = match level.parent() {
            None => None,
            Some(parent_level) => {
                if seen.get(&parent) != Some(&parent_level) {
                    fail(format!("上级代码“{parent}”不是已列出的{}", parent_level.label()));
                    continue;
                }
                if let Err(e) = code.check_parent(&parent) {
                    fail(e.to_string());
                    continue;
                }
                Some(parent)
            }
        };
        if seen.insert(code.to_string(), level).is_some() && !known_parents.iter().any(|(c, _)| c == code.as_str()) {
            fail(format!("代码 {code} 重复出现"));
            continue;
        }
        rows.push(DivisionRow { code, name, level, parent_code });
    }
    if errors.is_empty() { Ok(rows) } else { Err(errors) }
}

#[cfg(test)]
mod csv_tests {
    use super::*;

    const GOOD: &str = "code,name,level,parent_code\n620922,瓜州县,county,6209\n620922100,渊泉镇,township,620922\n620922100200,南岔村委会,village,620922100\n";

    #[test]
    fn a_well_formed_file_is_read_in_order() {
        let rows = parse_division_csv(GOOD, &[]).unwrap_or_default();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].parent_code, None, "the county's parent (the prefecture) is not kept");
        assert_eq!(rows[2].parent_code.as_deref(), Some("620922100"));
    }

    #[test]
    fn every_bad_row_is_reported_with_its_line() {
        let text = "code,name,level,parent_code\n620922,瓜州县,county,\n62092210,坏镇,township,620922\n620922101200,孤村委会,village,620922101\n620922100,,township,620922\n";
        let errors = parse_division_csv(text, &[]).err().unwrap_or_default();
        assert_eq!(errors.iter().map(|e| e.line).collect::<Vec<_>>(), [3, 4, 5]);
    }

    #[test]
    fn parents_already_loaded_count() {
        let text = "code,name,level,parent_code\n620922100201,新村委会,village,620922100\n";
        let known = [("620922100".to_owned(), OrgLevel::Township)];
        assert!(parse_division_csv(text, &known).is_ok());
    }

    #[test]
    fn a_wrong_header_is_refused() {
        assert!(parse_division_csv("a,b\n1,2\n", &[]).is_err());
    }
}
