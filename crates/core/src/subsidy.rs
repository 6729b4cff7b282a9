//! 惠农资金 (subsidy funds): programmes, the life of a 花名册 (roster), the paid-versus-proposed
//! diff and the unpaid years a self-query reveals. Pure rules: the caller supplies dates, rows
//! and keys; nothing here reads a clock or a database.

use std::collections::{BTreeSet, HashMap};
use std::fmt;

use jiff::ToSpan;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::code::Transition;
use crate::money::Fen;

/// 补贴单位: what one standard amount is paid per.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Person,
    Household,
    Mu,
}

impl Unit {
    pub const ALL: [Unit; 3] = [Unit::Person, Unit::Household, Unit::Mu];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Person => "person",
            Self::Household => "household",
            Self::Mu => "mu",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|u| u.as_str() == s)
    }

    /// "元/人", shown after a standard amount.
    pub fn per(self) -> &'static str {
        match self {
            Self::Person => "元/人",
            Self::Household => "元/户",
            Self::Mu => "元/亩",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Person => "按人",
            Self::Household => "按户",
            Self::Mu => "按亩",
        }
    }
}

/// The two phases of a roster (serialised as their stored codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// 拟发放公示: published before payment, open to objection during the publicity period.
    Proposed,
    /// 发放结果: published after payment; settles one proposed roster.
    Paid,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Proposed => "proposed",
            Self::Paid => "paid",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "proposed" => Some(Self::Proposed),
            "paid" => Some(Self::Paid),
            _ => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Proposed => "拟发放公示",
            Self::Paid => "发放结果",
        }
    }
}

/// Where a roster is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RosterStatus {
    /// 草稿: imported by the clerk, not yet submitted.
    Draft,
    /// 待审核: waiting for the township reviewer.
    Submitted,
    /// 已退回: sent back with a reason; the clerk may fix and resubmit.
    Returned,
    /// 已公开: approved and public.
    Published,
    /// 已更正: replaced by a newer published version; stays public.
    Superseded,
    /// 已撤回: withdrawn with a reason; stays public, marked withdrawn.
    Withdrawn,
}

impl RosterStatus {
    pub const ALL: [RosterStatus; 6] =
        [Self::Draft, Self::Submitted, Self::Returned, Self::Published, Self::Superseded, Self::Withdrawn];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Submitted => "submitted",
            Self::Returned => "returned",
            Self::Published => "published",
            Self::Superseded => "superseded",
            Self::Withdrawn => "withdrawn",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Draft => "草稿",
            Self::Submitted => "待审核",
            Self::Returned => "已退回",
            Self::Published => "已公开",
            Self::Superseded => "已更正（旧版本）",
            Self::Withdrawn => "已撤回",
        }
    }

    /// Whether the public may see a roster in this status (once public, always public).
    pub fn is_public(self) -> bool {
        matches!(self, Self::Published | Self::Superseded | Self::Withdrawn)
    }

    /// Whether the clerk may still change the entries, reasons and scans.
    pub fn is_editable(self) -> bool {
        matches!(self, Self::Draft | Self::Returned)
    }
}

crate::stored_code!(Unit, Phase, RosterStatus, DifferenceKind);

/// Something a person does to a roster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RosterAction {
    Submit,
    Approve,
    Return,
    Withdraw,
    /// A newer version was approved.
    Supersede,
}

