//! The storage conformance suite for WeChat accounts: sealed settings replaced in place, the
//! shared token cache with its refresh claim, replay protection across instances, followers
//! coming and going, household bindings, menu visits, the message-box inbox and the monitor's
//! figures per township. Every behaviour runs on SQLite and PostgreSQL (see `conformance`).

use crate::conformance::{conformance, small_tree, with_postgres, with_sqlite};
use crate::{NewHousehold, NewWechatAccount, Store};

const YUANQUAN: &str = "620922100";
const LIUYUAN: &str = "620922101";

fn account(code: &str, appid: &str) -> NewWechatAccount {
    NewWechatAccount {
        township_code: code.into(),
        appid: appid.into(),
        secret_enc: vec![1, 2],
        token_enc: vec![3],
        aes_key_enc: Some(vec![4]),
        compatible: false,
    }
}

async fn households(store: &Store) -> Vec<i64> {
    let mut ids = Vec::new();
    for (i, org) in ["620922100200", "620922100200001", "620922101200"].iter().enumerate() {
        let id = store
            .add_household(
                &NewHousehold {
                    org_code: (*org).into(),
                    household_no: format!("H{i}"),
                    head_name: if i == 0 { "王大爷".into() } else { format!("户主{i}") },
                    members: 3,
                },
                1,
            )
            .await
            .unwrap();
        ids.push(id);
    }
    ids
}

conformance!(an_account_is_saved_replaced_and_its_token_cache_cleared, |store: Store| async move {
    small_tree(&store).await;
    store.save_wechat_account(&account(YUANQUAN, "wx1"), 10).await.unwrap();
    store.store_wechat_token(YUANQUAN, b"sealed", 7210).await.unwrap();
    assert_eq!(store.wechat_cached_token(YUANQUAN).await.unwrap().map(|t| t.expires_at), Some(7210));
    store.save_wechat_account(&NewWechatAccount { aes_key_enc: None, ..account(YUANQUAN, "wx2") }, 20).await.unwrap();
    let saved = store.wechat_account(YUANQUAN).await.unwrap().unwrap();
    assert_eq!((saved.appid.as_str(), saved.aes_key_enc, saved.created_at, saved.updated_at), ("wx2", None, 10, 20));
    assert_eq!(store.wechat_cached_token(YUANQUAN).await.unwrap(), None, "new credentials, no old token");
    assert!(store.save_wechat_account(&account(LIUYUAN, "wx2"), 30).await.is_err(), "an appid serves one township");
    assert_eq!(store.wechat_accounts().await.unwrap().len(), 1);
});

conformance!(compatible_mode_is_kept_per_account_and_needs_a_key, |store: Store| async move {
    small_tree(&store).await;
    store.save_wechat_account(&account(YUANQUAN, "wx1"), 1).await.unwrap();
    assert!(!store.wechat_account(YUANQUAN).await.unwrap().unwrap().is_compatible(), "safe mode by default");
    store.save_wechat_account(&NewWechatAccount { compatible: true, ..account(YUANQUAN, "wx1") }, 2).await.unwrap();
    assert!(store.wechat_account(YUANQUAN).await.unwrap().unwrap().is_compatible());
    let plain = NewWechatAccount { compatible: true, aes_key_enc: None, ..account(YUANQUAN, "wx1") };
    store.save_wechat_account(&plain, 3).await.unwrap();
    let saved = store.wechat_account(YUANQUAN).await.unwrap().unwrap();
    assert_eq!((saved.compatible, saved.is_compatible()), (false, false), "no key, no compatible mode");
});

conformance!(one_instance_at_a_time_refreshes_the_token, |store: Store| async move {
    small_tree(&store).await;
    store.save_wechat_account(&account(YUANQUAN, "wx1"), 1).await.unwrap();
    assert!(store.claim_wechat_token_refresh(YUANQUAN, 100, 10).await.unwrap());
    assert!(!store.claim_wechat_token_refresh(YUANQUAN, 105, 10).await.unwrap(), "claimed by another");
    store.store_wechat_token(YUANQUAN, b"t1", 7300).await.unwrap();
    assert!(store.claim_wechat_token_refresh(YUANQUAN, 106, 10).await.unwrap(), "released on store");
    assert!(store.claim_wechat_token_refresh(YUANQUAN, 120, 10).await.unwrap(), "an abandoned claim expires");
    store.expire_wechat_token(YUANQUAN, b"other").await.unwrap();
    assert_eq!(store.wechat_cached_token(YUANQUAN).await.unwrap().unwrap().expires_at, 7300, "not the token in use");
    store.expire_wechat_token(YUANQUAN, b"t1").await.unwrap();
    assert_eq!(store.wechat_cached_token(YUANQUAN).await.unwrap().unwrap().expires_at, 0);
});

