//! Demo 惠农资金 (subsidy) data: six programmes with their policy basis, published proposed and
//! paid rosters in villages of 广至藏族乡 and three other townships, and the cases a visitor
//! should be able to try: a villager whose 2014–2018 库区移民后期扶持 payments are missing, a paid
//! roster with explained differences, a roster in its publicity period with objections, rosters
//! waiting for the clerk and the reviewer, a corrected and a withdrawn roster.
//!
//! Every person, ID and account number is invented. IDs carry a valid GB 11643 check digit so the
//! self-query accepts them; they are sealed exactly as the server seals an upload. Loading is
//! skipped when the programmes already exist, so a second `xiaowei demo` adds nothing.

use std::collections::HashSet;
use xiaowei_core::subsidy::{self, RosterAction, RosterStatus};

use anyhow::{Context, Result};
use jiff::ToSpan;
use jiff::civil::Date;
use xiaowei_core::resident_id::check_char;
use xiaowei_core::roster::RosterLine;
use xiaowei_core::subsidy::{DifferenceKind, Phase, Unit};
use xiaowei_core::tracked::{Rating, Satisfaction};
use xiaowei_core::{Fen, Phone, ResidentId};
use xiaowei_server::AppState;
use xiaowei_server::app::objections;
use xiaowei_server::app::rosters::{refresh_differences, seal_line};
use xiaowei_server::web::dates::shanghai_date;
use xiaowei_store::{NewProgramme, NewRoster, Store};

use crate::demo::{GIVEN, GROUP_NAMES, Lcg, SURNAMES};

/// 广至藏族乡 and its first village, 卓园村, where the demo clerk works.
const GUANGZHI: &str = "620922214";
const ZHUOYUAN: &str = "620922214200";
/// Other townships with demo rosters: 渊泉镇, 西湖镇, 梁湖乡.
const OTHER_TOWNSHIPS: [&str; 3] = ["620922100", "620922106", "620922216"];

const GRASSLAND: usize = 0;
const RESETTLEMENT: usize = 1;
const FARMLAND: usize = 2;
const DIBAO: usize = 3;
const ELDERLY: usize = 4;
const DISABILITY: usize = 5;

/// Years of the ordinary demo rosters (both phases).
const YEARS: std::ops::RangeInclusive<i16> = 2022..=2025;
/// The 库区移民后期扶持 rosters of 卓园村 cover the whole 20-year support period.
const SEED_YEARS: std::ops::RangeInclusive<i16> = 2006..=2025;
/// The years the seed villager is missing from them.
const SEED_GAP: std::ops::RangeInclusive<i16> = 2014..=2018;
const SEED_NAME: &str = "马玉兰";

/// Per-mu rates used to compute the per-household amounts of the per-mu programmes.
const GRASSLAND_FEN_PER_MU: i64 = 750;
const FARMLAND_FEN_PER_TENTH_MU: i64 = 950;

struct ProgrammeSpec {
    name: &'static str,
    department: &'static str,
    basis: &'static str,
    unit: Unit,
    standard_fen: Option<i64>,
    rule: &'static str,
    from_year: i64,
    to_year: Option<i64>,
    /// Month in which the yearly proposed roster goes up.
    month: i8,
    /// Birth years of the people it pays.
    born: (i16, i16),
}

