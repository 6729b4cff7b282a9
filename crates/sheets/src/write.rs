//! Writing xlsx files: the blank roster template clerks fill in, and roster exports (a title,
//! subtitle lines, the roster and a 合计 row). ID numbers and accounts are always text cells so
//! Excel keeps every digit; amounts are numbers shown with two decimals.

use rust_xlsxwriter::{Color, Format, FormatAlign, FormatBorder, Workbook, Worksheet};
use xiaowei_core::Fen;

use crate::error::SheetError;

/// How many rows of the template are pre-formatted (text ID and account cells, amounts `0.00`).
const TEMPLATE_ROWS: u32 = 500;

/// A roster to export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportRoster {
    pub title: String,
    /// Lines under the title, e.g. `单位：元` or the date of approval.
    pub subtitle: Vec<String>,
    /// Whether to include the 一卡通账号 column.
    pub with_account: bool,
    pub rows: Vec<ExportRow>,
}

/// One person in an export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportRow {
    pub name: String,
    /// Already masked or full: the caller decides who may see the full number.
    pub resident_id: String,
    pub group: Option<String>,
    pub amount: Fen,
    pub account: Option<String>,
    pub note: Option<String>,
}

/// The columns of a roster sheet, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Number,
    Name,
    ResidentId,
    Group,
    Amount,
    Account,
    Note,
}

impl Field {
    fn header(self) -> &'static str {
        match self {
            Self::Number => "序号",
            Self::Name => "姓名",
            Self::ResidentId => "身份证号",
            Self::Group => "村民小组",
            Self::Amount => "金额（元）",
            Self::Account => "一卡通账号",
            Self::Note => "备注",
        }
    }

    fn width(self) -> f64 {
        match self {
            Self::Number => 6.0,
            Self::Name | Self::Group => 12.0,
            Self::ResidentId => 22.0,
            Self::Amount => 13.0,
            Self::Account => 24.0,
            Self::Note => 18.0,
        }
    }
}

fn fields(with_account: bool) -> Vec<Field> {
    let all = [Field::Number, Field::Name, Field::ResidentId, Field::Group, Field::Amount, Field::Account, Field::Note];
    all.into_iter().filter(|f| with_account || *f != Field::Account).collect()
}

/// The cell formats shared by the template and exports.
struct Formats {
    title: Format,
    subtitle: Format,
    header: Format,
    cell: Format,
    text: Format,
    amount: Format,
    total: Format,
    total_amount: Format,
}

impl Formats {
    fn new() -> Self {
        let cell = Format::new().set_border(FormatBorder::Thin);
        let total = cell.clone().set_bold();
        Self {
            title: Format::new().set_bold().set_font_size(16).set_align(FormatAlign::Center),
            subtitle: Format::new().set_align(FormatAlign::Left),
            header: cell.clone().set_bold().set_align(FormatAlign::Center).set_background_color(Color::RGB(0xD9_E1_F2)),
            text: cell.clone().set_num_format("@"),
            amount: cell.clone().set_num_format("0.00"),
            total_amount: total.clone().set_num_format("0.00"),
            total,
            cell,
        }
    }

    /// The format of a data cell in `field`'s column.
    fn for_field(&self, field: Field) -> &Format {
        match field {
            Field::ResidentId | Field::Account => &self.text,
            Field::Amount => &self.amount,
            Field::Number | Field::Name | Field::Group | Field::Note => &self.cell,
        }
    }
}

/// Writes the title (merged across the table), the subtitle lines and the header, sets column
/// widths and freezes everything above the data. Returns the first data row.
fn write_heading(
    sheet: &mut Worksheet,
    formats: &Formats,
    columns: &[Field],
    title: &str,
    subtitle: &[String],
) -> Result<u32, SheetError> {
    let last = (columns.len() - 1) as u16;
    sheet.set_row_height(0, 28)?;
    sheet.merge_range(0, 0, 0, last, title, &formats.title)?;
    let mut row = 1;
    for line in subtitle {
        sheet.merge_range(row, 0, row, last, line, &formats.subtitle)?;
        row += 1;
    }
    for (col, field) in columns.iter().enumerate() {
        sheet.set_column_width(col as u16, field.width())?;
        sheet.write_string_with_format(row, col as u16, field.header(), &formats.header)?;
    }
    sheet.set_freeze_panes(row + 1, 0)?;
    Ok(row + 1)
}

