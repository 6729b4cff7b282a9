//! The live overview (实时监控) of the monitoring platform: open and overdue cases and messages,
//! this month's satisfaction, new alerts and the latest arrivals, in the account's scope — as a
//! page, as a big screen (大屏) for the commission's wall, and as a Server-Sent Events stream.
//!
//! Handlers announce a new case or message to the [`LiveHub`] after commit; every open stream in
//! scope then sends fresh figures. On PostgreSQL `workers::live` relays announcements between
//! instances, so a case filed through another instance arrives at once too; each stream also
//! refreshes every [`REFRESH_SECS`] seconds, which covers anything missed. Nothing here carries
//! personal data.

use std::collections::HashMap;
use std::convert::Infallible;
use std::time::Duration;

use askama::Template;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Response};
use futures_util::stream::{self, Stream};
use serde::Serialize;
use tokio::sync::{broadcast, watch};
use xiaowei_core::message::MessageKind;
use xiaowei_core::org::is_within;
use xiaowei_core::tracked::{beijing_date, end_of_day};
use xiaowei_core::{Permission, kiosk};

use crate::staff::{Nav, Staff, StaffRoutes, Target};
use crate::state::AppState;
use crate::web::dates::shanghai_time;
use crate::web::error::AppError;

/// Seconds between refreshes of an open stream when nothing was announced.
pub const REFRESH_SECS: u64 = 10;
/// Arrivals listed on the overview.
const LATEST: i64 = 10;

/// One arrival as the overview lists it: time, place and what, never who.
#[derive(Debug, Clone, Serialize)]
pub struct Arrival {
    pub time: String,
    pub place: String,
    pub kind: &'static str,
    pub what: String,
}

/// The overview's figures in one scope.
#[derive(Debug, Clone, Serialize)]
pub struct Overview {
    pub scope: String,
    pub updated: String,
    pub open_cases: i64,
    pub open_messages: i64,
    pub overdue_cases: i64,
    pub overdue_messages: i64,
    pub contact_overdue: i64,
    /// 满意率 (满意 + 基本满意 over all ratings), e.g. `95%`; `—` without ratings.
    pub satisfaction: String,
    pub rated: i64,
    pub satisfied: i64,
    pub basic: i64,
    pub unsatisfied: i64,
    pub new_alerts: i64,
    /// Public page views today (Asia/Shanghai), as written by the visit counter.
    pub visits_today: i64,
    pub kiosks_online: i64,
    pub kiosks_offline: i64,
    pub kiosks: Vec<KioskStatus>,
    /// 大数据比对 hits waiting for or under verification, for the discipline commission only
    /// (`None` for anyone else: hits are theirs alone).
    pub screening_open: Option<i64>,
    pub screening_confirmed: Option<i64>,
    pub arrivals: Vec<Arrival>,
}

/// A hall terminal in scope as the overview lists it.
#[derive(Debug, Clone, Serialize)]
pub struct KioskStatus {
    pub name: String,
    pub online: bool,
    /// Last heartbeat in Shanghai time, or 从未连接.
    pub last_seen: String,
}

/// The overview of `staff`'s scope at `now`.
pub async fn overview(state: &AppState, staff: &Staff, now: i64) -> Result<Overview, AppError> {
    let scope = &staff.scope.org_code;
    let reports = staff.role.is_commission();
    let today = beijing_date(now);
    let month_start = end_of_day(today.first_of_month()) + 1 - 86_400;
    let f = state.store().live_figures(scope, reports, now, month_start).await?;
    let mut names: HashMap<String, String> = HashMap::new();
    let mut arrivals = Vec::new();
    for e in state.store().latest_arrivals(scope, reports, LATEST).await? {
        let place = place(state, &mut names, &e.org_code).await?;
        let (kind, what) = if e.kind == xiaowei_core::alert::SubjectKind::Case {
            ("办件", e.detail)
        } else {
            ("留言", MessageKind::parse(&e.detail).map_or("留言", MessageKind::label).to_owned())
        };
        arrivals.push(Arrival { time: shanghai_time(e.at), place, kind, what });
    }
    let today_day = today.to_string();
    let tomorrow = today.tomorrow().map_or_else(|_| today_day.clone(), |d| d.to_string());
    let visits_today = state.store().visits_by_day(scope, &today_day, &tomorrow).await?.iter().map(|d| d.n).sum();
    let kiosks: Vec<KioskStatus> = state
        .store()
        .list_kiosk_terminals(scope)
        .await?
        .into_iter()
        .filter(|t| t.revoked_at.is_none() && t.enrolled_at.is_some())
        .map(|t| KioskStatus {
            name: t.name,
            online: kiosk::is_online(t.last_seen_at, now),
            last_seen: t.last_seen_at.map_or_else(|| "从未连接".to_owned(), shanghai_time),
        })
        .collect();
    let kiosks_online = kiosks.iter().filter(|k| k.online).count() as i64;
    let (screening_open, screening_confirmed) = if staff.role.allows(Permission::ViewScreening) {
        let counts = state.store().screening_counts(scope).await?;
        let sum =
            |statuses: &[&str]| counts.iter().filter(|c| statuses.contains(&c.status.as_str())).map(|c| c.hits).sum();
        (Some(sum(&["new", "verifying"])), Some(sum(&["confirmed"])))
    } else {
        (None, None)
    };
    let rated = f.satisfied + f.basic + f.unsatisfied;
    let satisfaction =
        if rated == 0 { "—".to_owned() } else { format!("{}%", (f.satisfied + f.basic) * 100 / rated) };
    Ok(Overview {
        scope: place(state, &mut names, scope).await?,
        updated: shanghai_time(now),
        open_cases: f.open_cases,
        open_messages: f.open_messages,
        overdue_cases: f.overdue_cases,
        overdue_messages: f.overdue_messages,
        contact_overdue: f.contact_overdue,
        satisfaction,
        rated,
        satisfied: f.satisfied,
        basic: f.basic,
        unsatisfied: f.unsatisfied,
        new_alerts: f.new_alerts,
        visits_today,
        kiosks_online,
        kiosks_offline: kiosks.len() as i64 - kiosks_online,
        kiosks,
        screening_open,
        screening_confirmed,
        arrivals,
    })
}

