//! 远程监控平台 (monitor): the vocabulary of visit counting (menus, channels, Shanghai days) and
//! the arithmetic of the figures the county watches — rates with their sample sizes, trends,
//! average handling days and the weekly summary's week. Pure: callers pass `now`.

use jiff::civil::Date;

/// UTC+8, Asia/Shanghai (no daylight saving since 1991).
const SHANGHAI_OFFSET: i64 = 8 * 3600;
const DAY: i64 = 86_400;

/// Below this many cases a rate is shown but not ranked: a few cases say little about a township.
pub const MIN_RANKED_SAMPLE: i64 = 10;

/// The public menu a page view belongs to (民生监督's sub-menus plus the home pages).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Menu {
    /// 惠农资金
    Subsidies,
    /// 小微权力
    Powers,
    /// 公示公开
    Disclosures,
    /// 我要办事
    Services,
    /// 留言箱
    Messages,
    /// 自助查询
    SelfQuery,
    /// 村务 (a village's own page)
    Village,
    /// 首页 / 搜索
    Home,
}

impl Menu {
    pub const ALL: [Self; 8] = [
        Self::Subsidies,
        Self::Powers,
        Self::Disclosures,
        Self::Services,
        Self::Messages,
        Self::SelfQuery,
        Self::Village,
        Self::Home,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Subsidies => "subsidies",
            Self::Powers => "powers",
            Self::Disclosures => "disclosures",
            Self::Services => "services",
            Self::Messages => "messages",
            Self::SelfQuery => "self_query",
            Self::Village => "village",
            Self::Home => "home",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Subsidies => "惠农资金",
            Self::Powers => "小微权力",
            Self::Disclosures => "公示公开",
            Self::Services => "我要办事",
            Self::Messages => "留言箱",
            Self::SelfQuery => "自助查询",
            Self::Village => "村务",
            Self::Home => "首页/搜索",
        }
    }
}

/// How the visitor reached the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Channel {
    /// Inside WeChat's browser.
    Wechat,
    /// Any other browser.
    Browser,
    /// 触摸终端 in a service hall.
    Kiosk,
}

impl Channel {
    pub const ALL: [Self; 3] = [Self::Wechat, Self::Browser, Self::Kiosk];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Wechat => "wechat",
            Self::Browser => "browser",
            Self::Kiosk => "kiosk",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Wechat => "微信",
            Self::Browser => "浏览器",
            Self::Kiosk => "触摸终端",
        }
    }

    /// Classifies a request: a kiosk's device cookie wins, then WeChat's User-Agent mark.
    pub fn classify(has_kiosk_cookie: bool, user_agent: &str) -> Self {
        if has_kiosk_cookie {
            Self::Kiosk
        } else if user_agent.contains("MicroMessenger") {
            Self::Wechat
        } else {
            Self::Browser
        }
    }
}

/// The calendar day in Asia/Shanghai of a UTC instant.
pub fn shanghai_day(unix_seconds: i64) -> Date {
    let days = (unix_seconds + SHANGHAI_OFFSET).div_euclid(DAY);
    Date::constant(1970, 1, 1).checked_add(jiff::Span::new().days(days)).unwrap_or(Date::MAX)
}

/// The UTC instant at which a Shanghai day starts.
pub fn day_start(day: Date) -> i64 {
    let epoch = Date::constant(1970, 1, 1);
    let days = i64::from(day.since(epoch).map(|s| s.get_days()).unwrap_or_default());
    days * DAY - SHANGHAI_OFFSET
}

/// A Monday-to-Sunday week in Asia/Shanghai, the period of the weekly summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Week {
    /// The Monday.
    pub monday: Date,
}

impl Week {
    /// The week containing `day`.
    pub fn containing(day: Date) -> Self {
        let back = i64::from(day.weekday().to_monday_zero_offset());
        Self { monday: day.checked_sub(jiff::Span::new().days(back)).unwrap_or(day) }
    }

    /// The last complete week before the one containing `now`: what a summary reports on.
    pub fn last_complete(now: i64) -> Self {
        Self::containing(shanghai_day(now)).previous()
    }

