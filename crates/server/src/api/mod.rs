//! The open API (开放接口): `/api/v1/` JSON for the public data and for filing and following
//! requests, its OpenAPI 3.1 document at `/api/openapi.json`, and a readable page of it at
//! `/api/docs`. Answers only what the public pages show, masked as they mask it; filing goes
//! through the same use cases, validation, quotas and once-only keys as the forms.
//!
//! ## Why utoipa
//!
//! The document is generated from the handlers by `utoipa` (with `utoipa-axum`), not written by
//! hand: each handler carries `#[utoipa::path(…)]`, and `routes!(handler)` registers the axum
//! route *and* its operation from that one attribute, so a route cannot exist without its
//! description, nor a description without its route. `aide` would do the same but asks every
//! handler, extractor and response type to implement its own traits (`OperationInput`,
//! `OperationOutput`) and its schemas come from `schemars`; utoipa leaves the axum handlers and
//! extractors as they are, emits OpenAPI 3.1 by default, and is the more widely kept of the two.
//!
//! ## Shape of every answer
//!
//! - Lists take `page` (from 1) and `per_page` (1–100, default 20) and answer `{items, page,
//!   per_page, total, next}` with `next` also in a `Link` header (`paging`).
//! - Every successful GET carries a strong `ETag`; `If-None-Match` with it answers 304 (`edge`).
//! - Reads count against `api_reads_per_minute` per client and server (`edge`); filing and
//!   looking up use the forms' own quotas. Either way the answer is 429 with the error body.
//! - Every error, ours or the framework's, is `{"error": {"code", "message", "field",
//!   "request_id"}}` (`error`), rendered by `web::security::render_errors` like the pages'.
//! - Times are RFC 3339 in Asia/Shanghai; money is integer fen.
//!
//! ## Adding operations
//!
//! Write the handler with `#[utoipa::path(get, path = "/api/v1/…", tag = "…", summary = "中文",
//! params(…), responses((status = 200, body = …)))]` and add `.routes(routes!(handler))` in
//! [`routes`]; the standard error answers (400, 404, 429, and 304 for GETs) are added to every
//! operation by [`document`], so a handler lists only its success. Another area with its own
//! router (Open311, open data) either returns an `OpenApiRouter<AppState>` of its operations and
//! is `.merge(…)`d into [`routes`] (it is then served by `api::router` too), or keeps its own
//! axum router and contributes only its description: `#[derive(OpenApi)] struct TheirDoc` with
//! `paths(…)`, merged in [`document`] with `doc.merge(TheirDoc::openapi())` (or
//! `ApiDoc::openapi().nest("/open311/v2", …)` for paths written relative to a prefix). Tags are
//! declared once on [`ApiDoc`], with a Chinese description that the docs page shows.

mod disclosures;
mod docs;
mod edge;
mod error;
mod ledger;
mod paging;
mod phones;
mod places;
mod powers;
mod requests;
mod rosters;
mod services;

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::middleware;
use axum::response::IntoResponse;
use axum::routing::get;
use utoipa::OpenApi;
use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{Ref, RefOr};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use error::{ApiError, ErrorBody};

use crate::state::AppState;

/// The document's fixed parts: title, version, tags. Operations come from [`routes`].
#[derive(OpenApi)]
#[openapi(
    info(
        title = "村级小微权力监督平台开放接口",
        version = "1.0.0",
        description = "公开数据（地区、补贴项目、花名册、小微权力清单、公示公开、服务事项、公开账本）与办件、留言的提交和查询。\
                       身份证号按公开页面的方式隐藏部分数字；金额单位为分；时间为北京时间（RFC 3339）。"
    ),
    tags(
        (name = "places", description = "地区：乡镇和村"),
        (name = "subsidies", description = "惠农资金：补贴项目、花名册及明细、发放差异"),
        (name = "powers", description = "小微权力清单：事项、办理流程、廉政风险点"),
        (name = "disclosures", description = "公示公开：村务、财务等公开事项"),
        (name = "services", description = "我要办事：服务事项与办件"),
        (name = "messages", description = "留言箱：咨询、投诉、建议、举报"),
        (name = "phones", description = "验证手机号：提交办件或留言前，用短信验证码证明手机号是本人的"),
        (name = "ledger", description = "公开账本：每次公开、更正、撤回的记录")
    ),
    components(schemas(ErrorBody))
)]
pub struct ApiDoc;

