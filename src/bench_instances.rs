//! `xiaowei bench instances`: what a second server instance on the same PostgreSQL adds. The
//! demo is loaded into a database of the benchmark's own on the given server (created here and
//! dropped at the end); instances are separate `xiaowei serve` processes of this binary, each
//! with one tokio worker thread and, on a machine of two or more cores, pinned to a core of its
//! own with `taskset` (instance one on core 0, instance two on core 1), and limited by a cgroup
//! to half a core each (`--cpu`). The load generator of `bench.rs` runs in this process and
//! PostgreSQL in its own, neither pinned nor limited: both have the rest of the machine in either
//! configuration, so the comparison measures the instances. It loads a mix of
//! public pages drawn from the whole demo (found by following the links from the county page)
//! through one instance, then with the connections split between two, and prints req/s,
//! p50/p99 and the ratio.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Args;
use rand::Rng;
use xiaowei_server::Config;
use xiaowei_store::Store;

use crate::bench::{cores, drive, ms, percentiles};

#[derive(Args)]
pub struct InstancesArgs {
    /// PostgreSQL server (no database name): the benchmark creates a database of its own there
    /// and drops it at the end
    #[arg(default_value = "postgres://postgres@127.0.0.1:5432")]
    server: String,
    /// Seconds of load per configuration (after 2 s of warm-up)
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Concurrent keep-alive connections, split evenly between the instances
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// Leave the instances unpinned (each still has one tokio worker thread)
    #[arg(long)]
    no_pin: bool,
    /// CPU each instance may use, in cores, enforced by a Linux cgroup (`cpu.cfs_quota_us`);
    /// 0 for no limit
    #[arg(long, default_value_t = 0.5)]
    cpu: f64,
}

/// Pages of the mix at most.
const MAX_PAGES: usize = 3_000;
/// Pages fetched at once while finding the mix.
const CRAWL_AT_ONCE: usize = 16;
/// Warm-up before each measurement (fills the instances' page caches).
const WARM_UP: Duration = Duration::from_secs(2);

pub async fn instances(args: InstancesArgs) -> Result<()> {
    println!("\n== 多实例：同一 PostgreSQL 上两个实例对一个实例的公开页面吞吐量（目标：≥ 1.6×）==");
    let server = args.server.trim_end_matches('/').to_owned();
    let admin = Store::connect(&format!("{server}/postgres")).await.context("无法连接 PostgreSQL")?;
    let name = format!("xw_bench_instances_{:016x}", rand::thread_rng().r#gen::<u64>());
    admin.create_database(&name).await.context("无法创建基准测试数据库")?;
    let outcome = measure_on(&args, &format!("{server}/{name}"), &name).await;
    let dropped = admin.drop_database(&name).await;
    admin.close().await;
    outcome?;
    dropped.context("无法删除基准测试数据库")?;
    Ok(())
}

async fn measure_on(args: &InstancesArgs, url: &str, name: &str) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let started = Instant::now();
    let config =
        Config { data_dir: dir.path().to_path_buf(), database_url: Some(url.to_owned().into()), ..Config::default() };
    let state = crate::open(&config).await?;
    crate::demo::load(&state).await?;
    state.store().close().await;
    println!("演示数据载入新数据库 {name}：{:.0} 秒", started.elapsed().as_secs_f64());

    let pin = !args.no_pin && cores() >= 2;
    let quota = (args.cpu > 0.0).then_some(args.cpu);
    let one = Instance::start(dir.path(), url, pin.then_some(0), quota, "instance-1")?;
    let client = reqwest::Client::builder().pool_max_idle_per_host(args.connections).build()?;
    let (paths, kinds) = page_mix(&client, &one.base).await?;
    let kinds: Vec<String> = kinds.iter().map(|(kind, n)| format!("{kind} {n}")).collect();
    println!("页面组合：{} 个公开页面（{}），请求 gzip 压缩", paths.len(), kinds.join("，"));
    if pin {
        println!("实例为独立进程，各 1 个 tokio 工作线程，用 taskset 绑核：实例一在核 0，实例二在核 1；");
    } else {
        println!("实例为独立进程，各 1 个 tokio 工作线程，不绑核；");
    }
    if let Some(cpu) = quota {
        println!(
            "每个实例经 cgroup 限用 {cpu} 个核心，两种配置下负载生成器与 PostgreSQL 都有余下的核心可用，\
             比较的是实例本身的扩展；"
        );
    }
    println!(
        "负载生成器（本进程）与 PostgreSQL 不绑核，与实例共用 {} 个核心。{} 个并发长连接，预热 {} 秒后压测 {} 秒：",
        cores(),
        args.connections,
        WARM_UP.as_secs(),
        args.seconds
    );
    let on = |base: &str| std::sync::Arc::new(paths.iter().map(|p| format!("{base}{p}")).collect::<Vec<_>>());
    let single = load("一个实例", &[on(&one.base)], args).await?;
    let two = Instance::start(dir.path(), url, pin.then_some(1), quota, "instance-2")?;
    let double = load("两个实例（连接各半）", &[on(&one.base), on(&two.base)], args).await?;
    println!("  两个实例 / 一个实例 = {:.2}×", double / single);
    drop(two);
    drop(one);
    Ok(())
}

