//! A strict reader for the platform's XML: one `<xml>` root holding simple elements whose values
//! are text or CDATA (`<Content><![CDATA[查询]]></Content>`), optionally one more level of
//! nesting (the details of a few menu events), which is flattened as `Parent.Child`. Anything
//! else — declarations of entities or DOCTYPEs, attributes, comments, unknown entities, unclosed
//! or mismatched tags, too many fields, too much text — is refused, so a hostile body can cost
//! neither memory nor time.

use std::collections::BTreeMap;

/// The largest body accepted (a text message is at most 2,048 characters).
pub const MAX_XML_BYTES: usize = 64 * 1024;
const MAX_FIELDS: usize = 64;
const MAX_NAME: usize = 64;
const MAX_DEPTH: usize = 3;

/// Why a body was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    #[error("消息过大")]
    TooLarge,
    #[error("消息格式错误：{0}")]
    Malformed(&'static str),
}

/// The fields of one message, by element name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct XmlFields(BTreeMap<String, String>);

impl XmlFields {
    /// The value of a field, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// The value of a field, or an error naming it.
    pub fn require(&self, name: &'static str) -> Result<&str, XmlError> {
        self.get(name).ok_or(XmlError::Malformed(name))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

struct Reader<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Reader<'a> {
    fn rest(&self) -> &'a str {
        &self.s[self.pos..]
    }

    fn skip_ws(&mut self) {
        let trimmed = self.rest().trim_start_matches([' ', '\t', '\r', '\n']);
        self.pos = self.s.len() - trimmed.len();
    }

    fn eat(&mut self, lit: &str) -> bool {
        if self.rest().starts_with(lit) {
            self.pos += lit.len();
            true
        } else {
            false
        }
    }

    /// A tag name up to `>`: ASCII letters, digits and `_` only (so no attributes).
    fn name(&mut self) -> Result<&'a str, XmlError> {
        let rest = self.rest();
        let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(rest.len());
        if end == 0 || end > MAX_NAME {
            return Err(XmlError::Malformed("标签名"));
        }
        self.pos += end;
        Ok(&rest[..end])
    }

    fn open_tag(&mut self) -> Result<&'a str, XmlError> {
        if !self.eat("<") {
            return Err(XmlError::Malformed("应为开始标签"));
        }
        let name = self.name()?;
        if !self.eat(">") {
            return Err(XmlError::Malformed("标签不允许属性"));
        }
        Ok(name)
    }

    fn close_tag(&mut self, name: &str) -> Result<(), XmlError> {
        if self.eat("</") && self.name()? == name && self.eat(">") {
            Ok(())
        } else {
            Err(XmlError::Malformed("结束标签不匹配"))
        }
    }

    /// Text and CDATA up to the next `<` that is not CDATA, with entities decoded.
    fn text(&mut self) -> Result<String, XmlError> {
        let mut out = String::new();
        loop {
            if self.eat("<![CDATA[") {
                let rest = self.rest();
                let end = rest.find("]]>").ok_or(XmlError::Malformed("CDATA 未结束"))?;
                out.push_str(&rest[..end]);
                self.pos += end + 3;
                continue;
            }
            let rest = self.rest();
            let end = rest.find('<').ok_or(XmlError::Malformed("元素未结束"))?;
            if end == 0 {
                return Ok(out);
            }
            decode_entities(&rest[..end], &mut out)?;
            self.pos += end;
        }
    }
}

fn decode_entities(raw: &str, out: &mut String) -> Result<(), XmlError> {
    let mut rest = raw;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        let semi = after.find(';').filter(|&i| i <= 10).ok_or(XmlError::Malformed("实体"))?;
        let entity = &after[..semi];
        let c = match entity {
            "lt" => '<',
            "gt" => '>',
            "amp" => '&',
            "quot" => '"',
            "apos" => '\'',
            _ => {
                let code = if let Some(hex) = entity.strip_prefix("#x") {
                    u32::from_str_radix(hex, 16).ok()
                } else if let Some(dec) = entity.strip_prefix('#') {
                    dec.parse().ok()
                } else {
                    None
                };
                code.and_then(char::from_u32).filter(|&c| c != '\0').ok_or(XmlError::Malformed("实体"))?
            }
        };
        out.push(c);
        rest = &after[semi + 1..];
    }
    out.push_str(rest);
    Ok(())
}

/// Parses one message body. Refuses bodies over [`MAX_XML_BYTES`] before reading them.
pub fn parse_xml(body: &[u8]) -> Result<XmlFields, XmlError> {
    if body.len() > MAX_XML_BYTES {
        return Err(XmlError::TooLarge);
    }
    let s = std::str::from_utf8(body).map_err(|_| XmlError::Malformed("不是UTF-8"))?;
    let s = s.strip_prefix('\u{feff}').unwrap_or(s);
    let mut r = Reader { s, pos: 0 };
    r.skip_ws();
    if r.eat("<?xml") {
        let end = r.rest().find("?>").ok_or(XmlError::Malformed("声明"))?;
        r.pos += end + 2;
        r.skip_ws();
    }
    let root = r.open_tag()?;
    if root != "xml" {
        return Err(XmlError::Malformed("根元素应为 xml"));
    }
    let mut fields = BTreeMap::new();
    read_children(&mut r, "xml", "", 1, &mut fields)?;
    r.skip_ws();
    if !r.rest().is_empty() {
        return Err(XmlError::Malformed("根元素后有多余内容"));
    }
    Ok(XmlFields(fields))
}

