//! GeoReport v2 requests: the list with the specification's filters (`service_request_id`,
//! `service_code`, `start_date`, `end_date`, `status`), one request by its id, the id behind a
//! token, and filing a request with an integrator key. Cases and messages are read through
//! `Store::request_cases` / `request_messages`, which never return a report (举报).

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;
use xiaowei_core::message::{self, MessageKind, MessageStatus};
use xiaowei_core::open311::{MAX_RESULTS, RequestStatus, ServiceCode, TOKEN_PREFIX, WINDOW_DAYS};
use xiaowei_core::service::{self, CaseStatus};
use xiaowei_store::{Message, RequestFilter, ServiceCase};

use super::{Integrator, Open311Error, authenticate, check_jurisdiction, iso_time, json, pairs, param, parse_time};
use crate::state::AppState;
use crate::web::places::place_name;

/// One request as GeoReport v2 describes it.
#[derive(Debug, Serialize)]
pub struct ServiceRequest {
    pub service_request_id: String,
    /// `open` or `closed`.
    pub status: &'static str,
    pub status_notes: Option<String>,
    pub service_name: String,
    pub service_code: String,
    pub description: Option<String>,
    pub agency_responsible: String,
    pub service_notice: Option<String>,
    pub requested_datetime: String,
    pub updated_datetime: String,
    pub expected_datetime: String,
    pub address: String,
    pub address_id: String,
    pub zipcode: Option<String>,
    pub lat: Option<f64>,
    pub long: Option<f64>,
    pub media_url: Option<String>,
}

/// Whether the reader sees the description and reply (an integrator inside its scope).
#[derive(Clone, Copy, PartialEq, Eq)]
enum View {
    Public,
    Integrator,
}

async fn township_name(state: &AppState, org_code: &str) -> Result<String, Open311Error> {
    let org = state.store().find_org(org_code).await?;
    let township = match &org {
        Some(o) if o.level == xiaowei_core::OrgLevel::Village => o.parent_code.clone().unwrap_or_default(),
        _ => org_code.to_owned(),
    };
    Ok(place_name(state, &township).await?)
}

async fn from_case(
    state: &AppState,
    c: ServiceCase,
    updated_at: i64,
    view: View,
) -> Result<ServiceRequest, Open311Error> {
    let status = c.status;
    let reply = c.reply.filter(|_| view == View::Integrator);
    Ok(ServiceRequest {
        service_request_id: c.tracking,
        status: RequestStatus::of_case(status).as_str(),
        status_notes: Some(match reply {
            Some(reply) => format!("{}：{reply}", status.label()),
            None => status.label().to_owned(),
        }),
        service_name: c.item_name,
        service_code: ServiceCode::Item(c.item_id).to_string(),
        description: (view == View::Integrator).then_some(c.description),
        agency_responsible: c.department_name,
        service_notice: Some(c.deadline_basis),
        requested_datetime: iso_time(c.submitted_at),
        updated_datetime: iso_time(updated_at),
        expected_datetime: iso_time(c.completion_due),
        address: format!("{}{}", township_name(state, &c.org_code).await?, place_name(state, &c.org_code).await?),
        address_id: c.org_code,
        zipcode: None,
        lat: None,
        long: None,
        media_url: None,
    })
}

async fn from_message(
    state: &AppState,
    m: Message,
    updated_at: i64,
    view: View,
) -> Result<Option<ServiceRequest>, Open311Error> {
    let (kind, status) = (m.kind, m.status);
    let (Some(code), Some(open)) = (ServiceCode::for_message(kind), RequestStatus::of_message(status)) else {
        return Ok(None);
    };
    // As on the public list: a question its author allowed, names and numbers removed.
    let public = kind.may_be_public() && m.allow_public;
    let names = [m.author_name.as_str()];
    let (description, reply) = match view {
        View::Integrator => (Some(m.body.clone()), m.reply.clone()),
        View::Public if public => (
            Some(message::redact(&m.body, &names)),
            m.reply.as_deref().filter(|_| m.reply_public).map(|r| message::redact(r, &names)),
        ),
        View::Public => (None, None),
    };
    let township = township_name(state, &m.org_code).await?;
    let place = place_name(state, &m.org_code).await?;
    Ok(Some(ServiceRequest {
        service_request_id: m.tracking,
        status: open.as_str(),
        status_notes: Some(match reply {
            Some(reply) => format!("{}：{reply}", status.label()),
            None => status.label().to_owned(),
        }),
        service_name: format!("留言箱：{}", kind.label()),
        service_code: code.to_string(),
        description,
        agency_responsible: township.clone(),
        service_notice: Some(m.deadline_basis),
        requested_datetime: iso_time(m.submitted_at),
        updated_datetime: iso_time(updated_at),
        expected_datetime: iso_time(m.reply_due),
        address: if place == township { township } else { format!("{township}{place}") },
        address_id: m.org_code,
        zipcode: None,
        lat: None,
        long: None,
        media_url: None,
    }))
}

