//! 预警 and the live overview end to end: known activity of every alert kind (each with a near
//! miss) is seeded, the scan runs with a controlled time and must raise exactly the expected
//! alerts; a re-scan raises nothing and keeps handling; a later scan raises exactly what became
//! due; the handling workflow over HTTP (look, resolve with a note and a confirmation, audited);
//! scope by township and the commission-only alerts about reports; and the Server-Sent Events
//! stream delivering a new case to an open overview.

use std::time::{Duration, Instant};
use xiaowei_core::disclosure;
use xiaowei_core::subsidy::{self, RosterAction, RosterStatus};

use xiaowei_core::Role;
use xiaowei_core::alert::{self, AlertAction, AlertKind, AlertStatus};
use xiaowei_core::message::{self, MessageAction as A, MessageStatus as S};
use xiaowei_core::service::{self, CaseAction, CaseStatus};
use xiaowei_core::tracked::Satisfaction;
use xiaowei_server::workers::alerts::scan;
use xiaowei_store::{
    AlertFilter, CaseChange, MessageChange, NewCase, NewDifference, NewDisclosure, NewEvent, NewMessage, NewOutbox,
    NewPowerExercise, NewPowerStepRecord, NewRoster, Store,
};

use crate::helpers::{TestApp, both_backends, person_id};

const NANCHA: &str = "620922100200";
const BEICUN: &str = "620922101200";
const FOREIGN_VILLAGE: &str = "620923100200";
const DAY: i64 = 86_400;
const HOUR: i64 = 3_600;

/// 2025-10-20 12:00 in Shanghai: the scan's "now".
fn t0() -> i64 {
    "2025-10-20T04:00:00Z".parse::<jiff::Timestamp>().unwrap().as_second()
}

fn case_event() -> NewEvent {
    NewEvent {
        kind: xiaowei_core::tracked::TimelineKind::Submitted,
        actor: "系统".into(),
        staff_user_id: None,
        method: None,
        note: "x".into(),
        public: false,
    }
}

fn text_to(role: &str, idx: &str) -> NewOutbox {
    NewOutbox {
        dedup_key: format!("{role}-{idx}-{}", rand::random::<u64>()),
        channel: xiaowei_core::outbox::TextChannel::Sms,
        notice: "case_submitted".into(),
        recipient: format!("{role} 测试"),
        phone_enc: vec![1],
        phone_idx: idx.into(),
        params: "[]".into(),
        body: "新办件".into(),
    }
}

/// A case of (item, department) in 南岔 submitted at `at` (contact due a day later, completion
/// due at `completion_due`), texted to `texts`; returns its id.
async fn case(
    store: &Store,
    item: (i64, i64),
    tracking: &str,
    at: i64,
    completion_due: i64,
    texts: &[NewOutbox],
) -> i64 {
    let c = NewCase {
        tracking: tracking.into(),
        submit_key: format!("k-{tracking}"),
        item_id: item.0,
        department_id: item.1,
        org_code: NANCHA.into(),
        applicant_name: "孙大爷".into(),
        phone_enc: vec![1],
        phone_idx: "applicant".into(),
        resident_id_enc: None,
        description: "申请".into(),
        filed_by: None,
        submitted_at: at,
        contact_due: at + DAY,
        contact_remind_at: at + DAY - 4 * HOUR,
        completion_due,
        completion_remind_at: completion_due - DAY,
        deadline_basis: "15个工作日".into(),
    };
    store.create_case(&c, &[], &case_event(), texts).await.unwrap().0
}

async fn change(store: &Store, id: i64, from: CaseStatus, action: CaseAction, change: CaseChange, at: i64) {
    let transition = service::transition(from, action).unwrap();
    assert!(store.change(id, transition, &change, &case_event(), &[], at).await.unwrap());
}

fn contacted() -> CaseChange {
    CaseChange { contacted: true, ..CaseChange::default() }
}

fn completed() -> CaseChange {
    CaseChange { completed_reply: Some("已办结".into()), ..CaseChange::default() }
}

fn rated(r: &str) -> CaseChange {
    let satisfaction = xiaowei_core::tracked::Satisfaction::parse(r).expect("a rating");
    CaseChange {
        rating: Some(xiaowei_core::tracked::Rating { satisfaction, comment: String::new() }),
        ..CaseChange::default()
    }
}

