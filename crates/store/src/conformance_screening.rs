//! The storage conformance suite for 大数据比对: registry replace and amend, the bulk loads, hits
//! upserted across re-screens (no duplicates, handling kept, vanished causes marked), handling by
//! compare-and-set, counts by township, and 政策找人 outcomes. Runs on SQLite and PostgreSQL.

use crate::conformance::{conformance, small_tree, user, with_postgres, with_sqlite};
use crate::{
    AccountPayees, HitFilter, NewEntry, NewHit, NewLead, NewProgramme, NewRegistryRecord, NewRoster, ScreeningEntryRow,
    ScreeningSettings, SnapshotPart, Store,
};
use xiaowei_core::screening::{HitStatus, LeadKind, LeadStatus, Severity, check_handling};
use xiaowei_core::subsidy::{self, RosterAction, RosterStatus};

const NANCHA: &str = "620922100200";
const BEICUN: &str = "620922101200";

fn record(person: &str, household: Option<&str>) -> NewRegistryRecord {
    NewRegistryRecord {
        person_idx: person.into(),
        name: format!("村民{person}"),
        id_enc: vec![0x00, 0xff, 0x10],
        id_masked: "620922********0001".into(),
        birth_date: Some("1940-05-01".into()),
        village_code: Some(NANCHA.into()),
        household_no: household.map(Into::into),
        members: None,
        relation: None,
        detail: None,
        event_date: None,
    }
}

/// A programme, a clerk and a reviewer, and one published roster per village with the given
/// people: `"a"` is person a paid into account acct-a, `"a/x"` person a paid into account x.
async fn published_rosters(store: &Store, people: &[(&str, &[&str])]) -> (i64, Vec<i64>) {
    small_tree(store).await;
    let clerk = store.create_staff_user(&user("clerk", "village_clerk", NANCHA), 1).await.unwrap();
    let reviewer = store.create_staff_user(&user("reviewer", "township_admin", "620922100"), 1).await.unwrap();
    let programme = store
        .create_programme(
            &NewProgramme {
                name: "高龄补贴".into(),
                department_id: None,
                basis: "甘民发〔2020〕1号".into(),
                unit: xiaowei_core::subsidy::Unit::Person,
                standard_fen: Some(60_000),
                rule: "80周岁以上".into(),
                recurring: true,
                from_year: Some(2020),
                to_year: None,
                publicity_days: 7,
                objection_reply_days: 5,
            },
            1,
        )
        .await
        .unwrap();
    let mut rosters = Vec::new();
    for (org, persons) in people {
        let entries: Vec<NewEntry> = persons
            .iter()
            .zip(1..)
            .map(|(spec, row_no)| {
                let (idx, account) =
                    spec.split_once('/').map_or((*spec, format!("acct-{spec}")), |(i, a)| (i, a.into()));
                NewEntry { row_no, ..entry(idx, &account) }
            })
            .collect();
        let roster = NewRoster {
            programme_id: programme,
            org_code: (*org).into(),
            year: 2025,
            period: "2025年度".into(),
            phase: xiaowei_core::subsidy::Phase::Proposed,
            settles_id: None,
            supersedes_id: None,
            correction_reason: None,
            paid_on: None,
            created_by: clerk,
        };
        let id = store.create_roster(&roster, &entries, 2).await.unwrap();
        store
            .change_roster_status(
                id,
                subsidy::transition(RosterStatus::Draft, RosterAction::Submit).unwrap(),
                None,
                clerk,
                3,
            )
            .await
            .unwrap();
        store.publish_roster(id, Some(("2025-03-01", "2025-03-07")), None, reviewer, 4).await.unwrap();
        rosters.push(id);
    }
    (programme, rosters)
}

