//! The storage conformance suite for 我要办事 and the outbox: idempotent case creation, the
//! compare-and-set life of a case, clock marks set once, extensions, the calendar, and outbox
//! claims that never hand one message to two workers. Every behaviour runs on SQLite and
//! PostgreSQL (see `conformance`).

use xiaowei_core::Transition;
use xiaowei_core::service::{self, CaseAction as A, CaseStatus as S};
use xiaowei_core::tracked::{Rating, Satisfaction, TimelineKind};
use xiaowei_core::workday::DayKind;

use crate::conformance::{conformance, small_tree, user, with_postgres, with_sqlite};
use crate::{
    CaseChange, CaseFilter, ClockMark, NewCase, NewContact, NewEvent, NewOutbox, NewPhoto, NewServiceItem, RequestKind,
    Store,
};

const NANCHA: &str = "620922100200";
const YUANQUAN: &str = "620922100";

pub(crate) async fn catalogue(store: &Store) -> (i64, i64) {
    small_tree(store).await;
    let dept = store.ensure_department("县民政局", 1).await.unwrap();
    let contact = |position: &str, name: &str, idx: &str| NewContact {
        department_id: dept,
        position: position.parse().expect("a post code"),
        name: name.into(),
        phone_enc: vec![0, 0xff, idx.as_bytes()[0]],
        phone_idx: idx.into(),
    };
    store.add_contact(&contact("head", "局长", "h"), 1).await.unwrap();
    store.add_contact(&contact("leader", "副局长", "l"), 1).await.unwrap();
    let officer = store.add_contact(&contact("officer", "经办人", "o"), 1).await.unwrap();
    let item = store
        .upsert_service_item(
            &NewServiceItem {
                department_id: dept,
                name: "农村低保申请".into(),
                conditions: "户籍在本县".into(),
                materials: "身份证\n户口簿".into(),
                steps: "申请\n审核".into(),
                time_limit: xiaowei_core::service::TimeLimit::WorkingDays(15),
                fee: "不收费".into(),
                contact_phone: "0937-5522001".into(),
                external_url: None,
                requires_id: true,
                officer_id: Some(officer),
            },
            1,
        )
        .await
        .unwrap();
    store.set_service_handler(item, YUANQUAN, "乡镇经办", &[9, 9], "t").await.unwrap();
    (dept, item)
}

pub(crate) fn new_case(item: i64, dept: i64, key: &str, tracking: &str, at: i64) -> NewCase {
    NewCase {
        tracking: tracking.into(),
        submit_key: key.into(),
        item_id: item,
        department_id: dept,
        org_code: NANCHA.into(),
        applicant_name: "王大爷".into(),
        phone_enc: vec![1, 2, 3],
        phone_idx: "a".into(),
        resident_id_enc: None,
        description: "申请低保".into(),
        filed_by: None,
        submitted_at: at,
        contact_due: at + 86_400,
        contact_remind_at: at + 72_000,
        completion_due: at + 10 * 86_400,
        completion_remind_at: at + 9 * 86_400,
        deadline_basis: "15个工作日".into(),
    }
}

/// The change core's case state machine allows for `action` from `from`.
pub(crate) fn step(from: S, action: A) -> Transition<S> {
    service::transition(from, action).unwrap()
}

pub(crate) fn event(kind: TimelineKind) -> NewEvent {
    NewEvent {
        kind, actor: "系统".into(), staff_user_id: None, method: None, note: kind.as_str().into(), public: true
    }
}

/// A text under `key`.
pub(crate) fn text(key: &str) -> NewOutbox {
    NewOutbox {
        dedup_key: key.into(),
        channel: xiaowei_core::outbox::TextChannel::Sms,
        notice: "case_submitted".into(),
        recipient: "局长".into(),
        phone_enc: vec![7],
        phone_idx: "h".into(),
        params: "[]".into(),
        body: "正文".into(),
    }
}

