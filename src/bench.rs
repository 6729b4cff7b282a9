//! `xiaowei bench`: the platform's performance targets, measured on this machine and printed as
//! figures. Nothing here asserts a timing; the numbers are for people to read.
//!
//! - `self-query`: a villager's 自助查询 on a SQLite database of many roster entries (default
//!   10⁷), generated here and sealed exactly as the server seals an upload.
//! - `roster-page`: requests per second of a public 50-row roster page against `/healthz`, on the
//!   real server in this process, with the same built-in load generator in the same run.
//! - `import`: a 100,000-row xlsx checked and stored as an upload is, against calamine alone
//!   reading the same file.
//! - `pages`: every public page type drawn from the whole demo, with gzip and 64 connections,
//!   against a bare hello route in the same run, in `bench_pages.rs`.
//! - `monitor`: the monitor's township × metric table (15 townships, 90 villages of the demo,
//!   60 days of visits) and a township's village table, over HTTP as the county supervisor.
//! - `texts`: a surge of applications and the time until their texts reach a local fake
//!   provider, in `bench_texts.rs`.
//! - `screening`: 大数据比对 at county scale, in `bench_screening.rs`.
//! - `hostile`: memory and public-page latency under a login flood and spreadsheet bombs, in
//!   `bench_hostile.rs`.
//! - `instances`: public-page throughput of two server processes on one PostgreSQL against one,
//!   in `bench_instances.rs`.
//!
//! The load generator, the server and SQLite share the machine, so figures are comparable only
//! within one run and one machine.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use xiaowei_core::subsidy::{self, RosterAction, RosterStatus};

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use jiff::ToSpan;
use jiff::civil::Date;
use rand::{Rng, SeedableRng};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use xiaowei_core::resident_id::check_char;
use xiaowei_core::roster::RosterLine;
use xiaowei_core::{Fen, OrgLevel, PiiCipher, ResidentId, Role};
use xiaowei_server::app::rosters::{ID_PURPOSE, ImportParams, check_upload, seal_line, seal_lines, store_upload};
use xiaowei_server::{AppState, Config};
use xiaowei_store::{NewEntry, NewOrg, NewProgramme, NewRoster, NewStaffUser, Store};

use crate::demo::{GIVEN, GROUP_NAMES, SURNAMES};

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Self-query latency (p50/p95/p99) on a generated SQLite database of N roster entries.
    ///
    /// Example: xiaowei bench self-query --entries 1000000 --data-dir /tmp/xw-bench
    SelfQuery(SelfQueryArgs),
    /// Requests per second of a public 50-row roster page versus /healthz, same server and load.
    ///
    /// Example: xiaowei bench roster-page --seconds 10 --connections 32
    RosterPage(RosterPageArgs),
    /// Time to check and store an xlsx roster versus calamine alone reading it.
    ///
    /// Example: xiaowei bench import --rows 100000
    Import(ImportArgs),
    /// Load time of the monitor's township table and a township's village table on the demo data.
    ///
    /// Example: xiaowei bench monitor --requests 50
    Monitor(MonitorArgs),
    /// All three with quick settings (self-query at 10⁶ entries).
    All,
    /// 大数据比对: a roster screened against registries of N people, and a full re-screen.
    ///
    /// Example: xiaowei bench screening --people 1000000 --entries 100000 --full-entries 10000000
    Screening(crate::bench_screening::ScreeningArgs),
    /// Time until the texts of a surge of applications reach a local fake SMS provider.
    ///
    /// Example: xiaowei bench texts --applications 150 --latency-ms 100
    Texts(crate::bench_texts::TextsArgs),
    /// Every public page type under a crowd, drawn from the whole demo, versus a bare hello route.
    ///
    /// Example: xiaowei bench pages --seconds 10 --connections 64
    Pages(crate::bench_pages::PagesArgs),
    /// Memory and public-page latency during a login flood and two spreadsheet bombs.
    ///
    /// Example: xiaowei bench hostile --seconds 60 --connections 64
    Hostile(crate::bench_hostile::HostileArgs),
    /// Public-page throughput of two instances on one PostgreSQL against one (demo data).
    ///
    /// Example: xiaowei bench instances postgres://postgres@127.0.0.1:5432 --seconds 10
    Instances(crate::bench_instances::InstancesArgs),
}

#[derive(Args)]
pub struct SelfQueryArgs {
    /// Roster entries in the database
    #[arg(long, default_value_t = 10_000_000)]
    entries: u64,
    /// Folder of the generated database, reused when it already holds enough entries
    /// [default: <temp dir>/xiaowei-bench-self-query]
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Self-queries through the store, one after another
    #[arg(long, default_value_t = 2_000)]
    queries: usize,
    /// Self-queries over HTTP (POST /t/{township}/self-query); 0 skips them
    #[arg(long, default_value_t = 2_000)]
    http_queries: usize,
    /// Villagers querying over HTTP at once
    #[arg(long, default_value_t = 16)]
    clients: usize,
    /// Self-queries a second offered by the villagers together, each starting its queries on a
    /// fixed schedule whatever the answers take (open loop); 0: each villager queries again as
    /// soon as answered (closed loop, the machine's capacity)
    #[arg(long, default_value_t = 0)]
    rate: u32,
    /// Generate into PostgreSQL on this server (no database name) instead of SQLite: the
    /// database `xw_bench_self_query_<entries>` there, kept for later runs like the SQLite file
    #[arg(long)]
    postgres: Option<String>,
}

#[derive(Args)]
pub struct RosterPageArgs {
    /// Seconds of load per route (after one second of warm-up)
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Concurrent keep-alive connections
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// Ask for gzip responses, as browsers do (the load generator does not decompress)
    #[arg(long)]
    gzip: bool,
}

#[derive(Args)]
pub struct ImportArgs {
    /// Rows of the generated xlsx roster
    #[arg(long, default_value_t = 100_000)]
    rows: usize,
}

#[derive(Args)]
pub struct MonitorArgs {
    /// Requests per page, one after another (after one warm-up request)
    #[arg(long, default_value_t = 50)]
    requests: usize,
}

