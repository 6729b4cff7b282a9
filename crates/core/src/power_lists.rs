//! 四张清单: besides the power itself (权力清单) and its risk points (风险清单, in `power`), each
//! catalogue item carries a 责任清单 — who answers for what at each step of its procedure — and a
//! 追责清单 — which breach leads to which measure, on which legal basis.
//!
//! The back office edits both lists as text, one row per line with cells separated by `|`
//! (`步骤|责任主体|责任内容` and `违规情形|追责措施|追责依据`); [`parse_duties`] and
//! [`parse_accountability`] read them, naming the line at fault, and [`duties_text`] /
//! [`accountability_text`] write them back for the form.

use thiserror::Error;

/// A 责任清单 row: at procedure step `step_no` (1-based), `bearer` answers for `duty`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Duty {
    pub step_no: u16,
    /// 责任主体: 村党组织书记, 村务监督委员会, 乡镇农经站…
    pub bearer: String,
    /// 责任内容.
    pub duty: String,
}

/// A 追责清单 row: the breach, the measure it leads to and the measure's legal basis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accountability {
    /// 违规情形.
    pub breach: String,
    /// 追责措施.
    pub measure: String,
    /// 追责依据.
    pub basis: String,
}

pub const MAX_ROWS: usize = 40;
const MAX_BEARER: usize = 30;
const MAX_TEXT: usize = 200;

/// Why a list is refused; each message names the list and the line.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ListError {
    #[error("{list}：最多{MAX_ROWS}行")]
    TooManyRows { list: &'static str },
    #[error("{list}第{line}行：应为{shape}，用竖线 | 分隔")]
    Shape { list: &'static str, line: usize, shape: &'static str },
    #[error("责任清单第{line}行：步骤应为1至{steps}之间的数字")]
    Step { line: usize, steps: usize },
    #[error("{list}第{line}行：{cell}不能为空，且不超过{max}字")]
    Cell { list: &'static str, line: usize, cell: &'static str, max: usize },
}

const DUTIES: &str = "责任清单";
const ACCOUNTABILITY: &str = "追责清单";

/// The non-blank lines of a text area with their 1-based line numbers, split on `|` (full-width
/// `｜` too, as Chinese input methods type it).
fn rows(text: &str) -> impl Iterator<Item = (usize, Vec<&str>)> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| (i + 1, l.split(['|', '｜']).map(str::trim).collect()))
}

fn cell(list: &'static str, line: usize, name: &'static str, value: &str, max: usize) -> Result<String, ListError> {
    if value.is_empty() || value.chars().count() > max {
        return Err(ListError::Cell { list, line, cell: name, max });
    }
    Ok(value.to_owned())
}

/// Reads a 责任清单 typed as `步骤|责任主体|责任内容` lines for an item of `steps` procedure steps.
pub fn parse_duties(text: &str, steps: usize) -> Result<Vec<Duty>, ListError> {
    let mut out = Vec::new();
    for (line, cells) in rows(text) {
        let [step, bearer, duty] = cells[..] else {
            return Err(ListError::Shape { list: DUTIES, line, shape: "“步骤|责任主体|责任内容”三栏" });
        };
        let step_no = step
            .trim_start_matches('第')
            .trim_end_matches('步')
            .parse::<u16>()
            .ok()
            .filter(|n| *n >= 1 && usize::from(*n) <= steps)
            .ok_or(ListError::Step { line, steps })?;
        out.push(Duty {
            step_no,
            bearer: cell(DUTIES, line, "责任主体", bearer, MAX_BEARER)?,
            duty: cell(DUTIES, line, "责任内容", duty, MAX_TEXT)?,
        });
        if out.len() > MAX_ROWS {
            return Err(ListError::TooManyRows { list: DUTIES });
        }
    }
    out.sort_by_key(|d| d.step_no);
    Ok(out)
}

