//! 我要办事: service items, the life of an application (办件), its clocks and the notifications each
//! step sends. Pure rules; the store keeps the state and the server reads the clock.
//!
//! A case must be contacted within [`CONTACT_HOURS`] hours of submission and completed within the
//! item's legal time limit — working days on the [`crate::workday`] calendar, or clock hours.
//! An approved extension (延期) moves the completion deadline; an 不满意 rating reopens the case.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::code::Transition;
use crate::tracked::{self, Satisfaction};
use crate::workday::{WorkCalendar, WorkingDeadline};

/// Hours within which the officer must record first contact.
pub const CONTACT_HOURS: i64 = 24;
/// How long before the contact deadline the officer is reminded.
pub const CONTACT_REMINDER_HOURS: i64 = 4;
/// Longest description, reply or note accepted, in characters.
pub const MAX_TEXT_CHARS: usize = 2000;
/// Most extra working days one extension may ask for.
pub const MAX_EXTENSION_DAYS: u32 = 60;

const HOUR: i64 = 3600;

/// 法定时限: working days, or clock hours for urgent items.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TimeLimit {
    WorkingDays(u32),
    Hours(u32),
}

impl TimeLimit {
    /// Stored form: `15d` (working days) or `48h`.
    pub fn as_code(self) -> String {
        match self {
            Self::WorkingDays(n) => format!("{n}d"),
            Self::Hours(n) => format!("{n}h"),
        }
    }

    /// Reads the stored form, or a clerk's 15个工作日 / 48小时.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        let (digits, rest) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
        let n: u32 = digits.parse().ok().filter(|n| (1..=366).contains(n))?;
        match rest.trim() {
            "d" | "个工作日" | "工作日" => Some(Self::WorkingDays(n)),
            "h" | "小时" | "个小时" => Some(Self::Hours(n.min(24 * 30))),
            _ => None,
        }
    }

    pub fn label(self) -> String {
        match self {
            Self::WorkingDays(n) => format!("{n}个工作日"),
            Self::Hours(n) => format!("{n}小时"),
        }
    }
}

/// The completion deadline of a case and how it was computed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CompletionDeadline {
    /// End of the last working day (23:59:59 Beijing time).
    WorkingDays(WorkingDeadline),
    Hours {
        hours: u32,
    },
}

/// The clocks of a case submitted at `submitted_at` (unix seconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clocks {
    pub contact_due: i64,
    pub contact_remind_at: i64,
    pub completion_due: i64,
    pub completion_remind_at: i64,
    pub completion: CompletionDeadline,
}

/// The deadlines of a new case.
pub fn clocks(calendar: &WorkCalendar, limit: TimeLimit, submitted_at: i64) -> Clocks {
    let contact_due = submitted_at + CONTACT_HOURS * HOUR;
    let (completion_due, completion) = completion_deadline(calendar, limit, submitted_at);
    Clocks {
        contact_due,
        contact_remind_at: contact_due - CONTACT_REMINDER_HOURS * HOUR,
        completion_due,
        completion_remind_at: tracked::remind_at(submitted_at, completion_due),
        completion,
    }
}

fn completion_deadline(calendar: &WorkCalendar, limit: TimeLimit, from: i64) -> (i64, CompletionDeadline) {
    match limit {
        TimeLimit::WorkingDays(n) => {
            let clock = tracked::working_days_clock(calendar, from, n);
            (clock.due, CompletionDeadline::WorkingDays(clock.deadline))
        }
        TimeLimit::Hours(hours) => (from + i64::from(hours) * HOUR, CompletionDeadline::Hours { hours }),
    }
}

/// The completion deadline after an approved extension of `days` working days from the current
/// deadline.
pub fn extended(calendar: &WorkCalendar, current_due: i64, days: u32) -> (i64, WorkingDeadline) {
    let clock = tracked::working_days_clock(calendar, current_due, days);
    (clock.due, clock.deadline)
}

/// Where a case stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseStatus {
    /// 待联系
    Submitted,
    /// 办理中 (first contact recorded)
    InProgress,
    /// 已办结 (reply given, awaiting rating)
    Completed,
    /// 已评价 (rated 满意 or 基本满意)
    Closed,
    /// 重新办理 (rated 不满意)
    Reopened,
}