fn message_event() -> NewEvent {
    NewEvent {
        kind: xiaowei_core::tracked::TimelineKind::Submitted,
        actor: "系统".into(),
        staff_user_id: None,
        method: None,
        note: "x".into(),
        public: false,
    }
}

async fn message(store: &Store, tracking: &str, kind: &str, at: i64, due: i64) -> i64 {
    let m = NewMessage {
        tracking: tracking.into(),
        submit_key: format!("k-{tracking}"),
        kind: kind.parse().unwrap(),
        org_code: NANCHA.into(),
        author_name: String::new(),
        phone_enc: None,
        phone_idx: None,
        secret_idx: None,
        body: "村里的路灯坏了".into(),
        allow_public: false,
        submitted_at: at,
        reply_due: due,
        reply_remind_at: due - DAY,
        deadline_basis: "3个工作日".into(),
    };
    store.create_message(&m, &[], &message_event(), &[]).await.unwrap().0
}

async fn disclose(store: &Store, by: i64, village: &str, category: &str, at: i64) {
    let d = NewDisclosure {
        org_code: village.into(),
        category: xiaowei_core::disclosure::Category::parse(category).unwrap(),
        title: format!("{category}公开"),
        body: "正文".into(),
        period_label: "2025年".into(),
        period_start: None,
        period_end: None,
        supersedes_id: None,
        correction_reason: None,
        created_by: by,
    };
    let id = store.create_disclosure(&d, &[], at).await.unwrap();
    store
        .change_disclosure_status(
            id,
            disclosure::advance(RosterStatus::Draft, RosterAction::Submit).unwrap(),
            None,
            by,
            at,
        )
        .await
        .unwrap();
    store.publish_disclosure(id, by, at).await.unwrap();
}

async fn paid_roster(app: &TestApp, by: i64, period: &str, differences: usize, publish: bool) -> i64 {
    let store = app.state.store();
    let line = xiaowei_core::roster::check(
        &[vec!["姓名".into(), "身份证号".into(), "金额".into()], vec!["张三".into(), person_id(7), "600".into()]],
        None,
    )
    .unwrap()
    .lines
    .remove(0);
    let entry = xiaowei_server::app::rosters::seal_line(app.state.cipher(), &line);
    let roster = NewRoster {
        programme_id: app.programme().await,
        org_code: NANCHA.into(),
        year: 2025,
        period: period.into(),
        phase: xiaowei_core::subsidy::Phase::Paid,
        settles_id: None,
        supersedes_id: None,
        correction_reason: None,
        paid_on: Some("2025-09-01".into()),
        created_by: by,
    };
    let id = store.create_roster(&roster, &[entry], 1).await.unwrap();
    let diffs: Vec<NewDifference> = (0..differences)
        .map(|i| NewDifference {
            kind: xiaowei_core::subsidy::DifferenceKind::AmountChanged,
            person_idx: format!("p{i}"),
            name: "张三".into(),
            id_masked: "620922********0011".into(),
            proposed_fen: Some(60_000),
            paid_fen: Some(50_000),
        })
        .collect();
    store.replace_differences(id, &diffs).await.unwrap();
    if publish {
        store
            .change_roster_status(
                id,
                subsidy::transition(RosterStatus::Draft, RosterAction::Submit).unwrap(),
                None,
                by,
                2,
            )
            .await
            .unwrap();
        store.publish_roster(id, None, None, by, 3).await.unwrap();
    }
    id
}

