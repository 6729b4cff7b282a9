//! Demo visit history for the monitor: 60 days of page views per township and village, by menu
//! and channel, with daily unique visitors already closed, so the figures and charts have
//! something to show. 广至乡's 60 days add up to the 16,717 visits the county reported for it.
//! Loading twice does not add twice: history already there is left alone.

use anyhow::Result;
use xiaowei_core::OrgLevel;
use xiaowei_core::monitor::{Channel, Menu, shanghai_day};
use xiaowei_server::AppState;
use xiaowei_store::{UniqueVisitor, VisitIncrement};

use crate::demo::Lcg;

const DAYS: i64 = 60;
const GUANGZHI: &str = "620922214";
const GUANGZHI_VISITS: i64 = 16_717;

pub async fn load(state: &AppState) -> Result<()> {
    let store = state.store();
    let now = state.now();
    let first = shanghai_day(now - DAYS * 86_400).to_string();
    let today = shanghai_day(now).to_string();
    let tomorrow = shanghai_day(now + 86_400).to_string();
    if !store.visits_by_day("620922", &first, &tomorrow).await?.is_empty() {
        println!("访问记录已存在，未重复生成。");
        return Ok(());
    }
    let mut rng = Lcg(20_201_120);
    let mut increments = Vec::new();
    let mut visitors = Vec::new();
    for township in store.orgs_at_level(OrgLevel::Township).await? {
        let villages = store.child_orgs(&township.code).await?;
        let daily = if township.code == GUANGZHI { GUANGZHI_VISITS / DAYS } else { 60 + rng.next(180) as i64 };
        let mut total = 0;
        for back in (0..DAYS).rev() {
            let day = shanghai_day(now - back * 86_400).to_string();
            let views = (daily * (80 + rng.next(41) as i64) / 100).max(1);
            let mut left = if township.code == GUANGZHI && back == 0 { GUANGZHI_VISITS - total } else { views };
            total += left;
            while left > 0 {
                let n = (1 + rng.next(12) as i64).min(left);
                left -= n;
                let org = match villages.len() {
                    0 => &township.code,
                    len => match rng.next(10) {
                        0..=2 => &township.code,
                        _ => &villages[rng.next(len)].code,
                    },
                };
                let menu = Menu::ALL[rng.next(Menu::ALL.len())];
                let channel = match rng.next(10) {
                    0..=6 => Channel::Wechat,
                    7 | 8 => Channel::Browser,
                    _ => Channel::Kiosk,
                };
                increments.push(VisitIncrement { day: day.clone(), org_code: org.clone(), menu, channel, count: n });
                // About one visitor for every three views, counted at the page's org and its township.
                for k in 0..(n + 2) / 3 {
                    let visitor = format!("demo-{}-{}-{k}", rng.next(1_000_000), n);
                    for code in [org, &township.code] {
                        visitors.push(UniqueVisitor {
                            day: day.clone(),
                            org_code: code.clone(),
                            visitor: visitor.clone(),
                        });
                    }
                }
            }
        }
    }
    store.add_visits(&increments, &visitors).await?;
    store.close_visit_days(&today).await?;
    let views: i64 = increments.iter().map(|i| i.count).sum();
    println!("访问记录已生成：近{DAYS}日 {views} 次访问（广至乡 {GUANGZHI_VISITS} 次）。");
    Ok(())
}
