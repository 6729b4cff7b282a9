//! 预警处置: the alerts in the account's scope, with filters, counts per township, pagination and
//! an .xlsx of the filtered list;
//! one alert with its evidence link and its handling (mark looked at, then resolve with a note,
//! after a confirmation). Every handling step is compare-and-set and audited.
//!
//! Alerts about reports (举报) exist only for the discipline commission: to anyone else they are
//! not found, as the reports themselves.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{Html, Response};
use serde::Deserialize;
use xiaowei_core::Permission;
use xiaowei_core::alert::{self, AlertAction, AlertKind, AlertStatus};
use xiaowei_core::org::is_within;
use xiaowei_store::{Alert, AlertFilter};

use super::{Nav, Staff, first_submit, see_other};
use super::{StaffRoutes, Target};
use crate::state::AppState;
use crate::web::dates::shanghai_time;
use crate::web::error::AppError;
use crate::web::security::random_token;

const PAGE_SIZE: i64 = 30;

/// The alert `id` if it lies in the account's reach: outside the scope, or about a
/// report to anyone outside the commission, not found.
async fn alert_in_scope(state: &AppState, staff: &Staff, id: &str) -> Result<Alert, AppError> {
    let id: i64 = id.trim().parse().map_err(|_| AppError::NotFound)?;
    let a = state.store().find_alert(id).await?.ok_or(AppError::NotFound)?;
    staff.require_visible(&a.org_code)?;
    if a.restricted && !staff.role.is_commission() {
        return Err(AppError::NotFound);
    }
    Ok(a)
}

struct AlertRow {
    id: i64,
    kind: &'static str,
    place: String,
    summary: String,
    status: &'static str,
    is_new: bool,
    raised: String,
}

struct TownshipCount {
    code: String,
    name: String,
    new: i64,
    looked_at: i64,
    resolved: i64,
}

#[derive(Template)]
#[template(path = "staff/alerts.html")]
struct AlertsPage {
    nav: Nav,
    rows: Vec<AlertRow>,
    total: i64,
    page: i64,
    has_more: bool,
    kind: &'static str,
    status: &'static str,
    township: String,
    kinds: [AlertKind; 11],
    statuses: [AlertStatus; 3],
    counts: Vec<TownshipCount>,
    query: String,
}

#[derive(Deserialize)]
pub struct ListQuery {
    page: Option<i64>,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    township: String,
}

/// The list's filter: the chosen township inside the scope (else the scope), kind and status;
/// alerts about reports for the commission only.
fn filter_of(staff: &Staff, q: &ListQuery) -> AlertFilter {
    let scope = &staff.scope.org_code;
    let township = q.township.trim();
    let org_prefix = if !township.is_empty() && township.len() == 9 && is_within(township, scope) {
        township.to_owned()
    } else {
        scope.clone()
    };
    AlertFilter {
        org_prefix,
        include_restricted: staff.role.is_commission(),
        kind: AlertKind::parse(&q.kind),
        status: AlertStatus::parse(&q.status),
    }
}

pub async fn list(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<ListQuery>,
) -> Result<Html<String>, AppError> {
    let page = q.page.unwrap_or(1).clamp(1, 100_000);
    let scope = staff.scope.org_code.clone();
    let filter = filter_of(&staff, &q);
    let org_prefix = filter.org_prefix.clone();
    let (alerts, total) = state.store().alerts(&filter, PAGE_SIZE, (page - 1) * PAGE_SIZE).await?;
    let mut names = std::collections::HashMap::new();
    let mut rows = Vec::with_capacity(alerts.len());
    for a in alerts {
        rows.push(AlertRow {
            id: a.id,
            kind: a.kind.label(),
            place: crate::staff::live::place(&state, &mut names, &a.org_code).await?,
            summary: a.summary,
            status: a.status.label(),
            is_new: a.status == AlertStatus::New,
            raised: shanghai_time(a.raised_at),
        });
    }
    let mut counts: Vec<TownshipCount> = Vec::new();
    for c in state.store().alert_counts(&scope, staff.role.is_commission()).await? {
        if counts.last().is_none_or(|t| t.code != c.township_code) {
            counts.push(TownshipCount {
                name: crate::web::places::place_name(&state, &c.township_code).await?,
                code: c.township_code.clone(),
                new: 0,
                looked_at: 0,
                resolved: 0,
            });
        }
        if let Some(t) = counts.last_mut() {
            match c.status {
                AlertStatus::New => t.new = c.count,
                AlertStatus::LookedAt => t.looked_at = c.count,
                AlertStatus::Resolved => t.resolved = c.count,
            }
        }
    }
    let kind = filter.kind.map_or("", AlertKind::as_str);
    let status = filter.status.map_or("", AlertStatus::as_str);
    let township = if org_prefix == scope { String::new() } else { org_prefix };
    let query = format!("kind={kind}&status={status}&township={township}");
    let page = AlertsPage {
        nav: staff.nav(),
        has_more: page * PAGE_SIZE < total,
        rows,
        total,
        page,
        kind,
        status,
        township,
        kinds: AlertKind::ALL,
        statuses: AlertStatus::ALL,
        counts,
        query,
    };
    Ok(Html(page.render()?))
}

