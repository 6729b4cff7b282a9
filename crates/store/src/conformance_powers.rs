//! Conformance of the 小微权力 storage on both engines: catalogue visibility by subtree, one
//! record per step, compare-and-set publication, documents, and per-village flag counts.

use xiaowei_core::power::{ProcedureStep, RiskPoint, parse_day};
use xiaowei_core::power_lists::{Accountability, Duty};

use crate::conformance::{conformance, small_tree, user, with_postgres, with_sqlite};
use crate::{NewPowerDocument, NewPowerExercise, NewPowerItem, NewPowerStepRecord, NewServiceLink, Store, StoreError};

fn item(org_code: &str, name: &str, limits: &[u16]) -> NewPowerItem {
    NewPowerItem {
        org_code: org_code.into(),
        category: "project".parse().expect("a category code"),
        name: name.into(),
        basis: "《村民委员会组织法》".into(),
        materials: "申请书\n预算".into(),
        responsible: "村委会主任".into(),
        total_days: limits.iter().map(|d| i64::from(*d)).sum(),
        steps: limits
            .iter()
            .enumerate()
            .map(|(i, d)| ProcedureStep {
                actor: format!("主体{i}"),
                action: format!("事项{i}"),
                limit_days: *d,
                publishes: String::new(),
            })
            .collect(),
        risks: vec![RiskPoint { risk: "暗箱操作".into(), supervision: "乡镇纪委全程监督".into() }],
        duties: Vec::new(),
        accountability: Vec::new(),
        created_by: None,
    }
}

fn step(exercise_id: i64, step_no: i64, done_on: &str, by: i64) -> NewPowerStepRecord {
    NewPowerStepRecord {
        exercise_id,
        step_no,
        done_on: done_on.into(),
        actor_name: "王主任".into(),
        action: "办理".into(),
        decision: String::new(),
        recorded_by: by,
    }
}

conformance!(catalogue_items_apply_down_their_subtree_only, |store: Store| async move {
    small_tree(&store).await;
    let county = store.add_power_item(&item("620922", "村级工程项目招投标", &[3, 5]), 1).await.unwrap();
    let town = store.add_power_item(&item("620922100", "镇级事项", &[2]), 1).await.unwrap();
    let village = store.add_power_item(&item("620922100200", "南岔村本村事项", &[2]), 1).await.unwrap();
    let ids = |items: Vec<crate::PowerItem>| items.into_iter().map(|i| i.id).collect::<Vec<_>>();
    assert_eq!(ids(store.power_items_for("620922100200").await.unwrap()), [county, town, village]);
    assert_eq!(ids(store.power_items_for("620922100").await.unwrap()), [county, town]);
    assert_eq!(ids(store.power_items_for("620922101200").await.unwrap()), [county]);
    assert_eq!(ids(store.power_items_within("620922100").await.unwrap()), [county, town, village]);
    assert_eq!(store.power_item_steps(county).await.unwrap().len(), 2);
    assert_eq!(store.power_item_risks(county).await.unwrap()[0].risk, "暗箱操作");
    assert!(matches!(
        store.add_power_item(&item("620922", "村级工程项目招投标", &[1]), 2).await,
        Err(StoreError::Duplicate { .. })
    ));
    assert_eq!(
        store.find_power_item_by_name("620922", "村级工程项目招投标").await.unwrap().map(|i| i.id),
        Some(county)
    );
});