conformance!(a_double_submit_creates_one_case_with_its_notices, |store: Store| async move {
    let (dept, item) = catalogue(&store).await;
    let photo =
        NewPhoto { sha256: "ab".into(), size: 3, content_type: "image/jpeg".into(), original_name: "门.jpg".into() };
    let c = new_case(item, dept, "form-1", "BJ20251009000001", 100);
    let (id, created) = store
        .create_case(&c, std::slice::from_ref(&photo), &event(TimelineKind::Submitted), &[text("n1"), text("n2")])
        .await
        .unwrap();
    assert!(created);
    let again = NewCase { tracking: "BJ20251009000002".into(), ..c.clone() };
    let (same, created) =
        store.create_case(&again, &[photo], &event(TimelineKind::Submitted), &[text("n3")]).await.unwrap();
    assert_eq!((same, created), (id, false));
    assert_eq!(store.outbox(None, Some(id), 10, 0).await.unwrap().1, 2, "only the first submission's notices");
    let (listed, total) = store.outbox_listing(None, false, 10, 0).await.unwrap();
    assert_eq!(total, 2);
    assert!(listed.iter().all(|t| t.text.case_id == Some(id) && t.tracking == "BJ20251009000001"), "{listed:?}");
    assert_eq!(store.photos(RequestKind::Case, id).await.unwrap().len(), 1);
    let found = store.find_case_by_tracking("BJ20251009000001").await.unwrap().unwrap();
    assert_eq!((found.item_name.as_str(), found.department_name.as_str()), ("农村低保申请", "县民政局"));
    assert!(store.find_case_by_tracking("BJ20251009000002").await.unwrap().is_none());
    let supervisor = store.create_staff_user(&user("jiwei", "supervisor", "620922"), 1).await.unwrap();
    store.set_staff_phone(supervisor, Some((&[5, 5], "s"))).await.unwrap();
    let recipients = store.notice_recipients(item, NANCHA).await.unwrap();
    let mut roles: Vec<_> = recipients.iter().map(|r| r.role.as_str()).collect();
    roles.sort_unstable();
    assert_eq!(roles, ["head", "leader", "officer", "supervisor", "township"]);
    assert!(
        store
            .notice_recipients(item, "620922101200")
            .await
            .unwrap()
            .iter()
            .all(|r| r.role != service::Recipient::TownshipHandler)
    );
});

conformance!(a_case_moves_once_per_step, |store: Store| async move {
    let (dept, item) = catalogue(&store).await;
    let (id, _) = store
        .create_case(&new_case(item, dept, "k", "BJ20251009000001", 100), &[], &event(TimelineKind::Submitted), &[])
        .await
        .unwrap();
    let contact = CaseChange { contacted: true, ..CaseChange::default() };
    assert!(
        store
            .change(id, step(S::Submitted, A::Contact), &contact, &event(TimelineKind::Contact), &[text("c")], 200)
            .await
            .unwrap()
    );
    assert!(
        !store
            .change(id, step(S::Submitted, A::Contact), &contact, &event(TimelineKind::Contact), &[text("c2")], 201)
            .await
            .unwrap()
    );
    assert!(
        store
            .change(
                id,
                step(S::InProgress, A::Progress),
                &CaseChange::default(),
                &event(TimelineKind::Progress),
                &[],
                250
            )
            .await
            .unwrap()
    );
    let complete = CaseChange { completed_reply: Some("已办结".into()), ..CaseChange::default() };
    assert!(
        store
            .change(id, step(S::InProgress, A::Complete), &complete, &event(TimelineKind::Complete), &[], 300)
            .await
            .unwrap()
    );
    assert!(
        !store
            .change(
                id,
                step(S::InProgress, A::Progress),
                &CaseChange::default(),
                &event(TimelineKind::Progress),
                &[],
                301
            )
            .await
            .unwrap(),
        "a completed case takes no notes"
    );
    let rate = CaseChange {
        rating: Some(Rating { satisfaction: Satisfaction::Unsatisfied, comment: "没人来".into() }),
        new_completion: Some((9_000, 8_000, "重新起算".into())),
        ..CaseChange::default()
    };
    assert!(
        store
            .change(
                id,
                step(S::Completed, A::Rate(Satisfaction::Unsatisfied)),
                &rate,
                &event(TimelineKind::Rate),
                &[],
                400
            )
            .await
            .unwrap()
    );
    let c = store.find_case(id).await.unwrap().unwrap();
    assert_eq!(c.status, S::Reopened);
    assert_eq!((c.contacted_at, c.completed_at, c.rated_at), (Some(200), Some(300), Some(400)));
    assert_eq!((c.rating, c.reply.as_deref()), (Some(Satisfaction::Unsatisfied), Some("已办结")));
    assert_eq!((c.completion_due, c.deadline_basis.as_str()), (9_000, "重新起算"));
    let kinds: Vec<_> =
        store.events(RequestKind::Case, id).await.unwrap().into_iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["submitted", "contact", "progress", "complete", "rate"]);
    assert_eq!(store.outbox(None, Some(id), 10, 0).await.unwrap().1, 1);
});