/// Runs one benchmark, or all of them.
pub async fn run(which: BenchCommand) -> Result<()> {
    println!("基准测试（{} 个 CPU 核心；服务端、负载生成器与 SQLite 共用本机）", cores());
    match which {
        BenchCommand::SelfQuery(args) => self_query(args).await,
        BenchCommand::RosterPage(args) => roster_page(args).await,
        BenchCommand::Import(args) => import(args).await,
        BenchCommand::Monitor(args) => monitor(args).await,
        BenchCommand::Pages(args) => crate::bench_pages::pages(args).await,
        BenchCommand::Screening(args) => crate::bench_screening::screening(args).await,
        BenchCommand::Hostile(args) => crate::bench_hostile::hostile(args).await,
        BenchCommand::Texts(args) => crate::bench_texts::texts(args).await,
        BenchCommand::Instances(args) => crate::bench_instances::instances(args).await,
        BenchCommand::All => {
            let quick = SelfQueryArgs {
                entries: 1_000_000,
                data_dir: None,
                queries: 2_000,
                http_queries: 2_000,
                clients: 16,
                rate: 0,
                postgres: None,
            };
            self_query(quick).await?;
            roster_page(RosterPageArgs { seconds: 10, connections: 32, gzip: false }).await?;
            import(ImportArgs { rows: 100_000 }).await
        }
    }
}

pub(crate) fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}

// ---------------------------------------------------------------------------------------------
// Shared fixtures: a county of townships and villages, a staff account, programmes, people.

const COUNTY: &str = "620922";
const VILLAGES_PER_TOWNSHIP: usize = 20;
/// Township codes are `COUNTY` + 100..=999, so at most this many townships.
const MAX_TOWNSHIPS: usize = 900;
pub(crate) const PROGRAMMES: usize = 6;
const PROGRAMME_FEN: [i64; PROGRAMMES] = [60_000, 120_000, 95_000, 540_000, 120_000, 240_000];

fn township_code(township: usize) -> String {
    format!("{COUNTY}{:03}", 100 + township)
}

pub(crate) fn village_code(village: usize) -> String {
    format!("{}{:03}", township_code(village / VILLAGES_PER_TOWNSHIP), 200 + village % VILLAGES_PER_TOWNSHIP)
}

/// The records every roster needs: its author and its programmes.
pub(crate) struct Fixture {
    pub(crate) staff: i64,
    pub(crate) programmes: Vec<i64>,
}

/// Creates the county, enough townships for `villages` villages, a staff account and the
/// programmes (recurring, no standard).
pub(crate) async fn fixture(store: &Store, villages: usize, now: i64) -> Result<Fixture> {
    let townships = villages.div_ceil(VILLAGES_PER_TOWNSHIP);
    if townships > MAX_TOWNSHIPS {
        bail!("村数过多：最多 {} 个村", MAX_TOWNSHIPS * VILLAGES_PER_TOWNSHIP);
    }
    let mut orgs =
        vec![NewOrg { code: COUNTY.into(), name: "样本县".into(), level: OrgLevel::County, parent_code: None }];
    for t in 0..townships {
        orgs.push(NewOrg {
            code: township_code(t),
            name: format!("样本{}乡", t + 1),
            level: OrgLevel::Township,
            parent_code: Some(COUNTY.into()),
        });
    }
    for v in 0..villages {
        orgs.push(NewOrg {
            code: village_code(v),
            name: format!("样本{}乡{}村", v / VILLAGES_PER_TOWNSHIP + 1, v % VILLAGES_PER_TOWNSHIP + 1),
            level: OrgLevel::Village,
            parent_code: Some(township_code(v / VILLAGES_PER_TOWNSHIP)),
        });
    }
    store.import_orgs(&orgs, now).await?;
    let staff = NewStaffUser {
        username: "bench".into(),
        display_name: "基准测试".into(),
        // Not a valid hash: the account cannot log in.
        password_hash: "!".into(),
        role: Role::CountyAdmin,
        org_code: COUNTY.into(),
        department_id: None,
    };
    let staff = store.create_staff_user(&staff, now).await?;
    let mut programmes = Vec::new();
    for p in 0..PROGRAMMES {
        let new = NewProgramme {
            name: format!("样本补贴项目{}", p + 1),
            department_id: None,
            basis: "基准测试用，非真实政策".into(),
            unit: xiaowei_core::subsidy::Unit::Person,
            standard_fen: None,
            rule: "基准测试用".into(),
            recurring: true,
            from_year: Some(2021),
            to_year: None,
            publicity_days: 7,
            objection_reply_days: 5,
        };
        programmes.push(store.create_programme(&new, now).await?);
    }
    Ok(Fixture { staff, programmes })
}

/// An invented person: the same name, ID and account for the same number.
pub(crate) struct Person {
    pub(crate) name: String,
    pub(crate) id: ResidentId,
    pub(crate) account: String,
}

/// Person `n` of the county. IDs come from a permutation of 20,000 birth days × 1,000 sequence
/// numbers, so different people never share one.
pub(crate) fn person(n: u64) -> Result<Person> {
    const SPACE: u64 = 20_000 * 1_000;
    let key = n.wrapping_mul(7_919) % SPACE;
    let born = Date::constant(1940, 1, 1).checked_add(i64::try_from(key / 1_000)?.days())?;
    let body = format!("{COUNTY}{}{:03}", born.strftime("%Y%m%d"), key % 1_000);
    let mut digits = [0u32; 17];
    for (slot, c) in digits.iter_mut().zip(body.chars()) {
        *slot = c.to_digit(10).unwrap_or(0);
    }
    let id = ResidentId::parse(&format!("{body}{}", check_char(&digits)))?;
    let i = usize::try_from(n)?;
    let name = format!("{}{}", SURNAMES[i % SURNAMES.len()], GIVEN[(i / SURNAMES.len()) % GIVEN.len()]);
    let account = format!("622848{:013}", n.wrapping_mul(104_729) % 10_000_000_000_000);
    Ok(Person { name, id, account })
}

pub(crate) fn line(row: usize, p: &Person, group: usize, amount_fen: i64) -> RosterLine {
    RosterLine {
        row,
        name: p.name.clone(),
        resident_id: p.id.clone(),
        amount: Fen::new(amount_fen).unwrap_or_default(),
        group: Some(GROUP_NAMES[group % GROUP_NAMES.len()].to_owned()),
        account: Some(p.account.clone()),
        note: None,
    }
}

