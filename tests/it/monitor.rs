//! The monitor end to end: page views made over HTTP with WeChat, browser and kiosk clients are
//! counted (only successful tagged GET pages), followers, households, a published roster,
//! messages (a report only for the commission) and cases with on-time and late contact give
//! exactly the expected figures in the township table, the village table, the weekly summary and
//! their .xlsx exports (read back with calamine); a township account sees only its own township;
//! the drill-down lists the rows behind a figure.

use xiaowei_core::Role;
use xiaowei_core::service::{self, CaseAction, CaseStatus};
use xiaowei_core::tracked::Satisfaction;
use xiaowei_store::{CaseChange, NewCase, NewEvent, NewMessage, NewWechatAccount};

use crate::helpers::{TestApp, both_backends, person_id, roster_csv};

const TOWN: &str = "620922100";
const NANCHA: &str = "620922100200";
const DAY: i64 = 86_400;

async fn view(app: &TestApp, path: &str, user_agent: &str, kiosk: bool) -> u16 {
    let mut request = TestApp::client().get(app.url(path)).header("user-agent", user_agent);
    if kiosk {
        request = request.header("cookie", "xw_kiosk=device-token");
    }
    request.send().await.unwrap().status().as_u16()
}

fn case_event(kind: xiaowei_core::tracked::TimelineKind) -> NewEvent {
    NewEvent { kind, actor: "测试".into(), staff_user_id: None, method: None, note: "测试".into(), public: false }
}

/// A case at 南岔村 submitted at `at`, contact due a day later, completion due 30 days later.
async fn case(app: &TestApp, item: i64, n: u32, at: i64) -> i64 {
    let cipher = app.state.cipher();
    let c = NewCase {
        tracking: format!("BJ20251010{n:06}"),
        submit_key: format!("monitor-case-{n}"),
        item_id: item,
        department_id: app.own_department,
        org_code: NANCHA.into(),
        applicant_name: "孙大爷".into(),
        phone_enc: cipher.encrypt("13700001111"),
        phone_idx: cipher.blind_index("phone", "13700001111"),
        resident_id_enc: None,
        description: "申请".into(),
        filed_by: None,
        submitted_at: at,
        contact_due: at + DAY,
        contact_remind_at: at + DAY - 3600,
        completion_due: at + 30 * DAY,
        completion_remind_at: at + 29 * DAY,
        deadline_basis: "15个工作日".into(),
    };
    app.state
        .store()
        .create_case(&c, &[], &case_event(xiaowei_core::tracked::TimelineKind::Submitted), &[])
        .await
        .unwrap()
        .0
}

async fn change(app: &TestApp, id: i64, from: CaseStatus, action: CaseAction, change: CaseChange, at: i64) {
    let transition = service::transition(from, action).unwrap();
    let event = case_event(xiaowei_core::tracked::TimelineKind::Progress);
    app.state.store().change(id, transition, &change, &event, &[], at).await.unwrap();
}

async fn report(app: &TestApp) -> String {
    let now = app.state.now();
    let m = NewMessage {
        tracking: "LY20251010000777".into(),
        submit_key: "monitor-report".into(),
        kind: xiaowei_core::message::MessageKind::Report,
        org_code: NANCHA.into(),
        author_name: String::new(),
        phone_enc: None,
        phone_idx: None,
        secret_idx: None,
        body: "举报内容".into(),
        allow_public: false,
        submitted_at: now,
        reply_due: now + 13 * DAY,
        reply_remind_at: now + 12 * DAY,
        deadline_basis: "13个工作日".into(),
    };
    let event = NewEvent {
        kind: xiaowei_core::tracked::TimelineKind::Submitted,
        actor: "举报人".into(),
        staff_user_id: None,
        method: None,
        note: "提交".into(),
        public: false,
    };
    app.state.store().create_message(&m, &[], &event, &[]).await.unwrap();
    m.tracking
}