/// "广至乡 卓园村" for a village, the org's own name otherwise; `names` caches the answers.
pub async fn place(state: &AppState, names: &mut HashMap<String, String>, code: &str) -> Result<String, AppError> {
    if let Some(name) = names.get(code) {
        return Ok(name.clone());
    }
    let name = match state.store().find_org(code).await? {
        Some(org) => {
            let own = org.display_name().to_owned();
            match org.parent_code.as_deref() {
                Some(parent) if code.len() > 9 => {
                    let parent = state.store().find_org(parent).await?;
                    parent.map_or(own.clone(), |p| format!("{} {own}", p.display_name()))
                }
                _ => own,
            }
        }
        None => code.to_owned(),
    };
    names.insert(code.to_owned(), name.clone());
    Ok(name)
}

#[derive(Template)]
#[template(path = "staff/live.html")]
struct LivePage {
    nav: Nav,
    o: Overview,
}

#[derive(Template)]
#[template(path = "staff/live_screen.html")]
struct ScreenPage {
    o: Overview,
}

pub async fn page(State(state): State<AppState>, staff: Staff) -> Result<Html<String>, AppError> {
    let o = overview(&state, &staff, state.now()).await?;
    Ok(Html(LivePage { nav: staff.nav(), o }.render()?))
}

pub async fn screen(State(state): State<AppState>, staff: Staff) -> Result<Html<String>, AppError> {
    let o = overview(&state, &staff, state.now()).await?;
    Ok(Html(ScreenPage { o }.render()?))
}

/// The stream: fresh figures at once, after every change announced in scope, and every
/// [`REFRESH_SECS`] seconds.
pub async fn events(State(state): State<AppState>, staff: Staff) -> Result<Response, AppError> {
    let rx = state.live().subscribe();
    let closing = state.live().closing();
    let mut tick = tokio::time::interval(Duration::from_secs(REFRESH_SECS));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let stream = figures_stream(StreamState { state, staff, rx, closing, tick });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()).into_response())
}

struct StreamState {
    state: AppState,
    staff: Staff,
    rx: broadcast::Receiver<String>,
    closing: watch::Receiver<bool>,
    tick: tokio::time::Interval,
}

fn figures_stream(start: StreamState) -> impl Stream<Item = Result<Event, Infallible>> {
    // The interval's first tick is immediate: that sends the figures as soon as the page connects.
    stream::unfold(start, |mut s| async move {
        loop {
            let send = tokio::select! {
                _ = s.closing.wait_for(|closed| *closed) => return None,
                _ = s.tick.tick() => true,
                got = s.rx.recv() => match got {
                    Ok(org) => is_within(&org, &s.staff.scope.org_code),
                    Err(broadcast::error::RecvError::Lagged(_)) => true,
                    Err(broadcast::error::RecvError::Closed) => return None,
                },
            };
            if !send {
                continue;
            }
            let event = match overview(&s.state, &s.staff, s.state.now()).await {
                Ok(o) => match serde_json::to_string(&o) {
                    Ok(json) => Event::default().event("figures").data(json),
                    Err(e) => {
                        tracing::warn!(error = %e, "live figures could not be encoded");
                        continue;
                    }
                },
                Err(e) => {
                    tracing::warn!(error = %e, "live figures failed");
                    continue;
                }
            };
            return Some((Ok(event), s));
        }
    })
}

/// This area's staff routes, each with the permission it needs and its scope target.
pub(crate) fn routes(r: StaffRoutes) -> StaffRoutes {
    r.get("/staff/live", Permission::ViewMonitor, Target::None, page)
        .get("/staff/live/screen", Permission::ViewMonitor, Target::None, screen)
        .get("/staff/live/events", Permission::ViewMonitor, Target::None, events)
}