/// The Unix time of 10:00 in Asia/Shanghai on `day`.
pub(crate) fn unix(day: Date) -> Result<i64> {
    let zone = jiff::tz::TimeZone::fixed(jiff::tz::Offset::constant(8));
    Ok(day.at(10, 0, 0, 0).to_zoned(zone)?.timestamp().as_second())
}

/// Submits and publishes a draft roster.
pub(crate) async fn publish(
    store: &Store,
    id: i64,
    staff: i64,
    publicity: Option<(Date, Date)>,
    at: i64,
) -> Result<()> {
    store
        .change_roster_status(id, subsidy::transition(RosterStatus::Draft, RosterAction::Submit)?, None, staff, at)
        .await?;
    let dates = publicity.map(|(s, e)| (s.to_string(), e.to_string()));
    store.publish_roster(id, dates.as_ref().map(|(s, e)| (s.as_str(), e.as_str())), None, staff, at).await?;
    Ok(())
}

/// A server state over a fresh or existing database, with the key kept in `dir`: SQLite in `dir`,
/// or the PostgreSQL database at `url`.
pub(crate) async fn open_at(dir: &Path, url: Option<&str>) -> Result<AppState> {
    let config =
        Config { data_dir: dir.to_path_buf(), database_url: url.map(|u| u.to_owned().into()), ..Config::default() };
    crate::open(&config).await
}

/// A server state over a fresh SQLite database in a temporary folder, with a throwaway key.
pub(crate) async fn open_temp(dir: &tempfile::TempDir) -> Result<AppState> {
    let key = xiaowei_core::PiiKey::generate().to_hex();
    let config = Config { data_dir: dir.path().to_path_buf(), pii_key: Some(key.into()), ..Config::default() };
    crate::open(&config).await
}

/// Latency percentiles of a set of timings.
pub(crate) struct Percentiles {
    pub(crate) p50: Duration,
    p95: Duration,
    pub(crate) p99: Duration,
    pub(crate) max: Duration,
}

pub(crate) fn percentiles(timings: &mut [Duration]) -> Percentiles {
    timings.sort_unstable();
    let at = |p: usize| {
        let rank = (timings.len() * p).div_ceil(100).max(1);
        timings.get(rank - 1).copied().unwrap_or_default()
    };
    Percentiles { p50: at(50), p95: at(95), p99: at(99), max: timings.last().copied().unwrap_or_default() }
}

pub(crate) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1_000.0
}

fn median(mut timings: Vec<Duration>) -> Duration {
    timings.sort_unstable();
    timings.get(timings.len() / 2).copied().unwrap_or_default()
}

/// A server started by [`start_server`].
pub(crate) struct Running {
    stop: oneshot::Sender<()>,
    done: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Stops the server and waits for it to finish (its last visit counts included).
    pub(crate) async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.done.await;
    }
}

/// The server on 127.0.0.1 at a free port, and the handle that stops it.
pub(crate) async fn start_server(state: AppState) -> Result<(SocketAddr, Running)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let (stop, stopped) = oneshot::channel::<()>();
    let done = tokio::spawn(async move {
        let shutdown = async {
            let _ = stopped.await;
        };
        if let Err(e) = xiaowei_server::serve(listener, state, shutdown).await {
            eprintln!("服务异常退出：{e}");
        }
    });
    Ok((address, Running { stop, done }))
}

// ---------------------------------------------------------------------------------------------
// self-query

/// Years of the generated rosters; each year has a proposed and a paid roster per programme.
pub(crate) const FIRST_YEAR: i16 = 2021;
pub(crate) const YEARS: usize = 5;
/// People on each programme's list in a village, and people living in a village.
const LIST: usize = 100;
const VILLAGE_PEOPLE: usize = 400;
/// Each year's roster leaves out 2 of the 100 (`(k + 7·year) % 50 == 0`), so some people have
/// a year without payment, as the self-query should show.
const ENTRIES_PER_ROSTER: u64 = 98;
const ROSTERS_PER_VILLAGE: u64 = (PROGRAMMES * YEARS * 2) as u64;
const ENTRIES_PER_VILLAGE: u64 = ENTRIES_PER_ROSTER * ROSTERS_PER_VILLAGE;
const STARTED: &str = "bench-self-query.started";
const DONE: &str = "bench-self-query.done";

/// Person number of slot `k` on programme `p`'s list in village `v`.
fn listed(v: usize, p: usize, k: usize) -> u64 {
    (v * VILLAGE_PEOPLE + (p * 67 + k * 3) % VILLAGE_PEOPLE) as u64
}

fn on_roster(k: usize, year: usize) -> bool {
    !(k + 7 * year).is_multiple_of(50)
}

/// One village's sealed rosters: (programme, year index, proposed entries, paid entries).
pub(crate) struct VillageRosters {
    pub(crate) village: usize,
    pub(crate) rosters: Vec<(usize, usize, Vec<NewEntry>, Vec<NewEntry>)>,
}

fn seal_village(cipher: &PiiCipher, v: usize) -> Result<VillageRosters> {
    let mut people: BTreeMap<u64, Person> = BTreeMap::new();
    let mut rosters = Vec::with_capacity(PROGRAMMES * YEARS);
    for (p, &amount_fen) in PROGRAMME_FEN.iter().enumerate() {
        for year in 0..YEARS {
            let mut proposed = Vec::with_capacity(LIST);
            let mut paid = Vec::with_capacity(LIST);
            for k in (0..LIST).filter(|&k| on_roster(k, year)) {
                let n = listed(v, p, k);
                let who = match people.entry(n) {
                    Entry::Occupied(known) => known.into_mut(),
                    Entry::Vacant(slot) => slot.insert(person(n)?),
                };
                let l = line(proposed.len() + 2, who, k, amount_fen);
                proposed.push(seal_line(cipher, &l));
                paid.push(seal_line(cipher, &l));
            }
            rosters.push((p, year, proposed, paid));
        }
    }
    Ok(VillageRosters { village: v, rosters })
}

