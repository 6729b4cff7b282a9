//! A form that fails comes back filled in: [`FieldErrors`] holds the message for each field that
//! needs changing, in the order the form shows them. Templates include `form_errors.html` for the
//! summary at the top (focused on load, each item a link to its field) and put
//! [`FieldErrors::get`] beside each field, tied to it by `aria-describedby`. Never holds the
//! values themselves: the page that re-renders keeps what was typed in its own fields.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;
use xiaowei_core::tracked::Rating;

use crate::web::error::AppError;

/// A form page that came back with its faults: 400, and never cached, since it holds what was
/// typed.
pub fn returned(html: String) -> Response {
    ([(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))], (StatusCode::BAD_REQUEST, Html(html)))
        .into_response()
}

/// The rating form of a case, message or objection status page (满意 / 基本满意 / 不满意 and a
/// reason); `k` is the status page's key where it has one.
#[derive(Deserialize)]
pub struct RateForm {
    #[serde(default)]
    pub k: String,
    #[serde(default)]
    pub rating: String,
    #[serde(default)]
    pub comment: String,
}

impl RateForm {
    /// The rating given, or the message naming what is missing.
    pub fn rating(&self) -> Result<Rating, AppError> {
        Rating::parse(&self.rating, &self.comment).map_err(|e| AppError::invalid(e.to_string()))
    }
}

/// Messages by field id, in form order.
#[derive(Debug, Default, Clone)]
pub struct FieldErrors(Vec<(&'static str, String)>);

impl FieldErrors {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the message for `field` (the input's `id`); a second message for a field is dropped.
    pub fn add(&mut self, field: &'static str, message: impl Into<String>) {
        if self.get(field).is_empty() {
            self.0.push((field, message.into()));
        }
    }

    /// Names, for the summary, the photos a form that came back asks for again (the list itself
    /// is shown beside the photo field).
    pub fn add_photos_again(&mut self, count: usize) {
        if count > 0 {
            self.add("photos", format!("照片：有{count}张需要重新选择，见照片一栏"));
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The message for `field`, or "" when it is fine.
    pub fn get(&self, field: &str) -> &str {
        self.0.iter().find(|(f, _)| *f == field).map_or("", |(_, m)| m.as_str())
    }

    /// The one message of a check that stops at the first fault, under the field its label
    /// prefix names ("项目名称：…" → `name`); a message naming no field goes to the summary only.
    pub fn from_message(message: &str, labels: &[(&str, &'static str)]) -> Self {
        let field = labels
            .iter()
            .find(|(label, _)| message.strip_prefix(label).is_some_and(|rest| rest.starts_with('：')))
            .map_or("", |(_, field)| field);
        let mut errors = Self::new();
        errors.add(field, message);
        errors
    }

    /// The messages of a use case's refusal, for showing its form again: every field of
    /// [`AppError::Fields`], or the one field an [`AppError::Invalid`] message names (see
    /// [`FieldErrors::from_message`]). Any other error is given back.
    pub fn from_error(error: AppError, labels: &[(&str, &'static str)]) -> Result<Self, AppError> {
        match error {
            AppError::Fields(errors) => Ok(errors),
            AppError::Invalid(message) => Ok(Self::from_message(&message, labels)),
            other => Err(other),
        }
    }

    /// `(field, message)` pairs in form order, for the summary.
    pub fn items(&self) -> &[(&'static str, String)] {
        &self.0
    }

    /// The first message, for ends that show one line (the API, a hall terminal's error page).
    pub fn first(&self) -> &str {
        self.0.first().map_or("", |(_, m)| m.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_keep_form_order_and_one_per_field() {
        let mut e = FieldErrors::new();
        assert!(e.is_empty());
        e.add("name", "请填写姓名");
        e.add("id_number", "身份证号校验位不对");
        e.add("name", "第二条");
        assert_eq!(e.len(), 2);
        assert_eq!(e.get("name"), "请填写姓名");
        assert_eq!(e.get("phone"), "");
        assert_eq!(e.first(), "请填写姓名");
        assert_eq!(e.items()[1].0, "id_number");
    }

    #[test]
    fn a_message_lands_on_the_field_its_label_names() {
        let labels = [("项目名称", "name"), ("公示天数", "publicity_days")];
        let e = FieldErrors::from_message("公示天数：请填写1到365之间的整数", &labels);
        assert_eq!(e.get("publicity_days"), "公示天数：请填写1到365之间的整数");
        let other = FieldErrors::from_message("表单已失效", &labels);
        assert_eq!(other.items()[0].0, "");
        assert_eq!(other.first(), "表单已失效");
    }

    #[test]
    fn a_refusal_becomes_messages_and_other_errors_pass_through() {
        let labels = [("照片", "photos")];
        let e = FieldErrors::from_error(AppError::invalid("照片：请上传 JPG 或 PNG 图片"), &labels).unwrap();
        assert_eq!(e.get("photos"), "照片：请上传 JPG 或 PNG 图片");
        let mut many = FieldErrors::new();
        many.add("name", "姓名：请填写");
        many.add("description", "需求描述：请写明");
        assert_eq!(FieldErrors::from_error(AppError::Fields(many), &labels).unwrap().len(), 2);
        assert!(matches!(FieldErrors::from_error(AppError::NotFound, &labels), Err(AppError::NotFound)));
    }
}
