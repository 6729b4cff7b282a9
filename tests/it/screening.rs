//! 大数据比对 end to end: a generated county with one planted anomaly per rule is screened and
//! exactly the planted hits come out; re-screens keep handling and mark vanished causes; the
//! commission moves a hit to verifying and confirmed over HTTP and the counts follow; the
//! registry import page checks every row and stores nothing on error.

use std::collections::{BTreeSet, HashMap, HashSet};
use xiaowei_core::subsidy::{self, RosterAction, RosterStatus};

use xiaowei_core::Role;
use xiaowei_core::resident_id::check_char;
use xiaowei_core::roster::RosterLine;
use xiaowei_store::{HitFilter, NewEntry, NewHit, NewLead, NewProgramme, NewRoster, ScreeningSettings, Store};

use crate::helpers::{TestApp, both_backends, hidden};

const VILLAGE: &str = "620922100200";
const FOREIGN: &str = "620923100200";

/// A valid ID born on `birth` (YYYYMMDD) with sequence `seq`.
fn id(birth: &str, seq: u32) -> String {
    let body = format!("620922{birth}{:03}", seq % 1000);
    let mut digits = [0u32; 17];
    for (slot, c) in digits.iter_mut().zip(body.chars()) {
        *slot = c.to_digit(10).unwrap();
    }
    format!("{body}{}", check_char(&digits))
}

/// Seeds one hit and one 政策找人 lead per given roster's village (for the access matrix).
pub async fn seed_hits_and_leads(app: &TestApp, rosters: [i64; 2], programme: i64) -> ([i64; 2], [i64; 2]) {
    let store = app.state.store();
    let mut new_hits = Vec::new();
    for roster in rosters {
        let entry = store.roster_entries(roster, 1, 0).await.unwrap().remove(0);
        new_hits.push(NewHit {
            rule: xiaowei_core::screening::Rule::DeadPayee,
            entry_id: entry.id,
            severity: xiaowei_core::screening::Severity::High,
            evidence: "[]".into(),
        });
    }
    store.record_screening(None, 2, &new_hits, 1).await.unwrap();
    let all = HitFilter { within: String::new(), include_cleared: true, ..HitFilter::default() };
    let listed = store.screening_hits(&all, 10, 0).await.unwrap();
    let hit_of = |roster: i64| listed.iter().find(|h| h.roster_id == roster).unwrap().id;
    let leads: Vec<NewLead> = [VILLAGE, FOREIGN]
        .iter()
        .enumerate()
        .map(|(i, org)| NewLead {
            kind: xiaowei_core::screening::LeadKind::AgeEligible,
            person_idx: format!("person-{i}"),
            name: "王老汉".into(),
            id_masked: "620922********0011".into(),
            org_code: (*org).into(),
            programme_id: programme,
            detail: "85周岁".into(),
        })
        .collect();
    store.record_outreach(&leads, 1).await.unwrap();
    let stored = store.outreach_leads("", 10, 0).await.unwrap();
    let lead_of = |org: &str| stored.iter().find(|l| l.org_code == org).unwrap().id;
    ([hit_of(rosters[0]), hit_of(rosters[1])], [lead_of(VILLAGE), lead_of(FOREIGN)])
}

struct County {
    programmes: [i64; 4],
    clerk: i64,
}

async fn programme(store: &Store, name: &str, unit: &str, standard_fen: i64) -> i64 {
    let p = NewProgramme {
        name: name.into(),
        department_id: None,
        basis: "测试文件".into(),
        unit: xiaowei_core::subsidy::Unit::parse(unit).unwrap(),
        standard_fen: Some(standard_fen),
        rule: "测试".into(),
        recurring: true,
        from_year: Some(2020),
        to_year: None,
        publicity_days: 7,
        objection_reply_days: 5,
    };
    store.create_programme(&p, 1).await.unwrap()
}

/// One roster line: name, ID, amount in fen, account.
struct Line<'a>(&'a str, String, i64, Option<String>);

