//! `xiaowei bench pages`: every public page type under a crowd of villagers, against the machine's
//! HTTP limit measured in the same run.
//!
//! The demo data is loaded into a fresh SQLite folder (as `xiaowei demo` does) and the real server
//! started in this process. The limit is a bare axum route answering `hello` on its own listener
//! (no middleware, no database): what this machine's HTTP stack and the load generator can do.
//! The public pages are found by following every link from the county page (so every roster with
//! every page number and print view, every disclosure, power item and record, service item, and
//! every township's and village's section lists), plus searches for words drawn from the titles
//! of real content. Each page type is then loaded with many keep-alive connections, each request
//! to one of that type's URLs drawn at random, asking for gzip and keeping cookies as browsers
//! do; the figures are req/s, p50, p99 and the ratio to the hello route, measured right before
//! and right after the type. The target (≥ 35 % of
//! the limit, p99 ≤ 10 ms) counts as met only if the hardest page type meets it.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Result, bail};
use clap::Args;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::bench::{LoadShape, Measured, measure, ms, open_temp, start_server};

#[derive(Args)]
pub struct PagesArgs {
    /// Seconds of load per page type (after one second of warm-up)
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Concurrent keep-alive connections
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Search words drawn from the titles of the demo's content
    #[arg(long, default_value_t = 300)]
    words: usize,
}

/// The target: each page type's share of the hello route, and its p99.
const TARGET_RATIO: f64 = 0.35;
const TARGET_P99: Duration = Duration::from_millis(10);
/// Pages the crawl follows at most.
const MAX_PAGES: usize = 50_000;
/// Pages fetched at once while crawling.
const CRAWLERS: usize = 16;

/// The public page types, in the order they are measured.
const KINDS: [&str; 12] = [
    "县首页",
    "乡镇页",
    "村页",
    "栏目列表",
    "花名册",
    "公示公开",
    "权力事项",
    "权力运行记录",
    "服务事项",
    "留言公开",
    "办件公开",
    "搜索",
];

/// The page type of a path, if it is a public page measured here.
fn kind_of(path: &str) -> Option<&'static str> {
    let (path, _) = path.split_once('?').unwrap_or((path, ""));
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let numeric = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    match parts.as_slice() {
        [""] => Some("县首页"),
        ["t", t] if numeric(t) => Some("乡镇页"),
        ["t", t, "v", v] if numeric(t) && numeric(v) => Some("村页"),
        ["t", t, "subsidies" | "disclosures" | "powers" | "services"] if numeric(t) => Some("栏目列表"),
        ["t", t, "messages"] if numeric(t) => Some("留言公开"),
        ["rosters", id] if numeric(id) => Some("花名册"),
        ["disclosures", id] if numeric(id) => Some("公示公开"),
        ["powers", id] if numeric(id) => Some("权力事项"),
        ["power-records", id] if numeric(id) => Some("权力运行记录"),
        ["services", id] if numeric(id) => Some("服务事项"),
        ["board"] => Some("办件公开"),
        _ => None,
    }
}

/// The site-relative links of a page, with `&amp;` undone.
fn links(html: &str) -> Vec<String> {
    html.split("href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .filter(|href| href.starts_with('/') && !href.starts_with("//"))
        .map(|href| href.split('#').next().unwrap_or_default().replace("&amp;", "&"))
        .collect()
}

/// The texts of links to content pages (roster, disclosure, power and service titles).
fn titles(html: &str) -> Vec<String> {
    html.split("<a href=\"")
        .skip(1)
        .filter(|rest| ["/rosters/", "/disclosures/", "/powers/", "/services/"].iter().any(|p| rest.starts_with(p)))
        .filter_map(|rest| rest.split_once('>').and_then(|(_, text)| text.split('<').next()))
        .map(str::to_owned)
        .collect()
}

/// Everything the crawl found: URLs per page type, township codes, and content titles.
struct Site {
    urls: BTreeMap<&'static str, Vec<String>>,
    townships: Vec<String>,
    titles: Vec<String>,
    /// Links that did not answer 200.
    broken: Vec<String>,
}

/// Follows every public link from the county page.
async fn crawl(base: &str) -> Result<Site> {
    let client = reqwest::Client::builder().pool_max_idle_per_host(CRAWLERS).build()?;
    let gate = Arc::new(Semaphore::new(CRAWLERS));
    let mut seen: HashSet<String> = HashSet::from(["/".to_owned()]);
    let mut frontier = vec!["/".to_owned()];
    let mut site = Site { urls: BTreeMap::new(), townships: Vec::new(), titles: Vec::new(), broken: Vec::new() };
    let mut titles = BTreeSet::new();
    while !frontier.is_empty() {
        let mut tasks = Vec::with_capacity(frontier.len());
        for path in frontier.drain(..) {
            let (client, gate, url) = (client.clone(), Arc::clone(&gate), format!("{base}{path}"));
            tasks.push(tokio::spawn(async move {
                let _permit = gate.acquire_owned().await?;
                let page = client.get(&url).send().await?;
                if !page.status().is_success() {
                    return Ok::<_, anyhow::Error>(Err(format!("{path}（{}）", page.status())));
                }
                Ok(Ok((path, page.text().await?)))
            }));
        }
        for task in tasks {
            let (path, html) = match task.await?? {
                Ok(page) => page,
                Err(broken) => {
                    site.broken.push(broken);
                    continue;
                }
            };
            let kind = kind_of(&path).unwrap_or("其他");
            site.urls.entry(kind).or_default().push(format!("{base}{path}"));
            if kind == "乡镇页" {
                site.townships.push(path.trim_start_matches("/t/").to_owned());
            }
            titles.extend(titles_of(&html));
            for link in links(&html) {
                if kind_of(&link).is_some() && seen.len() < MAX_PAGES && seen.insert(link.clone()) {
                    frontier.push(link);
                }
            }
        }
    }
    site.titles = titles.into_iter().collect();
    Ok(site)
}

fn titles_of(html: &str) -> Vec<String> {
    titles(html).into_iter().map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()).collect()
}

