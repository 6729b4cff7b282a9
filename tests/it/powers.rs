//! 小微权力 over HTTP: the public catalogue per township and village (a local item only in its
//! subtree), a record's timeline flagging a late and a skipped step, named errors for bad input,
//! and a double submit acting once.

use xiaowei_core::Role;
use xiaowei_core::power::{ProcedureStep, RiskPoint};
use xiaowei_store::{NewPowerExercise, NewPowerItem, NewPowerStepRecord};

use crate::helpers::{TestApp, both_backends};

fn new_item(org_code: &str, name: &str) -> NewPowerItem {
    let step = |actor: &str, days| ProcedureStep {
        actor: actor.into(),
        action: format!("{actor}办理"),
        limit_days: days,
        publishes: String::new(),
    };
    NewPowerItem {
        org_code: org_code.into(),
        category: xiaowei_core::power::PowerCategory::Project,
        name: name.into(),
        basis: "《村民委员会组织法》".into(),
        materials: "申请书".into(),
        responsible: "村委会主任".into(),
        total_days: 15,
        steps: vec![step("村两委", 3), step("村民代表会议", 5), step("乡镇政府", 7)],
        risks: vec![RiskPoint { risk: "暗箱操作".into(), supervision: "乡镇纪委监督".into() }],
        duties: Vec::new(),
        accountability: Vec::new(),
        created_by: None,
    }
}

/// A catalogue item at `county` and a draft record of it in `village` with step 1 done;
/// everything is named 外村… in the foreign county so listings can be checked for leaks.
pub async fn seed_power(app: &TestApp, county: &str, village: &str) -> (i64, i64) {
    let store = app.state.store();
    let foreign = county != "620922";
    let name = if foreign { "外村事项" } else { "村级工程项目招投标" };
    let item = store.add_power_item(&new_item(county, name), 1).await.unwrap();
    let user = if foreign { "foreign" } else { "clerk2" };
    let by = store.find_staff_by_username(user).await.unwrap().unwrap().id;
    let new = NewPowerExercise {
        item_id: item,
        org_code: village.into(),
        title: if foreign { "外村记录".into() } else { "2025年村道硬化工程招标".into() },
        started_on: "2025-01-01".into(),
        created_by: by,
    };
    let record = store.open_power_exercise(&new, 1).await.unwrap();
    let step = NewPowerStepRecord {
        exercise_id: record,
        step_no: 1,
        done_on: "2025-01-02".into(),
        actor_name: "王主任".into(),
        action: "提出项目".into(),
        decision: String::new(),
        recorded_by: by,
    };
    store.record_power_step(&step, 1).await.unwrap();
    (item, record)
}

/// The form of a power creation route for the access matrix.
pub fn power_form(path: &str, org: &str, role: Role, own: &(i64, i64)) -> Vec<(&'static str, String)> {
    if path == "/staff/powers" {
        vec![
            ("org_code", org.into()),
            ("category", "project".into()),
            ("name", format!("测试事项{}", role.as_str())),
            ("basis", "测试依据".into()),
            ("responsible", "村委会主任".into()),
            ("step1_actor", "村委会".into()),
            ("step1_action", "受理".into()),
            ("step1_days", "3".into()),
        ]
    } else {
        vec![
            ("org_code", org.into()),
            ("item_id", own.0.to_string()),
            ("title", format!("测试记录{}", role.as_str())),
            ("started_on", "2025-01-01".into()),
        ]
    }
}

pub fn step_form(step_no: usize) -> Vec<(&'static str, String)> {
    vec![
        ("step_no", step_no.to_string()),
        ("done_on", "2025-01-03".into()),
        ("actor_name", "李会计".into()),
        ("action", "召开会议".into()),
    ]
}

