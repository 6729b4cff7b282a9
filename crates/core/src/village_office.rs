//! 村委会坐班: who of a village's cadres (村干部) is on duty in the village office on a date, and
//! who is invited to a meeting notice (会议通知). A weekly pattern (周一…周日) names a cadre per
//! weekday; a date-specific override (a holiday such as 春节, or a named substitute) wins over it.
//! Pure: the caller supplies the date, as the calendar date in Asia/Shanghai.

use jiff::civil::{Date, Weekday};

/// Cadres are named by their storage id; the rule never needs more.
pub type CadreId = i64;

/// One date-specific change to the weekly pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DutyOverride {
    pub date: Date,
    /// The substitute on duty, or `None` when the office is closed that day.
    pub cadre: Option<CadreId>,
    /// Why (e.g. `春节`, `书记外出学习`); shown to villagers.
    pub note: String,
}

/// 值班坐班表: the weekly pattern plus its overrides.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DutyRota {
    weekly: [Option<CadreId>; 7],
    overrides: Vec<DutyOverride>,
}

/// Who is on duty on one date, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Duty<'a> {
    /// The weekly pattern names this cadre.
    Weekly(CadreId),
    /// An override names a substitute.
    Substitute { cadre: CadreId, note: &'a str },
    /// An override closes the office (e.g. 春节不坐班).
    Closed { note: &'a str },
    /// Nobody is named for this weekday and no override applies.
    Nobody,
}

impl Duty<'_> {
    /// The cadre on duty, if any.
    pub fn cadre(self) -> Option<CadreId> {
        match self {
            Self::Weekly(cadre) | Self::Substitute { cadre, .. } => Some(cadre),
            Self::Closed { .. } | Self::Nobody => None,
        }
    }
}

impl DutyRota {
    /// A rota from `(weekday, cadre)` slots and overrides. A later slot for the same weekday
    /// replaces an earlier one, as does a later override for the same date.
    pub fn new(slots: impl IntoIterator<Item = (Weekday, CadreId)>, overrides: Vec<DutyOverride>) -> Self {
        let mut weekly = [None; 7];
        for (day, cadre) in slots {
            weekly[day_index(day)] = Some(cadre);
        }
        Self { weekly, overrides }
    }

    /// Whether nothing at all has been set: no weekday slot and no override.
    pub fn is_empty(&self) -> bool {
        self.weekly.iter().all(Option::is_none) && self.overrides.is_empty()
    }

    /// The cadre the weekly pattern names for a weekday.
    pub fn weekly_cadre(&self, day: Weekday) -> Option<CadreId> {
        self.weekly[day_index(day)]
    }

    /// Who is on duty on `date`: an override for that date wins over the weekly pattern.
    pub fn on(&self, date: Date) -> Duty<'_> {
        match self.overrides.iter().rev().find(|o| o.date == date) {
            Some(DutyOverride { cadre: Some(cadre), note, .. }) => Duty::Substitute { cadre: *cadre, note },
            Some(DutyOverride { cadre: None, note, .. }) => Duty::Closed { note },
            None => self.weekly_cadre(date.weekday()).map_or(Duty::Nobody, Duty::Weekly),
        }
    }
}

fn day_index(day: Weekday) -> usize {
    usize::try_from(day.to_monday_zero_offset()).unwrap_or(0)
}

/// The days of the week in the order a Chinese calendar shows them.
pub const WEEK: [Weekday; 7] = [
    Weekday::Monday,
    Weekday::Tuesday,
    Weekday::Wednesday,
    Weekday::Thursday,
    Weekday::Friday,
    Weekday::Saturday,
    Weekday::Sunday,
];

/// `周一` … `周日`.
pub fn weekday_label(day: Weekday) -> &'static str {
    match day {
        Weekday::Monday => "周一",
        Weekday::Tuesday => "周二",
        Weekday::Wednesday => "周三",
        Weekday::Thursday => "周四",
        Weekday::Friday => "周五",
        Weekday::Saturday => "周六",
        Weekday::Sunday => "周日",
    }
}