const PROGRAMMES: [ProgrammeSpec; 6] = [
    ProgrammeSpec {
        name: "草原生态保护补助奖励",
        department: "县农业农村局",
        basis: "《财政部 农业部关于印发〈新一轮草原生态保护补助奖励政策实施指导意见（2016—2020年）〉的通知》\
                （财农〔2016〕42号）；《财政部 农业农村部 国家林草局关于印发〈第三轮草原生态保护补助奖励政策\
                实施指导意见〉的通知》（财农〔2021〕82号）；《甘肃省草原生态保护补助奖励政策实施方案》",
        unit: Unit::Mu,
        standard_fen: None,
        rule: "对禁牧区草原按承包面积发放禁牧补助，每亩7.5元；草畜平衡区每亩2.5元。按户发放，\
               金额为承包面积乘以补助标准，通过“一卡通”直接发放到户。",
        from_year: 2011,
        to_year: Some(2025),
        month: 7,
        born: (1950, 1985),
    },
    ProgrammeSpec {
        name: "库区移民后期扶持",
        department: "县水务局",
        basis: "《国务院关于完善大中型水库移民后期扶持政策的意见》（国发〔2006〕17号）；\
                《甘肃省大中型水库移民后期扶持政策实施方案》",
        unit: Unit::Person,
        standard_fen: Some(60_000),
        rule: "对纳入扶持范围的大中型水库移民，每人每年补助600元，扶持期限20年，\
               按年度核定人口通过“一卡通”发放到人。",
        from_year: 2006,
        to_year: Some(2025),
        month: 9,
        born: (1945, 1975),
    },
    ProgrammeSpec {
        name: "耕地地力保护补贴",
        department: "县农业农村局",
        basis: "《财政部 农业部关于全面推开农业“三项补贴”改革工作的通知》（财农〔2016〕26号）；\
                《甘肃省耕地地力保护补贴实施方案》",
        unit: Unit::Mu,
        standard_fen: None,
        rule: "以二轮承包耕地确权面积为依据，按亩发放到户；每亩补贴标准由县里按当年下达资金测算\
               （演示数据按每亩95元）。已改变用途、长期抛荒或被征占的耕地不予补贴。",
        from_year: 2016,
        to_year: None,
        month: 4,
        born: (1950, 1985),
    },
    ProgrammeSpec {
        name: "城乡居民最低生活保障",
        department: "县民政局",
        basis: "《社会救助暂行办法》（国务院令第649号）；《甘肃省城乡居民最低生活保障办法》；\
                《瓜州县农村最低生活保障分类施保实施细则》",
        unit: Unit::Person,
        standard_fen: Some(540_000),
        rule: "家庭人均收入低于当地农村低保标准的，按分类施保发放：一类对象每人每年5400元，\
               二类对象4200元，三类对象2400元，按户发放到“一卡通”。",
        from_year: 2008,
        to_year: None,
        month: 11,
        born: (1940, 2000),
    },
    ProgrammeSpec {
        name: "高龄补贴",
        department: "县民政局",
        basis: "《中华人民共和国老年人权益保障法》；《甘肃省人民政府办公厅关于建立80周岁以上\
                高龄老人补贴制度的通知》",
        unit: Unit::Person,
        standard_fen: Some(120_000),
        rule: "具有本县户籍、年满80周岁以上的老年人，每人每月100元，按年发放。",
        from_year: 2012,
        to_year: None,
        month: 3,
        born: (1926, 1945),
    },
    ProgrammeSpec {
        name: "残疾人两项补贴",
        department: "县残疾人联合会",
        basis: "《国务院关于全面建立困难残疾人生活补贴和重度残疾人护理补贴制度的意见》（国发〔2015〕52号）；\
                《甘肃省困难残疾人生活补贴和重度残疾人护理补贴实施办法》",
        unit: Unit::Person,
        standard_fen: Some(240_000),
        rule: "困难残疾人生活补贴每人每月100元；一、二级重度残疾人护理补贴每人每月100元；\
               同时符合两项条件的两项补贴同时享受。",
        from_year: 2016,
        to_year: None,
        month: 5,
        born: (1945, 2000),
    },
];

const FEMALE_GIVEN: &[&str] = &["秀英", "玉兰", "桂花", "春梅", "红霞", "海燕", "淑珍", "丽娟"];

/// One person on a roster, with what they are paid.
#[derive(Clone)]
struct Beneficiary {
    name: String,
    id: ResidentId,
    group: &'static str,
    account: String,
    amount_fen: i64,
    note: Option<String>,
}

/// Invents people: names, valid and unique ID numbers, accounts and amounts.
struct People {
    rng: Lcg,
    used: HashSet<String>,
}

impl People {
    fn resident_id(&mut self, born: Date, female: bool) -> Result<ResidentId> {
        loop {
            let mut sequence = 1 + self.rng.next(998);
            if sequence.is_multiple_of(2) != female {
                sequence += 1;
            }
            let id = make_id(born, sequence)?;
            if self.used.insert(id.expose().to_owned()) {
                return Ok(id);
            }
        }
    }

    fn account(&mut self) -> String {
        format!("622848{:06}{:07}", self.rng.next(1_000_000), self.rng.next(10_000_000))
    }