impl RosterAction {
    fn label(self) -> &'static str {
        match self {
            Self::Submit => "提交审核",
            Self::Approve => "审核通过并公开",
            Self::Return => "退回",
            Self::Withdraw => "撤回",
            Self::Supersede => "更正",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum WorkflowError {
    #[error("花名册当前状态为“{}”，不能{}", .from.label(), .action.label())]
    NotAllowed { from: RosterStatus, action: RosterAction },
}

/// The roster state machine. A published roster is never edited in place: it can only be
/// withdrawn or superseded by a new version.
pub fn transition(from: RosterStatus, action: RosterAction) -> Result<Transition<RosterStatus>, WorkflowError> {
    use RosterAction as A;
    use RosterStatus as S;
    let to = match (from, action) {
        (S::Draft | S::Returned, A::Submit) => S::Submitted,
        (S::Submitted, A::Approve) => S::Published,
        (S::Submitted, A::Return) => S::Returned,
        (S::Published, A::Withdraw) => S::Withdrawn,
        (S::Published, A::Supersede) => S::Superseded,
        _ => return Err(WorkflowError::NotAllowed { from, action }),
    };
    Ok(Transition::new(from, to))
}

/// 公示期: the days, inclusive, during which a proposed roster is open to objection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Publicity {
    pub start: Date,
    pub end: Date,
}

impl Publicity {
    /// A publicity period of `days` days starting on the day of publication.
    pub fn starting(start: Date, days: i64) -> Self {
        let days = days.clamp(1, 365);
        let end = start.checked_add((days - 1).days()).unwrap_or(start);
        Self { start, end }
    }

    pub fn is_open(&self, today: Date) -> bool {
        self.start <= today && today <= self.end
    }

    /// Days left including today, while the period is open.
    pub fn days_left(&self, today: Date) -> Option<i64> {
        if !self.is_open(today) {
            return None;
        }
        let span = today.until(self.end).ok()?;
        Some(i64::from(span.get_days()) + 1)
    }
}

/// One person on a roster, as the diff sees them. `key` identifies the person without revealing
/// them (the blind index of the ID number).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payee {
    pub key: String,
    pub name: String,
    pub masked_id: String,
    pub amount: Fen,
}

/// What differs between a paid roster and the proposed roster it settles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DifferenceKind {
    /// Paid to someone who was never publicly proposed.
    PaidNotProposed,
    /// Proposed but not paid.
    ProposedNotPaid,
    /// Paid a different amount than proposed.
    AmountChanged,
    /// Paid before the publicity period ended (the whole roster).
    PaidBeforePublicityEnded,
}

impl DifferenceKind {
    pub const ALL: [DifferenceKind; 4] =
        [Self::PaidNotProposed, Self::ProposedNotPaid, Self::AmountChanged, Self::PaidBeforePublicityEnded];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::PaidNotProposed => "paid_not_proposed",
            Self::ProposedNotPaid => "proposed_not_paid",
            Self::AmountChanged => "amount_changed",
            Self::PaidBeforePublicityEnded => "paid_early",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::PaidNotProposed => "未经公示即发放",
            Self::ProposedNotPaid => "公示后未发放",
            Self::AmountChanged => "发放金额与公示不一致",
            Self::PaidBeforePublicityEnded => "公示期未满即发放",
        }
    }
}

/// One difference; person fields are empty for a roster-wide difference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    pub kind: DifferenceKind,
    pub key: String,
    pub name: String,
    pub masked_id: String,
    pub proposed: Option<Fen>,
    pub paid: Option<Fen>,
}

/// Compares a paid roster with the proposed roster it settles. Differences come out in a stable
/// order: the roster-wide one first, then by kind and by the order people appear.
pub fn diff(proposed: &[Payee], paid: &[Payee], publicity_end: Option<Date>, paid_on: Date) -> Vec<Difference> {
    let mut out = Vec::new();
    if publicity_end.is_some_and(|end| paid_on <= end) {
        out.push(Difference {
            kind: DifferenceKind::PaidBeforePublicityEnded,
            key: String::new(),
            name: String::new(),
            masked_id: String::new(),
            proposed: None,
            paid: None,
        });
    }
    let proposed_by_key: HashMap<&str, &Payee> = proposed.iter().map(|p| (p.key.as_str(), p)).collect();
    let paid_by_key: HashMap<&str, &Payee> = paid.iter().map(|p| (p.key.as_str(), p)).collect();
    let person = |kind, p: &Payee, proposed: Option<Fen>, paid: Option<Fen>| Difference {
        kind,
        key: p.key.clone(),
        name: p.name.clone(),
        masked_id: p.masked_id.clone(),
        proposed,
        paid,
    };
    for p in paid {
        match proposed_by_key.get(p.key.as_str()) {
            None => out.push(person(DifferenceKind::PaidNotProposed, p, None, Some(p.amount))),
            Some(q) if q.amount != p.amount => {
                out.push(person(DifferenceKind::AmountChanged, p, Some(q.amount), Some(p.amount)));
            }
            Some(_) => {}
        }
    }
    for q in proposed {
        if !paid_by_key.contains_key(q.key.as_str()) {
            out.push(person(DifferenceKind::ProposedNotPaid, q, Some(q.amount), None));
        }
    }
    out.sort_by_key(|d| match d.kind {
        DifferenceKind::PaidBeforePublicityEnded => 0,
        DifferenceKind::PaidNotProposed => 1,
        DifferenceKind::ProposedNotPaid => 2,
        DifferenceKind::AmountChanged => 3,
    });
    out
}

