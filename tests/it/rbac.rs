//! The access matrix: every staff route × every role, against a target inside the account's
//! scope and one outside it. A role without the permission is refused everywhere; a role with
//! it is let through inside its scope and, outside it, refused — or, for a record looked up by
//! id or tracking number, told it does not exist (so the test can fail both ways). A second
//! matrix keeps its own expectation of who sees who objected, written from the product's rules.

use xiaowei_core::Role;
use xiaowei_server::staff::{ROUTES, StaffRoute, Target};

use crate::helpers::{TestApp, both_backends, person_id, roster_csv, scope_of};

/// Fills a route's placeholders and form for a target inside (`inside = true`) or outside the
/// account's scope.
/// A roster and an objection in our village and in the foreign one, to act on.
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
    hits: [i64; 2],
    leads: [i64; 2],
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
        let entry = xiaowei_server::rosters::seal_line(app.state.cipher(), &line);
        let roster = xiaowei_store::NewRoster {
            programme_id: programme,
            org_code: village.into(),
            year: 2020,
            period: "2020年度".into(),
            phase: "proposed".into(),
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
        unit: "household".into(),
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
            category: "village_affairs".into(),
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
            kind: "disclosure_overdue".into(),
            org_code: village.into(),
            subject_kind: "village".into(),
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
    let (hits, leads) = crate::screening::seed_hits_and_leads(app, rosters, programme).await;
    Targets {
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
        hits,
        leads,
    }
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
                Role::TownshipAdmin => "620922100200",
                _ => own_org,
            },
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
    let path = route
        .path
        .replace("{org}", org)
        .replace("{dept}", &dept.to_string())
        .replace("{user}", &user_id.to_string())
        .replace("{contact}", "999999")
        .replace("{roster}", &targets.rosters[usize::from(!inside)].to_string())
        .replace("{objection}", &targets.objections[usize::from(!inside)].to_string())
        .replace("{attachment}", "999999")
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
        .replace("{extension}", "999999")
        .replace("{photo}", "999999")
        .replace("{message}", "999999")
        .replace("{record}", &targets.powers[usize::from(!inside)].1.to_string())
        .replace("{document}", "999999")
        .replace("{cadre}", "999999")
        .replace("{override}", "999999")
        .replace("{meeting}", "999999")
        .replace("{disclosure}", &targets.disclosures[usize::from(!inside)].to_string())
        .replace("{kiosk}", &targets.kiosks[usize::from(!inside)].to_string())
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
            p if p.ends_with("/groups") => form.extend([("group_no", "009".into()), ("name", "九组".into())]),
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
                    ("phone", format!("1390000{:04}", role as u8 * 10 + u8::from(inside))),
                ]);
            }
            p if p.ends_with("/rota") => form.push(("day1", String::new())),
            p if p.ends_with("/overrides") => {
                let today = xiaowei_server::rosters::shanghai_date(app.state.now());
                let day = today.checked_add(jiff::Span::new().days(30 + i64::from(role as u8))).unwrap();
                form.extend([("date", day.to_string()), ("cadre_id", "none".into()), ("note", "测试".into())]);
            }
            p if p.ends_with("/meetings") => form.extend([
                ("date", xiaowei_server::rosters::shanghai_date(app.state.now()).to_string()),
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
                ("user_id", "999999".into()),
                ("reply", "测试答复内容".into()),
                ("reason", "测试屏蔽".into()),
                ("into", "LY20990101000000".into()),
            ]),
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
                ("name", format!("测试事项{}", role.as_str())),
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
            _ => {}
        }
    }
    (path, form)
}

async fn call(
    app: &TestApp,
    client: &reqwest::Client,
    route: &StaffRoute,
    path: &str,
    form: &[(&'static str, String)],
) -> u16 {
    let response = if route.method == "GET" {
        client.get(app.url(path)).send().await.unwrap()
    } else if route.path == "/staff/rosters/preview" {
        let fields: Vec<(&str, String)> = form.iter().map(|(k, v)| (*k, v.clone())).collect();
        app.upload(client, &fields, roster_csv(&[("张三", person_id(2), "600")])).await
    } else {
        let fields: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        app.post_form(client, path, &fields).await
    };
    response.status().as_u16()
}

both_backends!(every_staff_route_checks_role_and_scope, |app: TestApp| async move {
    let targets = seed_targets(&app).await;
    let mut failures = Vec::new();
    for role in Role::ALL {
        let client = app.login_as(role).await;
        for route in ROUTES {
            let allowed = role.allows(route.permission);
            let (inside_path, inside_form) = request_for(&app, &targets, route, role, true).await;
            let status = call(&app, &client, route, &inside_path, &inside_form).await;
            let ok = if allowed { status != 403 && status < 500 } else { status == 403 };
            if !ok {
                failures.push(format!(
                    "{} {} {inside_path} as {}: {status} (allowed: {allowed})",
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
                Target::Kiosk => true,
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
                    | Target::ScreeningHit
                    | Target::OutreachLead
            );
            if allowed && scoped {
                let (outside_path, outside_form) = request_for(&app, &targets, route, role, false).await;
                let status = call(&app, &client, route, &outside_path, &outside_form).await;
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
fn the_route_table_matches_the_router() {
    let source = include_str!("../../crates/server/src/staff/mod.rs");
    for route in ROUTES {
        assert!(source.contains(&format!(".route(\"{}\"", route.path)), "{} is listed but not routed", route.path);
    }
    let routed = source.matches(".route(\"/staff").count();
    let distinct_paths: std::collections::HashSet<_> = ROUTES.iter().map(|r| r.path).collect();
    // Login and logout are the only staff routes open without a session.
    assert_eq!(routed, distinct_paths.len() + 2, "a staff route is missing from ROUTES");
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
