//! 朗读 over HTTP: every page with a read-aloud button carries its listening text — a roster page
//! (a sentence per row), a self-query result, a case's and a message's page and their lookup
//! forms, a finance disclosure — in words: no Arabic digits, masked IDs and phones read by their
//! tails, never a full ID or phone number.

use xiaowei_core::Role;

use crate::helpers::{TestApp, both_backends, hidden, person_id, roster_csv};

const VILLAGE: &str = "620922100200";

/// The listening text of a page: its `<template id="listen-text">`, one sentence a paragraph.
fn listening(html: &str) -> Vec<String> {
    let inside = html
        .split("<template id=\"listen-text\">")
        .nth(1)
        .and_then(|rest| rest.split("</template>").next())
        .unwrap_or_else(|| panic!("no listening text: {html}"));
    inside
        .split("<p>")
        .filter_map(|p| p.strip_suffix("</p>"))
        .map(|p| {
            p.replace("&#x27;", "'")
                .replace("&#39;", "'")
                .replace("&quot;", "\"")
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&amp;", "&")
        })
        .collect()
}

/// Fetches `path` and checks its listening text: sentences, no digit anywhere, none of `secrets`.
async fn heard(client: &reqwest::Client, app: &TestApp, path: &str, secrets: &[&str]) -> String {
    let r = client.get(app.url(path)).send().await.unwrap();
    assert_eq!(r.status(), 200, "{path}");
    let html = r.text().await.unwrap();
    assert!(html.contains("id=\"listen-button\"") && html.contains("/static/listen.js?v="), "{path}: no button");
    let sentences = listening(&html);
    assert!(!sentences.is_empty(), "{path}: nothing to read");
    let text = sentences.concat();
    assert!(!text.chars().any(|c| c.is_ascii_digit() || ('０'..='９').contains(&c)), "{path}: digits in {text}");
    for secret in secrets {
        assert!(!text.contains(secret), "{path}: {secret} in {text}");
    }
    text
}

both_backends!(public_pages_carry_their_text_for_listening_in_words, |app: TestApp| async move {
    let clerk = app.login_as(Role::VillageClerk).await;
    let reviewer = app.login_as(Role::TownshipReviewer).await;
    let villager = TestApp::client();
    let ids = [person_id(1), person_id(2)];

    // A roster: a sentence per row, the ID by its last four characters.
    let fields = vec![
        ("programme_id", app.programme().await.to_string()),
        ("org_code", VILLAGE.into()),
        ("year", "2025".into()),
        ("phase", "proposed".into()),
        ("period", "2025年度".into()),
    ];
    let roster = app
        .import_roster(
            &clerk,
            &fields,
            roster_csv(&[("张三", ids[0].clone(), "600"), ("李四", ids[1].clone(), "450.50")]),
        )
        .await;
    app.publish(&clerk, &reviewer, roster).await;
    let secrets = [ids[0].as_str(), ids[1].as_str(), "六二〇九二二"];
    let text = heard(&villager, &app, &format!("/rosters/{roster}"), &secrets).await;
    let tail = xiaowei_core::spoken::digits(&ids[0][14..].replace('X', "叉"));
    assert!(text.contains(&format!("第一行，张三，身份证尾号{tail}，一组，六百元整。")), "{text}");
    assert!(text.contains("第二行，李四，") && text.contains("四百五十元五角。"), "{text}");
    assert!(text.contains("共二人，合计一千零五十元五角。") && text.contains("二〇二五年度"), "{text}");
    assert!(text.contains("公示期：二〇"), "{text}");

    // The self-query result: the person's records with amounts in words.
    let csrf = app.csrf(&villager, "/t/620922100/self-query").await;
    let form = [("csrf", csrf), ("name", "张三".to_owned()), ("id_number", ids[0].clone())];
    let r = villager.post(app.url("/t/620922100/self-query")).form(&form).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    let text = listening(&html).concat();
    assert!(!text.chars().any(|c| c.is_ascii_digit()), "{text}");
    assert!(!text.contains(&ids[0]) && !text.contains("六二〇九二二"), "{text}");
    assert!(text.starts_with(&format!("张三的补贴记录，身份证尾号{tail}。")), "{text}");
    assert!(
        text.contains("共一条记录") && text.contains("二〇二五年，库区移民后期扶持，六百元整，拟发放，正在公示"),
        "{text}"
    );

    // A case: its number character by character, the phone by its tail.
    let ([item, _], _) = crate::services::seed_cases(&app).await;
    let applied = crate::services::apply(&app, &villager, item, &crate::services::GOOD, None).await;
    assert_eq!(applied.status(), 303);
    let link = applied.headers()["location"].to_str().unwrap().to_owned();
    let text = heard(&villager, &app, &link, &["13712345678", "一三七一二三四五六七八"]).await;
    assert!(text.contains("办件编号：B J 二〇") && text.contains("状态：待联系。"), "{text}");
    assert!(text.contains("申请人：孙秀英，手机尾号五六七八。") && text.contains("十五个工作日"), "{text}");
    assert!(text.contains("尚未办结，请耐心等待。办理过程："), "{text}");
    heard(&villager, &app, "/cases", &[]).await;

    // A message: the body read as written, numbers in words; a wrong lookup reads its error.
    let question = [("place", VILLAGE), ("body", "请问第3季度的补贴每人多少钱？"), ("phone", "13712345678")];
    let left = crate::messages::leave(&app, &villager, "question", &question, None).await;
    assert_eq!(left.status(), 303);
    let link = left.headers()["location"].to_str().unwrap().to_owned();
    let text = heard(&villager, &app, &link, &["13712345678"]).await;
    assert!(text.contains("留言编号：L Y 二〇") && text.contains("联系电话：手机尾号五六七八。"), "{text}");
    assert!(text.contains("留言内容：请问第三季度的补贴每人多少钱？"), "{text}");
    heard(&villager, &app, "/messages", &[]).await;
    let csrf = app.csrf(&villager, "/messages").await;
    let form = [("csrf", csrf.as_str()), ("tracking", "LY20250101000001"), ("credential", "13700000000")];
    let r = villager.post(app.url("/messages")).form(&form).send().await.unwrap();
    let html = r.text().await.unwrap();
    assert!(hidden(&html, "csrf").is_some(), "the lookup form came back");
    let text = listening(&html).concat();
    assert!(!text.chars().any(|c| c.is_ascii_digit()) && text.contains("查询留言"), "{text}");

    // A finance disclosure: the body, each line and the totals in 元角分.
    let id =
        crate::disclosures::create(&app, &clerk, "finance", "2025年第三季度财务收支公开", "本季度收支明细如下。").await;
    let lines = "日期,摘要,收入（元）,支出（元）,备注\n2025-07-03,上级转移支付,\"50,000.00\",,\n2025/8/15,村道维修,,12345.6,附发票\n";
    let r =
        crate::disclosures::upload(&app, &clerk, &format!("/staff/disclosures/{id}/lines"), "收支.csv", lines.into())
            .await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    crate::disclosures::publish(&app, &clerk, &reviewer, id).await;
    let text = heard(&villager, &app, &format!("/disclosures/{id}"), &[]).await;
    assert!(text.starts_with("二〇二五年第三季度财务收支公开。"), "{text}");
    assert!(text.contains("二〇二五年七月三日，上级转移支付，收入五万元整。"), "{text}");
    assert!(text.contains("二〇二五年八月十五日，村道维修，支出一万二千三百四十五元六角，附发票。"), "{text}");
    assert!(
        text.contains("收入合计五万元整，支出合计一万二千三百四十五元六角，结余三万七千六百五十四元四角。"),
        "{text}"
    );
});
