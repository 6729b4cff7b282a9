//! The storage conformance suite: every behaviour runs against SQLite and PostgreSQL.
//!
//! PostgreSQL runs when `XIAOWEI_TEST_PG` names a server (e.g. `postgres://postgres@127.0.0.1:5432`);
//! each test gets a fresh database there. With `XIAOWEI_REQUIRE_PG=1` a missing server fails the
//! suite instead of skipping it, which is how CI runs.

use std::future::Future;

use rand::Rng;
use xiaowei_core::OrgLevel;

use crate::{ANY_CLIENT, LoginClaim, NewAuditEntry, NewContact, NewHousehold, NewOrg, NewStaffUser, Store, StoreError};

pub(crate) async fn with_sqlite<F, Fut>(test: F)
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
    let store = Store::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    test(store.clone()).await;
    store.close().await;
}

pub(crate) async fn with_postgres<F, Fut>(test: F)
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = ()>,
{
    let Ok(base) = std::env::var("XIAOWEI_TEST_PG") else {
        assert!(std::env::var("XIAOWEI_REQUIRE_PG").is_err(), "XIAOWEI_REQUIRE_PG is set but XIAOWEI_TEST_PG is not");
        eprintln!("skipping PostgreSQL: XIAOWEI_TEST_PG is not set");
        return;
    };
    let base = base.trim_end_matches('/').to_owned();
    let name = format!("xw_store_{:016x}", rand::thread_rng().r#gen::<u64>());
    let admin = Store::connect(&format!("{base}/postgres")).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&admin.pool).await.unwrap();
    let store = Store::connect(&format!("{base}/{name}")).await.unwrap();
    store.migrate().await.unwrap();
    test(store.clone()).await;
    store.close().await;
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE {name} WITH (FORCE)"))).execute(&admin.pool).await.unwrap();
    admin.close().await;
}

macro_rules! conformance {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;

            #[tokio::test]
            async fn sqlite() {
                with_sqlite($body).await;
            }

            #[tokio::test]
            async fn postgres() {
                with_postgres($body).await;
            }
        }
    };
}

pub(crate) use conformance;

pub(crate) fn org(code: &str, name: &str, level: OrgLevel, parent: Option<&str>) -> NewOrg {
    NewOrg { code: code.into(), name: name.into(), level, parent_code: parent.map(Into::into) }
}

pub(crate) async fn small_tree(store: &Store) {
    let orgs = [
        org("620922", "瓜州县", OrgLevel::County, None),
        org("620922100", "渊泉镇", OrgLevel::Township, Some("620922")),
        org("620922101", "柳园镇", OrgLevel::Township, Some("620922")),
        org("620922100200", "南岔村委会", OrgLevel::Village, Some("620922100")),
        org("620922100200001", "一组", OrgLevel::Group, Some("620922100200")),
        org("620922101200", "北村委会", OrgLevel::Village, Some("620922101")),
    ];
    store.import_orgs(&orgs, 1).await.unwrap();
}

pub(crate) fn user(username: &str, role: &str, org_code: &str) -> NewStaffUser {
    NewStaffUser {
        username: username.into(),
        display_name: "测试".into(),
        password_hash: "hash".into(),
        role: role.parse().expect("a role code"),
        org_code: org_code.into(),
        department_id: None,
    }
}

conformance!(org_import_is_an_upsert_and_children_are_ordered, |store: Store| async move {
    small_tree(&store).await;
    store.import_orgs(&[org("620922100", "渊泉镇（新）", OrgLevel::Township, Some("620922"))], 2).await.unwrap();
    let towns = store.child_orgs("620922").await.unwrap();
    assert_eq!(towns.iter().map(|o| o.name.as_str()).collect::<Vec<_>>(), ["渊泉镇（新）", "柳园镇"]);
    assert_eq!(store.county().await.unwrap().map(|c| c.code), Some("620922".to_owned()));
    let village = store.find_org("620922100200").await.unwrap().unwrap();
    assert_eq!(village.display_name(), "南岔村");
    assert_eq!(store.find_org("999").await.unwrap(), None);
});