fn sealed(app: &TestApp, lines: &[Line<'_>]) -> Vec<NewEntry> {
    lines
        .iter()
        .zip(1..)
        .map(|(l, row)| {
            match xiaowei_core::ResidentId::parse(&l.1) {
                Ok(resident_id) => {
                    let line = RosterLine {
                        row,
                        name: l.0.into(),
                        resident_id,
                        amount: xiaowei_core::Fen::new(l.2).unwrap(),
                        group: None,
                        account: l.3.clone(),
                        note: None,
                    };
                    xiaowei_server::app::rosters::seal_line(app.state.cipher(), &line)
                }
                // A number that fails the check digit, as old rosters loaded in bulk may hold.
                Err(_) => NewEntry {
                    row_no: i64::try_from(row).unwrap(),
                    name: l.0.into(),
                    id_enc: app.state.cipher().encrypt(&l.1),
                    id_idx: app.state.cipher().blind_index(xiaowei_server::app::rosters::ID_PURPOSE, &l.1),
                    id_masked: format!("{}********{}", &l.1[..6], &l.1[14..]),
                    group_name: None,
                    account_enc: None,
                    account_idx: None,
                    account_masked: None,
                    amount_fen: l.2,
                    note: None,
                },
            }
        })
        .collect()
}

/// Creates and publishes a roster; returns its id.
async fn publish(
    app: &TestApp,
    county: &County,
    (programme, org, phase): (i64, &str, &str),
    settles: Option<i64>,
    lines: &[Line<'_>],
) -> i64 {
    let store = app.state.store();
    let roster = NewRoster {
        programme_id: programme,
        org_code: org.into(),
        year: 2025,
        period: "2025年度".into(),
        phase: xiaowei_core::subsidy::Phase::parse(phase).unwrap(),
        settles_id: settles,
        supersedes_id: None,
        correction_reason: None,
        paid_on: (phase == "paid").then(|| "2025-04-01".to_owned()),
        created_by: county.clerk,
    };
    let id = store.create_roster(&roster, &sealed(app, lines), 10).await.unwrap();
    store
        .change_roster_status(
            id,
            subsidy::transition(RosterStatus::Draft, RosterAction::Submit).unwrap(),
            None,
            county.clerk,
            11,
        )
        .await
        .unwrap();
    let publicity = (phase == "proposed").then_some(("2025-03-01", "2025-03-07"));
    store.publish_roster(id, publicity, None, county.clerk, 12).await.unwrap();
    id
}

fn csv(header: &str, rows: &[String]) -> Vec<u8> {
    let mut text = format!("{header}\n");
    for r in rows {
        text.push_str(r);
        text.push('\n');
    }
    text.into_bytes()
}

/// Imports a registry file through the use case the page and the command line share, then
/// re-screens everything as the command line does.
async fn import(app: &TestApp, kind: &str, bytes: &[u8]) {
    let kind = xiaowei_core::registry::RegistryKind::parse(kind).unwrap();
    let check = xiaowei_server::app::screening::check_file(kind, bytes).unwrap();
    assert!(check.is_clean(), "{:?}", check.errors);
    let audit = xiaowei_store::NewAuditEntry {
        at: 1,
        actor_id: None,
        actor_name: "测试".into(),
        action: "registry.import".into(),
        target: format!("registry:{}", kind.as_str()),
        detail: String::new(),
        ip: "local".into(),
        org_code: None,
    };
    xiaowei_server::app::screening::import_registry(&app.state, kind, false, &check, "test.csv", (None, "测试"), audit)
        .await
        .unwrap();
    xiaowei_server::app::screening::run(&app.state, None, app.state.now()).await.unwrap();
}

/// A county of 120 ordinary recipients in 60 households and one planted anomaly per rule.
/// Returns the expected (rule, name) pairs.
async fn generate(app: &TestApp) -> (County, BTreeSet<(String, String)>) {
    let store = app.state.store();
    let clerk = store.find_staff_by_username("clerk2").await.unwrap().unwrap().id;
    let elderly = programme(store, "高龄补贴", "person", 60_000).await;
    let rural = programme(store, "农村低保", "household", 200_000).await;
    let urban = programme(store, "城市低保", "household", 200_000).await;
    let farmland = programme(store, "耕地地力保护补贴", "mu", 9_500).await;
    store
        .set_programme_screening(
            elderly,
            &ScreeningSettings { excludes_payroll: true, min_age: Some(80), ..ScreeningSettings::default() },
        )
        .await
        .unwrap();
    let dibao = ScreeningSettings { discretionary: true, asset_test: true, ..ScreeningSettings::default() };
    store.set_programme_screening(rural, &dibao).await.unwrap();
    store.set_programme_screening(urban, &dibao).await.unwrap();
    store.add_exclusive_pair(rural, urban).await.unwrap();
    let county = County { programmes: [elderly, rural, urban, farmland], clerk };

    // Ordinary people: the old receive 高龄补贴, everyone farms, every tenth household gets 农村低保.
    let old: Vec<(String, String)> = (0..60).map(|i| (format!("老人{i}"), id("19400101", i))).collect();
    let young: Vec<(String, String)> = (0..60).map(|i| (format!("村民{i}"), id("19700101", i))).collect();
    let mut households = Vec::new();
    for i in 0..60 {
        households.push(format!("H{i},{},{},{VILLAGE},", old[i].0, old[i].1));
        households.push(format!("H{i},{},{},{VILLAGE},", young[i].0, young[i].1));
    }
    // Planted people.
    let dead = id("19400101", 100);
    let died_during_period = id("19400101", 101);
    let payroll = id("19400101", 102);
    let too_young = id("19550101", 103);
    let above_standard = id("19400101", 104);
    let misnamed = id("19700101", 105);
    let cadre_kin = id("19700101", 106);
    let both_dibao = id("19700101", 107);
    let car_owner = id("19700101", 108);
    let twice = id("19700101", 109);
    let (shared_a, shared_b) = (id("19700101", 110), id("19700101", 111));
    let unpublicised = id("19700101", 112);
    let (crowd_a, crowd_b) = (id("19700101", 113), id("19700101", 114));
    let not_multiple = id("19700101", 115);
    let mut invalid = id("19700101", 116);
    let last = invalid.pop().unwrap();
    invalid.push(if last == '1' { '2' } else { '1' });
    for (name, number, household) in [
        ("黄老汉", &died_during_period, "P1"),
        ("公职老人", &payroll, "P2"),
        ("改名前", &misnamed, "P3"),
        ("甲户", &shared_a, "P4"),
        ("乙户", &shared_b, "P5"),
    ] {
        households.push(format!("{household},{name},{number},{VILLAGE},"));
    }
    households.push(format!("P6,多领甲,{crowd_a},{VILLAGE},1"));
    households.push(format!("P6,多领乙,{crowd_b},{VILLAGE},"));
    import(app, "households", &csv("户号,姓名,身份证号,村代码,人口数", &households)).await;
    import(
        app,
        "deaths",
        &csv(
            "姓名,身份证号,死亡日期",
            &[format!("死者,{dead},2024-06-01"), format!("黄老汉,{died_during_period},2025-03-01")],
        ),
    )
    .await;
    import(app, "payroll", &csv("姓名,身份证号,工作单位", &[format!("公职老人,{payroll},县财政局")])).await;
    import(
        app,
        "cadres",
        &csv(
            "姓名,身份证号,村代码,关系,干部姓名",
            &[
                format!("干部亲属,{cadre_kin},{VILLAGE},配偶,村主任王某"),
                format!("外村亲属,{car_owner},{FOREIGN},子女,外村干部"),
            ],
        ),
    )
    .await;
    import(
        app,
        "vehicles",
        &csv("姓名,身份证号,车辆类型,登记日期", &[format!("有车户,{car_owner},小型轿车,2023-05-01")]),
    )
    .await;

    // 高龄补贴 (proposed): ordinary old people plus rules 1, 2, 8, 9 and a near miss for rule 1.
    let mut lines: Vec<Line<'_>> = old.iter().map(|(n, i)| Line(n, i.clone(), 60_000, None)).collect();
    lines.push(Line("死者", dead.clone(), 60_000, None));
    lines.push(Line("黄老汉", died_during_period.clone(), 60_000, None));
    lines.push(Line("公职老人", payroll.clone(), 60_000, None));
    lines.push(Line("年轻人", too_young.clone(), 60_000, None));
    lines.push(Line("超标准", above_standard.clone(), 60_001, None));
    publish(app, &county, (elderly, VILLAGE, "proposed"), None, &lines).await;

    // 农村低保 and 城市低保: rules 3, 5, 11, with a cadre relative of another village as near miss.
    let rural_lines = [
        Line("干部亲属", cadre_kin.clone(), 200_000, None),
        Line("两保户", both_dibao.clone(), 200_000, None),
        Line("有车户", car_owner.clone(), 200_000, None),
        Line(&young[0].0, young[0].1.clone(), 200_000, None),
    ];
    publish(app, &county, (rural, VILLAGE, "proposed"), None, &rural_lines).await;
    publish(app, &county, (urban, VILLAGE, "proposed"), None, &[Line("两保户", both_dibao.clone(), 200_000, None)])
        .await;

    // 耕地地力保护补贴: proposed and paid in the village (rules 6, 7, 10, 12 and a wrong amount per
    // mu), and the same person in the foreign village too (rule 4).
    let mut farm: Vec<Line<'_>> = young.iter().map(|(n, i)| Line(n, i.clone(), 9_500 * 12, None)).collect();
    farm.push(Line("多领甲", crowd_a.clone(), 9_500 * 3, None));
    farm.push(Line("多领乙", crowd_b.clone(), 9_500 * 3, None));
    farm.push(Line("重复领", twice.clone(), 9_500 * 5, None));
    farm.push(Line("不整亩", not_multiple.clone(), 9_500 * 5 + 100, None));
    farm.push(Line("坏号", invalid.clone(), 9_500, None));
    farm.push(Line("改名后", misnamed.clone(), 9_500, None));
    farm.push(Line("甲户", shared_a.clone(), 9_500, Some("6228480402564890001".into())));
    farm.push(Line("乙户", shared_b.clone(), 9_500, Some("6228480402564890001".into())));
    let proposed = publish(app, &county, (farmland, VILLAGE, "proposed"), None, &farm).await;
    publish(app, &county, (farmland, FOREIGN, "proposed"), None, &[Line("重复领", twice.clone(), 9_500 * 5, None)])
        .await;
    let mut paid: Vec<Line<'_>> = young.iter().take(10).map(|(n, i)| Line(n, i.clone(), 9_500 * 12, None)).collect();
    paid.push(Line("未公示", unpublicised.clone(), 9_500, None));
    publish(app, &county, (farmland, VILLAGE, "paid"), Some(proposed), &paid).await;

    let expected: BTreeSet<(String, String)> = [
        ("dead_payee", "死者"),
        ("public_payroll", "公职老人"),
        ("cadre_relative", "干部亲属"),
        ("duplicate_payment", "重复领"),
        ("duplicate_payment", "重复领"),
        ("exclusive_programmes", "两保户"),
        ("shared_account", "甲户"),
        ("shared_account", "乙户"),
        ("identity_mismatch", "坏号"),
        ("identity_mismatch", "改名后"),
        ("age_out_of_range", "年轻人"),
        ("amount_off_standard", "超标准"),
        ("amount_off_standard", "不整亩"),
        ("not_publicised", "未公示"),
        ("asset_test", "有车户"),
        ("household_overcount", "多领甲"),
        ("household_overcount", "多领乙"),
    ]
    .iter()
    .map(|(r, n)| ((*r).to_owned(), (*n).to_owned()))
    .collect();
    (county, expected)
}

async fn current_hits(store: &Store) -> Vec<xiaowei_store::ScreeningHit> {
    let filter = HitFilter { within: String::new(), ..HitFilter::default() };
    store.screening_hits(&filter, 1000, 0).await.unwrap()
}

both_backends!(a_restart_reads_the_registries_from_their_sealed_snapshot, |app: TestApp| async move {
    use xiaowei_server::state::registries::RegistryCache;
    generate(&app).await;
    let (store, cipher) = (app.state.store(), app.state.cipher());
    let raw = sqlx::AnyPool::connect(&app.database_url).await.unwrap();
    let first = xiaowei_server::app::screening::run(&app.state, None, 100).await.unwrap();
    app.state.registries().saved().await;
    let loaded = app.state.registries().get(store, cipher).await.unwrap();
    assert!(loaded.records() > 0);
    let parts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM registry_snapshots").fetch_one(&raw).await.unwrap();
    assert_eq!(parts, 1, "stored once the first load read the rows");

    // A snapshot that does not open is passed over for the rows (and stored again).
    sqlx::query("UPDATE registry_snapshots SET data = $1").bind(vec![1u8, 2, 3]).execute(&raw).await.unwrap();
    let fallen_back = RegistryCache::default();
    assert!(fallen_back.get(store, cipher).await.unwrap().all() == loaded.all());
    fallen_back.store_pending(store, cipher);
    fallen_back.saved().await;

    // A server started again reads the snapshot, not the rows: rows removed behind the store's
    // back (no import, so no new version) do not change what it reads.
    sqlx::query("DELETE FROM registry_records").execute(&raw).await.unwrap();
    let restarted = RegistryCache::default();
    assert!(restarted.get(store, cipher).await.unwrap().all() == loaded.all());

    // An import drops the snapshot: the next load reads the rows as they now are.
    let tag: String = sqlx::query_scalar("SELECT tag FROM registry_snapshots").fetch_one(&raw).await.unwrap();
    import(&app, "deaths", &csv("姓名,身份证号,死亡日期", &[format!("某人,{},2020-01-01", id("19300101", 1))])).await;
    let parts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM registry_snapshots WHERE tag = $1")
        .bind(&tag)
        .fetch_one(&raw)
        .await
        .unwrap();
    assert_eq!(parts, 0);
    assert_eq!(RegistryCache::default().get(store, cipher).await.unwrap().records(), 1);
    assert_eq!(first.summary.new_hits, 18);

    // A key rotation begun before this server saw the new key: nothing sealed under the old
    // key is kept. (First the import's background re-screen stores its snapshot; it is deleted
    // so that the load below reads the rows.)
    let count = || async {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM registry_snapshots").fetch_one(&raw).await.unwrap()
    };
    for _ in 0..100 {
        if count().await > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    app.state.registries().saved().await;
    sqlx::query("DELETE FROM registry_snapshots").execute(&raw).await.unwrap();
    let after_import = RegistryCache::default();
    assert_eq!(after_import.get(store, cipher).await.unwrap().records(), 1);
    store.begin_pii_rotation(&cipher.key_id(), "next-key", 400).await.unwrap();
    after_import.store_pending(store, cipher);
    after_import.saved().await;
    assert_eq!(count().await, 0);
});

both_backends!(a_generated_county_yields_exactly_the_planted_hits, |app: TestApp| async move {
    let (county, expected) = generate(&app).await;
    let store = app.state.store();
    let outcome = xiaowei_server::app::screening::run(&app.state, None, 100).await.unwrap();
    let hits = current_hits(store).await;
    let found: BTreeSet<(String, String)> = hits.iter().map(|h| (h.rule.as_str().to_owned(), h.name.clone())).collect();
    assert_eq!(found, expected);
    // Rules 4, 5, 6 and 12 flag every entry involved.
    assert_eq!(hits.len(), 18, "{:?}", hits.iter().map(|h| (&h.rule, &h.name)).collect::<Vec<_>>());
    assert_eq!(outcome.summary.new_hits, 18);
    let dead = hits.iter().find(|h| h.rule == xiaowei_core::screening::Rule::DeadPayee).unwrap();
    let evidence = xiaowei_server::app::screening::evidence_of(&dead.evidence);
    assert!(evidence[0].text.contains("2024-06-01") && evidence[0].record.is_some(), "{evidence:?}");
    assert!(hits.iter().all(|h| !h.evidence.contains("19400101")), "evidence never carries a full ID");

    // Every rule fired once the county is planted: the twelve are all covered.
    let rules: BTreeSet<&str> = hits.iter().map(|h| h.rule.as_str()).collect();
    assert_eq!(rules.len(), 12);

    // Each roster's incremental run, reading only the entries related to it, finds exactly what
    // the full run finds in that roster: the narrowed load misses nothing a rule compares.
    let full = xiaowei_server::app::screening::load(&app.state, None).await.unwrap();
    let roster_of: HashMap<i64, i64> = full.entries.iter().map(|e| (e.id, e.roster_id)).collect();
    let everything = xiaowei_core::screening::screen(&full.context, &full.entries, None);
    let rosters: BTreeSet<i64> = roster_of.values().copied().collect();
    for roster in rosters {
        let scoped = xiaowei_server::app::screening::load(&app.state, Some(&[roster])).await.unwrap();
        assert!(scoped.entries.len() < full.entries.len(), "roster {roster} reads only related entries");
        let narrowed =
            xiaowei_core::screening::screen(&scoped.context, &scoped.entries, Some(&HashSet::from([roster])));
        let expected: Vec<_> = everything.iter().filter(|h| roster_of[&h.entry] == roster).cloned().collect();
        assert_eq!(narrowed, expected, "roster {roster}");
    }

    // A re-screen neither duplicates nor resets; a death record removed clears its hit.
    let first = hits.iter().find(|h| h.rule == xiaowei_core::screening::Rule::PublicPayroll).unwrap().id;
    let look = xiaowei_core::screening::check_handling(
        xiaowei_core::screening::HitStatus::New,
        xiaowei_core::screening::HitStatus::Verifying,
        "",
    )
    .unwrap();
    store.handle_screening_hit(first, look, "", county.clerk, "纪委", 101).await.unwrap();
    let again = xiaowei_server::app::screening::run(&app.state, None, 200).await.unwrap();
    assert_eq!((again.summary.hits, again.summary.new_hits, again.summary.cleared), (18, 0, 0));
    assert_eq!(store.find_screening_hit(first).await.unwrap().unwrap().status.as_str(), "verifying");
    let other_death = format!("某人,{},2020-01-01", id("19300101", 1));
    import(&app, "deaths", &csv("姓名,身份证号,死亡日期", &[other_death])).await;
    let hits = current_hits(store).await;
    assert_eq!(hits.len(), 17);
    assert!(!hits.iter().any(|h| h.rule == xiaowei_core::screening::Rule::DeadPayee));

    // An incremental run over one roster sees hits of that roster only.
    let roster = hits.iter().find(|h| h.rule.as_str() == "asset_test").unwrap().roster_id;
    let incremental = xiaowei_server::app::screening::run(&app.state, Some(&[roster]), 300).await.unwrap();
    assert_eq!(incremental.hits.len(), 3, "干部亲属, 两保户 and 有车户 in 农村低保");
    assert_eq!(county.programmes.len(), 4);

    // 政策找人: an old person registered but not paid 高龄补贴 this year.
    import(
        &app,
        "households",
        &csv(
            "户号,姓名,身份证号,村代码",
            &[
                format!("H0,老人0,{},{VILLAGE}", id("19400101", 0)),
                format!("H99,漏保老人,{},{VILLAGE}", id("19350101", 7)),
            ],
        ),
    )
    .await;
    let leads = xiaowei_server::app::screening::refresh_outreach(&app.state, 2025, 400).await.unwrap();
    assert_eq!(leads, 1);
    let stored = store.outreach_leads("620922", 10, 0).await.unwrap();
    assert_eq!(stored[0].name, "漏保老人");
});

both_backends!(the_six_hourly_pass_screens_and_finds_people_from_one_load, |app: TestApp| async move {
    generate(&app).await;
    let old = format!("H99,漏保老人,{},{VILLAGE}", id("19350101", 7));
    import(
        &app,
        "households",
        &csv("户号,姓名,身份证号,村代码", &[format!("H0,老人0,{},{VILLAGE}", id("19400101", 0)), old]),
    )
    .await;
    let store = app.state.store();
    // 2025-06-01 12:00 in Shanghai.
    let now = 1_748_750_400;
    // The re-screen and 政策找人 each loading every entry, as they did apart.
    let apart = xiaowei_server::app::screening::run(&app.state, None, now).await.unwrap();
    let leads = xiaowei_server::app::screening::refresh_outreach(&app.state, 2025, now).await.unwrap();
    let stored_leads = store.outreach_leads("", 100, 0).await.unwrap();
    let stored_hits = current_hits(store).await;

    let pass = xiaowei_server::app::screening::full_pass(&app.state, now + 60).await.unwrap();
    assert_eq!(pass.screening.hits, apart.hits);
    assert_eq!(pass.screening.entries, apart.entries);
    let summary = pass.screening.summary;
    assert_eq!((summary.hits, summary.new_hits, summary.cleared), (apart.summary.hits, 0, 0));
    assert_eq!((pass.leads, leads), (1, 1));
    assert_eq!(store.outreach_leads("", 100, 0).await.unwrap(), stored_leads);
    let again = current_hits(store).await;
    assert_eq!(
        again.iter().map(|h| (h.id, h.rule, h.entry_id)).collect::<Vec<_>>(),
        stored_hits.iter().map(|h| (h.id, h.rule, h.entry_id)).collect::<Vec<_>>()
    );
    assert!(!again.is_empty());
    assert!(pass.screening.steps.outreach > std::time::Duration::ZERO);
});

both_backends!(an_import_by_another_server_is_seen_by_the_next_run, |app: TestApp| async move {
    generate(&app).await;
    let store = app.state.store();
    let dead_payees = |hits: &[xiaowei_store::ScreeningHit]| {
        hits.iter()
            .filter(|h| h.rule == xiaowei_core::screening::Rule::DeadPayee)
            .map(|h| h.name.clone())
            .collect::<BTreeSet<_>>()
    };
    xiaowei_server::app::screening::run(&app.state, None, 100).await.unwrap();
    assert_eq!(dead_payees(&current_hits(store).await), BTreeSet::from(["死者".to_owned()]));

    // Another server sharing the database amends the deaths registry: straight into the store,
    // past this server's registry cache.
    let bytes = csv("姓名,身份证号,死亡日期", &[format!("老人0,{},2020-01-01", id("19400101", 0))]);
    let check =
        xiaowei_server::app::screening::check_file(xiaowei_core::registry::RegistryKind::Deaths, &bytes).unwrap();
    let records: Vec<_> =
        check.lines.iter().map(|l| xiaowei_server::app::screening::seal_record(app.state.cipher(), l)).collect();
    store.import_registry("deaths", true, &records, "另一台服务器.csv", None, "测试", 150).await.unwrap();

    let again = xiaowei_server::app::screening::run(&app.state, None, 200).await.unwrap();
    assert_eq!(again.summary.new_hits, 1);
    assert_eq!(dead_payees(&current_hits(store).await), BTreeSet::from(["死者".to_owned(), "老人0".to_owned()]));
});

both_backends!(the_commission_handles_a_hit_and_the_counts_follow, |app: TestApp| async move {
    generate(&app).await;
    let store = app.state.store();
    xiaowei_server::app::screening::run(&app.state, None, 100).await.unwrap();
    let supervisor = app.login_as(Role::Supervisor).await;
    let list = supervisor.get(app.url("/staff/screening")).send().await.unwrap().text().await.unwrap();
    assert!(list.contains("共 17 条"), "{list}");
    assert!(list.contains("死亡冒领"));
    let hit =
        current_hits(store).await.into_iter().find(|h| h.rule == xiaowei_core::screening::Rule::DeadPayee).unwrap();
    let path = format!("/staff/screening/{}", hit.id);
    let page = supervisor.get(app.url(&path)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("2024-06-01") && page.contains(&hit.id_masked));
    let key = hidden(&page, "form_key").unwrap();
    let handle = format!("{path}/handle");
    let csrf = app.csrf(&supervisor, "/staff/login").await;
    let post = |key: String, fields: Vec<(&'static str, &'static str)>| {
        let mut form: Vec<(&str, String)> = vec![("csrf", csrf.clone()), ("form_key", key)];
        form.extend(fields.into_iter().map(|(k, v)| (k, v.to_owned())));
        supervisor.post(app.url(&handle)).form(&form).send()
    };
    let verify = vec![("from", "new"), ("to", "verifying")];
    assert_eq!(post(key.clone(), verify.clone()).await.unwrap().status(), 303);
    assert_eq!(post(key, verify).await.unwrap().status(), 303, "a double submit acts once");
    let page = supervisor.get(app.url(&path)).send().await.unwrap().text().await.unwrap();
    let key = hidden(&page, "form_key").unwrap();
    let bare = post(key.clone(), vec![("from", "verifying"), ("to", "confirmed")]).await.unwrap();
    assert_eq!(bare.status(), 400, "a conclusion needs a note");
    let fields = vec![("from", "verifying"), ("to", "confirmed"), ("note", "经核实已冒领，已追回")];
    assert_eq!(post(key, fields).await.unwrap().status(), 303);
    let stored = store.find_screening_hit(hit.id).await.unwrap().unwrap();
    assert_eq!((stored.status.as_str(), stored.note.as_deref()), ("confirmed", Some("经核实已冒领，已追回")));
    assert_eq!(store.hit_events(hit.id).await.unwrap().len(), 2);
    let counts = store.screening_counts("620922").await.unwrap();
    let confirmed: i64 = counts.iter().filter(|c| c.status.as_str() == "confirmed").map(|c| c.hits).sum();
    let open: i64 = counts.iter().filter(|c| c.status.as_str() == "new").map(|c| c.hits).sum();
    assert_eq!((confirmed, open), (1, 16), "one confirmed; the foreign county's hit is outside 620922");
    let page = supervisor.get(app.url(&path)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("已查实") && page.contains("经核实已冒领"));

    // The full number is shown only on request, and the view is audited.
    let revealed = supervisor.get(app.url(&format!("{path}?reveal=1"))).send().await.unwrap().text().await.unwrap();
    assert!(revealed.contains(&id("19400101", 100)));
    let audit = store.audit_entries("620922", 50, 0).await.unwrap();
    assert!(audit.iter().any(|a| a.action == "pii.view" && a.target == format!("screening_hit:{}", hit.id)));

    // A clerk never sees hits.
    let clerk = app.login_as(Role::VillageClerk).await;
    assert_eq!(clerk.get(app.url(&path)).send().await.unwrap().status(), 403);
});

both_backends!(the_registry_page_reports_every_bad_row_and_stores_nothing, |app: TestApp| async move {
    let admin = app.login_as(Role::CountyAdmin).await;
    let page = admin.get(app.url("/staff/registries")).send().await.unwrap().text().await.unwrap();
    let key = hidden(&page, "form_key").unwrap();
    let csrf = app.csrf(&admin, "/staff/registries").await;
    let bad =
        csv("姓名,身份证号,死亡日期", &["张三,123,2024-01-01".into(), format!("李四,{},昨天", id("19400101", 1))]);
    let send = |bytes: Vec<u8>, mode: &'static str, key: String| {
        let form = reqwest::multipart::Form::new()
            .text("kind", "deaths")
            .text("mode", mode)
            .text("confirm", "1")
            .text("form_key", key)
            .part("file", reqwest::multipart::Part::bytes(bytes).file_name("deaths.csv"));
        admin.post(app.url(&format!("/staff/registries?csrf={csrf}"))).multipart(form).send()
    };
    let html = send(bad, "replace", key.clone()).await.unwrap().text().await.unwrap();
    assert!(html.contains("第2行 身份证号") && html.contains("第3行 日期"), "{html}");
    assert!(app.state.store().registry_sizes().await.unwrap().is_empty());
    let good = csv("姓名,身份证号,死亡日期", &[format!("李四,{},2024-01-01", id("19400101", 1))]);
    let r = send(good, "replace", key).await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(app.state.store().registry_sizes().await.unwrap(), [("deaths".to_owned(), 1)]);
    let audit = app.state.store().audit_entries("620922", 50, 0).await.unwrap();
    assert!(audit.iter().any(|a| a.action == "registry.import"));
    // The import answers at once; the full re-screen runs in the background and is listed.
    let mut runs = Vec::new();
    for _ in 0..200 {
        runs = app.state.store().screening_runs(10).await.unwrap();
        if !runs.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(runs.iter().map(|r| r.scope.as_str()).collect::<Vec<_>>(), ["full"]);
    let page = admin.get(app.url("/staff/registries")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("最近比对") && page.contains("<td>全面</td>"), "{page}");
});

both_backends!(publishing_a_roster_screens_it, |app: TestApp| async move {
    let dead = crate::helpers::person_id(42);
    import(&app, "deaths", &csv("姓名,身份证号,死亡日期", &[format!("王五,{dead},2015-03-01")])).await;
    let clerk = app.login_as(Role::VillageClerk).await;
    let reviewer = app.login_as(Role::TownshipReviewer).await;
    let fields = vec![
        ("programme_id", app.programme().await.to_string()),
        ("org_code", VILLAGE.to_owned()),
        ("year", "2024".to_owned()),
        ("phase", "proposed".to_owned()),
    ];
    let file = crate::helpers::roster_csv(&[("王五", dead, "600"), ("赵六", crate::helpers::person_id(43), "600")]);
    let roster = app.import_roster(&clerk, &fields, file).await;
    assert!(app.state.store().hits_of_roster(roster).await.unwrap().is_empty(), "a draft is not screened");
    app.publish(&clerk, &reviewer, roster).await;
    // The screening runs in the background after the approval.
    let mut hits = Vec::new();
    for _ in 0..100 {
        hits = app.state.store().hits_of_roster(roster).await.unwrap();
        if !hits.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(hits.iter().map(|h| (h.rule.as_str(), h.name.as_str())).collect::<Vec<_>>(), [("dead_payee", "王五")]);
});

both_backends!(the_county_sets_a_programmes_screening_rules_and_exclusive_pairs, |app: TestApp| async move {
    let store = app.state.store();
    let first = programme(store, "城市低保", "person", 50_000).await;
    let second = programme(store, "农村低保", "person", 40_000).await;
    let admin = app.login_as(Role::CountyAdmin).await;
    let path = format!("/staff/registries/programmes/{first}");
    let saved = app
        .post_form(&admin, &path, &[("excludes_payroll", "1"), ("asset_test", "1"), ("min_age", "60"), ("max_age", "")])
        .await;
    assert_eq!(saved.status(), 303);
    let rules = store.programme_screening().await.unwrap().into_iter().find(|p| p.id == first).unwrap();
    assert_eq!((rules.excludes_payroll, rules.discretionary, rules.asset_test), (true, false, true));
    assert_eq!((rules.min_age, rules.max_age), (Some(60), None));

    // Ages out of order are refused with the field named, and nothing changes.
    let refused = app.post_form(&admin, &path, &[("min_age", "80"), ("max_age", "70")]).await;
    assert_eq!(refused.status(), 400);
    assert!(refused.text().await.unwrap().contains("最高年龄"));
    let unchanged = store.programme_screening().await.unwrap().into_iter().find(|p| p.id == first).unwrap();
    assert_eq!(unchanged.min_age, Some(60));

    let (a, b) = (first.to_string(), second.to_string());
    let same = app.post_form(&admin, "/staff/registries/exclusive", &[("a", &a), ("b", &a)]).await;
    assert_eq!(same.status(), 400, "a programme is not exclusive with itself");
    let paired = app.post_form(&admin, "/staff/registries/exclusive", &[("a", &b), ("b", &a)]).await;
    assert_eq!(paired.status(), 303);
    assert_eq!(store.exclusive_pairs().await.unwrap(), [(first, second)]);
    let page = admin.get(app.url("/staff/registries")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("城市低保 与 农村低保") && page.contains("60周岁以上"), "{page}");
    let removed = app.post_form(&admin, "/staff/registries/exclusive/remove", &[("a", &a), ("b", &b)]).await;
    assert_eq!(removed.status(), 303);
    assert!(store.exclusive_pairs().await.unwrap().is_empty());
    let audit = store.audit_entries("620922", 50, 0).await.unwrap();
    for action in ["screening.settings", "screening.exclusive_add", "screening.exclusive_remove"] {
        assert!(audit.iter().any(|e| e.action == action), "{action} is audited");
    }
    // Nobody outside the county level changes them.
    let township = app.login_as(Role::TownshipAdmin).await;
    assert_eq!(app.post_form(&township, &path, &[("min_age", "1")]).await.status(), 403);
});
