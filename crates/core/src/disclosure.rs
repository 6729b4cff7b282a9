//! 公示公开 (disclosures): categories, the period a disclosure covers, village finance lines
//! (收支明细) read from a clerk's spreadsheet grid, and the 未按时公开 rule. A disclosure lives the
//! same life as a roster (see [`crate::subsidy::transition`]); this module only words it for
//! disclosures. Pure rules: callers supply dates and grids; nothing here reads a clock or a file.

use std::collections::HashMap;
use std::fmt;

use jiff::ToSpan;
use jiff::civil::Date;
use thiserror::Error;

use crate::code::Transition;
use crate::money::Fen;
use crate::roster::CellError;
use crate::subsidy::{RosterAction, RosterStatus, transition};
use crate::text::compact;

/// What a disclosure is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Category {
    /// 党务公开
    Party,
    /// 村务公开
    VillageAffairs,
    /// 财务公开: income and expenditure lines, monthly or quarterly.
    Finance,
    /// 重大事项
    MajorMatter,
    /// 重大支出
    MajorExpenditure,
    /// 工程项目
    Project,
    /// 其他
    Other,
}

impl Category {
    pub const ALL: [Category; 7] = [
        Self::Party,
        Self::VillageAffairs,
        Self::Finance,
        Self::MajorMatter,
        Self::MajorExpenditure,
        Self::Project,
        Self::Other,
    ];

    /// The kinds every village must disclose regularly (三务公开: party, village affairs, finance).
    pub const REQUIRED: [Category; 3] = [Self::Party, Self::VillageAffairs, Self::Finance];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Party => "party",
            Self::VillageAffairs => "village_affairs",
            Self::Finance => "finance",
            Self::MajorMatter => "major_matter",
            Self::MajorExpenditure => "major_expenditure",
            Self::Project => "project",
            Self::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s.trim())
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Party => "党务",
            Self::VillageAffairs => "村务",
            Self::Finance => "财务",
            Self::MajorMatter => "重大事项",
            Self::MajorExpenditure => "重大支出",
            Self::Project => "工程项目",
            Self::Other => "其他",
        }
    }

    /// Whether the disclosure carries income and expenditure lines.
    pub fn has_lines(self) -> bool {
        self == Self::Finance
    }
}

crate::stored_code!(Category);

/// Why a disclosure cannot take a step of its workflow.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("该公示当前状态为“{}”，不能{}", .from.label(), action_label(*.action))]
pub struct DisclosureWorkflowError {
    pub from: RosterStatus,
    pub action: RosterAction,
}

fn action_label(action: RosterAction) -> &'static str {
    match action {
        RosterAction::Submit => "提交审核",
        RosterAction::Approve => "审核通过并公开",
        RosterAction::Return => "退回",
        RosterAction::Withdraw => "撤回",
        RosterAction::Supersede => "更正",
    }
}

/// The disclosure workflow: exactly the roster state machine, with messages about a disclosure.
pub fn advance(from: RosterStatus, action: RosterAction) -> Result<Transition<RosterStatus>, DisclosureWorkflowError> {
    transition(from, action).map_err(|_| DisclosureWorkflowError { from, action })
}

/// The time a disclosure covers, with the words villagers read (`2025年第三季度`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Period {
    pub label: String,
    pub start: Date,
    pub end: Date,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PeriodError {
    #[error("年份须在1990到2100之间")]
    Year,
    #[error("季度须为1到4")]
    Quarter,
    #[error("月份须为1到12")]
    Month,
    #[error("结束日期不能早于开始日期")]
    Reversed,
    #[error("日期“{0}”无法识别，请写成 2025-07-01")]
    Date(String),
}

const QUARTER_NAMES: [&str; 4] = ["一", "二", "三", "四"];