/// Seeds one or more subjects of every alert kind, each beside a near miss, and returns what
/// the scan at [`t0`] must raise as sorted (kind, subject id) pairs.
async fn seed_activity(app: &TestApp) -> Vec<(String, String)> {
    let store = app.state.store();
    let t = t0();
    let ([item, _], _) = crate::services::seed_cases(app).await;
    let own = (item, app.own_department);
    let clerk = store.find_staff_by_username("clerk2").await.unwrap().unwrap().id;
    let far = t + 10 * DAY;

    // Contact: A never contacted, C contacted late, G never contacted; B contacted in time.
    // The officer was texted about A, C and G (the newest three, none contacted in time: dead
    // routing); the township handler about A, B and C (B in time: alive); the head about A, C, G
    // (told for information only, never watched).
    let all_three =
        [text_to("经办人", "officer-idx"), text_to("乡镇经办人", "handler-idx"), text_to("部门主要领导", "head-idx")];
    case(store, own, "BJ20251015000001", t - 5 * DAY, far, &all_three).await;
    let b = case(store, own, "BJ20251015000002", t - 9 * DAY / 2, far, &[text_to("乡镇经办人", "handler-idx")]).await;
    change(store, b, CaseStatus::Submitted, CaseAction::Contact, contacted(), t - 4 * DAY).await;
    let c = case(
        store,
        own,
        "BJ20251015000003",
        t - 4 * DAY,
        far,
        &[text_to("经办人", "officer-idx"), text_to("乡镇经办人", "handler-idx"), text_to("部门主要领导", "head-idx")],
    )
    .await;
    change(store, c, CaseStatus::Submitted, CaseAction::Contact, contacted(), t - 2 * DAY).await;
    case(
        store,
        own,
        "BJ20251015000004",
        t - 3 * DAY,
        far,
        &[text_to("经办人", "officer-idx"), text_to("部门主要领导", "head-idx")],
    )
    .await;
    // A case whose contact deadline is exactly now is not yet breached.
    case(store, own, "BJ20251015000005", t - DAY, far, &[]).await;

    // Deadline: D open past its due date; D2 due an hour from now.
    let d = case(store, own, "BJ20251015000006", t - 30 * DAY, t - DAY, &[]).await;
    change(store, d, CaseStatus::Submitted, CaseAction::Contact, contacted(), t - 30 * DAY + HOUR).await;
    let d2 = case(store, own, "BJ20251015000007", t - 10 * DAY, t + HOUR, &[]).await;
    change(store, d2, CaseStatus::Submitted, CaseAction::Contact, contacted(), t - 10 * DAY + HOUR).await;

    // Ratings: E rated 不满意 (reopened), F rated 满意.
    for (tracking, rating) in
        [("BJ20251015000008", Satisfaction::Unsatisfied), ("BJ20251015000009", Satisfaction::Satisfied)]
    {
        let id = case(store, own, tracking, t - 6 * DAY, far, &[]).await;
        change(store, id, CaseStatus::Submitted, CaseAction::Contact, contacted(), t - 6 * DAY + HOUR).await;
        change(store, id, CaseStatus::InProgress, CaseAction::Complete, completed(), t - 2 * DAY).await;
        change(store, id, CaseStatus::Completed, CaseAction::Rate(rating), rated(rating.as_str()), t - HOUR).await;
    }
    // The cases seeded for the access matrix are filed at the real time, far after t: quiet.

    // Messages: M1 complaint and M2 report past their reply date; M3 answered in time and rated
    // 不满意 (reopened with a new date); M4 answered in time.
    message(store, "LY20251015000001", "complaint", t - 5 * DAY, t - DAY).await;
    message(store, "LY20251015000002", "report", t - 5 * DAY, t - DAY).await;
    for (tracking, rating) in [("LY20251015000003", Some("unsatisfied")), ("LY20251015000004", None)] {
        let id = message(store, tracking, "question", t - 3 * DAY, t + DAY).await;
        let reply = MessageChange { reply: Some(("已答复".into(), false, clerk)), ..MessageChange::default() };
        assert!(
            store
                .change(
                    id,
                    message::transition(S::Submitted, A::Reply).unwrap(),
                    &reply,
                    &message_event(),
                    &[],
                    t - 2 * DAY
                )
                .await
                .unwrap()
        );
        if let Some(rating) = rating {
            let rate = MessageChange {
                rating: Some(xiaowei_core::tracked::Rating {
                    satisfaction: xiaowei_core::tracked::Satisfaction::parse(rating).expect("a rating"),
                    comment: String::new(),
                }),
                new_due: Some((t + 3 * DAY, t + 2 * DAY, "3个工作日".into())),
                ..MessageChange::default()
            };
            assert!(
                store
                    .change(
                        id,
                        message::transition(S::Replied, A::Rate(Satisfaction::Unsatisfied)).unwrap(),
                        &rate,
                        &message_event(),
                        &[],
                        t - HOUR
                    )
                    .await
                    .unwrap()
            );
        }
    }

    // Disclosures: 南岔 on time in every required category (village affairs exactly 92 days
    // ago); 北村 finance 100 days ago; the foreign village never disclosed.
    disclose(store, clerk, NANCHA, "party", t - 10 * DAY).await;
    disclose(store, clerk, NANCHA, "village_affairs", t - 92 * DAY).await;
    disclose(store, clerk, NANCHA, "finance", t - 5 * DAY).await;
    disclose(store, clerk, BEICUN, "party", t - 10 * DAY).await;
    disclose(store, clerk, BEICUN, "village_affairs", t - 10 * DAY).await;
    disclose(store, clerk, BEICUN, "finance", t - 100 * DAY).await;

    // Power: the seeded record, with step 3 recorded and step 2 skipped; a second record with
    // step 1 on time and step 2 merely overdue today.
    let (power_item, skipped) = crate::powers::seed_power(app, "620922", NANCHA).await;
    let step = |exercise_id, step_no: i64, done_on: &str| NewPowerStepRecord {
        exercise_id,
        step_no,
        done_on: done_on.into(),
        actor_name: "王主任".into(),
        action: "办理".into(),
        decision: String::new(),
        recorded_by: clerk,
    };
    store.record_power_step(&step(skipped, 3, "2025-01-04"), 2).await.unwrap();
    store.publish_power_exercise(skipped, 3).await.unwrap();
    let open = NewPowerExercise {
        item_id: power_item,
        org_code: NANCHA.into(),
        title: "2025年村部维修".into(),
        started_on: "2025-01-01".into(),
        created_by: clerk,
    };
    let on_time = store.open_power_exercise(&open, 1).await.unwrap();
    store.record_power_step(&step(on_time, 1, "2025-01-02"), 2).await.unwrap();
    store.publish_power_exercise(on_time, 3).await.unwrap();

    // Rosters: a published paid roster with two differences; one without; a draft with one.
    let differing = paid_roster(app, clerk, "2025年第一批", 2, true).await;
    paid_roster(app, clerk, "2025年第二批", 0, true).await;
    paid_roster(app, clerk, "2025年第三批", 1, false).await;

    let mut expected: Vec<(String, String)> = [
        ("contact_overdue", "BJ20251015000001".to_owned()),
        ("contact_overdue", "BJ20251015000003".to_owned()),
        ("contact_overdue", "BJ20251015000004".to_owned()),
        ("deadline_overdue", "BJ20251015000006".to_owned()),
        ("deadline_overdue", "LY20251015000001".to_owned()),
        ("deadline_overdue", "LY20251015000002".to_owned()),
        ("unsatisfied", "BJ20251015000008".to_owned()),
        ("unsatisfied", "LY20251015000003".to_owned()),
        // One per village and overdue quarter, however many categories lapsed.
        ("disclosure_overdue", BEICUN.to_owned()),
        ("disclosure_overdue", FOREIGN_VILLAGE.to_owned()),
        ("power_steps", skipped.to_string()),
        ("roster_differences", differing.to_string()),
        ("dead_routing", "officer-idx".to_owned()),
    ]
    .into_iter()
    .map(|(k, s)| (k.to_owned(), s))
    .collect();
    expected.sort();
    expected
}

