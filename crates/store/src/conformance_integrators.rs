//! The storage conformance suite for integrator keys and the Open311 reads: a key works while it
//! is live, is refused once expired or revoked (revocation happens once), each use is counted,
//! keys list by scope; the request reads filter by tracking number, item, status, window and
//! cursor, and never return a report (举报) or a hidden message. Every behaviour runs on SQLite
//! and PostgreSQL (see `conformance`).

use xiaowei_core::message::{self, MessageAction, MessageKind, MessageStatus};
use xiaowei_core::service::{CaseAction as A, CaseStatus as S};
use xiaowei_core::tracked::TimelineKind;

use crate::conformance::{conformance, user, with_postgres, with_sqlite};
use crate::conformance_services::{catalogue, event, new_case, step};
use crate::{NewEvent, NewIntegratorToken, NewMessage, RequestFilter, Store, TokenUse};

const NANCHA: &str = "620922100200";
const BEICUN: &str = "620922101200";

fn token(org: &str, hash: &str, by: i64, expires_at: i64) -> NewIntegratorToken {
    NewIntegratorToken {
        name: "县12345热线".into(),
        org_code: org.into(),
        kinds: xiaowei_core::open311::Kinds { cases: true, messages: true },
        key_hash: hash.into(),
        key_hint: "xw_ab12".into(),
        created_by: by,
        expires_at,
    }
}

fn message(kind: MessageKind, org: &str, key: &str, tracking: &str, at: i64) -> NewMessage {
    NewMessage {
        tracking: tracking.into(),
        submit_key: key.into(),
        kind,
        org_code: org.into(),
        author_name: String::new(),
        phone_enc: None,
        phone_idx: None,
        secret_idx: None,
        body: "村里的路灯坏了".into(),
        allow_public: false,
        submitted_at: at,
        reply_due: at + 3 * 86_400,
        reply_remind_at: at + 2 * 86_400,
        deadline_basis: "3个工作日".into(),
    }
}

fn submitted() -> NewEvent {
    NewEvent {
        kind: TimelineKind::Submitted,
        actor: "留言人".into(),
        staff_user_id: None,
        method: None,
        note: "提交".into(),
        public: true,
    }
}

conformance!(a_key_works_until_it_expires_or_is_revoked, |store: Store| async move {
    catalogue(&store).await;
    let admin = store.create_staff_user(&user("admin", "county_admin", "620922"), 1).await.unwrap();
    let live = store.create_integrator_token(&token("620922", "h1", admin, 1000), 10).await.unwrap();
    store.create_integrator_token(&token("620922100", "h2", admin, 100), 10).await.unwrap();
    let TokenUse::Active(found) = store.use_integrator_token("h1", 50).await.unwrap() else {
        panic!("a live key is accepted");
    };
    assert_eq!((found.id, found.uses, found.last_used_at), (live, 1, Some(50)));
    assert_eq!(found.org_name, "瓜州县");
    store.use_integrator_token("h1", 60).await.unwrap();
    assert_eq!(store.find_integrator_token(live).await.unwrap().unwrap().uses, 2, "each use counted");
    assert_eq!(store.use_integrator_token("h2", 100).await.unwrap(), TokenUse::Expired, "expiry is exclusive");
    assert_eq!(store.use_integrator_token("nope", 60).await.unwrap(), TokenUse::Unknown);
    assert!(store.revoke_integrator_token(live, admin, 70).await.unwrap());
    assert!(!store.revoke_integrator_token(live, admin, 71).await.unwrap(), "revoked once");
    assert_eq!(store.use_integrator_token("h1", 80).await.unwrap(), TokenUse::Revoked);
    let t = store.find_integrator_token(live).await.unwrap().unwrap();
    assert_eq!((t.uses, t.revoked_at, t.last_used_at), (2, Some(70), Some(60)), "a refused use is not counted");
});