conformance!(a_registry_import_replaces_or_amends_the_registry_as_a_whole, |store: Store| async move {
    small_tree(&store).await;
    assert_eq!(store.registry_version().await.unwrap(), (0, 0));
    let first = [record("a", Some("H1")), record("b", Some("H1"))];
    store.import_registry("households", false, &first, "户籍.xlsx", None, "命令行:test", 10).await.unwrap();
    store.import_registry("deaths", false, &[record("z", None)], "死亡.xlsx", None, "命令行:test", 10).await.unwrap();
    let mut moved = record("b", Some("H2"));
    moved.name = "村民乙".into();
    store
        .import_registry("households", true, &[moved, record("c", Some("H2"))], "补充.csv", None, "x", 11)
        .await
        .unwrap();
    let rows = store.registry_for_screening(i64::MIN..=i64::MAX).await.unwrap();
    let (low, high) = store.registry_id_bounds().await.unwrap().unwrap();
    assert_eq!((rows.first().map(|r| r.id), rows.last().map(|r| r.id)), (Some(low), Some(high)));
    let upper = store.registry_for_screening(low + 1..=high).await.unwrap();
    assert_eq!(upper, rows[1..]);
    let mut households: Vec<(String, Option<String>)> = rows
        .iter()
        .filter(|r| r.kind == xiaowei_core::registry::RegistryKind::Households)
        .map(|r| (r.person_idx.clone(), r.household_no.clone()))
        .collect();
    households.sort();
    assert_eq!(
        households,
        [("a".into(), Some("H1".into())), ("b".into(), Some("H2".into())), ("c".into(), Some("H2".into()))]
    );
    let before = store.registry_version().await.unwrap();
    store.import_registry("households", false, &[record("d", None)], "户籍2.xlsx", None, "x", 12).await.unwrap();
    let after = store.registry_version().await.unwrap();
    assert_eq!((after.0, after.1 > before.1), (before.0 + 1, true));
    assert_eq!(store.registry_version().await.unwrap(), after);
    assert_eq!(store.registry_sizes().await.unwrap(), [("deaths".into(), 1), ("households".into(), 1)]);
    let imports = store.registry_imports(10).await.unwrap();
    assert_eq!(imports.iter().map(|i| i.amend).collect::<Vec<_>>(), [false, true, false, false]);
    assert_eq!(imports[1].rows, 2);
});

conformance!(a_registry_snapshot_is_read_only_whole_and_an_import_or_a_rotation_drops_it, |store: Store| async move {
    small_tree(&store).await;
    let part = |part: i64, data: &[u8]| SnapshotPart { part, records: 2, data: data.to_vec() };
    assert_eq!(store.registry_snapshot("1.1.k").await.unwrap(), None);
    store.save_registry_snapshot_part("1.1.k", 2, &part(1, b"second")).await.unwrap();
    assert_eq!(store.registry_snapshot("1.1.k").await.unwrap(), None, "a part is missing");
    store.save_registry_snapshot_part("1.1.k", 2, &part(0, &[0, 255, 1])).await.unwrap();
    assert_eq!(store.registry_snapshot("1.1.k").await.unwrap(), Some(vec![part(0, &[0, 255, 1]), part(1, b"second")]));
    store.save_registry_snapshot_part("1.1.k", 2, &part(0, b"again")).await.unwrap();
    assert_eq!(store.registry_snapshot("1.1.k").await.unwrap(), Some(vec![part(0, b"again"), part(1, b"second")]));
    store.save_registry_snapshot_part("2.2.k", 1, &part(0, b"newer")).await.unwrap();
    store.drop_other_registry_snapshots("2.2.k").await.unwrap();
    assert_eq!(store.registry_snapshot("1.1.k").await.unwrap(), None);
    assert_eq!(store.registry_snapshot("2.2.k").await.unwrap(), Some(vec![part(0, b"newer")]));
    store.import_registry("deaths", false, &[record("z", None)], "死亡.xlsx", None, "命令行:test", 10).await.unwrap();
    assert_eq!(store.registry_snapshot("2.2.k").await.unwrap(), None, "an import drops it");
    store.save_registry_snapshot_part("3.3.k", 1, &part(0, b"x")).await.unwrap();
    assert!(store.begin_pii_rotation("k", "k2", 20).await.unwrap());
    assert_eq!(store.registry_snapshot("3.3.k").await.unwrap(), None, "a rotation drops it");
    store.save_registry_snapshot_part("4.4.k2", 1, &part(0, b"y")).await.unwrap();
    store.drop_registry_snapshots().await.unwrap();
    assert_eq!(store.registry_snapshot("4.4.k2").await.unwrap(), None);
});

