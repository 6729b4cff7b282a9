//! Open311 GeoReport v2 terms for the platform's requests, and the rules of integrator keys
//! (接口密钥). A service is either a 我要办事 item (`item-<id>`) or a 留言箱 kind
//! (`message-question`…); a report (举报) is never a service. A request is `open` while its
//! officer still owes work and `closed` once answered. Pure rules: no I/O, no clock.

use std::fmt;

use crate::message::{MessageKind, MessageStatus};
use crate::service::{CaseAction, CaseStatus};

/// The longest window between `start_date` and `end_date`, and the default window (GeoReport v2).
pub const WINDOW_DAYS: i64 = 90;
/// The most requests one read returns (GeoReport v2 suggests 1000).
pub const MAX_RESULTS: i64 = 1000;
/// The most requests one pull returns.
pub const PULL_LIMIT: i64 = 200;
/// How long a key may be valid at most, in days.
pub const MAX_VALID_DAYS: i64 = 731;
/// What every key begins with, so that a leaked one is recognisable.
pub const KEY_PREFIX: &str = "xw311_";
/// What every token of a request filed through Open311 begins with.
pub const TOKEN_PREFIX: &str = "o311-";

/// A GeoReport `service_code`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceCode {
    /// A 我要办事 service item.
    Item(i64),
    /// A 留言箱 kind other than a report.
    Message(MessageKind),
}

impl ServiceCode {
    /// Reads a code; a report (举报) or anything unknown is `None`.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        if let Some(id) = s.strip_prefix("item-") {
            return id.parse().ok().filter(|id| *id > 0).map(Self::Item);
        }
        let kind = MessageKind::parse(s.strip_prefix("message-")?)?;
        Self::for_message(kind)
    }

    /// The service of a message kind; a report has none.
    pub fn for_message(kind: MessageKind) -> Option<Self> {
        (kind != MessageKind::Report).then_some(Self::Message(kind))
    }

    /// The message kinds that are services, in catalogue order.
    pub fn message_services() -> impl Iterator<Item = Self> {
        MessageKind::ALL.into_iter().filter_map(Self::for_message)
    }
}

impl fmt::Display for ServiceCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Item(id) => write!(f, "item-{id}"),
            Self::Message(kind) => write!(f, "message-{}", kind.as_str()),
        }
    }
}

/// A GeoReport request status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestStatus {
    Open,
    Closed,
}

impl RequestStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "open" => Some(Self::Open),
            "closed" => Some(Self::Closed),
            _ => None,
        }
    }

    /// A case is open while its officer still owes contact or completion.
    pub fn of_case(status: CaseStatus) -> Self {
        if status.is_open() { Self::Open } else { Self::Closed }
    }

    /// A message is open until it is answered, merged or closed; a hidden message is no request.
    pub fn of_message(status: MessageStatus) -> Option<Self> {
        match status {
            MessageStatus::Hidden => None,
            s if MessageStatus::OPEN.contains(&s) => Some(Self::Open),
            _ => Some(Self::Closed),
        }
    }

    /// The case statuses behind this request status.
    pub fn case_statuses(self) -> Vec<CaseStatus> {
        CaseStatus::ALL.into_iter().filter(|s| Self::of_case(*s) == self).collect()
    }

    /// The message statuses behind this request status.
    pub fn message_statuses(self) -> Vec<MessageStatus> {
        MessageStatus::ALL.into_iter().filter(|s| Self::of_message(*s) == Some(self)).collect()
    }
}

/// The kinds of request a key may see: 我要办事 cases, 留言箱 messages (never reports), or both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kinds {
    pub cases: bool,
    pub messages: bool,
}

impl Kinds {
    /// Reads `cases`, `messages` or `cases,messages`; at least one kind.
    pub fn parse(s: &str) -> Option<Self> {
        let mut kinds = Self { cases: false, messages: false };
        for part in s.split(',').map(str::trim) {
            match part {
                "cases" => kinds.cases = true,
                "messages" => kinds.messages = true,
                _ => return None,
            }
        }
        (kinds.cases || kinds.messages).then_some(kinds)
    }

    pub fn as_code(self) -> &'static str {
        match (self.cases, self.messages) {
            (true, true) => "cases,messages",
            (false, true) => "messages",
            _ => "cases",
        }
    }

    pub fn label(self) -> &'static str {
        match (self.cases, self.messages) {
            (true, true) => "办件和留言",
            (false, true) => "留言",
            _ => "办件",
        }
    }
}

/// How far an integrator has pulled: the last case id and the last message id it has seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Cursor {
    pub case: i64,
    pub message: i64,
}

impl Cursor {
    /// Reads `<case>.<message>`; empty is the start.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        if s.is_empty() {
            return Some(Self::default());
        }
        let (case, message) = s.split_once('.')?;
        let cursor = Self { case: case.parse().ok()?, message: message.parse().ok()? };
        (cursor.case >= 0 && cursor.message >= 0).then_some(cursor)
    }
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.case, self.message)
    }
}

