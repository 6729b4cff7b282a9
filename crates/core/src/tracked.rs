//! Tracked requests (办件 / 留言 / 异议): what a villager files and follows by a tracking number.
//! The rules every kind shares live here; [`crate::service`], [`crate::message`] and
//! [`crate::objection`] add only what is theirs.
//!
//! Shared: Beijing calendar dates and day ends, deadlines counted in working days on the
//! [`crate::workday`] calendar with a reminder a day before, where a clock stands (on time, due
//! soon, overdue), tracking numbers of `prefix + date + six digits`, the satisfaction rating
//! (满意 / 基本满意 / 不满意) with its rule that 不满意 reopens the request and needs a reason,
//! and the timeline entry kinds all three write.
//!
//! ## Tracked requests and 异议
//!
//! Cases, messages and objections are kinds of one tracked request (see the glossary).
//! `core::tracked` holds what they share: Beijing day ends, working-day clocks with their
//! reminder, the on-time / due-soon / overdue state, `prefix + date + digits` tracking numbers,
//! the satisfaction rating (不满意 reopens and needs a reason) and the common timeline kinds;
//! `core::service` and `core::message` keep only their own rules. `core::objection` adds the
//! objection's reply deadline — the earlier of the publicity end and the programme's
//! `objection_reply_days` working days (default 5) — its state machine, its texts (staff texts
//! never carry the tracking code, which opens the objector's words) and the rule that a paid
//! roster is approved over open objections to its proposed roster only with a reason, shown on
//! the public roster page. `server::objections` holds the use cases (file, answer, rate, clocks);
//! the public handlers in `subsidies` and `staff::objections` call them. Migration 0024 adds the
//! deadline, rating, timeline (`objection_events`) and per-programme limit, and computes deadlines
//! for objections filed before.

use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::workday::{WorkCalendar, WorkingDeadline};

const HOUR: i64 = 3600;
/// UTC+8, Asia/Shanghai (no daylight saving since 1991).
const SHANGHAI_OFFSET: i64 = 8 * HOUR;
/// How long before a reply or completion deadline the handler is reminded.
pub const REMINDER_HOURS: i64 = 24;
/// Longest rating comment kept, in characters.
pub const MAX_COMMENT_CHARS: usize = 500;

/// Unix seconds of the end (23:59:59 Beijing time) of `date`.
pub fn end_of_day(date: Date) -> i64 {
    let days = date.since(Date::constant(1970, 1, 1)).map(|s| i64::from(s.get_days())).unwrap_or_default();
    days * 24 * HOUR + 24 * HOUR - 1 - SHANGHAI_OFFSET
}

/// The Beijing calendar date of a unix time.
pub fn beijing_date(unix_seconds: i64) -> Date {
    let days = (unix_seconds + SHANGHAI_OFFSET).div_euclid(24 * HOUR);
    Date::constant(1970, 1, 1).checked_add(jiff::Span::new().days(days)).unwrap_or(Date::constant(1970, 1, 1))
}

/// When to remind the handler of a deadline: [`REMINDER_HOURS`] before, but never before the
/// request (or its current round) started.
pub fn remind_at(started: i64, due: i64) -> i64 {
    (due - REMINDER_HOURS * HOUR).max(started)
}

/// A deadline `days` working days after the Beijing date of `from` (that day never counts), at the
/// end of the last day, with its reminder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayClock {
    pub due: i64,
    pub remind_at: i64,
    pub deadline: WorkingDeadline,
}

/// The clock of `days` working days from `from` (unix seconds).
pub fn working_days_clock(calendar: &WorkCalendar, from: i64, days: u32) -> DayClock {
    let deadline = calendar.add_working_days(beijing_date(from), days);
    let due = end_of_day(deadline.due);
    DayClock { due, remind_at: remind_at(from, due), deadline }
}

/// Where an open request's clock stands at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClockState {
    OnTime,
    /// The reminder time has come; the deadline has not passed.
    DueSoon,
    Overdue,
}

impl ClockState {
    /// The state of a clock due at `due` (the last second of the last day) with its reminder at
    /// `remind_at`; as for the scheduler's marks, a clock is overdue from `due` on.
    pub fn at(due: i64, remind_at: i64, now: i64) -> Self {
        if now >= due {
            Self::Overdue
        } else if now >= remind_at {
            Self::DueSoon
        } else {
            Self::OnTime
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::OnTime => "",
            Self::DueSoon => "即将到期",
            Self::Overdue => "已逾期",
        }
    }
}

/// A tracking number: `prefix` + Beijing date + six digits, e.g. `BJ20251009384756`.
pub fn tracking_number(prefix: &str, submitted_at: i64, random: u32) -> String {
    let d = beijing_date(submitted_at);
    format!("{prefix}{:04}{:02}{:02}{:06}", d.year(), d.month(), d.day(), random % 1_000_000)
}