/// Stores one village's rosters: each year a published proposed roster and the published paid
/// roster settling it.
async fn store_village(store: &Store, fx: &Fixture, batch: VillageRosters) -> Result<u64> {
    let mut count = 0;
    let org_code = village_code(batch.village);
    for (p, year, proposed, paid) in batch.rosters {
        let year = FIRST_YEAR + i16::try_from(year)?;
        let start = Date::new(year, 3 + i8::try_from(p)?, 10)?;
        let paid_on = start.checked_add(20.days())?;
        let mut roster = NewRoster {
            programme_id: fx.programmes[p],
            org_code: org_code.clone(),
            year: i64::from(year),
            period: format!("{year}年度"),
            phase: xiaowei_core::subsidy::Phase::Proposed,
            settles_id: None,
            supersedes_id: None,
            correction_reason: None,
            paid_on: None,
            created_by: fx.staff,
        };
        let proposed_id = store.create_roster(&roster, &proposed, unix(start)? - 86_400).await?;
        publish(store, proposed_id, fx.staff, Some((start, start.checked_add(6.days())?)), unix(start)?).await?;
        roster.phase = xiaowei_core::subsidy::Phase::Paid;
        roster.settles_id = Some(proposed_id);
        roster.paid_on = Some(paid_on.to_string());
        let paid_id = store.create_roster(&roster, &paid, unix(paid_on)?).await?;
        publish(store, paid_id, fx.staff, None, unix(paid_on)? + 3_600).await?;
        count += (proposed.len() + paid.len()) as u64;
    }
    Ok(count)
}

/// Fills `state`'s empty database with `villages` villages of rosters, sealing on every core.
async fn generate(state: &AppState, villages: usize, target: u64) -> Result<u64> {
    let fx = fixture(state.store(), villages, state.now()).await?;
    store_generated(state, &fx, villages, target, seal_village).await
}

/// Stores the rosters `seal` gives for each of `villages` villages (sealed on every core while
/// earlier villages are written), printing progress towards `target` entries.
pub(crate) async fn store_generated<F>(
    state: &AppState,
    fx: &Fixture,
    villages: usize,
    target: u64,
    seal: F,
) -> Result<u64>
where
    F: Fn(&PiiCipher, usize) -> Result<VillageRosters> + Clone + Send + 'static,
{
    let store = state.store();
    let workers = cores();
    let (sender, mut receiver) = mpsc::channel::<VillageRosters>(2 * workers);
    let mut sealers = Vec::new();
    for w in 0..workers {
        let cipher = state.cipher().clone();
        let sender = sender.clone();
        let seal = seal.clone();
        sealers.push(tokio::task::spawn_blocking(move || -> Result<()> {
            for v in (w..villages).step_by(workers) {
                if sender.blocking_send(seal(&cipher, v)?).is_err() {
                    break;
                }
            }
            Ok(())
        }));
    }
    drop(sender);
    let started = Instant::now();
    let (mut stored, mut reported) = (0u64, 0u64);
    while let Some(batch) = receiver.recv().await {
        stored += store_village(store, fx, batch).await?;
        let step = (stored * 20 / target.max(1)).min(20);
        if step > reported {
            reported = step;
            println!("  生成进度 {:>3}%：{stored} 条，用时 {:.0} 秒", step * 5, started.elapsed().as_secs_f64());
            // As the server's hourly housekeeping does: without fresh statistics a PostgreSQL
            // with autovacuum off plans the generator's own per-roster reads as parallel scans.
            store.refresh_statistics().await?;
        }
    }
    for sealer in sealers {
        sealer.await??;
    }
    Ok(stored)
}

/// What a completed generation left in the data folder: villages and entries.
fn read_done(dir: &Path) -> Option<(usize, u64)> {
    let text = std::fs::read_to_string(dir.join(DONE)).ok()?;
    let mut words = text.split_whitespace();
    Some((words.next()?.parse().ok()?, words.next()?.parse().ok()?))
}

/// Reads what a villager's self-query reads, with the handler's own function: the ID's blind
/// index, the person's published entries (matching the name), each village's name, and the last
/// paid year of every recurring programme paid to them, to find unpaid years. Returns the entries found.
async fn self_query_reads(state: &AppState, who: &Person) -> Result<usize> {
    let id_idx = state.cipher().blind_index(ID_PURPOSE, who.id.expose());
    let found =
        xiaowei_server::public::subsidies::person_records(state.store(), std::slice::from_ref(&id_idx), &who.name)
            .await
            .map_err(|e| anyhow::anyhow!(e.to_string()))?;
    std::hint::black_box(found.gaps.len());
    Ok(found.entries.len())
}

/// A random person who is on some roster of one of `villages` villages.
fn random_person(rng: &mut impl Rng, villages: usize) -> Result<Person> {
    person(listed(rng.gen_range(0..villages), rng.gen_range(0..PROGRAMMES), rng.gen_range(0..LIST)))
}

