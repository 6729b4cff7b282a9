//! The storage conformance suite for 大数据比对: registry replace and amend, the bulk loads, hits
//! upserted across re-screens (no duplicates, handling kept, vanished causes marked), handling by
//! compare-and-set, counts by township, and 政策找人 outcomes. Runs on SQLite and PostgreSQL.

use crate::conformance::{conformance, small_tree, user, with_postgres, with_sqlite};
use crate::{
    HitFilter, NewEntry, NewHit, NewLead, NewProgramme, NewRegistryRecord, NewRoster, ScreeningSettings, Store,
};

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

/// A programme, a clerk and a reviewer, and one published roster per village with the given people.
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
                unit: "person".into(),
                standard_fen: Some(60_000),
                rule: "80周岁以上".into(),
                recurring: true,
                from_year: Some(2020),
                to_year: None,
                publicity_days: 7,
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
            .map(|(idx, row_no)| NewEntry {
                row_no,
                name: format!("村民{idx}"),
                id_enc: vec![1, 2, 3],
                id_idx: (*idx).into(),
                id_masked: "620922********0001".into(),
                group_name: None,
                account_enc: None,
                account_idx: None,
                account_masked: None,
                amount_fen: 60_000,
                note: None,
            })
            .collect();
        let roster = NewRoster {
            programme_id: programme,
            org_code: (*org).into(),
            year: 2025,
            period: "2025年度".into(),
            phase: "proposed".into(),
            settles_id: None,
            supersedes_id: None,
            correction_reason: None,
            paid_on: None,
            created_by: clerk,
        };
        let id = store.create_roster(&roster, &entries, 2).await.unwrap();
        store.change_roster_status(id, "draft", "submitted", None, clerk, 3).await.unwrap();
        store.publish_roster(id, Some(("2025-03-01", "2025-03-07")), reviewer, 4).await.unwrap();
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
    let rows = store.registry_for_screening().await.unwrap();
    let mut households: Vec<(String, Option<String>)> = rows
        .iter()
        .filter(|r| r.kind == "households")
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
    assert_eq!(imports.iter().map(|i| i.mode.as_str()).collect::<Vec<_>>(), ["replace", "amend", "replace", "replace"]);
    assert_eq!(imports[1].rows, 2);
});

conformance!(programme_settings_and_exclusive_pairs_round_trip, |store: Store| async move {
    let (programme, _) = published_rosters(&store, &[]).await;
    let defaults = store.programme_screening().await.unwrap();
    assert_eq!((defaults[0].excludes_payroll, defaults[0].min_age), (0, None));
    let settings = ScreeningSettings { excludes_payroll: true, min_age: Some(80), ..ScreeningSettings::default() };
    store.set_programme_screening(programme, &settings).await.unwrap();
    store.set_programme_screening(programme, &settings).await.unwrap();
    let saved = store.programme_screening().await.unwrap();
    assert_eq!((saved[0].excludes_payroll, saved[0].min_age, saved[0].asset_test), (1, Some(80), 0));
    let other =
        store.create_programme(&NewProgramme { name: "城市低保".into(), ..sample_programme() }, 5).await.unwrap();
    store.add_exclusive_pair(other, programme).await.unwrap();
    store.add_exclusive_pair(programme, other).await.unwrap();
    assert_eq!(store.exclusive_pairs().await.unwrap(), [(programme, other)]);
});

fn sample_programme() -> NewProgramme {
    NewProgramme {
        name: String::new(),
        department_id: None,
        basis: "依据".into(),
        unit: "household".into(),
        standard_fen: None,
        rule: "规则".into(),
        recurring: true,
        from_year: None,
        to_year: None,
        publicity_days: 7,
    }
}

