//! The storage conformance suite for 预警: an alert is raised once per dedup key and a re-raise
//! never resets its handling, handling moves by compare-and-set (looked at, then resolved), and
//! the list filters by scope, kind, status and restriction with counts per township; the live
//! overview counts open, overdue and rated work in scope, reports only for the commission. The
//! queries finding each condition run against real activity in `tests/it/alerts.rs`, on both
//! engines.

use xiaowei_core::alert::{self, AlertAction, AlertKind, AlertStatus, SubjectKind};
use xiaowei_core::message::MessageKind;

use crate::conformance::{conformance, small_tree, user, with_postgres, with_sqlite};
use crate::{AlertFilter, NewAlert, Store, StoreError};

use AlertKind as K;
use AlertStatus as S;

const NANCHA: &str = "620922100200";
const BEICUN: &str = "620922101200";

fn alert(kind: &str, org: &str, key: &str, restricted: bool) -> NewAlert {
    NewAlert {
        kind: AlertKind::parse(kind).unwrap(),
        org_code: org.into(),
        subject_kind: SubjectKind::Case,
        subject_id: key.into(),
        dedup_key: format!("{kind}:case:{key}"),
        summary: "办件超过24小时未联系".into(),
        link: format!("/staff/cases/{key}"),
        restricted,
    }
}

conformance!(an_alert_is_raised_once_and_a_rescan_keeps_its_handling, |store: Store| async move {
    small_tree(&store).await;
    let boss = store.create_staff_user(&user("jiwei", "supervisor", "620922"), 1).await.unwrap();
    let a = alert("contact_overdue", NANCHA, "BJ1", false);
    assert!(store.raise_alert(&a, 100).await.unwrap());
    assert!(!store.raise_alert(&a, 200).await.unwrap(), "a second scan finds the same alert");
    let asked = ["contact_overdue:case:BJ1".to_owned(), "contact_overdue:case:BJ9".to_owned()];
    let known = store.known_alert_keys(&asked).await.unwrap();
    assert_eq!(known.into_iter().collect::<Vec<_>>(), ["contact_overdue:case:BJ1"]);
    assert!(store.known_alert_keys(&[]).await.unwrap().is_empty());
    let (all, total) =
        store.alerts(&AlertFilter { org_prefix: "620922".into(), ..AlertFilter::default() }, 10, 0).await.unwrap();
    assert_eq!((all.len(), total), (1, 1));
    let id = all[0].id;
    assert_eq!(
        (all[0].status, all[0].raised_at, all[0].kind, all[0].restricted),
        (S::New, 100, K::ContactOverdue, false)
    );

    let look = alert::transition(S::New, AlertAction::Look).unwrap();
    let resolve = alert::transition(S::LookedAt, AlertAction::Resolve).unwrap();
    assert!(!store.change_alert(id, resolve, boss, "已处理", 250).await.unwrap(), "someone must look first");
    assert!(store.change_alert(id, look, boss, "", 300).await.unwrap());
    assert!(!store.change_alert(id, look, boss, "", 301).await.unwrap(), "a double click acts once");
    assert!(!store.raise_alert(&a, 400).await.unwrap());
    let seen = store.find_alert(id).await.unwrap().unwrap();
    assert_eq!(
        (seen.status, seen.looked_at, seen.looked_at_name.as_deref(), seen.note.as_deref()),
        (S::LookedAt, Some(300), Some("测试"), None)
    );
    assert!(store.change_alert(id, resolve, boss, "已约谈经办人", 500).await.unwrap());
    assert!(!store.change_alert(id, resolve, boss, "再次处置", 501).await.unwrap());
    assert!(!store.raise_alert(&a, 600).await.unwrap());
    let done = store.find_alert(id).await.unwrap().unwrap();
    assert_eq!(
        (done.status, done.note.as_deref(), done.resolved_at, done.looked_at),
        (S::Resolved, Some("已约谈经办人"), Some(500), Some(300))
    );
    assert_eq!(done.resolved_by, Some(boss));
    assert!(store.find_alert(id + 1000).await.unwrap().is_none());
});

