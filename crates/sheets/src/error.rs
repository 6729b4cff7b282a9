//! Why a spreadsheet file could not be read or written, in words a clerk understands.

use thiserror::Error;

/// A problem with the file as a whole (not with a cell in it).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SheetError {
    #[error("文件是空的：请选择填写好的花名册文件")]
    EmptyFile,
    #[error("无法识别的文件：请上传 .xlsx、.xls 或 .csv 文件")]
    Unrecognised,
    #[error("文件已损坏或不是有效的Excel文件：{0}")]
    Corrupt(String),
    #[error("CSV文件格式有误：{0}")]
    BadCsv(String),
    #[error("工作簿中没有包含数据的工作表")]
    NoDataSheet,
    #[error("文件过大：最多 {0} 行")]
    TooManyRows(usize),
    #[error("文件过宽：最多 {0} 列")]
    TooManyColumns(usize),
    #[error("文件过大：最多 {0} 个有内容的单元格")]
    TooManyCells(usize),
    #[error("文件内容异常，已拒绝读取：{0}。请在Excel中另存为新文件后重新上传")]
    Bomb(String),
    #[error("生成Excel文件失败：{0}")]
    Write(String),
}

impl From<rust_xlsxwriter::XlsxError> for SheetError {
    fn from(e: rust_xlsxwriter::XlsxError) -> Self {
        Self::Write(e.to_string())
    }
}
