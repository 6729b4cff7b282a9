//! The storage conformance suite for subsidy rosters: programmes, roster versions and their
//! status changes, entries, clashes, differences, self-queries, scans, objections and the
//! short-lived records. Every behaviour runs against SQLite and PostgreSQL (see `conformance`).

use xiaowei_core::Transition;
use xiaowei_core::objection::{self, ObjectionAction, ObjectionStatus};
use xiaowei_core::period::{PeriodKind, PeriodReading, RosterPeriod};
use xiaowei_core::tracked::{Rating, Satisfaction, TimelineKind};

use crate::conformance::{conformance, small_tree, user, with_postgres, with_sqlite};
use crate::{
    ClashingEntry, NewAttachment, NewAuditEntry, NewDifference, NewEntry, NewEvent, NewObjection, NewOutbox,
    NewProgramme, NewRoster, ObjectionChange, ObjectionClock, RateEvent, RatingChange, RequestKind, Roster, Store,
    StoreError,
};
use xiaowei_core::subsidy::{self, DifferenceKind, Phase, RosterAction, RosterStatus};

/// 南岔村, in 渊泉镇 (620922100).
const NANCHA: &str = "620922100200";
/// 北村, in 柳园镇 (620922101).
const BEICUN: &str = "620922101200";
const PUBLICITY: (&str, &str) = ("2024-03-01", "2024-03-07");

struct Setup {
    clerk: i64,
    reviewer: i64,
    programme: i64,
}

/// The org tree, a clerk, a reviewer and one recurring programme.
async fn setup(store: &Store) -> Setup {
    small_tree(store).await;
    let clerk = store.create_staff_user(&user("clerk", "village_clerk", NANCHA), 1).await.unwrap();
    let reviewer = store.create_staff_user(&user("reviewer", "township_admin", "620922100"), 1).await.unwrap();
    let programme = store.create_programme(&programme("耕地地力保护补贴"), 1).await.unwrap();
    Setup { clerk, reviewer, programme }
}

fn programme(name: &str) -> NewProgramme {
    NewProgramme {
        name: name.into(),
        department_id: None,
        basis: "瓜政发〔2024〕1号".into(),
        unit: xiaowei_core::subsidy::Unit::Mu,
        standard_fen: Some(9_500),
        rule: "按确权面积发放".into(),
        recurring: true,
        from_year: Some(2020),
        to_year: Some(2025),
        publicity_days: 7,
        objection_reply_days: 5,
    }
}

fn one_off_programme(name: &str) -> NewProgramme {
    NewProgramme {
        unit: xiaowei_core::subsidy::Unit::Household,
        standard_fen: None,
        recurring: false,
        from_year: None,
        to_year: None,
        ..programme(name)
    }
}

/// An entry whose encrypted ID is fake bytes (including 0x00 and 0xff, to check blobs round-trip)
/// and whose account blind index is derived from the person's.
fn entry(row_no: i64, idx: &str, amount_fen: i64) -> NewEntry {
    NewEntry {
        row_no,
        name: format!("村民{row_no}"),
        id_enc: [0x00, 0xff].into_iter().chain(idx.bytes()).collect(),
        id_idx: idx.into(),
        id_masked: format!("620922********{:04}", row_no % 10_000),
        group_name: Some("一组".into()),
        account_enc: Some(vec![0xfe, 0x01]),
        account_idx: Some(format!("acct-{idx}")),
        account_masked: Some("6228********1234".into()),
        amount_fen,
        note: None,
    }
}

/// Entries for the given people, in file order, 100.00 yuan each.
fn entries(idxs: &[&str]) -> Vec<NewEntry> {
    idxs.iter().zip(1..).map(|(idx, row)| entry(row, idx, 10_000)).collect()
}

fn roster(s: &Setup, org: &str, year: i64, phase: &str) -> NewRoster {
    NewRoster {
        programme_id: s.programme,
        org_code: org.into(),
        year,
        period: "全年".into(),
        phase: xiaowei_core::subsidy::Phase::parse(phase).unwrap(),
        settles_id: None,
        supersedes_id: None,
        correction_reason: None,
        paid_on: (phase == "paid").then(|| format!("{year}-12-20")),
        created_by: s.clerk,
    }
}

fn correction(s: &Setup, old: &Roster) -> NewRoster {
    NewRoster {
        programme_id: old.programme_id,
        supersedes_id: Some(old.id),
        correction_reason: Some("漏报一人".into()),
        ..roster(s, &old.org_code, old.year, old.phase.as_str())
    }
}

async fn submit(store: &Store, s: &Setup, id: i64, now: i64) {
    store
        .change_roster_status(
            id,
            subsidy::transition(RosterStatus::Draft, RosterAction::Submit).unwrap(),
            None,
            s.clerk,
            now,
        )
        .await
        .unwrap();
}

async fn publish(store: &Store, s: &Setup, id: i64, now: i64) {
    submit(store, s, id, now).await;
    store.publish_roster(id, Some(PUBLICITY), None, s.reviewer, now).await.unwrap();
}

async fn withdraw(store: &Store, s: &Setup, id: i64, now: i64) {
    store
        .change_roster_status(
            id,
            subsidy::transition(RosterStatus::Published, RosterAction::Withdraw).unwrap(),
            Some("重复发放"),
            s.reviewer,
            now,
        )
        .await
        .unwrap();
}

async fn roster_of(store: &Store, id: i64) -> Roster {
    store.find_roster(id).await.unwrap().unwrap()
}

async fn count(store: &Store, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&store.pool).await.unwrap()
}

fn ids(rosters: &[Roster]) -> Vec<i64> {
    rosters.iter().map(|r| r.id).collect()
}

/// A difference named in short: `missing` (proposed, not paid), `extra` (paid, not proposed) or
/// `amount`.
fn difference(kind: &str, person: &str) -> NewDifference {
    let kind = match kind {
        "missing" => DifferenceKind::ProposedNotPaid,
        "extra" => DifferenceKind::PaidNotProposed,
        _ => DifferenceKind::AmountChanged,
    };
    NewDifference {
        kind,
        person_idx: person.into(),
        name: format!("村民{person}"),
        id_masked: "620922********0001".into(),
        proposed_fen: Some(10_000),
        paid_fen: (kind != DifferenceKind::ProposedNotPaid).then_some(9_000),
    }
}

fn attachment(roster_id: Option<i64>, programme_id: Option<i64>, name: &str) -> NewAttachment {
    NewAttachment {
        roster_id,
        programme_id,
        sha256: "ab".repeat(32),
        size: 1_234,
        content_type: "application/pdf".into(),
        original_name: name.into(),
        uploaded_by: None,
    }
}

fn objection(code: &str, org: &str, roster_id: Option<i64>, entry_id: Option<i64>, programme_id: i64) -> NewObjection {
    NewObjection {
        code: code.into(),
        submit_key: format!("form-{code}-{org}"),
        org_code: org.into(),
        roster_id,
        entry_id,
        programme_id: Some(programme_id),
        name: "张三".into(),
        phone_enc: vec![0x00, 0x13, 0xff],
        phone_idx: "phone-idx".into(),
        body: "我家的补贴金额不对".into(),
        reply_due: 1000,
        reply_remind_at: 900,
        deadline_basis: "5个工作日内答复".into(),
    }
}

fn filed() -> NewEvent {
    NewEvent {
        kind: TimelineKind::Submitted,
        actor: "异议人".into(),
        staff_user_id: None,
        method: None,
        note: "提交异议".into(),
        public: true,
    }
}

/// A reviewer's answer: `last` closes the objection. `false` when it was already closed.
async fn answer(store: &Store, id: i64, last: bool, reply: &str, by: i64, at: i64) -> bool {
    let change = ObjectionChange {
        reply: Some((reply.into(), by)),
        rating: if last { RatingChange::Clear } else { RatingChange::Keep },
        new_due: None,
    };
    let event = NewEvent {
        kind: TimelineKind::Reply,
        actor: "审核人".into(),
        staff_user_id: Some(by),
        method: None,
        note: reply.into(),
        public: true,
    };
    for from in [ObjectionStatus::Open, ObjectionStatus::Handling] {
        let transition = objection::transition(from, false, ObjectionAction::Answer { last }).unwrap();
        if store.change(id, transition, &change, &event, &[], at).await.unwrap() {
            return true;
        }
    }
    false
}

/// The objector's rating of the final answer, as core's state machine moves it.
fn rated_as(rating: Satisfaction) -> Transition<ObjectionStatus> {
    objection::transition(ObjectionStatus::Closed, false, ObjectionAction::Rate(rating)).unwrap()
}

