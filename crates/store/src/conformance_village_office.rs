//! The storage conformance suite for the village office: cadres with sealed phones, the weekly
//! duty pattern and its overrides, meeting notices and minutes. Every behaviour runs against
//! SQLite and PostgreSQL (see `conformance`).

use xiaowei_core::village_office::Audiences;

use crate::conformance::{conformance, small_tree, user, with_postgres, with_sqlite};
use crate::{CadreDetails, NewAttachment, NewDutyOverride, NewMeeting, Store, StoreError, WeeklyDuty};

/// 南岔村, in 渊泉镇 (620922100).
const NANCHA: &str = "620922100200";
/// 北村, in 柳园镇 (620922101).
const BEICUN: &str = "620922101200";

/// A cadre whose sealed phone is fake bytes (including 0x00 and 0xff, to check blobs round-trip).
fn cadre(name: &str, title: &str, phone_idx: &str) -> CadreDetails {
    CadreDetails {
        name: name.into(),
        title: title.into(),
        duties: "全面工作".into(),
        phone_enc: [0x00, 0xff].into_iter().chain(phone_idx.bytes()).collect(),
        phone_idx: phone_idx.into(),
    }
}

fn meeting(org: &str, starts_at: i64, agenda: &str) -> NewMeeting {
    NewMeeting {
        org_code: org.into(),
        starts_at,
        place: "村委会会议室".into(),
        agenda: agenda.into(),
        audiences: Audiences::parse(["party_members,representatives"]).unwrap(),
        created_by: None,
    }
}

conformance!(cadres_are_kept_per_village_with_their_sealed_phones, |store: Store| async move {
    small_tree(&store).await;
    let secretary = store.add_cadre(NANCHA, &cadre("张建国", "村党支部书记、村委会主任", "p1"), 1).await.unwrap();
    let accountant = store.add_cadre(NANCHA, &cadre("李秀英", "村会计", "p2"), 2).await.unwrap();
    store.add_cadre(BEICUN, &cadre("王志强", "村文书", "p1"), 3).await.unwrap();
    let cadres = store.cadres_of(NANCHA).await.unwrap();
    assert_eq!(cadres.iter().map(|c| c.id).collect::<Vec<_>>(), [secretary, accountant], "in the order added");
    assert_eq!(cadres[0].phone_enc, [0x00, 0xff, b'p', b'1']);
    assert_eq!(cadres[0].title, "村党支部书记、村委会主任");

    let same_phone = store.add_cadre(NANCHA, &cadre("赵六", "村文书", "p1"), 4).await;
    assert!(matches!(same_phone, Err(StoreError::Duplicate { .. })), "one phone once per village");

    let edited = CadreDetails { duties: "财务、报账".into(), ..cadre("李秀英", "村会计", "p3") };
    store.update_cadre(NANCHA, accountant, &edited, 5).await.unwrap();
    let after = store.cadres_of(NANCHA).await.unwrap();
    assert_eq!((after[1].duties.as_str(), after[1].phone_enc.last()), ("财务、报账", Some(&b'3')));
    assert!(matches!(store.update_cadre(BEICUN, accountant, &edited, 6).await, Err(StoreError::NotFound)));
    assert!(matches!(store.remove_cadre(BEICUN, accountant).await, Err(StoreError::NotFound)));
    assert_eq!(store.cadres_of(NANCHA).await.unwrap().len(), 2, "another village cannot remove ours");
});

conformance!(the_weekly_pattern_is_replaced_whole_and_takes_only_the_villages_cadres, |store: Store| async move {
    small_tree(&store).await;
    let a = store.add_cadre(NANCHA, &cadre("张建国", "村党支部书记", "p1"), 1).await.unwrap();
    let b = store.add_cadre(NANCHA, &cadre("李秀英", "村会计", "p2"), 1).await.unwrap();
    let foreign = store.add_cadre(BEICUN, &cadre("王志强", "村文书", "p3"), 1).await.unwrap();
    let slot = |weekday, cadre_id| WeeklyDuty { weekday, cadre_id };
    store.set_weekly_duty(NANCHA, &[slot(1, a), slot(2, b), slot(3, a)]).await.unwrap();
    store.set_weekly_duty(NANCHA, &[slot(5, b), slot(1, b)]).await.unwrap();
    assert_eq!(store.weekly_duty(NANCHA).await.unwrap(), [slot(1, b), slot(5, b)], "replaced, Monday first");

    let refused = store.set_weekly_duty(NANCHA, &[slot(2, a), slot(3, foreign)]).await;
    assert!(matches!(refused, Err(StoreError::MissingReference(_))), "{refused:?}");
    assert_eq!(store.weekly_duty(NANCHA).await.unwrap(), [slot(1, b), slot(5, b)], "nothing half-written");
    assert!(store.weekly_duty(BEICUN).await.unwrap().is_empty());
});

