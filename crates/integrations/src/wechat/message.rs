//! Callback messages: opening a POST in plaintext, compatible (兼容模式) or safe (安全模式) mode
//! into a [`Message`], and sealing a reply in the mode the message came in. Which modes an
//! account accepts is its own setting ([`Security`]): a safe-mode account refuses plaintext.

use super::crypto::{CryptoError, MessageCrypto};
use super::signature::{signature, signature_matches};
use super::xml::{XmlError, XmlFields, cdata, parse_xml};

/// The query string of a callback request.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct CallbackQuery {
    #[serde(default)]
    pub signature: String,
    #[serde(default)]
    pub timestamp: String,
    #[serde(default)]
    pub nonce: String,
    #[serde(default)]
    pub echostr: Option<String>,
    #[serde(default)]
    pub encrypt_type: Option<String>,
    #[serde(default)]
    pub msg_signature: Option<String>,
    #[serde(default)]
    pub openid: Option<String>,
}

/// How a message arrived, and so how its reply must go back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageMode {
    /// 明文模式: plain XML, plain reply.
    Plain,
    /// 安全模式 (and 兼容模式 with `encrypt_type=aes`): encrypted both ways.
    Safe,
}

/// Which messages an account accepts: its 消息加解密方式 as set on the platform.
#[derive(Debug, Clone, Copy)]
pub enum Security<'a> {
    /// 明文模式: plaintext messages only.
    Plain,
    /// 兼容模式: encrypted messages, and plaintext ones too (while an account switches over).
    Compatible(&'a MessageCrypto),
    /// 安全模式: encrypted messages only.
    Safe(&'a MessageCrypto),
}

impl<'a> Security<'a> {
    /// The account's message key, in compatible and safe mode.
    pub fn crypto(self) -> Option<&'a MessageCrypto> {
        match self {
            Self::Plain => None,
            Self::Compatible(crypto) | Self::Safe(crypto) => Some(crypto),
        }
    }
}

/// A follower's event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Subscribe,
    Unsubscribe,
    /// A CLICK menu item with its key.
    Click(String),
    /// A VIEW menu item with its URL.
    View(String),
    /// Any other event, by name (`LOCATION`, `SCAN`, `TEMPLATESENDJOBFINISH`…).
    Other(String),
}

/// What a message carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inbound {
    Text {
        content: String,
    },
    Event(Event),
    /// Images, voice, locations…: acknowledged, not handled.
    Other {
        msg_type: String,
    },
}

/// One opened callback message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Our account's original id (`gh_…`).
    pub to_user: String,
    /// The follower's openid for this account.
    pub from_user: String,
    pub create_time: i64,
    pub msg_id: Option<String>,
    pub inbound: Inbound,
    pub mode: MessageMode,
}

impl Message {
    /// The key under which a redelivery of this message is recognised: the MsgId where the
    /// platform gives one, otherwise (events) the follower and creation time, as the platform's
    /// documentation recommends, plus the event.
    pub fn dedup_key(&self) -> String {
        match (&self.msg_id, &self.inbound) {
            (Some(id), _) => format!("msg:{id}"),
            (None, Inbound::Event(e)) => {
                let name = match e {
                    Event::Subscribe => "subscribe".to_owned(),
                    Event::Unsubscribe => "unsubscribe".to_owned(),
                    Event::Click(key) => format!("click:{key}"),
                    Event::View(url) => format!("view:{url}"),
                    Event::Other(other) => other.to_lowercase(),
                };
                format!("ev:{}:{}:{name}", self.from_user, self.create_time)
            }
            (None, _) => format!("ev:{}:{}", self.from_user, self.create_time),
        }
    }
}

