//! The S3 backend against a tiny fake S3 service: path-style `PUT` and `GET` of `/<bucket>/<key>`
//! (all that `put` and `get` send), the signature's presence checked but not verified.
#![allow(clippy::unwrap_used, reason = "the fake server is test code; clippy only exempts #[test] functions here")]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use xiaowei_integrations::{AttachmentConfig, AttachmentError, AttachmentKind, AttachmentStore};

const BUCKET: &str = "attachments";

/// Objects by request path, and every request seen as `METHOD /path`.
#[derive(Default)]
struct FakeS3 {
    objects: Mutex<HashMap<String, Vec<u8>>>,
    requests: Mutex<Vec<String>>,
}

struct Request {
    method: String,
    path: String,
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

impl FakeS3 {
    async fn start() -> (Arc<Self>, u16) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let fake = Arc::new(Self::default());
        let serving = Arc::clone(&fake);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(Arc::clone(&serving).serve(stream));
            }
        });
        (fake, port)
    }

    /// Answers requests on one keep-alive connection until the client closes it.
    async fn serve(self: Arc<Self>, stream: TcpStream) {
        let mut stream = BufReader::new(stream);
        while let Some(request) = read_request(&mut stream).await {
            let response = self.respond(request);
            stream.get_mut().write_all(&response).await.unwrap();
        }
    }

    fn respond(&self, request: Request) -> Vec<u8> {
        self.requests.lock().unwrap().push(format!("{} {}", request.method, request.path));
        let signed = request.headers.get("authorization").is_some_and(|auth| auth.starts_with("AWS4-HMAC-SHA256 "));
        if !signed {
            return s3_error("403 Forbidden", "AccessDenied", &request.path);
        }
        let mut objects = self.objects.lock().unwrap();
        match (request.method.as_str(), objects.get(&request.path)) {
            ("PUT", _) => {
                let etag = format!("\"{:x}\"", request.body.len());
                objects.insert(request.path, request.body);
                response("200 OK", &[("ETag", &etag)], b"")
            }
            ("GET", Some(body)) => {
                let etag = format!("\"{:x}\"", body.len());
                let headers = [
                    ("ETag", etag.as_str()),
                    ("Last-Modified", "Wed, 01 Jan 2025 00:00:00 GMT"),
                    ("Content-Type", "application/octet-stream"),
                ];
                response("200 OK", &headers, body)
            }
            ("GET", None) => s3_error("404 Not Found", "NoSuchKey", &request.path),
            _ => s3_error("405 Method Not Allowed", "MethodNotAllowed", &request.path),
        }
    }
}

/// Reads one HTTP/1.1 request with a `Content-Length` body; `None` at end of stream.
async fn read_request(stream: &mut BufReader<TcpStream>) -> Option<Request> {
    let mut line = String::new();
    if stream.read_line(&mut line).await.ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next()?.to_string(), parts.next()?);
    let path = target.split('?').next()?.to_string();
    let mut headers = HashMap::new();
    loop {
        line.clear();
        stream.read_line(&mut line).await.ok()?;
        let Some((name, value)) = line.trim_end().split_once(':') else { break };
        headers.insert(name.to_ascii_lowercase(), value.trim().to_string());
    }
    assert!(!headers.contains_key("transfer-encoding"), "the fake only understands Content-Length bodies");
    let length = headers.get("content-length").map_or(0, |length| length.parse().unwrap());
    let mut body = vec![0; length];
    stream.read_exact(&mut body).await.ok()?;
    Some(Request { method, path, headers, body })
}

fn response(status: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut head = format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\n", body.len());
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    [head.as_bytes(), body].concat()
}

fn s3_error(status: &str, code: &str, resource: &str) -> Vec<u8> {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <Error><Code>{code}</Code><Message>{code}</Message><Resource>{resource}</Resource></Error>"
    );
    response(status, &[("Content-Type", "application/xml")], body.as_bytes())
}

fn png() -> Vec<u8> {
    let mut bytes = vec![0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n', 0, 0, 0, 13];
    bytes.extend_from_slice(b"IHDR");
    bytes.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 1, 8, 6, 0, 0, 0, 0x1F, 0x15, 0xC4, 0x89]);
    bytes.extend_from_slice(&[0, 0, 0, 0]);
    bytes.extend_from_slice(b"IEND");
    bytes.extend_from_slice(&[0xAE, 0x42, 0x60, 0x82]);
    bytes
}

#[tokio::test]
async fn s3_backend_round_trips_a_png_path_style() {
    let (fake, port) = FakeS3::start().await;
    let cfg = AttachmentConfig {
        backend: "s3".into(),
        s3_endpoint: Some(format!("http://127.0.0.1:{port}")),
        s3_bucket: Some(BUCKET.into()),
        s3_access_key_id: Some("village-clerk".into()),
        s3_secret_access_key: Some("not-checked-by-the-fake".into()),
        s3_allow_http: true,
        ..AttachmentConfig::default()
    };
    let store = AttachmentStore::from_config(&cfg, std::path::Path::new("unused")).unwrap();
    let png = png();

    let stored = store.put(Bytes::from(png.clone())).await.unwrap();
    assert_eq!(stored.kind, AttachmentKind::Png);
    assert_eq!(store.put(Bytes::from(png.clone())).await.unwrap(), stored);
    assert_eq!(store.get(&stored.sha256).await.unwrap(), png);
    let missing = "0".repeat(64);
    assert!(matches!(store.get(&missing).await, Err(AttachmentError::NotFound)));

    let key = format!("/{BUCKET}/sha256/{}/{}", &stored.sha256[..2], stored.sha256);
    assert_eq!(fake.objects.lock().unwrap().keys().collect::<Vec<_>>(), vec![&key]);
    assert_eq!(
        *fake.requests.lock().unwrap(),
        vec![
            format!("PUT {key}"),
            format!("PUT {key}"),
            format!("GET {key}"),
            format!("GET /{BUCKET}/sha256/00/{missing}"),
        ]
    );
}
