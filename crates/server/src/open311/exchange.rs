//! The integrator's side of the interface: filing a request (`POST requests.json`), pulling new
//! requests after a cursor with the applicant's contact (`GET exchange/requests.json`), and
//! pushing a case's status (`POST exchange/requests/{id}/status.json`). Filing and status
//! changes call the same use cases as the forms and the back office (`app::cases`,
//! `app::messages`), so the validation, quotas, texts, clocks, state machine and audit records
//! are theirs. A key acts with the authority of the county admin who issued it: the timeline and
//! the audit log name the integrator, and the issuing account stands behind its actions.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;
use xiaowei_core::open311::{Cursor, PULL_LIMIT, ServiceCode, StatusUpdate, TOKEN_PREFIX};
use xiaowei_core::service;
use xiaowei_core::{OrgLevel, Phone};
use xiaowei_store::RequestFilter;

use super::requests::ServiceRequest;
use super::{Integrator, Open311Error, authenticate, json, pairs, param};
use crate::app::tracked::{Filer, Official, Outcome};
use crate::state::AppState;
use crate::web::security::ClientIp;

/// What `POST requests.json` answers (GeoReport v2), with the token too.
#[derive(Debug, Serialize)]
pub struct FiledRequest {
    pub service_request_id: String,
    pub service_notice: String,
    pub account_id: Option<String>,
    pub token: String,
}

/// The once-only key of a filing: the same integrator sending the same request on the same day
/// finds the request it filed first.
fn filing_token(state: &AppState, integrator: &Integrator, pairs: &[(String, String)]) -> String {
    let mut fields: Vec<String> =
        pairs.iter().filter(|(k, _)| k != "api_key").map(|(k, v)| format!("{k}={}", v.trim())).collect();
    fields.sort();
    let day = crate::web::dates::shanghai_date(state.now());
    let input = format!("{}|{day}|{}", integrator.token.id, fields.join("&"));
    let tag = state.cipher().token_tag("open311-filing", &input);
    format!("{TOKEN_PREFIX}{}", &tag[..40.min(tag.len())])
}

/// The applicant's name from `last_name` and `first_name` (Chinese order), or `name`.
fn applicant_name(pairs: &[(String, String)]) -> String {
    let joined = format!("{}{}", param(pairs, "last_name"), param(pairs, "first_name"));
    if joined.is_empty() { param(pairs, "name") } else { joined }
}

