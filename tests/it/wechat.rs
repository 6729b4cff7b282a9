//! WeChat official accounts end to end: the county admin configures an account; the callback
//! answers the URL check, follows subscribes and unsubscribes, counts menu visits, replies to
//! keywords and keeps other texts for the message box, in plaintext and safe mode (messages
//! built and encrypted by wechatpy, our replies checked by wechatpy); bad signatures, stale
//! timestamps, replays and malformed or oversized bodies are refused or ignored. Against a local
//! fake of the WeChat API: the menu push with a shared, refreshed access token, OAuth into
//! 我的办件 and household binding, and case notices as template messages with an SMS fallback.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use axum::extract::{Query, State};
use serde_json::{Value, json};
use xiaowei_core::Role;
use xiaowei_integrations::wechat::{MessageCrypto, parse_xml, signature};
use xiaowei_server::AppState;

use crate::helpers::{Backend, TestApp, person_id, roster_csv, with_app_config};

const TOWN: &str = "620922100";
const APPID: &str = "wx5823bf96d3bd56c7";
const SECRET: &str = "0123456789abcdef0123456789abcdef";
const TOKEN: &str = "xiaoweitoken2026";
const AES_KEY: &str = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR";
const OPENID: &str = "oFollower_1-x";

// ---- a fake of the WeChat API speaking its JSON ----

#[derive(Default)]
struct FakeState {
    issued: Vec<String>,
    /// Tokens the fake now answers 42001 for.
    expired: Vec<String>,
    menus: Vec<Value>,
    templates: Vec<Value>,
}

#[derive(Clone)]
struct Fake {
    base: String,
    state: Arc<Mutex<FakeState>>,
}

impl Fake {
    async fn start() -> Self {
        let state = Arc::new(Mutex::new(FakeState::default()));
        let app = axum::Router::new()
            .route("/cgi-bin/token", axum::routing::get(token))
            .route("/cgi-bin/menu/create", axum::routing::post(menu))
            .route("/cgi-bin/message/template/send", axum::routing::post(template))
            .route("/sns/oauth2/access_token", axum::routing::get(oauth))
            .with_state(Arc::clone(&state));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { base, state }
    }

    fn expire_all(&self) {
        let mut s = self.state.lock().unwrap();
        let issued = s.issued.clone();
        s.expired.extend(issued);
    }
}

type Shared = State<Arc<Mutex<FakeState>>>;
type Params = Query<std::collections::HashMap<String, String>>;

async fn token(State(s): Shared, Query(q): Params) -> axum::Json<Value> {
    if q.get("grant_type").map(String::as_str) != Some("client_credential")
        || q.get("appid").map(String::as_str) != Some(APPID)
    {
        return axum::Json(json!({"errcode": 40013, "errmsg": "invalid appid"}));
    }
    if q.get("secret").map(String::as_str) != Some(SECRET) {
        return axum::Json(json!({"errcode": 40125, "errmsg": "invalid appsecret"}));
    }
    let mut s = s.lock().unwrap();
    let t = format!("ACCESS_TOKEN_{}", s.issued.len() + 1);
    s.issued.push(t.clone());
    axum::Json(json!({"access_token": t, "expires_in": 7200}))
}

fn check_token(s: &FakeState, q: &std::collections::HashMap<String, String>) -> Option<Value> {
    let t = q.get("access_token").cloned().unwrap_or_default();
    if s.expired.contains(&t) {
        Some(json!({"errcode": 42001, "errmsg": "access_token expired rid: 1"}))
    } else if !s.issued.contains(&t) {
        Some(json!({"errcode": 40001, "errmsg": "invalid credential, access_token is invalid or not latest"}))
    } else {
        None
    }
}

async fn menu(State(s): Shared, Query(q): Params, body: String) -> axum::Json<Value> {
    let mut s = s.lock().unwrap();
    if let Some(error) = check_token(&s, &q) {
        return axum::Json(error);
    }
    s.menus.push(serde_json::from_str(&body).unwrap());
    axum::Json(json!({"errcode": 0, "errmsg": "ok"}))
}

async fn template(State(s): Shared, Query(q): Params, body: String) -> axum::Json<Value> {
    let mut s = s.lock().unwrap();
    if let Some(error) = check_token(&s, &q) {
        return axum::Json(error);
    }
    s.templates.push(serde_json::from_str(&body).unwrap());
    axum::Json(json!({"errcode": 0, "errmsg": "ok", "msgid": 200_228_332}))
}

