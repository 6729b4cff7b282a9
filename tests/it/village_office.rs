//! The village office over HTTP: a clerk publishes cadres, the duty rota and meeting notices; the
//! public village page shows them with today's duty highlighted; bad input is named, other
//! villages are refused, a double submit acts once and phones never reach the disk in clear.

use jiff::ToSpan;
use xiaowei_core::Role;
use xiaowei_core::village_office::WEEK;
use xiaowei_server::web::dates::shanghai_date;

use crate::helpers::{PASSWORD, TestApp, both_backends, hidden};

/// 南岔村 in 渊泉镇, the test clerk's village.
const NANCHA: &str = "620922100200";
const VILLAGE_PAGE: &str = "/t/620922100/v/620922100200";
const OFFICE: &str = "/staff/village-office/620922100200";
const PHONES: [&str; 3] = ["13993710001", "13993710002", "13993710003"];
const NAMES: [&str; 3] = ["马德明", "何秀英", "罗文斌"];

async fn page(app: &TestApp, path: &str) -> String {
    let response = reqwest::get(app.url(path)).await.unwrap();
    assert_eq!(response.status(), 200, "{path}");
    response.text().await.unwrap()
}

/// Posts and expects the 303 back to the office page; returns the redirect target.
async fn post_ok(app: &TestApp, client: &reqwest::Client, path: &str, fields: &[(&str, &str)]) -> String {
    let response = app.post_form(client, path, fields).await;
    let status = response.status();
    let location = response.headers().get("location").map(|l| l.to_str().unwrap().to_owned()).unwrap_or_default();
    assert_eq!(status, 303, "{path}: {}", response.text().await.unwrap());
    location
}

/// Posts and expects a refusal with `status` whose page names `field`.
async fn post_refused(
    app: &TestApp,
    client: &reqwest::Client,
    path: &str,
    fields: &[(&str, &str)],
    status: u16,
    field: &str,
) {
    let response = app.post_form(client, path, fields).await;
    assert_eq!(response.status(), status, "{path} {fields:?}");
    let body = response.text().await.unwrap();
    assert!(body.contains(field), "{path} names {field}: {body}");
}

/// Adds the three test cadres as the clerk; returns their ids in order.
async fn add_cadres(app: &TestApp, clerk: &reqwest::Client) -> Vec<i64> {
    let posts = [("村党支部书记、村委会主任", "全面工作"), ("村会计", "财务"), ("村文书", "花名册、公示")];
    for ((name, phone), (title, duties)) in NAMES.iter().zip(PHONES).zip(posts) {
        let fields = [("name", *name), ("title", title), ("duties", duties), ("phone", phone)];
        post_ok(app, clerk, &format!("{OFFICE}/cadres"), &fields).await;
    }
    app.state.store().cadres_of(NANCHA).await.unwrap().into_iter().map(|c| c.id).collect()
}

/// `YYYY-MM-DD`, `days` from today in Asia/Shanghai.
fn day(app: &TestApp, days: i64) -> String {
    shanghai_date(app.state.now()).checked_add(days.days()).unwrap().to_string()
}

/// The text between `start` and the next `end` after it.
fn between<'a>(html: &'a str, start: &str, end: &str) -> &'a str {
    let from = html.find(start).unwrap_or_else(|| panic!("{start} not in page"));
    let rest = &html[from..];
    &rest[..rest.find(end).unwrap_or(rest.len())]
}