conformance!(programme_settings_and_exclusive_pairs_round_trip, |store: Store| async move {
    let (programme, _) = published_rosters(&store, &[]).await;
    let defaults = store.programme_screening().await.unwrap();
    assert_eq!((defaults[0].excludes_payroll, defaults[0].min_age), (false, None));
    let settings = ScreeningSettings { excludes_payroll: true, min_age: Some(80), ..ScreeningSettings::default() };
    store.set_programme_screening(programme, &settings).await.unwrap();
    store.set_programme_screening(programme, &settings).await.unwrap();
    let saved = store.programme_screening().await.unwrap();
    assert_eq!((saved[0].excludes_payroll, saved[0].min_age, saved[0].asset_test), (true, Some(80), false));
    let other =
        store.create_programme(&NewProgramme { name: "城市低保".into(), ..sample_programme() }, 5).await.unwrap();
    store.add_exclusive_pair(other, programme).await.unwrap();
    store.add_exclusive_pair(programme, other).await.unwrap();
    assert_eq!(store.exclusive_pairs().await.unwrap(), [(programme, other)]);
});

conformance!(an_incremental_load_reads_the_entries_the_cross_roster_rules_compare, |store: Store| async move {
    let (programme, rosters) = published_rosters(
        &store,
        &[(NANCHA, &["a", "b/shared"]), (BEICUN, &["a"]), (NANCHA, &["c"]), (BEICUN, &["d/shared"]), (NANCHA, &["e"])],
    )
    .await;
    let households = [record("a", Some("H1")), record("c", Some("H1")), record("e", Some("H2"))];
    store.import_registry("households", false, &households, "户籍.xlsx", None, "命令行:test", 10).await.unwrap();
    // Roster 0's batch: every roster of the same year, period, phase and programme.
    let batch = store.screening_batch(&rosters[..1]).await.unwrap();
    assert_eq!(batch.len(), 6);
    assert_eq!((batch[0].roster_id, batch[0].id_idx.as_str()), (rosters[0], "a"));
    // Another year, or a programme neither the same nor exclusive, is not in it.
    let next_year = NewRoster { year: 2026, period: "2026年度".into(), ..roster_like(&store, rosters[0]).await };
    let clerk = store.find_staff_by_username("clerk").await.unwrap().unwrap().id;
    let reviewer = store.find_staff_by_username("reviewer").await.unwrap().unwrap().id;
    let later = store.create_roster(&next_year, &[entry("a", "shared")], 20).await.unwrap();
    store
        .change_roster_status(
            later,
            subsidy::transition(RosterStatus::Draft, RosterAction::Submit).unwrap(),
            None,
            clerk,
            21,
        )
        .await
        .unwrap();
    store.publish_roster(later, Some(("2026-03-01", "2026-03-07")), None, reviewer, 22).await.unwrap();
    let other =
        store.create_programme(&NewProgramme { name: "城市低保".into(), ..sample_programme() }, 5).await.unwrap();
    let elsewhere = NewRoster { programme_id: other, ..roster_like(&store, rosters[0]).await };
    let elsewhere = store.create_roster(&elsewhere, &[entry("a", "acct-z")], 23).await.unwrap();
    store
        .change_roster_status(
            elsewhere,
            subsidy::transition(RosterStatus::Draft, RosterAction::Submit).unwrap(),
            None,
            clerk,
            24,
        )
        .await
        .unwrap();
    store.publish_roster(elsewhere, Some(("2025-03-01", "2025-03-07")), None, reviewer, 25).await.unwrap();
    assert_eq!(store.screening_batch(&rosters[..1]).await.unwrap().len(), 6);
    store.add_exclusive_pair(other, programme).await.unwrap();
    let batch = store.screening_batch(&rosters[..1]).await.unwrap();
    assert_eq!(batch.len(), 7, "an exclusive programme's roster joins the batch");
    assert_eq!(batch[6].roster_id, elsewhere);

    // A draft paying f into the shared account in 2025 is not published: nobody is paid by it.
    let draft = store
        .create_roster(&roster_like(&store, rosters[0]).await, &[entry("f", "shared"), entry("g", "acct-g")], 26)
        .await
        .unwrap();
    // Accounts: who is paid, in 2025, into roster 0's accounts: a alone into a's (in two
    // rosters), b and d into the shared one; a's 2026 entry is of another year.
    let mut payees = store.screening_account_payees(&rosters[..1]).await.unwrap();
    for p in &mut payees {
        p.people.sort();
    }
    payees.sort();
    let paid = |a: &str, people: &[&str]| AccountPayees {
        account_idx: a.into(),
        year: 2025,
        people: people.iter().map(|p| (*p).to_owned()).collect(),
    };
    assert_eq!(payees, [paid("acct-a", &["a"]), paid("shared", &["b", "d"])], "each person once per account");
    // Screening the draft: its shared account's published payees; its own account pays nobody.
    let mut of_draft = store.screening_account_payees(&[draft]).await.unwrap();
    for p in &mut of_draft {
        p.people.sort();
    }
    assert_eq!(of_draft, [paid("shared", &["b", "d"])]);
    let all = store.entries_for_screening().await.unwrap();
    let id_of = |roster: i64, idx: &str| all.iter().find(|e| e.roster_id == roster && e.id_idx == idx).unwrap().id;
    let shared = store.screening_account_entries(&rosters[..1], &["shared".to_owned()]).await.unwrap();
    let mut expected = vec![id_of(rosters[0], "b"), id_of(rosters[3], "d")];
    expected.sort_unstable();
    assert_eq!(shared, expected);
    let both = store.screening_account_entries(&rosters[..1], &["shared".into(), "acct-a".into()]).await.unwrap();
    let mut expected =
        vec![id_of(rosters[0], "a"), id_of(rosters[1], "a"), id_of(rosters[0], "b"), id_of(rosters[3], "d")];
    expected.sort_unstable();
    assert_eq!(both, expected);
    assert!(store.screening_account_entries(&rosters[..1], &[]).await.unwrap().is_empty());

    // Entries by id read as in full, the sealed ID only for the scope's own; unknown ids read nothing.
    let wanted = [id_of(rosters[3], "d"), id_of(rosters[0], "a"), 999_999];
    let read = store.screening_entries(&wanted, &rosters[..1]).await.unwrap();
    let compared = ScreeningEntryRow { id_enc: None, ..all.iter().find(|e| e.id == wanted[0]).unwrap().clone() };
    assert!(all[0].id_enc.is_some());
    assert_eq!(read, [all[0].clone(), compared]);
    assert_eq!(all.len(), 8);

    // A paid roster settling roster 0: its run reads roster 0's people, and no other proposed roster's.
    let paid = NewRoster {
        programme_id: programme,
        org_code: NANCHA.into(),
        year: 2025,
        period: "2025年度".into(),
        phase: xiaowei_core::subsidy::Phase::Paid,
        settles_id: Some(rosters[0]),
        supersedes_id: None,
        correction_reason: None,
        paid_on: Some("2025-04-01".into()),
        created_by: clerk,
    };
    let paid = store.create_roster(&paid, &[entry("a", "acct-a")], 30).await.unwrap();
    let proposed = store.proposed_for_screening(Some(&[paid])).await.unwrap();
    assert_eq!(
        proposed.iter().map(|p| (p.roster_id, p.id_idx.as_str())).collect::<Vec<_>>(),
        [(rosters[0], "a"), (rosters[0], "b")]
    );
    assert_eq!(store.proposed_for_screening(None).await.unwrap().len(), 8);
    assert!(store.proposed_for_screening(Some(&rosters[..1])).await.unwrap().is_empty());
    // A withdrawn roster's payee may still be named (never fewer people than are paid), but its
    // entry is no longer read.
    store
        .change_roster_status(
            rosters[3],
            subsidy::transition(RosterStatus::Published, RosterAction::Withdraw).unwrap(),
            Some("录入错误"),
            reviewer,
            27,
        )
        .await
        .unwrap();
    let mut after = store.screening_account_payees(&rosters[..1]).await.unwrap();
    after.iter_mut().for_each(|p| p.people.sort());
    after.sort();
    assert_eq!(after, payees);
    let shared = store.screening_account_entries(&rosters[..1], &["shared".to_owned()]).await.unwrap();
    assert_eq!(shared, [id_of(rosters[0], "b")]);
});

