//! 四张清单, 办事直通车, search over services, followers and coverage, the per-department table,
//! the alert and screening exports, and 办件公开, end to end over HTTP on both engines.

use xiaowei_core::Role;
use xiaowei_core::tracked::Satisfaction;
use xiaowei_store::{NewEvent, NewMessage, NewWechatAccount};

use crate::helpers::{TestApp, both_backends};

const NANCHA: &str = "620922100200";

async fn text(client: &reqwest::Client, app: &TestApp, path: &str) -> (u16, String) {
    let response = client.get(app.url(path)).send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

async fn xlsx(client: &reqwest::Client, app: &TestApp, path: &str) -> Vec<Vec<String>> {
    let response = client.get(app.url(path)).send().await.unwrap();
    assert_eq!(response.status(), 200, "{path}");
    assert!(response.headers()["content-type"].to_str().unwrap().contains("spreadsheetml"));
    xiaowei_sheets::read_grid(&response.bytes().await.unwrap()).unwrap()
}

fn location(response: &reqwest::Response) -> String {
    response.headers().get("location").map(|l| l.to_str().unwrap().to_owned()).unwrap_or_default()
}

both_backends!(four_lists_are_edited_by_the_county_shown_searched_and_ledgered, |app: TestApp| async move {
    let (item, _) = crate::powers::seed_power(&app, "620922", NANCHA).await;
    let admin = app.login_as(Role::CountyAdmin).await;
    let path = format!("/staff/powers/{item}/lists");
    let duties = "1|村两委|提出项目和预算，对预算真实性负责\n第2步|村民代表会议|依法表决，会议记录完整签字";
    let accountability = "虚假招标、围标串标|责令停止实施，移送纪检监察机关|《中华人民共和国招标投标法》";
    // Bad rows name the list and the line; nothing is saved.
    for (d, a, message) in [
        ("9|村两委|提出", "", "责任清单第1行：步骤应为1至3之间的数字"),
        ("1|村两委", "", "责任清单第1行：应为"),
        ("", "a|b", "追责清单第1行：应为"),
    ] {
        let response = app.post_form(&admin, &path, &[("version", "1"), ("duties", d), ("accountability", a)]).await;
        assert_eq!(response.status(), 400);
        assert!(response.text().await.unwrap().contains(message), "{message}");
    }
    let fields = [("version", "1"), ("duties", duties), ("accountability", accountability)];
    let response = app.post_form(&admin, &path, &fields).await;
    assert_eq!(response.status(), 303);
    assert!(location(&response).contains("done=lists"));
    // The same form again (a stale version) changes nothing and says why.
    let response = app.post_form(&admin, &path, &fields).await;
    assert!(location(&response).contains("done=stale"));
    let stored = app.state.store().find_power_item(item).await.unwrap().unwrap();
    assert_eq!(stored.version, 2);
    assert_eq!(app.state.store().power_item_duties(item).await.unwrap().len(), 2);
    // The county's item is the county's to edit.
    let township = app.login_as(Role::TownshipAdmin).await;
    assert_eq!(app.post_form(&township, &path, &fields).await.status(), 403);
    // Shown on the public page, in step order.
    let (status, html) = text(&TestApp::client(), &app, &format!("/powers/{item}")).await;
    assert_eq!(status, 200);
    for shown in ["责任清单", "提出项目和预算，对预算真实性负责", "第2步", "追责清单", "《中华人民共和国招标投标法》"]
    {
        assert!(html.contains(shown), "{shown}");
    }
    assert!(html.find("提出项目和预算").unwrap() < html.find("依法表决").unwrap());
    // Searchable by a breach.
    let (_, found) = text(&TestApp::client(), &app, "/t/620922100/search?q=围标串标").await;
    assert!(found.contains(&format!("/powers/{item}")), "search misses the 追责清单");
    // A new version in the ledger; both leaves still check out.
    let store = app.state.store();
    let leaf = store.latest_leaf_of("power_item", item).await.unwrap().unwrap();
    assert_eq!((leaf.version, leaf.event.as_str()), (2, "update"));
    assert!(String::from_utf8_lossy(&leaf.content).contains("accountability_sha256="));
    assert_eq!(store.rederive_leaf(&leaf).await.unwrap(), Some(leaf.content.clone()));
    assert!(store.ledger_gaps().await.unwrap().iter().all(|(kind, _, _)| kind != "power_item"));
});

both_backends!(service_links_are_kept_by_the_county_and_shown_where_they_apply, |app: TestApp| async move {
    let admin = app.login_as(Role::CountyAdmin).await;
    assert_eq!(text(&admin, &app, "/staff/service-links").await.0, 200);
    let tile = |org: &'static str, name: &'static str, url: &'static str| {
        vec![
            ("org_code", org),
            ("name", name),
            ("icon", "health"),
            ("url", url),
            ("description", "医保查询、异地就医备案"),
            ("position", "1"),
        ]
    };
    for (url, why) in [("javascript:alert(1)", "网址"), ("ftp://a.cn/", "网址"), ("fuwu.nhsa.gov.cn", "网址")] {
        let response = app.post_form(&admin, "/staff/service-links", &tile("620922", "国家医保服务平台", url)).await;
        assert_eq!(response.status(), 400, "{url}");
        assert!(response.text().await.unwrap().contains(why));
    }
    let mut icon = tile("620922", "坏图标", "https://a.cn/");
    icon[2] = ("icon", "rocket");
    assert_eq!(app.post_form(&admin, "/staff/service-links", &icon).await.status(), 400);
    let county = tile("620922", "国家医保服务平台", "https://fuwu.nhsa.gov.cn/");
    assert_eq!(app.post_form(&admin, "/staff/service-links", &county).await.status(), 303);
    let again = app.post_form(&admin, "/staff/service-links", &county).await;
    assert!(again.text().await.unwrap().contains("该范围内已有同名的直通车链接"));
    let local = tile("620922101", "柳园镇缴费", "http://example.cn/pay");
    assert_eq!(app.post_form(&admin, "/staff/service-links", &local).await.status(), 303);
    // A village is no place for a tile, nor another county.
    assert_eq!(app.post_form(&admin, "/staff/service-links", &tile(NANCHA, "村", "https://a.cn/")).await.status(), 400);
    assert_eq!(
        app.post_form(&admin, "/staff/service-links", &tile("620923", "外县", "https://a.cn/")).await.status(),
        403
    );
    let links = app.state.store().service_links_within("620922").await.unwrap();
    assert_eq!(links.len(), 2);
    let (_, yuanquan) = text(&TestApp::client(), &app, "/t/620922100/services").await;
    assert!(yuanquan.contains("国家医保服务平台") && yuanquan.contains("https://fuwu.nhsa.gov.cn/"));
    assert!(!yuanquan.contains("柳园镇缴费"), "a township's tile shows elsewhere");
    assert!(yuanquan.contains(&format!("/service-links/{}/qr.svg", links[0].id)));
    let (_, liuyuan) = text(&TestApp::client(), &app, "/t/620922101/services").await;
    assert!(liuyuan.contains("国家医保服务平台") && liuyuan.contains("柳园镇缴费"));
    let qr = TestApp::client().get(app.url(&format!("/service-links/{}/qr.svg", links[0].id))).send().await.unwrap();
    assert_eq!(qr.headers()["content-type"], "image/svg+xml");
    assert!(qr.text().await.unwrap().contains("<svg"));
    assert_eq!(text(&TestApp::client(), &app, "/service-links/999999/qr.svg").await.0, 404);
    // Removal asks for confirmation.
    let delete = format!("/staff/service-links/{}/delete", links[1].id);
    assert_eq!(app.post_form(&admin, &delete, &[]).await.status(), 400);
    assert_eq!(app.post_form(&admin, &delete, &[("confirm", "1")]).await.status(), 303);
    assert_eq!(app.post_form(&admin, &delete, &[("confirm", "1")]).await.status(), 404);
    assert_eq!(app.state.store().service_links_within("620922").await.unwrap().len(), 1);
    // Township accounts do not keep tiles.
    let township = app.login_as(Role::TownshipAdmin).await;
    assert_eq!(text(&township, &app, "/staff/service-links").await.0, 403);
});

