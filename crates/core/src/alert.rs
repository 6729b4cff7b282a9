//! 预警: what the monitoring platform (远程监控平台) raises for the discipline commission, and how
//! an alert is handled. Pure rules: which kinds exist, the handling state machine (new → looked at
//! → resolved with a note), the stable key that makes a re-scan find the same alert, and the rules
//! that need more than a comparison (a power exercise's flagged steps, dead SMS routing).
//!
//! Finding the conditions is the store's job and reading the clock the server's; this module never
//! decides who may see an alert.

use jiff::civil::Date;
use thiserror::Error;

use crate::code::Transition;
use crate::disclosure;
use crate::power::{self, RecordedStep, StepState};

/// Consecutive cases without timely contact after which a recipient's texts count as dead routing.
pub const DEAD_ROUTING_CASES: usize = 3;
/// Longest resolution note, in characters.
pub const MAX_NOTE_CHARS: usize = 500;

/// What an alert is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AlertKind {
    /// A case not contacted within 24 hours.
    ContactOverdue,
    /// A case, message or objection past its deadline (办理期限 / 答复期限).
    DeadlineOverdue,
    /// A case, message or objection rated 不满意.
    Unsatisfied,
    /// A village without a required disclosure for more than a quarter (未按时公开).
    DisclosureOverdue,
    /// A published power exercise with a skipped or late step.
    PowerSteps,
    /// A paid roster that differs from the proposed roster it settles.
    RosterDifferences,
    /// A recipient whose texts about new cases led to no timely contact, case after case.
    DeadRouting,
    /// A hall terminal (触摸终端) not heard from for more than [`KIOSK_OFFLINE_SECS`].
    KioskOffline,
    /// 办件无人接收: a case was filed and no text could be queued (no handler has a phone).
    UnroutedCase,
    /// 留言无人接收: a message was left and no text could be queued.
    UnroutedMessage,
    /// 见证方未确认: a witness has not cosigned the ledger's newest checkpoint in time.
    WitnessLagging,
}

impl AlertKind {
    pub const ALL: [Self; 11] = [
        Self::ContactOverdue,
        Self::DeadlineOverdue,
        Self::Unsatisfied,
        Self::DisclosureOverdue,
        Self::PowerSteps,
        Self::RosterDifferences,
        Self::DeadRouting,
        Self::KioskOffline,
        Self::UnroutedCase,
        Self::UnroutedMessage,
        Self::WitnessLagging,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ContactOverdue => "contact_overdue",
            Self::DeadlineOverdue => "deadline_overdue",
            Self::Unsatisfied => "unsatisfied",
            Self::DisclosureOverdue => "disclosure_overdue",
            Self::PowerSteps => "power_steps",
            Self::RosterDifferences => "roster_differences",
            Self::DeadRouting => "dead_routing",
            Self::KioskOffline => "kiosk_offline",
            Self::UnroutedCase => "unrouted_case",
            Self::UnroutedMessage => "unrouted_message",
            Self::WitnessLagging => "witness_lagging",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s.trim())
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::ContactOverdue => "超24小时未联系",
            Self::DeadlineOverdue => "超期未办结",
            Self::Unsatisfied => "群众不满意",
            Self::DisclosureOverdue => "超一个季度未公开",
            Self::PowerSteps => "权力运行环节缺失或超时",
            Self::RosterDifferences => "发放与公示不一致",
            Self::DeadRouting => "短信接收人连续未响应",
            Self::KioskOffline => "触摸终端离线超1小时",
            Self::UnroutedCase => "办件无人接收",
            Self::UnroutedMessage => "留言无人接收",
            Self::WitnessLagging => "见证方超时未确认账本",
        }
    }
}

/// The record an alert points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SubjectKind {
    /// A 我要办事 case (by tracking number).
    Case,
    /// A 留言箱 message (by tracking number).
    Message,
    /// A roster objection (by its id: its tracking code opens the objector's words).
    Objection,
    /// A village and one required disclosure category.
    Village,
    /// A power exercise record.
    PowerExercise,
    /// A paid roster.
    Roster,
    /// A notification recipient (by the blind index of their phone).
    Recipient,
    /// A hall terminal (by its id).
    Kiosk,
    /// Where texts about new filings go: a service item in a township (`{item}:{township}`), or
    /// a township's 留言箱 (`{township}:{kind}`).
    Route,
    /// A witness of the publication ledger (by its verifier key).
    Witness,
}

