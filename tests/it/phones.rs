//! Phones proven by SMS code over HTTP: a browser filing is sent to prove its phone first; a
//! wrong code says how many tries remain and the fifth spends it; a second code within a minute
//! is refused; the application goes under the proven phone and its confirmation text carries
//! the tracking number; 我的办件 lists the owner's own cases and messages in full and nobody
//! else's; a typed phone other than the proven one is refused; forgetting the phone ends it.

use crate::helpers::{TestApp, both_backends, hidden, shown_code};
use crate::services::{GOOD, apply, seed_cases};

fn location(r: &reqwest::Response) -> String {
    r.headers()["location"].to_str().unwrap().to_owned()
}

async fn text(client: &reqwest::Client, app: &TestApp, path: &str) -> String {
    client.get(app.url(path)).send().await.unwrap().text().await.unwrap()
}

/// Asks for a code for `phone`; answers the page.
async fn ask(app: &TestApp, client: &reqwest::Client, phone: &str) -> String {
    let csrf = hidden(&text(client, app, "/phone").await, "csrf").unwrap();
    let form = [("csrf", csrf.as_str()), ("phone", phone), ("next", "/mine")];
    client.post(app.url("/phone/code")).form(&form).send().await.unwrap().text().await.unwrap()
}

async fn type_code(app: &TestApp, client: &reqwest::Client, page: &str, code: &str) -> reqwest::Response {
    let (csrf, token) = (hidden(page, "csrf").unwrap(), hidden(page, "token").unwrap());
    let form = [("csrf", csrf.as_str()), ("token", token.as_str()), ("code", code), ("next", "/mine")];
    client.post(app.url("/phone/confirm")).form(&form).send().await.unwrap()
}

