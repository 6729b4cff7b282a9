//! The WeChat protocol against `wechatpy` (PyPI, pinned in `tests/sdk/requirements.txt`), an
//! independent implementation: messages built and encrypted by wechatpy must open here, and our
//! replies must pass wechatpy's signature check, decryption and parser. Tampered signatures and
//! wrong appids must fail on both sides.
//!
//! The interpreter comes from `XIAOWEI_SDK_PYTHON`; without it these tests print a notice and
//! pass, unless `XIAOWEI_REQUIRE_SDK=1`.
#![allow(clippy::expect_used, reason = "helpers outside #[test] functions; a failed step fails the test")]

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::{Value, json};
use xiaowei_integrations::wechat::{
    CallbackError, CallbackQuery, Event, Inbound, MessageCrypto, MessageMode, Security, open_message, seal_reply,
    signature, text_reply,
};

const TOKEN: &str = "xiaowei_token_2026";
const AES_KEY: &str = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR";
const APPID: &str = "wx5823bf96d3bd56c7";

fn python() -> Option<PathBuf> {
    match std::env::var_os("XIAOWEI_SDK_PYTHON").filter(|p| !p.is_empty()) {
        Some(path) => Some(PathBuf::from(path)),
        None if std::env::var("XIAOWEI_REQUIRE_SDK").as_deref() == Ok("1") => {
            panic!("XIAOWEI_REQUIRE_SDK=1 but XIAOWEI_SDK_PYTHON is not set")
        }
        None => {
            eprintln!("notice: XIAOWEI_SDK_PYTHON is not set; the WeChat protocol was NOT checked against wechatpy");
            None
        }
    }
}