impl SubjectKind {
    pub const ALL: [Self; 10] = [
        Self::Case,
        Self::Message,
        Self::Objection,
        Self::Village,
        Self::PowerExercise,
        Self::Roster,
        Self::Recipient,
        Self::Kiosk,
        Self::Route,
        Self::Witness,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Case => "case",
            Self::Message => "message",
            Self::Objection => "objection",
            Self::Village => "village",
            Self::PowerExercise => "power_exercise",
            Self::Roster => "roster",
            Self::Recipient => "recipient",
            Self::Kiosk => "kiosk",
            Self::Route => "route",
            Self::Witness => "witness",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Case => "办件",
            Self::Message => "留言",
            Self::Objection => "异议",
            Self::Village => "村务公开",
            Self::PowerExercise => "权力运行记录",
            Self::Roster => "花名册",
            Self::Recipient => "短信接收人",
            Self::Kiosk => "触摸终端",
            Self::Route => "短信接收设置",
            Self::Witness => "账本见证方",
        }
    }
}

/// Where the handling of an alert stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AlertStatus {
    /// 新预警
    New,
    /// 已查看
    LookedAt,
    /// 已处置 (with a note)
    Resolved,
}

impl AlertStatus {
    pub const ALL: [Self; 3] = [Self::New, Self::LookedAt, Self::Resolved];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::LookedAt => "looked_at",
            Self::Resolved => "resolved",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s.trim())
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::New => "新预警",
            Self::LookedAt => "已查看",
            Self::Resolved => "已处置",
        }
    }
}

crate::stored_code!(AlertKind, SubjectKind, AlertStatus);

/// What a handler does to an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertAction {
    /// 标记已查看
    Look,
    /// 处置完毕 (a note is required)
    Resolve,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("预警当前状态为“{}”，不能进行此操作", .from.label())]
pub struct AlertTransitionError {
    pub from: AlertStatus,
}