    fn name(&mut self, surname: Option<&str>, female: bool) -> String {
        let given: Vec<&str> = GIVEN.iter().copied().filter(|g| FEMALE_GIVEN.contains(g) == female).collect();
        let surname = surname.unwrap_or_else(|| SURNAMES[self.rng.next(SURNAMES.len())]);
        format!("{surname}{}", given[self.rng.next(given.len())])
    }

    fn birth(&mut self, first_year: i16, last_year: i16) -> Result<Date> {
        let span = usize::try_from(last_year - first_year + 1).unwrap_or(1);
        let year = first_year + i16::try_from(self.rng.next(span)).unwrap_or(0);
        let month = 1 + i8::try_from(self.rng.next(12)).unwrap_or(0);
        let day = 1 + i8::try_from(self.rng.next(28)).unwrap_or(0);
        Ok(Date::new(year, month, day)?)
    }

    /// About `count` beneficiaries of one programme in one village. Per-person programmes paid
    /// to a household's 一卡通 list the household's members together, sharing its account.
    fn beneficiaries(&mut self, programme: usize, count: usize) -> Result<Vec<Beneficiary>> {
        let spec = &PROGRAMMES[programme];
        let mut out = Vec::new();
        while out.len() < count {
            let group = GROUP_NAMES[self.rng.next(3)];
            let account = self.account();
            let female = self.rng.next(2) == 0;
            let born = self.birth(spec.born.0, spec.born.1)?;
            let name = self.name(None, female);
            let id = self.resident_id(born, female)?;
            let (amount_fen, note) = match programme {
                GRASSLAND => {
                    let mu = 40 + self.rng.next(361) as i64;
                    (mu * GRASSLAND_FEN_PER_MU, Some(format!("禁牧{mu}亩")))
                }
                FARMLAND => {
                    let tenths = 30 + self.rng.next(271) as i64;
                    (tenths * FARMLAND_FEN_PER_TENTH_MU, Some(format!("确权面积{}.{}亩", tenths / 10, tenths % 10)))
                }
                ELDERLY => (120_000, None),
                DISABILITY => match self.rng.next(3) {
                    0 => (240_000, Some("两项补贴".to_owned())),
                    1 => (120_000, Some("重度残疾人护理补贴".to_owned())),
                    _ => (120_000, Some("困难残疾人生活补贴".to_owned())),
                },
                _ => {
                    // A household: the head, perhaps a spouse and a grown child, one account.
                    let (fen, class) = if programme == DIBAO {
                        [(540_000, "一类"), (420_000, "二类"), (240_000, "三类")][self.rng.next(3)]
                    } else {
                        (60_000, "")
                    };
                    let size = 1 + self.rng.next(3);
                    let surname: String = name.chars().take(1).collect();
                    let mut members = vec![(name, id, "户主")];
                    if size >= 2 {
                        let spouse_born = self.birth(born.year() - 3, born.year() + 3)?;
                        let spouse_name = self.name(None, !female);
                        members.push((spouse_name, self.resident_id(spouse_born, !female)?, "配偶"));
                    }
                    if size >= 3 {
                        let child_female = self.rng.next(2) == 0;
                        let child_born = self.birth(born.year() + 22, (born.year() + 28).min(2003))?;
                        let child_name = self.name(Some(&surname), child_female);
                        members.push((child_name, self.resident_id(child_born, child_female)?, "子女"));
                    }
                    for (name, id, relation) in members {
                        let note = if class.is_empty() { relation.to_owned() } else { format!("{class} {relation}") };
                        out.push(Beneficiary {
                            name,
                            id,
                            group,
                            account: account.clone(),
                            amount_fen: fen,
                            note: Some(note),
                        });
                    }
                    continue;
                }
            };
            out.push(Beneficiary { name, id, group, account, amount_fen, note });
        }
        Ok(out)
    }
}

/// A valid ID number of a 瓜州县 resident born on `born` with a three-digit sequence number.
/// A valid invented ID number of the county for someone born on `born`.
pub(crate) fn make_id(born: Date, sequence: usize) -> Result<ResidentId> {
    let body = format!("620922{}{sequence:03}", born.strftime("%Y%m%d"));
    let mut digits = [0u32; 17];
    for (slot, c) in digits.iter_mut().zip(body.chars()) {
        *slot = c.to_digit(10).unwrap_or(0);
    }
    Ok(ResidentId::parse(&format!("{body}{}", check_char(&digits)))?)
}