/// Why a callback was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallbackError {
    #[error("签名错误")]
    BadSignature,
    #[error("时间戳无效")]
    BadTimestamp,
    /// A plaintext message to a safe-mode account.
    #[error("安全模式下不接受明文消息")]
    PlaintextRefused,
    #[error(transparent)]
    Xml(#[from] XmlError),
    #[error(transparent)]
    Crypto(#[from] CryptoError),
}

fn fields_to_message(fields: &XmlFields, mode: MessageMode) -> Result<Message, CallbackError> {
    let to_user = fields.require("ToUserName")?.to_owned();
    let from_user = fields.require("FromUserName")?.to_owned();
    if from_user.is_empty() || from_user.len() > 64 {
        return Err(XmlError::Malformed("FromUserName").into());
    }
    let create_time: i64 =
        fields.require("CreateTime")?.trim().parse().map_err(|_| XmlError::Malformed("CreateTime"))?;
    let msg_type = fields.require("MsgType")?.trim().to_owned();
    let msg_id = fields.get("MsgId").map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    let inbound = match msg_type.as_str() {
        "text" => Inbound::Text { content: fields.require("Content")?.to_owned() },
        "event" => {
            let event = fields.require("Event")?.trim();
            let key = || fields.get("EventKey").unwrap_or_default().to_owned();
            Inbound::Event(match event.to_ascii_lowercase().as_str() {
                "subscribe" => Event::Subscribe,
                "unsubscribe" => Event::Unsubscribe,
                "click" => Event::Click(key()),
                "view" => Event::View(key()),
                _ => Event::Other(event.to_owned()),
            })
        }
        _ => Inbound::Other { msg_type },
    };
    Ok(Message { to_user, from_user, create_time, msg_id, inbound, mode })
}

/// Opens a callback POST: checks the URL `signature` (over token/timestamp/nonce, sent in every
/// mode), then in safe and compatible mode `msg_signature` (over token/timestamp/nonce/
/// ciphertext), decrypts and parses. A plaintext message is refused by a safe-mode account, an
/// encrypted one by a plaintext account.
pub fn open_message(
    token: &str,
    security: Security<'_>,
    query: &CallbackQuery,
    body: &[u8],
) -> Result<Message, CallbackError> {
    if query.timestamp.is_empty() || query.timestamp.len() > 12 || !query.timestamp.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(CallbackError::BadTimestamp);
    }
    if query.nonce.len() > 64 {
        return Err(CallbackError::BadSignature);
    }
    if !signature_matches(&query.signature, &[token, &query.timestamp, &query.nonce]) {
        return Err(CallbackError::BadSignature);
    }
    let outer = parse_xml(body)?;
    let encrypted = query.encrypt_type.as_deref() == Some("aes");
    let crypto = match (security, encrypted) {
        (Security::Plain | Security::Compatible(_), false) => return fields_to_message(&outer, MessageMode::Plain),
        (Security::Safe(_), false) => return Err(CallbackError::PlaintextRefused),
        (Security::Plain, true) => return Err(CallbackError::Crypto(CryptoError::BadKey)),
        (Security::Compatible(crypto) | Security::Safe(crypto), true) => crypto,
    };
    let encrypted = outer.require("Encrypt")?;
    let msg_signature = query.msg_signature.as_deref().unwrap_or_default();
    if !signature_matches(msg_signature, &[token, &query.timestamp, &query.nonce, encrypted]) {
        return Err(CallbackError::BadSignature);
    }
    let inner = crypto.decrypt(encrypted)?;
    fields_to_message(&parse_xml(inner.as_bytes())?, MessageMode::Safe)
}

/// A passive text reply (被动回复文本消息) to `message`.
pub fn text_reply(message: &Message, content: &str, now: i64) -> String {
    format!(
        "<xml><ToUserName>{}</ToUserName><FromUserName>{}</FromUserName><CreateTime>{now}</CreateTime>\
         <MsgType><![CDATA[text]]></MsgType><Content>{}</Content></xml>",
        cdata(&message.from_user),
        cdata(&message.to_user),
        cdata(content)
    )
}

