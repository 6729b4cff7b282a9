//! 惠农资金 end to end over HTTP: a clerk imports a roster, the reviewer publishes it, the public
//! sees it masked; the paid roster's differences need reasons; corrections and withdrawals stay
//! visible; objections get a tracking code; the self-query finds payments and unpaid years.

use xiaowei_core::Role;
use xiaowei_server::state::journal::Quota;

use crate::helpers::{TestApp, both_backends, hidden, person_id, roster_csv};

const VILLAGE: &str = "620922100200";

fn proposed_fields(programme: i64, year: i64) -> Vec<(&'static str, String)> {
    vec![
        ("programme_id", programme.to_string()),
        ("org_code", VILLAGE.into()),
        ("year", year.to_string()),
        ("phase", "proposed".into()),
    ]
}

both_backends!(a_roster_goes_from_upload_through_review_to_the_public_page, |app: TestApp| async move {
    let clerk = app.login_as(Role::VillageClerk).await;
    let reviewer = app.login_as(Role::TownshipReviewer).await;
    let programme = app.programme().await;

    // A file with problems is refused with every problem named by row and column; nothing is stored.
    let mut bad_id = person_id(2);
    bad_id.replace_range(17.., if bad_id.ends_with('1') { "2" } else { "1" });
    let bad = roster_csv(&[("张三", person_id(1), "600"), ("李四", bad_id, "600"), ("王五", person_id(3), "700")]);
    let preview = app.upload(&clerk, &proposed_fields(programme, 2025), bad).await;
    assert_eq!(preview.status(), 200);
    let html = preview.text().await.unwrap();
    assert!(html.contains("第4行") && html.contains("身份证号"), "{html}");
    assert!(html.contains("第5行") && html.contains("超过补贴标准"), "{html}");
    assert!(hidden(&html, "token").is_none(), "a file with errors cannot be confirmed");
    assert!(app.state.store().rosters_within(VILLAGE, None, 10, 0).await.unwrap().is_empty());

    // A clean file: preview, confirm (twice: the second does nothing), submit, approve.
    let lines = [("张三", person_id(1), "600"), ("李四", person_id(2), "600"), ("王五", person_id(3), "1,200.00元")];
    let mut fields = proposed_fields(programme, 2025);
    fields.push(("period", "2025年度".into()));
    let preview = app.upload(&clerk, &fields, roster_csv(&lines[..2])).await.text().await.unwrap();
    let token = hidden(&preview, "token").unwrap();
    let key = "k".repeat(32);
    let csrf = app.csrf(&clerk, "/staff/login").await;
    let form = [("csrf", csrf.as_str()), ("form_key", key.as_str()), ("token", token.as_str())];
    let first = clerk.post(app.url("/staff/rosters/confirm")).form(&form).send().await.unwrap();
    assert_eq!(first.status(), 303);
    let again = clerk.post(app.url("/staff/rosters/confirm")).form(&form).send().await.unwrap();
    assert_eq!(again.headers()["location"], "/staff/rosters?done=repeat");
    let rosters = app.state.store().rosters_within(VILLAGE, None, 10, 0).await.unwrap();
    assert_eq!(rosters.len(), 1, "a double confirm stores once");
    let proposed = rosters[0].id;
    assert_eq!(rosters[0].total_fen, 120_000);

    // Not public before approval.
    assert_eq!(TestApp::client().get(app.url(&format!("/rosters/{proposed}"))).send().await.unwrap().status(), 404);
    app.publish(&clerk, &reviewer, proposed).await;
    let public = TestApp::client().get(app.url(&format!("/rosters/{proposed}"))).send().await.unwrap();
    assert_eq!(public.status(), 200);
    let page = public.text().await.unwrap();
    assert!(page.contains("张三") && page.contains("620922********"), "{page}");
    assert!(!page.contains(&person_id(1)), "no full ID on a public page");
    assert!(page.contains("公示中，还剩 7 天"), "{page}");
    assert!(page.contains("1,200.00"));
    // The notice for the village's WeChat groups: what, when, where to look and object, the ledger entry.
    let staff_page =
        clerk.get(app.url(&format!("/staff/rosters/{proposed}"))).send().await.unwrap().text().await.unwrap();
    let notice = staff_page.split("<textarea").nth(1).unwrap_or_default();
    assert!(
        notice.contains("公示期") && notice.contains(&format!("/rosters/{proposed}")) && notice.contains("对此有异议"),
        "{notice}"
    );
    assert!(notice.contains("公开账本第") && notice.contains("账本检查点："), "{notice}");
    let listing = TestApp::client()
        .get(app.url(&format!("/t/620922100/subsidies?village={VILLAGE}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(listing.contains("库区移民后期扶持") && listing.contains(&format!("/rosters/{proposed}")));
    let by_programme = TestApp::client()
        .get(app.url(&format!("/t/620922100/subsidies?programme={programme}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        by_programme.contains("南岔村 2025年度 库区移民后期扶持"),
        "the township lists a programme across villages"
    );
    let qr = TestApp::client().get(app.url(&format!("/rosters/{proposed}/qr.svg"))).send().await.unwrap();
    assert_eq!(qr.headers()["content-type"], "image/svg+xml");
    let xlsx = TestApp::client().get(app.url(&format!("/rosters/{proposed}/export.xlsx"))).send().await.unwrap();
    let grid = xiaowei_sheets::read_grid(&xlsx.bytes().await.unwrap()).unwrap();
    let cells: Vec<&String> = grid.iter().flatten().collect();
    assert!(cells.iter().any(|c| c.as_str() == "张三") && !cells.iter().any(|c| **c == person_id(1)));

    // The paid roster: 王五 paid but never proposed, 李四 proposed but not paid, 张三 paid less,
    // and paid during the publicity period. Each difference needs a reason before submission.
    let today = xiaowei_server::web::dates::shanghai_date(app.state.now()).to_string();
    let paid_fields = vec![
        ("programme_id", programme.to_string()),
        ("org_code", VILLAGE.into()),
        ("year", "2025".into()),
        ("period", "2025年度".into()),
        ("phase", "paid".into()),
        ("settles_id", proposed.to_string()),
        ("paid_on", today),
    ];
    let paid_file = roster_csv(&[("张三", person_id(1), "500"), ("王五", person_id(3), "600")]);
    let paid = app.import_roster(&clerk, &paid_fields, paid_file).await;
    let refused = app.post_form(&clerk, &format!("/staff/rosters/{paid}/submit"), &[]).await;
    assert_eq!(refused.status(), 400);
    assert!(refused.text().await.unwrap().contains("4处发放差异未填写原因"));
    let staff_page = clerk.get(app.url(&format!("/staff/rosters/{paid}"))).send().await.unwrap().text().await.unwrap();
    let reason_fields: Vec<String> = staff_page
        .match_indices("name=\"reason_")
        .map(|(i, _)| staff_page[i + 6..].split('"').next().unwrap().to_owned())
        .collect();
    assert_eq!(reason_fields.len(), 4, "{staff_page}");
    let reasons: Vec<(&str, &str)> = reason_fields.iter().map(|f| (f.as_str(), "经村民代表会议核实")).collect();
    let saved = app.post_form(&clerk, &format!("/staff/rosters/{paid}/reasons"), &reasons).await;
    assert_eq!(saved.status(), 303);
    app.publish(&clerk, &reviewer, paid).await;
    let page = TestApp::client().get(app.url(&format!("/rosters/{paid}"))).send().await.unwrap().text().await.unwrap();
    for label in ["未经公示即发放", "公示后未发放", "发放金额与公示不一致", "公示期未满即发放", "经村民代表会议核实"]
    {
        assert!(page.contains(label), "{label} missing from the public diff");
    }

    // The audit log saw every step.
    let audit = app.state.store().audit_entries("620922", 100, 0).await.unwrap();
    for action in ["roster.import", "roster.submit", "roster.publish", "roster.reasons"] {
        assert!(audit.iter().any(|a| a.action == action), "{action} not audited");
    }
});

both_backends!(published_rosters_are_corrected_by_new_versions_and_withdrawn_with_reasons, |app: TestApp| async move {
    let clerk = app.login_as(Role::VillageClerk).await;
    let reviewer = app.login_as(Role::TownshipReviewer).await;
    let programme = app.programme().await;
    let v1 = app
        .import_roster(&clerk, &proposed_fields(programme, 2024), roster_csv(&[("张三", person_id(1), "600")]))
        .await;
    app.publish(&clerk, &reviewer, v1).await;

    // Approving twice, or a clerk trying to review, changes nothing.
    let again = app.post_form(&reviewer, &format!("/staff/rosters/{v1}/approve"), &[]).await;
    assert_eq!(again.status(), 409);
    assert_eq!(app.post_form(&clerk, &format!("/staff/rosters/{v1}/approve"), &[]).await.status(), 403);

    let correction = vec![("supersedes_id", v1.to_string()), ("correction_reason", "张三金额录入有误".into())];
    let file = roster_csv(&[("张三", person_id(1), "600"), ("李四", person_id(2), "600")]);
    let v2 = app.import_roster(&clerk, &correction, file).await;
    app.publish(&clerk, &reviewer, v2).await;
    let old = TestApp::client().get(app.url(&format!("/rosters/{v1}"))).send().await.unwrap().text().await.unwrap();
    assert!(old.contains("本版本已被更正") && old.contains(&format!("/rosters/{v2}")), "{old}");
    let new = TestApp::client().get(app.url(&format!("/rosters/{v2}"))).send().await.unwrap().text().await.unwrap();
    assert!(new.contains("第1版") && new.contains("张三金额录入有误"), "{new}");

    let empty_reason = app.post_form(&reviewer, &format!("/staff/rosters/{v2}/withdraw"), &[("reason", " ")]).await;
    assert_eq!(empty_reason.status(), 400);
    let w = app.post_form(&reviewer, &format!("/staff/rosters/{v2}/withdraw"), &[("reason", "项目资金未到位")]).await;
    assert_eq!(w.status(), 303);
    let page = TestApp::client().get(app.url(&format!("/rosters/{v2}"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("本花名册已撤回") && page.contains("项目资金未到位"));
});

both_backends!(the_same_person_cannot_be_on_two_rosters_of_one_batch, |app: TestApp| async move {
    let clerk = app.login_as(Role::VillageClerk).await;
    let programme = app.programme().await;
    app.import_roster(&clerk, &proposed_fields(programme, 2023), roster_csv(&[("张三", person_id(1), "600")])).await;
    let township_admin = app.login_as(Role::TownshipAdmin).await;
    let mut fields = proposed_fields(programme, 2023);
    fields[1] = ("org_code", "620922100".into());
    let html =
        app.upload(&township_admin, &fields, roster_csv(&[("张三", person_id(1), "600")])).await.text().await.unwrap();
    assert!(html.contains("此人已在南岔村同一项目同期花名册中"), "{html}");
});

both_backends!(objections_get_a_tracking_code_and_an_answer, |app: TestApp| async move {
    let clerk = app.login_as(Role::VillageClerk).await;
    let reviewer = app.login_as(Role::TownshipReviewer).await;
    let programme = app.programme().await;
    let id = app
        .import_roster(&clerk, &proposed_fields(programme, 2025), roster_csv(&[("张三", person_id(1), "600")]))
        .await;
    app.publish(&clerk, &reviewer, id).await;

    let villager = TestApp::client();
    let form_page =
        villager.get(app.url(&format!("/rosters/{id}/objection"))).send().await.unwrap().text().await.unwrap();
    let csrf = hidden(&form_page, "csrf").unwrap();
    let key = hidden(&form_page, "form_key").unwrap();
    let fields = [
        ("csrf", csrf.as_str()),
        ("form_key", key.as_str()),
        ("name", "赵六"),
        ("phone", "13900001111"),
        ("body", "张三已于去年迁出本村，不应享受"),
    ];
    let sent = villager.post(app.url(&format!("/rosters/{id}/objection"))).form(&fields).send().await.unwrap();
    assert_eq!(sent.status(), 303);
    let location = sent.headers()["location"].to_str().unwrap().to_owned();
    let twice = villager.post(app.url(&format!("/rosters/{id}/objection"))).form(&fields).send().await.unwrap();
    assert_eq!(twice.headers()["location"].to_str().unwrap(), location.trim_end_matches("?new=1"));
    let status = villager.get(app.url(&location)).send().await.unwrap().text().await.unwrap();
    assert!(status.contains("待处理"));

    let bad_phone = [
        ("csrf", csrf.as_str()),
        ("form_key", "x".repeat(20).as_str()),
        ("name", "赵六"),
        ("phone", "123"),
        ("body", "内容内容内容"),
    ]
    .map(|(k, v)| (k, v.to_owned()));
    let refused = villager.post(app.url(&format!("/rosters/{id}/objection"))).form(&bad_phone).send().await.unwrap();
    assert_eq!(refused.status(), 400);
    assert!(refused.text().await.unwrap().contains("手机号"));

    let list = reviewer.get(app.url("/staff/objections")).send().await.unwrap().text().await.unwrap();
    assert!(list.contains("13900001111"), "the reviewer sees the phone");
    let objection = app.state.store().objections_within("620922", 10, 0).await.unwrap().remove(0);
    let answered = app
        .post_form(
            &reviewer,
            &format!("/staff/objections/{}/answer", objection.id),
            &[("status", "closed"), ("reply", "经核实已停发")],
        )
        .await;
    assert_eq!(answered.status(), 303);
    let status = villager.get(app.url(&location)).send().await.unwrap().text().await.unwrap();
    assert!(status.contains("已答复") && status.contains("经核实已停发"));
    let audit = app.state.store().audit_entries("620922", 100, 0).await.unwrap();
    assert!(audit.iter().any(|a| a.action == "pii.view" && a.target == "objections"));
});

both_backends!(the_self_query_finds_payments_and_unpaid_years_without_an_oracle, |app: TestApp| async move {
    let clerk = app.login_as(Role::VillageClerk).await;
    let reviewer = app.login_as(Role::TownshipReviewer).await;
    let programme = app.programme().await;
    // 马玉兰 is paid in 2019, 2020 and 2023; 张三 every year. 2021–2022 are her unpaid years.
    for year in 2019..=2023 {
        let mut lines = vec![("张三", person_id(1), "600")];
        if ![2021, 2022].contains(&year) {
            lines.push(("马玉兰", person_id(7), "600"));
        }
        let mut fields = proposed_fields(programme, year);
        fields[3] = ("phase", "paid".into());
        let proposed = app.import_roster(&clerk, &proposed_fields(programme, year), roster_csv(&lines)).await;
        app.publish(&clerk, &reviewer, proposed).await;
        fields.push(("settles_id", proposed.to_string()));
        fields.push(("paid_on", xiaowei_server::web::dates::shanghai_date(app.state.now()).to_string()));
        let paid = app.import_roster(&clerk, &fields, roster_csv(&lines)).await;
        let page = clerk.get(app.url(&format!("/staff/rosters/{paid}"))).send().await.unwrap().text().await.unwrap();
        let reasons: Vec<String> = page
            .match_indices("name=\"reason_")
            .map(|(i, _)| page[i + 6..].split('"').next().unwrap().to_owned())
            .collect();
        let fields: Vec<(&str, &str)> = reasons.iter().map(|f| (f.as_str(), "按时发放")).collect();
        app.post_form(&clerk, &format!("/staff/rosters/{paid}/reasons"), &fields).await;
        app.publish(&clerk, &reviewer, paid).await;
    }
    let villager = TestApp::client();
    let query = |name: &'static str, id: String| {
        let villager = villager.clone();
        let url = app.url("/t/620922100/self-query");
        let app = &app;
        async move {
            let csrf = app.csrf(&villager, "/t/620922100/self-query").await;
            let form = [("csrf", csrf), ("name", name.to_owned()), ("id_number", id), ("household", "1".into())];
            let r = villager.post(url).form(&form).send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    let (status, page) = query("马玉兰", person_id(7)).await;
    assert_eq!(status, 200);
    assert!(page.contains("未见发放记录") && page.contains("2021–2022年"), "{page}");
    assert!(page.contains("反映问题") && page.contains("years=2021-2022"));
    assert!(page.contains("张三"), "the household (same account) is shown");
    assert!(!page.contains(&person_id(7)), "the full ID is not echoed");

    let (_, wrong_name) = query("马玉", person_id(7)).await;
    let (_, unknown) = query("马玉", person_id(9)).await;
    assert!(wrong_name.contains("未查询到发放记录"));
    // The page shows the masked ID and reads it aloud by its tail; nothing else may differ.
    let without_id = |page: &str, id: u32| {
        let masked = xiaowei_core::ResidentId::parse(&person_id(id)).unwrap().masked();
        page.replace(&masked, "ID").replace(&xiaowei_core::spoken::masked_id(&masked), "ID")
    };
    assert_eq!(without_id(&wrong_name, 7), without_id(&unknown, 9), "a wrong name and an unknown ID answer the same");
    let (status, bad) = query("马玉兰", "62092219800101007".into()).await;
    assert_eq!(status, 400);
    assert!(bad.contains("身份证号"));

    // Rate limit per ID: the 11th query in ten minutes is refused.
    let mut last = 0;
    for _ in 0..10 {
        last = query("马玉兰", person_id(7)).await.0;
    }
    assert_eq!(last, 429);
    app.state.journal().flush(app.state.store()).await.unwrap();
    let audit = app.state.store().audit_entries("620922", 500, 0).await.unwrap();
    let queries: Vec<_> = audit.iter().filter(|a| a.action == "self_query").collect();
    assert!(queries.len() >= 3);
    assert!(queries.iter().all(|a| !a.detail.contains(&person_id(7)) && !a.target.contains(&person_id(7))));
});

both_backends!(scans_are_checked_by_content_and_public_only_once_published, |app: TestApp| async move {
    let clerk = app.login_as(Role::VillageClerk).await;
    let reviewer = app.login_as(Role::TownshipReviewer).await;
    let programme = app.programme().await;
    let id = app
        .import_roster(&clerk, &proposed_fields(programme, 2025), roster_csv(&[("张三", person_id(1), "600")]))
        .await;
    let send = |bytes: Vec<u8>, name: &'static str| {
        let clerk = clerk.clone();
        let app = &app;
        async move {
            let csrf = app.csrf(&clerk, "/staff/login").await;
            let form =
                reqwest::multipart::Form::new().part("file", reqwest::multipart::Part::bytes(bytes).file_name(name));
            clerk
                .post(app.url(&format!("/staff/rosters/{id}/attachments?csrf={csrf}")))
                .multipart(form)
                .send()
                .await
                .unwrap()
        }
    };
    let fake = send(b"<html>not a pdf</html>".to_vec(), "扫描件.pdf").await;
    assert_eq!(fake.status(), 400);
    assert!(fake.text().await.unwrap().contains("PDF"));
    let pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n".to_vec();
    assert_eq!(send(pdf.clone(), "签字盖章.pdf").await.status(), 303);
    let attachment = app.state.store().attachments_of_roster(id).await.unwrap().remove(0);
    assert_eq!(attachment.original_name, "签字盖章.pdf");
    let public_url = app.url(&format!("/attachments/{}", attachment.id));
    assert_eq!(TestApp::client().get(&public_url).send().await.unwrap().status(), 404, "a draft's scan is not public");
    app.publish(&clerk, &reviewer, id).await;
    let got = TestApp::client().get(&public_url).send().await.unwrap();
    assert_eq!(got.headers()["content-type"], "application/pdf");
    assert_eq!(got.bytes().await.unwrap().to_vec(), pdf);

    // The full export is for staff with the right, and is audited.
    let full = clerk.get(app.url(&format!("/staff/rosters/{id}/export"))).send().await.unwrap();
    let grid = xiaowei_sheets::read_grid(&full.bytes().await.unwrap()).unwrap();
    assert!(grid.iter().flatten().any(|c| *c == person_id(1)));
    let officer = app.login_as(Role::DepartmentOfficer).await;
    assert_eq!(officer.get(app.url(&format!("/staff/rosters/{id}/export"))).send().await.unwrap().status(), 403);
    let audit = app.state.store().audit_entries("620922", 100, 0).await.unwrap();
    assert!(audit.iter().any(|a| a.action == "pii.export"));
    let template =
        TestApp::client().get(app.url("/rosters/template.xlsx")).send().await.unwrap().bytes().await.unwrap();
    assert!(xiaowei_core::roster::find_header(&xiaowei_sheets::read_grid(&template).unwrap()).is_ok());
});

both_backends!(
    programmes_are_created_with_named_field_errors_and_carry_their_policy_documents,
    |app: TestApp| async move {
        let admin = app.login_as(Role::CountyAdmin).await;
        let bad = app
            .post_form(
                &admin,
                "/staff/programmes",
                &[("name", "高龄补贴"), ("basis", "甘政发〔2020〕1号"), ("unit", "person"), ("standard", "一百")],
            )
            .await;
        assert_eq!(bad.status(), 400);
        assert!(bad.text().await.unwrap().contains("补贴标准"));
        let fields = [
            ("name", "高龄补贴"),
            ("basis", "甘政发〔2020〕1号"),
            ("unit", "person"),
            ("standard", "1,200"),
            ("recurring", "1"),
            ("from_year", "2020"),
        ];
        assert_eq!(app.post_form(&admin, "/staff/programmes", &fields).await.status(), 303);
        let again = app.post_form(&admin, "/staff/programmes", &fields).await;
        assert_eq!(again.status(), 409, "a second programme of the same name is refused");
        let created = app.state.store().find_programme_by_name("高龄补贴").await.unwrap().unwrap();
        assert_eq!(created.standard_fen, Some(120_000));

        let officer = app.login_as(Role::DepartmentOfficer).await;
        let csrf = app.csrf(&officer, "/staff/login").await;
        let pdf = b"%PDF-1.4\n%%EOF\n".to_vec();
        let form = reqwest::multipart::Form::new()
            .part("file", reqwest::multipart::Part::bytes(pdf).file_name("国发〔2006〕17号.pdf"));
        let programme = app.programme().await;
        let sent = officer
            .post(app.url(&format!("/staff/programmes/{programme}/basis?csrf={csrf}")))
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(sent.status(), 303);
        let list = officer.get(app.url("/staff/programmes")).send().await.unwrap().text().await.unwrap();
        assert!(list.contains("国发〔2006〕17号.pdf"));
        let other =
            officer.post(app.url(&format!("/staff/programmes/{}/basis?csrf={csrf}", created.id))).send().await.unwrap();
        assert_eq!(other.status(), 403, "an officer documents only their department's programmes");
    }
);

both_backends!(published_rosters_are_searchable_and_leave_the_index_when_withdrawn, |app: TestApp| async move {
    let clerk = app.login_as(Role::VillageClerk).await;
    let reviewer = app.login_as(Role::TownshipReviewer).await;
    let programme = app.programme().await;
    let id = app
        .import_roster(&clerk, &proposed_fields(programme, 2025), roster_csv(&[("张三", person_id(1), "600")]))
        .await;
    let search = |q: &'static str| {
        let url = app.url(&format!("/t/620922100/search?q={q}"));
        async move { TestApp::client().get(url).send().await.unwrap().text().await.unwrap() }
    };
    assert!(!search("移民").await.contains(&format!("/rosters/{id}")), "a draft is not searchable");
    app.publish(&clerk, &reviewer, id).await;
    let found = search("移民").await;
    assert!(found.contains(&format!("/rosters/{id}")) && found.contains("<mark>移民</mark>"), "{found}");
    assert!(search("南岔").await.contains(&format!("/rosters/{id}")), "place names match");
    assert!(!search("张三").await.contains(&format!("/rosters/{id}")), "recipients' names are not searchable");
    assert!(search("低保").await.contains("没有找到"));
    let elsewhere =
        TestApp::client().get(app.url("/t/620922101/search?q=移民")).send().await.unwrap().text().await.unwrap();
    assert!(!elsewhere.contains(&format!("/rosters/{id}")), "another township's search does not list it");
    app.post_form(&reviewer, &format!("/staff/rosters/{id}/withdraw"), &[("reason", "资金未到位")]).await;
    assert!(!search("移民").await.contains(&format!("/rosters/{id}")));
});

both_backends!(a_lookup_quota_counts_each_of_many_concurrent_lookups_once_across_flushes, |app: TestApp| async move {
    let state = app.state.clone();
    // Uses at the server's own time: the housekeeping `serve` starts deletes rate events older
    // than a day, and may run while this test does.
    let now = state.now();
    let since = now - 600;
    let quota = |limit| [Quota { kind: "self_query_client", key: "10.0.0.9", limit }];
    let flushing = {
        let state = state.clone();
        tokio::spawn(async move {
            for _ in 0..40 {
                state.journal().flush(state.store()).await.unwrap();
                tokio::task::yield_now().await;
            }
        })
    };
    let lookups: Vec<_> = (0..40)
        .map(|_| {
            let state = state.clone();
            tokio::spawn(async move { state.lookups(&quota(25), since, now).await.unwrap() })
        })
        .collect();
    let mut answers = Vec::new();
    for lookup in lookups {
        answers.push(lookup.await.unwrap());
    }
    flushing.await.unwrap();
    assert_eq!(answers.iter().filter(|a| a.is_none()).count(), 25, "exactly the limit let through: {answers:?}");
    assert!(answers.iter().all(|a| matches!(a, None | Some(0))));
    state.journal().flush(state.store()).await.unwrap();
    let stored = |kind: &'static str, key: &'static str| {
        let state = state.clone();
        async move { state.store().count_rate_events(&[(kind, key)], 0).await.unwrap()[0] }
    };
    assert_eq!(stored("self_query_client", "10.0.0.9").await, 40, "every use written, refused ones too");
    assert_eq!(state.lookups(&quota(41), since, now).await.unwrap(), None, "40 stored uses are under 41");
    assert_eq!(state.lookups(&quota(41), since, now).await.unwrap(), Some(0), "and with this one's, 41 are not");
    // Quotas are taken in order and stop at the first used up: the ones after it are not charged.
    let both = [
        Quota { kind: "self_query_client", key: "10.0.0.10", limit: 0 },
        Quota { kind: "self_query_id", key: "someone", limit: 10 },
    ];
    assert_eq!(state.lookups(&both, since, now).await.unwrap(), Some(0));
    let second = [
        Quota { kind: "self_query_client", key: "10.0.0.11", limit: 10 },
        Quota { kind: "self_query_id", key: "someone", limit: 1 },
    ];
    assert_eq!(state.lookups(&second, since, now).await.unwrap(), None, "the ID was not charged by the refused lookup");
    assert_eq!(state.lookups(&second, since, now).await.unwrap(), Some(1), "its one use is now taken");
    state.journal().flush(state.store()).await.unwrap();
    assert_eq!(stored("self_query_id", "someone").await, 2);
    assert_eq!(stored("self_query_client", "10.0.0.10").await, 1);
});
