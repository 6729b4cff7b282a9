//! 公示公开 over HTTP: the review workflow, corrections as versions with a visible line diff,
//! finance imports (errors by row and column, totals), the 未按时公开 mark, drafts kept private,
//! and hostile Markdown rendered inert.

use xiaowei_core::Role;

use crate::helpers::{TestApp, both_backends};

const NANCHA: &str = "620922100200";

/// Creates a draft as `client` and returns its id.
pub async fn create(app: &TestApp, client: &reqwest::Client, category: &str, title: &str, body: &str) -> i64 {
    let r = app
        .post_form(
            client,
            "/staff/disclosures",
            &[
                ("org_code", NANCHA),
                ("category", category),
                ("title", title),
                ("body", body),
                ("period_kind", "quarter"),
                ("year", "2025"),
                ("number", "3"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    id_from(&r)
}

fn id_from(r: &reqwest::Response) -> i64 {
    let location = r.headers()["location"].to_str().unwrap();
    location.trim_start_matches("/staff/disclosures/").split('?').next().unwrap().parse().unwrap()
}

pub async fn publish(app: &TestApp, clerk: &reqwest::Client, reviewer: &reqwest::Client, id: i64) {
    let r = app.post_form(clerk, &format!("/staff/disclosures/{id}/submit"), &[]).await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let r = app.post_form(reviewer, &format!("/staff/disclosures/{id}/approve"), &[]).await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
}

/// Posts a file to a multipart staff form (CSRF in the action URL).
pub async fn upload(
    app: &TestApp,
    client: &reqwest::Client,
    path: &str,
    name: &str,
    bytes: Vec<u8>,
) -> reqwest::Response {
    let csrf = app.csrf(client, "/staff/login").await;
    let form =
        reqwest::multipart::Form::new().part("file", reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned()));
    client.post(app.url(&format!("{path}?csrf={csrf}"))).multipart(form).send().await.unwrap()
}

/// The inside of every real tag of a page (escaped text never starts a tag).
fn live_tags(html: &str) -> Vec<&str> {
    html.split('<').skip(1).filter_map(|rest| rest.split_once('>').map(|(tag, _)| tag)).collect()
}

async fn page(app: &TestApp, path: &str) -> (u16, String) {
    let r = TestApp::client().get(app.url(path)).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

both_backends!(a_disclosure_is_reviewed_corrected_with_a_diff_and_withdrawn, |app: TestApp| async move {
    let clerk = app.login_as(Role::VillageClerk).await;
    let reviewer = app.login_as(Role::TownshipReviewer).await;
    let body = "## 村民代表会议\n\n会议议定事项：\n- 修缮村委会屋顶\n- 购置垃圾清运车一辆\n";
    let id = create(&app, &clerk, "village_affairs", "第三季度村务公开", body).await;
    assert_eq!(page(&app, &format!("/disclosures/{id}")).await.0, 404, "a draft is not public");

    let r = app.post_form(&clerk, &format!("/staff/disclosures/{id}/submit"), &[]).await;
    assert_eq!(r.status(), 303);
    let r = app.post_form(&reviewer, &format!("/staff/disclosures/{id}/return"), &[("reason", "")]).await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("原因"));
    let r = app.post_form(&reviewer, &format!("/staff/disclosures/{id}/return"), &[("reason", "请写明会议日期")]).await;
    assert_eq!(r.status(), 303);
    let edited = format!("{body}\n会议日期：2025年9月5日\n");
    let fields =
        [("title", "第三季度村务公开"), ("body", edited.as_str()), ("period_kind", "quarter"), ("year", "2025")];
    let r = app.post_form(&clerk, &format!("/staff/disclosures/{id}/edit"), &fields).await;
    assert_eq!(r.status(), 400, "the quarter is missing");
    assert!(r.text().await.unwrap().contains("季度"));
    let mut fields = fields.to_vec();
    fields.push(("number", "3"));
    let r = app.post_form(&clerk, &format!("/staff/disclosures/{id}/edit"), &fields).await;
    assert_eq!(r.status(), 303);
    publish(&app, &clerk, &reviewer, id).await;
    let (status, html) = page(&app, &format!("/disclosures/{id}")).await;
    assert_eq!(status, 200);
    assert!(html.contains("<h2>村民代表会议</h2>") && html.contains("2025年第三季度"), "{html}");

    // A published disclosure cannot be edited, only corrected.
    let r = app.post_form(&clerk, &format!("/staff/disclosures/{id}/edit"), &fields).await;
    assert_eq!(r.status(), 409);
    let form = clerk.get(app.url(&format!("/staff/disclosures/new?corrects={id}"))).send().await.unwrap();
    assert!(form.text().await.unwrap().contains("更正原因"));
    let corrected = edited.replace("购置垃圾清运车一辆", "购置垃圾清运车两辆") + "预算：8万元\n";
    let correction = [
        ("supersedes_id", id.to_string()),
        ("correction_reason", "清运车数量写错".to_owned()),
        ("title", "第三季度村务公开".to_owned()),
        ("body", corrected),
        ("period_kind", "quarter".to_owned()),
        ("year", "2025".to_owned()),
        ("number", "3".to_owned()),
    ];
    let fields: Vec<(&str, &str)> = correction.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = app.post_form(&clerk, "/staff/disclosures", &fields[1..]).await;
    assert_eq!(r.status(), 400, "without supersedes_id it is a new disclosure and needs an org");
    let missing_reason: Vec<(&str, &str)> = fields.iter().filter(|(k, _)| *k != "correction_reason").copied().collect();
    assert_eq!(app.post_form(&clerk, "/staff/disclosures", &missing_reason).await.status(), 400);
    let r = app.post_form(&clerk, "/staff/disclosures", &fields).await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let v2 = id_from(&r);
    let (_, old_page) = page(&app, &format!("/disclosures/{id}")).await;
    assert!(!old_page.contains("本版本已被更正"), "not superseded before approval");
    publish(&app, &clerk, &reviewer, v2).await;

    let (_, html) = page(&app, &format!("/disclosures/{v2}")).await;
    assert!(html.contains("与第1版相比的修改") && html.contains("清运车数量写错"), "{html}");
    assert!(html.contains("－ 删除</span><span class=\"line\">- 购置垃圾清运车一辆"), "{html}");
    assert!(html.contains("＋ 新增</span><span class=\"line\">- 购置垃圾清运车两辆"), "{html}");
    assert!(html.contains("＋ 新增</span><span class=\"line\">预算：8万元"), "{html}");
    assert!(html.contains(&format!("href=\"/disclosures/{id}\">第1版")), "{html}");
    let (_, html) = page(&app, &format!("/disclosures/{id}")).await;
    assert!(html.contains("本版本已被更正") && html.contains(&format!("/disclosures/{v2}")), "{html}");

    let r =
        app.post_form(&reviewer, &format!("/staff/disclosures/{v2}/withdraw"), &[("reason", "会议决议被撤销")]).await;
    assert_eq!(r.status(), 303);
    let r = app.post_form(&reviewer, &format!("/staff/disclosures/{v2}/withdraw"), &[("reason", "再次")]).await;
    assert_eq!(r.status(), 409, "a withdrawn disclosure cannot be withdrawn again");
    let (status, html) = page(&app, &format!("/disclosures/{v2}")).await;
    assert_eq!(status, 200);
    assert!(html.contains("已撤回") && html.contains("会议决议被撤销"), "{html}");
    let (_, list) = page(&app, &format!("/t/620922100/disclosures?village={NANCHA}")).await;
    assert!(list.contains("第2版") && list.contains("已撤回"), "{list}");

    let audit = app.state.store().audit_entries("620922", 200, 0).await.unwrap();
    let actions: Vec<&str> = audit.iter().map(|a| a.action.as_str()).collect();
    for action in [
        "disclosure.create",
        "disclosure.submit",
        "disclosure.return",
        "disclosure.edit",
        "disclosure.publish",
        "disclosure.correct",
        "disclosure.withdraw",
    ] {
        assert!(actions.contains(&action), "{action} not audited: {actions:?}");
    }
});

both_backends!(a_repeated_submit_acts_once, |app: TestApp| async move {
    let clerk = app.login_as(Role::VillageClerk).await;
    let id = create(&app, &clerk, "party", "党费收缴情况", "本季度党费已全部收缴。").await;
    let csrf = app.csrf(&clerk, "/staff/login").await;
    let form = [("csrf", csrf.as_str()), ("form_key", "0123456789abcdef0123456789abcdef")];
    let first = clerk.post(app.url(&format!("/staff/disclosures/{id}/submit"))).form(&form).send().await.unwrap();
    assert_eq!(first.headers()["location"], format!("/staff/disclosures/{id}?done=submitted").as_str());
    let second = clerk.post(app.url(&format!("/staff/disclosures/{id}/submit"))).form(&form).send().await.unwrap();
    assert_eq!(second.status(), 409, "already submitted");
    let submits = app.state.store().audit_entries("620922", 100, 0).await.unwrap();
    assert_eq!(submits.iter().filter(|a| a.action == "disclosure.submit").count(), 1);
});

both_backends!(finance_lines_are_imported_with_errors_by_row_and_column_and_totals, |app: TestApp| async move {
    let clerk = app.login_as(Role::VillageClerk).await;
    let reviewer = app.login_as(Role::TownshipReviewer).await;
    let (_, html) = page(&app, &format!("/t/620922100/disclosures?village={NANCHA}")).await;
    assert!(html.contains("未按时公开"), "a village that never disclosed its finances is overdue: {html}");
    let (_, html) = page(&app, "/t/620922100/disclosures").await;
    assert!(html.contains("南岔村") && html.contains("未按时公开"), "{html}");

    let id = create(&app, &clerk, "finance", "2025年第三季度财务收支公开", "本季度收支明细如下。").await;
    let r = app.post_form(&clerk, &format!("/staff/disclosures/{id}/submit"), &[]).await;
    assert_eq!(r.status(), 400, "finance needs lines first");
    let bad = "南岔村2025年第三季度财务收支表\n日期,摘要,收入（元）,支出（元）,备注\n2025-07-03,上级转移支付,50000,,\n2025-13-01,办公用品,,abc,\n2025-08-01,,,-5,\n";
    let r = upload(&app, &clerk, &format!("/staff/disclosures/{id}/lines"), "收支.csv", bad.as_bytes().to_vec()).await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    for expected in
        ["第4行", "日期“2025-13-01”无法识别", "金额“abc”不是有效的数字", "第5行", "摘要不能为空", "金额不能为负数"]
    {
        assert!(html.contains(expected), "{expected} missing: {html}");
    }
    assert!(html.contains("<td data-label=\"列\">支出</td>"), "{html}");
    assert!(app.state.store().finance_lines(id).await.unwrap().is_empty(), "a file with errors changes nothing");
    let r = upload(&app, &clerk, &format!("/staff/disclosures/{id}/lines"), "x.csv", b"a,b\n1,2\n".to_vec()).await;
    assert!(r.text().await.unwrap().contains("未找到表头"));

    let good = "日期,项目,收入金额,支出金额,说明\n2025-07-03,上级转移支付,\"50,000.00\",,\n2025/8/15,村道维修,,12345.6,附发票\n2025-09-20,保洁员工资,,3000,\n合计,,50000,15345.6,\n";
    let r = upload(&app, &clerk, &format!("/staff/disclosures/{id}/lines"), "收支.csv", good.as_bytes().to_vec()).await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let lines = app.state.store().finance_lines(id).await.unwrap();
    assert_eq!(
        lines.iter().map(|l| (l.income_fen, l.expense_fen)).collect::<Vec<_>>(),
        [(5_000_000, 0), (0, 1_234_560), (0, 300_000)]
    );
    publish(&app, &clerk, &reviewer, id).await;
    let (_, html) = page(&app, &format!("/disclosures/{id}")).await;
    assert!(html.contains("<dt>收入合计</dt><dd>50,000.00 元</dd>"), "{html}");
    assert!(html.contains("<dt>支出合计</dt><dd>15,345.60 元</dd>"), "{html}");
    assert!(html.contains("<dt>结余</dt><dd><strong>34,654.40 元</strong></dd>"), "{html}");
    assert!(html.contains("保洁员工资") && html.contains("附发票"), "{html}");

    let (_, html) = page(&app, &format!("/t/620922100/disclosures?village={NANCHA}")).await;
    assert!(!html.contains("未按时公开") && html.contains("财务收支已按季度公开"), "{html}");
    assert!(html.contains("财务公开</dt><dd>最近一次 20"), "{html}");
    assert!(html.contains("党务公开</dt><dd>尚未公开"), "{html}");
});

both_backends!(drafts_and_their_files_stay_private, |app: TestApp| async move {
    let clerk = app.login_as(Role::VillageClerk).await;
    let reviewer = app.login_as(Role::TownshipReviewer).await;
    let id = create(&app, &clerk, "project", "村道硬化工程", "中标单位：某建筑公司").await;
    let pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n".to_vec();
    let r = upload(&app, &clerk, &format!("/staff/disclosures/{id}/attachments"), "合同.pdf", pdf).await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let file = app.state.store().attachments_of_disclosure(id).await.unwrap().remove(0).id;
    assert_eq!(page(&app, &format!("/disclosures/{id}/files/{file}")).await.0, 404);
    assert_eq!(page(&app, &format!("/attachments/{file}")).await.0, 404, "the roster route never serves it");
    let staff_copy = clerk.get(app.url(&format!("/staff/disclosures/{id}/attachments/{file}"))).send().await.unwrap();
    assert_eq!(staff_copy.status(), 200);
    publish(&app, &clerk, &reviewer, id).await;
    assert_eq!(page(&app, &format!("/disclosures/{id}/files/{file}")).await.0, 200);
    let (_, html) = page(&app, &format!("/disclosures/{id}")).await;
    assert!(html.contains("合同.pdf"), "{html}");
});

both_backends!(hostile_markdown_is_rendered_inert, |app: TestApp| async move {
    let clerk = app.login_as(Role::VillageClerk).await;
    let reviewer = app.login_as(Role::TownshipReviewer).await;
    let body = "正常文字\n\n<script>alert('xss')</script>\n\n<img src=x onerror=alert(1)>\n\n[点我](javascript:alert(1))\n\n<iframe src=\"https://evil.example\"></iframe>\n\n<a href=\"javascript:alert(2)\" onclick=\"alert(3)\">链接</a>\n";
    let id = create(&app, &clerk, "other", "<script>alert('title')</script>", body).await;
    let staff_page =
        clerk.get(app.url(&format!("/staff/disclosures/{id}"))).send().await.unwrap().text().await.unwrap();
    publish(&app, &clerk, &reviewer, id).await;
    let (_, public) = page(&app, &format!("/disclosures/{id}")).await;
    let (_, list) = page(&app, &format!("/t/620922100/disclosures?village={NANCHA}")).await;
    for html in [&staff_page, &public, &list] {
        for tag in live_tags(html) {
            let tag = tag.to_lowercase();
            // The page's own scripts: the ledger copy (JSON whose `<` is escaped) and static files.
            if tag == r#"script type="application/json" id="ledger-copy""# || tag.starts_with(r#"script src="/static/"#)
            {
                continue;
            }
            let name = tag.split([' ', '/']).next().unwrap_or_default();
            assert!(!["script", "img", "iframe"].contains(&name), "<{tag}> survived");
            assert!(!tag.contains("javascript:"), "<{tag}> survived");
            assert!(!tag.split_whitespace().any(|attr| attr.starts_with("on")), "<{tag}> has an event handler");
        }
    }
    assert!(public.contains("正常文字") && public.contains("&lt;script&gt;"), "{public}");
    let copy = public.split(r#"id="ledger-copy">"#).nth(1).and_then(|rest| rest.split("</script>").next());
    assert!(copy.is_some_and(|json| !json.contains('<')), "the ledger copy cannot close its script element");
});
