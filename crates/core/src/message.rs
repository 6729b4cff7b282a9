//! 留言箱 (message box): questions (咨询), complaints (投诉), suggestions (建议) and reports of
//! wrongdoing (举报) left by villagers, the reply clock, the life of a message and who is told.
//! Pure rules; the store keeps the state and the server reads the clock.
//!
//! A report (举报) is the one kind that protects its author: it goes only to the discipline
//! commission, may be anonymous, and its author's identity is never part of any text, title or
//! link that reaches anyone else. The rules here never carry the author's identity at all.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::code::Transition;
use crate::tracked::{self, DayClock, Satisfaction};
use crate::workday::WorkCalendar;

/// Working days within which a question or a suggestion is answered.
pub const QUESTION_REPLY_DAYS: u32 = 3;
/// The default limit for complaints and reports (configurable).
pub const DEFAULT_COMPLAINT_REPLY_DAYS: u32 = 13;
/// Shortest and longest message text, in characters.
pub const MIN_BODY_CHARS: usize = 5;
pub const MAX_BODY_CHARS: usize = 2000;

/// 留言类别
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    /// 咨询
    Question,
    /// 投诉
    Complaint,
    /// 建议
    Suggestion,
    /// 举报: routed only to the discipline commission; the author may stay anonymous.
    Report,
}

/// Whether a kind asks for the author's phone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhoneRule {
    Required,
    Optional,
}

impl MessageKind {
    pub const ALL: [Self; 4] = [Self::Question, Self::Complaint, Self::Suggestion, Self::Report];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Question => "question",
            Self::Complaint => "complaint",
            Self::Suggestion => "suggestion",
            Self::Report => "report",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s.trim())
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Question => "咨询",
            Self::Complaint => "投诉",
            Self::Suggestion => "建议",
            Self::Report => "举报",
        }
    }

    /// One line for the villager choosing a kind.
    pub fn hint(self) -> &'static str {
        match self {
            Self::Question => "问政策、问办事，3个工作日内答复",
            Self::Complaint => "对村组干部、办事结果不满意，须留手机号",
            Self::Suggestion => "对村里、乡里工作的意见建议",
            Self::Report => "反映违纪违法问题，只送县乡纪委，可匿名",
        }
    }

    /// A complaint needs a phone so that the handler can call back; every other kind may do without.
    pub fn phone_rule(self) -> PhoneRule {
        match self {
            Self::Complaint => PhoneRule::Required,
            _ => PhoneRule::Optional,
        }
    }

    /// Only questions (and their answers) may ever appear on the public list.
    pub fn may_be_public(self) -> bool {
        self == Self::Question
    }

    /// Working days allowed for the reply; complaints and reports take the configured limit.
    pub fn reply_days(self, complaint_days: u32) -> u32 {
        match self {
            Self::Question | Self::Suggestion => QUESTION_REPLY_DAYS,
            Self::Complaint | Self::Report => complaint_days.clamp(1, 60),
        }
    }
}

/// When the reply to a message received at `from` (unix seconds) is due: the end of the last
/// working day (the day of receipt never counts), with a reminder a day before.
pub fn reply_clock(calendar: &WorkCalendar, kind: MessageKind, complaint_days: u32, from: i64) -> DayClock {
    tracked::working_days_clock(calendar, from, kind.reply_days(complaint_days))
}

/// Where a message stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageStatus {
    /// 待处理
    Submitted,
    /// 处理中 (assigned to a staff member)
    Handling,
    /// 已答复 (awaiting the author's rating)
    Replied,
    /// 已办结
    Closed,
    /// 重新办理 (rated 不满意)
    Reopened,
    /// 已合并 (a duplicate pointing at the kept message)
    Merged,
    /// 已屏蔽 (abusive content, with a recorded reason shown to the author)
    Hidden,
}

