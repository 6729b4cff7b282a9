//! Checking an uploaded roster file end to end and reporting the outcome for the command line
//! (`xiaowei roster check`), as Chinese text or JSON. Reports never show a full ID number.

use serde_json::{Value, json};
use thiserror::Error;
use xiaowei_core::roster::{self, RosterCheck, RosterFileError};

use crate::error::SheetError;
use crate::read::read_grid;

/// Why a whole file could not be checked: it could not be read, or it is not a roster.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FileProblem {
    #[error(transparent)]
    Sheet(#[from] SheetError),
    #[error(transparent)]
    Roster(#[from] RosterFileError),
}

/// Reads the file and checks every row against the programme's standard, if it has one.
pub fn check_file(bytes: &[u8], standard: Option<roster::Standard>) -> Result<RosterCheck, FileProblem> {
    let grid = read_grid(bytes)?;
    Ok(roster::check(&grid, standard)?)
}

/// The outcome as lines of Chinese text: file, valid rows, total, every error, and a verdict.
pub fn report_text(file_name: &str, result: &Result<RosterCheck, FileProblem>) -> String {
    let mut out = format!("文件：{}\n", redact_ids(file_name));
    match result {
        Err(problem) => {
            out.push_str(&format!("无法检查：{}\n", redact_ids(&problem.to_string())));
            out.push_str("请修改后重新检查\n");
        }
        Ok(check) => {
            out.push_str(&format!("有效行数：{}\n", check.lines.len()));
            out.push_str(&format!("合计金额：{} 元\n", check.total()));
            for error in &check.errors {
                out.push_str(&redact_ids(&error.to_string()));
                out.push('\n');
            }
            if check.is_clean() {
                out.push_str("检查通过，可以导入\n");
            } else {
                out.push_str(&format!("发现 {} 处错误，请修改后重新检查\n", check.errors.len()));
            }
        }
    }
    out
}

/// The outcome as JSON: `{"file", "ok", "rows", "total_fen", "errors": [{"row", "column",
/// "message"}]}`, or `{"file", "ok": false, "error"}` when the file could not be checked.
pub fn report_json(file_name: &str, result: &Result<RosterCheck, FileProblem>) -> Value {
    let file = redact_ids(file_name);
    match result {
        Err(problem) => json!({ "file": file, "ok": false, "error": redact_ids(&problem.to_string()) }),
        Ok(check) => {
            let errors: Vec<Value> = check
                .errors
                .iter()
                .map(|e| json!({ "row": e.row, "column": e.column, "message": redact_ids(&e.message) }))
                .collect();
            json!({
                "file": file,
                "ok": check.is_clean(),
                "rows": check.lines.len(),
                "total_fen": check.total().as_fen(),
                "errors": errors,
            })
        }
    }
}

/// Masks every run of 15 or more digits (an ID number, possibly ending in X, or a bank account)
/// to its first six and last four characters, so that no report can leak one.
fn redact_ids(text: &str) -> String {
    const SHORTEST: usize = 15;
    let is_digit = |c: char| c.is_ascii_digit() || ('０'..='９').contains(&c);
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let mut end = i;
        while end < chars.len() && is_digit(chars[end]) {
            end += 1;
        }
        if end - i >= 14 && end < chars.len() && matches!(chars[end], 'X' | 'x' | 'Ｘ' | 'ｘ') {
            end += 1;
        }
        if end - i >= SHORTEST {
            out.extend(&chars[i..i + 6]);
            out.extend(std::iter::repeat_n('*', end - i - 10));
            out.extend(&chars[end - 4..end]);
            i = end;
        } else if end > i {
            out.extend(&chars[i..end]);
            i = end;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use xiaowei_core::roster::CellError;

    fn sample_check() -> RosterCheck {
        let grid: Vec<Vec<String>> = [
            ["姓名", "身份证号", "金额"],
            ["张三", "11010519491231002X", "1,234.50"],
            ["李四", "110105194912310021", "600"],
            ["王五", "11010519491231002X", "600"],
        ]
        .iter()
        .map(|r| r.iter().map(|c| (*c).to_owned()).collect())
        .collect();
        roster::check(&grid, None).unwrap_or_default()
    }

    #[test]
    fn the_text_report_lists_rows_total_errors_and_verdict() {
        let text = report_text("名单.xlsx", &Ok(sample_check()));
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            [
                "文件：名单.xlsx",
                "有效行数：1",
                "合计金额：1,234.50 元",
                "第3行 身份证号：身份证号校验位不正确，请核对",
                "第4行 身份证号：与第2行的身份证号重复",
                "发现 2 处错误，请修改后重新检查",
            ]
        );
    }

    #[test]
    fn a_clean_file_is_passed() {
        let check = RosterCheck { lines: sample_check().lines, errors: vec![] };
        assert!(report_text("a.csv", &Ok(check)).ends_with("检查通过，可以导入\n"));
    }

    #[test]
    fn a_file_level_problem_is_reported_in_chinese() {
        let result = Err(FileProblem::Sheet(SheetError::Unrecognised));
        assert!(report_text("a.png", &result).contains("无法检查：无法识别的文件"));
        assert_eq!(
            report_json("a.png", &result),
            json!({ "file": "a.png", "ok": false, "error": SheetError::Unrecognised.to_string() })
        );
        let result = Err(FileProblem::Roster(RosterFileError::Empty));
        assert_eq!(report_json("a.xlsx", &result)["error"], "文件中没有数据行");
    }

    #[test]
    fn the_json_report_carries_counts_and_errors() {
        let value = report_json("名单.xlsx", &Ok(sample_check()));
        assert_eq!(value["ok"], false);
        assert_eq!(value["rows"], 1);
        assert_eq!(value["total_fen"], 123_450);
        assert_eq!(
            value["errors"][0],
            json!({ "row": 3, "column": "身份证号", "message": "身份证号校验位不正确，请核对" })
        );
        assert_eq!(value["errors"].as_array().map(Vec::len), Some(2));
    }

    #[test]
    fn reports_never_show_a_full_id_number() {
        let leaky = RosterCheck {
            lines: vec![],
            errors: vec![CellError {
                row: 2,
                column: "金额",
                message: "金额“11010519491231002X”不是有效的数字".into(),
            }],
        };
        let result = Ok(leaky);
        let text = report_text("张三110105194912310021.xlsx", &result);
        let json = report_json("张三110105194912310021.xlsx", &result).to_string();
        for shown in [text, json] {
            assert!(!shown.contains("19491231"), "{shown}");
            assert!(shown.contains("110105********002X"), "{shown}");
            assert!(shown.contains("110105********0021"), "{shown}");
        }
    }

    #[test]
    fn redaction_leaves_short_numbers_alone() {
        let cases = [
            ("第12行 金额600元", "第12行 金额600元"),
            ("账号6228480012345678901", "账号622848*********8901"),
            ("１１０１０５１９４９１２３１００２Ｘ", "１１０１０５********００２Ｘ"),
            ("12345678901234", "12345678901234"),
        ];
        for (input, shown) in cases {
            assert_eq!(redact_ids(input), shown);
        }
    }
}
