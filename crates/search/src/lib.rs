//! Chinese full-text search: turning text into index terms and a query into match terms, the same
//! way for SQLite FTS5 and PostgreSQL full-text, and marking matches in result snippets.
//!
//! Chinese has no spaces, so text is segmented with jieba (plus a dictionary of the county's place
//! names, so 锁阳城镇 is one word) and, for recall, every pair of adjacent Chinese characters is
//! indexed too. A query word matches when all its character pairs are present: 锁阳城 finds
//! 锁阳城镇, and two-character words such as 低保 always match. Terms are joined by spaces, which
//! both engines' simple tokenisers split on. Pure: no database, no I/O.

use jieba_rs::Jieba;

/// Segments text for indexing and queries.
pub struct Segmenter {
    jieba: Jieba,
}

impl std::fmt::Debug for Segmenter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Segmenter")
    }
}

fn is_cjk(c: char) -> bool {
    matches!(c, '\u{3400}'..='\u{4DBF}' | '\u{4E00}'..='\u{9FFF}' | '\u{F900}'..='\u{FAFF}')
}

/// Keeps letters, digits and Chinese characters, lowercased; anything else ends a word.
fn clean(word: &str) -> String {
    word.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect()
}

/// The place-name stems a search should also find: 锁阳城镇 → 锁阳城, 南岔村委会 → 南岔.
pub fn place_stems(name: &str) -> Vec<String> {
    let mut out = vec![name.to_owned()];
    for suffix in ["村民委员会", "居民委员会", "村委会", "居委会", "社区", "镇", "乡", "村"] {
        if let Some(stem) = name.strip_suffix(suffix)
            && stem.chars().count() >= 2
        {
            out.push(stem.to_owned());
            break;
        }
    }
    out
}

impl Segmenter {
    /// A segmenter with jieba's dictionary plus `words` (place names and their stems, programme
    /// names…), each kept whole.
    pub fn new<'a>(words: impl IntoIterator<Item = &'a str>) -> Self {
        let mut jieba = Jieba::new();
        for word in words {
            for w in place_stems(word.trim()) {
                if w.chars().count() >= 2 {
                    jieba.add_word(&w, Some(100_000), None);
                }
            }
        }
        Self { jieba }
    }

    /// The words of `text`, fine-grained (long words also yield their dictionary sub-words).
    pub fn words(&self, text: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for w in self.jieba.cut_for_search(text, true) {
            let w = clean(w);
            if !w.is_empty() && !out.contains(&w) {
                out.push(w);
            }
        }
        out
    }

    /// Index terms for a text: its words and every pair of adjacent Chinese characters, space
    /// separated, ready for FTS5 (`unicode61`) or `to_tsvector('simple', …)`.
    pub fn index_terms(&self, text: &str) -> String {
        let mut terms = self.words(text);
        let mut seen: std::collections::HashSet<String> = terms.iter().cloned().collect();
        for pair in bigrams(text) {
            if seen.insert(pair.clone()) {
                terms.push(pair);
            }
        }
        terms.join(" ")
    }

    /// What a query must match: each run of Chinese characters in it must be present as all its
    /// character pairs (a single character as itself), and each run of letters or digits as a
    /// whole word. The runs are also what results highlight.
    pub fn query(&self, query: &str) -> Query {
        let query: String = query.chars().take(64).collect();
        let mut words: Vec<String> = Vec::new();
        let mut run = String::new();
        let mut run_is_cjk = false;
        for c in query.chars().chain(std::iter::once(' ')) {
            let keep = c.is_alphanumeric();
            if keep && !run.is_empty() && is_cjk(c) == run_is_cjk {
                run.extend(c.to_lowercase());
                continue;
            }
            let done = clean(&std::mem::take(&mut run));
            if !done.is_empty() && !words.contains(&done) {
                words.push(done);
            }
            if keep {
                run_is_cjk = is_cjk(c);
                run.extend(c.to_lowercase());
            }
        }
        let mut terms: Vec<String> = Vec::new();
        for w in &words {
            let chars: Vec<char> = w.chars().collect();
            let pairs: Vec<String> = if chars.len() >= 2 && chars.iter().all(|c| is_cjk(*c)) {
                chars.windows(2).map(|p| p.iter().collect()).collect()
            } else {
                vec![w.clone()]
            };
            for t in pairs {
                if !terms.contains(&t) {
                    terms.push(t);
                }
            }
        }
        // Whole words as jieba reads them rank a result higher; they never narrow the results.
        let boost = self.words(&query).into_iter().filter(|w| w.chars().count() >= 2 && !terms.contains(w)).collect();
        Query { words, terms, boost }
    }
}

