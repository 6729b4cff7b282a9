//! `xiaowei bench screening`: 大数据比对 at county scale, end to end on SQLite. Generates (or
//! reuses, in `--data-dir`) registries of N people — everyone in the household register, three
//! households' worth of people to a household number per village, deaths, payroll, cadres,
//! vehicles and businesses for a share of them — sealed as an import seals them, and a county
//! history of F roster entries (100 villages × 6 programmes × 5 years, each a published proposed
//! roster and the paid roster settling it), every entry paid into its household's account. Then
//! publishes one new roster of M entries for the first programme and the history's own period
//! (2025年度), so the other villages' rosters of that period are in its batch, with planted
//! cross-roster anomalies; times its incremental screening the way a publication triggers it,
//! first after an import (every registry row read and indexed), cold after a restart (the
//! registries' sealed snapshot read and indexed) and warm (kept in memory, their version
//! checked), step by step with the hits per rule; then the six-hourly full pass (re-screen and 政策找人 from
//! one load). The new roster is withdrawn at the end, so a reused folder is screened afresh.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args;
use jiff::civil::Date;
use xiaowei_core::registry::RegistryLine;
use xiaowei_core::roster::RosterLine;
use xiaowei_core::screening::{Hit, Rule};
use xiaowei_core::subsidy::{self, RosterAction, RosterStatus};
use xiaowei_core::{Fen, PiiCipher};
use xiaowei_server::AppState;
use xiaowei_server::app::rosters::seal_line;
use xiaowei_server::app::screening::{Outcome, Steps};
use xiaowei_store::{NewProgramme, NewRoster, ScreeningSettings};

