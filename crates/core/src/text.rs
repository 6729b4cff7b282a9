//! Normalisation of text typed by people or pasted from spreadsheets: full-width digits and
//! letters, stray spaces. Used by every parser so that `６２０９２２` and `620922` are the same.
//! Also the free-text types ([`FreeText`], [`SingleLine`]) that refuse control characters at
//! the edge: PostgreSQL cannot store a NUL byte and no person types one, so none gets further.

/// `first` and `next` as two sentences: a 。 between them unless `first` already ends a sentence
/// (so a villager's 「太慢了。」 followed by a system note never shows 「。。」). An empty part is left out.
pub fn join_sentences(first: &str, next: &str) -> String {
    let first = first.trim_end();
    let next = next.trim().trim_start_matches('。').trim_start();
    if next.is_empty() {
        return first.to_owned();
    }
    if first.is_empty() {
        return next.to_owned();
    }
    let ended = first.ends_with(['。', '！', '？', '!', '?', '…', '.']);
    if ended { format!("{first}{next}") } else { format!("{first}。{next}") }
}

/// Converts full-width ASCII (U+FF01..U+FF5E) to half-width, the ideographic space to a space,
/// and trims surrounding white space.
pub fn normalize(input: &str) -> String {
    input
        .chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            other => other,
        })
        .collect::<String>()
        .trim()
        .to_owned()
}

/// Like [`normalize`], and also removes every inner white space character.
pub fn compact(input: &str) -> String {
    // Printable ASCII without spaces (an ID number, an amount) is already compact: most cells of
    // a 100,000-row roster take this way.
    if input.bytes().all(|b| b.is_ascii_graphic()) {
        return input.to_owned();
    }
    normalize(input).chars().filter(|c| !c.is_whitespace()).collect()
}

/// Hides the key of every keyed link (`…?k=<key>` or `…&k=<key>`) in `text`, for the log: a
/// keyed case link opens the case without the phone number.
pub fn redact_link_keys(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("k=") {
        let keyed = at > 0 && matches!(rest.as_bytes()[at - 1], b'?' | b'&');
        out.push_str(&rest[..at + 2]);
        rest = &rest[at + 2..];
        if keyed {
            let end =
                rest.find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '%'))).unwrap_or(rest.len());
            if end > 0 {
                out.push_str("***");
            }
            rest = &rest[end..];
        }
    }
    out.push_str(rest);
    out
}

/// Why typed text was refused. The caller names the field (`内容：含有不允许的控制字符`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("含有不允许的控制字符，请删除后重新填写")]
    ControlCharacter,
    #[error("不能超过{0}个字")]
    TooLong(usize),
}

/// Whether `c` may appear in text a person typed: no C0 control character and no DEL, except
/// the line breaks and tabs of a multi-line box when `multiline` is set.
pub fn is_allowed_char(c: char, multiline: bool) -> bool {
    match c {
        '\n' | '\r' | '\t' => multiline,
        '\u{0}'..='\u{1F}' | '\u{7F}' => false,
        _ => true,
    }
}

/// Whether `text` holds a character that [`is_allowed_char`] refuses.
pub fn has_control(text: &str, multiline: bool) -> bool {
    text.chars().any(|c| !is_allowed_char(c, multiline))
}

/// Multi-line text from a text box (a message, a reason, a reply): trimmed, at most a given
/// number of characters, no control character but line breaks and tabs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FreeText(String);