/// Reads a 追责清单 typed as `违规情形|追责措施|追责依据` lines.
pub fn parse_accountability(text: &str) -> Result<Vec<Accountability>, ListError> {
    let mut out = Vec::new();
    for (line, cells) in rows(text) {
        let [breach, measure, basis] = cells[..] else {
            return Err(ListError::Shape {
                list: ACCOUNTABILITY, line, shape: "“违规情形|追责措施|追责依据”三栏"
            });
        };
        out.push(Accountability {
            breach: cell(ACCOUNTABILITY, line, "违规情形", breach, MAX_TEXT)?,
            measure: cell(ACCOUNTABILITY, line, "追责措施", measure, MAX_TEXT)?,
            basis: cell(ACCOUNTABILITY, line, "追责依据", basis, MAX_TEXT)?,
        });
        if out.len() > MAX_ROWS {
            return Err(ListError::TooManyRows { list: ACCOUNTABILITY });
        }
    }
    Ok(out)
}

/// A 责任清单 as the form shows it, one `步骤|责任主体|责任内容` line per row.
pub fn duties_text(duties: &[Duty]) -> String {
    duties.iter().map(|d| format!("{}|{}|{}\n", d.step_no, d.bearer, d.duty)).collect()
}

/// A 追责清单 as the form shows it, one `违规情形|追责措施|追责依据` line per row.
pub fn accountability_text(rows: &[Accountability]) -> String {
    rows.iter().map(|a| format!("{}|{}|{}\n", a.breach, a.measure, a.basis)).collect()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn duties_are_read_per_step_and_sorted() {
        let text = "2|村务监督委员会|审核会议记录\n\n第1步|村党组织书记｜提出议题并对议题合规负责\n";
        let duties = parse_duties(text, 3).unwrap();
        assert_eq!(duties.len(), 2);
        assert_eq!(
            duties[0],
            Duty {
                step_no: 1, bearer: "村党组织书记".into(), duty: "提出议题并对议题合规负责".into()
            }
        );
        assert_eq!(duties[1].step_no, 2);
    }

    #[test]
    fn a_duty_names_its_line_when_refused() {
        assert_eq!(parse_duties("1|书记|议题\n4|村委会|公开", 3), Err(ListError::Step { line: 2, steps: 3 }));
        assert_eq!(
            parse_duties("1|书记", 3).unwrap_err().to_string(),
            "责任清单第1行：应为“步骤|责任主体|责任内容”三栏，用竖线 | 分隔"
        );
        assert_eq!(
            parse_duties("1||议题", 3).unwrap_err().to_string(),
            "责任清单第1行：责任主体不能为空，且不超过30字"
        );
    }

    #[test]
    fn accountability_needs_breach_measure_and_basis() {
        let rows = parse_accountability("未经民主程序决策|诫勉谈话；情节严重的给予党纪处分|《中国共产党纪律处分条例》")
            .unwrap();
        assert_eq!(rows[0].measure, "诫勉谈话；情节严重的给予党纪处分");
        assert_eq!(
            parse_accountability("a|b|").unwrap_err().to_string(),
            "追责清单第1行：追责依据不能为空，且不超过200字"
        );
        let many = "a|b|c\n".repeat(MAX_ROWS + 1);
        assert_eq!(parse_accountability(&many), Err(ListError::TooManyRows { list: "追责清单" }));
    }

    proptest! {
        #[test]
        fn lists_round_trip_through_their_text(
            duties in proptest::collection::vec((1u16..=5, "[\\p{Han}a-z]{1,10}", "[\\p{Han}a-z，；]{1,40}"), 0..10),
            acc in proptest::collection::vec(("[\\p{Han}]{1,20}", "[\\p{Han}；]{1,20}", "[\\p{Han}《》]{1,20}"), 0..10),
        ) {
            let mut duties: Vec<Duty> =
                duties.into_iter().map(|(step_no, bearer, duty)| Duty { step_no, bearer, duty }).collect();
            duties.sort_by_key(|d| d.step_no);
            prop_assert_eq!(parse_duties(&duties_text(&duties), 5).unwrap(), duties);
            let acc: Vec<Accountability> =
                acc.into_iter().map(|(breach, measure, basis)| Accountability { breach, measure, basis }).collect();
            prop_assert_eq!(parse_accountability(&accountability_text(&acc)).unwrap(), acc);
        }

        #[test]
        fn any_text_is_read_or_refused_without_panic(text in "\\PC{0,200}") {
            let _ = parse_duties(&text, 4);
            let _ = parse_accountability(&text);
        }
    }
}