/// `count` search words: two to four characters cut at random from content titles, Chinese only.
fn search_words(titles: &[String], count: usize) -> Vec<String> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(20_260_601);
    let mut words = BTreeSet::new();
    let runs: Vec<Vec<char>> = titles
        .iter()
        .flat_map(|t| t.split(|c: char| !('\u{4e00}'..='\u{9fff}').contains(&c)))
        .map(|run| run.chars().collect::<Vec<char>>())
        .filter(|run| run.len() >= 2)
        .collect();
    for _ in 0..count * 20 {
        if words.len() >= count {
            break;
        }
        let Some(run) = runs.choose(&mut rng) else { break };
        let len = rng.gen_range(2..=4usize).min(run.len());
        let start = rng.gen_range(0..=run.len() - len);
        words.insert(run[start..start + len].iter().collect::<String>());
    }
    words.into_iter().collect()
}

/// A bare axum route answering `hello`, on its own listener: the machine's HTTP limit.
async fn start_hello() -> Result<(String, tokio::task::JoinHandle<()>)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let router = axum::Router::new().route("/", axum::routing::get(|| async { "hello" }));
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            eprintln!("hello 路由异常退出：{e}");
        }
    });
    Ok((format!("http://{address}/"), task))
}

pub async fn pages(args: PagesArgs) -> Result<()> {
    println!(
        "\n== 公开页面（目标：每类页面 ≥ 同一次运行中裸 hello 路由吞吐量的 {:.0}%，p99 ≤ {} ms，SQLite）==",
        TARGET_RATIO * 100.0,
        TARGET_P99.as_millis()
    );
    let dir = tempfile::tempdir()?;
    let state = open_temp(&dir).await?;
    crate::demo::load(&state).await?;
    let (address, server) = start_server(state.clone()).await?;
    let base = format!("http://{address}");
    let site = crawl(&base).await?;
    if !site.broken.is_empty() {
        println!("  {} 个链接未返回 200，不计入：{}", site.broken.len(), site.broken.join("、"));
    }
    let words = search_words(&site.titles, args.words);
    if site.townships.is_empty() || words.is_empty() {
        bail!("演示数据中没有找到乡镇或可搜索的标题");
    }
    let mut urls = site.urls;
    let mut rng = rand::thread_rng();
    let searches = words
        .iter()
        .map(|w| {
            let township = &site.townships[rng.gen_range(0..site.townships.len())];
            reqwest::Url::parse_with_params(&format!("{base}/t/{township}/search"), &[("q", w)]).map(String::from)
        })
        .collect::<Result<Vec<_>, _>>()?;
    urls.insert("搜索", searches);
    let (hello, hello_task) = start_hello().await?;
    let shape = LoadShape { connections: args.connections, seconds: args.seconds, gzip: true, cookies: true };
    println!(
        "{} 个并发长连接，请求 gzip；每类页面预热 1 秒后压测 {} 秒，每次请求随机取该类的一个地址：",
        args.connections, args.seconds
    );
    // The hello route is measured before the first page type, between every two and after the
    // last, and each type is compared with the mean of the two runs around it: the machine's
    // speed drifts during a run of several minutes, and so the ratio compares like with like.
    let mut limit = measure("裸 hello 路由", std::slice::from_ref(&hello), shape).await?;
    let mut rows: Vec<(&str, usize, Measured, f64)> = Vec::new();
    for kind in KINDS {
        let Some(list) = urls.get(kind).filter(|l| !l.is_empty()) else {
            println!("  {kind}：演示数据中没有这类页面");
            continue;
        };
        let label = format!("{kind}（{} 个地址）", list.len());
        let measured = measure(&label, list, shape).await?;
        let after = measure("裸 hello 路由", std::slice::from_ref(&hello), shape).await?;
        rows.push((kind, list.len(), measured, (limit.per_second + after.per_second) / 2.0));
        limit = after;
    }
    hello_task.abort();
    server.stop().await;
    state.store().close().await;

    println!("\n  页面类型        地址数      次/秒  前后 hello   占 hello   p50 ms   p99 ms  达标");
    let mut hardest: Option<(&str, f64)> = None;
    for (kind, count, m, hello) in &rows {
        let ratio = m.per_second / hello;
        let met = ratio >= TARGET_RATIO && m.p99 <= TARGET_P99 && m.failures == 0;
        println!(
            "  {kind:<12} {count:>8} {:>10.0} {hello:>10.0} {:>9.1}% {:>8.2} {:>8.2}  {}",
            m.per_second,
            ratio * 100.0,
            ms(m.p50),
            ms(m.p99),
            if met { "是" } else { "否" }
        );
        if hardest.is_none_or(|(_, r)| ratio < r) {
            hardest = Some((kind, ratio));
        }
    }
    let all_met = rows
        .iter()
        .all(|(_, _, m, hello)| m.per_second / hello >= TARGET_RATIO && m.p99 <= TARGET_P99 && m.failures == 0);
    if let Some((kind, ratio)) = hardest {
        println!(
            "  最难的一类：{kind}，{:.1}%；目标{}",
            ratio * 100.0,
            if all_met { "达成（每类页面均达标）" } else { "未达成" }
        );
    }
    Ok(())
}
