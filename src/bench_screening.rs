//! `xiaowei bench screening`: 大数据比对 at county scale, end to end on SQLite. Generates
//! registries of N people (household register for everyone; deaths, payroll, cadres, vehicles
//! and businesses for a share of them) sealed as an import seals them, and a county history of F
//! roster entries (100 villages × 6 programmes × 5 years, each a published proposed roster and
//! the paid roster settling it, with a planted share of anomalies). Then stores one new published
//! roster of M entries (a supplementary batch of the last year, or with `--same-period` a roster
//! of that year's own period) and times its incremental screening (load, rules, recording the
//! hits) the way a publication triggers it: first cold (the registries read and indexed), then
//! warm (the registries kept in memory, only their version checked). Last, times a full county
//! re-screen of everything stored, end to end, and then its load and its rules apart.

use std::time::Instant;

use anyhow::Result;
use clap::Args;
use jiff::civil::Date;
use xiaowei_core::PiiCipher;
use xiaowei_core::registry::RegistryLine;
use xiaowei_core::screening;
use xiaowei_server::app::rosters::seal_line;
use xiaowei_store::{NewRoster, ScreeningSettings};

use crate::bench::{
    FIRST_YEAR, PROGRAMMES, VillageRosters, YEARS, fixture, line, open_temp, person, publish, store_generated, unix,
    village_code,
};

#[derive(Args)]
pub struct ScreeningArgs {
    /// People in the registries (everyone is in the household register)
    #[arg(long, default_value_t = 1_000_000)]
    people: u64,
    /// Entries of the new roster screened incrementally
    #[arg(long, default_value_t = 100_000)]
    entries: usize,
    /// Entries of the county's stored history (proposed and paid rosters); 0 stores none
    #[arg(long, default_value_t = 10_000_000)]
    full_entries: u64,
    /// Publish the new roster for the history's own period (2025年度) rather than as a
    /// supplementary batch (2025年度（补发）): every village's roster of that period is in its batch
    #[arg(long)]
    same_period: bool,
}

const VILLAGES: usize = 100;

fn secs(t: Instant) -> f64 {
    t.elapsed().as_secs_f64()
}

/// The county's history in village `v`: for each programme and year a proposed roster of `list`
/// people and the paid roster settling it with the same people. Programme `p`'s list is a
/// distinct share of the village's `residents` people (person `v + 100·j`), except that the first
/// 1 % of the second programme's list are the first programme's first people: those are paid
/// by both programmes of the mutually exclusive pair.
fn seal_history(cipher: &PiiCipher, v: usize, list: usize, residents: usize) -> Result<VillageRosters> {
    let planted = list / 100;
    let mut rosters = Vec::with_capacity(PROGRAMMES * YEARS);
    for p in 0..PROGRAMMES {
        let people = (0..list)
            .map(|s| {
                let slot = if p == 1 && s < planted { s } else { p * list + s };
                person((v + VILLAGES * (slot % residents.max(1))) as u64)
            })
            .collect::<Result<Vec<_>>>()?;
        for year in 0..YEARS {
            let sealed: Vec<_> =
                people.iter().enumerate().map(|(s, who)| seal_line(cipher, &line(s + 2, who, s, 60_000))).collect();
            rosters.push((p, year, sealed.clone(), sealed));
        }
    }
    Ok(VillageRosters { village: v, rosters })
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
            kinds[slot].1.push(xiaowei_server::app::screening::seal_record(cipher, &line));
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

    if args.full_entries > 0 {
        let t = Instant::now();
        let rosters = (VILLAGES * PROGRAMMES * YEARS * 2) as u64;
        let list = usize::try_from(args.full_entries.div_ceil(rosters))?;
        let residents = usize::try_from(args.people)? / VILLAGES;
        let stored = store_generated(&state, &fx, VILLAGES, args.full_entries, move |cipher: &PiiCipher, v| {
            seal_history(cipher, v, list, residents)
        })
        .await?;
        println!(
            "历史花名册：{stored} 条（{VILLAGES} 村 × {PROGRAMMES} 项 × {YEARS} 年，{FIRST_YEAR} 年起，拟发放与已发放各一份，每份 {list} 人），生成、加密并公开 {:.1} s",
            secs(t)
        );
    }

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
        period: if args.same_period { "2025年度" } else { "2025年度（补发）" }.into(),
        phase: xiaowei_core::subsidy::Phase::Proposed,
        settles_id: None,
        supersedes_id: None,
        correction_reason: None,
        paid_on: None,
        created_by: fx.staff,
    };
    let roster_id = store.create_roster(&roster, &entries, now).await?;
    publish(store, roster_id, fx.staff, Some((Date::constant(2025, 6, 1), Date::constant(2025, 6, 7))), now).await?;
    println!("新花名册：{} 条，生成、加密并公开 {:.1} s", args.entries, secs(t));

    let t = Instant::now();
    let cold = xiaowei_server::app::screening::run(&state, Some(&[roster_id]), now + 1).await?;
    let cold_s = secs(t);
    println!(
        "增量比对（首次，冷启动：读取并索引比对库）{} 条新记录 × {} 人的比对库：全程 {cold_s:.2} s，线索 {} 条",
        cold.entries, args.people, cold.summary.hits
    );
    let t = Instant::now();
    let warm = xiaowei_server::app::screening::run(&state, Some(&[roster_id]), now + 2).await?;
    let warm_s = secs(t);
    println!(
        "增量比对（再次，比对库已在内存，仅核对版本）{} 条新记录：全程 {warm_s:.2} s，线索 {} 条",
        warm.entries, warm.summary.hits
    );
    let t = Instant::now();
    let loaded = xiaowei_server::app::screening::load(&state, Some(&[roster_id])).await?;
    let load_s = secs(t);
    let t = Instant::now();
    let scope = [roster_id].into_iter().collect();
    let rules_hits = screening::screen(&loaded.context, &loaded.entries, Some(&scope)).len();
    let rules_s = secs(t);
    println!(
        "其中：读取相关记录 {} 条并解密 {load_s:.2} s，规则 {rules_s:.2} s 得线索 {rules_hits} 条",
        loaded.entries.len()
    );
    drop(loaded);

    let t = Instant::now();
    let full = xiaowei_server::app::screening::run(&state, None, now + 3).await?;
    let full_s = secs(t);
    println!(
        "全县重比对 {} 条 × {} 人的比对库：全程 {full_s:.1} s（读取、解密、规则、记录），线索 {} 条，新增 {} 条",
        full.entries, args.people, full.summary.hits, full.summary.new_hits
    );
    let t = Instant::now();
    let loaded = xiaowei_server::app::screening::load(&state, None).await?;
    let load_s = secs(t);
    let t = Instant::now();
    let rules_hits = screening::screen(&loaded.context, &loaded.entries, None).len();
    let rules_s = secs(t);
    println!("其中：读取并解密 {} 条 {load_s:.1} s，规则 {rules_s:.1} s 得线索 {rules_hits} 条", loaded.entries.len());
    store.close().await;
    Ok(())
}
