//! 异议 as tracked requests over HTTP, on both engines: the reply deadline, the reminder and
//! overdue texts to the township reviewers, the text to the objector when answered, the rating
//! and reopening, and the paid roster that waits for open objections unless a reason is given.

use xiaowei_core::Role;
use xiaowei_core::objection::reply_deadline;
use xiaowei_server::app::objections;

use crate::helpers::{TestApp, both_backends, hidden, person_id, roster_csv};

const VILLAGE: &str = "620922100200";
const OBJECTOR_PHONE: &str = "13900001111";

fn fields(programme: i64, phase: &str) -> Vec<(&'static str, String)> {
    vec![
        ("programme_id", programme.to_string()),
        ("org_code", VILLAGE.into()),
        ("year", "2025".into()),
        ("period", "2025年度".into()),
        ("phase", phase.into()),
    ]
}

/// Gives the seeded township reviewer, supervisor and village clerk phones.
async fn staff_phones(app: &TestApp) {
    let store = app.state.store();
    let cipher = app.state.cipher();
    for (username, phone) in
        [("supervisor", "13909379999"), ("township_reviewer", "13909379998"), ("village_clerk", "13909379996")]
    {
        let id = store.find_staff_by_username(username).await.unwrap().unwrap().id;
        store.set_staff_phone(id, Some((&cipher.encrypt(phone), &cipher.blind_index("phone", phone)))).await.unwrap();
    }
}

/// A published proposed roster of 张三.
async fn proposed_roster(app: &TestApp, clerk: &reqwest::Client, reviewer: &reqwest::Client) -> i64 {
    let programme = app.programme().await;
    let id =
        app.import_roster(clerk, &fields(programme, "proposed"), roster_csv(&[("张三", person_id(1), "600")])).await;
    app.publish(clerk, reviewer, id).await;
    id
}

/// Files an objection on the public roster page; returns its tracking code.
async fn object(app: &TestApp, villager: &reqwest::Client, roster: i64) -> String {
    let form =
        villager.get(app.url(&format!("/rosters/{roster}/objection"))).send().await.unwrap().text().await.unwrap();
    let fields = [
        ("csrf", hidden(&form, "csrf").unwrap()),
        ("form_key", hidden(&form, "form_key").unwrap()),
        ("name", "赵六".into()),
        ("phone", OBJECTOR_PHONE.into()),
        ("body", "张三已于去年迁出本村，不应享受".into()),
    ];
    let sent = villager.post(app.url(&format!("/rosters/{roster}/objection"))).form(&fields).send().await.unwrap();
    assert_eq!(sent.status(), 303);
    let location = sent.headers()["location"].to_str().unwrap().to_owned();
    location.trim_start_matches("/objections/").trim_end_matches("?new=1").to_owned()
}

async fn page(app: &TestApp, client: &reqwest::Client, path: &str) -> String {
    client.get(app.url(path)).send().await.unwrap().text().await.unwrap()
}

/// Posts a rating form from the objection's page.
async fn rate(app: &TestApp, villager: &reqwest::Client, code: &str, rating: &str, comment: &str) -> reqwest::Response {
    let html = page(app, villager, &format!("/objections/{code}")).await;
    let csrf = hidden(&html, "csrf").unwrap_or_else(|| panic!("no rating form: {html}"));
    let form = [("csrf", csrf.as_str()), ("rating", rating), ("comment", comment)];
    villager.post(app.url(&format!("/objections/{code}/rate"))).form(&form).send().await.unwrap()
}

/// A reviewer's final answer.
async fn answer(app: &TestApp, reviewer: &reqwest::Client, id: i64, reply: &str) -> reqwest::Response {
    app.post_form(reviewer, &format!("/staff/objections/{id}/answer"), &[("status", "closed"), ("reply", reply)]).await
}

