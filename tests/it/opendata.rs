//! Open data over HTTP: a published roster and disclosure as JSON and CSV (with CSVW metadata),
//! masked as on the page (no whole ID number, phone or bank account anywhere), each with its
//! ledger leaf index and hash, the county's bulk index with its licence, drafts kept out, and the
//! links on the public pages.

use serde_json::Value;
use xiaowei_core::Role;

use crate::helpers::{TestApp, both_backends, person_id, roster_csv};

const NANCHA: &str = "620922100200";

/// Every 11-digit mobile number, 16-or-more-digit account number or 18-character ID number in
/// `text` (a run of digits, an ID's final X included).
fn whole_numbers(text: &str) -> Vec<String> {
    // Words of letters and digits (a ledger hash) are not numbers, whatever digit runs they hold.
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|word| {
            let digits = word.strip_suffix('X').filter(|d| d.len() == 17).unwrap_or(word);
            !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit())
        })
        .filter(|word| (word.len() == 11 && word.starts_with('1')) || word.len() >= 16)
        .map(str::to_owned)
        .collect()
}

#[test]
fn whole_numbers_are_found_but_not_inside_a_hash() {
    let text = r#"{"id":"62092219620315124X","phone":"13800138000","account":6228480402564890018,"n":"2025"}"#;
    assert_eq!(whole_numbers(text), ["62092219620315124X", "13800138000", "6228480402564890018"]);
    assert!(whole_numbers("8e9f0ca338f8938564424373522a3cd204c,2026-12-07").is_empty());
}

async fn get(app: &TestApp, path: &str) -> reqwest::Response {
    TestApp::client().get(app.url(path)).send().await.unwrap()
}

async fn get_json(app: &TestApp, path: &str) -> Value {
    let r = get(app, path).await;
    assert_eq!(r.status(), 200, "{path}");
    serde_json::from_str(&r.text().await.unwrap()).unwrap()
}

/// A published proposed roster of two people of 南岔村 sharing one account; returns its id.
async fn published_roster(app: &TestApp) -> i64 {
    let clerk = app.login_as(Role::VillageClerk).await;
    let reviewer = app.login_as(Role::TownshipReviewer).await;
    let fields = vec![
        ("programme_id", app.programme().await.to_string()),
        ("org_code", NANCHA.to_owned()),
        ("year", "2025".to_owned()),
        ("phase", "proposed".to_owned()),
    ];
    let file = roster_csv(&[("张三", person_id(1), "600"), ("李四", person_id(2), "600")]);
    let id = app.import_roster(&clerk, &fields, file).await;
    app.publish(&clerk, &reviewer, id).await;
    id
}

/// A disclosure as the clerk writes it, published by the reviewer unless `draft`.
async fn disclosure(app: &TestApp, title: &str, body: &str, draft: bool) -> i64 {
    let clerk = app.login_as(Role::VillageClerk).await;
    let id = crate::disclosures::create(app, &clerk, "village_affairs", title, body).await;
    if !draft {
        let reviewer = app.login_as(Role::TownshipReviewer).await;
        let r = app.post_form(&clerk, &format!("/staff/disclosures/{id}/submit"), &[]).await;
        assert_eq!(r.status(), 303);
        let r = app.post_form(&reviewer, &format!("/staff/disclosures/{id}/approve"), &[]).await;
        assert_eq!(r.status(), 303);
    }
    id
}