/// The seed villager's invented ID number: a woman of 卓园村 born on 15 March 1962.
fn seed_id() -> Result<ResidentId> {
    make_id(Date::new(1962, 3, 15)?, 124)
}

/// The Unix time of `hour` o'clock in Asia/Shanghai on `day`.
fn at(day: Date, hour: i8) -> Result<i64> {
    let zone = jiff::tz::TimeZone::fixed(jiff::tz::Offset::constant(8));
    Ok(day.at(hour, 0, 0, 0).to_zoned(zone)?.timestamp().as_second())
}

fn plus_days(day: Date, days: i64) -> Result<Date> {
    Ok(day.checked_add(days.days())?)
}

fn period(year: i16) -> String {
    format!("{year}年度")
}

/// The reason a clerk gives for each kind of difference a paid roster shows.
type Reasons = Vec<(DifferenceKind, &'static str)>;

/// One programme's rosters of one village and year.
#[derive(Clone, Copy)]
struct Batch<'s> {
    programme: usize,
    org: &'s str,
    year: i16,
    actors: Actors,
}

/// How many of each thing was created, for the summary line.
#[derive(Default)]
struct Counts {
    rosters: usize,
    published: usize,
    entries: usize,
}

/// Who creates and who reviews the rosters of a village.
#[derive(Clone, Copy)]
struct Actors {
    clerk: i64,
    reviewer: i64,
}

struct Loader<'a> {
    state: &'a AppState,
    store: &'a Store,
    programme_ids: [i64; 6],
    counts: Counts,
}

/// The date and times of one roster's life.
#[derive(Clone, Copy)]
struct Schedule {
    publicity_start: Date,
    paid_on: Date,
}

impl Loader<'_> {
    async fn create(&mut self, roster: NewRoster, people: &[Beneficiary], created_at: i64) -> Result<i64> {
        let entries: Vec<_> = people
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let line = RosterLine {
                    row: i + 2,
                    name: p.name.clone(),
                    resident_id: p.id.clone(),
                    amount: Fen::new(p.amount_fen).unwrap_or_default(),
                    group: Some(p.group.to_owned()),
                    account: Some(p.account.clone()),
                    note: p.note.clone(),
                };
                seal_line(self.state.cipher(), &line)
            })
            .collect();
        let id = self.store.create_roster(&roster, &entries, created_at).await?;
        self.counts.rosters += 1;
        self.counts.entries += entries.len();
        Ok(id)
    }

    async fn submit(&self, id: i64, actors: Actors, at: i64) -> Result<()> {
        self.store
            .change_roster_status(
                id,
                subsidy::transition(RosterStatus::Draft, RosterAction::Submit)?,
                None,
                actors.clerk,
                at,
            )
            .await?;
        Ok(())
    }

    /// Submits and publishes a draft; a proposed roster is public for seven days from `start`.
    async fn publish(&mut self, id: i64, actors: Actors, publicity: Option<Date>, day: Date) -> Result<()> {
        self.submit(id, actors, at(plus_days(day, -1)?, 16)?).await?;
        let dates = match publicity {
            Some(start) => Some((start.to_string(), plus_days(start, 6)?.to_string())),
            None => None,
        };
        let dates = dates.as_ref().map(|(s, e)| (s.as_str(), e.as_str()));
        self.store.publish_roster(id, dates, None, actors.reviewer, at(day, 10)?).await?;
        self.counts.published += 1;
        Ok(())
    }

    fn new_roster(&self, batch: Batch<'_>, phase: Phase) -> NewRoster {
        NewRoster {
            programme_id: self.programme_ids[batch.programme],
            org_code: batch.org.to_owned(),
            year: i64::from(batch.year),
            period: period(batch.year),
            phase,
            settles_id: None,
            supersedes_id: None,
            correction_reason: None,
            paid_on: None,
            created_by: batch.actors.clerk,
        }
    }

    /// A published proposed roster and the published paid roster settling it; returns the latter.
    async fn pair(
        &mut self,
        batch: Batch<'_>,
        when: Schedule,
        proposed: &[Beneficiary],
        paid: &[Beneficiary],
        reasons: &[(DifferenceKind, &str)],
    ) -> Result<i64> {
        let start = when.publicity_start;
        let draft = self.new_roster(batch, Phase::Proposed);
        let proposed_id = self.create(draft, proposed, at(plus_days(start, -3)?, 11)?).await?;
        self.publish(proposed_id, batch.actors, Some(start), start).await?;
        self.paid(batch, when.paid_on, Some(proposed_id), paid, reasons).await
    }

    /// A published paid roster, with a reason for every difference from the roster it settles.
    async fn paid(
        &mut self,
        batch: Batch<'_>,
        paid_on: Date,
        settles: Option<i64>,
        people: &[Beneficiary],
        reasons: &[(DifferenceKind, &str)],
    ) -> Result<i64> {
        let mut roster = self.new_roster(batch, Phase::Paid);
        roster.settles_id = settles;
        roster.paid_on = Some(paid_on.to_string());
        let id = self.create(roster, people, at(plus_days(paid_on, 3)?, 15)?).await?;
        refresh_differences(self.store, id).await?;
        let differences = self.store.differences(id).await?;
        let mut given = Vec::new();
        for d in differences {
            let reason = reasons
                .iter()
                .find(|(kind, _)| *kind == d.kind)
                .map(|(_, r)| (*r).to_owned())
                .with_context(|| format!("演示花名册出现了未预期的差异：{}", d.kind.label()))?;
            given.push((d.id, reason));
        }
        self.store.set_difference_reasons(id, &given).await?;
        self.publish(id, batch.actors, None, plus_days(paid_on, 5)?).await?;
        Ok(id)
    }
}