conformance!(an_exercise_records_each_step_once_and_publishes_once, |store: Store| async move {
    small_tree(&store).await;
    let clerk = store.create_staff_user(&user("clerk", "village_clerk", "620922100200"), 1).await.unwrap();
    let item_id = store.add_power_item(&item("620922", "村级工程项目招投标", &[3, 5, 7]), 1).await.unwrap();
    let new = NewPowerExercise {
        item_id,
        org_code: "620922100200".into(),
        title: "2025年村道硬化工程招标".into(),
        started_on: "2025-03-01".into(),
        created_by: clerk,
    };
    let id = store.open_power_exercise(&new, 10).await.unwrap();
    assert!(matches!(store.open_power_exercise(&new, 11).await, Err(StoreError::Duplicate { .. })));
    let first = store.record_power_step(&step(id, 1, "2025-03-02", clerk), 12).await.unwrap();
    assert!(matches!(
        store.record_power_step(&step(id, 1, "2025-03-03", clerk), 13).await,
        Err(StoreError::Duplicate { .. })
    ));
    assert!(store.power_exercises_within("620922100", true, 10).await.unwrap().is_empty(), "drafts are not public");
    store.publish_power_exercise(id, 14).await.unwrap();
    assert!(matches!(store.publish_power_exercise(id, 15).await, Err(StoreError::Stale(_))));
    let found = store.find_power_exercise(id).await.unwrap().unwrap();
    assert!(found.is_published());
    assert_eq!(found.item_name, "村级工程项目招投标");
    assert_eq!(store.power_exercises_within("620922100", true, 10).await.unwrap().len(), 1);
    assert_eq!(store.public_exercises_of_item(item_id, "620922101").await.unwrap().len(), 0);
    let doc = NewPowerDocument {
        exercise_id: id,
        step_id: Some(first),
        sha256: "ab".repeat(32),
        size: 10,
        content_type: "application/pdf".into(),
        original_name: "会议纪要.pdf".into(),
        uploaded_by: clerk,
    };
    let doc_id = store.add_power_document(&doc, 16).await.unwrap();
    assert!(matches!(store.add_power_document(&doc, 17).await, Err(StoreError::Duplicate { .. })));
    assert_eq!(store.power_documents(id).await.unwrap()[0].id, doc_id);
    assert_eq!(store.find_power_document(doc_id).await.unwrap().map(|d| d.step_id), Some(Some(first)));
    assert_eq!(store.power_step_records(id).await.unwrap().len(), 1);
});

conformance!(flag_counts_are_per_village_and_only_for_published_exercises, |store: Store| async move {
    small_tree(&store).await;
    let clerk = store.create_staff_user(&user("clerk", "village_clerk", "620922100200"), 1).await.unwrap();
    let item_id = store.add_power_item(&item("620922", "四议两公开", &[3, 5, 7]), 1).await.unwrap();
    let mut ids = Vec::new();
    for (village, title) in [("620922100200", "甲"), ("620922100200", "乙"), ("620922101200", "丙")] {
        let new = NewPowerExercise {
            item_id,
            org_code: village.into(),
            title: title.into(),
            started_on: "2025-03-01".into(),
            created_by: clerk,
        };
        ids.push(store.open_power_exercise(&new, 1).await.unwrap());
    }
    // 甲: step 2 late (8 days > 5), step 3 on time. 乙: step 2 skipped. 丙: a draft, not counted.
    for (id, no, day) in
        [(ids[0], 1, "2025-03-02"), (ids[0], 2, "2025-03-10"), (ids[0], 3, "2025-03-11"), (ids[1], 1, "2025-03-02")]
    {
        store.record_power_step(&step(id, no, day, clerk), 2).await.unwrap();
    }
    store.record_power_step(&step(ids[1], 3, "2025-03-04", clerk), 2).await.unwrap();
    store.record_power_step(&step(ids[2], 2, "2025-03-30", clerk), 2).await.unwrap();
    store.publish_power_exercise(ids[0], 3).await.unwrap();
    store.publish_power_exercise(ids[1], 3).await.unwrap();
    let today = parse_day("2025-04-01").unwrap();
    let flags = store.power_flags_within("620922", today).await.unwrap();
    assert_eq!(flags.len(), 1);
    assert_eq!(flags[0].org_code, "620922100200");
    assert_eq!((flags[0].exercises, flags[0].late, flags[0].skipped, flags[0].overdue), (2, 1, 1, 0));
    assert!(store.power_flags_within("620922101", today).await.unwrap().is_empty());
    // Per exercise for a list: 甲 late once, 乙 skipped once; 丙 twice (step 1 skipped, step 2
    // late) counted as listed, published or not; an empty list reads nothing.
    let mut listed = Vec::new();
    for id in [ids[1], ids[0], ids[2]] {
        listed.push(store.find_power_exercise(id).await.unwrap().unwrap());
    }
    assert_eq!(store.power_flagged_steps(&listed, today).await.unwrap(), vec![1, 1, 2]);
    assert!(store.power_flagged_steps(&[], today).await.unwrap().is_empty());
});

