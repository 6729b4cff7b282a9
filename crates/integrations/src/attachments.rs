//! Attachment storage: the signed and stamped roster scans clerks upload. Owns content sniffing
//! (PDF, JPEG, PNG — judged by bytes, never by file name), the size limit, and content-addressed
//! storage through `object_store` (a local folder by default, any S3-compatible service by
//! configuration). The original file name is the caller's to keep.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use object_store::ObjectStore;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::path::Path as ObjectPath;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

const MIB: u64 = 1024 * 1024;

/// How far from the end of a PDF its `%%EOF` marker may sit.
const PDF_EOF_WINDOW: usize = 1024;

/// How many bytes of zero padding or whitespace may follow a JPEG's end-of-image marker.
const JPEG_TRAILING_SLACK: usize = 16;

const PNG_SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n'];

/// The file types an attachment may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AttachmentKind {
    Pdf,
    Jpeg,
    Png,
}

impl AttachmentKind {
    /// The MIME type to serve the file with.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Pdf => "application/pdf",
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
        }
    }

    /// The usual file extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Pdf => "pdf",
            Self::Jpeg => "jpg",
            Self::Png => "png",
        }
    }

    /// The name shown to users.
    pub fn label(self) -> &'static str {
        match self {
            Self::Pdf => "PDF文件",
            Self::Jpeg => "JPG图片",
            Self::Png => "PNG图片",
        }
    }
}

/// Recognises a PDF, JPEG or PNG by its content. Both ends of the file are checked, so a truncated
/// upload or another file type renamed to `.pdf` is rejected.
pub fn sniff(bytes: &[u8]) -> Option<AttachmentKind> {
    if is_pdf(bytes) {
        Some(AttachmentKind::Pdf)
    } else if is_jpeg(bytes) {
        Some(AttachmentKind::Jpeg)
    } else if is_png(bytes) {
        Some(AttachmentKind::Png)
    } else {
        None
    }
}

fn is_pdf(bytes: &[u8]) -> bool {
    let tail = &bytes[bytes.len().saturating_sub(PDF_EOF_WINDOW)..];
    bytes.starts_with(b"%PDF-") && tail.windows(5).any(|window| window == b"%%EOF")
}

fn is_jpeg(bytes: &[u8]) -> bool {
    if !bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return false;
    }
    let slack = bytes.iter().rev().take(JPEG_TRAILING_SLACK).take_while(|&&b| b == 0 || b.is_ascii_whitespace()).count();
    let body = &bytes[..bytes.len() - slack];
    // The end marker must come after the three start bytes, not overlap them.
    body.len() >= 5 && body.ends_with(&[0xFF, 0xD9])
}

fn is_png(bytes: &[u8]) -> bool {
    // The signature, then the IHDR chunk: a 4-byte length that is always 13, then its type.
    let Some(rest) = bytes.strip_prefix(&PNG_SIGNATURE) else {
        return false;
    };
    rest.starts_with(&[0, 0, 0, 13]) && rest.get(4..8) == Some(b"IHDR") && rest.len() >= 4 + 4 + 13 + 4
}

/// Where attachments are stored; part of the server configuration.
#[derive(Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct AttachmentConfig {
    /// `local` (a folder) or `s3` (any S3-compatible service, addressed path-style).
    pub backend: String,
    /// The local folder; the caller defaults it to `<data_dir>/attachments`.
    pub dir: Option<PathBuf>,
    /// Largest accepted file, in bytes.
    pub max_bytes: u64,
    /// The S3 service URL, e.g. `http://minio:9000`; AWS itself when absent.
    pub s3_endpoint: Option<String>,
    pub s3_bucket: Option<String>,
    /// `us-east-1` when absent, which is what most S3-compatible services expect.
    pub s3_region: Option<String>,
    #[serde(skip_serializing)]
    pub s3_access_key_id: Option<String>,
    #[serde(skip_serializing)]
    pub s3_secret_access_key: Option<String>,
    /// Allow a plain-HTTP endpoint (a service on the same private network).
    pub s3_allow_http: bool,
}

impl Default for AttachmentConfig {
    fn default() -> Self {
        Self {
            backend: "local".into(),
            dir: None,
            max_bytes: 10 * MIB,
            s3_endpoint: None,
            s3_bucket: None,
            s3_region: None,
            s3_access_key_id: None,
            s3_secret_access_key: None,
            s3_allow_http: false,
        }
    }
}

/// Shows which credentials are set, never their values.
impl fmt::Debug for AttachmentConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redacted = |value: &Option<String>| value.as_ref().map(|_| "<redacted>");
        f.debug_struct("AttachmentConfig")
            .field("backend", &self.backend)
            .field("dir", &self.dir)
            .field("max_bytes", &self.max_bytes)
            .field("s3_endpoint", &self.s3_endpoint)
            .field("s3_bucket", &self.s3_bucket)
            .field("s3_region", &self.s3_region)
            .field("s3_access_key_id", &redacted(&self.s3_access_key_id))
            .field("s3_secret_access_key", &redacted(&self.s3_secret_access_key))
            .field("s3_allow_http", &self.s3_allow_http)
            .finish()
    }
}

/// What went wrong with an attachment. The first four are the uploader's to fix; the rest are the
/// operator's (see [`AttachmentError::is_user_error`]).
#[derive(Debug, thiserror::Error)]
pub enum AttachmentError {
    #[error("文件过大：单个文件不能超过{max_mb}MB")]
    TooLarge { max_mb: u64 },
    #[error("只能上传 PDF、JPG 或 PNG 文件（按文件内容判断）")]
    Unsupported,
    #[error("文件为空")]
    Empty,
    #[error("附件不存在")]
    NotFound,
    #[error("附件存储配置错误：{0}")]
    Config(String),
    /// The backend failed; the detail is for the log, not the user.
    #[error("附件存储暂时不可用")]
    Storage(String),
}

