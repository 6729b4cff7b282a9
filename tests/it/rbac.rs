//! The access matrix: every staff route × every role, against a target inside the account's
//! scope and one outside it. The expectation is [`POLICY`], a table of its own written from the
//! product's rules, not read from the routes' declarations. A role the policy does not allow is
//! refused everywhere; a role it allows is let through inside its scope and, outside it,
//! refused — or, for a record looked up by id or tracking number, told it does not exist (so the
//! test can fail both ways). A second matrix keeps its own expectation of who sees who objected.

use xiaowei_core::Role;
use xiaowei_core::disclosure;
use xiaowei_core::subsidy::{self, RosterAction, RosterStatus};
use xiaowei_server::staff::{StaffRoute, Target, routes};

use crate::helpers::{TestApp, both_backends, person_id, roster_csv, scope_of};

/// What each role may do where, from the product's rules: one column per role, in the order
/// 县纪委监委 (S), 县级管理员 (C), 乡镇管理员 (T), 乡镇审核人 (R), 村文书 (V), 县直部门 (D); a dot
/// is a refusal. Rosters are drafted by the village and reviewed by the township's discipline
/// secretary; only the commission reads the audit log, screening hits, reports and who objected;
/// department officers see cases, rosters and programmes of their own department and nothing of
/// village affairs; the county admin keeps the calendar, terminals, accounts and WeChat.
const POLICY: &[(&str, &str, &str)] = &[
    ("GET", "/staff", "SCTRVD"),
    ("GET", "/staff/orgs/{org}", "SCTRV."),
    ("POST", "/staff/orgs/{org}/groups", ".CT.V."),
    ("POST", "/staff/orgs/{org}/households", ".CT.V."),
    ("GET", "/staff/users", ".CT..."),
    ("POST", "/staff/users", ".CT..."),
    ("POST", "/staff/users/{user}/disable", ".CT..."),
    ("POST", "/staff/users/{user}/enable", ".CT..."),
    ("POST", "/staff/users/{user}/password", ".CT..."),
    ("POST", "/staff/users/{user}/phone", ".CT..."),
    ("GET", "/staff/departments", "SC...D"),
    ("POST", "/staff/departments", ".C...."),
    ("GET", "/staff/departments/{dept}", "SC...D"),
    ("POST", "/staff/departments/{dept}/contacts", ".C...."),
    ("POST", "/staff/departments/{dept}/contacts/{contact}/delete", ".C...."),
    ("GET", "/staff/audit", "S....."),
    ("GET", "/staff/programmes", "SCTRVD"),
    ("POST", "/staff/programmes", ".C...D"),
    ("POST", "/staff/programmes/{programme}/basis", ".C...D"),
    ("GET", "/staff/rosters", "SCTRVD"),
    ("GET", "/staff/rosters/new", "..T.V."),
    ("POST", "/staff/rosters/preview", "..T.V."),
    ("POST", "/staff/rosters/confirm", "..T.V."),
    ("GET", "/staff/rosters/{roster}", "SCTRVD"),
    ("POST", "/staff/rosters/{roster}/submit", "..T.V."),
    ("POST", "/staff/rosters/{roster}/delete", "..T.V."),
    ("POST", "/staff/rosters/{roster}/reasons", "..T.V."),
    ("POST", "/staff/rosters/{roster}/attachments", "..T.V."),
    ("POST", "/staff/rosters/{roster}/approve", "...R.."),
    ("POST", "/staff/rosters/{roster}/return", "...R.."),
    ("POST", "/staff/rosters/{roster}/withdraw", "...R.."),
    ("GET", "/staff/rosters/{roster}/attachments/{attachment}", "SCTRVD"),
    ("GET", "/staff/rosters/{roster}/export", "SCTRV."),
    ("GET", "/staff/objections", "SCTRV."),
    ("POST", "/staff/objections/{objection}/answer", "S..R.."),
    ("GET", "/staff/powers", "SCTRV."),
    ("POST", "/staff/powers", ".CT.V."),
    ("GET", "/staff/powers/{item}", "SCTRV."),
    ("POST", "/staff/powers/{item}/lists", ".C...."),
    ("GET", "/staff/power-records", "SCTRV."),
    ("POST", "/staff/power-records", "..T.V."),
    ("GET", "/staff/power-records/{record}", "SCTRV."),
    ("POST", "/staff/power-records/{record}/steps", "..T.V."),
    ("POST", "/staff/power-records/{record}/documents", "..T.V."),
    ("POST", "/staff/power-records/{record}/publish", "..T.V."),
    ("GET", "/staff/power-records/{record}/documents/{document}", "SCTRV."),
    ("GET", "/staff/village-office/{org}", "..T.V."),
    ("POST", "/staff/village-office/{org}/cadres", "..T.V."),
    ("POST", "/staff/village-office/{org}/cadres/{cadre}", "..T.V."),
    ("POST", "/staff/village-office/{org}/cadres/{cadre}/delete", "..T.V."),
    ("POST", "/staff/village-office/{org}/rota", "..T.V."),
    ("POST", "/staff/village-office/{org}/overrides", "..T.V."),
    ("POST", "/staff/village-office/{org}/overrides/{override}/delete", "..T.V."),
    ("POST", "/staff/village-office/{org}/meetings", "..T.V."),
    ("POST", "/staff/village-office/{org}/meetings/{meeting}/minutes", "..T.V."),
    ("POST", "/staff/village-office/{org}/meetings/{meeting}/file", "..T.V."),
    ("GET", "/staff/disclosures", "SCTRV."),
    ("POST", "/staff/disclosures", "..T.V."),
    ("GET", "/staff/disclosures/new", "..T.V."),
    ("GET", "/staff/disclosures/{disclosure}", "SCTRV."),
    ("POST", "/staff/disclosures/{disclosure}/edit", "..T.V."),
    ("POST", "/staff/disclosures/{disclosure}/lines", "..T.V."),
    ("POST", "/staff/disclosures/{disclosure}/attachments", "..T.V."),
    ("POST", "/staff/disclosures/{disclosure}/submit", "..T.V."),
    ("POST", "/staff/disclosures/{disclosure}/approve", "...R.."),
    ("POST", "/staff/disclosures/{disclosure}/return", "...R.."),
    ("POST", "/staff/disclosures/{disclosure}/withdraw", "...R.."),
    ("GET", "/staff/disclosures/{disclosure}/attachments/{attachment}", "SCTRV."),
    ("GET", "/staff/cases", "SCTRVD"),
    ("GET", "/staff/cases/{case}", "SCTRVD"),
    ("POST", "/staff/cases/{case}/contact", "..T..D"),
    ("POST", "/staff/cases/{case}/progress", "..T..D"),
    ("POST", "/staff/cases/{case}/complete", "..T..D"),
    ("POST", "/staff/cases/{case}/extensions", "..T..D"),
    ("POST", "/staff/cases/{case}/extensions/{extension}", "SC...."),
    ("GET", "/staff/cases/{case}/photos/{photo}", "SCTRVD"),
    ("GET", "/staff/services", ".C...D"),
    ("POST", "/staff/services", ".C...D"),
    ("GET", "/staff/services/{item}", ".C...D"),
    ("POST", "/staff/services/{item}", ".C...D"),
    ("POST", "/staff/services/{item}/active", ".C...D"),
    ("POST", "/staff/services/{item}/handlers", ".C...D"),
    ("GET", "/staff/calendar", ".C...."),
    ("POST", "/staff/calendar", ".C...."),
    ("POST", "/staff/calendar/delete", ".C...."),
    ("POST", "/staff/calendar/import", ".C...."),
    ("GET", "/staff/outbox", "SC...."),
    ("POST", "/staff/outbox/{message}/retry", "SC...."),
    ("GET", "/staff/inbox", "SCTRV."),
    ("GET", "/staff/inbox/export", "SCTRV."),
    ("GET", "/staff/inbox/{msg}", "SCTRV."),
    ("POST", "/staff/inbox/{msg}/assign", "S.TRV."),
    ("POST", "/staff/inbox/{msg}/reply", "S.TRV."),
    ("POST", "/staff/inbox/{msg}/handled", "S.TRV."),
    ("POST", "/staff/inbox/{msg}/merge", "S.TRV."),
    ("POST", "/staff/inbox/{msg}/hide", "S.TRV."),
    ("GET", "/staff/inbox/{msg}/photos/{photo}", "SCTRV."),
    ("GET", "/staff/wechat", ".C...."),
    ("POST", "/staff/wechat", ".C...."),
    ("GET", "/staff/alerts", "SCTR.."),
    ("GET", "/staff/alerts/export", "SCTR.."),
    ("GET", "/staff/alerts/{alert}", "SCTR.."),
    ("POST", "/staff/alerts/{alert}/look", "S..R.."),
    ("POST", "/staff/alerts/{alert}/resolve", "S..R.."),
    ("GET", "/staff/live", "SCTR.."),
    ("GET", "/staff/live/screen", "SCTR.."),
    ("GET", "/staff/live/events", "SCTR.."),
    ("GET", "/staff/kiosks", ".C...."),
    ("POST", "/staff/kiosks", ".C...."),
    ("POST", "/staff/kiosks/{kiosk}/revoke", ".C...."),
    ("GET", "/staff/service-links", ".C...."),
    ("POST", "/staff/service-links", ".C...."),
    ("POST", "/staff/service-links/{link}", ".C...."),
    ("POST", "/staff/service-links/{link}/delete", ".C...."),
    ("GET", "/staff/integrators", ".C...."),
    ("POST", "/staff/integrators", ".C...."),
    ("POST", "/staff/integrators/{integrator}/revoke", ".C...."),
    ("GET", "/staff/monitor", "SCTR.."),
    ("GET", "/staff/monitor/export", "SCTR.."),
    ("GET", "/staff/monitor/departments/export", "SCTR.."),
    ("GET", "/staff/monitor/townships/{org}", "SCTR.."),
    ("GET", "/staff/monitor/townships/{org}/export", "SCTR.."),
    ("GET", "/staff/monitor/list/{org}/{metric}", "SCTR.."),
    ("GET", "/staff/monitor/list/{org}/{metric}/export", "SCTR.."),
    ("GET", "/staff/monitor/weekly/{org}", "SCTR.."),
    ("GET", "/staff/monitor/weekly/{org}/export", "SCTR.."),
    ("GET", "/staff/registries", "SC...."),
    ("POST", "/staff/registries", "SC...."),
    ("POST", "/staff/registries/programmes/{programme}", "SC...."),
    ("POST", "/staff/registries/exclusive", "SC...."),
    ("POST", "/staff/registries/exclusive/remove", "SC...."),
    ("POST", "/staff/screening/run", "SC...."),
    ("GET", "/staff/screening", "S..R.."),
    ("GET", "/staff/screening/export", "S..R.."),
    ("GET", "/staff/screening/{hit}", "S..R.."),
    ("POST", "/staff/screening/{hit}/handle", "S..R.."),
    ("GET", "/staff/outreach", "SCTR.."),
    ("POST", "/staff/outreach/{lead}/outcome", "..T..."),
];

