//! 我要办事 end to end over HTTP: apply (with a double submit), the texts to all four officials,
//! following by tracking number and phone, the officer's contact and completion, the rating and
//! the reopen; the 24-hour clock with a controllable time; two server instances running the
//! clocks and delivery at once, by hand and as running workers; provider failures; bad input; extensions; the working-day basis.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use xiaowei_core::Role;
use xiaowei_core::service::{self, CaseAction, CaseStatus, TimeLimit};
use xiaowei_server::AppState;
use xiaowei_server::workers::notify::{self, GatewayError, GatewayFuture, SmsGateway};
use xiaowei_store::{ClockMark, NewCase, NewContact, NewEvent, NewServiceItem, Store};

use crate::helpers::{TestApp, both_backends, hidden, person_id};

const NANCHA: &str = "620922100200";
const FOREIGN_VILLAGE: &str = "620923100200";

/// A catalogue item in our department with an officer, a leader and a township handler (the
/// seeded head makes four), one in the other department, and a case on each — inside and outside
/// every test account's scope.
pub async fn seed_cases(app: &TestApp) -> ([i64; 2], [String; 2]) {
    let store = app.state.store();
    let cipher = app.state.cipher();
    let mut officer = None;
    for (position, name, phone) in [("leader", "王副局长", "13909370011"), ("officer", "赵经办", "13909370012")]
    {
        let id = store
            .add_contact(
                &NewContact {
                    department_id: app.own_department,
                    position: position.parse().expect("a post code"),
                    name: name.into(),
                    phone_enc: cipher.encrypt(phone),
                    phone_idx: cipher.blind_index("phone", phone),
                },
                1,
            )
            .await
            .unwrap();
        officer = Some(id);
    }
    let item = |department_id, name: &str, officer_id| NewServiceItem {
        department_id,
        name: name.into(),
        conditions: "户籍在本县".into(),
        materials: "身份证\n户口簿".into(),
        steps: "申请\n审核".into(),
        time_limit: xiaowei_core::service::TimeLimit::WorkingDays(15),
        fee: "不收费".into(),
        contact_phone: "0937-5522001".into(),
        external_url: None,
        requires_id: false,
        officer_id,
    };
    let own = store.upsert_service_item(&item(app.own_department, "高龄补贴申领", officer), 1).await.unwrap();
    let other = store.upsert_service_item(&item(app.other_department, "取水许可审批", None), 1).await.unwrap();
    let handler = "13909370013";
    store
        .set_service_handler(
            own,
            "620922100",
            "乡镇钱经办",
            &cipher.encrypt(handler),
            &cipher.blind_index("phone", handler),
        )
        .await
        .unwrap();
    let mut cases = [String::new(), String::new()];
    for (i, (item_id, department, village)) in
        [(own, app.own_department, NANCHA), (other, app.other_department, FOREIGN_VILLAGE)].into_iter().enumerate()
    {
        let tracking = format!("BJ20251009{:06}", 900 + i);
        let case = NewCase {
            tracking: tracking.clone(),
            submit_key: format!("rbac-case-{i}"),
            item_id,
            department_id: department,
            org_code: village.into(),
            applicant_name: "孙大爷".into(),
            phone_enc: cipher.encrypt("13700001111"),
            phone_idx: cipher.blind_index("phone", "13700001111"),
            resident_id_enc: None,
            description: "申请".into(),
            filed_by: None,
            submitted_at: app.state.now(),
            contact_due: app.state.now() + 86_400,
            contact_remind_at: app.state.now() + 72_000,
            completion_due: app.state.now() + 30 * 86_400,
            completion_remind_at: app.state.now() + 29 * 86_400,
            deadline_basis: "15个工作日".into(),
        };
        store.create_case(&case, &[], &event(), &[]).await.unwrap();
        cases[i] = tracking;
    }
    ([own, other], cases)
}

fn event() -> NewEvent {
    NewEvent {
        kind: xiaowei_core::tracked::TimelineKind::Submitted,
        actor: "申请人".into(),
        staff_user_id: None,
        method: None,
        note: "提交".into(),
        public: true,
    }
}

/// Gives the seeded supervisor account a phone, so escalations reach the commission.
async fn supervisor_phone(app: &TestApp) {
    let store = app.state.store();
    let id = store.find_staff_by_username("supervisor").await.unwrap().unwrap().id;
    let cipher = app.state.cipher();
    store
        .set_staff_phone(id, Some((&cipher.encrypt("13909379999"), &cipher.blind_index("phone", "13909379999"))))
        .await
        .unwrap();
}

