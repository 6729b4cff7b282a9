//! 朗读 (read aloud): the text a public page prepares for listening, one sentence at a time, in
//! words (`xiaowei_core::spoken`). `templates/listen.html` writes it into a `<template>` beside
//! the 朗读本页 button and `static/listen.js` speaks it in zh-CN. Every sentence passes through
//! `spoken::text`, so no digit reaches the synthesiser and a masked value is read by its tail
//! alone; callers hand it only what the page itself shows.

use xiaowei_core::spoken;

use crate::web::form::FieldErrors;

/// The sentences a page reads aloud.
#[derive(Debug, Default, Clone)]
pub struct Listen {
    sentences: Vec<String>,
}

impl Listen {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a sentence, its numbers turned into words and a full stop added if it has no end mark;
    /// an empty sentence is skipped.
    pub fn say(&mut self, sentence: impl AsRef<str>) -> &mut Self {
        let mut words = spoken::text(sentence.as_ref().trim());
        if !words.is_empty() {
            if !words.ends_with(['。', '！', '？', '：']) {
                words.push('。');
            }
            self.sentences.push(words);
        }
        self
    }

    /// A form read aloud: what to fill in, what went wrong if it came back, then a hint.
    pub fn form(intro: &str, errors: &FieldErrors, hint: &str) -> Self {
        let mut listen = Self::new();
        listen.say(intro);
        for (_, message) in errors.items() {
            listen.say(message);
        }
        listen.say(hint);
        listen
    }

    pub fn sentences(&self) -> &[String] {
        &self.sentences
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_are_words_with_an_end_mark() {
        let mut listen = Listen::new();
        listen.say("共3人，合计1,200.00元").say("  ").say("公示期已结束。");
        assert_eq!(listen.sentences(), ["共三人，合计一千二百元。", "公示期已结束。"]);
    }
}