conformance!(the_alert_list_filters_by_scope_kind_status_and_restriction, |store: Store| async move {
    small_tree(&store).await;
    let boss = store.create_staff_user(&user("jiwei", "supervisor", "620922"), 1).await.unwrap();
    store.raise_alert(&alert("contact_overdue", NANCHA, "BJ1", false), 100).await.unwrap();
    store.raise_alert(&alert("unsatisfied", NANCHA, "BJ2", false), 110).await.unwrap();
    store.raise_alert(&alert("deadline_overdue", NANCHA, "LY3", true), 120).await.unwrap();
    store.raise_alert(&alert("contact_overdue", BEICUN, "BJ4", false), 130).await.unwrap();
    let county = AlertFilter { org_prefix: "620922".into(), include_restricted: true, ..AlertFilter::default() };
    let (rows, total) = store.alerts(&county, 2, 0).await.unwrap();
    assert_eq!(total, 4);
    assert_eq!(rows.iter().map(|a| a.subject_id.as_str()).collect::<Vec<_>>(), ["BJ4", "LY3"], "newest first");
    let (rest, _) = store.alerts(&county, 2, 2).await.unwrap();
    assert_eq!(rest.iter().map(|a| a.subject_id.as_str()).collect::<Vec<_>>(), ["BJ2", "BJ1"]);

    let unrestricted = AlertFilter { include_restricted: false, ..county.clone() };
    assert_eq!(store.alerts(&unrestricted, 10, 0).await.unwrap().1, 3, "reports' alerts stay with the commission");
    let township = AlertFilter { org_prefix: "620922100".into(), ..county.clone() };
    assert_eq!(store.alerts(&township, 10, 0).await.unwrap().1, 3);
    let kind = AlertFilter { kind: Some(K::ContactOverdue), ..county.clone() };
    assert_eq!(store.alerts(&kind, 10, 0).await.unwrap().1, 2);

    let first = store.alerts(&kind, 10, 0).await.unwrap().0[0].id;
    let look = alert::transition(S::New, AlertAction::Look).unwrap();
    assert!(store.change_alert(first, look, boss, "", 200).await.unwrap());
    let resolve = alert::transition(S::LookedAt, AlertAction::Resolve).unwrap();
    assert!(store.change_alert(first, resolve, boss, "已处理", 210).await.unwrap());
    let (ordered, _) = store.alerts(&county, 10, 0).await.unwrap();
    assert_eq!(ordered.last().map(|a| a.id), Some(first), "resolved alerts come last");
    store.raise_alert(&alert("disclosure_overdue", BEICUN, "V1", false), 140).await.unwrap();
    store.raise_alert(&alert("contact_overdue", BEICUN, "BJ5", false), 140).await.unwrap();
    let (top, _) = store.alerts(&county, 2, 0).await.unwrap();
    assert_eq!(top.iter().map(|a| a.subject_id.as_str()).collect::<Vec<_>>(), ["BJ5", "V1"], "urgent kinds first");
    let resolved = AlertFilter { status: Some(S::Resolved), ..county.clone() };
    assert_eq!(store.alerts(&resolved, 10, 0).await.unwrap().1, 1);

    let counts = store.alert_counts("620922", true).await.unwrap();
    let got: Vec<(&str, &str, i64)> =
        counts.iter().map(|c| (c.township_code.as_str(), c.status.as_str(), c.count)).collect();
    assert_eq!(got, [("620922100", "new", 3), ("620922101", "new", 2), ("620922101", "resolved", 1)]);
    let counts = store.alert_counts("620922100", false).await.unwrap();
    assert_eq!(counts.iter().map(|c| c.count).sum::<i64>(), 2);
    let figures = store.live_figures("620922", true, 1_000, 0).await.unwrap();
    assert_eq!(figures.new_alerts, 5);
    assert_eq!(store.live_figures("620922", false, 1_000, 0).await.unwrap().new_alerts, 4);
});

fn message(kind: MessageKind, org: &str, tracking: &str, at: i64, due: i64) -> crate::NewMessage {
    crate::NewMessage {
        tracking: tracking.into(),
        submit_key: format!("k-{tracking}"),
        kind,
        org_code: org.into(),
        author_name: String::new(),
        phone_enc: None,
        phone_idx: None,
        secret_idx: None,
        body: "正文".into(),
        allow_public: false,
        submitted_at: at,
        reply_due: due,
        reply_remind_at: due - 1,
        deadline_basis: "3个工作日".into(),
    }
}