conformance!(programmes_have_unique_names_and_are_found_by_id_and_by_name, |store: Store| async move {
    let first = store.create_programme(&programme("耕地地力保护补贴"), 1).await.unwrap();
    let second = store.create_programme(&one_off_programme("危房改造补助"), 2).await.unwrap();
    assert!(matches!(
        store.create_programme(&programme("耕地地力保护补贴"), 3).await,
        Err(StoreError::Duplicate { .. })
    ));
    let unknown_department = NewProgramme { department_id: Some(999), ..programme("高龄补贴") };
    assert!(matches!(store.create_programme(&unknown_department, 3).await, Err(StoreError::MissingReference(_))));

    let found = store.find_programme(first).await.unwrap().unwrap();
    assert_eq!(
        (found.name.as_str(), found.unit.as_str(), found.standard_fen, found.from_year, found.to_year),
        ("耕地地力保护补贴", "mu", Some(9_500), Some(2020), Some(2025))
    );
    assert_eq!(
        (found.basis.as_str(), found.rule.as_str(), found.publicity_days),
        ("瓜政发〔2024〕1号", "按确权面积发放", 7)
    );
    assert!(found.recurring);
    let by_name = store.find_programme_by_name("危房改造补助").await.unwrap().unwrap();
    assert_eq!((by_name.id, by_name.standard_fen, by_name.to_year), (second, None, None));
    assert!(!by_name.recurring);
    assert_eq!(store.find_programme(999).await.unwrap(), None);
    assert_eq!(store.find_programme_by_name("不存在").await.unwrap(), None);
    assert_eq!(store.programmes().await.unwrap(), [found, by_name]);
});

conformance!(a_roster_of_a_thousand_entries_is_stored_whole_and_read_in_row_order, |store: Store| async move {
    let s = setup(&store).await;
    // Handed over in reverse file order, so that row order is not insertion order.
    let new: Vec<_> = (1..=1000).rev().map(|row| entry(row, &format!("idx{row:04}"), 10_000 + row)).collect();
    let id = store.create_roster(&roster(&s, NANCHA, 2024, "proposed"), &new, 50).await.unwrap();

    let r = roster_of(&store, id).await;
    assert_eq!((r.entry_count, r.total_fen), (1000, 1000 * 10_000 + 500_500));
    assert_eq!((r.version, r.lineage_id, r.supersedes_id, r.status.as_str()), (1, Some(id), None, "draft"));
    assert_eq!(
        (r.programme_name.as_str(), r.org_code.as_str(), r.year, r.period.as_str()),
        ("耕地地力保护补贴", NANCHA, 2024, "全年")
    );
    assert_eq!((r.created_by, r.created_at, r.updated_at, r.published_at), (s.clerk, 50, 50, None));
    assert_eq!(count(&store, "SELECT COUNT(*) FROM roster_entries").await, 1000);

    let mut read = Vec::new();
    for page in 0..4 {
        let rows = store.roster_entries(id, 300, page * 300).await.unwrap();
        assert_eq!(rows.len(), if page < 3 { 300 } else { 100 });
        read.extend(rows);
    }
    assert_eq!(read.iter().map(|e| e.row_no).collect::<Vec<_>>(), (1..=1000).collect::<Vec<_>>());
    for stored in &read {
        let given = new.iter().find(|e| e.row_no == stored.row_no).unwrap();
        assert_eq!(stored.roster_id, id);
        assert_eq!(
            (&stored.id_enc, &stored.id_idx, &stored.id_masked),
            (&given.id_enc, &given.id_idx, &given.id_masked)
        );
        assert_eq!((&stored.account_enc, &stored.account_masked), (&given.account_enc, &given.account_masked));
        assert_eq!(
            (&stored.name, &stored.group_name, stored.amount_fen),
            (&given.name, &given.group_name, given.amount_fen)
        );
    }
    assert!(store.roster_entries(id, 300, 1000).await.unwrap().is_empty());
    let last = read.last().unwrap();
    assert_eq!(store.find_entry(id, last.id).await.unwrap().as_ref(), Some(last));
    assert_eq!(store.find_entry(id + 1, last.id).await.unwrap(), None, "an entry is found only under its roster");
    assert_eq!(store.entry_number(id, read[0].id).await.unwrap(), Some(1));
    assert_eq!(store.entry_number(id, last.id).await.unwrap(), Some(1000));
    assert_eq!(store.entry_number(id + 1, last.id).await.unwrap(), None, "a number only under its own roster");
});

conformance!(a_roster_with_a_failing_entry_leaves_nothing_behind, |store: Store| async move {
    let s = setup(&store).await;
    let mut new: Vec<_> = (1..=1000).map(|row| entry(row, &format!("idx{row:04}"), 100)).collect();
    // The same person twice, the second time in the third INSERT chunk: the first two chunks
    // have been written by then and must be rolled back.
    new[999].id_idx = "idx0001".into();
    let twice = store.create_roster(&roster(&s, NANCHA, 2024, "proposed"), &new, 10).await;
    assert!(matches!(twice, Err(StoreError::Duplicate { .. })), "{twice:?}");
    assert_eq!(count(&store, "SELECT COUNT(*) FROM rosters").await, 0, "no roster row");
    assert_eq!(count(&store, "SELECT COUNT(*) FROM roster_entries").await, 0, "no entries");

    new[999].id_idx = "idx1000".into();
    new[700].amount_fen = 0;
    assert!(store.create_roster(&roster(&s, NANCHA, 2024, "proposed"), &new, 10).await.is_err(), "a zero amount");
    let unknown_org = store.create_roster(&roster(&s, "620922999200", 2024, "proposed"), &new[..1], 10).await;
    assert!(matches!(unknown_org, Err(StoreError::MissingReference(_))), "{unknown_org:?}");
    assert_eq!(count(&store, "SELECT COUNT(*) FROM rosters").await, 0);
    assert_eq!(count(&store, "SELECT COUNT(*) FROM roster_entries").await, 0);

    new[700].amount_fen = 100;
    let id = store.create_roster(&roster(&s, NANCHA, 2024, "proposed"), &new, 10).await.unwrap();
    assert_eq!(roster_of(&store, id).await.entry_count, 1000);
    assert_eq!(count(&store, "SELECT COUNT(*) FROM roster_entries").await, 1000);
});

conformance!(a_status_change_happens_once_and_publishing_sets_the_publicity_dates, |store: Store| async move {
    let s = setup(&store).await;
    let reviewed_by = async |id: i64| -> Option<i64> {
        sqlx::query_scalar("SELECT reviewed_by FROM rosters WHERE id = $1")
            .bind(id)
            .fetch_one(&store.pool)
            .await
            .unwrap()
    };
    let id = store.create_roster(&roster(&s, NANCHA, 2024, "proposed"), &entries(&["a", "b"]), 10).await.unwrap();

    store
        .change_roster_status(
            id,
            subsidy::transition(RosterStatus::Draft, RosterAction::Submit).unwrap(),
            None,
            s.clerk,
            20,
        )
        .await
        .unwrap();
    let again = store
        .change_roster_status(
            id,
            subsidy::transition(RosterStatus::Draft, RosterAction::Submit).unwrap(),
            None,
            s.clerk,
            21,
        )
        .await;
    assert!(matches!(again, Err(StoreError::Stale(_))), "{again:?}");
    let r = roster_of(&store, id).await;
    assert_eq!((r.status.as_str(), r.updated_at, r.status_reason), ("submitted", 20, None));
    assert_eq!(reviewed_by(id).await, None, "submitting is not reviewing");

    store
        .change_roster_status(
            id,
            subsidy::transition(RosterStatus::Submitted, RosterAction::Return).unwrap(),
            Some("金额有误"),
            s.reviewer,
            30,
        )
        .await
        .unwrap();
    let r = roster_of(&store, id).await;
    assert_eq!((r.status.as_str(), r.status_reason.as_deref()), ("returned", Some("金额有误")));
    assert_eq!(reviewed_by(id).await, Some(s.reviewer));
    store
        .change_roster_status(
            id,
            subsidy::transition(RosterStatus::Returned, RosterAction::Submit).unwrap(),
            None,
            s.clerk,
            40,
        )
        .await
        .unwrap();
    assert_eq!(roster_of(&store, id).await.status_reason, None);
    assert_eq!(reviewed_by(id).await, Some(s.reviewer), "resubmitting keeps the reviewer");

    store.publish_roster(id, Some(PUBLICITY), None, s.reviewer, 50).await.unwrap();
    let r = roster_of(&store, id).await;
    assert_eq!((r.status.as_str(), r.published_at, r.updated_at), ("published", Some(50), 50));
    assert_eq!((r.publicity_start.as_deref(), r.publicity_end.as_deref()), (Some(PUBLICITY.0), Some(PUBLICITY.1)));
    let twice = store.publish_roster(id, Some(("2024-04-01", "2024-04-07")), None, s.reviewer, 60).await;
    assert!(matches!(twice, Err(StoreError::Stale(_))), "{twice:?}");
    let r = roster_of(&store, id).await;
    assert_eq!((r.published_at, r.publicity_start.as_deref()), (Some(50), Some(PUBLICITY.0)), "unchanged");

    let draft = store.create_roster(&roster(&s, NANCHA, 2024, "paid"), &entries(&["a"]), 70).await.unwrap();
    assert!(
        matches!(store.publish_roster(draft, None, None, s.reviewer, 80).await, Err(StoreError::Stale(_))),
        "a draft"
    );
    assert!(matches!(
        store
            .change_roster_status(
                999,
                subsidy::transition(RosterStatus::Draft, RosterAction::Submit).unwrap(),
                None,
                s.clerk,
                80
            )
            .await,
        Err(StoreError::Stale(_))
    ));
    submit(&store, &s, draft, 80).await;
    store.publish_roster(draft, None, None, s.reviewer, 90).await.unwrap();
    let paid = roster_of(&store, draft).await;
    assert_eq!((paid.status.as_str(), paid.publicity_start, paid.publicity_end), ("published", None, None));
    assert_eq!(paid.paid_on.as_deref(), Some("2024-12-20"));
});

