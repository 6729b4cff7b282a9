//! Reading uploaded bytes into a grid of cell texts: telling xlsx, xls and CSV apart by content,
//! decoding CSV from UTF-8, UTF-16 or GBK, and turning Excel cell values into the text a clerk
//! sees. The grid keeps spreadsheet positions: `grid[r][c]` is row `r + 1`, column `c + 1`.

use std::borrow::Cow;
use std::io::Cursor;

use calamine::{Data, ExcelDateTime, Reader, Xls, Xlsx, XlsxError};
use encoding_rs::{Encoding, GB18030};

use crate::calendar::civil_from_days;
use crate::cfb;
use crate::error::SheetError;

/// The most rows a file may have (including title and header rows).
pub const MAX_ROWS: usize = 200_000;
/// The most columns a file may use.
pub const MAX_COLUMNS: usize = 256;
/// The most non-empty cells a file may have.
pub(crate) const MAX_CELLS: usize = 4_000_000;

/// What an upload is, judged by its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// A zip container (Office Open XML).
    Xlsx,
    /// An OLE2 compound file (Excel 97–2003).
    Xls,
    /// Anything else is taken for CSV text.
    Csv,
}

const ZIP_MAGIC: &[u8] = b"PK\x03\x04";
const CFB_MAGIC: &[u8] = &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Tells the file kind from its content, never from its name.
pub fn sniff(bytes: &[u8]) -> FileKind {
    if bytes.starts_with(ZIP_MAGIC) {
        FileKind::Xlsx
    } else if bytes.starts_with(CFB_MAGIC) {
        FileKind::Xls
    } else {
        FileKind::Csv
    }
}

/// Reads the first worksheet that has any non-empty cell (or the CSV text) into rows of cell
/// texts. Rows may have different lengths; missing cells are empty.
pub fn read_grid(bytes: &[u8]) -> Result<Vec<Vec<String>>, SheetError> {
    if bytes.is_empty() {
        return Err(SheetError::EmptyFile);
    }
    match sniff(bytes) {
        FileKind::Xlsx => guarded(|| read_xlsx(bytes)),
        FileKind::Xls => guarded(|| read_xls(bytes)),
        FileKind::Csv => read_csv(bytes),
    }
}

/// Runs a calamine parse, turning a panic inside calamine on a damaged file into an error.
fn guarded<T>(parse: impl FnOnce() -> Result<T, SheetError>) -> Result<T, SheetError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(parse))
        .unwrap_or_else(|_| Err(SheetError::Corrupt("无法解析文件内容".to_owned())))
}

/// The baseline for benchmarks: opens the workbook and reads the first sheet's range with
/// calamine, doing nothing else. Returns the number of cells in the range. CSV is not a
/// calamine format and gives [`SheetError::Unrecognised`].
pub fn calamine_read_only(bytes: &[u8]) -> Result<usize, SheetError> {
    fn first_range<R: Reader<Cursor<B>>, B: AsRef<[u8]>>(bytes: B) -> Result<usize, SheetError>
    where
        R::Error: std::fmt::Display,
    {
        let mut workbook = R::new(Cursor::new(bytes)).map_err(corrupt)?;
        let name = workbook.sheet_names().into_iter().next().ok_or(SheetError::NoDataSheet)?;
        let range = workbook.worksheet_range(&name).map_err(corrupt)?;
        let (height, width) = range.get_size();
        Ok(height * width)
    }
    match sniff(bytes) {
        FileKind::Xlsx => guarded(|| first_range::<Xlsx<_>, _>(bytes)),
        FileKind::Xls => guarded(|| {
            cfb::check(bytes)?;
            first_range::<Xls<_>, _>(bytes)
        }),
        FileKind::Csv => Err(SheetError::Unrecognised),
    }
}

/// Keeps only the first line of a library's error: enough to tell a clerk, short enough to read.
fn corrupt(e: impl std::fmt::Display) -> SheetError {
    let detail = e.to_string();
    let first_line = detail.lines().next().unwrap_or_default();
    SheetError::Corrupt(first_line.chars().take(120).collect())
}

