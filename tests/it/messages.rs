//! 留言箱 end to end over HTTP: leaving each kind of message (a double submit included), the
//! staff reply, the public answer on the list, rating and the reopen, merge, hide, the reply
//! clock with a controllable time, scoping by role and org, bad input, and the anonymity of a
//! reporter through every side channel (texts to others, exports, logs, audit, titles, URLs).

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use xiaowei_core::Role;
use xiaowei_server::AppState;
use xiaowei_server::workers::notify;
use xiaowei_store::{MessageFilter, NewEvent, NewMessage};

use crate::helpers::{TestApp, both_backends, hidden};

const NANCHA: &str = "620922100200";
const BEICUN: &str = "620922101200";
const FOREIGN_VILLAGE: &str = "620923100200";

/// A question in our village and one in the foreign county, for the access matrix.
pub async fn seed_messages(app: &TestApp) -> [String; 2] {
    let mut out = [String::new(), String::new()];
    for (i, org) in [NANCHA, FOREIGN_VILLAGE].into_iter().enumerate() {
        let now = app.state.now();
        let tracking = format!("LY20251009{:06}", 900 + i);
        let m = NewMessage {
            tracking: tracking.clone(),
            submit_key: format!("rbac-message-{i}"),
            kind: xiaowei_core::message::MessageKind::Question,
            org_code: org.into(),
            author_name: String::new(),
            phone_enc: None,
            phone_idx: None,
            secret_idx: None,
            body: "村里的路灯什么时候修？".into(),
            allow_public: true,
            submitted_at: now,
            reply_due: now + 3 * 86_400,
            reply_remind_at: now + 2 * 86_400,
            deadline_basis: "3个工作日".into(),
        };
        let event = NewEvent {
            kind: xiaowei_core::tracked::TimelineKind::Submitted,
            actor: "留言人".into(),
            staff_user_id: None,
            method: None,
            note: "提交".into(),
            public: true,
        };
        app.state.store().create_message(&m, &[], &event, &[]).await.unwrap();
        out[i] = tracking;
    }
    out
}

/// Gives the seeded staff accounts phones, so that every routing mistake would show as a text.
async fn staff_phones(app: &TestApp) {
    let store = app.state.store();
    let cipher = app.state.cipher();
    for (username, phone) in [
        ("supervisor", "13909379999"),
        ("township_reviewer", "13909379998"),
        ("township_admin", "13909379997"),
        ("village_clerk", "13909379996"),
        ("county_admin", "13909379995"),
        ("department_officer", "13909379994"),
    ] {
        let id = store.find_staff_by_username(username).await.unwrap().unwrap().id;
        store.set_staff_phone(id, Some((&cipher.encrypt(phone), &cipher.blind_index("phone", phone)))).await.unwrap();
    }
}

/// Opens the form for `kind` and posts it (multipart, CSRF in the action URL) as a villager.
pub async fn leave(
    app: &TestApp,
    client: &reqwest::Client,
    kind: &str,
    fields: &[(&str, &str)],
    form_key: Option<&str>,
) -> reqwest::Response {
    leave_with(app, client, kind, fields, form_key, None).await
}