both_backends!(search_finds_service_items_until_they_are_taken_off, |app: TestApp| async move {
    let ([own, _], _) = crate::services::seed_cases(&app).await;
    xiaowei_server::app::search::reindex_all(&app.state).await.unwrap();
    for q in ["高龄补贴申领", "户籍在本县", "县民政局"] {
        let (_, html) = text(&TestApp::client(), &app, &format!("/t/620922100/search?q={q}")).await;
        assert!(html.contains(&format!("/services/{own}")), "{q} finds nothing");
    }
    let admin = app.login_as(Role::CountyAdmin).await;
    let response = app.post_form(&admin, &format!("/staff/services/{own}/active"), &[("active", "0")]).await;
    assert_eq!(response.status(), 303);
    let (_, html) = text(&TestApp::client(), &app, "/t/620922100/search?q=高龄补贴申领").await;
    assert!(!html.contains(&format!("/services/{own}")), "an item taken off is still found");
});

both_backends!(bound_followers_cover_households_and_posters_print, |app: TestApp| async move {
    let store = app.state.store();
    let cipher = app.state.cipher();
    let account = NewWechatAccount {
        township_code: "620922100".into(),
        appid: "wx0123456789abcdef".into(),
        secret_enc: cipher.encrypt("secret"),
        token_enc: cipher.encrypt("token"),
        aes_key_enc: None,
        compatible: false,
    };
    store.save_wechat_account(&account, 1).await.unwrap();
    let household = store.households_of("620922100200001", 10, 0).await.unwrap()[0].id;
    let rows = vec![
        ("620922100".to_owned(), "oFollowerBound0000000000000".to_owned(), Some(household)),
        ("620922100".to_owned(), "oFollowerAway00000000000000".to_owned(), None),
    ];
    assert_eq!(store.import_followers(&rows, 2).await.unwrap(), 2);
    assert_eq!(store.import_followers(&rows, 3).await.unwrap(), 0, "loading twice adds twice");
    let supervisor = app.login_as(Role::Supervisor).await;
    let grid = xlsx(&supervisor, &app, "/staff/monitor/export").await;
    let header = grid.iter().find(|r| r.iter().any(|c| c == "户覆盖率")).unwrap();
    let col = |name: &str| header.iter().position(|c| c == name).unwrap();
    let yuanquan = grid.iter().find(|r| r.first().is_some_and(|c| c == "渊泉镇")).unwrap();
    assert_eq!(yuanquan[col("关注用户")], "2");
    assert_eq!(yuanquan[col("已覆盖户")], "1");
    assert_eq!(yuanquan[col("户覆盖率")], "100.0%");
    // Posters: the township's with its villages, each village's, never a village of another township.
    let (status, poster) = text(&TestApp::client(), &app, "/t/620922100/poster").await;
    assert_eq!(status, 200);
    assert!(poster.contains("<svg") && poster.contains("渊泉镇") && poster.contains("绑定我家"));
    assert!(poster.contains("/t/620922100/v/620922100200/poster"));
    let (status, village) = text(&TestApp::client(), &app, "/t/620922100/v/620922100200/poster").await;
    assert_eq!(status, 200);
    assert!(village.contains("南岔村") && village.contains("<svg"));
    assert_eq!(text(&TestApp::client(), &app, "/t/620922101/v/620922100200/poster").await.0, 404);
    let (_, other) = text(&TestApp::client(), &app, "/t/620922101/poster").await;
    assert!(!other.contains("绑定我家"), "a township without an account offers binding");
});

