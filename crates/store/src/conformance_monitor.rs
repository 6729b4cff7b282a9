//! The storage conformance suite for the monitor: batched visit upserts, the shared daily salt,
//! closing a day (hashes and salt deleted, the count kept), figures grouped by exact org code,
//! followers and household coverage, and the visit and household drill-downs. Every behaviour
//! runs on SQLite and PostgreSQL (see `conformance`).

use crate::conformance::{conformance, small_tree, with_postgres, with_sqlite};
use crate::{FigureQuery, NewHousehold, NewWechatAccount, OrgValue, Store, UniqueVisitor, VisitIncrement};

const YUANQUAN: &str = "620922100";
const NANCHA: &str = "620922100200";
const BEICUN: &str = "620922101200";

fn inc(day: &str, org: &str, menu: &str, channel: &str, count: i64) -> VisitIncrement {
    VisitIncrement {
        day: day.into(),
        org_code: org.into(),
        menu: menu.parse().expect("a menu code"),
        channel: channel.parse().expect("a channel code"),
        count,
    }
}

fn visitor(day: &str, org: &str, v: &str) -> UniqueVisitor {
    UniqueVisitor { day: day.into(), org_code: org.into(), visitor: v.into() }
}

fn query(prefix: &str, from_day: &str, to_day: &str) -> FigureQuery {
    FigureQuery {
        prefix: prefix.into(),
        from: 0,
        to: i64::MAX,
        from_day: from_day.into(),
        to_day: to_day.into(),
        now: 1_000,
    }
}

fn value(values: &[OrgValue], org: &str) -> i64 {
    values.iter().find(|v| v.org_code == org).map_or(0, |v| v.n)
}

conformance!(visits_add_up_per_day_org_menu_and_channel, |store: Store| async move {
    small_tree(&store).await;
    store
        .add_visits(
            &[
                inc("2026-11-01", NANCHA, "subsidies", "wechat", 3),
                inc("2026-11-01", NANCHA, "subsidies", "browser", 1),
                inc("2026-11-02", BEICUN, "home", "kiosk", 2),
            ],
            &[],
        )
        .await
        .unwrap();
    store.add_visits(&[inc("2026-11-01", NANCHA, "subsidies", "wechat", 4)], &[]).await.unwrap();
    store.add_visits(&[], &[]).await.unwrap();
    let all = store.monitor_values(&query("620922", "2026-11-01", "2026-11-03")).await.unwrap();
    assert_eq!((value(&all.visits, NANCHA), value(&all.visits, BEICUN)), (8, 2));
    let first_day = store.monitor_values(&query("620922", "2026-11-01", "2026-11-02")).await.unwrap();
    assert_eq!((value(&first_day.visits, NANCHA), value(&first_day.visits, BEICUN)), (8, 0));
    let yuanquan = store.monitor_values(&query(YUANQUAN, "2026-11-01", "2026-11-03")).await.unwrap();
    assert_eq!(yuanquan.visits.len(), 1, "the scope prefix keeps other townships out");
    let days = store.visits_by_day("620922", "2026-11-01", "2026-11-30").await.unwrap();
    assert_eq!(days.iter().map(|d| (d.day.as_str(), d.n)).collect::<Vec<_>>(), [("2026-11-01", 8), ("2026-11-02", 2)]);
    let rows = store.monitor_visit_rows(&query(YUANQUAN, "2026-11-01", "2026-11-03"), 1, 0).await.unwrap();
    assert_eq!(rows.total, 2);
    assert_eq!(rows.rows.len(), 1);
    assert_eq!(
        (rows.rows[0].channel.as_str(), rows.rows[0].count, rows.rows[0].org_name.as_str()),
        ("browser", 1, "南岔村委会")
    );
});