impl CaseStatus {
    pub const ALL: [Self; 5] = [Self::Submitted, Self::InProgress, Self::Completed, Self::Closed, Self::Reopened];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Submitted => "submitted",
            Self::InProgress => "in_progress",
            Self::Completed => "completed",
            Self::Closed => "closed",
            Self::Reopened => "reopened",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Submitted => "待联系",
            Self::InProgress => "办理中",
            Self::Completed => "已办结",
            Self::Closed => "已评价",
            Self::Reopened => "重新办理",
        }
    }

    /// Whether the case still awaits the officer's work.
    pub fn is_open(self) -> bool {
        matches!(self, Self::Submitted | Self::InProgress | Self::Reopened)
    }
}

crate::stored_code!(TimeLimit, CaseStatus, ContactMethod, ExtensionStatus, Recipient);

/// What someone does to a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseAction {
    /// The officer records first contact.
    Contact,
    /// The officer records progress (status unchanged).
    Progress,
    /// The officer completes the case with a reply.
    Complete,
    /// The applicant rates the reply.
    Rate(Satisfaction),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("办件当前状态为“{}”，不能进行此操作", .from.label())]
pub struct CaseTransitionError {
    pub from: CaseStatus,
}

/// The case state machine.
pub fn transition(from: CaseStatus, action: CaseAction) -> Result<Transition<CaseStatus>, CaseTransitionError> {
    use CaseAction as A;
    use CaseStatus as S;
    let to = match (from, action) {
        (S::Submitted, A::Contact) => S::InProgress,
        (S::InProgress | S::Reopened, A::Progress) => from,
        (S::InProgress | S::Reopened, A::Complete) => S::Completed,
        (S::Completed, A::Rate(r)) if r.reopens() => S::Reopened,
        (S::Completed, A::Rate(_)) => S::Closed,
        _ => return Err(CaseTransitionError { from }),
    };
    Ok(Transition::new(from, to))
}

/// How first contact was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContactMethod {
    Phone,
    Visit,
    WeChat,
    InPerson,
}

impl ContactMethod {
    pub const ALL: [Self; 4] = [Self::Phone, Self::Visit, Self::WeChat, Self::InPerson];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Phone => "phone",
            Self::Visit => "visit",
            Self::WeChat => "wechat",
            Self::InPerson => "in_person",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s.trim())
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Phone => "电话联系",
            Self::Visit => "上门走访",
            Self::WeChat => "微信联系",
            Self::InPerson => "来访面谈",
        }
    }
}

/// An extension request's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExtensionStatus {
    Requested,
    Approved,
    Rejected,
}

impl ExtensionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Requested => "requested",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Requested, Self::Approved, Self::Rejected].into_iter().find(|v| v.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Requested => "待审批",
            Self::Approved => "已批准",
            Self::Rejected => "未批准",
        }
    }
}

/// Why an extension cannot be requested.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum ExtensionError {
    #[error("办理期限已过，不能再申请延期")]
    Expired,
    #[error("只有办理中的办件可以申请延期")]
    NotOpen,
    #[error("延期天数应为 1 至 {MAX_EXTENSION_DAYS} 个工作日")]
    BadDays,
    #[error("已有待审批的延期申请")]
    Pending,
}

/// An extension may be asked for while the case is open, before its completion deadline, for
/// 1–[`MAX_EXTENSION_DAYS`] working days, one request at a time.
pub fn check_extension(
    status: CaseStatus,
    completion_due: i64,
    now: i64,
    days: u32,
    pending: bool,
) -> Result<(), ExtensionError> {
    if !matches!(status, CaseStatus::InProgress | CaseStatus::Reopened | CaseStatus::Submitted) {
        return Err(ExtensionError::NotOpen);
    }
    if now >= completion_due {
        return Err(ExtensionError::Expired);
    }
    if !(1..=MAX_EXTENSION_DAYS).contains(&days) {
        return Err(ExtensionError::BadDays);
    }
    if pending {
        return Err(ExtensionError::Pending);
    }
    Ok(())
}

/// Who receives a notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Recipient {
    /// 部门主要领导
    DepartmentHead,
    /// 分管领导
    LeaderInCharge,
    /// 经办人
    CaseOfficer,
    /// 乡镇经办人
    TownshipHandler,
    /// 县纪委监委
    CountySupervisor,
    /// The applicant.
    Applicant,
}