both_backends!(departments_alerts_and_hits_export_like_every_table, |app: TestApp| async move {
    let (_, [case, _]) = crate::services::seed_cases(&app).await;
    let store = app.state.store();
    let id = store.find_case_by_tracking(&case).await.unwrap().unwrap().id;
    crate::helpers::close_case(store, id, Satisfaction::Satisfied, app.state.now()).await;
    let supervisor = app.login_as(Role::Supervisor).await;
    let (_, html) = text(&supervisor, &app, "/staff/monitor").await;
    assert!(html.contains("id=\"departments\"") && html.contains("县民政局") && html.contains("县水务局"));
    let grid = xlsx(&supervisor, &app, "/staff/monitor/departments/export").await;
    let civil = grid.iter().find(|r| r.first().is_some_and(|c| c == "县民政局")).unwrap();
    assert_eq!(civil[1], "1");
    assert_eq!(civil[5], "100.0%（样本1）");
    let water = grid.iter().find(|r| r.first().is_some_and(|c| c == "县水务局")).unwrap();
    assert_eq!(water[1], "0", "a foreign county's case counts");
    // Alerts: the filtered list, as the page shows it.
    for (village, summary) in [(NANCHA, "南岔村超过一个季度未公开财务"), ("620923100200", "外村超过一个季度未公开财务")]
    {
        let alert = xiaowei_store::NewAlert {
            kind: xiaowei_core::alert::AlertKind::DisclosureOverdue,
            org_code: village.into(),
            subject_kind: xiaowei_core::alert::SubjectKind::Village,
            subject_id: format!("{village}:finance"),
            dedup_key: format!("disclosure_overdue:village:{village}:finance:never"),
            summary: summary.into(),
            link: "/staff/disclosures".into(),
            restricted: false,
        };
        store.raise_alert(&alert, 1).await.unwrap();
    }
    let grid = xlsx(&supervisor, &app, "/staff/alerts/export?kind=disclosure_overdue").await;
    assert!(grid.iter().any(|r| r.iter().any(|c| c == "南岔村超过一个季度未公开财务")));
    assert!(!grid.iter().any(|r| r.iter().any(|c| c.contains("外村"))), "the export leaves the scope");
    let grid = xlsx(&supervisor, &app, "/staff/alerts/export?status=resolved").await;
    assert!(!grid.iter().any(|r| r.iter().any(|c| c.contains("南岔村超过"))), "the filter is ignored");
    let township = app.login_as(Role::TownshipReviewer).await;
    assert!(xlsx(&township, &app, "/staff/screening/export").await.len() >= 3);
    let admin = app.login_as(Role::CountyAdmin).await;
    assert_eq!(text(&admin, &app, "/staff/screening/export").await.0, 403);
});

