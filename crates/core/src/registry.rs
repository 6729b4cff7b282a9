//! Registries (比对库) that rosters are screened against: deaths, the public payroll (财政供养人员),
//! village cadres and their declared close relatives, the household register, vehicles and
//! businesses. This module reads a registry file's grid (the same tolerant reading as rosters:
//! title rows, header spellings, full-width digits) and checks every row; reading the bytes and
//! sealing the ID numbers are the caller's job.

use std::collections::HashMap;

use jiff::civil::Date;
use thiserror::Error;

use crate::resident_id::ResidentId;
use crate::roster::{CellError, Header, locate_header};
use crate::text::compact;

/// Which registry a file or record belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Deserialize)]
#[serde(try_from = "String")]
pub enum RegistryKind {
    /// 死亡人员: ID, name, date of death.
    Deaths,
    /// 财政供养人员: people paid from the public budget.
    Payroll,
    /// 村干部及近亲属: cadres (relation 本人) and their declared close relatives, by village.
    Cadres,
    /// 户籍: household number and members.
    Households,
    /// 车辆: owner, type, registration date.
    Vehicles,
    /// 市场主体: legal representatives and shareholders.
    Businesses,
}

impl RegistryKind {
    pub const ALL: [RegistryKind; 6] =
        [Self::Deaths, Self::Payroll, Self::Cadres, Self::Households, Self::Vehicles, Self::Businesses];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Deaths => "deaths",
            Self::Payroll => "payroll",
            Self::Cadres => "cadres",
            Self::Households => "households",
            Self::Vehicles => "vehicles",
            Self::Businesses => "businesses",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s.trim())
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Deaths => "死亡人员",
            Self::Payroll => "财政供养人员",
            Self::Cadres => "村干部及近亲属",
            Self::Households => "户籍登记",
            Self::Vehicles => "车辆登记",
            Self::Businesses => "市场主体登记",
        }
    }

    /// The columns a file of this kind must carry besides 姓名 and 身份证号.
    pub fn required(self) -> &'static [Field] {
        match self {
            Self::Deaths => &[Field::Date],
            Self::Payroll | Self::Vehicles => &[],
            Self::Cadres => &[Field::Village, Field::Relation],
            Self::Households => &[Field::Household],
            Self::Businesses => &[Field::Detail],
        }
    }

    /// What the detail and date columns mean for this kind, for headers and evidence.
    pub fn detail_label(self) -> &'static str {
        match self {
            Self::Payroll => "工作单位",
            Self::Cadres => "干部姓名",
            Self::Vehicles => "车辆类型",
            Self::Businesses => "企业名称",
            Self::Deaths | Self::Households => "说明",
        }
    }
}

crate::stored_code!(RegistryKind);

/// A column a registry file may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    Name,
    ResidentId,
    /// 死亡日期 / 登记日期
    Date,
    /// 村代码 (12-digit division code)
    Village,
    /// 户号
    Household,
    /// 人口数 (members the register declares for the household)
    Members,
    /// 关系 (cadres) or 身份 (businesses)
    Relation,
    /// 工作单位 / 干部姓名 / 车辆类型 / 企业名称
    Detail,
}

impl Field {
    pub fn label(self) -> &'static str {
        match self {
            Self::Name => "姓名",
            Self::ResidentId => "身份证号",
            Self::Date => "日期",
            Self::Village => "村代码",
            Self::Household => "户号",
            Self::Members => "人口数",
            Self::Relation => "关系",
            Self::Detail => "说明",
        }
    }
}

/// Maps a header cell to a field, tolerating the usual spellings.
pub fn field_for_header(header: &str) -> Option<Field> {
    let h = compact(header).replace(['(', ')', '（', '）'], "");
    match h.as_str() {
        "姓名" | "户主姓名" | "车主姓名" | "人员姓名" | "法定代表人" | "股东姓名" => {
            Some(Field::Name)
        }
        "身份证号" | "身份证号码" | "公民身份号码" | "身份证" | "证件号码" => {
            Some(Field::ResidentId)
        }
        "死亡日期" | "死亡时间" | "登记日期" | "注册日期" | "初次登记日期" => Some(Field::Date),
        "村代码" | "所在村代码" | "村级代码" | "区划代码" => Some(Field::Village),
        "户号" | "户编号" | "户口簿编号" => Some(Field::Household),
        "人口数" | "家庭人口" | "户人口数" | "家庭人口数" => Some(Field::Members),
        "关系" | "与干部关系" | "身份" | "职务" | "出资身份" => Some(Field::Relation),
        "工作单位" | "单位" | "干部姓名" | "车辆类型" | "车型" | "企业名称" | "市场主体名称" | "说明" => {
            Some(Field::Detail)
        }
        _ => None,
    }
}

