//! What every read-only operation shares at the edge: a strong `ETag` (the SHA-256 of the JSON
//! body, so equal bytes give equal tags on every server) with `If-None-Match` answered `304 Not
//! Modified`, `Cache-Control: no-cache` (clients may keep a copy but ask again, cheaply), and the
//! per-client read quota (`api_reads_per_minute`, counted per server by `governor` under
//! `web::client::QuotaKey`), answered `429` with `Retry-After`.

use std::num::NonZeroU32;
use std::sync::Arc;

use axum::body::{Body, to_bytes};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use sha2::{Digest, Sha256};

use super::error::ApiError;
use crate::state::AppState;
use crate::web::client::QuotaKey;

/// The largest body the ETag layer buffers; a bigger one goes out without a tag.
const MAX_TAGGED_BYTES: usize = 8 * 1024 * 1024;
/// Clients remembered before forgotten ones are dropped from the quota table.
const REMEMBERED_CLIENTS: usize = 10_000;

/// The read quota of one server.
pub struct ReadQuota(DefaultKeyedRateLimiter<String>);

impl ReadQuota {
    pub fn per_minute(reads: u32) -> Arc<Self> {
        let quota = Quota::per_minute(NonZeroU32::new(reads).unwrap_or(NonZeroU32::MIN));
        Arc::new(Self(RateLimiter::keyed(quota)))
    }
}

/// Counts a read against the client's quota; over it, 429 with the seconds to wait. Writes
/// are counted by their use cases' own quotas.
pub async fn read_quota(
    State((state, quota)): State<(AppState, Arc<ReadQuota>)>,
    request: Request,
    next: Next,
) -> Response {
    if !matches!(*request.method(), Method::GET | Method::HEAD) {
        return next.run(request).await;
    }
    let (mut parts, body) = request.into_parts();
    let key = match QuotaKey::from_request_parts(&mut parts, &state).await {
        Ok(QuotaKey(key)) => key,
        Err(e) => return ApiError::from(e).into_response(),
    };
    if quota.0.len() > REMEMBERED_CLIENTS {
        quota.0.retain_recent();
    }
    if let Err(not_until) = quota.0.check_key(&key) {
        let wait = not_until.wait_time_from(DefaultClock::default().now()).as_secs().max(1);
        let mut response = ApiError::throttled("请求过于频繁，请稍后再试").into_response();
        if let Ok(value) = HeaderValue::from_str(&wait.to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        return response;
    }
    next.run(Request::from_parts(parts, body)).await
}

/// Tags successful GET answers with a strong ETag and answers a matching `If-None-Match` with
/// 304 and no body.
pub async fn etag(request: Request, next: Next) -> Response {
    if !matches!(*request.method(), Method::GET | Method::HEAD) {
        return next.run(request).await;
    }
    let if_none_match = request.headers().get(header::IF_NONE_MATCH).cloned();
    let response = next.run(request).await;
    if response.status() != StatusCode::OK {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_TAGGED_BYTES).await else {
        return ApiError::from(crate::web::error::AppError::Internal("api body too large to tag".into()))
            .into_response();
    };
    let tag = format!("\"{}\"", hex::encode(&Sha256::digest(&bytes)[..16]));
    let Ok(tag_value) = HeaderValue::from_str(&tag) else { return Response::from_parts(parts, Body::from(bytes)) };
    parts.headers.insert(header::ETAG, tag_value.clone());
    if !parts.headers.contains_key(header::CACHE_CONTROL) {
        parts.headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    }
    if if_none_match.as_ref().is_some_and(|v| matches_tag(v, &tag)) {
        let mut headers = HeaderMap::new();
        for name in [header::ETAG, header::CACHE_CONTROL] {
            if let Some(value) = parts.headers.get(&name) {
                headers.insert(name, value.clone());
            }
        }
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// `If-None-Match` against our tag: `*`, or any listed tag equal to it (a weak `W/` form of the
/// same tag matches too: the comparison for GET is the weak one, RFC 9110 §13.1.2).
fn matches_tag(header_value: &HeaderValue, tag: &str) -> bool {
    let Ok(text) = header_value.to_str() else { return false };
    text.split(',').map(str::trim).any(|t| t == "*" || t.strip_prefix("W/").unwrap_or(t) == tag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_none_match_matches_star_a_listed_tag_or_its_weak_form() {
        let tag = "\"abc\"";
        let check = |v: &'static str| matches_tag(&HeaderValue::from_static(v), tag);
        assert!(check("\"abc\""));
        assert!(check("\"x\", \"abc\""));
        assert!(check("W/\"abc\""));
        assert!(check("*"));
        assert!(!check("\"abd\""));
        assert!(!check("abc"));
    }
}