/// Normalises what a villager typed as a tracking number with this two-letter `prefix` (spaces,
/// lower case, full-width digits).
pub fn normalize_tracking(prefix: &str, input: &str) -> Option<String> {
    let s: String =
        crate::text::normalize(input).chars().filter(|c| !c.is_whitespace()).collect::<String>().to_uppercase();
    let valid = s.len() == 16 && s.starts_with(prefix) && s[2..].bytes().all(|b| b.is_ascii_digit());
    valid.then_some(s)
}

/// 满意度
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Satisfaction {
    Satisfied,
    Basic,
    Unsatisfied,
}

impl Satisfaction {
    pub const ALL: [Self; 3] = [Self::Satisfied, Self::Basic, Self::Unsatisfied];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Satisfied => "satisfied",
            Self::Basic => "basic",
            Self::Unsatisfied => "unsatisfied",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s.trim())
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Satisfied => "满意",
            Self::Basic => "基本满意",
            Self::Unsatisfied => "不满意",
        }
    }

    /// 不满意 sends the request back to its handlers with a new deadline; any other rating
    /// closes it.
    pub fn reopens(self) -> bool {
        self == Self::Unsatisfied
    }
}

crate::stored_code!(Satisfaction, TimelineKind);

/// Why a rating form was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum RatingError {
    #[error("评价：请选择满意、基本满意或不满意")]
    NoChoice,
    #[error("评价说明：选择不满意时，请写明原因，便于重新办理")]
    NoReason,
}

/// A rating as the filer gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rating {
    pub satisfaction: Satisfaction,
    /// Trimmed, at most [`MAX_COMMENT_CHARS`] characters.
    pub comment: String,
}

impl Rating {
    /// Reads a rating form: a choice, and a reason of at least two characters for 不满意.
    pub fn parse(choice: &str, comment: &str) -> Result<Self, RatingError> {
        let satisfaction = Satisfaction::parse(choice).ok_or(RatingError::NoChoice)?;
        let comment: String = comment.trim().chars().take(MAX_COMMENT_CHARS).collect();
        if satisfaction.reopens() && comment.chars().count() < 2 {
            return Err(RatingError::NoReason);
        }
        Ok(Self { satisfaction, comment })
    }

    /// The timeline note: `评价：不满意。原因`.
    pub fn note(&self) -> String {
        crate::text::join_sentences(&format!("评价：{}", self.satisfaction.label()), &self.comment)
    }
}

/// What a timeline entry records: the entries every kind of tracked request writes (filed,
/// answered, rated, and the clocks' marks), and each kind's own (a case's contact and extension,
/// a message's assignment and merge). One vocabulary, because the timeline is one table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimelineKind {
    /// Filed by the villager.
    Submitted,
    /// A message's or objection's handler was reminded of the reply deadline.
    Reminder,
    /// A message's or objection's reply deadline passed unanswered.
    Overdue,
    /// A handler answered.
    Reply,
    /// The filer rated the answer.
    Rate,
    /// A case's officer made the first contact (its method is recorded with it).
    Contact,
    /// A case's officer was reminded of the 24-hour contact limit.
    ContactReminder,
    /// A case's 24-hour contact limit passed without contact.
    ContactOverdue,
    /// A case's officer recorded progress.
    Progress,
    /// A case's officer was reminded of the completion deadline.
    CompletionReminder,
    /// A case's completion deadline passed.
    CompletionOverdue,
    /// A case was completed with its answer.
    Complete,
    /// A case's officer asked for more working days.
    ExtensionRequested,
    /// The extension was granted.
    ExtensionApproved,
    /// The extension was refused.
    ExtensionRejected,
    /// A message was given to a handler.
    Assign,
    /// A message was marked handled.
    Handled,
    /// A message was merged into an earlier one about the same problem.
    Merge,
    /// The earlier message was told of the one merged into it.
    MergedIn,
    /// A message was hidden from public pages.
    Hide,
}

