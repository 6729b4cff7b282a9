//! 远程监控平台, figures: the township × metric table (and a township's villages) with rates,
//! sample sizes, ranks and trends, the per-department table of cases beside it, the charts, the
//! list behind every figure, the weekly summary, and an .xlsx of each table. County roles see every township, township roles their own.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{Html, Response};
use serde::Deserialize;
use xiaowei_core::monitor::{
    Rate, Trend, Week, average_days_label, day_start, per_household_label, rank_rates, shanghai_day,
};
use xiaowei_core::tracked::Satisfaction;
use xiaowei_core::{OrgLevel, Permission};
use xiaowei_sheets::TableCell;
use xiaowei_store::{FigureQuery, MonitorValues, Org, OrgValue, PublishedRow};

use super::{Nav, Staff, xlsx_response};
use super::{StaffRoutes, Target};
use crate::state::AppState;
use crate::web::dates::shanghai_time;
use crate::web::error::AppError;

/// Drill-down rows per page.
const PAGE: i64 = 100;
/// Most rows in a drill-down export.
const EXPORT_ROWS: i64 = 50_000;
/// The heading of the week-on-week column on the running tables.
const RECENT_LABEL: &str = "近7日访问<br>较前7日";
/// Days on the trend chart.
const CHART_DAYS: i64 = 60;

/// One line of a figures table: a township, a village, or the total.
pub struct FigureRow {
    pub code: String,
    pub name: String,
    pub visits: i64,
    pub visits_week: i64,
    pub trend: String,
    pub visitors_week: i64,
    pub followers: i64,
    pub covered: i64,
    pub households: i64,
    pub coverage: Rate,
    pub per_household: String,
    pub rosters: i64,
    pub powers: i64,
    pub disclosures: i64,
    pub messages: i64,
    pub cases: i64,
    pub contact: Rate,
    pub completion: Rate,
    pub avg_days: String,
    pub satisfaction: Rate,
    /// Ranks of contact, completion and satisfaction; `None` when the sample is too small.
    pub ranks: [Option<usize>; 3],
}

impl FigureRow {
    /// `92.3%（40件）` with its rank or why it has none.
    pub fn rate_cell(&self, which: usize) -> String {
        let rate = [self.contact, self.completion, self.satisfaction][which];
        format!("{}（样本{}）", rate.percent_label(), rate.sample)
    }

    pub fn rank_cell(&self, which: usize) -> String {
        let rate = [self.contact, self.completion, self.satisfaction][which];
        match self.ranks[which] {
            Some(rank) => format!("第{rank}名"),
            None if rate.sample == 0 => String::new(),
            None => "样本不足，不排名".to_owned(),
        }
    }
}

fn sum_within(values: &[OrgValue], prefix: &str) -> i64 {
    values.iter().filter(|v| v.org_code.starts_with(prefix)).map(|v| v.n).sum()
}

fn exact(values: &[OrgValue], code: &str) -> i64 {
    values.iter().find(|v| v.org_code == code).map_or(0, |v| v.n)
}

/// Week-on-week visits: the last seven Shanghai days against the seven before.
struct Recent {
    week: Vec<OrgValue>,
    previous: Vec<OrgValue>,
    visitors: Vec<OrgValue>,
}

fn all_time(prefix: &str, now: i64) -> FigureQuery {
    FigureQuery {
        prefix: prefix.to_owned(),
        from: 0,
        to: i64::MAX,
        from_day: "0000-01-01".into(),
        to_day: "9999-12-31".into(),
        now,
    }
}

fn days_back(now: i64, days: i64) -> String {
    shanghai_day(now - days * 86_400).to_string()
}

async fn recent(state: &AppState, prefix: &str, now: i64) -> Result<Recent, AppError> {
    let tomorrow = days_back(now, -1);
    let week = FigureQuery { from_day: days_back(now, 6), to_day: tomorrow, ..all_time(prefix, now) };
    let previous = FigureQuery { from_day: days_back(now, 13), to_day: days_back(now, 6), ..all_time(prefix, now) };
    let store = state.store();
    Ok(Recent {
        week: store.monitor_visits(&week).await?,
        previous: store.monitor_visits(&previous).await?,
        visitors: store.monitor_visitors(&week).await?,
    })
}