async fn leave_with(
    app: &TestApp,
    client: &reqwest::Client,
    kind: &str,
    fields: &[(&str, &str)],
    form_key: Option<&str>,
    photo: Option<(&str, Vec<u8>)>,
) -> reqwest::Response {
    if let Some((_, phone)) = fields.iter().find(|(k, _)| *k == "phone") {
        app.prove_phone(client, phone).await;
    }
    let page = client
        .get(app.url(&format!("/t/620922100/messages/new?kind={kind}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // A complaint's form asks an unproven browser to prove a phone first; post it anyway.
    let key =
        form_key.map(str::to_owned).or_else(|| hidden(&page, "form_key")).unwrap_or_else(crate::helpers::form_key);
    let csrf = match page.split("csrf=").nth(1) {
        Some(rest) => rest.split('"').next().unwrap().to_owned(),
        None => app.csrf(client, "/staff/login").await,
    };
    let mut form = reqwest::multipart::Form::new().text("form_key", key).text("kind", kind.to_owned());
    for (k, v) in fields {
        form = form.text(k.to_string(), v.to_string());
    }
    if let Some((name, bytes)) = photo {
        form = form.part("photos", reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned()));
    }
    client.post(app.url(&format!("/t/620922100/messages/new?csrf={csrf}"))).multipart(form).send().await.unwrap()
}

fn location(r: &reqwest::Response) -> String {
    r.headers()["location"].to_str().unwrap().to_owned()
}

fn tracking_of(location: &str) -> String {
    location.trim_start_matches("/messages/").split('?').next().unwrap().to_owned()
}

async fn get(app: &TestApp, client: &reqwest::Client, path: &str) -> (u16, String) {
    let r = client.get(app.url(path)).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn rate(app: &TestApp, client: &reqwest::Client, link: &str, rating: &str, comment: &str) -> u16 {
    let tracking = tracking_of(link);
    let k = link.split("k=").nth(1).unwrap().split('&').next().unwrap();
    let csrf = app.csrf(client, "/messages").await;
    client
        .post(app.url(&format!("/messages/{tracking}/rate")))
        .form(&[("csrf", csrf.as_str()), ("k", k), ("rating", rating), ("comment", comment)])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// A 1×1 PNG.
fn png() -> Vec<u8> {
    vec![
        0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0x49, 0x48, 0x44, 0x52, 0, 0, 0, 1, 0, 0, 0, 1,
        8, 6, 0, 0, 0, 0x1f, 0x15, 0xc4, 0x89, 0, 0, 0, 0x0a, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0, 1, 0, 0, 5,
        0, 1, 0x0d, 0x0a, 0x2d, 0xb4, 0, 0, 0, 0, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
    ]
}

both_backends!(each_kind_is_left_answered_shown_publicly_and_rated, |app: TestApp| async move {
    staff_phones(&app).await;
    let villager = TestApp::client();
    let (status, page) = get(&app, &villager, "/t/620922100/messages").await;
    assert_eq!(status, 200);
    for kind in ["咨询", "投诉", "建议", "举报"] {
        assert!(page.contains(kind), "{kind}");
    }
    assert!(page.contains("暂无公开答复"));

    // A question, allowed to be public, with a photo; a double submit leaves one message.
    let form =
        villager.get(app.url("/t/620922100/messages/new?kind=question")).send().await.unwrap().text().await.unwrap();
    let key = hidden(&form, "form_key").unwrap();
    let question: [(&str, &str); 5] = [
        ("place", NANCHA),
        ("body", "我是王秀兰，电话13712345678，请问高龄补贴每月多少钱？"),
        ("name", "王秀兰"),
        ("phone", "13712345678"),
        ("public", "1"),
    ];
    let first = leave_with(&app, &villager, "question", &question, Some(&key), Some(("我家.png", png()))).await;
    assert_eq!(first.status(), 303);
    let second = leave(&app, &villager, "question", &question, Some(&key)).await;
    let q_link = location(&first);
    assert_eq!(q_link.replace("&new=1", ""), location(&second));
    let store = app.state.store();
    let everything = MessageFilter { org_prefix: "620922".into(), include_reports: true, ..MessageFilter::default() };
    assert_eq!(store.messages(&everything, 10, 0).await.unwrap().1, 1);
    let q_tracking = tracking_of(&q_link);
    let (_, page) = get(&app, &villager, &q_link).await;
    assert!(page.contains(&q_tracking) && page.contains("待处理") && page.contains("137****5678"), "{page}");
    assert!(page.contains("3个工作日"), "the question's deadline basis");
    let q = store.find_message_by_tracking(&q_tracking).await.unwrap().unwrap();
    assert_eq!(store.photos(xiaowei_store::RequestKind::Message, q.id).await.unwrap().len(), 1);
    let texts = store.message_outbox(q.id).await.unwrap();
    let mut to: Vec<_> = texts.iter().map(|t| t.recipient.clone()).collect();
    to.sort();
    assert_eq!(to, ["承办人员 乡镇管理员", "承办人员 村文书", "留言人"], "the handlers of the village, and the author");

    // A complaint (phone required), a suggestion without a phone, an anonymous report.
    let complaint = leave(
        &app,
        &villager,
        "complaint",
        &[("place", NANCHA), ("body", "村委会办事拖拉，材料交了一个月没有消息。"), ("phone", "13712345679")],
        None,
    )
    .await;
    assert_eq!(complaint.status(), 303);
    let c_link = location(&complaint);
    let suggestion =
        leave(&app, &villager, "suggestion", &[("place", "620922100"), ("body", "建议乡里多开几趟班车。")], None).await;
    assert_eq!(suggestion.status(), 303);
    let report =
        leave(&app, &villager, "report", &[("place", NANCHA), ("body", "村干部虚报冒领低保，请纪委核查。")], None)
            .await;
    assert_eq!(report.status(), 200, "an anonymous report shows its password on the response itself");
    let report_page = report.text().await.unwrap();
    let secret = report_page.split("id=\"secret\">").nth(1).unwrap().split('<').next().unwrap().to_owned();
    assert_eq!(secret.len(), 11, "{secret}");
    let r_tracking = report_page.split("id=\"tracking\">").nth(1).unwrap().split('<').next().unwrap().to_owned();
    let c_deadline = store.find_message_by_tracking(&tracking_of(&c_link)).await.unwrap().unwrap().deadline_basis;
    assert!(c_deadline.contains("13个工作日"), "complaints take the configured limit: {c_deadline}");

    // Follow by tracking number and phone, or by the report's password.
    let csrf = app.csrf(&villager, "/messages").await;
    let track = |tracking: String, credential: &'static str| {
        let (villager, url, csrf) = (villager.clone(), app.url("/messages"), csrf.clone());
        async move {
            villager
                .post(url)
                .form(&[("csrf", csrf), ("tracking", tracking), ("credential", credential.to_owned())])
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(track(q_tracking.to_lowercase(), "137 1234 5678").await.status(), 303);
    assert_eq!(track(q_tracking.clone(), "13700000000").await.status(), 400);
    let by_secret = villager
        .post(app.url("/messages"))
        .form(&[("csrf", csrf.as_str()), ("tracking", r_tracking.as_str()), ("credential", &secret.to_lowercase())])
        .send()
        .await
        .unwrap();
    assert_eq!(by_secret.status(), 303);
    let r_link = location(&by_secret);
    assert_eq!(track(r_tracking.clone(), "ABCDE-FGHJK").await.status(), 400);

    // The township admin answers the question publicly; the list shows it without name or phone.
    let admin = app.login_as(Role::TownshipAdmin).await;
    let (_, inbox) = get(&app, &admin, "/staff/inbox").await;
    assert!(inbox.contains(&q_tracking) && inbox.contains(&tracking_of(&c_link)));
    assert!(!inbox.contains(&r_tracking), "a report is not in the township admin's inbox");
    let (_, staff_page) = get(&app, &admin, &format!("/staff/inbox/{q_tracking}")).await;
    assert!(staff_page.contains("13712345678") && staff_page.contains("王秀兰"), "the handler sees the phone");
    let r = app
        .post_form(
            &admin,
            &format!("/staff/inbox/{q_tracking}/reply"),
            &[("reply", "高龄补贴标准为每人每月100元，请联系王秀兰本人13712345678。"), ("public", "1")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let (_, list) = get(&app, &villager, "/t/620922100/messages").await;
    assert!(list.contains("高龄补贴每月多少钱") && list.contains("每人每月100元"), "{list}");
    assert!(!list.contains("13712345678") && !list.contains("王秀兰"), "personal data removed: {list}");
    let (_, page) = get(&app, &villager, &q_link).await;
    assert!(page.contains("已答复") && page.contains("每人每月100元"));
    assert_eq!(rate(&app, &villager, &q_link, "satisfied", "").await, 303);
    assert_eq!(store.find_message_by_tracking(&q_tracking).await.unwrap().unwrap().status.as_str(), "closed");

    // The complaint is answered privately; 不满意 reopens it and texts the county supervisor.
    let c_tracking = tracking_of(&c_link);
    let r = app
        .post_form(
            &admin,
            &format!("/staff/inbox/{c_tracking}/reply"),
            &[("reply", "已督促村委会办理。"), ("public", "1")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let c = store.find_message_by_tracking(&c_tracking).await.unwrap().unwrap();
    assert!(!c.reply_public, "a complaint is never answered in public");
    assert_eq!(rate(&app, &villager, &c_link, "unsatisfied", "").await, 400, "不满意 needs a reason");
    assert_eq!(rate(&app, &villager, &c_link, "unsatisfied", "还是没有消息").await, 303);
    assert_eq!(rate(&app, &villager, &c_link, "satisfied", "").await, 303, "a second rating changes nothing");
    let c = store.find_message(c.id).await.unwrap().unwrap();
    assert_eq!((c.status.as_str(), c.rating.map(|r| r.as_str())), ("reopened", Some("unsatisfied")));
    let texts = store.message_outbox(c.id).await.unwrap();
    assert!(texts.iter().any(|t| t.notice == "message_unsatisfied" && t.recipient == "纪委监委 县纪委监委"));
    let replies = texts.iter().filter(|t| t.recipient == "留言人" && t.notice == "message_replied").count();
    assert_eq!(replies, 1, "the author is texted at the reply");
    assert!(texts.iter().any(|t| t.recipient == "留言人" && t.notice == "message_filed"), "and when it arrived");
    let (_, list) = get(&app, &villager, "/t/620922100/messages").await;
    assert!(!list.contains("督促村委会"), "a private answer stays private");

    // The commission answers the report; the anonymous reporter reads it by the password link.
    let jiwei = app.login_as(Role::Supervisor).await;
    let r = app
        .post_form(&jiwei, &format!("/staff/inbox/{r_tracking}/reply"), &[("reply", "已立案核查，感谢监督。")])
        .await;
    assert_eq!(r.status(), 303);
    let (_, page) = get(&app, &villager, &r_link).await;
    assert!(page.contains("已立案核查"));
    assert_eq!(rate(&app, &villager, &r_link, "basic", "").await, 303);
});

both_backends!(duplicates_are_merged_and_abuse_is_hidden_with_a_reason, |app: TestApp| async move {
    let villager = TestApp::client();
    let body = [("place", NANCHA), ("body", "三组的路灯坏了一个月了。"), ("public", "1")];
    let a = location(&leave(&app, &villager, "question", &body, None).await);
    let b = location(&leave(&app, &villager, "question", &body, None).await);
    let rude =
        location(&leave(&app, &villager, "suggestion", &[("place", NANCHA), ("body", "骂人的话骂人的话")], None).await);
    let clerk = app.login_as(Role::VillageClerk).await;
    let (a_t, b_t) = (tracking_of(&a), tracking_of(&b));
    let self_merge = app.post_form(&clerk, &format!("/staff/inbox/{b_t}/merge"), &[("into", &b_t)]).await;
    assert_eq!(self_merge.status(), 400);
    let r = app.post_form(&clerk, &format!("/staff/inbox/{b_t}/merge"), &[("into", &a_t.to_lowercase())]).await;
    assert_eq!(r.status(), 303);
    let store = app.state.store();
    let dup = store.find_message_by_tracking(&b_t).await.unwrap().unwrap();
    let kept = store.find_message_by_tracking(&a_t).await.unwrap().unwrap();
    assert_eq!((dup.status.as_str(), dup.merged_into), ("merged", Some(kept.id)));
    assert_eq!(kept.status.as_str(), "submitted", "the kept message stays open");
    let (_, page) = get(&app, &villager, &b).await;
    assert!(page.contains("已合并") && page.contains(&a_t), "the author sees where it went");
    let (_, staff_kept) = get(&app, &clerk, &format!("/staff/inbox/{a_t}")).await;
    assert!(staff_kept.contains(&b_t), "the kept message records the duplicate");
    let again = app.post_form(&clerk, &format!("/staff/inbox/{b_t}/reply"), &[("reply", "答复被合并的留言")]).await;
    assert_eq!(again.status(), 303);
    assert_eq!(store.find_message(dup.id).await.unwrap().unwrap().reply, None, "a merged message is closed");

    let r_t = tracking_of(&rude);
    let no_reason = app.post_form(&clerk, &format!("/staff/inbox/{r_t}/hide"), &[("reason", "")]).await;
    assert_eq!(no_reason.status(), 400);
    assert!(no_reason.text().await.unwrap().contains("屏蔽原因"));
    let r = app.post_form(&clerk, &format!("/staff/inbox/{r_t}/hide"), &[("reason", "含有辱骂内容")]).await;
    assert_eq!(r.status(), 303);
    let (_, page) = get(&app, &villager, &rude).await;
    assert!(page.contains("已屏蔽") && page.contains("含有辱骂内容"), "the author sees the reason");
    let (_, inbox) = get(&app, &clerk, "/staff/inbox").await;
    assert!(inbox.contains("（已屏蔽）") && !inbox.contains("骂人的话"));
    let audit = store.audit_entries("", 100, 0).await.unwrap();
    assert!(audit.iter().any(|e| e.action == "message.hide" && e.detail.contains("含有辱骂内容")));
    // A publicly answered question that is hidden later leaves the public list.
    let r = app
        .post_form(&clerk, &format!("/staff/inbox/{a_t}/reply"), &[("reply", "已安排电工维修。"), ("public", "1")])
        .await;
    assert_eq!(r.status(), 303);
    assert!(get(&app, &villager, "/t/620922100/messages").await.1.contains("已安排电工维修"));
    let r = app.post_form(&clerk, &format!("/staff/inbox/{a_t}/hide"), &[("reason", "涉及他人隐私")]).await;
    assert_eq!(r.status(), 303);
    assert!(!get(&app, &villager, "/t/620922100/messages").await.1.contains("已安排电工维修"));
});

both_backends!(the_reply_clock_reminds_then_marks_overdue_once, |app: TestApp| async move {
    staff_phones(&app).await;
    let villager = TestApp::client();
    let link = location(
        &leave(&app, &villager, "question", &[("place", NANCHA), ("body", "请问医保什么时候交？")], None).await,
    );
    let store = app.state.store();
    let m = store.find_message_by_tracking(&tracking_of(&link)).await.unwrap().unwrap();
    // The clock follows the shared working-day calendar: three working days after today.
    let calendar = xiaowei_server::app::tracked::calendar(&app.state).await.unwrap();
    let expected =
        xiaowei_core::message::reply_clock(&calendar, xiaowei_core::message::MessageKind::Question, 13, m.submitted_at);
    assert_eq!(m.reply_due, expected.due);
    let remind_at = expected.remind_at;
    let notices = || async {
        let mut n: Vec<_> =
            store.message_outbox(m.id).await.unwrap().into_iter().map(|t| (t.notice, t.recipient)).collect();
        n.sort();
        n
    };
    assert_eq!(
        xiaowei_server::app::messages::run_clocks(&app.state, remind_at - 1).await.unwrap(),
        0,
        "nothing due yet"
    );
    assert_eq!(xiaowei_server::app::messages::run_clocks(&app.state, remind_at).await.unwrap(), 1, "the reminder");
    assert_eq!(
        xiaowei_server::app::messages::run_clocks(&app.state, remind_at + 60).await.unwrap(),
        0,
        "reminded once"
    );
    let reminders: Vec<_> = notices().await.into_iter().filter(|n| n.0 == "message_reminder").collect();
    assert_eq!(reminders.len(), 2, "the village's handlers: {reminders:?}");
    assert_eq!(xiaowei_server::app::messages::run_clocks(&app.state, m.reply_due + 1).await.unwrap(), 1, "the breach");
    assert_eq!(
        xiaowei_server::app::messages::run_clocks(&app.state, m.reply_due + 86_400).await.unwrap(),
        0,
        "marked once"
    );
    let overdue: Vec<_> = notices().await.into_iter().filter(|n| n.0 == "message_overdue").map(|n| n.1).collect();
    assert!(overdue.iter().any(|r| r.starts_with("纪委监委")), "{overdue:?}");
    let after = store.find_message(m.id).await.unwrap().unwrap();
    assert_eq!(after.overdue_at, Some(m.reply_due + 1));
    let jiwei = app.login_as(Role::Supervisor).await;
    let (_, list) = get(&app, &jiwei, "/staff/inbox?overdue=1").await;
    assert!(list.contains(&m.tracking) && list.contains("逾期"));
    let (_, page) = get(&app, &villager, &link).await;
    assert!(page.contains("逾期"), "the author sees it too");
    // A reply stops the clock: a later message is not marked after it is answered.
    let second = location(
        &leave(&app, &villager, "suggestion", &[("place", NANCHA), ("body", "建议村里装几个垃圾箱。")], None).await,
    );
    let clerk = app.login_as(Role::VillageClerk).await;
    let r = app
        .post_form(&clerk, &format!("/staff/inbox/{}/reply", tracking_of(&second)), &[("reply", "已采纳，下月安装。")])
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(xiaowei_server::app::messages::run_clocks(&app.state, m.reply_due + 30 * 86_400).await.unwrap(), 0);
    // Texts go through the shared outbox and its delivery worker.
    let (sent, _) =
        notify::deliver_due(&app.state, app.state.gateway().as_ref(), "w", m.reply_due + 30 * 86_400).await.unwrap();
    assert!(sent >= 4, "{sent}");
});

both_backends!(the_inbox_is_scoped_by_role_and_org_and_reports_by_the_commission, |app: TestApp| async move {
    let villager = TestApp::client();
    let ours =
        location(&leave(&app, &villager, "question", &[("place", NANCHA), ("body", "南岔村的问题。")], None).await);
    let township = location(
        &leave(&app, &villager, "suggestion", &[("place", "620922100"), ("body", "给乡里的建议。")], None).await,
    );
    let report = leave(
        &app,
        &villager,
        "report",
        &[("place", NANCHA), ("body", "举报村干部优亲厚友。"), ("phone", "13711112222")],
        None,
    )
    .await;
    let report = tracking_of(&location(&report));
    // A message to another township (柳园镇) and one abroad, put in through the store.
    let store = app.state.store();
    let mut other = None;
    for (i, org) in [BEICUN, FOREIGN_VILLAGE].into_iter().enumerate() {
        let now = app.state.now();
        let m = NewMessage {
            tracking: format!("LY20251009{:06}", 700 + i),
            submit_key: format!("scope-{i}"),
            kind: xiaowei_core::message::MessageKind::Complaint,
            org_code: org.into(),
            author_name: String::new(),
            phone_enc: None,
            phone_idx: None,
            secret_idx: None,
            body: "别处的投诉".into(),
            allow_public: false,
            submitted_at: now,
            reply_due: now + 86_400,
            reply_remind_at: now,
            deadline_basis: "13个工作日".into(),
        };
        let event = NewEvent {
            kind: xiaowei_core::tracked::TimelineKind::Submitted,
            actor: "留言人".into(),
            staff_user_id: None,
            method: None,
            note: "提交".into(),
            public: true,
        };
        store.create_message(&m, &[], &event, &[]).await.unwrap();
        other.get_or_insert(m.tracking);
    }
    let beicun = other.unwrap();
    let (ours, township) = (tracking_of(&ours), tracking_of(&township));
    // role, our village's question, the township's suggestion, 柳园镇's complaint, the report.
    let expected = [
        (Role::Supervisor, [200, 200, 200, 200]),
        (Role::CountyAdmin, [200, 200, 200, 404]),
        (Role::TownshipAdmin, [200, 200, 404, 404]),
        (Role::TownshipReviewer, [200, 200, 404, 200]),
        (Role::VillageClerk, [200, 404, 404, 404]),
        (Role::DepartmentOfficer, [403, 403, 403, 403]),
    ];
    for (role, want) in expected {
        let client = app.login_as(role).await;
        let mut got = [0; 4];
        for (slot, tracking) in got.iter_mut().zip([&ours, &township, &beicun, &report]) {
            *slot = get(&app, &client, &format!("/staff/inbox/{tracking}")).await.0;
        }
        assert_eq!(got, want, "{}", role.as_str());
    }
    let clerk = app.login_as(Role::VillageClerk).await;
    let (_, list) = get(&app, &clerk, "/staff/inbox").await;
    assert!(list.contains(&ours) && !list.contains(&township) && !list.contains(&beicun) && !list.contains(&report));
    let (_, list) = get(&app, &clerk, "/staff/inbox?kind=report").await;
    assert!(!list.contains(&report));
    let officer = app.login_as(Role::DepartmentOfficer).await;
    assert_eq!(get(&app, &officer, "/staff/inbox").await.0, 403);
    // A report may be assigned to the commission only.
    let jiwei = app.login_as(Role::Supervisor).await;
    let admin_id = store.find_staff_by_username("township_admin").await.unwrap().unwrap().id;
    let reviewer_id = store.find_staff_by_username("township_reviewer").await.unwrap().unwrap().id;
    let r =
        app.post_form(&jiwei, &format!("/staff/inbox/{report}/assign"), &[("user_id", &admin_id.to_string())]).await;
    assert_eq!(r.status(), 400);
    let r =
        app.post_form(&jiwei, &format!("/staff/inbox/{report}/assign"), &[("user_id", &reviewer_id.to_string())]).await;
    assert_eq!(r.status(), 303);
    let assigned = store.find_message_by_tracking(&report).await.unwrap().unwrap();
    assert_eq!((assigned.status.as_str(), assigned.assigned_to), ("handling", Some(reviewer_id)));
    // Assigning outside the message's reach is refused: 柳园镇's clerk cannot take 南岔村's question.
    let r = app.post_form(&jiwei, &format!("/staff/inbox/{ours}/assign"), &[("user_id", "999999")]).await;
    assert_eq!(r.status(), 400);
    // Objections and self-query reports arrive in the same inbox.
    let objection = xiaowei_store::NewObjection {
        code: "YY0001".into(),
        submit_key: "form-YY0001".into(),
        org_code: NANCHA.into(),
        roster_id: None,
        entry_id: None,
        programme_id: Some(app.programme().await),
        name: "赵六".into(),
        phone_enc: app.state.cipher().encrypt("13900001111"),
        phone_idx: app.state.cipher().blind_index("phone", "13900001111"),
        body: "2016年的补助没有收到".into(),
        reply_due: 4_000_000_000,
        reply_remind_at: 3_999_900_000,
        deadline_basis: "5个工作日内答复".into(),
    };
    let id = crate::helpers::store_objection(store, &objection, 1).await;
    let reviewer = app.login_as(Role::TownshipReviewer).await;
    let (_, inbox) = get(&app, &reviewer, "/staff/inbox").await;
    assert!(inbox.contains("自助查询反映") && inbox.contains("2016年的补助没有收到"));
    let r = app
        .post_form(
            &reviewer,
            &format!("/staff/objections/{id}/answer"),
            &[("status", "closed"), ("reply", "已补发"), ("back", "inbox")],
        )
        .await;
    assert_eq!(location(&r), "/staff/inbox?done=answered");
});

/// A kind, the form fields, and the field the error must name.
type BadCase = (&'static str, &'static [(&'static str, &'static str)], &'static str);

both_backends!(bad_messages_name_the_field_and_write_nothing, |app: TestApp| async move {
    let villager = TestApp::client();
    let cases: [BadCase; 5] = [
        ("complaint", &[("place", NANCHA), ("body", "村委会办事拖拉。")], "手机号"),
        ("question", &[("place", NANCHA), ("body", "请问？"), ("phone", "12345")], "手机号"),
        ("question", &[("place", NANCHA), ("body", "短")], "留言内容"),
        ("question", &[("place", BEICUN), ("body", "别的乡的村子")], "留言对象"),
        ("question", &[("place", "999"), ("body", "不存在的地方")], "留言对象"),
    ];
    for (kind, fields, field) in cases {
        let r = leave(&app, &villager, kind, fields, None).await;
        assert_eq!(r.status(), 400, "{field}");
        let text = r.text().await.unwrap();
        assert!(text.contains(field), "{field}: {text}");
    }
    // The kind travels in the form: a forged one is refused.
    let page =
        villager.get(app.url("/t/620922100/messages/new?kind=question")).send().await.unwrap().text().await.unwrap();
    let csrf = page.split("csrf=").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let form = reqwest::multipart::Form::new()
        .text("form_key", "k".repeat(32))
        .text("kind", "nonsense")
        .text("place", NANCHA)
        .text("body", "没有这个类别的留言");
    let r =
        villager.post(app.url(&format!("/t/620922100/messages/new?csrf={csrf}"))).multipart(form).send().await.unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("留言类别"));
    let pdf = leave_with(
        &app,
        &villager,
        "question",
        &[("place", NANCHA), ("body", "附上一份文件。")],
        None,
        Some(("a.pdf", b"%PDF-1.4 not a photo".to_vec())),
    )
    .await;
    assert_eq!(pdf.status(), 400);
    assert!(pdf.text().await.unwrap().contains("照片"));
    let store = app.state.store();
    let everything = MessageFilter { org_prefix: String::new(), include_reports: true, ..MessageFilter::default() };
    assert_eq!(store.messages(&everything, 10, 0).await.unwrap().1, 0, "nothing written");
    // Unknown places and forged links are not found; bad staff input is refused in Chinese.
    assert_eq!(get(&app, &villager, "/t/999/messages").await.0, 404);
    assert_eq!(get(&app, &villager, "/messages/LY20251009000001?k=abc").await.0, 404);
    assert_eq!(get(&app, &villager, "/messages/nonsense?k=abc").await.0, 404);
    let ok =
        location(&leave(&app, &villager, "question", &[("place", NANCHA), ("body", "请问医保怎么交？")], None).await);
    let clerk = app.login_as(Role::VillageClerk).await;
    let t = tracking_of(&ok);
    let r = app.post_form(&clerk, &format!("/staff/inbox/{t}/reply"), &[("reply", "")]).await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("答复内容"));
    let r = app.post_form(&clerk, &format!("/staff/inbox/{t}/merge"), &[("into", "abc")]).await;
    assert!(r.text().await.unwrap().contains("合并到"));
    let r = app.post_form(&clerk, &format!("/staff/inbox/{t}/handled"), &[]).await;
    assert_eq!(r.status(), 400, "not answered yet");
    assert_eq!(store.find_message_by_tracking(&t).await.unwrap().unwrap().status.as_str(), "submitted");
    assert_eq!(get(&app, &clerk, "/staff/inbox/LY20990101000000").await.0, 404);
});

/// Every log line of this test binary, for the anonymity test to search.
fn captured_logs() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Arc::new(Mutex::new(Vec::new()));
        let sink = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .with_writer(move || Capture(sink.clone()))
            .finish();
        let _ = tracing::subscriber::set_global_default(subscriber);
        logs
    })
    .clone()
}

struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The reporter's identity in every form it could leak in.
const REPORTER_PHONE: &str = "13765432109";
const REPORTER_NAME: &str = "检举人李四海";

fn leaks(text: &str) -> Vec<&'static str> {
    [REPORTER_PHONE, "137****2109", "137 6543 2109", REPORTER_NAME, "李四海"]
        .into_iter()
        .filter(|needle| text.contains(needle))
        .collect()
}

async fn deliver_all(state: &AppState, now: i64) {
    for round in 0..5 {
        notify::deliver_due(state, state.gateway().as_ref(), "leak-test", now + round).await.unwrap();
    }
}

both_backends!(a_reporter_leaks_through_no_side_channel, |app: TestApp| async move {
    let logs = captured_logs();
    staff_phones(&app).await;
    let villager = TestApp::client();
    let r = leave(
        &app,
        &villager,
        "report",
        &[
            ("place", NANCHA),
            ("body", "南岔村主任把低保给了自己亲戚，我有照片为证。"),
            ("name", REPORTER_NAME),
            ("phone", REPORTER_PHONE),
        ],
        None,
    )
    .await;
    assert_eq!(r.status(), 303);
    let link = location(&r);
    assert!(leaks(&link).is_empty(), "URL: {link}");
    let tracking = tracking_of(&link);
    let store = app.state.store();
    let m = store.find_message_by_tracking(&tracking).await.unwrap().unwrap();
    let (_, own_page) = get(&app, &villager, &link).await;
    assert!(leaks(&own_page).is_empty(), "the reporter's page shows nothing of who they are");

    // The clocks run, the commission answers, every text is delivered through the log gateway.
    xiaowei_server::app::messages::run_clocks(&app.state, m.reply_due + 1).await.unwrap();
    let jiwei = app.login_as(Role::Supervisor).await;
    let (_, staff_page) = get(&app, &jiwei, &format!("/staff/inbox/{tracking}")).await;
    assert!(staff_page.contains(REPORTER_PHONE) && staff_page.contains(REPORTER_NAME), "the commission sees them");
    let title = staff_page.split("<title>").nth(1).unwrap().split("</title>").next().unwrap();
    assert!(leaks(title).is_empty(), "title: {title}");
    let r = app.post_form(&jiwei, &format!("/staff/inbox/{tracking}/reply"), &[("reply", "已收到，正在核查。")]).await;
    assert!(leaks(&location(&r)).is_empty());
    let (_, reporter_view) = get(&app, &villager, &link).await;
    assert!(reporter_view.contains("正在核查"));
    assert_eq!(rate(&app, &villager, &link, "unsatisfied", "核查太慢").await, 303);
    deliver_all(&app.state, m.reply_due + 2).await;

    // Texts: only the commission and the reporter; no text to anyone else names them.
    let texts = store.message_outbox(m.id).await.unwrap();
    assert!(!texts.is_empty());
    for t in &texts {
        assert!(
            t.recipient == "举报人" || t.recipient.starts_with("纪委监委"),
            "a report text went to {}",
            t.recipient
        );
        assert!(leaks(&t.body).is_empty() && leaks(&t.recipient).is_empty() && leaks(&t.params).is_empty(), "{t:?}");
    }
    let handler_idx = app.state.cipher().blind_index("phone", "13909379997");
    let clerk_idx = app.state.cipher().blind_index("phone", "13909379996");
    let all = store.outbox(None, None, 500, 0).await.unwrap().0;
    let to_handlers = all.iter().filter(|t| t.message_id == Some(m.id)).filter(|t| {
        let idx = app.state.cipher().blind_index("phone", &app.state.cipher().decrypt(&t.phone_enc).unwrap());
        idx == handler_idx || idx == clerk_idx
    });
    assert_eq!(to_handlers.count(), 0, "the village and township it concerns are never texted");

    // Pages and exports of every role, the audit log, and the log output.
    for role in Role::ALL {
        let client = app.login_as(role).await;
        for path in [
            "/staff/inbox".to_owned(),
            "/staff/inbox?kind=report".to_owned(),
            "/staff/inbox/export".to_owned(),
            "/staff/inbox/export?kind=report".to_owned(),
            "/staff/outbox".to_owned(),
            "/staff/audit".to_owned(),
            "/staff".to_owned(),
        ] {
            let (_, html) = get(&app, &client, &path).await;
            assert!(leaks(&html).is_empty(), "{path} as {}: {:?}", role.as_str(), leaks(&html));
        }
        let (status, html) = get(&app, &client, &format!("/staff/inbox/{tracking}")).await;
        if !role.is_commission() {
            assert!(matches!(status, 403 | 404), "{} opened the report: {status}", role.as_str());
            assert!(leaks(&html).is_empty());
        }
    }
    for entry in store.audit_entries("", 500, 0).await.unwrap() {
        assert!(leaks(&entry.detail).is_empty() && leaks(&entry.target).is_empty(), "audit: {entry:?}");
    }
    let logged = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
    assert!(logged.contains(&tracking), "the log was captured (it names the message)");
    assert!(leaks(&logged).is_empty(), "logs: {:?}", leaks(&logged));
});
