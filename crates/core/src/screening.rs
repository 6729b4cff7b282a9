//! 大数据比对: screening roster entries against the registries, and 政策找人, the reverse
//! direction (people in the registries who look eligible but receive nothing).
//!
//! Every rule is a documented pure function over a [`ScreeningContext`] (registries indexed by
//! the ID number's blind index) and the entries; a hit names the rule, the entry, the registry
//! records or other entries that triggered it, and a severity. A hit is a lead for the
//! discipline commission to verify, never a verdict. Evidence texts carry masked IDs only.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use rustc_hash::FxHashMap;
use std::sync::Arc;

use jiff::civil::Date;

use crate::code::Transition;
use crate::period::RosterPeriod;
use crate::registry::RegistryKind;
use crate::subsidy::{Phase, Unit};

/// One of the twelve screening rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Rule {
    DeadPayee,
    PublicPayroll,
    CadreRelative,
    DuplicatePayment,
    ExclusiveProgrammes,
    SharedAccount,
    IdentityMismatch,
    AgeOutOfRange,
    AmountOffStandard,
    NotPublicised,
    AssetTest,
    HouseholdOvercount,
}

impl Rule {
    pub const ALL: [Rule; 12] = [
        Self::DeadPayee,
        Self::PublicPayroll,
        Self::CadreRelative,
        Self::DuplicatePayment,
        Self::ExclusiveProgrammes,
        Self::SharedAccount,
        Self::IdentityMismatch,
        Self::AgeOutOfRange,
        Self::AmountOffStandard,
        Self::NotPublicised,
        Self::AssetTest,
        Self::HouseholdOvercount,
    ];

    /// The stable code stored with a hit.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DeadPayee => "dead_payee",
            Self::PublicPayroll => "public_payroll",
            Self::CadreRelative => "cadre_relative",
            Self::DuplicatePayment => "duplicate_payment",
            Self::ExclusiveProgrammes => "exclusive_programmes",
            Self::SharedAccount => "shared_account",
            Self::IdentityMismatch => "identity_mismatch",
            Self::AgeOutOfRange => "age_out_of_range",
            Self::AmountOffStandard => "amount_off_standard",
            Self::NotPublicised => "not_publicised",
            Self::AssetTest => "asset_test",
            Self::HouseholdOvercount => "household_overcount",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// The rule's number (1–12), as documented.
    pub fn number(self) -> usize {
        Self::ALL.iter().position(|r| *r == self).map_or(0, |i| i + 1)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::DeadPayee => "死亡冒领",
            Self::PublicPayroll => "财政供养人员领取",
            Self::CadreRelative => "优亲厚友线索",
            Self::DuplicatePayment => "重复领取",
            Self::ExclusiveProgrammes => "互斥项目重复享受",
            Self::SharedAccount => "一卡通账户多户共用",
            Self::IdentityMismatch => "身份信息不符",
            Self::AgeOutOfRange => "年龄不符合条件",
            Self::AmountOffStandard => "金额不符合标准",
            Self::NotPublicised => "未经公示发放",
            Self::AssetTest => "有车辆或经营主体",
            Self::HouseholdOvercount => "领取人数超过户内人口",
        }
    }

    /// What the rule checks, in the words shown to the commission.
    pub fn description(self) -> &'static str {
        match self {
            Self::DeadPayee => "领取人在所发放期间开始之前已死亡。",
            Self::PublicPayroll => "领取人是财政供养人员，而该项目不允许财政供养人员享受。",
            Self::CadreRelative => "领取人是本村村干部或其申报的近亲属，且该项目由村级评定（线索，需核实）。",
            Self::DuplicatePayment => "同一人在同一项目同一期间被发放两次以上（不论花名册、不论村）。",
            Self::ExclusiveProgrammes => "同一人在同一期间同时享受两个互斥项目（如农村低保与城市低保）。",
            Self::SharedAccount => "同一银行卡或一卡通账户为不同户的人员领取。",
            Self::IdentityMismatch => "身份证号无效，或姓名与户籍登记不一致。",
            Self::AgeOutOfRange => "按身份证出生日期计算，发放期间的年龄不在项目规定范围内。",
            Self::AmountOffStandard => "金额高于项目标准，或按亩发放时不是亩均标准的整数倍。",
            Self::NotPublicised => "发放结果中的人员不在所结算的拟发放公示名单中，或公示期未满即发放。",
            Self::AssetTest => "低保类项目的领取人名下有登记车辆或市场主体。",
            Self::HouseholdOvercount => "同一户在同一项目同一期间的领取人数多于户籍登记人口。",
        }
    }

    pub fn severity(self) -> Severity {
        match self {
            Self::DeadPayee | Self::PublicPayroll | Self::DuplicatePayment | Self::ExclusiveProgrammes => {
                Severity::High
            }
            Self::CadreRelative => Severity::Low,
            _ => Severity::Medium,
        }
    }
}

/// How urgent a hit is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    High,
    Medium,
    Low,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::High => "high",
            Self::Medium => "medium",
            Self::Low => "low",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::High, Self::Medium, Self::Low].into_iter().find(|v| v.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::High => "高",
            Self::Medium => "中",
            Self::Low => "低",
        }
    }
}

/// Where a hit stands in the commission's handling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HitStatus {
    New,
    Verifying,
    Confirmed,
    Dismissed,
}

impl HitStatus {
    pub const ALL: [HitStatus; 4] = [Self::New, Self::Verifying, Self::Confirmed, Self::Dismissed];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Verifying => "verifying",
            Self::Confirmed => "confirmed",
            Self::Dismissed => "dismissed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::New => "待处理",
            Self::Verifying => "核实中",
            Self::Confirmed => "已查实",
            Self::Dismissed => "已排除",
        }
    }

    /// The statuses a hit may move to from this one: new → verifying → confirmed / dismissed.
    pub fn next(self) -> &'static [HitStatus] {
        match self {
            Self::New => &[Self::Verifying],
            Self::Verifying => &[Self::Confirmed, Self::Dismissed],
            Self::Confirmed | Self::Dismissed => &[],
        }
    }

    /// Whether the move needs a note (a conclusion always does).
    pub fn needs_note(self) -> bool {
        matches!(self, Self::Confirmed | Self::Dismissed)
    }
}

/// Checks a programme's eligible ages as typed on the settings form: each empty or a whole number
/// of years from 0 to 150, and the lower bound not above the upper. Returns the bounds, or the
/// Chinese message naming the field.
pub fn age_bounds(min: &str, max: &str) -> Result<(Option<i64>, Option<i64>), &'static str> {
    let read = |text: &str, field: &'static str| -> Result<Option<i64>, &'static str> {
        match text.trim() {
            "" => Ok(None),
            t => t.parse::<i64>().ok().filter(|a| (0..=150).contains(a)).map(Some).ok_or(field),
        }
    };
    let min = read(min, "最低年龄：请填写0至150之间的整数，或留空")?;
    let max = read(max, "最高年龄：请填写0至150之间的整数，或留空")?;
    if let (Some(a), Some(b)) = (min, max)
        && a > b
    {
        return Err("最高年龄：不能小于最低年龄");
    }
    Ok((min, max))
}

/// Checks a handling step: the move must be allowed and a conclusion must carry a note. Returns
/// the transition the store's compare-and-set takes.
pub fn check_handling(from: HitStatus, to: HitStatus, note: &str) -> Result<Transition<HitStatus>, &'static str> {
    if !from.next().contains(&to) {
        return Err("该线索当前状态不能进行此操作");
    }
    if to.needs_note() && note.trim().is_empty() {
        return Err("请填写核查结论说明");
    }
    Ok(Transition::new(from, to))
}

