//! Demo data for 我要办事: the 65 service items of `data-seed/service-items.csv` across the county
//! departments, an invented township handler for every item in every township, a phone for the
//! county supervisor's account, and a handful of applications in every state (new, overdue for
//! contact, in progress, completed and rated, reopened after 不满意, past its deadline), filed and
//! handled through the same use cases as real ones, and the 办事直通车 tiles (county-wide ones and
//! one of 广至藏族乡). Fixed form keys and tile names make loading repeatable.

use anyhow::{Context, Result};
use xiaowei_core::service::TimeLimit;
use xiaowei_core::service_links::{self, LinkInput};
use xiaowei_core::tracked::{Rating, Satisfaction};
use xiaowei_core::{OrgLevel, Phone};
use xiaowei_server::AppState;
use xiaowei_server::app::cases;
use xiaowei_server::app::phones::{self, ProvenPhone};
use xiaowei_server::app::tracked::{Filer, Official};
use xiaowei_server::web::error::AppError;
use xiaowei_store::{NewServiceItem, NewServiceLink, ServiceItem};

use crate::demo::{GIVEN, SURNAMES};

const ITEMS: &str = include_str!("../data-seed/service-items.csv");

/// 卓园村 (广至藏族乡), the village the demo applications come from.
const ZHUOYUAN: &str = "620922214200";

/// Proves a demo villager's phone at `at` the way a browser does: a code sent, then typed back.
/// Without an SMS provider (the demo's default) the code is shown instead of texted; with one,
/// the demo refuses to text invented numbers.
pub async fn proven_phone(state: &AppState, phone: &str, client: &str, at: i64) -> Result<ProvenPhone> {
    let sent = phones::send_code(state, phone, client, at).await.map_err(|e| anyhow::anyhow!(e.to_string()))?;
    let code =
        sent.shown.context("演示数据只能在未配置短信服务时载入（[sms] provider = \"log\"），以免给虚构的号码发短信")?;
    let (_, proven) =
        phones::confirm(state, &sent.token, &code, false, at + 30).await.map_err(|e| anyhow::anyhow!(e.to_string()))?;
    Ok(proven)
}

fn steps(department: &str) -> String {
    format!(
        "在线提交申请，或到乡镇便民服务中心提交\n经办人24小时内电话联系，核实情况\n乡镇经办人初审\n{department}审核审批\n办结并答复申请人，申请人评价"
    )
}

/// Loads the catalogue and the demo applications.
pub async fn load(state: &AppState) -> Result<()> {
    let store = state.store();
    let now = state.now();
    let departments = store.departments().await?;
    let townships = store.orgs_at_level(OrgLevel::Township).await?;
    let mut items = 0;
    for (line, row) in ITEMS.lines().skip(1).enumerate() {
        let cells: Vec<&str> = row.split(',').collect();
        let [department, name, limit, requires_id, fee, conditions, materials, url] = cells[..] else {
            anyhow::bail!("service-items.csv line {}: expected 8 columns", line + 2);
        };
        let department =
            departments.iter().find(|d| d.name == department).with_context(|| format!("no department {department}"))?;
        let limit = TimeLimit::parse(limit).with_context(|| format!("bad time limit {limit}"))?;
        let officer = store
            .contacts_of(department.id)
            .await?
            .into_iter()
            .find(|c| c.position == xiaowei_core::service::Recipient::CaseOfficer)
            .map(|c| c.id);
        let item = NewServiceItem {
            department_id: department.id,
            name: name.into(),
            conditions: conditions.into(),
            materials: materials.replace(';', "\n"),
            steps: steps(&department.name),
            time_limit: limit,
            fee: fee.into(),
            contact_phone: format!("0937-55{:05}", 22_000 + department.id),
            external_url: (!url.is_empty()).then(|| url.to_owned()),
            requires_id: requires_id == "1",
            officer_id: officer,
        };
        let id = store.upsert_service_item(&item, now).await?;
        for (t, township) in townships.iter().enumerate() {
            let d = usize::try_from(department.id).unwrap_or(0);
            let phone = Phone::parse(&format!("1380937{:02}{:02}", t % 100, d % 100))?;
            let name = format!("{}{}", SURNAMES[(t + d) % SURNAMES.len()], GIVEN[(t * 3 + d) % GIVEN.len()]);
            let cipher = state.cipher();
            store
                .set_service_handler(
                    id,
                    &township.code,
                    &name,
                    &cipher.encrypt(phone.expose()),
                    &cipher.blind_index("phone", phone.expose()),
                )
                .await?;
        }
        items += 1;
    }
    if let Some(supervisor) = store.find_staff_by_username("jiwei").await? {
        let phone = Phone::parse("13909370001")?;
        let cipher = state.cipher();
        store
            .set_staff_phone(
                supervisor.id,
                Some((&cipher.encrypt(phone.expose()), &cipher.blind_index("phone", phone.expose()))),
            )
            .await?;
    }
    let catalogue = store.service_items(true).await?;
    let cases = demo_cases(state, &catalogue, now).await?;
    let links = demo_links(state, now).await?;
    let marks = cases::run_clocks(state, now).await.map_err(|e| anyhow::anyhow!(e.to_string()))?;
    println!(
        "我要办事：{items} 项服务事项，{cases} 件演示办件（{marks} 个提醒或逾期标记），{links} 个办事直通车链接。"
    );
    Ok(())
}