/// (notice, recipient) of the texts about objections so far.
async fn texts(app: &TestApp) -> Vec<(String, String)> {
    let (rows, _) = app.state.store().outbox(None, None, 100, 0).await.unwrap();
    let mut out: Vec<_> =
        rows.into_iter().filter(|t| t.notice.starts_with("objection_")).map(|t| (t.notice, t.recipient)).collect();
    out.sort();
    out
}

both_backends!(an_objection_runs_on_a_deadline_and_is_rated_and_reopened, |app: TestApp| async move {
    staff_phones(&app).await;
    let clerk = app.login_as(Role::VillageClerk).await;
    let reviewer = app.login_as(Role::TownshipReviewer).await;
    let roster = proposed_roster(&app, &clerk, &reviewer).await;
    let villager = TestApp::client();
    let code = object(&app, &villager, roster).await;
    let store = app.state.store();
    let o = store.find_objection_by_code(&code).await.unwrap().unwrap();

    // The deadline: the earlier of the publicity end and 5 working days, on the shared calendar.
    let calendar = xiaowei_server::app::tracked::calendar(&app.state).await.unwrap();
    let publicity_end = store.find_roster(roster).await.unwrap().unwrap().publicity_end.unwrap().parse().unwrap();
    let expected = reply_deadline(&calendar, o.created_at, Some(publicity_end), 5);
    assert_eq!(
        (o.reply_due, o.reply_remind_at, &o.deadline_basis),
        (expected.due, expected.remind_at, &expected.basis)
    );
    let status = page(&app, &villager, &format!("/objections/{code}")).await;
    assert!(status.contains("待处理") && status.contains("答复期限") && status.contains(&expected.basis), "{status}");
    let list = page(&app, &reviewer, "/staff/objections").await;
    assert!(list.contains("答复期限"), "{list}");
    // The township reviewer is told of the new objection; the clerk who compiled the roster is not.
    assert_eq!(texts(&app).await, [("objection_received".to_owned(), "乡镇审核人 乡镇审核人".to_owned())]);

    // The reminder and the overdue mark, each once.
    assert_eq!(objections::run_clocks(&app.state, o.reply_remind_at - 1).await.unwrap(), 0, "nothing due yet");
    assert_eq!(objections::run_clocks(&app.state, o.reply_remind_at).await.unwrap(), 1, "the reminder");
    assert_eq!(objections::run_clocks(&app.state, o.reply_remind_at + 60).await.unwrap(), 0, "reminded once");
    assert_eq!(objections::run_clocks(&app.state, o.reply_due + 1).await.unwrap(), 1, "the breach");
    assert_eq!(objections::run_clocks(&app.state, o.reply_due + 86_400).await.unwrap(), 0, "marked once");
    let sent = texts(&app).await;
    assert!(sent.contains(&("objection_reminder".into(), "乡镇审核人 乡镇审核人".into())), "{sent:?}");
    assert!(sent.contains(&("objection_overdue".into(), "县纪委监委 县纪委监委".into())), "{sent:?}");
    assert!(!sent.iter().any(|(_, r)| r.contains("村")), "no text to the village: {sent:?}");
    let (rows, _) = store.outbox(None, None, 100, 0).await.unwrap();
    assert!(rows.iter().filter(|t| t.notice != "objection_answered").all(|t| !t.body.contains(&code)), "no code");
    // The alert scan lists the breach without the code.
    xiaowei_server::workers::alerts::scan(&app.state, o.reply_due + 86_400).await.unwrap();
    let jiwei = app.login_as(Role::Supervisor).await;
    let alerts = page(&app, &jiwei, "/staff/alerts").await;
    assert!(alerts.contains(&format!("花名册异议#{}超过答复期限未答复", o.id)), "{alerts}");
    let filter = xiaowei_store::AlertFilter::default();
    let raised = app.state.store().alerts(&filter, 10, 0).await.unwrap().0;
    let link = format!("/staff/objections#objection-{}", o.id);
    assert!(raised.iter().any(|a| a.link == link), "the alert leads to the objection itself");

    // The final answer texts the objector.
    assert_eq!(answer(&app, &reviewer, o.id, "经核实，张三户籍仍在本村").await.status(), 303);
    let (rows, _) = store.outbox(None, None, 100, 0).await.unwrap();
    let told = rows.iter().find(|t| t.notice == "objection_answered").expect("the objector is texted");
    assert_eq!(told.recipient, "异议人");
    assert_eq!(app.state.cipher().decrypt(&told.phone_enc).unwrap(), OBJECTOR_PHONE);
    assert!(told.body.contains(&code) && told.body.contains(&format!("/objections/{code}")), "{}", told.body);
    let status = page(&app, &villager, &format!("/objections/{code}")).await;
    assert!(status.contains("已答复") && status.contains("经核实，张三户籍仍在本村") && status.contains("提交评价"));
    // The text carries the code that opens the objection: only the commission's 短信记录 lists it.
    let admin = app.login_as(Role::CountyAdmin).await;
    let listed = page(&app, &admin, "/staff/outbox").await;
    assert!(listed.contains("objection_overdue") || listed.contains("异议"), "other texts are listed: {listed}");
    assert!(!listed.contains(&code), "the county admin never sees the objector's code");
    assert!(page(&app, &jiwei, "/staff/outbox").await.contains(&code), "the commission does");
    let retry = app.post_form(&admin, &format!("/staff/outbox/{}/retry", told.id), &[]).await;
    assert_eq!(retry.status(), 404);

    // 不满意 needs a reason, then reopens the objection with a new deadline.
    let refused = rate(&app, &villager, &code, "unsatisfied", "").await;
    assert_eq!(refused.status(), 400);
    assert!(refused.text().await.unwrap().contains("评价说明"));
    assert_eq!(rate(&app, &villager, &code, "unsatisfied", "他家早就搬到县城了").await.status(), 303);
    let reopened = store.find_objection(o.id).await.unwrap().unwrap();
    assert_eq!((reopened.status.as_str(), reopened.rating.map(|r| r.as_str())), ("open", Some("unsatisfied")));
    assert!(reopened.reply_due > app.state.now() && reopened.overdue_at.is_none(), "a new deadline");
    let sent = texts(&app).await;
    assert!(sent.contains(&("objection_unsatisfied".into(), "县纪委监委 县纪委监委".into())), "{sent:?}");
    assert!(sent.contains(&("objection_unsatisfied".into(), "乡镇审核人 乡镇审核人".into())), "{sent:?}");
    let status = page(&app, &villager, &format!("/objections/{code}")).await;
    assert!(status.contains("重新办理") && status.contains("评价：不满意。他家早就搬到县城了"), "{status}");
    // Staff see the rating; only the commission reads the objector's reason.
    let list = page(&app, &reviewer, "/staff/objections").await;
    assert!(list.contains("异议人评价：<strong>不满意</strong>（他家早就搬到县城了）"), "{list}");
    let clerk_list = page(&app, &app.login_as(Role::VillageClerk).await, "/staff/objections").await;
    assert!(clerk_list.contains("异议人评价：<strong>不满意</strong>") && !clerk_list.contains("他家早就搬到县城了"));
    assert!(!status.contains("提交评价"), "nothing to rate until the next answer");

    // The next answer can be rated in turn; a second rating of one answer changes nothing.
    assert_eq!(answer(&app, &reviewer, o.id, "已到派出所核实，张三户籍去年已迁出，下期起停发").await.status(), 303);
    assert_eq!(rate(&app, &villager, &code, "satisfied", "").await.status(), 303);
    let csrf = app.csrf(&villager, "/staff/login").await;
    let form = [("csrf", csrf.as_str()), ("rating", "unsatisfied"), ("comment", "再评一次")];
    let again = villager.post(app.url(&format!("/objections/{code}/rate"))).form(&form).send().await.unwrap();
    assert_eq!(again.status(), 303, "a repeated rating shows the objection as it is");
    let done = store.find_objection(o.id).await.unwrap().unwrap();
    assert_eq!((done.status.as_str(), done.rating.map(|r| r.as_str())), ("closed", Some("satisfied")));
    let status = page(&app, &villager, &format!("/objections/{code}")).await;
    assert!(status.contains("已办结") && status.contains("评价：满意"), "{status}");
    let events = store.events(xiaowei_store::RequestKind::Objection, o.id).await.unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["submitted", "reminder", "overdue", "reply", "rate", "reply", "rate"]);
});

