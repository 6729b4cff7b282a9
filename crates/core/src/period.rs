//! A roster's period (批次) as a value: a year, a kind (年度, 季度, 月 or 补发) and a number, read
//! from the many ways clerks write it (`2025年3月`, `2025年03月`, `2025-03`, `三月份`,
//! `2025年第一季度`, `1季度`, `2025Q1`, `2024年度（补发）`, `第二次补发`…). Two rosters are of
//! the same period exactly when their periods are equal, whatever the spelling; the text a clerk
//! typed is kept for display.
//!
//! A text that names none of the four kinds unambiguously (上半年, `3月补发`, anything else) is
//! [`RosterPeriod::Unread`]: it keeps its text, is flagged on the staff pages, and is compared as
//! written (after removing spaces and full-width forms), as before periods were structured.

use jiff::civil::Date;

/// What a period is counted in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PeriodKind {
    /// 年度: the whole year (number 1).
    Annual,
    /// 季度: number 1–4.
    Quarter,
    /// 月: number 1–12.
    Month,
    /// 补发: a supplementary payment for the year, numbered 第N次 (1 when not numbered).
    Supplement,
}

impl PeriodKind {
    pub const ALL: [Self; 4] = [Self::Annual, Self::Quarter, Self::Month, Self::Supplement];

    /// The stable code stored with a roster.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Annual => "annual",
            Self::Quarter => "quarter",
            Self::Month => "month",
            Self::Supplement => "supplement",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Annual => "年度",
            Self::Quarter => "季度",
            Self::Month => "月",
            Self::Supplement => "补发",
        }
    }

    /// The numbers a period of this kind may carry.
    fn numbers(self) -> std::ops::RangeInclusive<u8> {
        match self {
            Self::Annual => 1..=1,
            Self::Quarter => 1..=4,
            Self::Month => 1..=12,
            Self::Supplement => 1..=99,
        }
    }
}

/// What a roster's stored period says: the kind read from its text, or that no kind could be
/// read (上半年, 3月补发…), which the staff list shows as 批次未识别.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PeriodReading {
    Read(PeriodKind),
    Unread,
}

impl PeriodReading {
    /// The stored code: the kind's, or `unread`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read(kind) => kind.as_str(),
            Self::Unread => "unread",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        if s == "unread" { Some(Self::Unread) } else { PeriodKind::parse(s).map(Self::Read) }
    }
}

crate::stored_code!(PeriodKind, PeriodReading);

/// A structured period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Period {
    year: i16,
    kind: PeriodKind,
    number: u8,
}

impl Period {
    /// A period, if the number fits the kind and the year is 1990–2100.
    pub fn new(year: i16, kind: PeriodKind, number: u8) -> Option<Self> {
        ((1990..=2100).contains(&year) && kind.numbers().contains(&number)).then_some(Self { year, kind, number })
    }

    pub fn year(self) -> i16 {
        self.year
    }

    pub fn kind(self) -> PeriodKind {
        self.kind
    }

    pub fn number(self) -> u8 {
        self.number
    }

    /// Reads a clerk's spelling. `year` is the roster's year, used when the text names none; a
    /// year the text names wins.
    pub fn parse(text: &str, year: i16) -> Option<Self> {
        let text = clean(text);
        let (named_year, rest) = split_year(&text);
        let year = named_year.unwrap_or(year);
        let (kind, number) = read_rest(rest)?;
        Self::new(year, kind, number)
    }

    /// The one spelling shown for it: 2025年度, 2025年第一季度, 2025年3月, 2025年补发, 2025年第2次补发.
    pub fn label(self) -> String {
        let y = self.year;
        match self.kind {
            PeriodKind::Annual => format!("{y}年度"),
            PeriodKind::Quarter => {
                format!("{y}年第{}季度", ["一", "二", "三", "四"][usize::from(self.number.clamp(1, 4) - 1)])
            }
            PeriodKind::Month => format!("{y}年{}月", self.number),
            PeriodKind::Supplement if self.number == 1 => format!("{y}年补发"),
            PeriodKind::Supplement => format!("{y}年第{}次补发", self.number),
        }
    }

    /// The first and last day paid for (a supplement covers its year).
    pub fn bounds(self) -> (Date, Date) {
        let (first, months) = match self.kind {
            PeriodKind::Annual | PeriodKind::Supplement => (1, 12),
            PeriodKind::Quarter => (i8::try_from(self.number).unwrap_or(1) * 3 - 2, 3),
            PeriodKind::Month => (i8::try_from(self.number).unwrap_or(1), 1),
        };
        month_span(self.year, first, months)
    }

