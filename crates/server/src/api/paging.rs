//! Query parameters and pages of lists. Every parameter arrives as text and is parsed here with
//! a Chinese message naming it, so a bad `page` or `place` is a 400 with `field` set, never a
//! framework rejection or a silently clamped value. A list answers `{items, page, per_page,
//! total, next}` and repeats `next` in a `Link: <…>; rel="next"` header (RFC 8288).

use axum::Json;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::error::ApiError;

/// Items per page when `per_page` is not given, and the most a client may ask for.
pub const DEFAULT_PER_PAGE: i64 = 20;
pub const MAX_PER_PAGE: i64 = 100;
/// Pages beyond this are refused: deep offsets cost the database and no list here is that long.
pub const MAX_PAGE: i64 = 10_000;

/// The page parameters every list takes.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Page number, from 1.
    #[param(value_type = Option<i64>, minimum = 1, maximum = 10000)]
    page: Option<String>,
    /// Items per page, 1 to 100 (default 20).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 100)]
    per_page: Option<String>,
}

/// The query of an operation as its parameter struct (text fields, parsed afterwards by the
/// helpers below); a malformed query or a repeated parameter is a 400.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        serde_urlencoded::from_str(parts.uri.query().unwrap_or_default())
            .map(Self)
            .map_err(|_| ApiError::field("query", "查询参数：格式不正确或同一参数出现了多次"))
    }
}

/// An integer parameter within `min..=max`, or `None` when absent.
pub fn int_param(value: Option<&str>, field: &str, label: &str, min: i64, max: i64) -> Result<Option<i64>, ApiError> {
    let Some(text) = value else { return Ok(None) };
    match text.parse::<i64>() {
        Ok(n) if (min..=max).contains(&n) && !text.starts_with('+') => Ok(Some(n)),
        _ => Err(ApiError::field(field, format!("{label}：应为{min}至{max}的整数"))),
    }
}

/// An org code parameter (county 6 digits, township 9, village 12), or `None` when absent.
pub fn code_param(value: Option<&str>, field: &str) -> Result<Option<String>, ApiError> {
    let Some(text) = value else { return Ok(None) };
    if is_org_code(text) {
        Ok(Some(text.to_owned()))
    } else {
        Err(ApiError::field(field, "地区编码：应为6位（县）、9位（乡镇）或12位（村）数字"))
    }
}

/// Whether `text` has the shape of a county, township or village code.
pub fn is_org_code(text: &str) -> bool {
    matches!(text.len(), 6 | 9 | 12) && text.bytes().all(|b| b.is_ascii_digit())
}

/// A record id in a path: a positive integer.
pub fn id_param(text: &str, field: &str) -> Result<i64, ApiError> {
    Ok(int_param(Some(text), field, "编号", 1, i64::MAX)?.unwrap_or(1))
}

/// Which page a list request asks for, with what it needs to link to the next one.
pub struct Paging {
    pub page: i64,
    pub per_page: i64,
    path: String,
    others: Vec<(String, String)>,
}

impl<S: Send + Sync> FromRequestParts<S> for Paging {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or_default();
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query)
            .map_err(|_| ApiError::field("query", "查询参数：格式不正确或同一参数出现了多次"))?;
        let ApiQuery(q) = ApiQuery::<PageQuery>::from_request_parts(parts, &()).await?;
        let page = int_param(q.page.as_deref(), "page", "页码", 1, MAX_PAGE)?.unwrap_or(1);
        let per_page =
            int_param(q.per_page.as_deref(), "per_page", "每页条数", 1, MAX_PER_PAGE)?.unwrap_or(DEFAULT_PER_PAGE);
        let others = pairs.into_iter().filter(|(k, _)| k != "page" && k != "per_page").collect();
        Ok(Self { page, per_page, path: parts.uri.path().to_owned(), others })
    }
}

impl Paging {
    pub fn offset(&self) -> i64 {
        (self.page - 1) * self.per_page
    }

    /// One page cut from a whole list (lists the store returns whole: places, catalogues).
    pub fn slice<T: Serialize>(self, all: Vec<T>) -> Listed<T> {
        let total = all.len() as i64;
        let items = all
            .into_iter()
            .skip(usize::try_from(self.offset()).unwrap_or(usize::MAX))
            .take(usize::try_from(self.per_page).unwrap_or(0))
            .collect();
        self.listed(items, total)
    }

    /// A page the store already cut, out of `total` items.
    pub fn listed<T: Serialize>(self, items: Vec<T>, total: i64) -> Listed<T> {
        let next = (self.offset() + self.per_page < total && self.page < MAX_PAGE).then(|| {
            let mut pairs = self.others.clone();
            pairs.push(("page".into(), (self.page + 1).to_string()));
            pairs.push(("per_page".into(), self.per_page.to_string()));
            format!("{}?{}", self.path, serde_urlencoded::to_string(&pairs).unwrap_or_default())
        });
        Listed(Page { items, page: self.page, per_page: self.per_page, total, next })
    }
}

/// A page of a list.
#[derive(Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// This page's number, from 1.
    pub page: i64,
    pub per_page: i64,
    /// Items in the whole list.
    pub total: i64,
    /// The path and query of the next page; null on the last page.
    pub next: Option<String>,
}

/// A page as a response: the JSON body and the `Link` header.
pub struct Listed<T>(pub Page<T>);

impl<T: Serialize> IntoResponse for Listed<T> {
    fn into_response(self) -> Response {
        let link = self.0.next.as_ref().and_then(|next| HeaderValue::from_str(&format!("<{next}>; rel=\"next\"")).ok());
        let mut response = Json(self.0).into_response();
        if let Some(link) = link {
            response.headers_mut().insert(header::LINK, link);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_outside_their_range_or_not_integers_are_refused_with_the_field() {
        assert_eq!(int_param(Some("3"), "page", "页码", 1, 10).ok().flatten(), Some(3));
        assert_eq!(int_param(None, "page", "页码", 1, 10).ok().flatten(), None);
        for bad in ["0", "11", "-1", "1.5", "", "abc", "+3", "99999999999999999999"] {
            let error = int_param(Some(bad), "page", "页码", 1, 10).err();
            assert!(error.is_some(), "{bad}");
        }
    }

    #[test]
    fn org_codes_are_six_nine_or_twelve_digits() {
        assert!(is_org_code("620922"));
        assert!(is_org_code("620922100"));
        assert!(is_org_code("620922100200"));
        assert!(!is_org_code("62092210"));
        assert!(!is_org_code("62092210020a"));
        assert!(!is_org_code("620922100200001"));
    }

    #[test]
    fn the_next_link_keeps_the_other_parameters_and_stops_at_the_last_page() {
        let paging = |page| Paging {
            page,
            per_page: 2,
            path: "/api/v1/rosters".into(),
            others: vec![("place".into(), "620922100".into())],
        };
        let first = paging(1).slice(vec![1, 2, 3, 4, 5]);
        assert_eq!(first.0.items, vec![1, 2]);
        assert_eq!(first.0.next.as_deref(), Some("/api/v1/rosters?place=620922100&page=2&per_page=2"));
        let last = paging(3).slice(vec![1, 2, 3, 4, 5]);
        assert_eq!(last.0.items, vec![5]);
        assert_eq!(last.0.next, None);
        assert!(paging(9).slice(vec![1]).0.items.is_empty());
    }
}
