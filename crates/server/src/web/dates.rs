//! Dates and times as people here read them: stored UTC, shown in Asia/Shanghai (UTC+8 all year).

use jiff::civil::Date;

/// The calendar date in Asia/Shanghai of a UTC timestamp.
pub fn shanghai_date(unix_seconds: i64) -> Date {
    jiff::Timestamp::from_second(unix_seconds)
        .map(|t| t.to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::Offset::constant(8))).date())
        .unwrap_or(Date::MIN)
}

/// Parses `YYYY-MM-DD`.
pub fn parse_date(text: &str) -> Option<Date> {
    text.trim().parse().ok()
}

/// Shows a UTC timestamp in Asia/Shanghai (UTC+8 all year, no daylight saving since 1991).
pub fn shanghai_time(unix_seconds: i64) -> String {
    let offset = jiff::tz::Offset::constant(8);
    jiff::Timestamp::from_second(unix_seconds)
        .map(|t| t.to_zoned(jiff::tz::TimeZone::fixed(offset)).strftime("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn midnight_utc_is_eight_in_the_morning_in_shanghai() {
        assert_eq!(shanghai_time(0), "1970-01-01 08:00");
        assert_eq!(shanghai_time(1_767_196_800), "2026-01-01 00:00");
    }
}