async fn message(app: &TestApp, n: usize, kind: &str, body: &str, due_in: i64) {
    let now = app.state.now();
    let m = NewMessage {
        tracking: format!("LY20251010{n:06}"),
        submit_key: format!("board-{n}"),
        kind: kind.parse().unwrap(),
        org_code: NANCHA.into(),
        author_name: "王秀兰".into(),
        phone_enc: Some(app.state.cipher().encrypt("13811112222")),
        phone_idx: Some(app.state.cipher().blind_index("phone", "13811112222")),
        secret_idx: None,
        body: body.into(),
        allow_public: false,
        submitted_at: now - 10,
        reply_due: now + due_in,
        reply_remind_at: now + due_in - 1,
        deadline_basis: "3个工作日".into(),
    };
    let event = NewEvent {
        kind: xiaowei_core::tracked::TimelineKind::Submitted,
        actor: "留言人".into(),
        staff_user_id: None,
        method: None,
        note: "提交".into(),
        public: true,
    };
    app.state.store().create_message(&m, &[], &event, &[]).await.unwrap();
}

fn rows(html: &str) -> usize {
    html.matches("<li class=\"card\">").count()
}

both_backends!(the_public_board_is_anonymous_filtered_and_paged, |app: TestApp| async move {
    crate::services::seed_cases(&app).await;
    message(&app, 1, "complaint", "村干部王某某优亲厚友", -3600).await;
    message(&app, 2, "report", "举报村会计挪用资金", 86_400).await;
    let client = TestApp::client();
    let (status, html) = text(&client, &app, "/board").await;
    assert_eq!(status, 200);
    assert!(html.contains("高龄补贴申领") && html.contains("南岔村") && html.contains("投诉"));
    assert_eq!(rows(&html), 2, "the case and the complaint; never the report");
    for secret in ["孙大爷", "13700001111", "王秀兰", "13811112222", "优亲厚友", "挪用资金", "BJ2025", "LY2025", "外村"]
    {
        assert!(!html.contains(secret), "the board shows {secret}");
    }
    assert!(html.contains("已超期"), "a complaint past its reply deadline is not shown late");
    assert_eq!(rows(&text(&client, &app, "/board?kind=case").await.1), 1);
    assert_eq!(rows(&text(&client, &app, "/board?kind=report").await.1), 2, "an unknown kind narrows");
    assert_eq!(rows(&text(&client, &app, "/board?timely=late").await.1), 1);
    assert_eq!(rows(&text(&client, &app, "/board?state=done").await.1), 0);
    let (_, other) = text(&client, &app, "/board?township=620922101").await;
    assert_eq!(rows(&other), 0);
    assert!(other.contains("没有符合条件"));
    assert_eq!(rows(&text(&client, &app, &format!("/board?township=620922100&village={NANCHA}")).await.1), 2);
    assert_eq!(text(&client, &app, "/board?page=abc").await.0, 400);
    // Twenty a page.
    for n in 10..35 {
        message(&app, n, "question", "问政策", 86_400).await;
    }
    // Written straight to the store, as by another instance: the server reads the content
    // version on its next tick; read it now rather than wait for it.
    xiaowei_server::web::shared_pages::read_version(&app.state).await;
    let (_, first) = text(&client, &app, "/board").await;
    assert_eq!(rows(&first), 20);
    assert!(first.contains("下一页"));
    assert!(first.contains("共27件"));
    assert_eq!(rows(&text(&client, &app, "/board?page=2").await.1), 7);
    // Satisfaction with its sample, by department and township.
    assert!(first.contains("id=\"department-satisfaction\"") && first.contains("县民政局"));
    assert!(first.contains("id=\"township-satisfaction\"") && first.contains("渊泉镇") && first.contains("暂无评价"));
    // Linked from the public pages.
    assert!(text(&client, &app, "/").await.1.contains("href=\"/board\""));
    assert!(text(&client, &app, "/t/620922100").await.1.contains("/board?township=620922100"));
    assert!(text(&client, &app, "/t/620922100/services").await.1.contains("/board?township=620922100"));
});