conformance!(an_org_with_an_unknown_parent_is_refused_whole, |store: Store| async move {
    small_tree(&store).await;
    let bad = [
        org("620922100201", "好村委会", OrgLevel::Village, Some("620922100")),
        org("620922999201", "坏村委会", OrgLevel::Village, Some("620922999")),
    ];
    assert!(matches!(store.import_orgs(&bad, 2).await, Err(StoreError::MissingReference(_))));
    assert_eq!(store.find_org("620922100201").await.unwrap(), None, "nothing half-written");
});

conformance!(the_database_size_grows_with_what_is_stored, |store: Store| async move {
    let before = store.database_bytes().await.unwrap();
    assert!(before > 0, "a migrated database has tables");
    small_tree(&store).await;
    let villages: Vec<(String, String)> = (300..1_000)
        .map(|i| (format!("620922100{i}"), format!("第{i}个用来占用磁盘空间的很长的村民委员会名称")))
        .collect();
    let rows: Vec<NewOrg> =
        villages.iter().map(|(code, name)| org(code, name, OrgLevel::Village, Some("620922100"))).collect();
    store.import_orgs(&rows, 2).await.unwrap();
    assert!(store.database_bytes().await.unwrap() > before);
});

conformance!(refreshing_statistics_analyzes_the_tables_on_postgres, |store: Store| async move {
    small_tree(&store).await;
    store.refresh_statistics().await.unwrap();
    if store.backend() == crate::Backend::Postgres {
        let analyzed: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM pg_stat_user_tables WHERE relname = 'orgs' AND last_analyze IS NOT NULL",
        )
        .fetch_one(&store.pool)
        .await
        .unwrap();
        assert_eq!(analyzed, 1, "the org table has statistics");
    }
});

/// The bundled SQLite is built as `.cargo/config.toml` asks: without the process-wide locks of
/// memory management (one page-cache group for every connection) and of memory statistics, which
/// the screening's reads on several connections at once contended for.
#[tokio::test]
async fn sqlite_is_built_without_its_process_wide_locks() {
    with_sqlite(|store: Store| async move {
        let options: Vec<String> = sqlx::query_scalar("PRAGMA compile_options").fetch_all(&store.pool).await.unwrap();
        assert!(options.iter().any(|o| o == "DEFAULT_MEMSTATUS=0"), "memory statistics off: {options:?}");
        assert!(!options.iter().any(|o| o == "ENABLE_MEMORY_MANAGEMENT"), "memory management off: {options:?}");
    })
    .await;
}

conformance!(subtree_counts_include_households, |store: Store| async move {
    small_tree(&store).await;
    let households: Vec<_> = (0..3)
        .map(|i| NewHousehold {
            org_code: "620922100200001".into(),
            household_no: format!("H{i}"),
            head_name: format!("户主{i}"),
            members: 3,
        })
        .collect();
    store.add_households(&households, 1).await.unwrap();
    store.add_households(&households, 1).await.unwrap();
    let counts = store.org_counts("620922100").await.unwrap();
    assert_eq!((counts.townships, counts.villages, counts.groups, counts.households), (1, 1, 1, 3));
    let county = store.org_counts("620922").await.unwrap();
    assert_eq!((county.townships, county.villages), (2, 2));
    let page = store.households_of("620922100200001", 2, 1).await.unwrap();
    assert_eq!(page.iter().map(|h| h.household_no.as_str()).collect::<Vec<_>>(), ["H1", "H2"]);
    let dup = store
        .add_household(
            &NewHousehold {
                org_code: "620922100200001".into(),
                household_no: "H0".into(),
                head_name: "x".into(),
                members: 1,
            },
            1,
        )
        .await;
    assert!(matches!(dup, Err(StoreError::Duplicate { .. })));
});