/// A run of consecutive years, shown as "2014–2018年" or "2016年".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct YearRange {
    pub first: i32,
    pub last: i32,
}

impl fmt::Display for YearRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.first == self.last {
            write!(f, "{}年", self.first)
        } else {
            write!(f, "{}–{}年", self.first, self.last)
        }
    }
}

impl YearRange {
    pub fn len(&self) -> i32 {
        self.last - self.first + 1
    }

    pub fn is_empty(&self) -> bool {
        self.last < self.first
    }
}

/// The years of a recurring programme for which a person has no payment record (未见发放记录).
///
/// The enrolment span runs from the person's first paid year to `last_year`: the latest year for
/// which the programme has any published payment in the person's village, capped by the
/// programme's own last year. Years before the first payment cannot be inferred from the data.
pub fn unpaid_years(paid_years: &BTreeSet<i32>, last_year: i32) -> Vec<YearRange> {
    let Some(&first) = paid_years.first() else {
        return Vec::new();
    };
    let mut out: Vec<YearRange> = Vec::new();
    for year in first..=last_year {
        if paid_years.contains(&year) {
            continue;
        }
        match out.last_mut() {
            Some(run) if run.last + 1 == year => run.last = year,
            _ => out.push(YearRange { first: year, last: year }),
        }
    }
    out
}

/// The period a back-loaded roster (历史补录) pays for, given on the command line as `YYYY`
/// (a whole year) or `YYYY-MM` (one month).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchPeriod {
    pub year: i16,
    /// The month, for a monthly batch.
    pub month: Option<i8>,
}

impl BatchPeriod {
    /// Reads `2019` or `2019-03`; years before 1990 or after 2100 are refused.
    pub fn parse(text: &str) -> Option<Self> {
        let (year, month) = match text.trim().split_once('-') {
            Some((y, m)) if m.len() == 2 => (y, Some(m.parse::<i8>().ok().filter(|m| (1..=12).contains(m))?)),
            Some(_) => return None,
            None => (text.trim(), None),
        };
        if year.len() != 4 {
            return None;
        }
        let year = year.parse::<i16>().ok().filter(|y| (1990..=2100).contains(y))?;
        Some(Self { year, month })
    }

    /// The batch name shown on the roster, as clerks write it: 2019年度, 2019年3月.
    pub fn label(&self) -> String {
        match self.month {
            Some(m) => format!("{}年{m}月", self.year),
            None => format!("{}年度", self.year),
        }
    }

    /// The last day of the period: the default payment date of a back-loaded paid roster.
    pub fn last_day(&self) -> Date {
        let (month, day) = match self.month {
            Some(m) => (m, Date::new(self.year, m, 1).map_or(28, |d| d.days_in_month())),
            None => (12, 31),
        };
        Date::new(self.year, month, day).unwrap_or(Date::MAX)
    }
}

/// Masks a bank or social-security card number, keeping the first four and last four digits.
pub fn mask_account(account: &str) -> String {
    let chars: Vec<char> = account.chars().filter(|c| !c.is_whitespace()).collect();
    if chars.len() <= 8 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 8))
}

#[cfg(test)]
mod tests {
    use jiff::civil::date;
    use proptest::prelude::*;

