//! A local HTTP server that records every request and answers each with the same canned reply,
//! or never answers at all.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use xiaowei_integrations::{SmsConfig, SmsSender};

/// One request as the server saw it; serialised for the Python oracles.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Captured {
    pub method: String,
    pub path: String,
    /// The raw query string, still percent-encoded.
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Captured {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The query decoded into name → value pairs, in the order sent.
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        let url = reqwest::Url::parse(&format!("http://x/?{}", self.query)).expect("query");
        url.query_pairs().map(|(n, v)| (n.into_owned(), v.into_owned())).collect()
    }
}

#[derive(Clone)]
pub enum Reply {
    /// This status with this body as `application/json`.
    Json(u16, String),
    /// This status with this body as `text/html`.
    Html(u16, String),
    /// Accept the request and never answer.
    Hang,
}

type Shared = (Arc<Mutex<Vec<Captured>>>, Reply);

pub struct Fake {
    pub addr: SocketAddr,
    captured: Arc<Mutex<Vec<Captured>>>,
}

impl Fake {
    pub async fn start(reply: Reply) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let captured = Arc::new(Mutex::new(Vec::new()));
        let app = axum::Router::new().fallback(handle).with_state((Arc::clone(&captured), reply));
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { addr, captured }
    }

    /// `127.0.0.1:port`, the form the SDKs take as their endpoint.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    pub fn requests(&self) -> Vec<Captured> {
        self.captured.lock().expect("lock").clone()
    }
}

async fn handle(State((captured, reply)): State<Shared>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20).await.expect("body");
    captured.lock().expect("lock").push(Captured {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().unwrap_or_default().to_owned(),
        headers: parts
            .headers
            .iter()
            .map(|(name, value)| (name.as_str().to_owned(), String::from_utf8_lossy(value.as_bytes()).into_owned()))
            .collect(),
        body: String::from_utf8(body.to_vec()).expect("UTF-8 body"),
    });
    let (status, content_type, body) = match reply {
        Reply::Json(status, body) => (status, "application/json", body),
        Reply::Html(status, body) => (status, "text/html", body),
        Reply::Hang => std::future::pending().await,
    };
    (StatusCode::from_u16(status).expect("status"), [(header::CONTENT_TYPE, content_type)], body).into_response()
}

pub const PHONE: &str = "13812341234";
pub const ACCESS_KEY_ID: &str = "LTAI5tTestKeyId0000";
pub const ACCESS_KEY_SECRET: &str = "TestAccessKeySecret0000000000000";
pub const SECRET_ID: &str = "AKIDTestSecretId000000000000000000000";
pub const SECRET_KEY: &str = "TestSecretKey0000000000000000000";
pub const SDK_APP_ID: &str = "1400787878";
pub const SIGN_NAME: &str = "瓜州县纪委监委";
pub const REGION: &str = "ap-guangzhou";

/// A sender of `provider` (`aliyun` or `tencent`) pointed at `endpoint`, built from config the
/// way the server builds it.
pub fn sender(provider: &str, endpoint: &str, timeout_secs: u64) -> SmsSender {
    let config: SmsConfig = serde_json::from_value(serde_json::json!({
        "provider": provider,
        "endpoint": endpoint,
        "sign_name": SIGN_NAME,
        "access_key_id": ACCESS_KEY_ID,
        "access_key_secret": ACCESS_KEY_SECRET,
        "secret_id": SECRET_ID,
        "secret_key": SECRET_KEY,
        "sdk_app_id": SDK_APP_ID,
        "region": REGION,
        "timeout_secs": timeout_secs,
    }))
    .expect("config");
    config.build().expect("sender")
}

pub fn aliyun_ok() -> Reply {
    Reply::Json(
        200,
        r#"{"Message":"OK","RequestId":"F655A8D5-B967-440B-8683-DAD6FF8DE990","Code":"OK","BizId":"900619746936498440^0"}"#
            .into(),
    )
}

pub fn tencent_ok() -> Reply {
    Reply::Json(
        200,
        r#"{"Response":{"SendStatusSet":[{"SerialNo":"5000:1045710669157053657849499619","PhoneNumber":"+8613812341234","Fee":1,"SessionContext":"","Code":"Ok","Message":"send success","IsoCode":"CN"}],"RequestId":"a0aabda6-cf91-4f3e-a81f-9198114a2279"}}"#
            .into(),
    )
}