    pub fn previous(self) -> Self {
        Self { monday: self.monday.checked_sub(jiff::Span::new().days(7)).unwrap_or(self.monday) }
    }

    pub fn sunday(self) -> Date {
        self.monday.checked_add(jiff::Span::new().days(6)).unwrap_or(self.monday)
    }

    /// `[start, end)` in UTC seconds.
    pub fn bounds(self) -> (i64, i64) {
        let start = day_start(self.monday);
        (start, start + 7 * DAY)
    }

    /// Parses a Monday written `YYYY-MM-DD`; any other day names its week.
    pub fn parse(s: &str) -> Option<Self> {
        s.trim().parse::<Date>().ok().map(Self::containing)
    }

    /// 2026-11-23 至 2026-11-29
    pub fn label(self) -> String {
        format!("{} 至 {}", self.monday, self.sunday())
    }
}

/// A share of a sample: on-time contacts among cases due, satisfied ratings among ratings…
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Rate {
    pub hits: i64,
    pub sample: i64,
}

impl Rate {
    pub fn new(hits: i64, sample: i64) -> Self {
        Self { hits: hits.clamp(0, sample.max(0)), sample: sample.max(0) }
    }

    /// Tenths of a percent (923 = 92.3%), none without a sample.
    pub fn permille(self) -> Option<i64> {
        (self.sample > 0).then(|| (self.hits * 1000 + self.sample / 2) / self.sample)
    }

    /// `92.3%`, or `—` without a sample.
    pub fn percent_label(self) -> String {
        self.permille().map_or_else(|| "—".to_owned(), |p| format!("{}.{}%", p / 10, p % 10))
    }

    /// Whether the sample is large enough to rank townships by this rate.
    pub fn rankable(self) -> bool {
        self.sample >= MIN_RANKED_SAMPLE
    }
}

impl std::ops::Add for Rate {
    type Output = Self;

    fn add(self, other: Self) -> Self {
        Self { hits: self.hits + other.hits, sample: self.sample + other.sample }
    }
}

/// Ranks (1 = highest) of rates large enough to rank; `None` for the others. Ties share a rank.
pub fn rank_rates(rates: &[Rate]) -> Vec<Option<usize>> {
    rates
        .iter()
        .map(|r| {
            let mine = r.permille().filter(|_| r.rankable())?;
            let better = rates.iter().filter(|o| o.rankable() && o.permille().is_some_and(|p| p > mine)).count();
            Some(better + 1)
        })
        .collect()
}

/// A figure this period against the previous one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trend {
    pub current: i64,
    pub previous: i64,
}

impl Trend {
    /// `↑ 25%`, `↓ 10%`, `持平` (also when the change rounds to 0%), or `新增` when there was
    /// nothing before.
    pub fn label(self) -> String {
        match (self.previous, self.current) {
            (0, 0) => "持平".to_owned(),
            (0, _) => "新增".to_owned(),
            (p, c) if c == p => "持平".to_owned(),
            (p, c) => {
                let change = ((c - p) * 100 + if c > p { p / 2 } else { -p / 2 }) / p;
                match change {
                    0 => "持平".to_owned(),
                    up if up > 0 => format!("↑ {up}%"),
                    down => format!("↓ {}%", -down),
                }
            }
        }
    }
}

/// Average handling time in tenths of a day from the summed seconds of `count` closed cases.
pub fn average_days_tenths(total_seconds: i64, count: i64) -> Option<i64> {
    (count > 0).then(|| (total_seconds * 10 + count * DAY / 2) / (count * DAY))
}

/// `3.5 天`, or `—` without a closed case.
pub fn average_days_label(total_seconds: i64, count: i64) -> String {
    average_days_tenths(total_seconds, count).map_or_else(|| "—".to_owned(), |t| format!("{}.{} 天", t / 10, t % 10))
}

/// Visits per household in hundredths (`1.25` per household), none without households.
pub fn per_household_label(visits: i64, households: i64) -> String {
    if households <= 0 {
        return "—".to_owned();
    }
    let hundredths = (visits * 100 + households / 2) / households;
    format!("{}.{:02}", hundredths / 100, hundredths % 100)
}

