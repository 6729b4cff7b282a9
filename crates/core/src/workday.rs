//! The working-day calendar (工作日): Chinese public holidays and make-up working days (调休), and
//! deadlines counted in working days on it. Service cases and the message box share this one
//! calculator.
//!
//! A day not listed in the calendar follows the ordinary rule: Monday to Friday are working days,
//! Saturday and Sunday are not. The day a time limit starts from is never counted (期限开始之日不计算
//! 在内): a limit of N working days ends at the close of the N-th working day after it.

use std::collections::BTreeMap;

use jiff::ToSpan;
use jiff::civil::{Date, Weekday};
use thiserror::Error;

/// What a listed day is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DayKind {
    /// 法定节假日 (weekend days inside a break included).
    Holiday,
    /// 调休上班: a weekend day that is a working day.
    Workday,
}

impl DayKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Holiday => "holiday",
            Self::Workday => "workday",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "holiday" | "休" | "假日" | "节假日" => Some(Self::Holiday),
            "workday" | "班" | "上班" | "调休上班" => Some(Self::Workday),
            _ => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Holiday => "节假日",
            Self::Workday => "调休上班",
        }
    }
}

crate::stored_code!(DayKind);

/// One listed day of the calendar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecialDay {
    pub date: Date,
    pub kind: DayKind,
    /// The festival, e.g. 国庆节, or 调休上班（国庆节）.
    pub name: String,
}

/// A calendar line that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CalendarError {
    #[error("第 {line} 行：日期“{value}”无法识别，请写成 2026-10-01")]
    BadDate { line: usize, value: String },
    #[error("第 {line} 行：类型“{value}”无法识别，请写 holiday（节假日）或 workday（调休上班）")]
    BadKind { line: usize, value: String },
    #[error("第 {line} 行：缺少名称")]
    MissingName { line: usize },
    #[error("第 {line} 行：{date} 重复出现")]
    Duplicate { line: usize, date: Date },
}

/// Reads `date,kind,name` lines (a header line is allowed). Every error is reported, by line.
pub fn parse_csv(text: &str) -> Result<Vec<SpecialDay>, Vec<CalendarError>> {
    let mut days = Vec::new();
    let mut errors = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let raw = raw.trim().trim_start_matches('\u{feff}');
        if raw.is_empty() || (i == 0 && raw.starts_with("date")) {
            continue;
        }
        let mut cells = raw.splitn(3, [',', '，']).map(str::trim);
        let date_text = cells.next().unwrap_or_default();
        let kind_text = cells.next().unwrap_or_default();
        let name = cells.next().unwrap_or_default();
        let Ok(date) = date_text.parse::<Date>() else {
            errors.push(CalendarError::BadDate { line, value: date_text.to_string() });
            continue;
        };
        let Some(kind) = DayKind::parse(kind_text) else {
            errors.push(CalendarError::BadKind { line, value: kind_text.to_string() });
            continue;
        };
        if name.is_empty() {
            errors.push(CalendarError::MissingName { line });
            continue;
        }
        if !seen.insert(date) {
            errors.push(CalendarError::Duplicate { line, date });
            continue;
        }
        days.push(SpecialDay { date, kind, name: name.to_string() });
    }
    if errors.is_empty() { Ok(days) } else { Err(errors) }
}

/// Why a day was not counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkipReason {
    Weekend,
    Holiday(String),
}

/// A day the count passed over, or a weekend day it counted because it was a make-up working day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarNote {
    pub date: Date,
    /// `None` for a counted make-up working day.
    pub skipped: Option<SkipReason>,
    pub name: String,
}

/// A deadline counted in working days, with how it was computed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkingDeadline {
    pub start: Date,
    pub working_days: u32,
    /// The last working day: the deadline is the end of this day.
    pub due: Date,
    /// Holidays and weekends skipped, and make-up working days counted, in date order.
    pub notes: Vec<CalendarNote>,
    /// Years the count passed through for which no holiday list has been entered.
    pub uncovered_years: Vec<i16>,
}

impl WorkingDeadline {
    /// The named holidays skipped, each once with its dates, for display:
    /// `[("国庆节", [2025-10-01, …])]`.
    pub fn holidays_skipped(&self) -> Vec<(String, Vec<Date>)> {
        let mut out: Vec<(String, Vec<Date>)> = Vec::new();
        for note in &self.notes {
            if let Some(SkipReason::Holiday(name)) = &note.skipped {
                match out.last_mut() {
                    Some((last, dates)) if last == name => dates.push(note.date),
                    _ => out.push((name.clone(), vec![note.date])),
                }
            }
        }
        out
    }