/// Whether the policy lets `role` take `route`.
fn policy_allows(route: &StaffRoute, role: Role) -> bool {
    let column = Role::ALL.iter().position(|r| *r == role).expect("every role has a column");
    let (_, _, roles) = POLICY
        .iter()
        .find(|(method, path, _)| *method == route.method && *path == route.path)
        .unwrap_or_else(|| panic!("{} {} is not in the policy", route.method, route.path));
    roles.as_bytes()[column] != b'.'
}

/// Fills a route's placeholders and form for a target inside (`inside = true`) or outside the
/// account's scope.
/// A roster and an objection in our village and in the foreign one, to act on.
#[derive(Clone)]
struct Targets {
    rosters: [i64; 2],
    objections: [i64; 2],
    programmes: [i64; 2],
    powers: [(i64, i64); 2],
    disclosures: [i64; 2],
    service_items: [i64; 2],
    cases: [String; 2],
    messages: [String; 2],
    alerts: [i64; 2],
    kiosks: [i64; 2],
    links: [i64; 2],
    integrators: [i64; 2],
    hits: [i64; 2],
    leads: [i64; 2],
    /// Inside the scope: the ids of the records below the targets (a case's photo, a roster's
    /// scan, a village's cadre…), by their placeholder.
    parts: std::collections::HashMap<&'static str, String>,
}

impl Targets {
    /// The id for a sub-record placeholder: a real one inside, one that exists nowhere outside.
    fn part(&self, name: &str, inside: bool) -> String {
        if inside { self.parts.get(name).cloned().unwrap_or_else(|| "999999".into()) } else { "999999".into() }
    }
}