impl MessageStatus {
    pub const ALL: [Self; 7] =
        [Self::Submitted, Self::Handling, Self::Replied, Self::Closed, Self::Reopened, Self::Merged, Self::Hidden];
    /// The statuses in which the reply clock runs.
    pub const OPEN: [Self; 3] = [Self::Submitted, Self::Handling, Self::Reopened];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Submitted => "submitted",
            Self::Handling => "handling",
            Self::Replied => "replied",
            Self::Closed => "closed",
            Self::Reopened => "reopened",
            Self::Merged => "merged",
            Self::Hidden => "hidden",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Submitted => "待处理",
            Self::Handling => "处理中",
            Self::Replied => "已答复",
            Self::Closed => "已办结",
            Self::Reopened => "重新办理",
            Self::Merged => "已合并",
            Self::Hidden => "已屏蔽",
        }
    }

    pub fn is_open(self) -> bool {
        Self::OPEN.contains(&self)
    }
}

crate::stored_code!(MessageKind, MessageStatus, MessageRecipient);

/// What someone does to a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageAction {
    /// A staff member takes it (or is given it).
    Assign,
    /// A staff member answers.
    Reply,
    /// A staff member closes an answered message the author has not rated.
    MarkHandled,
    /// The author rates the answer.
    Rate(Satisfaction),
    /// Closed as a duplicate of another message.
    Merge,
    /// Hidden as abusive.
    Hide,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("留言当前状态为“{}”，不能进行此操作", .from.label())]
pub struct MessageTransitionError {
    pub from: MessageStatus,
}

/// The message state machine.
pub fn transition(
    from: MessageStatus,
    action: MessageAction,
) -> Result<Transition<MessageStatus>, MessageTransitionError> {
    use MessageAction as A;
    use MessageStatus as S;
    let to = match (from, action) {
        (S::Submitted | S::Handling, A::Assign) => S::Handling,
        (S::Reopened, A::Assign) => S::Reopened,
        (S::Submitted | S::Handling | S::Reopened, A::Reply) => S::Replied,
        (S::Replied, A::MarkHandled) => S::Closed,
        (S::Replied, A::Rate(r)) if r.reopens() => S::Reopened,
        (S::Replied, A::Rate(_)) => S::Closed,
        (S::Submitted | S::Handling | S::Reopened, A::Merge) => S::Merged,
        (S::Submitted | S::Handling | S::Reopened | S::Replied, A::Hide) => S::Hidden,
        _ => return Err(MessageTransitionError { from }),
    };
    Ok(Transition::new(from, to))
}

/// The prefix of a message's tracking number.
const TRACKING_PREFIX: &str = "LY";

/// A tracking number (留言编号): `LY` + Beijing date + six digits, e.g. `LY20251009384756`.
pub fn tracking_number(submitted_at: i64, random: u32) -> String {
    tracked::tracking_number(TRACKING_PREFIX, submitted_at, random)
}

/// Normalises what a villager typed as a message tracking number.
pub fn normalize_tracking(input: &str) -> Option<String> {
    tracked::normalize_tracking(TRACKING_PREFIX, input)
}

/// The characters of an anonymous reporter's private query password: no 0/O, 1/I/L.
const SECRET_ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
/// Length of the query password: 10 characters from a 31-letter alphabet (about 49 bits).
pub const SECRET_LEN: usize = 10;

/// An anonymous reporter's query password from random bytes, shown once, grouped for reading
/// aloud: `ABCDE-23456`.
pub fn query_secret(random: &[u8; SECRET_LEN]) -> String {
    let chars: String =
        random.iter().map(|b| char::from(SECRET_ALPHABET[usize::from(*b) % SECRET_ALPHABET.len()])).collect();
    format!("{}-{}", &chars[..5], &chars[5..])
}