/// Folds per-org values into one row per bucket (townships or villages) plus a total row.
/// `scope` is the org the table is about: its own unique visitors are the total's (a visitor
/// of two villages is one visitor of the township).
fn fold(
    v: &MonitorValues,
    recent: &Recent,
    buckets: &[Org],
    scope: &str,
    townships: bool,
    with_reports: bool,
) -> Vec<FigureRow> {
    let mut rows: Vec<FigureRow> = buckets
        .iter()
        .map(|b| {
            let code = b.code.as_str();
            let cases: Vec<_> = v.cases.iter().filter(|c| c.org_code.starts_with(code)).collect();
            let ratings: Vec<_> = v.ratings.iter().filter(|r| r.org_code.starts_with(code)).collect();
            let households = sum_within(&v.households, code);
            let covered = sum_within(&v.covered_households, code);
            let visits = sum_within(&v.visits, code);
            let visits_week = sum_within(&recent.week, code);
            let (completed, seconds) = cases.iter().fold((0, 0), |(n, s), c| (n + c.completed, s + c.handling_seconds));
            FigureRow {
                code: b.code.clone(),
                name: b.display_name().to_owned(),
                visits,
                visits_week,
                trend: Trend { current: visits_week, previous: sum_within(&recent.previous, code) }.label(),
                visitors_week: exact(&recent.visitors, code),
                followers: if townships { exact(&v.followers, code) } else { sum_within(&v.bound_followers, code) },
                covered,
                households,
                coverage: Rate::new(covered, households),
                per_household: per_household_label(visits, households),
                rosters: sum_within(&v.rosters, code),
                powers: sum_within(&v.power_records, code),
                disclosures: sum_within(&v.disclosures, code),
                messages: sum_within(&v.messages, code) + if with_reports { sum_within(&v.reports, code) } else { 0 },
                cases: cases.iter().map(|c| c.cases).sum(),
                contact: cases.iter().fold(Rate::default(), |r, c| r + Rate::new(c.contact_on_time, c.contact_due)),
                completion: cases
                    .iter()
                    .fold(Rate::default(), |r, c| r + Rate::new(c.completed_on_time, c.completion_due)),
                avg_days: average_days_label(seconds, completed),
                satisfaction: ratings.iter().fold(Rate::default(), |r, x| r + Rate::new(x.satisfied, x.rated)),
                ranks: [None; 3],
            }
        })
        .collect();
    for which in 0..3 {
        let rates: Vec<Rate> = rows.iter().map(|r| [r.contact, r.completion, r.satisfaction][which]).collect();
        for (row, rank) in rows.iter_mut().zip(rank_rates(&rates)) {
            row.ranks[which] = rank;
        }
    }
    let mut total = total_row(&rows, v, recent);
    if !townships {
        total.visitors_week = exact(&recent.visitors, scope);
    }
    rows.push(total);
    rows
}

fn total_row(rows: &[FigureRow], v: &MonitorValues, recent: &Recent) -> FigureRow {
    let sum = |f: fn(&FigureRow) -> i64| rows.iter().map(f).sum::<i64>();
    let rate = |f: fn(&FigureRow) -> Rate| rows.iter().fold(Rate::default(), |a, r| a + f(r));
    let (completed, seconds) = v.cases.iter().fold((0, 0), |(n, s), c| (n + c.completed, s + c.handling_seconds));
    let visits = sum(|r| r.visits);
    let households = sum(|r| r.households);
    let covered = sum(|r| r.covered);
    let week = sum(|r| r.visits_week);
    FigureRow {
        code: String::new(),
        name: "合计".to_owned(),
        visits,
        visits_week: week,
        trend: Trend { current: week, previous: recent.previous.iter().map(|x| x.n).sum() }.label(),
        visitors_week: sum(|r| r.visitors_week),
        followers: sum(|r| r.followers),
        covered,
        households,
        coverage: Rate::new(covered, households),
        per_household: per_household_label(visits, households),
        rosters: sum(|r| r.rosters),
        powers: sum(|r| r.powers),
        disclosures: sum(|r| r.disclosures),
        messages: sum(|r| r.messages),
        cases: sum(|r| r.cases),
        contact: rate(|r| r.contact),
        completion: rate(|r| r.completion),
        avg_days: average_days_label(seconds, completed),
        satisfaction: rate(|r| r.satisfaction),
        ranks: [None; 3],
    }
}