/// Creates the demo programmes and rosters unless they exist, and prints what to try.
pub async fn load(state: &AppState) -> Result<()> {
    let store = state.store();
    let now = state.now();
    let seed = seed_id()?;
    let example = format!(
        "自助查询示例：{SEED_NAME} {}（{}–{}年库区移民后期扶持未见发放记录）",
        seed.expose(),
        SEED_GAP.start(),
        SEED_GAP.end()
    );
    for spec in &PROGRAMMES {
        if store.find_programme_by_name(spec.name).await?.is_some() {
            println!("惠农资金演示数据已存在，未重复导入。");
            println!("{example}");
            return Ok(());
        }
    }

    let mut programme_ids = [0; 6];
    for (slot, spec) in programme_ids.iter_mut().zip(&PROGRAMMES) {
        let department_id = store.ensure_department(spec.department, now).await?;
        let new = NewProgramme {
            name: spec.name.to_owned(),
            department_id: Some(department_id),
            basis: spec.basis.to_owned(),
            unit: spec.unit,
            standard_fen: spec.standard_fen,
            rule: spec.rule.to_owned(),
            recurring: true,
            from_year: Some(spec.from_year),
            to_year: spec.to_year,
            publicity_days: 7,
            objection_reply_days: 5,
        };
        *slot = store.create_programme(&new, now).await?;
    }

    let zhuoyuan = Actors { clerk: staff(store, "zhuoyuan").await?, reviewer: staff(store, "guangzhi-shenhe").await? };
    let guangzhi = Actors { clerk: staff(store, "guangzhi").await?, reviewer: zhuoyuan.reviewer };
    let admin = staff(store, "admin").await?;
    let county = Actors { clerk: admin, reviewer: admin };

    let mut villages: Vec<(String, Actors)> = Vec::new();
    for (i, v) in store.child_orgs(GUANGZHI).await?.into_iter().take(5).enumerate() {
        villages.push((v.code, if i == 0 { zhuoyuan } else { guangzhi }));
    }
    for township in OTHER_TOWNSHIPS {
        for v in store.child_orgs(township).await?.into_iter().take(2) {
            villages.push((v.code, county));
        }
    }
    if villages.first().map(|(code, _)| code.as_str()) != Some(ZHUOYUAN) {
        anyhow::bail!("演示区划中缺少卓园村 {ZHUOYUAN}");
    }
    // Which programmes each village has, in the order of `villages`.
    let plans: [&[usize]; 11] = [
        &[FARMLAND, DIBAO, ELDERLY, DISABILITY],
        &[RESETTLEMENT, FARMLAND],
        &[RESETTLEMENT, GRASSLAND],
        &[RESETTLEMENT, DIBAO],
        &[GRASSLAND, ELDERLY],
        &[GRASSLAND, DIBAO],
        &[FARMLAND, ELDERLY],
        &[FARMLAND, DISABILITY],
        &[GRASSLAND, ELDERLY],
        &[FARMLAND, DIBAO],
        &[DISABILITY, ELDERLY],
    ];

    let mut loader = Loader { state, store, programme_ids, counts: Counts::default() };
    let mut people = People { rng: Lcg(20_060_315), used: HashSet::from([seed.expose().to_owned()]) };
    let today = shanghai_date(now);
    let mut differences_roster = 0;
    let mut zhuoyuan_lists: Vec<(usize, Vec<Beneficiary>)> = Vec::new();

    for (vi, ((org, actors), plan)) in villages.iter().zip(plans).enumerate() {
        for &programme in plan {
            let count = 15 + people.rng.next(30);
            let list = people.beneficiaries(programme, count)?;
            for year in YEARS {
                let day = i8::try_from(3 + vi).unwrap_or(3);
                let start = Date::new(year, PROGRAMMES[programme].month, day)?;
                let when = Schedule { publicity_start: start, paid_on: plus_days(start, 6 + 12)? };
                let last = year == *YEARS.end();
                let batch = Batch { programme, org, year, actors: *actors };
                if org == ZHUOYUAN && programme == DISABILITY && last {
                    corrected_pair(&mut loader, batch, when, &list).await?;
                } else if vi == 1 && programme == FARMLAND && last {
                    let (paid, reasons) = with_differences(&mut people, &list)?;
                    differences_roster = loader.pair(batch, when, &list, &paid, &reasons).await?;
                } else {
                    loader.pair(batch, when, &list, &list, &[]).await?;
                }
            }
            if vi == 4 && programme == GRASSLAND {
                withdrawn(&mut loader, org, *actors, &list).await?;
            }
            if org == ZHUOYUAN {
                zhuoyuan_lists.push((programme, list));
            }
        }
    }

    seed_case(&mut loader, &mut people, zhuoyuan, &seed).await?;
    let publicity_roster = current_work(&mut loader, zhuoyuan, today, now, &zhuoyuan_lists).await?;

    let c = &loader.counts;
    println!(
        "惠农资金演示：{} 个补贴项目，{} 个村，{} 份花名册（已公开 {} 份），{} 条发放记录。",
        PROGRAMMES.len(),
        villages.len(),
        c.rosters,
        c.published,
        c.entries
    );
    println!("{example}");
    println!("  有差异说明的发放结果：/rosters/{differences_roster}");
    println!("  公示期内的拟发放名单（含异议）：/rosters/{publicity_roster}");
    Ok(())
}