crate::stored_code!(Rule, Severity, HitStatus, LeadKind, LeadStatus);

/// One roster entry as the rules see it. `person` and `account` are blind indexes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub id: i64,
    pub roster_id: i64,
    pub programme_id: i64,
    /// The village's org code.
    pub village: String,
    pub year: i32,
    /// The period paid for, structured: rules 4, 5 and 12 compare these, not the text.
    pub period: RosterPeriod,
    pub phase: Phase,
    pub person: String,
    pub name: String,
    pub masked_id: String,
    /// The birth date from the ID number; `None` when the stored number is not a valid ID, or
    /// was not read: an incremental run reads the IDs of its own rosters' entries only, as only
    /// those are judged by the rules that read a birth date (7 and 8).
    pub birth_date: Option<Date>,
    pub account: Option<String>,
    pub amount_fen: i64,
    /// For a paid roster: the proposed roster it settles.
    pub settles: Option<i64>,
    pub paid_on: Option<Date>,
}

/// A programme's screening settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgrammeRules {
    pub id: i64,
    pub name: String,
    pub unit: Unit,
    pub standard_fen: Option<i64>,
    pub recurring: bool,
    /// 财政供养人员 may not receive it.
    pub excludes_payroll: bool,
    /// Awarded at the village's discretion (优亲厚友 is possible).
    pub discretionary: bool,
    pub min_age: Option<i32>,
    pub max_age: Option<i32>,
    /// 低保-type: owners of a vehicle or a business do not qualify.
    pub asset_test: bool,
}

/// One registry record. `person` is the ID's blind index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub id: i64,
    pub kind: RegistryKind,
    pub person: String,
    pub name: String,
    pub masked_id: String,
    pub birth_date: Option<Date>,
    pub village: Option<String>,
    pub household: Option<String>,
    pub members: Option<i64>,
    pub relation: Option<String>,
    pub detail: Option<String>,
    pub date: Option<Date>,
}

/// A published proposed roster as rule 10 needs it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProposedRoster {
    pub publicity_end: Option<Date>,
    /// Blind indexes of the people it named.
    pub persons: HashSet<String>,
}

/// What triggered a hit: a registry record or another roster entry, described in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence {
    pub record: Option<i64>,
    pub entry: Option<i64>,
    pub text: String,
}

impl Evidence {
    fn record(r: &Record, text: String) -> Self {
        Self {
            record: Some(r.id),
            entry: None,
            text: format!("{}：{}（{}）{text}", r.kind.label(), r.name, r.masked_id),
        }
    }

    fn entry(e: &Entry, text: String) -> Self {
        Self { record: None, entry: Some(e.id), text }
    }

    fn note(text: String) -> Self {
        Self { record: None, entry: None, text }
    }
}

/// One screening hit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub rule: Rule,
    pub entry: i64,
    pub severity: Severity,
    pub evidence: Vec<Evidence>,
}

impl Hit {
    fn new(rule: Rule, entry: &Entry, evidence: Vec<Evidence>) -> Self {
        Self { rule, entry: entry.id, severity: rule.severity(), evidence }
    }
}

/// The registries indexed by person and by household. Registries change only on import, so this
/// is built once and shared (behind an `Arc`) by every run until the next import.
#[derive(Debug, Default)]
pub struct Registries {
    records: Vec<Record>,
    /// Positions of the records by the hash of their kind and person.
    by_person: Groups,
    /// Positions of the household register's records by the hash of their household number.
    by_household: Groups,
}

/// Positions in [`Registries::records`] grouped by a key's hash: a group's positions are
/// contiguous (in record order) and found by the hash. Keys sharing a hash share a group, so a
/// look-up compares the key itself. Built by one sort, with no key copied: indexing a million
/// records takes a fraction of what a map of owned keys to vectors takes.
#[derive(Debug, Default)]
struct Groups {
    ranges: FxHashMap<u64, (usize, usize)>,
    positions: Vec<usize>,
}

impl Groups {
    fn new(mut keyed: Vec<(u64, usize)>) -> Self {
        keyed.sort_unstable();
        let mut ranges = FxHashMap::with_capacity_and_hasher(keyed.len(), Default::default());
        let mut start = 0;
        for group in keyed.chunk_by(|a, b| a.0 == b.0) {
            ranges.insert(group[0].0, (start, group.len()));
            start += group.len();
        }
        Self { ranges, positions: keyed.into_iter().map(|(_, position)| position).collect() }
    }

    fn get(&self, hash: u64) -> &[usize] {
        self.ranges.get(&hash).and_then(|&(start, len)| self.positions.get(start..start + len)).unwrap_or_default()
    }
}

fn key_hash(key: impl std::hash::Hash) -> u64 {
    use std::hash::BuildHasher;
    rustc_hash::FxBuildHasher.hash_one(key)
}

impl Registries {
    /// Indexes `records` by person and by household, the two at once (each about a quarter of a
    /// second at a million records, on the critical path of a screening after a restart).
    pub fn new(records: Vec<Record>) -> Self {
        let (by_person, by_household) = std::thread::scope(|scope| {
            let by_household = scope.spawn(|| {
                Groups::new(
                    records
                        .iter()
                        .enumerate()
                        .filter(|(_, r)| r.kind == RegistryKind::Households)
                        .filter_map(|(i, r)| Some((key_hash(r.household.as_deref()?), i)))
                        .collect(),
                )
            });
            let by_person =
                Groups::new(records.iter().enumerate().map(|(i, r)| (key_hash((r.kind, &r.person)), i)).collect());
            (by_person, by_household.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
        });
        Self { records, by_person, by_household }
    }

    /// How many records the registries hold.
    pub fn records(&self) -> usize {
        self.records.len()
    }

    /// Every record, in the order they were given.
    pub fn all(&self) -> &[Record] {
        &self.records
    }

    /// The records of `kind` for `person`, in the order they were given.
    fn find(&self, kind: RegistryKind, person: &str) -> impl Iterator<Item = &Record> {
        self.by_person
            .get(key_hash((kind, person)))
            .iter()
            .filter_map(|&i| self.records.get(i))
            .filter(move |r| r.kind == kind && r.person == person)
    }

    /// The household register's records of household `household`, in the order they were given.
    fn household_records<'a>(&'a self, household: &'a str) -> impl Iterator<Item = &'a Record> {
        self.by_household
            .get(key_hash(household))
            .iter()
            .filter_map(|&i| self.records.get(i))
            .filter(move |r| r.household.as_deref() == Some(household))
    }

    /// The household number the household register gives `person`, if it knows them.
    pub fn household(&self, person: &str) -> Option<&str> {
        self.find(RegistryKind::Households, person).next()?.household.as_deref()
    }

    /// The blind indexes of everyone the household register places in `person`'s household
    /// (`person` included); none when the register does not know them.
    pub fn household_members(&self, person: &str) -> Vec<&str> {
        self.household(person)
            .map(|h| self.household_records(h).map(|r| r.person.as_str()).collect())
            .unwrap_or_default()
    }

    /// A registered household's declared member count (人口数, the last record giving one) and
    /// the number of people the register lists in it; `None` when no one is registered in it.
    fn household_size(&self, household: &str) -> Option<(Option<i64>, usize)> {
        let mut found = None;
        for r in self.household_records(household) {
            let (declared, listed) = found.get_or_insert((None, 0));
            *listed += 1;
            if r.members.is_some() {
                *declared = r.members;
            }
        }
        found
    }
}

/// The shared registries plus the programme settings and proposed rosters the rules need (loaded
/// per run: they are small and change with every publication).
#[derive(Debug, Default)]
pub struct ScreeningContext {
    registries: Arc<Registries>,
    programmes: HashMap<i64, ProgrammeRules>,
    exclusive: HashSet<(i64, i64)>,
    proposed: HashMap<i64, ProposedRoster>,
}

impl ScreeningContext {
    /// A context over registries built from `records` now.
    pub fn new(
        records: Vec<Record>,
        programmes: Vec<ProgrammeRules>,
        exclusive_pairs: &[(i64, i64)],
        proposed: HashMap<i64, ProposedRoster>,
    ) -> Self {
        Self::with_registries(Arc::new(Registries::new(records)), programmes, exclusive_pairs, proposed)
    }