/// Fills and posts the application form as a villager; returns the response.
pub async fn apply(
    app: &TestApp,
    client: &reqwest::Client,
    item: i64,
    fields: &[(&str, &str)],
    form_key: Option<&str>,
) -> reqwest::Response {
    if let Some((_, phone)) = fields.iter().find(|(k, _)| *k == "phone") {
        app.prove_phone(client, phone).await;
    }
    let page =
        client.get(app.url(&format!("/services/{item}/apply?t=620922100"))).send().await.unwrap().text().await.unwrap();
    let key = form_key.map_or_else(|| hidden(&page, "form_key").unwrap(), str::to_owned);
    let csrf = page.split("csrf=").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let mut form = reqwest::multipart::Form::new().text("form_key", key);
    for (k, v) in fields {
        form = form.text(k.to_string(), v.to_string());
    }
    client.post(app.url(&format!("/services/{item}/apply?csrf={csrf}"))).multipart(form).send().await.unwrap()
}

pub const GOOD: [(&str, &str); 4] = [
    ("name", "孙秀英"),
    ("phone", "13712345678"),
    ("village", NANCHA),
    ("description", "我父亲今年满80岁，申请高龄补贴。"),
];

fn location(r: &reqwest::Response) -> String {
    r.headers()["location"].to_str().unwrap().to_owned()
}