/// Adjacent pairs of Chinese characters in each run of Chinese text.
fn bigrams(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut previous: Option<char> = None;
    for c in text.chars() {
        if is_cjk(c) {
            if let Some(p) = previous {
                out.push(format!("{p}{c}"));
            }
            previous = Some(c);
        } else {
            previous = None;
        }
    }
    out
}

/// A parsed query: the words to highlight, the terms every result must contain, and whole words
/// that rank a result higher when present.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Query {
    pub words: Vec<String>,
    pub terms: Vec<String>,
    pub boost: Vec<String>,
}

impl Query {
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// An FTS5 MATCH expression: every term, each quoted, and (for ranking) any boost word or
    /// the first term, which every result has anyway.
    pub fn fts5(&self) -> String {
        let quote = |t: &String| format!("\"{}\"", t.replace('"', ""));
        let mut parts: Vec<String> = self.terms.iter().map(quote).collect();
        if let Some(first) = self.terms.first().filter(|_| !self.boost.is_empty()) {
            let any: Vec<String> = self.boost.iter().chain(std::iter::once(first)).map(quote).collect();
            parts.push(format!("({})", any.join(" OR ")));
        }
        parts.join(" AND ")
    }

    /// A PostgreSQL `to_tsquery('simple', …)` expression with the same meaning as [`Query::fts5`].
    pub fn tsquery(&self) -> String {
        let quote = |t: &String| format!("'{}'", t.replace(['\'', '\\'], ""));
        let mut parts: Vec<String> = self.terms.iter().map(quote).collect();
        if let Some(first) = self.terms.first().filter(|_| !self.boost.is_empty()) {
            let any: Vec<String> = self.boost.iter().chain(std::iter::once(first)).map(quote).collect();
            parts.push(format!("({})", any.join(" | ")));
        }
        parts.join(" & ")
    }
}

/// A piece of a snippet: plain text or a match to emphasise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fragment {
    Text(String),
    Match(String),
}

