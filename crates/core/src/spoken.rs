//! 朗读 (read aloud): values turned into Chinese words that a speech synthesiser reads the way a
//! person would — 一千二百元整 rather than "1,200.00", 二〇二六年十二月六日 rather than a string of
//! digits, 身份证尾号一二三四 rather than stars. It never says more than its input shows: a masked
//! ID or phone is read from its visible tail only, and free text keeps its words, only its numbers
//! change form.

use jiff::civil::{Date, DateTime};

const DIGITS: [char; 10] = ['零', '一', '二', '三', '四', '五', '六', '七', '八', '九'];
/// Digits read one by one (years, codes, phone tails), where 〇 is the written form.
const DIGIT_BY_DIGIT: [char; 10] = ['〇', '一', '二', '三', '四', '五', '六', '七', '八', '九'];

/// A whole number in words: 0 → 零, 12 → 十二, 1005 → 一千零五, 100010 → 十万零一十.
pub fn integer(n: u64) -> String {
    let words = grouped(n);
    match words.strip_prefix("一十") {
        Some(rest) => format!("十{rest}"),
        None => words,
    }
}

/// [`integer`] without the spoken 一十 → 十 at the start, for the lower parts of a number.
fn grouped(n: u64) -> String {
    const WAN: u64 = 10_000;
    const YI: u64 = 100_000_000;
    let (high, unit, low, scale) = if n >= YI {
        (grouped(n / YI), '亿', n % YI, YI)
    } else if n >= WAN {
        (below_wan(n / WAN), '万', n % WAN, WAN)
    } else {
        return below_wan(n);
    };
    let mut out = high;
    out.push(unit);
    if low > 0 {
        // 一万零五, 一亿零五百万: a zero is said where the lower part does not fill its places.
        if low < scale / 10 {
            out.push('零');
        }
        out.push_str(&grouped(low));
    }
    out
}

/// 0–9999 in words, with one 零 for each run of inner zeros (一千零五, 一千零五十).
fn below_wan(n: u64) -> String {
    if n == 0 {
        return "零".to_owned();
    }
    let mut out = String::new();
    let mut zero = false;
    for (place, unit) in [(1000, "千"), (100, "百"), (10, "十"), (1, "")] {
        let digit = (n / place % 10) as usize;
        if digit == 0 {
            zero = !out.is_empty();
            continue;
        }
        if zero {
            out.push('零');
            zero = false;
        }
        out.push(DIGITS[digit]);
        out.push_str(unit);
    }
    out
}

/// An amount in fen as said aloud: 一千二百三十四元五角, 一千零五元整, 五角三分, 一元零五分, 零元,
/// 负一百元整.
pub fn amount(fen: i64) -> String {
    let words = amount_words(fen.unsigned_abs());
    let whole = fen % 100 == 0 && fen != 0;
    format!("{}{words}{}", if fen < 0 { "负" } else { "" }, if whole { "整" } else { "" })
}

/// An amount without the sign and without 整.
fn amount_words(fen: u64) -> String {
    let (yuan, jiao, fen) = (fen / 100, fen / 10 % 10, fen % 10);
    let mut out = String::new();
    if yuan > 0 || (jiao == 0 && fen == 0) {
        out.push_str(&integer(yuan));
        out.push('元');
    }
    if jiao > 0 {
        out.push(DIGITS[jiao as usize]);
        out.push('角');
    } else if fen > 0 && yuan > 0 {
        out.push('零');
    }
    if fen > 0 {
        out.push(DIGITS[fen as usize]);
        out.push('分');
    }
    out
}

/// Each ASCII digit of `text` as its word (〇 for zero); anything else is kept.
pub fn digits(text: &str) -> String {
    text.chars()
        .map(|c| c.to_digit(10).filter(|_| c.is_ascii_digit()).map_or(c, |d| DIGIT_BY_DIGIT[d as usize]))
        .collect()
}

