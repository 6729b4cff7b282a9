//! 异议 (objections) as tracked requests: the reply deadline, the life of an objection, who is
//! told, and the rule that a paid roster waits for the objections to its proposed roster.
//! Pure rules on top of [`crate::tracked`]; the store keeps the state and the server reads the
//! clock.
//!
//! The reply is due by the earlier of the end of the publicity period (公示期) and the end of the
//! programme's number of working days after filing (by default [`DEFAULT_REPLY_DAYS`]). A
//! publicity period that ended before the filing day does not count. A 不满意 rating reopens the
//! objection with a new deadline counted the same way from the rating.
//!
//! Who objected is for the discipline commission only: no text, title or link here carries the
//! objector's name, phone, words or tracking code except the objector's own text.

use jiff::civil::Date;
use thiserror::Error;

use crate::code::Transition;
use crate::tracked::{self, Satisfaction, beijing_date, end_of_day};
use crate::workday::WorkCalendar;

/// Working days allowed for a reply unless the programme says otherwise.
pub const DEFAULT_REPLY_DAYS: u32 = 5;
/// The longest reply limit a programme may set, in working days.
pub const MAX_REPLY_DAYS: u32 = 30;
/// Longest reply, in characters.
pub const MAX_REPLY_CHARS: usize = 1000;
/// Longest reason for approving a paid roster over open objections, in characters.
pub const MAX_OVERRIDE_CHARS: usize = 500;

/// An objection's reply deadline and how it was set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyDeadline {
    pub due: i64,
    pub remind_at: i64,
    /// What bound it, for the objector and the staff list.
    pub basis: String,
}

/// Reads a programme's reply limit as typed on its form: blank means the default.
pub fn parse_reply_days(text: &str) -> Result<u32, ReplyDaysError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(DEFAULT_REPLY_DAYS);
    }
    match text.parse::<u32>() {
        Ok(n) if (1..=MAX_REPLY_DAYS).contains(&n) => Ok(n),
        _ => Err(ReplyDaysError),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("异议答复时限：请填写1到{MAX_REPLY_DAYS}之间的工作日数")]
pub struct ReplyDaysError;

/// The reply deadline of an objection filed (or reopened) at `from`: the end of the publicity
/// period if that comes first (and is not before the filing day), else `reply_days` working days.
pub fn reply_deadline(
    calendar: &WorkCalendar,
    from: i64,
    publicity_end: Option<Date>,
    reply_days: u32,
) -> ReplyDeadline {
    let days = reply_days.clamp(1, MAX_REPLY_DAYS);
    let clock = tracked::working_days_clock(calendar, from, days);
    let publicity = publicity_end.filter(|end| *end >= beijing_date(from)).map(|end| (end, end_of_day(end)));
    match publicity {
        Some((end, due)) if due < clock.due => ReplyDeadline {
            due,
            remind_at: tracked::remind_at(from, due),
            basis: format!("公示期{}结束前答复", chinese_date(end)),
        },
        _ => ReplyDeadline {
            due: clock.due,
            remind_at: clock.remind_at,
            basis: format!("{days}个工作日内答复，至{}", chinese_date(clock.deadline.due)),
        },
    }
}

fn chinese_date(d: Date) -> String {
    format!("{}年{}月{}日", d.year(), d.month(), d.day())
}

/// Where an objection stands. An answered objection is `Closed`; the objector's rating of it is
/// kept beside the status, and 不满意 opens it again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ObjectionStatus {
    /// 待处理 (new, or reopened by 不满意)
    Open,
    /// 处理中 (an interim answer was given)
    Handling,
    /// 已答复
    Closed,
}

impl ObjectionStatus {
    pub const ALL: [Self; 3] = [Self::Open, Self::Handling, Self::Closed];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Handling => "handling",
            Self::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// What the objector and staff read, given the objector's rating of the last answer.
    pub fn label(self, rating: Option<Satisfaction>) -> &'static str {
        match (self, rating) {
            (Self::Open, Some(Satisfaction::Unsatisfied)) => "重新办理",
            (Self::Open, _) => "待处理",
            (Self::Handling, _) => "处理中",
            (Self::Closed, None) => "已答复",
            (Self::Closed, Some(_)) => "已办结",
        }
    }

    /// Whether the reply clock runs.
    pub fn is_open(self) -> bool {
        self != Self::Closed
    }
}