both_backends!(a_roster_downloads_masked_with_its_ledger_leaf_and_licence, |app: TestApp| async move {
    let id = published_roster(&app).await;
    let store = app.state.store();
    let leaf = store.latest_leaf_of("roster", id).await.unwrap().expect("a published roster has a leaf");
    let entries = store.roster_entries(id, 100, 0).await.unwrap();

    let data = get_json(&app, &format!("/opendata/rosters/{id}.json")).await;
    assert_eq!(data["dataset"], "roster");
    assert_eq!(data["status"], "published");
    assert_eq!(data["entry_count"], 2);
    assert_eq!(data["total_fen"], 120_000);
    assert_eq!(data["ledger"]["leaf_index"], leaf.idx);
    assert_eq!(data["ledger"]["leaf_hash"], leaf.hash_hex());
    assert_eq!(data["licence"]["name"], "CC BY 4.0");
    assert_eq!(data["licence"]["url"], "https://creativecommons.org/licenses/by/4.0/");
    let rows = data["entries"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    for (row, stored) in rows.iter().zip(&entries) {
        assert_eq!(row["name"], stored.name.as_str(), "names in full, as on the page");
        assert_eq!(row["id_masked"], stored.id_masked.as_str(), "the page's masked form");
        assert_eq!(row["account_masked"].as_str(), stored.account_masked.as_deref());
        assert!(row.get("id_enc").is_none() && row.get("id_idx").is_none());
    }
    let json_text = data.to_string();
    assert!(whole_numbers(&json_text).is_empty(), "no whole number in {json_text}");

    let csv = get(&app, &format!("/opendata/rosters/{id}.csv")).await;
    assert_eq!(csv.status(), 200);
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let link = csv.headers()["link"].to_str().unwrap().to_owned();
    assert!(link.contains(&format!("/opendata/rosters/{id}.csv-metadata.json>; rel=\"describedby\"")), "{link}");
    assert!(link.contains("creativecommons.org/licenses/by/4.0/>; rel=\"license\""), "{link}");
    let text = csv.text().await.unwrap();
    let mut lines = text.trim_start_matches('\u{feff}').lines();
    assert_eq!(
        lines.next().unwrap(),
        "序号,姓名,身份证号（已隐藏部分数字）,村民小组,账号（已隐藏部分数字）,金额（元）,备注"
    );
    let first = lines.next().unwrap();
    assert!(first.starts_with(&format!("1,张三,{},一组,", entries[0].id_masked)), "the first row is 序号 1: {first}");
    assert!(first.contains(",600.00,"), "{first}");
    assert!(whole_numbers(&text).is_empty(), "no whole number in {text}");
    for seq in [1, 2] {
        assert!(!text.contains(&person_id(seq)) && !json_text.contains(&person_id(seq)));
    }

    let meta = get_json(&app, &format!("/opendata/rosters/{id}.csv-metadata.json")).await;
    assert_eq!(meta["@context"], "http://www.w3.org/ns/csvw");
    assert_eq!(meta["dc:license"]["@id"], "https://creativecommons.org/licenses/by/4.0/");
    assert_eq!(meta["ledger"]["leaf_hash"], leaf.hash_hex());
    assert_eq!(meta["tableSchema"]["columns"].as_array().unwrap().len(), 7);

    // The public page links its downloads.
    let page = get(&app, &format!("/rosters/{id}")).await.text().await.unwrap();
    assert!(page.contains(&format!("href=\"/opendata/rosters/{id}.csv\"")));
    assert!(page.contains(&format!("href=\"/opendata/rosters/{id}.json\"")));
});

both_backends!(a_disclosure_downloads_and_the_index_lists_every_public_dataset, |app: TestApp| async move {
    let roster = published_roster(&app).await;
    let body = "村集体收入用于道路硬化。\n\n监督电话：0937-5522001";
    let public = disclosure(&app, "2025年第三季度村务公开", body, false).await;
    let draft = disclosure(&app, "草稿不应公开", "尚未审核的内容", true).await;
    let leaf = app.state.store().latest_leaf_of("disclosure", public).await.unwrap().unwrap();

    let data = get_json(&app, &format!("/opendata/disclosures/{public}.json")).await;
    assert_eq!(data["dataset"], "disclosure");
    assert_eq!(data["title"], "2025年第三季度村务公开");
    assert_eq!(data["body_markdown"], body);
    assert_eq!(data["ledger"]["leaf_index"], leaf.idx);
    assert_eq!(data["ledger"]["leaf_hash"], leaf.hash_hex());
    assert_eq!(data["licence"]["name"], "CC BY 4.0");
    let csv = get(&app, &format!("/opendata/disclosures/{public}.csv")).await.text().await.unwrap();
    assert!(csv.contains("标题,2025年第三季度村务公开"), "{csv}");
    assert!(csv.contains("正文,"), "{csv}");
    for path in [format!("/opendata/disclosures/{draft}.json"), format!("/opendata/disclosures/{draft}.csv")] {
        assert_eq!(get(&app, &path).await.status(), 404, "a draft is not open data: {path}");
    }
    for bad in ["/opendata/disclosures/x.json", "/opendata/rosters/1.xlsx", "/opendata/rosters/99999.json"] {
        assert_eq!(get(&app, bad).await.status(), 404, "{bad}");
    }

    let index = get_json(&app, "/opendata/620922/index.json").await;
    assert_eq!(index["county_code"], "620922");
    assert_eq!(index["licence"]["name"], "CC BY 4.0");
    let datasets = index["datasets"].as_array().unwrap();
    assert_eq!(index["dataset_count"], datasets.len());
    let find = |kind: &str, id: i64| datasets.iter().find(|d| d["dataset"] == kind && d["id"] == id).cloned();
    let listed = find("disclosure", public).expect("the published disclosure is listed");
    assert!(listed["json_url"].as_str().unwrap().ends_with(&format!("/opendata/disclosures/{public}.json")));
    assert!(listed["csv_url"].as_str().unwrap().ends_with(&format!("/opendata/disclosures/{public}.csv")));
    assert_eq!(listed["ledger"]["leaf_index"], leaf.idx);
    assert!(listed["published_at"].as_str().unwrap().ends_with("+08:00"));
    let listed_roster = find("roster", roster).expect("the published roster is listed");
    assert_eq!(listed_roster["status"], "published");
    assert!(listed_roster["ledger"]["leaf_hash"].as_str().unwrap().len() == 64);
    assert!(find("disclosure", draft).is_none(), "drafts stay out of the index");
    assert_eq!(get(&app, "/opendata/620923/index.json").await.status(), 200, "the other county has its own index");
    assert_eq!(get(&app, "/opendata/999999/index.json").await.status(), 404);

    let page = get(&app, &format!("/disclosures/{public}")).await.text().await.unwrap();
    assert!(page.contains(&format!("href=\"/opendata/disclosures/{public}.csv\"")));
});