conformance!(a_finished_key_rotation_rebuilds_who_each_account_paid, |store: Store| async move {
    let (_, rosters) = published_rosters(&store, &[(NANCHA, &["a", "b/shared"]), (BEICUN, &["d/shared"])]).await;
    let reviewer = store.find_staff_by_username("reviewer").await.unwrap().unwrap().id;
    store
        .change_roster_status(
            rosters[1],
            subsidy::transition(RosterStatus::Published, RosterAction::Withdraw).unwrap(),
            Some("录入错误"),
            reviewer,
            5,
        )
        .await
        .unwrap();
    assert!(store.begin_pii_rotation("k", "k2", 10).await.unwrap());
    // The rotation re-indexes every entry (here by hand, as its batches would).
    sqlx::query("UPDATE roster_entries SET id_idx = 'n-' || id_idx, account_idx = 'n-' || account_idx")
        .execute(&store.pool)
        .await
        .unwrap();
    store.finish_pii_rotation("k2", 20).await.unwrap();
    let mut payees = store.screening_account_payees(&rosters[..1]).await.unwrap();
    payees.iter_mut().for_each(|p| p.people.sort());
    payees.sort();
    let paid = |a: &str, people: &[&str]| AccountPayees {
        account_idx: a.into(),
        year: 2025,
        people: people.iter().map(|p| (*p).to_owned()).collect(),
    };
    assert_eq!(
        payees,
        [paid("n-acct-a", &["n-a"]), paid("n-shared", &["n-b"])],
        "under the new indexes, and only the published rosters' payees"
    );
});

