//! Demo data for 我要办事: the 65 service items of `data-seed/service-items.csv` across the county
//! departments, an invented township handler for every item in every township, a phone for the
//! county supervisor's account, and a handful of applications in every state (new, overdue for
//! contact, in progress, completed and rated, reopened after 不满意, past its deadline), and the
//! 办事直通车 tiles (county-wide ones and one of 广至藏族乡). Fixed submission keys and tile names
//! make loading repeatable.

use anyhow::{Context, Result};
use xiaowei_core::service::{self, Notice, TimeLimit};
use xiaowei_core::service_links::{self, LinkInput};
use xiaowei_core::tracked::Satisfaction;
use xiaowei_core::{OrgLevel, Phone};
use xiaowei_server::AppState;
use xiaowei_server::workers::notify::{self, CaseRef};
use xiaowei_store::{CaseChange, NewCase, NewCaseEvent, NewServiceItem, NewServiceLink, ServiceItem};

use crate::demo::{GIVEN, SURNAMES};

const ITEMS: &str = include_str!("../data-seed/service-items.csv");

/// 卓园村 (广至藏族乡), the village the demo applications come from.
const ZHUOYUAN: &str = "620922214200";

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
        let officer =
            store.contacts_of(department.id).await?.into_iter().find(|c| c.position == "officer").map(|c| c.id);
        let item = NewServiceItem {
            department_id: department.id,
            name: name.into(),
            conditions: conditions.into(),
            materials: materials.replace(';', "\n"),
            steps: steps(&department.name),
            time_limit: limit.as_code(),
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
    let marks = notify::run_clocks(state, now).await.map_err(|e| anyhow::anyhow!(e.to_string()))?;
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
            icon: link.icon.as_str().to_owned(),
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
    let store = state.store();
    let calendar =
        xiaowei_server::public::services::calendar(state).await.map_err(|e| anyhow::anyhow!(e.to_string()))?;
    let mut created = 0;
    for (n, (item_name, description, hours_ago, fate)) in CASES.iter().enumerate() {
        let Some(item) = catalogue.iter().find(|i| i.name == *item_name) else { continue };
        let submitted = now - hours_ago * 3600;
        let limit = TimeLimit::parse(&item.time_limit).unwrap_or(TimeLimit::WorkingDays(20));
        let clocks = service::clocks(&calendar, limit, submitted);
        let phone = Phone::parse(&format!("1370937{:04}", 1000 + n))?;
        let name = format!("{}{}", SURNAMES[(n * 5) % SURNAMES.len()], GIVEN[(n * 7 + 3) % GIVEN.len()]);
        let cipher = state.cipher();
        let tracking = service::tracking_number(submitted, 100_000 + u32::try_from(n).unwrap_or(0));
        let case = NewCase {
            tracking: tracking.clone(),
            submit_key: format!("demo-case-{n}"),
            item_id: item.id,
            department_id: item.department_id,
            org_code: ZHUOYUAN.into(),
            applicant_name: name.clone(),
            phone_enc: cipher.encrypt(phone.expose()),
            phone_idx: cipher.blind_index("phone", phone.expose()),
            resident_id_enc: None,
            description: (*description).into(),
            filed_by: None,
            submitted_at: submitted,
            contact_due: clocks.contact_due,
            contact_remind_at: clocks.contact_remind_at,
            completion_due: clocks.completion_due,
            completion_remind_at: clocks.completion_remind_at,
            deadline_basis: match &clocks.completion {
                service::CompletionDeadline::WorkingDays(d) => xiaowei_server::public::services::explain_deadline(d),
                service::CompletionDeadline::Hours { hours } => format!("法定时限{hours}小时，自提交时起算"),
            },
        };
        let case_ref = CaseRef {
            tracking: &tracking,
            item_name: &item.name,
            item_id: item.id,
            org_code: ZHUOYUAN,
            applicant: (&case.phone_enc, &case.phone_idx, &name),
        };
        let texts = notify::notices(state, &case_ref, Notice::CaseSubmitted, 0)
            .await
            .map_err(|e| anyhow::anyhow!(e.to_string()))?;
        let submitted_event = event("submitted", &name, "提交申请", true);
        let (id, new) = store.create_case(&case, &[], &submitted_event, &texts).await?;
        if !new {
            continue;
        }
        created += 1;
        if matches!(fate, Fate::New) {
            continue;
        }
        let contacted = submitted + 5 * 3600;
        let officer = "部门经办人";
        let change = CaseChange { contacted: true, ..CaseChange::default() };
        let note = event("contact", officer, "电话联系：已核实情况，正在办理。", true);
        store.change_case(id, &["submitted"], "in_progress", &change, &note, &[], contacted).await?;
        let Fate::Completed(rating) = fate else { continue };
        let reply = "经核实，已按政策办理完毕，相关款项或证件已发放，请注意查收。";
        let change = CaseChange { completed_reply: Some(reply.into()), ..CaseChange::default() };
        let done = event("complete", officer, &format!("办结答复：{reply}"), true);
        store.change_case(id, &["in_progress"], "completed", &change, &done, &[], contacted + 3 * 86_400).await?;
        let rated_at = contacted + 4 * 86_400;
        let mut change = CaseChange { rating: Some((rating.as_str().into(), String::new())), ..CaseChange::default() };
        let to = if *rating == Satisfaction::Unsatisfied {
            change.rating = Some((rating.as_str().into(), "补贴至今未到账".into()));
            let again = service::clocks(&calendar, limit, rated_at);
            change.new_completion = Some((again.completion_due, again.completion_remind_at, "不满意后重新起算".into()));
            "reopened"
        } else {
            "closed"
        };
        let rated = event("rate", &name, &format!("评价：{}", rating.label()), true);
        store.change_case(id, &["completed"], to, &change, &rated, &[], rated_at).await?;
    }
    Ok(created)
}

fn event(kind: &str, actor: &str, note: &str, public: bool) -> NewCaseEvent {
    NewCaseEvent {
        kind: kind.into(),
        actor: actor.into(),
        staff_user_id: None,
        method: None,
        note: note.into(),
        public,
    }
}