conformance!(a_rescreen_keeps_handling_and_marks_vanished_hits, |store: Store| async move {
    let (_, rosters) = published_rosters(&store, &[(NANCHA, &["a", "b"]), (BEICUN, &["c"])]).await;
    let entries = store.entries_for_screening().await.unwrap();
    assert_eq!(entries.len(), 3);
    assert_eq!(entries[0].id_enc, vec![1, 2, 3]);
    let proposed = store.proposed_for_screening().await.unwrap();
    assert_eq!(proposed.len(), 3);
    assert_eq!(proposed[0].publicity_end.as_deref(), Some("2025-03-07"));
    let entry_of = |idx: &str| entries.iter().find(|e| e.id_idx == idx).map(|e| e.id).unwrap_or_default();
    let hit = |rule: &str, idx: &str| NewHit {
        rule: rule.into(),
        entry_id: entry_of(idx),
        severity: "high".into(),
        evidence: "[]".into(),
    };
    let run = store.record_screening(None, 3, &[hit("dead_payee", "a"), hit("dead_payee", "c")], 100).await.unwrap();
    assert_eq!((run.hits, run.new_hits, run.cleared), (2, 2, 0));
    let all = HitFilter { within: "620922".into(), ..HitFilter::default() };
    let listed = store.screening_hits(&all, 10, 0).await.unwrap();
    assert_eq!(listed.len(), 2);
    let a = listed.iter().find(|h| h.org_code == NANCHA).cloned().unwrap();
    assert_eq!((a.programme_name.as_str(), a.org_name.as_str(), a.year), ("高龄补贴", "南岔村委会", 2025));

    store.handle_screening_hit(a.id, "new", "verifying", "", 1, "纪委", 101).await.unwrap();
    let twice = store.handle_screening_hit(a.id, "new", "verifying", "", 1, "纪委", 102).await;
    assert!(matches!(twice, Err(crate::StoreError::Conflict(_))));

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

    store.handle_screening_hit(a.id, "verifying", "confirmed", "已查实，追回资金", 1, "纪委", 301).await.unwrap();
    let events = store.hit_events(a.id).await.unwrap();
    assert_eq!(events.iter().map(|e| e.to_status.as_str()).collect::<Vec<_>>(), ["verifying", "confirmed"]);
    let counts = store.screening_counts("620922").await.unwrap();
    let pairs: Vec<(String, String, i64)> = counts.into_iter().map(|c| (c.township, c.status, c.hits)).collect();
    assert_eq!(pairs, [("620922100".to_owned(), "confirmed".to_owned(), 1)]);
    let filtered = HitFilter { within: "620922101".into(), include_cleared: true, ..HitFilter::default() };
    assert_eq!(store.count_screening_hits(&filtered).await.unwrap(), 1);
});

conformance!(outreach_leads_are_upserted_and_take_one_outcome, |store: Store| async move {
    let (programme, _) = published_rosters(&store, &[]).await;
    let lead = NewLead {
        kind: "age_eligible".into(),
        person_idx: "p".into(),
        name: "村民甲".into(),
        id_masked: "620922********0001".into(),
        org_code: NANCHA.into(),
        programme_id: programme,
        detail: "85周岁".into(),
    };
    store.record_outreach(std::slice::from_ref(&lead), 10).await.unwrap();
    let id = store.outreach_leads("620922100", 10, 0).await.unwrap()[0].id;
    store.record_outreach_outcome(id, "enrolled", "已申请", 1, 11).await.unwrap();
    assert!(store.record_outreach_outcome(id, "not_eligible", "x", 1, 12).await.is_err());
    store.record_outreach(&[NewLead { detail: "86周岁".into(), ..lead }], 13).await.unwrap();
    let leads = store.outreach_leads("620922", 10, 0).await.unwrap();
    assert_eq!(leads.len(), 1);
    assert_eq!((leads[0].status.as_str(), leads[0].detail.as_str()), ("enrolled", "86周岁"));
    assert_eq!(store.count_outreach_leads("620922101").await.unwrap(), 0);
    assert_eq!(store.find_outreach_lead(id).await.unwrap().map(|l| l.programme_name), Some("高龄补贴".into()));
});
