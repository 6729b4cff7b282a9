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
use crate::text::compact;

/// A column a roster file may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Column {
    Name,
    ResidentId,
    Amount,
    Group,
    Account,
    Note,
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

/// Checks every data row under the header. `standard` is the programme's per-line maximum, if
/// it has one. Blank rows are skipped; a row reading 合计, 总计 or 小计 with no ID number ends the data.
/// Group cells left blank under a merged cell inherit the group above.
pub fn check(grid: &[Vec<String>], standard: Option<Fen>) -> Result<RosterCheck, RosterFileError> {
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
        let is_total = cells.iter().any(|c| matches!(compact(c).as_str(), "合计" | "总计" | "小计"));
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
        let amount = match Fen::parse_yuan(&cell(cells, Column::Amount)) {
            Ok(a) if a.as_fen() == 0 => {
                fail(Column::Amount, "金额必须大于0".into());
                None
            }
            Ok(a) if standard.is_some_and(|s| a > s) => {
                let s = standard.unwrap_or_default();
                fail(Column::Amount, format!("金额{a}元超过补贴标准{s}元"));
                None
            }
            Ok(a) => Some(a),
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
        if let (Some(resident_id), Some(amount), false) = (resident_id, amount, name.is_empty()) {
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
        let check = check(&g, Fen::from_yuan(600)).unwrap_or_default();
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
}
