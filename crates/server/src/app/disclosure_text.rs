//! A disclosure's text on a page: its Markdown body rendered to HTML that cannot run anything,
//! and the line-by-line difference between two versions' Markdown sources. Raw HTML in the
//! source is shown as text, never interpreted; the rendered HTML is then sanitised again, so no
//! script, event handler, frame or `javascript:` link can reach a villager's browser.

use std::collections::HashSet;

use pulldown_cmark::{Event, Options, Parser, html};
use similar::{ChangeTag, TextDiff};

/// Renders clerk-written Markdown to safe HTML.
pub fn render_markdown(source: &str) -> String {
    let parser =
        Parser::new_ext(source, Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH).map(|event| match event {
            // Inline or block HTML becomes visible text: a notice board shows what was written.
            Event::Html(text) | Event::InlineHtml(text) => Event::Text(text),
            other => other,
        });
    let mut unsafe_html = String::with_capacity(source.len() * 2);
    html::push_html(&mut unsafe_html, parser);
    sanitizer().clean(&unsafe_html).to_string()
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
