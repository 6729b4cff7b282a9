//! 花名册 (roster) files as clerks keep them: finding the header row among title rows, mapping
//! the many spellings of each column, and checking every row. Reading the file (xlsx, xls, CSV
//! in UTF-8 or GBK) is the caller's job; this module sees a grid of cell texts.
//!
//! Every problem is reported with its spreadsheet row (1-based, as Excel shows it) and column,
//! in Chinese; a file with any problem must not be stored.

use std::collections::HashMap;
use std::hash::Hash;

use thiserror::Error;

use crate::money::Fen;
use crate::resident_id::ResidentId;
use crate::subsidy::Unit;
use crate::text::compact;

/// A programme's standard: the most one line may receive, per person, household or mu.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standard {
    pub amount: Fen,
    pub unit: Unit,
}

/// An area in ten-thousandths of a mu (亩), as read from a roster's 面积 column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Area(i64);

/// Decimal places of a mu an area may carry.
const AREA_DECIMALS: u32 = 4;
const AREA_SCALE: i64 = 10_i64.pow(AREA_DECIMALS);

impl Area {
    /// Reads `2`, `2.5`, `１.３５亩` (full-width digits, a trailing 亩); at most four decimals,
    /// more than zero and below a million mu.
    pub fn parse(input: &str) -> Option<Self> {
        let text = compact(input);
        let text = text.trim_end_matches('亩');
        let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
        if whole.is_empty()
            || whole.len() > 6
            || fraction.len() > AREA_DECIMALS as usize
            || !whole.chars().chain(fraction.chars()).all(|c| c.is_ascii_digit())
        {
            return None;
        }
        let whole: i64 = whole.parse().ok()?;
        let padded = format!("{fraction:0<4}");
        let fraction: i64 = padded.parse().ok()?;
        Some(Self(whole * AREA_SCALE + fraction)).filter(|a| a.0 > 0)
    }

    /// The most a line of this area may receive at `per_mu`, rounded to the fen (half up).
    pub fn times(self, per_mu: Fen) -> Option<Fen> {
        let product = i128::from(self.0) * i128::from(per_mu.as_fen());
        let fen = (product + i128::from(AREA_SCALE / 2)) / i128::from(AREA_SCALE);
        i64::try_from(fen).ok().and_then(Fen::new)
    }
}

impl std::fmt::Display for Area {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let whole = self.0 / AREA_SCALE;
        let fraction = format!("{:04}", self.0 % AREA_SCALE);
        let fraction = fraction.trim_end_matches('0');
        if fraction.is_empty() { write!(f, "{whole}") } else { write!(f, "{whole}.{fraction}") }
    }
}

/// Whether `amount` keeps to `standard` on a line of `area` (when the file gives one). Per person
/// or household the amount may not exceed the standard; per mu it may not exceed area ×
/// standard. A per-mu line without an area is not judged here: a whole multiple of the standard
/// is plainly fine, and any other amount is left to screening rule 9 (金额不符合标准).
pub fn amount_within(amount: Fen, standard: Standard, area: Option<Area>) -> Result<(), String> {
    let s = standard.amount;
    match (standard.unit, area) {
        (Unit::Person | Unit::Household, _) if amount > s => Err(format!("金额{amount}元超过补贴标准{s}元")),
        (Unit::Mu, Some(area)) => match area.times(s) {
            Some(most) if amount > most => Err(format!("金额{amount}元超过面积{area}亩×标准{s}元/亩＝{most}元")),
            Some(_) => Ok(()),
            None => Err(format!("面积{area}亩过大，无法核算")),
        },
        _ => Ok(()),
    }
}

/// A column a roster file may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Column {
    Name,
    ResidentId,
    Amount,
    Group,
    Account,
    Note,
    /// 面积 (亩), for a programme paid per mu.
    Area,
}

impl Column {
    /// The label used in messages.
    pub fn label(self) -> &'static str {
        match self {
            Self::Name => "姓名",
            Self::ResidentId => "身份证号",
            Self::Amount => "金额",
            Self::Group => "村民小组",
            Self::Account => "一卡通账号",
            Self::Note => "备注",
            Self::Area => "面积",
        }
    }
}