/// Who a meeting notice invites.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Audience {
    /// 两委班子: the village party branch committee and the villagers' committee.
    Committees,
    /// 党员
    PartyMembers,
    /// 村民代表
    Representatives,
    /// 村民小组长
    GroupLeaders,
    /// 全体村民
    AllVillagers,
}

impl Audience {
    pub const ALL: [Audience; 5] =
        [Self::Committees, Self::PartyMembers, Self::Representatives, Self::GroupLeaders, Self::AllVillagers];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Committees => "committees",
            Self::PartyMembers => "party_members",
            Self::Representatives => "representatives",
            Self::GroupLeaders => "group_leaders",
            Self::AllVillagers => "all_villagers",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Committees => "两委班子",
            Self::PartyMembers => "党员",
            Self::Representatives => "村民代表",
            Self::GroupLeaders => "村民小组长",
            Self::AllVillagers => "全体村民",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s.trim())
    }
}

/// The audiences a meeting notice invites, in [`Audience::ALL`] order, each once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Audiences(Vec<Audience>);

impl Audiences {
    /// Parses a stored or submitted list of codes (each may itself be comma-separated); unknown
    /// codes are an error and duplicates collapse.
    pub fn parse<'a>(codes: impl IntoIterator<Item = &'a str>) -> Option<Self> {
        let mut list = Vec::new();
        for code in codes.into_iter().flat_map(|c| c.split(',')).filter(|c| !c.trim().is_empty()) {
            list.push(Audience::parse(code)?);
        }
        Some(Self::from(list))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The storage form: codes joined by commas.
    pub fn codes(&self) -> String {
        self.0.iter().map(|a| a.as_str()).collect::<Vec<_>>().join(",")
    }

    /// As a notice names them: 两委班子、党员.
    pub fn labels(&self) -> String {
        self.0.iter().map(|a| a.label()).collect::<Vec<_>>().join("、")
    }
}

impl From<Vec<Audience>> for Audiences {
    fn from(mut list: Vec<Audience>) -> Self {
        list.sort();
        list.dedup();
        Self(list)
    }
}

impl TryFrom<String> for Audiences {
    type Error = crate::UnknownCode;