both_backends!(a_browser_files_under_a_proven_phone_and_sees_its_own_requests, |app: TestApp| async move {
    let ([item, _], _) = seed_cases(&app).await;
    let villager = TestApp::client();
    let form = villager.get(app.url(&format!("/services/{item}/apply?t=620922100"))).send().await.unwrap();
    assert_eq!(form.status(), 303, "an unproven browser is sent to prove its phone");
    assert!(location(&form).starts_with("/phone?next=%2Fservices%2F"), "{}", location(&form));

    let sent = ask(&app, &villager, "137 1234 5678").await;
    assert!(sent.contains("137****5678") && !sent.contains("13712345678"), "the number is masked");
    let code = shown_code(&sent).expect("no SMS provider: the code is shown");
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let again = type_code(&app, &villager, &sent, wrong).await.text().await.unwrap();
    assert!(again.contains("短信验证码：不正确，还可以再试4次") && again.contains("aria-describedby=\"phone-error\""));
    let refused = ask(&app, &villager, "13712345678").await;
    assert!(refused.contains("请1分钟后再重新获取") && refused.contains("value=\"13712345678\""), "kept: {refused}");
    let done = type_code(&app, &villager, &again, &code).await;
    assert_eq!((done.status().as_u16(), location(&done)), (303, "/mine".to_owned()));

    let form = text(&villager, &app, &format!("/services/{item}/apply?t=620922100")).await;
    assert!(form.contains("id=\"phone-proven\"") && form.contains("137****5678") && !form.contains("name=\"phone\""));
    let fields: Vec<(&str, &str)> = GOOD.iter().copied().filter(|(k, _)| *k != "phone").collect();
    let filed = apply(&app, &villager, item, &fields, None).await;
    assert_eq!(filed.status(), 303, "{}", filed.text().await.unwrap());
    let store = app.state.store();
    let tracking = location(&filed).split('/').nth(2).unwrap().split('?').next().unwrap().to_owned();
    let case = store.find_case_by_tracking(&tracking).await.unwrap().unwrap();
    assert!(app.state.cipher().index_matches("phone", "13712345678", &case.phone_idx), "under the proven phone");
    let texts = store.outbox(None, Some(case.id), 50, 0).await.unwrap().0;
    let confirmation = texts.iter().find(|t| t.notice == "case_received").expect("the applicant is texted");
    assert!(confirmation.body.contains(&tracking) && confirmation.recipient.starts_with("申请人"));

    // A phone typed over the proven one is refused, naming the field.
    let mut other = GOOD;
    other[1].1 = "13900001111";
    let page = text(&villager, &app, &format!("/services/{item}/apply?t=620922100")).await;
    let csrf = page.split("csrf=").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let mut body = reqwest::multipart::Form::new().text("form_key", hidden(&page, "form_key").unwrap());
    for (k, v) in other {
        body = body.text(k, v);
    }
    let r =
        villager.post(app.url(&format!("/services/{item}/apply?csrf={csrf}"))).multipart(body).send().await.unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("手机号：与已验证的手机号不一致"));

    // 我的办件: the owner's case opens in full; another proven phone sees none of it.
    let mine = text(&villager, &app, "/mine").await;
    assert!(mine.contains(&tracking) && mine.contains("高龄补贴申领"), "{mine}");
    let link = mine.split(&format!("/cases/{tracking}?k=")).nth(1).unwrap().split('"').next().unwrap();
    let own = text(&villager, &app, &format!("/cases/{tracking}?k={link}")).await;
    assert!(
        own.contains("137****5678") && own.contains("孙秀英") && own.contains(&tracking),
        "the owner's view: {own}"
    );
    let neighbour = TestApp::client();
    app.prove_phone(&neighbour, "13800002222").await;
    let theirs = text(&neighbour, &app, "/mine").await;
    assert!(theirs.contains("id=\"no-requests\"") && !theirs.contains(&tracking));
    let peek = neighbour.get(app.url(&format!("/cases/{tracking}"))).send().await.unwrap();
    assert_eq!((peek.status().as_u16(), location(&peek)), (303, format!("/cases?tracking={tracking}")));
    let mine = villager.get(app.url(&format!("/cases/{tracking}"))).send().await.unwrap();
    assert!(location(&mine).starts_with(&format!("/cases/{tracking}?k=")), "the owner opens it without the key");

    // Forgetting the phone ends the session.
    let mine = text(&villager, &app, "/mine").await;
    let csrf = hidden(&mine, "csrf").unwrap();
    let gone = villager.post(app.url("/phone/forget?next=/mine")).form(&[("csrf", csrf)]).send().await.unwrap();
    assert_eq!(gone.status(), 303);
    let after = villager.get(app.url("/mine")).send().await.unwrap();
    assert!(location(&after).starts_with("/phone?next="), "no longer proven");
});

both_backends!(five_wrong_codes_spend_the_code, |app: TestApp| async move {
    let villager = TestApp::client();
    let sent = ask(&app, &villager, "13712345678").await;
    let code = shown_code(&sent).unwrap();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let mut last = String::new();
    for _ in 0..5 {
        last = type_code(&app, &villager, &sent, wrong).await.text().await.unwrap();
    }
    assert!(last.contains("错误次数过多，请重新获取"), "{last}");
    let late = type_code(&app, &villager, &sent, &code).await.text().await.unwrap();
    assert!(late.contains("错误次数过多"), "the right code no longer helps");
    let malformed = type_code(&app, &villager, &sent, "12ab").await.text().await.unwrap();
    assert!(malformed.contains("请填写短信中的6位数字"));
    assert!(villager.get(app.url("/mine")).send().await.unwrap().status() == 303, "still unproven");
});