crate::stored_code!(ObjectionStatus, ObjectionRecipient);

/// What someone does to an objection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectionAction {
    /// A reviewer answers; `last` closes it, otherwise it is an interim answer.
    Answer { last: bool },
    /// The objector rates the final answer.
    Rate(Satisfaction),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum ObjectionTransitionError {
    #[error("该异议已答复，不能再修改")]
    Answered,
    #[error("异议尚未答复，暂不能评价")]
    NotAnswered,
    #[error("该答复已评价过")]
    AlreadyRated,
}

/// The objection state machine; `rated` tells whether the current answer was already rated.
pub fn transition(
    from: ObjectionStatus,
    rated: bool,
    action: ObjectionAction,
) -> Result<Transition<ObjectionStatus>, ObjectionTransitionError> {
    use ObjectionAction as A;
    use ObjectionStatus as S;
    let to = match (from, action) {
        (S::Open | S::Handling, A::Answer { last: true }) => S::Closed,
        (S::Open | S::Handling, A::Answer { last: false }) => S::Handling,
        (S::Closed, A::Answer { .. }) => return Err(ObjectionTransitionError::Answered),
        (S::Closed, A::Rate(_)) if rated => return Err(ObjectionTransitionError::AlreadyRated),
        (S::Closed, A::Rate(r)) if r.reopens() => S::Open,
        (S::Closed, A::Rate(_)) => S::Closed,
        (S::Open | S::Handling, A::Rate(_)) => return Err(ObjectionTransitionError::NotAnswered),
    };
    Ok(Transition::new(from, to))
}

/// Who receives an objection notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ObjectionRecipient {
    /// The township reviewers whose scope covers the objection's place.
    Reviewers,
    /// The county discipline commission covering it.
    Commission,
    /// The objector (they always leave a phone).
    Objector,
}

impl ObjectionRecipient {
    pub const ALL: [Self; 3] = [Self::Reviewers, Self::Commission, Self::Objector];

    /// The role code the store's recipient query gives each staff phone.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reviewers => "reviewer",
            Self::Commission => "commission",
            Self::Objector => "objector",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// A notification an objection event sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ObjectionNotice {
    Received,
    ReplyReminder,
    ReplyOverdue,
    /// To the objector: answered, please rate.
    Answered,
    /// 不满意: reopened.
    Unsatisfied,
}

impl ObjectionNotice {
    pub const ALL: [Self; 5] =
        [Self::Received, Self::ReplyReminder, Self::ReplyOverdue, Self::Answered, Self::Unsatisfied];

    /// The template key (also the provider template lookup key).
    pub fn key(self) -> &'static str {
        match self {
            Self::Received => "objection_received",
            Self::ReplyReminder => "objection_reminder",
            Self::ReplyOverdue => "objection_overdue",
            Self::Answered => "objection_answered",
            Self::Unsatisfied => "objection_unsatisfied",
        }
    }

    pub fn recipients(self) -> &'static [ObjectionRecipient] {
        use ObjectionRecipient as R;
        match self {
            Self::Received | Self::ReplyReminder => &[R::Reviewers],
            Self::ReplyOverdue | Self::Unsatisfied => &[R::Reviewers, R::Commission],
            Self::Answered => &[R::Objector],
        }
    }

    /// The text. Staff texts name the place only; the objector's names its tracking code.
    pub fn render(self, code: &str, place: &str, link: &str) -> String {
        match self {
            Self::Received => format!("{place}花名册收到群众异议，请按时答复：{link}"),
            Self::ReplyReminder => format!("{place}花名册异议将于24小时内到答复期限，请尽快答复：{link}"),
            Self::ReplyOverdue => format!("{place}花名册异议已超过答复期限，已标记逾期：{link}"),
            Self::Answered => format!("您提出的异议{code}已有答复，请查看并评价：{link}"),
            Self::Unsatisfied => format!("{place}花名册异议群众评价为不满意，已重新办理：{link}"),
        }
    }

    /// The ordered template parameters.
    pub fn params(self, code: &str, place: &str, link: &str) -> Vec<(String, String)> {
        let subject = if self == Self::Answered { code } else { place };
        vec![("code".into(), subject.into()), ("link".into(), link.into())]
    }
}