/// The reply body for the mode the message came in: `xml` unchanged in plaintext mode, or the
/// encrypted envelope with its `MsgSignature` in safe mode.
pub fn seal_reply(
    token: &str,
    crypto: Option<&MessageCrypto>,
    mode: MessageMode,
    xml: &str,
    timestamp: &str,
    nonce: &str,
) -> Result<String, CallbackError> {
    match mode {
        MessageMode::Plain => Ok(xml.to_owned()),
        MessageMode::Safe => {
            let crypto = crypto.ok_or(CallbackError::Crypto(CryptoError::BadKey))?;
            let encrypted = crypto.encrypt(xml);
            let sig = signature(&[token, timestamp, nonce, &encrypted]);
            Ok(format!(
                "<xml><Encrypt>{}</Encrypt><MsgSignature>{}</MsgSignature><TimeStamp>{timestamp}</TimeStamp><Nonce>{}</Nonce></xml>",
                cdata(&encrypted),
                cdata(&sig),
                cdata(nonce)
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";

    fn plain_query(token: &str, ts: &str, nonce: &str) -> CallbackQuery {
        CallbackQuery {
            signature: signature(&[token, ts, nonce]),
            timestamp: ts.into(),
            nonce: nonce.into(),
            ..CallbackQuery::default()
        }
    }

    fn event_xml(event: &str, key: &str) -> String {
        format!(
            "<xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[o1]]></FromUserName><CreateTime>1700000000</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[{event}]]></Event><EventKey><![CDATA[{key}]]></EventKey></xml>"
        )
    }

    #[test]
    fn a_plain_click_event_is_opened() {
        let q = plain_query("tok", "1700000000", "n");
        let m = open_message("tok", Security::Plain, &q, event_xml("CLICK", "subsidies").as_bytes()).unwrap();
        assert_eq!(m.inbound, Inbound::Event(Event::Click("subsidies".into())));
        assert_eq!(m.dedup_key(), "ev:o1:1700000000:click:subsidies");
        assert_eq!(
            open_message("bad", Security::Plain, &q, event_xml("CLICK", "x").as_bytes()),
            Err(CallbackError::BadSignature)
        );
    }

    #[test]
    fn a_safe_message_round_trips_and_its_reply_is_sealed() {
        let crypto = MessageCrypto::new(KEY, "wxapp").unwrap();
        let enc = crypto.encrypt(&event_xml("subscribe", ""));
        let q = CallbackQuery {
            msg_signature: Some(signature(&["tok", "1700000000", "n", &enc])),
            encrypt_type: Some("aes".into()),
            ..plain_query("tok", "1700000000", "n")
        };
        let body = format!("<xml><ToUserName><![CDATA[gh_1]]></ToUserName><Encrypt><![CDATA[{enc}]]></Encrypt></xml>");
        let m = open_message("tok", Security::Safe(&crypto), &q, body.as_bytes()).unwrap();
        assert_eq!((m.inbound.clone(), m.mode), (Inbound::Event(Event::Subscribe), MessageMode::Safe));
        let reply = seal_reply("tok", Some(&crypto), m.mode, &text_reply(&m, "欢迎", 1), "1700000001", "r").unwrap();
        let outer = parse_xml(reply.as_bytes()).unwrap();
        let enc = outer.get("Encrypt").unwrap();
        assert!(signature_matches(outer.get("MsgSignature").unwrap(), &["tok", "1700000001", "r", enc]));
        let inner = parse_xml(crypto.decrypt(enc).unwrap().as_bytes()).unwrap();
        assert_eq!((inner.get("Content"), inner.get("ToUserName")), (Some("欢迎"), Some("o1")));
        let mut tampered = q.clone();
        tampered.msg_signature = Some(signature(&["tok", "1700000000", "n", "x"]));
        assert_eq!(
            open_message("tok", Security::Safe(&crypto), &tampered, body.as_bytes()),
            Err(CallbackError::BadSignature)
        );
    }

    #[test]
    fn a_safe_mode_message_needs_the_url_signature_too() {
        let crypto = MessageCrypto::new(KEY, "wxapp").unwrap();
        let enc = crypto.encrypt(&event_xml("subscribe", ""));
        let body = format!("<xml><Encrypt><![CDATA[{enc}]]></Encrypt></xml>");
        let q = CallbackQuery {
            signature: "0".repeat(40),
            timestamp: "1700000000".into(),
            nonce: "n".into(),
            msg_signature: Some(signature(&["tok", "1700000000", "n", &enc])),
            encrypt_type: Some("aes".into()),
            ..CallbackQuery::default()
        };
        for security in [Security::Safe(&crypto), Security::Compatible(&crypto)] {
            assert_eq!(open_message("tok", security, &q, body.as_bytes()), Err(CallbackError::BadSignature));
        }
    }

    #[test]
    fn only_a_compatible_account_takes_plaintext_besides_ciphertext() {
        let crypto = MessageCrypto::new(KEY, "wxapp").unwrap();
        let q = plain_query("tok", "1700000000", "n");
        let xml = event_xml("CLICK", "subsidies");
        assert_eq!(
            open_message("tok", Security::Safe(&crypto), &q, xml.as_bytes()),
            Err(CallbackError::PlaintextRefused)
        );
        let m = open_message("tok", Security::Compatible(&crypto), &q, xml.as_bytes()).unwrap();
        assert_eq!(m.mode, MessageMode::Plain);
        assert!(open_message("tok", Security::Plain, &q, xml.as_bytes()).is_ok());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(crate::wechat::fuzz_cases(3000)))]

        #[test]
        fn arbitrary_safe_bodies_never_panic(enc in "[A-Za-z0-9+/=]{0,200}", junk in "\\PC{0,60}") {
            let crypto = MessageCrypto::new(KEY, "wxapp").unwrap();
            let q = CallbackQuery {
                msg_signature: Some(signature(&["tok", "1", "n", &enc])),
                encrypt_type: Some("aes".into()),
                ..plain_query("tok", "1", "n")
            };
            let body = format!("<xml><Encrypt><![CDATA[{enc}]]></Encrypt></xml>");
            let _ = open_message("tok", Security::Safe(&crypto), &q, body.as_bytes());
            // A validly encrypted envelope around arbitrary text.
            let inner = crypto.encrypt(&junk);
            let q = CallbackQuery { msg_signature: Some(signature(&["tok", "1", "n", &inner])), ..q };
            let body = format!("<xml><Encrypt><![CDATA[{inner}]]></Encrypt></xml>");
            let _ = open_message("tok", Security::Safe(&crypto), &q, body.as_bytes());
        }
    }
}