async fn staff(store: &Store, username: &str) -> Result<i64> {
    store.find_staff_by_username(username).await?.map(|u| u.id).with_context(|| format!("缺少演示账号 {username}"))
}

/// A paid list that differs from the proposed one in each of the three ways, with reasons.
fn with_differences(people: &mut People, proposed: &[Beneficiary]) -> Result<(Vec<Beneficiary>, Reasons)> {
    let mut paid: Vec<Beneficiary> = proposed.to_vec();
    paid.remove(2);
    if let Some(reduced) = paid.get_mut(4) {
        reduced.amount_fen -= 15 * FARMLAND_FEN_PER_TENTH_MU;
        reduced.note = Some("按实际面积核减1.5亩".to_owned());
    }
    let mut added = people.beneficiaries(FARMLAND, 1)?;
    if let Some(first) = added.first_mut() {
        first.note = Some("核实新增".to_owned());
    }
    paid.extend(added);
    let reasons = vec![
        (DifferenceKind::PaidNotProposed, "该户于公示期后核实新增，经村民代表会议通过"),
        (DifferenceKind::ProposedNotPaid, "本人已去世，停止发放"),
        (DifferenceKind::AmountChanged, "按实际面积核减：1.5亩耕地已被道路建设征收"),
    ];
    Ok((paid, reasons))
}