    /// The comparison key stored with a roster: `2025-Y1`, `2025-Q1`, `2025-M03`, `2025-S1`.
    pub fn key(self) -> String {
        let letter = match self.kind {
            PeriodKind::Annual => 'Y',
            PeriodKind::Quarter => 'Q',
            PeriodKind::Month => 'M',
            PeriodKind::Supplement => 'S',
        };
        format!("{:04}-{letter}{:02}", self.year, self.number)
    }
}

/// Why a new roster's period text is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeriodError {
    #[error("“{0}”无法识别，请写成 {1}年度、{1}年第一季度、{1}年3月或{1}年补发")]
    Unread(String, i16),
    #[error("“{text}”是{named}年的批次，与所选年度{year}年不一致")]
    OtherYear { text: String, named: i16, year: i16 },
}

/// The period of a new roster of `year`, as the import form and `xiaowei roster import` take
/// it: it must read as one of the four kinds, in that year. (Rosters stored before periods were
/// structured may be [`RosterPeriod::Unread`]; new ones never are.)
pub fn for_new_roster(year: i16, text: &str) -> Result<Period, PeriodError> {
    let period = Period::parse(text, year).ok_or_else(|| PeriodError::Unread(text.trim().to_owned(), year))?;
    if period.year() != year {
        return Err(PeriodError::OtherYear { text: text.trim().to_owned(), named: period.year(), year });
    }
    Ok(period)
}

/// A roster's period: structured, or text that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RosterPeriod {
    Known(Period),
    /// Kept as typed; compared by its cleaned text within its roster year.
    Unread {
        year: i16,
        text: String,
    },
}

impl RosterPeriod {
    /// Reads a roster's period text with its year.
    pub fn read(year: i64, text: &str) -> Self {
        let year = i16::try_from(year).unwrap_or(0);
        match Period::parse(text, year) {
            Some(p) => Self::Known(p),
            None => Self::Unread { year, text: clean(text) },
        }
    }

    pub fn known(&self) -> Option<Period> {
        match self {
            Self::Known(p) => Some(*p),
            Self::Unread { .. } => None,
        }
    }

    /// The key two rosters of the same period share (see [`Period::key`]); an unread period's
    /// key is its year and cleaned text.
    pub fn key(&self) -> String {
        match self {
            Self::Known(p) => p.key(),
            Self::Unread { year, text } => format!("{year:04}-?{text}"),
        }
    }

    /// The first and last day paid for. An unread text still names 上半年 / 下半年 or a month or
    /// quarter often enough to be worth reading for the dates; otherwise the whole year.
    pub fn bounds(&self) -> (Date, Date) {
        match self {
            Self::Known(p) => p.bounds(),
            Self::Unread { year, text } => {
                if text.contains("上半年") {
                    month_span(*year, 1, 6)
                } else if text.contains("下半年") {
                    month_span(*year, 7, 6)
                } else {
                    month_span(*year, 1, 12)
                }
            }
        }
    }
}

fn month_span(year: i16, first: i8, months: i8) -> (Date, Date) {
    let start = Date::new(year, first, 1).unwrap_or(Date::constant(1900, 1, 1));
    let end = start
        .checked_add(jiff::Span::new().months(months))
        .and_then(|d| d.checked_sub(jiff::Span::new().days(1)))
        .unwrap_or(start);
    (start, end)
}

/// Half-width, no spaces, no brackets or 份.
fn clean(text: &str) -> String {
    crate::text::compact(text)
        .chars()
        .filter(|c| !matches!(c, '(' | ')' | '（' | '）' | '[' | ']' | '【' | '】' | '份' | ' '))
        .collect()
}

/// A year at the start (`2025`, `二〇二五`, `二零二五`) and what follows it, with one separator
/// (`年`, `-`, `/`, `.`) removed.
fn split_year(text: &str) -> (Option<i16>, &str) {
    let chars: Vec<(usize, char)> = text.char_indices().take(4).collect();
    if chars.len() < 4 {
        return (None, text);
    }
    let digits: Option<String> = chars.iter().map(|(_, c)| year_digit(*c)).collect();
    let Some(year) = digits.and_then(|d| d.parse::<i16>().ok()) else { return (None, text) };
    let end = chars[3].0 + chars[3].1.len_utf8();
    let rest = &text[end..];
    if rest.starts_with(|c: char| c.is_ascii_digit()) {
        return (None, text);
    }
    let rest = rest.strip_prefix(['年', '-', '/', '.']).unwrap_or(rest);
    (Some(year), rest)
}