/// Files a request through the forms' use cases.
pub async fn file(
    state: &AppState,
    integrator: &Integrator,
    pairs: &[(String, String)],
    ip: &str,
) -> Result<FiledRequest, Open311Error> {
    let code = ServiceCode::parse(&param(pairs, "service_code"))
        .ok_or_else(|| Open311Error::invalid("service_code：没有这个服务，请查看 services.json"))?;
    let address_id = param(pairs, "address_id");
    if address_id.is_empty() {
        return Err(Open311Error::invalid("address_id：请填写所在村（社区）或乡镇的行政区划代码"));
    }
    if !integrator.covers(&address_id) {
        return Err(Open311Error::new(StatusCode::FORBIDDEN, "address_id：不在本密钥的范围内"));
    }
    let token = filing_token(state, integrator, pairs);
    let phone = param(pairs, "phone");
    // A hotline files for many callers: the hourly quota counts per caller, as on the forms.
    let caller = state.cipher().token_tag("open311-caller", &phone);
    let filer = Filer {
        ip: ip.to_owned(),
        quota: format!("integrator:{}:{}", integrator.token.id, &caller[..16]),
        integrator: true,
        ..Filer::default()
    };
    let now = state.now();
    let (tracking, created, notice) = match code {
        ServiceCode::Item(id) => {
            if !integrator.kinds.cases {
                return Err(Open311Error::new(StatusCode::FORBIDDEN, "service_code：本密钥不能提交办件"));
            }
            let item = state
                .store()
                .find_service_item(id)
                .await?
                .filter(|i| i.active)
                .ok_or_else(|| Open311Error::invalid("service_code：该服务事项已停用或不存在"))?;
            let application = crate::app::cases::Application {
                form_key: token.clone(),
                name: applicant_name(pairs),
                phone,
                village: address_id,
                id_number: param(pairs, "attribute[id_number]"),
                description: param(pairs, "description"),
                photos: Vec::new(),
            };
            let filed = crate::app::cases::file(state, &item, application, &filer, now).await?;
            (filed.tracking, filed.created, "已受理，承办人员将在24小时内联系申请人".to_owned())
        }
        ServiceCode::Message(kind) => {
            if !integrator.kinds.messages {
                return Err(Open311Error::new(StatusCode::FORBIDDEN, "service_code：本密钥不能提交留言"));
            }
            let place = state.store().find_org(&address_id).await?;
            let township_code = match &place {
                Some(o) if o.level == OrgLevel::Village => o.parent_code.clone().unwrap_or_default(),
                Some(o) if o.level == OrgLevel::Township => o.code.clone(),
                _ => return Err(Open311Error::invalid("address_id：留言须写明乡镇或村（社区）的行政区划代码")),
            };
            let township = state
                .store()
                .find_org(&township_code)
                .await?
                .ok_or_else(|| Open311Error::invalid("address_id：找不到所属乡镇"))?;
            let leaving = crate::app::messages::Leaving {
                form_key: token.clone(),
                kind: kind.as_str().to_owned(),
                place: address_id,
                name: applicant_name(pairs),
                phone,
                body: param(pairs, "description"),
                public: param(pairs, "attribute[public]") == "1",
                photos: Vec::new(),
            };
            let left = crate::app::messages::leave(state, &township, leaving, &filer, now).await?;
            let days = kind.reply_days(state.config().complaint_reply_days);
            (left.tracking, left.created, format!("已收到，{days}个工作日内答复"))
        }
    };
    if created {
        let detail = format!("提交请求 {tracking}（{code}）");
        integrator.audit(state, ip, "integrator.file", format!("integrator:{}", integrator.token.id), detail).await?;
    }
    Ok(FiledRequest { service_request_id: tracking, service_notice: notice, account_id: None, token })
}

