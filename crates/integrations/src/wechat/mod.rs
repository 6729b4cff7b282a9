//! The WeChat official-account (公众号) protocol, written by hand and proven against `wechatpy`:
//! callback signatures, the AES message crypto of safe mode (安全模式), a strict parser for the
//! flat XML the platform sends, replies, template messages fitted to the keyword types shown since
//! 2023 (see `template`), the standard 民生监督 menu, and an API client whose base
//! URL is configurable (tests point it at a local fake). It never stores anything: replay
//! protection, token caching and follower records belong to the caller.

mod api;
mod crypto;
mod menu;
mod message;
mod signature;
mod template;
mod xml;

pub use api::{AccessToken, DEFAULT_API_BASE, WechatApi, WechatApiError, oauth_authorize_url};
pub use crypto::{CryptoError, MessageCrypto};
pub use menu::{MENU_ITEMS, MenuItem, standard_menu};
pub use message::{
    CallbackError, CallbackQuery, Event, Inbound, Message, MessageMode, Security, open_message, seal_reply, text_reply,
};
pub use signature::{signature, signature_matches, verify_url};
pub use template::{Keyword, KeywordType, TemplateError, template_message};
pub use xml::{MAX_XML_BYTES, XmlError, XmlFields, parse_xml};

/// Property-test cases for the parsing and crypto fuzz tests: `default`, or
/// `XIAOWEI_FUZZ_CASES` for a long run (e.g. `XIAOWEI_FUZZ_CASES=1000000 cargo test -p
/// xiaowei-integrations --release wechat`).
#[cfg(test)]
pub(crate) fn fuzz_cases(default: u32) -> u32 {
    std::env::var("XIAOWEI_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}