/// Builds the grid cell by cell, enforcing the size limits.
#[derive(Default)]
struct GridBuilder {
    rows: Vec<Vec<String>>,
    width: usize,
    cells: usize,
    has_text: bool,
}

impl GridBuilder {
    fn put(&mut self, row: usize, column: usize, text: String) -> Result<(), SheetError> {
        if text.is_empty() {
            return Ok(());
        }
        if row >= MAX_ROWS {
            return Err(SheetError::TooManyRows(MAX_ROWS));
        }
        if column >= MAX_COLUMNS {
            return Err(SheetError::TooManyColumns(MAX_COLUMNS));
        }
        self.cells += 1;
        if self.cells > MAX_CELLS {
            return Err(SheetError::TooManyCells(MAX_CELLS));
        }
        self.has_text |= !text.trim().is_empty();
        if self.rows.len() <= row {
            self.rows.resize_with(row + 1, Vec::new);
        }
        self.width = self.width.max(column + 1);
        let cells = &mut self.rows[row];
        if cells.capacity() == 0 {
            cells.reserve_exact(self.width);
        }
        if cells.len() <= column {
            cells.resize_with(column + 1, String::new);
        }
        cells[column] = text;
        Ok(())
    }

    /// The grid, if any cell holds more than white space.
    fn finish(self) -> Option<Vec<Vec<String>>> {
        self.has_text.then_some(self.rows)
    }
}

fn read_xlsx(bytes: &[u8]) -> Result<Vec<Vec<String>>, SheetError> {
    crate::xlsx_guard::check(bytes)?;
    let mut workbook: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).map_err(corrupt)?;
    for name in workbook.sheet_names() {
        let mut cells = match workbook.worksheet_cells_reader(&name) {
            Ok(cells) => cells,
            Err(XlsxError::NotAWorksheet(_)) => continue,
            Err(e) => return Err(corrupt(e)),
        };
        let mut grid = GridBuilder::default();
        while let Some(cell) = cells.next_cell().map_err(corrupt)? {
            let (row, column) = cell.get_position();
            grid.put(row as usize, column as usize, cell_text(cell.get_value().clone().into()))?;
        }
        if let Some(rows) = grid.finish() {
            return Ok(rows);
        }
    }
    Err(SheetError::NoDataSheet)
}

fn read_xls(bytes: &[u8]) -> Result<Vec<Vec<String>>, SheetError> {
    cfb::check(bytes)?;
    let mut workbook: Xls<_> = Xls::new(Cursor::new(bytes)).map_err(corrupt)?;
    for name in workbook.sheet_names() {
        let range = workbook.worksheet_range(&name).map_err(corrupt)?;
        let Some((first_row, first_column)) = range.start() else { continue };
        let mut grid = GridBuilder::default();
        for (row, column, value) in range.used_cells() {
            grid.put(first_row as usize + row, first_column as usize + column, cell_text(value.clone()))?;
        }
        if let Some(rows) = grid.finish() {
            return Ok(rows);
        }
    }
    Err(SheetError::NoDataSheet)
}

/// The text a clerk sees in a cell: numbers without a trailing `.0`, booleans as 是/否, dates as
/// `YYYY-MM-DD`, errors as empty.
fn cell_text(value: Data) -> String {
    match value {
        Data::String(s) | Data::DurationIso(s) => s,
        Data::Int(i) => i.to_string(),
        Data::Float(f) => number_text(f),
        Data::Bool(b) => if b { "是" } else { "否" }.to_owned(),
        Data::DateTime(dt) => date_text(dt),
        Data::DateTimeIso(s) => match s.split_once('T') {
            Some((date, _)) => date.to_owned(),
            None => s,
        },
        Data::Error(_) | Data::Empty => String::new(),
    }
}

/// Shortest decimal text that reads back as the same number. Integral values have no fraction;
/// an 18-digit ID typed as a number (stored by Excel with 15 significant digits) comes out as its
/// integer text, which the roster check then reports.
fn number_text(f: f64) -> String {
    if f == 0.0 { "0".to_owned() } else { f.to_string() }
}