conformance!(a_published_correction_supersedes_its_old_version_which_is_corrected_once, |store: Store| async move {
    let s = setup(&store).await;
    let v1 = store.create_roster(&roster(&s, NANCHA, 2024, "proposed"), &entries(&["a", "b"]), 10).await.unwrap();
    publish(&store, &s, v1, 20).await;
    let old = roster_of(&store, v1).await;

    let v2 = store.create_roster(&correction(&s, &old), &entries(&["a", "b", "c"]), 30).await.unwrap();
    let r2 = roster_of(&store, v2).await;
    assert_eq!((r2.version, r2.lineage_id, r2.supersedes_id, r2.status.as_str()), (2, Some(v1), Some(v1), "draft"));
    assert_eq!((r2.correction_reason.as_deref(), r2.entry_count, r2.total_fen), (Some("漏报一人"), 3, 30_000));
    assert_eq!(
        roster_of(&store, v1).await.status,
        RosterStatus::Published,
        "the old version stays public until replaced"
    );
    let rival = store.create_roster(&correction(&s, &old), &entries(&["a"]), 35).await;
    assert!(
        matches!(&rival, Err(e) if e.is_duplicate_of("rosters_one_successor")),
        "one successor per version: {rival:?}"
    );

    publish(&store, &s, v2, 40).await;
    let (r1, r2) = (roster_of(&store, v1).await, roster_of(&store, v2).await);
    assert_eq!((r1.status.as_str(), r1.updated_at, r1.published_at), ("superseded", 40, Some(20)));
    assert_eq!((r2.status.as_str(), r2.published_at), ("published", Some(40)));
    let versions = store.roster_versions(v1).await.unwrap();
    assert_eq!(ids(&versions), [v1, v2]);
    assert_eq!(versions.iter().map(|r| r.status.as_str()).collect::<Vec<_>>(), ["superseded", "published"]);

    let late = store.create_roster(&correction(&s, &old), &entries(&["a"]), 50).await;
    assert!(matches!(late, Err(StoreError::Duplicate { .. })), "{late:?}");
    let v3 = store.create_roster(&correction(&s, &r2), &entries(&["a", "c"]), 60).await.unwrap();
    let r3 = roster_of(&store, v3).await;
    assert_eq!((r3.version, r3.lineage_id, r3.supersedes_id), (3, Some(v1), Some(v2)));
    assert_eq!(ids(&store.roster_versions(v1).await.unwrap()), [v1, v2, v3]);
    assert!(store.roster_versions(v2).await.unwrap().is_empty(), "versions are listed by lineage");
    let missing = NewRoster { supersedes_id: Some(999), ..correction(&s, &r2) };
    assert!(matches!(store.create_roster(&missing, &entries(&["a"]), 70).await, Err(StoreError::NotFound)));
});

conformance!(publishing_a_correction_of_a_withdrawn_roster_is_refused_whole, |store: Store| async move {
    let s = setup(&store).await;
    let v1 = store.create_roster(&roster(&s, NANCHA, 2024, "proposed"), &entries(&["a"]), 10).await.unwrap();
    publish(&store, &s, v1, 20).await;
    let v2 = store.create_roster(&correction(&s, &roster_of(&store, v1).await), &entries(&["b"]), 30).await.unwrap();
    submit(&store, &s, v2, 40).await;
    withdraw(&store, &s, v1, 50).await;
    let refused = store.publish_roster(v2, Some(PUBLICITY), None, s.reviewer, 60).await;
    assert!(matches!(refused, Err(StoreError::Stale(_))), "{refused:?}");
    let r2 = roster_of(&store, v2).await;
    assert_eq!((r2.status.as_str(), r2.published_at, r2.publicity_start), ("submitted", None, None), "rolled back");
    assert_eq!(roster_of(&store, v1).await.status, RosterStatus::Withdrawn);
});

conformance!(
    clashes_are_found_in_other_villages_but_not_on_dead_rosters_or_the_excluded_lineage,
    |store: Store| async move {
        let s = setup(&store).await;
        let other = store.create_programme(&one_off_programme("一次性补助"), 1).await.unwrap();
        let many: Vec<String> = (0..500).map(|i| format!("k{i:04}")).collect();
        let many_refs: Vec<&str> = many.iter().map(String::as_str).collect();
        let a = store.create_roster(&roster(&s, NANCHA, 2024, "proposed"), &entries(&many_refs), 10).await.unwrap();
        publish(&store, &s, a, 11).await;
        // A draft in another village is live too.
        let b =
            store.create_roster(&roster(&s, BEICUN, 2024, "proposed"), &entries(&["k0450", "b1"]), 12).await.unwrap();
        let gone = store.create_roster(&roster(&s, BEICUN, 2024, "proposed"), &entries(&["w1"]), 13).await.unwrap();
        publish(&store, &s, gone, 14).await;
        withdraw(&store, &s, gone, 15).await;
        let old =
            store.create_roster(&roster(&s, BEICUN, 2024, "proposed"), &entries(&["s1", "s2"]), 16).await.unwrap();
        publish(&store, &s, old, 17).await;
        let new =
            store.create_roster(&correction(&s, &roster_of(&store, old).await), &entries(&["s2"]), 18).await.unwrap();
        publish(&store, &s, new, 19).await;
        store.create_roster(&roster(&s, NANCHA, 2023, "proposed"), &entries(&["y1"]), 20).await.unwrap();
        store.create_roster(&roster(&s, NANCHA, 2024, "paid"), &entries(&["p1"]), 20).await.unwrap();
        let half_year = NewRoster { period: "上半年".into(), ..roster(&s, NANCHA, 2024, "proposed") };
        store.create_roster(&half_year, &entries(&["h1"]), 20).await.unwrap();
        let other_programme = NewRoster { programme_id: other, ..roster(&s, NANCHA, 2024, "proposed") };
        store.create_roster(&other_programme, &entries(&["q1"]), 20).await.unwrap();
        // The same period spelt another way is the same period.
        let respelt = NewRoster { period: "2024年度".into(), ..roster(&s, NANCHA, 2024, "proposed") };
        let respelt = store.create_roster(&respelt, &entries(&["r1"]), 20).await.unwrap();
        assert_eq!(roster_of(&store, respelt).await.period_kind, Some(PeriodReading::Read(PeriodKind::Annual)));

        // 600 keys plus the special ones: more than one chunk of bound parameters.
        let mut keys: Vec<String> = (0..600).map(|i| format!("k{i:04}")).collect();
        keys.extend(["b1", "w1", "s1", "s2", "y1", "p1", "h1", "q1", "r1", "nobody"].map(String::from));
        let clash = |idx: &str, roster_id: i64, org: &str| ClashingEntry {
            id_idx: idx.into(),
            roster_id,
            org_code: org.into(),
        };
        let year_2024 = RosterPeriod::read(2024, "全年");
        let found = async |exclude: Option<i64>| {
            let mut found =
                store.clashing_entries(s.programme, &year_2024, Phase::Proposed, exclude, &keys).await.unwrap();
            found.sort_by(|x, y| (&x.id_idx, x.roster_id).cmp(&(&y.id_idx, y.roster_id)));
            found
        };
        let on_a: Vec<_> = many.iter().map(|idx| clash(idx, a, NANCHA)).collect();
        let mut expected = on_a.clone();
        expected.extend([
            clash("b1", b, BEICUN),
            clash("k0450", b, BEICUN),
            clash("s2", new, BEICUN),
            clash("r1", respelt, NANCHA),
        ]);
        expected.sort_by(|x, y| (&x.id_idx, x.roster_id).cmp(&(&y.id_idx, y.roster_id)));
        assert_eq!(found(None).await, expected);

        let outside_a = found(Some(a)).await;
        assert_eq!(
            outside_a,
            [clash("b1", b, BEICUN), clash("k0450", b, BEICUN), clash("r1", respelt, NANCHA), clash("s2", new, BEICUN)]
        );
        let outside_corrected = found(Some(old)).await;
        assert_eq!(outside_corrected.len(), 503, "the new version of the excluded lineage does not clash");
        assert!(outside_corrected.iter().all(|c| c.roster_id != new));
        assert!(store.clashing_entries(s.programme, &year_2024, Phase::Proposed, None, &[]).await.unwrap().is_empty());
    }
);