async fn seed_targets(app: &TestApp) -> Targets {
    let store = app.state.store();
    let programme = app.programme().await;
    let clerk = store.find_staff_by_username("clerk2").await.unwrap().unwrap().id;
    let mut rosters = [0; 2];
    let mut objections = [0; 2];
    for (i, village) in ["620922100200", "620923100200"].into_iter().enumerate() {
        let line = xiaowei_core::roster::check(
            &[vec!["姓名".into(), "身份证号".into(), "金额".into()], vec!["张三".into(), person_id(1), "600".into()]],
            None,
        )
        .unwrap()
        .lines
        .remove(0);
        let entry = xiaowei_server::app::rosters::seal_line(app.state.cipher(), &line);
        let roster = xiaowei_store::NewRoster {
            programme_id: programme,
            org_code: village.into(),
            year: 2020,
            period: "2020年度".into(),
            phase: xiaowei_core::subsidy::Phase::Proposed,
            settles_id: None,
            supersedes_id: None,
            correction_reason: None,
            paid_on: None,
            created_by: clerk,
        };
        rosters[i] = store.create_roster(&roster, &[entry], 1).await.unwrap();
        let objection = xiaowei_store::NewObjection {
            code: format!("RBAC{i:04}"),
            submit_key: format!("form-rbac-{i}"),
            org_code: village.into(),
            roster_id: Some(rosters[i]),
            entry_id: None,
            programme_id: Some(programme),
            name: "赵六".into(),
            phone_enc: app.state.cipher().encrypt("13900001111"),
            phone_idx: app.state.cipher().blind_index("phone", "13900001111"),
            body: "异议内容".into(),
            reply_due: 4_000_000_000,
            reply_remind_at: 3_999_900_000,
            deadline_basis: "5个工作日内答复".into(),
        };
        objections[i] = crate::helpers::store_objection(store, &objection, 1).await;
    }
    let foreign = xiaowei_store::NewProgramme {
        name: "水库维修补助".into(),
        department_id: Some(app.other_department),
        basis: "测试".into(),
        unit: xiaowei_core::subsidy::Unit::Household,
        standard_fen: None,
        rule: String::new(),
        recurring: false,
        from_year: None,
        to_year: None,
        publicity_days: 7,
        objection_reply_days: 5,
    };
    let programmes = [programme, store.create_programme(&foreign, 1).await.unwrap()];
    let powers = [
        crate::powers::seed_power(app, "620922", "620922100200").await,
        crate::powers::seed_power(app, "620923", "620923100200").await,
    ];
    let mut disclosures = [0; 2];
    for (slot, village) in disclosures.iter_mut().zip(["620922100200", "620923100200"]) {
        let draft = xiaowei_store::NewDisclosure {
            org_code: village.into(),
            category: xiaowei_core::disclosure::Category::VillageAffairs,
            title: "村务公开".into(),
            body: "正文".into(),
            period_label: "2025年7月".into(),
            period_start: None,
            period_end: None,
            supersedes_id: None,
            correction_reason: None,
            created_by: clerk,
        };
        *slot = store.create_disclosure(&draft, &[], 1).await.unwrap();
    }
    let (service_items, cases) = crate::services::seed_cases(app).await;
    let messages = crate::messages::seed_messages(app).await;
    let mut alerts = [0; 2];
    for (i, village) in ["620922100200", "620923100200"].into_iter().enumerate() {
        let alert = xiaowei_store::NewAlert {
            kind: xiaowei_core::alert::AlertKind::DisclosureOverdue,
            org_code: village.into(),
            subject_kind: xiaowei_core::alert::SubjectKind::Village,
            subject_id: format!("{village}:finance"),
            dedup_key: format!("disclosure_overdue:village:{village}:finance:never"),
            summary: if i == 0 {
                "南岔村超过一个季度未公开财务".into()
            } else {
                "外村超过一个季度未公开财务".into()
            },
            link: "/staff/disclosures".into(),
            restricted: false,
        };
        store.raise_alert(&alert, 1).await.unwrap();
        let filter = xiaowei_store::AlertFilter { org_prefix: village.into(), ..Default::default() };
        alerts[i] = store.alerts(&filter, 1, 0).await.unwrap().0[0].id;
    }
    let mut kiosks = [0; 2];
    for (slot, (township, name)) in kiosks.iter_mut().zip([("620922100", "大厅1号机"), ("620923100", "foreign hall")])
    {
        let terminal = xiaowei_store::NewKioskTerminal {
            township_code: township.into(),
            name: name.into(),
            idle_seconds: 60,
            enrol_token_hash: format!("rbac-{township}"),
            enrol_expires_at: i64::MAX,
            created_by: clerk,
        };
        *slot = store.create_kiosk_terminal(&terminal, 1).await.unwrap();
    }
    let mut links = [0; 2];
    for (slot, (org, name)) in links.iter_mut().zip([("620922100", "渊泉镇缴费"), ("620923100", "foreign tile")]) {
        let link = xiaowei_store::NewServiceLink {
            org_code: org.into(),
            name: name.into(),
            icon: xiaowei_core::service_links::Icon::Bills,
            url: "https://www.95598.cn/".into(),
            description: "电费查询和缴纳".into(),
            position: 0,
            created_by: clerk,
        };
        *slot = store.add_service_link(&link, 1).await.unwrap();
    }
    let mut integrators = [0; 2];
    for (slot, org) in integrators.iter_mut().zip(["620922100", "620923100"]) {
        let token = xiaowei_store::NewIntegratorToken {
            name: "12345热线".into(),
            org_code: org.into(),
            kinds: xiaowei_core::open311::Kinds { cases: true, messages: false },
            key_hash: format!("rbac-{org}"),
            key_hint: "xw311_rbac".into(),
            created_by: clerk,
            expires_at: i64::MAX,
        };
        *slot = store.create_integrator_token(&token, 1).await.unwrap();
    }
    let (hits, leads) = crate::screening::seed_hits_and_leads(app, rosters, programme).await;
    Targets {
        parts: std::collections::HashMap::new(),
        rosters,
        objections,
        programmes,
        powers,
        disclosures,
        service_items,
        cases,
        messages,
        alerts,
        kiosks,
        links,
        integrators,
        hits,
        leads,
    }
}

const NANCHA: &str = "620922100200";

/// A stored scan, for records that point at one.
async fn stored_pdf(app: &TestApp, serial: i64) -> (String, i64) {
    let bytes = [PDF, format!("% {serial}\n").as_bytes()].concat();
    let size = i64::try_from(bytes.len()).unwrap();
    let stored = app.state.attachments().put(axum::body::Bytes::from(bytes)).await.unwrap();
    (stored.sha256, size)
}

/// A new roster of our village in `status` (draft, submitted or published), with one entry.
async fn fresh_roster(app: &TestApp, status: &str, serial: i64) -> i64 {
    let store = app.state.store();
    let clerk = store.find_staff_by_username("clerk2").await.unwrap().unwrap().id;
    let line = xiaowei_core::roster::check(
        &[vec!["姓名".into(), "身份证号".into(), "金额".into()], vec!["张三".into(), person_id(1), "600".into()]],
        None,
    )
    .unwrap()
    .lines
    .remove(0);
    let entry = xiaowei_server::app::rosters::seal_line(app.state.cipher(), &line);
    let roster = xiaowei_store::NewRoster {
        programme_id: app.programme().await,
        org_code: NANCHA.into(),
        year: 1900 + serial,
        period: format!("{}年度", 1900 + serial),
        phase: xiaowei_core::subsidy::Phase::Proposed,
        settles_id: None,
        supersedes_id: None,
        correction_reason: None,
        paid_on: None,
        created_by: clerk,
    };
    let id = store.create_roster(&roster, &[entry], 1).await.unwrap();
    if status != "draft" {
        store
            .change_roster_status(
                id,
                subsidy::transition(RosterStatus::Draft, RosterAction::Submit).unwrap(),
                None,
                clerk,
                2,
            )
            .await
            .unwrap();
    }
    if status == "published" {
        store.publish_roster(id, Some(("1990-01-01", "1990-01-08")), None, clerk, 3).await.unwrap();
    }
    id
}

/// A new disclosure of our village in `status`.
async fn fresh_disclosure(app: &TestApp, status: &str, category: &str) -> i64 {
    let store = app.state.store();
    let clerk = store.find_staff_by_username("clerk2").await.unwrap().unwrap().id;
    let draft = xiaowei_store::NewDisclosure {
        org_code: NANCHA.into(),
        category: xiaowei_core::disclosure::Category::parse(category).unwrap(),
        title: "村务公开".into(),
        body: "正文".into(),
        period_label: "2025年第三季度".into(),
        period_start: None,
        period_end: None,
        supersedes_id: None,
        correction_reason: None,
        created_by: clerk,
    };
    let id = store.create_disclosure(&draft, &[], 1).await.unwrap();
    if status != "draft" {
        store
            .change_disclosure_status(
                id,
                disclosure::advance(RosterStatus::Draft, RosterAction::Submit).unwrap(),
                None,
                clerk,
                2,
            )
            .await
            .unwrap();
    }
    if status == "published" {
        store.publish_disclosure(id, clerk, 3).await.unwrap();
    }
    id
}