impl Period {
    /// A calendar quarter: `2025年第三季度`, 1 July to 30 September.
    pub fn quarter(year: i16, quarter: i8) -> Result<Self, PeriodError> {
        if !(1990..=2100).contains(&year) {
            return Err(PeriodError::Year);
        }
        if !(1..=4).contains(&quarter) {
            return Err(PeriodError::Quarter);
        }
        let start = Date::new(year, (quarter - 1) * 3 + 1, 1).map_err(|_| PeriodError::Quarter)?;
        let end = start.checked_add(3.months()).and_then(|d| d.checked_sub(1.day())).map_err(|_| PeriodError::Year)?;
        let name = QUARTER_NAMES[usize::try_from(quarter - 1).unwrap_or(0)];
        Ok(Self { label: format!("{year}年第{name}季度"), start, end })
    }

    /// A calendar month: `2025年7月`.
    pub fn month(year: i16, month: i8) -> Result<Self, PeriodError> {
        if !(1990..=2100).contains(&year) {
            return Err(PeriodError::Year);
        }
        let start = Date::new(year, month, 1).map_err(|_| PeriodError::Month)?;
        Ok(Self { label: format!("{year}年{month}月"), start, end: start.last_of_month() })
    }

    /// Any span of days: `2025-03-01 至 2025-05-31`.
    pub fn between(start: Date, end: Date) -> Result<Self, PeriodError> {
        if end < start {
            return Err(PeriodError::Reversed);
        }
        if !(1990..=2100).contains(&start.year()) || !(1990..=2100).contains(&end.year()) {
            return Err(PeriodError::Year);
        }
        Ok(Self { label: format!("{start} 至 {end}"), start, end })
    }
}

/// Parses a date as clerks write it: `2025-07-01`, `2025/7/1`, `2025.7.1`, `2025年7月1日`.
pub fn parse_date(text: &str) -> Result<Date, PeriodError> {
    let t = compact(text);
    let unified: String =
        t.chars().map(|c| if matches!(c, '/' | '.' | '年' | '月') { '-' } else { c }).filter(|c| *c != '日').collect();
    let parts: Vec<&str> = unified.split('-').collect();
    let bad = || PeriodError::Date(text.trim().chars().take(20).collect());
    let [y, m, d] = parts.as_slice() else { return Err(bad()) };
    let (Ok(y), Ok(m), Ok(d)) = (y.parse::<i16>(), m.parse::<i8>(), d.parse::<i8>()) else { return Err(bad()) };
    Date::new(y, m, d).map_err(|_| bad())
}

/// A column of a finance (收支) file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FinanceColumn {
    Date,
    Summary,
    Income,
    Expense,
    Note,
}

impl FinanceColumn {
    pub fn label(self) -> &'static str {
        match self {
            Self::Date => "日期",
            Self::Summary => "摘要",
            Self::Income => "收入",
            Self::Expense => "支出",
            Self::Note => "备注",
        }
    }
}

/// Maps a header cell to a finance column, tolerating clerks' variants
/// (`收入金额（元）`, `支出（元）`, `项目`, `事项`, `凭证日期`…).
pub fn finance_column(header: &str) -> Option<FinanceColumn> {
    let h = compact(header).replace(['(', ')', '（', '）'], "");
    let h = h.trim_end_matches('元').trim_end_matches("金额");
    match h {
        "日期" | "时间" | "凭证日期" | "记账日期" | "发生日期" => Some(FinanceColumn::Date),
        "摘要" | "项目" | "事项" | "内容" | "收支项目" | "收支内容" | "摘要说明" => {
            Some(FinanceColumn::Summary)
        }
        "收入" | "收入数" | "借方" => Some(FinanceColumn::Income),
        "支出" | "支出数" | "贷方" => Some(FinanceColumn::Expense),
        "备注" | "说明" => Some(FinanceColumn::Note),
        _ => None,
    }
}

/// One valid income or expenditure line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinanceLine {
    /// The spreadsheet row (1-based).
    pub row: usize,
    pub date: Option<Date>,
    pub summary: String,
    pub income: Fen,
    pub expense: Fen,
    pub note: Option<String>,
}