conformance!(
    the_public_sees_only_public_rosters_and_only_published_proposals_are_settleable,
    |store: Store| async move {
        let s = setup(&store).await;
        let q = store.create_programme(&one_off_programme("一次性补助"), 1).await.unwrap();
        let of_q = |r: NewRoster| NewRoster { programme_id: q, ..r };
        let one = entries(&["a"]);
        let create = async |r: NewRoster, now: i64| store.create_roster(&r, &one, now).await.unwrap();

        let p24 = create(roster(&s, NANCHA, 2024, "proposed"), 10).await;
        publish(&store, &s, p24, 11).await;
        let paid24 = create(NewRoster { settles_id: Some(p24), ..roster(&s, NANCHA, 2024, "paid") }, 12).await;
        publish(&store, &s, paid24, 13).await;
        let v1 = create(roster(&s, NANCHA, 2023, "proposed"), 14).await;
        publish(&store, &s, v1, 15).await;
        let v2 = create(correction(&s, &roster_of(&store, v1).await), 16).await;
        publish(&store, &s, v2, 17).await;
        let withdrawn = create(of_q(roster(&s, NANCHA, 2023, "proposed")), 18).await;
        publish(&store, &s, withdrawn, 19).await;
        withdraw(&store, &s, withdrawn, 20).await;
        let draft = create(roster(&s, NANCHA, 2025, "proposed"), 21).await;
        let submitted = create(of_q(roster(&s, NANCHA, 2025, "proposed")), 22).await;
        submit(&store, &s, submitted, 23).await;
        let returned = create(of_q(roster(&s, NANCHA, 2024, "proposed")), 24).await;
        submit(&store, &s, returned, 25).await;
        store
            .change_roster_status(
                returned,
                subsidy::transition(RosterStatus::Submitted, RosterAction::Return).unwrap(),
                Some("缺签字"),
                s.reviewer,
                26,
            )
            .await
            .unwrap();
        let b22 = create(roster(&s, BEICUN, 2022, "proposed"), 27).await;
        publish(&store, &s, b22, 28).await;

        assert_eq!(roster_of(&store, paid24).await.settles_id, Some(p24));
        assert_eq!(ids(&store.public_rosters_of(NANCHA, None).await.unwrap()), [p24, paid24, v2, v1, withdrawn]);
        assert_eq!(ids(&store.public_rosters_of(NANCHA, Some(q)).await.unwrap()), [withdrawn]);
        assert_eq!(ids(&store.public_rosters_of(NANCHA, Some(s.programme)).await.unwrap()), [p24, paid24, v2, v1]);
        assert_eq!(ids(&store.public_rosters_of(BEICUN, None).await.unwrap()), [b22]);
        assert!(store.public_rosters_of("620922100", None).await.unwrap().is_empty(), "one org, not a subtree");

        let summary = async |prefix: &str| -> Vec<(i64, String, i64, i64)> {
            let list = store.public_programmes_within(prefix).await.unwrap();
            list.into_iter().map(|p| (p.id, p.name, p.rosters, p.latest_year)).collect()
        };
        let (p_name, q_name) = ("耕地地力保护补贴".to_owned(), "一次性补助".to_owned());
        assert_eq!(summary("620922100").await, [(s.programme, p_name.clone(), 4, 2024), (q, q_name.clone(), 1, 2023)]);
        assert_eq!(summary("620922").await, [(s.programme, p_name.clone(), 5, 2024), (q, q_name, 1, 2023)]);
        assert_eq!(summary("620922101").await, [(s.programme, p_name, 1, 2022)]);

        assert_eq!(ids(&store.settleable_rosters(s.programme, NANCHA).await.unwrap()), [p24, v2]);
        assert!(store.settleable_rosters(q, NANCHA).await.unwrap().is_empty());
        assert_eq!(ids(&store.settleable_rosters(s.programme, BEICUN).await.unwrap()), [b22]);

        // The back office sees everything under its subtree, newest change first.
        let back_office = store.rosters_within("620922100", None, 100, 0).await.unwrap();
        assert_eq!(back_office.len(), 8);
        assert_eq!(back_office[0].id, returned);
        assert_eq!(ids(&store.rosters_within("620922100", Some(RosterStatus::Draft), 100, 0).await.unwrap()), [draft]);
        assert_eq!(ids(&store.rosters_within("620922", None, 1, 0).await.unwrap()), [b22]);
    }
);

conformance!(recomputed_differences_keep_the_reasons_of_those_still_present, |store: Store| async move {
    let s = setup(&store).await;
    let id = store.create_roster(&roster(&s, NANCHA, 2024, "paid"), &entries(&["a", "c"]), 10).await.unwrap();
    let other = store.create_roster(&roster(&s, BEICUN, 2024, "paid"), &entries(&["x"]), 10).await.unwrap();
    store
        .replace_differences(id, &[difference("missing", "a"), difference("amount", "b"), difference("extra", "c")])
        .await
        .unwrap();
    store.replace_differences(other, &[difference("missing", "x")]).await.unwrap();
    let first = store.differences(id).await.unwrap();
    assert_eq!(first.len(), 3);
    assert!(first.iter().all(|d| d.reason.is_none() && d.roster_id == id));
    assert_eq!((first[0].proposed_fen, first[0].paid_fen, first[1].paid_fen), (Some(10_000), None, Some(9_000)));

    let reasons = [(first[0].id, "已迁出".to_owned()), (first[1].id, "面积调整".to_owned())];
    store.set_difference_reasons(id, &reasons).await.unwrap();
    let mistaken = [(first[2].id, "先写上".to_owned()), (9_999, "不存在".to_owned())];
    assert!(matches!(store.set_difference_reasons(id, &mistaken).await, Err(StoreError::NotFound)));
    let theirs = store.differences(other).await.unwrap()[0].id;
    let foreign = [(theirs, "别村的".to_owned())];
    assert!(matches!(store.set_difference_reasons(id, &foreign).await, Err(StoreError::NotFound)));
    let reasons_of = async |roster: i64| -> Vec<(DifferenceKind, String, Option<String>)> {
        let diffs = store.differences(roster).await.unwrap();
        diffs.into_iter().map(|d| (d.kind, d.person_idx, d.reason)).collect()
    };
    let row = |kind: &str, person: &str, reason: Option<&str>| {
        (difference(kind, person).kind, person.to_owned(), reason.map(str::to_owned))
    };
    assert_eq!(
        reasons_of(id).await,
        [row("missing", "a", Some("已迁出")), row("amount", "b", Some("面积调整")), row("extra", "c", None)],
        "all or nothing"
    );
    assert_eq!(reasons_of(other).await, [row("missing", "x", None)]);

    // a is still missing, b is gone, c is still extra, d is new, and c is now also an amount difference.
    let recomputed =
        [difference("missing", "a"), difference("extra", "c"), difference("missing", "d"), difference("amount", "c")];
    store.replace_differences(id, &recomputed).await.unwrap();
    assert_eq!(
        reasons_of(id).await,
        [
            row("missing", "a", Some("已迁出")),
            row("extra", "c", None),
            row("missing", "d", None),
            row("amount", "c", None)
        ]
    );

    submit(&store, &s, id, 20).await;
    let now_a = store.differences(id).await.unwrap()[0].id;
    let late = [(now_a, "提交后再改".to_owned())];
    assert!(matches!(store.set_difference_reasons(id, &late).await, Err(StoreError::NotFound)), "submitted");
    assert_eq!(reasons_of(id).await[0].2.as_deref(), Some("已迁出"));
});