conformance!(live_figures_count_open_overdue_and_rated_work_in_scope, |store: Store| async move {
    use crate::conformance_services::{catalogue, event, new_case};
    use xiaowei_core::tracked::TimelineKind;
    let (dept, item) = catalogue(&store).await;
    let day = 86_400;
    let now = 100 * day;
    // Open and overdue (contact and completion), open in time, and one closed with a rating.
    store
        .create_case(&new_case(item, dept, "a", "BJ1", now - 20 * day), &[], &event(TimelineKind::Submitted), &[])
        .await
        .unwrap();
    store
        .create_case(&new_case(item, dept, "b", "BJ2", now - 3_600), &[], &event(TimelineKind::Submitted), &[])
        .await
        .unwrap();
    let (rated, _) = store
        .create_case(&new_case(item, dept, "c", "BJ3", now - 5 * day), &[], &event(TimelineKind::Submitted), &[])
        .await
        .unwrap();
    use crate::conformance_services::step;
    use xiaowei_core::service::{CaseAction as A, CaseStatus as S};
    use xiaowei_core::tracked::{Rating, Satisfaction};
    for (transition, change) in [
        (step(S::Submitted, A::Contact), crate::CaseChange { contacted: true, ..Default::default() }),
        (
            step(S::InProgress, A::Complete),
            crate::CaseChange { completed_reply: Some("好".into()), ..Default::default() },
        ),
        (
            step(S::Completed, A::Rate(Satisfaction::Basic)),
            crate::CaseChange {
                rating: Some(Rating { satisfaction: Satisfaction::Basic, comment: String::new() }),
                ..Default::default()
            },
        ),
    ] {
        assert!(
            store
                .change(rated, transition, &change, &event(TimelineKind::ContactOverdue), &[], now - day)
                .await
                .unwrap()
        );
    }
    let e = crate::NewEvent {
        kind: TimelineKind::Submitted,
        actor: "留言人".into(),
        staff_user_id: None,
        method: None,
        note: "s".into(),
        public: true,
    };
    store
        .create_message(&message(MessageKind::Question, NANCHA, "LY1", now - 5 * day, now - day), &[], &e, &[])
        .await
        .unwrap();
    store
        .create_message(&message(MessageKind::Report, NANCHA, "LY2", now - 2 * day, now - day), &[], &e, &[])
        .await
        .unwrap();
    store
        .create_message(&message(MessageKind::Question, BEICUN, "LY3", now - 3_000, now + day), &[], &e, &[])
        .await
        .unwrap();

    let county = store.live_figures("620922", true, now, now - 30 * day).await.unwrap();
    assert_eq!(
        (county.open_cases, county.overdue_cases, county.contact_overdue),
        (2, 1, 1),
        "BJ1 is overdue both ways, BJ2 is in time, BJ3 is closed"
    );
    assert_eq!((county.open_messages, county.overdue_messages), (3, 2));
    assert_eq!((county.satisfied, county.basic, county.unsatisfied), (0, 1, 0));
    let outside_commission = store.live_figures("620922", false, now, now - 30 * day).await.unwrap();
    assert_eq!((outside_commission.open_messages, outside_commission.overdue_messages), (2, 1), "reports left out");
    let township = store.live_figures("620922100", true, now, now - 30 * day).await.unwrap();
    assert_eq!(township.open_messages, 2, "柳园镇's message is outside 渊泉镇");
    let this_month_only = store.live_figures("620922", true, now, now).await.unwrap();
    assert_eq!(this_month_only.basic, 0, "ratings before the month start do not count");

    let arrivals = store.latest_arrivals("620922", true, 10).await.unwrap();
    let order: Vec<(&str, &str)> = arrivals.iter().map(|a| (a.kind.as_str(), a.detail.as_str())).collect();
    assert_eq!(
        order,
        [
            ("message", "question"),
            ("case", "农村低保申请"),
            ("message", "report"),
            ("case", "农村低保申请"),
            ("message", "question"),
            ("case", "农村低保申请")
        ],
        "newest first"
    );
    let without_reports = store.latest_arrivals("620922", false, 2).await.unwrap();
    assert_eq!(without_reports.iter().map(|a| a.kind.as_str()).collect::<Vec<_>>(), ["message", "case"]);
    assert!(store.latest_arrivals("620922", false, 10).await.unwrap().iter().all(|a| a.detail != "report"));
});

conformance!(an_unknown_stored_alert_code_or_flag_is_an_error_not_a_default, |store: Store| async move {
    small_tree(&store).await;
    store.raise_alert(&alert("contact_overdue", NANCHA, "BJ1", false), 100).await.unwrap();
    let filter = AlertFilter { org_prefix: "620922".into(), include_restricted: true, ..AlertFilter::default() };
    let id = store.alerts(&filter, 1, 0).await.unwrap().0[0].id;
    for (column, value) in [("kind", "'contact_late'"), ("subject_kind", "'cases'"), ("restricted", "2")] {
        let good = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(format!(
            "SELECT CAST({column} AS TEXT) FROM alerts WHERE id = $1"
        )))
        .bind(id)
        .fetch_one(&store.pool)
        .await
        .unwrap();
        let set = |v: &str| format!("UPDATE alerts SET {column} = {v} WHERE id = {id}");
        sqlx::query(sqlx::AssertSqlSafe(set(value))).execute(&store.pool).await.unwrap();
        let found = store.find_alert(id).await;
        assert!(matches!(&found, Err(StoreError::Corrupt(m)) if m.contains(column)), "{column}: {found:?}");
        assert!(matches!(store.alerts(&filter, 10, 0).await, Err(StoreError::Corrupt(_))), "{column}");
        let quoted = if column == "restricted" { good } else { format!("'{good}'") };
        sqlx::query(sqlx::AssertSqlSafe(set(&quoted))).execute(&store.pool).await.unwrap();
        assert!(store.find_alert(id).await.unwrap().is_some(), "{column} restored");
    }
});
