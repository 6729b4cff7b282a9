//! Staff login, sessions, CSRF, double submits, audit and personal data at rest.

use xiaowei_core::Role;

use crate::helpers::{PASSWORD, TestApp, both_backends, hidden};

both_backends!(login_logout_and_wrong_passwords, |app: TestApp| async move {
    let client = TestApp::client();
    assert_eq!(client.get(app.url("/staff")).send().await.unwrap().headers()["location"], "/staff/login");
    let csrf = app.csrf(&client, "/staff/login").await;
    let wrong = client
        .post(app.url("/staff/login"))
        .form(&[("csrf", csrf.as_str()), ("username", "supervisor"), ("password", "nope-nope")])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    assert!(wrong.text().await.unwrap().contains("用户名或密码不正确"));

    let client = app.login_as(Role::Supervisor).await;
    let home = client.get(app.url("/staff")).send().await.unwrap().text().await.unwrap();
    assert!(home.contains("县纪委监委") && home.contains("审计日志"));
    let csrf = hidden(&home, "csrf").unwrap();
    let out = client.post(app.url("/staff/logout")).form(&[("csrf", csrf.as_str())]).send().await.unwrap();
    assert_eq!(out.status(), 303);
    assert_eq!(client.get(app.url("/staff")).send().await.unwrap().status(), 303, "the session is gone");
});