    /// A context over registries already built (and possibly shared with other runs).
    pub fn with_registries(
        registries: Arc<Registries>,
        programmes: Vec<ProgrammeRules>,
        exclusive_pairs: &[(i64, i64)],
        proposed: HashMap<i64, ProposedRoster>,
    ) -> Self {
        let exclusive = exclusive_pairs.iter().flat_map(|&(a, b)| [(a, b), (b, a)]).collect();
        Self { registries, programmes: programmes.into_iter().map(|p| (p.id, p)).collect(), exclusive, proposed }
    }

    fn find(&self, kind: RegistryKind, person: &str) -> impl Iterator<Item = &Record> {
        self.registries.find(kind, person)
    }

    fn household_of(&self, person: &str) -> Option<&Record> {
        self.find(RegistryKind::Households, person).next()
    }

    fn programme(&self, id: i64) -> Option<&ProgrammeRules> {
        self.programmes.get(&id)
    }

    fn programme_name(&self, id: i64) -> String {
        self.programme(id).map_or_else(|| format!("项目{id}"), |p| p.name.clone())
    }
}

/// The first and last day of the period paid for, read from the roster's year and period text
/// (see [`RosterPeriod::bounds`]).
pub fn period_bounds(year: i32, period: &str) -> (Date, Date) {
    RosterPeriod::read(i64::from(year), period).bounds()
}

/// The first day of the period paid for (see [`period_bounds`]).
pub fn period_start(year: i32, period: &str) -> Date {
    period_bounds(year, period).0
}

/// Completed years of age on `on`.
pub fn age_on(birth: Date, on: Date) -> i32 {
    let mut age = i32::from(on.year()) - i32::from(birth.year());
    if (on.month(), on.day()) < (birth.month(), birth.day()) {
        age -= 1;
    }
    age
}

/// Rule 1 (死亡冒领): the payee died before the first day of the period paid for. Someone who died
/// during the period may have been owed part of it, so that is no hit.
pub fn dead_payee(ctx: &ScreeningContext, e: &Entry) -> Option<Hit> {
    let start = e.period.bounds().0;
    let death = ctx.find(RegistryKind::Deaths, &e.person).find(|r| r.date.is_some_and(|d| d < start))?;
    let when = death.date.map(|d| d.to_string()).unwrap_or_default();
    Some(Hit::new(
        Rule::DeadPayee,
        e,
        vec![Evidence::record(death, format!("于{when}死亡，早于发放期间开始日{start}"))],
    ))
}

/// Rule 2: the payee is on the public payroll and the programme excludes 财政供养人员.
pub fn public_payroll(ctx: &ScreeningContext, e: &Entry) -> Option<Hit> {
    if !ctx.programme(e.programme_id)?.excludes_payroll {
        return None;
    }
    let record = ctx.find(RegistryKind::Payroll, &e.person).next()?;
    let unit = record.detail.clone().unwrap_or_default();
    Some(Hit::new(Rule::PublicPayroll, e, vec![Evidence::record(record, format!("供职于{unit}"))]))
}

/// Rule 3 (优亲厚友): for a discretionary programme, the payee is a cadre of the same village or a
/// close relative a cadre of that village declared. A lead to verify, not a verdict.
pub fn cadre_relative(ctx: &ScreeningContext, e: &Entry) -> Option<Hit> {
    if !ctx.programme(e.programme_id)?.discretionary {
        return None;
    }
    let evidence: Vec<Evidence> = ctx
        .find(RegistryKind::Cadres, &e.person)
        .filter(|r| r.village.as_deref() == Some(e.village.as_str()))
        .map(|r| {
            let relation = r.relation.clone().unwrap_or_default();
            let cadre = r.detail.as_ref().map(|c| format!("，干部{c}")).unwrap_or_default();
            Evidence::record(r, format!("关系：{relation}{cadre}"))
        })
        .collect();
    (!evidence.is_empty()).then(|| Hit::new(Rule::CadreRelative, e, evidence))
}

/// Which entries a group rule gives hits to (an incremental run wants its own rosters' only).
/// A group rule still compares every entry, but works out only the groups holding a wanted one.
pub type Wanted<'a> = &'a (dyn Fn(&Entry) -> bool + Sync);

/// Rule 4: the same person paid more than once for the same programme, year, period and phase,
/// whatever the roster or village. Every such entry is a hit, naming the others.
pub fn duplicate_payments(ctx: &ScreeningContext, entries: &[Entry], wanted: Wanted<'_>) -> Vec<Hit> {
    let mut groups: FxHashMap<(i64, &RosterPeriod, Phase, &str), Vec<&Entry>> =
        FxHashMap::with_capacity_and_hasher(entries.len(), Default::default());
    for e in entries {
        groups.entry((e.programme_id, &e.period, e.phase, e.person.as_str())).or_default().push(e);
    }
    let mut hits = Vec::new();
    for group in groups.values().filter(|g| g.len() > 1) {
        for e in group.iter().filter(|e| wanted(e)) {
            let evidence = group
                .iter()
                .filter(|o| o.id != e.id)
                .map(|o| {
                    Evidence::entry(
                        o,
                        format!(
                            "{}同期另见于花名册{}（村{}）{}",
                            ctx.programme_name(o.programme_id),
                            o.roster_id,
                            o.village,
                            yuan(o.amount_fen)
                        ),
                    )
                })
                .collect();
            hits.push(Hit::new(Rule::DuplicatePayment, e, evidence));
        }
    }
    hits
}

/// Rule 5: the same person paid in the same year and period by two programmes configured as
/// mutually exclusive (e.g. 农村低保 and 城市低保).
pub fn exclusive_programmes(ctx: &ScreeningContext, entries: &[Entry], wanted: Wanted<'_>) -> Vec<Hit> {
    if ctx.exclusive.is_empty() {
        return Vec::new();
    }
    let mut groups: FxHashMap<(&RosterPeriod, Phase, &str), Vec<&Entry>> =
        FxHashMap::with_capacity_and_hasher(entries.len(), Default::default());
    for e in entries {
        groups.entry((&e.period, e.phase, e.person.as_str())).or_default().push(e);
    }
    let mut hits = Vec::new();
    for group in groups.values().filter(|g| g.len() > 1) {
        for e in group.iter().filter(|e| wanted(e)) {
            let evidence: Vec<Evidence> = group
                .iter()
                .filter(|o| ctx.exclusive.contains(&(e.programme_id, o.programme_id)))
                .map(|o| {
                    Evidence::entry(
                        o,
                        format!("同期还领取互斥项目“{}”{}", ctx.programme_name(o.programme_id), yuan(o.amount_fen)),
                    )
                })
                .collect();
            if !evidence.is_empty() {
                hits.push(Hit::new(Rule::ExclusiveProgrammes, e, evidence));
            }
        }
    }
    hits
}

/// Rule 6: one bank / 一卡通 account receives, in one year, for people whom the household
/// register places in different households. People the register does not know are left out:
/// their household is unknown, so they prove nothing.
pub fn shared_accounts(ctx: &ScreeningContext, entries: &[Entry], wanted: Wanted<'_>) -> Vec<Hit> {
    let mut by_account: FxHashMap<(&str, i32), Vec<&Entry>> =
        FxHashMap::with_capacity_and_hasher(entries.len(), Default::default());
    for e in entries {
        if let Some(a) = &e.account {
            by_account.entry((a.as_str(), e.year)).or_default().push(e);
        }
    }
    let mut hits = Vec::new();
    // Households are looked up only for accounts with an entry hits are wanted for.
    for group in by_account.values().filter(|g| g.len() > 1 && g.iter().any(|e| wanted(e))) {
        let group: Vec<(&Entry, &str)> =
            group.iter().filter_map(|e| Some((*e, ctx.household_of(&e.person)?.household.as_deref()?))).collect();
        let households: BTreeSet<&str> = group.iter().map(|(_, h)| *h).collect();
        if households.len() < 2 {
            continue;
        }
        for (e, mine) in group.iter().filter(|(e, _)| wanted(e)) {
            let mut seen = BTreeSet::new();
            let evidence: Vec<Evidence> = group
                .iter()
                .filter(|(o, h)| h != mine && seen.insert(o.person.as_str()))
                .map(|(o, h)| Evidence::entry(o, format!("同一账户还为户{h}的{}（{}）领取", o.name, o.masked_id)))
                .collect();
            hits.push(Hit::new(Rule::SharedAccount, e, evidence));
        }
    }
    hits
}

/// Rule 7: the stored ID number is not a valid ID, or the household register knows the ID under
/// another name.
pub fn identity_mismatch(ctx: &ScreeningContext, e: &Entry) -> Option<Hit> {
    if e.birth_date.is_none() {
        return Some(Hit::new(Rule::IdentityMismatch, e, vec![Evidence::note("身份证号校验不通过".into())]));
    }
    let record = ctx.household_of(&e.person)?;
    (record.name != e.name).then(|| {
        Hit::new(
            Rule::IdentityMismatch,
            e,
            vec![Evidence::record(record, format!("户籍登记姓名为“{}”，花名册为“{}”", record.name, e.name))],
        )
    })
}

/// Rule 8: the payee's age is outside the programme's bounds (e.g. 高龄补贴 from 80), from the
/// ID's birth date: too young if still below the minimum on the period's last day (someone who
/// turns 80 during the year is paid for it), too old if already above the maximum on its first.
pub fn age_out_of_range(ctx: &ScreeningContext, e: &Entry) -> Option<Hit> {
    let p = ctx.programme(e.programme_id)?;
    let birth = e.birth_date?;
    let (start, end) = e.period.bounds();
    let (at_end, at_start) = (age_on(birth, end), age_on(birth, start));
    let (on, age) = if p.min_age.is_some_and(|m| at_end < m) {
        (end, at_end)
    } else if p.max_age.is_some_and(|m| at_start > m) {
        (start, at_start)
    } else {
        return None;
    };
    let bounds = match (p.min_age, p.max_age) {
        (Some(a), Some(b)) => format!("{a}至{b}周岁"),
        (Some(a), None) => format!("{a}周岁以上"),
        (None, Some(b)) => format!("{b}周岁以下"),
        (None, None) => String::new(),
    };
    Some(Hit::new(Rule::AgeOutOfRange, e, vec![Evidence::note(format!("{on}时{age}周岁，项目要求{bounds}"))]))
}

/// Rule 9: the amount is above the programme's standard (per person or household), or, for a
/// per-mu programme, not a whole multiple of the standard per mu.
pub fn amount_off_standard(ctx: &ScreeningContext, e: &Entry) -> Option<Hit> {
    let p = ctx.programme(e.programme_id)?;
    let standard = p.standard_fen.filter(|s| *s > 0)?;
    let text = match p.unit {
        Unit::Mu if e.amount_fen % standard != 0 => {
            format!("金额{}不是亩均标准{}的整数倍", yuan(e.amount_fen), yuan(standard))
        }
        Unit::Person | Unit::Household if e.amount_fen > standard => {
            format!("金额{}高于标准{}", yuan(e.amount_fen), yuan(standard))
        }
        _ => return None,
    };
    Some(Hit::new(Rule::AmountOffStandard, e, vec![Evidence::note(text)]))
}

/// Rule 10 (from the roster diff): a paid entry whose person was not on the proposed roster it
/// settles, or paid on or before that roster's last day of publicity. A paid roster recorded
/// without a proposed roster (a historical back-load) has no diff and is not judged here.
pub fn not_publicised(ctx: &ScreeningContext, e: &Entry) -> Option<Hit> {
    if e.phase != Phase::Paid {
        return None;
    }
    let text = match ctx.proposed.get(&e.settles?) {
        None => "所结算的拟发放公示未公开".to_owned(),
        Some(p) if !p.persons.contains(&e.person) => "不在所结算的拟发放公示名单中".to_owned(),
        Some(p) => match (p.publicity_end, e.paid_on) {
            (Some(end), Some(paid)) if paid <= end => format!("公示期至{end}，却于{paid}发放"),
            _ => return None,
        },
    };
    Some(Hit::new(Rule::NotPublicised, e, vec![Evidence::note(text)]))
}

/// Rule 11: for a programme with an asset test (低保-type), the payee owns a registered vehicle or
/// is a legal representative or shareholder of a business.
pub fn asset_test(ctx: &ScreeningContext, e: &Entry) -> Option<Hit> {
    if !ctx.programme(e.programme_id)?.asset_test {
        return None;
    }
    let evidence: Vec<Evidence> = ctx
        .find(RegistryKind::Vehicles, &e.person)
        .chain(ctx.find(RegistryKind::Businesses, &e.person))
        .map(|r| {
            let detail = r.detail.clone().unwrap_or_default();
            let relation = r.relation.as_ref().map(|x| format!("（{x}）")).unwrap_or_default();
            Evidence::record(r, format!("{}{detail}{relation}", r.kind.detail_label()))
        })
        .collect();
    (!evidence.is_empty()).then(|| Hit::new(Rule::AssetTest, e, evidence))
}

/// Rule 12: more distinct recipients from one household, for one programme, year, period and
/// phase, than the household register's member count (the declared 人口数, else the people listed).
pub fn household_overcount(ctx: &ScreeningContext, entries: &[Entry], wanted: Wanted<'_>) -> Vec<Hit> {
    let mut groups: FxHashMap<(i64, &RosterPeriod, Phase, &str), Vec<&Entry>> =
        FxHashMap::with_capacity_and_hasher(entries.len(), Default::default());
    for e in entries {
        if let Some(h) = ctx.household_of(&e.person).and_then(|r| r.household.as_deref()) {
            groups.entry((e.programme_id, &e.period, e.phase, h)).or_default().push(e);
        }
    }
    let mut hits = Vec::new();
    for ((.., household), group) in groups.iter().filter(|(_, g)| g.iter().any(|e| wanted(e))) {
        let persons: BTreeSet<&str> = group.iter().map(|e| e.person.as_str()).collect();
        let Some((declared, listed)) = ctx.registries.household_size(household) else { continue };
        let members = declared.unwrap_or(i64::try_from(listed).unwrap_or(i64::MAX));
        if i64::try_from(persons.len()).unwrap_or(i64::MAX) <= members {
            continue;
        }
        for e in group.iter().filter(|e| wanted(e)) {
            let text = format!("户{household}登记人口{members}人，本期该户有{}人领取", persons.len());
            hits.push(Hit::new(Rule::HouseholdOvercount, e, vec![Evidence::note(text)]));
        }
    }
    hits
}

/// Runs every rule. With `only`, hits are kept for entries of those rosters alone (an
/// incremental run after a publication), though cross-roster rules still see every entry.
/// Hits come out ordered by entry and rule. The group rules run on a thread of their own
/// beside the per-entry rules.
pub fn screen(ctx: &ScreeningContext, entries: &[Entry], only: Option<&HashSet<i64>>) -> Vec<Hit> {
    let wanted = |e: &Entry| only.is_none_or(|set| set.contains(&e.roster_id));
    let wanted: Wanted<'_> = &wanted;
    let per_entry: [fn(&ScreeningContext, &Entry) -> Option<Hit>; 8] = [
        dead_payee,
        public_payroll,
        cadre_relative,
        identity_mismatch,
        age_out_of_range,
        amount_off_standard,
        not_publicised,
        asset_test,
    ];
    // The group rules run one after another beside the per-entry rules (one group rule's map of
    // every entry at a time: a county's full pass holds ten million).
    let mut hits = std::thread::scope(|scope| {
        let grouped = scope.spawn(|| {
            [duplicate_payments, exclusive_programmes, shared_accounts, household_overcount]
                .into_iter()
                .flat_map(|rule| rule(ctx, entries, wanted))
                .collect::<Vec<_>>()
        });
        let mut hits: Vec<Hit> = entries
            .iter()
            .filter(|e| wanted(e))
            .flat_map(|e| per_entry.iter().filter_map(move |rule| rule(ctx, e)))
            .collect();
        hits.extend(grouped.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)));
        hits
    });
    hits.sort_by_key(|h| (h.entry, h.rule));
    hits
}

