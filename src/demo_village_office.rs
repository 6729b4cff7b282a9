//! Demo data for the village office (村委会坐班): invented cadres with invented phones, a weekly
//! duty rota that covers every day, a substitute and a holiday override, and meeting notices (one
//! upcoming, one or two held with minutes) for every village of 广至乡 and two villages of a few
//! other townships. A village that already has cadres is left alone, so loading is repeatable.

use anyhow::Result;
use jiff::ToSpan;
use jiff::civil::Date;
use xiaowei_core::Phone;
use xiaowei_core::village_office::{Audience, Audiences};
use xiaowei_server::AppState;
use xiaowei_server::web::dates::shanghai_date;
use xiaowei_store::{CadreDetails, NewDutyOverride, NewMeeting, Store, WeeklyDuty};

use crate::demo::{GIVEN, Lcg, SURNAMES};

const GUANGZHI: &str = "620922214";
/// Other townships with a demo village office: 渊泉镇, 西湖镇, 梁湖乡.
const OTHER_TOWNSHIPS: [&str; 3] = ["620922100", "620922106", "620922216"];

/// Posts in the order they are entered: a village has the first four and sometimes the rest.
const POSTS: [(&str, &str); 6] = [
    ("村党支部书记、村委会主任", "全面工作"),
    ("村会计", "财务、报账、惠农资金"),
    ("村文书", "花名册、公示公开、档案"),
    ("村委会副主任", "农业生产、水利、环境卫生"),
    ("村党支部副书记", "党建、综治维稳"),
    ("村监委会主任", "村务监督"),
];

/// Public holidays on which village offices close, for the demo's holiday override.
const HOLIDAYS: [(&str, &str); 12] = [
    ("2026-01-01", "元旦"),
    ("2026-02-17", "春节"),
    ("2026-04-05", "清明节"),
    ("2026-05-01", "劳动节"),
    ("2026-06-19", "端午节"),
    ("2026-09-25", "中秋节"),
    ("2026-10-01", "国庆节"),
    ("2027-01-01", "元旦"),
    ("2027-02-06", "春节"),
    ("2027-04-05", "清明节"),
    ("2027-05-01", "劳动节"),
    ("2027-10-01", "国庆节"),
];

/// Creates the demo village offices that do not exist yet and prints a village page to try.
pub async fn load(state: &AppState) -> Result<()> {
    let store = state.store();
    let mut villages = store.child_orgs(GUANGZHI).await?;
    for township in OTHER_TOWNSHIPS {
        villages.extend(store.child_orgs(township).await?.into_iter().take(2));
    }
    let today = shanghai_date(state.now());
    let mut created = 0;
    for (index, village) in villages.iter().enumerate() {
        if !store.cadres_of(&village.code).await?.is_empty() {
            continue;
        }
        seed_village(state, &village.code, index, today).await?;
        created += 1;
    }
    if created == 0 {
        println!("村委会值班演示数据已存在，未重复导入。");
    } else {
        println!("村委会值班演示数据：{created} 个村的村干部、值班坐班表和会议通知。");
    }
    if let Some(first) = villages.first() {
        println!("村委会值班示例：/t/{GUANGZHI}/v/{}", first.code);
    }
    Ok(())
}

async fn seed_village(state: &AppState, village: &str, index: usize, today: Date) -> Result<()> {
    let store = state.store();
    let now = state.now();
    let mut rng = Lcg(9_370_000 + index as u64);
    let count = 4 + rng.next(3);
    let mut cadres = Vec::new();
    for (c, (title, duties)) in POSTS.iter().take(count).enumerate() {
        let phone = Phone::parse(&format!("1589{index:05}{:02}", c + 1))?;
        let details = CadreDetails {
            name: format!("{}{}", SURNAMES[rng.next(SURNAMES.len())], GIVEN[rng.next(GIVEN.len())]),
            title: (*title).to_owned(),
            duties: (*duties).to_owned(),
            phone_enc: state.cipher().encrypt(phone.expose()),
            phone_idx: state.cipher().blind_index("phone", phone.expose()),
        };
        cadres.push(store.add_cadre(village, &details, now).await?);
    }
    // Every day is covered, so the village page always has someone to call today.
    let slots: Vec<WeeklyDuty> =
        (1..=7).zip(cadres.iter().cycle()).map(|(weekday, id)| WeeklyDuty { weekday, cadre_id: *id }).collect();
    store.set_weekly_duty(village, &slots).await?;

    let clerk = cadres.get(2).copied();
    let substitute = NewDutyOverride {
        on_date: today.checked_add(2.days())?.to_string(),
        cadre_id: clerk,
        note: "书记到乡里参加培训".into(),
    };
    store.add_duty_override(village, &substitute, now).await?;
    let two_days_on = today.checked_add(2.days())?.to_string();
    if let Some((date, name)) = HOLIDAYS.iter().find(|(d, _)| *d > two_days_on.as_str()) {
        let holiday = NewDutyOverride { on_date: (*date).into(), cadre_id: None, note: format!("{name}放假") };
        store.add_duty_override(village, &holiday, now).await?;
    }
    meetings(store, village, index, today, now).await
}

async fn meetings(store: &Store, village: &str, index: usize, today: Date, now: i64) -> Result<()> {
    let at = |days: i64, hour: i8, minute: i8| -> Result<i64> {
        let zone = jiff::tz::TimeZone::fixed(jiff::tz::Offset::constant(8));
        Ok(today.checked_add(days.days())?.at(hour, minute, 0, 0).to_zoned(zone)?.timestamp().as_second())
    };
    let notice = |starts_at, place: &str, agenda: &str, audiences: &[Audience]| NewMeeting {
        org_code: village.to_owned(),
        starts_at,
        place: place.to_owned(),
        agenda: agenda.to_owned(),
        audiences: Audiences::from(audiences.to_vec()),
        created_by: None,
    };
    let upcoming = notice(
        at(3, 9, 30)?,
        "村委会会议室",
        "审议本年度村级公益事业建设项目（一事一议）；通报上半年村级财务收支情况",
        &[Audience::PartyMembers, Audience::Representatives],
    );
    store.create_meeting(&upcoming, now).await?;
    let held = notice(at(-12, 15, 0)?, "村委会会议室", "研究低保对象动态调整初审名单", &[Audience::Committees]);
    let id = store.create_meeting(&held, now).await?;
    let minutes = "应到7人，实到7人。会议对5户低保申请逐户评议，同意3户列入初审名单，在村务公开栏和本平台公示7天；\
                   2户不符合条件，由村文书向申请人当面说明理由。";
    store.record_minutes(village, id, minutes, now).await?;
    if index.is_multiple_of(2) {
        let assembly = notice(
            at(-40, 10, 0)?,
            "村文化广场",
            "村民大会：通报草原生态保护补助奖励发放情况，听取村民意见",
            &[Audience::AllVillagers],
        );
        let id = store.create_meeting(&assembly, now).await?;
        let minutes = "到会村民86人。村会计逐户通报补助奖励发放情况，村民现场提出2条意见，会后由村委会副主任核实答复。";
        store.record_minutes(village, id, minutes, now).await?;
    }
    Ok(())
}