/// A new case of our department and village, `in_progress` or just submitted, with a photo.
async fn fresh_case(app: &TestApp, item: i64, in_progress: bool, serial: i64) -> String {
    let store = app.state.store();
    let cipher = app.state.cipher();
    let now = app.state.now();
    let tracking = format!("BJ20251010{serial:06}");
    let (sha256, size) = stored_pdf(app, serial).await;
    let case = xiaowei_store::NewCase {
        tracking: tracking.clone(),
        submit_key: format!("rbac-fresh-case-{serial}"),
        item_id: item,
        department_id: app.own_department,
        org_code: NANCHA.into(),
        applicant_name: "孙大爷".into(),
        phone_enc: cipher.encrypt("13700001111"),
        phone_idx: cipher.blind_index("phone", "13700001111"),
        resident_id_enc: None,
        description: "申请".into(),
        filed_by: None,
        submitted_at: now,
        contact_due: now + 86_400,
        contact_remind_at: now + 72_000,
        completion_due: now + 30 * 86_400,
        completion_remind_at: now + 29 * 86_400,
        deadline_basis: "15个工作日".into(),
    };
    let photo = xiaowei_store::NewPhoto {
        sha256,
        size,
        content_type: "application/pdf".into(),
        original_name: "照片.pdf".into(),
    };
    let event = |kind: xiaowei_core::tracked::TimelineKind| xiaowei_store::NewEvent {
        kind,
        actor: "测试".into(),
        staff_user_id: None,
        method: None,
        note: "测试".into(),
        public: true,
    };
    let (id, _) =
        store.create_case(&case, &[photo], &event(xiaowei_core::tracked::TimelineKind::Submitted), &[]).await.unwrap();
    if in_progress {
        let change = xiaowei_store::CaseChange { contacted: true, ..Default::default() };
        let contact = xiaowei_core::service::transition(
            xiaowei_core::service::CaseStatus::Submitted,
            xiaowei_core::service::CaseAction::Contact,
        )
        .unwrap();
        assert!(
            store
                .change(id, contact, &change, &event(xiaowei_core::tracked::TimelineKind::Contact), &[], now)
                .await
                .unwrap()
        );
    }
    tracking
}

/// A new question in our village's 留言箱, with a photo.
async fn fresh_message(app: &TestApp, serial: i64) -> String {
    let now = app.state.now();
    let tracking = format!("LY20251010{serial:06}");
    let (sha256, size) = stored_pdf(app, serial).await;
    let m = xiaowei_store::NewMessage {
        tracking: tracking.clone(),
        submit_key: format!("rbac-fresh-message-{serial}"),
        kind: xiaowei_core::message::MessageKind::Question,
        org_code: NANCHA.into(),
        author_name: String::new(),
        phone_enc: None,
        phone_idx: None,
        secret_idx: None,
        body: "村里的路灯什么时候修？".into(),
        allow_public: true,
        submitted_at: now,
        reply_due: now + 3 * 86_400,
        reply_remind_at: now + 2 * 86_400,
        deadline_basis: "3个工作日".into(),
    };
    let photo = xiaowei_store::NewPhoto {
        sha256,
        size,
        content_type: "application/pdf".into(),
        original_name: "照片.pdf".into(),
    };
    let event = xiaowei_store::NewEvent {
        kind: xiaowei_core::tracked::TimelineKind::Submitted,
        actor: "留言人".into(),
        staff_user_id: None,
        method: None,
        note: "提交".into(),
        public: true,
    };
    app.state.store().create_message(&m, &[photo], &event, &[]).await.unwrap();
    tracking
}