async fn raised(store: &Store) -> Vec<(String, String)> {
    let filter = AlertFilter { org_prefix: "62".into(), include_restricted: true, ..AlertFilter::default() };
    let (rows, _) = store.alerts(&filter, 1000, 0).await.unwrap();
    let mut got: Vec<(String, String)> = rows.into_iter().map(|a| (a.kind.as_str().to_owned(), a.subject_id)).collect();
    got.sort();
    got
}

async fn alert_id(store: &Store, kind: &str, subject: &str) -> i64 {
    let filter =
        AlertFilter { org_prefix: "62".into(), include_restricted: true, kind: AlertKind::parse(kind), status: None };
    let (rows, _) = store.alerts(&filter, 1000, 0).await.unwrap();
    rows.into_iter().find(|a| a.subject_id == subject).unwrap().id
}

both_backends!(the_scan_raises_exactly_the_seeded_alerts_once, |app: TestApp| async move {
    let expected = seed_activity(&app).await;
    let store = app.state.store();
    let t = t0();
    assert_eq!(scan(&app.state, t).await.unwrap(), expected.len());
    assert_eq!(raised(store).await, expected);

    // Summaries point at their evidence and carry no personal data.
    let filter = AlertFilter { org_prefix: "62".into(), include_restricted: true, ..AlertFilter::default() };
    let (rows, _) = store.alerts(&filter, 1000, 0).await.unwrap();
    for a in &rows {
        assert!(!a.summary.contains("孙大爷") && !a.summary.contains("137"), "{}", a.summary);
    }
    let link = |kind: &str, subject: &str| {
        rows.iter().find(|a| a.kind.as_str() == kind && a.subject_id == subject).map(|a| a.link.clone()).unwrap()
    };
    assert_eq!(link("contact_overdue", "BJ20251015000001"), "/staff/cases/BJ20251015000001");
    assert_eq!(link("deadline_overdue", "LY20251015000001"), "/staff/inbox/LY20251015000001");
    assert_eq!(link("disclosure_overdue", BEICUN), format!("/t/620922101/disclosures?village={BEICUN}"));
    let foreign = rows
        .iter()
        .find(|a| a.kind == xiaowei_core::alert::AlertKind::DisclosureOverdue && a.subject_id == FOREIGN_VILLAGE)
        .unwrap();
    assert!(
        foreign.summary.contains("党务") && foreign.summary.contains("村务") && foreign.summary.contains("财务"),
        "one alert names every lapsed category: {}",
        foreign.summary
    );
    let dead = rows.iter().find(|a| a.kind == AlertKind::DeadRouting).unwrap();
    assert!(dead.summary.contains("BJ20251015000004、BJ20251015000003、BJ20251015000001"), "{}", dead.summary);
    let power = rows.iter().find(|a| a.kind == AlertKind::PowerSteps).unwrap();
    assert!(power.summary.contains("1个环节跳过未办"), "{}", power.summary);
    let roster = rows.iter().find(|a| a.kind == AlertKind::RosterDifferences).unwrap();
    assert!(roster.summary.contains("2处不一致") && roster.link.starts_with("/staff/rosters/"), "{}", roster.summary);
    let restricted: Vec<&str> = rows.iter().filter(|a| a.restricted).map(|a| a.subject_id.as_str()).collect();
    assert_eq!(restricted, ["LY20251015000002"], "only the report's alert is for the commission alone");

    // A re-scan raises nothing and keeps handling; later scans raise exactly what fell due.
    let boss = store.find_staff_by_username("supervisor").await.unwrap().unwrap().id;
    let first = alert_id(store, "contact_overdue", "BJ20251015000001").await;
    let look = alert::transition(AlertStatus::New, AlertAction::Look).unwrap();
    assert!(store.change_alert(first, look, boss, "", t + 1).await.unwrap());
    assert_eq!(scan(&app.state, t).await.unwrap(), 0);
    assert_eq!(store.find_alert(first).await.unwrap().unwrap().status, AlertStatus::LookedAt);
    // An hour on, the case due for contact at t is breached; D2, due exactly then, is not yet.
    assert_eq!(scan(&app.state, t + HOUR).await.unwrap(), 1);
    assert_eq!(scan(&app.state, t + HOUR + 1).await.unwrap(), 1);
    let mut later = expected.clone();
    later.push(("contact_overdue".into(), "BJ20251015000005".into()));
    later.push(("deadline_overdue".into(), "BJ20251015000007".into()));
    later.sort();
    assert_eq!(raised(store).await, later);
});