async fn text(app: &TestApp, path: &str) -> (u16, String) {
    let r = TestApp::client().get(app.url(path)).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

both_backends!(the_catalogue_shows_local_items_only_in_their_subtree, |app: TestApp| async move {
    let store = app.state.store();
    store.add_power_item(&new_item("620922", "村级工程项目招投标"), 1).await.unwrap();
    store.add_power_item(&new_item("620922100200", "南岔村本村事项"), 1).await.unwrap();
    let (status, village) = text(&app, "/t/620922100/powers?village=620922100200").await;
    assert_eq!(status, 200);
    assert!(village.contains("村级工程项目招投标") && village.contains("南岔村本村事项"));
    let (_, township) = text(&app, "/t/620922100/powers").await;
    assert!(township.contains("村级工程项目招投标") && !township.contains("南岔村本村事项"));
    let (_, other) = text(&app, "/t/620922101/powers?village=620922101200").await;
    assert!(other.contains("村级工程项目招投标") && !other.contains("南岔村本村事项"));
    let (status, _) = text(&app, "/t/620922101/powers?village=620922100200").await;
    assert_eq!(status, 404, "a village of another township");
    let id = store.find_power_item_by_name("620922", "村级工程项目招投标").await.unwrap().unwrap().id;
    let (status, item) = text(&app, &format!("/powers/{id}")).await;
    assert_eq!(status, 200);
    assert!(item.contains("<svg") && item.contains("第3步 乡镇政府 · 时限7天") && item.contains("暗箱操作"));
});

both_backends!(a_record_timeline_flags_late_and_skipped_steps, |app: TestApp| async move {
    let (item, record) = seed_power(&app, "620922", "620922100200").await;
    let clerk = app.login_as(Role::VillageClerk).await;
    let (status, _) = text(&app, &format!("/power-records/{record}")).await;
    assert_eq!(status, 404, "a draft is not public");
    // Step 2 is skipped; step 3 (limit 7) is done 9 days after step 1: late.
    let steps = [("step_no", "3"), ("done_on", "2025-01-11"), ("actor_name", "乡镇干部"), ("action", "审核")];
    let r = app.post_form(&clerk, &format!("/staff/power-records/{record}/steps"), &steps).await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let r = app.post_form(&clerk, &format!("/staff/power-records/{record}/publish"), &[]).await;
    assert_eq!(r.status(), 303);
    let (status, html) = text(&app, &format!("/power-records/{record}")).await;
    assert_eq!(status, 200);
    assert!(html.contains("跳过未办") && html.contains("超时办理") && html.contains("超出时限2天"), "{html}");
    let flags = app
        .state
        .store()
        .power_flags_within("620922", xiaowei_core::power::parse_day("2025-02-01").unwrap())
        .await
        .unwrap();
    assert_eq!((flags[0].late, flags[0].skipped), (1, 1));
    let (_, item_page) = text(&app, &format!("/powers/{item}?village=620922100200")).await;
    assert!(item_page.contains("2025年村道硬化工程招标") && item_page.contains("⚠ 2个步骤异常"), "{item_page}");
    let (_, list) = text(&app, "/t/620922100/powers?village=620922100200").await;
    assert!(list.contains("⚠ 2个步骤异常"), "{list}");
});

both_backends!(bad_input_is_named_and_a_double_submit_acts_once, |app: TestApp| async move {
    let (item, record) = seed_power(&app, "620922", "620922100200").await;
    let clerk = app.login_as(Role::VillageClerk).await;
    let bad = [("step_no", "2"), ("done_on", "昨天"), ("actor_name", "王"), ("action", "办理")];
    let r = app.post_form(&clerk, &format!("/staff/power-records/{record}/steps"), &bad).await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("办理日期"));
    let early = [("step_no", "2"), ("done_on", "2024-12-01"), ("actor_name", "王"), ("action", "办理")];
    let r = app.post_form(&clerk, &format!("/staff/power-records/{record}/steps"), &early).await;
    assert!(r.text().await.unwrap().contains("不能早于上一步"));
    let no_steps = [
        ("org_code", "620922100200"),
        ("category", "project"),
        ("name", "某事项"),
        ("basis", "依据"),
        ("responsible", "主任"),
        ("step1_actor", "村委会"),
        ("step1_action", "受理"),
        ("step1_days", "0"),
    ];
    let r = app.post_form(&clerk, "/staff/powers", &no_steps).await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("第1步：时限"));
    let r = app
        .post_form(
            &clerk,
            "/staff/power-records",
            &[
                ("org_code", "620922100200"),
                ("item_id", &item.to_string()),
                ("title", ""),
                ("started_on", "2025-01-01"),
            ],
        )
        .await;
    assert!(r.text().await.unwrap().contains("记录标题"));
    // The same form twice: one record.
    let csrf = app.csrf(&clerk, "/staff/login").await;
    let form = [
        ("csrf", csrf.as_str()),
        ("form_key", "0123456789abcdef0123"),
        ("org_code", "620922100200"),
        ("item_id", &item.to_string()),
        ("title", "重复提交测试"),
        ("started_on", "2025-01-01"),
    ];
    for _ in 0..2 {
        let r = clerk.post(app.url("/staff/power-records")).form(&form).send().await.unwrap();
        assert_eq!(r.status(), 303);
    }
    let all = app.state.store().power_exercises_within("620922100200", false, 10).await.unwrap();
    assert_eq!(all.iter().filter(|e| e.title == "重复提交测试").count(), 1);
    let audit = app.state.store().audit_entries("620922", 50, 0).await.unwrap();
    assert_eq!(audit.iter().filter(|a| a.action == "power.exercise.open").count(), 1);
});