both_backends!(the_village_page_shows_cadres_todays_duty_and_meetings, |app: TestApp| async move {
    let empty = page(&app, VILLAGE_PAGE).await;
    assert!(empty.contains("本村尚未公布值班坐班表"), "{empty}");
    assert!(empty.contains("本村尚未公布村干部联系方式"));
    assert!(empty.contains("近期没有会议通知"));

    let clerk = app.login_as(Role::VillageClerk).await;
    let cadres = add_cadres(&app, &clerk).await;
    assert_eq!(cadres.len(), 3);
    let ids: Vec<String> = cadres.iter().map(ToString::to_string).collect();
    let days: Vec<(String, &str)> = (0..7).map(|i| (format!("day{}", i + 1), ids[i % 3].as_str())).collect();
    let fields: Vec<(&str, &str)> = days.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    assert!(post_ok(&app, &clerk, &format!("{OFFICE}/rota"), &fields).await.contains("done=rota"));

    let (soon, earlier) = (day(&app, 3), day(&app, -5));
    let upcoming = [
        ("date", soon.as_str()),
        ("time", "09:30"),
        ("place", "村委会会议室"),
        ("audience", "party_members"),
        ("audience", "representatives"),
        ("agenda", "审议一事一议项目"),
    ];
    post_ok(&app, &clerk, &format!("{OFFICE}/meetings"), &upcoming).await;
    let held = [
        ("date", earlier.as_str()),
        ("time", "15:00"),
        ("place", "村委会会议室"),
        ("audience", "committees"),
        ("agenda", "研究低保初审名单"),
    ];
    post_ok(&app, &clerk, &format!("{OFFICE}/meetings"), &held).await;
    let past = app.state.store().past_meetings(NANCHA, app.state.now(), 5).await.unwrap();
    let minutes_path = format!("{OFFICE}/meetings/{}/minutes", past[0].id);
    post_ok(&app, &clerk, &minutes_path, &[("minutes", "同意3户列入初审名单。")]).await;
    let pdf = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n".to_vec();
    let csrf = app.csrf(&clerk, OFFICE).await;
    let form = reqwest::multipart::Form::new().part("file", reqwest::multipart::Part::bytes(pdf).file_name("纪要.pdf"));
    let file_path = format!("{OFFICE}/meetings/{}/file?csrf={csrf}", past[0].id);
    let uploaded = clerk.post(app.url(&file_path)).multipart(form).send().await.unwrap();
    assert_eq!(uploaded.status(), 303, "{}", uploaded.text().await.unwrap());

    let html = page(&app, VILLAGE_PAGE).await;
    let today = shanghai_date(app.state.now()).weekday();
    let on_duty = NAMES[WEEK.iter().position(|d| *d == today).unwrap() % 3];
    assert!(between(&html, "id=\"duty-today\"", "</div>").contains(on_duty), "today's card names {on_duty}");
    assert!(between(&html, "class=\"today\"", "</tr>").contains(on_duty), "today's row is highlighted");
    assert!(between(&html, "class=\"on-duty\"", "</li>").contains(on_duty), "the cadre list marks them");
    for (name, phone) in NAMES.iter().zip(PHONES) {
        assert!(html.contains(name));
        assert!(html.contains(&format!("href=\"tel:{phone}\"")), "{phone} is a tap-to-call link");
    }
    assert!(html.contains("全面工作") && html.contains("花名册、公示"));
    let (next, held_at) = (html.find("审议一事一议项目").unwrap(), html.find("研究低保初审名单").unwrap());
    assert!(next < held_at, "upcoming meetings come first");
    assert!(html.contains("党员、村民代表") && html.contains("同意3户列入初审名单。"));
    let file_url = between(&html, "/t/620922100/v/620922100200/meetings/", "\"").to_owned();
    let file = reqwest::get(app.url(&file_url)).await.unwrap();
    assert_eq!(file.headers()["content-type"], "application/pdf");

    // A holiday today closes the office; removing it restores the weekly pattern.
    let holiday = [("date", day(&app, 0)), ("cadre_id", "none".into()), ("note", "春节".into())];
    let holiday: Vec<(&str, &str)> = holiday.iter().map(|(k, v)| (*k, v.as_str())).collect();
    post_ok(&app, &clerk, &format!("{OFFICE}/overrides"), &holiday).await;
    let closed = page(&app, VILLAGE_PAGE).await;
    assert!(between(&closed, "id=\"duty-today\"", "</div>").contains("今天不坐班"), "{closed}");
    assert!(!closed.contains("class=\"on-duty\""));
    let overrides = app.state.store().duty_overrides_from(NANCHA, &day(&app, 0)).await.unwrap();
    post_ok(&app, &clerk, &format!("{OFFICE}/overrides/{}/delete", overrides[0].id), &[]).await;
    assert!(between(&page(&app, VILLAGE_PAGE).await, "id=\"duty-today\"", "</div>").contains(on_duty));

    // Every change is in the audit log, with phones masked.
    let audit = app.state.store().audit_entries("620922", 100, 0).await.unwrap();
    let ours: Vec<_> = audit.iter().filter(|e| e.action.starts_with("village_office.")).collect();
    assert_eq!(ours.len(), 10, "3 cadres, rota, 2 meetings, minutes, file, override added and removed");
    assert!(ours.iter().all(|e| !e.detail.contains(PHONES[0])));
});