/// Most alerts in one export.
const EXPORT_ROWS: i64 = 50_000;

const EXPORT_HEADERS: [&str; 10] =
    ["类别", "地点", "内容", "状态", "发现时间", "查看人", "查看时间", "处置人", "处置时间", "处置说明"];

/// The alerts of the list's filter as an .xlsx (audited), like every other table of the monitor.
pub async fn export(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<ListQuery>,
) -> Result<Response, AppError> {
    use xiaowei_sheets::TableCell::Text as T;
    let filter = filter_of(&staff, &q);
    let (alerts, total) = state.store().alerts(&filter, EXPORT_ROWS, 0).await?;
    let mut names = std::collections::HashMap::new();
    let time = |at: Option<i64>| at.map(shanghai_time).unwrap_or_default();
    let mut cells = Vec::with_capacity(alerts.len());
    for a in alerts {
        cells.push(vec![
            T(a.kind.label().to_owned()),
            T(crate::staff::live::place(&state, &mut names, &a.org_code).await?),
            T(a.summary),
            T(a.status.label().to_owned()),
            T(shanghai_time(a.raised_at)),
            T(a.looked_at_name.unwrap_or_default()),
            T(time(a.looked_at)),
            T(a.resolved_by_name.unwrap_or_default()),
            T(time(a.resolved_at)),
            T(a.note.unwrap_or_default()),
        ]);
    }
    let title = "预警处置";
    let mut subtitle = vec![format!("导出时间：{}", shanghai_time(state.now()))];
    if total > EXPORT_ROWS {
        subtitle.push(format!("共{total}条，仅导出最新{EXPORT_ROWS}条，请按乡镇或类别筛选后分批导出"));
    }
    let bytes = xiaowei_sheets::table_xlsx("预警", title, &subtitle, &EXPORT_HEADERS, &cells)
        .map_err(|e| AppError::Internal(format!("alerts export: {e}")))?;
    let detail = format!("导出预警{}条", cells.len());
    state.audit(staff.audit_entry(state.now(), "alert.export", filter.org_prefix.clone(), detail, None)).await?;
    Ok(crate::staff::xlsx_response(bytes, &format!("{title}.xlsx")))
}

#[derive(Template)]
#[template(path = "staff/alert.html")]
struct AlertPage {
    nav: Nav,
    notice: &'static str,
    id: i64,
    kind: &'static str,
    subject: &'static str,
    place: String,
    summary: String,
    link: String,
    status: &'static str,
    raised: String,
    looked: String,
    resolved: String,
    note: String,
    can_look: bool,
    can_resolve: bool,
    form_key: String,
    max_note: usize,
}

#[derive(Deserialize)]
pub struct ShowQuery {
    #[serde(default)]
    done: String,
}