/// Normalises a typed password (case, spaces, dashes, full-width) for comparison.
pub fn normalize_secret(input: &str) -> Option<String> {
    let s: String =
        crate::text::normalize(input).chars().filter(|c| c.is_ascii_alphanumeric()).collect::<String>().to_uppercase();
    (s.len() == SECRET_LEN && s.bytes().all(|b| SECRET_ALPHABET.contains(&b)))
        .then(|| format!("{}-{}", &s[..5], &s[5..]))
}

/// Removes personal data from text shown on the public list: mobile numbers, landlines, ID numbers
/// and the given names (the author's, if they left one) become placeholders.
pub fn redact(text: &str, names: &[&str]) -> String {
    let mut out = String::with_capacity(text.len());
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_digit() {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_digit() || matches!(chars[i], 'X' | 'x' | '-' | ' ')) {
                i += 1;
            }
            let run: String = chars[start..i].iter().collect();
            let digits = run.chars().filter(|c| c.is_ascii_digit()).count();
            if digits >= 7 {
                out.push_str("＊＊＊");
                // Keep a trailing space so the sentence still reads.
                if run.ends_with(' ') {
                    out.push(' ');
                }
            } else {
                out.push_str(&run);
            }
            continue;
        }
        out.push(chars[i]);
        i += 1;
    }
    for name in names.iter().map(|n| n.trim()).filter(|n| n.chars().count() >= 2) {
        out = out.replace(name, "某某");
    }
    out
}

/// Who receives a message notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageRecipient {
    /// Village clerks and township administrators whose scope covers the message.
    Handlers,
    /// The staff member the message is assigned to.
    Assignee,
    /// The discipline commission: county supervisors and the township's discipline secretary.
    Commission,
    /// County supervisors only.
    CountySupervisor,
    /// The author, if they left a phone.
    Author,
}

impl MessageRecipient {
    pub const ALL: [Self; 5] = [Self::Handlers, Self::Assignee, Self::Commission, Self::CountySupervisor, Self::Author];

    /// The role code the store's recipient query gives each staff phone.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Handlers => "handler",
            Self::Assignee => "assignee",
            Self::Commission => "commission",
            Self::CountySupervisor => "supervisor",
            Self::Author => "author",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// A notification a message event sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageNotice {
    /// A new message.
    Received,
    /// To the author: the message arrived, with its tracking number.
    Filed,
    /// The reply is due within a day.
    ReplyReminder,
    /// The reply is overdue.
    ReplyOverdue,
    /// To the author: answered, please rate.
    Replied,
    /// 不满意: reopened.
    Unsatisfied,
    /// Assigned to a staff member.
    Assigned,
}

impl MessageNotice {
    pub const ALL: [Self; 7] = [
        Self::Received,
        Self::Filed,
        Self::ReplyReminder,
        Self::ReplyOverdue,
        Self::Replied,
        Self::Unsatisfied,
        Self::Assigned,
    ];