/// One valid registry row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryLine {
    pub row: usize,
    pub name: String,
    pub resident_id: ResidentId,
    pub date: Option<Date>,
    pub village: Option<String>,
    pub household: Option<String>,
    pub members: Option<i64>,
    pub relation: Option<String>,
    pub detail: Option<String>,
}

/// Problems that make a whole registry file unreadable.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RegistryFileError {
    #[error("未找到表头：前10行中没有同时包含{0}的一行")]
    NoHeader(String),
    #[error("表头中“{0}”出现了两次")]
    DuplicateColumn(&'static str),
    #[error("文件中没有数据行")]
    Empty,
}

/// The outcome of checking a registry file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegistryCheck {
    pub lines: Vec<RegistryLine>,
    pub errors: Vec<CellError>,
}

impl RegistryCheck {
    pub fn is_clean(&self) -> bool {
        self.errors.is_empty()
    }
}

/// Reads a date as clerks write it: `2024-03-05`, `2024/3/5`, `2024.3.5`, `20240305`, `2024年3月5日`.
pub fn parse_date(input: &str) -> Option<Date> {
    let s = compact(input);
    let digits: Vec<&str> = s.split(|c: char| !c.is_ascii_digit()).filter(|p| !p.is_empty()).collect();
    let (y, m, d) = match digits.as_slice() {
        [one] if one.len() == 8 => (&one[..4], &one[4..6], &one[6..]),
        [y, m, d] => (*y, *m, *d),
        _ => return None,
    };
    Date::new(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?).ok()
}

