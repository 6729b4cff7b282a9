//! A disclosure's text on a page: its Markdown body rendered to HTML that cannot run anything,
//! as plain paragraphs for reading aloud, and the line-by-line difference between two versions'
//! Markdown sources. Raw HTML in the
//! source is shown as text, never interpreted; the rendered HTML is then sanitised again, so no
//! script, event handler, frame or `javascript:` link can reach a villager's browser.

use std::collections::HashSet;

use pulldown_cmark::{CowStr, Event, Options, Parser, Tag, TagEnd, html};
use similar::{ChangeTag, TextDiff};

/// Renders clerk-written Markdown to safe HTML. Phone numbers in running text (a 监督电话, a
/// cadre's mobile) become tap-to-call links, since most readers are on a phone.
pub fn render_markdown(source: &str) -> String {
    let mut in_link_or_code = false;
    let parser = Parser::new_ext(source, Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH).flat_map(|event| {
        match event {
            // Inline or block HTML becomes visible text: a notice board shows what was written.
            Event::Html(text) | Event::InlineHtml(text) => vec![Event::Text(text)],
            Event::Start(Tag::Link { .. } | Tag::CodeBlock(_)) => {
                in_link_or_code = true;
                vec![event]
            }
            Event::End(TagEnd::Link | TagEnd::CodeBlock) => {
                in_link_or_code = false;
                vec![event]
            }
            Event::Text(text) if !in_link_or_code => with_phone_links(&text),
            other => vec![other],
        }
    });
    let mut unsafe_html = String::with_capacity(source.len() * 2);
    html::push_html(&mut unsafe_html, parser);
    sanitizer().clean(&unsafe_html).to_string()
}

/// The words of clerk-written Markdown as plain paragraphs for reading aloud: one per paragraph,
/// heading, list item, table row or code block, table cells joined by a pause, markup dropped.
pub fn plain_paragraphs(source: &str) -> Vec<String> {
    let mut paragraphs = Vec::new();
    let mut current = String::new();
    let mut flush = |current: &mut String| {
        let text = current.trim();
        if !text.is_empty() {
            paragraphs.push(text.to_owned());
        }
        current.clear();
    };
    for event in Parser::new_ext(source, Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH) {
        match event {
            Event::Text(text) | Event::Code(text) | Event::Html(text) | Event::InlineHtml(text) => {
                current.push_str(&text);
            }
            Event::SoftBreak | Event::HardBreak => current.push(' '),
            Event::End(TagEnd::TableCell) => current.push('，'),
            Event::End(
                TagEnd::Paragraph
                | TagEnd::Heading(_)
                | TagEnd::Item
                | TagEnd::TableHead
                | TagEnd::TableRow
                | TagEnd::CodeBlock
                | TagEnd::BlockQuote(_),
            ) => {
                let trimmed = current.trim_end_matches('，').len();
                current.truncate(trimmed);
                flush(&mut current);
            }
            _ => {}
        }
    }
    flush(&mut current);
    paragraphs
}

/// Splits text around the phone numbers in it, each number becoming a `tel:` link. The link's
/// markup holds only digits and a hyphen, so nothing the clerk wrote is ever emitted as HTML.
fn with_phone_links(text: &str) -> Vec<Event<'static>> {
    let mut events = Vec::new();
    let mut rest = 0;
    for (start, end) in phone_spans(text) {
        if start > rest {
            events.push(Event::Text(CowStr::from(text[rest..start].to_owned())));
        }
        let number = &text[start..end];
        events.push(Event::InlineHtml(CowStr::from(format!("<a href=\"tel:{number}\">{number}</a>"))));
        rest = end;
    }
    if rest < text.len() {
        events.push(Event::Text(CowStr::from(text[rest..].to_owned())));
    }
    events
}

/// Byte ranges of mainland phone numbers: a mobile (11 digits from 13–19) or a landline with its
/// area code and a hyphen (`0937-5521234`), not part of a longer run of digits.
fn phone_spans(text: &str) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let digits_from = |i: usize| bytes[i..].iter().take_while(|b| b.is_ascii_digit()).count();
    let mut spans = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() || (i > 0 && bytes[i - 1].is_ascii_digit()) {
            i += 1;
            continue;
        }
        let run = digits_from(i);
        let mobile = run == 11 && bytes[i] == b'1' && (b'3'..=b'9').contains(&bytes[i + 1]);
        let landline = (3..=4).contains(&run)
            && bytes[i] == b'0'
            && bytes.get(i + run) == Some(&b'-')
            && (7..=8).contains(&digits_from(i + run + 1))
            && !bytes.get(i + run + 1 + digits_from(i + run + 1)).is_some_and(|b| b.is_ascii_digit() || *b == b'-');
        if mobile {
            spans.push((i, i + run));
        } else if landline {
            let end = i + run + 1 + digits_from(i + run + 1);
            spans.push((i, end));
            i = end;
            continue;
        }
        i += run;
    }
    spans
}

/// Headings, paragraphs, lists, tables, emphasis and web links only: no images (they would load
/// from anywhere), no frames, no forms, no styles, no event handlers.
fn sanitizer() -> ammonia::Builder<'static> {
    let tags: HashSet<&'static str> = [
        "a",
        "blockquote",
        "br",
        "code",
        "del",
        "em",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
        "li",
        "ol",
        "p",
        "pre",
        "strong",
        "table",
        "tbody",
        "td",
        "th",
        "thead",
        "tr",
        "ul",
    ]
    .into_iter()
    .collect();
    let schemes: HashSet<&'static str> = ["http", "https", "mailto", "tel"].into_iter().collect();
    let mut builder = ammonia::Builder::default();
    builder
        .tags(tags)
        .url_schemes(schemes)
        .link_rel(Some("noopener noreferrer nofollow"))
        .url_relative(ammonia::UrlRelative::PassThrough);
    builder
}