const TABLE_HEADERS: [&str; 21] = [
    "单位",
    "代码",
    "访问量",
    "近7日访问",
    "较前7日",
    "近7日访客",
    "关注用户",
    "已覆盖户",
    "总户数",
    "户覆盖率",
    "户均访问",
    "惠农资金批次",
    "小微权力记录",
    "公示公开",
    "留言",
    "办件",
    "24小时内联系率",
    "按时办结率",
    "平均办理天数",
    "满意率",
    "满意率排名",
];

fn table_cells(rows: &[FigureRow]) -> Vec<Vec<TableCell>> {
    use TableCell::{Number as N, Text as T};
    rows.iter()
        .map(|r| {
            vec![
                T(r.name.clone()),
                T(r.code.clone()),
                N(r.visits),
                N(r.visits_week),
                T(r.trend.clone()),
                N(r.visitors_week),
                N(r.followers),
                N(r.covered),
                N(r.households),
                T(r.coverage.percent_label()),
                T(r.per_household.clone()),
                N(r.rosters),
                N(r.powers),
                N(r.disclosures),
                N(r.messages),
                N(r.cases),
                T(r.rate_cell(0)),
                T(r.rate_cell(1)),
                T(r.avg_days.clone()),
                T(r.rate_cell(2)),
                T(r.rank_cell(2)),
            ]
        })
        .collect()
}

/// One line of the per-department table (办件 of each county department).
pub struct DepartmentRow {
    pub name: String,
    pub cases: i64,
    pub contact: Rate,
    pub completion: Rate,
    pub avg_days: String,
    pub satisfaction: Rate,
}

impl DepartmentRow {
    /// `92.3%（样本40）` for contact (0), completion (1) or satisfaction (2).
    pub fn rate_cell(&self, which: usize) -> String {
        let rate = [self.contact, self.completion, self.satisfaction][which];
        format!("{}（样本{}）", rate.percent_label(), rate.sample)
    }
}

/// Every department's cases in the account's scope, and the total.
async fn department_table(state: &AppState, staff: &Staff) -> Result<Vec<DepartmentRow>, AppError> {
    let now = state.now();
    let values = state.store().monitor_departments(&all_time(&staff.scope.org_code, now)).await?;
    let mut rows: Vec<DepartmentRow> = values
        .iter()
        .map(|d| DepartmentRow {
            name: d.name.clone(),
            cases: d.cases,
            contact: Rate::new(d.contact_on_time, d.contact_due),
            completion: Rate::new(d.completed_on_time, d.completion_due),
            avg_days: average_days_label(d.handling_seconds, d.completed),
            satisfaction: Rate::new(d.satisfied, d.rated),
        })
        .collect();
    let sum = |f: fn(&xiaowei_store::DepartmentValues) -> i64| values.iter().map(f).sum::<i64>();
    rows.push(DepartmentRow {
        name: "合计".to_owned(),
        cases: sum(|d| d.cases),
        contact: Rate::new(sum(|d| d.contact_on_time), sum(|d| d.contact_due)),
        completion: Rate::new(sum(|d| d.completed_on_time), sum(|d| d.completion_due)),
        avg_days: average_days_label(sum(|d| d.handling_seconds), sum(|d| d.completed)),
        satisfaction: Rate::new(sum(|d| d.satisfied), sum(|d| d.rated)),
    });
    Ok(rows)
}

const DEPARTMENT_HEADERS: [&str; 6] = ["部门", "办件", "24小时内联系率", "按时办结率", "平均办理天数", "满意率"];

pub async fn departments_export(State(state): State<AppState>, staff: Staff) -> Result<Response, AppError> {
    use TableCell::{Number as N, Text as T};
    let rows = department_table(&state, &staff).await?;
    let cells: Vec<Vec<TableCell>> = rows
        .iter()
        .map(|r| {
            vec![
                T(r.name.clone()),
                N(r.cases),
                T(r.rate_cell(0)),
                T(r.rate_cell(1)),
                T(r.avg_days.clone()),
                T(r.rate_cell(2)),
            ]
        })
        .collect();
    let title = "各部门办件情况";
    let subtitle = vec![format!("导出时间：{}", shanghai_time(state.now())), "比率后括号内为样本数".to_owned()];
    let bytes = xiaowei_sheets::table_xlsx("部门办件", title, &subtitle, &DEPARTMENT_HEADERS, &cells)
        .map_err(|e| AppError::Internal(format!("departments export: {e}")))?;
    let entry = staff.audit_entry(state.now(), "monitor.export", "departments".to_owned(), title.to_owned(), None);
    state.audit(entry).await?;
    Ok(xlsx_response(bytes, &format!("{title}.xlsx")))
}