conformance!(clock_marks_fire_once_and_only_when_due, |store: Store| async move {
    let (dept, item) = catalogue(&store).await;
    let (id, _) = store
        .create_case(&new_case(item, dept, "k", "BJ20251009000001", 0), &[], &event(TimelineKind::Submitted), &[])
        .await
        .unwrap();
    assert!(store.due(ClockMark::ContactReminder, 71_999, 10).await.unwrap().is_empty());
    assert_eq!(store.due(ClockMark::ContactReminder, 72_000, 10).await.unwrap(), [id]);
    assert!(
        !store.fire(id, ClockMark::ContactOverdue, &event(TimelineKind::ContactOverdue), &[], 72_000).await.unwrap(),
        "not yet due"
    );
    assert!(
        store.fire(id, ClockMark::ContactReminder, &event(TimelineKind::Reminder), &[text("r")], 72_000).await.unwrap()
    );
    assert!(
        !store
            .fire(id, ClockMark::ContactReminder, &event(TimelineKind::Reminder), &[text("r2")], 72_001)
            .await
            .unwrap()
    );
    assert!(store.due(ClockMark::ContactReminder, 80_000, 10).await.unwrap().is_empty());
    assert!(store.fire(id, ClockMark::ContactOverdue, &event(TimelineKind::Overdue), &[], 86_400).await.unwrap());
    let c = store.find_case(id).await.unwrap().unwrap();
    assert_eq!(c.contact_overdue_at, Some(86_400));
    let overdue = CaseFilter { overdue_only: true, ..CaseFilter::default() };
    assert_eq!(store.cases(&overdue, 10, 0).await.unwrap().1, 1);
    // Once contacted, the contact clock stops; the completion clock runs on.
    let contact = CaseChange { contacted: true, ..CaseChange::default() };
    store
        .change(id, step(S::Submitted, A::Contact), &contact, &event(TimelineKind::Contact), &[], 90_000)
        .await
        .unwrap();
    assert_eq!(store.due(ClockMark::CompletionOverdue, 864_000, 10).await.unwrap(), [id]);
    let done = CaseChange { completed_reply: Some("好".into()), ..CaseChange::default() };
    store
        .change(id, step(S::InProgress, A::Complete), &done, &event(TimelineKind::Complete), &[], 100_000)
        .await
        .unwrap();
    assert!(store.due(ClockMark::CompletionOverdue, 864_000, 10).await.unwrap().is_empty());
});

conformance!(one_pending_extension_and_an_approval_moves_the_deadline, |store: Store| async move {
    let (dept, item) = catalogue(&store).await;
    let officer = store.create_staff_user(&user("officer", "department_officer", "620922"), 1).await.unwrap();
    let (id, _) = store
        .create_case(&new_case(item, dept, "k", "BJ20251009000001", 0), &[], &event(TimelineKind::Submitted), &[])
        .await
        .unwrap();
    assert!(
        store
            .request_extension(id, 5, "需实地核查", officer, &event(TimelineKind::ExtensionRequested), 10)
            .await
            .unwrap()
    );
    assert!(
        !store.request_extension(id, 3, "再延", officer, &event(TimelineKind::ExtensionRequested), 11).await.unwrap(),
        "one pending at a time"
    );
    let ext = store.case_extensions(id).await.unwrap();
    assert_eq!(ext.len(), 1);
    assert!(
        store
            .decide_extension(
                ext[0].id,
                Some((2_000_000, 1_900_000, "延期5个工作日".into())),
                officer,
                "同意",
                &event(TimelineKind::ExtensionApproved),
                20
            )
            .await
            .unwrap()
    );
    assert!(
        !store
            .decide_extension(ext[0].id, None, officer, "不同意", &event(TimelineKind::ExtensionRejected), 21)
            .await
            .unwrap(),
        "decided once"
    );
    assert_eq!(store.find_case(id).await.unwrap().unwrap().completion_due, 2_000_000);
    assert!(
        store.request_extension(id, 3, "再延", officer, &event(TimelineKind::ExtensionRequested), 30).await.unwrap(),
        "a new request after a decision"
    );
});