async fn self_query(args: SelfQueryArgs) -> Result<()> {
    let engine = if args.postgres.is_some() { "PostgreSQL" } else { "SQLite" };
    let dir = args.data_dir.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(if args.postgres.is_some() {
            "xiaowei-bench-self-query-pg"
        } else {
            "xiaowei-bench-self-query"
        })
    });
    println!("\n== 自助查询（目标：10^7 条记录时 p99 ≤ 5 ms；{engine}）==");
    let database = match &args.postgres {
        Some(server) => {
            let server = server.trim_end_matches('/');
            Some((server.to_owned(), format!("xw_bench_self_query_{}", args.entries)))
        }
        None => None,
    };
    let url = database.as_ref().map(|(server, name)| format!("{server}/{name}"));
    let wanted_villages = usize::try_from(args.entries.div_ceil(ENTRIES_PER_VILLAGE))?.max(1);
    let (villages, entries, state) = match read_done(&dir) {
        Some((villages, entries)) if entries >= args.entries => {
            println!(
                "沿用已生成的数据库（{}）：{entries} 条记录，{villages} 个村。",
                url.as_deref().unwrap_or(&dir.display().to_string())
            );
            (villages, entries, open_at(&dir, url.as_deref()).await?)
        }
        _ => {
            let db = dir.join("xiaowei.db");
            if db.exists() && database.is_none() {
                if !dir.join(STARTED).exists() {
                    bail!("{} 中已有非基准测试生成的数据库，请换一个 --data-dir", dir.display());
                }
                for name in ["xiaowei.db", "xiaowei.db-wal", "xiaowei.db-shm", DONE] {
                    let _ = std::fs::remove_file(dir.join(name));
                }
            }
            if let Some((server, name)) = &database {
                let admin = Store::connect(&format!("{server}/postgres")).await.context("无法连接 PostgreSQL")?;
                admin.drop_database(name).await?;
                admin.create_database(name).await.context("无法创建基准测试数据库")?;
                admin.close().await;
                let _ = std::fs::remove_file(dir.join(DONE));
            }
            std::fs::create_dir_all(&dir).with_context(|| format!("无法创建 {}", dir.display()))?;
            std::fs::write(dir.join(STARTED), "")?;
            println!(
                "在 {} 生成 {wanted_villages} 个村的花名册（每村 {ROSTERS_PER_VILLAGE} 份、每份 {ENTRIES_PER_ROSTER} 人，\
                 {PROGRAMMES} 个项目 × {YEARS} 年 × 拟发放/已发放），约 {} 条记录……",
                url.as_deref().unwrap_or(&dir.display().to_string()),
                wanted_villages as u64 * ENTRIES_PER_VILLAGE
            );
            let state = open_at(&dir, url.as_deref()).await?;
            let started = Instant::now();
            let entries = generate(&state, wanted_villages, args.entries).await?;
            let took = started.elapsed();
            std::fs::write(dir.join(DONE), format!("{wanted_villages} {entries}\n"))?;
            let rate = entries as f64 / took.as_secs_f64();
            println!("生成完成：{entries} 条记录，用时 {:.1} 秒（{rate:.0} 条/秒）。", took.as_secs_f64());
            (wanted_villages, entries, state)
        }
    };
    state.store().refresh_statistics().await?;
    let bytes = state.store().database_bytes().await?;
    println!("数据库占用磁盘 {:.2} GB（{engine}）。", bytes as f64 / 1e9);

    let mut rng = rand::thread_rng();
    let warm_up = args.queries.min(100);
    for _ in 0..warm_up {
        self_query_reads(&state, &random_person(&mut rng, villages)?).await?;
    }
    let mut timings = Vec::with_capacity(args.queries);
    let mut found = 0;
    for _ in 0..args.queries {
        let who = random_person(&mut rng, villages)?;
        let started = Instant::now();
        found += self_query_reads(&state, &who).await?;
        timings.push(started.elapsed());
    }
    let p = percentiles(&mut timings);
    println!(
        "存储层自助查询（盲索引 + entries_for_person + 村名 + 各项目 last_paid_year），{entries} 条记录，\
         {} 次顺序查询（先预热 {warm_up} 次），平均每人 {:.1} 条：",
        args.queries,
        found as f64 / args.queries.max(1) as f64
    );
    println!("  p50 {:.3} ms  p95 {:.3} ms  p99 {:.3} ms  最大 {:.3} ms", ms(p.p50), ms(p.p95), ms(p.p99), ms(p.max));
    if args.http_queries > 0 {
        let crowd = Crowd { queries: args.http_queries, clients: args.clients.clamp(1, 250), rate: args.rate };
        http_self_query(state.clone(), villages, crowd).await?;
        roster_pages(state.clone(), villages, args.clients).await?;
    }
    state.store().close().await;
    Ok(())
}

/// Roster pages drawn at random from every generated roster, loaded by `clients` connections for
/// ten seconds: with a hundred thousand rosters most views find no kept page and are rendered from
/// the database.
async fn roster_pages(state: AppState, villages: usize, clients: usize) -> Result<()> {
    let (address, server) = start_server(state).await?;
    let rosters = villages as u64 * ROSTERS_PER_VILLAGE;
    let urls: Vec<String> = (1..=rosters).map(|id| format!("http://{address}/rosters/{id}")).collect();
    let shape = LoadShape { connections: clients.max(1), seconds: 10, gzip: true, cookies: true };
    let label = format!("花名册页面（{rosters} 份中随机）");
    measure(&label, &urls, shape).await?;
    server.stop().await;
    Ok(())
}

/// Queries answered per client address before the next address takes over: below the
/// route's limit of 30 per address in 10 minutes.
const QUERIES_PER_ADDRESS: usize = 20;

/// Who sends the HTTP self-queries: how many in all, from how many villagers at once, and at
/// what offered rate (0: each villager again as soon as answered).
#[derive(Clone, Copy)]
struct Crowd {
    queries: usize,
    clients: usize,
    rate: u32,
}

/// The whole self-query over HTTP, rate limits, audit record and page included, from the crowd's
/// villagers at once (`Accept-Encoding: gzip` as a browser sends). The route allows 30 queries per
/// client address in 10 minutes, so each villager moves to a new loopback address (127.a.client.n)
/// every [`QUERIES_PER_ADDRESS`] queries.
async fn http_self_query(state: AppState, villages: usize, crowd: Crowd) -> Result<()> {
    let (address, server) = start_server(state).await?;
    let a = rand::thread_rng().gen_range(1..=254u8);
    // Each villager starts a query every `clients / rate` seconds, the villagers spread evenly.
    let every = (crowd.rate > 0).then(|| Duration::from_secs_f64(crowd.clients as f64 / f64::from(crowd.rate)));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(crowd.clients);
    for c in 0..crowd.clients {
        let share = crowd.queries / crowd.clients + usize::from(c < crowd.queries % crowd.clients);
        let schedule = every.map(|every| (started + every.mul_f64(c as f64 / crowd.clients as f64), every));
        tasks.push(tokio::spawn(villager(address, a, u8::try_from(c)?, villages, share, schedule)));
    }
    let (mut timings, mut refused) = (Vec::with_capacity(crowd.queries), 0);
    for task in tasks {
        let (t, r) = task.await??;
        timings.extend(t);
        refused += r;
    }
    let elapsed = started.elapsed();
    server.stop().await;
    let p = percentiles(&mut timings);
    let pace = match crowd.rate {
        0 => "每人答复后立即再查".to_owned(),
        rate => format!("按计划共 {rate} 次/秒"),
    };
    println!(
        "HTTP 自助查询（POST，含限流计数、审计记录与页面渲染，gzip），{} 个村民同时查询（{pace}），共 {} 次，每个来源地址 {QUERIES_PER_ADDRESS} 次，{:.0} 次/秒：",
        crowd.clients,
        timings.len(),
        timings.len() as f64 / elapsed.as_secs_f64()
    );
    println!(
        "  p50 {:.3} ms  p95 {:.3} ms  p99 {:.3} ms  最大 {:.3} ms{}",
        ms(p.p50),
        ms(p.p95),
        ms(p.p99),
        ms(p.max),
        if refused > 0 { format!("（另有 {refused} 次未成功）") } else { String::new() }
    );
    Ok(())
}