    pub fn weekend_days_skipped(&self) -> usize {
        self.notes.iter().filter(|n| n.skipped == Some(SkipReason::Weekend)).count()
    }

    pub fn makeup_days_counted(&self) -> Vec<Date> {
        self.notes.iter().filter(|n| n.skipped.is_none()).map(|n| n.date).collect()
    }
}

/// The calendar: listed days by date. Years are "covered" when at least one day of theirs is listed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkCalendar {
    days: BTreeMap<Date, (DayKind, String)>,
}

/// The longest limit counted, so that a typo cannot make the count run for years.
pub const MAX_WORKING_DAYS: u32 = 366;

impl WorkCalendar {
    pub fn new(days: impl IntoIterator<Item = SpecialDay>) -> Self {
        Self { days: days.into_iter().map(|d| (d.date, (d.kind, d.name))).collect() }
    }

    pub fn is_covered(&self, year: i16) -> bool {
        let (Ok(first), Ok(last)) = (Date::new(year, 1, 1), Date::new(year, 12, 31)) else {
            return false;
        };
        self.days.range(first..=last).next().is_some()
    }

    /// Whether `date` is a working day.
    pub fn is_working_day(&self, date: Date) -> bool {
        match self.days.get(&date) {
            Some((DayKind::Holiday, _)) => false,
            Some((DayKind::Workday, _)) => true,
            None => !is_weekend(date),
        }
    }

    /// The deadline `n` working days after `start` (which itself is not counted). `n` is capped at
    /// [`MAX_WORKING_DAYS`]; a limit of 0 working days is due on `start`.
    pub fn add_working_days(&self, start: Date, n: u32) -> WorkingDeadline {
        let n = n.min(MAX_WORKING_DAYS);
        let mut notes = Vec::new();
        let mut uncovered = Vec::new();
        let mut day = start;
        let mut counted = 0;
        while counted < n {
            let Ok(next) = day.checked_add(1.day()) else { break };
            day = next;
            if !self.is_covered(day.year()) && !uncovered.contains(&day.year()) {
                uncovered.push(day.year());
            }
            match self.days.get(&day) {
                Some((DayKind::Holiday, name)) => notes.push(CalendarNote {
                    date: day,
                    skipped: Some(SkipReason::Holiday(name.clone())),
                    name: name.clone(),
                }),
                Some((DayKind::Workday, name)) => {
                    counted += 1;
                    if is_weekend(day) {
                        notes.push(CalendarNote { date: day, skipped: None, name: name.clone() });
                    }
                }
                None if is_weekend(day) => {
                    notes.push(CalendarNote { date: day, skipped: Some(SkipReason::Weekend), name: "周末".into() })
                }
                None => counted += 1,
            }
        }
        WorkingDeadline { start, working_days: n, due: day, notes, uncovered_years: uncovered }
    }

    /// The listed days of one year, in date order.
    pub fn year(&self, year: i16) -> Vec<SpecialDay> {
        let (Ok(first), Ok(last)) = (Date::new(year, 1, 1), Date::new(year, 12, 31)) else {
            return Vec::new();
        };
        self.days
            .range(first..=last)
            .map(|(date, (kind, name))| SpecialDay { date: *date, kind: *kind, name: name.clone() })
            .collect()
    }
}