/// Warms up, loads `targets` for the run's seconds and prints the figures; returns req/s.
async fn load(label: &str, targets: &[std::sync::Arc<Vec<String>>], args: &InstancesArgs) -> Result<f64> {
    drive(targets, args.connections, WARM_UP, true, false).await?;
    let mut run = drive(targets, args.connections, Duration::from_secs(args.seconds), true, false).await?;
    let per_second = run.per_second();
    let count = run.timings.len();
    let average = run.bytes / (count as u64).max(1);
    let p = percentiles(&mut run.timings);
    println!(
        "  {label:<12} {per_second:>8.0} 次/秒  p50 {:.2} ms  p99 {:.2} ms  （{count} 次，失败 {}，平均响应 {average} 字节）",
        ms(p.p50),
        ms(p.p99),
        run.failures
    );
    Ok(per_second)
}

/// A `xiaowei serve` process on the benchmark's database, killed when dropped.
struct Instance {
    child: Child,
    base: String,
    /// The cgroup limiting its CPU, removed when dropped.
    cgroup: Option<std::path::PathBuf>,
    /// Kept open: the process's standard output, after the line naming its address.
    _stdout: BufReader<ChildStdout>,
}

impl Instance {
    /// Starts an instance on `url` with the keys in `dir`, on `core` if given, limited to `cpu`
    /// cores if given, and waits until it names the address it listens on.
    fn start(dir: &Path, url: &str, core: Option<usize>, cpu: Option<f64>, name: &str) -> Result<Self> {
        let exe = std::env::current_exe()?;
        let mut command = match core {
            Some(core) => {
                let mut taskset = Command::new("taskset");
                taskset.arg("-c").arg(core.to_string()).arg(exe);
                taskset
            }
            None => Command::new(exe),
        };
        let log = std::fs::File::create(dir.join(format!("{name}.log")))?;
        command
            .arg("serve")
            .current_dir(dir)
            .env_remove("DATABASE_URL")
            .env_remove("XIAOWEI_CONFIG")
            .env("XIAOWEI_DATABASE_URL", url)
            .env("XIAOWEI_DATA_DIR", dir)
            .env("XIAOWEI_LISTEN", "127.0.0.1:0")
            .env("XIAOWEI_WORKERS", "false")
            .env("XIAOWEI_LOG", "warn")
            .env("TOKIO_WORKER_THREADS", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log);
        let mut child = command.spawn().context("无法启动实例（需要 taskset，或加 --no-pin）")?;
        let cgroup = match cpu.map(|cpu| limit_cpu(child.id(), cpu, name)).transpose() {
            Ok(cgroup) => cgroup,
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(
                    e.context("无法用 cgroup 限制实例的 CPU（需要 root 和 cgroup v1 的 cpu 控制器，或加 --cpu 0）")
                );
            }
        };
        let Some(stdout) = child.stdout.take() else {
            let _ = child.kill();
            bail!("实例没有标准输出");
        };
        let mut stdout = BufReader::new(stdout);
        let mut line = String::new();
        loop {
            line.clear();
            if stdout.read_line(&mut line)? == 0 {
                let _ = child.kill();
                let _ = child.wait();
                bail!("实例未能启动，见 {}", dir.join(format!("{name}.log")).display());
            }
            if let Some(at) = line.find("http://") {
                let base = line[at..].split_whitespace().next().unwrap_or_default().trim_end_matches('/').to_owned();
                return Ok(Self { child, base, cgroup, _stdout: stdout });
            }
        }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(cgroup) = &self.cgroup {
            let _ = std::fs::remove_dir(cgroup);
        }
    }
}