both_backends!(bad_input_is_named_and_other_villages_are_refused, |app: TestApp| async move {
    let clerk = app.login_as(Role::VillageClerk).await;
    let cadres = format!("{OFFICE}/cadres");
    let good = [("name", "马德明"), ("title", "村文书"), ("duties", "花名册"), ("phone", PHONES[0])];
    let landline = [("name", "马德明"), ("title", "村文书"), ("duties", "花名册"), ("phone", "0937-1234567")];
    post_refused(&app, &clerk, &cadres, &landline, 400, "手机号").await;
    post_refused(&app, &clerk, &cadres, &[("name", " "), ("title", "村文书"), ("duties", "x"), good[3]], 400, "姓名")
        .await;
    post_refused(&app, &clerk, &cadres, &[("name", "马德明"), ("title", ""), ("duties", "x"), good[3]], 400, "职务")
        .await;
    post_ok(&app, &clerk, &cadres, &good).await;
    let same_phone = [("name", "何秀英"), ("title", "村会计"), ("duties", "财务"), ("phone", PHONES[0])];
    post_refused(&app, &clerk, &cadres, &same_phone, 409, "手机号").await;

    // A cadre of another village cannot be put on our rota.
    let township = app.login_as(Role::TownshipAdmin).await;
    let admin = app.login_as(Role::CountyAdmin).await;
    assert_eq!(
        admin.get(app.url(OFFICE)).send().await.unwrap().status(),
        403,
        "a county admin does not keep village offices"
    );
    let store = app.state.store();
    let sealed = xiaowei_store::CadreDetails {
        name: "外村干部".into(),
        title: "村文书".into(),
        duties: "x".into(),
        phone_enc: app.state.cipher().encrypt(PHONES[1]),
        phone_idx: app.state.cipher().blind_index("phone", PHONES[1]),
    };
    let stranger = store.add_cadre("620922101200", &sealed, 1).await.unwrap().to_string();
    post_refused(&app, &clerk, &format!("{OFFICE}/rota"), &[("day1", stranger.as_str())], 400, "周一").await;
    post_refused(&app, &clerk, &format!("{OFFICE}/rota"), &[("day3", "abc")], 400, "周三").await;

    let overrides = format!("{OFFICE}/overrides");
    let yesterday = day(&app, -1);
    post_refused(&app, &clerk, &overrides, &[("date", "2026/02/17"), ("note", "春节")], 400, "日期").await;
    post_refused(&app, &clerk, &overrides, &[("date", yesterday.as_str()), ("note", "春节")], 400, "日期").await;
    let tomorrow = day(&app, 1);
    post_refused(&app, &clerk, &overrides, &[("date", tomorrow.as_str()), ("note", "")], 400, "说明").await;
    post_ok(&app, &clerk, &overrides, &[("date", tomorrow.as_str()), ("note", "外出学习")]).await;
    post_refused(&app, &clerk, &overrides, &[("date", tomorrow.as_str()), ("note", "重复")], 409, "日期").await;

    let meetings = format!("{OFFICE}/meetings");
    let soon = day(&app, 2);
    let base = [("date", soon.as_str()), ("time", "09:30"), ("place", "会议室"), ("agenda", "议题")];
    post_refused(&app, &clerk, &meetings, &base, 400, "参会人员").await;
    let bad_date =
        [("date", "明天"), ("time", "09:30"), ("place", "会议室"), ("agenda", "议题"), ("audience", "party_members")];
    post_refused(&app, &clerk, &meetings, &bad_date, 400, "会议日期").await;
    let bad_time = [
        ("date", soon.as_str()),
        ("time", "25:99"),
        ("place", "会议室"),
        ("agenda", "议题"),
        ("audience", "party_members"),
    ];
    post_refused(&app, &clerk, &meetings, &bad_time, 400, "会议时间").await;
    let bad_audience =
        [("date", soon.as_str()), ("time", "09:30"), ("place", "会议室"), ("agenda", "议题"), ("audience", "bosses")];
    post_refused(&app, &clerk, &meetings, &bad_audience, 400, "参会人员").await;
    let no_place =
        [("date", soon.as_str()), ("time", "09:30"), ("place", ""), ("agenda", "议题"), ("audience", "party_members")];
    post_refused(&app, &clerk, &meetings, &no_place, 400, "地点").await;
    // The township admin keeps the villages of the township.
    let ok = [
        ("date", soon.as_str()),
        ("time", "09:30"),
        ("place", "会议室"),
        ("agenda", "议题"),
        ("audience", "party_members"),
    ];
    post_ok(&app, &township, &meetings, &ok).await;
    let list = township.get(app.url("/staff/village-office/620922100")).send().await.unwrap().text().await.unwrap();
    assert!(list.contains("/staff/village-office/620922100200") && list.contains("南岔村"), "{list}");
    let upcoming = store.upcoming_meetings(NANCHA, app.state.now(), 5).await.unwrap();
    let minutes = format!("{OFFICE}/meetings/{}/minutes", upcoming[0].id);
    post_refused(&app, &clerk, &minutes, &[("minutes", "提前写的纪要")], 409, "会议尚未召开").await;

    // Another village's clerk, and our clerk in another village, are refused.
    let foreign = app.login("foreign", PASSWORD).await;
    let response = app.post_form(&foreign, &cadres, &good).await;
    assert_eq!(response.status(), 403);
    assert_eq!(foreign.get(app.url(OFFICE)).send().await.unwrap().status(), 403);
    let elsewhere = app.post_form(&clerk, "/staff/village-office/620922101200/meetings", &ok).await;
    assert_eq!(elsewhere.status(), 403);
    let cadre = store.cadres_of(NANCHA).await.unwrap()[0].id;
    let removed = app.post_form(&foreign, &format!("{OFFICE}/cadres/{cadre}/delete"), &[]).await;
    assert_eq!(removed.status(), 403);
    assert_eq!(store.cadres_of(NANCHA).await.unwrap().len(), 1, "nothing changed");
});