both_backends!(repeated_failures_lock_the_account_for_a_while, |app: TestApp| async move {
    let client = TestApp::client();
    let csrf = app.csrf(&client, "/staff/login").await;
    for _ in 0..5 {
        let r = client
            .post(app.url("/staff/login"))
            .form(&[("csrf", csrf.as_str()), ("username", "county_admin"), ("password", "guess-guess")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
    }
    let locked = client
        .post(app.url("/staff/login"))
        .form(&[("csrf", csrf.as_str()), ("username", "county_admin"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(locked.status(), 429, "even the right password waits");
    assert!(locked.text().await.unwrap().contains("15分钟"));
    app.login_as(Role::Supervisor).await;
});

both_backends!(forms_without_the_csrf_token_or_from_other_sites_are_refused, |app: TestApp| async move {
    let client = app.login_as(Role::CountyAdmin).await;
    let no_token = client
        .post(app.url("/staff/departments"))
        .form(&[("name", "新部门"), ("form_key", "0123456789abcdef0")])
        .send()
        .await
        .unwrap();
    assert_eq!(no_token.status(), 403);
    let csrf = app.csrf(&client, "/staff/login").await;
    let cross = client
        .post(app.url("/staff/departments"))
        .header("sec-fetch-site", "cross-site")
        .form(&[("csrf", csrf.as_str()), ("name", "新部门"), ("form_key", "0123456789abcdef0")])
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), 403);
    let stranger = TestApp::client();
    let forged = stranger
        .post(app.url("/staff/login"))
        .form(&[("csrf", csrf.as_str()), ("username", "x"), ("password", "y")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403, "a token without its cookie is worthless");
    assert!(app.state.store().departments().await.unwrap().iter().all(|d| d.name != "新部门"));
});

both_backends!(a_double_submitted_form_acts_once, |app: TestApp| async move {
    let client = app.login_as(Role::CountyAdmin).await;
    let page = client.get(app.url("/staff/users")).send().await.unwrap().text().await.unwrap();
    let csrf = hidden(&page, "csrf").unwrap();
    let key = page.split("name=\"form_key\" value=\"").last().unwrap().split('"').next().unwrap().to_owned();
    let form = [
        ("csrf", csrf.as_str()),
        ("form_key", key.as_str()),
        ("username", "wangwu"),
        ("display_name", "王五"),
        ("role", "village_clerk"),
        ("org_code", "620922101200"),
        ("department_id", ""),
        ("password", "longenough1"),
    ];
    let first = client.post(app.url("/staff/users")).form(&form).send().await.unwrap();
    assert_eq!(first.headers()["location"], "/staff/users?done=created");
    let second = client.post(app.url("/staff/users")).form(&form).send().await.unwrap();
    assert_eq!(second.headers()["location"], "/staff/users?done=repeat");
    let listed = client.get(app.url("/staff/users?done=repeat")).send().await.unwrap().text().await.unwrap();
    assert_eq!(listed.matches("<td>wangwu</td>").count(), 1);
    assert!(listed.contains("未重复处理"));
    app.login("wangwu", "longenough1").await;
});

/// A form post: path, fields, and the words the refusal must contain.
type BadInput = (&'static str, Vec<(&'static str, &'static str)>, &'static str);

both_backends!(bad_input_names_the_field_and_writes_nothing, |app: TestApp| async move {
    let client = app.login_as(Role::CountyAdmin).await;
    let cases: &[BadInput] = &[
        (
            "/staff/orgs/620922100200001/households",
            vec![("household_no", "H9"), ("head_name", "赵六"), ("members", "很多")],
            "家庭人口",
        ),
        (
            "/staff/orgs/620922100200001/households",
            vec![("household_no", "H001"), ("head_name", "赵六"), ("members", "2")],
            "已登记",
        ),
        ("/staff/orgs/620922100200/groups", vec![("group_no", "1"), ("name", "一组")], "小组编号"),
        ("/staff/orgs/620922100/groups", vec![("group_no", "001"), ("name", "一组")], "只能在村"),
        ("/staff/departments/1/contacts", vec![("position", "head"), ("name", "钱七"), ("phone", "12345")], "手机号"),
        (
            "/staff/users",
            vec![
                ("username", "a"),
                ("display_name", "x"),
                ("role", "village_clerk"),
                ("org_code", "620922100200"),
                ("password", "longenough1"),
            ],
            "用户名",
        ),
        (
            "/staff/users",
            vec![
                ("username", "abc"),
                ("display_name", "x"),
                ("role", "village_clerk"),
                ("org_code", "620922100"),
                ("password", "longenough1"),
            ],
            "应属于",
        ),
        (
            "/staff/users",
            vec![
                ("username", "abc"),
                ("display_name", "x"),
                ("role", "village_clerk"),
                ("org_code", "620922100200"),
                ("password", "short"),
            ],
            "至少需要8个字符",
        ),
        (
            "/staff/users",
            vec![
                ("username", "abc"),
                ("display_name", "x"),
                ("role", "department_officer"),
                ("org_code", "620922"),
                ("password", "longenough1"),
            ],
            "所属部门",
        ),
        ("/staff/users/abc/disable", vec![], "格式不正确"),
    ];
    for (path, fields, expected) in cases {
        let response = app.post_form(&client, path, fields).await;
        let status = response.status().as_u16();
        let html = response.text().await.unwrap();
        assert!((400..500).contains(&status), "{path}: {status}");
        assert!(html.contains(expected), "{path}: expected {expected} in {html}");
    }
    assert_eq!(app.state.store().org_counts("620922").await.unwrap().households, 1);
    assert!(app.state.store().find_staff_by_username("abc").await.unwrap().is_none());
});

both_backends!(changes_and_views_of_personal_data_are_audited, |app: TestApp| async move {
    let admin = app.login_as(Role::CountyAdmin).await;
    let response = app
        .post_form(
            &admin,
            &format!("/staff/departments/{}/contacts", app.own_department),
            &[("position", "officer"), ("name", "孙八"), ("phone", "13800001234")],
        )
        .await;
    assert_eq!(response.status(), 303);
    let page = admin
        .get(app.url(&format!("/staff/departments/{}", app.own_department)))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("13800001234"), "authorised staff see the full number");
    let response = app
        .post_form(
            &admin,
            "/staff/orgs/620922100200001/households",
            &[("household_no", "H002"), ("head_name", "赵六"), ("members", "3")],
        )
        .await;
    assert_eq!(response.status(), 303);

    let supervisor = app.login_as(Role::Supervisor).await;
    let audit = supervisor.get(app.url("/staff/audit")).send().await.unwrap().text().await.unwrap();
    for action in ["department.add_contact", "pii.view", "household.add"] {
        assert!(audit.contains(action), "{action} missing from the audit log");
    }
    assert!(audit.contains("138****1234") && !audit.contains("13800001234"), "the audit log masks phones");

    let township = app.login_as(Role::TownshipAdmin).await;
    assert_eq!(township.get(app.url("/staff/audit")).send().await.unwrap().status(), 403);

    if let Some(file) = &app.sqlite_file {
        app.state.store().close().await;
        let mut bytes = std::fs::read(file).unwrap();
        if let Ok(wal) = std::fs::read(file.with_extension("db-wal")) {
            bytes.extend(wal);
        }
        for phone in ["13800001234", "13909370001"] {
            assert!(!bytes.windows(phone.len()).any(|w| w == phone.as_bytes()), "{phone} stored in clear");
        }
    }
});

both_backends!(a_disabled_account_is_logged_out_and_cannot_log_in, |app: TestApp| async move {
    let clerk = app.login("clerk2", PASSWORD).await;
    let admin = app.login_as(Role::TownshipAdmin).await;
    let id = app.state.store().find_staff_by_username("clerk2").await.unwrap().unwrap().id;
    let response = app.post_form(&admin, &format!("/staff/users/{id}/disable"), &[]).await;
    assert_eq!(response.status(), 303);
    assert_eq!(clerk.get(app.url("/staff")).send().await.unwrap().status(), 303);
    let again = TestApp::client();
    let csrf = app.csrf(&again, "/staff/login").await;
    let r = again
        .post(app.url("/staff/login"))
        .form(&[("csrf", csrf.as_str()), ("username", "clerk2"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let response = app.post_form(&admin, &format!("/staff/users/{id}/password"), &[("password", "brand-new-1")]).await;
    assert_eq!(response.status(), 303);
    let response = app.post_form(&admin, &format!("/staff/users/{id}/enable"), &[]).await;
    assert_eq!(response.status(), 303);
    app.login("clerk2", "brand-new-1").await;
});
