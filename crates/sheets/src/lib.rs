//! Spreadsheet files as clerks exchange them: reading a roster grid from xlsx, xls or CSV
//! (UTF-8 or GBK), checking it with the core roster rules and reporting the result, and writing
//! the blank template and roster exports as xlsx. An xlsx is checked against inflation limits
//! before calamine opens it. Bytes in, bytes out: no file system access.

mod calendar;
mod cfb;
pub mod error;
pub mod read;
pub mod report;
pub mod sample;
pub mod write;
mod xlsx_guard;

pub use error::SheetError;
pub use read::{FileKind, MAX_COLUMNS, MAX_ROWS, calamine_read_only, read_grid, sniff};
pub use report::{FileProblem, check_file, report_json, report_text};
pub use sample::{sample_roster_xlsx, shared_strings_bomb};
pub use write::{ExportRoster, ExportRow, TableCell, roster_xlsx, table_xlsx, template_xlsx};
