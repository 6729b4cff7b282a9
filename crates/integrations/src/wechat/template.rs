//! Template messages (模板消息) as WeChat shows them since 2023: a follower sees the template's
//! title and its keyword fields only. The `first` and `remark` fields are no longer displayed, so
//! nothing may depend on them, and every keyword is typed by the prefix of its name — the type
//! limits what it may hold and a value breaking the limit makes the platform refuse the message
//! (errcode 47003):
//!
//! | type | holds |
//! | --- | --- |
//! | `thing` | any text, at most 20 characters |
//! | `character_string` | letters, digits and symbols, at most 32 |
//! | `phrase` | at most 5 Chinese characters |
//! | `time` / `date` | a time or date such as `2026年12月6日 09:30` |
//! | `name` | at most 10 characters |
//! | `number`, `letter` | at most 32 digits, letters |
//! | `symbol` | at most 5 symbols |
//! | `amount` | a number with at most two decimals, an optional currency sign and 元 |
//! | `phone_number` | at most 17 digits, `+` and `-` |
//! | `car_number` | at most 8 characters |
//! | `const` | the template's fixed text (sent as given) |
//!
//! [`Keyword::fit`] makes a value fit its keyword's type (a long 事项名称 is cut to 19 characters
//! and `…`; characters a type cannot hold are dropped), and [`template_message`] builds the body
//! of `POST /cgi-bin/message/template/send` — `touser`, `template_id`, `url` and `data` with one
//! `{"value": …}` per keyword — as wechatpy's `send_template` does (the integration tests compare
//! the two). Which notice fills which keyword is the caller's choice.

use serde_json::{Map, Value, json};

/// The type of a template keyword, read from its name (`thing2` is a [`KeywordType::Thing`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeywordType {
    Thing,
    CharacterString,
    Phrase,
    Time,
    Date,
    Name,
    Number,
    Letter,
    Symbol,
    Amount,
    PhoneNumber,
    CarNumber,
    Const,
}

impl KeywordType {
    const PREFIXES: [(&'static str, Self); 13] = [
        ("thing", Self::Thing),
        ("character_string", Self::CharacterString),
        ("phrase", Self::Phrase),
        ("time", Self::Time),
        ("date", Self::Date),
        ("name", Self::Name),
        ("number", Self::Number),
        ("letter", Self::Letter),
        ("symbol", Self::Symbol),
        ("amount", Self::Amount),
        ("phone_number", Self::PhoneNumber),
        ("car_number", Self::CarNumber),
        ("const", Self::Const),
    ];

    /// The type of keyword `name`: a known prefix followed by its number (`thing2`, `time14`).
    pub fn of(name: &str) -> Option<Self> {
        let stem = name.trim_end_matches(|c: char| c.is_ascii_digit());
        if stem.len() == name.len() {
            return None;
        }
        Self::PREFIXES.iter().find(|(prefix, _)| *prefix == stem).map(|(_, t)| *t)
    }
}

/// Why a keyword cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("微信模板关键词“{0}”不是模板库的类型（如 thing2、character_string1、phrase3、time4）")]
    UnknownKeyword(String),
}

/// One keyword of a template with the value it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keyword {
    pub name: String,
    pub value: String,
}

impl Keyword {
    /// The keyword `name` holding `value` made to fit the keyword's type.
    pub fn fit(name: &str, value: &str) -> Result<Self, TemplateError> {
        let kind = KeywordType::of(name).ok_or_else(|| TemplateError::UnknownKeyword(name.to_owned()))?;
        let value = value.trim();
        let keep = |allowed: fn(char) -> bool, max: usize| -> String {
            value.chars().filter(|c| allowed(*c)).take(max).collect()
        };
        let value = match kind {
            KeywordType::Thing => cut(value, 20),
            KeywordType::Name => cut(value, 10),
            KeywordType::CarNumber => cut(value, 8),
            KeywordType::Phrase => keep(is_han, 5),
            KeywordType::CharacterString => keep(|c| c.is_ascii_graphic(), 32),
            KeywordType::Number => keep(|c| c.is_ascii_digit(), 32),
            KeywordType::Letter => keep(|c| c.is_ascii_alphabetic(), 32),
            KeywordType::Symbol => keep(|c| c.is_ascii_punctuation(), 5),
            KeywordType::PhoneNumber => keep(|c| c.is_ascii_digit() || c == '+' || c == '-', 17),
            KeywordType::Time | KeywordType::Date | KeywordType::Amount | KeywordType::Const => value.to_owned(),
        };
        Ok(Self { name: name.to_owned(), value })
    }
}

