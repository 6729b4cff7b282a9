//! 小微权力 (micro-powers): the power catalogue's items and their procedures, the checks an item
//! must pass, the evaluation of a 权力运行记录 (power exercise) against its procedure, and the
//! flowchart drawn from a procedure. Pure rules: the caller supplies dates; nothing here reads a
//! clock or a database, and the flowchart is a string built with every text escaped.

use std::fmt::Write as _;

pub use jiff::civil::Date;
use thiserror::Error;

/// The two halves of a catalogue: powers the village collective exercises, and services it renders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PowerKind {
    /// 村级公共权力
    Public,
    /// 便民服务
    Service,
}

impl PowerKind {
    pub fn label(self) -> &'static str {
        match self {
            Self::Public => "村级公共权力",
            Self::Service => "便民服务",
        }
    }
}

/// A category of the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PowerCategory {
    /// 重大事项决策
    MajorDecision,
    /// 工程项目
    Project,
    /// 资产资源处置
    Asset,
    /// 财务管理
    Finance,
    /// 人事管理 (including 党员发展)
    Personnel,
    /// 宅基地审批 (and 村民建房)
    Homestead,
    /// 困难救助申请
    Relief,
    /// 证明盖章
    Certificate,
}

impl PowerCategory {
    pub const ALL: [PowerCategory; 8] = [
        Self::MajorDecision,
        Self::Project,
        Self::Asset,
        Self::Finance,
        Self::Personnel,
        Self::Homestead,
        Self::Relief,
        Self::Certificate,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::MajorDecision => "major_decision",
            Self::Project => "project",
            Self::Asset => "asset",
            Self::Finance => "finance",
            Self::Personnel => "personnel",
            Self::Homestead => "homestead",
            Self::Relief => "relief",
            Self::Certificate => "certificate",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s.trim())
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::MajorDecision => "重大事项决策",
            Self::Project => "工程项目",
            Self::Asset => "资产资源处置",
            Self::Finance => "财务管理",
            Self::Personnel => "人事管理",
            Self::Homestead => "宅基地审批",
            Self::Relief => "困难救助申请",
            Self::Certificate => "证明盖章",
        }
    }

    pub fn kind(self) -> PowerKind {
        match self {
            Self::MajorDecision | Self::Project | Self::Asset | Self::Finance | Self::Personnel => PowerKind::Public,
            Self::Homestead | Self::Relief | Self::Certificate => PowerKind::Service,
        }
    }
}

/// One step of an item's procedure (办理流程).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcedureStep {
    /// Who acts: 村党组织, 村民代表会议, 乡镇政府…
    pub actor: String,
    /// What is done.
    pub action: String,
    /// Calendar days allowed, counted from the previous step.
    pub limit_days: u16,
    /// What is made public at this step (empty: nothing).
    pub publishes: String,
}

/// A 廉政风险点 and how it is supervised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RiskPoint {
    pub risk: String,
    pub supervision: String,
}

pub const MAX_STEPS: usize = 12;
pub const MAX_STEP_DAYS: u16 = 365;
const MAX_ACTOR: usize = 30;
const MAX_ACTION: usize = 200;
const MAX_PUBLISHES: usize = 100;
const MAX_RISK: usize = 200;

/// Why a procedure or a risk list is refused; each message names the field at fault.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PowerError {
    #[error("办理流程：请至少填写一个步骤")]
    NoSteps,
    #[error("办理流程：最多{MAX_STEPS}个步骤")]
    TooManySteps,
    #[error("第{0}步：请填写办理主体（不超过{MAX_ACTOR}字）")]
    Actor(usize),
    #[error("第{0}步：请填写办理事项（不超过{MAX_ACTION}字）")]
    Action(usize),
    #[error("第{0}步：时限应为1至{MAX_STEP_DAYS}天")]
    Limit(usize),
    #[error("第{0}步：公开内容不超过{MAX_PUBLISHES}字")]
    Publishes(usize),
    #[error("总时限：{total}天短于各步骤时限之和{sum}天，请缩短步骤时限或延长总时限")]
    TotalBelowSum { total: u32, sum: u32 },
    #[error("总时限：应为1至3650天")]
    Total,
    #[error("廉政风险点{0}：请同时填写风险点和监督措施（各不超过{MAX_RISK}字）")]
    Risk(usize),
}

fn blank_or_longer(text: &str, max: usize) -> bool {
    text.trim().is_empty() || text.chars().count() > max
}