/// A blank roster template: a title, the header, 500 pre-formatted rows, and a second sheet
/// 填写说明 with instructions.
pub fn template_xlsx(programme: Option<&str>) -> Result<Vec<u8>, SheetError> {
    let formats = Formats::new();
    let columns = fields(true);
    let title = format!("{}花名册（模板）", programme.map(str::trim).filter(|p| !p.is_empty()).unwrap_or("补贴"));
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet().set_name("花名册")?;
    let first = write_heading(sheet, &formats, &columns, &title, &[])?;
    for row in first..first + TEMPLATE_ROWS {
        for (col, field) in columns.iter().enumerate() {
            sheet.write_blank(row, col as u16, formats.for_field(*field))?;
        }
    }
    let help = workbook.add_worksheet().set_name("填写说明")?;
    help.set_column_width(0, 90)?;
    help.write_string_with_format(0, 0, "填写说明", &formats.title.clone().set_align(FormatAlign::Left))?;
    for (row, line) in INSTRUCTIONS.iter().enumerate() {
        help.write_string(row as u32 + 1, 0, *line)?;
    }
    Ok(workbook.save_to_buffer()?)
}

const INSTRUCTIONS: [&str; 7] = [
    "1. 每行填写一人，同一人不要重复填写。",
    "2. 身份证号必须为18位，最后一位可以是X；本列已设为文本格式，请不要改为数字，否则后几位会变成0。",
    "3. 金额以元为单位，最多保留两位小数，例如 600 或 1234.50。",
    "4. 一卡通账号请填写完整，本列同样为文本格式。",
    "5. 不要合并单元格；只有“村民小组”一列可以把同组的人合并成一格。",
    "6. 表格末尾可以加一行“合计”，也可以不加；合计行以下的内容不会导入。",
    "7. 标题行可以修改，表头各列的名称请不要改动。",
];

/// A roster export: title, subtitle lines, header, one row per person and a 合计 row.
pub fn roster_xlsx(roster: &ExportRoster) -> Result<Vec<u8>, SheetError> {
    let formats = Formats::new();
    let columns = fields(roster.with_account);
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet().set_name("花名册")?;
    let first = write_heading(sheet, &formats, &columns, &roster.title, &roster.subtitle)?;
    let mut total = Fen::default();
    let mut row = first;
    for (number, person) in roster.rows.iter().enumerate() {
        total = total.checked_add(person.amount).ok_or_else(|| SheetError::Write("金额合计过大".into()))?;
        for (col, field) in columns.iter().enumerate() {
            let col = col as u16;
            let format = formats.for_field(*field);
            let text = match field {
                Field::Number => {
                    sheet.write_number_with_format(row, col, (number + 1) as f64, format)?;
                    continue;
                }
                Field::Amount => {
                    sheet.write_number_with_format(row, col, yuan(person.amount), format)?;
                    continue;
                }
                Field::Name => Some(&person.name),
                Field::ResidentId => Some(&person.resident_id),
                Field::Group => person.group.as_ref(),
                Field::Account => person.account.as_ref(),
                Field::Note => person.note.as_ref(),
            };
            match text {
                Some(text) => sheet.write_string_with_format(row, col, text, format)?,
                None => sheet.write_blank(row, col, format)?,
            };
        }
        row += 1;
    }
    for (col, field) in columns.iter().enumerate() {
        let col = col as u16;
        match field {
            Field::Number => sheet.write_string_with_format(row, col, "合计", &formats.total)?,
            Field::Amount => sheet.write_number_with_format(row, col, yuan(total), &formats.total_amount)?,
            _ => sheet.write_blank(row, col, &formats.total)?,
        };
    }
    Ok(workbook.save_to_buffer()?)
}