both_backends!(apply_track_handle_and_rate, |app: TestApp| async move {
    let ([item, _], _) = seed_cases(&app).await;
    supervisor_phone(&app).await;
    let villager = TestApp::client();
    let catalogue = villager.get(app.url("/t/620922100/services")).send().await.unwrap().text().await.unwrap();
    assert!(catalogue.contains("高龄补贴申领") && catalogue.contains("县民政局"));
    let guide =
        villager.get(app.url(&format!("/services/{item}?t=620922100"))).send().await.unwrap().text().await.unwrap();
    assert!(guide.contains("15个工作日") && guide.contains("乡镇钱经办"), "{guide}");
    assert!(guide.contains("公开账本第") && guide.contains("/ledger/leaves/"), "the guide shows its ledger leaf");

    // A double submit of one form creates one case.
    app.prove_phone(&villager, GOOD[1].1).await;
    let page = villager
        .get(app.url(&format!("/services/{item}/apply?t=620922100")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let key = hidden(&page, "form_key").unwrap();
    let first = apply(&app, &villager, item, &GOOD, Some(&key)).await;
    assert_eq!(first.status(), 303);
    let second = apply(&app, &villager, item, &GOOD, Some(&key)).await;
    assert_eq!(location(&first), location(&second));
    let store = app.state.store();
    let total = store.cases(&xiaowei_store::CaseFilter::default(), 10, 0).await.unwrap().1;
    assert_eq!(total, 3, "two seeded cases and one application");
    let case = store.find_case_by_submit_key(&key).await.unwrap().unwrap();
    let texts = store.outbox(None, Some(case.id), 50, 0).await.unwrap().0;
    let mut recipients: Vec<_> = texts.iter().map(|t| t.recipient.split(' ').next().unwrap().to_owned()).collect();
    recipients.sort();
    assert_eq!(
        recipients,
        ["乡镇经办人", "分管领导", "申请人", "经办人", "部门主要领导"],
        "all four officials, and the applicant"
    );
    assert!(texts.iter().all(|t| t.body.contains(&case.tracking)));

    // The applicant page shows the case; the link without its key asks for the phone.
    let page = villager.get(app.url(&location(&first))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains(&case.tracking) && page.contains("待联系") && page.contains("137****5678"));
    assert!(!page.contains("13712345678"));
    let bare = villager.get(app.url(&format!("/cases/{}", case.tracking))).send().await.unwrap();
    assert_eq!(bare.status(), 303);
    let forged = villager.get(app.url(&format!("/cases/{}?k=0000", case.tracking))).send().await.unwrap();
    assert_eq!(forged.status(), 404);
    let csrf = app.csrf(&villager, "/cases").await;
    let wrong = villager
        .post(app.url("/cases"))
        .form(&[("csrf", csrf.as_str()), ("tracking", case.tracking.as_str()), ("phone", "13700000000")])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 400);
    let right = villager
        .post(app.url("/cases"))
        .form(&[("csrf", csrf.as_str()), ("tracking", &case.tracking.to_lowercase()), ("phone", "137 1234 5678")])
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), 303);
    assert_eq!(location(&right), location(&first).replace("&new=1", ""));

    // The officer calls, records progress and completes; the applicant is texted at contact and completion.
    let officer = app.login_as(Role::DepartmentOfficer).await;
    let home = officer.get(app.url("/staff")).send().await.unwrap().text().await.unwrap();
    assert!(home.contains("id=\"cases-waiting\">2<"), "the seeded case and the new one wait for contact");
    let staff_page =
        officer.get(app.url(&format!("/staff/cases/{}", case.tracking))).send().await.unwrap().text().await.unwrap();
    assert!(staff_page.contains("13712345678"), "the handling officer sees the phone");
    let early = app
        .post_form(&officer, &format!("/staff/cases/{}/complete", case.tracking), &[("reply", "已办好了请查收")])
        .await;
    assert_eq!(early.status(), 400, "completion needs a contact first");
    let r = app
        .post_form(
            &officer,
            &format!("/staff/cases/{}/contact", case.tracking),
            &[("method", "phone"), ("note", "已电话联系，核实年龄")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let r = app
        .post_form(
            &officer,
            &format!("/staff/cases/{}/progress", case.tracking),
            &[("note", "已报县民政局审批"), ("public", "1")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let r = app
        .post_form(&officer, &format!("/staff/cases/{}/complete", case.tracking), &[("reply", "已审批，下月起发放")])
        .await;
    assert_eq!(r.status(), 303);
    let supervisor = app.login_as(Role::Supervisor).await;
    let masked =
        supervisor.get(app.url(&format!("/staff/cases/{}", case.tracking))).send().await.unwrap().text().await.unwrap();
    assert!(masked.contains("137****5678") && !masked.contains("13712345678"), "others see it masked");
    let audit = store.audit_entries("", 100, 0).await.unwrap();
    assert!(audit.iter().any(|a| a.action == "pii.view" && a.target == format!("service_case:{}", case.id)));

    let page = villager.get(app.url(&location(&first))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("已办结") && page.contains("已审批，下月起发放") && page.contains("已报县民政局审批"));
    let k = location(&first).split("k=").nth(1).unwrap().split('&').next().unwrap().to_owned();
    let csrf = app.csrf(&villager, "/cases").await;
    let rate = |rating: &'static str, comment: &'static str| {
        let (villager, url, csrf, k) =
            (villager.clone(), app.url(&format!("/cases/{}/rate", case.tracking)), csrf.clone(), k.clone());
        async move {
            villager
                .post(url)
                .form(&[("csrf", csrf), ("k", k), ("rating", rating.into()), ("comment", comment.into())])
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(rate("unsatisfied", "").await.status(), 400, "不满意 needs a reason");
    assert_eq!(rate("unsatisfied", "钱还没到").await.status(), 303);
    assert_eq!(rate("satisfied", "").await.status(), 303, "a second rating changes nothing");
    let after = store.find_case(case.id).await.unwrap().unwrap();
    assert_eq!((after.status.as_str(), after.rating.map(|r| r.as_str())), ("reopened", Some("unsatisfied")));
    let texts = store.outbox(None, Some(case.id), 50, 0).await.unwrap().0;
    let to_applicant = texts.iter().filter(|t| t.recipient.starts_with("申请人")).count();
    assert_eq!(to_applicant, 3, "texted on arrival, at contact and at completion");
    assert!(texts.iter().any(|t| t.notice == "case_unsatisfied" && t.recipient.starts_with("县纪委监委")));
});

both_backends!(bad_applications_name_the_field_and_write_nothing, |app: TestApp| async move {
    let ([item, _], _) = seed_cases(&app).await;
    let villager = TestApp::client();
    let cases: [(&[(&str, &str)], &str); 5] = [
        (&[("name", ""), ("phone", "13712345678"), ("village", NANCHA), ("description", "申请高龄补贴")], "姓名"),
        (&[("name", "孙"), ("phone", "12345"), ("village", NANCHA), ("description", "申请高龄补贴")], "手机号"),
        (&[("name", "孙"), ("phone", "13712345678"), ("village", "999"), ("description", "申请高龄补贴")], "所在村"),
        (&[("name", "孙"), ("phone", "13712345678"), ("village", NANCHA), ("description", "短")], "需求描述"),
        (
            &[
                ("name", "孙"),
                ("phone", "13712345678"),
                ("village", NANCHA),
                ("description", "申请高龄补贴"),
                ("id_number", "620922198001011234"),
            ],
            "身份证号",
        ),
    ];
    for (fields, field) in cases {
        let r = apply(&app, &villager, item, fields, None).await;
        assert_eq!(r.status(), 400);
        assert!(r.text().await.unwrap().contains(field), "{field}");
    }
    let pdf = reqwest::multipart::Form::new()
        .text("form_key", "k".repeat(32))
        .text("name", "孙")
        .text("phone", "13712345678")
        .text("village", NANCHA)
        .text("description", "申请高龄补贴")
        .part("photos", reqwest::multipart::Part::bytes(b"%PDF-1.4 not a photo".to_vec()).file_name("a.pdf"));
    let page = villager
        .get(app.url(&format!("/services/{item}/apply?t=620922100")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = page.split("csrf=").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let r = villager.post(app.url(&format!("/services/{item}/apply?csrf={csrf}"))).multipart(pdf).send().await.unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("照片"));
    assert_eq!(
        app.state.store().cases(&xiaowei_store::CaseFilter::default(), 10, 0).await.unwrap().1,
        2,
        "nothing written"
    );
    let id_ok = apply(
        &app,
        &villager,
        item,
        &[
            ("name", "孙"),
            ("phone", "13712345678"),
            ("village", NANCHA),
            ("description", "申请高龄补贴"),
            ("id_number", &person_id(5)),
        ],
        None,
    )
    .await;
    assert_eq!(id_ok.status(), 303);
    let missing = villager.get(app.url("/services/999999?t=620922100")).send().await.unwrap();
    assert_eq!(missing.status(), 404);
});

/// Submits one application at `now` through the store (as the handler does) and returns its id.
pub async fn case_at(state: &AppState, item: i64, department: i64, now: i64, key: &str) -> i64 {
    let calendar = xiaowei_server::app::tracked::calendar(state).await.unwrap();
    let clocks = service::clocks(&calendar, TimeLimit::WorkingDays(15), now);
    let cipher = state.cipher();
    let tracking = service::tracking_number(now, rand::random::<u32>());
    let case = NewCase {
        tracking: tracking.clone(),
        submit_key: key.into(),
        item_id: item,
        department_id: department,
        org_code: NANCHA.into(),
        applicant_name: "孙大爷".into(),
        phone_enc: cipher.encrypt("13712340000"),
        phone_idx: cipher.blind_index("phone", "13712340000"),
        resident_id_enc: None,
        description: "申请".into(),
        filed_by: None,
        submitted_at: now,
        contact_due: clocks.contact_due,
        contact_remind_at: clocks.contact_remind_at,
        completion_due: clocks.completion_due,
        completion_remind_at: clocks.completion_remind_at,
        deadline_basis: "15个工作日".into(),
    };
    let texts = xiaowei_server::app::cases::notices(
        state,
        &xiaowei_server::app::cases::CaseRef {
            tracking: &tracking,
            item_name: "高龄补贴申领",
            item_id: item,
            org_code: NANCHA,
            applicant: (&case.phone_enc, &case.phone_idx, "孙大爷"),
        },
        xiaowei_core::service::Notice::CaseSubmitted,
        0,
    )
    .await
    .unwrap();
    state.store().create_case(&case, &[], &event(), &texts).await.unwrap().0
}

both_backends!(the_24_hour_clock_reminds_then_escalates_once, |app: TestApp| async move {
    let ([item, _], _) = seed_cases(&app).await;
    supervisor_phone(&app).await;
    let t0 = 1_760_000_000; // 2025-10-09 16:53 Beijing time
    let id = case_at(&app.state, item, app.own_department, t0, "clock-1").await;
    let store = app.state.store();
    let notices = |id| async move {
        let mut n: Vec<_> = store
            .outbox(None, Some(id), 100, 0)
            .await
            .unwrap()
            .0
            .into_iter()
            .map(|m| (m.notice, m.recipient))
            .collect();
        n.sort();
        n
    };
    assert_eq!(xiaowei_server::app::cases::run_clocks(&app.state, t0 + 19 * 3600).await.unwrap(), 0, "nothing due yet");
    assert_eq!(xiaowei_server::app::cases::run_clocks(&app.state, t0 + 20 * 3600).await.unwrap(), 1, "the reminder");
    let reminders: Vec<_> = notices(id).await.into_iter().filter(|n| n.0 == "contact_reminder").collect();
    assert_eq!(reminders.len(), 1);
    assert!(reminders[0].1.starts_with("经办人"));
    assert_eq!(xiaowei_server::app::cases::run_clocks(&app.state, t0 + 23 * 3600).await.unwrap(), 0, "reminded once");
    assert_eq!(xiaowei_server::app::cases::run_clocks(&app.state, t0 + 24 * 3600 + 1).await.unwrap(), 1, "the breach");
    let overdue: Vec<_> = notices(id).await.into_iter().filter(|n| n.0 == "contact_overdue").map(|n| n.1).collect();
    assert_eq!(overdue.len(), 2, "{overdue:?}");
    assert!(
        overdue.iter().any(|r| r.starts_with("部门主要领导")) && overdue.iter().any(|r| r.starts_with("县纪委监委"))
    );
    assert_eq!(xiaowei_server::app::cases::run_clocks(&app.state, t0 + 48 * 3600).await.unwrap(), 0, "escalated once");
    let case = store.find_case(id).await.unwrap().unwrap();
    assert_eq!(case.contact_overdue_at, Some(t0 + 24 * 3600 + 1));
    let supervisor = app.login_as(Role::Supervisor).await;
    let list = supervisor.get(app.url("/staff/cases?overdue=1")).send().await.unwrap().text().await.unwrap();
    assert!(list.contains(&case.tracking) && list.contains("逾期"));
    // The completion deadline escalates the same way once it passes.
    let after_deadline = case.completion_due + 1;
    assert_eq!(
        xiaowei_server::app::cases::run_clocks(&app.state, after_deadline).await.unwrap(),
        2,
        "completion reminder and breach"
    );
    assert!(store.find_case(id).await.unwrap().unwrap().completion_overdue_at.is_some());
});

/// A gateway that counts what it sends and can be told to fail.
#[derive(Default)]
struct FakeGateway {
    /// (phone, text) of every accepted send.
    sent: Mutex<Vec<(String, String)>>,
    calls: AtomicUsize,
    fail: Mutex<Option<GatewayError>>,
}

impl SmsGateway for FakeGateway {
    fn send<'a>(&'a self, phone: &'a str, _: &'a str, _: &'a [(String, String)], body: &'a str) -> GatewayFuture<'a> {
        Box::pin(async move {
            self.calls.fetch_add(1, Ordering::SeqCst);
            tokio::task::yield_now().await;
            if let Some(e) = self.fail.lock().unwrap().clone() {
                return Err(e);
            }
            self.sent.lock().unwrap().push((phone.to_owned(), body.to_owned()));
            Ok(format!("fake-{}", self.calls.load(Ordering::SeqCst)))
        })
    }
}

both_backends!(two_running_delivery_workers_send_every_queued_text_exactly_once, |app: TestApp| async move {
    let ([item, _], _) = seed_cases(&app).await;
    let other_store = Store::connect(&app.database_url).await.unwrap();
    let other = AppState::new(
        other_store.clone(),
        app.state.cipher().clone(),
        app.state.config().clone(),
        xiaowei_integrations::AttachmentStore::in_memory(1024),
    );
    let gateway = std::sync::Arc::new(FakeGateway::default());
    // Both instances' workers run as `serve` runs them, woken by the texts each queues (and, on
    // PostgreSQL, by the other's NOTIFY), while applications arrive at both.
    let workers = [
        notify::spawn_delivery(app.state.clone(), gateway.clone(), notify::DELIVERY_POLL),
        notify::spawn_delivery(other.clone(), gateway.clone(), notify::DELIVERY_POLL),
    ];
    let t0 = 1_760_000_000;
    for i in 0..60 {
        let state = if i % 2 == 0 { &app.state } else { &other };
        case_at(state, item, app.own_department, t0 + i, &format!("surge-{i}")).await;
    }
    let queued = app.state.store().outbox(None, None, 1, 0).await.unwrap().1;
    assert_eq!(queued, 60 * 4, "four texts per application");
    // Not a timing check: the deadline only keeps a broken worker from hanging the run.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while app.state.store().outbox_counts(true).await.unwrap().sent < queued && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    for worker in &workers {
        worker.abort();
    }
    let counts = app.state.store().outbox_counts(true).await.unwrap();
    assert_eq!((counts.sent, counts.pending + counts.sending + counts.failed), (queued, 0));
    let mut sent = gateway.sent.lock().unwrap().clone();
    assert_eq!(gateway.calls.load(Ordering::SeqCst), sent.len(), "no send failed");
    sent.sort();
    sent.dedup();
    assert_eq!(i64::try_from(sent.len()).unwrap(), queued, "each text reached the provider exactly once");
    other_store.close().await;
});

both_backends!(two_instances_mark_and_deliver_exactly_once, |app: TestApp| async move {
    let ([item, _], _) = seed_cases(&app).await;
    supervisor_phone(&app).await;
    let t0 = 1_760_000_000;
    for i in 0..8 {
        case_at(&app.state, item, app.own_department, t0 + i, &format!("two-{i}")).await;
    }
    // A second instance: its own pool on the same database.
    let other_store = Store::connect(&app.database_url).await.unwrap();
    let other = AppState::new(
        other_store.clone(),
        app.state.cipher().clone(),
        app.state.config().clone(),
        xiaowei_integrations::AttachmentStore::in_memory(1024),
    );
    let later = t0 + 25 * 3600;
    let (a, b) = tokio::join!(
        xiaowei_server::app::cases::run_clocks(&app.state, later),
        xiaowei_server::app::cases::run_clocks(&other, later)
    );
    let fired = a.unwrap() + b.unwrap();
    assert_eq!(fired, 16, "8 reminders and 8 breaches, each set by one instance");
    let gateway = FakeGateway::default();
    let mut total = 0;
    for round in 0..10 {
        let now = later + round;
        let (x, y) = tokio::join!(
            notify::deliver_due(&app.state, &gateway, "instance-a", now),
            notify::deliver_due(&other, &gateway, "instance-b", now)
        );
        total += x.unwrap().0 + y.unwrap().0;
    }
    let counts = app.state.store().outbox_counts(true).await.unwrap();
    // Per case: 4 at submission, 1 reminder, 2 at the breach (head, supervisor).
    assert_eq!(counts.sent, 8 * 7);
    assert_eq!(total, 8 * 7);
    assert_eq!(gateway.calls.load(Ordering::SeqCst), 8 * 7, "no message was sent twice");
    assert_eq!(counts.pending + counts.sending + counts.failed, 0);
    other_store.close().await;
});

both_backends!(provider_failures_retry_or_fail_with_a_reason_never_lost, |app: TestApp| async move {
    let ([item, _], _) = seed_cases(&app).await;
    let t0 = 1_760_000_000;
    let case_id = case_at(&app.state, item, app.own_department, t0, "fail-1").await;
    let tracking = app.state.store().find_case(case_id).await.unwrap().unwrap().tracking;
    let store = app.state.store();
    let gateway = FakeGateway::default();
    *gateway.fail.lock().unwrap() = Some(GatewayError::Transient("网关超时".into()));
    let (sent, failed) = notify::deliver_due(&app.state, &gateway, "w", t0).await.unwrap();
    assert_eq!((sent, failed), (0, 4));
    let pending = store.outbox(Some(xiaowei_core::outbox::Delivery::Pending), None, 10, 0).await.unwrap().0;
    assert_eq!(pending.len(), 4, "transient failures stay queued");
    assert!(
        pending.iter().all(|m| m.next_attempt_at == t0 + 30 && m.last_error.as_deref().unwrap().contains("网关超时"))
    );
    assert_eq!(notify::deliver_due(&app.state, &gateway, "w", t0 + 29).await.unwrap(), (0, 0), "backoff respected");
    // Keep failing until the attempts run out: then failed, with the reason.
    let mut now = t0 + 30;
    for _ in 0..20 {
        notify::deliver_due(&app.state, &gateway, "w", now).await.unwrap();
        now += 3600;
    }
    let failed = store.outbox(Some(xiaowei_core::outbox::Delivery::Failed), None, 10, 0).await.unwrap().0;
    assert_eq!(failed.len(), 4);
    assert!(
        failed.iter().all(|m| m.attempts == notify::MAX_ATTEMPTS && m.last_error.as_deref().unwrap().contains("重试"))
    );
    // A staff retry requeues one; a rejected template fails at once with the provider's reason.
    assert!(store.retry_outbox(failed[0].id, now).await.unwrap());
    *gateway.fail.lock().unwrap() = Some(GatewayError::Rejected("isv.SMS_TEMPLATE_ILLEGAL 模板不合法".into()));
    notify::deliver_due(&app.state, &gateway, "w", now).await.unwrap();
    let m = store
        .outbox(Some(xiaowei_core::outbox::Delivery::Failed), None, 10, 0)
        .await
        .unwrap()
        .0
        .into_iter()
        .find(|m| m.id == failed[0].id)
        .unwrap();
    assert!(m.last_error.unwrap().contains("SMS_TEMPLATE_ILLEGAL"));
    // Recovery: a good provider delivers the retried message.
    store.retry_outbox(failed[1].id, now).await.unwrap();
    *gateway.fail.lock().unwrap() = None;
    assert_eq!(notify::deliver_due(&app.state, &gateway, "w", now).await.unwrap().0, 1);
    let counts = store.outbox_counts(true).await.unwrap();
    assert_eq!((counts.sent, counts.failed, counts.pending), (1, 3, 0), "every message accounted for");
    let admin = app.login_as(Role::CountyAdmin).await;
    let page = admin.get(app.url("/staff/outbox?status=failed")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("SMS_TEMPLATE_ILLEGAL") && page.contains("重新发送"));
    assert!(page.contains(&format!("<a href=\"/staff/cases/{tracking}\">{tracking}</a>")), "each text names its case");
});

both_backends!(extensions_are_asked_before_expiry_and_approved_by_the_county, |app: TestApp| async move {
    let (_, [tracking, _]) = seed_cases(&app).await;
    let officer = app.login_as(Role::DepartmentOfficer).await;
    let path = format!("/staff/cases/{tracking}/extensions");
    let r = app.post_form(&officer, &path, &[("days", "0"), ("reason", "需要实地核查")]).await;
    assert_eq!(r.status(), 400);
    let r = app.post_form(&officer, &path, &[("days", "5"), ("reason", "需要实地核查")]).await;
    assert_eq!(r.status(), 303);
    let r = app.post_form(&officer, &path, &[("days", "5"), ("reason", "再次申请延期")]).await;
    assert_eq!(r.status(), 400, "one pending request at a time");
    let store = app.state.store();
    let case = store.find_case_by_tracking(&tracking).await.unwrap().unwrap();
    let ext = store.case_extensions(case.id).await.unwrap().remove(0);
    let decide = format!("/staff/cases/{tracking}/extensions/{}", ext.id);
    assert_eq!(app.post_form(&officer, &decide, &[("decision", "approve")]).await.status(), 403);
    let supervisor = app.login_as(Role::Supervisor).await;
    assert_eq!(app.post_form(&supervisor, &decide, &[("decision", "approve"), ("note", "同意")]).await.status(), 303);
    let after = store.find_case(case.id).await.unwrap().unwrap();
    assert!(after.completion_due > case.completion_due + 5 * 86_400 - 1, "five more working days");
    let page = supervisor.get(app.url(&format!("/staff/cases/{tracking}"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("已批准") && page.contains("延期5个工作日"));
    // Past the deadline an extension can no longer be asked for.
    let expired =
        store.fire(case.id, ClockMark::CompletionOverdue, &event(), &[], after.completion_due + 1).await.unwrap();
    assert!(expired);
    assert!(
        service::check_extension(
            service::CaseStatus::Submitted,
            after.completion_due,
            after.completion_due + 1,
            3,
            false
        )
        .is_err()
    );
});

both_backends!(the_seeded_calendar_counts_the_2025_national_day_break, |app: TestApp| async move {
    let calendar = xiaowei_server::app::tracked::calendar(&app.state).await.unwrap();
    let deadline = calendar.add_working_days(jiff::civil::date(2025, 9, 30), 3);
    assert_eq!(deadline.due, jiff::civil::date(2025, 10, 11), "10-09, 10-10 and the make-up Saturday 10-11");
    let text = xiaowei_server::app::tracked::explain_deadline(&deadline);
    assert!(text.contains("国庆节") && text.contains("2025年10月11日为调休上班日"), "{text}");
    // The admin adds a day; the count follows.
    let admin = app.login_as(Role::CountyAdmin).await;
    let r = app
        .post_form(&admin, "/staff/calendar", &[("date", "2025-10-09"), ("kind", "holiday"), ("name", "测试假日")])
        .await;
    assert_eq!(r.status(), 303);
    let calendar = xiaowei_server::app::tracked::calendar(&app.state).await.unwrap();
    assert_eq!(calendar.add_working_days(jiff::civil::date(2025, 9, 30), 3).due, jiff::civil::date(2025, 10, 13));
    let bad =
        app.post_form(&admin, "/staff/calendar/import", &[("year", "2027"), ("csv", "2027-13-01,holiday,x")]).await;
    assert_eq!(bad.status(), 400);
    assert!(bad.text().await.unwrap().contains("第 1 行"));
});

/// A local stand-in for Aliyun's SendSms endpoint: records each request line and answers OK.
async fn fake_aliyun() -> (String, std::sync::Arc<Mutex<Vec<String>>>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = std::sync::Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let log = log.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 16 * 1024];
                let mut len = 0;
                while !buf[..len].windows(4).any(|w| w == b"\r\n\r\n") {
                    let Ok(n) = socket.read(&mut buf[len..]).await else { return };
                    if n == 0 {
                        return;
                    }
                    len += n;
                }
                let head = String::from_utf8_lossy(&buf[..len]).to_string();
                log.lock().unwrap().push(head.lines().next().unwrap_or_default().to_owned());
                let body = r#"{"Code":"OK","Message":"OK","BizId":"900619746936498440^0","RequestId":"F655A8D5-B967-440B-8683-DAD6FF8DE990"}"#;
                let reply = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(reply.as_bytes()).await;
            });
        }
    });
    (format!("http://{addr}"), seen)
}