pub async fn show(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Query(q): Query<ShowQuery>,
) -> Result<Html<String>, AppError> {
    let a = alert_in_scope(&state, &staff, &id).await?;
    let status = a.status;
    let handles = staff.role.allows(Permission::HandleAlerts);
    let who_when = |name: &Option<String>, at: Option<i64>| {
        at.map(|at| format!("{} {}", name.clone().unwrap_or_default(), shanghai_time(at))).unwrap_or_default()
    };
    let page = AlertPage {
        notice: match q.done.as_str() {
            "looked" => "已标记为已查看。",
            "resolved" => "已处置完毕。",
            "repeat" => "该操作已经处理过，无需重复提交。",
            _ => "",
        },
        id: a.id,
        kind: a.kind.label(),
        subject: a.subject_kind.label(),
        place: crate::staff::live::place(&state, &mut std::collections::HashMap::new(), &a.org_code).await?,
        summary: a.summary.clone(),
        link: a.link.clone(),
        status: status.label(),
        raised: shanghai_time(a.raised_at),
        looked: who_when(&a.looked_at_name, a.looked_at),
        resolved: who_when(&a.resolved_by_name, a.resolved_at),
        note: a.note.clone().unwrap_or_default(),
        can_look: handles && status == AlertStatus::New,
        can_resolve: handles && status == AlertStatus::LookedAt,
        form_key: random_token(),
        max_note: alert::MAX_NOTE_CHARS,
        nav: staff.nav(),
    };
    Ok(Html(page.render()?))
}

#[derive(Deserialize)]
pub struct HandleForm {
    #[serde(default)]
    form_key: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    confirm: String,
}

pub async fn look(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(form): Form<HandleForm>,
) -> Result<Response, AppError> {
    let a = alert_in_scope(&state, &staff, &id).await?;
    let back = format!("/staff/alerts/{}", a.id);
    if !first_submit(&state, &staff, &form.form_key).await? {
        return Ok(see_other(&format!("{back}?done=repeat")));
    }
    let Ok(change) = alert::transition(a.status, AlertAction::Look) else {
        return Ok(see_other(&format!("{back}?done=repeat")));
    };
    let now = state.now();
    if !state.store().change_alert(a.id, change, staff.user.id, "", now).await? {
        return Ok(see_other(&format!("{back}?done=repeat")));
    }
    let entry = staff.audit_entry(now, "alert.look", format!("alert:{}", a.id), a.summary.clone(), Some(a.org_code));
    state.audit(entry).await?;
    Ok(see_other(&format!("{back}?done=looked")))
}

pub async fn resolve(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(form): Form<HandleForm>,
) -> Result<Response, AppError> {
    let a = alert_in_scope(&state, &staff, &id).await?;
    let back = format!("/staff/alerts/{}", a.id);
    let change = match alert::transition(a.status, AlertAction::Resolve) {
        Ok(change) => change,
        Err(_) if a.status == AlertStatus::Resolved => return Ok(see_other(&format!("{back}?done=repeat"))),
        Err(e) => return Err(AppError::invalid(format!("处置：{e}，请先标记为已查看"))),
    };
    let note = alert::check_note(&form.note).map_err(|e| AppError::invalid(e.to_string()))?;
    if form.confirm != "1" {
        return Err(AppError::invalid("确认：处置后不能撤回，请勾选“我已核实证据，确认处置完毕”"));
    }
    if !first_submit(&state, &staff, &form.form_key).await? {
        return Ok(see_other(&format!("{back}?done=repeat")));
    }
    let now = state.now();
    if !state.store().change_alert(a.id, change, staff.user.id, &note, now).await? {
        return Ok(see_other(&format!("{back}?done=repeat")));
    }
    let entry = staff.audit_entry(now, "alert.resolve", format!("alert:{}", a.id), note, Some(a.org_code));
    state.audit(entry).await?;
    Ok(see_other(&format!("{back}?done=resolved")))
}

/// This area's staff routes, each with the permission it needs and its scope target.
pub(super) fn routes(r: StaffRoutes) -> StaffRoutes {
    r.get("/staff/alerts", Permission::ViewMonitor, Target::None, list)
        .get("/staff/alerts/export", Permission::ViewMonitor, Target::None, export)
        .get("/staff/alerts/{alert}", Permission::ViewMonitor, Target::Alert, show)
        .post("/staff/alerts/{alert}/look", Permission::HandleAlerts, Target::Alert, look)
        .post("/staff/alerts/{alert}/resolve", Permission::HandleAlerts, Target::Alert, resolve)
}