/// Problems that make a whole finance file unreadable.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FinanceFileError {
    #[error("未找到表头：前{0}行中没有同时包含“摘要”“收入”“支出”的一行")]
    NoHeader(usize),
    #[error("表头中“{0}”出现了两次")]
    DuplicateColumn(&'static str),
    #[error("文件中没有收支明细行")]
    Empty,
}

/// Sums of a set of lines. The balance (结余) may be negative.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FinanceTotals {
    pub income: i64,
    pub expense: i64,
}

impl FinanceTotals {
    pub fn of<'a>(lines: impl IntoIterator<Item = &'a FinanceLine>) -> Self {
        lines.into_iter().fold(Self::default(), |t, l| Self {
            income: t.income.saturating_add(l.income.as_fen()),
            expense: t.expense.saturating_add(l.expense.as_fen()),
        })
    }

    /// 结余 = 收入合计 − 支出合计, in fen.
    pub fn balance(self) -> i64 {
        self.income.saturating_sub(self.expense)
    }
}

/// Shows signed fen as yuan: `-1,234.50`.
pub fn signed_yuan(fen: i64) -> String {
    let amount = Fen::new(fen.saturating_abs()).unwrap_or_default();
    if fen < 0 { format!("-{amount}") } else { amount.to_string() }
}

/// The outcome of checking a finance file: the valid lines and every problem, by row and column.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FinanceCheck {
    pub lines: Vec<FinanceLine>,
    pub errors: Vec<CellError>,
}

impl FinanceCheck {
    pub fn is_clean(&self) -> bool {
        self.errors.is_empty()
    }
}

const HEADER_SEARCH_ROWS: usize = 10;
/// The most lines one disclosure may carry.
pub const MAX_FINANCE_LINES: usize = 2_000;

/// Checks every row under the header of a finance grid. Blank rows are skipped; a row reading
/// 合计, 总计, 小计 or 本期合计 ends the data (the file's own totals are recomputed, never trusted).
pub fn check_finance(grid: &[Vec<String>]) -> Result<FinanceCheck, FinanceFileError> {
    let (header_row, columns) = find_finance_header(grid)?;
    let cell = |cells: &[String], column: FinanceColumn| -> String {
        columns.get(&column).and_then(|&i| cells.get(i)).map(|c| c.trim().to_owned()).unwrap_or_default()
    };
    let mut result = FinanceCheck::default();
    for (index, cells) in grid.iter().enumerate().skip(header_row + 1) {
        let row = index + 1;
        if cells.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        if cells.iter().any(|c| matches!(compact(c).as_str(), "合计" | "总计" | "小计" | "本期合计" | "本月合计"))
        {
            break;
        }
        if result.lines.len() + result.errors.len() >= MAX_FINANCE_LINES {
            result.errors.push(CellError {
                row,
                column: "摘要",
                message: format!("一次公示最多{MAX_FINANCE_LINES}行，请分期公示"),
            });
            break;
        }
        let mut fail = |column: FinanceColumn, message: String| {
            result.errors.push(CellError { row, column: column.label(), message });
        };
        let summary = crate::text::normalize(&cell(cells, FinanceColumn::Summary));
        if summary.is_empty() {
            fail(FinanceColumn::Summary, "摘要不能为空".into());
        } else if summary.chars().count() > 200 {
            fail(FinanceColumn::Summary, "摘要不超过200字".into());
        }
        let date_text = cell(cells, FinanceColumn::Date);
        let date = if date_text.is_empty() {
            None
        } else {
            match parse_date(&date_text) {
                Ok(d) => Some(d),
                Err(e) => {
                    fail(FinanceColumn::Date, e.to_string());
                    None
                }
            }
        };
        let mut amount = |column: FinanceColumn| -> Option<Fen> {
            let text = cell(cells, column);
            if text.is_empty() || matches!(text.as_str(), "-" | "—" | "/") {
                return Some(Fen::default());
            }
            match Fen::parse_yuan(&text) {
                Ok(a) => Some(a),
                Err(e) => {
                    fail(column, e.to_string());
                    None
                }
            }
        };
        let income = amount(FinanceColumn::Income);
        let expense = amount(FinanceColumn::Expense);
        let note = Some(crate::text::normalize(&cell(cells, FinanceColumn::Note))).filter(|n| !n.is_empty());
        let (Some(income), Some(expense)) = (income, expense) else { continue };
        if income.as_fen() == 0 && expense.as_fen() == 0 {
            result
                .errors
                .push(CellError { row, column: "收入", message: "收入和支出不能都为空或为0".into() });
            continue;
        }
        if result.errors.iter().any(|e| e.row == row) {
            continue;
        }
        result.lines.push(FinanceLine { row, date, summary, income, expense, note });
    }
    if result.lines.is_empty() && result.errors.is_empty() {
        return Err(FinanceFileError::Empty);
    }
    Ok(result)
}

