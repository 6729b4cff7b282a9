//! `xiaowei roster import`: loads a roster of a past year straight from a file (历史补录), so
//! that self-query, unpaid years and screening can see the years before the platform existed.
//! The file passes exactly the checks of an upload; the roster is marked back-loaded, attributed
//! to a named account (or the disabled `system` account) and audited.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};
use xiaowei_core::OrgLevel;
use xiaowei_core::subsidy::{BatchPeriod, Phase};
use xiaowei_server::AppState;
use xiaowei_server::app::rosters::{Backload, BackloadOutcome};
use xiaowei_store::NewAuditEntry;

/// What the command line asked for.
pub struct Request<'a> {
    pub file: &'a Path,
    pub programme: &'a str,
    pub org: &'a str,
    pub period: &'a str,
    pub phase: &'a str,
    pub paid_on: Option<&'a str>,
    pub publish: bool,
    pub by: Option<&'a str>,
}

/// Runs the import. Exit status: 0 stored, 1 the file has errors (nothing stored); other
/// failures are returned as errors.
pub async fn run(state: &AppState, request: &Request<'_>, now: i64) -> Result<ExitCode> {
    let store = state.store();
    let programme = match store.find_programme_by_name(request.programme).await? {
        Some(p) => p,
        None => {
            let known: Vec<String> = store.programmes().await?.into_iter().map(|p| p.name).collect();
            let known = if known.is_empty() { "（尚无补贴项目）".to_owned() } else { known.join("、") };
            bail!("未找到补贴项目“{}”。已有项目：{known}", request.programme);
        }
    };
    let org = store.find_org(request.org).await?.with_context(|| format!("--org：单位 {} 不存在", request.org))?;
    if !matches!(org.level, OrgLevel::Village | OrgLevel::Township) {
        bail!("--org：花名册只能按村或乡镇编制，{} 是{}", org.code, org.level.label());
    }
    let period = BatchPeriod::parse(request.period)
        .with_context(|| format!("--period：“{}”不是年份或年月，请写成 2019 或 2019-03", request.period))?;
    let phase =
        Phase::parse(request.phase).with_context(|| "--phase：请写 proposed（拟发放公示）或 paid（发放结果）")?;
    let paid_on = match (phase, request.paid_on) {
        (_, None) => None,
        (Phase::Proposed, Some(_)) => bail!("--paid-on：只有发放结果（--phase paid）才有发放日期"),
        (Phase::Paid, Some(text)) => Some(
            xiaowei_core::subsidy::paid_on(text, xiaowei_server::web::dates::shanghai_date(now))
                .map_err(|e| anyhow::anyhow!("--paid-on：{e}"))?,
        ),
    };
    let by = match request.by {
        Some(username) => {
            let user = store
                .find_staff_by_username(username)
                .await?
                .with_context(|| format!("--by：账号 {username} 不存在"))?;
            if user.disabled {
                bail!("--by：账号 {username} 已停用");
            }
            if !xiaowei_core::org::is_within(&org.code, &user.org_code) {
                bail!("--by：账号 {username} 的管辖范围不含 {}", org.display_name());
            }
            user
        }
        None => {
            let county = store.county().await?.context("尚未导入区划")?;
            store
                .system_account(&county.code, now)
                .await?
                .context("用户名 system 已被人员账号占用，无法使用系统账号；请用 --by 指定执行补录的账号")?
        }
    };
    let bytes = std::fs::read(request.file).with_context(|| format!("无法读取 {}", request.file.display()))?;
    let file_name = request
        .file
        .file_name()
        .map_or_else(|| request.file.display().to_string(), |n| n.to_string_lossy().into_owned());
    let backload =
        Backload { programme, org_code: org.code.clone(), period, phase, paid_on, publish: request.publish, by: by.id };
    let outcome = xiaowei_server::app::rosters::backload(store, state.cipher(), &backload, &bytes, now)
        .await
        .map_err(|e| anyhow::anyhow!(crate::user_message(&e)))?;
    let (roster, differences) = match outcome {
        BackloadOutcome::Refused(check) => {
            print!("{}", xiaowei_sheets::report_text(&file_name, &Ok(check)));
            println!("未导入：请改正以上错误后重新导入。");
            return Ok(ExitCode::FAILURE);
        }
        BackloadOutcome::Stored { roster, differences } => (roster, differences),
    };
    if request.publish {
        xiaowei_server::app::search::index_roster(state, &roster)
            .await
            .map_err(|e| anyhow::anyhow!(crate::user_message(&e)))?;
    }
    let status = if request.publish { "已公开" } else { "草稿，待在后台提交审核" };
    let total = xiaowei_core::Fen::new(roster.total_fen).unwrap_or_default();
    let digest = format!("{:x}", Sha256::digest(&bytes));
    store
        .append_audit(&NewAuditEntry {
            at: now,
            actor_id: Some(by.id),
            actor_name: format!("{}（命令行）", by.display_name),
            action: "roster.backload".into(),
            target: format!("roster:{}", roster.id),
            detail: format!(
                "历史补录 {file_name}（SHA-256 {digest}）：{} {} {}，{} 人，合计 {total} 元，{status}",
                org.display_name(),
                roster.period,
                phase.label(),
                roster.entry_count
            ),
            ip: String::new(),
            org_code: Some(org.code.clone()),
        })
        .await?;
    println!(
        "已补录花名册 #{}：{} {} {} {}，{} 人，合计 {total} 元，{status}。",
        roster.id,
        org.display_name(),
        roster.period,
        roster.programme_name,
        phase.label(),
        roster.entry_count,
    );
    if let Some(settles) = roster.settles_id {
        println!(
            "对应拟发放公示 #{settles}，与公示名单的差异 {differences} 处（原因记为“历史数据补录，原因未记录”）。"
        );
    }
    Ok(ExitCode::SUCCESS)
}