/// Maps a header cell to a column, tolerating the variants clerks use
/// (`户主姓名`, `公民身份号码`, `补贴金额（元）`, `组`, `银行卡号`…).
pub fn column_for_header(header: &str) -> Option<Column> {
    let h = compact(header).replace(['(', ')', '（', '）'], "");
    let h = h.trim_end_matches('元');
    match h {
        "姓名" | "户主姓名" | "户主" | "领取人" | "领取人姓名" | "享受人姓名" | "补贴对象" => {
            Some(Column::Name)
        }
        "身份证号" | "身份证号码" | "公民身份号码" | "身份证" | "证件号码" => {
            Some(Column::ResidentId)
        }
        "金额" | "补贴金额" | "发放金额" | "补助金额" | "应发金额" | "实发金额" => {
            Some(Column::Amount)
        }
        "组" | "村民小组" | "组别" | "所在组" | "社" => Some(Column::Group),
        "一卡通账号" | "一卡通帐号" | "银行卡号" | "社保卡号" | "账号" | "帐号" | "银行账号" => {
            Some(Column::Account)
        }
        "备注" => Some(Column::Note),
        "面积" | "面积亩" | "亩数" | "补贴面积" | "补贴面积亩" | "种植面积" | "种植面积亩" | "实际种植面积"
        | "承包面积" | "承包面积亩" | "耕地面积" | "耕地面积亩" | "草原面积" | "草原面积亩" | "计补面积" => {
            Some(Column::Area)
        }
        _ => None,
    }
}

/// Where the header is and which cell holds which column (a roster's, or another importer's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header<C: Eq + Hash = Column> {
    /// Index of the header row in the grid (0-based).
    pub row: usize,
    pub columns: HashMap<C, usize>,
}

/// Problems that make a whole file unreadable.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RosterFileError {
    #[error("未找到表头：前{0}行中没有同时包含“姓名”“身份证号”“金额”的一行")]
    NoHeader(usize),
    #[error("表头中“{0}”出现了两次")]
    DuplicateColumn(&'static str),
    #[error("文件中没有数据行")]
    Empty,
}

/// How many leading rows may be titles before the header.
const HEADER_SEARCH_ROWS: usize = 10;

/// Finds the header row of a sheet: the first of the leading rows whose cells, mapped by
/// `column_of`, name every `wanted` column, with the cell index of each column it names. A
/// column named twice in one row is an error naming that column. Shared by every importer.
pub fn locate_header<C: Copy + Eq + Hash>(
    grid: &[Vec<String>],
    column_of: impl Fn(&str) -> Option<C>,
    wanted: &[C],
) -> Result<Option<Header<C>>, C> {
    for (row, cells) in grid.iter().take(HEADER_SEARCH_ROWS).enumerate() {
        let mut columns = HashMap::new();
        for (i, cell) in cells.iter().enumerate() {
            if let Some(column) = column_of(cell)
                && columns.insert(column, i).is_some()
            {
                return Err(column);
            }
        }
        if wanted.iter().all(|c| columns.contains_key(c)) {
            return Ok(Some(Header { row, columns }));
        }
    }
    Ok(None)
}

/// Finds the header row: the first of the leading rows that names a name, an ID and an amount.
pub fn find_header(grid: &[Vec<String>]) -> Result<Header, RosterFileError> {
    match locate_header(grid, column_for_header, &[Column::Name, Column::ResidentId, Column::Amount]) {
        Ok(Some(header)) => Ok(header),
        Ok(None) => Err(RosterFileError::NoHeader(HEADER_SEARCH_ROWS)),
        Err(column) => Err(RosterFileError::DuplicateColumn(column.label())),
    }
}

/// One valid roster line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RosterLine {
    /// The spreadsheet row number (1-based).
    pub row: usize,
    pub name: String,
    pub resident_id: ResidentId,
    pub amount: Fen,
    pub group: Option<String>,
    pub account: Option<String>,
    pub note: Option<String>,
}