conformance!(overrides_are_one_per_date_and_leave_with_their_cadre, |store: Store| async move {
    small_tree(&store).await;
    let a = store.add_cadre(NANCHA, &cadre("张建国", "村党支部书记", "p1"), 1).await.unwrap();
    let b = store.add_cadre(NANCHA, &cadre("李秀英", "村会计", "p2"), 1).await.unwrap();
    store.set_weekly_duty(NANCHA, &[WeeklyDuty { weekday: 2, cadre_id: b }]).await.unwrap();
    let closed = NewDutyOverride { on_date: "2026-02-17".into(), cadre_id: None, note: "春节".into() };
    let swap = NewDutyOverride { on_date: "2026-03-02".into(), cadre_id: Some(b), note: "书记外出学习".into() };
    let old = NewDutyOverride { on_date: "2025-10-01".into(), cadre_id: None, note: "国庆节".into() };
    let closed_id = store.add_duty_override(NANCHA, &closed, 1).await.unwrap();
    store.add_duty_override(NANCHA, &swap, 1).await.unwrap();
    store.add_duty_override(NANCHA, &old, 1).await.unwrap();
    let twice = store.add_duty_override(NANCHA, &NewDutyOverride { cadre_id: Some(a), ..closed.clone() }, 2).await;
    assert!(matches!(twice, Err(StoreError::Duplicate { .. })), "one override per date");
    let foreign = store.add_duty_override(BEICUN, &swap, 2).await;
    assert!(matches!(foreign, Err(StoreError::MissingReference(_))), "a substitute from another village is refused");

    let upcoming = store.duty_overrides_from(NANCHA, "2026-01-01").await.unwrap();
    assert_eq!(upcoming.iter().map(|o| o.on_date.as_str()).collect::<Vec<_>>(), ["2026-02-17", "2026-03-02"]);
    assert_eq!((upcoming[0].cadre_id, upcoming[0].note.as_str()), (None, "春节"));

    assert!(matches!(store.remove_duty_override(BEICUN, closed_id).await, Err(StoreError::NotFound)));
    store.remove_duty_override(NANCHA, closed_id).await.unwrap();
    store.remove_cadre(NANCHA, b).await.unwrap();
    assert!(store.weekly_duty(NANCHA).await.unwrap().is_empty(), "the removed cadre's weekday is free");
    assert!(store.duty_overrides_from(NANCHA, "2026-01-01").await.unwrap().is_empty());
    assert_eq!(store.cadres_of(NANCHA).await.unwrap().len(), 1);
});

conformance!(meetings_split_into_upcoming_and_past_and_keep_their_minutes, |store: Store| async move {
    small_tree(&store).await;
    let clerk = store.create_staff_user(&user("clerk", "village_clerk", NANCHA), 1).await.unwrap();
    let now = 1_800_000_000;
    let held = store.create_meeting(&meeting(NANCHA, now - 86_400 * 10, "讨论低保评议"), 1).await.unwrap();
    let older = store.create_meeting(&meeting(NANCHA, now - 86_400 * 40, "选举村民代表"), 1).await.unwrap();
    let soon = store.create_meeting(&meeting(NANCHA, now + 3_600, "通报村级财务"), 1).await.unwrap();
    let later = store.create_meeting(&meeting(NANCHA, now + 86_400 * 7, "春耕安排"), 1).await.unwrap();
    store.create_meeting(&meeting(BEICUN, now + 60, "外村会议"), 1).await.unwrap();

    let upcoming = store.upcoming_meetings(NANCHA, now, 10).await.unwrap();
    assert_eq!(upcoming.iter().map(|m| m.id).collect::<Vec<_>>(), [soon, later], "soonest first");
    let past = store.past_meetings(NANCHA, now, 10).await.unwrap();
    assert_eq!(past.iter().map(|m| m.id).collect::<Vec<_>>(), [held, older], "latest first");
    assert_eq!(store.past_meetings(NANCHA, now, 1).await.unwrap().len(), 1);
    assert_eq!(past[0].audiences.codes(), "party_members,representatives");

    store.record_minutes(NANCHA, held, "评议通过3户低保申请。", now).await.unwrap();
    assert!(matches!(store.record_minutes(BEICUN, held, "x", now).await, Err(StoreError::NotFound)));
    let file = NewAttachment {
        roster_id: None,
        programme_id: None,
        sha256: "ab".repeat(32),
        size: 10,
        content_type: "application/pdf".into(),
        original_name: "纪要.pdf".into(),
        uploaded_by: Some(clerk),
    };
    let attachment = store.add_attachment(&file, now).await.unwrap();
    store.attach_minutes_file(NANCHA, held, attachment).await.unwrap();
    assert!(matches!(
        store.attach_minutes_file(NANCHA, held, attachment + 99).await,
        Err(StoreError::MissingReference(_))
    ));
    let found = store.find_meeting(NANCHA, held).await.unwrap().unwrap();
    assert_eq!(found.minutes.as_deref(), Some("评议通过3户低保申请。"));
    assert_eq!((found.minutes_at, found.minutes_attachment_id), (Some(now), Some(attachment)));
    assert_eq!(store.find_meeting(BEICUN, held).await.unwrap(), None, "meetings are found within their village");
});