    fn try_from(stored: String) -> Result<Self, Self::Error> {
        Self::parse([stored.as_str()]).ok_or(crate::UnknownCode { what: "Audiences", value: stored })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;
    use proptest::prelude::*;

    const SECRETARY: CadreId = 1;
    const ACCOUNTANT: CadreId = 2;
    const CLERK: CadreId = 3;

    /// Secretary Monday and Thursday, accountant Tuesday and Friday, clerk Wednesday; no weekend duty.
    fn weekdays_only() -> Vec<(Weekday, CadreId)> {
        vec![
            (Weekday::Monday, SECRETARY),
            (Weekday::Tuesday, ACCOUNTANT),
            (Weekday::Wednesday, CLERK),
            (Weekday::Thursday, SECRETARY),
            (Weekday::Friday, ACCOUNTANT),
        ]
    }

    #[test]
    fn the_weekly_pattern_names_the_cadre_of_the_weekday() {
        let rota = DutyRota::new(weekdays_only(), vec![]);
        // 2026-03-02 is a Monday.
        assert_eq!(rota.on(date(2026, 3, 2)), Duty::Weekly(SECRETARY));
        assert_eq!(rota.on(date(2026, 3, 4)), Duty::Weekly(CLERK));
        assert_eq!(rota.on(date(2026, 3, 7)), Duty::Nobody);
    }

    #[test]
    fn a_holiday_closes_the_office_even_on_a_working_weekday() {
        // 2026-02-17 (春节, a Tuesday).
        let spring = DutyOverride { date: date(2026, 2, 17), cadre: None, note: "春节".into() };
        let rota = DutyRota::new(weekdays_only(), vec![spring]);
        assert_eq!(rota.on(date(2026, 2, 17)), Duty::Closed { note: "春节" });
        assert_eq!(rota.on(date(2026, 2, 24)), Duty::Weekly(ACCOUNTANT));
    }

    #[test]
    fn a_named_substitute_replaces_the_weekly_cadre_for_that_day_only() {
        let swap = DutyOverride { date: date(2026, 3, 2), cadre: Some(CLERK), note: "书记外出学习".into() };
        let rota = DutyRota::new(weekdays_only(), vec![swap]);
        assert_eq!(rota.on(date(2026, 3, 2)), Duty::Substitute { cadre: CLERK, note: "书记外出学习" });
        assert_eq!(rota.on(date(2026, 3, 2)).cadre(), Some(CLERK));
        assert_eq!(rota.on(date(2026, 3, 9)), Duty::Weekly(SECRETARY));
    }

    #[test]
    fn a_substitute_can_open_the_office_on_a_weekend() {
        let weekend = DutyOverride { date: date(2026, 3, 7), cadre: Some(SECRETARY), note: "春耕备耕".into() };
        let rota = DutyRota::new(weekdays_only(), vec![weekend]);
        assert_eq!(rota.on(date(2026, 3, 7)).cadre(), Some(SECRETARY));
    }

    #[test]
    fn a_rota_with_nothing_set_is_empty_and_names_nobody() {
        let rota = DutyRota::default();
        assert!(rota.is_empty());
        assert_eq!(rota.on(date(2026, 3, 2)), Duty::Nobody);
        assert!(!DutyRota::new(weekdays_only(), vec![]).is_empty());
    }

    #[test]
    fn audiences_parse_in_a_fixed_order_without_duplicates() {
        let list = Audiences::parse(["all_villagers,party_members", "party_members"]).unwrap();
        assert_eq!(list, Audiences::from(vec![Audience::AllVillagers, Audience::PartyMembers]));
        assert_eq!(list.codes(), "party_members,all_villagers");
        assert_eq!(list.labels(), "党员、全体村民");
        assert_eq!(Audiences::parse(["bosses"]), None);
        assert_eq!(Audiences::parse([""]), Some(Audiences::default()));
        assert_eq!(
            Audiences::try_from("committees,representatives".to_owned()).unwrap().codes(),
            "committees,representatives"
        );
        assert!(Audiences::try_from("committees,bosses".to_owned()).is_err());
    }

    fn any_date() -> impl Strategy<Value = Date> {
        (0i32..20_000).prop_map(|n| date(2000, 1, 1).saturating_add(jiff::Span::new().days(n)))
    }

    fn any_slots() -> impl Strategy<Value = Vec<(Weekday, CadreId)>> {
        proptest::collection::vec((0usize..7, 1i64..6), 0..10)
            .prop_map(|v| v.into_iter().map(|(d, c)| (WEEK[d], c)).collect())
    }

    proptest! {
        #[test]
        fn without_overrides_the_duty_repeats_every_week(slots in any_slots(), day in any_date(), weeks in 1i32..200) {
            let rota = DutyRota::new(slots, vec![]);
            let later = day.saturating_add(jiff::Span::new().weeks(weeks));
            prop_assert_eq!(rota.on(day), rota.on(later));
        }

        #[test]
        fn an_override_always_wins_on_its_date(slots in any_slots(), day in any_date(), cadre in proptest::option::of(1i64..6)) {
            let rota = DutyRota::new(slots, vec![DutyOverride { date: day, cadre, note: "调整".into() }]);
            prop_assert_eq!(rota.on(day).cadre(), cadre);
            prop_assert_ne!(rota.on(day), Duty::Nobody);
        }

        #[test]
        fn an_override_leaves_every_other_date_alone(slots in any_slots(), day in any_date(), other in any_date()) {
            prop_assume!(day != other);
            let plain = DutyRota::new(slots.clone(), vec![]);
            let changed = DutyRota::new(slots, vec![DutyOverride { date: day, cadre: None, note: "春节".into() }]);
            prop_assert_eq!(plain.on(other), changed.on(other));
        }
    }
}