use crate::bench::{
    FIRST_YEAR, Fixture, PROGRAMMES, VillageRosters, YEARS, fixture, open_at, person, publish, store_generated, unix,
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
    /// Folder of the generated registries and history, reused by the next run with the same
    /// sizes (default: a temporary folder, removed at the end)
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

const VILLAGES: usize = 100;
const DONE: &str = "bench-screening.done";
const NEW_ROSTER: &str = "bench-screening.roster";

fn secs(t: Instant) -> f64 {
    t.elapsed().as_secs_f64()
}

/// The county's shape: people of village `v` are `v + 100·j` for `j` below `residents`; the
/// household register places `j` in household `j % households` of its village (three people
/// apart in `j`, so a household's members are on different programmes' lists); `list` people
/// are on each roster of the history.
#[derive(Clone, Copy)]
struct County {
    residents: usize,
    households: usize,
    list: usize,
}

impl County {
    fn new(people: u64, full_entries: u64) -> Result<Self> {
        let residents = (usize::try_from(people)? / VILLAGES).max(1);
        let rosters = (VILLAGES * PROGRAMMES * YEARS * 2) as u64;
        let list = usize::try_from(full_entries.div_ceil(rosters))?;
        Ok(Self { residents, households: (residents / 3).max(1), list })
    }

    fn person(v: usize, j: usize) -> u64 {
        (v + VILLAGES * j) as u64
    }

    fn household(&self, j: usize) -> usize {
        j % self.households
    }

    /// Planted: 1 household in 50 declares 1 member (人口数) while the register lists three, so
    /// two of its members paid by one programme for one period are one too many (rule 12).
    fn declares_one(h: usize) -> bool {
        h % 50 == 7
    }

    /// Planted: 1 household in 97 is paid into the account of the household before it (a
    /// relative's card), so that account pays two households (rule 6).
    fn borrows_account(h: usize) -> bool {
        h % 97 == 5
    }

    /// The account person `j` of village `v` is paid into: their household's (its first member's).
    fn account(&self, v: usize, j: usize) -> Result<String> {
        let h = self.household(j);
        let payer = if Self::borrows_account(h) { h - 1 } else { h };
        Ok(person(Self::person(v, payer))?.account)
    }

    /// A roster line for person `j` of village `v`, paid into their household's account.
    fn line(&self, row: usize, v: usize, j: usize) -> Result<RosterLine> {
        let p = person(Self::person(v, j))?;
        Ok(RosterLine {
            row,
            name: p.name,
            resident_id: p.id,
            amount: Fen::new(60_000).unwrap_or_default(),
            group: None,
            account: Some(self.account(v, j)?),
            note: None,
        })
    }

    /// Who is on the new roster's entry `k`, and what it plants. Entries go round the villages
    /// (`v = k % 100`); of every 100 in a village, one is on the first programme's 2025 list
    /// there (rule 4), one on its exclusive partner's (rule 5), one a household member of a
    /// first-programme recipient in a household declaring one member (rule 12), one a member of
    /// a household paid into another's account (rule 6); the others are people the history
    /// pays by other programmes (the village's last residents), paid into their household's
    /// account, as is everyone planted beyond the planted households. Different for up to 100
    /// entries per resident of a village.
    fn newcomer(&self, k: usize) -> (usize, usize) {
        let (v, i) = (k % VILLAGES, k / VILLAGES);
        let round = i / 100;
        let planted = self.list / 100;
        let j = match i % 100 {
            1 if round < self.list => round,
            2 if round < self.list - planted => self.list + planted + round,
            3 if round < self.list.saturating_sub(7).div_ceil(50) => 50 * round + 7 + self.households,
            4 if 97 * round + 5 < (PROGRAMMES * self.list).min(self.households) => 97 * round + 5 + self.households,
            _ => self.residents - 1 - i % self.residents,
        };
        (v, j % self.residents)
    }
}

/// The county's history in village `v`: for each programme and year a proposed roster of
/// `list` people and the paid roster settling it with the same people. Programme `p`'s list is
/// a distinct share of the village's residents (`j` from `p·list`), except that the first 1 %
/// of the second programme's list are the first programme's first people: those are paid by
/// both programmes of the mutually exclusive pair.
fn seal_history(cipher: &PiiCipher, county: County, v: usize) -> Result<VillageRosters> {
    let planted = county.list / 100;
    let mut rosters = Vec::with_capacity(PROGRAMMES * YEARS);
    for p in 0..PROGRAMMES {
        let lines = (0..county.list)
            .map(|s| {
                let slot = if p == 1 && s < planted { s } else { p * county.list + s };
                county.line(s + 2, v, slot % county.residents)
            })
            .collect::<Result<Vec<_>>>()?;
        for year in 0..YEARS {
            let sealed: Vec<_> = lines.iter().map(|l| seal_line(cipher, l)).collect();
            rosters.push((p, year, sealed.clone(), sealed));
        }
    }
    Ok(VillageRosters { village: v, rosters })
}

/// Generates the registries and the history in `state`'s empty database.
async fn generate(state: &AppState, args: &ScreeningArgs, county: County, now: i64) -> Result<Fixture> {
    let store = state.store();
    let cipher = state.cipher();
    let fx = fixture(store, VILLAGES, now).await?;
    let settings =
        ScreeningSettings { excludes_payroll: true, discretionary: true, asset_test: true, ..Default::default() };
    store.set_programme_screening(fx.programmes[0], &settings).await?;
    store.add_exclusive_pair(fx.programmes[0], fx.programmes[1]).await?;
    // 政策找人: an allowance from 80 that began in 2025 and has paid nobody yet.
    let aged = NewProgramme {
        name: "样本高龄补贴".into(),
        department_id: None,
        basis: "基准测试用，非真实政策".into(),
        unit: xiaowei_core::subsidy::Unit::Person,
        standard_fen: None,
        rule: "基准测试用".into(),
        recurring: true,
        from_year: Some(2025),
        to_year: None,
        publicity_days: 7,
        objection_reply_days: 5,
    };
    let aged = store.create_programme(&aged, now).await?;
    store.set_programme_screening(aged, &ScreeningSettings { min_age: Some(80), ..Default::default() }).await?;

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
        let v = usize::try_from(n)? % VILLAGES;
        let h = county.household(usize::try_from(n)? / VILLAGES);
        let village = village_code(v);
        let mut reg = |slot: usize, date: Option<Date>, relation: Option<&str>, detail: Option<&str>| {
            let line = RegistryLine {
                row: 1,
                name: p.name.clone(),
                resident_id: p.id.clone(),
                date,
                village: Some(village.clone()),
                household: Some(format!("H{v}-{h}")),
                members: (slot == 0 && County::declares_one(h)).then_some(1),
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
    println!(
        "比对库：{} 人，{} 户，{total} 条记录（生成并加密 {sealed:.1} s，写入 {:.1} s）",
        args.people,
        county.households * VILLAGES,
        secs(t)
    );
    if args.full_entries > 0 {
        let t = Instant::now();
        let stored = store_generated(state, &fx, VILLAGES, args.full_entries, move |c: &PiiCipher, v| {
            seal_history(c, county, v)
        })
        .await?;
        println!(
            "历史花名册：{stored} 条（{VILLAGES} 村 × {PROGRAMMES} 项 × {YEARS} 年，{FIRST_YEAR} 年起，拟发放与已发放各一份，每份 {} 人，\
             按户发到户主账户），生成、加密并公开 {:.1} s",
            county.list,
            secs(t)
        );
    }
    Ok(fx)
}

/// Opens the folder's database, generating it first unless it holds this size's data.
async fn prepare(dir: &Path, args: &ScreeningArgs, county: County, now: i64) -> Result<(AppState, Fixture)> {
    let wanted = format!("{} {}\n", args.people, args.full_entries);
    if std::fs::read_to_string(dir.join(DONE)).ok().as_deref() == Some(wanted.as_str()) {
        println!("沿用 {} 中已生成的比对库与历史花名册。", dir.display());
        let state = open_at(dir, None).await?;
        let staff = state.store().find_staff_by_username("bench").await?.context("缺少基准测试账户")?.id;
        let programmes =
            state.store().programme_screening().await?.into_iter().map(|p| p.id).take(PROGRAMMES).collect();
        return Ok((state, Fixture { staff, programmes }));
    }
    if dir.join("xiaowei.db").exists() {
        for name in ["xiaowei.db", "xiaowei.db-wal", "xiaowei.db-shm", DONE, NEW_ROSTER] {
            let _ = std::fs::remove_file(dir.join(name));
        }
    }
    std::fs::create_dir_all(dir).with_context(|| format!("无法创建 {}", dir.display()))?;
    let state = open_at(dir, None).await?;
    let fx = generate(&state, args, county, now).await?;
    std::fs::write(dir.join(DONE), wanted)?;
    Ok((state, fx))
}

/// Withdraws the new roster a run left published (a run withdraws its own at the end).
async fn withdraw_left(state: &AppState, dir: &Path, staff: i64, now: i64) -> Result<()> {
    let Some(id) = std::fs::read_to_string(dir.join(NEW_ROSTER)).ok().and_then(|t| t.trim().parse::<i64>().ok()) else {
        return Ok(());
    };
    if state.store().find_roster(id).await?.is_some_and(|r| r.status == RosterStatus::Published) {
        let change = subsidy::transition(RosterStatus::Published, RosterAction::Withdraw)?;
        state.store().change_roster_status(id, change, Some("基准测试结束"), staff, now).await?;
    }
    std::fs::remove_file(dir.join(NEW_ROSTER))?;
    Ok(())
}

fn per_rule(hits: &[Hit]) -> String {
    let mut counts: BTreeMap<usize, (Rule, usize)> = BTreeMap::new();
    for h in hits {
        counts.entry(h.rule.number()).or_insert((h.rule, 0)).1 += 1;
    }
    counts.values().map(|(r, n)| format!("{}.{} {n}", r.number(), r.label())).collect::<Vec<_>>().join("，")
}

fn steps(s: &Steps) -> String {
    let mut parts = vec![
        format!("比对库 {:.2}", s.registries.as_secs_f64()),
        format!("项目与公示 {:.2}", s.settings.as_secs_f64()),
    ];
    if !s.batch.is_zero() || !s.accounts.is_zero() {
        parts.push(format!("同批 {:.2}", s.batch.as_secs_f64()));
        parts.push(format!("账户 {:.2}", s.accounts.as_secs_f64()));
    }
    parts.push(format!("读取 {:.2}", s.read.as_secs_f64()));
    parts.push(format!("解密 {:.2}", s.decrypt.as_secs_f64()));
    parts.push(format!("规则 {:.2}", s.rules.as_secs_f64()));
    parts.push(format!("记录 {:.2}", s.record.as_secs_f64()));
    if !s.outreach.is_zero() {
        parts.push(format!("政策找人 {:.2}", s.outreach.as_secs_f64()));
    }
    format!("{} s", parts.join("，"))
}

fn report(label: &str, total: f64, outcome: &Outcome) {
    println!(
        "{label}：全程 {total:.2} s，比对 {} 条，线索 {} 条（新增 {}）\n  分步：{}\n  各规则：{}",
        outcome.entries,
        outcome.summary.hits,
        outcome.summary.new_hits,
        steps(&outcome.steps),
        per_rule(&outcome.hits)
    );
}

pub async fn screening(args: ScreeningArgs) -> Result<()> {
    let temp = tempfile::tempdir()?;
    let dir = args.data_dir.clone().unwrap_or_else(|| temp.path().to_path_buf());
    let now = unix(Date::constant(2025, 6, 1))?;
    let county = County::new(args.people, args.full_entries)?;
    let (state, fx) = prepare(&dir, &args, county, now).await?;
    let store = state.store();
    let cipher = state.cipher();
    withdraw_left(&state, &dir, fx.staff, now).await?;

    let t = Instant::now();
    let entries = (0..args.entries)
        .map(|k| {
            let (v, j) = county.newcomer(k);
            county.line(k + 2, v, j).map(|l| seal_line(cipher, &l))
        })
        .collect::<Result<Vec<_>>>()?;
    let roster = NewRoster {
        programme_id: fx.programmes[0],
        org_code: village_code(0),
        year: 2025,
        period: "2025年度".into(),
        phase: xiaowei_core::subsidy::Phase::Proposed,
        settles_id: None,
        supersedes_id: None,
        correction_reason: None,
        paid_on: None,
        created_by: fx.staff,
    };
    let roster_id = store.create_roster(&roster, &entries, now).await?;
    std::fs::write(dir.join(NEW_ROSTER), roster_id.to_string())?;
    publish(store, roster_id, fx.staff, Some((Date::constant(2025, 6, 1), Date::constant(2025, 6, 7))), now).await?;
    println!(
        "新花名册：{} 条（样本补贴项目1，2025年度，与其他村同期拟发放名单同批），生成、加密并公开 {:.1} s",
        args.entries,
        secs(t)
    );

    // The first run after a registry import reads every registry row; its load stores the
    // snapshot that a server started again reads instead.
    store.drop_registry_snapshots().await?;
    let t = Instant::now();
    let first = xiaowei_server::app::screening::run(&state, Some(&[roster_id]), now + 1).await?;
    report("增量比对（比对库导入后首次：读取并索引全部记录）", secs(t), &first);
    let t = Instant::now();
    state.registries().saved().await;
    println!("  比对库快照在后台加密写入数据库，比对结束后又等待 {:.2} s 写完", secs(t));
    let restarted = open_at(&dir, None).await?;
    let t = Instant::now();
    let cold = xiaowei_server::app::screening::run(&restarted, Some(&[roster_id]), now + 2).await?;
    report("增量比对（重启后首次，冷启动：从快照读取并索引比对库）", secs(t), &cold);
    let t = Instant::now();
    let warm = xiaowei_server::app::screening::run(&restarted, Some(&[roster_id]), now + 3).await?;
    report("增量比对（再次，比对库已在内存，仅核对版本）", secs(t), &warm);

    let t = Instant::now();
    let pass = xiaowei_server::app::screening::full_pass(&restarted, now + 4).await?;
    report("全县重比对与政策找人（每六小时一次，一次读取）", secs(t), &pass.screening);
    println!("  政策找人线索 {} 条", pass.leads);

    let change = subsidy::transition(RosterStatus::Published, RosterAction::Withdraw)?;
    store.change_roster_status(roster_id, change, Some("基准测试结束"), fx.staff, now + 5).await?;
    std::fs::remove_file(dir.join(NEW_ROSTER))?;
    restarted.store().close().await;
    store.close().await;
    Ok(())
}