both_backends!(alerts_are_handled_in_scope_with_a_note_and_an_audit_trail, |app: TestApp| async move {
    seed_activity(&app).await;
    let store = app.state.store();
    scan(&app.state, t0()).await.unwrap();
    let contact = alert_id(store, "contact_overdue", "BJ20251015000001").await;
    let report = alert_id(store, "deadline_overdue", "LY20251015000002").await;
    let beicun = alert_id(store, "disclosure_overdue", BEICUN).await;

    // The supervisor sees the county, counts per township and filters.
    let boss = app.login_as(Role::Supervisor).await;
    let page = boss.get(app.url("/staff/alerts")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("共12条"), "the county's alerts, not the foreign county's");
    assert!(page.contains("渊泉镇") && page.contains("柳园镇") && page.contains("各乡镇预警"));
    let filtered = boss.get(app.url("/staff/alerts?kind=unsatisfied")).send().await.unwrap().text().await.unwrap();
    assert!(filtered.contains("共2条") && filtered.contains("群众评价为不满意"));
    let township = boss.get(app.url("/staff/alerts?township=620922101")).send().await.unwrap().text().await.unwrap();
    assert!(township.contains("共1条") && township.contains("北村超过一个季度未公开") && township.contains("财务（"));

    // The township admin sees its township without the report's alert and cannot handle.
    let admin = app.login_as(Role::TownshipAdmin).await;
    let page = admin.get(app.url("/staff/alerts")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("共10条"), "南岔's alerts without the report's");
    assert!(!page.contains("北村"));
    assert_eq!(admin.get(app.url(&format!("/staff/alerts/{report}"))).send().await.unwrap().status(), 404);
    assert_eq!(admin.get(app.url(&format!("/staff/alerts/{beicun}"))).send().await.unwrap().status(), 404);
    assert_eq!(app.post_form(&admin, &format!("/staff/alerts/{contact}/look"), &[]).await.status(), 403);

    // The township's discipline secretary sees the report's alert and handles.
    let reviewer = app.login_as(Role::TownshipReviewer).await;
    let page = reviewer.get(app.url("/staff/alerts")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("共11条"));
    let shown = reviewer.get(app.url(&format!("/staff/alerts/{contact}"))).send().await.unwrap().text().await.unwrap();
    assert!(shown.contains("href=\"/staff/cases/BJ20251015000001\"") && shown.contains("标记为已查看"));
    let path = format!("/staff/alerts/{contact}/resolve");
    let early = app.post_form(&reviewer, &path, &[("note", "已处理"), ("confirm", "1")]).await;
    assert_eq!(early.status(), 400, "someone must look first");
    let look = app.post_form(&reviewer, &format!("/staff/alerts/{contact}/look"), &[]).await;
    assert_eq!(look.headers()["location"], format!("/staff/alerts/{contact}?done=looked"));
    let again = app.post_form(&reviewer, &format!("/staff/alerts/{contact}/look"), &[]).await;
    assert_eq!(again.headers()["location"], format!("/staff/alerts/{contact}?done=repeat"));
    let blank = app.post_form(&reviewer, &path, &[("note", "  "), ("confirm", "1")]).await;
    assert_eq!(blank.status(), 400);
    assert!(blank.text().await.unwrap().contains("处置说明"));
    let unconfirmed = app.post_form(&reviewer, &path, &[("note", "已约谈经办人")]).await;
    assert_eq!(unconfirmed.status(), 400);
    let done = app.post_form(&reviewer, &path, &[("note", "已约谈经办人，当日联系群众"), ("confirm", "1")]).await;
    assert_eq!(done.headers()["location"], format!("/staff/alerts/{contact}?done=resolved"));
    let twice = app.post_form(&reviewer, &path, &[("note", "再次"), ("confirm", "1")]).await;
    assert_eq!(twice.headers()["location"], format!("/staff/alerts/{contact}?done=repeat"));
    let shown = reviewer.get(app.url(&format!("/staff/alerts/{contact}"))).send().await.unwrap().text().await.unwrap();
    assert!(
        shown.contains("已处置") && shown.contains("已约谈经办人，当日联系群众") && !shown.contains("标记为已查看")
    );
    assert_eq!(app.post_form(&reviewer, &format!("/staff/alerts/{beicun}/look"), &[]).await.status(), 404);
    let audit = store.audit_entries("620922", 100, 0).await.unwrap();
    let actions: Vec<&str> =
        audit.iter().filter(|e| e.target == format!("alert:{contact}")).map(|e| e.action.as_str()).collect();
    assert_eq!(actions.len(), 2, "{actions:?}");
    assert!(actions.contains(&"alert.look") && actions.contains(&"alert.resolve"));

    // A re-scan leaves the resolved alert resolved.
    scan(&app.state, t0() + 60).await.unwrap();
    assert_eq!(store.find_alert(contact).await.unwrap().unwrap().status, AlertStatus::Resolved);
});