fn year_digit(c: char) -> Option<char> {
    match c {
        '0'..='9' => Some(c),
        '〇' | '零' | 'O' | 'o' => Some('0'),
        _ => small_number(&c.to_string()).filter(|n| *n <= 9).and_then(|n| char::from_digit(u32::from(n), 10)),
    }
}

/// 1–99 in ASCII digits (leading zeros allowed) or Chinese numerals (一…九十九, 两).
fn small_number(text: &str) -> Option<u8> {
    if text.is_empty() {
        return None;
    }
    if text.chars().all(|c| c.is_ascii_digit()) {
        return text.parse::<u8>().ok().filter(|n| (1..=99).contains(n));
    }
    let digit = |c: char| -> Option<u8> {
        Some(match c {
            '一' => 1,
            '二' | '两' => 2,
            '三' => 3,
            '四' => 4,
            '五' => 5,
            '六' => 6,
            '七' => 7,
            '八' => 8,
            '九' => 9,
            _ => return None,
        })
    };
    let chars: Vec<char> = text.chars().collect();
    match chars.as_slice() {
        ['十'] => Some(10),
        [c] => digit(*c),
        ['十', u] => Some(10 + digit(*u)?),
        [t, '十'] => Some(digit(*t)? * 10),
        [t, '十', u] => Some(digit(*t)? * 10 + digit(*u)?),
        _ => None,
    }
}