conformance!(a_self_query_finds_only_entries_of_published_rosters, |store: Store| async move {
    let s = setup(&store).await;
    let q = store.create_programme(&one_off_programme("一次性补助"), 1).await.unwrap();
    let mut paid = entries(&["me", "spouse"]);
    paid[1].account_idx = Some("acct-me".into());
    paid[1].amount_fen = 5_000;

    let proposed23 = store.create_roster(&roster(&s, NANCHA, 2023, "proposed"), &entries(&["me"]), 10).await.unwrap();
    publish(&store, &s, proposed23, 11).await;
    let paid23 = NewRoster { settles_id: Some(proposed23), ..roster(&s, NANCHA, 2023, "paid") };
    let paid23 = store.create_roster(&paid23, &paid, 12).await.unwrap();
    publish(&store, &s, paid23, 13).await;
    let q24 = NewRoster { programme_id: q, ..roster(&s, BEICUN, 2024, "proposed") };
    let q24 = store.create_roster(&q24, &[entry(1, "me", 30_000)], 14).await.unwrap();
    publish(&store, &s, q24, 15).await;
    let old22 = store.create_roster(&roster(&s, NANCHA, 2022, "paid"), &[entry(1, "me", 7_000)], 16).await.unwrap();
    publish(&store, &s, old22, 17).await;
    let new22 = correction(&s, &roster_of(&store, old22).await);
    let new22 = store.create_roster(&new22, &[entry(1, "me", 8_000)], 18).await.unwrap();
    publish(&store, &s, new22, 19).await;
    let withdrawn = NewRoster { programme_id: q, ..roster(&s, NANCHA, 2022, "proposed") };
    let withdrawn = store.create_roster(&withdrawn, &entries(&["me"]), 20).await.unwrap();
    publish(&store, &s, withdrawn, 21).await;
    withdraw(&store, &s, withdrawn, 22).await;
    store.create_roster(&roster(&s, NANCHA, 2024, "proposed"), &entries(&["me"]), 23).await.unwrap();
    let submitted = store.create_roster(&roster(&s, NANCHA, 2024, "paid"), &entries(&["me"]), 24).await.unwrap();
    submit(&store, &s, submitted, 25).await;

    let mine = store.entries_for_person("me").await.unwrap();
    let summary: Vec<_> = mine.iter().map(|e| (e.roster_id, e.year, e.phase.as_str(), e.amount_fen)).collect();
    assert_eq!(
        summary,
        [
            (q24, 2024, "proposed", 30_000),
            (proposed23, 2023, "proposed", 10_000),
            (paid23, 2023, "paid", 10_000),
            (new22, 2022, "paid", 8_000)
        ]
    );
    let (first, third) = (&mine[0], &mine[2]);
    assert_eq!(
        (first.programme_id, first.programme_name.as_str(), first.recurring, first.to_year),
        (q, "一次性补助", false, None)
    );
    assert_eq!((first.org_code.as_str(), first.published_at, first.paid_on.as_deref()), (BEICUN, Some(15), None));
    assert_eq!((third.programme_name.as_str(), third.recurring, third.to_year), ("耕地地力保护补贴", true, Some(2025)));
    assert_eq!(
        (third.paid_on.as_deref(), third.published_at, third.period.as_str()),
        (Some("2023-12-20"), Some(13), "全年")
    );
    assert_eq!((third.name.as_str(), third.account_idx.as_deref()), ("村民1", Some("acct-me")));
    assert!(store.entries_for_person("nobody").await.unwrap().is_empty());

    let mut household: Vec<_> =
        store.entries_for_account("acct-me").await.unwrap().into_iter().map(|e| (e.roster_id, e.amount_fen)).collect();
    household.sort_unstable();
    let mut expected = vec![(q24, 30_000), (proposed23, 10_000), (paid23, 10_000), (paid23, 5_000), (new22, 8_000)];
    expected.sort_unstable();
    assert_eq!(household, expected);

    assert_eq!(store.last_paid_year(s.programme, NANCHA).await.unwrap(), Some(2023), "not the submitted 2024");
    assert_eq!(store.last_paid_year(q, NANCHA).await.unwrap(), None, "proposed only");
    assert_eq!(store.last_paid_year(s.programme, BEICUN).await.unwrap(), None);
    let keys = [(s.programme, NANCHA.to_owned()), (q, NANCHA.to_owned()), (s.programme, BEICUN.to_owned())];
    let batched = store.last_paid_years(&keys).await.unwrap();
    assert_eq!(batched, [(s.programme, NANCHA.to_owned(), 2023)], "one query answers for every pair");
    assert!(store.last_paid_years(&[]).await.unwrap().is_empty());
});

conformance!(only_drafts_are_deleted_and_with_everything_they_hold, |store: Store| async move {
    let s = setup(&store).await;
    let policy = store.add_attachment(&attachment(None, Some(s.programme), "政策.pdf"), 5).await.unwrap();
    let draft = store.create_roster(&roster(&s, NANCHA, 2024, "paid"), &entries(&["a", "b"]), 10).await.unwrap();
    store.replace_differences(draft, &[difference("missing", "c")]).await.unwrap();
    store.add_attachment(&attachment(Some(draft), None, "签字.pdf"), 11).await.unwrap();
    let published = store.create_roster(&roster(&s, NANCHA, 2024, "proposed"), &entries(&["a"]), 12).await.unwrap();
    publish(&store, &s, published, 13).await;
    store.add_attachment(&attachment(Some(published), None, "公示照片.jpg"), 14).await.unwrap();

    store.delete_draft_roster(draft).await.unwrap();
    assert_eq!(store.find_roster(draft).await.unwrap(), None);
    assert!(store.roster_entries(draft, 10, 0).await.unwrap().is_empty());
    assert!(store.differences(draft).await.unwrap().is_empty());
    assert!(store.attachments_of_roster(draft).await.unwrap().is_empty());
    assert_eq!(count(&store, "SELECT COUNT(*) FROM roster_entries").await, 1);
    assert_eq!(count(&store, "SELECT COUNT(*) FROM roster_differences").await, 0);

    let refused = store.delete_draft_roster(published).await;
    assert!(matches!(refused, Err(StoreError::Stale(_))), "{refused:?}");
    assert_eq!(roster_of(&store, published).await.status, RosterStatus::Published);
    assert_eq!(store.roster_entries(published, 10, 0).await.unwrap().len(), 1);
    assert_eq!(store.attachments_of_roster(published).await.unwrap().len(), 1);
    assert!(store.find_attachment(policy).await.unwrap().is_some());

    // A submitted correction cannot be deleted; once returned it can, which frees the old
    // version for another correction.
    let old = roster_of(&store, published).await;
    let fix = store.create_roster(&correction(&s, &old), &entries(&["b"]), 20).await.unwrap();
    submit(&store, &s, fix, 21).await;
    assert!(matches!(store.delete_draft_roster(fix).await, Err(StoreError::Stale(_))));
    store
        .change_roster_status(
            fix,
            subsidy::transition(RosterStatus::Submitted, RosterAction::Return).unwrap(),
            Some("重做"),
            s.reviewer,
            22,
        )
        .await
        .unwrap();
    store.delete_draft_roster(fix).await.unwrap();
    let again = store.create_roster(&correction(&s, &old), &entries(&["c"]), 23).await.unwrap();
    assert_eq!(roster_of(&store, again).await.version, 2);
    assert!(store.delete_draft_roster(999).await.is_err());
});

conformance!(scans_are_listed_per_roster_and_found_by_id, |store: Store| async move {
    let s = setup(&store).await;
    let id = store.create_roster(&roster(&s, NANCHA, 2024, "proposed"), &entries(&["a"]), 10).await.unwrap();
    let first = store.add_attachment(&attachment(Some(id), None, "第一页.pdf"), 20).await.unwrap();
    let uploaded = NewAttachment { uploaded_by: Some(s.clerk), ..attachment(Some(id), None, "第二页.pdf") };
    let second = store.add_attachment(&uploaded, 21).await.unwrap();
    let policy = store.add_attachment(&attachment(None, Some(s.programme), "政策.pdf"), 22).await.unwrap();

    let scans = store.attachments_of_roster(id).await.unwrap();
    assert_eq!(scans.iter().map(|a| a.id).collect::<Vec<_>>(), [first, second]);
    assert_eq!((scans[0].original_name.as_str(), scans[0].size, scans[0].created_at), ("第一页.pdf", 1_234, 20));
    assert_eq!((scans[0].sha256.len(), scans[0].content_type.as_str()), (64, "application/pdf"));
    let doc = store.find_attachment(policy).await.unwrap().unwrap();
    assert_eq!((doc.roster_id, doc.programme_id, doc.original_name.as_str()), (None, Some(s.programme), "政策.pdf"));
    assert_eq!(store.find_attachment(999).await.unwrap(), None);
    let orphan = store.add_attachment(&attachment(Some(999), None, "x.pdf"), 23).await;
    assert!(matches!(orphan, Err(StoreError::MissingReference(_))), "{orphan:?}");
});