/// One entry for person `idx` paid into `account`.
fn entry(idx: &str, account: &str) -> NewEntry {
    NewEntry {
        row_no: 1,
        name: format!("村民{idx}"),
        id_enc: vec![1, 2, 3],
        id_idx: idx.into(),
        id_masked: "620922********0001".into(),
        group_name: None,
        account_enc: Some(vec![9]),
        account_idx: Some(account.into()),
        account_masked: None,
        amount_fen: 60_000,
        note: None,
    }
}

/// A new draft roster with `id`'s programme, village, year, period and phase.
async fn roster_like(store: &Store, id: i64) -> NewRoster {
    let r = store.find_roster(id).await.unwrap().unwrap();
    NewRoster {
        programme_id: r.programme_id,
        org_code: r.org_code,
        year: r.year,
        period: r.period,
        phase: r.phase,
        settles_id: None,
        supersedes_id: None,
        correction_reason: None,
        paid_on: None,
        created_by: r.created_by,
    }
}

fn sample_programme() -> NewProgramme {
    NewProgramme {
        name: String::new(),
        department_id: None,
        basis: "依据".into(),
        unit: xiaowei_core::subsidy::Unit::Household,
        standard_fen: None,
        rule: "规则".into(),
        recurring: true,
        from_year: None,
        to_year: None,
        publicity_days: 7,
        objection_reply_days: 5,
    }
}