/// The townships the account sees.
async fn townships_in_scope(state: &AppState, staff: &Staff) -> Result<Vec<Org>, AppError> {
    Ok(state
        .store()
        .orgs_at_level(OrgLevel::Township)
        .await?
        .into_iter()
        .filter(|t| staff.scope.covers_org(&t.code))
        .collect())
}

/// The township (or the whole scope) a table is about.
async fn township_in_scope(state: &AppState, staff: &Staff, code: &str) -> Result<Org, AppError> {
    staff.require_org(code)?;
    match state.store().find_org(code).await? {
        Some(org) if org.level == OrgLevel::Township => Ok(org),
        _ => Err(AppError::NotFound),
    }
}

struct Tables {
    rows: Vec<FigureRow>,
    with_reports: bool,
}

async fn township_table(state: &AppState, staff: &Staff) -> Result<Tables, AppError> {
    let now = state.now();
    let townships = townships_in_scope(state, staff).await?;
    let prefix = staff.scope.org_code.clone();
    let values = state.store().monitor_values(&all_time(&prefix, now)).await?;
    let recent = recent(state, &prefix, now).await?;
    let with_reports = staff.role.is_commission();
    Ok(Tables { rows: fold(&values, &recent, &townships, &prefix, true, with_reports), with_reports })
}

async fn village_table(state: &AppState, staff: &Staff, township: &Org) -> Result<Tables, AppError> {
    let now = state.now();
    let villages = state.store().child_orgs(&township.code).await?;
    let values = state.store().monitor_values(&all_time(&township.code, now)).await?;
    let recent = recent(state, &township.code, now).await?;
    let with_reports = staff.role.is_commission();
    Ok(Tables { rows: fold(&values, &recent, &villages, &township.code, false, with_reports), with_reports })
}

#[derive(Template)]
#[template(path = "staff/monitor.html")]
struct MonitorPage {
    nav: Nav,
    title: String,
    /// Where a row's name leads: the township's villages, or nothing for villages.
    drill_townships: bool,
    township_code: String,
    export: String,
    rows: Vec<FigureRow>,
    with_reports: bool,
    trend_chart: String,
    bar_chart: String,
    updated: String,
    recent_label: &'static str,
    /// The per-department table (the overview only).
    departments: Vec<DepartmentRow>,
}

async fn trend_chart(state: &AppState, prefix: &str, now: i64) -> Result<String, AppError> {
    let from = shanghai_day(now - (CHART_DAYS - 1) * 86_400);
    let days = state.store().visits_by_day(prefix, &from.to_string(), &days_back(now, -1)).await?;
    let by_day: BTreeMap<String, i64> = days.into_iter().map(|d| (d.day, d.n)).collect();
    let points: Vec<(String, i64)> = (0..CHART_DAYS)
        .map(|i| {
            let day = shanghai_day(day_start(from) + i * 86_400).to_string();
            let n = by_day.get(&day).copied().unwrap_or(0);
            (day.get(5..).unwrap_or_default().to_owned(), n)
        })
        .collect();
    Ok(crate::web::charts::line_chart(&format!("近{CHART_DAYS}日每日访问量"), &points))
}

fn bars(rows: &[FigureRow], title: &str) -> String {
    let bars: Vec<(String, i64)> =
        rows.iter().filter(|r| !r.code.is_empty()).map(|r| (r.name.clone(), r.visits)).collect();
    if bars.is_empty() { String::new() } else { crate::web::charts::bar_chart(title, &bars) }
}

pub async fn overview(State(state): State<AppState>, staff: Staff) -> Result<Html<String>, AppError> {
    let tables = township_table(&state, &staff).await?;
    let now = state.now();
    let page = MonitorPage {
        title: "远程监控：各乡镇运行情况".to_owned(),
        drill_townships: true,
        township_code: String::new(),
        export: "/staff/monitor/export".to_owned(),
        trend_chart: trend_chart(&state, &staff.scope.org_code, now).await?,
        bar_chart: bars(&tables.rows, "各乡镇累计访问量"),
        rows: tables.rows,
        with_reports: tables.with_reports,
        updated: shanghai_time(now),
        recent_label: RECENT_LABEL,
        departments: department_table(&state, &staff).await?,
        nav: staff.nav(),
    };
    Ok(Html(page.render()?))
}