conformance!(objections_are_tracked_by_code_scoped_by_subtree_and_stay_closed, |store: Store| async move {
    let s = setup(&store).await;
    let id = store.create_roster(&roster(&s, NANCHA, 2024, "proposed"), &entries(&["a", "b"]), 10).await.unwrap();
    publish(&store, &s, id, 11).await;
    let entry_id = store.roster_entries(id, 1, 1).await.unwrap()[0].id;
    let o1 = store
        .create_objection(&objection("YY-0001", NANCHA, Some(id), Some(entry_id), s.programme), &filed(), &[], 20)
        .await
        .unwrap();
    let o2 = store
        .create_objection(&objection("YY-0002", BEICUN, None, None, s.programme), &filed(), &[], 30)
        .await
        .unwrap();
    let o3 = store
        .create_objection(&objection("YY-0003", NANCHA, None, None, s.programme), &filed(), &[], 40)
        .await
        .unwrap();
    let another_form =
        NewObjection { submit_key: "another-form".into(), ..objection("YY-0001", NANCHA, None, None, s.programme) };
    let same_code = store.create_objection(&another_form, &filed(), &[], 50).await;
    assert!(matches!(&same_code, Err(e) if e.is_duplicate_of("objections_code_key")), "{same_code:?}");

    let same_form = NewObjection { code: "YY-0009".into(), ..objection("YY-0001", NANCHA, None, None, s.programme) };
    let twice = store.create_objection(&same_form, &filed(), &[], 50).await;
    assert!(matches!(&twice, Err(e) if e.is_duplicate_of("objections_submit_key_key")), "{twice:?}");
    let by_form = store.find_objection_by_submit_key("form-YY-0001-620922100200").await.unwrap().unwrap();
    assert_eq!(by_form.code, "YY-0001");
    let found = store.find_objection_by_code("YY-0001").await.unwrap().unwrap();
    assert_eq!(
        (found.id, found.roster_id, found.entry_id, found.programme_id),
        (o1, Some(id), Some(entry_id), Some(s.programme))
    );
    assert_eq!(
        (found.status, found.reply.as_deref(), found.created_at, found.updated_at),
        (ObjectionStatus::Open, None, 20, 20)
    );
    assert_eq!(
        (found.name.as_str(), found.phone_enc.as_slice(), found.body.as_str()),
        ("张三", &[0x00, 0x13, 0xff][..], "我家的补贴金额不对")
    );
    assert_eq!(store.find_objection(o1).await.unwrap(), Some(found));
    assert_eq!(store.find_objection_by_code("YY-9999").await.unwrap(), None);
    assert_eq!(store.find_objection(999).await.unwrap(), None);

    let within = async |prefix: &str, limit: i64, offset: i64| -> Vec<i64> {
        store.objections_within(prefix, limit, offset).await.unwrap().into_iter().map(|o| o.id).collect()
    };
    assert_eq!(within("620922100", 10, 0).await, [o3, o1], "the other township's objection is not listed");
    assert_eq!(within("620922", 10, 0).await, [o3, o2, o1]);
    assert_eq!(within("620922", 1, 1).await, [o2]);
    assert_eq!(within(BEICUN, 10, 0).await, [o2]);

    assert!(answer(&store, o3, true, "已核实无误", s.reviewer, 60).await);
    assert_eq!(within("620922100", 10, 0).await, [o1, o3], "open cases first");
    assert!(answer(&store, o1, false, "已转交镇农办", s.reviewer, 70).await);
    let handling = store.find_objection(o1).await.unwrap().unwrap();
    assert_eq!(
        (handling.status, handling.reply.as_deref(), handling.updated_at),
        (ObjectionStatus::Handling, Some("已转交镇农办"), 70)
    );
    assert!(answer(&store, o1, true, "已更正", s.reviewer, 80).await);
    assert!(!answer(&store, o1, false, "再看看", s.reviewer, 90).await, "a closed objection stays closed");
    let closed = store.find_objection(o1).await.unwrap().unwrap();
    assert_eq!(
        (closed.status, closed.reply.as_deref(), closed.updated_at),
        (ObjectionStatus::Closed, Some("已更正"), 80)
    );
    assert_eq!(closed.replied_at, Some(80));
    let bogus = sqlx::query("UPDATE objections SET status = 'bogus' WHERE id = $1").bind(o2).execute(&store.pool).await;
    assert!(bogus.is_err(), "the database refuses an unknown status");
    assert_eq!(store.find_objection(o2).await.unwrap().unwrap().status, ObjectionStatus::Open);
    let events = store.events(RequestKind::Objection, o1).await.unwrap();
    assert_eq!(
        events.iter().map(|e| e.kind).collect::<Vec<_>>(),
        [TimelineKind::Submitted, TimelineKind::Reply, TimelineKind::Reply]
    );

    let on_roster = store.objections_of_roster(id).await.unwrap();
    assert_eq!(on_roster.iter().map(|o| o.id).collect::<Vec<_>>(), [o1]);
});

conformance!(objection_deadlines_answers_ratings_and_reopening, |store: Store| async move {
    let s = setup(&store).await;
    let id = store.create_roster(&roster(&s, NANCHA, 2024, "proposed"), &entries(&["a"]), 10).await.unwrap();
    publish(&store, &s, id, 11).await;
    let o = store.create_objection(&objection("YY-0100", NANCHA, Some(id), None, s.programme), &filed(), &[], 20).await;
    let o = o.unwrap();
    let found = store.find_objection(o).await.unwrap().unwrap();
    assert_eq!((found.reply_due, found.reply_remind_at, found.deadline_basis.as_str()), (1000, 900, "5个工作日内答复"));
    assert_eq!((found.reminded_at, found.overdue_at, found.rating), (None, None, None));

    // Reviewers covering the place are the ones told; a county supervisor is the commission.
    let reviewer = store.create_staff_user(&user("shenhe", "township_reviewer", "620922100"), 1).await.unwrap();
    let far = store.create_staff_user(&user("liuyuan", "township_reviewer", "620922101"), 1).await.unwrap();
    let county = store.create_staff_user(&user("jiwei", "supervisor", "620922"), 1).await.unwrap();
    for (u, idx) in [(reviewer, "idx-r"), (far, "idx-f"), (county, "idx-c")] {
        store.set_staff_phone(u, Some((&[1, 2], idx))).await.unwrap();
    }
    let told = store.objection_recipients(NANCHA).await.unwrap();
    let roles: Vec<(&str, &str)> = told.iter().map(|r| (r.role.as_str(), r.phone_idx.as_str())).collect();
    assert_eq!(roles, [("reviewer", "idx-r"), ("commission", "idx-c")]);

    // The clock: the reminder, then the overdue mark, each once, with their texts.
    assert!(store.due(ObjectionClock::Reminder, 899, 10).await.unwrap().is_empty());
    assert_eq!(store.due(ObjectionClock::Reminder, 900, 10).await.unwrap(), [o]);
    let text = |key: &str| NewOutbox {
        dedup_key: key.into(),
        channel: xiaowei_core::outbox::TextChannel::Sms,
        notice: "objection_reminder".into(),
        recipient: "乡镇审核人".into(),
        phone_enc: vec![1, 2],
        phone_idx: "idx-r".into(),
        params: "[]".into(),
        body: "提醒".into(),
    };
    let mark = NewEvent { kind: TimelineKind::Reminder, public: false, ..filed() };
    assert!(store.fire(o, ObjectionClock::Reminder, &mark, &[text("obj:r")], 950).await.unwrap());
    assert!(!store.fire(o, ObjectionClock::Reminder, &mark, &[text("obj:r2")], 960).await.unwrap());
    assert!(store.due(ObjectionClock::Reminder, 2000, 10).await.unwrap().is_empty());
    assert!(store.due(ObjectionClock::Overdue, 999, 10).await.unwrap().is_empty(), "not yet due");
    assert_eq!(store.due(ObjectionClock::Overdue, 1000, 10).await.unwrap(), [o]);
    assert!(store.fire(o, ObjectionClock::Overdue, &mark, &[], 1001).await.unwrap());
    let (texts, _) = store.outbox(None, None, 10, 0).await.unwrap();
    assert_eq!(texts.iter().map(|t| t.dedup_key.as_str()).collect::<Vec<_>>(), ["obj:r"], "one text per mark");
    assert_eq!(store.open_objections_of_lineage(id).await.unwrap(), 1);

    // A rating before the final answer is refused; the final answer can be rated once.
    let rate = |r: Satisfaction| ObjectionChange {
        rating: RatingChange::Set(Rating { satisfaction: r, comment: "理由".into() }),
        ..ObjectionChange::default()
    };
    let rated = NewEvent { kind: TimelineKind::Rate, ..filed() };
    assert!(
        !store.change(o, rated_as(Satisfaction::Basic), &rate(Satisfaction::Basic), &rated, &[], 1100).await.unwrap()
    );
    assert!(answer(&store, o, true, "已核实，面积无误", reviewer, 1200).await);
    assert_eq!(store.open_objections_of_lineage(id).await.unwrap(), 0);
    let reopen =
        ObjectionChange { new_due: Some((5000, 4000, "重新起算".into())), ..rate(Satisfaction::Unsatisfied) };
    assert!(store.change(o, rated_as(Satisfaction::Unsatisfied), &reopen, &rated, &[], 1300).await.unwrap());
    let satisfied = rate(Satisfaction::Satisfied);
    let again = store.change(o, rated_as(Satisfaction::Satisfied), &satisfied, &rated, &[], 1310);
    assert!(!again.await.unwrap(), "one rating per answer");
    let reopened = store.find_objection(o).await.unwrap().unwrap();
    assert_eq!(
        (reopened.status, reopened.rating, reopened.rating_comment.as_deref(), reopened.rated_at),
        (ObjectionStatus::Open, Some(Satisfaction::Unsatisfied), Some("理由"), Some(1300))
    );
    assert_eq!(
        (reopened.reply_due, reopened.reply_remind_at, reopened.deadline_basis.as_str()),
        (5000, 4000, "重新起算")
    );
    assert_eq!((reopened.reminded_at, reopened.overdue_at), (None, None), "the new deadline runs its own clock");
    assert_eq!(store.open_objections_of_lineage(id).await.unwrap(), 1);
    // The next final answer clears the old rating so that it can be rated in turn.
    assert!(answer(&store, o, true, "已到现场重新丈量，补录0.7亩", reviewer, 1400).await);
    let closed = store.find_objection(o).await.unwrap().unwrap();
    assert_eq!((closed.status, closed.rating, closed.replied_at), (ObjectionStatus::Closed, None, Some(1400)));
    assert!(store.change(o, rated_as(Satisfaction::Satisfied), &satisfied, &rated, &[], 1500).await.unwrap());
    let twice = store.change(o, rated_as(Satisfaction::Satisfied), &satisfied, &rated, &[], 1501).await.unwrap();
    assert!(!twice, "a rated answer is not rated again");
    let kinds: Vec<&str> =
        store.events(RequestKind::Objection, o).await.unwrap().into_iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["submitted", "reminder", "reminder", "reply", "rate", "reply", "rate"]);

    // A correction of the roster shares its lineage: objections to either version count.
    let v2 = store.create_roster(&correction(&s, &roster_of(&store, id).await), &entries(&["a"]), 1600).await.unwrap();
    let later = objection("YY-0101", NANCHA, Some(v2), None, s.programme);
    store.create_objection(&later, &filed(), &[], 1700).await.unwrap();
    assert_eq!(store.open_objections_of_lineage(id).await.unwrap(), 1);
    assert_eq!(store.open_objections_of_lineage(v2).await.unwrap(), 1);
});

