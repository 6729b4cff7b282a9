//! The storage conformance suite for 留言箱: idempotent creation, the compare-and-set life of a
//! message, clock marks set once, the inbox filter that keeps reports (举报) out unless asked,
//! the public list, and who notifications can reach. Every behaviour runs on SQLite and PostgreSQL.

use xiaowei_core::Transition;
use xiaowei_core::message::{self, MessageAction as A, MessageKind as K, MessageStatus as S};
use xiaowei_core::tracked::{Rating, Satisfaction, TimelineKind};

use crate::conformance::{conformance, small_tree, user, with_postgres, with_sqlite};
use crate::conformance_services::{event, text};
use crate::{MessageChange, MessageClock, MessageFilter, NewMessage, NewOutbox, NewPhoto, RequestKind, Store};

const NANCHA: &str = "620922100200";
const BEICUN: &str = "620922101200";

/// The change core's message state machine allows for `action` from `from`.
fn step(from: S, action: A) -> Transition<S> {
    message::transition(from, action).unwrap()
}

pub(crate) fn new_message(kind: K, org: &str, key: &str, tracking: &str, at: i64) -> NewMessage {
    NewMessage {
        tracking: tracking.into(),
        submit_key: key.into(),
        kind,
        org_code: org.into(),
        author_name: String::new(),
        phone_enc: Some(vec![1, 2, 3]),
        phone_idx: Some("p".into()),
        secret_idx: None,
        body: "村里的路灯坏了".into(),
        allow_public: true,
        submitted_at: at,
        reply_due: at + 3 * 86_400,
        reply_remind_at: at + 2 * 86_400,
        deadline_basis: "3个工作日".into(),
    }
}

/// A text about a message, under `key`.
fn notice(key: &str) -> NewOutbox {
    NewOutbox { notice: "message_received".into(), recipient: "村文书".into(), ..text(key) }
}

conformance!(a_double_submit_creates_one_message_with_its_notices, |store: Store| async move {
    small_tree(&store).await;
    let photo =
        NewPhoto { sha256: "ab".into(), size: 3, content_type: "image/png".into(), original_name: "a.png".into() };
    let m = new_message(K::Question, NANCHA, "form-1", "LY20251009000001", 100);
    let (id, created) = store
        .create_message(
            &m,
            std::slice::from_ref(&photo),
            &event(TimelineKind::Submitted),
            &[notice("n1"), notice("n2")],
        )
        .await
        .unwrap();
    assert!(created);
    let again = NewMessage { tracking: "LY20251009000002".into(), ..m.clone() };
    let (same, created) =
        store.create_message(&again, &[photo], &event(TimelineKind::Submitted), &[notice("n3")]).await.unwrap();
    assert_eq!((same, created), (id, false));
    let texts = store.message_outbox(id).await.unwrap();
    assert_eq!(texts.len(), 2, "only the first submission's notices");
    assert!(texts.iter().all(|t| t.message_id == Some(id) && t.case_id.is_none()));
    let (listed, _) = store.outbox_listing(None, true, 10, 0).await.unwrap();
    assert!(listed.iter().all(|t| t.tracking == "LY20251009000001"), "{listed:?}");
    assert_eq!(store.photos(RequestKind::Message, id).await.unwrap().len(), 1);
    let found = store.find_message_by_tracking("LY20251009000001").await.unwrap().unwrap();
    assert_eq!((found.kind, found.status), (K::Question, S::Submitted));
    assert!(store.find_message_by_tracking("LY20251009000002").await.unwrap().is_none());
    assert_eq!(store.find_message_by_submit_key("form-1").await.unwrap().map(|m| m.id), Some(id));
    assert_eq!(store.events(RequestKind::Message, id).await.unwrap().len(), 1);
});