/// Checks every step of a procedure.
pub fn check_steps(steps: &[ProcedureStep]) -> Result<(), PowerError> {
    if steps.is_empty() {
        return Err(PowerError::NoSteps);
    }
    if steps.len() > MAX_STEPS {
        return Err(PowerError::TooManySteps);
    }
    for (i, s) in steps.iter().enumerate() {
        let no = i + 1;
        if blank_or_longer(&s.actor, MAX_ACTOR) {
            return Err(PowerError::Actor(no));
        }
        if blank_or_longer(&s.action, MAX_ACTION) {
            return Err(PowerError::Action(no));
        }
        if s.limit_days == 0 || s.limit_days > MAX_STEP_DAYS {
            return Err(PowerError::Limit(no));
        }
        if s.publishes.chars().count() > MAX_PUBLISHES {
            return Err(PowerError::Publishes(no));
        }
    }
    Ok(())
}

/// The sum of the step limits.
pub fn sum_of_limits(steps: &[ProcedureStep]) -> u32 {
    steps.iter().map(|s| u32::from(s.limit_days)).sum()
}

/// The item's total time limit (总时限): the sum of its step limits, or an explicit legal
/// deadline. Steps run one after another, so an explicit total shorter than the sum is refused:
/// a procedure that kept to every step's limit would still overrun it.
pub fn total_limit(steps: &[ProcedureStep], explicit: Option<u32>) -> Result<u32, PowerError> {
    check_steps(steps)?;
    let sum = sum_of_limits(steps);
    match explicit {
        None => Ok(sum),
        Some(total) if total == 0 || total > 3650 => Err(PowerError::Total),
        Some(total) if total < sum => Err(PowerError::TotalBelowSum { total, sum }),
        Some(total) => Ok(total),
    }
}

/// Checks the risk points: each needs both the risk and its supervision.
pub fn check_risks(risks: &[RiskPoint]) -> Result<(), PowerError> {
    for (i, r) in risks.iter().enumerate() {
        if blank_or_longer(&r.risk, MAX_RISK) || blank_or_longer(&r.supervision, MAX_RISK) {
            return Err(PowerError::Risk(i + 1));
        }
    }
    Ok(())
}

/// A step of an exercise as recorded: which procedure step (1-based) and when it was done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordedStep {
    pub step_no: usize,
    pub done_on: Date,
}

/// Whether an exercise record (运行记录) is public yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExerciseStatus {
    /// Being filled in by the village; not on any public page.
    Draft,
    /// On the public pages and in the ledger; later steps and documents are appended.
    Published,
}

impl ExerciseStatus {
    pub const ALL: [Self; 2] = [Self::Draft, Self::Published];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Published => "published",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Draft => "草稿",
            Self::Published => "已公开",
        }
    }
}

/// Where a procedure step stands in an exercise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepState {
    /// Done within its limit, `days` after the previous step.
    OnTime { done_on: Date, days: i32 },
    /// Done, but `days` after the previous step, beyond its limit.
    Late { done_on: Date, days: i32, limit: u16 },
    /// Not recorded although a later step was: the step was left out.
    Skipped,
    /// The next step to do, still within its limit (`due` is its last day).
    Pending { due: Date },
    /// The next step to do, past its last day.
    Overdue { due: Date },
    /// A later step, not yet reached.
    NotReached,
}

impl StepState {
    /// Whether the public page and the monitor flag this step.
    pub fn is_flagged(self) -> bool {
        matches!(self, Self::Late { .. } | Self::Skipped | Self::Overdue { .. })
    }

    /// The words shown beside the step: never colour alone.
    pub fn label(self) -> &'static str {
        match self {
            Self::OnTime { .. } => "按时办结",
            Self::Late { .. } => "超时办理",
            Self::Skipped => "跳过未办",
            Self::Pending { .. } => "办理中",
            Self::Overdue { .. } => "逾期未办",
            Self::NotReached => "未开始",
        }
    }

    /// A stable CSS class.
    pub fn class(self) -> &'static str {
        match self {
            Self::OnTime { .. } => "done",
            Self::Late { .. } => "late",
            Self::Skipped => "skipped",
            Self::Pending { .. } => "pending",
            Self::Overdue { .. } => "overdue",
            Self::NotReached => "waiting",
        }
    }
}