both_backends!(a_configured_provider_sends_each_notice_with_its_template, |app: TestApp| async move {
    let ([item, _], _) = seed_cases(&app).await;
    let (endpoint, seen) = fake_aliyun().await;
    let sms = xiaowei_integrations::SmsConfig {
        provider: xiaowei_integrations::SmsProvider::Aliyun,
        sign_name: Some("瓜州民生监督".into()),
        access_key_id: Some("LTAI-test".into()),
        access_key_secret: Some(secrecy::SecretString::from("secret")),
        endpoint: Some(endpoint),
        ..Default::default()
    };
    let templates: std::collections::BTreeMap<String, String> =
        [("case_submitted".to_owned(), "SMS_400001".to_owned())].into();
    let gateway = notify::ProviderGateway::from_config(&sms, &templates).unwrap();
    let t0 = 1_760_000_000;
    case_at(&app.state, item, app.own_department, t0, "provider-1").await;
    let (sent, not_sent) = notify::deliver_due(&app.state, gateway.as_ref(), "w", t0).await.unwrap();
    assert_eq!((sent, not_sent), (4, 0));
    let requests = seen.lock().unwrap().clone();
    assert_eq!(requests.len(), 4);
    assert!(
        requests.iter().all(|r| r.contains("TemplateCode=SMS_400001") && r.contains("PhoneNumbers=139093700")),
        "{requests:?}"
    );
    let sent = app.state.store().outbox(Some(xiaowei_core::outbox::Delivery::Sent), None, 10, 0).await.unwrap().0;
    assert!(sent.iter().all(|m| m.provider_id.as_deref() == Some("900619746936498440^0")));
    // A notice without a configured template fails at once, with the reason, and is kept.
    let id = app.state.store().find_case_by_submit_key("provider-1").await.unwrap().unwrap().id;
    let contact = xiaowei_store::CaseChange { contacted: true, ..Default::default() };
    let case = app.state.store().find_case(id).await.unwrap().unwrap();
    let texts = xiaowei_server::app::cases::notices(
        &app.state,
        &xiaowei_server::app::cases::CaseRef::of(&case),
        xiaowei_core::service::Notice::CaseContacted,
        0,
    )
    .await
    .unwrap();
    app.state
        .store()
        .change(
            id,
            service::transition(CaseStatus::Submitted, CaseAction::Contact).unwrap(),
            &contact,
            &event(),
            &texts,
            t0 + 60,
        )
        .await
        .unwrap();
    assert_eq!(notify::deliver_due(&app.state, gateway.as_ref(), "w", t0 + 60).await.unwrap(), (0, 1));
    let failed = app.state.store().outbox(Some(xiaowei_core::outbox::Delivery::Failed), None, 10, 0).await.unwrap().0;
    assert!(failed[0].last_error.as_deref().unwrap().contains("sms_templates.case_contacted"));
});

