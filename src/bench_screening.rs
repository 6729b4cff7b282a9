//! `xiaowei bench screening`: 大数据比对 at county scale. Generates registries of N people
//! (household register for everyone; deaths, payroll, cadres, vehicles and businesses for a share
//! of them) sealed as an import seals them, stores one published roster of M entries, and times
//! the incremental screening of that roster against everything (load, rules, recording the hits),
//! the way a publication triggers it: first cold (the registries read and indexed), then warm
//! (the registries kept in memory, only their version checked). Then it times the rules alone
//! over a full county re-screen of F entries built in memory over the same registries (loading
//! 10⁷ entries from the database and recording their hits are not part of that figure, and the
//! printout says so).

use std::time::Instant;

use anyhow::Result;
use clap::Args;
use jiff::civil::Date;
use xiaowei_core::registry::RegistryLine;
use xiaowei_core::screening::{self, Entry};
use xiaowei_core::subsidy::Phase;
use xiaowei_server::rosters::{ID_PURPOSE, seal_line};
use xiaowei_store::{NewRoster, ScreeningSettings};

use crate::bench::{fixture, line, open_temp, person, publish, unix, village_code};

#[derive(Args)]
pub struct ScreeningArgs {
    /// People in the registries (everyone is in the household register)
    #[arg(long, default_value_t = 1_000_000)]
    people: u64,
    /// Entries of the roster screened incrementally
    #[arg(long, default_value_t = 100_000)]
    entries: usize,
    /// Entries of the in-memory full re-screen; 0 skips it
    #[arg(long, default_value_t = 10_000_000)]
    full_entries: usize,
}

const VILLAGES: usize = 100;

fn secs(t: Instant) -> f64 {
    t.elapsed().as_secs_f64()
}