conformance!(a_days_salt_is_shared_and_closing_the_day_keeps_only_the_count, |store: Store| async move {
    small_tree(&store).await;
    let salt = store.visit_salt("2026-11-01", b"first").await.unwrap();
    assert_eq!(salt, b"first");
    assert_eq!(store.visit_salt("2026-11-01", b"second").await.unwrap(), b"first", "a restart keeps the salt");
    store.visit_salt("2026-11-02", b"next").await.unwrap();
    let seen = [
        visitor("2026-11-01", NANCHA, "a"),
        visitor("2026-11-01", YUANQUAN, "a"),
        visitor("2026-11-01", NANCHA, "b"),
        visitor("2026-11-02", NANCHA, "a"),
    ];
    store.add_visits(&[], &seen).await.unwrap();
    store.add_visits(&[], &seen[..1]).await.unwrap();
    let q = query("620922", "2026-11-01", "2026-11-03");
    let before = store.monitor_values(&q).await.unwrap();
    assert_eq!((value(&before.visitors, NANCHA), value(&before.visitors, YUANQUAN)), (3, 1));
    assert_eq!(store.close_visit_days("2026-11-02").await.unwrap(), 1);
    let after = store.monitor_values(&q).await.unwrap();
    assert_eq!(after.visitors, before.visitors, "closing a day keeps its count");
    assert_eq!(store.visit_salt("2026-11-01", b"new").await.unwrap(), b"new", "the closed day's salt is gone");
    assert_eq!(store.visit_salt("2026-11-02", b"other").await.unwrap(), b"next", "the open day keeps its salt");
});

conformance!(followers_and_covered_households_are_grouped_by_org, |store: Store| async move {
    small_tree(&store).await;
    for (code, appid) in [(YUANQUAN, "wx1"), ("620922101", "wx2")] {
        let account = NewWechatAccount {
            township_code: code.into(),
            appid: appid.into(),
            secret_enc: vec![1],
            token_enc: vec![2],
            aes_key_enc: None,
            compatible: false,
        };
        store.save_wechat_account(&account, 1).await.unwrap();
    }
    let mut ids = Vec::new();
    for (i, org) in [NANCHA, "620922100200001", NANCHA, BEICUN].iter().enumerate() {
        let h = NewHousehold {
            org_code: (*org).into(),
            household_no: format!("H{i}"),
            head_name: format!("户主{i}"),
            members: 2,
        };
        ids.push(store.add_household(&h, 1).await.unwrap());
    }
    store.bind_follower(YUANQUAN, "o1", ids[0], 5).await.unwrap();
    store.bind_follower(YUANQUAN, "o2", ids[0], 5).await.unwrap();
    store.bind_follower(YUANQUAN, "o3", ids[1], 5).await.unwrap();
    store.follower_subscribed(YUANQUAN, "o4", 5).await.unwrap();
    store.bind_follower("620922101", "o5", ids[3], 5).await.unwrap();
    store.follower_unsubscribed("620922101", "o5", 6).await.unwrap();
    let v = store.monitor_values(&query("620922", "2026-11-01", "2026-11-02")).await.unwrap();
    assert_eq!(value(&v.followers, YUANQUAN), 4);
    assert_eq!(value(&v.followers, "620922101"), 0, "an unsubscribed follower no longer counts");
    assert_eq!(value(&v.bound_followers, NANCHA), 2);
    assert_eq!(value(&v.covered_households, NANCHA), 1);
    assert_eq!(value(&v.covered_households, "620922100200001"), 1);
    assert_eq!(value(&v.households, NANCHA), 2);
    assert_eq!(value(&v.households, BEICUN), 1);
    let list = store.monitor_household_rows(NANCHA, 10, 0).await.unwrap();
    assert_eq!(list.total, 3);
    assert_eq!(
        list.rows.iter().map(|r| (r.household_no.as_str(), r.covered)).collect::<Vec<_>>(),
        [("H2", false), ("H0", true), ("H1", true)]
    );
    // A household reached through one of its proven phones counts as covered too.
    store.mark_household_proven(ids[2], 7).await.unwrap();
    let v = store.monitor_values(&query("620922", "2026-11-01", "2026-11-02")).await.unwrap();
    assert_eq!(value(&v.covered_households, NANCHA), 2);
    let list = store.monitor_household_rows(NANCHA, 10, 0).await.unwrap();
    assert!(list.rows.iter().all(|r| r.covered));
});
