//! `xiaowei bench hostile`: what an anonymous flood and hostile uploads cost the server. The real
//! server runs in this process; while a prober fetches public pages, it measures (a) a flood of
//! anonymous logins with random usernames and (b) spreadsheet bombs uploaded by a village clerk,
//! printing the process's resident memory (sampled VmRSS peak and VmHWM from /proc/self/status)
//! and the public pages' latency. The load generator shares the process and the machine, so its
//! own memory and CPU are in the figures too.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Args;
use rand::Rng;
use xiaowei_core::Role;
use xiaowei_server::AppState;
use xiaowei_store::NewStaffUser;

use crate::bench::{ms, open_temp, page_roster, percentiles, start_server, village_code};

#[derive(Args)]
pub struct HostileArgs {
    /// Seconds of the login flood
    #[arg(long, default_value_t = 60)]
    seconds: u64,
    /// Concurrent connections of the login flood
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Bytes each spreadsheet bomb's shared strings inflate to, in MiB
    #[arg(long, default_value_t = 1024)]
    bomb_mib: usize,
}

const CLERK: &str = "bench-clerk";
const CLERK_PASSWORD: &str = "bench-clerk-password";

/// The current and peak resident memory of this process, in MiB, from /proc/self/status.
fn memory() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Fetches public pages one after another, and samples memory, until stopped.
struct Probe {
    stop: Arc<AtomicBool>,
    peak_rss_kib: Arc<AtomicU64>,
    pages: tokio::task::JoinHandle<(Vec<Duration>, u64)>,
    sampler: tokio::task::JoinHandle<()>,
}