/// Version 1 of a proposed roster had a wrong amount; version 2 corrects it and is settled.
async fn corrected_pair(loader: &mut Loader<'_>, batch: Batch<'_>, when: Schedule, list: &[Beneficiary]) -> Result<()> {
    let start = when.publicity_start;
    let mut wrong = list.to_vec();
    if let Some(first) = wrong.iter_mut().find(|b| b.amount_fen == 120_000) {
        first.amount_fen = 240_000;
        first.note = Some("两项补贴".to_owned());
    }
    let draft = loader.new_roster(batch, Phase::Proposed);
    let v1 = loader.create(draft, &wrong, at(plus_days(start, -3)?, 11)?).await?;
    loader.publish(v1, batch.actors, Some(start), start).await?;
    let restart = plus_days(start, 3)?;
    let mut draft = loader.new_roster(batch, Phase::Proposed);
    draft.supersedes_id = Some(v1);
    draft.correction_reason = Some(
        "原公示名单中一人误录为两项补贴，经核实其仅符合困难残疾人生活补贴条件，金额应为1200元，现更正后重新公示".into(),
    );
    let v2 = loader.create(draft, list, at(plus_days(restart, -1)?, 9)?).await?;
    loader.publish(v2, batch.actors, Some(restart), restart).await?;
    let paid_on = plus_days(when.paid_on, 3)?;
    loader.paid(batch, paid_on, Some(v2), list, &[]).await?;
    Ok(())
}

/// A supplementary proposed roster published by mistake and withdrawn.
async fn withdrawn(loader: &mut Loader<'_>, org: &str, actors: Actors, list: &[Beneficiary]) -> Result<()> {
    let year = 2024;
    let mut roster = loader.new_roster(Batch { programme: GRASSLAND, org, year, actors }, Phase::Proposed);
    roster.period = format!("{year}年度（补发）");
    let start = Date::new(year, 10, 14)?;
    let id = loader.create(roster, &list[..3], at(plus_days(start, -2)?, 10)?).await?;
    loader.publish(id, actors, Some(start), start).await?;
    loader
        .store
        .change_roster_status(
            id,
            subsidy::transition(RosterStatus::Published, RosterAction::Withdraw)?,
            Some("经核实，名单所列3户已在2024年度花名册中足额发放，本补发名单属重复上报，予以撤回"),
            actors.reviewer,
            at(plus_days(start, 2)?, 15)?,
        )
        .await?;
    Ok(())
}

/// 卓园村's 库区移民后期扶持 payments for the whole support period. The seed villager is missing
/// from the paid rosters of 2014–2018, so her self-query shows those years without a record.
async fn seed_case(loader: &mut Loader<'_>, people: &mut People, actors: Actors, seed: &ResidentId) -> Result<()> {
    let mut list = people.beneficiaries(RESETTLEMENT, 19)?;
    list.push(Beneficiary {
        name: SEED_NAME.to_owned(),
        id: seed.clone(),
        group: GROUP_NAMES[1],
        account: people.account(),
        amount_fen: 60_000,
        note: Some("户主".to_owned()),
    });
    for year in SEED_YEARS {
        let batch = Batch { programme: RESETTLEMENT, org: ZHUOYUAN, year, actors };
        let roster: Vec<Beneficiary> = if SEED_GAP.contains(&year) {
            list.iter().filter(|b| b.id != *seed).cloned().collect()
        } else {
            list.clone()
        };
        let start = Date::new(year, PROGRAMMES[RESETTLEMENT].month, 8)?;
        let paid_on = plus_days(start, 20)?;
        if year >= 2024 {
            let when = Schedule { publicity_start: start, paid_on };
            loader.pair(batch, when, &roster, &roster, &[]).await?;
        } else {
            loader.paid(batch, paid_on, None, &roster, &[]).await?;
        }
    }
    Ok(())
}