fn find_finance_header(grid: &[Vec<String>]) -> Result<(usize, HashMap<FinanceColumn, usize>), FinanceFileError> {
    for (row, cells) in grid.iter().take(HEADER_SEARCH_ROWS).enumerate() {
        let mut columns = HashMap::new();
        for (i, cell) in cells.iter().enumerate() {
            if let Some(column) = finance_column(cell)
                && columns.insert(column, i).is_some()
            {
                return Err(FinanceFileError::DuplicateColumn(column.label()));
            }
        }
        if [FinanceColumn::Summary, FinanceColumn::Income, FinanceColumn::Expense]
            .iter()
            .all(|c| columns.contains_key(c))
        {
            return Ok((row, columns));
        }
    }
    Err(FinanceFileError::NoHeader(HEADER_SEARCH_ROWS))
}

/// Days after its last finance disclosure within which a village is on time: one quarter.
pub const FINANCE_DUE_DAYS: i64 = 92;

/// Whether a village's finance disclosure is overdue (未按时公开) on `today`: none was ever
/// published, or the last was published more than [`FINANCE_DUE_DAYS`] days ago.
pub fn finance_overdue(last_published: Option<Date>, today: Date) -> bool {
    match last_published {
        None => true,
        Some(last) => last.until(today).is_ok_and(|span| i64::from(span.get_days()) > FINANCE_DUE_DAYS),
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

#[cfg(test)]
mod tests {
    use jiff::civil::date;

    use super::*;

    fn grid(rows: &[&[&str]]) -> Vec<Vec<String>> {
        rows.iter().map(|r| r.iter().map(|c| (*c).to_owned()).collect()).collect()
    }

    #[test]
    fn categories_round_trip_and_read_in_chinese() {
        for c in Category::ALL {
            assert_eq!(Category::parse(c.as_str()), Some(c));
        }
        assert_eq!(Category::Finance.label(), "财务");
        assert!(Category::REQUIRED.contains(&Category::Finance));
        assert_eq!(Category::parse("lottery"), None);
    }

    #[test]
    fn a_disclosure_follows_the_roster_workflow_with_its_own_words() {
        assert_eq!(advance(RosterStatus::Draft, RosterAction::Submit).map(|t| t.to()), Ok(RosterStatus::Submitted));
        let supersede = advance(RosterStatus::Published, RosterAction::Supersede).map(|t| (t.from(), t.to()));
        assert_eq!(supersede, Ok((RosterStatus::Published, RosterStatus::Superseded)));
        let message = advance(RosterStatus::Published, RosterAction::Submit).err().map(|e| e.to_string());
        assert_eq!(message.as_deref(), Some("该公示当前状态为“已公开”，不能提交审核"));
    }

    #[test]
    fn the_third_quarter_runs_from_july_to_september() {
        let q = Period::quarter(2025, 3).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((q.label.as_str(), q.start, q.end), ("2025年第三季度", date(2025, 7, 1), date(2025, 9, 30)));
        let m = Period::month(2024, 2).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((m.label.as_str(), m.end), ("2024年2月", date(2024, 2, 29)));
        assert_eq!(Period::quarter(2025, 5), Err(PeriodError::Quarter));
        assert_eq!(Period::between(date(2025, 2, 1), date(2025, 1, 1)), Err(PeriodError::Reversed));
    }

    #[test]
    fn dates_are_read_in_the_ways_clerks_write_them() {
        for text in ["2025-07-01", "2025/7/1", "2025.07.01", "2025年7月1日", "２０２５-７-１"] {
            assert_eq!(parse_date(text), Ok(date(2025, 7, 1)), "{text}");
        }
        assert!(parse_date("7月1日").is_err());
        assert!(parse_date("2025-02-30").is_err());
    }

    #[test]
    fn a_finance_file_with_header_variants_gives_lines_and_totals() {
        let g = grid(&[
            &["卓园村2025年第三季度财务收支公开表"],
            &["日期", "收支项目", "收入金额（元）", "支出（元）", "说明"],
            &["2025-07-03", "上级转移支付", "50,000.00", "", ""],
            &["2025/8/15", "村道维修", "", "12,345.60", "附发票"],
            &["", "", "", "", ""],
            &["合计", "", "50000", "12345.6", ""],
            &["2025-09-01", "合计后的行不读", "1", "", ""],
        ]);
        let check = check_finance(&g).unwrap_or_default();
        assert!(check.is_clean(), "{:?}", check.errors);
        assert_eq!(check.lines.len(), 2);
        assert_eq!(check.lines[1].row, 4);
        assert_eq!(check.lines[1].note.as_deref(), Some("附发票"));
        let totals = FinanceTotals::of(&check.lines);
        assert_eq!((totals.income, totals.expense, totals.balance()), (5_000_000, 1_234_560, 3_765_440));
    }

    #[test]
    fn every_bad_cell_is_reported_by_row_and_column() {
        let g = grid(&[
            &["摘要", "日期", "收入", "支出"],
            &["办公用品", "2025-13-01", "", "abc"],
            &["", "2025-07-01", "-5", ""],
            &["保洁费", "", "", "0"],
            &["会议费", "", "1.234", ""],
        ]);
        let check = check_finance(&g).unwrap_or_default();
        let found: Vec<String> = check.errors.iter().map(ToString::to_string).collect();
        assert_eq!(
            found,
            [
                "第2行 日期：日期“2025-13-01”无法识别，请写成 2025-07-01",
                "第2行 支出：金额“abc”不是有效的数字",
                "第3行 摘要：摘要不能为空",
                "第3行 收入：金额不能为负数",
                "第4行 收入：收入和支出不能都为空或为0",
                "第5行 收入：金额最多保留两位小数（到分）",
            ]
        );
        assert!(check.lines.is_empty());
    }

    #[test]
    fn a_file_without_the_three_columns_is_refused_whole() {
        assert_eq!(check_finance(&grid(&[&["姓名", "金额"]])), Err(FinanceFileError::NoHeader(10)));
        assert_eq!(check_finance(&grid(&[&["摘要", "收入", "支出"]])), Err(FinanceFileError::Empty));
        assert_eq!(
            check_finance(&grid(&[&["摘要", "收入", "支出", "项目"]])),
            Err(FinanceFileError::DuplicateColumn("摘要"))
        );
    }

    #[test]
    fn a_negative_balance_keeps_its_sign() {
        assert_eq!(signed_yuan(-123_450), "-1,234.50");
        assert_eq!(signed_yuan(0), "0.00");
    }

    #[test]
    fn a_village_without_finance_disclosure_for_more_than_a_quarter_is_overdue() {
        let today = date(2025, 10, 10);
        assert!(finance_overdue(None, today), "never disclosed");
        assert!(!finance_overdue(Some(date(2025, 7, 10)), today), "exactly 92 days is on time");
        assert!(finance_overdue(Some(date(2025, 7, 9)), today), "93 days is overdue");
        assert!(!finance_overdue(Some(today), today));
    }
}