fn yuan(fen: i64) -> String {
    format!("{}.{:02}元", fen / 100, fen % 100)
}

/// What kind of 政策找人 lead a person is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LeadKind {
    /// Old enough for an age-based programme, registered, alive, and not paid it this year.
    AgeEligible,
    /// Paid a recurring programme until some year, then nothing, while still registered.
    Lapsed,
}

impl LeadKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AgeEligible => "age_eligible",
            Self::Lapsed => "lapsed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::AgeEligible, Self::Lapsed].into_iter().find(|k| k.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::AgeEligible => "符合年龄条件未享受",
            Self::Lapsed => "中断领取",
        }
    }
}

/// Where a 政策找人 lead stands: open until the township records how contacting them ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LeadStatus {
    /// 待联系
    Open,
    /// 已纳入享受
    Enrolled,
    /// 经核实不符合
    NotEligible,
    /// 无法联系
    Unreachable,
}

impl LeadStatus {
    pub const ALL: [Self; 4] = [Self::Open, Self::Enrolled, Self::NotEligible, Self::Unreachable];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Enrolled => "enrolled",
            Self::NotEligible => "not_eligible",
            Self::Unreachable => "unreachable",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Open => "待联系",
            Self::Enrolled => "已纳入享受",
            Self::NotEligible => "经核实不符合",
            Self::Unreachable => "无法联系",
        }
    }

    /// A contact's outcome as the form names it: any status but open.
    pub fn outcome(s: &str) -> Option<Self> {
        Self::parse(s).filter(|st| *st != Self::Open)
    }
}