/// The handling state machine: new → looked at → resolved, never back.
pub fn transition(from: AlertStatus, action: AlertAction) -> Result<Transition<AlertStatus>, AlertTransitionError> {
    match (from, action) {
        (AlertStatus::New, AlertAction::Look) => Ok(Transition::new(from, AlertStatus::LookedAt)),
        (AlertStatus::LookedAt, AlertAction::Resolve) => Ok(Transition::new(from, AlertStatus::Resolved)),
        _ => Err(AlertTransitionError { from }),
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NoteError {
    #[error("处置说明：请填写如何处置")]
    Empty,
    #[error("处置说明：不能超过{MAX_NOTE_CHARS}个字")]
    TooLong,
}

/// A resolution note, trimmed: required, at most [`MAX_NOTE_CHARS`] characters.
pub fn check_note(note: &str) -> Result<String, NoteError> {
    let note = note.trim();
    if note.is_empty() {
        Err(NoteError::Empty)
    } else if note.chars().count() > MAX_NOTE_CHARS {
        Err(NoteError::TooLong)
    } else {
        Ok(note.to_owned())
    }
}

/// The stable key of one alert: its kind, its subject and, where the same subject can fall into
/// the same condition again later (a second 不满意, a new lapse in disclosure), the episode. A
/// re-scan computes the same key and so never raises the same alert twice.
pub fn dedup_key(kind: AlertKind, subject: SubjectKind, subject_id: &str, episode: Option<&str>) -> String {
    let mut key = format!("{}:{}:{}", kind.as_str(), subject.as_str(), subject_id);
    if let Some(episode) = episode {
        key.push(':');
        key.push_str(episode);
    }
    key
}

/// Late and skipped steps of a power exercise (steps merely overdue today are not counted: the
/// step may still be done).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StepFlags {
    pub late: usize,
    pub skipped: usize,
}

/// The late and skipped steps of an exercise by the timeline rule of [`power::evaluate`]; `None`
/// when there is neither.
pub fn power_flags(limits: &[u16], start: Date, recorded: &[RecordedStep], today: Date) -> Option<StepFlags> {
    let mut flags = StepFlags::default();
    for state in power::evaluate(limits, start, recorded, today) {
        match state {
            StepState::Late { .. } => flags.late += 1,
            StepState::Skipped => flags.skipped += 1,
            _ => {}
        }
    }
    (flags != StepFlags::default()).then_some(flags)
}

/// Whether a village is without a required disclosure (三务公开) for more than a quarter: the
/// 未按时公开 rule of the public pages ([`disclosure::finance_overdue`]), applied to each required
/// category (`last` is when that category was last published).
pub fn disclosure_lapsed(last: Option<Date>, today: Date) -> bool {
    disclosure::finance_overdue(last, today)
}

/// Seconds a hall terminal may go unheard before it is reported offline (heartbeats come every 30 s).
pub const KIOSK_OFFLINE_SECS: i64 = 3_600;

/// When a hall terminal's current outage began, if it has lasted more than
/// [`KIOSK_OFFLINE_SECS`] at `now`: its last heartbeat, or its enrolment if it never sent one.
/// A terminal not yet enrolled, or revoked, is not expected to be online. The start of the outage
/// identifies the episode, so a terminal that comes back and drops out again is a new alert.
pub fn kiosk_outage(enrolled_at: Option<i64>, last_seen: Option<i64>, revoked: bool, now: i64) -> Option<i64> {
    if revoked {
        return None;
    }
    let since = last_seen.or(enrolled_at)?;
    (now - since > KIOSK_OFFLINE_SECS).then_some(since)
}

/// Dead routing: `contacted_in_time` lists, newest first, whether each case a recipient was texted
/// about (and whose contact deadline has passed) was contacted in time. The routing is dead when
/// the newest `n` (at least one) all were not.
pub fn dead_routing(contacted_in_time: &[bool], n: usize) -> bool {
    n > 0 && contacted_in_time.len() >= n && contacted_in_time[..n].iter().all(|in_time| !in_time)
}

#[cfg(test)]
mod tests {
    use jiff::civil::date;
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn kinds_and_statuses_round_trip_and_read_in_chinese() {
        for k in AlertKind::ALL {
            assert_eq!(AlertKind::parse(k.as_str()), Some(k));
            assert!(!k.label().is_ascii());
        }
        for s in SubjectKind::ALL {
            assert_eq!(SubjectKind::parse(s.as_str()), Some(s));
        }
        for s in AlertStatus::ALL {
            assert_eq!(AlertStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(AlertKind::parse("lottery"), None);
        assert_eq!(AlertStatus::Resolved.label(), "已处置");
    }

    #[test]
    fn an_alert_is_looked_at_then_resolved_and_never_goes_back() {
        use AlertAction as A;
        use AlertStatus as S;
        assert_eq!(transition(S::New, A::Look).map(|t| (t.from(), t.to())), Ok((S::New, S::LookedAt)));
        assert_eq!(transition(S::LookedAt, A::Resolve).map(|t| t.to()), Ok(S::Resolved));
        assert!(transition(S::New, A::Resolve).is_err(), "someone must look first");
        assert!(transition(S::LookedAt, A::Look).is_err());
        assert!(transition(S::Resolved, A::Look).is_err());
        assert!(transition(S::Resolved, A::Resolve).is_err());
        assert_eq!(transition(S::Resolved, A::Look).unwrap_err().to_string(), "预警当前状态为“已处置”，不能进行此操作");
    }

    #[test]
    fn only_the_commission_handles_alerts_and_admins_may_watch() {
        use crate::{Permission, Role};
        let handlers: Vec<Role> = Role::ALL.into_iter().filter(|r| r.allows(Permission::HandleAlerts)).collect();
        assert_eq!(handlers, [Role::Supervisor, Role::TownshipReviewer]);
        assert!(handlers.iter().all(|r| r.is_commission()));
        let watchers: Vec<Role> = Role::ALL.into_iter().filter(|r| r.allows(Permission::ViewMonitor)).collect();
        assert_eq!(watchers, [Role::Supervisor, Role::CountyAdmin, Role::TownshipAdmin, Role::TownshipReviewer]);
    }

    #[test]
    fn a_resolution_needs_a_note_of_reasonable_length() {
        assert_eq!(check_note("  已约谈经办人  "), Ok("已约谈经办人".to_owned()));
        assert_eq!(check_note("   "), Err(NoteError::Empty));
        assert_eq!(check_note(&"字".repeat(MAX_NOTE_CHARS)).map(|n| n.chars().count()), Ok(MAX_NOTE_CHARS));
        assert_eq!(check_note(&"字".repeat(MAX_NOTE_CHARS + 1)), Err(NoteError::TooLong));
    }

    #[test]
    fn the_dedup_key_names_kind_subject_and_episode() {
        assert_eq!(
            dedup_key(AlertKind::ContactOverdue, SubjectKind::Case, "BJ20251009000001", None),
            "contact_overdue:case:BJ20251009000001"
        );
        assert_eq!(
            dedup_key(AlertKind::DisclosureOverdue, SubjectKind::Village, "620922100200:finance", Some("never")),
            "disclosure_overdue:village:620922100200:finance:never"
        );
    }

    #[test]
    fn a_power_exercise_is_flagged_for_late_and_skipped_steps_only() {
        let start = date(2025, 3, 1);
        let limits = [3, 5, 2];
        let on_time = [RecordedStep { step_no: 1, done_on: date(2025, 3, 2) }];
        assert_eq!(power_flags(&limits, start, &on_time, date(2025, 3, 3)), None);
        // The second step is overdue today, but not yet late or skipped.
        assert_eq!(power_flags(&limits, start, &on_time, date(2025, 6, 1)), None);
        let skipped = [
            RecordedStep { step_no: 1, done_on: date(2025, 3, 2) },
            RecordedStep { step_no: 3, done_on: date(2025, 3, 3) },
        ];
        assert_eq!(power_flags(&limits, start, &skipped, date(2025, 3, 4)), Some(StepFlags { late: 0, skipped: 1 }));
        let late = [RecordedStep { step_no: 1, done_on: date(2025, 3, 10) }];
        assert_eq!(power_flags(&limits, start, &late, date(2025, 3, 10)), Some(StepFlags { late: 1, skipped: 0 }));
    }

    #[test]
    fn a_required_disclosure_lapses_after_a_quarter() {
        assert!(disclosure_lapsed(None, date(2025, 3, 1)), "never disclosed");
        assert!(!disclosure_lapsed(Some(date(2025, 1, 1)), date(2025, 4, 3)), "92 days is still on time");
        assert!(disclosure_lapsed(Some(date(2025, 1, 1)), date(2025, 4, 4)));
    }

    #[test]
    fn routing_is_dead_after_n_consecutive_ignored_cases() {
        assert!(dead_routing(&[false, false, false], 3));
        assert!(dead_routing(&[false, false, false, true], 3), "older cases do not matter");
        assert!(!dead_routing(&[false, true, false, false], 3), "the streak must be the newest");
        assert!(!dead_routing(&[false, false], 3), "too few cases yet");
        assert!(!dead_routing(&[], 0));
    }

    proptest! {
        #[test]
        fn dead_routing_means_the_newest_n_were_all_ignored(cases in proptest::collection::vec(any::<bool>(), 0..12), n in 1usize..6) {
            let expected = cases.len() >= n && cases.iter().take(n).all(|c| !c);
            prop_assert_eq!(dead_routing(&cases, n), expected);
            // One timely contact among the newest n clears it.
            if cases.len() >= n {
                let mut helped = cases.clone();
                helped[n - 1] = true;
                prop_assert!(!dead_routing(&helped, n));
            }
        }

        #[test]
        fn no_sequence_of_actions_leaves_resolved_or_skips_looking(actions in proptest::collection::vec(any::<bool>(), 0..10)) {
            let mut status = AlertStatus::New;
            let mut looked = false;
            for look in actions {
                let action = if look { AlertAction::Look } else { AlertAction::Resolve };
                if let Ok(next) = transition(status, action).map(|t| t.to()) {
                    if next == AlertStatus::LookedAt { looked = true; }
                    if next == AlertStatus::Resolved { prop_assert!(looked); }
                    prop_assert_ne!(status, AlertStatus::Resolved);
                    status = next;
                }
            }
        }

        #[test]
        fn distinct_subjects_never_share_a_key(a in "[A-Z0-9]{1,16}", b in "[A-Z0-9]{1,16}") {
            let ka = dedup_key(AlertKind::Unsatisfied, SubjectKind::Case, &a, None);
            let kb = dedup_key(AlertKind::Unsatisfied, SubjectKind::Case, &b, None);
            prop_assert_eq!(ka == kb, a == b);
        }
    }

    #[test]
    fn a_terminal_is_reported_offline_after_an_hour_without_a_heartbeat() {
        assert_eq!(kiosk_outage(Some(100), Some(1_000), false, 1_000 + 3_600), None, "an hour is still fine");
        assert_eq!(kiosk_outage(Some(100), Some(1_000), false, 1_000 + 3_601), Some(1_000));
        assert_eq!(kiosk_outage(Some(100), None, false, 3_701), Some(100), "enrolled, never heard from");
        assert_eq!(kiosk_outage(None, None, false, 1_000_000), None, "not enrolled yet");
        assert_eq!(kiosk_outage(Some(100), Some(1_000), true, 1_000_000), None, "revoked");
        let key = |since: i64| dedup_key(AlertKind::KioskOffline, SubjectKind::Kiosk, "7", Some(&since.to_string()));
        assert_ne!(key(1_000), key(9_000), "a later outage is a new alert");
    }
}
