//! The audit log reader for the discipline commission, scoped to the reader's subtree.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Html;
use serde::Deserialize;
use xiaowei_core::Permission;

use super::{Nav, Staff};
use super::{StaffRoutes, Target};
use crate::state::AppState;
use crate::web::dates::shanghai_time;
use crate::web::error::AppError;

const PAGE_SIZE: i64 = 100;

struct Row {
    at: String,
    actor: String,
    action: String,
    target: String,
    detail: String,
    ip: String,
}

#[derive(Template)]
#[template(path = "staff/audit.html")]
struct AuditPage {
    nav: Nav,
    entries: Vec<Row>,
    page: i64,
    has_more: bool,
}

#[derive(Deserialize)]
pub struct PageQuery {
    page: Option<i64>,
}

pub async fn list(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<PageQuery>,
) -> Result<Html<String>, AppError> {
    let page = q.page.unwrap_or(1).max(1);
    let mut entries = state.store().audit_entries(&staff.scope.org_code, PAGE_SIZE + 1, (page - 1) * PAGE_SIZE).await?;
    let has_more = entries.len() as i64 > PAGE_SIZE;
    entries.truncate(PAGE_SIZE as usize);
    let entries = entries
        .into_iter()
        .map(|e| Row {
            at: shanghai_time(e.at),
            actor: e.actor_name,
            action: e.action,
            target: e.target,
            detail: e.detail,
            ip: e.ip,
        })
        .collect();
    Ok(Html(AuditPage { nav: staff.nav(), entries, page, has_more }.render()?))
}

/// This area's staff routes, each with the permission it needs and its scope target.
pub(super) fn routes(r: StaffRoutes) -> StaffRoutes {
    r.get("/staff/audit", Permission::ReadAudit, Target::None, list)
}