impl AttachmentError {
    /// Whether the message is meant for the uploader (show it) rather than the operator (log it).
    pub fn is_user_error(&self) -> bool {
        matches!(self, Self::TooLarge { .. } | Self::Unsupported | Self::Empty | Self::NotFound)
    }
}

impl From<object_store::Error> for AttachmentError {
    fn from(err: object_store::Error) -> Self {
        match err {
            object_store::Error::NotFound { .. } => Self::NotFound,
            other => Self::Storage(other.to_string()),
        }
    }
}

/// An attachment as stored: its content address and what it turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAttachment {
    /// SHA-256 of the content, 64 lowercase hex digits.
    pub sha256: String,
    pub size: u64,
    pub kind: AttachmentKind,
}

/// Content-addressed attachment storage. Cloning is cheap and shares the backend.
#[derive(Debug, Clone)]
pub struct AttachmentStore {
    inner: Arc<dyn ObjectStore>,
    max_bytes: u64,
}

impl AttachmentStore {
    /// Opens the configured backend. A local folder (`cfg.dir`, else `default_dir`) is created if
    /// missing; an S3 bucket must be named and credentials given as a pair.
    pub fn from_config(cfg: &AttachmentConfig, default_dir: &Path) -> Result<Self, AttachmentError> {
        if cfg.max_bytes == 0 {
            return Err(AttachmentError::Config("max_bytes 必须大于 0".into()));
        }
        let inner: Arc<dyn ObjectStore> = match cfg.backend.as_str() {
            "local" => Arc::new(local_store(cfg.dir.as_deref().unwrap_or(default_dir))?),
            "s3" => Arc::new(s3_store(cfg)?),
            other => {
                return Err(AttachmentError::Config(format!("未知的存储方式“{other}”，应为 local 或 s3")));
            }
        };
        Ok(Self { inner, max_bytes: cfg.max_bytes })
    }

    /// A store that lives in memory, for tests.
    pub fn in_memory(max_bytes: u64) -> Self {
        Self { inner: Arc::new(InMemory::new()), max_bytes }
    }

    /// Largest accepted file, in bytes.
    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    /// Checks and stores a file under its SHA-256. Storing the same content again is harmless and
    /// returns the same hash.
    pub async fn put(&self, bytes: Bytes) -> Result<StoredAttachment, AttachmentError> {
        if bytes.is_empty() {
            return Err(AttachmentError::Empty);
        }
        let size = bytes.len() as u64;
        if size > self.max_bytes {
            return Err(AttachmentError::TooLarge { max_mb: (self.max_bytes / MIB).max(1) });
        }
        let kind = sniff(&bytes).ok_or(AttachmentError::Unsupported)?;
        let sha256 = hex::encode(Sha256::digest(&bytes));
        self.inner.put(&object_path(&sha256), bytes.into()).await?;
        Ok(StoredAttachment { sha256, size, kind })
    }

    /// Reads a file back by its SHA-256. Anything but 64 lowercase hex digits is
    /// [`AttachmentError::NotFound`] without asking the backend.
    pub async fn get(&self, sha256: &str) -> Result<Bytes, AttachmentError> {
        if !is_sha256_hex(sha256) {
            return Err(AttachmentError::NotFound);
        }
        Ok(self.inner.get(&object_path(sha256)).await?.bytes().await?)
    }
}

fn local_store(dir: &Path) -> Result<LocalFileSystem, AttachmentError> {
    let config_error = |err: &dyn fmt::Display| AttachmentError::Config(format!("无法使用文件夹 {}：{err}", dir.display()));
    std::fs::create_dir_all(dir).map_err(|err| config_error(&err))?;
    LocalFileSystem::new_with_prefix(dir).map_err(|err| config_error(&err))
}

fn s3_store(cfg: &AttachmentConfig) -> Result<object_store::aws::AmazonS3, AttachmentError> {
    let bucket = cfg.s3_bucket.as_deref().map(str::trim).filter(|bucket| !bucket.is_empty());
    let bucket = bucket.ok_or_else(|| AttachmentError::Config("使用 s3 存储时必须设置 s3_bucket".into()))?;
    let (Some(key_id), Some(secret)) = (&cfg.s3_access_key_id, &cfg.s3_secret_access_key) else {
        return Err(AttachmentError::Config(
            "使用 s3 存储时必须同时设置 s3_access_key_id 和 s3_secret_access_key".into(),
        ));
    };
    let mut builder = AmazonS3Builder::new()
        .with_bucket_name(bucket)
        .with_region(cfg.s3_region.as_deref().unwrap_or("us-east-1"))
        .with_access_key_id(key_id)
        .with_secret_access_key(secret)
        .with_allow_http(cfg.s3_allow_http)
        .with_virtual_hosted_style_request(false);
    if let Some(endpoint) = &cfg.s3_endpoint {
        builder = builder.with_endpoint(endpoint);
    }
    builder.build().map_err(|err| AttachmentError::Config(err.to_string()))
}

fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// `sha256/<first two hex digits>/<all 64>`, so no folder grows too large.
fn object_path(sha256: &str) -> ObjectPath {
    ObjectPath::from_iter(["sha256", &sha256[..2], sha256])
}
