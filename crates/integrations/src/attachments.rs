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
    let slack =
        bytes.iter().rev().take(JPEG_TRAILING_SLACK).take_while(|&&b| b == 0 || b.is_ascii_whitespace()).count();
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

/// The largest file a form accepts (8 MB as the forms say, counted as phones and Windows
/// count: 8 MiB). Body limits and the default attachment limit derive from it.
pub const MAX_UPLOAD_BYTES: u64 = 8 * MIB;

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
            max_bytes: MAX_UPLOAD_BYTES,
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
    let config_error =
        |err: &dyn fmt::Display| AttachmentError::Config(format!("无法使用文件夹 {}：{err}", dir.display()));
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn pdf() -> Vec<u8> {
        b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n".to_vec()
    }

    fn jpeg() -> Vec<u8> {
        let mut bytes = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10];
        bytes.extend_from_slice(b"JFIF\0");
        bytes.extend_from_slice(&[0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0xFF, 0xD9]);
        bytes
    }

    fn png() -> Vec<u8> {
        let mut bytes = PNG_SIGNATURE.to_vec();
        bytes.extend_from_slice(&[0, 0, 0, 13]);
        bytes.extend_from_slice(b"IHDR");
        bytes.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 1, 8, 6, 0, 0, 0]);
        bytes.extend_from_slice(&[0x1F, 0x15, 0xC4, 0x89]);
        bytes.extend_from_slice(&[0, 0, 0, 0]);
        bytes.extend_from_slice(b"IEND");
        bytes.extend_from_slice(&[0xAE, 0x42, 0x60, 0x82]);
        bytes
    }

    fn with(mut bytes: Vec<u8>, tail: &[u8]) -> Vec<u8> {
        bytes.extend_from_slice(tail);
        bytes
    }

    fn sha256_hex(bytes: &[u8]) -> String {
        hex::encode(Sha256::digest(bytes))
    }

    fn local_config(dir: &Path) -> AttachmentConfig {
        AttachmentConfig { dir: Some(dir.to_path_buf()), ..AttachmentConfig::default() }
    }

    /// Every file below `dir`, recursively.
    fn files_under(dir: &Path) -> Vec<PathBuf> {
        let mut found = Vec::new();
        let Ok(entries) = std::fs::read_dir(dir) else { return found };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() { found.extend(files_under(&path)) } else { found.push(path) }
        }
        found
    }

    #[test]
    fn sniffs_by_content() {
        let mut pdf_with_long_tail = pdf();
        pdf_with_long_tail.extend(std::iter::repeat_n(b' ', PDF_EOF_WINDOW));
        let mut png_idat_first = png();
        png_idat_first[12..16].copy_from_slice(b"IDAT");
        let cases: Vec<(&str, Vec<u8>, Option<AttachmentKind>)> = vec![
            ("minimal PDF", pdf(), Some(AttachmentKind::Pdf)),
            ("PDF without trailing newline", pdf()[..pdf().len() - 1].to_vec(), Some(AttachmentKind::Pdf)),
            ("PDF with an incremental-update tail", with(pdf(), b"% comment\n"), Some(AttachmentKind::Pdf)),
            ("PDF cut before %%EOF", pdf()[..40].to_vec(), None),
            ("PDF whose %%EOF is further than 1024 bytes from the end", pdf_with_long_tail, None),
            ("only the PDF header", b"%PDF-".to_vec(), None),
            ("minimal JPEG", jpeg(), Some(AttachmentKind::Jpeg)),
            ("JPEG with zero padding", with(jpeg(), &[0, 0, 0, 0]), Some(AttachmentKind::Jpeg)),
            ("JPEG with a trailing newline", with(jpeg(), b"\r\n"), Some(AttachmentKind::Jpeg)),
            ("JPEG with too much padding", with(jpeg(), &[0; JPEG_TRAILING_SLACK + 1]), None),
            ("truncated JPEG", jpeg()[..10].to_vec(), None),
            ("JPEG start marker only", vec![0xFF, 0xD8, 0xFF, 0xD9], None),
            ("minimal PNG", png(), Some(AttachmentKind::Png)),
            ("PNG signature only", PNG_SIGNATURE.to_vec(), None),
            ("PNG cut inside IHDR", png()[..20].to_vec(), None),
            ("PNG without IHDR first", png_idat_first, None),
            ("HTML renamed to .pdf", b"<!DOCTYPE html><html><body>%PDF-1.4 %%EOF</body></html>".to_vec(), None),
            ("Windows program renamed to .pdf", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xFF\xFF".to_vec(), None),
            ("plain text", "村民名单".as_bytes().to_vec(), None),
            ("empty", Vec::new(), None),
        ];
        for (name, bytes, expected) in cases {
            assert_eq!(sniff(&bytes), expected, "{name}");
        }
    }

    #[test]
    fn kinds_describe_themselves() {
        let cases = [
            (AttachmentKind::Pdf, "application/pdf", "pdf", "PDF文件"),
            (AttachmentKind::Jpeg, "image/jpeg", "jpg", "JPG图片"),
            (AttachmentKind::Png, "image/png", "png", "PNG图片"),
        ];
        for (kind, content_type, extension, label) in cases {
            assert_eq!((kind.content_type(), kind.extension(), kind.label()), (content_type, extension, label));
        }
    }

    #[test]
    fn errors_speak_chinese_and_say_whom_they_are_for() {
        let cases = [
            (AttachmentError::TooLarge { max_mb: 10 }, "文件过大：单个文件不能超过10MB", true),
            (AttachmentError::Unsupported, "只能上传 PDF、JPG 或 PNG 文件（按文件内容判断）", true),
            (AttachmentError::Empty, "文件为空", true),
            (AttachmentError::NotFound, "附件不存在", true),
            (AttachmentError::Config("缺少 s3_bucket".into()), "附件存储配置错误：缺少 s3_bucket", false),
            (AttachmentError::Storage("connection refused".into()), "附件存储暂时不可用", false),
        ];
        for (err, message, user) in cases {
            assert_eq!((err.to_string().as_str(), err.is_user_error()), (message, user));
        }
    }

    #[test]
    fn config_defaults_and_debug_hides_credentials() {
        let cfg = AttachmentConfig::default();
        assert_eq!((cfg.backend.as_str(), cfg.max_bytes, cfg.dir.as_ref()), ("local", MAX_UPLOAD_BYTES, None));
        let cfg = AttachmentConfig {
            s3_access_key_id: Some("AKIDVILLAGE".into()),
            s3_secret_access_key: Some("very-secret".into()),
            ..cfg
        };
        let shown = format!("{cfg:?}");
        assert!(!shown.contains("AKIDVILLAGE") && !shown.contains("very-secret"), "{shown}");
        assert!(shown.contains("<redacted>"), "{shown}");
    }

    #[test]
    fn bad_configs_are_config_errors() {
        let tmp = tempfile::tempdir().unwrap();
        let s3 = |bucket: Option<&str>, secret: Option<&str>| AttachmentConfig {
            backend: "s3".into(),
            s3_endpoint: Some("http://127.0.0.1:9".into()),
            s3_bucket: bucket.map(Into::into),
            s3_access_key_id: Some("key".into()),
            s3_secret_access_key: secret.map(Into::into),
            s3_allow_http: true,
            ..AttachmentConfig::default()
        };
        let cases = [
            (s3(None, Some("secret")), "s3_bucket"),
            (s3(Some("  "), Some("secret")), "s3_bucket"),
            (s3(Some("attachments"), None), "s3_secret_access_key"),
            (AttachmentConfig { backend: "ftp".into(), ..AttachmentConfig::default() }, "ftp"),
            (AttachmentConfig { max_bytes: 0, ..AttachmentConfig::default() }, "max_bytes"),
        ];
        for (cfg, mentioned) in cases {
            match AttachmentStore::from_config(&cfg, tmp.path()) {
                Err(err @ AttachmentError::Config(_)) => assert!(err.to_string().contains(mentioned), "{err}"),
                other => panic!("{cfg:?} gave {other:?}"),
            }
        }
    }

    #[tokio::test]
    async fn local_folder_round_trip() {
        let tmp = tempfile::tempdir().unwrap();
        let default_dir = tmp.path().join("attachments");
        let store = AttachmentStore::from_config(&AttachmentConfig::default(), &default_dir).unwrap();
        let png = png();
        let hash = sha256_hex(&png);

        let first = store.put(Bytes::from(png.clone())).await.unwrap();
        let second = store.put(Bytes::from(png.clone())).await.unwrap();

        assert_eq!(first, StoredAttachment { sha256: hash.clone(), size: png.len() as u64, kind: AttachmentKind::Png });
        assert_eq!(second, first);
        let expected_file = default_dir.join("sha256").join(&hash[..2]).join(&hash);
        assert_eq!(files_under(&default_dir), vec![expected_file.clone()]);
        assert_eq!(std::fs::read(&expected_file).unwrap(), png);
        assert_eq!(store.get(&hash).await.unwrap(), png);
    }

    #[tokio::test]
    async fn configured_folder_wins_over_the_default() {
        let tmp = tempfile::tempdir().unwrap();
        let chosen = tmp.path().join("scans");
        let store = AttachmentStore::from_config(&local_config(&chosen), &tmp.path().join("unused")).unwrap();
        let stored = store.put(Bytes::from(pdf())).await.unwrap();
        assert_eq!(stored.kind, AttachmentKind::Pdf);
        assert_eq!(files_under(&chosen).len(), 1);
        assert!(!tmp.path().join("unused").exists());
    }

    #[tokio::test]
    async fn rejected_uploads_write_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let cfg = AttachmentConfig { max_bytes: MIB, ..local_config(tmp.path()) };
        let store = AttachmentStore::from_config(&cfg, tmp.path()).unwrap();
        let mut big_pdf = b"%PDF-1.4\n".to_vec();
        big_pdf.resize(MIB as usize - 6, b' ');
        big_pdf.extend_from_slice(b"%%EOF\n");
        let html = b"<html><body>not a scan</body></html>".to_vec();

        assert_eq!(big_pdf.len() as u64, MIB);
        assert_eq!(store.put(Bytes::from(big_pdf.clone())).await.unwrap().size, MIB);
        let written = files_under(tmp.path());

        let too_large = store.put(Bytes::from(with(big_pdf, b"\n"))).await.unwrap_err();
        assert_eq!(too_large.to_string(), "文件过大：单个文件不能超过1MB");
        assert!(matches!(store.put(Bytes::from(html)).await, Err(AttachmentError::Unsupported)));
        assert!(matches!(store.put(Bytes::new()).await, Err(AttachmentError::Empty)));
        assert_eq!(files_under(tmp.path()), written);
    }

    #[tokio::test]
    async fn size_is_checked_before_content() {
        let store = AttachmentStore::in_memory(8);
        let err = store.put(Bytes::from(b"not a scan at all".to_vec())).await.unwrap_err();
        assert!(matches!(err, AttachmentError::TooLarge { max_mb: 1 }), "{err:?}");
        assert_eq!(store.max_bytes(), 8);
    }

    #[tokio::test]
    async fn in_memory_round_trip_and_missing() {
        let store = AttachmentStore::in_memory(MIB);
        for (bytes, kind) in
            [(pdf(), AttachmentKind::Pdf), (jpeg(), AttachmentKind::Jpeg), (png(), AttachmentKind::Png)]
        {
            let stored = store.clone().put(Bytes::from(bytes.clone())).await.unwrap();
            assert_eq!((stored.kind, stored.sha256.as_str()), (kind, sha256_hex(&bytes).as_str()));
            assert_eq!(store.get(&stored.sha256).await.unwrap(), bytes);
        }
        assert!(matches!(store.get(&"0".repeat(64)).await, Err(AttachmentError::NotFound)));
    }

    #[tokio::test]
    async fn malformed_hashes_never_reach_the_backend() {
        let tmp = tempfile::tempdir().unwrap();
        let local = AttachmentStore::from_config(&local_config(&tmp.path().join("attachments")), tmp.path()).unwrap();
        let stored = local.put(Bytes::from(png())).await.unwrap();
        std::fs::write(tmp.path().join("passwd"), "root:x:0:0").unwrap();
        // A backend nobody listens on: any request would fail as Storage or time out, never NotFound.
        let unreachable = AttachmentStore::from_config(
            &AttachmentConfig {
                backend: "s3".into(),
                s3_endpoint: Some("http://127.0.0.1:9".into()),
                s3_bucket: Some("attachments".into()),
                s3_access_key_id: Some("key".into()),
                s3_secret_access_key: Some("secret".into()),
                s3_allow_http: true,
                ..AttachmentConfig::default()
            },
            tmp.path(),
        )
        .unwrap();

        let bad = [
            "../passwd".to_string(),
            "../../passwd".to_string(),
            stored.sha256.to_uppercase(),
            stored.sha256[..63].to_string(),
            format!("{}0", stored.sha256),
            format!("sha256/{}/{}", &stored.sha256[..2], stored.sha256),
            "g".repeat(64),
            "é".repeat(32),
            String::new(),
        ];
        for hash in &bad {
            assert!(matches!(local.get(hash).await, Err(AttachmentError::NotFound)), "{hash}");
            let remote = tokio::time::timeout(Duration::from_secs(1), unreachable.get(hash)).await;
            assert!(matches!(remote, Ok(Err(AttachmentError::NotFound))), "{hash}: {remote:?}");
        }
        assert_eq!(local.get(&stored.sha256).await.unwrap(), png());
    }
}
