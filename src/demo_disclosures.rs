//! Demo 公示公开 for 广至藏族乡: 卓园村 discloses its finances every quarter (with income and
//! expenditure lines), village affairs, party affairs, a major matter and a works project that
//! was corrected once (two versions with a reason); a neighbouring village last disclosed its
//! finances five months ago and another never did, so both show 未按时公开. Dates are relative
//! to today so the marks stay true. Loading twice adds nothing.

use anyhow::{Context, Result};
use jiff::civil::Date;
use xiaowei_core::disclosure;
use xiaowei_core::disclosure::{Category, Period};
use xiaowei_core::subsidy::{RosterAction, RosterStatus};
use xiaowei_server::AppState;
use xiaowei_server::web::dates::shanghai_date;
use xiaowei_store::{NewDisclosure, NewFinanceLine, Store};

const GUANGZHI: &str = "620922214";
const ZHUOYUAN: &str = "620922214200";
const DAY: i64 = 86_400;

/// Who writes and who reviews.
#[derive(Clone, Copy)]
struct Actors {
    clerk: i64,
    reviewer: i64,
}

/// One demo disclosure.
struct Spec<'a> {
    org: &'a str,
    category: Category,
    title: String,
    body: String,
    period: Period,
    lines: Vec<NewFinanceLine>,
}

/// A finance line: (date, summary, income yuan, expense yuan, note).
fn lines(rows: &[(&str, &str, i64, i64, &str)]) -> Vec<NewFinanceLine> {
    rows.iter()
        .zip(2..)
        .map(|(&(date, summary, income, expense, note), row_no)| NewFinanceLine {
            row_no,
            line_date: Some(date.to_owned()),
            summary: summary.to_owned(),
            income_fen: income * 100,
            expense_fen: expense * 100,
            note: (!note.is_empty()).then(|| note.to_owned()),
        })
        .collect()
}

/// The quarter `back` quarters before the one containing `today`.
fn quarter_before(today: Date, back: i16) -> Result<Period> {
    let index = i32::from(today.year()) * 4 + i32::from((today.month() - 1) / 3) - i32::from(back);
    let year = i16::try_from(index.div_euclid(4))?;
    let quarter = i8::try_from(index.rem_euclid(4) + 1)?;
    Ok(Period::quarter(year, quarter)?)
}

/// Dates of a quarter's finance lines: the 5th, 15th and 25th of its months.
fn day_in(period: &Period, month_offset: i8, day: i8) -> String {
    Date::new(period.start.year(), period.start.month() + month_offset, day).map(|d| d.to_string()).unwrap_or_default()
}

fn finance_lines(period: &Period, scale: i64) -> Vec<NewFinanceLine> {
    let d = |m, day| day_in(period, m, day);
    let rows = [
        (d(0, 5), "上级转移支付（村级组织运转经费）", 45_000 * scale, 0, "县财政拨付"),
        (d(0, 18), "村集体土地承包费", 28_600 * scale, 0, "12户，见承包合同"),
        (d(1, 6), "村干部误工补贴", 0, 18_000 * scale, "6人×3个月"),
        (d(1, 20), "村道路灯电费", 0, 1_236 * scale, ""),
        (d(2, 9), "垃圾清运服务费", 0, 4_500 * scale, "保洁公司"),
        (d(2, 22), "村委会办公用品", 0, 860 * scale, "附发票"),
    ];
    let borrowed: Vec<(&str, &str, i64, i64, &str)> =
        rows.iter().map(|(date, s, i, e, n)| (date.as_str(), *s, *i, *e, *n)).collect();
    lines(&borrowed)
}

async fn publish(store: &Store, spec: &Spec<'_>, actors: Actors, published_at: i64) -> Result<i64> {
    let new = NewDisclosure {
        org_code: spec.org.to_owned(),
        category: spec.category,
        title: spec.title.clone(),
        body: spec.body.clone(),
        period_label: spec.period.label.clone(),
        period_start: Some(spec.period.start.to_string()),
        period_end: Some(spec.period.end.to_string()),
        supersedes_id: None,
        correction_reason: None,
        created_by: actors.clerk,
    };
    let id = store.create_disclosure(&new, &spec.lines, published_at - 2 * DAY).await?;
    store
        .change_disclosure_status(
            id,
            disclosure::advance(RosterStatus::Draft, RosterAction::Submit)?,
            None,
            actors.clerk,
            published_at - DAY,
        )
        .await?;
    store.publish_disclosure(id, actors.reviewer, published_at).await?;
    Ok(id)
}