impl FreeText {
    pub fn parse(input: &str, max_chars: usize) -> Result<Self, TextError> {
        checked(input, max_chars, true).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// One line of text (a name, a title, a code): trimmed, at most a given number of characters,
/// no control character at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SingleLine(String);

impl SingleLine {
    pub fn parse(input: &str, max_chars: usize) -> Result<Self, TextError> {
        checked(input, max_chars, false).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

fn checked(input: &str, max_chars: usize, multiline: bool) -> Result<String, TextError> {
    if has_control(input, multiline) {
        return Err(TextError::ControlCharacter);
    }
    let text = input.trim();
    if text.chars().count() > max_chars {
        return Err(TextError::TooLong(max_chars));
    }
    Ok(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn sentences_join_with_one_full_stop() {
        assert_eq!(join_sentences("评价：不满意", "太慢了。"), "评价：不满意。太慢了。");
        assert_eq!(join_sentences("评价：不满意。太慢了。", "办件重新办理"), "评价：不满意。太慢了。办件重新办理");
        assert_eq!(join_sentences("评价：不满意。太慢了", "办件重新办理"), "评价：不满意。太慢了。办件重新办理");
        assert_eq!(join_sentences("评价：满意", ""), "评价：满意");
        assert_eq!(join_sentences("", "办件重新办理"), "办件重新办理");
    }

    #[test]
    fn control_characters_are_refused_by_kind_of_field() {
        let cases: &[(&str, bool, bool)] = &[
            // input, accepted as free text, accepted as a single line
            ("村里的路灯坏了", true, true),
            ("第一行\n第二行\r\n\t第三行", true, false),
            ("张\u{0}三", false, false),
            ("\u{0}", false, false),
            ("响铃\u{7}", false, false),
            ("退格\u{8}", false, false),
            ("转义\u{1B}[31m", false, false),
            ("删除\u{7F}", false, false),
            ("全角　空格与emoji🙂", true, true),
        ];
        for (input, free, single) in cases {
            assert_eq!(FreeText::parse(input, 100).is_ok(), *free, "free text {input:?}");
            assert_eq!(SingleLine::parse(input, 100).is_ok(), *single, "single line {input:?}");
        }
    }

    #[test]
    fn keyed_links_lose_their_key_and_nothing_else() {
        assert_eq!(
            redact_link_keys("查看进度：https://xw.example.cn/cases/BJ20251009123456?k=3fa9c0d1e2 谢谢"),
            "查看进度：https://xw.example.cn/cases/BJ20251009123456?k=*** 谢谢"
        );
        assert_eq!(redact_link_keys("/m/LY1?a=1&k=abc&b=2"), "/m/LY1?a=1&k=***&b=2");
        assert_eq!(redact_link_keys("bank=1 work=2"), "bank=1 work=2");
        assert_eq!(redact_link_keys(""), "");
    }

    #[test]
    fn a_nul_byte_is_a_control_character_error() {
        assert_eq!(SingleLine::parse("a\u{0}b", 10), Err(TextError::ControlCharacter));
        assert_eq!(TextError::ControlCharacter.to_string(), "含有不允许的控制字符，请删除后重新填写");
    }

    #[test]
    fn text_is_trimmed_and_counted_in_characters() {
        assert_eq!(SingleLine::parse("  张三 ", 2).map(SingleLine::into_string), Ok("张三".to_owned()));
        assert_eq!(FreeText::parse("一二三", 2), Err(TextError::TooLong(2)));
    }

    proptest! {
        #[test]
        fn joined_sentences_never_double_a_full_stop(a in "\\PC{0,12}", b in "\\PC{0,12}") {
            let joined = join_sentences(&a, &b);
            prop_assert!(!joined.contains("。。") || a.contains("。。") || b.contains("。。"));
        }

        #[test]
        fn text_with_a_control_character_is_always_refused(input in "\\PC{0,20}[\\x00-\\x1f\\x7f]?\\PC{0,20}") {
            let bad_for_box = input.chars().any(|c| (c < ' ' && !matches!(c, '\n' | '\r' | '\t')) || c == '\u{7F}');
            let bad_for_line = input.chars().any(|c| c < ' ' || c == '\u{7F}');
            prop_assert_eq!(FreeText::parse(&input, 100).is_err(), bad_for_box);
            prop_assert_eq!(SingleLine::parse(&input, 100).is_err(), bad_for_line);
        }

        #[test]
        fn text_without_controls_is_kept_as_typed(input in "[^\\x00-\\x1f\\x7f]{0,40}") {
            let line = SingleLine::parse(&input, 100);
            prop_assert_eq!(line.map(SingleLine::into_string), Ok(input.trim().to_owned()));
        }
    }

    #[test]
    fn full_width_digits_become_ascii() {
        assert_eq!(normalize("６２０９２２Ｘ"), "620922X");
    }

    #[test]
    fn ideographic_spaces_are_trimmed() {
        assert_eq!(normalize("\u{3000}张三 "), "张三");
    }

    #[test]
    fn compact_removes_inner_spaces() {
        assert_eq!(compact("620 922 1990"), "6209221990");
    }

    proptest! {
        #[test]
        fn the_ascii_shortcut_of_compact_changes_nothing(input in "[ -~\t\u{3000}\u{FF10}-\u{FF5A}张]{0,24}") {
            let slow: String = normalize(&input).chars().filter(|c| !c.is_whitespace()).collect();
            prop_assert_eq!(compact(&input), slow);
        }
    }
}
