//! The storage conformance suite for touch terminals: registration, one-time enrolment under a
//! race, heartbeats, listing by scope, revocation, and the roster names offered for picking.
//! Every behaviour runs on SQLite and PostgreSQL (see `conformance`).

use crate::conformance::{conformance, small_tree, user, with_postgres, with_sqlite};
use crate::{Enrolment, NewKioskTerminal, Store};

const YUANQUAN: &str = "620922100";
const LIUYUAN: &str = "620922101";

/// The small tree plus the county admin who registers terminals.
async fn setup(store: &Store) -> i64 {
    small_tree(store).await;
    store.create_staff_user(&user("admin", "county_admin", "620922"), 1).await.unwrap()
}

fn terminal(township: &str, name: &str, enrol: &str, by: i64) -> NewKioskTerminal {
    NewKioskTerminal {
        township_code: township.into(),
        name: name.into(),
        idle_seconds: 60,
        enrol_token_hash: enrol.into(),
        enrol_expires_at: 1000,
        created_by: by,
    }
}

conformance!(an_enrolment_token_works_once, |store: Store| async move {
    let by = setup(&store).await;
    let id = store.create_kiosk_terminal(&terminal(YUANQUAN, "便民服务大厅1号", "e1", by), 10).await.unwrap();
    let (a, b) = tokio::join!(store.enrol_kiosk_terminal("e1", "d1", 20), store.enrol_kiosk_terminal("e1", "d2", 20));
    let (a, b) = (a.unwrap(), b.unwrap());
    let winners = [&a, &b].iter().filter(|e| matches!(e, Enrolment::Enrolled(_))).count();
    assert_eq!(winners, 1, "two browsers, one enrolment: {a:?} {b:?}");
    assert!([&a, &b].contains(&&Enrolment::AlreadyUsed));
    let device = if matches!(a, Enrolment::Enrolled(_)) { "d1" } else { "d2" };
    let found = store.find_kiosk_by_device(device).await.unwrap().unwrap();
    assert_eq!((found.id, found.township_name.as_str(), found.enrolled_at), (id, "渊泉镇", Some(20)));
    assert_eq!(store.enrol_kiosk_terminal("e1", "d3", 30).await.unwrap(), Enrolment::AlreadyUsed);
    assert!(store.find_kiosk_by_device("d3").await.unwrap().is_none());
    assert_eq!(store.enrol_kiosk_terminal("nope", "d4", 30).await.unwrap(), Enrolment::Unknown);
    store.create_kiosk_terminal(&terminal(YUANQUAN, "2号", "e2", by), 10).await.unwrap();
    assert_eq!(store.enrol_kiosk_terminal("e2", "d5", 1000).await.unwrap(), Enrolment::Expired);
});

conformance!(heartbeats_reach_only_active_terminals, |store: Store| async move {
    let by = setup(&store).await;
    let id = store.create_kiosk_terminal(&terminal(YUANQUAN, "1号", "e1", by), 10).await.unwrap();
    assert!(!store.record_kiosk_heartbeat("d1", "1", "1080x1920", None, 15).await.unwrap(), "not enrolled yet");
    store.enrol_kiosk_terminal("e1", "d1", 20).await.unwrap();
    assert!(store.record_kiosk_heartbeat("d1", "0.1.0-ab", "1080x1920", Some("TypeError"), 50).await.unwrap());
    let t = store.find_kiosk_terminal(id).await.unwrap().unwrap();
    assert_eq!(
        (t.last_seen_at, t.last_version.as_deref(), t.last_screen.as_deref(), t.last_error.as_deref()),
        (Some(50), Some("0.1.0-ab"), Some("1080x1920"), Some("TypeError"))
    );
    assert!(store.record_kiosk_heartbeat("d1", "0.1.0-ab", "1920x1080", None, 80).await.unwrap());
    assert_eq!(store.find_kiosk_terminal(id).await.unwrap().unwrap().last_error, None, "the error cleared");
    assert!(store.revoke_kiosk_terminal(id, 90).await.unwrap());
    assert!(!store.revoke_kiosk_terminal(id, 91).await.unwrap(), "revoked once");
    assert!(!store.record_kiosk_heartbeat("d1", "1", "1080x1920", None, 100).await.unwrap());
    assert!(store.find_kiosk_by_device("d1").await.unwrap().is_none(), "a revoked device is refused");
    assert_eq!(store.find_kiosk_terminal(id).await.unwrap().unwrap().last_seen_at, Some(80));
    store.create_kiosk_terminal(&terminal(YUANQUAN, "3号", "e3", by), 10).await.unwrap();
    let revoked = store.create_kiosk_terminal(&terminal(YUANQUAN, "4号", "e4", by), 10).await.unwrap();
    store.revoke_kiosk_terminal(revoked, 20).await.unwrap();
    assert_eq!(store.enrol_kiosk_terminal("e4", "d4", 30).await.unwrap(), Enrolment::Revoked);
});

conformance!(terminals_are_listed_by_scope, |store: Store| async move {
    let by = setup(&store).await;
    let a = store.create_kiosk_terminal(&terminal(YUANQUAN, "2号", "e1", by), 10).await.unwrap();
    let b = store.create_kiosk_terminal(&terminal(YUANQUAN, "1号", "e2", by), 10).await.unwrap();
    let c = store.create_kiosk_terminal(&terminal(LIUYUAN, "1号", "e3", by), 10).await.unwrap();
    store.revoke_kiosk_terminal(b, 20).await.unwrap();
    let ids = |list: Vec<crate::KioskTerminal>| list.into_iter().map(|t| t.id).collect::<Vec<_>>();
    assert_eq!(ids(store.list_kiosk_terminals("620922").await.unwrap()), vec![a, c, b], "revoked last");
    assert_eq!(ids(store.list_kiosk_terminals(YUANQUAN).await.unwrap()), vec![a, b]);
    assert_eq!(ids(store.list_kiosk_terminals("620923").await.unwrap()), Vec::<i64>::new());
});