/// A year read digit by digit: 2026 → 二〇二六年.
pub fn year(y: i64) -> String {
    format!("{}{}年", if y < 0 { "公元前" } else { "" }, digits(&y.unsigned_abs().to_string()))
}

/// A date: 二〇二六年十二月六日.
pub fn date(d: Date) -> String {
    format!(
        "{}{}月{}日",
        year(i64::from(d.year())),
        integer(d.month().unsigned_abs().into()),
        integer(d.day().unsigned_abs().into())
    )
}

/// A time of day: 十四点三十分, 八点零五分, 九点整.
fn clock(hour: u64, minute: u64) -> String {
    match minute {
        0 => format!("{}点整", integer(hour)),
        1..=9 => format!("{}点零{}分", integer(hour), integer(minute)),
        _ => format!("{}点{}分", integer(hour), integer(minute)),
    }
}

/// A date and time to the minute: 二〇二六年十二月六日十四点三十分.
pub fn date_time(t: DateTime) -> String {
    let (hour, minute) = (t.hour().unsigned_abs(), t.minute().unsigned_abs());
    format!("{}{}", date(t.date()), clock(hour.into(), minute.into()))
}

/// The digits after the last hidden character of a masked value (`620922********1234` → `1234`);
/// empty when nothing is hidden, so an unmasked value is never read.
fn visible_tail(masked: &str) -> &str {
    match masked.rfind(['*', '＊']) {
        Some(at) => masked[at..].trim_start_matches(['*', '＊']),
        None => "",
    }
}

/// A masked resident ID (as public pages show it) read by its tail: 身份证尾号一二三四.
/// The check character X is said as 叉. Without a hidden part, nothing of it is read.
pub fn masked_id(masked: &str) -> String {
    let tail = visible_tail(masked);
    if tail.is_empty() {
        return "身份证号已隐藏".to_owned();
    }
    format!("身份证尾号{}", digits(&tail.replace(['X', 'x'], "叉")))
}

/// A masked phone number read by its tail: 手机尾号五六七八.
pub fn masked_phone(masked: &str) -> String {
    let tail = visible_tail(masked);
    if tail.is_empty() {
        return "手机号已隐藏".to_owned();
    }
    format!("手机尾号{}", digits(tail))
}

/// A code such as a tracking number, letters and digits one by one: `BJ2025` → B J 二〇二五.
pub fn code(text: &str) -> String {
    let mut out = String::new();
    let mut previous_letter = false;
    for c in text.chars() {
        if c.is_ascii_alphabetic() {
            if previous_letter {
                out.push(' ');
            }
            out.push(c.to_ascii_uppercase());
            previous_letter = true;
        } else {
            if previous_letter {
                out.push(' ');
            }
            out.push_str(&digits(&c.to_string()));
            previous_letter = false;
        }
    }
    out
}

/// Free text with every number in it turned into words: amounts before 元 (600元 → 六百元),
/// dates (2025-10-09 → 二〇二五年十月九日) and times, years before 年 and year ranges, percentages,
/// numbers of seven digits or more (phones, codes) and numbers with a leading zero digit by digit, and other numbers as quantities
/// (第3行 → 第三行). A masked value is read by its tail (138****5678 → 尾号五六七八), never its
/// head. Full-width digits count as digits. Everything else is kept as written.
pub fn text(input: &str) -> String {
    let chars: Vec<char> = input.chars().map(half_width).collect();
    let mut out = String::with_capacity(input.len() * 2);
    let mut i = 0;
    while i < chars.len() {
        if is_star(chars[i]) {
            i = masked_at(&chars, i, &mut out);
        } else if !chars[i].is_ascii_digit() {
            out.push(chars[i]);
            i += 1;
        } else if let Some(stars) =
            chars[i..].iter().position(|&c| !c.is_ascii_digit()).filter(|&n| is_star(chars[i + n]))
        {
            // The shown head of a masked value (620922 of 620922********1234) is not read.
            i += stars;
        } else {
            i = number_at(&chars, i, &mut out);
        }
    }
    out
}