conformance!(departments_and_contacts, |store: Store| async move {
    let id = store.ensure_department("民政局", 1).await.unwrap();
    assert_eq!(store.ensure_department("民政局", 2).await.unwrap(), id);
    let contact = |position: &str, idx: &str| NewContact {
        department_id: id,
        position: position.parse().expect("a post code"),
        name: "张三".into(),
        phone_enc: vec![1, 2, 3],
        phone_idx: idx.into(),
    };
    store.add_contact(&contact("officer", "a"), 1).await.unwrap();
    let head = store.add_contact(&contact("head", "b"), 1).await.unwrap();
    assert!(matches!(store.add_contact(&contact("leader", "a"), 1).await, Err(StoreError::Duplicate { .. })));
    let contacts = store.contacts_of(id).await.unwrap();
    assert_eq!(contacts.iter().map(|c| c.position.as_str()).collect::<Vec<_>>(), ["head", "officer"]);
    assert_eq!(contacts[0].phone_enc, vec![1, 2, 3]);
    store.remove_contact(id, head).await.unwrap();
    assert!(matches!(store.remove_contact(id, head).await, Err(StoreError::NotFound)));
    assert_eq!(store.departments().await.unwrap().len(), 1);
});

conformance!(sessions_end_with_expiry_disabling_and_password_change, |store: Store| async move {
    small_tree(&store).await;
    let id = store.create_staff_user(&user("clerk", "village_clerk", "620922100200"), 1).await.unwrap();
    assert!(matches!(
        store.create_staff_user(&user("clerk", "village_clerk", "620922100200"), 1).await,
        Err(StoreError::Duplicate { .. })
    ));
    store.create_session("t1", id, "c1", 10, 100).await.unwrap();
    let s = store.find_session("t1", 50).await.unwrap().unwrap();
    assert_eq!((s.user.username.as_str(), s.csrf_token.as_str()), ("clerk", "c1"));
    assert!(store.find_session("t1", 100).await.unwrap().is_none(), "expired");
    store.set_staff_disabled(id, true).await.unwrap();
    assert!(store.find_session("t1", 50).await.unwrap().is_none(), "disabling ends sessions");
    store.set_staff_disabled(id, false).await.unwrap();
    store.create_session("t2", id, "c2", 10, 100).await.unwrap();
    store.set_staff_password(id, "new").await.unwrap();
    assert!(store.find_session("t2", 50).await.unwrap().is_none(), "a new password ends sessions");
    assert_eq!(store.find_staff(id).await.unwrap().unwrap().password_hash, "new");
    store.create_session("t3", id, "c3", 10, 100).await.unwrap();
    store.delete_session("t3").await.unwrap();
    assert!(store.find_session("t3", 50).await.unwrap().is_none());
    assert!(matches!(store.set_staff_disabled(999, true).await, Err(StoreError::NotFound)));
});

conformance!(staff_listing_is_scoped_by_subtree, |store: Store| async move {
    small_tree(&store).await;
    store.create_staff_user(&user("a", "township_admin", "620922100"), 1).await.unwrap();
    store.create_staff_user(&user("b", "village_clerk", "620922100200"), 1).await.unwrap();
    store.create_staff_user(&user("c", "village_clerk", "620922101200"), 1).await.unwrap();
    let names: Vec<_> = store.staff_within("620922100").await.unwrap().into_iter().map(|u| u.username).collect();
    assert_eq!(names, ["a", "b"]);
    assert_eq!(store.staff_within("620922").await.unwrap().len(), 3);
    assert!(store.find_staff_by_username("c").await.unwrap().is_some());
});

conformance!(login_attempts_are_claimed_per_client_within_a_window, |store: Store| async move {
    let claim = |client: &'static str, now: i64| {
        let store = store.clone();
        async move { store.claim_login("u", client, now, 100).await.unwrap() }
    };
    assert_eq!(claim("1.1.1.1", 10).await, LoginClaim { attempts: 1, known_until: 0 });
    assert_eq!(claim("1.1.1.1", 11).await.attempts, 2);
    assert_eq!(claim("2.2.2.2", 11).await.attempts, 1, "another client counts apart");
    assert_eq!(claim(ANY_CLIENT, 11).await.attempts, 1);
    store.release_login("u", "1.1.1.1").await.unwrap();
    assert_eq!(claim("1.1.1.1", 12).await.attempts, 2, "a released claim is given back");
    assert_eq!(claim("1.1.1.1", 110).await.attempts, 1, "a new window starts afresh");
    store.login_succeeded("u", "1.1.1.1", 5000).await.unwrap();
    assert_eq!(claim("1.1.1.1", 111).await, LoginClaim { attempts: 1, known_until: 5000 });
    store.purge_expired(300, 200).await.unwrap();
    assert_eq!(claim("2.2.2.2", 300).await.attempts, 1, "old counters are purged");
    assert_eq!(claim("1.1.1.1", 300).await.known_until, 5000, "a known client is kept");
});