/// The targets with the inside record replaced by a new one in the state `route` acts on, and
/// the sub-records it names created, so that an allowed action can succeed; records are never
/// shared between two actions, so one role's action cannot spoil the next one's.
async fn fresh(app: &TestApp, client: &reqwest::Client, base: &Targets, route: &StaffRoute, serial: i64) -> Targets {
    let store = app.state.store();
    let mut t = base.clone();
    let clerk = store.find_staff_by_username("clerk2").await.unwrap().unwrap().id;
    let action = route.path.rsplit('/').next().unwrap_or_default();
    let post = route.method == "POST";
    match route.path {
        "/staff/rosters/{roster}/attachments/{attachment}" => {
            let (sha256, size) = stored_pdf(app, serial).await;
            let scan = xiaowei_store::NewAttachment {
                roster_id: Some(t.rosters[0]),
                programme_id: None,
                sha256,
                size,
                content_type: "application/pdf".into(),
                original_name: "扫描件.pdf".into(),
                uploaded_by: Some(clerk),
            };
            t.parts.insert("rosters:attachment", store.add_attachment(&scan, 1).await.unwrap().to_string());
        }
        p if post && p.starts_with("/staff/rosters/{roster}/") => {
            let status = match action {
                "approve" | "return" => "submitted",
                "withdraw" => "published",
                _ => "draft",
            };
            t.rosters[0] = fresh_roster(app, status, serial).await;
            if action == "reasons" {
                // A paid roster that differs from the proposed one it settles, so there is a reason to give.
                let proposed = fresh_roster(app, "published", serial + 500_000).await;
                let line = xiaowei_core::roster::check(
                    &[
                        vec!["姓名".into(), "身份证号".into(), "金额".into()],
                        vec!["张三".into(), person_id(1), "700".into()],
                    ],
                    None,
                )
                .unwrap()
                .lines
                .remove(0);
                let entry = xiaowei_server::app::rosters::seal_line(app.state.cipher(), &line);
                let paid = xiaowei_store::NewRoster {
                    programme_id: app.programme().await,
                    org_code: NANCHA.into(),
                    year: 1900 + serial + 500_000,
                    period: format!("{}年度", 1900 + serial + 500_000),
                    phase: xiaowei_core::subsidy::Phase::Paid,
                    settles_id: Some(proposed),
                    supersedes_id: None,
                    correction_reason: None,
                    paid_on: Some("1990-02-01".into()),
                    created_by: clerk,
                };
                let id = store.create_roster(&paid, &[entry], 1).await.unwrap();
                xiaowei_server::app::rosters::refresh_differences(store, id).await.unwrap();
                let difference = store.differences(id).await.unwrap().remove(0).id;
                t.parts.insert("rosters:difference", difference.to_string());
                t.rosters[0] = id;
            }
        }
        "/staff/rosters/confirm" => {
            // A year inside the programme's 2006–2025 whatever the serial, and never the seeded 2020.
            let fields = [
                ("programme_id", app.programme().await.to_string()),
                ("org_code", NANCHA.to_owned()),
                ("year", (2006 + serial % 14).to_string()),
                ("phase", "proposed".to_owned()),
            ];
            let preview = app.upload(client, &fields, roster_csv(&[("张三", person_id(3), "600")])).await;
            let html = preview.text().await.unwrap();
            let token = crate::helpers::hidden(&html, "token").unwrap_or_default();
            t.parts.insert("rosters:token", token);
        }
        "/staff/disclosures/{disclosure}/attachments/{attachment}" => {
            let (sha256, size) = stored_pdf(app, serial).await;
            let scan = xiaowei_store::NewAttachment {
                roster_id: None,
                programme_id: None,
                sha256,
                size,
                content_type: "application/pdf".into(),
                original_name: "附件.pdf".into(),
                uploaded_by: Some(clerk),
            };
            let id = store.attach_to_disclosure(t.disclosures[0], &scan, 1).await.unwrap();
            t.parts.insert("disclosures:attachment", id.to_string());
        }
        p if post && p.starts_with("/staff/disclosures/{disclosure}/") => {
            let status = match action {
                "approve" | "return" => "submitted",
                "withdraw" => "published",
                _ => "draft",
            };
            let category = if action == "lines" { "finance" } else { "village_affairs" };
            t.disclosures[0] = fresh_disclosure(app, status, category).await;
        }
        p if p.starts_with("/staff/cases/{case}/") => {
            let tracking = fresh_case(app, t.service_items[0], action != "contact", serial).await;
            let case = store.find_case_by_tracking(&tracking).await.unwrap().unwrap();
            let photo = store.photos(xiaowei_store::RequestKind::Case, case.id).await.unwrap().remove(0).id;
            t.parts.insert("cases:photo", photo.to_string());
            if p.ends_with("/{extension}") {
                let event = xiaowei_store::NewEvent {
                    kind: xiaowei_core::tracked::TimelineKind::ExtensionRequested,
                    actor: "测试".into(),
                    staff_user_id: None,
                    method: None,
                    note: "测试".into(),
                    public: false,
                };
                store.request_extension(case.id, 3, "需要实地核查", clerk, &event, 2).await.unwrap();
                let extension = store.case_extensions(case.id).await.unwrap().remove(0).id;
                t.parts.insert("cases:extension", extension.to_string());
            }
            t.cases[0] = tracking;
        }
        p if p.starts_with("/staff/inbox/{msg}/") => {
            let tracking = fresh_message(app, serial).await;
            let message = store.find_message_by_tracking(&tracking).await.unwrap().unwrap();
            let photo = store.photos(xiaowei_store::RequestKind::Message, message.id).await.unwrap().remove(0).id;
            t.parts.insert("inbox:photo", photo.to_string());
            t.parts.insert("inbox:into", fresh_message(app, serial + 500_000).await);
            t.parts.insert("inbox:user", clerk.to_string());
            if action == "handled" {
                let change = xiaowei_store::MessageChange {
                    reply: Some(("已答复".into(), true, clerk)),
                    ..Default::default()
                };
                let event = xiaowei_store::NewEvent {
                    kind: xiaowei_core::tracked::TimelineKind::Reply,
                    actor: "村文书".into(),
                    staff_user_id: Some(clerk),
                    method: None,
                    note: "已答复".into(),
                    public: true,
                };
                let now = app.state.now();
                let reply = xiaowei_core::message::transition(
                    xiaowei_core::message::MessageStatus::Submitted,
                    xiaowei_core::message::MessageAction::Reply,
                )
                .unwrap();
                assert!(store.change(message.id, reply, &change, &event, &[], now).await.unwrap());
            }
            t.messages[0] = tracking;
        }
        "/staff/screening/{hit}/handle" => {
            let roster = fresh_roster(app, "published", serial).await;
            let entry = store.roster_entries(roster, 1, 0).await.unwrap().remove(0);
            let hit = xiaowei_store::NewHit {
                rule: xiaowei_core::screening::Rule::DeadPayee,
                entry_id: entry.id,
                severity: xiaowei_core::screening::Severity::High,
                evidence: "[]".into(),
            };
            store.record_screening(Some(&[roster]), 1, &[hit], 1).await.unwrap();
            let all = xiaowei_store::HitFilter { within: NANCHA.into(), include_cleared: true, ..Default::default() };
            let hits = store.screening_hits(&all, 100, 0).await.unwrap();
            t.hits[0] = hits.iter().find(|h| h.roster_id == roster).unwrap().id;
        }
        "/staff/power-records/{record}/documents/{document}" => {
            let (sha256, size) = stored_pdf(app, serial).await;
            let document = xiaowei_store::NewPowerDocument {
                exercise_id: t.powers[0].1,
                step_id: None,
                sha256,
                size,
                content_type: "application/pdf".into(),
                original_name: "会议记录.pdf".into(),
                uploaded_by: clerk,
            };
            t.parts.insert("power-records:document", store.add_power_document(&document, 1).await.unwrap().to_string());
        }
        p if post && p.starts_with("/staff/power-records/{record}/") => {
            let record = xiaowei_store::NewPowerExercise {
                item_id: t.powers[0].0,
                org_code: NANCHA.into(),
                title: format!("测试记录{serial}"),
                started_on: "2025-01-01".into(),
                created_by: clerk,
            };
            let id = store.open_power_exercise(&record, 1).await.unwrap();
            let step = xiaowei_store::NewPowerStepRecord {
                exercise_id: id,
                step_no: 1,
                done_on: "2025-01-02".into(),
                actor_name: "王主任".into(),
                action: "提出项目".into(),
                decision: String::new(),
                recorded_by: clerk,
            };
            store.record_power_step(&step, 1).await.unwrap();
            t.powers[0].1 = id;
        }
        p if p.starts_with("/staff/village-office/{org}/cadres/{cadre}") => {
            let phone = format!("1390001{serial:04}");
            let cadre = xiaowei_store::CadreDetails {
                name: "测试干部".into(),
                title: "村文书".into(),
                duties: "花名册".into(),
                phone_enc: app.state.cipher().encrypt(&phone),
                phone_idx: app.state.cipher().blind_index("phone", &phone),
            };
            t.parts.insert("village-office:cadre", store.add_cadre(NANCHA, &cadre, 1).await.unwrap().to_string());
        }
        "/staff/village-office/{org}/overrides/{override}/delete" => {
            let day = xiaowei_server::web::dates::shanghai_date(app.state.now())
                .checked_add(jiff::Span::new().days(100 + serial % 200))
                .unwrap();
            let o = xiaowei_store::NewDutyOverride { on_date: day.to_string(), cadre_id: None, note: "测试".into() };
            t.parts
                .insert("village-office:override", store.add_duty_override(NANCHA, &o, 1).await.unwrap().to_string());
        }
        p if p.starts_with("/staff/village-office/{org}/meetings/{meeting}/") => {
            let meeting = xiaowei_store::NewMeeting {
                org_code: NANCHA.into(),
                starts_at: app.state.now() - 86_400,
                place: "会议室".into(),
                agenda: "测试".into(),
                audiences: xiaowei_core::village_office::Audiences::from(vec![
                    xiaowei_core::village_office::Audience::PartyMembers,
                ]),
                created_by: Some(clerk),
            };
            t.parts.insert("village-office:meeting", store.create_meeting(&meeting, 1).await.unwrap().to_string());
        }
        "/staff/departments/{dept}/contacts/{contact}/delete" => {
            let phone = format!("1390002{serial:04}");
            let contact = xiaowei_store::NewContact {
                department_id: app.own_department,
                position: xiaowei_core::service::Recipient::CaseOfficer,
                name: "测试联系人".into(),
                phone_enc: app.state.cipher().encrypt(&phone),
                phone_idx: app.state.cipher().blind_index("phone", &phone),
            };
            t.parts.insert("departments:contact", store.add_contact(&contact, 1).await.unwrap().to_string());
        }
        _ => {}
    }
    t
}