pub async fn overview_export(State(state): State<AppState>, staff: Staff) -> Result<Response, AppError> {
    let tables = township_table(&state, &staff).await?;
    export_table(&state, &staff, "各乡镇运行情况", &tables.rows, "monitor").await
}

pub async fn township(
    State(state): State<AppState>,
    staff: Staff,
    Path(code): Path<String>,
) -> Result<Html<String>, AppError> {
    let township = township_in_scope(&state, &staff, &code).await?;
    let tables = village_table(&state, &staff, &township).await?;
    let now = state.now();
    let page = MonitorPage {
        title: format!("远程监控：{}各村运行情况", township.display_name()),
        drill_townships: false,
        export: format!("/staff/monitor/townships/{}/export", township.code),
        trend_chart: trend_chart(&state, &township.code, now).await?,
        bar_chart: bars(&tables.rows, "各村累计访问量"),
        township_code: township.code,
        rows: tables.rows,
        with_reports: tables.with_reports,
        updated: shanghai_time(now),
        recent_label: RECENT_LABEL,
        departments: Vec::new(),
        nav: staff.nav(),
    };
    Ok(Html(page.render()?))
}

pub async fn township_export(
    State(state): State<AppState>,
    staff: Staff,
    Path(code): Path<String>,
) -> Result<Response, AppError> {
    let township = township_in_scope(&state, &staff, &code).await?;
    let tables = village_table(&state, &staff, &township).await?;
    export_table(&state, &staff, &format!("{}各村运行情况", township.display_name()), &tables.rows, &township.code)
        .await
}

async fn export_table(
    state: &AppState,
    staff: &Staff,
    title: &str,
    rows: &[FigureRow],
    target: &str,
) -> Result<Response, AppError> {
    let subtitle = vec![
        format!("导出时间：{}", shanghai_time(state.now())),
        format!("样本少于{}件的比率不参与排名", xiaowei_core::monitor::MIN_RANKED_SAMPLE),
    ];
    let bytes = xiaowei_sheets::table_xlsx("运行情况", title, &subtitle, &TABLE_HEADERS, &table_cells(rows))
        .map_err(|e| AppError::Internal(format!("monitor export: {e}")))?;
    let entry = staff.audit_entry(state.now(), "monitor.export", target.to_owned(), title.to_owned(), None);
    state.audit(entry).await?;
    Ok(xlsx_response(bytes, &format!("{title}.xlsx")))
}

/// The figures a list can stand behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Metric {
    Visits,
    Households,
    Rosters,
    Powers,
    Disclosures,
    Messages,
    Cases,
}

impl Metric {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "visits" => Self::Visits,
            "households" => Self::Households,
            "rosters" => Self::Rosters,
            "powers" => Self::Powers,
            "disclosures" => Self::Disclosures,
            "messages" => Self::Messages,
            "cases" => Self::Cases,
            _ => return None,
        })
    }

    fn label(self) -> &'static str {
        match self {
            Self::Visits => "访问明细",
            Self::Households => "农户关注覆盖",
            Self::Rosters => "惠农资金批次",
            Self::Powers => "小微权力运行记录",
            Self::Disclosures => "公示公开",
            Self::Messages => "留言",
            Self::Cases => "办件",
        }
    }
}

/// A list as plain cells, shared by the page and its export.
struct Listing {
    headers: Vec<&'static str>,
    rows: Vec<Vec<TableCell>>,
    /// Where each row's first cell leads.
    links: Vec<Option<String>>,
    total: i64,
}

fn text(s: impl Into<String>) -> TableCell {
    TableCell::Text(s.into())
}

fn time_or_blank(t: Option<i64>) -> TableCell {
    text(t.map(shanghai_time).unwrap_or_default())
}

fn rating_label(r: Option<Satisfaction>) -> String {
    r.map_or("", Satisfaction::label).to_owned()
}