conformance!(rate_events_count_the_earlier_events_in_the_window, |store: Store| async move {
    assert_eq!(store.rate_event("query", "1.2.3.4", 0, 10).await.unwrap(), 0);
    assert_eq!(store.rate_event("query", "1.2.3.4", 0, 20).await.unwrap(), 1);
    assert_eq!(store.rate_event("query", "1.2.3.4", 15, 30).await.unwrap(), 1, "only the event at 20 is in the window");
    assert_eq!(store.rate_event("query", "5.6.7.8", 0, 30).await.unwrap(), 0, "another key");
    assert_eq!(store.rate_event("objection", "1.2.3.4", 0, 30).await.unwrap(), 0, "another kind");
    store.purge_short_lived(0, 25).await.unwrap();
    assert_eq!(store.rate_event("query", "1.2.3.4", 0, 40).await.unwrap(), 1, "only the event at 30 is left");
});

conformance!(concurrent_rate_events_for_one_key_take_turns, |store: Store| async move {
    let calls = (0..12).map(|_| {
        let store = store.clone();
        tokio::spawn(async move { store.rate_event("query", "9.9.9.9", 0, 10).await })
    });
    let mut counts = Vec::new();
    for call in calls.collect::<Vec<_>>() {
        counts.push(call.await.unwrap().unwrap());
    }
    counts.sort_unstable();
    assert_eq!(counts, (0..12).collect::<Vec<i64>>(), "each call saw every earlier one, none saw the same count");
});

conformance!(batched_quota_events_and_audit_records_are_written_together, |store: Store| async move {
    let events: Vec<RateEvent> =
        [5, 15, 25].into_iter().map(|at| RateEvent { kind: "self_query_client", key: "1.2.3.4".into(), at }).collect();
    let audit = NewAuditEntry {
        at: 25,
        actor_id: None,
        actor_name: "公众".into(),
        action: "self_query".into(),
        target: "person:0123456789abcdef".into(),
        detail: "自助查询".into(),
        ip: "1.2.3.4".into(),
        org_code: Some("620922100".into()),
    };
    let mut batch = store.begin_queries().await.unwrap();
    batch.insert(&events, std::slice::from_ref(&audit)).await.unwrap();
    batch.commit().await.unwrap();
    let count = |kind: &'static str, since: i64| {
        let store = store.clone();
        async move { store.count_rate_events(&[(kind, "1.2.3.4")], since).await.unwrap()[0] }
    };
    assert_eq!(count("self_query_client", 10).await, 2, "events at 15 and 25");
    assert_eq!(count("self_query_client", 0).await, 3);
    assert_eq!(count("self_query_id", 0).await, 0, "another kind");
    assert_eq!(count("self_query_client", 0).await, 3, "counting records nothing");
    assert_eq!(
        store.count_rate_events(&[("self_query_id", "1.2.3.4"), ("self_query_client", "1.2.3.4")], 10).await.unwrap(),
        vec![0, 2],
        "several quotas at once, each in its place"
    );
    assert!(store.count_rate_events(&[], 0).await.unwrap().is_empty());
    let written = store.audit_entries("620922", 10, 0).await.unwrap();
    assert_eq!(written.len(), 1);
    assert_eq!((written[0].action.as_str(), written[0].at), ("self_query", 25));
    let mut open = store.begin_queries().await.unwrap();
    open.insert(&events, std::slice::from_ref(&audit)).await.unwrap();
    assert_eq!(count("self_query_client", 0).await, 3, "inserted rows are not counted before the commit");
    drop(open);
    assert_eq!(count("self_query_client", 0).await, 3, "a batch dropped uncommitted writes nothing");
    assert_eq!(store.audit_entries("620922", 10, 0).await.unwrap().len(), 1);
    // Several records in one batch keep their order and their empty fields.
    let staff = NewAuditEntry { at: 30, actor_id: Some(7), org_code: None, ..audit.clone() };
    let later = NewAuditEntry { at: 31, detail: "第二条".into(), ..audit.clone() };
    let mut batch = store.begin_queries().await.unwrap();
    batch.insert(&[], &[staff, later]).await.unwrap();
    batch.commit().await.unwrap();
    let written = store.audit_entries("", 10, 0).await.unwrap();
    assert_eq!(written.len(), 3);
    assert_eq!(
        (written[0].at, written[0].detail.as_str(), written[0].org_code.as_deref()),
        (31, "第二条", Some("620922100"))
    );
    assert_eq!((written[1].at, written[1].actor_id, written[1].org_code.as_deref()), (30, Some(7), None));
});