/// One villager's `queries` self-queries, each the form then the POST on one keep-alive
/// connection per source address (a hyper client connection, as lean as the page load): the
/// timings of the POSTs answered and how many were refused. With a `schedule` (first start,
/// interval) each query starts on time however long the last took.
async fn villager(
    address: SocketAddr,
    a: u8,
    c: u8,
    villages: usize,
    queries: usize,
    schedule: Option<(Instant, Duration)>,
) -> Result<(Vec<Duration>, usize)> {
    use axum::http::header;
    use http_body_util::BodyExt;
    use rand::SeedableRng;
    let mut rng = rand::rngs::StdRng::from_entropy();
    let (mut timings, mut refused) = (Vec::with_capacity(queries), 0);
    let host: axum::http::HeaderValue = address.to_string().parse()?;
    let mut n = 0;
    for batch in 0..queries.div_ceil(QUERIES_PER_ADDRESS) {
        let source = Ipv4Addr::new(127, a, c, 1 + u8::try_from(batch % 250)?);
        let socket = tokio::net::TcpSocket::new_v4()?;
        socket.bind(SocketAddr::new(IpAddr::V4(source), 0))?;
        let stream = socket.connect(address).await?;
        stream.set_nodelay(true)?;
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
        tokio::spawn(connection);
        for _ in 0..QUERIES_PER_ADDRESS.min(queries - batch * QUERIES_PER_ADDRESS) {
            if let Some((first, every)) = schedule {
                tokio::time::sleep_until((first + every.mul_f64(n as f64)).into()).await;
            }
            n += 1;
            let v = rng.gen_range(0..villages);
            let who = person(listed(v, rng.gen_range(0..PROGRAMMES), rng.gen_range(0..LIST)))?;
            let path = format!("/t/{}/self-query", township_code(v / VILLAGES_PER_TOWNSHIP));
            let form = axum::http::Request::get(&path)
                .header(header::HOST, host.clone())
                .header(header::ACCEPT_ENCODING, "gzip")
                .body(http_body_util::Full::<axum::body::Bytes>::default())?;
            sender.ready().await?;
            let form = sender.send_request(form).await?;
            let csrf = form
                .headers()
                .get_all(header::SET_COOKIE)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .find_map(|v| v.strip_prefix("xw_csrf="))
                .and_then(|v| v.split(';').next())
                .map(str::to_owned)
                .context("自助查询页没有下发 CSRF cookie")?;
            form.into_body().collect().await?;
            let body = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("name", &who.name)
                .append_pair("id_number", who.id.expose())
                .append_pair("csrf", &csrf)
                .finish();
            let post = axum::http::Request::post(&path)
                .header(header::HOST, host.clone())
                .header(header::ACCEPT_ENCODING, "gzip")
                .header(header::COOKIE, format!("xw_csrf={csrf}"))
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(http_body_util::Full::new(axum::body::Bytes::from(body)))?;
            let started = Instant::now();
            sender.ready().await?;
            let response = sender.send_request(post).await?;
            let ok = response.status().is_success();
            response.into_body().collect().await?;
            if ok {
                timings.push(started.elapsed());
            } else {
                refused += 1;
            }
        }
    }
    Ok((timings, refused))
}

// ---------------------------------------------------------------------------------------------
// roster-page

/// Rows of the village roster served.
const PAGE_ROWS: usize = 50;

/// Requests, failures, latencies and response bytes of one load run.
pub(crate) struct Load {
    pub(crate) elapsed: Duration,
    pub(crate) failures: u64,
    pub(crate) bytes: u64,
    pub(crate) timings: Vec<Duration>,
}

impl Load {
    pub(crate) fn per_second(&self) -> f64 {
        self.timings.len() as f64 / self.elapsed.as_secs_f64()
    }
}

/// How a load run asks: concurrent keep-alive connections, seconds of load, whether it asks for
/// gzip responses and keeps cookies (the CSRF cookie every page issues) as browsers do.
#[derive(Clone, Copy)]
pub(crate) struct LoadShape {
    pub(crate) connections: usize,
    pub(crate) seconds: u64,
    pub(crate) gzip: bool,
    pub(crate) cookies: bool,
}

/// Keeps `connections` requests in flight for `span`, each on its own keep-alive HTTP/1.1
/// connection (hyper's client connection, no pool, no URL parsing per request, as lean as `wrk`,
/// so the load generator takes as little of the machine as it can): connection `c` draws each
/// request's URL at random from `targets[c % targets.len()]` (one list per server when the load
/// is split between servers). With `cookies`, a connection sends back the cookies it was given,
/// as a browser does.
pub(crate) async fn drive(
    targets: &[std::sync::Arc<Vec<String>>],
    connections: usize,
    span: Duration,
    gzip: bool,
    cookies: bool,
) -> Result<Load> {
    let targets: Vec<std::sync::Arc<Target>> =
        targets.iter().map(|urls| Target::parse(urls).map(std::sync::Arc::new)).collect::<Result<_>>()?;
    if targets.is_empty() {
        bail!("没有可压测的地址");
    }
    let started = Instant::now();
    let end = started + span;
    let mut tasks = Vec::with_capacity(connections);
    for c in 0..connections {
        let target = std::sync::Arc::clone(&targets[c % targets.len()]);
        tasks.push(tokio::spawn(async move {
            let mut run = Load { elapsed: Duration::ZERO, failures: 0, bytes: 0, timings: Vec::new() };
            let mut rng = rand::rngs::StdRng::from_entropy();
            let mut jar: Vec<String> = Vec::new();
            while Instant::now() < end {
                if let Err(e) = target.connection(&mut rng, end, gzip, cookies.then_some(&mut jar), &mut run).await {
                    run.failures += 1;
                    tracing::debug!(error = %e, "load connection ended");
                }
            }
            run
        }));
    }
    let mut load = Load { elapsed: Duration::ZERO, failures: 0, bytes: 0, timings: Vec::new() };
    for task in tasks {
        let run = task.await?;
        load.timings.extend(run.timings);
        load.failures += run.failures;
        load.bytes += run.bytes;
    }
    load.elapsed = started.elapsed();
    Ok(load)
}

