//! Photos villagers attach to an application (我要办事) or a message (留言箱): reading the
//! multipart form that carries them, and storing them once every one has been checked by its
//! content (JPEG or PNG, at most [`MAX_PHOTOS`]). Stored names never carry the uploaded file
//! name, which can hold a person's name. Text fields holding a control character are refused
//! here, as the edge guard refuses them in other forms.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::multipart::MultipartError;
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::StatusCode;
use xiaowei_integrations::AttachmentKind;

use crate::app::uploads;
use crate::state::AppState;
use crate::web::error::AppError;

/// Photos one form may carry.
pub const MAX_PHOTOS: usize = 3;

/// A multipart form's text fields and its `photos` files.
pub struct PhotoForm {
    fields: HashMap<String, String>,
    photos: Vec<Bytes>,
}

impl PhotoForm {
    /// A text field, trimmed; empty when absent.
    pub fn field(&self, name: &str) -> String {
        self.fields.get(name).map(|v| v.trim().to_owned()).unwrap_or_default()
    }

    pub fn photos(&self) -> &[Bytes] {
        &self.photos
    }
}

/// Reads a form whose files come in `photos` fields; `what` names it in the message shown when
/// the body is not such a form (申请, 留言).
pub async fn read(state: &AppState, request: Request, what: &str) -> Result<PhotoForm, AppError> {
    let mut multipart = Multipart::from_request(request, state)
        .await
        .map_err(|_| AppError::invalid(format!("请通过页面上的表单提交{what}")))?;
    let bad = |e: MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            uploads::too_large("提交的内容")
        } else {
            AppError::invalid(format!("提交内容不完整，请重新提交（每张照片不超过{}MB）", uploads::MAX_FILE_MB))
        }
    };
    let mut form = PhotoForm { fields: HashMap::new(), photos: Vec::new() };
    while let Some(field) = multipart.next_field().await.map_err(bad)? {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "photos" {
            let bytes = field.bytes().await.map_err(bad)?;
            if bytes.len() > uploads::MAX_FILE_BYTES {
                return Err(uploads::too_large("照片"));
            }
            if !bytes.is_empty() {
                if form.photos.len() >= MAX_PHOTOS {
                    return Err(AppError::invalid(format!("照片：最多上传{MAX_PHOTOS}张")));
                }
                form.photos.push(bytes);
            }
        } else {
            let value = field.text().await.map_err(bad)?;
            if xiaowei_core::text::has_control(&name, false) || xiaowei_core::text::has_control(&value, true) {
                return Err(crate::web::security::control_error(&crate::web::security::field_label(&name)));
            }
            form.fields.insert(name, value);
        }
    }
    Ok(form)
}

/// A stored photo, as a case or message records it.
pub struct StoredPhoto {
    pub sha256: String,
    pub size: i64,
    pub content_type: String,
    /// 照片1.jpg, 照片2.png…
    pub name: String,
}

/// Checks every photo, then stores them all: a refused photo leaves nothing stored.
pub async fn store(state: &AppState, photos: &[Bytes]) -> Result<Vec<StoredPhoto>, AppError> {
    if photos
        .iter()
        .any(|p| !matches!(xiaowei_integrations::sniff(p), Some(AttachmentKind::Jpeg | AttachmentKind::Png)))
    {
        return Err(AppError::invalid("照片：请上传 JPG 或 PNG 图片"));
    }
    let mut stored = Vec::with_capacity(photos.len());
    for (i, bytes) in photos.iter().enumerate() {
        let s = state.attachments().put(bytes.clone()).await.map_err(|e| {
            if e.is_user_error() {
                AppError::invalid(format!("照片：{e}"))
            } else {
                AppError::Internal(format!("{e:?}"))
            }
        })?;
        stored.push(StoredPhoto {
            sha256: s.sha256.clone(),
            size: i64::try_from(s.size).unwrap_or(i64::MAX),
            content_type: s.kind.content_type().to_owned(),
            name: format!("照片{}.{}", i + 1, s.kind.extension()),
        });
    }
    Ok(stored)
}