/// A publication drill-down: title, place, what its kind adds, first published.
fn published<D>(l: xiaowei_store::Listing<PublishedRow<D>>, link: &str, detail: impl Fn(&D) -> String) -> Listing {
    Listing {
        headers: vec!["标题", "单位", "类别", "首次公开时间"],
        links: l.rows.iter().map(|r| Some(format!("{link}{}", r.id))).collect(),
        rows: l
            .rows
            .iter()
            .map(|r| {
                vec![
                    text(r.title.clone()),
                    text(xiaowei_core::org::display_name(&r.org_name)),
                    text(detail(&r.detail)),
                    text(shanghai_time(r.published_at)),
                ]
            })
            .collect(),
        total: l.total,
    }
}

async fn listing(
    state: &AppState,
    staff: &Staff,
    metric: Metric,
    org: &str,
    limit: i64,
    offset: i64,
) -> Result<Listing, AppError> {
    use TableCell::Number as N;
    let store = state.store();
    let q = all_time(org, state.now());
    let place = |name: &str| xiaowei_core::org::display_name(name).to_owned();
    Ok(match metric {
        Metric::Visits => {
            let l = store.monitor_visit_rows(&q, limit, offset).await?;
            Listing {
                headers: vec!["日期", "单位", "栏目", "渠道", "访问量"],
                links: vec![None; l.rows.len()],
                rows: l
                    .rows
                    .into_iter()
                    .map(|r| {
                        vec![
                            text(r.day),
                            text(place(&r.org_name)),
                            text(r.menu.label()),
                            text(r.channel.label()),
                            N(r.count),
                        ]
                    })
                    .collect(),
                total: l.total,
            }
        }
        Metric::Households => {
            let l = store.monitor_household_rows(org, limit, offset).await?;
            Listing {
                headers: vec!["户号", "单位", "户主", "已关注并绑定"],
                links: vec![None; l.rows.len()],
                rows: l
                    .rows
                    .into_iter()
                    .map(|r| {
                        vec![
                            text(r.household_no),
                            text(place(&r.org_name)),
                            text(r.head_name),
                            text(if r.covered { "是" } else { "否" }),
                        ]
                    })
                    .collect(),
                total: l.total,
            }
        }
        Metric::Rosters => published(store.monitor_roster_rows(&q, limit, offset).await?, "/rosters/", |d| {
            format!("{} {}", d.phase.label(), d.status.label())
        }),
        Metric::Powers => {
            published(store.monitor_power_rows(&q, limit, offset).await?, "/power-records/", |d| d.item_name.clone())
        }
        Metric::Disclosures => {
            published(store.monitor_disclosure_rows(&q, limit, offset).await?, "/disclosures/", |d| {
                d.category.label().to_owned()
            })
        }
        Metric::Messages => {
            let l = store.monitor_message_rows(&q, staff.role.is_commission(), limit, offset).await?;
            Listing {
                headers: vec!["留言编号", "单位", "类别", "状态", "提交时间", "答复时间", "评价"],
                links: l.rows.iter().map(|r| Some(format!("/staff/inbox/{}", r.tracking))).collect(),
                rows: l
                    .rows
                    .into_iter()
                    .map(|r| {
                        vec![
                            text(r.tracking),
                            text(place(&r.org_name)),
                            text(r.kind.label()),
                            text(r.status.label()),
                            text(shanghai_time(r.submitted_at)),
                            time_or_blank(r.replied_at),
                            text(rating_label(r.rating)),
                        ]
                    })
                    .collect(),
                total: l.total,
            }
        }
        Metric::Cases => {
            let l = store.monitor_case_rows(&q, limit, offset).await?;
            let on_time = |done: Option<i64>, due: i64| match done {
                Some(t) if t <= due => "按时",
                Some(_) => "超时",
                None if due <= state.now() => "已逾期",
                None => "未到期",
            };
            Listing {
                headers: vec![
                    "办件编号",
                    "单位",
                    "事项",
                    "状态",
                    "提交时间",
                    "首次联系",
                    "联系",
                    "办结时间",
                    "办结",
                    "评价",
                ],
                links: l.rows.iter().map(|r| Some(format!("/staff/cases/{}", r.tracking))).collect(),
                rows: l
                    .rows
                    .into_iter()
                    .map(|r| {
                        vec![
                            text(r.tracking),
                            text(place(&r.org_name)),
                            text(r.item_name),
                            text(r.status.label()),
                            text(shanghai_time(r.submitted_at)),
                            time_or_blank(r.contacted_at),
                            text(on_time(r.contacted_at, r.contact_due)),
                            time_or_blank(r.completed_at),
                            text(on_time(r.completed_at, r.completion_due)),
                            text(rating_label(r.rating)),
                        ]
                    })
                    .collect(),
                total: l.total,
            }
        }
    })
}