impl TimelineKind {
    pub const ALL: [Self; 20] = [
        Self::Submitted,
        Self::Reminder,
        Self::Overdue,
        Self::Reply,
        Self::Rate,
        Self::Contact,
        Self::ContactReminder,
        Self::ContactOverdue,
        Self::Progress,
        Self::CompletionReminder,
        Self::CompletionOverdue,
        Self::Complete,
        Self::ExtensionRequested,
        Self::ExtensionApproved,
        Self::ExtensionRejected,
        Self::Assign,
        Self::Handled,
        Self::Merge,
        Self::MergedIn,
        Self::Hide,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Submitted => "submitted",
            Self::Reminder => "reminder",
            Self::Overdue => "overdue",
            Self::Reply => "reply",
            Self::Rate => "rate",
            Self::Contact => "contact",
            Self::ContactReminder => "contact_reminder",
            Self::ContactOverdue => "contact_overdue",
            Self::Progress => "progress",
            Self::CompletionReminder => "completion_reminder",
            Self::CompletionOverdue => "completion_overdue",
            Self::Complete => "complete",
            Self::ExtensionRequested => "extension_requested",
            Self::ExtensionApproved => "extension_approved",
            Self::ExtensionRejected => "extension_rejected",
            Self::Assign => "assign",
            Self::Handled => "handled",
            Self::Merge => "merge",
            Self::MergedIn => "merged_in",
            Self::Hide => "hide",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::workday::{DayKind, SpecialDay};
    use jiff::civil::date;
    use proptest::prelude::*;

    /// 2025-09-30 10:00 Beijing time.
    pub(crate) const SEP30_10AM: i64 = 1_759_197_600;

    /// The 2025 national day break: 1–8 October off, Saturday 11 October worked.
    pub(crate) fn national_day_2025() -> WorkCalendar {
        let mut days: Vec<SpecialDay> = (1..=8)
            .map(|d| SpecialDay {
                date: date(2025, 10, d), kind: DayKind::Holiday, name: "国庆节、中秋节".into()
            })
            .collect();
        days.push(SpecialDay { date: date(2025, 10, 11), kind: DayKind::Workday, name: "调休上班".into() });
        WorkCalendar::new(days)
    }

    #[test]
    fn beijing_dates_and_day_ends() {
        assert_eq!(beijing_date(SEP30_10AM), date(2025, 9, 30));
        // 2025-09-30 23:59:59 +08:00
        assert_eq!(end_of_day(date(2025, 9, 30)), 1_759_247_999);
        assert_eq!(beijing_date(end_of_day(date(2025, 9, 30))), date(2025, 9, 30));
        assert_eq!(beijing_date(end_of_day(date(2025, 9, 30)) + 1), date(2025, 10, 1));
    }

    #[test]
    fn a_working_day_clock_skips_the_break_and_counts_the_makeup_day() {
        let c = working_days_clock(&national_day_2025(), SEP30_10AM, 3);
        assert_eq!(c.deadline.due, date(2025, 10, 11));
        assert_eq!(c.due, end_of_day(date(2025, 10, 11)));
        assert_eq!(c.remind_at, c.due - 24 * HOUR);
    }

    #[test]
    fn reminders_never_come_before_the_start() {
        assert_eq!(remind_at(100, 100 + 3 * HOUR), 100);
        assert_eq!(remind_at(100, 100 + 30 * HOUR), 100 + 6 * HOUR);
    }

    #[test]
    fn clock_states() {
        assert_eq!(ClockState::at(100, 50, 10), ClockState::OnTime);
        assert_eq!(ClockState::at(100, 50, 50), ClockState::DueSoon);
        assert_eq!(ClockState::at(100, 50, 99), ClockState::DueSoon);
        assert_eq!(ClockState::at(100, 50, 100), ClockState::Overdue);
        assert_eq!(ClockState::Overdue.label(), "已逾期");
    }

    #[test]
    fn ratings_need_a_reason_to_reopen() {
        assert_eq!(Rating::parse("", "好"), Err(RatingError::NoChoice));
        assert_eq!(Rating::parse("unsatisfied", " 不 "), Err(RatingError::NoReason));
        let r = Rating::parse("unsatisfied", "没有核实我家情况").unwrap();
        assert!(r.satisfaction.reopens());
        assert_eq!(r.note(), "评价：不满意。没有核实我家情况");
        let r = Rating::parse("basic", "").unwrap();
        assert!(!r.satisfaction.reopens());
        assert_eq!(r.note(), "评价：基本满意");
        assert_eq!(Rating::parse("satisfied", &"长".repeat(900)).unwrap().comment.chars().count(), 500);
        assert!(RatingError::NoReason.to_string().starts_with("评价说明"));
    }

    #[test]
    fn tracking_numbers_carry_their_prefix() {
        assert_eq!(tracking_number("BJ", SEP30_10AM, 42), "BJ20250930000042");
        assert_eq!(normalize_tracking("LY", " ly2025 0930 000042").as_deref(), Some("LY20250930000042"));
        assert_eq!(normalize_tracking("LY", "BJ20250930000042"), None);
    }

    #[test]
    fn timeline_kinds_round_trip() {
        for k in TimelineKind::ALL {
            assert_eq!(TimelineKind::parse(k.as_str()), Some(k));
        }
    }

    proptest! {
        #[test]
        fn a_clock_is_due_after_it_starts(at in 1_700_000_000i64..1_900_000_000, n in 1u32..30) {
            let c = working_days_clock(&national_day_2025(), at, n);
            prop_assert!(c.due > at);
            prop_assert!(c.remind_at >= at && c.remind_at <= c.due);
        }

        #[test]
        fn rating_never_panics(choice in "\\PC{0,12}", comment in "\\PC{0,40}") {
            let _ = Rating::parse(&choice, &comment);
        }
    }
}