impl Recipient {
    /// A department contact's post is one of the first three.
    pub const POSTS: [Self; 3] = [Self::DepartmentHead, Self::LeaderInCharge, Self::CaseOfficer];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::DepartmentHead => "head",
            Self::LeaderInCharge => "leader",
            Self::CaseOfficer => "officer",
            Self::TownshipHandler => "township",
            Self::CountySupervisor => "supervisor",
            Self::Applicant => "applicant",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::DepartmentHead,
            Self::LeaderInCharge,
            Self::CaseOfficer,
            Self::TownshipHandler,
            Self::CountySupervisor,
            Self::Applicant,
        ]
        .into_iter()
        .find(|r| r.as_str() == s)
    }

    /// How a text's recipient is named in the case's record.
    pub fn label(self) -> &'static str {
        match self {
            Self::DepartmentHead => "部门主要领导",
            Self::LeaderInCharge => "分管领导",
            Self::CaseOfficer => "经办人",
            Self::TownshipHandler => "乡镇经办人",
            Self::CountySupervisor => "县纪委监委",
            Self::Applicant => "申请人",
        }
    }
}

/// A notification a case event sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Notice {
    /// 新办件: to the department's head, the leader in charge, the officer and the township handler.
    CaseSubmitted,
    /// To the applicant: the application arrived, with its tracking number.
    CaseReceived,
    /// 24 小时联系提醒
    ContactReminder,
    /// 超过 24 小时未联系
    ContactOverdue,
    /// 办结期限提醒
    CompletionReminder,
    /// 超过办理期限
    CompletionOverdue,
    /// To the applicant: the officer made contact.
    CaseContacted,
    /// To the applicant: the case is completed, please rate.
    CaseCompleted,
    /// 不满意: reopened.
    CaseUnsatisfied,
}

impl Notice {
    pub const ALL: [Self; 9] = [
        Self::CaseSubmitted,
        Self::CaseReceived,
        Self::ContactReminder,
        Self::ContactOverdue,
        Self::CompletionReminder,
        Self::CompletionOverdue,
        Self::CaseContacted,
        Self::CaseCompleted,
        Self::CaseUnsatisfied,
    ];

    /// The template key, also the provider template lookup key in the configuration.
    pub fn key(self) -> &'static str {
        match self {
            Self::CaseSubmitted => "case_submitted",
            Self::CaseReceived => "case_received",
            Self::ContactReminder => "contact_reminder",
            Self::ContactOverdue => "contact_overdue",
            Self::CompletionReminder => "completion_reminder",
            Self::CompletionOverdue => "completion_overdue",
            Self::CaseContacted => "case_contacted",
            Self::CaseCompleted => "case_completed",
            Self::CaseUnsatisfied => "case_unsatisfied",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|n| n.key() == s)
    }

    pub fn recipients(self) -> &'static [Recipient] {
        use Recipient as R;
        match self {
            Self::CaseSubmitted => &[R::DepartmentHead, R::LeaderInCharge, R::CaseOfficer, R::TownshipHandler],
            Self::ContactReminder | Self::CompletionReminder => &[R::CaseOfficer],
            Self::ContactOverdue | Self::CompletionOverdue => &[R::DepartmentHead, R::CountySupervisor],
            Self::CaseReceived | Self::CaseContacted | Self::CaseCompleted => &[R::Applicant],
            Self::CaseUnsatisfied => &[R::CountySupervisor, R::DepartmentHead],
        }
    }

    /// The message text with its parameters filled in (the `log` sink and the staff outbox view
    /// show it; real providers send the template code with the same parameters).
    pub fn render(self, tracking: &str, item: &str, link: &str) -> String {
        match self {
            Self::CaseSubmitted => {
                format!("您有新的群众办事申请（{item}），办件编号{tracking}，请于24小时内联系群众：{link}")
            }
            Self::CaseReceived => {
                format!(
                    "您的办事申请（{item}）已提交，办件编号{tracking}，工作人员将在24小时内与您联系，进度可查：{link}"
                )
            }
            Self::ContactReminder => format!("办件{tracking}（{item}）即将超过24小时未联系群众，请尽快联系：{link}"),
            Self::ContactOverdue => format!("办件{tracking}（{item}）已超过24小时未联系群众，已标记逾期：{link}"),
            Self::CompletionReminder => format!("办件{tracking}（{item}）将于24小时内到期，请按时办结：{link}"),
            Self::CompletionOverdue => format!("办件{tracking}（{item}）已超过办理期限，已标记逾期：{link}"),
            Self::CaseContacted => format!("您的办件{tracking}（{item}）已有工作人员联系受理，可查看进度：{link}"),
            Self::CaseCompleted => format!("您的办件{tracking}（{item}）已办结，请查看答复并评价：{link}"),
            Self::CaseUnsatisfied => format!("办件{tracking}（{item}）群众评价为不满意，已重新办理：{link}"),
        }
    }

    /// Where the case stands, in at most five characters, for the 办理进度 keyword of a WeChat
    /// template message (an applicant's notices only; the others are never sent there).
    pub fn progress(self) -> Option<&'static str> {
        match self {
            Self::CaseReceived => Some("已提交"),
            Self::CaseContacted => Some("已受理"),
            Self::CaseCompleted => Some("已办结"),
            _ => None,
        }
    }

    /// The ordered template parameters.
    pub fn params(tracking: &str, item: &str, link: &str) -> Vec<(String, String)> {
        vec![
            ("code".into(), tracking.into()),
            ("item".into(), item.chars().take(20).collect()),
            ("link".into(), link.into()),
        ]
    }
}