fn is_star(c: char) -> bool {
    matches!(c, '*' | '＊')
}

/// Stars at `start`: a masked value's tail after them is read as 尾号 and its digits; stars with no
/// digits after them are kept. Returns where the text goes on.
fn masked_at(chars: &[char], start: usize, out: &mut String) -> usize {
    let stars_end = chars[start..].iter().position(|&c| !is_star(c)).map_or(chars.len(), |n| start + n);
    let tail_end = chars[stars_end..]
        .iter()
        .position(|&c| !(c.is_ascii_digit() || c == 'X' || c == 'x'))
        .map_or(chars.len(), |n| stars_end + n);
    if tail_end == stars_end || !chars[stars_end].is_ascii_digit() {
        out.extend(&chars[start..stars_end]);
        return stars_end;
    }
    let tail: String = chars[stars_end..tail_end].iter().collect();
    out.push_str("尾号");
    out.push_str(&digits(&tail.replace(['X', 'x'], "叉")));
    tail_end
}

fn half_width(c: char) -> char {
    match c {
        '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32).unwrap_or(c),
        _ => c,
    }
}

/// The end of the run of ASCII digits starting at `i`.
fn run_end(chars: &[char], i: usize) -> usize {
    chars[i..].iter().position(|c| !c.is_ascii_digit()).map_or(chars.len(), |n| i + n)
}

fn value(chars: &[char]) -> u64 {
    chars.iter().fold(0u64, |n, c| n.saturating_mul(10).saturating_add(u64::from(c.to_digit(10).unwrap_or(0))))
}

/// Says the number starting at `start` into `out`; returns where the text goes on.
fn number_at(chars: &[char], start: usize, out: &mut String) -> usize {
    let end = run_end(chars, start);
    let run = &chars[start..end];
    let at = |i: usize| chars.get(i).copied();
    // A date, with a time after it: 2025-10-09 14:30.
    if let Some((d, next)) = date_at(chars, start) {
        out.push_str(&d);
        if at(next) == Some(' ')
            && let Some((t, after)) = time_at(chars, next + 1)
        {
            out.push_str(&t);
            return after;
        }
        return next;
    }
    if let Some((t, after)) = time_at(chars, start) {
        out.push_str(&t);
        return after;
    }
    // A year range: 2014–2018年.
    if run.len() == 4
        && matches!(at(end), Some('-' | '–' | '—' | '~' | '至'))
        && at(end + 1).is_some_and(|c| c.is_ascii_digit())
        && run_end(chars, end + 1) - (end + 1) == 4
    {
        let second = &chars[end + 1..end + 5];
        if at(end + 5) == Some('年') {
            out.push_str(&digits(&run.iter().collect::<String>()));
            out.push('至');
            out.push_str(&digits(&second.iter().collect::<String>()));
            return end + 5;
        }
    }
    if run.len() == 4 && at(end) == Some('年') {
        out.push_str(&digits(&run.iter().collect::<String>()));
        return end;
    }
    // A number with thousands separators and decimals: 1,234.50.
    let mut whole: String = run.iter().collect();
    let mut next = end;
    while at(next) == Some(',') && next + 4 <= chars.len() && run_end(chars, next + 1) == next + 4 {
        whole.extend(&chars[next + 1..next + 4]);
        next += 4;
    }
    let mut fraction = String::new();
    if at(next) == Some('.') && at(next + 1).is_some_and(|c| c.is_ascii_digit()) {
        let fraction_end = run_end(chars, next + 1);
        fraction = chars[next + 1..fraction_end].iter().collect();
        next = fraction_end;
    }
    let negative = start > 0
        && matches!(chars[start - 1], '-' | '−')
        && (start == 1 || !chars[start - 2].is_ascii_alphanumeric())
        && out.ends_with(['-', '−']);
    let mut unit_at = next;
    while at(unit_at) == Some(' ') {
        unit_at += 1;
    }
    if at(unit_at) == Some('元') && fraction.len() <= 2 && whole.len() <= 15 {
        let fen = value(&whole.chars().collect::<Vec<_>>()) * 100
            + value(&format!("{fraction:0<2}").chars().collect::<Vec<_>>());
        if negative {
            out.pop();
            out.push('负');
        }
        out.push_str(&amount_words(fen));
        return unit_at + 1;
    }
    if matches!(at(next), Some('%' | '％')) {
        out.push_str("百分之");
        out.push_str(&quantity(&whole, &fraction));
        return next + 1;
    }
    if (whole.len() > 6 && next == end) || (whole.len() > 1 && whole.starts_with('0')) {
        out.push_str(&digits(&whole));
        if !fraction.is_empty() {
            out.push('点');
            out.push_str(&digits(&fraction));
        }
        return next;
    }
    if negative {
        out.pop();
        out.push('负');
    }
    out.push_str(&quantity(&whole, &fraction));
    next
}