    use super::*;

    fn payee(key: &str, yuan: i64) -> Payee {
        Payee {
            key: key.into(),
            name: format!("村民{key}"),
            masked_id: format!("620922********{key}"),
            amount: Fen::from_yuan(yuan).unwrap_or_default(),
        }
    }

    #[test]
    fn a_roster_goes_from_draft_through_review_to_public() {
        let to = |from, action| transition(from, action).map(|t| t.to());
        let submit = transition(RosterStatus::Draft, RosterAction::Submit).unwrap();
        assert_eq!((submit.from(), submit.to()), (RosterStatus::Draft, RosterStatus::Submitted));
        let s = submit.to();
        assert_eq!(to(s, RosterAction::Return), Ok(RosterStatus::Returned));
        assert_eq!(to(RosterStatus::Returned, RosterAction::Submit), Ok(RosterStatus::Submitted));
        assert_eq!(to(s, RosterAction::Approve), Ok(RosterStatus::Published));
        assert_eq!(to(RosterStatus::Published, RosterAction::Withdraw), Ok(RosterStatus::Withdrawn));
        assert_eq!(to(RosterStatus::Published, RosterAction::Supersede), Ok(RosterStatus::Superseded));
    }

    #[test]
    fn a_published_roster_cannot_be_sent_back_or_resubmitted() {
        for action in [RosterAction::Submit, RosterAction::Approve, RosterAction::Return] {
            let err = transition(RosterStatus::Published, action);
            assert!(err.is_err(), "{action:?}");
        }
        let message = transition(RosterStatus::Withdrawn, RosterAction::Withdraw).err().map(|e| e.to_string());
        assert_eq!(message.as_deref(), Some("花名册当前状态为“已撤回”，不能撤回"));
        assert!(transition(RosterStatus::Draft, RosterAction::Approve).is_err(), "review needs a submission");
    }

    #[test]
    fn only_published_rosters_and_their_successors_are_public() {
        let public: Vec<_> = RosterStatus::ALL.into_iter().filter(|s| s.is_public()).collect();
        assert_eq!(public, [RosterStatus::Published, RosterStatus::Superseded, RosterStatus::Withdrawn]);
        for s in RosterStatus::ALL {
            assert_eq!(RosterStatus::parse(s.as_str()), Some(s));
            assert!(!(s.is_public() && s.is_editable()));
        }
    }

    #[test]
    fn a_seven_day_publicity_period_counts_down_to_its_last_day() {
        let p = Publicity::starting(date(2026, 11, 20), 7);
        assert_eq!(p.end, date(2026, 11, 26));
        assert_eq!(p.days_left(date(2026, 11, 20)), Some(7));
        assert_eq!(p.days_left(date(2026, 11, 26)), Some(1));
        assert_eq!(p.days_left(date(2026, 11, 27)), None);
        assert_eq!(p.days_left(date(2026, 11, 19)), None);
    }

    #[test]
    fn the_diff_names_every_kind_of_difference() {
        let proposed = [payee("0001", 600), payee("0002", 600), payee("0003", 600)];
        let paid = [payee("0001", 600), payee("0003", 500), payee("0004", 600)];
        let d = diff(&proposed, &paid, Some(date(2026, 3, 7)), date(2026, 3, 5));
        let kinds: Vec<_> = d.iter().map(|x| (x.kind, x.key.as_str())).collect();
        assert_eq!(
            kinds,
            [
                (DifferenceKind::PaidBeforePublicityEnded, ""),
                (DifferenceKind::PaidNotProposed, "0004"),
                (DifferenceKind::ProposedNotPaid, "0002"),
                (DifferenceKind::AmountChanged, "0003"),
            ]
        );
        assert_eq!(d[3].proposed, Fen::from_yuan(600));
        assert_eq!(d[3].paid, Fen::from_yuan(500));
    }

    #[test]
    fn paying_exactly_as_proposed_after_publicity_has_no_difference() {
        let people = [payee("0001", 600), payee("0002", 300)];
        assert!(diff(&people, &people, Some(date(2026, 3, 7)), date(2026, 3, 8)).is_empty());
    }