async fn staff(store: &Store, username: &str) -> Result<i64> {
    store.find_staff_by_username(username).await?.map(|u| u.id).with_context(|| format!("缺少演示账号 {username}"))
}

/// Creates the demo disclosures unless 卓园村 already has some, and prints where to look.
pub async fn load(state: &AppState) -> Result<()> {
    let store = state.store();
    if !store.disclosures_within(ZHUOYUAN, None, 1, 0).await?.is_empty() {
        println!("公示公开演示数据已存在，未重复导入。");
        return Ok(());
    }
    let now = state.now();
    let today = shanghai_date(now);
    let reviewer = staff(store, "guangzhi-shenhe").await?;
    let zhuoyuan = Actors { clerk: staff(store, "zhuoyuan").await?, reviewer };
    let township = Actors { clerk: staff(store, "guangzhi").await?, reviewer };
    let villages: Vec<String> = store.child_orgs(GUANGZHI).await?.into_iter().map(|v| v.code).take(4).collect();
    if villages.first().map(String::as_str) != Some(ZHUOYUAN) || villages.len() < 4 {
        anyhow::bail!("演示区划中缺少广至藏族乡卓园村 {ZHUOYUAN} 及其邻村");
    }
    let (late, never, fourth) = (villages[1].as_str(), villages[2].as_str(), villages[3].as_str());

    // 卓园村: finances for the last two quarters, each published soon after the quarter ended.
    let last = quarter_before(today, 1)?;
    let before = quarter_before(today, 2)?;
    for (period, age, scale) in [(&before, 20 + 91, 1), (&last, 20, 1)] {
        let spec = Spec {
            org: ZHUOYUAN,
            category: Category::Finance,
            title: format!("{}财务收支公开", period.label),
            body: format!(
                "## {}财务收支情况\n\n本期收支经村务监督委员会审核，明细见下表。\n\n\
                 如有疑问，请在公示期内向村务监督委员会反映，或拨打乡纪委监督电话。",
                period.label
            ),
            lines: finance_lines(period, scale),
            period: period.clone(),
        };
        publish(store, &spec, zhuoyuan, now - age * DAY).await?;
    }
    let affairs = Spec {
        org: ZHUOYUAN,
        category: Category::VillageAffairs,
        title: format!("{}村务公开", last.label),
        body: "## 村民代表会议议定事项\n\n1. 通过2025年度村集体经济收益分配方案；\n2. 确定低保评议结果，\
               名单张贴于村务公开栏；\n3. 安排冬季防火巡查，每组两人轮值。\n\n**监督电话**：0937-5521234"
            .into(),
        period: last.clone(),
        lines: Vec::new(),
    };
    publish(store, &affairs, zhuoyuan, now - 18 * DAY).await?;
    let party = Spec {
        org: ZHUOYUAN,
        category: Category::Party,
        title: format!("{}党务公开", last.label),
        body: "## 党费收缴情况\n\n本季度应缴党员38名，实缴38名，合计2,280.00元，已全额上缴乡党委。\n\n\
               ## 发展党员\n\n确定入党积极分子2名，培养联系人已落实。"
            .into(),
        period: last.clone(),
        lines: Vec::new(),
    };
    publish(store, &party, zhuoyuan, now - 17 * DAY).await?;
    let matter = Spec {
        org: ZHUOYUAN,
        category: Category::MajorMatter,
        title: "关于村集体机动地对外发包的决议".into(),
        body: "经村“两委”提议、村民代表大会表决（应到45人，实到41人，同意39人），\
               村集体机动地120亩以公开竞价方式对外发包，期限5年，底价每亩每年300元。\n\n\
               竞价时间、地点另行公告。"
            .into(),
        period: Period::between(today.checked_sub(jiff::Span::new().days(40))?, today)?,
        lines: Vec::new(),
    };
    publish(store, &matter, zhuoyuan, now - 12 * DAY).await?;

    // A works project published, then corrected: two versions and the reason.
    let project_body = "## 卓园村村道硬化工程\n\n- 建设内容：硬化村道2.4公里，宽4.5米\n\
                        - 资金来源：县级衔接资金\n- 招标方式：公开招标\n- 中标单位：瓜州县某路桥工程有限公司\n\
                        - 中标金额：368,500元\n- 工期：60天\n\n监督电话：0937-5521234\n";
    let project = Spec {
        org: ZHUOYUAN,
        category: Category::Project,
        title: "卓园村村道硬化工程中标结果公示".into(),
        body: project_body.into(),
        period: Period::between(today.checked_sub(jiff::Span::new().days(60))?, today)?,
        lines: Vec::new(),
    };
    let first = publish(store, &project, zhuoyuan, now - 30 * DAY).await?;
    let correction = NewDisclosure {
        org_code: ZHUOYUAN.into(),
        category: Category::Project,
        title: project.title.clone(),
        body: project_body.replace("368,500元", "386,500元").replace("- 工期：60天\n", "- 工期：60天\n- 质保期：2年\n"),
        period_label: project.period.label.clone(),
        period_start: Some(project.period.start.to_string()),
        period_end: Some(project.period.end.to_string()),
        supersedes_id: Some(first),
        correction_reason: Some("中标金额录入错误（应为386,500元），并补充质保期".into()),
        created_by: zhuoyuan.clerk,
    };
    let second = store.create_disclosure(&correction, &[], now - 26 * DAY).await?;
    store
        .change_disclosure_status(
            second,
            disclosure::advance(RosterStatus::Draft, RosterAction::Submit)?,
            None,
            zhuoyuan.clerk,
            now - 26 * DAY,
        )
        .await?;
    store.publish_disclosure(second, reviewer, now - 25 * DAY).await?;

    // Work waiting for the reviewer.
    let waiting = NewDisclosure {
        org_code: ZHUOYUAN.into(),
        category: Category::Other,
        title: "春节慰问困难群众名单公示".into(),
        body: "拟慰问困难群众12户，每户慰问金500元，名单张贴于村务公开栏。".into(),
        period_label: today.to_string(),
        period_start: Some(today.to_string()),
        period_end: Some(today.to_string()),
        supersedes_id: None,
        correction_reason: None,
        created_by: zhuoyuan.clerk,
    };
    let submitted = store.create_disclosure(&waiting, &[], now - DAY).await?;
    store
        .change_disclosure_status(
            submitted,
            disclosure::advance(RosterStatus::Draft, RosterAction::Submit)?,
            None,
            zhuoyuan.clerk,
            now - DAY,
        )
        .await?;

    // Neighbours: one five months late with its finances, one that never disclosed them, one on time.
    let stale = quarter_before(today, 3)?;
    let late_finance = Spec {
        org: late,
        category: Category::Finance,
        title: format!("{}财务收支公开", stale.label),
        body: "本期收支明细如下。".into(),
        lines: finance_lines(&stale, 1),
        period: stale.clone(),
    };
    publish(store, &late_finance, township, now - 150 * DAY).await?;
    let late_affairs = Spec {
        org: late,
        category: Category::VillageAffairs,
        title: format!("{}村务公开", last.label),
        body: "村民代表会议通过了农田灌溉用水分配方案。".into(),
        period: last.clone(),
        lines: Vec::new(),
    };
    publish(store, &late_affairs, township, now - 15 * DAY).await?;
    let expense = Spec {
        org: never,
        category: Category::MajorExpenditure,
        title: "村委会办公楼维修支出公示".into(),
        body: "维修屋面及门窗，支出42,800元，经村民代表会议同意，票据已报乡经管站审核。".into(),
        period: last.clone(),
        lines: Vec::new(),
    };
    publish(store, &expense, township, now - 40 * DAY).await?;
    let on_time = Spec {
        org: fourth,
        category: Category::Finance,
        title: format!("{}财务收支公开", last.label),
        body: "本期收支明细如下。".into(),
        lines: finance_lines(&last, 2),
        period: last.clone(),
    };
    publish(store, &on_time, township, now - 25 * DAY).await?;

    println!("公示公开演示：卓园村及邻村公示 12 条（其中 1 条有更正版本，1 条待审核），2 个村未按时公开财务。");
    println!("  有两个版本的工程项目公示：/disclosures/{second}");
    println!("  广至藏族乡各村公开情况：/t/{GUANGZHI}/disclosures");
    Ok(())
}