/// Why a step cannot be recorded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RecordError {
    #[error("办理步骤：请选择流程中的步骤")]
    UnknownStep,
    #[error("办理步骤：第{0}步已记录或已有后续步骤，只能记录之后的步骤")]
    OutOfOrder(usize),
    #[error("办理日期：不能早于上一步或开始日期{0}")]
    BeforePrevious(Date),
    #[error("办理日期：不能晚于今天")]
    InFuture,
}

/// The date a step counts from: the last recorded step before `step_no`, else the start.
fn previous_date(start: Date, recorded: &[RecordedStep], step_no: usize) -> Date {
    recorded.iter().filter(|r| r.step_no < step_no).map(|r| r.done_on).max().unwrap_or(start).max(start)
}

/// Checks that `step_no` may be recorded as done on `done_on`: steps are recorded in procedure
/// order (a step left out stays skipped), never before the previous one and never in the future.
pub fn check_next(
    step_count: usize,
    start: Date,
    recorded: &[RecordedStep],
    step_no: usize,
    done_on: Date,
    today: Date,
) -> Result<(), RecordError> {
    if step_no == 0 || step_no > step_count {
        return Err(RecordError::UnknownStep);
    }
    if recorded.iter().any(|r| r.step_no >= step_no) {
        return Err(RecordError::OutOfOrder(step_no));
    }
    let previous = previous_date(start, recorded, step_no);
    if done_on < previous {
        return Err(RecordError::BeforePrevious(previous));
    }
    if done_on > today {
        return Err(RecordError::InFuture);
    }
    Ok(())
}

/// Evaluates an exercise against its procedure's step limits (`limits[i]` is step i+1's): each
/// step is on time, late (done more than its limit in calendar days after the previous done
/// step, or the start), skipped (a later step was recorded without it), the next step pending or
/// overdue on `today`, or not yet reached.
pub fn evaluate(limits: &[u16], start: Date, recorded: &[RecordedStep], today: Date) -> Vec<StepState> {
    let last_recorded = recorded.iter().map(|r| r.step_no).max().unwrap_or(0);
    let mut next_marked = false;
    (1..=limits.len())
        .map(|no| {
            let limit = limits[no - 1];
            let previous = previous_date(start, recorded, no);
            match recorded.iter().find(|r| r.step_no == no) {
                Some(r) => {
                    let days = (r.done_on - previous).get_days();
                    if days > i32::from(limit) {
                        StepState::Late { done_on: r.done_on, days, limit }
                    } else {
                        StepState::OnTime { done_on: r.done_on, days }
                    }
                }
                None if no < last_recorded => StepState::Skipped,
                None if !next_marked => {
                    next_marked = true;
                    let due = previous.saturating_add(jiff::Span::new().days(i64::from(limit)));
                    if today > due { StepState::Overdue { due } } else { StepState::Pending { due } }
                }
                None => StepState::NotReached,
            }
        })
        .collect()
}

/// Parses a stored `YYYY-MM-DD` date.
pub fn parse_day(text: &str) -> Option<Date> {
    text.trim().parse().ok()
}

/// Escapes text for XML and HTML.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Width of a character in half-ems: CJK and full-width characters take a whole em.
fn half_ems(c: char) -> usize {
    if c.is_ascii() { 1 } else { 2 }
}

/// Breaks text into lines of at most `width` half-ems. Chinese breaks anywhere; a Latin word is
/// kept whole when it fits a line.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut used = 0;
    let chars: Vec<char> = text.split_whitespace().collect::<Vec<_>>().join(" ").chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let word_end = if chars[i].is_ascii_alphanumeric() {
            chars[i..].iter().position(|c| !c.is_ascii_alphanumeric()).map_or(chars.len(), |p| i + p)
        } else {
            i + 1
        };
        let word: String = chars[i..word_end].iter().collect();
        let w: usize = chars[i..word_end].iter().map(|c| half_ems(*c)).sum();
        if used + w > width && used > 0 {
            lines.push(std::mem::take(&mut line).trim_end().to_owned());
            used = 0;
        }
        if w > width {
            // A word longer than a line is cut.
            for c in word.chars() {
                if used + half_ems(c) > width {
                    lines.push(std::mem::take(&mut line));
                    used = 0;
                }
                line.push(c);
                used += half_ems(c);
            }
        } else if !(used == 0 && word == " ") {
            line.push_str(&word);
            used += w;
        }
        i = word_end;
    }
    if !line.trim().is_empty() {
        lines.push(line.trim_end().to_owned());
    }
    lines
}