/// Seeds known activity; returns the question's and the report's tracking numbers.
async fn seed(app: &TestApp) -> (String, String) {
    let store = app.state.store();
    // Views: 2 in WeChat and 1 on a kiosk at the township, 1 in a browser at 南岔村, 1 at 柳园镇,
    // 1 outside the county; a missing page and a form post are not views.
    assert_eq!(view(app, "/t/620922100", "Mozilla/5.0 MicroMessenger/8.0.50", false).await, 200);
    assert_eq!(view(app, "/t/620922100", "Mozilla/5.0 MicroMessenger/8.0.50", false).await, 200);
    assert_eq!(view(app, "/t/620922100/services", "KioskBrowser/1.0", true).await, 200);
    assert_eq!(view(app, "/t/620922100/subsidies?village=620922100200", "Mozilla/5.0 Chrome/120", false).await, 200);
    assert_eq!(view(app, "/t/620922101", "Mozilla/5.0 Chrome/120", false).await, 200);
    assert_eq!(view(app, "/t/620923100", "Mozilla/5.0 Chrome/120", false).await, 200);
    assert_eq!(view(app, "/t/620922100/v/620922100299", "Mozilla/5.0 Chrome/120", false).await, 404);
    assert_eq!(view(app, "/rosters/template.xlsx", "Mozilla/5.0 Chrome/120", false).await, 200);
    app.state.visits().flush(store).await.unwrap();

    // Followers: one bound to the township's only household, one not bound.
    let account = NewWechatAccount {
        township_code: TOWN.into(),
        appid: "wx0123456789abcdef".into(),
        secret_enc: vec![1],
        token_enc: vec![2],
        aes_key_enc: None,
        compatible: false,
    };
    store.save_wechat_account(&account, 1).await.unwrap();
    let household = store.households_headed_by(NANCHA, "张建国").await.unwrap()[0].id;
    store.bind_follower(TOWN, "o-bound", household, 1).await.unwrap();
    store.follower_subscribed(TOWN, "o-unbound", 1).await.unwrap();

    // One published roster at 南岔村.
    let clerk = app.login_as(Role::VillageClerk).await;
    let reviewer = app.login_as(Role::TownshipReviewer).await;
    let fields = vec![
        ("programme_id", app.programme().await.to_string()),
        ("org_code", NANCHA.into()),
        ("year", "2024".into()),
        ("phase", "proposed".into()),
    ];
    let roster = app.import_roster(&clerk, &fields, roster_csv(&[("张三", person_id(1), "600")])).await;
    app.publish(&clerk, &reviewer, roster).await;

    // A question (and one outside the county), and a report.
    let [question, _] = crate::messages::seed_messages(app).await;
    let report = report(app).await;

    // Cases: one not yet due (from the shared seed), one contacted in an hour, completed in two
    // days and rated 满意, one contacted late and still open.
    let ([item, _], _) = crate::services::seed_cases(app).await;
    let now = app.state.now();
    let good = case(app, item, 1, now - 10 * DAY).await;
    let contacted = CaseChange { contacted: true, ..CaseChange::default() };
    change(app, good, CaseStatus::Submitted, CaseAction::Contact, contacted.clone(), now - 10 * DAY + 3600).await;
    let done = CaseChange { completed_reply: Some("已办结".into()), ..CaseChange::default() };
    change(app, good, CaseStatus::InProgress, CaseAction::Complete, done, now - 8 * DAY).await;
    let rated = CaseChange {
        rating: Some(xiaowei_core::tracked::Rating {
            satisfaction: xiaowei_core::tracked::Satisfaction::Satisfied,
            comment: String::new(),
        }),
        ..CaseChange::default()
    };
    change(app, good, CaseStatus::Completed, CaseAction::Rate(Satisfaction::Satisfied), rated, now - 7 * DAY).await;
    let late = case(app, item, 2, now - 5 * DAY).await;
    change(app, late, CaseStatus::Submitted, CaseAction::Contact, contacted, now - 3 * DAY).await;
    (question, report)
}

async fn xlsx(client: &reqwest::Client, url: String) -> Vec<Vec<String>> {
    let response = client.get(url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap().contains("spreadsheetml"));
    xiaowei_sheets::read_grid(&response.bytes().await.unwrap()).unwrap()
}

fn row<'a>(grid: &'a [Vec<String>], name: &str) -> &'a [String] {
    grid.iter().find(|r| r.first().is_some_and(|c| c == name)).unwrap_or_else(|| panic!("no row {name}: {grid:?}"))
}