conformance!(the_calendar_is_replaced_by_year_and_edited_by_day, |store: Store| async move {
    let day = |d: &str, k: &str| (d.to_string(), k.to_string(), "国庆节".to_string());
    store.replace_calendar_year(2025, &[day("2025-10-01", "holiday"), day("2025-10-11", "workday")], 1).await.unwrap();
    store.replace_calendar_year(2026, &[day("2026-10-01", "holiday")], 1).await.unwrap();
    store.replace_calendar_year(2025, &[day("2025-10-02", "holiday")], 2).await.unwrap();
    let dates: Vec<_> = store.calendar_days().await.unwrap().into_iter().map(|d| d.on_date).collect();
    assert_eq!(dates, ["2025-10-02", "2026-10-01"]);
    store.set_calendar_day("2025-10-02", "workday", "调休", 3).await.unwrap();
    assert_eq!(store.calendar_days().await.unwrap()[0].kind, DayKind::Workday);
    assert!(store.delete_calendar_day("2025-10-02", 4).await.unwrap());
    assert!(!store.delete_calendar_day("2025-10-02", 5).await.unwrap());
    let bad = store.set_calendar_day("2025-10-03", "rest", "x", 6).await;
    assert!(bad.is_err(), "the kind is checked");

    // The calendar as it stood at each moment.
    let at = |t: i64| {
        let store = store.clone();
        async move {
            store
                .calendar_days_as_of(t)
                .await
                .unwrap()
                .into_iter()
                .filter(|d| d.on_date.starts_with("2025-10") || d.on_date.starts_with("2026-10"))
                .map(|d| format!("{} {}", d.on_date, d.kind.as_str()))
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(at(1).await, ["2025-10-01 holiday", "2025-10-11 workday", "2026-10-01 holiday"]);
    assert_eq!(at(2).await, ["2025-10-02 holiday", "2026-10-01 holiday"]);
    assert_eq!(at(3).await, ["2025-10-02 workday", "2026-10-01 holiday"]);
    assert_eq!(at(4).await, ["2026-10-01 holiday"], "removed at 4");
    assert_eq!(at(100).await, at(4).await, "a failed edit leaves no trace");
    let seeded = store.calendar_days_as_of(0).await.unwrap();
    assert!(seeded.iter().any(|d| d.on_date == "2025-10-01"), "the seeded calendar held from the start");
});

conformance!(outbox_claims_hand_each_message_to_one_worker, |store: Store| async move {
    store.enqueue(&[text("a"), text("b"), text("c"), text("a")], 100).await.unwrap();
    assert_eq!(store.outbox_counts(true).await.unwrap().pending, 3, "deduplicated");
    let (first, second) = tokio::join!(store.claim_outbox("w1", 100, 60, 10), store.claim_outbox("w2", 100, 60, 10));
    let (first, second) = (first.unwrap(), second.unwrap());
    assert_eq!(first.len() + second.len(), 3, "each claimed once");
    let mut all: Vec<_> = first.iter().chain(&second).map(|m| m.id).collect();
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), 3);
    let (mine, owner) = if first.is_empty() { (&second, "w2") } else { (&first, "w1") };
    let other = if owner == "w1" { "w2" } else { "w1" };
    assert!(!store.outbox_sent(mine[0].id, other, "x", 101).await.unwrap(), "only the holder settles");
    assert!(store.outbox_sent(mine[0].id, owner, "biz-1", 101).await.unwrap());
    // A transient failure comes back later; a permanent one stays failed until retried.
    let retry_id = all.iter().copied().find(|id| *id != mine[0].id).unwrap();
    let holder = if first.iter().any(|m| m.id == retry_id) { "w1" } else { "w2" };
    assert!(store.outbox_failed(retry_id, holder, "超时", Some(500)).await.unwrap());
    let early = store.claim_outbox("w3", 499, 60, 10).await.unwrap();
    assert!(early.iter().all(|m| m.id != retry_id), "not before its retry time");
    // A lease that runs out is claimed again (its sender died mid-send): the third message,
    // claimed at 100 for 60 seconds and never settled, comes back.
    let third = all.iter().copied().find(|id| *id != mine[0].id && *id != retry_id).unwrap();
    assert!(early.iter().any(|m| m.id == third && m.attempts == 2));
    let again = store.claim_outbox("w3", 500, 60, 10).await.unwrap();
    assert!(again.iter().any(|m| m.id == retry_id && m.attempts == 2));
    assert!(store.outbox_failed(retry_id, "w3", "模板未通过审核", None).await.unwrap());
    let failed = store.outbox(Some(xiaowei_core::outbox::Delivery::Failed), None, 10, 0).await.unwrap().0;
    assert_eq!(failed[0].last_error.as_deref(), Some("模板未通过审核"));
    assert!(store.retry_outbox(retry_id, 600).await.unwrap());
    let counts = store.outbox_counts(true).await.unwrap();
    assert_eq!(counts.sent, 1);
});