async fn oauth(Query(q): Params) -> axum::Json<Value> {
    match q.get("code").map(String::as_str) {
        Some("CODE_GOOD") if q.get("secret").map(String::as_str) == Some(SECRET) => axum::Json(json!({
            "access_token": "oauth-token", "expires_in": 7200, "refresh_token": "r",
            "openid": OPENID, "scope": "snsapi_base"
        })),
        _ => axum::Json(json!({"errcode": 40029, "errmsg": "invalid code"})),
    }
}

/// Runs `body` on both engines with the WeChat API and OAuth pages pointed at a fresh fake.
macro_rules! wechat_test {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                run(Backend::Sqlite, $body).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                run(Backend::Postgres, $body).await;
            }
        }
    };
}

async fn run<F, Fut>(backend: Backend, body: F)
where
    F: FnOnce(TestApp, Fake) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let fake = Fake::start().await;
    let base = fake.base.clone();
    with_app_config(
        backend,
        move |c| {
            c.wechat.api_base = base.clone();
            c.wechat.oauth_base = base;
            c.wechat.templates.insert("case_contacted".into(), "TPL_CONTACTED".into());
        },
        |app| body(app, fake),
    )
    .await;
}

/// The county admin configures the township's account through the back office.
async fn configure(app: &TestApp, aes_key: &str) {
    let admin = app.login_as(Role::CountyAdmin).await;
    let page = admin.get(app.url("/staff/wechat")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("公众号管理") && page.contains(&format!("/wechat/{TOWN}/callback")), "{page}");
    let r = app
        .post_form(
            &admin,
            "/staff/wechat",
            &[("org_code", TOWN), ("appid", APPID), ("secret", SECRET), ("token", TOKEN), ("aes_key", aes_key)],
        )
        .await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let stored = app.state.store().wechat_account(TOWN).await.unwrap().unwrap();
    assert!(!String::from_utf8_lossy(&stored.secret_enc).contains(SECRET), "sealed at rest");
    let page = admin.get(app.url("/staff/wechat")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains(APPID) && !page.contains(SECRET));
    // A bad key is refused with a reason.
    let bad = app
        .post_form(
            &admin,
            "/staff/wechat",
            &[("org_code", TOWN), ("appid", APPID), ("secret", SECRET), ("token", TOKEN), ("aes_key", "short")],
        )
        .await;
    assert_eq!(bad.status(), 400);
}

fn inbound(msg_type: &str, extra: &str, create_time: i64) -> String {
    format!(
        "<xml><ToUserName><![CDATA[gh_yuanquan]]></ToUserName><FromUserName><![CDATA[{OPENID}]]></FromUserName><CreateTime>{create_time}</CreateTime><MsgType><![CDATA[{msg_type}]]></MsgType>{extra}</xml>"
    )
}

fn event(name: &str, key: &str, at: i64) -> String {
    inbound("event", &format!("<Event><![CDATA[{name}]]></Event><EventKey><![CDATA[{key}]]></EventKey>"), at)
}

fn text(content: &str, msg_id: u64, at: i64) -> String {
    inbound("text", &format!("<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId>"), at)
}

/// Posts a plaintext-mode message signed with `token` at `timestamp`.
async fn post_plain(app: &TestApp, body: &str, timestamp: i64, token: &str) -> reqwest::Response {
    let ts = timestamp.to_string();
    let sig = signature(&[token, &ts, "nonce1"]);
    reqwest::Client::new()
        .post(app.url(&format!("/wechat/{TOWN}/callback?signature={sig}&timestamp={ts}&nonce=nonce1&openid={OPENID}")))
        .header("content-type", "text/xml")
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
}

async fn reply_content(response: reqwest::Response) -> Option<String> {
    assert_eq!(response.status(), 200);
    let body = response.text().await.unwrap();
    if body == "success" {
        return None;
    }
    let fields = parse_xml(body.as_bytes()).unwrap();
    assert_eq!(fields.get("ToUserName"), Some(OPENID));
    Some(fields.get("Content").unwrap().to_owned())
}