both_backends!(the_figures_count_known_activity_exactly_in_scope, |app: TestApp| async move {
    let (question, report) = seed(&app).await;
    let supervisor = app.login_as(Role::Supervisor).await;

    let grid = xlsx(&supervisor, app.url("/staff/monitor/export")).await;
    assert_eq!(grid[3][..6], ["单位", "代码", "访问量", "近7日访问", "较前7日", "近7日访客"]);
    let town = row(&grid, "渊泉镇");
    let expected = [
        "渊泉镇",
        TOWN,
        "4",
        "4",
        "新增",
        "3",
        "2",
        "1",
        "1",
        "100.0%",
        "4.00",
        "1",
        "0",
        "0",
        "2",
        "3",
        "50.0%（样本2）",
        "100.0%（样本1）",
        "2.0 天",
        "100.0%（样本1）",
        "样本不足，不排名",
    ];
    assert_eq!(town, expected);
    let liuyuan = row(&grid, "柳园镇");
    assert_eq!(liuyuan[2..6], ["1", "1", "新增", "1"]);
    assert_eq!(liuyuan[16], "—（样本0）");
    assert_eq!(row(&grid, "合计")[2], "5", "the foreign county stays out");
    assert!(grid.iter().all(|r| r.first().is_none_or(|c| c != "外乡")));

    let page = supervisor.get(app.url("/staff/monitor")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("<svg class=\"chart\"") && page.contains("各乡镇累计访问量"), "{page}");
    assert!(page.contains("/staff/monitor/townships/620922100"));

    // The village table: 南岔村's own figures.
    let villages = xlsx(&supervisor, app.url("/staff/monitor/townships/620922100/export")).await;
    let nancha = row(&villages, "南岔村");
    assert_eq!(nancha[2..12], ["1", "1", "新增", "1", "1", "1", "1", "100.0%", "1.00", "1"]);
    assert_eq!(nancha[14..16], ["2", "3"]);
    assert_eq!(row(&villages, "合计")[5], "3", "the township's visitors, each counted once");

    // A township account sees its own township only; reports are left out of its count.
    let admin = app.login_as(Role::TownshipAdmin).await;
    assert_eq!(admin.get(app.url("/staff/monitor/townships/620922101")).send().await.unwrap().status(), 403);
    let own = xlsx(&admin, app.url("/staff/monitor/export")).await;
    assert_eq!(row(&own, "渊泉镇")[14], "1");
    assert!(own.iter().all(|r| r.first().is_none_or(|c| c != "柳园镇")));
    let clerk = app.login_as(Role::VillageClerk).await;
    assert_eq!(clerk.get(app.url("/staff/monitor")).send().await.unwrap().status(), 403);

    // Drill-down: the messages behind the figure, the report for the commission only.
    let list = admin.get(app.url("/staff/monitor/list/620922100/messages")).send().await.unwrap().text().await.unwrap();
    assert!(list.contains(&question) && !list.contains(&report), "{list}");
    let list =
        supervisor.get(app.url("/staff/monitor/list/620922100/messages")).send().await.unwrap().text().await.unwrap();
    assert!(list.contains(&question) && list.contains(&report) && list.contains("共2条"), "{list}");
    let visits = xlsx(&supervisor, app.url("/staff/monitor/list/620922100/visits/export")).await;
    let mut seen: Vec<(String, String, String)> =
        visits[3..].iter().map(|r| (r[2].clone(), r[3].clone(), r[4].clone())).collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            ("惠农资金".to_owned(), "浏览器".to_owned(), "1".to_owned()),
            ("我要办事".into(), "触摸终端".into(), "1".into()),
            ("首页/搜索".into(), "微信".into(), "2".into()),
        ]
    );
    let cases =
        supervisor.get(app.url("/staff/monitor/list/620922100200/cases")).send().await.unwrap().text().await.unwrap();
    assert!(cases.contains("BJ20251010000001") && cases.contains("超时") && cases.contains("共3条"), "{cases}");
    assert_eq!(supervisor.get(app.url("/staff/monitor/list/620922100/nothing")).send().await.unwrap().status(), 404);

    // The weekly summary of the week containing the late case's submission.
    let week = xiaowei_core::monitor::shanghai_day(app.state.now() - 5 * DAY);
    let weekly = supervisor
        .get(app.url(&format!("/staff/monitor/weekly/620922100?week={week}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(weekly.contains("运行周报") && weekly.contains("统计周期"), "{weekly}");
    assert!(!weekly.contains("/staff/monitor/list/"), "a week's figures do not lead to all-time lists");
    let summary = xlsx(&supervisor, app.url(&format!("/staff/monitor/weekly/620922100/export?week={week}"))).await;
    assert!(row(&summary, "渊泉镇")[15].parse::<i64>().unwrap() >= 1, "the late case was submitted that week");
    let bad = supervisor.get(app.url("/staff/monitor/weekly/620922100?week=yesterday")).send().await.unwrap();
    assert_eq!(bad.status(), 400);
});