/// Runs the wechatpy oracle over a batch of operations.
fn oracle(python: &PathBuf, ops: &[Value]) -> Vec<Value> {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/sdk/wechat_oracle.py");
    let mut child = Command::new(python)
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the oracle");
    child.stdin.take().expect("stdin").write_all(Value::from(ops.to_vec()).to_string().as_bytes()).expect("write");
    let output = child.wait_with_output().expect("oracle output");
    assert!(output.status.success(), "oracle failed:\n{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("oracle prints JSON")
}

fn inbound(msg_type: &str, extra: &str, create_time: i64) -> String {
    format!(
        "<xml><ToUserName><![CDATA[gh_guangzhi]]></ToUserName><FromUserName><![CDATA[oFollower_1-x]]></FromUserName><CreateTime>{create_time}</CreateTime><MsgType><![CDATA[{msg_type}]]></MsgType>{extra}</xml>"
    )
}

fn samples() -> Vec<(String, Inbound)> {
    vec![
        (
            inbound(
                "text",
                "<Content><![CDATA[查询 <我的> 补贴 & ]]]]><![CDATA[>]]></Content><MsgId>6054768590064713728</MsgId>",
                1_700_000_000,
            ),
            Inbound::Text { content: "查询 <我的> 补贴 & ]]>".into() },
        ),
        (
            inbound("event", "<Event><![CDATA[subscribe]]></Event><EventKey><![CDATA[]]></EventKey>", 1_700_000_001),
            Inbound::Event(Event::Subscribe),
        ),
        (
            inbound(
                "event",
                "<Event><![CDATA[CLICK]]></Event><EventKey><![CDATA[services]]></EventKey>",
                1_700_000_002,
            ),
            Inbound::Event(Event::Click("services".into())),
        ),
        (
            inbound(
                "event",
                "<Event><![CDATA[VIEW]]></Event><EventKey><![CDATA[https://x.example/t/620922100/subsidies]]></EventKey><MenuId>1</MenuId>",
                1_700_000_003,
            ),
            Inbound::Event(Event::View("https://x.example/t/620922100/subsidies".into())),
        ),
        (
            inbound(
                "image",
                "<PicUrl><![CDATA[http://p/1.jpg]]></PicUrl><MediaId><![CDATA[m]]></MediaId><MsgId>1</MsgId>",
                1_700_000_004,
            ),
            Inbound::Other { msg_type: "image".into() },
        ),
    ]
}

#[test]
fn messages_encrypted_by_wechatpy_open_and_our_encrypted_replies_satisfy_it() {
    let Some(python) = python() else { return };
    let crypto = MessageCrypto::new(AES_KEY, APPID).expect("key");
    let samples = samples();
    let ops: Vec<Value> = samples
        .iter()
        .enumerate()
        .map(|(i, (xml, _))| {
            json!({"op": "encrypt", "token": TOKEN, "aes_key": AES_KEY, "appid": APPID, "xml": xml,
                   "nonce": format!("nonce{i}"), "timestamp": "1700000100"})
        })
        .collect();
    let encrypted = oracle(&python, &ops);
    let mut replies = Vec::new();
    for (i, ((_, expected), enc)) in samples.iter().zip(&encrypted).enumerate() {
        let query = CallbackQuery {
            signature: signature(&[TOKEN, "1700000100", &format!("nonce{i}")]),
            timestamp: "1700000100".into(),
            nonce: format!("nonce{i}"),
            encrypt_type: Some("aes".into()),
            msg_signature: Some(enc["msg_signature"].as_str().expect("signature").into()),
            ..CallbackQuery::default()
        };
        let body = enc["body"].as_str().expect("body");
        let message = open_message(TOKEN, Security::Safe(&crypto), &query, body.as_bytes()).expect("opens");
        assert_eq!(&message.inbound, expected);
        assert_eq!((message.from_user.as_str(), message.mode), ("oFollower_1-x", MessageMode::Safe));
        // A tampered signature and a wrong appid are refused.
        let mut bad = query.clone();
        bad.msg_signature = Some(signature(&[TOKEN, "1700000100", "other", "x"]));
        assert_eq!(
            open_message(TOKEN, Security::Safe(&crypto), &bad, body.as_bytes()),
            Err(CallbackError::BadSignature)
        );
        let other = MessageCrypto::new(AES_KEY, "wx0000000000000000").expect("key");
        assert!(open_message(TOKEN, Security::Safe(&other), &query, body.as_bytes()).is_err());
        let content = format!("第{i}条回复：<a href=\"https://x/t/620922100/services\">我要办事</a> & ]]> 结束");
        let reply = seal_reply(
            TOKEN,
            Some(&crypto),
            message.mode,
            &text_reply(&message, &content, 1_700_000_200),
            "1700000200",
            &format!("r{i}"),
        )
        .expect("sealed");
        let msg_signature =
            reply.split("<MsgSignature><![CDATA[").nth(1).and_then(|s| s.split("]]>").next()).expect("sig");
        replies.push((content, reply.clone(), msg_signature.to_owned(), format!("r{i}")));
    }
    let mut ops = Vec::new();
    for (_, reply, sig, nonce) in &replies {
        ops.push(json!({"op": "decrypt", "token": TOKEN, "aes_key": AES_KEY, "appid": APPID, "body": reply,
                        "msg_signature": sig, "timestamp": "1700000200", "nonce": nonce}));
        // Tampered: wrong signature, wrong appid.
        ops.push(json!({"op": "decrypt", "token": TOKEN, "aes_key": AES_KEY, "appid": APPID, "body": reply,
                        "msg_signature": "0".repeat(40), "timestamp": "1700000200", "nonce": nonce}));
        ops.push(
            json!({"op": "decrypt", "token": TOKEN, "aes_key": AES_KEY, "appid": "wx0000000000000000", "body": reply,
                        "msg_signature": sig, "timestamp": "1700000200", "nonce": nonce}),
        );
    }
    let checked = oracle(&python, &ops);
    for (i, (content, ..)) in replies.iter().enumerate() {
        let ok = &checked[i * 3];
        assert_eq!(ok["ok"], true, "{ok}");
        assert_eq!((ok["type"].as_str(), ok["content"].as_str()), (Some("text"), Some(content.as_str())));
        assert_eq!((ok["target"].as_str(), ok["source"].as_str()), (Some("oFollower_1-x"), Some("gh_guangzhi")));
        assert_eq!(checked[i * 3 + 1]["error"], "InvalidSignatureException");
        assert_eq!(checked[i * 3 + 2]["error"], "InvalidAppIdException");
    }
}

#[test]
fn plain_messages_signatures_and_replies_agree_with_wechatpy() {
    let Some(python) = python() else { return };
    let cases = [("1700000000", "abc"), ("1", "随机"), ("99999999999", "a b&c=d")];
    let mut ops: Vec<Value> = cases
        .iter()
        .map(|(ts, nonce)| json!({"op": "sign", "token": TOKEN, "timestamp": ts, "nonce": nonce}))
        .collect();
    for (ts, nonce) in &cases {
        ops.push(json!({"op": "check", "token": TOKEN, "timestamp": ts, "nonce": nonce, "signature": signature(&[TOKEN, ts, nonce])}));
    }
    let (xml, _) = &samples()[0];
    let query = CallbackQuery {
        signature: signature(&[TOKEN, "1700000000", "n"]),
        timestamp: "1700000000".into(),
        nonce: "n".into(),
        ..CallbackQuery::default()
    };
    let message = open_message(TOKEN, Security::Plain, &query, xml.as_bytes()).expect("plain opens");
    let reply =
        seal_reply(TOKEN, None, message.mode, &text_reply(&message, "回复 & <ok>", 1), "1", "n").expect("reply");
    ops.push(json!({"op": "parse", "xml": reply}));
    let results = oracle(&python, &ops);
    for (i, (ts, nonce)) in cases.iter().enumerate() {
        assert_eq!(results[i]["signature"].as_str(), Some(signature(&[TOKEN, ts, nonce]).as_str()));
        assert_eq!(results[cases.len() + i]["ok"], true);
    }
    let parsed = &results[cases.len() * 2];
    assert_eq!((parsed["type"].as_str(), parsed["content"].as_str()), (Some("text"), Some("回复 & <ok>")));
}