    #[test]
    fn the_resettlement_case_shows_2014_to_2018_unpaid() {
        let paid: BTreeSet<i32> = (2006..=2013).chain(2019..=2025).collect();
        let gaps = unpaid_years(&paid, 2025);
        assert_eq!(gaps, [YearRange { first: 2014, last: 2018 }]);
        assert_eq!(gaps[0].to_string(), "2014–2018年");
        assert_eq!(gaps[0].len(), 5);
    }

    #[test]
    fn trailing_years_without_payment_are_unpaid_but_years_before_enrolment_are_not() {
        let paid: BTreeSet<i32> = [2020, 2022].into();
        assert_eq!(
            unpaid_years(&paid, 2024),
            [YearRange { first: 2021, last: 2021 }, YearRange { first: 2023, last: 2024 }]
        );
        assert!(unpaid_years(&BTreeSet::new(), 2024).is_empty());
        assert_eq!(YearRange { first: 2021, last: 2021 }.to_string(), "2021年");
    }

    #[test]
    fn account_numbers_keep_only_their_ends() {
        assert_eq!(mask_account("6228480402564890018"), "6228***********0018");
        assert_eq!(mask_account("1234"), "****");
    }

    proptest! {
        #[test]
        fn paid_and_unpaid_years_partition_the_enrolment_span(
            years in proptest::collection::btree_set(2000i32..2030, 1..20),
            extra in 0i32..5,
        ) {
            let last = years.last().copied().unwrap_or(2000) + extra;
            let gaps = unpaid_years(&years, last);
            let first = years.first().copied().unwrap_or(2000);
            let mut covered: BTreeSet<i32> = years.clone();
            for g in &gaps {
                for y in g.first..=g.last {
                    prop_assert!(covered.insert(y), "year {y} both paid and unpaid");
                }
            }
            prop_assert_eq!(covered, (first..=last).collect::<BTreeSet<_>>());
        }

        #[test]
        fn the_diff_of_a_roster_with_itself_is_empty(amounts in proptest::collection::vec(1i64..10_000, 0..30)) {
            let people: Vec<Payee> =
                amounts.iter().enumerate().map(|(i, a)| payee(&format!("{i:04}"), *a)).collect();
            prop_assert!(diff(&people, &people, None, date(2026, 1, 1)).is_empty());
        }

        #[test]
        fn every_person_missing_from_one_side_is_reported(
            proposed in proptest::collection::btree_set(0u32..50, 0..20),
            paid in proptest::collection::btree_set(0u32..50, 0..20),
        ) {
            let to_payees = |set: &BTreeSet<u32>| set.iter().map(|k| payee(&format!("{k:04}"), 600)).collect::<Vec<_>>();
            let d = diff(&to_payees(&proposed), &to_payees(&paid), None, date(2026, 1, 1));
            let not_paid = d.iter().filter(|x| x.kind == DifferenceKind::ProposedNotPaid).count();
            let not_proposed = d.iter().filter(|x| x.kind == DifferenceKind::PaidNotProposed).count();
            prop_assert_eq!(not_paid, proposed.difference(&paid).count());
            prop_assert_eq!(not_proposed, paid.difference(&proposed).count());
        }
    }

    #[test]
    fn a_batch_period_is_a_year_or_a_month() {
        let year = BatchPeriod::parse("2019").unwrap();
        assert_eq!((year.label(), year.last_day()), ("2019年度".to_owned(), jiff::civil::date(2019, 12, 31)));
        let month = BatchPeriod::parse("2024-02").unwrap();
        assert_eq!((month.label(), month.last_day()), ("2024年2月".to_owned(), jiff::civil::date(2024, 2, 29)));
        for bad in ["19", "2019-13", "2019-00", "2019-3", "1989", "2019-03-01", "二〇一九", ""] {
            assert_eq!(BatchPeriod::parse(bad), None, "{bad}");
        }
    }
}