/// One 政策找人 lead: a person the township should contact about a programme.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lead {
    pub kind: LeadKind,
    pub person: String,
    pub name: String,
    pub masked_id: String,
    pub village: String,
    pub programme_id: i64,
    pub detail: String,
}

/// 政策找人 by age: everyone in the household register (with a village, not in the deaths
/// registry) whose age on 1 January of `year` is within an age-bounded programme's range, and who
/// has no entry of that programme in `year`.
pub fn age_eligible_leads(ctx: &ScreeningContext, entries: &[Entry], year: i32) -> Vec<Lead> {
    let paid: HashSet<(i64, &str)> =
        entries.iter().filter(|e| e.year == year).map(|e| (e.programme_id, e.person.as_str())).collect();
    let on = period_start(year, "");
    let mut programmes: Vec<&ProgrammeRules> = ctx.programmes.values().filter(|p| p.min_age.is_some()).collect();
    programmes.sort_by_key(|p| p.id);
    let mut leads = Vec::new();
    for r in ctx.registries.records.iter().filter(|r| r.kind == RegistryKind::Households) {
        let (Some(birth), Some(village)) = (r.birth_date, &r.village) else { continue };
        if ctx.find(RegistryKind::Deaths, &r.person).next().is_some() {
            continue;
        }
        let age = age_on(birth, on);
        for p in &programmes {
            let fits = p.min_age.is_none_or(|m| age >= m) && p.max_age.is_none_or(|m| age <= m);
            if fits && !paid.contains(&(p.id, r.person.as_str())) {
                leads.push(Lead {
                    kind: LeadKind::AgeEligible,
                    person: r.person.clone(),
                    name: r.name.clone(),
                    masked_id: r.masked_id.clone(),
                    village: village.clone(),
                    programme_id: p.id,
                    detail: format!("{year}年1月1日{age}周岁，本年未领取{}", p.name),
                });
            }
        }
    }
    leads
}

/// 政策找人 by lapse: someone paid a recurring programme up to a year before the latest year the
/// programme paid anyone in their village, still in the household register and not dead.
pub fn lapsed_leads(ctx: &ScreeningContext, entries: &[Entry]) -> Vec<Lead> {
    let mut last_in_village: HashMap<(i64, &str), i32> = HashMap::new();
    let mut last_of_person: BTreeMap<(i64, &str), &Entry> = BTreeMap::new();
    for e in entries.iter().filter(|e| ctx.programme(e.programme_id).is_some_and(|p| p.recurring)) {
        let v = last_in_village.entry((e.programme_id, e.village.as_str())).or_insert(e.year);
        *v = (*v).max(e.year);
        let slot = last_of_person.entry((e.programme_id, e.person.as_str())).or_insert(e);
        if e.year > slot.year {
            *slot = e;
        }
    }
    let mut leads = Vec::new();
    for ((programme, person), e) in last_of_person {
        let Some(&latest) = last_in_village.get(&(programme, e.village.as_str())) else { continue };
        if e.year >= latest
            || ctx.household_of(person).is_none()
            || ctx.find(RegistryKind::Deaths, person).next().is_some()
        {
            continue;
        }
        leads.push(Lead {
            kind: LeadKind::Lapsed,
            person: person.to_owned(),
            name: e.name.clone(),
            masked_id: e.masked_id.clone(),
            village: e.village.clone(),
            programme_id: programme,
            detail: format!("{}领取至{}年，本村{}年仍在发放", ctx.programme_name(programme), e.year, latest),
        });
    }
    leads
}