both_backends!(a_paid_roster_waits_for_open_objections_unless_a_reason_is_given, |app: TestApp| async move {
    let clerk = app.login_as(Role::VillageClerk).await;
    let reviewer = app.login_as(Role::TownshipReviewer).await;
    let proposed = proposed_roster(&app, &clerk, &reviewer).await;
    let villager = TestApp::client();
    object(&app, &villager, proposed).await;
    object(&app, &villager, proposed).await;

    let mut paid_fields = fields(app.programme().await, "paid");
    paid_fields.push(("settles_id", proposed.to_string()));
    paid_fields.push(("paid_on", xiaowei_server::web::dates::shanghai_date(app.state.now()).to_string()));
    let paid = app.import_roster(&clerk, &paid_fields, roster_csv(&[("张三", person_id(1), "600")])).await;
    // Paid during the publicity period: that difference needs its reason first.
    let staff_page = page(&app, &clerk, &format!("/staff/rosters/{paid}")).await;
    let reasons: Vec<(String, &str)> = staff_page
        .match_indices("name=\"reason_")
        .map(|(i, _)| (staff_page[i + 6..].split('"').next().unwrap().to_owned(), "春耕前须到位"))
        .collect();
    let reasons: Vec<(&str, &str)> = reasons.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    assert_eq!(app.post_form(&clerk, &format!("/staff/rosters/{paid}/reasons"), &reasons).await.status(), 303);
    assert_eq!(app.post_form(&clerk, &format!("/staff/rosters/{paid}/submit"), &[]).await.status(), 303);

    let review = page(&app, &reviewer, &format!("/staff/rosters/{paid}")).await;
    assert!(review.contains("还有 2 条异议未办结") && review.contains("objection_reason"), "{review}");
    let approve = format!("/staff/rosters/{paid}/approve");
    let refused = app.post_form(&reviewer, &approve, &[]).await;
    assert_eq!(refused.status(), 400);
    let message = refused.text().await.unwrap();
    assert!(message.contains("还有2条异议未办结"), "{message}");
    let blank = app.post_form(&reviewer, &approve, &[("objection_reason", "  ")]).await;
    assert_eq!(blank.status(), 400, "a blank reason is no reason");
    assert_eq!(app.state.store().find_roster(paid).await.unwrap().unwrap().status.as_str(), "submitted");

    let reason = "补贴须在春耕前发放到户，异议涉及人员已暂停发放待核实";
    let approved = app.post_form(&reviewer, &approve, &[("objection_reason", reason)]).await;
    assert_eq!(approved.status(), 303);
    let public = page(&app, &TestApp::client(), &format!("/rosters/{paid}")).await;
    assert!(public.contains("尚有异议未办结") && public.contains(reason), "the public page shows the reason: {public}");

    // Once the objections are answered, none is open any more.
    for o in app.state.store().objections_of_roster(proposed).await.unwrap() {
        assert_eq!(answer(&app, &reviewer, o.id, "已核实").await.status(), 303);
    }
    let roster = app.state.store().find_roster(paid).await.unwrap().unwrap();
    assert_eq!(roster.objection_override.as_deref(), Some(reason));
    assert_eq!(app.state.store().open_objections_of_lineage(proposed).await.unwrap(), 0);
});