const SVG_WIDTH: usize = 340;
const BOX_X: usize = 10;
const BOX_WIDTH: usize = 320;
const FONT: usize = 16;
const SMALL: usize = 14;
const LINE: usize = 22;
const PAD: usize = 10;
const GAP: usize = 34;
/// Half-ems that fit inside a box at the body font size.
const WRAP_BODY: usize = (BOX_WIDTH - 2 * PAD) * 2 / FONT;
const WRAP_SMALL: usize = (BOX_WIDTH - 2 * PAD) * 2 / SMALL;

/// The flowchart of a procedure as an inline SVG: one box per step from top to bottom joined by
/// arrows, each box naming the step, its actor and time limit, the action (wrapped) and what is
/// published. The drawing scales to its container's width, so it stays readable at 360 px.
pub fn flowchart_svg(title: &str, steps: &[ProcedureStep]) -> String {
    let mut body = String::new();
    let mut y = PAD;
    for (i, step) in steps.iter().enumerate() {
        let head = wrap(&format!("第{}步 {} · 时限{}天", i + 1, step.actor, step.limit_days), WRAP_BODY);
        let action = wrap(&step.action, WRAP_BODY);
        let publishes = if step.publishes.trim().is_empty() {
            Vec::new()
        } else {
            wrap(&format!("公开：{}", step.publishes), WRAP_SMALL)
        };
        let height = PAD * 2 + LINE * (head.len() + action.len()) + (LINE - 2) * publishes.len();
        let _ = write!(
            body,
            r##"<g><rect x="{BOX_X}" y="{y}" width="{BOX_WIDTH}" height="{height}" rx="8" fill="#fff" stroke="#b71c1c" stroke-width="2"/>"##
        );
        let mut ty = y + PAD + FONT;
        for l in &head {
            let _ = write!(
                body,
                r##"<text x="{}" y="{ty}" font-size="{FONT}" font-weight="bold" fill="#b71c1c">{}</text>"##,
                BOX_X + PAD,
                escape(l)
            );
            ty += LINE;
        }
        for l in &action {
            let _ = write!(
                body,
                r##"<text x="{}" y="{ty}" font-size="{FONT}" fill="#222">{}</text>"##,
                BOX_X + PAD,
                escape(l)
            );
            ty += LINE;
        }
        for l in &publishes {
            let _ = write!(
                body,
                r##"<text x="{}" y="{ty}" font-size="{SMALL}" fill="#555">{}</text>"##,
                BOX_X + PAD,
                escape(l)
            );
            ty += LINE - 2;
        }
        body.push_str("</g>");
        y += height;
        if i + 1 < steps.len() {
            let mid = SVG_WIDTH / 2;
            let _ = write!(
                body,
                r##"<line x1="{mid}" y1="{}" x2="{mid}" y2="{}" stroke="#555" stroke-width="2"/><polygon points="{},{} {},{} {mid},{}" fill="#555"/>"##,
                y + 2,
                y + GAP - 10,
                mid - 7,
                y + GAP - 12,
                mid + 7,
                y + GAP - 12,
                y + GAP - 2
            );
            y += GAP;
        }
    }
    let height = y + PAD;
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" class="flowchart" viewBox="0 0 {SVG_WIDTH} {height}" width="100%" role="img" aria-label="{}" font-family="sans-serif"><title>{}</title>{body}</svg>"##,
        escape(&format!("{title}流程图，共{}步", steps.len())),
        escape(&format!("{title}流程图")),
    )
}