fn is_han(c: char) -> bool {
    matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}')
}

/// At most `max` characters: a longer text keeps `max - 1` and ends in `…`.
fn cut(value: &str, max: usize) -> String {
    if value.chars().count() <= max { value.to_owned() } else { value.chars().take(max - 1).chain(['…']).collect() }
}

/// The body of a template message to `openid`; `url` is opened when the follower taps it.
pub fn template_message(openid: &str, template_id: &str, url: &str, keywords: &[Keyword]) -> Value {
    let data: Map<String, Value> = keywords.iter().map(|k| (k.name.clone(), json!({ "value": k.value }))).collect();
    let mut body = json!({ "touser": openid, "template_id": template_id, "data": data });
    if !url.is_empty() {
        body["url"] = Value::from(url);
    }
    body
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn keyword_types_come_from_their_names() {
        assert_eq!(KeywordType::of("thing2"), Some(KeywordType::Thing));
        assert_eq!(KeywordType::of("character_string12"), Some(KeywordType::CharacterString));
        assert_eq!(KeywordType::of("phone_number3"), Some(KeywordType::PhoneNumber));
        for bad in ["first", "remark", "keyword1", "thing", "2", "things2"] {
            assert_eq!(KeywordType::of(bad), None, "{bad}");
        }
        assert!(Keyword::fit("first", "x").is_err(), "first is no longer shown: refused");
    }

    #[test]
    fn values_are_made_to_fit_their_type() {
        let item = Keyword::fit("thing2", "城乡居民基本医疗保险参保登记与缴费信息变更申请").unwrap();
        assert_eq!(item.value.chars().count(), 20);
        assert!(item.value.ends_with('…'));
        assert_eq!(Keyword::fit("thing2", "高龄补贴申领").unwrap().value, "高龄补贴申领");
        assert_eq!(Keyword::fit("phrase3", "已联系您").unwrap().value, "已联系您");
        assert_eq!(Keyword::fit("phrase3", "已办结，请评价").unwrap().value, "已办结请评");
        assert_eq!(Keyword::fit("character_string1", "BJ20261206100001").unwrap().value, "BJ20261206100001");
        assert_eq!(Keyword::fit("character_string1", "编号 BJ1").unwrap().value, "BJ1");
    }

    #[test]
    fn the_body_has_only_keyword_fields() {
        let body = template_message(
            "o_follower",
            "TPL",
            "https://xw.example.cn/cases/BJ1?k=x",
            &[Keyword::fit("character_string1", "BJ1").unwrap(), Keyword::fit("phrase3", "已办结").unwrap()],
        );
        assert_eq!(
            body,
            json!({
                "touser": "o_follower",
                "template_id": "TPL",
                "url": "https://xw.example.cn/cases/BJ1?k=x",
                "data": { "character_string1": { "value": "BJ1" }, "phrase3": { "value": "已办结" } }
            })
        );
    }

    proptest! {
        #[test]
        fn a_fitted_value_never_breaks_its_limit(value in "\\PC{0,60}") {
            prop_assert!(Keyword::fit("thing9", &value).unwrap().value.chars().count() <= 20);
            prop_assert!(Keyword::fit("phrase9", &value).unwrap().value.chars().all(is_han));
            prop_assert!(Keyword::fit("phrase9", &value).unwrap().value.chars().count() <= 5);
            let code = Keyword::fit("character_string9", &value).unwrap().value;
            prop_assert!(code.len() <= 32 && code.chars().all(|c| c.is_ascii_graphic()));
        }
    }
}