/// Excel's serial date (1900 date system, with its phantom 1900-02-29) as `YYYY-MM-DD`; the time
/// of day is dropped. Serials outside 1900–9999 are shown as numbers.
fn date_text(dt: ExcelDateTime) -> String {
    let serial = dt.as_f64();
    if !(1.0..2_958_466.0).contains(&serial) {
        return number_text(serial);
    }
    let whole = serial.floor() as i64;
    let whole = if whole < 60 { whole + 1 } else { whole };
    let (year, month, day) = civil_from_days(whole - 25_569);
    format!("{year:04}-{month:02}-{day:02}")
}

fn read_csv(bytes: &[u8]) -> Result<Vec<Vec<String>>, SheetError> {
    let text = decode_text(bytes)?;
    let first_line = text.lines().find(|l| !l.trim().is_empty()).unwrap_or_default();
    let delimiter = if first_line.contains('\t') && !first_line.contains(',') { b'\t' } else { b',' };
    let mut reader =
        csv::ReaderBuilder::new().has_headers(false).flexible(true).delimiter(delimiter).from_reader(text.as_bytes());
    let mut record = csv::StringRecord::new();
    let mut grid: Vec<Vec<String>> = Vec::new();
    let mut cells = 0;
    while reader.read_record(&mut record).map_err(|e| SheetError::BadCsv(e.to_string()))? {
        // The parser skips blank lines, which are rows in Excel: count them between the end of
        // the previous record and this one.
        let start = record.position().map_or(0, |p| p.byte() as usize);
        let row = grid.len() + blank_lines_at(text.as_bytes(), start);
        if row >= MAX_ROWS {
            return Err(SheetError::TooManyRows(MAX_ROWS));
        }
        if record.len() > MAX_COLUMNS {
            return Err(SheetError::TooManyColumns(MAX_COLUMNS));
        }
        cells += record.len();
        if cells > MAX_CELLS {
            return Err(SheetError::TooManyCells(MAX_CELLS));
        }
        grid.resize_with(row, Vec::new);
        grid.push(record.iter().map(str::to_owned).collect());
    }
    Ok(grid)
}

/// How many line breaks (`\n`, `\r\n` or a lone `\r`) begin at `start`. The parser ends a
/// record at the `\r` of a `\r\n`, so a `\n` right after it belongs to the previous record.
fn blank_lines_at(bytes: &[u8], start: usize) -> usize {
    let mut count = 0;
    for i in start..bytes.len() {
        let previous = i.checked_sub(1).and_then(|p| bytes.get(p));
        match bytes[i] {
            b'\n' if i == start && previous == Some(&b'\r') => {}
            b'\n' => count += 1,
            b'\r' if bytes.get(i + 1) != Some(&b'\n') => count += 1,
            b'\r' => {}
            _ => break,
        }
    }
    count
}