/// 办事直通车: (org, name, icon, address, description).
const LINKS: [(&str, &str, &str, &str, &str); 6] = [
    ("620922", "甘肃政务服务网", "government", "https://zwfw.gansu.gov.cn/", "社保、医保、不动产等事项网上办"),
    ("620922", "国家医保服务平台", "health", "https://fuwu.nhsa.gov.cn/", "医保查询、异地就医备案"),
    ("620922", "社会保险公共服务平台", "social", "https://si.12333.gov.cn/", "养老保险缴费和待遇查询"),
    ("620922", "网上国网", "bills", "https://www.95598.cn/", "电费查询和缴纳"),
    ("620922", "酒泉市政务服务", "government", "https://www.jiuquan.gov.cn/", "市级办事指南和政策文件"),
    ("620922214", "甘肃农业农村", "farming", "http://nync.gansu.gov.cn/", "惠农政策、农技服务"),
];

/// Adds the demo tiles not there yet; returns how many tiles there are.
async fn demo_links(state: &AppState, now: i64) -> Result<usize> {
    let store = state.store();
    let Some(admin) = store.find_staff_by_username("admin").await? else { return Ok(0) };
    let existing = store.service_links_within("620922").await?;
    for (position, (org, name, icon, url, description)) in (1_i64..).zip(LINKS) {
        if existing.iter().any(|l| l.org_code == org && l.name == name) {
            continue;
        }
        let link = service_links::check(&LinkInput { name, icon, url, description })?;
        let new = NewServiceLink {
            org_code: org.to_owned(),
            name: link.name,
            icon: link.icon,
            url: link.url,
            description: link.description,
            position,
            created_by: admin.id,
        };
        store.add_service_link(&new, now).await?;
    }
    Ok(store.service_links_within("620922").await?.len())
}

/// What happened to a demo application after it was submitted.
#[derive(Clone, Copy)]
enum Fate {
    New,
    Contacted,
    Completed(Satisfaction),
}

const CASES: [(&str, &str, i64, Fate); 6] = [
    ("农村最低生活保障申请", "家中老人常年患病，收入很少，申请低保。", 2, Fate::New),
    ("高龄补贴申领", "我父亲今年满80周岁，申请高龄补贴。", 30, Fate::New),
    ("临时救助申请", "三月家里失火，房屋和粮食受损，申请临时救助。", 72, Fate::Contacted),
    ("残疾人证办理", "孩子听力残疾，需要办理残疾人证。", 480, Fate::Completed(Satisfaction::Satisfied)),
    ("耕地地力保护补贴申报", "去年的耕地地力保护补贴一直没有收到。", 400, Fate::Completed(Satisfaction::Unsatisfied)),
    ("农村饮水安全问题报修", "五组自来水管冻裂，已停水两天。", 96, Fate::Contacted),
];

async fn demo_cases(state: &AppState, catalogue: &[ServiceItem], now: i64) -> Result<usize> {
    let err = |e: AppError| anyhow::anyhow!(e.to_string());
    // The township administrator of 广至 handles the demo applications of 卓园村.
    let handler = state.store().find_staff_by_username("guangzhi").await?.context("no demo account guangzhi")?;
    let by = Official {
        id: handler.id,
        username: handler.username.clone(),
        display_name: handler.display_name.clone(),
        ip: String::new(),
    };
    let mut created = 0;
    for (n, (item_name, description, hours_ago, fate)) in CASES.iter().enumerate() {
        let Some(item) = catalogue.iter().find(|i| i.name == *item_name) else { continue };
        let submitted = now - hours_ago * 3600;
        let mut application = cases::Application {
            form_key: format!("demo-service-case-{n}"),
            name: format!("{}{}", SURNAMES[(n * 5) % SURNAMES.len()], GIVEN[(n * 7 + 3) % GIVEN.len()]),
            phone: format!("1370937{:04}", 1000 + n),
            village: ZHUOYUAN.into(),
            description: (*description).into(),
            ..cases::Application::default()
        };
        if item.requires_id {
            let born = jiff::civil::Date::new(1948 + i16::try_from(n).unwrap_or(0) * 7, 3, 9)?;
            application.id_number = crate::demo_subsidies::make_id(born, 311 + n * 2)?.expose().to_owned();
        }
        if state.store().find_case_by_submit_key(&application.form_key).await?.is_some() {
            continue;
        }
        let proven = Some(proven_phone(state, &application.phone, &format!("demo-service-case-{n}"), submitted).await?);
        let filer = Filer { quota: format!("demo-service-case-{n}"), proven, ..Filer::default() };
        let filed = cases::file(state, item, application, &filer, submitted).await.map_err(err)?;
        if !filed.created {
            continue;
        }
        created += 1;
        if matches!(fate, Fate::New) {
            continue;
        }
        let case = |state: &AppState| {
            let tracking = filed.tracking.clone();
            let state = state.clone();
            async move { state.store().find_case_by_tracking(&tracking).await?.context("demo case") }
        };
        let contacted = submitted + 5 * 3600;
        let key = |step: &str| format!("demo-service-case-{n}-{step}");
        let note = "已核实情况，正在办理。";
        cases::record_contact(state, &case(state).await?, &by, &key("contact"), "phone", note, contacted)
            .await
            .map_err(err)?;
        let Fate::Completed(rating) = fate else { continue };
        let reply = "经核实，已按政策办理完毕，相关款项或证件已发放，请注意查收。";
        cases::complete(state, &case(state).await?, &by, &key("complete"), reply, contacted + 3 * 86_400)
            .await
            .map_err(err)?;
        let comment = if *rating == Satisfaction::Unsatisfied { "补贴至今未到账" } else { "" };
        let rated = Rating::parse(rating.as_str(), comment).map_err(|e| anyhow::anyhow!(e.to_string()))?;
        cases::rate(state, &case(state).await?, &rated, contacted + 4 * 86_400).await.map_err(err)?;
    }
    Ok(created)
}