#[cfg(test)]
mod tests {
    use super::*;

    const VILLAGE: &str = "620922100001";

    fn date(y: i16, m: i8, d: i8) -> Date {
        Date::new(y, m, d).unwrap_or(Date::constant(1900, 1, 1))
    }

    fn programme(id: i64) -> ProgrammeRules {
        ProgrammeRules {
            id,
            name: format!("项目{id}"),
            unit: Unit::Person,
            standard_fen: None,
            recurring: true,
            excludes_payroll: false,
            discretionary: false,
            min_age: None,
            max_age: None,
            asset_test: false,
        }
    }

    fn entry(id: i64, person: &str) -> Entry {
        Entry {
            id,
            roster_id: 1,
            programme_id: 1,
            village: VILLAGE.into(),
            year: 2025,
            period: RosterPeriod::read(2025, "2025年度"),
            phase: Phase::Proposed,
            person: person.into(),
            name: format!("人{person}"),
            masked_id: "620922********0011".into(),
            birth_date: Some(date(1960, 6, 1)),
            account: None,
            amount_fen: 60_000,
            settles: None,
            paid_on: None,
        }
    }

    fn record(id: i64, kind: RegistryKind, person: &str) -> Record {
        Record {
            id,
            kind,
            person: person.into(),
            name: format!("人{person}"),
            masked_id: "620922********0011".into(),
            birth_date: Some(date(1960, 6, 1)),
            village: Some(VILLAGE.into()),
            household: None,
            members: None,
            relation: None,
            detail: None,
            date: None,
        }
    }

    fn ctx(records: Vec<Record>, programmes: Vec<ProgrammeRules>) -> ScreeningContext {
        ScreeningContext::new(records, programmes, &[], HashMap::new())
    }

    #[test]
    fn periods_start_on_their_first_day() {
        assert_eq!(period_start(2025, "2025年度"), date(2025, 1, 1));
        assert_eq!(period_start(2025, "2025年第三季度"), date(2025, 7, 1));
        assert_eq!(period_start(2025, "2025年4季度"), date(2025, 10, 1));
        assert_eq!(period_start(2025, "下半年"), date(2025, 7, 1));
        assert_eq!(period_start(2025, "2025年11月"), date(2025, 11, 1));
        assert_eq!(period_bounds(2025, "2025年度").1, date(2025, 12, 31));
        assert_eq!(period_bounds(2024, "2024年第一季度").1, date(2024, 3, 31));
        assert_eq!(period_bounds(2024, "2024年2月").1, date(2024, 2, 29));
        assert_eq!(age_on(date(1945, 3, 2), date(2025, 3, 1)), 79);
        assert_eq!(age_on(date(1945, 3, 1), date(2025, 3, 1)), 80);
    }

    #[test]
    fn rule_1_someone_dead_before_the_period_is_a_hit_but_not_someone_who_died_during_it() {
        let mut dead = record(10, RegistryKind::Deaths, "a");
        dead.date = Some(date(2024, 12, 31));
        let mut during = record(11, RegistryKind::Deaths, "b");
        during.date = Some(date(2025, 1, 1));
        let c = ctx(vec![dead, during], vec![programme(1)]);
        let hit = dead_payee(&c, &entry(1, "a"));
        assert_eq!(hit.as_ref().map(|h| (h.rule, h.evidence[0].record)), Some((Rule::DeadPayee, Some(10))));
        assert_eq!(dead_payee(&c, &entry(2, "b")), None);
        assert_eq!(dead_payee(&c, &entry(3, "c")), None);
    }

    #[test]
    fn rule_2_the_payroll_counts_only_for_programmes_that_exclude_it() {
        let mut excluding = programme(1);
        excluding.excludes_payroll = true;
        let c = ctx(vec![record(10, RegistryKind::Payroll, "a")], vec![excluding, programme(2)]);
        assert!(public_payroll(&c, &entry(1, "a")).is_some());
        let mut other = entry(2, "a");
        other.programme_id = 2;
        assert_eq!(public_payroll(&c, &other), None);
        assert_eq!(public_payroll(&c, &entry(3, "b")), None);
    }

    #[test]
    fn rule_3_a_cadre_relative_in_the_same_village_is_a_lead_but_not_in_another_village() {
        let mut p = programme(1);
        p.discretionary = true;
        let mut here = record(10, RegistryKind::Cadres, "a");
        here.relation = Some("配偶".into());
        let mut elsewhere = record(11, RegistryKind::Cadres, "b");
        elsewhere.village = Some("620922100002".into());
        let c = ctx(vec![here, elsewhere], vec![p]);
        let hit = cadre_relative(&c, &entry(1, "a"));
        assert_eq!(hit.as_ref().map(|h| h.severity), Some(Severity::Low));
        assert!(hit.is_some_and(|h| h.evidence[0].text.contains("配偶")));
        assert_eq!(cadre_relative(&c, &entry(2, "b")), None);
    }

    #[test]
    fn rule_4_the_same_person_twice_in_one_period_is_a_hit_but_not_in_two_periods() {
        let c = ctx(vec![], vec![programme(1)]);
        let mut twice = entry(2, "a");
        twice.roster_id = 2;
        twice.village = "620922100002".into();
        let mut next_period = entry(3, "b");
        next_period.period = RosterPeriod::read(2026, "2026年度");
        let hits = duplicate_payments(&c, &[entry(1, "a"), twice, entry(4, "b"), next_period], &|_| true);
        let mut found: Vec<i64> = hits.iter().map(|h| h.entry).collect();
        found.sort_unstable();
        assert_eq!(found, [1, 2]);
        assert!(hits.iter().all(|h| h.evidence.len() == 1));
    }

    #[test]
    fn rules_4_5_and_12_compare_periods_however_they_are_spelt() {
        let exclusive = ScreeningContext::new(vec![], vec![programme(1), programme(2)], &[(1, 2)], HashMap::new());
        let in_month = |id: i64, roster: i64, text: &str| {
            let mut e = entry(id, "a");
            e.roster_id = roster;
            e.period = RosterPeriod::read(2025, text);
            e
        };
        let march = [in_month(1, 1, "2025年3月"), in_month(2, 2, "2025年03月")];
        assert_eq!(duplicate_payments(&exclusive, &march, &|_| true).len(), 2, "one month, two spellings");
        let mut other = march.clone();
        other[1].programme_id = 2;
        assert_eq!(exclusive_programmes(&exclusive, &other, &|_| true).len(), 2);
        let april = [in_month(1, 1, "2025年3月"), in_month(2, 2, "2025-04")];
        assert!(duplicate_payments(&exclusive, &april, &|_| true).is_empty());
    }

    #[test]
    fn rule_5_exclusive_programmes_in_one_period_are_hits_but_compatible_ones_are_not() {
        let c =
            ScreeningContext::new(vec![], vec![programme(1), programme(2), programme(3)], &[(1, 2)], HashMap::new());
        let mut urban = entry(2, "a");
        urban.programme_id = 2;
        let mut other = entry(4, "b");
        other.programme_id = 3;
        let hits = exclusive_programmes(&c, &[entry(1, "a"), urban, entry(3, "b"), other], &|_| true);
        let found: BTreeSet<i64> = hits.iter().map(|h| h.entry).collect();
        assert_eq!(found, BTreeSet::from([1, 2]));
    }