/// One pulled request: the GeoReport fields and the applicant's contact for the hotline.
#[derive(Debug, Serialize)]
pub struct Pulled {
    #[serde(flatten)]
    pub request: ServiceRequest,
    /// `case` or `message`.
    pub kind: &'static str,
    pub applicant_name: String,
    /// The applicant's phone in full (the hotline calls back); null when none was left.
    pub phone: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Pull {
    pub requests: Vec<Pulled>,
    /// Pass as `since` on the next pull.
    pub next_cursor: String,
}

/// `GET exchange/requests.json?api_key=…&since=<cursor>`: requests filed after the cursor, in
/// the key's scope and kinds, oldest first.
pub async fn pull(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    RawQuery(query): RawQuery,
) -> Result<Response, Open311Error> {
    let pairs = pairs(query.unwrap_or_default().as_bytes())?;
    let integrator = authenticate(&state, &param(&pairs, "api_key")).await?;
    let since = Cursor::parse(&param(&pairs, "since"))
        .ok_or_else(|| Open311Error::invalid("since：游标格式应为上次返回的 next_cursor，如 12.5"))?;
    let mut cursor = since;
    let mut out = Vec::new();
    let base = RequestFilter {
        org_prefix: integrator.token.org_code.clone(),
        limit: PULL_LIMIT,
        oldest_first: true,
        ..RequestFilter::default()
    };
    let cipher = state.cipher();
    let phone_of = |sealed: Option<&[u8]>| {
        sealed.and_then(|s| cipher.decrypt(s).ok()).and_then(|p| Phone::parse(&p).ok()).map(|p| p.expose().to_owned())
    };
    if integrator.kinds.cases {
        let filter = RequestFilter { after_id: since.case.max(0), ..base.clone() };
        for r in state.store().request_cases(&filter).await? {
            cursor.case = cursor.case.max(r.case.id);
            let phone = phone_of(Some(&r.case.phone_enc));
            let name = r.case.applicant_name.clone();
            let request = super::requests::integrator_view_of_case(&state, r).await?;
            out.push(Pulled { request, kind: "case", applicant_name: name, phone });
        }
    }
    if integrator.kinds.messages {
        let filter = RequestFilter { after_id: since.message.max(0), ..base };
        for r in state.store().request_messages(&filter).await? {
            cursor.message = cursor.message.max(r.message.id);
            let phone = phone_of(r.message.phone_enc.as_deref());
            let name = r.message.author_name.clone();
            if let Some(request) = super::requests::integrator_view_of_message(&state, r).await? {
                out.push(Pulled { request, kind: "message", applicant_name: name, phone });
            }
        }
    }
    let detail = format!("拉取{}条新请求（含申请人姓名和手机号），游标 {since} → {cursor}", out.len());
    integrator.audit(&state, &ip, "integrator.pull", format!("integrator:{}", integrator.token.id), detail).await?;
    Ok(json(Pull { requests: out, next_cursor: cursor.to_string() }, true))
}

/// `POST exchange/requests/{id}/status.json` with `status` (contacted, replied or completed),
/// `note`, and for `contacted` an optional `method` (phone, visit, wechat, in_person).
pub async fn push(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, Open311Error> {
    let pairs = pairs(&body)?;
    let integrator = authenticate(&state, &param(&pairs, "api_key")).await?;
    let Some(tracking) = service::normalize_tracking(&id) else {
        return Err(Open311Error::invalid(
            "service_request_id：状态推送只适用于办件（BJ开头的编号）；留言由乡镇、村工作人员在后台答复",
        ));
    };
    let case = state
        .store()
        .find_case_by_tracking(&tracking)
        .await?
        .filter(|c| integrator.kinds.cases && integrator.covers(&c.org_code))
        .ok_or_else(|| Open311Error::not_found("该办件（service_request_id）"))?;
    let update = StatusUpdate::parse(&param(&pairs, "status")).ok_or_else(|| {
        Open311Error::invalid("status：只能是 contacted（已联系）、replied（答复进展）或 completed（已办结）")
    })?;
    let note = param(&pairs, "note");
    if let Err(e) = service::transition(case.status, update.case_action()) {
        return Err(Open311Error::new(StatusCode::CONFLICT, format!("status：{e}")));
    }
    // The same update sent twice is done once.
    let form_key = {
        let tag = state
            .cipher()
            .token_tag("open311-update", &format!("{}|{tracking}|{}|{note}", integrator.token.id, update.as_str()));
        format!("{TOKEN_PREFIX}{}", &tag[..40.min(tag.len())])
    };
    let by = Official {
        id: integrator.token.created_by,
        username: format!("接口：{}", integrator.token.name),
        display_name: format!("{}（接口）", integrator.token.name),
        ip: ip.clone(),
    };
    let now = state.now();
    let outcome = match update {
        StatusUpdate::Contacted => {
            let method = match param(&pairs, "method") {
                m if m.is_empty() => "phone".to_owned(),
                m => m,
            };
            crate::app::cases::record_contact(&state, &case, &by, &form_key, &method, &note, now).await?
        }
        StatusUpdate::Replied => {
            crate::app::cases::add_progress(&state, &case, &by, &form_key, &note, true, now).await?
        }
        StatusUpdate::Completed => crate::app::cases::complete(&state, &case, &by, &form_key, &note, now).await?,
    };
    if matches!(outcome, Outcome::Done) {
        let detail = format!("推送办件 {tracking} 状态：{}", update.as_str());
        integrator.audit(&state, &ip, "integrator.push", format!("service_case:{}", case.id), detail).await?;
    }
    let case = state.store().request_cases(&RequestFilter { tracking, limit: 1, ..RequestFilter::default() }).await?;
    let mut answer = Vec::new();
    for r in case {
        answer.push(super::requests::integrator_view_of_case(&state, r).await?);
    }
    Ok(json(answer, true))
}