wechat_test!(the_plain_callback_follows_counts_replies_and_refuses, |app: TestApp, _fake: Fake| async move {
    configure(&app, "").await;
    let now = app.state.now();
    let client = reqwest::Client::new();
    // URL check.
    let sig = signature(&[TOKEN, "1700000000", "n"]);
    let ok = client
        .get(app.url(&format!("/wechat/{TOWN}/callback?signature={sig}&timestamp=1700000000&nonce=n&echostr=ECHO123")))
        .send()
        .await
        .unwrap();
    assert_eq!((ok.status().as_u16(), ok.text().await.unwrap()), (200, "ECHO123".to_owned()));
    let bad = client
        .get(app.url(&format!("/wechat/{TOWN}/callback?signature={sig}&timestamp=1700000001&nonce=n&echostr=ECHO123")))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 403);
    let unknown =
        client.get(app.url("/wechat/620922101/callback?signature=x&timestamp=1&nonce=n")).send().await.unwrap();
    assert_eq!(unknown.status(), 404, "a township without an account");

    // Subscribe, a replayed subscribe, a click twice redelivered, a view, texts.
    let welcome = reply_content(post_plain(&app, &event("subscribe", "", now), now, TOKEN).await).await.unwrap();
    assert!(welcome.contains("民生监督") && welcome.contains(&format!("/t/{TOWN}/bind")), "{welcome}");
    assert_eq!(reply_content(post_plain(&app, &event("subscribe", "", now), now, TOKEN).await).await, None, "replay");
    let click = event("CLICK", "services", now + 1);
    let reply = reply_content(post_plain(&app, &click, now, TOKEN).await).await.unwrap();
    assert!(reply.contains(&format!("/t/{TOWN}/services")));
    assert_eq!(reply_content(post_plain(&app, &click, now, TOKEN).await).await, None);
    let view = event("VIEW", &format!("http://x/t/{TOWN}/subsidies"), now + 2);
    assert_eq!(reply_content(post_plain(&app, &view, now, TOKEN).await).await, None);
    let query = reply_content(post_plain(&app, &text("我想查询补贴", 1001, now), now, TOKEN).await).await.unwrap();
    assert!(query.contains(&format!("/t/{TOWN}/self-query")), "{query}");
    let other = reply_content(post_plain(&app, &text("村口路灯坏了三天", 1002, now), now, TOKEN).await).await.unwrap();
    assert!(other.contains("已转入留言箱") && other.contains("/messages/LY"), "{other}");
    assert_eq!(reply_content(post_plain(&app, &text("村口路灯坏了三天", 1002, now), now, TOKEN).await).await, None);
    let store = app.state.store();
    assert!(store.unrouted_wechat_texts(10).await.unwrap().is_empty(), "routed into the message box");
    // The follower's text is a 咨询 in that township's 留言箱, reachable through the reply's link.
    let tracking = other.split("/messages/").nth(1).unwrap().split('?').next().unwrap().to_owned();
    let message = store.find_message_by_tracking(&tracking).await.unwrap().unwrap();
    assert_eq!(
        (message.kind.as_str(), message.org_code.as_str(), message.body.as_str()),
        ("question", TOWN, "村口路灯坏了三天")
    );
    let link = other.split("点此查看答复：").nth(1).unwrap().trim().to_owned();
    let path = link.split_once("://").unwrap().1.split_once('/').unwrap().1;
    let page = TestApp::client().get(app.url(&format!("/{path}"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("村口路灯坏了三天"), "the follower can read their message and its answer");

    // Refused: bad signature, stale timestamp, malformed and oversized bodies.
    assert_eq!(post_plain(&app, &text("x", 1003, now), now, "wrongtoken").await.status(), 403);
    assert_eq!(post_plain(&app, &text("x", 1004, now - 3600), now - 3600, TOKEN).await.status(), 403);
    for body in ["<xml><ToUserName>x</xml>", "not xml", "<!DOCTYPE x [<!ENTITY a \"b\">]><xml></xml>", ""] {
        assert_eq!(post_plain(&app, body, now, TOKEN).await.status(), 400, "{body}");
    }
    let huge = format!("<xml><Content>{}</Content></xml>", "长".repeat(40_000));
    assert_eq!(post_plain(&app, &huge, now, TOKEN).await.status(), 413);

    // Unsubscribe; the figures per township.
    assert_eq!(reply_content(post_plain(&app, &event("unsubscribe", "", now + 3), now, TOKEN).await).await, None);
    let follower = store.follower(TOWN, OPENID).await.unwrap().unwrap();
    assert!(!follower.subscribed);
    assert!(follower.unsubscribed_at.is_some());
    let figures = store.wechat_figures().await.unwrap();
    let town = figures.iter().find(|f| f.township_code == TOWN).unwrap();
    assert_eq!((town.followers, town.menu_visits), (0, 2));
});

// ---- wechatpy as the other side of safe mode ----

fn python() -> Option<PathBuf> {
    match std::env::var_os("XIAOWEI_SDK_PYTHON").filter(|p| !p.is_empty()) {
        Some(path) => Some(PathBuf::from(path)),
        None if std::env::var("XIAOWEI_REQUIRE_SDK").as_deref() == Ok("1") => {
            panic!("XIAOWEI_REQUIRE_SDK=1 but XIAOWEI_SDK_PYTHON is not set")
        }
        None => {
            eprintln!("notice: XIAOWEI_SDK_PYTHON is not set; safe mode was checked against our own crypto only");
            None
        }
    }
}

fn oracle(python: &PathBuf, ops: &[Value]) -> Vec<Value> {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("crates/integrations/tests/sdk/wechat_oracle.py");
    let mut child = Command::new(python)
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(Value::from(ops.to_vec()).to_string().as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "oracle failed:\n{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap()
}

/// The safe-mode POST body for `xml` and its msg_signature: by wechatpy when available.
fn seal(python: Option<&PathBuf>, xml: &str, ts: &str, nonce: &str) -> (String, String) {
    match python {
        Some(python) => {
            let out = oracle(
                python,
                &[
                    json!({"op": "encrypt", "token": TOKEN, "aes_key": AES_KEY, "appid": APPID, "xml": xml, "nonce": nonce, "timestamp": ts}),
                ],
            );
            (out[0]["body"].as_str().unwrap().to_owned(), out[0]["msg_signature"].as_str().unwrap().to_owned())
        }
        None => {
            let enc = MessageCrypto::new(AES_KEY, APPID).unwrap().encrypt(xml);
            let sig = signature(&[TOKEN, ts, nonce, &enc]);
            (
                format!(
                    "<xml><ToUserName><![CDATA[gh_yuanquan]]></ToUserName><Encrypt><![CDATA[{enc}]]></Encrypt></xml>"
                ),
                sig,
            )
        }
    }
}

/// Opens our safe-mode reply: with wechatpy when available (signature, appid, parser).
fn open_reply(python: Option<&PathBuf>, reply: &str) -> String {
    let outer = parse_xml(reply.as_bytes()).unwrap();
    let (sig, ts, nonce, enc) = (
        outer.get("MsgSignature").unwrap(),
        outer.get("TimeStamp").unwrap(),
        outer.get("Nonce").unwrap(),
        outer.get("Encrypt").unwrap(),
    );
    match python {
        Some(python) => {
            let out = oracle(
                python,
                &[
                    json!({"op": "decrypt", "token": TOKEN, "aes_key": AES_KEY, "appid": APPID, "body": reply, "msg_signature": sig, "timestamp": ts, "nonce": nonce}),
                    json!({"op": "decrypt", "token": "othertoken", "aes_key": AES_KEY, "appid": APPID, "body": reply, "msg_signature": sig, "timestamp": ts, "nonce": nonce}),
                ],
            );
            assert_eq!(out[0]["ok"], true, "wechatpy accepts our reply: {}", out[0]);
            assert_eq!((out[0]["type"].as_str(), out[0]["target"].as_str()), (Some("text"), Some(OPENID)));
            assert_eq!(out[1]["error"], "InvalidSignatureException");
            out[0]["content"].as_str().unwrap().to_owned()
        }
        None => {
            assert_eq!(sig, signature(&[TOKEN, ts, nonce, enc]));
            let inner = MessageCrypto::new(AES_KEY, APPID).unwrap().decrypt(enc).unwrap();
            parse_xml(inner.as_bytes()).unwrap().get("Content").unwrap().to_owned()
        }
    }
}

async fn post_safe(app: &TestApp, body: &str, ts: &str, nonce: &str, msg_signature: &str) -> reqwest::Response {
    let sig = signature(&[TOKEN, ts, nonce]);
    reqwest::Client::new()
        .post(app.url(&format!(
            "/wechat/{TOWN}/callback?signature={sig}&timestamp={ts}&nonce={nonce}&openid={OPENID}&encrypt_type=aes&msg_signature={msg_signature}"
        )))
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
}

wechat_test!(safe_mode_messages_from_wechatpy_get_replies_wechatpy_accepts, |app: TestApp, _fake: Fake| async move {
    configure(&app, AES_KEY).await;
    let python = python();
    let now = app.state.now();
    let ts = now.to_string();
    let (body, msg_sig) = seal(python.as_ref(), &event("subscribe", "", now), &ts, "nonceA");
    let response = post_safe(&app, &body, &ts, "nonceA", &msg_sig).await;
    assert_eq!(response.status(), 200);
    let reply = response.text().await.unwrap();
    assert!(!reply.contains("欢迎"), "encrypted, not plain");
    assert!(open_reply(python.as_ref(), &reply).contains("欢迎关注"));
    assert!(app.state.store().follower(TOWN, OPENID).await.unwrap().unwrap().subscribed);
    // The same message again (a replay with a valid signature) is acknowledged and ignored.
    let again = post_safe(&app, &body, &ts, "nonceA", &msg_sig).await;
    assert_eq!(again.text().await.unwrap(), "success");

    let (body, msg_sig) = seal(python.as_ref(), &text("我要办事", 2001, now), &ts, "nonceB");
    let reply = post_safe(&app, &body, &ts, "nonceB", &msg_sig).await.text().await.unwrap();
    assert!(open_reply(python.as_ref(), &reply).contains(&format!("/t/{TOWN}/services")));

    // A tampered msg_signature, a message for another appid, and a broken envelope are refused.
    assert_eq!(post_safe(&app, &body, &ts, "nonceB", &"0".repeat(40)).await.status(), 403);
    let other = MessageCrypto::new(AES_KEY, "wx0000000000000000").unwrap().encrypt(&text("x", 2002, now));
    let other_body = format!("<xml><Encrypt><![CDATA[{other}]]></Encrypt></xml>");
    let other_sig = signature(&[TOKEN, &ts, "nonceC", &other]);
    assert_eq!(post_safe(&app, &other_body, &ts, "nonceC", &other_sig).await.status(), 400);
    let broken = "<xml><Encrypt><![CDATA[AAAA]]></Encrypt></xml>";
    let broken_sig = signature(&[TOKEN, &ts, "nonceD", "AAAA"]);
    assert_eq!(post_safe(&app, broken, &ts, "nonceD", &broken_sig).await.status(), 400);
});

/// A safe-mode POST whose URL `signature` is `url_signature` (the platform signs both).
async fn post_safe_signed(
    app: &TestApp,
    body: &str,
    ts: &str,
    nonce: &str,
    url_signature: &str,
    msg_signature: &str,
) -> u16 {
    reqwest::Client::new()
        .post(app.url(&format!(
            "/wechat/{TOWN}/callback?signature={url_signature}&timestamp={ts}&nonce={nonce}&openid={OPENID}&encrypt_type=aes&msg_signature={msg_signature}"
        )))
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

wechat_test!(
    safe_mode_checks_both_signatures_and_only_compatible_mode_takes_plaintext,
    |app: TestApp, _fake: Fake| async move {
        configure(&app, AES_KEY).await;
        let python = python();
        let now = app.state.now();
        let ts = now.to_string();
        // A safe-mode account refuses a plaintext message, even one signed with the right token.
        assert_eq!(post_plain(&app, &event("subscribe", "", now), now, TOKEN).await.status(), 403);
        // A message sealed by wechatpy with a right msg_signature but a wrong URL signature.
        let (body, msg_sig) = seal(python.as_ref(), &event("subscribe", "", now), &ts, "nonceE");
        assert_eq!(post_safe_signed(&app, &body, &ts, "nonceE", &"0".repeat(40), &msg_sig).await, 403);
        assert_eq!(post_safe_signed(&app, &body, &ts, "nonceE", "", &msg_sig).await, 403, "no URL signature at all");
        assert!(app.state.store().follower(TOWN, OPENID).await.unwrap().is_none(), "nothing was recorded");
        let good = signature(&[TOKEN, &ts, "nonceE"]);
        assert_eq!(post_safe_signed(&app, &body, &ts, "nonceE", &good, &msg_sig).await, 200);

        // 兼容模式 is ticked explicitly: then plaintext is taken as well as ciphertext.
        let admin = app.login_as(Role::CountyAdmin).await;
        let fields = [
            ("org_code", TOWN),
            ("appid", APPID),
            ("secret", SECRET),
            ("token", TOKEN),
            ("aes_key", AES_KEY),
            ("compatible", "1"),
        ];
        assert_eq!(app.post_form(&admin, "/staff/wechat", &fields).await.status(), 303);
        let page = admin.get(app.url("/staff/wechat")).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("兼容模式"), "{page}");
        let click = event("CLICK", "services", now + 1);
        let reply = reply_content(post_plain(&app, &click, now, TOKEN).await).await.unwrap();
        assert!(reply.contains(&format!("/t/{TOWN}/services")), "{reply}");
        let (body, msg_sig) = seal(python.as_ref(), &text("我要办事", 3001, now), &ts, "nonceF");
        let good = signature(&[TOKEN, &ts, "nonceF"]);
        assert_eq!(post_safe_signed(&app, &body, &ts, "nonceF", &"0".repeat(40), &msg_sig).await, 403);
        assert_eq!(post_safe_signed(&app, &body, &ts, "nonceF", &good, &msg_sig).await, 200);
        // Without a key there is no compatible mode to tick.
        let fields = [("org_code", TOWN), ("appid", APPID), ("secret", SECRET), ("token", TOKEN), ("compatible", "1")];
        assert_eq!(app.post_form(&admin, "/staff/wechat", &fields).await.status(), 400);
    }
);

// ---- the API: menu, token cache and refresh ----

fn second_instance(app: &TestApp, fake: &Fake) -> AppState {
    let mut config = app.state.config().clone();
    config.wechat.api_base = fake.base.clone();
    AppState::new(
        app.state.store().clone(),
        app.state.cipher().clone(),
        config,
        xiaowei_integrations::AttachmentStore::in_memory(1024),
    )
}

wechat_test!(the_menu_is_pushed_with_a_shared_token_refreshed_when_expired, |app: TestApp, fake: Fake| async move {
    configure(&app, "").await;
    let menu = xiaowei_server::app::wechat::push_menu(&app.state, TOWN).await.unwrap();
    assert_eq!(menu["button"][0]["name"], "民生监督");
    let subs: Vec<&str> =
        menu["button"][0]["sub_button"].as_array().unwrap().iter().map(|b| b["name"].as_str().unwrap()).collect();
    assert_eq!(subs, ["惠农资金", "小微权力", "公示公开", "我要办事", "留言箱"]);
    assert_eq!(menu["button"][1]["name"], "自助查询");
    assert!(menu["button"][1]["url"].as_str().unwrap().ends_with(&format!("/t/{TOWN}/self-query")));
    // A second instance uses the token the first cached in the database.
    let other = second_instance(&app, &fake);
    xiaowei_server::app::wechat::push_menu(&other, TOWN).await.unwrap();
    assert_eq!(fake.state.lock().unwrap().issued.len(), 1, "one token for both instances");
    // The platform expires the token early (42001): one refresh, then success.
    fake.expire_all();
    xiaowei_server::app::wechat::push_menu(&other, TOWN).await.unwrap();
    {
        let s = fake.state.lock().unwrap();
        assert_eq!((s.issued.len(), s.menus.len()), (2, 3));
        assert_eq!(s.menus[2], menu);
    }
    xiaowei_server::app::wechat::push_menu(&app.state, TOWN).await.unwrap();
    assert_eq!(fake.state.lock().unwrap().issued.len(), 2, "the refreshed token is shared too");
    // A township without an account.
    assert!(xiaowei_server::app::wechat::push_menu(&app.state, "620922101").await.is_err());
});

// ---- OAuth, 我的办件, binding and notices ----

const WECHAT_UA: &str = "Mozilla/5.0 (Linux; Android 10) MicroMessenger/8.0.40";

/// Goes through the OAuth redirect as WeChat's browser would; returns a client holding the
/// follower cookie.
async fn sign_in(app: &TestApp, fake: &Fake) -> reqwest::Client {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(WECHAT_UA)
        .build()
        .unwrap();
    let first = client.get(app.url(&format!("/t/{TOWN}/my-cases"))).send().await.unwrap();
    assert_eq!(first.status(), 303);
    let to_oauth = first.headers()["location"].to_str().unwrap().to_owned();
    let second = client.get(app.url(&to_oauth)).send().await.unwrap();
    let authorize = second.headers()["location"].to_str().unwrap().to_owned();
    assert!(authorize.starts_with(&format!("{}/connect/oauth2/authorize?appid={APPID}&", fake.base)), "{authorize}");
    assert!(authorize.contains("scope=snsapi_base") && authorize.ends_with("#wechat_redirect"));
    let url = reqwest::Url::parse(&authorize).unwrap();
    let state = url.query_pairs().find(|(k, _)| k == "state").unwrap().1.into_owned();
    let redirect = url.query_pairs().find(|(k, _)| k == "redirect_uri").unwrap().1.into_owned();
    assert!(redirect.ends_with(&format!("/wechat/{TOWN}/oauth/return")));
    // A bad code is refused; the platform's code gives the follower cookie.
    let bad = client
        .get(app.url(&format!("/wechat/{TOWN}/oauth/return")))
        .query(&[("code", "CODE_BAD"), ("state", &state)])
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let back = client
        .get(app.url(&format!("/wechat/{TOWN}/oauth/return")))
        .query(&[("code", "CODE_GOOD"), ("state", &state)])
        .send()
        .await
        .unwrap();
    assert_eq!(back.status(), 303);
    assert_eq!(back.headers()["location"], format!("/t/{TOWN}/my-cases").as_str());
    client
}

wechat_test!(oauth_my_cases_binding_and_notices, |app: TestApp, fake: Fake| async move {
    configure(&app, "").await;
    let ([item, _], _) = crate::services::seed_cases(&app).await;
    // Outside WeChat: no redirect, the tracking-number route.
    let outside = TestApp::client().get(app.url(&format!("/t/{TOWN}/my-cases"))).send().await.unwrap();
    assert_eq!(outside.status(), 200);
    assert!(outside.text().await.unwrap().contains("凭办件编号和手机号查询"));

    let villager = sign_in(&app, &fake).await;
    let empty = villager.get(app.url(&format!("/t/{TOWN}/my-cases"))).send().await.unwrap().text().await.unwrap();
    assert!(empty.contains("还没有在微信中提交过办件"));
    let applied = crate::services::apply(&app, &villager, item, &crate::services::GOOD, None).await;
    assert_eq!(applied.status(), 303);
    let mine = villager.get(app.url(&format!("/t/{TOWN}/my-cases"))).send().await.unwrap().text().await.unwrap();
    assert!(mine.contains("高龄补贴申领") && mine.contains("已受理"), "{mine}");
    // Another browser in WeChat without the cookie sees nothing of it.
    let store = app.state.store();
    let case = store.cases(&xiaowei_store::CaseFilter::default(), 10, 0).await.unwrap().0;
    let case = case.into_iter().find(|c| c.applicant_name == "孙秀英").unwrap();
    assert_eq!(store.case_follower(&case.tracking).await.unwrap(), Some((TOWN.to_owned(), OPENID.to_owned())));

    // Binding: the ID must match a published roster entry under that name; the household is found by its head.
    let clerk = app.login_as(Role::VillageClerk).await;
    let reviewer = app.login_as(Role::TownshipReviewer).await;
    let fields = [
        ("programme_id", app.programme().await.to_string()),
        ("org_code", "620922100200".to_owned()),
        ("year", "2024".to_owned()),
        ("phase", "proposed".to_owned()),
    ];
    let roster = app.import_roster(&clerk, &fields, roster_csv(&[("张建国", person_id(7), "600")])).await;
    app.publish(&clerk, &reviewer, roster).await;
    let form_page = villager.get(app.url(&format!("/t/{TOWN}/bind"))).send().await.unwrap().text().await.unwrap();
    let csrf = crate::helpers::hidden(&form_page, "csrf").unwrap();
    let wrong = villager
        .post(app.url(&format!("/t/{TOWN}/bind")))
        .form(&[("csrf", csrf.as_str()), ("name", "张建华"), ("id_number", &person_id(7))])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(wrong.contains("未找到"), "a wrong name binds nothing");
    let right = villager
        .post(app.url(&format!("/t/{TOWN}/bind")))
        .form(&[("csrf", csrf.as_str()), ("name", "张建国"), ("id_number", &person_id(7))])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(right.contains("绑定成功"), "{right}");
    let follower = store.follower(TOWN, OPENID).await.unwrap().unwrap();
    assert!(follower.household_id.is_some() && follower.subscribed);
    let town = store.wechat_figures().await.unwrap().into_iter().find(|f| f.township_code == TOWN).unwrap();
    assert_eq!((town.followers, town.bound_households, town.households), (1, 1, 1));

    // The officer's contact reaches the applicant as a template message through the outbox.
    let officer = app.login_as(Role::DepartmentOfficer).await;
    let r = app
        .post_form(
            &officer,
            &format!("/staff/cases/{}/contact", case.tracking),
            &[("method", "phone"), ("note", "已电话联系")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let rows = store.outbox(None, Some(case.id), 50, 0).await.unwrap().0;
    let to_applicant: Vec<_> =
        rows.iter().filter(|m| m.recipient.starts_with("申请人") && m.notice == "case_contacted").collect();
    assert_eq!(to_applicant.len(), 1);
    assert_eq!(to_applicant[0].channel, xiaowei_core::outbox::TextChannel::Wechat);
    let gateway = xiaowei_server::workers::notify::LogGateway;
    let now = app.state.now();
    xiaowei_server::workers::notify::deliver_due(&app.state, &gateway, "w1", now + 1).await.unwrap();
    {
        let s = fake.state.lock().unwrap();
        assert_eq!(s.templates.len(), 1);
        assert_eq!(s.templates[0]["touser"], OPENID);
        assert_eq!(s.templates[0]["template_id"], "TPL_CONTACTED");
        // Keyword fields only, each fitted to its type: WeChat shows no `first` or `remark` since 2023.
        let data = &s.templates[0]["data"];
        assert_eq!(data["character_string1"]["value"], case.tracking.as_str());
        assert_eq!(data["thing2"]["value"], case.item_name.as_str());
        assert_eq!(data["phrase3"]["value"], "已受理");
        assert!(data["time4"]["value"].as_str().is_some_and(|t| t.contains('年') && t.contains(':')), "{data}");
        assert_eq!(data.as_object().map(serde_json::Map::len), Some(4), "{data}");
        assert!(s.templates[0]["url"].as_str().is_some_and(|u| u.contains(&format!("/cases/{}?k=", case.tracking))));
        // wechatpy's send_template builds the same request from the same parts.
        if let Some(python) = python() {
            let sent = &s.templates[0];
            let op = json!({
                "op": "template",
                "touser": sent["touser"],
                "template_id": sent["template_id"],
                "url": sent["url"],
                "data": sent["data"],
            });
            assert_eq!(&oracle(&python, &[op])[0]["body"], sent);
        }
    }
    let sent = store.outbox(None, Some(case.id), 50, 0).await.unwrap().0;
    assert!(
        sent.iter()
            .filter(|m| m.channel == xiaowei_core::outbox::TextChannel::Wechat)
            .all(|m| m.status == xiaowei_core::outbox::Delivery::Sent)
    );

    // After unsubscribing, the next notice falls back to SMS.
    store.follower_unsubscribed(TOWN, OPENID, now).await.unwrap();
    let r = app
        .post_form(&officer, &format!("/staff/cases/{}/complete", case.tracking), &[("reply", "已审批，下月起发放")])
        .await;
    assert_eq!(r.status(), 303);
    let rows = store.outbox(None, Some(case.id), 50, 0).await.unwrap().0;
    let completed: Vec<_> = rows.iter().filter(|m| m.notice == "case_completed").collect();
    assert_eq!(completed.iter().map(|m| m.channel.as_str()).collect::<Vec<_>>(), ["sms"]);
});

// ---- the CLI ----

#[test]
fn the_cli_prints_the_menu_and_refuses_to_push_without_an_account() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_xiaowei"));
        command.args(args).current_dir(dir.path()).env("XIAOWEI_LOG", "warn");
        for var in ["DATABASE_URL", "XIAOWEI_DATABASE_URL", "XIAOWEI_PII_KEY", "XIAOWEI_CONFIG", "XIAOWEI_DATA_DIR"] {
            command.env_remove(var);
        }
        command.env("XIAOWEI_PUBLIC_URL", "https://xw.example.cn");
        command.output().unwrap()
    };
    let csv = dir.path().join("orgs.csv");
    std::fs::write(&csv, "code,name,level,parent_code\n620922,瓜州县,county,\n620922100,渊泉镇,township,620922\n")
        .unwrap();
    assert!(run(&["org", "import", csv.to_str().unwrap()]).status.success());
    let printed = run(&["wechat", "menu", TOWN]);
    assert!(printed.status.success(), "{}", String::from_utf8_lossy(&printed.stderr));
    let menu: Value = serde_json::from_slice(&printed.stdout).unwrap();
    assert_eq!(menu["button"][0]["name"], "民生监督");
    assert_eq!(menu["button"][0]["sub_button"][0]["url"], "https://xw.example.cn/t/620922100/subsidies");
    let push = run(&["wechat", "menu", TOWN, "--push"]);
    assert_eq!(push.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&push.stderr).contains("尚未配置公众号"));
    assert_eq!(run(&["wechat", "menu", "999999999"]).status.code(), Some(1));
}