/// Decodes CSV bytes: UTF-8 (with or without BOM), UTF-16 with a BOM, else GB18030 (a superset
/// of the GBK that Chinese Excel saves). Binary content is refused.
fn decode_text(bytes: &[u8]) -> Result<Cow<'_, str>, SheetError> {
    let bytes = bytes.strip_prefix(UTF8_BOM).unwrap_or(bytes);
    let text = if let Ok(text) = std::str::from_utf8(bytes) {
        Cow::Borrowed(text)
    } else {
        let (encoding, bom_length) = Encoding::for_bom(bytes).unwrap_or((GB18030, 0));
        let (text, had_errors) = encoding.decode_without_bom_handling(&bytes[bom_length..]);
        if had_errors {
            return Err(SheetError::Unrecognised);
        }
        text
    };
    if text.chars().any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r')) {
        return Err(SheetError::Unrecognised);
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn grid(rows: &[&[&str]]) -> Vec<Vec<String>> {
        rows.iter().map(|r| r.iter().map(|c| (*c).to_owned()).collect()).collect()
    }

    #[test]
    fn the_kind_is_sniffed_from_content() {
        let cases: [(&[u8], FileKind); 5] = [
            (b"PK\x03\x04rest", FileKind::Xlsx),
            (&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1, 0], FileKind::Xls),
            ("姓名,身份证号".as_bytes(), FileKind::Csv),
            (b"PK", FileKind::Csv),
            (b"", FileKind::Csv),
        ];
        for (bytes, kind) in cases {
            assert_eq!(sniff(bytes), kind, "{bytes:?}");
        }
    }

    #[test]
    fn numbers_read_as_the_text_a_clerk_typed() {
        let cases = [
            (Data::Float(600.0), "600"),
            (Data::Float(600.5), "600.5"),
            (Data::Float(1234.56), "1234.56"),
            (Data::Float(0.07), "0.07"),
            (Data::Float(-0.0), "0"),
            (Data::Float(6.20922198001011e17), "620922198001011000"),
            (Data::Float(6_209_221_980_010.0), "6209221980010"),
            (Data::Int(42), "42"),
            (Data::Bool(true), "是"),
            (Data::Bool(false), "否"),
            (Data::Error(calamine::CellErrorType::Div0), ""),
            (Data::Empty, ""),
            (Data::String(" 张三 ".into()), " 张三 "),
            (Data::DateTimeIso("2024-03-01T00:00:00".into()), "2024-03-01"),
        ];
        for (value, text) in cases {
            assert_eq!(cell_text(value.clone()), text, "{value:?}");
        }
    }

    #[test]
    fn excel_serial_dates_read_as_iso_dates() {
        let date = |serial| {
            cell_text(Data::DateTime(ExcelDateTime::new(serial, calamine::ExcelDateTimeType::DateTime, false)))
        };
        assert_eq!(date(45_352.0), "2024-03-01");
        assert_eq!(date(45_352.75), "2024-03-01");
        assert_eq!(date(61.0), "1900-03-01");
        assert_eq!(date(1.0), "1900-01-01");
        assert_eq!(date(3_000_000.0), "3000000");
        assert_eq!(date(-1.0), "-1");
    }

    #[test]
    fn utf8_csv_with_a_bom_reads() {
        let bytes = "\u{FEFF}姓名,身份证号,金额\r\n张三,\"110105194912310021\",\"1,234.50\"\r\n".as_bytes();
        assert_eq!(
            read_grid(bytes),
            Ok(grid(&[&["姓名", "身份证号", "金额"], &["张三", "110105194912310021", "1,234.50"]]))
        );
    }

    #[test]
    fn gbk_csv_as_saved_by_chinese_excel_reads() {
        let (bytes, _, _) = encoding_rs::GBK.encode("花名册\n姓名,组\n张三,一组\n");
        assert_eq!(read_grid(&bytes), Ok(grid(&[&["花名册"], &["姓名", "组"], &["张三", "一组"]])));
    }

    #[test]
    fn utf16_csv_with_a_bom_reads() {
        let mut bytes = vec![0xFF, 0xFE];
        bytes.extend("姓名\t金额\n张三\t600\n".encode_utf16().flat_map(u16::to_le_bytes));
        assert_eq!(read_grid(&bytes), Ok(grid(&[&["姓名", "金额"], &["张三", "600"]])));
    }

    #[test]
    fn csv_rows_keep_their_excel_row_numbers() {
        let cases = [
            "标题\n\n姓名,备注\n张三,\"两行\n备注\"\n李四,x\n",
            "标题\r\n\r\n姓名,备注\r\n张三,\"两行\n备注\"\r\n李四,x",
            "标题\r\r姓名,备注\r张三,\"两行\n备注\"\r李四,x\r\r",
        ];
        for text in cases {
            let rows = read_grid(text.as_bytes()).unwrap_or_default();
            assert_eq!(rows.len(), 5, "{text:?}");
            assert!(rows[1].is_empty(), "a blank line is an empty row: {text:?}");
            assert_eq!(rows[3], ["张三", "两行\n备注"], "{text:?}");
            assert_eq!(rows[4], ["李四", "x"], "a line break inside quotes is not a row: {text:?}");
        }
        let leading = read_grid("\n\n姓名".as_bytes()).unwrap_or_default();
        assert_eq!(leading, [vec![], vec![], vec!["姓名".to_owned()]]);
    }

    #[test]
    fn unreadable_files_give_a_clear_reason() {
        let png: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x10";
        let cases: [(&[u8], SheetError); 4] = [
            (b"", SheetError::EmptyFile),
            (png, SheetError::Unrecognised),
            (&[0, 159, 146, 150, 1, 2, 3], SheetError::Unrecognised),
            (b"PK\x03\x04\x14\0\0\0garbage", SheetError::Corrupt(String::new())),
        ];
        for (bytes, expected) in cases {
            let got = read_grid(bytes);
            match (&got, &expected) {
                (Err(SheetError::Corrupt(_)), SheetError::Corrupt(_)) => {}
                _ => assert_eq!(got, Err(expected), "{bytes:?}"),
            }
        }
        let xls_header = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1, 1, 2, 3];
        assert!(matches!(read_grid(&xls_header), Err(SheetError::Corrupt(_))));
        assert!(SheetError::Unrecognised.to_string().contains(".xlsx、.xls 或 .csv"));
    }

    #[test]
    fn too_many_rows_are_refused() {
        let text = "a\n".repeat(MAX_ROWS + 1);
        assert_eq!(read_grid(text.as_bytes()), Err(SheetError::TooManyRows(MAX_ROWS)));
        let wide = vec!["x"; MAX_COLUMNS + 1].join(",");
        assert_eq!(read_grid(wide.as_bytes()), Err(SheetError::TooManyColumns(MAX_COLUMNS)));
    }

    /// A valid ID number from its first 17 digits.
    fn valid_id(body: &str) -> String {
        let mut digits = [0u32; 17];
        for (slot, c) in digits.iter_mut().zip(body.chars()) {
            *slot = c.to_digit(10).unwrap_or(0);
        }
        format!("{body}{}", xiaowei_core::resident_id::check_char(&digits))
    }

    /// Valid ID numbers that a float holds exactly, as some tools write them into a number cell.
    fn ids_exact_as_numbers(count: usize) -> Vec<(String, f64)> {
        (0..100_000u32)
            .map(|i| valid_id(&format!("6209221980{:02}{:02}{:03}", 1 + i / 28_000, 1 + (i / 1000) % 28, i % 1000)))
            .filter_map(|id| id.parse::<u64>().ok().map(|n| (id, n as f64)))
            .filter(|(id, f)| number_text(*f) == *id)
            .take(count)
            .collect()
    }

    #[test]
    fn an_xlsx_roster_with_titles_merged_groups_and_numeric_ids_checks_clean() {
        let numeric = ids_exact_as_numbers(2);
        assert_eq!(numeric.len(), 2);
        let mut workbook = rust_xlsxwriter::Workbook::new();
        workbook.add_worksheet().set_name("说明").map(|_| ()).unwrap();
        let sheet = workbook.add_worksheet();
        let plain = rust_xlsxwriter::Format::new();
        sheet.merge_range(0, 0, 0, 4, "卓园村2025年草原生态保护补助奖励拟发放花名册", &plain).unwrap();
        sheet.write(1, 4, "单位：元").unwrap();
        for (col, header) in ["序号", "户主姓名", "身份证号码", "组", "补贴金额（元）"].into_iter().enumerate()
        {
            sheet.write(2, col as u16, header).unwrap();
        }
        sheet.write_row(3, 1, ["张三", &valid_id("62092219800101001")]).unwrap();
        sheet.write(3, 4, "1,234.50").unwrap();
        sheet.write(4, 1, "李四").unwrap();
        sheet.write(4, 2, numeric[0].1).unwrap();
        sheet.write(4, 4, "600元").unwrap();
        sheet.write(5, 1, "王五").unwrap();
        sheet.write(5, 2, numeric[1].1).unwrap();
        sheet.write(5, 4, 600.5).unwrap();
        sheet.merge_range(3, 3, 4, 3, "一组", &plain).unwrap();
        sheet.merge_range(5, 3, 6, 3, "二组", &plain).unwrap();
        sheet.write_row(6, 1, ["赵六", &valid_id("62092219800101004"), ""]).unwrap();
        sheet.write(6, 4, 88).unwrap();
        sheet.write_row(7, 0, ["合计", "", "", "", "2523"]).unwrap();
        let bytes = workbook.save_to_buffer().unwrap();

        let grid = read_grid(&bytes).unwrap();
        assert_eq!(grid[0][0], "卓园村2025年草原生态保护补助奖励拟发放花名册", "the empty first sheet is passed over");
        assert_eq!(grid[4][2], numeric[0].0, "a numeric ID keeps all its digits");
        let check = xiaowei_core::roster::check(&grid, None).unwrap();
        assert!(check.is_clean(), "{:?}", check.errors);
        let lines: Vec<(usize, &str, i64, Option<&str>)> =
            check.lines.iter().map(|l| (l.row, l.name.as_str(), l.amount.as_fen(), l.group.as_deref())).collect();
        assert_eq!(
            lines,
            [
                (4, "张三", 123_450, Some("一组")),
                (5, "李四", 60_000, Some("一组")),
                (6, "王五", 60_050, Some("二组")),
                (7, "赵六", 8_800, Some("二组")),
            ]
        );
    }

    #[test]
    fn an_id_excel_rounded_to_fifteen_digits_is_reported_not_misread() {
        let mut workbook = rust_xlsxwriter::Workbook::new();
        let sheet = workbook.add_worksheet();
        sheet.write_row(0, 0, ["姓名", "身份证号", "金额"]).unwrap();
        sheet.write(1, 0, "张三").unwrap();
        sheet.write(1, 1, 6.209_221_980_010_12e17).unwrap();
        sheet.write(1, 2, 600).unwrap();
        let grid = read_grid(&workbook.save_to_buffer().unwrap()).unwrap();
        assert_eq!(grid[1][1], "620922198001012000");
        let check = xiaowei_core::roster::check(&grid, None).unwrap();
        assert_eq!(check.errors.iter().map(|e| (e.row, e.column)).collect::<Vec<_>>(), [(2, "身份证号")]);
    }

    #[test]
    fn an_xls_roster_reads_and_checks_clean() {
        let grid = read_grid(include_bytes!("../tests/fixtures/roster.xls")).unwrap();
        assert_eq!(grid[0][0], "卓园村2025年草原生态保护补助奖励发放花名册");
        let check = xiaowei_core::roster::check(&grid, None).unwrap();
        assert!(check.is_clean(), "{:?}", check.errors);
        let lines: Vec<(usize, &str, i64, Option<&str>)> =
            check.lines.iter().map(|l| (l.row, l.name.as_str(), l.amount.as_fen(), l.group.as_deref())).collect();
        assert_eq!(
            lines,
            [
                (4, "张三", 123_450, Some("一组")),
                (5, "李四", 123_450, Some("一组")),
                (6, "王五", 60_000, Some("一组")),
                (7, "赵六", 60_000, Some("二组")),
                (8, "钱七", 8_808, Some("二组")),
            ]
        );
        assert_eq!(check.lines[4].note.as_deref(), Some("2025-03-01"), "a date cell reads as a date");
        assert_eq!(check.lines[0].resident_id.expose(), valid_id("62092219800101001"));
    }

    #[test]
    fn the_calamine_baseline_counts_the_first_sheets_cells() {
        assert_eq!(calamine_read_only(include_bytes!("../tests/fixtures/roster.xls")), Ok(9 * 6));
        assert_eq!(calamine_read_only(b"a,b"), Err(SheetError::Unrecognised));
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = read_grid(&bytes);
            let _ = calamine_read_only(&bytes);
        }

        #[test]
        fn a_damaged_xls_never_panics(flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8)) {
            let mut file = include_bytes!("../tests/fixtures/roster.xls").to_vec();
            let length = file.len();
            for (at, byte) in flips {
                file[at % length] = byte;
            }
            let _ = read_grid(&file);
        }

        #[test]
        fn a_damaged_xlsx_never_panics(flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8)) {
            let mut file = crate::sample_roster_xlsx(20, 3).unwrap_or_default();
            let length = file.len();
            for (at, byte) in flips {
                file[at % length] = byte;
            }
            let _ = read_grid(&file);
        }

        #[test]
        fn random_bytes_behind_an_excel_magic_never_panic(zip in any::<bool>(), bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let mut file = if zip { ZIP_MAGIC.to_vec() } else { CFB_MAGIC.to_vec() };
            file.extend(bytes);
            prop_assert!(read_grid(&file).is_err());
        }
    }
}