fn is_weekend(date: Date) -> bool {
    matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;
    use proptest::prelude::*;

    /// 2025 National Day + Mid-Autumn: 10-01..10-08 off, 09-28 (Sun) and 10-11 (Sat) worked.
    fn calendar_2025() -> WorkCalendar {
        let csv = "date,kind,name\n\
            2025-09-28,workday,调休上班（国庆节、中秋节）\n\
            2025-10-01,holiday,国庆节、中秋节\n2025-10-02,holiday,国庆节、中秋节\n\
            2025-10-03,holiday,国庆节、中秋节\n2025-10-04,holiday,国庆节、中秋节\n\
            2025-10-05,holiday,国庆节、中秋节\n2025-10-06,holiday,国庆节、中秋节\n\
            2025-10-07,holiday,国庆节、中秋节\n2025-10-08,holiday,国庆节、中秋节\n\
            2025-10-11,workday,调休上班（国庆节、中秋节）\n";
        WorkCalendar::new(parse_csv(csv).expect("valid"))
    }

    #[test]
    fn the_national_day_break_is_skipped_and_the_makeup_saturday_counted() {
        let cal = calendar_2025();
        // Submitted Tuesday 30 September; 3 working days: 10-09 (Thu), 10-10 (Fri), 10-11 (Sat, 调休).
        let d = cal.add_working_days(date(2025, 9, 30), 3);
        assert_eq!(d.due, date(2025, 10, 11));
        let holidays = d.holidays_skipped();
        assert_eq!(holidays.len(), 1);
        assert_eq!(holidays[0].0, "国庆节、中秋节");
        assert_eq!(holidays[0].1.len(), 8);
        assert_eq!(d.makeup_days_counted(), vec![date(2025, 10, 11)]);
        assert_eq!(d.weekend_days_skipped(), 0);
        assert!(d.uncovered_years.is_empty());
    }

    #[test]
    fn a_makeup_sunday_before_the_break_counts() {
        let cal = calendar_2025();
        // Friday 26 September + 1 working day = Sunday 28 September (调休上班).
        assert_eq!(cal.add_working_days(date(2025, 9, 26), 1).due, date(2025, 9, 28));
        // Saturday 27 September is skipped as an ordinary weekend day.
        let d = cal.add_working_days(date(2025, 9, 26), 2);
        assert_eq!(d.due, date(2025, 9, 29));
        assert_eq!(d.weekend_days_skipped(), 1);
    }

    #[test]
    fn ordinary_weeks_skip_weekends() {
        let cal = calendar_2025();
        // Friday 2025-06-06 + 5 working days = Friday 06-13.
        let d = cal.add_working_days(date(2025, 6, 6), 5);
        assert_eq!(d.due, date(2025, 6, 13));
        assert_eq!(d.weekend_days_skipped(), 2);
        assert!(!cal.is_working_day(date(2025, 6, 7)));
        assert!(cal.is_working_day(date(2025, 10, 11)));
        assert!(!cal.is_working_day(date(2025, 10, 6)));
    }

    #[test]
    fn years_without_a_holiday_list_are_reported() {
        let cal = calendar_2025();
        let d = cal.add_working_days(date(2025, 12, 29), 5);
        assert_eq!(d.uncovered_years, vec![2026]);
        assert_eq!(d.due, date(2026, 1, 5));
    }

    #[test]
    fn zero_days_is_due_on_the_start() {
        let d = calendar_2025().add_working_days(date(2025, 10, 3), 0);
        assert_eq!(d.due, date(2025, 10, 3));
        assert!(d.notes.is_empty());
    }

    #[test]
    fn bad_lines_are_reported_by_line() {
        let errors = parse_csv("date,kind,name\n2025-13-01,holiday,x\n2025-10-01,rest,x\n2025-10-02,holiday,\n")
            .expect_err("invalid");
        assert_eq!(errors.len(), 3);
        assert_eq!(errors[0], CalendarError::BadDate { line: 2, value: "2025-13-01".into() });
        assert!(errors[1].to_string().contains("第 3 行"));
        assert_eq!(errors[2], CalendarError::MissingName { line: 4 });
        let dup = parse_csv("2025-10-01,holiday,a\n2025-10-01,workday,b\n").expect_err("duplicate");
        assert_eq!(dup, vec![CalendarError::Duplicate { line: 2, date: date(2025, 10, 1) }]);
    }

    fn arb_calendar() -> impl Strategy<Value = WorkCalendar> {
        proptest::collection::vec((0i32..800, any::<bool>()), 0..80).prop_map(|days| {
            WorkCalendar::new(days.into_iter().filter_map(|(offset, holiday)| {
                let date = date(2025, 1, 1).checked_add(offset.days()).ok()?;
                Some(SpecialDay {
                    date,
                    kind: if holiday { DayKind::Holiday } else { DayKind::Workday },
                    name: "x".into(),
                })
            }))
        })
    }

    proptest! {
        #[test]
        fn the_due_day_is_the_nth_working_day(cal in arb_calendar(), start in 0i32..700, n in 1u32..60) {
            let start = date(2025, 1, 1).checked_add(start.days()).expect("in range");
            let d = cal.add_working_days(start, n);
            prop_assert!(cal.is_working_day(d.due));
            prop_assert!(d.due > start);
            let mut count = 0;
            let mut day = start;
            while day < d.due {
                day = day.checked_add(1.day()).expect("in range");
                if cal.is_working_day(day) { count += 1; }
            }
            prop_assert_eq!(count, n);
            for note in &d.notes {
                prop_assert_eq!(note.skipped.is_some(), !cal.is_working_day(note.date));
            }
        }

        #[test]
        fn more_days_never_end_sooner(cal in arb_calendar(), start in 0i32..700, n in 0u32..40) {
            let start = date(2025, 1, 1).checked_add(start.days()).expect("in range");
            prop_assert!(cal.add_working_days(start, n).due < cal.add_working_days(start, n + 1).due);
        }

        #[test]
        fn parsing_never_panics(text in "\\PC{0,200}") {
            let _ = parse_csv(&text);
        }
    }
}