/// One server's address and the request targets (path and query) to draw from.
struct Target {
    address: SocketAddr,
    host: axum::http::HeaderValue,
    paths: Vec<axum::http::Uri>,
}

impl Target {
    fn parse(urls: &[String]) -> Result<Self> {
        let mut address = None;
        let mut paths = Vec::with_capacity(urls.len());
        for url in urls {
            let uri: axum::http::Uri = url.parse().with_context(|| format!("无法解析地址 {url}"))?;
            let authority = uri.authority().with_context(|| format!("地址没有主机：{url}"))?;
            let at: SocketAddr = authority.as_str().parse().with_context(|| format!("地址须为 IP:端口：{url}"))?;
            if address.is_some_and(|a| a != at) {
                bail!("一组地址须在同一服务器上：{url}");
            }
            address = Some(at);
            paths.push(uri.path_and_query().map_or_else(|| "/".parse(), |p| p.as_str().parse())?);
        }
        let address = address.context("没有可压测的地址")?;
        Ok(Self { address, host: address.to_string().parse()?, paths })
    }

    /// Sends requests on one new connection until `end` or until the connection fails.
    async fn connection(
        &self,
        rng: &mut rand::rngs::StdRng,
        end: Instant,
        gzip: bool,
        mut jar: Option<&mut Vec<String>>,
        run: &mut Load,
    ) -> Result<()> {
        use axum::http::header;
        use http_body_util::BodyExt;
        let stream = tokio::net::TcpStream::connect(self.address).await?;
        stream.set_nodelay(true)?;
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
        tokio::spawn(connection);
        while Instant::now() < end {
            let mut request = axum::http::Request::get(self.paths[rng.gen_range(0..self.paths.len())].clone())
                .header(header::HOST, self.host.clone());
            if gzip {
                request = request.header(header::ACCEPT_ENCODING, "gzip");
            }
            if let Some(jar) = jar.as_deref().filter(|jar| !jar.is_empty()) {
                request = request.header(header::COOKIE, jar.join("; "));
            }
            let request = request.body(http_body_util::Empty::<axum::body::Bytes>::new())?;
            let sent = Instant::now();
            sender.ready().await?;
            let response = sender.send_request(request).await?;
            if let Some(jar) = jar.as_deref_mut() {
                for set in response.headers().get_all(header::SET_COOKIE) {
                    let Some(pair) = set.to_str().ok().and_then(|v| v.split(';').next()) else { continue };
                    let name = pair.split('=').next().unwrap_or_default();
                    jar.retain(|kept| kept.split('=').next() != Some(name));
                    jar.push(pair.to_owned());
                }
            }
            let ok = response.status().is_success();
            let body = response.into_body().collect().await?.to_bytes();
            if ok {
                run.bytes += body.len() as u64;
                run.timings.push(sent.elapsed());
            } else {
                run.failures += 1;
            }
        }
        Ok(())
    }
}

/// The figures of one measured route.
pub(crate) struct Measured {
    pub(crate) per_second: f64,
    pub(crate) p50: Duration,
    pub(crate) p99: Duration,
    pub(crate) failures: u64,
}

/// Warms up for a second, then loads `urls` (one drawn at random per request) for the shape's
/// seconds and prints the figures after `label`.
pub(crate) async fn measure(label: &str, urls: &[String], shape: LoadShape) -> Result<Measured> {
    let targets = [std::sync::Arc::new(urls.to_vec())];
    drive(&targets, shape.connections, Duration::from_secs(1), shape.gzip, shape.cookies).await?;
    let mut load =
        drive(&targets, shape.connections, Duration::from_secs(shape.seconds), shape.gzip, shape.cookies).await?;
    let per_second = load.per_second();
    let count = load.timings.len();
    let average = load.bytes / (count as u64).max(1);
    let p = percentiles(&mut load.timings);
    println!(
        "  {label:<22} {per_second:>9.0} 次/秒  p50 {:.2} ms  p99 {:.2} ms  （{count} 次，失败 {}，响应 {average} 字节）",
        ms(p.p50),
        ms(p.p99),
        load.failures
    );
    Ok(Measured { per_second, p50: p.p50, p99: p.p99, failures: load.failures })
}

/// Creates a published proposed roster of `PAGE_ROWS` people in its publicity period.
pub(crate) async fn page_roster(state: &AppState) -> Result<i64> {
    let store = state.store();
    let now = state.now();
    let fx = fixture(store, 1, now).await?;
    let mut entries = Vec::with_capacity(PAGE_ROWS);
    for k in 0..PAGE_ROWS {
        let who = person(listed(0, 0, k))?;
        entries.push(seal_line(state.cipher(), &line(k + 2, &who, k, PROGRAMME_FEN[0])));
    }
    let today = xiaowei_server::web::dates::shanghai_date(now);
    let roster = NewRoster {
        programme_id: fx.programmes[0],
        org_code: village_code(0),
        year: i64::from(today.year()),
        period: format!("{}年度", today.year()),
        phase: xiaowei_core::subsidy::Phase::Proposed,
        settles_id: None,
        supersedes_id: None,
        correction_reason: None,
        paid_on: None,
        created_by: fx.staff,
    };
    let id = store.create_roster(&roster, &entries, now - 3_600).await?;
    let publicity = (today.checked_sub(1.days())?, today.checked_add(5.days())?);
    publish(store, id, fx.staff, Some(publicity), now - 60).await?;
    Ok(id)
}