/// The prefix of a case's tracking number.
const TRACKING_PREFIX: &str = "BJ";

/// A tracking number (办件编号): `BJ` + Beijing date + six digits, e.g. `BJ20251009384756`.
pub fn tracking_number(submitted_at: i64, random: u32) -> String {
    tracked::tracking_number(TRACKING_PREFIX, submitted_at, random)
}

/// Normalises what a villager typed as a tracking number (spaces, lower case, full-width digits).
pub fn normalize_tracking(input: &str) -> Option<String> {
    tracked::normalize_tracking(TRACKING_PREFIX, input)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tracked::end_of_day;
    use crate::tracked::tests::{SEP30_10AM, national_day_2025};
    use jiff::civil::date;

    #[test]
    fn recipient_codes_read_back_and_a_department_post_is_one_of_three() {
        let all = [
            Recipient::DepartmentHead,
            Recipient::LeaderInCharge,
            Recipient::CaseOfficer,
            Recipient::TownshipHandler,
            Recipient::CountySupervisor,
            Recipient::Applicant,
        ];
        for r in all {
            assert_eq!(r.as_str().parse::<Recipient>(), Ok(r));
        }
        assert_eq!(Recipient::POSTS.map(Recipient::as_str), ["head", "leader", "officer"]);
        assert!("deputy".parse::<Recipient>().is_err());
    }

    #[test]
    fn the_applicants_notices_say_their_progress_in_a_phrase() {
        for n in Notice::ALL {
            let to_applicant = n.recipients() == [Recipient::Applicant];
            assert_eq!(n.progress().is_some(), to_applicant, "{n:?}");
            if let Some(p) = n.progress() {
                assert!(p.chars().count() <= 5 && p.chars().all(|c| !c.is_ascii()), "a WeChat phrase: {p}");
            }
        }
    }
    use proptest::prelude::*;

    #[test]
    fn clocks_count_working_days_across_the_national_day_break() {
        let c = clocks(&national_day_2025(), TimeLimit::WorkingDays(3), SEP30_10AM);
        assert_eq!(c.contact_due, SEP30_10AM + 24 * HOUR);
        assert_eq!(c.contact_remind_at, SEP30_10AM + 20 * HOUR);
        assert_eq!(c.completion_due, end_of_day(date(2025, 10, 11)));
        let CompletionDeadline::WorkingDays(d) = c.completion else { panic!("working days") };
        assert_eq!(d.holidays_skipped()[0].1.len(), 8);
        let hours = clocks(&national_day_2025(), TimeLimit::Hours(48), SEP30_10AM);
        assert_eq!(hours.completion_due, SEP30_10AM + 48 * HOUR);
    }

    #[test]
    fn extensions_count_from_the_current_deadline() {
        let cal = national_day_2025();
        let (due, d) = extended(&cal, end_of_day(date(2025, 9, 29)), 2);
        assert_eq!(d.due, date(2025, 10, 9));
        assert_eq!(due, end_of_day(date(2025, 10, 9)));
    }

    #[test]
    fn time_limits_parse() {
        assert_eq!(TimeLimit::parse("15d"), Some(TimeLimit::WorkingDays(15)));
        assert_eq!(TimeLimit::parse("20个工作日"), Some(TimeLimit::WorkingDays(20)));
        assert_eq!(TimeLimit::parse("48h"), Some(TimeLimit::Hours(48)));
        assert_eq!(TimeLimit::parse("0d"), None);
        assert_eq!(TimeLimit::parse("d"), None);
        assert_eq!(TimeLimit::parse("5 weeks"), None);
        assert_eq!(TimeLimit::WorkingDays(15).label(), "15个工作日");
        for limit in [TimeLimit::WorkingDays(7), TimeLimit::Hours(72)] {
            assert_eq!(TimeLimit::parse(&limit.as_code()), Some(limit));
        }
    }

    #[test]
    fn the_case_life() {
        use CaseAction as A;
        use CaseStatus as S;
        assert_eq!(transition(S::Submitted, A::Contact).map(Transition::to), Ok(S::InProgress));
        assert_eq!(transition(S::InProgress, A::Progress).map(Transition::to), Ok(S::InProgress));
        assert_eq!(transition(S::InProgress, A::Complete).map(Transition::to), Ok(S::Completed));
        assert_eq!(transition(S::Completed, A::Rate(Satisfaction::Basic)).map(Transition::to), Ok(S::Closed));
        assert_eq!(transition(S::Completed, A::Rate(Satisfaction::Unsatisfied)).map(Transition::to), Ok(S::Reopened));
        assert_eq!(transition(S::Reopened, A::Complete).map(Transition::to), Ok(S::Completed));
        assert!(transition(S::Submitted, A::Complete).is_err());
        assert!(transition(S::Closed, A::Rate(Satisfaction::Satisfied)).is_err());
        assert!(transition(S::InProgress, A::Contact).is_err());
        let message = transition(S::Closed, A::Contact).expect_err("closed").to_string();
        assert!(message.contains("已评价"));
    }

    #[test]
    fn extensions_are_asked_before_expiry_one_at_a_time() {
        let now = SEP30_10AM;
        assert_eq!(check_extension(CaseStatus::InProgress, now + 1, now, 5, false), Ok(()));
        assert_eq!(check_extension(CaseStatus::InProgress, now, now, 5, false), Err(ExtensionError::Expired));
        assert_eq!(check_extension(CaseStatus::Completed, now + 1, now, 5, false), Err(ExtensionError::NotOpen));
        assert_eq!(check_extension(CaseStatus::InProgress, now + 1, now, 0, false), Err(ExtensionError::BadDays));
        assert_eq!(check_extension(CaseStatus::InProgress, now + 1, now, 5, true), Err(ExtensionError::Pending));
    }

    #[test]
    fn every_submission_reaches_all_four_officials() {
        assert_eq!(Notice::CaseSubmitted.recipients().len(), 4);
        assert!(Notice::ContactOverdue.recipients().contains(&Recipient::CountySupervisor));
        assert!(Notice::CaseUnsatisfied.recipients().contains(&Recipient::CountySupervisor));
        for n in Notice::ALL {
            assert_eq!(Notice::parse(n.key()), Some(n));
            assert!(n.render("BJ20251009000001", "低保申请", "https://x/c").contains("BJ20251009000001"));
        }
    }

    #[test]
    fn tracking_numbers() {
        let t = tracking_number(SEP30_10AM, 42);
        assert_eq!(t, "BJ20250930000042");
        assert_eq!(normalize_tracking(" bj2025 0930 000042 ").as_deref(), Some("BJ20250930000042"));
        assert_eq!(normalize_tracking("ＢＪ２０２５０９３０００００４２").as_deref(), Some("BJ20250930000042"));
        assert_eq!(normalize_tracking("BJ2025"), None);
        assert_eq!(normalize_tracking("XX20250930000042"), None);
    }

    proptest! {
        #[test]
        fn tracking_numbers_round_trip(at in 0i64..4_000_000_000, r in any::<u32>()) {
            let t = tracking_number(at, r);
            prop_assert_eq!(normalize_tracking(&t), Some(t.clone()));
        }

        #[test]
        fn completion_is_never_before_contact_for_day_limits(at in 1_700_000_000i64..1_900_000_000, n in 1u32..30) {
            let c = clocks(&national_day_2025(), TimeLimit::WorkingDays(n), at);
            prop_assert!(c.completion_due >= at + 24 * HOUR);
            prop_assert!(c.completion_remind_at >= at);
            prop_assert!(c.completion_remind_at <= c.completion_due);
        }

        #[test]
        fn parsing_never_panics(s in "\\PC{0,40}") {
            let _ = TimeLimit::parse(&s);
            let _ = normalize_tracking(&s);
        }
    }
}