both_backends!(a_message_author_with_a_proven_phone_is_texted_the_tracking_number, |app: TestApp| async move {
    seed_cases(&app).await;
    let villager = TestApp::client();
    let complaint = villager.get(app.url("/t/620922100/messages/new?kind=complaint")).send().await.unwrap();
    assert_eq!(complaint.status(), 303, "a complaint needs a phone: prove it first");
    let question = text(&villager, &app, "/t/620922100/messages/new?kind=question").await;
    assert!(question.contains("id=\"phone-unproven\""), "a question may go without a phone");
    app.prove_phone(&villager, "13712345678").await;
    let page = text(&villager, &app, "/t/620922100/messages/new?kind=question").await;
    assert!(page.contains("name=\"use_phone\"") && page.contains("137****5678"));
    let csrf = page.split("csrf=").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let form = reqwest::multipart::Form::new()
        .text("form_key", hidden(&page, "form_key").unwrap())
        .text("kind", "question")
        .text("place", "620922100200")
        .text("use_phone", "1")
        .text("body", "请问高龄补贴什么时候发？");
    let r =
        villager.post(app.url(&format!("/t/620922100/messages/new?csrf={csrf}"))).multipart(form).send().await.unwrap();
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let tracking = location(&r).split('/').nth(2).unwrap().split('?').next().unwrap().to_owned();
    let store = app.state.store();
    let m = store.find_message_by_tracking(&tracking).await.unwrap().unwrap();
    let texts = store.message_outbox(m.id).await.unwrap();
    let filed = texts.iter().find(|t| t.notice == "message_filed").expect("the author is texted");
    assert!(filed.body.contains(&tracking) && filed.recipient == "留言人");
    assert!(text(&villager, &app, "/mine").await.contains(&tracking), "the message is the owner's");
});

both_backends!(a_proven_phone_finding_its_owner_marks_the_household_covered, |app: TestApp| async move {
    let clerk = app.login_as(xiaowei_core::Role::VillageClerk).await;
    let reviewer = app.login_as(xiaowei_core::Role::TownshipReviewer).await;
    let fields = [
        ("programme_id", app.programme().await.to_string()),
        ("org_code", "620922100200".to_owned()),
        ("year", "2024".to_owned()),
        ("phase", "proposed".to_owned()),
    ];
    let roster = app
        .import_roster(&clerk, &fields, crate::helpers::roster_csv(&[("张建国", crate::helpers::person_id(7), "600")]))
        .await;
    app.publish(&clerk, &reviewer, roster).await;
    let covered = || async {
        let rows = app.state.store().monitor_household_rows("620922100200", 100, 0).await.unwrap().rows;
        rows.iter().filter(|r| r.head_name == "张建国" && r.covered).count()
    };
    let query = |client: reqwest::Client| {
        let app = &app;
        async move {
            let csrf = hidden(&text(&client, app, "/t/620922100/self-query").await, "csrf").unwrap();
            let id = crate::helpers::person_id(7);
            let form = [("csrf", csrf.as_str()), ("name", "张建国"), ("id_number", id.as_str())];
            let r = client.post(app.url("/t/620922100/self-query")).form(&form).send().await.unwrap();
            assert_eq!(r.status(), 200);
        }
    };
    query(TestApp::client()).await;
    assert_eq!(covered().await, 0, "an unproven browser reaches no household");
    let villager = TestApp::client();
    app.prove_phone(&villager, "13712345678").await;
    query(villager).await;
    assert_eq!(covered().await, 1, "the household of the proven phone's owner is covered");
});

both_backends!(an_application_whose_proof_expired_says_so, |app: TestApp| async move {
    let ([item, _], _) = seed_cases(&app).await;
    let villager = TestApp::client();
    app.prove_phone(&villager, "13712345678").await;
    let page = text(&villager, &app, &format!("/services/{item}/apply?t=620922100")).await;
    let csrf = page.split("csrf=").nth(1).unwrap().split('"').next().unwrap().to_owned();
    // The proof ends while the form is being filled (here: forgotten in another tab).
    let mine = text(&villager, &app, "/mine").await;
    let forget = [("csrf", hidden(&mine, "csrf").unwrap())];
    villager.post(app.url("/phone/forget?next=/mine")).form(&forget).send().await.unwrap();
    let mut form = reqwest::multipart::Form::new().text("form_key", hidden(&page, "form_key").unwrap());
    for (k, v) in GOOD.iter().filter(|(k, _)| *k != "phone") {
        form = form.text(*k, *v);
    }
    let r =
        villager.post(app.url(&format!("/services/{item}/apply?csrf={csrf}"))).multipart(form).send().await.unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("手机号：手机号验证已过期"), "the villager is told why");
});