#[derive(Deserialize)]
pub struct PageQuery {
    page: Option<i64>,
}

struct ListRow {
    cells: Vec<String>,
    link: Option<String>,
}

#[derive(Template)]
#[template(path = "staff/monitor_list.html")]
struct ListPage {
    nav: Nav,
    title: String,
    back: String,
    export: String,
    headers: Vec<&'static str>,
    rows: Vec<ListRow>,
    total: i64,
    page: i64,
    pages: i64,
    base: String,
}

async fn list_target(state: &AppState, staff: &Staff, org: &str, metric: &str) -> Result<(Org, Metric), AppError> {
    staff.require_org(org)?;
    let metric = Metric::parse(metric).ok_or(AppError::NotFound)?;
    let org = state.store().find_org(org).await?.ok_or(AppError::NotFound)?;
    Ok((org, metric))
}

pub async fn list(
    State(state): State<AppState>,
    staff: Staff,
    Path((org, metric)): Path<(String, String)>,
    Query(q): Query<PageQuery>,
) -> Result<Html<String>, AppError> {
    let (org, metric) = list_target(&state, &staff, &org, &metric).await?;
    let page = q.page.unwrap_or(1).clamp(1, 100_000);
    let l = listing(&state, &staff, metric, &org.code, PAGE, (page - 1) * PAGE).await?;
    let back = match org.level {
        OrgLevel::Township => format!("/staff/monitor/townships/{}", org.code),
        OrgLevel::Village => format!("/staff/monitor/townships/{}", org.parent_code.clone().unwrap_or_default()),
        _ => "/staff/monitor".to_owned(),
    };
    let rows = l
        .rows
        .into_iter()
        .zip(l.links)
        .map(|(cells, link)| ListRow {
            cells: cells
                .into_iter()
                .map(|c| match c {
                    TableCell::Text(t) => t,
                    TableCell::Number(n) => n.to_string(),
                })
                .collect(),
            link,
        })
        .collect();
    let page = ListPage {
        title: format!("{}：{}", org.display_name(), metric.label()),
        export: format!("/staff/monitor/list/{}/{}/export", org.code, metric_slug(metric)),
        base: format!("/staff/monitor/list/{}/{}", org.code, metric_slug(metric)),
        back,
        headers: l.headers,
        rows,
        total: l.total,
        pages: ((l.total + PAGE - 1) / PAGE).max(1),
        page,
        nav: staff.nav(),
    };
    Ok(Html(page.render()?))
}

fn metric_slug(metric: Metric) -> &'static str {
    match metric {
        Metric::Visits => "visits",
        Metric::Households => "households",
        Metric::Rosters => "rosters",
        Metric::Powers => "powers",
        Metric::Disclosures => "disclosures",
        Metric::Messages => "messages",
        Metric::Cases => "cases",
    }
}

