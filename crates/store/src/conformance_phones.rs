//! The storage conformance suite for phones proven by SMS code: a code's tries counted by
//! compare-and-set (two tries at once use one try each, never the same one), a matched code
//! opening its session once, sessions ending and expiring, old codes swept, households marked
//! once, and an owner's own requests. Every behaviour runs on SQLite and PostgreSQL.

use crate::conformance::{conformance, with_postgres, with_sqlite};
use crate::{Filed, NewPhoneProof, PhoneSession, Store};
use xiaowei_core::message::{MessageKind, MessageStatus};
use xiaowei_core::service::CaseStatus;
use xiaowei_core::tracked::TimelineKind;

fn proof(token: &str, phone: &str, at: i64) -> NewPhoneProof {
    NewPhoneProof {
        token_idx: token.into(),
        phone_enc: vec![1, 2, 3],
        phone_idx: phone.into(),
        code_tag: format!("tag-{token}"),
        sent_at: at,
    }
}

fn session(token: &str, phone: &str, at: i64) -> PhoneSession {
    PhoneSession {
        token_idx: token.into(),
        phone_enc: vec![1, 2, 3],
        phone_idx: phone.into(),
        proven_at: at,
        expires_at: at + 600,
    }
}

conformance!(wrong_tries_are_counted_once_each, |store: Store| async move {
    let id = store.create_phone_proof(&proof("t1", "p1", 1_000)).await.unwrap();
    let stored = store.phone_proof("t1").await.unwrap().unwrap();
    assert_eq!((stored.id, stored.tries, stored.proven_at, stored.code_tag.as_str()), (id, 0, None, "tag-t1"));
    let (a, b) = tokio::join!(store.count_wrong_code(id, 0), store.count_wrong_code(id, 0));
    assert_eq!([a.unwrap(), b.unwrap()].iter().filter(|won| **won).count(), 1, "one try, counted once");
    assert_eq!(store.phone_proof("t1").await.unwrap().unwrap().tries, 1);
    assert!(store.phone_proof("nope").await.unwrap().is_none());
});

conformance!(a_matched_code_opens_one_session, |store: Store| async move {
    let id = store.create_phone_proof(&proof("t1", "p1", 1_000)).await.unwrap();
    let (s1, s2) = (session("s1", "p1", 1_010), session("s2", "p1", 1_010));
    let (a, b) = tokio::join!(store.prove_phone(id, 0, &s1), store.prove_phone(id, 0, &s2));
    assert_eq!([a.unwrap(), b.unwrap()].iter().filter(|won| **won).count(), 1, "one code, one session");
    let open = [store.phone_session("s1", 1_020).await.unwrap(), store.phone_session("s2", 1_020).await.unwrap()];
    assert_eq!(open.iter().flatten().count(), 1);
    assert_eq!(store.phone_proof("t1").await.unwrap().unwrap().proven_at, Some(1_010));
    assert!(!store.count_wrong_code(id, 0).await.unwrap(), "a used code takes no more tries");
    let token = open.iter().flatten().next().unwrap().token_idx.clone();
    assert!(store.phone_session(&token, 1_610).await.unwrap().is_none(), "expired");
    store.end_phone_session(&token).await.unwrap();
    assert!(store.phone_session(&token, 1_020).await.unwrap().is_none(), "ended");
});

conformance!(old_codes_and_sessions_are_swept, |store: Store| async move {
    let id = store.create_phone_proof(&proof("t1", "p1", 1_000)).await.unwrap();
    assert!(store.prove_phone(id, 0, &session("s1", "p1", 1_010)).await.unwrap());
    store.create_phone_proof(&proof("t2", "p1", 1_000 + 86_401)).await.unwrap();
    assert!(store.phone_proof("t1").await.unwrap().is_none(), "a day-old code is gone");
    assert!(store.phone_proof("t2").await.unwrap().is_some());
    assert!(store.phone_session("s1", 0).await.unwrap().is_none(), "the expired session is gone");
});

conformance!(an_owner_sees_their_own_requests_without_reports, |store: Store| async move {
    let (dept, item) = crate::conformance_services::catalogue(&store).await;
    assert!(store.requests_of_phone("a", 10).await.unwrap().is_empty());
    let case = crate::conformance_services::new_case(item, dept, "k-case-1", "BJ20260101000001", 100);
    store.create_case(&case, &[], &crate::conformance_services::event(TimelineKind::Submitted), &[]).await.unwrap();
    let message = |kind: &str, key: &str, tracking: &str, at: i64| crate::NewMessage {
        phone_idx: Some("a".into()),
        ..crate::conformance_messages::new_message(kind.parse().unwrap(), "620922100200", key, tracking, at)
    };
    let note = crate::conformance_services::event(TimelineKind::Submitted);
    store.create_message(&message("question", "k-m-1", "LY20260101000001", 200), &[], &note, &[]).await.unwrap();
    store.create_message(&message("report", "k-m-2", "LY20260101000002", 300), &[], &note, &[]).await.unwrap();
    let other =
        crate::NewMessage { phone_idx: Some("b".into()), ..message("question", "k-m-3", "LY20260101000003", 400) };
    store.create_message(&other, &[], &note, &[]).await.unwrap();
    let own = store.requests_of_phone("a", 10).await.unwrap();
    let seen: Vec<(Filed, &str, &str)> = own.iter().map(|r| (r.filed, r.tracking.as_str(), r.title.as_str())).collect();
    assert_eq!(
        seen,
        [
            (Filed::Message(MessageKind::Question, MessageStatus::Submitted), "LY20260101000001", ""),
            (Filed::Case(CaseStatus::Submitted), "BJ20260101000001", "农村低保申请")
        ],
        "newest first, no report, nobody else's"
    );
    assert_eq!(store.requests_of_phone("a", 1).await.unwrap().len(), 1, "limited");
});

conformance!(a_household_is_marked_proven_once, |store: Store| async move {
    crate::conformance::small_tree(&store).await;
    let household = crate::NewHousehold {
        org_code: "620922100200".into(),
        household_no: "H1".into(),
        head_name: "张三".into(),
        members: 3,
    };
    let household = store.add_household(&household, 1).await.unwrap();
    store.mark_household_proven(household, 5).await.unwrap();
    store.mark_household_proven(household, 9).await.unwrap();
    let first: i64 = sqlx::query_scalar("SELECT first_at FROM proven_households WHERE household_id = $1")
        .bind(household)
        .fetch_one(&store.pool)
        .await
        .unwrap();
    assert_eq!(first, 5, "the first time is kept");
});

conformance!(rate_counts_count_each_window_and_record_once, |store: Store| async move {
    assert_eq!(store.rate_counts("code", "p", &[0, 50], 10).await.unwrap(), [0, 0]);
    assert_eq!(store.rate_counts("code", "p", &[0, 50], 60).await.unwrap(), [1, 0]);
    assert_eq!(store.rate_counts("code", "p", &[0, 50], 70).await.unwrap(), [2, 1], "one event per call");
    assert_eq!(store.rate_counts("code", "q", &[0], 70).await.unwrap(), [0], "per key");
});
