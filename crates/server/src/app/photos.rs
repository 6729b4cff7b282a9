//! Photos villagers attach to an application (我要办事) or a message (留言箱): reading the
//! multipart form that carries them, and storing them once every one has been checked by its
//! content (JPEG or PNG, at most [`MAX_PHOTOS`]). Stored names never carry the uploaded file
//! name, which can hold a person's name. Text fields holding a control character are refused
//! here, as the edge guard refuses them in other forms.
//!
//! A form that comes back with an error keeps its photos: each good one is **staged** — put in
//! the attachment store (content-addressed, so a later filing stores nothing twice) and named in
//! the form by a token signed with the token key (`sha256.tag`), which only this server can
//! make, so a form cannot attach a photo it was never sent. The next submission brings the
//! tokens back and the photos are attached again. A photo that cannot be staged (not JPEG or
//! PNG, too large, one too many, or the client over its staging quota) is named by its file name
//! on the page so the villager knows exactly which to add again. A staged photo never filed stays
//! in the store like any unreferenced attachment.

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

/// Stagings one client may make per hour; beyond it a form that comes back asks for its photos
/// again by name.
const STAGINGS_PER_CLIENT: i64 = 20;

/// A multipart form's text fields, its `photos` files (with the file names the browser gave,
/// shown back to the sender only) and the tokens of photos staged earlier.
pub struct PhotoForm {
    fields: HashMap<String, String>,
    photos: Vec<Bytes>,
    file_names: Vec<String>,
    staged: Vec<String>,
    /// Files refused while reading (too large, one too many), by file name and why.
    refused: Vec<String>,
}

impl PhotoForm {
    /// A text field, trimmed; empty when absent.
    pub fn field(&self, name: &str) -> String {
        self.fields.get(name).map(|v| v.trim().to_owned()).unwrap_or_default()
    }

    pub fn photos(&self) -> &[Bytes] {
        &self.photos
    }

    /// Files refused while reading, by file name and why; the form must come back.
    pub fn refused(&self) -> &[String] {
        &self.refused
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
    let mut form = PhotoForm {
        fields: HashMap::new(),
        photos: Vec::new(),
        file_names: Vec::new(),
        staged: Vec::new(),
        refused: Vec::new(),
    };
    while let Some(field) = multipart.next_field().await.map_err(bad)? {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "photos" {
            let file_name = shown_name(field.file_name().unwrap_or_default());
            let bytes = field.bytes().await.map_err(bad)?;
            if bytes.len() > uploads::MAX_FILE_BYTES {
                form.refused.push(format!("{file_name}（超过{}MB）", uploads::MAX_FILE_MB));
            } else if !bytes.is_empty() {
                form.photos.push(bytes);
                form.file_names.push(file_name);
            }
        } else {
            let value = field.text().await.map_err(bad)?;
            if xiaowei_core::text::has_control(&name, false) || xiaowei_core::text::has_control(&value, true) {
                return Err(crate::web::security::control_error(&crate::web::security::field_label(&name)));
            }
            if name == "staged" {
                form.staged.push(value);
            } else {
                form.fields.insert(name, value);
            }
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

/// A file name as the page may show it back: printable, at most 40 characters.
fn shown_name(name: &str) -> String {
    let name: String = name.chars().filter(|c| !c.is_control()).take(40).collect();
    if name.trim().is_empty() { "未命名的文件".to_owned() } else { name }
}

/// The token naming a staged photo in a form.
fn stage_token(state: &AppState, sha256: &str) -> String {
    format!("{sha256}.{}", &state.cipher().token_tag("staged-photo", sha256)[..24])
}

/// A photo kept from an earlier submission, as the form shows it.
pub struct StagedPhoto {
    pub token: String,
    /// 照片1…, in the order they will be attached.
    pub label: String,
}

/// The photo part of a form that came back: the photos staged (kept, ticked) and those to add
/// again, each by file name and why.
#[derive(Default)]
pub struct KeptPhotos {
    pub staged: Vec<StagedPhoto>,
    pub again: Vec<String>,
    /// How many more the form may take.
    pub room: usize,
}

/// The photos of a submission: staged ones brought back by their tokens (a token this server did
/// not sign, or whose photo is gone, is dropped), then the new files; with the message for the
/// photo field when there are too many or some were refused while reading.
pub struct Submitted {
    pub bytes: Vec<Bytes>,
    staged: Vec<String>,
    file_names: Vec<String>,
    refused: Vec<String>,
    pub problem: Option<String>,
}

/// Collects a form's photos, staged and new.
pub async fn submitted(state: &AppState, form: &PhotoForm) -> Result<Submitted, AppError> {
    let mut bytes = Vec::new();
    let mut staged = Vec::new();
    for token in form.staged.iter().take(MAX_PHOTOS) {
        let Some((sha, _)) = token.split_once('.') else { continue };
        if sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) || *token != stage_token(state, sha) {
            continue;
        }
        match state.attachments().get(sha).await {
            Ok(b) => {
                bytes.push(b);
                staged.push(token.clone());
            }
            Err(e) => tracing::info!(error = %e, "a staged photo is gone"),
        }
    }
    let mut file_names = form.file_names.clone();
    let mut refused = form.refused.clone();
    let room = MAX_PHOTOS - bytes.len();
    if form.photos.len() > room {
        refused.extend(file_names.drain(room..).map(|n| format!("{n}（超过{MAX_PHOTOS}张）")));
    }
    bytes.extend(form.photos.iter().take(room).cloned());
    let problem =
        (!refused.is_empty()).then(|| format!("照片：最多{MAX_PHOTOS}张，每张不超过{}MB", uploads::MAX_FILE_MB));
    Ok(Submitted { bytes, staged, file_names, refused, problem })
}

/// Keeps a refused submission's photos for the form that comes back: staged ones stay, new JPEG
/// and PNG files are staged (unless `client` is over its staging quota), every other file is
/// named to add again.
pub async fn keep(state: &AppState, client: &str, photos: Submitted) -> Result<KeptPhotos, AppError> {
    let Submitted { bytes, staged, file_names, refused, .. } = photos;
    let mut kept = KeptPhotos { again: refused, ..KeptPhotos::default() };
    let new = &bytes[staged.len()..];
    let now = state.now();
    let may_stage =
        new.is_empty() || state.store().rate_event("photo_stage", client, now - 3600, now).await? < STAGINGS_PER_CLIENT;
    let mut tokens = staged;
    for (photo, name) in new.iter().zip(file_names) {
        if !matches!(xiaowei_integrations::sniff(photo), Some(AttachmentKind::Jpeg | AttachmentKind::Png)) {
            kept.again.push(format!("{name}（不是 JPG 或 PNG 图片）"));
        } else if !may_stage {
            kept.again.push(format!("{name}（未能保留，请重新选择）"));
        } else {
            match state.attachments().put(photo.clone()).await {
                Ok(s) => tokens.push(stage_token(state, &s.sha256)),
                Err(e) if e.is_user_error() => kept.again.push(format!("{name}（{e}）")),
                Err(e) => return Err(AppError::Internal(format!("{e:?}"))),
            }
        }
    }
    kept.staged = tokens
        .into_iter()
        .enumerate()
        .map(|(i, token)| StagedPhoto { token, label: format!("照片{}", i + 1) })
        .collect();
    kept.room = MAX_PHOTOS - kept.staged.len();
    Ok(kept)
}

impl KeptPhotos {
    /// A blank form's photo field.
    pub fn none() -> Self {
        Self { room: MAX_PHOTOS, ..Self::default() }
    }
}