conformance!(keys_list_by_scope_live_first, |store: Store| async move {
    catalogue(&store).await;
    let admin = store.create_staff_user(&user("admin", "county_admin", "620922"), 1).await.unwrap();
    let a = store.create_integrator_token(&token("620922100", "h1", admin, 1000), 10).await.unwrap();
    let b = store.create_integrator_token(&token("620922101", "h2", admin, 1000), 20).await.unwrap();
    let c = store.create_integrator_token(&token("620922", "h3", admin, 1000), 30).await.unwrap();
    store.revoke_integrator_token(c, admin, 40).await.unwrap();
    let ids = |v: Vec<crate::IntegratorToken>| v.into_iter().map(|t| t.id).collect::<Vec<_>>();
    assert_eq!(ids(store.integrator_tokens("620922").await.unwrap()), vec![b, a, c]);
    assert_eq!(ids(store.integrator_tokens("620922100").await.unwrap()), vec![a]);
    let duplicate = store.create_integrator_token(&token("620922", "h1", admin, 1000), 50).await;
    assert!(duplicate.is_err(), "a key hash is unique");
});

conformance!(request_reads_filter_and_keep_reports_out, |store: Store| async move {
    let (dept, item) = catalogue(&store).await;
    let mut cases = Vec::new();
    for (i, at) in [100, 200, 300].into_iter().enumerate() {
        let c = new_case(item, dept, &format!("k{i}"), &format!("BJ2025100900000{i}"), at);
        cases.push(store.create_case(&c, &[], &event(TimelineKind::Submitted), &[]).await.unwrap().0);
    }
    let change = crate::CaseChange { contacted: true, ..crate::CaseChange::default() };
    assert!(
        store
            .change(cases[1], step(S::Submitted, A::Contact), &change, &event(TimelineKind::Contact), &[], 250)
            .await
            .unwrap()
    );
    let all = RequestFilter { limit: 100, ..RequestFilter::default() };
    let read = store.request_cases(&all).await.unwrap();
    assert_eq!(read.iter().map(|c| c.case.id).collect::<Vec<_>>(), vec![cases[2], cases[1], cases[0]], "newest first");
    assert_eq!(read[1].updated_at, 250, "the last event's time");
    assert_eq!(read[0].updated_at, 300);
    let some = RequestFilter { tracking: "BJ20251009000000,BJ20251009000002".into(), ..all.clone() };
    assert_eq!(store.request_cases(&some).await.unwrap().len(), 2);
    let open = RequestFilter { statuses: "in_progress,reopened".into(), ..all.clone() };
    assert_eq!(store.request_cases(&open).await.unwrap().iter().map(|c| c.case.id).collect::<Vec<_>>(), vec![cases[1]]);
    let window = RequestFilter { from: 150, until: 300, ..all.clone() };
    assert_eq!(store.request_cases(&window).await.unwrap().len(), 1);
    let cursor = RequestFilter { after_id: cases[0], oldest_first: true, limit: 1, ..all.clone() };
    assert_eq!(store.request_cases(&cursor).await.unwrap()[0].case.id, cases[1], "after the cursor, oldest first");
    let elsewhere = RequestFilter { org_prefix: "620922101".into(), ..all.clone() };
    assert!(store.request_cases(&elsewhere).await.unwrap().is_empty());
    let other_item = RequestFilter { item_id: item + 1, ..all.clone() };
    assert!(store.request_cases(&other_item).await.unwrap().is_empty());

    let q = message(MessageKind::Question, NANCHA, "m1", "LY20251009000001", 100);
    let report = message(MessageKind::Report, NANCHA, "m2", "LY20251009000002", 110);
    let hidden = message(MessageKind::Complaint, BEICUN, "m3", "LY20251009000003", 120);
    let (question, _) = store.create_message(&q, &[], &submitted(), &[]).await.unwrap();
    store.create_message(&report, &[], &submitted(), &[]).await.unwrap();
    let (abusive, _) = store.create_message(&hidden, &[], &submitted(), &[]).await.unwrap();
    let hide = crate::MessageChange { hidden_reason: Some("辱骂".into()), ..crate::MessageChange::default() };
    store
        .change(
            abusive,
            message::transition(MessageStatus::Submitted, MessageAction::Hide).unwrap(),
            &hide,
            &submitted(),
            &[],
            130,
        )
        .await
        .unwrap();
    let read = store.request_messages(&all).await.unwrap();
    assert_eq!(read.iter().map(|m| m.message.id).collect::<Vec<_>>(), vec![question], "no report, nothing hidden");
    let by_kind = RequestFilter { message_kind: "complaint".into(), ..all.clone() };
    assert!(store.request_messages(&by_kind).await.unwrap().is_empty());
    let by_tracking = RequestFilter { tracking: "LY20251009000002".into(), ..all };
    assert!(store.request_messages(&by_tracking).await.unwrap().is_empty(), "a report is not found by number either");
});