/// Every `/api/v1/` operation with its description.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(places::townships))
        .routes(routes!(places::villages))
        .routes(routes!(places::programmes))
        .routes(routes!(rosters::list))
        .routes(routes!(rosters::detail))
        .routes(routes!(rosters::entries))
        .routes(routes!(powers::list))
        .routes(routes!(powers::detail))
        .routes(routes!(disclosures::list))
        .routes(routes!(disclosures::detail))
        .routes(routes!(services::list))
        .routes(routes!(services::detail))
        .routes(routes!(ledger::list))
        .routes(routes!(ledger::detail))
        .routes(routes!(phones::send_code))
        .routes(routes!(phones::prove))
        .routes(routes!(requests::file_case))
        .routes(routes!(requests::show_case))
        .routes(routes!(requests::leave_message))
        .routes(routes!(requests::show_message))
}

/// The whole OpenAPI document, with the answers every operation shares.
pub fn document() -> utoipa::openapi::OpenApi {
    let (_, mut doc) = routes().split_for_parts();
    add_standard_answers(&mut doc);
    doc
}

/// The API's router: the operations with their quota and ETag layers, the document and its page.
pub fn router(state: &AppState) -> Router<AppState> {
    let (operations, _) = routes().split_for_parts();
    let quota = edge::ReadQuota::per_minute(state.config().api_reads_per_minute);
    let json: Arc<str> = serde_json::to_string(&document()).unwrap_or_default().into();
    let page: Arc<str> = docs::render(&document()).into();
    operations
        .layer(middleware::from_fn(edge::etag))
        .layer(middleware::from_fn_with_state((state.clone(), quota), edge::read_quota))
        .route(
            "/api/openapi.json",
            get(move || async move {
                ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], json.to_string())
            }),
        )
        .route("/api/docs", get(move || async move { axum::response::Html(page.to_string()).into_response() }))
}

/// A UTC timestamp as RFC 3339 in Asia/Shanghai (`2025-10-09T10:00:00+08:00`).
pub fn api_time(unix_seconds: i64) -> String {
    let zone = jiff::tz::TimeZone::fixed(jiff::tz::Offset::constant(8));
    jiff::Timestamp::from_second(unix_seconds)
        .map(|t| t.to_zoned(zone).strftime("%Y-%m-%dT%H:%M:%S%:z").to_string())
        .unwrap_or_default()
}

/// The index of the newest ledger leaf about a record, if it has one.
pub async fn leaf_of(state: &AppState, kind: &str, object_id: i64) -> Result<Option<i64>, ApiError> {
    Ok(state.store().latest_leaf_of(kind, object_id).await?.map(|leaf| leaf.idx))
}

/// Adds to every operation the error answers it can give (all with [`ErrorBody`]), 304 and the
/// `ETag` header to GETs, and `Link` to lists.
fn add_standard_answers(doc: &mut utoipa::openapi::OpenApi) {
    let error = |description: &str| {
        RefOr::T(
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build(),
                )
                .build(),
        )
    };
    let text_header = |description: &str| {
        RefOr::T(
            HeaderBuilder::new()
                .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                .description(Some(description))
                .build(),
        )
    };
    for item in doc.paths.paths.values_mut() {
        let reads = [(&mut item.get, true), (&mut item.post, false)];
        for (operation, is_get) in reads {
            let Some(operation) = operation.as_mut() else { continue };
            let answers = &mut operation.responses.responses;
            answers.entry("400".into()).or_insert_with(|| error("参数或提交内容有误，field 指出哪一项"));
            answers.entry("404".into()).or_insert_with(|| error("记录不存在或未公开"));
            answers.entry("429".into()).or_insert_with(|| error("请求过于频繁，请按 Retry-After 秒数稍后再试"));
            if !is_get {
                answers.entry("409".into()).or_insert_with(|| error("与已有记录冲突"));
                answers.entry("413".into()).or_insert_with(|| error("提交的内容过大"));
                answers.entry("415".into()).or_insert_with(|| error("请以 application/json 提交"));
                continue;
            }
            answers.entry("304".into()).or_insert_with(|| {
                RefOr::T(ResponseBuilder::new().description("内容未变（If-None-Match 与 ETag 相同）").build())
            });
            if let Some(RefOr::T(ok)) = answers.get_mut("200") {
                ok.headers.insert("ETag".into(), text_header("内容的强校验值，可用于 If-None-Match"));
                let is_list =
                    operation.parameters.iter().flatten().any(|p| matches!(p, RefOr::T(p) if p.name == "per_page"));
                if is_list {
                    ok.headers.insert("Link".into(), text_header("下一页的地址（rel=\"next\"），最后一页没有"));
                }
            }
        }
    }
}