pub async fn screening(args: ScreeningArgs) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let state = open_temp(&dir).await?;
    let store = state.store();
    let cipher = state.cipher();
    let now = unix(Date::constant(2025, 6, 1))?;
    let fx = fixture(store, VILLAGES, now).await?;
    let settings = ScreeningSettings {
        excludes_payroll: true,
        discretionary: true,
        asset_test: true,
        min_age: Some(18),
        max_age: None,
    };
    store.set_programme_screening(fx.programmes[0], &settings).await?;
    store.add_exclusive_pair(fx.programmes[0], fx.programmes[1]).await?;

    let t = Instant::now();
    let mut kinds: Vec<(&str, Vec<xiaowei_store::NewRegistryRecord>)> = [
        ("households", Vec::new()),
        ("deaths", Vec::new()),
        ("payroll", Vec::new()),
        ("cadres", Vec::new()),
        ("vehicles", Vec::new()),
        ("businesses", Vec::new()),
    ]
    .into();
    for n in 0..args.people {
        let p = person(n)?;
        let village = village_code(usize::try_from(n)? % VILLAGES);
        let mut reg = |slot: usize, date: Option<Date>, relation: Option<&str>, detail: Option<&str>| {
            let line = RegistryLine {
                row: 1,
                name: p.name.clone(),
                resident_id: p.id.clone(),
                date,
                village: Some(village.clone()),
                household: Some(format!("H{}", n / 3)),
                members: None,
                relation: relation.map(Into::into),
                detail: detail.map(Into::into),
            };
            kinds[slot].1.push(xiaowei_server::screening::seal_record(cipher, &line));
        };
        reg(0, None, None, None);
        if n % 100 == 7 {
            reg(1, Some(Date::constant(2020, 5, 1)), None, None);
        }
        if n % 50 == 11 {
            reg(2, None, None, Some("县直单位"));
        }
        if n % 200 == 13 {
            reg(3, None, Some("配偶"), Some("村干部"));
        }
        if n % 10 == 3 {
            reg(4, Some(Date::constant(2022, 1, 1)), None, Some("小型轿车"));
        }
        if n % 33 == 5 {
            reg(5, None, Some("股东"), Some("样本公司"));
        }
    }
    let sealed = secs(t);
    let t = Instant::now();
    let mut total = 0;
    for (kind, records) in &kinds {
        total += records.len();
        store.import_registry(kind, false, records, "bench.csv", None, "基准测试", now).await?;
    }
    println!("比对库：{} 人，{total} 条记录（生成并加密 {sealed:.1} s，写入 {:.1} s）", args.people, secs(t));

    let t = Instant::now();
    let entries: Vec<_> = (0..args.entries)
        .map(|k| {
            let n = (k as u64).wrapping_mul(7) % args.people;
            person(n).map(|p| seal_line(cipher, &line(k + 1, &p, k, 60_000)))
        })
        .collect::<Result<_>>()?;
    let roster = NewRoster {
        programme_id: fx.programmes[0],
        org_code: village_code(0),
        year: 2025,
        period: "2025年度".into(),
        phase: "proposed".into(),
        settles_id: None,
        supersedes_id: None,
        correction_reason: None,
        paid_on: None,
        created_by: fx.staff,
    };
    let roster_id = store.create_roster(&roster, &entries, now).await?;
    publish(store, roster_id, fx.staff, Some((Date::constant(2025, 6, 1), Date::constant(2025, 6, 7))), now).await?;
    println!("花名册：{} 条，生成、加密并公开 {:.1} s", args.entries, secs(t));

    let t = Instant::now();
    let cold = xiaowei_server::screening::run(&state, Some(&[roster_id]), now + 1).await?;
    let cold_s = secs(t);
    println!(
        "增量比对（首次，冷启动：读取并索引比对库）{} 条花名册记录 × {} 人的比对库：全程 {cold_s:.2} s，线索 {} 条",
        cold.entries, args.people, cold.summary.hits
    );
    let t = Instant::now();
    let warm = xiaowei_server::screening::run(&state, Some(&[roster_id]), now + 2).await?;
    let warm_s = secs(t);
    println!(
        "增量比对（再次，比对库已在内存，仅核对版本）{} 条花名册记录：全程 {warm_s:.2} s，线索 {} 条",
        warm.entries, warm.summary.hits
    );
    let t = Instant::now();
    let loaded = xiaowei_server::screening::load(&state).await?;
    let load_s = secs(t);
    let t = Instant::now();
    let rules_hits = screening::screen(&loaded.context, &loaded.entries, None).len();
    let rules_s = secs(t);
    println!("其中：读取花名册并解密 {load_s:.2} s，规则 {rules_s:.2} s 得线索 {rules_hits} 条");

    if args.full_entries > 0 {
        let t = Instant::now();
        let people: Vec<(String, String, String, Option<Date>, String)> = (0..args.people)
            .map(|n| {
                person(n).map(|p| {
                    (
                        cipher.blind_index(ID_PURPOSE, p.id.expose()),
                        p.name,
                        p.id.masked(),
                        Some(p.id.birth_date()),
                        cipher.blind_index(xiaowei_server::rosters::ACCOUNT_PURPOSE, &p.account),
                    )
                })
            })
            .collect::<Result<_>>()?;
        let per_person = (args.full_entries as u64).div_ceil(args.people).max(1);
        let full: Vec<Entry> = (0..args.full_entries)
            .map(|k| {
                let n = k as u64 % args.people;
                let slot = k as u64 / args.people;
                let (idx, name, masked, birth, account) = &people[usize::try_from(n).unwrap_or(0)];
                let programme = fx.programmes[usize::try_from(slot % 6).unwrap_or(0)];
                Entry {
                    id: i64::try_from(k).unwrap_or(i64::MAX),
                    roster_id: i64::try_from(slot * 1_000 + n % 100).unwrap_or(0),
                    programme_id: programme,
                    village: village_code(usize::try_from(n).unwrap_or(0) % VILLAGES),
                    year: 2016 + i32::try_from(slot / 6).unwrap_or(0),
                    period: "年度".into(),
                    phase: Phase::Paid,
                    person: idx.clone(),
                    name: name.clone(),
                    masked_id: masked.clone(),
                    birth_date: *birth,
                    account: Some(account.clone()),
                    amount_fen: 60_000,
                    settles: None,
                    paid_on: None,
                }
            })
            .collect();
        println!("全县重比对：内存中生成 {} 条记录（每人约 {per_person} 条）{:.1} s", full.len(), secs(t));
        let t = Instant::now();
        let hits = screening::screen(&loaded.context, &full, None);
        let full_rules = secs(t);
        println!(
            "全县重比对 {} 条 × {} 人：规则 {full_rules:.1} s，线索 {} 条（仅规则；从数据库读取 10⁷ 条和记录线索未计入）",
            full.len(),
            args.people,
            hits.len()
        );
    }
    store.close().await;
    Ok(())
}