/// Reads the children of `parent` up to and including its closing tag.
fn read_children(
    r: &mut Reader<'_>,
    parent: &str,
    prefix: &str,
    depth: usize,
    fields: &mut BTreeMap<String, String>,
) -> Result<(), XmlError> {
    loop {
        let leading = r.text()?;
        if !leading.trim().is_empty() {
            return Err(XmlError::Malformed("元素之间不允许文本"));
        }
        if r.rest().starts_with("</") {
            return r.close_tag(parent);
        }
        let name = r.open_tag()?;
        let key = if prefix.is_empty() { name.to_owned() } else { format!("{prefix}.{name}") };
        let value = r.text()?;
        if r.rest().starts_with("</") {
            r.close_tag(name)?;
            if fields.len() >= MAX_FIELDS {
                return Err(XmlError::Malformed("字段过多"));
            }
            if fields.insert(key, value).is_some() {
                return Err(XmlError::Malformed("字段重复"));
            }
        } else {
            if depth >= MAX_DEPTH || !value.trim().is_empty() {
                return Err(XmlError::Malformed("嵌套过深"));
            }
            read_children(r, name, &key, depth + 1, fields)?;
        }
    }
}

/// Wraps a value as CDATA, splitting any `]]>` inside it so the reply stays well formed.
pub(crate) fn cdata(value: &str) -> String {
    format!("<![CDATA[{}]]>", value.replace("]]>", "]]]]><![CDATA[>"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const TEXT: &str = "<xml><ToUserName><![CDATA[gh_123]]></ToUserName>\n<FromUserName><![CDATA[oUser]]></FromUserName>\n<CreateTime>1700000000</CreateTime>\n<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA[查询 <b>&amp;]]></Content>\n<MsgId>1234567890123456</MsgId>\n</xml>";

    #[test]
    fn a_text_message_is_read_field_by_field() {
        let f = parse_xml(TEXT.as_bytes()).unwrap();
        assert_eq!(f.get("Content"), Some("查询 <b>&amp;"));
        assert_eq!(f.get("MsgId"), Some("1234567890123456"));
        assert_eq!(f.len(), 6);
    }

    #[test]
    fn entities_and_nesting_are_read() {
        let f = parse_xml(
            "<?xml version=\"1.0\"?><xml><A>a&lt;b&#x4e2d;&#25991;</A><Info><Count>1</Count></Info><Empty></Empty></xml>"
                .as_bytes(),
        )
        .unwrap();
        assert_eq!(f.get("A"), Some("a<b中文"));
        assert_eq!(f.get("Info.Count"), Some("1"));
        assert_eq!(f.get("Empty"), Some(""));
    }

    #[test]
    fn hostile_or_broken_bodies_are_refused() {
        for bad in [
            "",
            "<xml>",
            "<xml><A>1</B></xml>",
            "<xml><A>1</A>",
            "<xml><A>1</A></xml>trailing",
            "<!DOCTYPE xml [<!ENTITY x \"y\">]><xml><A>&x;</A></xml>",
            "<xml><A>&x;</A></xml>",
            "<xml><A b=\"1\">1</A></xml>",
            "<xml><!-- c --><A>1</A></xml>",
            "<xml><A>1</A><A>2</A></xml>",
            "<xml>text<A>1</A></xml>",
            "<root><A>1</A></root>",
            "<xml><A><![CDATA[open</A></xml>",
            "<xml><A><B><C><D>1</D></C></B></A></xml>",
            "<xml><A>&#0;</A></xml>",
        ] {
            assert!(parse_xml(bad.as_bytes()).is_err(), "{bad}");
        }
        assert_eq!(parse_xml(&vec![b' '; MAX_XML_BYTES + 1]), Err(XmlError::TooLarge));
        let many: String = (0..=MAX_FIELDS).map(|i| format!("<F{i}>1</F{i}>")).collect();
        assert!(parse_xml(format!("<xml>{many}</xml>").as_bytes()).is_err());
    }

    #[test]
    fn cdata_survives_its_own_terminator() {
        let xml = format!("<xml><A>{}</A></xml>", cdata("x]]>y"));
        assert_eq!(parse_xml(xml.as_bytes()).unwrap().get("A"), Some("x]]>y"));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(crate::wechat::fuzz_cases(20_000)))]

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = parse_xml(&bytes);
        }

        #[test]
        fn mutated_messages_never_panic(cut in 0usize..400, insert in "[<>/!\\[\\]&;#xCDATA ]{0,12}") {
            let mut s = TEXT.to_owned();
            let mut at = cut.min(s.len());
            while !s.is_char_boundary(at) { at -= 1; }
            s.insert_str(at, &insert);
            let _ = parse_xml(s.as_bytes());
            let _ = parse_xml(&s.as_bytes()[..at]);
        }

        #[test]
        fn any_value_round_trips_through_cdata(value in "\\PC{0,200}") {
            let xml = format!("<xml><A>{}</A></xml>", cdata(&value));
            let fields = parse_xml(xml.as_bytes()).unwrap();
            prop_assert_eq!(fields.get("A"), Some(value.as_str()));
        }
    }
}