/// A quantity with an optional decimal part: 12.5 → 十二点五.
fn quantity(whole: &str, fraction: &str) -> String {
    let mut out = if whole.len() > 19 { digits(whole) } else { integer(whole.parse().unwrap_or(0)) };
    if !fraction.is_empty() {
        out.push('点');
        out.push_str(&digits(fraction));
    }
    out
}

/// A date written `2025-10-09` (or with `/` or `.`) at `start`, in words, and where it ends.
fn date_at(chars: &[char], start: usize) -> Option<(String, usize)> {
    let year_end = run_end(chars, start);
    let separator = *chars.get(year_end)?;
    if year_end - start != 4 || !matches!(separator, '-' | '/' | '.') {
        return None;
    }
    let month_end = run_end(chars, year_end + 1);
    if !(1..=2).contains(&(month_end - year_end - 1)) || chars.get(month_end) != Some(&separator) {
        return None;
    }
    let day_end = run_end(chars, month_end + 1);
    if !(1..=2).contains(&(day_end - month_end - 1)) {
        return None;
    }
    let year = i16::try_from(value(&chars[start..year_end])).ok()?;
    let month = i8::try_from(value(&chars[year_end + 1..month_end])).ok()?;
    let day = i8::try_from(value(&chars[month_end + 1..day_end])).ok()?;
    let d = Date::new(year, month, day).ok()?;
    Some((date(d), day_end))
}