conformance!(a_staged_import_is_read_by_its_user_until_it_expires_or_is_dropped, |store: Store| async move {
    let s = setup(&store).await;
    let file = [0x50, 0x4b, 0x00, 0xff];
    store.stage_import("t1", s.clerk, r#"{"year":2024}"#, &file, 100).await.unwrap();
    let staged = store.staged_import("t1", s.clerk, 50).await.unwrap();
    assert_eq!(staged, Some((r#"{"year":2024}"#.to_owned(), file.to_vec())));
    assert_eq!(store.staged_import("t1", s.reviewer, 50).await.unwrap(), None, "another user");
    assert_eq!(store.staged_import("t1", s.clerk, 101).await.unwrap(), None, "expired");
    assert_eq!(store.staged_import("t2", s.clerk, 0).await.unwrap(), None, "unknown token");
    let same_token = store.stage_import("t1", s.clerk, "{}", &file, 110).await;
    assert!(matches!(same_token, Err(StoreError::Duplicate { .. })), "{same_token:?}");
    store.drop_staged_import("t1").await.unwrap();
    assert_eq!(store.staged_import("t1", s.clerk, 0).await.unwrap(), None);
    store.drop_staged_import("t1").await.unwrap();

    store.stage_import("old", s.clerk, "{}", &file, 10).await.unwrap();
    store.stage_import("new", s.clerk, "{}", &file, 200).await.unwrap();
    store.purge_short_lived(100, 0).await.unwrap();
    assert_eq!(store.staged_import("old", s.clerk, 0).await.unwrap(), None);
    assert!(store.staged_import("new", s.clerk, 0).await.unwrap().is_some());
});

conformance!(of_concurrent_corrections_of_one_version_exactly_one_is_stored, |store: Store| async move {
    let s = setup(&store).await;
    let v1 = store.create_roster(&roster(&s, NANCHA, 2024, "proposed"), &entries(&["a"]), 10).await.unwrap();
    publish(&store, &s, v1, 11).await;
    let old = roster_of(&store, v1).await;
    let fix = correction(&s, &old);
    let fixed = entries(&["a", "b"]);
    let attempts = (0..8).map(|_| {
        let (store, fix, fixed) = (store.clone(), fix.clone(), fixed.clone());
        tokio::spawn(async move { store.create_roster(&fix, &fixed, 20).await })
    });
    let mut results = Vec::new();
    for attempt in attempts.collect::<Vec<_>>() {
        results.push(attempt.await.unwrap());
    }
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1, "{results:?}");
    assert!(results.iter().all(|r| matches!(r, Ok(_) | Err(StoreError::Duplicate { .. }))), "{results:?}");
    assert_eq!(store.roster_versions(v1).await.unwrap().len(), 2);
});

conformance!(concurrent_recomputations_and_deletions_of_a_draft_wait_for_each_other, |store: Store| async move {
    let s = setup(&store).await;
    let id = store.create_roster(&roster(&s, NANCHA, 2024, "paid"), &entries(&["a"]), 10).await.unwrap();
    let recomputations: Vec<_> = (0..8)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let diffs = [difference("missing", &format!("p{i}")), difference("extra", "a")];
                store.replace_differences(id, &diffs).await
            })
        })
        .collect();
    for recomputation in recomputations {
        recomputation.await.unwrap().unwrap();
    }
    assert_eq!(store.differences(id).await.unwrap().len(), 2, "the last recomputation wins whole");

    let deletions: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.delete_draft_roster(id).await })
        })
        .collect();
    let mut results = Vec::new();
    for deletion in deletions {
        results.push(deletion.await.unwrap());
    }
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1, "{results:?}");
    assert!(results.iter().all(|r| matches!(r, Ok(()) | Err(StoreError::Stale(_)))), "{results:?}");
    assert_eq!(store.find_roster(id).await.unwrap(), None);
});

conformance!(publication_correction_and_withdrawal_each_append_one_leaf_that_rederives, |store: Store| async move {
    let s = setup(&store).await;
    let v1 = store.create_roster(&roster(&s, NANCHA, 2024, "proposed"), &entries(&["a", "b"]), 10).await.unwrap();
    publish(&store, &s, v1, 20).await;
    let v2 = store.create_roster(&correction(&s, &roster_of(&store, v1).await), &entries(&["a"]), 30).await.unwrap();
    publish(&store, &s, v2, 40).await;
    withdraw(&store, &s, v2, 50).await;
    let leaves = store.ledger_leaves(0, 10).await.unwrap();
    let summary: Vec<(i64, &str, i64)> = leaves.iter().map(|l| (l.object_id, l.event.as_str(), l.version)).collect();
    assert_eq!(summary, [(v1, "publish", 1), (v2, "correct", 2), (v2, "withdraw", 2)]);
    assert_eq!(leaves[2].field("withdraw_reason").as_deref(), Some("重复发放"));
    for l in &leaves {
        assert_eq!(store.rederive_leaf(l).await.unwrap().as_deref(), Some(l.content.as_slice()));
    }
    assert!(store.ledger_gaps().await.unwrap().is_empty());
    // An amount changed behind the application's back no longer matches its leaf.
    sqlx::query("UPDATE roster_entries SET amount_fen = amount_fen + 100 WHERE roster_id = $1")
        .bind(v1)
        .execute(&store.pool)
        .await
        .unwrap();
    assert_ne!(store.rederive_leaf(&leaves[0]).await.unwrap().as_deref(), Some(leaves[0].content.as_slice()));
    assert_eq!(store.rederive_leaf(&leaves[1]).await.unwrap().as_deref(), Some(leaves[1].content.as_slice()));
});

conformance!(a_backloaded_roster_is_stored_whole_marked_and_published_with_its_leaf, |store: Store| async move {
    let s = setup(&store).await;
    let proposed = store.create_roster(&roster(&s, NANCHA, 2016, "proposed"), &entries(&["a", "b"]), 10).await.unwrap();
    publish(&store, &s, proposed, 20).await;
    let paid = NewRoster { settles_id: Some(proposed), ..roster(&s, NANCHA, 2016, "paid") };
    let diffs = [difference("missing", "b")];
    let id =
        store.backload_roster(&paid, &entries(&["a"]), &diffs, "历史数据补录，原因未记录", true, 30).await.unwrap();
    let stored = roster_of(&store, id).await;
    assert_eq!((stored.status.as_str(), stored.backloaded, stored.published_at), ("published", true, Some(30)));
    assert_eq!(stored.publicity_start, None, "publicity dates of the past were never recorded here");
    let reasons: Vec<Option<String>> = store.differences(id).await.unwrap().into_iter().map(|d| d.reason).collect();
    assert_eq!(reasons, [Some("历史数据补录，原因未记录".to_owned())]);
    let leaves = store.ledger_leaves(0, 10).await.unwrap();
    let last = leaves.last().unwrap();
    assert_eq!((last.object_id, last.event.as_str()), (id, "publish"));
    assert_eq!(store.rederive_leaf(last).await.unwrap().as_deref(), Some(last.content.as_slice()));
    assert_eq!(store.entries_for_person("a").await.unwrap().len(), 2, "the self-query sees the back-loaded year");

    // Without --publish it is a draft for the back office, still marked, with no leaf.
    let draft = store
        .backload_roster(&roster(&s, BEICUN, 2015, "proposed"), &entries(&["c"]), &[], "", false, 40)
        .await
        .unwrap();
    let draft = roster_of(&store, draft).await;
    assert_eq!((draft.status.as_str(), draft.backloaded), ("draft", true));
    assert_eq!(store.ledger_leaves(0, 10).await.unwrap().len(), leaves.len());

    // A failing entry leaves nothing behind: no roster, no differences, no leaf.
    let rosters_before = count(&store, "SELECT COUNT(*) FROM rosters").await;
    let mut bad = entries(&["d", "e"]);
    bad[1].id_idx = bad[0].id_idx.clone();
    let refused = store.backload_roster(&roster(&s, BEICUN, 2014, "paid"), &bad, &diffs, "x", true, 50).await;
    assert!(refused.is_err());
    assert_eq!(count(&store, "SELECT COUNT(*) FROM rosters").await, rosters_before);
    assert_eq!(store.ledger_leaves(0, 10).await.unwrap().len(), leaves.len());
});

conformance!(a_terminal_offers_the_names_of_a_villages_published_rosters, |store: Store| async move {
    let s = setup(&store).await;
    let draft = store.create_roster(&roster(&s, NANCHA, 2024, "proposed"), &entries(&["a", "b"]), 10).await.unwrap();
    assert_eq!(store.published_roster_names(NANCHA).await.unwrap(), Vec::<String>::new(), "drafts are not public");
    publish(&store, &s, draft, 20).await;
    let paid = store.create_roster(&roster(&s, NANCHA, 2024, "paid"), &entries(&["a", "b", "c"]), 30).await.unwrap();
    publish(&store, &s, paid, 40).await;
    let other = store.create_roster(&roster(&s, BEICUN, 2024, "proposed"), &entries(&["d"]), 50).await.unwrap();
    publish(&store, &s, other, 60).await;
    assert_eq!(store.published_roster_names(NANCHA).await.unwrap(), ["村民1", "村民2", "村民3"], "distinct, sorted");
    withdraw(&store, &s, paid, 70).await;
    assert_eq!(store.published_roster_names(NANCHA).await.unwrap(), ["村民1", "村民2"], "a withdrawn roster is gone");
});

conformance!(an_unknown_stored_roster_status_or_flag_is_an_error_not_a_default, |store: Store| async move {
    let s = setup(&store).await;
    let id = store.create_roster(&roster(&s, NANCHA, 2024, "proposed"), &entries(&["a"]), 10).await.unwrap();
    let corrupt = |set: &str| format!("UPDATE rosters SET {set} WHERE id = {id}");
    for (set, column, restore) in
        [("status = 'archived'", "status", "status = 'draft'"), ("backloaded = 2", "backloaded", "backloaded = 0")]
    {
        sqlx::query(sqlx::AssertSqlSafe(corrupt(set))).execute(&store.pool).await.unwrap();
        let found = store.find_roster(id).await;
        assert!(matches!(&found, Err(StoreError::Corrupt(m)) if m.contains(column)), "{set}: {found:?}");
        let listed = store.rosters_within("620922", None, 10, 0).await;
        assert!(matches!(listed, Err(StoreError::Corrupt(_))), "{set}");
        sqlx::query(sqlx::AssertSqlSafe(corrupt(restore))).execute(&store.pool).await.unwrap();
        assert_eq!(store.find_roster(id).await.unwrap().map(|r| r.status), Some(RosterStatus::Draft));
    }
});