/// A status an integrator pushes for a case, with its note.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusUpdate {
    /// The applicant was contacted (首次联系).
    Contacted,
    /// A reply or progress note for the applicant (办理进展), the status unchanged.
    Replied,
    /// The case is completed; the note is the reply (办结答复).
    Completed,
}

impl StatusUpdate {
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "contacted" => Some(Self::Contacted),
            "replied" => Some(Self::Replied),
            "completed" => Some(Self::Completed),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Contacted => "contacted",
            Self::Replied => "replied",
            Self::Completed => "completed",
        }
    }

    /// The staff action it is, under the same state machine.
    pub fn case_action(self) -> CaseAction {
        match self {
            Self::Contacted => CaseAction::Contact,
            Self::Replied => CaseAction::Progress,
            Self::Completed => CaseAction::Complete,
        }
    }

    /// The shortest note accepted, as for the staff forms.
    pub fn min_note_chars(self) -> usize {
        match self {
            Self::Completed => 5,
            _ => 2,
        }
    }
}

/// Reads a key's validity in days (1 to [`MAX_VALID_DAYS`]).
pub fn valid_days(s: &str) -> Option<i64> {
    s.trim().parse().ok().filter(|d| (1..=MAX_VALID_DAYS).contains(d))
}

/// The first characters of a key, kept so that staff can tell keys apart.
pub fn key_hint(key: &str) -> String {
    key.chars().take(KEY_PREFIX.len() + 4).collect()
}

crate::stored_code!(Kinds);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::transition;

    #[test]
    fn service_codes_round_trip_and_a_report_is_never_a_service() {
        for code in [ServiceCode::Item(12), ServiceCode::Message(MessageKind::Complaint)] {
            assert_eq!(ServiceCode::parse(&code.to_string()), Some(code));
        }
        assert_eq!(ServiceCode::parse("message-report"), None);
        assert_eq!(ServiceCode::for_message(MessageKind::Report), None);
        assert_eq!(ServiceCode::message_services().count(), 3);
        for bad in ["item-0", "item--1", "item-x", "12", "message-", ""] {
            assert_eq!(ServiceCode::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_case_is_open_until_completed_and_again_when_reopened() {
        assert_eq!(RequestStatus::of_case(CaseStatus::Submitted), RequestStatus::Open);
        assert_eq!(RequestStatus::of_case(CaseStatus::Completed), RequestStatus::Closed);
        assert_eq!(RequestStatus::of_case(CaseStatus::Reopened), RequestStatus::Open);
        let all: usize = [RequestStatus::Open, RequestStatus::Closed].iter().map(|s| s.case_statuses().len()).sum();
        assert_eq!(all, CaseStatus::ALL.len(), "every case status is open or closed");
    }

    #[test]
    fn a_hidden_message_is_no_request_and_an_answered_one_is_closed() {
        assert_eq!(RequestStatus::of_message(MessageStatus::Hidden), None);
        assert_eq!(RequestStatus::of_message(MessageStatus::Replied), Some(RequestStatus::Closed));
        assert_eq!(RequestStatus::of_message(MessageStatus::Handling), Some(RequestStatus::Open));
        assert!(!RequestStatus::Closed.message_statuses().contains(&MessageStatus::Hidden));
        assert!(!RequestStatus::Open.message_statuses().contains(&MessageStatus::Hidden));
    }

    #[test]
    fn kinds_need_at_least_one_known_kind() {
        assert_eq!(Kinds::parse("cases,messages"), Some(Kinds { cases: true, messages: true }));
        assert_eq!(Kinds::parse("messages").map(Kinds::as_code), Some("messages"));
        assert_eq!(Kinds::parse(""), None);
        assert_eq!(Kinds::parse("cases,reports"), None);
    }

    #[test]
    fn cursors_round_trip_and_refuse_garbage() {
        let c = Cursor { case: 12, message: 3 };
        assert_eq!(Cursor::parse(&c.to_string()), Some(c));
        assert_eq!(Cursor::parse(""), Some(Cursor::default()));
        for bad in ["12", "a.b", "-1.2", "1.2.3"] {
            assert_eq!(Cursor::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn pushed_updates_follow_the_staff_state_machine() {
        let contacted = StatusUpdate::parse("contacted").unwrap();
        assert_eq!(
            transition(CaseStatus::Submitted, contacted.case_action()).map(crate::Transition::to),
            Ok(CaseStatus::InProgress)
        );
        assert!(transition(CaseStatus::Submitted, StatusUpdate::Completed.case_action()).is_err());
        assert!(transition(CaseStatus::Closed, StatusUpdate::Replied.case_action()).is_err());
        assert_eq!(StatusUpdate::parse("closed"), None);
    }

    #[test]
    fn validity_is_bounded_and_hints_never_hold_the_whole_key() {
        assert_eq!(valid_days("365"), Some(365));
        assert_eq!(valid_days("0"), None);
        assert_eq!(valid_days("9999"), None);
        let key = format!("{KEY_PREFIX}{}", "a".repeat(40));
        assert!(key_hint(&key).len() < 12);
    }
}