    #[test]
    fn rule_6_one_account_for_two_households_is_a_hit_but_not_within_one_household_nor_unregistered() {
        let mut records = Vec::new();
        for (i, (person, household)) in
            [("a", "H1"), ("b", "H2"), ("c", "H3"), ("d", "H3"), ("e", "H4")].into_iter().enumerate()
        {
            let mut r = record(i as i64 + 10, RegistryKind::Households, person);
            r.household = Some(household.into());
            records.push(r);
        }
        let c = ctx(records, vec![programme(1)]);
        let with_account = |id, person: &str, account: &str| {
            let mut e = entry(id, person);
            e.account = Some(account.into());
            e
        };
        let mut next_year = with_account(7, "e", "X");
        next_year.year = 2026;
        let hits = shared_accounts(
            &c,
            &[
                with_account(1, "a", "X"),
                with_account(2, "b", "X"),
                with_account(3, "c", "Y"),
                with_account(4, "d", "Y"),
                with_account(5, "u", "Y"),
                with_account(6, "v", "Z"),
                next_year,
            ],
            &|_| true,
        );
        let found: BTreeSet<i64> = hits.iter().map(|h| h.entry).collect();
        assert_eq!(found, BTreeSet::from([1, 2]));
    }

    #[test]
    fn rule_7_an_invalid_id_or_another_name_is_a_hit_but_the_same_name_is_not() {
        let mut r = record(10, RegistryKind::Households, "a");
        r.name = "张三".into();
        let c = ctx(vec![r], vec![programme(1)]);
        let mut named = entry(1, "a");
        named.name = "张山".into();
        assert!(identity_mismatch(&c, &named).is_some_and(|h| h.evidence[0].text.contains("张三")));
        named.name = "张三".into();
        assert_eq!(identity_mismatch(&c, &named), None);
        let mut invalid = entry(2, "b");
        invalid.birth_date = None;
        assert!(identity_mismatch(&c, &invalid).is_some());
    }

    #[test]
    fn rule_8_the_minimum_age_is_reached_within_the_period_and_the_maximum_not_passed_before_it() {
        let mut p = programme(1);
        p.min_age = Some(80);
        p.max_age = Some(90);
        let c = ctx(vec![], vec![p]);
        let born = |id, d: Date| {
            let mut e = entry(id, "a");
            e.birth_date = Some(d);
            e
        };
        assert!(age_out_of_range(&c, &born(1, date(1946, 1, 1))).is_some(), "79 on 2025-12-31");
        assert_eq!(age_out_of_range(&c, &born(2, date(1945, 12, 31))), None, "turns 80 on 2025-12-31");
        assert_eq!(age_out_of_range(&c, &born(3, date(1934, 12, 31))), None, "90 on 2025-01-01");
        assert!(age_out_of_range(&c, &born(4, date(1934, 1, 1))).is_some(), "already 91 on 2025-01-01");
    }

    #[test]
    fn rule_9_above_the_standard_or_not_a_multiple_per_mu_is_a_hit() {
        let mut per_person = programme(1);
        per_person.standard_fen = Some(60_000);
        let mut per_mu = programme(2);
        per_mu.unit = Unit::Mu;
        per_mu.standard_fen = Some(9_500);
        let c = ctx(vec![], vec![per_person, per_mu]);
        let mut above = entry(1, "a");
        above.amount_fen = 60_001;
        assert!(amount_off_standard(&c, &above).is_some());
        assert_eq!(amount_off_standard(&c, &entry(2, "b")), None, "exactly the standard");
        let mut mu = entry(3, "c");
        mu.programme_id = 2;
        mu.amount_fen = 9_500 * 7;
        assert_eq!(amount_off_standard(&c, &mu), None);
        mu.amount_fen += 1;
        assert!(amount_off_standard(&c, &mu).is_some());
    }

    #[test]
    fn rule_10_paid_without_or_before_the_end_of_publicity_is_a_hit() {
        let proposed = HashMap::from([(
            7,
            ProposedRoster { publicity_end: Some(date(2025, 3, 10)), persons: HashSet::from(["a".to_owned()]) },
        )]);
        let c = ScreeningContext::new(vec![], vec![programme(1)], &[], proposed);
        let paid = |id, person: &str, settles: Option<i64>, on: Date| {
            let mut e = entry(id, person);
            e.phase = Phase::Paid;
            e.settles = settles;
            e.paid_on = Some(on);
            e
        };
        assert_eq!(not_publicised(&c, &paid(1, "a", Some(7), date(2025, 3, 11))), None, "the day after publicity");
        assert!(not_publicised(&c, &paid(2, "a", Some(7), date(2025, 3, 10))).is_some(), "on the last day");
        assert!(not_publicised(&c, &paid(3, "b", Some(7), date(2025, 3, 11))).is_some(), "not on the list");
        assert_eq!(not_publicised(&c, &paid(4, "a", None, date(2025, 3, 11))), None, "a back-loaded roster");
        assert_eq!(not_publicised(&c, &entry(5, "b")), None, "a proposed entry is the publicity itself");
    }

    #[test]
    fn rule_11_a_vehicle_or_business_owner_fails_the_asset_test_only_where_it_applies() {
        let mut dibao = programme(1);
        dibao.asset_test = true;
        let mut car = record(10, RegistryKind::Vehicles, "a");
        car.detail = Some("小型轿车".into());
        let c = ctx(vec![car, record(11, RegistryKind::Businesses, "b")], vec![dibao, programme(2)]);
        assert!(asset_test(&c, &entry(1, "a")).is_some_and(|h| h.evidence[0].text.contains("小型轿车")));
        assert!(asset_test(&c, &entry(2, "b")).is_some());
        assert_eq!(asset_test(&c, &entry(3, "c")), None);
        let mut other = entry(4, "a");
        other.programme_id = 2;
        assert_eq!(asset_test(&c, &other), None);
    }

    #[test]
    fn rule_12_more_recipients_than_members_is_a_hit_but_as_many_is_not() {
        let mut records = Vec::new();
        for (i, (person, household, members)) in
            [("a", "H1", Some(2)), ("b", "H1", None), ("c", "H1", None), ("d", "H2", None), ("e", "H2", None)]
                .into_iter()
                .enumerate()
        {
            let mut r = record(i as i64 + 10, RegistryKind::Households, person);
            r.household = Some(household.into());
            r.members = members;
            records.push(r);
        }
        let c = ctx(records, vec![programme(1)]);
        let entries: Vec<Entry> =
            ["a", "b", "c", "d", "e"].iter().enumerate().map(|(i, p)| entry(i as i64 + 1, p)).collect();
        let found: BTreeSet<i64> = household_overcount(&c, &entries, &|_| true).iter().map(|h| h.entry).collect();
        assert_eq!(found, BTreeSet::from([1, 2, 3]));
        let mut members = c.registries.household_members("b");
        members.sort_unstable();
        assert_eq!(members, ["a", "b", "c"]);
        assert!(c.registries.household_members("z").is_empty(), "unregistered");
        assert_eq!((c.registries.household("d"), c.registries.household("z")), (Some("H2"), None));
    }