crate::stored_code!(Menu, Channel);

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::Weekday;
    use proptest::prelude::*;

    #[test]
    fn a_kiosk_cookie_wins_over_the_wechat_user_agent() {
        assert_eq!(Channel::classify(true, "Mozilla MicroMessenger/8.0"), Channel::Kiosk);
        assert_eq!(Channel::classify(false, "Mozilla MicroMessenger/8.0"), Channel::Wechat);
        assert_eq!(Channel::classify(false, "Mozilla/5.0 Chrome"), Channel::Browser);
    }

    #[test]
    fn a_shanghai_day_starts_at_sixteen_utc_the_day_before() {
        // 2026-11-29 16:00 UTC is 2026-11-30 00:00 in Shanghai.
        let t = 1_795_968_000;
        assert_eq!(shanghai_day(t).to_string(), "2026-11-30");
        assert_eq!(shanghai_day(t - 1).to_string(), "2026-11-29");
        assert_eq!(day_start(shanghai_day(t)), t);
    }

    #[test]
    fn the_last_complete_week_runs_monday_to_sunday_before_this_week() {
        // Monday 2026-11-30 09:00 Shanghai.
        let now = 1_795_968_000 + 9 * 3600;
        let week = Week::last_complete(now);
        assert_eq!(week.monday.to_string(), "2026-11-23");
        assert_eq!(week.sunday().to_string(), "2026-11-29");
        assert_eq!(week.bounds(), (1_795_968_000 - 7 * DAY, 1_795_968_000));
        assert_eq!(Week::parse("2026-11-26"), Some(week));
        assert_eq!(Week::parse("26/11/2026"), None);
    }

    #[test]
    fn a_rate_under_the_minimum_sample_is_shown_but_not_ranked() {
        let small = Rate::new(3, 3);
        let large = Rate::new(19, 20);
        let larger = Rate::new(19, 20);
        assert_eq!(small.percent_label(), "100.0%");
        assert_eq!(rank_rates(&[small, large, larger, Rate::default()]), vec![None, Some(1), Some(1), None]);
        assert_eq!(rank_rates(&[Rate::new(8, 10), Rate::new(10, 10)]), vec![Some(2), Some(1)]);
        assert_eq!(Rate::default().percent_label(), "—");
    }

    #[test]
    fn trends_compare_with_the_previous_period() {
        assert_eq!(Trend { current: 125, previous: 100 }.label(), "↑ 25%");
        assert_eq!(Trend { current: 90, previous: 100 }.label(), "↓ 10%");
        assert_eq!(Trend { current: 5, previous: 0 }.label(), "新增");
        assert_eq!(Trend { current: 7, previous: 7 }.label(), "持平");
        assert_eq!(Trend { current: 15_400, previous: 15_390 }.label(), "持平");
    }

    #[test]
    fn handling_days_and_visits_per_household_round_to_the_shown_digit() {
        assert_eq!(average_days_label(3 * DAY + DAY / 2, 1), "3.5 天");
        assert_eq!(average_days_label(0, 0), "—");
        assert_eq!(per_household_label(16_717, 2_135), "7.83");
        assert_eq!(per_household_label(5, 0), "—");
    }

    #[test]
    fn names_round_trip() {
        for m in Menu::ALL {
            assert_eq!(Menu::parse(m.as_str()), Some(m));
        }
        for c in Channel::ALL {
            assert_eq!(Channel::parse(c.as_str()), Some(c));
        }
    }

    proptest! {
        #[test]
        fn a_rate_is_never_above_one_hundred_percent(hits in -5i64..1000, sample in -5i64..1000) {
            let r = Rate::new(hits, sample);
            if let Some(p) = r.permille() {
                prop_assert!((0..=1000).contains(&p));
            }
        }

        #[test]
        fn every_instant_falls_inside_its_shanghai_day(t in 0i64..4_000_000_000) {
            let start = day_start(shanghai_day(t));
            prop_assert!(start <= t && t < start + DAY);
            let (ws, we) = Week::containing(shanghai_day(t)).bounds();
            prop_assert!(ws <= t && t < we);
            prop_assert_eq!(Week::containing(shanghai_day(t)).monday.weekday(), Weekday::Monday);
        }
    }
}