conformance!(a_message_is_handled_once_per_account, |store: Store| async move {
    small_tree(&store).await;
    store.save_wechat_account(&account(YUANQUAN, "wx1"), 1).await.unwrap();
    assert!(store.first_sighting(YUANQUAN, "msg:1", 100).await.unwrap());
    assert!(!store.first_sighting(YUANQUAN, "msg:1", 101).await.unwrap());
    assert!(store.first_sighting(LIUYUAN, "msg:1", 101).await.unwrap(), "keys are per account");
    assert_eq!(store.prune_wechat_seen(101).await.unwrap(), 1);
    assert!(store.first_sighting(YUANQUAN, "msg:1", 102).await.unwrap());
    // A message whose handling failed is forgotten, so its redelivery is handled.
    store.forget_wechat_sighting(YUANQUAN, "msg:1").await.unwrap();
    assert!(store.first_sighting(YUANQUAN, "msg:1", 103).await.unwrap());
    assert!(!store.first_sighting(LIUYUAN, "msg:1", 103).await.unwrap(), "another account's key stays");
});

conformance!(followers_bindings_and_visits_make_the_monitor_figures, |store: Store| async move {
    small_tree(&store).await;
    let homes = households(&store).await;
    store.save_wechat_account(&account(YUANQUAN, "wx1"), 1).await.unwrap();
    store.save_wechat_account(&account(LIUYUAN, "wx2"), 1).await.unwrap();
    for openid in ["o1", "o2", "o3"] {
        store.follower_subscribed(YUANQUAN, openid, 10).await.unwrap();
    }
    store.follower_unsubscribed(YUANQUAN, "o3", 20).await.unwrap();
    store.follower_subscribed(YUANQUAN, "o2", 30).await.unwrap();
    let o2 = store.follower(YUANQUAN, "o2").await.unwrap().unwrap();
    assert_eq!((o2.subscribed, o2.first_subscribed_at, o2.subscribed_at), (true, 10, Some(30)));
    // Two followers of one household count it once; an unsubscribed follower's household not at all.
    store.bind_follower(YUANQUAN, "o1", homes[0], 40).await.unwrap();
    store.bind_follower(YUANQUAN, "o2", homes[0], 41).await.unwrap();
    store.bind_follower(YUANQUAN, "o3", homes[1], 42).await.unwrap();
    store.bind_follower(LIUYUAN, "p1", homes[2], 43).await.unwrap();
    assert!(store.follower(LIUYUAN, "p1").await.unwrap().unwrap().subscribed, "binding implies following");
    for _ in 0..3 {
        store.count_menu_visit(YUANQUAN, "subsidies", "2026-11-29").await.unwrap();
    }
    store.count_menu_visit(YUANQUAN, "services", "2026-11-30").await.unwrap();
    assert_eq!(
        store.menu_visits(YUANQUAN).await.unwrap(),
        vec![("services".into(), "2026-11-30".into(), 1), ("subsidies".into(), "2026-11-29".into(), 3)]
    );
    let figures = store.wechat_figures().await.unwrap();
    let f: Vec<_> = figures
        .iter()
        .map(|f| (f.township_code.as_str(), f.followers, f.bound_households, f.households, f.menu_visits))
        .collect();
    assert_eq!(f, [(YUANQUAN, 2, 1, 2, 4), (LIUYUAN, 1, 1, 1, 0)]);
    let found = store.households_headed_by("620922100200", "王大爷").await.unwrap();
    assert_eq!(found.iter().map(|h| h.id).collect::<Vec<_>>(), [homes[0]]);
    assert_eq!(store.household_by_no("620922100", "H1").await.unwrap().map(|h| h.id), Some(homes[1]));
    assert_eq!(store.household_by_no("620922101", "H1").await.unwrap(), None, "outside the township");
});

conformance!(unmatched_texts_wait_for_the_message_box_once, |store: Store| async move {
    small_tree(&store).await;
    let a = store.store_unmatched_wechat_text(YUANQUAN, "o1", "路灯坏了", 10).await.unwrap();
    store.store_unmatched_wechat_text(LIUYUAN, "p1", "你好", 11).await.unwrap();
    let waiting = store.unrouted_wechat_texts(10).await.unwrap();
    assert_eq!(
        waiting.iter().map(|t| (t.openid.as_str(), t.content.as_str())).collect::<Vec<_>>(),
        [("o1", "路灯坏了"), ("p1", "你好")]
    );
    assert!(store.mark_wechat_text_routed(a, 20).await.unwrap());
    assert!(!store.mark_wechat_text_routed(a, 21).await.unwrap());
    assert_eq!(store.unrouted_wechat_texts(10).await.unwrap().len(), 1);
});