/// Reads the event stream until an event contains `needle` or `within` passes.
async fn wait_for(stream: &mut reqwest::Response, needle: &str, within: Duration) -> Option<String> {
    let deadline = Instant::now() + within;
    let mut seen = String::new();
    while Instant::now() < deadline {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.chunk()).await {
            Ok(Ok(Some(bytes))) => {
                seen.push_str(&String::from_utf8_lossy(&bytes));
                if let Some(event) = seen.split("\n\n").find(|e| e.contains(needle)) {
                    return Some(event.to_owned());
                }
            }
            _ => return None,
        }
    }
    None
}

both_backends!(the_live_stream_delivers_a_new_case_at_once_in_scope, |app: TestApp| async move {
    let ([item, _], _) = crate::services::seed_cases(&app).await;
    let boss = app.login_as(Role::Supervisor).await;
    let page = boss.get(app.url("/staff/live")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("在办办件") && page.contains("本月满意率") && page.contains("/static/live.js"));
    let screen = boss.get(app.url("/staff/live/screen")).send().await.unwrap().text().await.unwrap();
    assert!(screen.contains("class=\"screen\"") && !screen.contains("class=\"staff\""), "no navigation on the wall");

    let mut stream = boss.get(app.url("/staff/live/events")).send().await.unwrap();
    assert_eq!(stream.status(), 200);
    assert!(stream.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
    let first = wait_for(&mut stream, "event: figures", Duration::from_secs(5)).await.expect("figures at once");
    assert!(first.contains("\"open_cases\":1"), "{first}");

    let villager = TestApp::client();
    let start = Instant::now();
    let applied = crate::services::apply(&app, &villager, item, &crate::services::GOOD, None).await;
    assert_eq!(applied.status(), 303);
    let event =
        wait_for(&mut stream, "\"open_cases\":2", Duration::from_secs(2)).await.expect("the new case within 2 s");
    assert!(start.elapsed() < Duration::from_secs(2));
    assert!(event.contains("高龄补贴申领") && event.contains("渊泉镇 南岔村"), "{event}");
    assert!(!event.contains("孙秀英") && !event.contains("13712345678"), "no personal data on the wall");

    // A village clerk has no overview; a township account's figures stay in its township.
    let clerk = app.login_as(Role::VillageClerk).await;
    assert_eq!(clerk.get(app.url("/staff/live/events")).send().await.unwrap().status(), 403);
    let admin = app.login_as(Role::TownshipAdmin).await;
    let mut own = admin.get(app.url("/staff/live/events")).send().await.unwrap();
    let figures = wait_for(&mut own, "event: figures", Duration::from_secs(5)).await.unwrap();
    assert!(figures.contains("\"open_cases\":2") && !figures.contains("外村"), "{figures}");
});

both_backends!(an_open_stream_does_not_hold_up_a_graceful_shutdown, |app: TestApp| async move {
    // A second server on the same state, stopped while a dashboard is connected.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(xiaowei_server::serve(listener, app.state.clone(), async {
        let _ = stopped.await;
    }));
    let boss = app.login_as(Role::Supervisor).await;
    let mut stream = boss.get(format!("http://{addr}/staff/live/events")).send().await.unwrap();
    wait_for(&mut stream, "event: figures", Duration::from_secs(5)).await.expect("figures at once");
    stop.send(()).unwrap();
    let done = tokio::time::timeout(Duration::from_secs(5), server).await;
    assert!(done.is_ok(), "the server stopped with a stream open");
    assert!(matches!(stream.chunk().await, Ok(None) | Err(_)), "the stream ended");
});