crate::stored_code!(PowerCategory, ExerciseStatus);

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn step(actor: &str, action: &str, limit_days: u16) -> ProcedureStep {
        ProcedureStep { actor: actor.into(), action: action.into(), limit_days, publishes: String::new() }
    }

    fn d(s: &str) -> Date {
        parse_day(s).unwrap_or(Date::MIN)
    }

    fn rec(step_no: usize, day: &str) -> RecordedStep {
        RecordedStep { step_no, done_on: d(day) }
    }

    /// A well-formedness check good enough for our own output: tags balance, attributes are
    /// quoted, and every `&` starts an entity.
    fn well_formed(xml: &str) -> bool {
        let mut stack: Vec<String> = Vec::new();
        let mut rest = xml;
        while let Some(open) = rest.find('<') {
            let text = &rest[..open];
            if text.contains('>') || text.match_indices('&').any(|(i, _)| !entity_at(&text[i..])) {
                return false;
            }
            let Some(close) = rest[open..].find('>') else { return false };
            let tag = &rest[open + 1..open + close];
            if !tag.matches('"').count().is_multiple_of(2) {
                return false;
            }
            if let Some(name) = tag.strip_prefix('/') {
                if stack.pop().as_deref() != Some(name) {
                    return false;
                }
            } else if !tag.ends_with('/') {
                stack.push(tag.split_whitespace().next().unwrap_or_default().to_owned());
            }
            rest = &rest[open + close + 1..];
        }
        stack.is_empty() && !rest.contains('>')
    }

    fn entity_at(s: &str) -> bool {
        ["&amp;", "&lt;", "&gt;", "&quot;", "&#39;"].iter().any(|e| s.starts_with(e))
    }

    #[test]
    fn categories_round_trip_and_split_into_two_kinds() {
        for c in PowerCategory::ALL {
            assert_eq!(PowerCategory::parse(c.as_str()), Some(c));
        }
        assert_eq!(PowerCategory::Project.kind(), PowerKind::Public);
        assert_eq!(PowerCategory::Certificate.kind(), PowerKind::Service);
    }

    #[test]
    fn a_procedure_needs_at_least_one_step() {
        assert_eq!(check_steps(&[]), Err(PowerError::NoSteps));
    }

    #[test]
    fn a_step_without_an_actor_is_named_by_its_number() {
        let steps = [step("村两委", "提出议题", 3), step(" ", "审议", 5)];
        assert_eq!(check_steps(&steps), Err(PowerError::Actor(2)));
        assert_eq!(PowerError::Actor(2).to_string(), "第2步：请填写办理主体（不超过30字）");
    }

    #[test]
    fn a_step_limit_of_zero_days_is_refused() {
        assert_eq!(check_steps(&[step("村委会", "受理", 0)]), Err(PowerError::Limit(1)));
    }

    #[test]
    fn the_total_limit_defaults_to_the_sum_of_the_steps() {
        let steps = [step("村委会", "受理", 3), step("乡镇", "审核", 10)];
        assert_eq!(total_limit(&steps, None), Ok(13));
        assert_eq!(total_limit(&steps, Some(20)), Ok(20));
    }

    #[test]
    fn an_explicit_total_shorter_than_the_steps_is_refused() {
        let steps = [step("村委会", "受理", 3), step("乡镇", "审核", 10)];
        assert_eq!(total_limit(&steps, Some(12)), Err(PowerError::TotalBelowSum { total: 12, sum: 13 }));
    }

    #[test]
    fn a_risk_without_its_supervision_is_refused() {
        let risks = [RiskPoint { risk: "优亲厚友".into(), supervision: String::new() }];
        assert_eq!(check_risks(&risks), Err(PowerError::Risk(1)));
    }

    #[test]
    fn steps_within_their_limits_are_on_time() {
        let states = evaluate(&[3, 5], d("2025-03-01"), &[rec(1, "2025-03-04"), rec(2, "2025-03-09")], d("2025-04-01"));
        assert!(matches!(states[0], StepState::OnTime { days: 3, .. }));
        assert!(matches!(states[1], StepState::OnTime { days: 5, .. }));
        assert!(states.iter().all(|s| !s.is_flagged()));
    }

    #[test]
    fn a_step_beyond_its_limit_from_the_previous_step_is_late() {
        let states = evaluate(&[3, 5], d("2025-03-01"), &[rec(1, "2025-03-02"), rec(2, "2025-03-10")], d("2025-04-01"));
        assert!(matches!(states[1], StepState::Late { days: 8, limit: 5, .. }));
        assert!(states[1].is_flagged());
    }

    #[test]
    fn a_step_left_out_before_a_recorded_one_is_skipped() {
        let states =
            evaluate(&[3, 5, 7], d("2025-03-01"), &[rec(1, "2025-03-02"), rec(3, "2025-03-05")], d("2025-04-01"));
        assert_eq!(states[1], StepState::Skipped);
        assert!(matches!(states[2], StepState::OnTime { days: 3, .. }), "counted from the last done step");
    }

    #[test]
    fn only_the_next_step_can_be_overdue() {
        let states = evaluate(&[3, 5, 7], d("2025-03-01"), &[rec(1, "2025-03-02")], d("2025-03-20"));
        assert_eq!(states[1], StepState::Overdue { due: d("2025-03-07") });
        assert_eq!(states[2], StepState::NotReached);
        let states = evaluate(&[3, 5, 7], d("2025-03-01"), &[rec(1, "2025-03-02")], d("2025-03-07"));
        assert_eq!(states[1], StepState::Pending { due: d("2025-03-07") });
    }

    #[test]
    fn steps_are_recorded_in_order_and_never_in_the_future() {
        let recorded = [rec(2, "2025-03-05")];
        let start = d("2025-03-01");
        let today = d("2025-03-10");
        assert_eq!(check_next(3, start, &recorded, 1, d("2025-03-06"), today), Err(RecordError::OutOfOrder(1)));
        assert_eq!(check_next(3, start, &recorded, 4, d("2025-03-06"), today), Err(RecordError::UnknownStep));
        assert_eq!(
            check_next(3, start, &recorded, 3, d("2025-03-04"), today),
            Err(RecordError::BeforePrevious(d("2025-03-05")))
        );
        assert_eq!(check_next(3, start, &recorded, 3, d("2025-03-11"), today), Err(RecordError::InFuture));
        assert_eq!(check_next(3, start, &recorded, 3, d("2025-03-10"), today), Ok(()));
    }

    #[test]
    fn long_chinese_text_wraps_within_the_width() {
        let lines = wrap("村民代表会议审议通过后在村务公开栏公示不少于五个工作日并报乡镇备案", 20);
        assert!(lines.len() > 1);
        assert!(lines.iter().all(|l| l.chars().map(half_ems).sum::<usize>() <= 20));
        assert_eq!(lines.concat(), "村民代表会议审议通过后在村务公开栏公示不少于五个工作日并报乡镇备案");
    }

    #[test]
    fn the_flowchart_is_well_formed_and_names_every_step() {
        let mut steps = vec![step("村党组织", "提议：村党组织会议提出议题", 5), step("村民代表会议", "决议 <A&B>", 7)];
        steps[1].publishes = "决议结果".into();
        let svg = flowchart_svg("四议两公开", &steps);
        assert!(well_formed(&svg), "{svg}");
        assert!(svg.contains("第1步 村党组织 · 时限5天"));
        assert!(svg.contains("决议 &lt;A&amp;B&gt;"));
        assert!(svg.contains("公开：决议结果"));
        assert_eq!(svg.matches("<rect").count(), 2);
        assert_eq!(svg.matches("<polygon").count(), 1);
    }

    proptest! {
        #[test]
        fn any_text_gives_a_well_formed_flowchart(texts in proptest::collection::vec(".{0,80}", 1..8)) {
            let steps: Vec<_> = texts.iter().map(|t| step(t, t, 3)).collect();
            let svg = flowchart_svg("事项", &steps);
            prop_assert!(well_formed(&svg), "{}", svg);
            prop_assert_eq!(svg.matches("<rect").count(), steps.len());
        }

        #[test]
        fn wrapping_keeps_every_character_and_the_width(text in "[a-z 中文村委会0-9，。]{0,120}", width in 4usize..40) {
            for l in wrap(&text, width) {
                prop_assert!(l.chars().map(half_ems).sum::<usize>() <= width);
            }
            let kept: String = wrap(&text, width).concat().chars().filter(|c| !c.is_whitespace()).collect();
            let original: String = text.chars().filter(|c| !c.is_whitespace()).collect();
            prop_assert_eq!(kept, original);
        }

        #[test]
        fn every_step_gets_exactly_one_state(
            limits in proptest::collection::vec(1u16..30, 1..8),
            gaps in proptest::collection::vec(0i64..40, 8),
            mask in proptest::collection::vec(any::<bool>(), 8),
        ) {
            let start = d("2025-01-01");
            let mut day = start;
            let mut recorded = Vec::new();
            for (i, _) in limits.iter().enumerate() {
                day = day.saturating_add(jiff::Span::new().days(gaps[i]));
                if mask[i] {
                    recorded.push(RecordedStep { step_no: i + 1, done_on: day });
                }
            }
            let states = evaluate(&limits, start, &recorded, day);
            prop_assert_eq!(states.len(), limits.len());
            let last = recorded.iter().map(|r| r.step_no).max().unwrap_or(0);
            for (i, s) in states.iter().enumerate() {
                let done = recorded.iter().any(|r| r.step_no == i + 1);
                prop_assert_eq!(done, matches!(s, StepState::OnTime { .. } | StepState::Late { .. }));
                prop_assert_eq!(*s == StepState::Skipped, !done && i + 1 < last);
            }
        }
    }
}