both_backends!(place_names_follow_the_org_tree_as_it_changes, |app: TestApp| async move {
    let client = TestApp::client();
    let village = "/t/620922100/v/620922100200";
    let (status, html) = text(&client, &app, village).await;
    assert_eq!(status, 200);
    assert!(html.contains("南岔村") && html.contains("渊泉镇"));
    let rename = |name: &str| xiaowei_store::NewOrg {
        code: "620922100".into(),
        name: name.into(),
        level: xiaowei_core::OrgLevel::Township,
        parent_code: Some("620922".into()),
    };
    // Written straight to the store, as by another instance; a village added there is found
    // at once (a code the kept tree lacks is looked up), a rename once the version is read.
    let added = xiaowei_store::NewOrg {
        code: "620922100299".into(),
        name: "新建村委会".into(),
        level: xiaowei_core::OrgLevel::Village,
        parent_code: Some("620922100".into()),
    };
    app.state.store().import_orgs(&[rename("渊泉新镇"), added], 0).await.unwrap();
    let (status, added_page) = text(&client, &app, "/t/620922100/v/620922100299").await;
    assert_eq!(status, 200, "a village added elsewhere is found before the version is read");
    assert!(added_page.contains("新建村"));
    xiaowei_server::web::shared_pages::read_version(&app.state).await;
    let html = text(&client, &app, village).await.1;
    assert!(html.contains("渊泉新镇"), "the renamed township shows on the next page");
    assert!(text(&client, &app, "/t/620922100/self-query").await.1.contains("渊泉新镇"), "and on forms");
    assert!(!text(&client, &app, "/t/620922100/self-query").await.1.contains("渊泉镇<"));
    app.state.store().import_orgs(&[rename("渊泉镇")], 0).await.unwrap();
    xiaowei_server::web::shared_pages::read_version(&app.state).await;
    assert!(text(&client, &app, village).await.1.contains("渊泉镇"));
});