/// Cuts a snippet of about `width` characters around the first match in `text` and splits it
/// into plain and matched fragments, for the template to emphasise without raw HTML.
pub fn highlight(text: &str, words: &[String], width: usize) -> Vec<Fragment> {
    let chars: Vec<char> = text.chars().collect();
    let lower: Vec<char> = chars.iter().map(|c| c.to_lowercase().next().unwrap_or(*c)).collect();
    let patterns: Vec<Vec<char>> = words.iter().filter(|w| !w.is_empty()).map(|w| w.chars().collect()).collect();
    let match_at =
        |i: usize| -> Option<usize> { patterns.iter().filter(|p| lower[i..].starts_with(p)).map(Vec::len).max() };
    let first = (0..chars.len()).find(|&i| match_at(i).is_some()).unwrap_or(0);
    let start = first.saturating_sub(width / 3);
    let end = (start + width).min(chars.len());
    let mut out = Vec::new();
    let mut plain = String::new();
    if start > 0 {
        plain.push('…');
    }
    let mut i = start;
    while i < end {
        match match_at(i) {
            Some(len) => {
                if !plain.is_empty() {
                    out.push(Fragment::Text(std::mem::take(&mut plain)));
                }
                let stop = (i + len).min(chars.len());
                out.push(Fragment::Match(chars[i..stop].iter().collect()));
                i = stop;
            }
            None => {
                plain.push(chars[i]);
                i += 1;
            }
        }
    }
    if end < chars.len() {
        plain.push('…');
    }
    if !plain.is_empty() {
        out.push(Fragment::Text(plain));
    }
    out
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn segmenter() -> Segmenter {
        Segmenter::new(["锁阳城镇", "南岔村委会", "广至藏族乡"])
    }

    /// Whether a text indexed by `s` satisfies the query (every term present).
    fn matches(s: &Segmenter, text: &str, query: &str) -> bool {
        let indexed: Vec<String> = s.index_terms(text).split(' ').map(str::to_owned).collect();
        let q = s.query(query);
        !q.is_empty() && q.terms.iter().all(|t| indexed.contains(t))
    }

    #[test]
    fn a_town_is_found_by_its_full_name_and_by_its_stem() {
        let s = segmenter();
        let text = "锁阳城镇2025年村道硬化工程招标公告";
        assert!(matches(&s, text, "锁阳城镇"));
        assert!(matches(&s, text, "锁阳城"));
        assert!(s.words(text).contains(&"锁阳城镇".to_owned()), "place names stay whole");
    }

    #[test]
    fn two_character_words_match() {
        let s = segmenter();
        assert!(matches(&s, "城乡居民低保申请初审", "低保"));
        assert!(matches(&s, "2025年第三季度低保金发放", "低保"));
        assert!(!matches(&s, "高龄补贴发放", "低保"));
    }

    #[test]
    fn every_query_word_must_match() {
        let s = segmenter();
        assert!(matches(&s, "南岔村村道硬化工程", "南岔 硬化"));
        assert!(!matches(&s, "南岔村村道硬化工程", "南岔 低保"));
        assert!(s.query("，。！").is_empty(), "punctuation alone is no query");
    }

    #[test]
    fn latin_words_and_numbers_match_whole() {
        let s = segmenter();
        assert!(matches(&s, "2025年 PDF 扫描件", "pdf"));
        assert!(matches(&s, "2025年 PDF 扫描件", "2025"));
    }

    #[test]
    fn queries_cannot_break_out_of_their_quotes() {
        let s = segmenter();
        let q = s.query("低保\" OR x 'y");
        assert!(!q.fts5().contains("\"\""));
        assert!(q.tsquery().matches('\'').count().is_multiple_of(2));
    }

    #[test]
    fn a_snippet_marks_each_match() {
        let frags = highlight("关于南岔村低保对象的公示", &["低保".to_owned()], 40);
        assert_eq!(
            frags,
            [Fragment::Text("关于南岔村".into()), Fragment::Match("低保".into()), Fragment::Text("对象的公示".into())]
        );
        let long = format!("{}低保{}", "甲".repeat(50), "乙".repeat(50));
        let frags = highlight(&long, &["低保".to_owned()], 20);
        assert!(matches!(frags.first(), Some(Fragment::Text(t)) if t.starts_with('…')));
        assert!(frags.contains(&Fragment::Match("低保".into())));
    }

    static PLAIN: std::sync::LazyLock<Segmenter> = std::sync::LazyLock::new(|| Segmenter::new([]));

    proptest! {
        #[test]
        fn any_chinese_substring_of_two_or_more_characters_is_found(
            text in "[\u{4e00}-\u{4e2f}]{2,30}",
            start in 0usize..30,
            len in 2usize..6,
        ) {
            let s = &*PLAIN;
            let chars: Vec<char> = text.chars().collect();
            let start = start % (chars.len() - 1);
            let end = (start + len).min(chars.len());
            prop_assume!(end - start >= 2);
            let needle: String = chars[start..end].iter().collect();
            prop_assert!(matches(s, &text, &needle), "{needle} not found in {text}");
        }

        #[test]
        fn highlighting_never_panics_and_keeps_the_text(text in ".{0,80}", word in ".{0,4}") {
            let frags = highlight(&text, &[word], 30);
            let joined: String = frags.iter().map(|f| match f { Fragment::Text(t) | Fragment::Match(t) => t.as_str() }).collect();
            prop_assert!(joined.replace('…', "").chars().count() <= text.chars().count());
        }
    }
}