/// A problem in one cell (or row), for the preview and the command-line report.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("第{row}行 {column}：{message}")]
pub struct CellError {
    pub row: usize,
    pub column: &'static str,
    pub message: String,
}

/// The outcome of checking a file: the valid lines and every problem found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RosterCheck {
    pub lines: Vec<RosterLine>,
    pub errors: Vec<CellError>,
}

impl RosterCheck {
    pub fn is_clean(&self) -> bool {
        self.errors.is_empty()
    }

    /// Sum of the valid lines' amounts.
    pub fn total(&self) -> Fen {
        self.lines.iter().fold(Fen::default(), |acc, l| acc.checked_add(l.amount).unwrap_or(acc))
    }
}

/// Checks every data row under the header. `standard` is the programme's standard, if it has
/// one (see [`amount_within`]; a per-mu programme reads the 面积 column when there is one). Blank rows are skipped; a row reading 合计, 总计 or 小计 with no ID number ends the data.
/// Group cells left blank under a merged cell inherit the group above.
pub fn check(grid: &[Vec<String>], standard: Option<Standard>) -> Result<RosterCheck, RosterFileError> {
    let header = find_header(grid)?;
    let cell = |cells: &[String], column: Column| -> String {
        header.columns.get(&column).and_then(|&i| cells.get(i)).map(|c| c.trim().to_owned()).unwrap_or_default()
    };
    let mut result = RosterCheck::default();
    let mut first_row_of_id: HashMap<String, usize> = HashMap::new();
    let mut current_group: Option<String> = None;
    let mut data_rows = 0;
    for (index, cells) in grid.iter().enumerate().skip(header.row + 1) {
        let row = index + 1;
        if cells.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        // Every label of a totals row holds 计; only such cells are compacted and compared.
        let is_total =
            cells.iter().any(|c| c.contains('计') && matches!(compact(c).as_str(), "合计" | "总计" | "小计"));
        if is_total && cell(cells, Column::ResidentId).is_empty() {
            break;
        }
        let name = compact(&cell(cells, Column::Name));
        data_rows += 1;
        let mut fail = |column: Column, message: String| {
            result.errors.push(CellError { row, column: column.label(), message });
        };
        if name.is_empty() {
            fail(Column::Name, "姓名不能为空".into());
        }
        let id_text = cell(cells, Column::ResidentId);
        let resident_id = if id_text.is_empty() {
            fail(Column::ResidentId, "身份证号不能为空".into());
            None
        } else {
            match ResidentId::parse(&id_text) {
                Ok(id) => match first_row_of_id.get(id.expose()) {
                    Some(first) => {
                        fail(Column::ResidentId, format!("与第{first}行的身份证号重复"));
                        None
                    }
                    None => {
                        first_row_of_id.insert(id.expose().to_owned(), row);
                        Some(id)
                    }
                },
                Err(e) => {
                    fail(Column::ResidentId, e.to_string());
                    None
                }
            }
        };
        let area_text = cell(cells, Column::Area);
        let area = Area::parse(&area_text);
        let area_unread = !area_text.is_empty() && area.is_none();
        if area_unread {
            fail(Column::Area, format!("面积“{area_text}”无法识别，请写亩数，如 2.5"));
        }
        let amount = match Fen::parse_yuan(&cell(cells, Column::Amount)) {
            Ok(a) if a.as_fen() == 0 => {
                fail(Column::Amount, "金额必须大于0".into());
                None
            }
            Ok(a) => match standard.map(|s| amount_within(a, s, area)) {
                Some(Err(message)) => {
                    fail(Column::Amount, message);
                    None
                }
                _ => Some(a),
            },
            Err(e) => {
                fail(Column::Amount, e.to_string());
                None
            }
        };
        let group = Some(compact(&cell(cells, Column::Group))).filter(|g| !g.is_empty());
        if group.is_some() {
            current_group.clone_from(&group);
        }
        let optional = |column: Column| Some(compact(&cell(cells, column))).filter(|v| !v.is_empty());
        if let (Some(resident_id), Some(amount), false, false) = (resident_id, amount, name.is_empty(), area_unread) {
            result.lines.push(RosterLine {
                row,
                name,
                resident_id,
                amount,
                group: group.or_else(|| current_group.clone()),
                account: optional(Column::Account),
                note: optional(Column::Note),
            });
        }
    }
    if data_rows == 0 {
        return Err(RosterFileError::Empty);
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resident_id::check_char;

    fn id(seq: u32) -> String {
        let body = format!("62092219800101{seq:03}");
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
    fn header_variants_are_recognised() {
        assert_eq!(column_for_header("户主姓名"), Some(Column::Name));
        assert_eq!(column_for_header("公民身份号码"), Some(Column::ResidentId));
        assert_eq!(column_for_header("补贴金额（元）"), Some(Column::Amount));
        assert_eq!(column_for_header(" 补贴金额(元) "), Some(Column::Amount));
        assert_eq!(column_for_header("村民小组"), Some(Column::Group));
        assert_eq!(column_for_header("一卡通账号"), Some(Column::Account));
        assert_eq!(column_for_header("序号"), None);
    }

    #[test]
    fn title_rows_above_the_header_are_skipped() {
        let (a, b) = (id(1), id(2));
        let g = grid(&[
            &["卓园村2025年草原生态保护补助奖励拟发放花名册"],
            &["", "单位：元"],
            &["序号", "户主姓名", "身份证号码", "组", "补贴金额（元）", "备注"],
            &["1", "张三", &a, "一组", "1,234.50", ""],
            &["2", "李四", &b, "", "600元", "新增"],
            &["合计", "", "", "", "1834.50", ""],
        ]);
        let check = check(&g, None).unwrap_or_default();
        assert!(check.is_clean(), "{:?}", check.errors);
        assert_eq!(check.lines.len(), 2);
        assert_eq!(check.lines[0].row, 4);
        assert_eq!(check.lines[1].group.as_deref(), Some("一组"), "a merged group cell carries down");
        assert_eq!(check.lines[1].note.as_deref(), Some("新增"));
        assert_eq!(check.total(), Fen::new(183_450).unwrap_or_default());
    }

    #[test]
    fn every_bad_cell_is_reported_with_row_and_column() {
        let a = id(1);
        let mut bad_check = a.clone();
        bad_check.replace_range(17.., if a.ends_with('1') { "2" } else { "1" });
        let g = grid(&[
            &["姓名", "身份证号", "金额"],
            &["张三", &a, "600"],
            &["", &id(3), "600"],
            &["李四", &bad_check, "600"],
            &["王五", &a, "600"],
            &["赵六", &id(4), "六百"],
            &["钱七", &id(5), "0"],
            &["孙八", &id(6), "700"],
        ]);
        let per_person = Fen::from_yuan(600).map(|amount| Standard { amount, unit: Unit::Person });
        let check = check(&g, per_person).unwrap_or_default();
        let found: Vec<(usize, &str)> = check.errors.iter().map(|e| (e.row, e.column)).collect();
        assert_eq!(found, [(3, "姓名"), (4, "身份证号"), (5, "身份证号"), (6, "金额"), (7, "金额"), (8, "金额")]);
        assert!(check.errors[2].message.contains("第2行"), "a duplicate names the first row");
        assert!(check.errors[5].message.contains("超过补贴标准"));
        assert_eq!(check.lines.len(), 1);
    }

    #[test]
    fn a_file_without_a_header_or_data_is_refused() {
        assert_eq!(check(&grid(&[&["a", "b"], &["1", "2"]]), None), Err(RosterFileError::NoHeader(10)));
        assert_eq!(check(&grid(&[&["姓名", "身份证号", "金额"], &["", "", ""]]), None), Err(RosterFileError::Empty));
        assert_eq!(
            find_header(&grid(&[&["姓名", "户主姓名", "身份证号", "金额"]])),
            Err(RosterFileError::DuplicateColumn("姓名"))
        );
    }

    #[test]
    fn full_width_digits_and_spaces_in_ids_are_accepted() {
        let full_width: String = id(7).chars().map(|c| char::from_u32(c as u32 + 0xFEE0).unwrap_or(c)).collect();
        let g = grid(&[&["姓名", "身份证号", "金额"], &[" 张 三 ", &full_width, "６００"]]);
        let check = check(&g, None).unwrap_or_default();
        assert!(check.is_clean(), "{:?}", check.errors);
        assert_eq!(check.lines[0].name, "张三");
    }

    fn per_mu(yuan: &str) -> Option<Standard> {
        Some(Standard { amount: Fen::parse_yuan(yuan).unwrap(), unit: Unit::Mu })
    }

    #[test]
    fn a_per_mu_programme_checks_area_times_standard() {
        let g = grid(&[
            &["姓名", "身份证号", "面积（亩）", "金额"],
            &["张三", &id(1), "2", "19.00"],
            &["李四", &id(2), "1.5", "14.25"],
            &["王五", &id(3), "2", "19.01"],
            &["赵六", &id(4), "两亩", "9.50"],
            &["钱七", &id(5), "", "28.50"],
        ]);
        let check = check(&g, per_mu("9.50")).unwrap_or_default();
        let found: Vec<(usize, &str)> = check.errors.iter().map(|e| (e.row, e.column)).collect();
        assert_eq!(found, [(4, "金额"), (5, "面积")], "{:?}", check.errors);
        assert!(check.errors[0].message.contains("面积2亩×标准9.50元/亩＝19.00元"), "{}", check.errors[0].message);
        assert_eq!(check.lines.len(), 3, "a blank area leaves the amount to screening");
    }

    #[test]
    fn without_an_area_column_any_per_mu_amount_passes_the_import() {
        let g = grid(&[&["姓名", "身份证号", "金额"], &["张三", &id(1), "19.00"], &["李四", &id(2), "10.00"]]);
        assert!(check(&g, per_mu("9.50")).unwrap_or_default().is_clean(), "rule 9 judges 10.00 later");
    }

    #[test]
    fn areas_read_as_clerks_write_them() {
        assert_eq!(Area::parse("2").map(|a| a.to_string()), Some("2".into()));
        assert_eq!(Area::parse("１.３５亩").map(|a| a.to_string()), Some("1.35".into()));
        assert_eq!(Area::parse("0.0001").map(|a| a.to_string()), Some("0.0001".into()));
        for bad in ["", "0", "0.00", "-1", "1.23456", "两亩", "1e3", "1,000", "1234567"] {
            assert_eq!(Area::parse(bad), None, "{bad}");
        }
        let fen = |y: &str| Fen::parse_yuan(y).unwrap();
        assert_eq!(Area::parse("2").and_then(|a| a.times(fen("9.50"))), Some(fen("19.00")));
        assert_eq!(Area::parse("0.333").and_then(|a| a.times(fen("10"))), Some(fen("3.33")));
        assert_eq!(Area::parse("0.3335").and_then(|a| a.times(fen("10"))), Some(fen("3.34")), "half up");
    }

    proptest::proptest! {
        /// Whole multiples of the standard always fit area × standard for the same number of mu.
        #[test]
        fn whole_multiples_fit_their_area(mu in 1i64..500, standard in 1i64..100_000) {
            let s = Standard { amount: Fen::new(standard).unwrap(), unit: Unit::Mu };
            let area = Area::parse(&mu.to_string()).unwrap();
            let amount = Fen::new(mu * standard).unwrap();
            proptest::prop_assert!(amount_within(amount, s, Some(area)).is_ok());
            proptest::prop_assert!(amount_within(Fen::new(mu * standard + 1).unwrap(), s, Some(area)).is_err());
            proptest::prop_assert!(amount_within(amount, s, None).is_ok());
        }
    }
}
