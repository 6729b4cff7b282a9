//! Demo 大数据比对: screening settings for 高龄补贴 and 低保, a published 高龄补贴 roster of
//! 卓园村 with four planted anomalies (a dead payee, a payee on the public payroll, one too young
//! and one paid above the standard), small registries (household register, deaths, payroll),
//! one elderly villager registered but not paid (a 政策找人 lead), and a first screening run, so
//! the commission's pages have hits to handle. Loading is repeatable.

use anyhow::{Result, anyhow};
use jiff::civil::Date;
use xiaowei_core::registry::RegistryKind;
use xiaowei_core::resident_id::check_char;
use xiaowei_core::roster::RosterLine;
use xiaowei_core::subsidy::{self, RosterAction, RosterStatus};
use xiaowei_core::{Fen, ResidentId};
use xiaowei_server::AppState;
use xiaowei_store::{NewAuditEntry, NewRoster, ScreeningSettings};

const ZHUOYUAN: &str = "620922214200";
const PROGRAMME: &str = "高龄补贴";
/// 高龄补贴's standard in the demo programmes: 1,200 yuan a year.
const STANDARD_FEN: i64 = 120_000;

fn resident(born: &str, sequence: usize) -> Result<ResidentId> {
    let body = format!("620922{born}{sequence:03}");
    let mut digits = [0u32; 17];
    for (slot, c) in digits.iter_mut().zip(body.chars()) {
        *slot = c.to_digit(10).unwrap_or(0);
    }
    Ok(ResidentId::parse(&format!("{body}{}", check_char(&digits)))?)
}

async fn import(state: &AppState, kind: RegistryKind, header: &str, rows: &[String]) -> Result<()> {
    let text = format!("{header}\n{}\n", rows.join("\n"));
    let check =
        xiaowei_server::app::screening::check_file(kind, text.as_bytes()).map_err(|e| anyhow!(e.to_string()))?;
    let audit = NewAuditEntry {
        at: state.now(),
        actor_id: None,
        actor_name: "演示数据".into(),
        action: "registry.import".into(),
        target: format!("registry:{}", kind.as_str()),
        detail: format!("演示{}：{} 条", kind.label(), check.lines.len()),
        ip: "local".into(),
        org_code: None,
    };
    xiaowei_server::app::screening::import_registry(
        state,
        kind,
        false,
        &check,
        "演示数据.csv",
        (None, "演示数据"),
        audit,
    )
    .await
    .map_err(|e| anyhow!(e.to_string()))?;
    Ok(())
}

pub async fn load(state: &AppState) -> Result<()> {
    let store = state.store();
    if !store.registry_sizes().await?.is_empty() {
        println!("大数据比对演示数据已存在，未重复导入。");
        return Ok(());
    }
    let now = state.now();
    let programme =
        store.find_programme_by_name(PROGRAMME).await?.ok_or_else(|| anyhow!("演示项目{PROGRAMME}不存在"))?.id;
    if let Some(dibao) = store.find_programme_by_name("城乡居民最低生活保障").await? {
        let settings = ScreeningSettings {
            excludes_payroll: true,
            discretionary: true,
            asset_test: true,
            ..ScreeningSettings::default()
        };
        store.set_programme_screening(dibao.id, &settings).await?;
    }
    let settings = ScreeningSettings { excludes_payroll: true, min_age: Some(80), ..ScreeningSettings::default() };
    store.set_programme_screening(programme, &settings).await?;

    let names = ["马福海", "张桂兰", "李德全", "王秀珍", "赵永年", "陈玉梅", "杨守义", "周凤英", "吴正清", "孙翠花"];
    let mut people: Vec<(String, ResidentId, i64)> = Vec::new();
    for (i, name) in names.iter().enumerate() {
        people.push((
            (*name).to_owned(),
            resident(&format!("19{}0{}15", 30 + i % 10, 1 + i % 9), i + 1)?,
            STANDARD_FEN,
        ));
    }
    let dead = ("刘长寿".to_owned(), resident("19380506", 41)?, STANDARD_FEN);
    let payroll = ("郭建民".to_owned(), resident("19420808", 42)?, STANDARD_FEN);
    let young = ("胡春生".to_owned(), resident("19560303", 43)?, STANDARD_FEN);
    let above = ("罗桂芝".to_owned(), resident("19391111", 44)?, STANDARD_FEN + 60_000);
    let missed = ("何老太".to_owned(), resident("19351225", 45)?);
    let mut households: Vec<String> = people
        .iter()
        .chain([&dead, &payroll, &young, &above])
        .enumerate()
        .map(|(i, (name, id, _))| format!("ZY{:03},{name},{},{ZHUOYUAN}", i + 1, id.expose()))
        .collect();
    households.push(format!("ZY099,{},{},{ZHUOYUAN}", missed.0, missed.1.expose()));
    import(state, RegistryKind::Households, "户号,姓名,身份证号,村代码", &households).await?;
    import(
        state,
        RegistryKind::Deaths,
        "姓名,身份证号,死亡日期",
        &[format!("{},{},2024-09-12", dead.0, dead.1.expose())],
    )
    .await?;
    import(
        state,
        RegistryKind::Payroll,
        "姓名,身份证号,工作单位",
        &[format!("{},{},县供销社", payroll.0, payroll.1.expose())],
    )
    .await?;

    people.extend([dead, payroll, young, above]);
    let entries: Vec<_> = people
        .iter()
        .zip(1..)
        .map(|((name, id, fen), row)| {
            let line = RosterLine {
                row,
                name: name.clone(),
                resident_id: id.clone(),
                amount: Fen::new(*fen).unwrap_or_default(),
                group: Some("一组".into()),
                account: None,
                note: None,
            };
            xiaowei_server::app::rosters::seal_line(state.cipher(), &line)
        })
        .collect();
    let clerk = store.find_staff_by_username("zhuoyuan").await?.ok_or_else(|| anyhow!("演示账号 zhuoyuan 不存在"))?.id;
    let reviewer = store
        .find_staff_by_username("guangzhi-shenhe")
        .await?
        .ok_or_else(|| anyhow!("演示账号 guangzhi-shenhe 不存在"))?
        .id;
    let year = xiaowei_server::web::dates::shanghai_date(now).year();
    let roster = NewRoster {
        programme_id: programme,
        org_code: ZHUOYUAN.into(),
        year: i64::from(year),
        period: format!("{year}年度（新增）"),
        phase: xiaowei_core::subsidy::Phase::Proposed,
        settles_id: None,
        supersedes_id: None,
        correction_reason: None,
        paid_on: None,
        created_by: clerk,
    };
    let id = store.create_roster(&roster, &entries, now).await?;
    store
        .change_roster_status(id, subsidy::transition(RosterStatus::Draft, RosterAction::Submit)?, None, clerk, now)
        .await?;
    let start = xiaowei_server::web::dates::shanghai_date(now);
    let end = start.checked_add(jiff::Span::new().days(6)).unwrap_or(Date::MAX);
    store.publish_roster(id, Some((&start.to_string(), &end.to_string())), None, reviewer, now).await?;
    let outcome = xiaowei_server::app::screening::run(state, None, now).await.map_err(|e| anyhow!(e.to_string()))?;
    let leads = xiaowei_server::app::screening::refresh_outreach(state, i32::from(year), now)
        .await
        .map_err(|e| anyhow!(e.to_string()))?;
    println!(
        "大数据比对演示：比对 {} 条花名册记录，线索 {} 条，政策找人 {leads} 人次。",
        outcome.entries, outcome.summary.hits
    );
    Ok(())
}
