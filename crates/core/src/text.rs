//! Normalisation of text typed by people or pasted from spreadsheets: full-width digits and
//! letters, stray spaces. Used by every parser so that `６２０９２２` and `620922` are the same.

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
    normalize(input).chars().filter(|c| !c.is_whitespace()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