/// A time written `14:30` at `start`, in words, and where it ends.
fn time_at(chars: &[char], start: usize) -> Option<(String, usize)> {
    let hour_end = run_end(chars, start);
    if !(1..=2).contains(&(hour_end - start)) || !matches!(chars.get(hour_end), Some(':' | '：')) {
        return None;
    }
    let minute_end = run_end(chars, hour_end + 1);
    if minute_end - hour_end - 1 != 2 {
        return None;
    }
    let (hour, minute) = (value(&chars[start..hour_end]), value(&chars[hour_end + 1..minute_end]));
    (hour < 24 && minute < 60).then(|| (clock(hour, minute), minute_end))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date as civil_date;
    use proptest::prelude::*;

    #[test]
    fn whole_numbers_follow_the_spoken_zero_rules() {
        let cases = [
            (0, "零"),
            (7, "七"),
            (10, "十"),
            (12, "十二"),
            (20, "二十"),
            (110, "一百一十"),
            (1005, "一千零五"),
            (1050, "一千零五十"),
            (1200, "一千二百"),
            (10_005, "一万零五"),
            (100_010, "十万零一十"),
            (1_000_000, "一百万"),
            (100_000_000, "一亿"),
            (105_000_000, "一亿零五百万"),
            (110_000_000, "一亿一千万"),
            (1_000_100_000_000, "一万零一亿"),
        ];
        for (n, words) in cases {
            assert_eq!(integer(n), words, "{n}");
        }
    }

    #[test]
    fn amounts_are_read_in_yuan_jiao_and_fen() {
        let cases = [
            (123_450, "一千二百三十四元五角"),
            (120_000, "一千二百元整"),
            (100_500, "一千零五元整"),
            (100_505, "一千零五元零五分"),
            (100_550, "一千零五元五角"),
            (53, "五角三分"),
            (3, "三分"),
            (50, "五角"),
            (105, "一元零五分"),
            (0, "零元"),
            (-10_000, "负一百元整"),
            (-5, "负五分"),
            (1_000_000_000_000, "一百亿元整"),
        ];
        for (fen, words) in cases {
            assert_eq!(amount(fen), words, "{fen}");
        }
    }

    #[test]
    fn dates_and_times_are_read_as_words() {
        assert_eq!(date(civil_date(2026, 12, 6)), "二〇二六年十二月六日");
        assert_eq!(date(civil_date(2025, 10, 10)), "二〇二五年十月十日");
        assert_eq!(date_time(civil_date(2025, 1, 9).at(14, 30, 0, 0)), "二〇二五年一月九日十四点三十分");
        assert_eq!(date_time(civil_date(2025, 1, 9).at(8, 5, 0, 0)), "二〇二五年一月九日八点零五分");
        assert_eq!(date_time(civil_date(2025, 1, 9).at(9, 0, 0, 0)), "二〇二五年一月九日九点整");
        assert_eq!(year(2014), "二〇一四年");
    }

    #[test]
    fn a_masked_id_is_read_by_its_visible_tail_only() {
        assert_eq!(masked_id("620922********1234"), "身份证尾号一二三四");
        assert_eq!(masked_id("620922********123X"), "身份证尾号一二三叉");
        assert_eq!(masked_id("620922198001011234"), "身份证号已隐藏");
        assert_eq!(masked_phone("138****5678"), "手机尾号五六七八");
        assert_eq!(masked_phone(""), "手机号已隐藏");
    }

    #[test]
    fn a_tracking_number_is_read_character_by_character() {
        assert_eq!(code("BJ20251009"), "B J 二〇二五一〇〇九");
        assert_eq!(code("ly7"), "L Y 七");
    }

    #[test]
    fn numbers_in_free_text_become_words() {
        let cases = [
            ("第3行，3组", "第三行，三组"),
            ("每亩600元", "每亩六百元"),
            ("合计 1,234.50 元", "合计 一千二百三十四元五角"),
            ("结余-1,200.00元", "结余负一千二百元"),
            ("2025年度", "二〇二五年度"),
            ("2014–2018年未见发放", "二〇一四至二〇一八年未见发放"),
            ("提交时间：2025-10-09 14:30", "提交时间：二〇二五年十月九日十四点三十分"),
            ("发放日期：2025/1/9", "发放日期：二〇二五年一月九日"),
            ("15个工作日", "十五个工作日"),
            ("监督电话0937-5522001", "监督电话〇九三七-五五二二〇〇一"),
            ("编号20251009123456", "编号二〇二五一〇〇九一二三四五六"),
            ("完成80%", "完成百分之八十"),
            ("面积12.5亩", "面积十二点五亩"),
            ("满８０岁", "满八十岁"),
            ("访问16717次", "访问一万六千七百一十七次"),
            ("没有数字", "没有数字"),
            ("张三 620922********123X", "张三 尾号一二三叉"),
            ("电话138****5678。", "电话尾号五六七八。"),
            ("***", "***"),
        ];
        for (input, spoken) in cases {
            assert_eq!(text(input), spoken, "{input}");
        }
    }

    /// An independent reader of Chinese numerals, for the round trips below.
    fn parse_integer(words: &str) -> Option<u64> {
        let (mut total, mut section, mut digit) = (0u64, 0u64, 0u64);
        for c in words.chars() {
            match c {
                '零' => digit = 0,
                '十' | '百' | '千' => {
                    let unit = match c {
                        '十' => 10,
                        '百' => 100,
                        _ => 1000,
                    };
                    let times = if digit == 0 && c == '十' && section == 0 && total == 0 { 1 } else { digit };
                    section += times * unit;
                    digit = 0;
                }
                '万' => {
                    section = (section + digit) * 10_000;
                    digit = 0;
                }
                '亿' => {
                    total = (total + section + digit) * 100_000_000;
                    section = 0;
                    digit = 0;
                }
                _ => digit = DIGITS.iter().position(|&d| d == c)? as u64,
            }
        }
        Some(total + section + digit)
    }

    /// Reads an amount said by [`amount`] back into fen.
    fn parse_amount(words: &str) -> Option<i64> {
        let (sign, rest) = match words.strip_prefix('负') {
            Some(rest) => (-1, rest),
            None => (1, words),
        };
        let rest = rest.strip_suffix('整').unwrap_or(rest);
        let (yuan, rest) = match rest.split_once('元') {
            Some((yuan, rest)) => (parse_integer(yuan)?, rest),
            None => (0, rest),
        };
        let rest = rest.strip_prefix('零').unwrap_or(rest);
        let (jiao, rest) = match rest.split_once('角') {
            Some((j, rest)) => (parse_integer(j)?, rest),
            None => (0, rest),
        };
        let fen = match rest.strip_suffix('分') {
            Some(f) => parse_integer(f)?,
            None if rest.is_empty() => 0,
            None => return None,
        };
        let total = i64::try_from(yuan * 100 + jiao * 10 + fen).ok()?;
        Some(sign * total)
    }

    fn only_words(s: &str, allowed: &str) -> bool {
        s.chars().all(|c| allowed.contains(c))
    }

    proptest! {
        #[test]
        fn every_amount_is_chinese_words_that_read_back(fen in -1_000_000_000_000i64..=1_000_000_000_000) {
            let words = amount(fen);
            prop_assert!(only_words(&words, "零一二三四五六七八九十百千万亿元角分整负"), "{}", words);
            prop_assert_eq!(parse_amount(&words), Some(fen));
        }

        #[test]
        fn every_whole_number_reads_back(n in 0u64..10_000_000_000_000_000) {
            prop_assert_eq!(parse_integer(&integer(n)), Some(n));
        }

        #[test]
        fn a_masked_id_says_only_the_four_digits_the_page_shows(id in "[1-9][0-9]{16}[0-9X]") {
            let masked = format!("{}********{}", &id[..6], &id[14..]);
            let spoken = masked_id(&masked);
            prop_assert_eq!(spoken, format!("身份证尾号{}", digits(&id[14..].replace('X', "叉"))));
        }

        #[test]
        fn free_text_never_keeps_a_digit(s in "[0-9０-９,.:%* X年元-]{0,30}") {
            let spoken = text(&s);
            prop_assert!(!spoken.chars().any(|c| c.is_ascii_digit() || ('０'..='９').contains(&c)), "{} → {}", s, spoken);
        }

        #[test]
        fn a_masked_value_in_free_text_never_says_its_head(head in "[0-9]{3,6}", tail in "[0-9]{4}") {
            let spoken = text(&format!("李四 {head}****{tail}，"));
            prop_assert_eq!(spoken, format!("李四 尾号{}，", digits(&tail)));
        }

        #[test]
        fn every_date_is_words(days in 0i32..60_000) {
            let d = civil_date(1970, 1, 1).checked_add(jiff::Span::new().days(days)).unwrap();
            let spoken = date(d);
            prop_assert!(only_words(&spoken, "〇零一二三四五六七八九十年月日"), "{}", spoken);
        }
    }
}