both_backends!(a_double_submit_acts_once_and_phones_are_sealed_at_rest, |app: TestApp| async move {
    let clerk = app.login_as(Role::VillageClerk).await;
    let office = clerk.get(app.url(OFFICE)).send().await.unwrap().text().await.unwrap();
    let key = hidden(&office, "form_key").unwrap();
    let csrf = hidden(&office, "csrf").unwrap();
    let form = [
        ("csrf", csrf.as_str()),
        ("form_key", key.as_str()),
        ("name", NAMES[0]),
        ("title", "村党支部书记"),
        ("duties", "全面工作"),
        ("phone", PHONES[2]),
    ];
    for _ in 0..2 {
        let response = clerk.post(app.url(&format!("{OFFICE}/cadres"))).form(&form).send().await.unwrap();
        assert_eq!(response.status(), 303);
    }
    let repeat = clerk.post(app.url(&format!("{OFFICE}/cadres"))).form(&form).send().await.unwrap();
    assert!(repeat.headers()["location"].to_str().unwrap().contains("done=repeat"));
    assert_eq!(app.state.store().cadres_of(NANCHA).await.unwrap().len(), 1, "the cadre is added once");

    // Editing the duty keeps one cadre and changes what the village page says.
    let id = app.state.store().cadres_of(NANCHA).await.unwrap()[0].id;
    let edit = [
        ("name", NAMES[0]),
        ("title", "村党支部书记、村委会主任"),
        ("duties", "全面工作、脱贫攻坚"),
        ("phone", PHONES[2]),
    ];
    post_ok(&app, &clerk, &format!("{OFFICE}/cadres/{id}"), &edit).await;
    assert!(page(&app, VILLAGE_PAGE).await.contains("全面工作、脱贫攻坚"));
    let staff_page = clerk.get(app.url(OFFICE)).send().await.unwrap().text().await.unwrap();
    assert!(staff_page.contains(PHONES[2]), "the clerk sees the published phone");

    if let Some(file) = &app.sqlite_file {
        app.state.store().close().await;
        let mut bytes = std::fs::read(file).unwrap();
        if let Ok(wal) = std::fs::read(file.with_extension("db-wal")) {
            bytes.extend(wal);
        }
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains(PHONES[2]), "the phone is not stored in clear");
        assert!(text.contains("全面工作、脱贫攻坚"), "the file was read");
    }
});