/// Moves process `pid` (all its threads) into a new cgroup allowed `cpu` cores: `cpu` × 100 ms of
/// CPU time in every 100 ms period.
fn limit_cpu(pid: u32, cpu: f64, name: &str) -> Result<std::path::PathBuf> {
    const PERIOD_US: u32 = 100_000;
    let cgroup = Path::new("/sys/fs/cgroup/cpu").join(format!("xiaowei-bench-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&cgroup)?;
    std::fs::write(cgroup.join("cpu.cfs_period_us"), PERIOD_US.to_string())?;
    std::fs::write(cgroup.join("cpu.cfs_quota_us"), format!("{:.0}", cpu * f64::from(PERIOD_US)))?;
    std::fs::write(cgroup.join("cgroup.procs"), pid.to_string())?;
    Ok(cgroup)
}

/// The public pages of the mix, found by following links from the county page, and how many of
/// each kind.
async fn page_mix(client: &reqwest::Client, base: &str) -> Result<(Vec<String>, BTreeMap<&'static str, usize>)> {
    let mut seen: BTreeSet<String> = BTreeSet::from(["/".to_owned()]);
    let mut queue = VecDeque::from(["/".to_owned()]);
    let (mut mix, mut kinds) = (Vec::new(), BTreeMap::new());
    while !queue.is_empty() && mix.len() < MAX_PAGES {
        let mut fetches = tokio::task::JoinSet::new();
        for path in queue.drain(..queue.len().min(CRAWL_AT_ONCE)) {
            let (client, url) = (client.clone(), format!("{base}{path}"));
            fetches.spawn(async move {
                let page = match client.get(&url).send().await {
                    Ok(r) if r.status().is_success() => r.text().await.ok(),
                    _ => None,
                };
                (path, page)
            });
        }
        while let Some(fetched) = fetches.join_next().await {
            let (path, page) = fetched?;
            let (Some(html), Some(kind)) = (page, kind_of(&path)) else { continue };
            if mix.len() < MAX_PAGES {
                mix.push(path);
                *kinds.entry(kind).or_insert(0) += 1;
            }
            for link in links(&html) {
                if kind_of(&link).is_some() && seen.insert(link.clone()) {
                    queue.push_back(link);
                }
            }
        }
    }
    if mix.len() < 2 {
        bail!("演示数据的公开页面没有找到（只找到 {} 个）", mix.len());
    }
    Ok((mix, kinds))
}

/// The site-relative links of a page.
fn links(html: &str) -> impl Iterator<Item = String> + '_ {
    html.split("href=\"").skip(1).filter_map(|rest| {
        let link = rest.split('"').next()?;
        link.starts_with('/').then(|| link.replace("&amp;", "&"))
    })
}

/// The kind of a public page the mix holds, or `None` for any other link (staff pages, forms,
/// downloads, the ledger, pages with other query parameters).
fn kind_of(link: &str) -> Option<&'static str> {
    let (path, query) = link.split_once('?').unwrap_or((link, ""));
    if !query.is_empty() && !query.split('&').all(|p| p.starts_with("village=") || p.starts_with("t=")) {
        return None;
    }
    let code = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match segments.as_slice() {
        [""] => Some("县"),
        ["t", t] if code(t) => Some("乡镇"),
        ["t", t, "v", v] if code(t) && code(v) => Some("村"),
        ["t", t, "subsidies" | "disclosures" | "services"] if code(t) => Some("栏目"),
        ["rosters", id] if code(id) => Some("花名册"),
        ["disclosures", id] if code(id) => Some("公开事项"),
        ["services", id] if code(id) => Some("办事事项"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::{kind_of, links};

    #[test]
    fn the_mix_holds_public_pages_only() {
        for (link, kind) in [
            ("/", Some("县")),
            ("/t/620922100", Some("乡镇")),
            ("/t/620922100/v/620922100200", Some("村")),
            ("/t/620922100/subsidies?village=620922100200", Some("栏目")),
            ("/rosters/12", Some("花名册")),
            ("/disclosures/3", Some("公开事项")),
            ("/services/7?t=620922100", Some("办事事项")),
            ("/rosters/12?page=2", None),
            ("/rosters/12/export.xlsx", None),
            ("/services/7/apply?t=620922100", None),
            ("/staff/login", None),
            ("/t/620922100/self-query", None),
            ("/ledger", None),
        ] {
            assert_eq!(kind_of(link), kind, "{link}");
        }
        let html = r#"<a href="/t/1?village=2&amp;t=3">x</a><a href="https://example.com/">y</a><a href="/">z</a>"#;
        assert_eq!(links(html).collect::<Vec<_>>(), ["/t/1?village=2&t=3", "/"]);
    }
}