/// Checks every row of a registry file of `kind`. Each row needs a name and a valid ID number,
/// plus the kind's required columns; every problem is reported by row and column, and an ID
/// listed twice is an error except in the cadre, vehicle and business registries (one person
/// may relate to two cadres, own two vehicles or hold shares in two businesses).
pub fn check(kind: RegistryKind, grid: &[Vec<String>]) -> Result<RegistryCheck, RegistryFileError> {
    let mut wanted = vec![Field::Name, Field::ResidentId];
    wanted.extend_from_slice(kind.required());
    let header =
        locate_header(grid, field_for_header, &wanted).map_err(|f| RegistryFileError::DuplicateColumn(f.label()))?;
    let Some(Header { row: header_row, columns }) = header else {
        let names: Vec<String> = wanted.iter().map(|f| format!("“{}”", f.label())).collect();
        return Err(RegistryFileError::NoHeader(names.join("")));
    };
    let unique_ids = matches!(kind, RegistryKind::Deaths | RegistryKind::Payroll | RegistryKind::Households);
    let mut result = RegistryCheck::default();
    let mut first_row_of_id: HashMap<String, usize> = HashMap::new();
    let mut data_rows = 0;
    for (index, cells) in grid.iter().enumerate().skip(header_row + 1) {
        let row = index + 1;
        if cells.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        data_rows += 1;
        let cell = |field: Field| -> Option<String> {
            columns.get(&field).and_then(|&i| cells.get(i)).map(|c| compact(c)).filter(|c| !c.is_empty())
        };
        let mut errors = Vec::new();
        let mut fail = |field: Field, message: String| errors.push(CellError { row, column: field.label(), message });
        let name = cell(Field::Name);
        if name.is_none() {
            fail(Field::Name, "姓名不能为空".into());
        }
        let resident_id = match cell(Field::ResidentId).map(|t| ResidentId::parse(&t)) {
            None => {
                fail(Field::ResidentId, "身份证号不能为空".into());
                None
            }
            Some(Err(e)) => {
                fail(Field::ResidentId, e.to_string());
                None
            }
            Some(Ok(id)) => match first_row_of_id.get(id.expose()) {
                Some(first) if unique_ids => {
                    fail(Field::ResidentId, format!("与第{first}行的身份证号重复"));
                    None
                }
                _ => {
                    first_row_of_id.entry(id.expose().to_owned()).or_insert(row);
                    Some(id)
                }
            },
        };
        for field in kind.required() {
            if cell(*field).is_none() {
                fail(*field, format!("{}不能为空", field.label()));
            }
        }
        let date = match cell(Field::Date) {
            None => None,
            Some(text) => {
                let parsed = parse_date(&text);
                if parsed.is_none() {
                    fail(Field::Date, format!("日期“{text}”无法识别，请写成2024-03-05"));
                }
                parsed
            }
        };
        let village = cell(Field::Village);
        if let Some(v) = &village
            && (v.len() != 12 || !v.chars().all(|c| c.is_ascii_digit()))
        {
            fail(Field::Village, "村代码应为12位数字".into());
        }
        let members = match cell(Field::Members) {
            None => None,
            Some(text) => match text.trim_end_matches('人').parse::<i64>() {
                Ok(n) if n > 0 => Some(n),
                _ => {
                    fail(Field::Members, format!("人口数“{text}”应为正整数"));
                    None
                }
            },
        };
        let relation = cell(Field::Relation);
        let detail = cell(Field::Detail);
        let household = cell(Field::Household);
        if errors.is_empty()
            && let (Some(name), Some(resident_id)) = (name, resident_id)
        {
            result.lines.push(RegistryLine {
                row,
                name,
                resident_id,
                date,
                village,
                household,
                members,
                relation,
                detail,
            });
        }
        result.errors.extend(errors);
    }
    if data_rows == 0 {
        return Err(RegistryFileError::Empty);
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resident_id::check_char;

    fn id(seq: u32) -> String {
        let body = format!("62092219500101{seq:03}");
        let mut digits = [0u32; 17];
        for (slot, c) in digits.iter_mut().zip(body.chars()) {
            *slot = c.to_digit(10).unwrap_or(0);
        }
        format!("{body}{}", check_char(&digits))
    }

    fn grid(rows: &[&[&str]]) -> Vec<Vec<String>> {
        rows.iter().map(|r| r.iter().map(|c| (*c).to_owned()).collect()).collect()
    }

    #[test]
    fn a_deaths_file_with_a_title_row_is_read() {
        let g = grid(&[
            &["2025年死亡人员名单"],
            &["序号", "姓名", "公民身份号码", "死亡日期"],
            &["1", "张三", &id(1), "2025年3月5日"],
        ]);
        let check = check(RegistryKind::Deaths, &g).unwrap_or_default();
        assert!(check.is_clean(), "{:?}", check.errors);
        assert_eq!(check.lines[0].date, Date::new(2025, 3, 5).ok());
        assert_eq!(check.lines[0].row, 3);
    }

    #[test]
    fn a_missing_required_column_is_named() {
        let g = grid(&[&["姓名", "身份证号"], &["张三", &id(1)]]);
        assert_eq!(check(RegistryKind::Deaths, &g), Err(RegistryFileError::NoHeader("“姓名”“身份证号”“日期”".into())));
    }

    #[test]
    fn every_bad_cell_is_reported_by_row_and_column() {
        let g = grid(&[
            &["户号", "姓名", "身份证号", "村代码", "人口数"],
            &["H1", "张三", &id(1), "620922100001", "3"],
            &["", "李四", &id(2), "", ""],
            &["H2", "王五", &id(1), "6209", "0"],
            &["H3", "赵六", "123", "", ""],
        ]);
        let check = check(RegistryKind::Households, &g).unwrap_or_default();
        let found: Vec<(usize, &str)> = check.errors.iter().map(|e| (e.row, e.column)).collect();
        assert_eq!(found, [(3, "户号"), (4, "身份证号"), (4, "村代码"), (4, "人口数"), (5, "身份证号")]);
        assert_eq!(check.lines.len(), 1);
    }

    #[test]
    fn a_person_may_own_two_vehicles_but_not_die_twice() {
        let a = id(1);
        let vehicles = grid(&[&["姓名", "身份证号", "车辆类型"], &["张三", &a, "小型轿车"], &["张三", &a, "货车"]]);
        assert!(check(RegistryKind::Vehicles, &vehicles).is_ok_and(|c| c.is_clean() && c.lines.len() == 2));
        let deaths =
            grid(&[&["姓名", "身份证号", "死亡日期"], &["张三", &a, "2024-01-01"], &["张三", &a, "2024-01-02"]]);
        assert!(check(RegistryKind::Deaths, &deaths).is_ok_and(|c| c.errors.len() == 1));
    }

    #[test]
    fn dates_in_the_usual_spellings_are_read() {
        let want = Date::new(2024, 3, 5).ok();
        for text in ["2024-03-05", "2024/3/5", "2024.3.5", "20240305", "2024年3月5日"] {
            assert_eq!(parse_date(text), want, "{text}");
        }
        assert_eq!(parse_date("2024-02-30"), None);
        assert_eq!(parse_date("三月"), None);
    }

    #[test]
    fn kinds_round_trip() {
        for kind in RegistryKind::ALL {
            assert_eq!(RegistryKind::parse(kind.as_str()), Some(kind));
        }
    }
}
