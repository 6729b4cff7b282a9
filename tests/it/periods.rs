//! Roster periods and standards at the import form: one month spelt two ways is one period for
//! the cross-roster duplicate check; a period text that reads as no kind is refused; a per-亩
//! programme allows area × standard; a paid roster's date may not lie in the future.

use xiaowei_core::Role;

use crate::helpers::{TestApp, both_backends, hidden, person_id, roster_csv};

const VILLAGE: &str = "620922100200";

fn fields(programme: i64, year: i64, period: &str) -> Vec<(&'static str, String)> {
    vec![
        ("programme_id", programme.to_string()),
        ("org_code", VILLAGE.into()),
        ("year", year.to_string()),
        ("period", period.into()),
        ("phase", "proposed".into()),
    ]
}

both_backends!(one_month_spelt_two_ways_is_one_period_for_the_duplicate_check, |app: TestApp| async move {
    let clerk = app.login_as(Role::VillageClerk).await;
    let programme = app.programme().await;
    let first = app
        .import_roster(&clerk, &fields(programme, 2025, "2025年3月"), roster_csv(&[("张三", person_id(1), "600")]))
        .await;
    let stored = app.state.store().find_roster(first).await.unwrap().unwrap();
    assert_eq!((stored.period.as_str(), stored.period_kind.map(|k| k.as_str())), ("2025年3月", Some("month")));

    for respelt in ["2025年03月", "2025-03", "三月份"] {
        let html = app
            .upload(&clerk, &fields(programme, 2025, respelt), roster_csv(&[("张三", person_id(1), "600")]))
            .await
            .text()
            .await
            .unwrap();
        assert!(html.contains("此人已在南岔村同一项目同期花名册中"), "{respelt}: {html}");
        assert!(hidden(&html, "token").is_none(), "{respelt}: nothing to confirm");
    }
    // Another month is another period; the text is kept as typed.
    let april = app
        .import_roster(&clerk, &fields(programme, 2025, "2025年04月"), roster_csv(&[("张三", person_id(1), "600")]))
        .await;
    assert_eq!(app.state.store().find_roster(april).await.unwrap().unwrap().period, "2025年04月");
});

both_backends!(a_period_that_reads_as_no_kind_is_refused_naming_the_field, |app: TestApp| async move {
    let clerk = app.login_as(Role::VillageClerk).await;
    let programme = app.programme().await;
    for (text, words) in [("上半年", "无法识别"), ("2024年3月", "与所选年度2025年不一致")] {
        let r = app.upload(&clerk, &fields(programme, 2025, text), roster_csv(&[("张三", person_id(1), "600")])).await;
        assert_eq!(r.status(), 400, "{text}");
        let html = r.text().await.unwrap();
        assert!(html.contains("批次：") && html.contains(words), "{text}: {html}");
    }
});

both_backends!(a_per_mu_programme_allows_area_times_standard, |app: TestApp| async move {
    let store = app.state.store();
    let programme = store
        .create_programme(
            &xiaowei_store::NewProgramme {
                name: "草原生态保护补助奖励".into(),
                department_id: None,
                basis: "甘财农〔2021〕1号".into(),
                unit: xiaowei_core::subsidy::Unit::Mu,
                standard_fen: Some(950),
                rule: String::new(),
                recurring: true,
                from_year: Some(2021),
                to_year: Some(2025),
                publicity_days: 7,
                objection_reply_days: 5,
            },
            1,
        )
        .await
        .unwrap();
    let clerk = app.login_as(Role::VillageClerk).await;
    let csv = |lines: &[(&str, String, &str, &str)]| {
        let mut text = String::from("姓名,身份证号,面积（亩）,金额\n");
        for (name, id, area, amount) in lines {
            text.push_str(&format!("{name},{id},{area},{amount}\n"));
        }
        text.into_bytes()
    };
    let ok = csv(&[("张三", person_id(1), "2", "19.00"), ("李四", person_id(2), "1.5", "14.25")]);
    app.import_roster(&clerk, &fields(programme, 2025, "2025年度"), ok).await;

    let over = csv(&[("王五", person_id(3), "2", "19.01")]);
    let html = app.upload(&clerk, &fields(programme, 2024, ""), over).await.text().await.unwrap();
    assert!(html.contains("金额19.01元超过面积2亩×标准9.50元/亩＝19.00元"), "{html}");
    // Without an area column, a whole multiple passes (other amounts are left to screening rule 9).
    let whole = roster_csv(&[("赵六", person_id(4), "28.50")]);
    app.import_roster(&clerk, &fields(programme, 2023, ""), whole).await;
});

both_backends!(a_paid_roster_cannot_be_dated_in_the_future, |app: TestApp| async move {
    let clerk = app.login_as(Role::VillageClerk).await;
    let reviewer = app.login_as(Role::TownshipReviewer).await;
    let programme = app.programme().await;
    let proposed = app
        .import_roster(&clerk, &fields(programme, 2025, "2025年度"), roster_csv(&[("张三", person_id(1), "600")]))
        .await;
    app.publish(&clerk, &reviewer, proposed).await;
    let mut paid = fields(programme, 2025, "2025年度");
    paid[4] = ("phase", "paid".into());
    paid.push(("settles_id", proposed.to_string()));
    paid.push(("paid_on", "2099-01-01".into()));
    let r = app.upload(&clerk, &paid, roster_csv(&[("张三", person_id(1), "600")])).await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("发放日期：2099-01-01晚于今天"));
});