/// A case as an integrator inside its scope sees it.
pub async fn integrator_view_of_case(
    state: &AppState,
    r: xiaowei_store::RequestCase,
) -> Result<ServiceRequest, Open311Error> {
    from_case(state, r.case, r.updated_at, View::Integrator).await
}

/// A message as an integrator inside its scope sees it (`None` for no request).
pub async fn integrator_view_of_message(
    state: &AppState,
    r: xiaowei_store::RequestMessage,
) -> Result<Option<ServiceRequest>, Open311Error> {
    from_message(state, r.message, r.updated_at, View::Integrator).await
}

/// What one read asks for, after checking every parameter.
struct Read {
    filter: RequestFilter,
    cases: bool,
    messages: bool,
}

/// The reader's key, if any: an integrator reads its scope and kinds only.
async fn reader(state: &AppState, pairs: &[(String, String)]) -> Result<Option<Integrator>, Open311Error> {
    let key = param(pairs, "api_key");
    if key.is_empty() { Ok(None) } else { Ok(Some(authenticate(state, &key).await?)) }
}

fn tracking_numbers(list: &str) -> Result<(Vec<String>, Vec<String>), Open311Error> {
    let (mut cases, mut messages) = (Vec::new(), Vec::new());
    for id in list.split(',').map(str::trim).filter(|s| !s.is_empty()).take(MAX_RESULTS as usize) {
        if let Some(t) = service::normalize_tracking(id) {
            cases.push(t);
        } else if let Some(t) = message::normalize_tracking(id) {
            messages.push(t);
        } else {
            return Err(Open311Error::invalid(format!(
                "service_request_id：“{}”不是办件编号（BJ开头）或留言编号（LY开头）",
                id.chars().take(40).collect::<String>()
            )));
        }
    }
    Ok((cases, messages))
}

fn read_of(pairs: &[(String, String)], now: i64) -> Result<Read, Open311Error> {
    let mut read =
        Read { filter: RequestFilter { limit: MAX_RESULTS, ..RequestFilter::default() }, cases: true, messages: true };
    let ids = param(pairs, "service_request_id");
    if !ids.is_empty() {
        // The specification: with ids, every other parameter is ignored.
        let (cases, messages) = tracking_numbers(&ids)?;
        read.cases = !cases.is_empty();
        read.messages = !messages.is_empty();
        read.filter.tracking = cases.into_iter().chain(messages).collect::<Vec<_>>().join(",");
        return Ok(read);
    }
    let code = param(pairs, "service_code");
    if !code.is_empty() {
        match ServiceCode::parse(&code) {
            Some(ServiceCode::Item(id)) => {
                read.messages = false;
                read.filter.item_id = id;
            }
            Some(ServiceCode::Message(kind)) => {
                read.cases = false;
                read.filter.message_kind = kind.as_str().to_owned();
            }
            None => return Err(Open311Error::invalid("service_code：没有这个服务，请查看 services.json")),
        }
    }
    let statuses: Vec<RequestStatus> = match param(pairs, "status") {
        s if s.is_empty() => vec![RequestStatus::Open, RequestStatus::Closed],
        s => s
            .split(',')
            .map(|v| {
                RequestStatus::parse(v)
                    .ok_or_else(|| Open311Error::invalid("status：只能是 open 或 closed（可用逗号并列）"))
            })
            .collect::<Result<_, _>>()?,
    };
    let end = match param(pairs, "end_date") {
        s if s.is_empty() => now + 1,
        s => parse_time("end_date", &s)?,
    };
    let start = match param(pairs, "start_date") {
        s if s.is_empty() => end - WINDOW_DAYS * 86_400,
        s => parse_time("start_date", &s)?,
    };
    if start >= end {
        return Err(Open311Error::invalid("start_date：应早于 end_date"));
    }
    if end - start > WINDOW_DAYS * 86_400 {
        return Err(Open311Error::invalid(format!("start_date、end_date：时间跨度不能超过{WINDOW_DAYS}天")));
    }
    read.filter.from = start;
    read.filter.until = end;
    read.filter.statuses = statuses
        .iter()
        .flat_map(|s| {
            let mut v: Vec<&str> = s.case_statuses().into_iter().map(CaseStatus::as_str).collect();
            v.extend(s.message_statuses().into_iter().map(MessageStatus::as_str));
            v
        })
        .collect::<Vec<_>>()
        .join(",");
    Ok(read)
}