/// A terminal registered in `township`, enrolled at `enrolled` (if given) with the device token
/// hash `device`; returns its id.
async fn terminal(store: &Store, township: &str, name: &str, device: &str, enrolled: Option<i64>) -> i64 {
    let by = store.find_staff_by_username("supervisor").await.unwrap().unwrap().id;
    let new = xiaowei_store::NewKioskTerminal {
        township_code: township.into(),
        name: name.into(),
        idle_seconds: 60,
        enrol_token_hash: format!("enrol-{device}"),
        enrol_expires_at: i64::MAX,
        created_by: by,
    };
    let id = store.create_kiosk_terminal(&new, 1).await.unwrap();
    if let Some(at) = enrolled {
        store.enrol_kiosk_terminal(&format!("enrol-{device}"), device, at).await.unwrap();
    }
    id
}

async fn kiosk_alerts(store: &Store) -> Vec<String> {
    raised(store).await.into_iter().filter(|(kind, _)| kind == "kiosk_offline").map(|(_, subject)| subject).collect()
}

both_backends!(a_silent_terminal_raises_one_alert_per_outage, |app: TestApp| async move {
    let store = app.state.store();
    let t = t0();
    let silent = terminal(store, "620922100", "渊泉镇大厅1号机", "dev-silent", Some(t - 3 * HOUR)).await;
    store.record_kiosk_heartbeat("dev-silent", "v1", "1080x1920", None, t - 2 * HOUR).await.unwrap();
    let recent = terminal(store, "620922100", "渊泉镇大厅2号机", "dev-recent", Some(t - 3 * HOUR)).await;
    store.record_kiosk_heartbeat("dev-recent", "v1", "1080x1920", None, t - HOUR + 60).await.unwrap();
    terminal(store, "620922101", "柳园镇大厅", "dev-never", None).await;
    let revoked = terminal(store, "620922101", "柳园镇旧机", "dev-revoked", Some(t - 3 * HOUR)).await;
    store.revoke_kiosk_terminal(revoked, t - 2 * HOUR).await.unwrap();

    scan(&app.state, t).await.unwrap();
    assert_eq!(kiosk_alerts(store).await, [silent.to_string()], "an hour without a heartbeat is still fine");
    scan(&app.state, t + 1).await.unwrap();
    assert_eq!(kiosk_alerts(store).await.len(), 1, "one alert per outage, however often the scan runs");
    scan(&app.state, t + 1).await.unwrap();
    let id = alert_id(store, "kiosk_offline", &silent.to_string()).await;
    let found = store.find_alert(id).await.unwrap().unwrap();
    assert_eq!((found.org_code.as_str(), found.link.as_str()), ("620922100", "/staff/live#kiosks"));
    assert!(found.summary.contains("渊泉镇大厅1号机"), "{}", found.summary);

    // The second terminal goes quiet too; the first comes back and drops out again: a new outage.
    store.record_kiosk_heartbeat("dev-silent", "v1", "1080x1920", None, t + 10).await.unwrap();
    scan(&app.state, t + 10 + HOUR + 1).await.unwrap();
    let mut expected = vec![silent.to_string(), silent.to_string(), recent.to_string()];
    expected.sort();
    assert_eq!(kiosk_alerts(store).await, expected);
});