/// Fen as a yuan number for a cell; exact to the fen for any realistic amount.
fn yuan(amount: Fen) -> f64 {
    amount.as_fen() as f64 / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::read_grid;
    use xiaowei_core::roster::{self, Column};

    #[test]
    fn the_template_has_a_header_the_checker_finds() {
        for (programme, title) in
            [(None, "补贴花名册（模板）"), (Some("草原生态保护补助奖励"), "草原生态保护补助奖励花名册（模板）")]
        {
            let bytes = template_xlsx(programme).unwrap_or_default();
            let grid = read_grid(&bytes).unwrap_or_default();
            assert_eq!(grid[0][0], title);
            let header = roster::find_header(&grid).ok();
            assert_eq!(header.as_ref().map(|h| h.row), Some(1));
            let columns = header.map(|h| h.columns).unwrap_or_default();
            assert_eq!(columns.get(&Column::ResidentId), Some(&2));
            assert_eq!(columns.get(&Column::Account), Some(&5));
            assert_eq!(grid.len(), 2, "the pre-formatted rows are blank");
            assert_eq!(roster::check(&grid, None), Err(roster::RosterFileError::Empty));
        }
    }

    fn valid_id(body: &str) -> String {
        let mut digits = [0u32; 17];
        for (slot, c) in digits.iter_mut().zip(body.chars()) {
            *slot = c.to_digit(10).unwrap_or(0);
        }
        format!("{body}{}", xiaowei_core::resident_id::check_char(&digits))
    }

    fn export(with_account: bool, masked: bool) -> ExportRoster {
        let person = |name: &str, body: &str, group: Option<&str>, fen: i64, note: Option<&str>| {
            let id = valid_id(body);
            ExportRow {
                name: name.to_owned(),
                resident_id: if masked { format!("{}********{}", &id[..6], &id[14..]) } else { id },
                group: group.map(str::to_owned),
                amount: Fen::new(fen).unwrap_or_default(),
                account: Some(format!("62284800{body}")[..19].to_owned()),
                note: note.map(str::to_owned),
            }
        };
        ExportRoster {
            title: "卓园村2025年草原生态保护补助奖励发放花名册".to_owned(),
            subtitle: vec!["单位：元".to_owned(), "审批日期：2025-03-01".to_owned()],
            with_account,
            rows: vec![
                person("张三", "62092219800101001", Some("一组"), 123_450, None),
                person("李四", "62092219751231002", None, 7, Some("新增")),
                person("王五", "62092219600229003", Some("二组"), 60_000, None),
            ],
        }
    }

    #[test]
    fn an_export_with_full_ids_reads_back_and_checks_clean() {
        for with_account in [true, false] {
            let roster = export(with_account, false);
            let grid = read_grid(&roster_xlsx(&roster).unwrap_or_default()).unwrap_or_default();
            assert_eq!(grid[0][0], roster.title);
            assert_eq!(grid[2][0], "审批日期：2025-03-01");
            let check = roster::check(&grid, None).unwrap_or_default();
            assert!(check.is_clean(), "{:?}", check.errors);
            let read: Vec<ExportRow> = check
                .lines
                .iter()
                .map(|l| ExportRow {
                    name: l.name.clone(),
                    resident_id: l.resident_id.expose().to_owned(),
                    group: l.group.clone(),
                    amount: l.amount,
                    account: l.account.clone(),
                    note: l.note.clone(),
                })
                .collect();
            let mut expected = roster.rows.clone();
            expected[1].group = Some("一组".to_owned());
            if !with_account {
                expected.iter_mut().for_each(|r| r.account = None);
            }
            assert_eq!(read, expected, "with_account = {with_account}");
            let total_row = grid.last().cloned().unwrap_or_default();
            assert_eq!(total_row[0], "合计");
            assert_eq!(total_row[4], "1834.57");
        }
    }

    #[test]
    fn an_export_with_masked_ids_keeps_the_mask() {
        let grid = read_grid(&roster_xlsx(&export(true, true)).unwrap_or_default()).unwrap_or_default();
        let id = valid_id("62092219800101001");
        assert_eq!(grid[4][2], format!("620922********{}", &id[14..]));
    }

    #[test]
    fn the_template_explains_how_to_fill_it_in() {
        use calamine::Reader;
        let bytes = template_xlsx(None).unwrap_or_default();
        let mut workbook = calamine::Xlsx::<_>::new(std::io::Cursor::new(bytes)).ok();
        let names = workbook.as_ref().map(|w| w.sheet_names()).unwrap_or_default();
        assert_eq!(names, ["花名册", "填写说明"]);
        let help = workbook.as_mut().and_then(|w| w.worksheet_range("填写说明").ok()).unwrap_or_default();
        let text: String = help.rows().flatten().map(|c| c.to_string()).collect();
        for must in ["18位", "两位小数", "一人", "合并", "合计"] {
            assert!(text.contains(must), "{must}");
        }
    }
}

/// A cell of a plain table export: text stays text (codes keep their digits), numbers are numbers.
#[derive(Debug, Clone, PartialEq)]
pub enum TableCell {
    Text(String),
    Number(i64),
}

/// A titled table in one sheet: the title, subtitle lines, a bold header row, then the rows.
/// Used for the monitor's figures, drill-downs and weekly summaries.
pub fn table_xlsx(
    sheet_name: &str,
    title: &str,
    subtitle: &[String],
    headers: &[&str],
    rows: &[Vec<TableCell>],
) -> Result<Vec<u8>, SheetError> {
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet().set_name(sheet_name)?;
    let bold = Format::new().set_bold();
    let title_format = Format::new().set_bold().set_font_size(16);
    sheet.write_string_with_format(0, 0, title, &title_format)?;
    let mut row: u32 = 1;
    for line in subtitle {
        sheet.write_string(row, 0, line)?;
        row += 1;
    }
    for (col, header) in headers.iter().enumerate() {
        sheet.write_string_with_format(row, col as u16, *header, &bold)?;
        sheet.set_column_width(col as u16, 14)?;
    }
    for cells in rows {
        row += 1;
        for (col, cell) in cells.iter().enumerate() {
            match cell {
                TableCell::Text(text) => sheet.write_string(row, col as u16, text)?,
                TableCell::Number(n) => sheet.write_number(row, col as u16, *n as f64)?,
            };
        }
    }
    Ok(workbook.save_to_buffer()?)
}