async fn roster_page(args: RosterPageArgs) -> Result<()> {
    println!("\n== 村级花名册页面（目标：≥ 同一服务器简单路由 /healthz 吞吐量的 35%）==");
    let dir = tempfile::tempdir()?;
    let state = open_temp(&dir).await?;
    let id = page_roster(&state).await?;
    let (address, server) = start_server(state.clone()).await?;
    let page_url = format!("http://{address}/rosters/{id}");
    let page = reqwest::get(&page_url).await?;
    if !page.status().is_success() {
        bail!("花名册页面返回 {}", page.status());
    }
    let html = page.text().await?;
    let masked = person(listed(0, 0, PAGE_ROWS - 1))?.id.masked();
    if !html.contains(&masked) {
        bail!("花名册页面缺少第 {PAGE_ROWS} 行");
    }
    println!(
        "{} 个并发长连接，每个路由预热 1 秒后压测 {} 秒{}：",
        args.connections,
        args.seconds,
        if args.gzip { "，请求 gzip 压缩" } else { "，不压缩" }
    );
    let shape = LoadShape { connections: args.connections, seconds: args.seconds, gzip: args.gzip, cookies: false };
    let trivial = measure("/healthz", &[format!("http://{address}/healthz")], shape).await?.per_second;
    let roster = measure(&format!("/rosters/{id}（{PAGE_ROWS} 行）"), &[page_url], shape).await?.per_second;
    println!("  花名册页面 / 简单路由 = {:.1}%", roster / trivial * 100.0);
    server.stop().await;
    state.store().close().await;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// import

async fn import(args: ImportArgs) -> Result<()> {
    const RUNS: usize = 3;
    println!("\n== 花名册导入（目标：校验 + 入库 ≤ calamine 单纯读取用时的 2 倍）==");
    let rows = args.rows;
    let bytes = tokio::task::spawn_blocking(move || xiaowei_sheets::sample_roster_xlsx(rows, 1)).await??;
    println!("样例文件：{rows} 行 xlsx，{} KiB；每项取 {RUNS} 次的中位数。", bytes.len() / 1024);

    let mut read_only = Vec::new();
    for _ in 0..RUNS {
        let started = Instant::now();
        let cells = xiaowei_sheets::calamine_read_only(&bytes)?;
        read_only.push(started.elapsed());
        std::hint::black_box(cells);
    }
    let read_only = median(read_only);

    let (mut checks, mut stores, mut totals) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..RUNS {
        let dir = tempfile::tempdir()?;
        let state = open_temp(&dir).await?;
        let store = state.store();
        let now = state.now();
        let fx = fixture(store, 1, now).await?;
        let programme = store.find_programme(fx.programmes[0]).await?.context("样本补贴项目不存在")?;
        let params = ImportParams {
            programme_id: programme.id,
            org_code: village_code(0),
            year: 2025,
            period: "2025年度".into(),
            phase: xiaowei_core::subsidy::Phase::Proposed,
            settles_id: None,
            supersedes_id: None,
            correction_reason: None,
            paid_on: None,
        };
        let started = Instant::now();
        let (check, entries) = check_upload(store, state.cipher(), &programme, &params, &bytes).await?;
        let checked = started.elapsed();
        if !check.is_clean() || entries.len() != rows {
            bail!("样例文件未通过校验：{} 处错误，{} 行有效", check.errors.len(), entries.len());
        }
        store_upload(store, &params, &entries, fx.staff, now).await?;
        let total = started.elapsed();
        checks.push(checked);
        stores.push(total - checked);
        totals.push(total);
        store.close().await;
    }
    let (check, stored, total) = (median(checks), median(stores), median(totals));

    // Where the checking time goes, from the same steps run one by one.
    let started = Instant::now();
    let grid = xiaowei_sheets::read_grid(&bytes)?;
    let read = started.elapsed();
    let started = Instant::now();
    let checked = xiaowei_core::roster::check(&grid, None)?;
    let validate = started.elapsed();
    let cipher = PiiCipher::new(xiaowei_core::PiiKey::generate());
    let started = Instant::now();
    let sealed: Vec<NewEntry> = seal_lines(&cipher, &checked.lines);
    let seal = started.elapsed();
    std::hint::black_box(sealed);

    println!("  calamine 单纯读取            {:>8.0} ms", ms(read_only));
    println!("  导入合计                     {:>8.0} ms", ms(total));
    println!("    check_upload（读取、校验、加密、查重）{:>8.0} ms", ms(check));
    let lookup = check.saturating_sub(read + validate + seal);
    println!(
        "      其中 read_grid {:.0} ms，规则校验 {:.0} ms，加密（{} 核并行）{:.0} ms，其余（查重等）约 {:.0} ms",
        ms(read),
        ms(validate),
        cores(),
        ms(seal),
        ms(lookup)
    );
    println!("    store_upload（入库）       {:>8.0} ms", ms(stored));
    println!("  导入 / calamine = {:.2} 倍", total.as_secs_f64() / read_only.as_secs_f64());
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// monitor

async fn monitor(args: MonitorArgs) -> Result<()> {
    println!("\n== 远程监控统计表（目标：演示数据 15 个乡镇 × 90 个村，页面 < 200 ms）==");
    let dir = tempfile::tempdir()?;
    let state = open_temp(&dir).await?;
    crate::demo::load(&state).await?;
    let (address, server) = start_server(state.clone()).await?;
    let base = format!("http://{address}");
    let client = reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build()?;
    let login = client.get(format!("{base}/staff/login")).send().await?.text().await?;
    let csrf = login
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .context("登录页缺少 csrf 字段")?
        .to_owned();
    let answer = client
        .post(format!("{base}/staff/login"))
        .form(&[("csrf", csrf.as_str()), ("username", "jiwei"), ("password", crate::demo::DEMO_PASSWORD)])
        .send()
        .await?;
    if answer.status() != reqwest::StatusCode::SEE_OTHER {
        bail!("演示账号 jiwei 登录失败：{}", answer.status());
    }
    println!("每个页面预热 1 次后顺序请求 {} 次：", args.requests);
    for (label, path) in [
        ("各乡镇统计表 /staff/monitor", "/staff/monitor".to_owned()),
        ("广至藏族乡各村 /staff/monitor/townships/620922214", "/staff/monitor/townships/620922214".to_owned()),
    ] {
        let url = format!("{base}{path}");
        let mut timings = Vec::with_capacity(args.requests);
        for i in 0..=args.requests {
            let started = Instant::now();
            let page = client.get(&url).send().await?;
            if !page.status().is_success() {
                bail!("{path} 返回 {}", page.status());
            }
            let html = page.text().await?;
            if !html.contains("id=\"figures\"") {
                bail!("{path} 缺少统计表");
            }
            if i > 0 {
                timings.push(started.elapsed());
            }
        }
        let p = percentiles(&mut timings);
        println!("  {label}：p50 {:.1} ms  p95 {:.1} ms  最长 {:.1} ms", ms(p.p50), ms(p.p95), ms(p.max));
    }
    server.stop().await;
    state.store().close().await;
    Ok(())
}