/// Why a paid roster cannot be approved yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum ApprovalBlocked {
    #[error("对应的拟发放公示还有{0}条异议未办结，请先答复异议；确需先行审核通过的，请在“未办结异议说明”中写明理由")]
    OpenObjections(usize),
    #[error("未办结异议说明：不超过{MAX_OVERRIDE_CHARS}字")]
    ReasonTooLong,
}

/// A paid roster may be approved while `open` objections to its proposed roster remain only with
/// a reason, which is then shown publicly. Returns the reason to record, if any.
pub fn approval_reason(open: usize, reason: &str) -> Result<Option<String>, ApprovalBlocked> {
    let reason = reason.trim().to_owned();
    if open == 0 {
        return Ok(None);
    }
    if reason.chars().count() < 2 {
        return Err(ApprovalBlocked::OpenObjections(open));
    }
    if reason.chars().count() > MAX_OVERRIDE_CHARS {
        return Err(ApprovalBlocked::ReasonTooLong);
    }
    Ok(Some(reason))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tracked::tests::{SEP30_10AM, national_day_2025};
    use crate::workday::{DayKind, SpecialDay};
    use jiff::civil::date;
    use proptest::prelude::*;

    /// 2025-09-24 (Wednesday) 10:00 Beijing time.
    const SEP24_10AM: i64 = SEP30_10AM - 6 * 86_400;

    #[test]
    fn an_early_publicity_end_bounds_the_reply() {
        let cal = national_day_2025();
        let d = reply_deadline(&cal, SEP24_10AM, Some(date(2025, 9, 26)), 5);
        assert_eq!(d.due, end_of_day(date(2025, 9, 26)));
        assert!(d.basis.contains("公示期2025年9月26日"), "{}", d.basis);
        assert_eq!(d.remind_at, d.due - 24 * 3600);
    }

    #[test]
    fn five_working_days_bound_a_long_publicity() {
        let cal = WorkCalendar::new([]);
        // Wednesday 24 September + 5 working days = Wednesday 1 October on a plain calendar.
        let d = reply_deadline(&cal, SEP24_10AM, Some(date(2025, 10, 20)), 5);
        assert_eq!(d.due, end_of_day(date(2025, 10, 1)));
        assert!(d.basis.starts_with("5个工作日"), "{}", d.basis);
    }

    #[test]
    fn holidays_are_skipped_and_makeup_days_count() {
        // 24 Sep + 5 working days: 25, 26, 28 (Sunday make-up day), 29, 30.
        let mut days: Vec<SpecialDay> = (1..=8)
            .map(|d| SpecialDay { date: date(2025, 10, d), kind: DayKind::Holiday, name: "国庆节".into() })
            .collect();
        days.push(SpecialDay { date: date(2025, 9, 28), kind: DayKind::Workday, name: "调休上班".into() });
        let cal = WorkCalendar::new(days);
        let d = reply_deadline(&cal, SEP24_10AM, None, 5);
        assert_eq!(d.due, end_of_day(date(2025, 9, 30)));
        // Filed on 30 September: the break is skipped, 11 October (a make-up Saturday) counts.
        let d = reply_deadline(&national_day_2025(), SEP30_10AM, Some(date(2025, 10, 31)), 3);
        assert_eq!(d.due, end_of_day(date(2025, 10, 11)));
    }

    #[test]
    fn a_past_publicity_end_does_not_count() {
        let d = reply_deadline(&WorkCalendar::new([]), SEP24_10AM, Some(date(2025, 9, 20)), 5);
        assert_eq!(d.due, end_of_day(date(2025, 10, 1)));
        // Filed on the last day of publicity: due that evening.
        let d = reply_deadline(&WorkCalendar::new([]), SEP24_10AM, Some(date(2025, 9, 24)), 5);
        assert_eq!(d.due, end_of_day(date(2025, 9, 24)));
        assert_eq!(d.remind_at, SEP24_10AM, "reminded at once");
    }

    #[test]
    fn reply_days_parse() {
        assert_eq!(parse_reply_days(""), Ok(DEFAULT_REPLY_DAYS));
        assert_eq!(parse_reply_days(" 10 "), Ok(10));
        assert_eq!(parse_reply_days("0"), Err(ReplyDaysError));
        assert_eq!(parse_reply_days("31"), Err(ReplyDaysError));
        assert_eq!(parse_reply_days("五"), Err(ReplyDaysError));
        assert!(ReplyDaysError.to_string().starts_with("异议答复时限"));
    }

    #[test]
    fn the_objection_life() {
        use ObjectionAction as A;
        use ObjectionStatus as S;
        assert_eq!(transition(S::Open, false, A::Answer { last: false }).map(Transition::to), Ok(S::Handling));
        assert_eq!(transition(S::Handling, false, A::Answer { last: true }).map(Transition::to), Ok(S::Closed));
        assert_eq!(transition(S::Closed, false, A::Rate(Satisfaction::Satisfied)).map(Transition::to), Ok(S::Closed));
        assert_eq!(transition(S::Closed, false, A::Rate(Satisfaction::Unsatisfied)).map(Transition::to), Ok(S::Open));
        assert_eq!(
            transition(S::Closed, true, A::Rate(Satisfaction::Basic)),
            Err(ObjectionTransitionError::AlreadyRated)
        );
        assert_eq!(
            transition(S::Open, false, A::Rate(Satisfaction::Basic)),
            Err(ObjectionTransitionError::NotAnswered)
        );
        assert_eq!(transition(S::Closed, false, A::Answer { last: true }), Err(ObjectionTransitionError::Answered));
        assert_eq!(S::Open.label(Some(Satisfaction::Unsatisfied)), "重新办理");
        assert_eq!(S::Closed.label(None), "已答复");
        assert_eq!(S::Closed.label(Some(Satisfaction::Satisfied)), "已办结");
    }

    #[test]
    fn staff_texts_never_carry_the_code() {
        for n in ObjectionNotice::ALL {
            let body = n.render("ABCD2345", "城关镇东街村", "https://x/l");
            let staff = !n.recipients().contains(&ObjectionRecipient::Objector);
            assert_eq!(body.contains("ABCD2345"), !staff, "{body}");
            let params = n.params("ABCD2345", "城关镇东街村", "https://x/l");
            assert_eq!(params.iter().any(|(_, v)| v == "ABCD2345"), !staff);
        }
        assert!(ObjectionNotice::ReplyOverdue.recipients().contains(&ObjectionRecipient::Commission));
    }

    #[test]
    fn approving_over_open_objections_needs_a_reason() {
        assert_eq!(approval_reason(0, ""), Ok(None));
        assert_eq!(approval_reason(2, " "), Err(ApprovalBlocked::OpenObjections(2)));
        assert!(ApprovalBlocked::OpenObjections(2).to_string().contains("2条异议"));
        assert_eq!(approval_reason(1, " 资金须在月底前拨付 "), Ok(Some("资金须在月底前拨付".to_owned())));
        assert_eq!(approval_reason(1, &"长".repeat(501)), Err(ApprovalBlocked::ReasonTooLong));
    }

    proptest! {
        #[test]
        fn the_deadline_is_never_later_than_either_bound(
            at in 1_700_000_000i64..1_900_000_000, days in 1u32..30, end_offset in -5i64..40
        ) {
            let cal = national_day_2025();
            let end = beijing_date(at + end_offset * 86_400);
            let d = reply_deadline(&cal, at, Some(end), days);
            let plain = tracked::working_days_clock(&cal, at, days).due;
            prop_assert!(d.due <= plain);
            prop_assert!(d.due > at);
            if end >= beijing_date(at) {
                prop_assert!(d.due <= end_of_day(end));
            }
            prop_assert!(d.remind_at >= at && d.remind_at <= d.due);
        }
    }
}