impl Probe {
    fn start(urls: Vec<String>) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let peak_rss_kib = Arc::new(AtomicU64::new(0));
        let client = reqwest::Client::new();
        let halt = stop.clone();
        let pages = tokio::spawn(async move {
            let (mut timings, mut failures) = (Vec::new(), 0u64);
            let mut i = 0usize;
            while !halt.load(Ordering::Relaxed) {
                let sent = Instant::now();
                let fetched = match client.get(&urls[i % urls.len()]).send().await {
                    Ok(r) if r.status().is_success() => r.bytes().await.is_ok(),
                    _ => false,
                };
                if fetched {
                    timings.push(sent.elapsed());
                } else {
                    failures += 1;
                }
                i += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            (timings, failures)
        });
        let (halt, peak) = (stop.clone(), peak_rss_kib.clone());
        let sampler = tokio::spawn(async move {
            while !halt.load(Ordering::Relaxed) {
                peak.fetch_max((memory().0 * 1024.0) as u64, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
        Self { stop, peak_rss_kib, pages, sampler }
    }

    /// Stops and prints the figures of the phase.
    async fn finish(self, label: &str) -> Result<()> {
        self.stop.store(true, Ordering::Relaxed);
        let (mut timings, failures) = self.pages.await?;
        self.sampler.await?;
        let (rss, hwm) = memory();
        let peak = self.peak_rss_kib.load(Ordering::Relaxed) as f64 / 1024.0;
        let count = timings.len();
        let p = percentiles(&mut timings);
        println!(
            "  {label}：公开页面 p50 {:.1} ms  p99 {:.1} ms  最大 {:.1} ms（{count} 次，失败 {failures}）；\
             内存 峰值 {peak:.0} MB，结束时 {rss:.0} MB，进程最高 {hwm:.0} MB",
            ms(p.p50),
            ms(p.p99),
            ms(p.max)
        );
        Ok(())
    }
}

/// The login form's CSRF token for a client with a cookie jar.
async fn csrf(client: &reqwest::Client, base: &str) -> Result<String> {
    let html = client.get(format!("{base}/staff/login")).send().await?.text().await?;
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).context("登录页没有 csrf 字段")? + marker.len();
    Ok(html[start..].split('"').next().unwrap_or_default().to_owned())
}

fn jar_client() -> Result<reqwest::Client> {
    Ok(reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build()?)
}

/// Anonymous logins with random usernames on `connections` connections for `span`; returns the
/// count of answers by status.
async fn login_flood(base: &str, connections: usize, span: Duration) -> Result<Vec<(u16, u64)>> {
    let end = Instant::now() + span;
    let mut tasks = Vec::with_capacity(connections);
    for _ in 0..connections {
        let client = jar_client()?;
        let token = csrf(&client, base).await?;
        let url = format!("{base}/staff/login");
        tasks.push(tokio::spawn(async move {
            let mut statuses: Vec<(u16, u64)> = Vec::new();
            while Instant::now() < end {
                let username = format!("u{:016x}", rand::thread_rng().r#gen::<u64>());
                let form = [("csrf", token.as_str()), ("username", &username), ("password", "not-the-password")];
                let status = client.post(&url).form(&form).send().await.map_or(0, |r| r.status().as_u16());
                match statuses.iter_mut().find(|(s, _)| *s == status) {
                    Some((_, n)) => *n += 1,
                    None => statuses.push((status, 1)),
                }
            }
            statuses
        }));
    }
    let mut all: Vec<(u16, u64)> = Vec::new();
    for task in tasks {
        for (status, n) in task.await? {
            match all.iter_mut().find(|(s, _)| *s == status) {
                Some((_, total)) => *total += n,
                None => all.push((status, n)),
            }
        }
    }
    all.sort_unstable();
    Ok(all)
}

/// A village clerk of the fixture's first village, logged in.
async fn clerk(state: &AppState, base: &str) -> Result<reqwest::Client> {
    let hash =
        xiaowei_server::staff::hash_password(CLERK_PASSWORD.to_owned()).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let user = NewStaffUser {
        username: CLERK.into(),
        display_name: "基准文书".into(),
        password_hash: hash,
        role: Role::VillageClerk,
        org_code: village_code(0),
        department_id: None,
    };
    state.store().create_staff_user(&user, state.now()).await?;
    let client = jar_client()?;
    let token = csrf(&client, base).await?;
    let form = [("csrf", token.as_str()), ("username", CLERK), ("password", CLERK_PASSWORD)];
    let answer = client.post(format!("{base}/staff/login")).form(&form).send().await?;
    if answer.status() != 303 {
        bail!("文书登录失败：{}", answer.status());
    }
    Ok(client)
}

/// Uploads `bomb` as a roster; returns the status, the time taken and whether it was refused as
/// a bomb.
async fn upload_bomb(client: reqwest::Client, base: String, programme: i64, bomb: Vec<u8>) -> (u16, Duration, bool) {
    let sent = Instant::now();
    let Ok(token) = csrf(&client, &base).await else { return (0, sent.elapsed(), false) };
    let form = reqwest::multipart::Form::new()
        .text("programme_id", programme.to_string())
        .text("org_code", village_code(0))
        .text("year", "2025")
        .text("phase", "proposed")
        .text("period", "2025年度")
        .part("file", reqwest::multipart::Part::bytes(bomb).file_name("花名册.xlsx"));
    match client.post(format!("{base}/staff/rosters/preview?csrf={token}")).multipart(form).send().await {
        Ok(r) => {
            let status = r.status().as_u16();
            let refused = r.text().await.is_ok_and(|t| t.contains("文件内容异常"));
            (status, sent.elapsed(), refused)
        }
        Err(_) => (0, sent.elapsed(), false),
    }
}

pub async fn hostile(args: HostileArgs) -> Result<()> {
    println!("\n== 恶意负载（目标：登录洪泛与表格炸弹期间内存 ≤ 256 MB / ≤ 512 MB，公开页面 p99 ≤ 100 ms）==");
    let dir = tempfile::tempdir()?;
    let state = open_temp(&dir).await?;
    let roster = page_roster(&state).await?;
    let programme = state.store().find_programme_by_name("样本补贴项目1").await?.context("没有样本项目")?.id;
    let (address, server) = start_server(state.clone()).await?;
    let base = format!("http://{address}");
    let pages = vec![format!("{base}/"), format!("{base}/rosters/{roster}")];
    for url in &pages {
        let status = reqwest::get(url).await?.status();
        if !status.is_success() {
            bail!("{url} 返回 {status}");
        }
    }
    let clerk = clerk(&state, &base).await?;
    println!("公开页面由一个探测连接每 20 ms 请求一次（首页与 50 行花名册页交替）：");

    let probe = Probe::start(pages.clone());
    tokio::time::sleep(Duration::from_secs(5)).await;
    probe.finish("空闲 5 秒").await?;

    let probe = Probe::start(pages.clone());
    let statuses = login_flood(&base, args.connections, Duration::from_secs(args.seconds)).await?;
    let label = format!("(a) 登录洪泛 {} 秒、{} 个连接", args.seconds, args.connections);
    probe.finish(&label).await?;
    let answers: Vec<String> = statuses.iter().map(|(s, n)| format!("{s}: {n}")).collect();
    println!("      洪泛的应答（状态码: 次数）：{}", answers.join("，"));

    let bomb = xiaowei_sheets::shared_strings_bomb(args.bomb_mib * 1024 * 1024)?;
    println!("  表格炸弹：{} KB 的 xlsx，共享字符串解压后 {} MB", bomb.len() / 1024, args.bomb_mib);
    let probe = Probe::start(pages);
    let uploads: Vec<_> =
        (0..2).map(|_| tokio::spawn(upload_bomb(clerk.clone(), base.clone(), programme, bomb.clone()))).collect();
    let mut results = Vec::new();
    for upload in uploads {
        results.push(upload.await?);
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    probe.finish("(b) 两个表格炸弹同时上传").await?;
    for (status, took, refused) in results {
        println!(
            "      上传应答 {status}，用时 {:.0} ms，{}",
            ms(took),
            if refused { "已拒绝（文件内容异常）" } else { "未被识别为炸弹" }
        );
    }
    server.stop().await;
    state.store().close().await;
    Ok(())
}