conformance!(a_message_moves_once_per_step_and_a_reopen_restarts_the_clock, |store: Store| async move {
    small_tree(&store).await;
    let clerk = store.create_staff_user(&user("clerk", "village_clerk", NANCHA), 1).await.unwrap();
    let (id, _) = store
        .create_message(
            &new_message(K::Complaint, NANCHA, "k", "LY20251009000001", 100),
            &[],
            &event(TimelineKind::Submitted),
            &[],
        )
        .await
        .unwrap();
    let assign = MessageChange { assigned_to: Some(clerk), ..MessageChange::default() };
    assert!(
        store.change(id, step(S::Submitted, A::Assign), &assign, &event(TimelineKind::Assign), &[], 150).await.unwrap()
    );
    let reply = MessageChange { reply: Some(("已修好".into(), true, clerk)), ..MessageChange::default() };
    let from = step(S::Handling, A::Reply);
    assert!(store.change(id, from, &reply, &event(TimelineKind::Reply), &[notice("r")], 200).await.unwrap());
    assert!(
        !store.change(id, from, &reply, &event(TimelineKind::Reply), &[notice("r2")], 201).await.unwrap(),
        "a second reply does nothing"
    );
    assert_eq!(store.message_outbox(id).await.unwrap().len(), 1, "and texts nobody");
    let m = store.find_message(id).await.unwrap().unwrap();
    assert_eq!((m.reply.as_deref(), m.reply_public, m.replied_at), (Some("已修好"), true, Some(200)));
    assert_eq!(m.assignee_name.as_deref(), Some("测试"));
    // Past the deadline and marked overdue, then rated 不满意: a new deadline, marks cleared.
    assert!(store.fire(id, MessageClock::Overdue, &event(TimelineKind::Overdue), &[], 100 + 4 * 86_400).await.is_ok());
    let rate = MessageChange {
        rating: Some(Rating { satisfaction: Satisfaction::Unsatisfied, comment: "没修好".into() }),
        new_due: Some((900_000, 800_000, "重新起算".into())),
        ..MessageChange::default()
    };
    assert!(
        store
            .change(
                id,
                step(S::Replied, A::Rate(Satisfaction::Unsatisfied)),
                &rate,
                &event(TimelineKind::Rate),
                &[],
                300
            )
            .await
            .unwrap()
    );
    let m = store.find_message(id).await.unwrap().unwrap();
    assert_eq!((m.status, m.rating, m.reply_due), (S::Reopened, Some(Satisfaction::Unsatisfied), 900_000));
    assert_eq!((m.overdue_at, m.reminded_at), (None, None));
    assert!(
        !store
            .change(id, step(S::Replied, A::Rate(Satisfaction::Basic)), &rate, &event(TimelineKind::Rate), &[], 301)
            .await
            .unwrap()
    );
});

conformance!(clock_marks_are_set_once_and_never_on_answered_messages, |store: Store| async move {
    small_tree(&store).await;
    let (a, _) = store
        .create_message(
            &new_message(K::Question, NANCHA, "a", "LY20251009000001", 100),
            &[],
            &event(TimelineKind::Submitted),
            &[],
        )
        .await
        .unwrap();
    let (b, _) = store
        .create_message(
            &new_message(K::Question, NANCHA, "b", "LY20251009000002", 100),
            &[],
            &event(TimelineKind::Submitted),
            &[],
        )
        .await
        .unwrap();
    let clerk = store.create_staff_user(&user("clerk", "village_clerk", NANCHA), 1).await.unwrap();
    let reply = MessageChange { reply: Some(("答复".into(), false, clerk)), ..MessageChange::default() };
    assert!(
        store.change(b, step(S::Submitted, A::Reply), &reply, &event(TimelineKind::Reply), &[], 150).await.unwrap()
    );
    let early = 100 + 2 * 86_400 - 1;
    assert!(store.due(MessageClock::Reminder, early, 10).await.unwrap().is_empty());
    let due = store.due(MessageClock::Reminder, early + 1, 10).await.unwrap();
    assert_eq!(due, vec![a], "the answered message has no clock");
    assert!(
        store
            .fire(a, MessageClock::Reminder, &event(TimelineKind::Reminder), &[notice("m1")], early + 1)
            .await
            .unwrap()
    );
    assert!(
        !store
            .fire(a, MessageClock::Reminder, &event(TimelineKind::Reminder), &[notice("m2")], early + 2)
            .await
            .unwrap()
    );
    assert!(!store.fire(b, MessageClock::Overdue, &event(TimelineKind::Overdue), &[], 100 + 9 * 86_400).await.unwrap());
    assert!(store.fire(a, MessageClock::Overdue, &event(TimelineKind::Overdue), &[], 100 + 9 * 86_400).await.unwrap());
    assert_eq!(store.message_outbox(a).await.unwrap().len(), 1);
    let overdue = MessageFilter { org_prefix: "620922".into(), overdue_only: true, ..MessageFilter::default() };
    assert_eq!(store.messages(&overdue, 10, 0).await.unwrap().1, 1);
});