async fn request_for(
    app: &TestApp,
    targets: &Targets,
    route: &StaffRoute,
    role: Role,
    inside: bool,
) -> (String, Vec<(&'static str, String)>) {
    let (own_org, _) = scope_of(role);
    let org = if inside {
        match route.path {
            "/staff/wechat" => "620922100",
            "/staff/kiosks" => "620922100",
            p if p.starts_with("/staff/village-office/") => "620922100200",
            p if p.ends_with("/groups") => "620922100200",
            p if p.ends_with("/households") => "620922100200001",
            "/staff/users" => match role {
                Role::TownshipAdmin | Role::CountyAdmin => "620922100200",
                _ => own_org,
            },
            p if p.starts_with("/staff/monitor/townships/") || p.starts_with("/staff/monitor/weekly/") => "620922100",
            _ => own_org,
        }
    } else {
        match route.path {
            p if p.ends_with("/households") || p.ends_with("/groups") => "620923100200",
            p if p.starts_with("/staff/village-office/") => "620923100200",
            "/staff/users" => "620923100200",
            _ => "620923100",
        }
    };
    let dept = if inside { app.own_department } else { app.other_department };
    let user = if inside { "clerk2" } else { "foreign" };
    let user_id = app.state.store().find_staff_by_username(user).await.unwrap().unwrap().id;
    let area = route.path.split('/').nth(2).unwrap_or_default();
    let path = route
        .path
        .replace("{org}", org)
        .replace("{dept}", &dept.to_string())
        .replace("{user}", &user_id.to_string())
        .replace("{contact}", &targets.part(&format!("{area}:contact"), inside))
        .replace("{roster}", &targets.rosters[usize::from(!inside)].to_string())
        .replace("{objection}", &targets.objections[usize::from(!inside)].to_string())
        .replace("{attachment}", &targets.part(&format!("{area}:attachment"), inside))
        .replace("{programme}", &targets.programmes[usize::from(!inside)].to_string())
        .replace(
            "{item}",
            &if route.path.starts_with("/staff/services/") {
                targets.service_items[usize::from(!inside)]
            } else {
                targets.powers[usize::from(!inside)].0
            }
            .to_string(),
        )
        .replace("{case}", &targets.cases[usize::from(!inside)])
        .replace("{msg}", &targets.messages[usize::from(!inside)])
        .replace("{alert}", &targets.alerts[usize::from(!inside)].to_string())
        .replace("{extension}", &targets.part(&format!("{area}:extension"), inside))
        .replace("{photo}", &targets.part(&format!("{area}:photo"), inside))
        .replace("{message}", &targets.part(&format!("{area}:message"), inside))
        .replace("{record}", &targets.powers[usize::from(!inside)].1.to_string())
        .replace("{document}", &targets.part(&format!("{area}:document"), inside))
        .replace("{cadre}", &targets.part(&format!("{area}:cadre"), inside))
        .replace("{override}", &targets.part(&format!("{area}:override"), inside))
        .replace("{meeting}", &targets.part(&format!("{area}:meeting"), inside))
        .replace("{disclosure}", &targets.disclosures[usize::from(!inside)].to_string())
        .replace("{kiosk}", &targets.kiosks[usize::from(!inside)].to_string())
        .replace("{link}", &targets.links[usize::from(!inside)].to_string())
        .replace("{integrator}", &targets.integrators[usize::from(!inside)].to_string())
        .replace("{metric}", "messages")
        .replace("{hit}", &targets.hits[usize::from(!inside)].to_string())
        .replace("{lead}", &targets.leads[usize::from(!inside)].to_string());
    let mut form: Vec<(&'static str, String)> = Vec::new();
    if route.method == "POST" {
        match route.path {
            "/staff/users" => {
                form.extend([
                    ("username", format!("new-{}", role.as_str())),
                    ("display_name", "新人".into()),
                    ("role", "village_clerk".into()),
                    ("org_code", org.into()),
                    ("password", "longenough1".into()),
                ]);
            }
            p if p.ends_with("/password") => form.push(("password", "longenough2".into())),
            p if p.ends_with("/groups") => {
                form.extend([("group_no", format!("{:03}", 90 + role as u8)), ("name", format!("{}组", role.label()))])
            }
            p if p.ends_with("/households") => {
                form.extend([
                    ("household_no", format!("R-{}-{inside}", role.as_str())),
                    ("head_name", "测试".into()),
                    ("members", "2".into()),
                ]);
            }
            p if p.ends_with("/contacts") => {
                form.extend([("position", "officer".into()), ("name", "测试".into()), ("phone", "13900000009".into())]);
            }
            "/staff/departments" => form.push(("name", format!("测试部门{}", role.as_str()))),
            "/staff/programmes" => form.extend([
                ("name", format!("测试项目{}", role.as_str())),
                ("basis", "测试文件".into()),
                ("unit", "person".into()),
                ("department_id", app.own_department.to_string()),
            ]),
            "/staff/rosters/preview" => form.extend([
                ("programme_id", app.programme().await.to_string()),
                ("org_code", org.into()),
                ("year", "2021".into()),
                ("phase", "proposed".into()),
            ]),
            p if p.ends_with("/return") || p.ends_with("/withdraw") => form.push(("reason", "测试原因".into())),
            "/staff/rosters/{roster}/reasons" if inside => {
                // The field is named after the difference it explains.
                let field: &'static str =
                    Box::leak(format!("reason_{}", targets.part("rosters:difference", true)).into_boxed_str());
                form.push((field, "金额按新标准调整".into()));
            }
            p if p.ends_with("/answer") => form.extend([("status", "handling".into()), ("reply", "测试答复".into())]),
            "/staff/powers" | "/staff/power-records" => {
                form.extend(crate::powers::power_form(route.path, org, role, &targets.powers[0]))
            }
            p if p.ends_with("/steps") => form.extend(crate::powers::step_form(2)),
            p if p.starts_with("/staff/village-office/") && (p.ends_with("/cadres") || p.ends_with("{cadre}")) => {
                form.extend([
                    ("name", "测试".into()),
                    ("title", "村文书".into()),
                    ("duties", "花名册".into()),
                    (
                        "phone",
                        format!("1390000{:04}", role as u8 * 10 + u8::from(inside) + 5 * u8::from(p.ends_with("}"))),
                    ),
                ]);
            }
            p if p.ends_with("/rota") => form.push(("day1", String::new())),
            p if p.ends_with("/overrides") => {
                let today = xiaowei_server::web::dates::shanghai_date(app.state.now());
                let day = today.checked_add(jiff::Span::new().days(30 + i64::from(role as u8))).unwrap();
                form.extend([("date", day.to_string()), ("cadre_id", "none".into()), ("note", "测试".into())]);
            }
            p if p.ends_with("/meetings") => form.extend([
                ("date", xiaowei_server::web::dates::shanghai_date(app.state.now()).to_string()),
                ("time", "23:59".into()),
                ("place", "会议室".into()),
                ("agenda", "测试".into()),
                ("audience", "party_members".into()),
            ]),
            p if p.ends_with("/minutes") => form.push(("minutes", "测试纪要".into())),
            "/staff/disclosures" | "/staff/disclosures/{disclosure}/edit" => form.extend([
                ("org_code", org.into()),
                ("category", "party".into()),
                ("title", "党务公开".into()),
                ("body", "正文".into()),
                ("period_kind", "month".into()),
                ("year", "2025".into()),
                ("number", "7".into()),
            ]),
            p if p.starts_with("/staff/inbox/") => form.extend([
                ("user_id", targets.part("inbox:user", inside)),
                ("reply", "测试答复内容".into()),
                ("reason", "测试屏蔽".into()),
                ("into", targets.part("inbox:into", inside)),
            ]),
            "/staff/rosters/confirm" => form.push(("token", targets.part("rosters:token", inside))),
            p if p.starts_with("/staff/registries/exclusive") => {
                form.extend([("a", targets.programmes[0].to_string()), ("b", targets.programmes[1].to_string())])
            }
            p if p.starts_with("/staff/cases/") => form.extend([
                ("method", "phone".into()),
                ("note", "已电话联系".into()),
                ("reply", "已办结，请查收".into()),
                ("days", "3".into()),
                ("reason", "需要实地核查".into()),
                ("decision", "approve".into()),
            ]),
            "/staff/services" | "/staff/services/{item}" => form.extend([
                ("department_id", app.own_department.to_string()),
                ("name", format!("测试事项{}{}", role.as_str(), route.path.len())),
                ("conditions", "本县居民".into()),
                ("time_limit", "15个工作日".into()),
                ("fee", "不收费".into()),
                ("contact_phone", "0937-5522001".into()),
            ]),
            p if p.ends_with("/handlers") => form.extend([
                ("township", "620922100".into()),
                ("name", "测试".into()),
                ("phone", "13900000008".into()),
            ]),
            p if p.ends_with("/active") => form.push(("active", "1".into())),
            "/staff/calendar" => {
                form.extend([("date", "2027-01-01".into()), ("kind", "holiday".into()), ("name", "元旦".into())])
            }
            "/staff/calendar/delete" => form.push(("date", "2027-01-01".into())),
            "/staff/calendar/import" => {
                form.extend([("year", "2027".into()), ("csv", "2027-01-01,holiday,元旦".into())])
            }
            p if p.ends_with("/phone") => form.push(("phone", "13900000007".into())),
            p if p.starts_with("/staff/alerts/") => {
                form.extend([("note", "已核实处置".into()), ("confirm", "1".into())])
            }
            "/staff/screening/{hit}/handle" => form.extend([("from", "new".into()), ("to", "verifying".into())]),
            "/staff/outreach/{lead}/outcome" => {
                form.extend([("status", "enrolled".into()), ("outcome", "已电话联系，已申请".into())])
            }
            "/staff/wechat" => form.extend([
                ("org_code", org.into()),
                ("appid", format!("wx{}{}", role.as_str().len(), u8::from(inside)).repeat(2) + "0123456789"),
                ("secret", "0123456789abcdef0123456789abcdef".into()),
                ("token", "xiaoweitoken".into()),
                ("aes_key", String::new()),
            ]),
            "/staff/kiosks" => form.extend([("org_code", org.into()), ("name", "大厅2号机".into())]),
            p if p.starts_with("/staff/kiosks/") => form.push(("confirm", "1".into())),
            "/staff/powers/{item}/lists" => form.extend([
                ("version", "1".into()),
                ("duties", "1|村两委|提出项目和预算".into()),
                ("accountability", "虚假招标|移送纪检监察机关|《中华人民共和国招标投标法》".into()),
            ]),
            "/staff/service-links" | "/staff/service-links/{link}" => form.extend([
                ("org_code", org.into()),
                ("name", format!("测试链接{}{}", role.as_str().len(), route.path.len())),
                ("icon", "government".into()),
                ("url", "https://zwfw.gansu.gov.cn/".into()),
                ("description", "网上办事".into()),
            ]),
            "/staff/service-links/{link}/delete" => form.push(("confirm", "1".into())),
            "/staff/integrators" => form.extend([
                ("org_code", org.into()),
                ("name", "县12345热线".into()),
                ("kinds", "cases".into()),
                ("days", "30".into()),
            ]),
            p if p.starts_with("/staff/integrators/") => form.push(("confirm", "1".into())),
            _ => {}
        }
    }
    (path, form)
}

const PDF: &[u8] = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n";

/// The file a route's upload form takes, if it takes one.
fn upload_for(path: &str) -> Option<(&'static str, Vec<u8>)> {
    match path {
        "/staff/rosters/{roster}/attachments"
        | "/staff/disclosures/{disclosure}/attachments"
        | "/staff/power-records/{record}/documents"
        | "/staff/programmes/{programme}/basis"
        | "/staff/village-office/{org}/meetings/{meeting}/file" => Some(("扫描件.pdf", PDF.to_vec())),
        "/staff/disclosures/{disclosure}/lines" => {
            Some(("收支表.csv", "日期,摘要,收入,支出,备注\n2025-07-03,上级转移支付,500,,\n".as_bytes().to_vec()))
        }
        "/staff/registries" => {
            Some(("deaths.csv", format!("姓名,身份证号,死亡日期\n王五,{},2015-03-01\n", person_id(77)).into_bytes()))
        }
        _ => None,
    }
}

async fn call(
    app: &TestApp,
    client: &reqwest::Client,
    route: &StaffRoute,
    path: &str,
    form: &[(&'static str, String)],
) -> (u16, String) {
    let response = if route.method == "GET" {
        client.get(app.url(path)).send().await.unwrap()
    } else if let Some((name, bytes)) = upload_for(route.path) {
        let csrf = app.csrf(client, "/staff/login").await;
        let mut multipart = reqwest::multipart::Form::new();
        for (k, v) in form {
            multipart = multipart.text(*k, v.clone());
        }
        if route.path == "/staff/registries" {
            multipart = multipart.text("kind", "deaths").text("mode", "amend");
        }
        let key = crate::helpers::form_key();
        multipart = multipart
            .text("form_key", key.clone())
            .part("file", reqwest::multipart::Part::bytes(bytes).file_name(name));
        client.post(app.url(&format!("{path}?csrf={csrf}&form_key={key}"))).multipart(multipart).send().await.unwrap()
    } else if route.path == "/staff/rosters/preview" {
        let fields: Vec<(&str, String)> = form.iter().map(|(k, v)| (*k, v.clone())).collect();
        app.upload(client, &fields, roster_csv(&[("张三", person_id(2), "600")])).await
    } else {
        let fields: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        app.post_form(client, path, &fields).await
    };
    let status = response.status().as_u16();
    // A success may be an endless stream (the live overview): only an error page is read.
    let body = if status < 400 { String::new() } else { response.text().await.unwrap_or_default() };
    // The reason shown on an error page, for the failure list.
    let main = body.split("<main").nth(1).unwrap_or(&body);
    let mut text = String::new();
    let mut in_tag = false;
    for c in main.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag && !c.is_whitespace() => text.push(c),
            _ => {}
        }
    }
    (status, text.chars().take(120).collect())
}

both_backends!(every_staff_route_checks_role_and_scope, |app: TestApp| async move {
    let targets = seed_targets(&app).await;
    let declared = routes();
    let mut serial = 0;
    let mut failures = Vec::new();
    for role in Role::ALL {
        let client = app.login_as(role).await;
        for route in &declared {
            let allowed = policy_allows(route, role);
            serial += 1;
            let fresh_targets =
                if allowed { fresh(&app, &client, &targets, route, serial).await } else { targets.clone() };
            let targets = &fresh_targets;
            let (inside_path, inside_form) = request_for(&app, targets, route, role, true).await;
            let (status, reason) = call(&app, &client, route, &inside_path, &inside_form).await;
            let ok = if allowed { status < 400 } else { status == 403 };
            if !ok {
                failures.push(format!(
                    "{} {} {inside_path} as {}: {status} (allowed: {allowed}) {reason}",
                    route.method,
                    route.path,
                    role.as_str()
                ));
            }
            // Departments are county-wide: only a department officer has departments outside its scope.
            let scoped = match route.target {
                Target::None => false,
                Target::Department | Target::Programme => role == Role::DepartmentOfficer,
                Target::Org | Target::User | Target::Roster | Target::Objection => true,
                Target::PowerItem | Target::PowerRecord | Target::Disclosure | Target::Case => true,
                Target::ServiceItem => role == Role::DepartmentOfficer,
                Target::Message => true,
                Target::Alert => true,
                Target::Kiosk | Target::ServiceLink | Target::Integrator => true,
                Target::ScreeningHit | Target::OutreachLead => true,
            };
            // A record outside the scope does not exist for the account: ids cannot be probed.
            let hidden = matches!(
                route.target,
                Target::Roster
                    | Target::Objection
                    | Target::PowerItem
                    | Target::PowerRecord
                    | Target::Disclosure
                    | Target::Case
                    | Target::Message
                    | Target::Alert
                    | Target::Kiosk
                    | Target::ServiceLink
                    | Target::Integrator
                    | Target::ScreeningHit
                    | Target::OutreachLead
            );
            if allowed && scoped {
                let (outside_path, outside_form) = request_for(&app, targets, route, role, false).await;
                let (status, _) = call(&app, &client, route, &outside_path, &outside_form).await;
                if status != if hidden { 404 } else { 403 } {
                    failures.push(format!(
                        "{} {} {outside_path} as {} outside scope: {status}",
                        route.method,
                        route.path,
                        role.as_str()
                    ));
                }
            }
        }
        // Listings never show what lies outside the scope.
        for path in [
            "/staff/users",
            "/staff/departments",
            "/staff/audit",
            "/staff/rosters",
            "/staff/objections",
            "/staff/powers",
            "/staff/power-records",
            "/staff/disclosures",
            "/staff/cases",
            "/staff/inbox",
            "/staff/services",
            "/staff/wechat",
            "/staff/alerts",
            "/staff/live",
            "/staff/kiosks",
            "/staff/service-links",
            "/staff/screening",
            "/staff/outreach",
        ] {
            let html = client.get(app.url(path)).send().await.unwrap().text().await.unwrap();
            if html.contains("外村") || html.contains("foreign") {
                failures.push(format!("{path} as {} shows the foreign county", role.as_str()));
            }
        }
        if role == Role::DepartmentOfficer {
            let html = client.get(app.url("/staff/departments")).send().await.unwrap().text().await.unwrap();
            if html.contains("县水务局") {
                failures.push("a department officer sees another department".into());
            }
        }
    }
    assert!(failures.is_empty(), "access matrix failures:\n{}", failures.join("\n"));
});

#[test]
fn the_policy_covers_exactly_the_declared_routes() {
    let declared: Vec<(&str, &str)> = routes().iter().map(|r| (r.method, r.path)).collect();
    let listed: Vec<(&str, &str)> = POLICY.iter().map(|(method, path, _)| (*method, *path)).collect();
    let missing: Vec<_> = declared.iter().filter(|r| !listed.contains(r)).collect();
    let stale: Vec<_> = listed.iter().filter(|r| !declared.contains(r)).collect();
    assert!(missing.is_empty() && stale.is_empty(), "not in the policy: {missing:?}; not declared: {stale:?}");
    let distinct: std::collections::HashSet<_> = declared.iter().collect();
    assert_eq!(distinct.len(), declared.len(), "a route is declared twice");
    assert!(POLICY.iter().all(|(_, _, roles)| roles.len() == Role::ALL.len()), "a policy row has the wrong width");
}

/// Who may see who objected (异议) or reported a problem from the self-query (反映问题), and
/// answer: the discipline commission only, as with reports (举报). Everyone else who reads
/// rosters sees that an objection exists and its answer, never the objector, the phone, the
/// content or the code that opens it. `None`: the role has no objection or inbox page at all.
const OBJECTOR_RULES: [(Role, Option<bool>, bool); 6] = [
    // role, sees the objector (Some) or has no page (None), may answer
    (Role::Supervisor, Some(true), true),
    (Role::CountyAdmin, Some(false), false),
    (Role::TownshipAdmin, Some(false), false),
    (Role::TownshipReviewer, Some(true), true),
    (Role::VillageClerk, Some(false), false),
    (Role::DepartmentOfficer, None, false),
];

both_backends!(only_the_commission_sees_who_objected, |app: TestApp| async move {
    let targets = seed_targets(&app).await;
    let store = app.state.store();
    // A 反映问题 from the self-query, beside the roster objection seeded with the targets.
    let report = xiaowei_store::NewObjection {
        code: "RBACSELF".into(),
        submit_key: "form-rbac-self".into(),
        org_code: "620922100200".into(),
        roster_id: None,
        entry_id: None,
        programme_id: Some(app.programme().await),
        name: "钱七".into(),
        phone_enc: app.state.cipher().encrypt("13900002222"),
        phone_idx: app.state.cipher().blind_index("phone", "13900002222"),
        body: "我家的补贴没有收到".into(),
        reply_due: 4_000_000_000,
        reply_remind_at: 3_999_900_000,
        deadline_basis: "5个工作日内答复".into(),
    };
    crate::helpers::store_objection(store, &report, 2).await;
    let identity =
        ["赵六", "13900001111", "异议内容", "RBAC0000", "钱七", "13900002222", "我家的补贴没有收到", "RBACSELF"];
    let mut failures = Vec::new();
    for (role, sees, answers) in OBJECTOR_RULES {
        let client = app.login_as(role).await;
        for path in ["/staff/objections", "/staff/inbox?kind=objection", "/staff/inbox"] {
            let response = client.get(app.url(path)).send().await.unwrap();
            let status = response.status().as_u16();
            let html = response.text().await.unwrap();
            match sees {
                None => {
                    if status != 403 {
                        failures.push(format!("{path} as {}: {status}, expected no page", role.as_str()));
                    }
                }
                Some(true) => {
                    let missing: Vec<_> = identity.iter().filter(|s| !html.contains(**s)).collect();
                    if status != 200 || !missing.is_empty() {
                        failures
                            .push(format!("{path} as {}: {status}, objector not shown: {missing:?}", role.as_str()));
                    }
                }
                Some(false) => {
                    let shown: Vec<_> = identity.iter().filter(|s| html.contains(**s)).collect();
                    let exists =
                        html.contains("花名册异议") && html.contains("自助查询反映") || path == "/staff/objections";
                    if status != 200 || !shown.is_empty() || !exists || !html.contains("待处理") {
                        failures.push(format!("{path} as {}: {status}, objector shown: {shown:?}", role.as_str()));
                    }
                }
            }
        }
        let reply = format!("{}的答复", role.as_str());
        let path = format!("/staff/objections/{}/answer", targets.objections[0]);
        let status =
            app.post_form(&client, &path, &[("status", "handling"), ("reply", &reply)]).await.status().as_u16();
        let stored = store.find_objection(targets.objections[0]).await.unwrap().unwrap().reply;
        let answered = stored.as_deref() == Some(reply.as_str());
        if answers != answered || (!answers && status != 403) {
            failures.push(format!("answer as {}: {status}, stored: {stored:?}", role.as_str()));
        }
        // The answer, once given, is visible to every role with the page.
        if let (Some(_), Some(given)) = (sees, stored) {
            let html = client.get(app.url("/staff/objections")).send().await.unwrap().text().await.unwrap();
            if !html.contains(&given) {
                failures.push(format!("/staff/objections as {}: the answer is not shown", role.as_str()));
            }
        }
    }
    let audit = store.audit_entries("620922", 200, 0).await.unwrap();
    let viewers: std::collections::BTreeSet<_> = audit
        .iter()
        .filter(|a| a.action == "pii.view" && a.target == "objections")
        .map(|a| a.actor_name.clone())
        .collect();
    if viewers.iter().any(|v| v != "supervisor" && v != "township_reviewer") {
        failures.push(format!("objectors' phones were read by {viewers:?}"));
    }
    assert!(failures.is_empty(), "objector visibility failures:\n{}", failures.join("\n"));
});