/// The kind and number from what follows the year.
fn read_rest(rest: &str) -> Option<(PeriodKind, u8)> {
    let rest = rest.trim_start_matches(['-', '/', '.']);
    if matches!(rest, "" | "年" | "度" | "年度" | "全年" | "整年") {
        return Some((PeriodKind::Annual, 1));
    }
    if rest.contains("补发") {
        // A supplement naming a month or quarter is not one of the four kinds.
        if rest.contains('月') || rest.contains('季') {
            return None;
        }
        let mut left = rest.replacen("补发", "", 1);
        let mut number = 1;
        if let Some(start) = left.find('第') {
            let after = &left[start + '第'.len_utf8()..];
            let end = after.find(['次', '批'])?;
            number = small_number(&after[..end])?;
            left = format!("{}{}", &left[..start], &after[end + '次'.len_utf8()..]);
        }
        return matches!(left.as_str(), "" | "年" | "年度" | "度").then_some((PeriodKind::Supplement, number));
    }
    let rest = rest.strip_prefix('度').unwrap_or(rest);
    let rest = rest.strip_prefix('第').unwrap_or(rest);
    if let Some(q) = rest.strip_prefix(['Q', 'q']) {
        return Some((PeriodKind::Quarter, small_number(q).filter(|n| *n <= 4)?));
    }
    for suffix in ["季度", "季"] {
        if let Some(n) = rest.strip_suffix(suffix) {
            return Some((PeriodKind::Quarter, small_number(n).filter(|n| *n <= 4)?));
        }
    }
    let month = rest.strip_suffix('月').unwrap_or(rest);
    Some((PeriodKind::Month, small_number(month).filter(|n| *n <= 12)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn p(year: i16, kind: PeriodKind, number: u8) -> Period {
        Period::new(year, kind, number).unwrap()
    }

    #[test]
    fn clerks_spellings_of_one_month_are_one_period() {
        let march = p(2025, PeriodKind::Month, 3);
        for text in [
            "2025年3月",
            "2025年03月",
            "2025-03",
            "2025.3",
            "2025/03",
            "２０２５年３月",
            "2025年3月份",
            "3月",
            "三月",
            "03",
        ] {
            assert_eq!(Period::parse(text, 2025), Some(march), "{text}");
        }
        assert_eq!(Period::parse("十二月", 2024), Some(p(2024, PeriodKind::Month, 12)));
        assert_eq!(
            Period::parse("二〇二五年十一月", 2024),
            Some(p(2025, PeriodKind::Month, 11)),
            "the text's year wins"
        );
    }

    #[test]
    fn quarters_years_and_supplements() {
        let q1 = p(2025, PeriodKind::Quarter, 1);
        for text in [
            "2025年第一季度",
            "2025年一季度",
            "2025年1季度",
            "第1季度",
            "2025Q1",
            "2025-Q1",
            "一季",
            "（第一季度）",
            "2025年度第一季度",
        ] {
            assert_eq!(Period::parse(text, 2025), Some(q1), "{text}");
        }
        for text in ["2025年度", "2025年", "2025", "", "年度", "全年"] {
            assert_eq!(Period::parse(text, 2025), Some(p(2025, PeriodKind::Annual, 1)), "{text}");
        }
        for text in ["2024年度（补发）", "2024年补发", "补发", "2024年第一次补发"] {
            assert_eq!(Period::parse(text, 2024), Some(p(2024, PeriodKind::Supplement, 1)), "{text}");
        }
        assert_eq!(Period::parse("2024年第二批补发", 2024), Some(p(2024, PeriodKind::Supplement, 2)));
    }

    #[test]
    fn ambiguous_texts_stay_unread_and_keep_their_text() {
        for text in ["2025年上半年", "2025年3月补发", "第五季度", "13月", "2025年3月至6月", "春耕", "20251"]
        {
            assert_eq!(Period::parse(text, 2025), None, "{text}");
        }
        let unread = RosterPeriod::read(2025, "2025年 上半年");
        assert_eq!(unread, RosterPeriod::Unread { year: 2025, text: "2025年上半年".into() });
        assert_eq!(unread.key(), RosterPeriod::read(2025, "2025年上半年").key(), "spaces do not matter");
        assert_eq!(unread.bounds().1, jiff::civil::date(2025, 6, 30));
    }

    #[test]
    fn a_new_roster_needs_a_readable_period_of_its_year() {
        assert_eq!(for_new_roster(2025, "2025年03月"), Ok(p(2025, PeriodKind::Month, 3)));
        assert_eq!(for_new_roster(2025, "上半年"), Err(PeriodError::Unread("上半年".into(), 2025)));
        assert!(matches!(for_new_roster(2025, "2024年3月"), Err(PeriodError::OtherYear { named: 2024, .. })));
    }

    #[test]
    fn bounds_and_labels() {
        assert_eq!(
            p(2024, PeriodKind::Month, 2).bounds(),
            (jiff::civil::date(2024, 2, 1), jiff::civil::date(2024, 2, 29))
        );
        assert_eq!(p(2025, PeriodKind::Quarter, 4).bounds().0, jiff::civil::date(2025, 10, 1));
        assert_eq!(p(2025, PeriodKind::Quarter, 3).label(), "2025年第三季度");
        assert_eq!(p(2025, PeriodKind::Supplement, 2).label(), "2025年第2次补发");
        assert_eq!(p(2025, PeriodKind::Month, 3).key(), "2025-M03");
    }

    fn any_period() -> impl Strategy<Value = Period> {
        (1990i16..=2100, prop::sample::select(PeriodKind::ALL.to_vec()), 1u8..=99)
            .prop_filter_map("number fits the kind", |(y, k, n)| Period::new(y, k, ((n - 1) % *k.numbers().end()) + 1))
    }

    proptest! {
        #[test]
        fn a_label_reads_back_as_its_period(period in any_period(), roster_year in 1990i16..=2100) {
            prop_assert_eq!(Period::parse(&period.label(), roster_year), Some(period));
        }

        #[test]
        fn padding_and_full_width_do_not_change_a_month(year in 1990i16..=2100, month in 1u8..=12) {
            let plain = Period::parse(&format!("{year}年{month}月"), year);
            let padded = Period::parse(&format!("{year}年{month:02}月"), year);
            let wide: String = format!("{year}年{month:02}月")
                .chars()
                .map(|c| if c.is_ascii_digit() { char::from_u32(c as u32 + 0xFEE0).unwrap_or(c) } else { c })
                .collect();
            prop_assert_eq!(plain, Some(Period::new(year, PeriodKind::Month, month).unwrap()));
            prop_assert_eq!(padded, plain);
            prop_assert_eq!(Period::parse(&wide, year), plain);
        }

        #[test]
        fn equal_keys_mean_equal_periods(a in any_period(), b in any_period()) {
            prop_assert_eq!(a.key() == b.key(), a == b);
        }

        #[test]
        fn any_text_reads_without_panicking(text in "\\PC{0,16}", year in 0i64..3000) {
            let read = RosterPeriod::read(year, &text);
            let (start, end) = read.bounds();
            prop_assert!(start <= end);
        }
    }
}