/// What happened to one line between two versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineChange {
    Same,
    Added,
    Removed,
}

/// One line of a version-to-version difference, with a text marker so that it reads without colour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffLine {
    pub change: LineChange,
    pub text: String,
}

impl DiffLine {
    /// `＋` or `－` (or a space) before the line.
    pub fn marker(&self) -> &'static str {
        match self.change {
            LineChange::Same => " ",
            LineChange::Added => "＋",
            LineChange::Removed => "－",
        }
    }

    /// Spoken and printed label of a change (none for an unchanged line).
    pub fn label(&self) -> &'static str {
        match self.change {
            LineChange::Same => "",
            LineChange::Added => "新增",
            LineChange::Removed => "删除",
        }
    }

    pub fn class(&self) -> &'static str {
        match self.change {
            LineChange::Same => "same",
            LineChange::Added => "added",
            LineChange::Removed => "removed",
        }
    }
}

/// A group of changed lines with up to two unchanged lines of context on each side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffHunk {
    pub lines: Vec<DiffLine>,
}

/// The line-based difference between an older and a newer Markdown source.
pub fn line_diff(old: &str, new: &str) -> Vec<DiffHunk> {
    let diff = TextDiff::from_lines(old, new);
    diff.grouped_ops(2)
        .iter()
        .map(|group| DiffHunk {
            lines: group
                .iter()
                .flat_map(|op| diff.iter_changes(op))
                .map(|change| DiffLine {
                    change: match change.tag() {
                        ChangeTag::Equal => LineChange::Same,
                        ChangeTag::Insert => LineChange::Added,
                        ChangeTag::Delete => LineChange::Removed,
                    },
                    text: change.value().trim_end_matches(['\n', '\r']).to_owned(),
                })
                .collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_numbers_in_text_become_tap_to_call_links() {
        let html = render_markdown("**监督电话**：0937-5521234，村主任 13909371234。");
        assert!(
            html.contains("<a href=\"tel:0937-5521234\" rel=\"noopener noreferrer nofollow\">0937-5521234</a>"),
            "{html}"
        );
        assert!(html.contains("<a href=\"tel:13909371234\""), "{html}");
    }

    #[test]
    fn only_whole_phone_numbers_are_linked() {
        for text in
            ["金额 139093712345 元", "编号 620922100200", "2025-07-03", "0937-552123456", "[电话](tel:0937-5521234)"]
        {
            let html = render_markdown(text);
            assert_eq!(html.matches("<a ").count(), usize::from(text.starts_with('[')), "{text}: {html}");
        }
        assert_eq!(phone_spans("拨打0937-5521234或13909371234"), [(6, 18), (21, 32)]);
    }

    #[test]
    fn markdown_keeps_its_structure() {
        let html = render_markdown("## 收支情况\n\n- 收入 **5万元**\n- 支出\n\n[政策](https://example.cn/a)");
        assert!(html.contains("<h2>收支情况</h2>"), "{html}");
        assert!(html.contains("<strong>5万元</strong>"), "{html}");
        assert!(html.contains("href=\"https://example.cn/a\""), "{html}");
        assert!(html.contains("rel=\"noopener noreferrer nofollow\""), "{html}");
    }

    #[test]
    fn hostile_markup_is_rendered_inert() {
        for hostile in [
            "<script>alert(1)</script>",
            "<img src=x onerror=alert(1)>",
            "[点我](javascript:alert(1))",
            "<iframe src=\"https://evil.example\"></iframe>",
            "<a href=\"javascript:alert(1)\" onclick=\"alert(1)\">x</a>",
            "[x](JaVaScRiPt:alert(1))",
            "![x](https://evil.example/t.png)",
            "<div style=\"background:url(javascript:alert(1))\">x</div>",
        ] {
            let html = render_markdown(hostile).to_lowercase();
            // Escaped text never opens a tag, so every '<' starts real markup.
            for tag in html.split('<').skip(1).filter_map(|rest| rest.split_once('>').map(|(tag, _)| tag)) {
                let name = tag.split([' ', '/']).next().unwrap_or_default();
                assert!(!["script", "img", "iframe", "div"].contains(&name), "{hostile} rendered as {html}");
                assert!(!tag.contains("javascript:") && !tag.contains("style="), "{hostile} rendered as {html}");
                assert!(!tag.split_whitespace().any(|a| a.starts_with("on")), "{hostile} rendered as {html}");
            }
        }
        assert!(render_markdown("<script>alert(1)</script>").contains("&lt;script&gt;"));
    }

    #[test]
    fn the_diff_marks_added_and_removed_lines() {
        let hunks = line_diff("甲\n乙\n丙\n丁\n戊\n己\n庚\n", "甲\n乙\n丙（改）\n丁\n戊\n己\n庚\n新增行\n");
        let lines: Vec<(&str, &str)> =
            hunks.iter().flat_map(|h| h.lines.iter().map(|l| (l.marker(), l.text.as_str()))).collect();
        assert_eq!(
            lines,
            [
                (" ", "甲"),
                (" ", "乙"),
                ("－", "丙"),
                ("＋", "丙（改）"),
                (" ", "丁"),
                (" ", "戊"),
                (" ", "己"),
                (" ", "庚"),
                ("＋", "新增行")
            ]
        );
        assert!(line_diff("同\n", "同\n").is_empty());
    }
}