/// Runs a read, in the public view or an integrator's (its scope and kinds only).
async fn run(
    state: &AppState,
    mut read: Read,
    integrator: Option<&Integrator>,
) -> Result<Vec<ServiceRequest>, Open311Error> {
    let view = if integrator.is_some() { View::Integrator } else { View::Public };
    if let Some(i) = integrator {
        read.filter.org_prefix = i.token.org_code.clone();
        read.cases &= i.kinds.cases;
        read.messages &= i.kinds.messages;
    }
    let mut out: Vec<(i64, ServiceRequest)> = Vec::new();
    if read.cases {
        for r in state.store().request_cases(&read.filter).await? {
            let at = r.case.submitted_at;
            out.push((at, from_case(state, r.case, r.updated_at, view).await?));
        }
    }
    if read.messages {
        for r in state.store().request_messages(&read.filter).await? {
            let at = r.message.submitted_at;
            if let Some(request) = from_message(state, r.message, r.updated_at, view).await? {
                out.push((at, request));
            }
        }
    }
    out.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| b.1.service_request_id.cmp(&a.1.service_request_id)));
    out.truncate(MAX_RESULTS as usize);
    Ok(out.into_iter().map(|(_, r)| r).collect())
}

/// `GET requests.json`
pub async fn list(
    State(state): State<AppState>,
    crate::web::security::ClientIp(ip): crate::web::security::ClientIp,
    RawQuery(query): RawQuery,
) -> Result<Response, Open311Error> {
    let pairs = pairs(query.unwrap_or_default().as_bytes())?;
    check_jurisdiction(&state, &pairs).await?;
    let read = read_of(&pairs, state.now())?;
    let integrator = reader(&state, &pairs).await?;
    let requests = run(&state, read, integrator.as_ref()).await?;
    if let Some(i) = &integrator {
        let detail = format!("查询请求列表，返回{}条", requests.len());
        i.audit(&state, &ip, "integrator.read", format!("integrator:{}", i.token.id), detail).await?;
    }
    Ok(json(requests, integrator.is_some()))
}

/// `GET requests/{id}.json`: an array of one request, as the specification has it.
pub async fn one(
    State(state): State<AppState>,
    crate::web::security::ClientIp(ip): crate::web::security::ClientIp,
    Path(file): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, Open311Error> {
    let id = file
        .strip_suffix(".json")
        .ok_or_else(|| Open311Error::invalid("请求详情只提供JSON格式：请使用 requests/{id}.json"))?;
    let pairs = pairs(query.unwrap_or_default().as_bytes())?;
    check_jurisdiction(&state, &pairs).await?;
    let (cases, messages) = tracking_numbers(id)?;
    if cases.len() + messages.len() != 1 {
        return Err(Open311Error::invalid("service_request_id：请给出一个编号"));
    }
    let integrator = reader(&state, &pairs).await?;
    let mut read = Read {
        filter: RequestFilter {
            tracking: cases.into_iter().chain(messages).collect(),
            limit: 1,
            ..RequestFilter::default()
        },
        cases: true,
        messages: true,
    };
    if let Some(i) = &integrator {
        read.filter.org_prefix = i.token.org_code.clone();
    }
    let found = run(&state, read, integrator.as_ref()).await?;
    if found.is_empty() {
        return Err(Open311Error::not_found("该请求（service_request_id）"));
    }
    if let Some(i) = &integrator {
        let detail = format!("查看请求 {}", found[0].service_request_id);
        i.audit(&state, &ip, "integrator.read", format!("integrator:{}", i.token.id), detail).await?;
    }
    Ok(json(found, integrator.is_some()))
}

/// One token and the request it became.
#[derive(Debug, Serialize)]
pub struct TokenAnswer {
    pub service_request_id: String,
    pub token: String,
}

/// `GET tokens/{token}.json`: the id of the request a POST answered with this token.
pub async fn token(State(state): State<AppState>, Path(file): Path<String>) -> Result<Response, Open311Error> {
    let token = file
        .strip_suffix(".json")
        .ok_or_else(|| Open311Error::invalid("令牌查询只提供JSON格式：请使用 tokens/{token}.json"))?;
    if !token.starts_with(TOKEN_PREFIX) || token.len() > 128 {
        return Err(Open311Error::not_found("该令牌（token）"));
    }
    let tracking = match state.store().find_case_by_submit_key(token).await? {
        Some(c) => Some(c.tracking),
        None => state
            .store()
            .find_message_by_submit_key(token)
            .await?
            .filter(|m| m.kind != MessageKind::Report)
            .map(|m| m.tracking),
    };
    let tracking = tracking.ok_or_else(|| Open311Error::not_found("该令牌（token）"))?;
    Ok(json([TokenAnswer { service_request_id: tracking, token: token.to_owned() }], false))
}

/// `POST requests.json`
pub async fn create(
    State(state): State<AppState>,
    crate::web::security::ClientIp(ip): crate::web::security::ClientIp,
    body: Bytes,
) -> Result<(StatusCode, Response), Open311Error> {
    let pairs = pairs(&body)?;
    check_jurisdiction(&state, &pairs).await?;
    let integrator = authenticate(&state, &param(&pairs, "api_key")).await?;
    let filed = super::exchange::file(&state, &integrator, &pairs, &ip).await?;
    Ok((StatusCode::CREATED, json([filed], true)))
}