/// Whether `text` holds a run of exactly eleven digits starting with 1: a whole mobile number.
fn has_whole_mobile(text: &str) -> bool {
    text.split(|c: char| !c.is_ascii_digit()).any(|run| run.len() == 11 && run.starts_with('1'))
}

both_backends!(an_unreachable_provider_leaves_no_whole_phone_number_in_the_outbox, |app: TestApp| async move {
    let ([item, _], _) = seed_cases(&app).await;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let sms = xiaowei_integrations::SmsConfig {
        provider: xiaowei_integrations::SmsProvider::Aliyun,
        sign_name: Some("瓜州民生监督".into()),
        access_key_id: Some("LTAI-test".into()),
        access_key_secret: Some(secrecy::SecretString::from("secret")),
        endpoint: Some(endpoint),
        ..Default::default()
    };
    let templates: std::collections::BTreeMap<String, String> =
        [("case_submitted".to_owned(), "SMS_400001".to_owned())].into();
    let gateway = notify::ProviderGateway::from_config(&sms, &templates).unwrap();
    let t0 = 1_760_000_000;
    case_at(&app.state, item, app.own_department, t0, "unreachable-1").await;
    let (sent, not_sent) = notify::deliver_due(&app.state, gateway.as_ref(), "w", t0).await.unwrap();
    assert_eq!(sent, 0);
    assert!(not_sent > 0);
    let rows = app.state.store().outbox(None, None, 50, 0).await.unwrap().0;
    let errors: Vec<String> = rows.iter().filter_map(|m| m.last_error.clone()).collect();
    assert!(errors.iter().filter(|e| e.contains("连接失败")).count() >= 1, "{errors:?}");
    assert!(errors.iter().all(|e| !has_whole_mobile(e) && !e.contains("PhoneNumbers")), "{errors:?}");
});