conformance!(the_inbox_keeps_reports_out_unless_asked_and_the_public_list_is_narrow, |store: Store| async move {
    small_tree(&store).await;
    let clerk = store.create_staff_user(&user("clerk", "village_clerk", NANCHA), 1).await.unwrap();
    let mut ids = Vec::new();
    for (i, (kind, org, allow)) in [
        (K::Question, NANCHA, true),
        (K::Question, NANCHA, false),
        (K::Report, NANCHA, false),
        (K::Complaint, BEICUN, false),
        (K::Question, BEICUN, true),
    ]
    .into_iter()
    .enumerate()
    {
        let m = NewMessage {
            allow_public: allow,
            ..new_message(kind, org, &format!("k{i}"), &format!("LY2025100900000{i}"), 100 + i as i64)
        };
        ids.push(store.create_message(&m, &[], &event(TimelineKind::Submitted), &[]).await.unwrap().0);
    }
    let nancha = MessageFilter { org_prefix: "620922100".into(), ..MessageFilter::default() };
    let (rows, total) = store.messages(&nancha, 10, 0).await.unwrap();
    assert_eq!(total, 2);
    assert!(rows.iter().all(|m| m.kind != K::Report));
    let commission = MessageFilter { include_reports: true, ..nancha.clone() };
    assert_eq!(store.messages(&commission, 10, 0).await.unwrap().1, 3);
    let reports = MessageFilter { kind: Some(K::Report), ..commission };
    assert_eq!(store.messages(&reports, 10, 0).await.unwrap().0[0].id, ids[2]);
    // Public: only the allowed question with a public reply.
    for (id, public) in [(ids[0], true), (ids[1], true), (ids[4], false)] {
        let reply = MessageChange { reply: Some(("答复".into(), public, clerk)), ..MessageChange::default() };
        store.change(id, step(S::Submitted, A::Reply), &reply, &event(TimelineKind::Reply), &[], 200).await.unwrap();
    }
    let public = store.public_messages("620922", 10).await.unwrap();
    assert_eq!(public.iter().map(|m| m.id).collect::<Vec<_>>(), vec![ids[0]]);
    let hide = MessageChange { hidden_reason: Some("辱骂".into()), ..MessageChange::default() };
    store.change(ids[0], step(S::Replied, A::Hide), &hide, &event(TimelineKind::Hide), &[], 300).await.unwrap();
    assert!(store.public_messages("620922", 10).await.unwrap().is_empty(), "hidden messages leave the list");
});

conformance!(notifications_reach_handlers_commission_and_assignee_by_role, |store: Store| async move {
    small_tree(&store).await;
    let mut ids = Vec::new();
    for (name, role, org) in [
        ("clerk", "village_clerk", NANCHA),
        ("town", "township_admin", "620922100"),
        ("jiwei-town", "township_reviewer", "620922100"),
        ("jiwei", "supervisor", "620922"),
        ("other-clerk", "village_clerk", BEICUN),
        ("officer", "department_officer", "620922"),
    ] {
        let id = store.create_staff_user(&user(name, role, org), 1).await.unwrap();
        store.set_staff_phone(id, Some((&[1], name))).await.unwrap();
        ids.push(id);
    }
    let rows = store.message_recipients(NANCHA, Some(ids[0])).await.unwrap();
    let mut got: Vec<_> = rows.iter().map(|r| (r.role.as_str(), r.phone_idx.as_str())).collect();
    got.sort_unstable();
    assert_eq!(
        got,
        [
            ("assignee", "clerk"),
            ("commission", "jiwei"),
            ("commission", "jiwei-town"),
            ("handler", "clerk"),
            ("handler", "town"),
            ("supervisor", "jiwei")
        ]
    );
    let assignable = store.staff_covering(NANCHA, &["supervisor", "township_reviewer"]).await.unwrap();
    assert_eq!(assignable.iter().map(|u| u.username.as_str()).collect::<Vec<_>>(), ["jiwei-town", "jiwei"]);
});

conformance!(a_clashing_tracking_number_is_a_named_duplicate_and_a_lost_race_is_stale, |store: Store| async move {
    small_tree(&store).await;
    let first = new_message(K::Question, NANCHA, "form-1", "LY20251009000001", 100);
    store.create_message(&first, &[], &event(TimelineKind::Submitted), &[]).await.unwrap();
    let clash = new_message(K::Question, NANCHA, "form-2", "LY20251009000001", 101);
    let refused = store.create_message(&clash, &[], &event(TimelineKind::Submitted), &[]).await;
    assert!(
        matches!(&refused, Err(e) if e.is_duplicate_of("messages_tracking_key")),
        "the same name on both engines: {refused:?}"
    );
    let cadre = crate::CadreDetails {
        name: "张三".into(),
        title: "村文书".into(),
        duties: String::new(),
        phone_enc: vec![1],
        phone_idx: "p1".into(),
    };
    store.add_cadre(NANCHA, &cadre, 1).await.unwrap();
    let twice = store.add_cadre(NANCHA, &cadre, 2).await;
    assert!(
        matches!(&twice, Err(e) if e.is_duplicate_of("village_cadres_org_code_phone_idx_key")),
        "a constraint on two columns: {twice:?}"
    );
    let elsewhere = new_message(K::Question, "620922999999", "form-3", "LY20251009000002", 102);
    let unknown_org = store.create_message(&elsewhere, &[], &event(TimelineKind::Submitted), &[]).await;
    assert!(matches!(unknown_org, Err(crate::StoreError::MissingReference(_))), "{unknown_org:?}");
});