conformance!(parallel_login_claims_each_get_a_distinct_count, |store: Store| async move {
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.claim_login("u", "1.1.1.1", 10, 900).await.unwrap().attempts })
        })
        .collect();
    let mut counts = Vec::new();
    for task in tasks {
        counts.push(task.await.unwrap());
    }
    counts.sort_unstable();
    assert_eq!(counts, (1..=20).collect::<Vec<i64>>());
});

conformance!(a_form_is_claimed_once, |store: Store| async move {
    assert!(store.claim_form("k1", 1, 1).await.unwrap());
    assert!(!store.claim_form("k1", 1, 2).await.unwrap());
    assert!(store.claim_form("k2", 1, 2).await.unwrap());
});

conformance!(the_audit_log_is_scoped_and_append_only, |store: Store| async move {
    let entry = |org: Option<&str>, action: &str| NewAuditEntry {
        at: 5,
        actor_id: Some(1),
        actor_name: "admin".into(),
        action: action.into(),
        target: "x".into(),
        detail: String::new(),
        ip: "127.0.0.1".into(),
        org_code: org.map(Into::into),
    };
    store.append_audit(&entry(Some("620922100200"), "a")).await.unwrap();
    store.append_audit(&entry(Some("620922101200"), "b")).await.unwrap();
    store.append_audit(&entry(None, "c")).await.unwrap();
    let county: Vec<_> = store.audit_entries("620922", 10, 0).await.unwrap().into_iter().map(|e| e.action).collect();
    assert_eq!(county, ["c", "b", "a"]);
    let town: Vec<_> = store.audit_entries("620922100", 10, 0).await.unwrap().into_iter().map(|e| e.action).collect();
    assert_eq!(town, ["a"]);
    assert_eq!(store.audit_entries("620922", 1, 1).await.unwrap()[0].action, "b");
    let first = store.audit_entries("620922", 1, 2).await.unwrap()[0].id;
    let rewrite =
        sqlx::query("UPDATE audit_log SET detail = 'rewritten' WHERE id = $1").bind(first).execute(&store.pool).await;
    assert!(rewrite.is_err(), "UPDATE must be refused");
    let delete = sqlx::query("DELETE FROM audit_log WHERE id = $1").bind(first).execute(&store.pool).await;
    assert!(delete.is_err(), "DELETE must be refused");
});

conformance!(ping_answers, |store: Store| async move {
    store.ping().await.unwrap();
});

conformance!(a_database_of_its_own_is_created_and_dropped_on_postgres_only, |store: Store| async move {
    let name = format!("xw_own_{:016x}", rand::thread_rng().r#gen::<u64>());
    let Some(url) = store.pg_url.clone() else {
        assert!(matches!(store.create_database(&name).await, Err(StoreError::Unsupported(_))));
        assert!(matches!(store.drop_database(&name).await, Err(StoreError::Unsupported(_))));
        return;
    };
    store.create_database(&name).await.unwrap();
    let server = url.0.rsplit_once('/').unwrap().0;
    let own = Store::connect(&format!("{server}/{name}")).await.unwrap();
    own.migrate().await.unwrap();
    assert!(own.row_counts().await.unwrap().iter().all(|(_, n)| *n == 0), "a fresh database");
    // Dropping ends the connections still open on it.
    store.drop_database(&name).await.unwrap();
    let gone = match Store::connect(&format!("{server}/{name}")).await {
        Ok(again) => again.ping().await.is_err(),
        Err(_) => true,
    };
    assert!(gone, "the database is gone");
    store.drop_database(&name).await.unwrap();
    own.close().await;
});