conformance!(a_rescreen_keeps_handling_and_marks_vanished_hits, |store: Store| async move {
    let (_, rosters) = published_rosters(&store, &[(NANCHA, &["a", "b"]), (BEICUN, &["c"])]).await;
    let entries = store.entries_for_screening().await.unwrap();
    assert_eq!(entries.len(), 3);
    assert_eq!(entries[0].id_enc, Some(vec![1, 2, 3]));
    let proposed = store.proposed_for_screening(None).await.unwrap();
    assert_eq!(proposed.len(), 3);
    assert_eq!(proposed[0].publicity_end.as_deref(), Some("2025-03-07"));
    let entry_of = |idx: &str| entries.iter().find(|e| e.id_idx == idx).map(|e| e.id).unwrap_or_default();
    let hit = |rule: &str, idx: &str| NewHit {
        rule: rule.parse().expect("a rule code"),
        entry_id: entry_of(idx),
        severity: Severity::High,
        evidence: "[]".into(),
    };
    let run = store.record_screening(None, 3, &[hit("dead_payee", "a"), hit("dead_payee", "c")], 100).await.unwrap();
    assert_eq!((run.hits, run.new_hits, run.cleared), (2, 2, 0));
    let all = HitFilter { within: "620922".into(), ..HitFilter::default() };
    let listed = store.screening_hits(&all, 10, 0).await.unwrap();
    assert_eq!(listed.len(), 2);
    let a = listed.iter().find(|h| h.org_code == NANCHA).cloned().unwrap();
    assert_eq!((a.programme_name.as_str(), a.org_name.as_str(), a.year), ("高龄补贴", "南岔村委会", 2025));

    let look = check_handling(HitStatus::New, HitStatus::Verifying, "").unwrap();
    let confirm = check_handling(HitStatus::Verifying, HitStatus::Confirmed, "已查实").unwrap();
    store.handle_screening_hit(a.id, look, "", 1, "纪委", 101).await.unwrap();
    let twice = store.handle_screening_hit(a.id, look, "", 1, "纪委", 102).await;
    assert!(matches!(twice, Err(crate::StoreError::Stale(_))));

    // A re-screen finds a again, no longer c, and b for the first time.
    let run = store.record_screening(None, 3, &[hit("dead_payee", "a"), hit("dead_payee", "b")], 200).await.unwrap();
    assert_eq!((run.hits, run.new_hits, run.cleared), (2, 1, 1));
    let listed = store.screening_hits(&all, 10, 0).await.unwrap();
    assert_eq!(listed.len(), 2, "the cleared hit leaves the default list");
    let again = store.find_screening_hit(a.id).await.unwrap().unwrap();
    assert_eq!((again.status.as_str(), again.last_seen_at, again.first_seen_at), ("verifying", 200, 100));
    let with_cleared = HitFilter { include_cleared: true, ..all.clone() };
    assert_eq!(store.count_screening_hits(&with_cleared).await.unwrap(), 3);

    // An incremental run over one roster clears only within that roster.
    let run = store.record_screening(Some(&rosters[..1]), 2, &[hit("dead_payee", "a")], 300).await.unwrap();
    assert_eq!((run.new_hits, run.cleared), (0, 1));
    assert_eq!(store.hits_of_roster(rosters[0]).await.unwrap().len(), 1);

    store.handle_screening_hit(a.id, confirm, "已查实，追回资金", 1, "纪委", 301).await.unwrap();
    let events = store.hit_events(a.id).await.unwrap();
    assert_eq!(events.iter().map(|e| e.to_status.as_str()).collect::<Vec<_>>(), ["verifying", "confirmed"]);
    let counts = store.screening_counts("620922").await.unwrap();
    let pairs: Vec<(String, String, i64)> =
        counts.into_iter().map(|c| (c.township, c.status.as_str().to_owned(), c.hits)).collect();
    assert_eq!(pairs, [("620922100".to_owned(), "confirmed".to_owned(), 1)]);
    let filtered = HitFilter { within: "620922101".into(), include_cleared: true, ..HitFilter::default() };
    assert_eq!(store.count_screening_hits(&filtered).await.unwrap(), 1);
});

conformance!(outreach_leads_are_upserted_and_take_one_outcome, |store: Store| async move {
    let (programme, _) = published_rosters(&store, &[]).await;
    let lead = NewLead {
        kind: LeadKind::AgeEligible,
        person_idx: "p".into(),
        name: "村民甲".into(),
        id_masked: "620922********0001".into(),
        org_code: NANCHA.into(),
        programme_id: programme,
        detail: "85周岁".into(),
    };
    store.record_outreach(std::slice::from_ref(&lead), 10).await.unwrap();
    let id = store.outreach_leads("620922100", 10, 0).await.unwrap()[0].id;
    store.record_outreach_outcome(id, LeadStatus::Enrolled, "已申请", 1, 11).await.unwrap();
    assert!(store.record_outreach_outcome(id, LeadStatus::NotEligible, "x", 1, 12).await.is_err());
    store.record_outreach(&[NewLead { detail: "86周岁".into(), ..lead }], 13).await.unwrap();
    let leads = store.outreach_leads("620922", 10, 0).await.unwrap();
    assert_eq!(leads.len(), 1);
    assert_eq!((leads[0].status.as_str(), leads[0].detail.as_str()), ("enrolled", "86周岁"));
    assert_eq!(store.count_outreach_leads("620922101").await.unwrap(), 0);
    assert_eq!(store.find_outreach_lead(id).await.unwrap().map(|l| l.programme_name), Some("高龄补贴".into()));
});