conformance!(racing_claimers_lease_every_text_exactly_once_and_queuing_raises_the_signal, |store: Store| async move {
    let raised = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = std::sync::Arc::clone(&raised);
    let store = store.with_outbox_signal(move || {
        counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    });
    let texts: Vec<NewOutbox> = (0..300).map(|i| text(&format!("surge-{i}"))).collect();
    store.enqueue(&texts, 100).await.unwrap();
    store.enqueue(&[], 100).await.unwrap();
    assert_eq!(raised.load(std::sync::atomic::Ordering::SeqCst), 1, "raised once per queuing write, not for nothing");
    let mut seen = Vec::new();
    loop {
        let claims = racing_claims(&store).await;
        if claims.is_empty() {
            break;
        }
        seen.extend(claims);
    }
    let claimed = seen.len();
    seen.sort_unstable();
    seen.dedup();
    assert_eq!((claimed, seen.len()), (300, 300), "every text leased once, none twice");
    assert_eq!(store.outbox_counts(true).await.unwrap().sending, 300);
});

/// Six workers claiming at once, 25 texts each at most: the ids they got.
async fn racing_claims(store: &Store) -> Vec<i64> {
    let claim = |w: &'static str| store.claim_outbox(w, 100, 60, 25);
    let (a, b, c, d, e, f) = tokio::join!(claim("a"), claim("b"), claim("c"), claim("d"), claim("e"), claim("f"));
    [a, b, c, d, e, f].into_iter().flat_map(|r| r.unwrap()).map(|m| m.id).collect()
}

conformance!(every_catalogue_change_is_a_ledger_leaf, |store: Store| async move {
    let (dept, item) = catalogue(&store).await;
    let first = store.latest_leaf_of("service_item", item).await.unwrap().unwrap();
    assert_eq!((first.version, first.event.as_str()), (1, "add"));
    let same = NewServiceItem {
        department_id: dept,
        name: "农村低保申请".into(),
        conditions: "户籍在本县".into(),
        materials: "身份证\n户口簿".into(),
        steps: "申请\n审核".into(),
        time_limit: xiaowei_core::service::TimeLimit::WorkingDays(15),
        fee: "不收费".into(),
        contact_phone: "0937-5522001".into(),
        external_url: None,
        requires_id: true,
        officer_id: store.find_service_item(item).await.unwrap().unwrap().officer_id,
    };
    assert_eq!(store.upsert_service_item(&same, 2).await.unwrap(), item);
    assert_eq!(store.latest_leaf_of("service_item", item).await.unwrap().unwrap().version, 1, "unchanged: no new leaf");
    store
        .update_service_item(
            item,
            &NewServiceItem { time_limit: xiaowei_core::service::TimeLimit::WorkingDays(20), ..same.clone() },
            3,
        )
        .await
        .unwrap();
    store.set_service_item_active(item, false, 4).await.unwrap();
    store.set_service_item_active(item, false, 5).await.unwrap();
    let latest = store.latest_leaf_of("service_item", item).await.unwrap().unwrap();
    assert_eq!((latest.version, latest.event.as_str()), (3, "withdraw"));
    assert_eq!(
        store.rederive_leaf(&latest).await.unwrap(),
        Some(latest.content.clone()),
        "the current version re-derives"
    );
    assert!(String::from_utf8_lossy(&latest.content).contains("time_limit=20d"));
    assert!(store.ledger_gaps().await.unwrap().iter().all(|g| g.0 != "service_item"));
    // A row edited behind the application's back no longer matches its leaf.
    sqlx::query("UPDATE service_items SET fee = '收费100元' WHERE id = $1")
        .bind(item)
        .execute(&store.pool)
        .await
        .unwrap();
    assert_ne!(store.rederive_leaf(&latest).await.unwrap(), Some(latest.content));
});