conformance!(lists_make_a_new_version_and_every_leaf_still_verifies, |store: Store| async move {
    small_tree(&store).await;
    let id = store.add_power_item(&item("620922", "集体资产资源出租出让", &[3, 5]), 1).await.unwrap();
    let first = store.latest_leaf_of("power_item", id).await.unwrap().unwrap();
    assert_eq!((first.version, first.event.as_str()), (1, "add"));
    assert!(!String::from_utf8_lossy(&first.content).contains("duties_sha256"));
    assert_eq!(store.rederive_leaf(&first).await.unwrap(), Some(first.content.clone()));
    let duties = vec![
        Duty { step_no: 1, bearer: "村委会主任".into(), duty: "对出租方案的合规性负责".into() },
        Duty { step_no: 2, bearer: "村务监督委员会".into(), duty: "监督竞价过程".into() },
    ];
    let acc = vec![Accountability {
        breach: "未经村民代表会议决议擅自出租".into(),
        measure: "责令纠正，诫勉谈话".into(),
        basis: "《中国共产党问责条例》".into(),
    }];
    assert_eq!(store.set_power_item_lists(id, 1, &duties, &acc, 2).await.unwrap(), 2);
    assert!(matches!(store.set_power_item_lists(id, 1, &duties, &acc, 3).await, Err(StoreError::Stale(_))));
    assert_eq!(store.power_item_duties(id).await.unwrap(), duties);
    assert_eq!(store.power_item_accountability(id).await.unwrap(), acc);
    assert_eq!(store.find_power_item(id).await.unwrap().unwrap().version, 2);
    let second = store.latest_leaf_of("power_item", id).await.unwrap().unwrap();
    assert_eq!((second.version, second.event.as_str()), (2, "update"));
    let text = String::from_utf8_lossy(&second.content).into_owned();
    assert!(text.contains("duties_sha256=") && text.contains("accountability_sha256="));
    assert_eq!(store.rederive_leaf(&second).await.unwrap(), Some(second.content.clone()));
    // The first leaf's lists are gone from the database: only its hash is checked.
    assert_eq!(store.rederive_leaf(&first).await.unwrap(), None);
    assert!(store.ledger_gaps().await.unwrap().iter().all(|(kind, _, _)| kind != "power_item"));
    // A list changed behind the application's back no longer rebuilds the leaf.
    sqlx::query("UPDATE power_item_accountability SET measure = '不予追究' WHERE item_id = $1")
        .bind(id)
        .execute(&store.pool)
        .await
        .unwrap();
    assert_ne!(store.rederive_leaf(&second).await.unwrap(), Some(second.content));
});

conformance!(service_links_show_county_tiles_then_the_townships_own, |store: Store| async move {
    small_tree(&store).await;
    let by = store.create_staff_user(&user("linkadmin", "county_admin", "620922"), 1).await.unwrap();
    let link = |org: &str, name: &str, position: i64| NewServiceLink {
        org_code: org.into(),
        name: name.into(),
        icon: "health".parse().expect("an icon name"),
        url: "https://fuwu.nhsa.gov.cn/".into(),
        description: "医保查询".into(),
        position,
        created_by: by,
    };
    let b = store.add_service_link(&link("620922", "医保服务", 2), 1).await.unwrap();
    let a = store.add_service_link(&link("620922", "政务服务", 1), 1).await.unwrap();
    let t = store.add_service_link(&link("620922100", "镇缴费", 1), 1).await.unwrap();
    let ids = |rows: Vec<crate::ServiceLinkRow>| rows.into_iter().map(|r| r.id).collect::<Vec<_>>();
    assert_eq!(ids(store.service_links_for("620922100200").await.unwrap()), [a, b, t]);
    assert_eq!(ids(store.service_links_for("620922101").await.unwrap()), [a, b]);
    assert_eq!(ids(store.service_links_within("620922").await.unwrap()), [a, b, t]);
    assert!(matches!(
        store.add_service_link(&link("620922", "医保服务", 3), 2).await,
        Err(StoreError::Duplicate { .. })
    ));
    store.update_service_link(t, &link("620922100", "镇缴费", 0), 3).await.unwrap();
    assert_eq!(store.find_service_link(t).await.unwrap().unwrap().position, 0);
    assert!(store.delete_service_link(t).await.unwrap());
    assert!(!store.delete_service_link(t).await.unwrap());
    assert!(matches!(
        store.update_service_link(t, &link("620922100", "镇缴费", 0), 4).await,
        Err(StoreError::NotFound)
    ));
});