pub async fn list_export(
    State(state): State<AppState>,
    staff: Staff,
    Path((org, metric)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let (org, metric) = list_target(&state, &staff, &org, &metric).await?;
    let l = listing(&state, &staff, metric, &org.code, EXPORT_ROWS, 0).await?;
    let title = format!("{}{}", org.display_name(), metric.label());
    let subtitle = vec![format!("导出时间：{}；共{}条", shanghai_time(state.now()), l.total)];
    let bytes = xiaowei_sheets::table_xlsx("明细", &title, &subtitle, &l.headers, &l.rows)
        .map_err(|e| AppError::Internal(format!("monitor export: {e}")))?;
    let entry = staff.audit_entry(state.now(), "monitor.export", org.code.clone(), title.clone(), Some(org.code));
    state.audit(entry).await?;
    Ok(xlsx_response(bytes, &format!("{title}.xlsx")))
}

#[derive(Deserialize)]
pub struct WeekQuery {
    #[serde(default)]
    week: String,
}

#[derive(Template)]
#[template(path = "staff/monitor_weekly.html")]
struct WeeklyPage {
    nav: Nav,
    township_name: String,
    township_code: String,
    week: String,
    previous: String,
    next: String,
    rows: Vec<FigureRow>,
    with_reports: bool,
    export: String,
    recent_label: &'static str,
}

async fn weekly_rows(
    state: &AppState,
    staff: &Staff,
    township: &Org,
    week: Week,
) -> Result<(Vec<FigureRow>, bool), AppError> {
    let (from, to) = week.bounds();
    let now = state.now();
    let q = FigureQuery {
        prefix: township.code.clone(),
        from,
        to,
        from_day: week.monday.to_string(),
        to_day: week.sunday().checked_add(jiff::Span::new().days(1)).unwrap_or(week.sunday()).to_string(),
        now,
    };
    let values = state.store().monitor_values(&q).await?;
    let previous = week.previous();
    let prev_q = FigureQuery {
        from_day: previous.monday.to_string(),
        to_day: week.monday.to_string(),
        from: previous.bounds().0,
        to: from,
        ..q.clone()
    };
    let recent = Recent {
        week: values.visits.clone(),
        previous: state.store().monitor_visits(&prev_q).await?,
        visitors: values.visitors.clone(),
    };
    let villages = state.store().child_orgs(&township.code).await?;
    let with_reports = staff.role.is_commission();
    let mut rows = fold(&values, &recent, std::slice::from_ref(township), &township.code, true, with_reports);
    rows.pop();
    let mut village_rows = fold(&values, &recent, &villages, &township.code, false, with_reports);
    village_rows.pop();
    rows.extend(village_rows);
    Ok((rows, with_reports))
}

fn week_of(q: &WeekQuery, now: i64) -> Result<Week, AppError> {
    if q.week.trim().is_empty() {
        Ok(Week::last_complete(now))
    } else {
        Week::parse(&q.week).ok_or(AppError::invalid("周：请填写该周任一日期，格式如 2026-11-23"))
    }
}

pub async fn weekly(
    State(state): State<AppState>,
    staff: Staff,
    Path(code): Path<String>,
    Query(q): Query<WeekQuery>,
) -> Result<Html<String>, AppError> {
    let township = township_in_scope(&state, &staff, &code).await?;
    let week = week_of(&q, state.now())?;
    let (rows, with_reports) = weekly_rows(&state, &staff, &township, week).await?;
    let next = Week { monday: week.sunday().checked_add(jiff::Span::new().days(1)).unwrap_or(week.monday) };
    let page = WeeklyPage {
        township_name: township.display_name().to_owned(),
        export: format!("/staff/monitor/weekly/{}/export?week={}", township.code, week.monday),
        township_code: township.code,
        week: week.label(),
        previous: week.previous().monday.to_string(),
        next: next.monday.to_string(),
        rows,
        with_reports,
        recent_label: "本周访问<br>较上周",
        nav: staff.nav(),
    };
    Ok(Html(page.render()?))
}

pub async fn weekly_export(
    State(state): State<AppState>,
    staff: Staff,
    Path(code): Path<String>,
    Query(q): Query<WeekQuery>,
) -> Result<Response, AppError> {
    let township = township_in_scope(&state, &staff, &code).await?;
    let week = week_of(&q, state.now())?;
    let (rows, _) = weekly_rows(&state, &staff, &township, week).await?;
    let title = format!("{}运行周报（{}）", township.display_name(), week.label());
    export_table(&state, &staff, &title, &rows, &township.code).await
}

/// This area's staff routes, each with the permission it needs and its scope target.
pub(super) fn routes(r: StaffRoutes) -> StaffRoutes {
    r.get("/staff/monitor", Permission::ViewMonitor, Target::None, overview)
        .get("/staff/monitor/export", Permission::ViewMonitor, Target::None, overview_export)
        .get("/staff/monitor/departments/export", Permission::ViewMonitor, Target::None, departments_export)
        .get("/staff/monitor/townships/{org}", Permission::ViewMonitor, Target::Org, township)
        .get("/staff/monitor/townships/{org}/export", Permission::ViewMonitor, Target::Org, township_export)
        .get("/staff/monitor/list/{org}/{metric}", Permission::ViewMonitor, Target::Org, list)
        .get("/staff/monitor/list/{org}/{metric}/export", Permission::ViewMonitor, Target::Org, list_export)
        .get("/staff/monitor/weekly/{org}", Permission::ViewMonitor, Target::Org, weekly)
        .get("/staff/monitor/weekly/{org}/export", Permission::ViewMonitor, Target::Org, weekly_export)
}