    #[test]
    fn an_incremental_screen_keeps_hits_of_the_named_rosters_only() {
        let mut dead = record(10, RegistryKind::Deaths, "a");
        dead.date = Some(date(2020, 1, 1));
        let c = ctx(vec![dead], vec![programme(1)]);
        let mut elsewhere = entry(2, "a");
        elsewhere.roster_id = 2;
        let entries = [entry(1, "a"), elsewhere];
        let all = screen(&c, &entries, None);
        assert_eq!(
            all.iter().map(|h| (h.entry, h.rule)).collect::<Vec<_>>(),
            [(1, Rule::DeadPayee), (1, Rule::DuplicatePayment), (2, Rule::DeadPayee), (2, Rule::DuplicatePayment)]
        );
        let only = HashSet::from([2]);
        let some = screen(&c, &entries, Some(&only));
        assert!(some.iter().all(|h| h.entry == 2) && some.len() == 2);
    }

    #[test]
    fn handling_goes_new_verifying_then_a_conclusion_with_a_note() {
        let step = check_handling(HitStatus::New, HitStatus::Verifying, "").map(|t| (t.from(), t.to()));
        assert_eq!(step, Ok((HitStatus::New, HitStatus::Verifying)));
        assert!(check_handling(HitStatus::New, HitStatus::Confirmed, "查实").is_err());
        assert!(check_handling(HitStatus::Verifying, HitStatus::Confirmed, " ").is_err());
        assert!(check_handling(HitStatus::Verifying, HitStatus::Dismissed, "系同名不同人").is_ok());
        assert!(check_handling(HitStatus::Confirmed, HitStatus::Dismissed, "x").is_err());
    }

    #[test]
    fn the_aged_without_allowance_are_found_but_not_the_dead_nor_the_paid() {
        let mut p = programme(5);
        p.min_age = Some(80);
        let mut old = record(10, RegistryKind::Households, "a");
        old.birth_date = Some(date(1940, 5, 1));
        let mut old_paid = old.clone();
        old_paid.id = 11;
        old_paid.person = "b".into();
        let mut old_dead = old.clone();
        old_dead.id = 12;
        old_dead.person = "c".into();
        let mut death = record(13, RegistryKind::Deaths, "c");
        death.date = Some(date(2024, 1, 1));
        let young = record(14, RegistryKind::Households, "d");
        let c = ctx(vec![old, old_paid, old_dead, death, young], vec![p]);
        let mut paid = entry(1, "b");
        paid.programme_id = 5;
        let leads = age_eligible_leads(&c, &[paid], 2025);
        assert_eq!(leads.iter().map(|l| l.person.as_str()).collect::<Vec<_>>(), ["a"]);
    }

    #[test]
    fn a_lapsed_recipient_still_registered_is_found_but_not_one_who_moved_away() {
        let c = ctx(vec![record(10, RegistryKind::Households, "a")], vec![programme(1)]);
        let mut entries = Vec::new();
        for (id, person, year) in [(1, "a", 2022), (2, "b", 2022), (3, "c", 2022), (4, "c", 2025)] {
            let mut e = entry(id, person);
            e.year = year;
            entries.push(e);
        }
        let leads = lapsed_leads(&c, &entries);
        assert_eq!(leads.iter().map(|l| l.person.as_str()).collect::<Vec<_>>(), ["a"]);
        assert!(leads[0].detail.contains("2022"));
    }

    #[test]
    fn age_bounds_are_whole_years_in_order_or_empty() {
        assert_eq!(age_bounds("80", ""), Ok((Some(80), None)));
        assert_eq!(age_bounds(" 60 ", "79"), Ok((Some(60), Some(79))));
        assert_eq!(age_bounds("", ""), Ok((None, None)));
        assert_eq!(age_bounds("70", "70"), Ok((Some(70), Some(70))), "one age is a range too");
        assert!(age_bounds("80", "79").unwrap_err().starts_with("最高年龄"));
        assert!(age_bounds("八十", "").unwrap_err().starts_with("最低年龄"));
        assert!(age_bounds("", "151").unwrap_err().starts_with("最高年龄"));
        assert!(age_bounds("-1", "").unwrap_err().starts_with("最低年龄"));
    }

    proptest::proptest! {
        /// An incremental run finds, for its rosters' entries, exactly the hits a run over every
        /// roster finds for them (the group rules skip groups without a wanted entry).
        #[test]
        fn a_scoped_screen_finds_what_a_full_screen_finds_for_the_scope(
            people in proptest::collection::vec((proptest::option::of(0u8..4), proptest::option::of(1i64..3)), 8),
            rows in proptest::collection::vec((0u8..8, 1i64..4, 1i64..3, 0u8..2, proptest::bool::ANY, proptest::option::of(0u8..4)), 0..40),
            scope in proptest::collection::btree_set(1i64..4, 0..3),
        ) {
            let records: Vec<Record> = people
                .iter()
                .enumerate()
                .filter_map(|(i, &(household, members))| {
                    let household = household?;
                    Some(Record {
                        household: Some(format!("H{household}")),
                        members,
                        ..record(i64::try_from(i).unwrap(), RegistryKind::Households, &format!("p{i}"))
                    })
                })
                .collect();
            let c = ScreeningContext::new(records, vec![programme(1), programme(2)], &[(1, 2)], HashMap::new());
            let entries: Vec<Entry> = rows
                .iter()
                .enumerate()
                .map(|(i, &(person, roster, programme_id, year, paid, account))| {
                    let year = 2024 + i32::from(year);
                    Entry {
                        roster_id: roster,
                        programme_id,
                        year,
                        period: RosterPeriod::read(i64::from(year), &format!("{year}年度")),
                        phase: if paid { Phase::Paid } else { Phase::Proposed },
                        account: account.map(|a| format!("A{a}")),
                        ..entry(i64::try_from(i).unwrap() + 1, &format!("p{person}"))
                    }
                })
                .collect();
            let rosters: HashSet<i64> = scope.into_iter().collect();
            let wanted: HashSet<i64> = entries.iter().filter(|e| rosters.contains(&e.roster_id)).map(|e| e.id).collect();
            let mut full = screen(&c, &entries, None);
            full.retain(|h| wanted.contains(&h.entry));
            proptest::prop_assert_eq!(screen(&c, &entries, Some(&rosters)), full);
        }
    }

    proptest::proptest! {
        /// The index answers what a search through every record answers.
        #[test]
        fn the_index_finds_what_a_full_search_finds(
            rows in proptest::collection::vec((0usize..6, 0u8..8, proptest::option::of(0u8..4), proptest::option::of(1i64..5)), 0..60),
        ) {
            let records: Vec<Record> = rows
                .iter()
                .enumerate()
                .map(|(i, &(kind, person, household, members))| Record {
                    household: household.map(|h| format!("H{h}")),
                    members,
                    ..record(i64::try_from(i).unwrap(), RegistryKind::ALL[kind], &format!("p{person}"))
                })
                .collect();
            let registries = Registries::new(records.clone());
            for kind in RegistryKind::ALL {
                for person in (0..9).map(|p| format!("p{p}")) {
                    let found: Vec<i64> = registries.find(kind, &person).map(|r| r.id).collect();
                    let searched: Vec<i64> = records.iter().filter(|r| r.kind == kind && r.person == person).map(|r| r.id).collect();
                    proptest::prop_assert_eq!(found, searched);
                }
            }
            for h in (0..5).map(|h| format!("H{h}")) {
                let listed: Vec<&Record> = records.iter().filter(|r| r.kind == RegistryKind::Households && r.household.as_deref() == Some(h.as_str())).collect();
                let expected = (!listed.is_empty()).then(|| (listed.iter().rev().find_map(|r| r.members), listed.len()));
                proptest::prop_assert_eq!(registries.household_size(&h), expected);
            }
        }
    }
}