both_backends!(the_overview_counts_todays_visits_and_the_terminals_online, |app: TestApp| async move {
    let store = app.state.store();
    let now = app.state.now();
    terminal(store, "620922100", "渊泉镇大厅1号机", "dev-on", Some(now - HOUR)).await;
    store.record_kiosk_heartbeat("dev-on", "v1", "1080x1920", None, now).await.unwrap();
    terminal(store, "620922100", "渊泉镇大厅2号机", "dev-off", Some(now - 3 * HOUR)).await;
    terminal(store, "620923100", "外县大厅", "dev-foreign", Some(now - HOUR)).await;
    store.record_kiosk_heartbeat("dev-foreign", "v1", "1080x1920", None, now).await.unwrap();
    let villager = TestApp::client();
    for _ in 0..3 {
        let page = villager.get(app.url("/t/620922100/self-query")).send().await.unwrap();
        assert_eq!(page.status(), 200);
    }
    app.state.visits().flush(store).await.unwrap();

    let admin = app.login_as(Role::TownshipAdmin).await;
    let page = admin.get(app.url("/staff/live")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains(r#"data-live="visits_today">3<"#), "{page}");
    assert!(page.contains(r#"data-live="kiosks_online">1<"#) && page.contains(r#"data-live="kiosks_offline">1<"#));
    assert!(page.contains("渊泉镇大厅2号机") && page.contains("从未连接") && !page.contains("外县大厅"), "{page}");
    assert!(!page.contains("比对线索"), "screening hits are for the commission alone");
    let boss = app.login_as(Role::Supervisor).await;
    let county = boss.get(app.url("/staff/live")).send().await.unwrap().text().await.unwrap();
    assert!(county.contains(r#"data-live="screening_open">0<"#) && !county.contains("外县大厅"), "{county}");
    let mut stream = admin.get(app.url("/staff/live/events")).send().await.unwrap();
    let figures = wait_for(&mut stream, "event: figures", Duration::from_secs(5)).await.unwrap();
    assert!(figures.contains("\"visits_today\":3") && figures.contains("\"kiosks_online\":1"), "{figures}");
});