    /// The template key (also the provider template lookup key).
    pub fn key(self) -> &'static str {
        match self {
            Self::Received => "message_received",
            Self::Filed => "message_filed",
            Self::ReplyReminder => "message_reminder",
            Self::ReplyOverdue => "message_overdue",
            Self::Replied => "message_replied",
            Self::Unsatisfied => "message_unsatisfied",
            Self::Assigned => "message_assigned",
        }
    }

    /// Who is told. A report reaches only the commission (and its own author): never the
    /// village or township handlers it may concern.
    pub fn recipients(self, kind: MessageKind) -> &'static [MessageRecipient] {
        use MessageRecipient as R;
        let report = kind == MessageKind::Report;
        match self {
            Self::Received if report => &[R::Commission],
            Self::Received => &[R::Handlers],
            Self::ReplyReminder if report => &[R::Assignee, R::Commission],
            Self::ReplyReminder => &[R::Assignee, R::Handlers],
            Self::ReplyOverdue if report => &[R::Commission],
            Self::ReplyOverdue => &[R::Handlers, R::CountySupervisor],
            Self::Filed | Self::Replied => &[R::Author],
            Self::Unsatisfied if report => &[R::Commission],
            Self::Unsatisfied => &[R::CountySupervisor, R::Handlers],
            Self::Assigned => &[R::Assignee],
        }
    }

    /// The text with its parameters filled in. It names the kind and the tracking number only:
    /// never the author, never the content.
    pub fn render(self, tracking: &str, kind: MessageKind, link: &str) -> String {
        let k = kind.label();
        match self {
            Self::Received => format!("收到群众{k}留言，编号{tracking}，请按时答复：{link}"),
            Self::Filed => format!("您的{k}留言已提交，编号{tracking}，答复进度可查：{link}"),
            Self::ReplyReminder => format!("{k}留言{tracking}将于24小时内到答复期限，请尽快答复：{link}"),
            Self::ReplyOverdue => format!("{k}留言{tracking}已超过答复期限，已标记逾期：{link}"),
            Self::Replied => format!("您的{k}留言{tracking}已有答复，请查看并评价：{link}"),
            Self::Unsatisfied => format!("{k}留言{tracking}群众评价为不满意，已重新办理：{link}"),
            Self::Assigned => format!("{k}留言{tracking}已交您办理，请按时答复：{link}"),
        }
    }

    /// The ordered template parameters.
    pub fn params(tracking: &str, kind: MessageKind, link: &str) -> Vec<(String, String)> {
        vec![("code".into(), tracking.into()), ("kind".into(), kind.label().into()), ("link".into(), link.into())]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tracked::end_of_day;
    use crate::tracked::tests::{SEP30_10AM, national_day_2025};
    use jiff::civil::date;
    use proptest::prelude::*;

    #[test]
    fn a_question_is_answered_within_three_working_days_across_the_national_day_break() {
        let c = reply_clock(&national_day_2025(), MessageKind::Question, 13, SEP30_10AM);
        assert_eq!(c.deadline.due, date(2025, 10, 11));
        assert_eq!(c.due, end_of_day(date(2025, 10, 11)));
        assert_eq!(c.remind_at, c.due - 24 * 3600);
    }

    #[test]
    fn complaints_and_reports_take_the_configured_limit() {
        assert_eq!(MessageKind::Complaint.reply_days(13), 13);
        assert_eq!(MessageKind::Report.reply_days(20), 20);
        assert_eq!(MessageKind::Suggestion.reply_days(20), 3);
        assert_eq!(MessageKind::Complaint.reply_days(0), 1, "never zero");
        let c = reply_clock(&national_day_2025(), MessageKind::Complaint, 13, SEP30_10AM);
        assert_eq!(c.deadline.working_days, 13);
    }

    #[test]
    fn only_a_complaint_requires_a_phone() {
        let required: Vec<_> = MessageKind::ALL.into_iter().filter(|k| k.phone_rule() == PhoneRule::Required).collect();
        assert_eq!(required, [MessageKind::Complaint]);
    }

    #[test]
    fn only_questions_may_be_public() {
        assert!(MessageKind::Question.may_be_public());
        assert!(!MessageKind::Report.may_be_public());
        assert!(!MessageKind::Complaint.may_be_public());
    }

    #[test]
    fn the_message_life() {
        use MessageAction as A;
        use MessageStatus as S;
        assert_eq!(transition(S::Submitted, A::Assign).map(Transition::to), Ok(S::Handling));
        assert_eq!(transition(S::Handling, A::Reply).map(Transition::to), Ok(S::Replied));
        assert_eq!(transition(S::Replied, A::Rate(Satisfaction::Basic)).map(Transition::to), Ok(S::Closed));
        assert_eq!(transition(S::Replied, A::Rate(Satisfaction::Unsatisfied)).map(Transition::to), Ok(S::Reopened));
        assert_eq!(transition(S::Reopened, A::Reply).map(Transition::to), Ok(S::Replied));
        assert_eq!(transition(S::Replied, A::MarkHandled).map(Transition::to), Ok(S::Closed));
        assert_eq!(transition(S::Submitted, A::Merge).map(Transition::to), Ok(S::Merged));
        assert_eq!(transition(S::Handling, A::Hide).map(Transition::to), Ok(S::Hidden));
        assert!(transition(S::Closed, A::Reply).is_err());
        assert!(transition(S::Merged, A::Reply).is_err());
        assert!(transition(S::Submitted, A::Rate(Satisfaction::Satisfied)).is_err());
        assert!(transition(S::Submitted, A::MarkHandled).is_err());
        assert!(transition(S::Hidden, A::Assign).unwrap_err().to_string().contains("已屏蔽"));
    }

    #[test]
    fn a_report_never_reaches_the_handlers_it_may_concern() {
        for n in MessageNotice::ALL {
            let r = n.recipients(MessageKind::Report);
            assert!(!r.contains(&MessageRecipient::Handlers), "{n:?}");
        }
        assert_eq!(MessageNotice::Received.recipients(MessageKind::Report), [MessageRecipient::Commission]);
        assert!(
            MessageNotice::Unsatisfied.recipients(MessageKind::Question).contains(&MessageRecipient::CountySupervisor)
        );
    }

    #[test]
    fn texts_name_the_kind_and_number_only() {
        for n in MessageNotice::ALL {
            let body = n.render("LY20251009000001", MessageKind::Report, "https://x/m");
            assert!(body.contains("LY20251009000001") && body.contains("举报"), "{body}");
        }
    }

    #[test]
    fn tracking_numbers_and_secrets() {
        assert_eq!(tracking_number(SEP30_10AM, 42), "LY20250930000042");
        assert_eq!(normalize_tracking(" ly2025 0930 000042").as_deref(), Some("LY20250930000042"));
        assert_eq!(normalize_tracking("BJ20250930000042"), None);
        let s = query_secret(&[0, 1, 2, 3, 4, 5, 6, 7, 8, 30]);
        assert_eq!(s, "23456-789AZ");
        assert_eq!(normalize_secret("23456 789az").as_deref(), Some("23456-789AZ"));
        assert_eq!(normalize_secret("0000000000"), None, "0 is not in the alphabet");
        assert_eq!(normalize_secret("123"), None);
    }

    #[test]
    fn redaction_removes_phones_ids_and_names() {
        let text = "我是张三，电话13912345678，身份证620922198001011234，家有3口人，房号0937-5521234";
        let r = redact(text, &["张三"]);
        assert!(!r.contains("13912345678") && !r.contains("620922198001011234") && !r.contains("5521234"));
        assert!(!r.contains("张三") && r.contains("某某"));
        assert!(r.contains("3口人"), "short numbers stay: {r}");
    }

    proptest! {
        #[test]
        fn tracking_numbers_round_trip(at in 0i64..4_000_000_000, r in any::<u32>()) {
            let t = tracking_number(at, r);
            prop_assert_eq!(normalize_tracking(&t), Some(t.clone()));
        }

        #[test]
        fn secrets_round_trip(bytes in any::<[u8; SECRET_LEN]>()) {
            let s = query_secret(&bytes);
            prop_assert_eq!(normalize_secret(&s.to_lowercase()), Some(s.clone()));
        }

        #[test]
        fn a_redacted_text_never_shows_a_mobile_number(prefix in "\\PC{0,10}", n in 13_000_000_000u64..19_999_999_999) {
            let text = format!("{prefix}{n}");
            prop_assert!(!redact(&text, &[]).contains(&n.to_string()));
        }

        #[test]
        fn parsing_never_panics(s in "\\PC{0,40}") {
            let _ = normalize_tracking(&s);
            let _ = normalize_secret(&s);
            let _ = redact(&s, &["某"]);
        }
    }
}