/// This year's work in 卓园村: a proposed roster in its publicity period with two objections, a
/// draft for the clerk and a submitted roster for the reviewer. Returns the public roster's id.
async fn current_work(
    loader: &mut Loader<'_>,
    actors: Actors,
    today: Date,
    now: i64,
    lists: &[(usize, Vec<Beneficiary>)],
) -> Result<i64> {
    let list_of = |programme: usize| {
        lists.iter().find(|(p, _)| *p == programme).map(|(_, l)| l.as_slice()).context("卓园村缺少演示名单")
    };
    let year = today.year();
    // Times earlier today (Asia/Shanghai), in order, so the publication precedes the objections.
    let midnight = at(today, 0)?;
    let moment = |n: i64| midnight + (now - midnight) * n / 5;

    let batch = |programme| Batch { programme, org: ZHUOYUAN, year, actors };
    let draft = loader.new_roster(batch(FARMLAND), Phase::Proposed);
    let public = loader.create(draft, list_of(FARMLAND)?, moment(1) - 86_400).await?;
    loader
        .store
        .change_roster_status(
            public,
            subsidy::transition(RosterStatus::Draft, RosterAction::Submit)?,
            None,
            actors.clerk,
            moment(1),
        )
        .await?;
    let end = plus_days(today, 6)?.to_string();
    loader.store.publish_roster(public, Some((&today.to_string(), &end)), None, actors.reviewer, moment(2)).await?;
    loader.counts.published += 1;

    demo_objections(loader, actors, public, moment, now).await?;

    let draft = loader.new_roster(batch(ELDERLY), Phase::Proposed);
    loader.create(draft, list_of(ELDERLY)?, moment(2)).await?;
    let draft = loader.new_roster(batch(DIBAO), Phase::Proposed);
    let submitted = loader.create(draft, list_of(DIBAO)?, moment(3)).await?;
    loader
        .store
        .change_roster_status(
            submitted,
            subsidy::transition(RosterStatus::Draft, RosterAction::Submit)?,
            None,
            actors.clerk,
            moment(4),
        )
        .await?;
    Ok(public)
}

/// Objections to today's public roster, through the same use cases a real filing goes through:
/// one waiting for its answer, one answered and awaiting the objector's rating, and one whose
/// answer the objector rated 不满意, so that it is being handled again with a new deadline.
async fn demo_objections(
    loader: &mut Loader<'_>,
    actors: Actors,
    public: i64,
    moment: impl Fn(i64) -> i64,
    now: i64,
) -> Result<()> {
    let entries = loader.store.roster_entries(public, 5, 0).await?;
    let objections = [
        (
            "李红霞",
            "13909371846",
            entries.get(3).map(|e| e.id),
            format!(
                "公示名单第{}行{}家的承包地去年已流转给合作社种植枸杞，地还在，但其中一部分已经修了机井房和路，\
                 面积是否还按原来的算？请村上核实。",
                entries.get(3).map_or(0, |e| e.row_no),
                entries.get(3).map_or("", |e| e.name.as_str())
            ),
            None,
        ),
        (
            "张德明",
            "13519372205",
            None,
            "我家二组今年新开的2亩地为什么没有列入补贴名单？".to_owned(),
            Some((
                "耕地地力保护补贴以二轮承包确权面积为依据，新开垦的土地不在确权面积内，不予补贴。\
                 如对确权面积有疑问，可持承包经营权证到乡农业农村综合服务中心核对。",
                None,
            )),
        ),
        (
            "王秀兰",
            "13893765120",
            entries.get(1).map(|e| e.id),
            "名单上我家的面积写的是6.5亩，确权证上是7.2亩，少算了。".to_owned(),
            Some(("经核对，名单面积与村里台账一致。", Some("台账本身就是错的，请拿确权证重新核对"))),
        ),
    ];
    for (i, (name, phone, entry_id, body, answer)) in objections.into_iter().enumerate() {
        let step = i as i64;
        let filed_at = moment(3) + (now - moment(3)) * step / 10;
        let filing = objections::Filing {
            form_key: format!("demo-objection-{i}"),
            org_code: ZHUOYUAN.to_owned(),
            roster_id: Some(public),
            entry_id,
            programme_id: Some(loader.programme_ids[FARMLAND]),
            name: name.to_owned(),
            phone: Phone::parse(phone)?,
            body,
        };
        let code = match objections::file(loader.state, filing, filed_at).await? {
            objections::Filed::New(code) | objections::Filed::Repeat(code) => code,
        };
        let Some((reply, rating)) = answer else { continue };
        let o = loader.store.find_objection_by_code(&code).await?.context("演示异议未保存")?;
        let answered_at = moment(4) + (now - moment(4)) * step / 10;
        objections::answer(loader.state, &o, (actors.reviewer, "乡镇审核人"), true, reply, answered_at).await?;
        if let Some(comment) = rating {
            let o = loader.store.find_objection_by_code(&code).await?.context("演示异议未保存")?;
            let rating = Rating::parse(Satisfaction::Unsatisfied.as_str(), comment)?;
            objections::rate(loader.state, &o, &rating, now).await?;
        }
    }
    Ok(())
}
