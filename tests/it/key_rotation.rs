//! `xiaowei keys rotate` against the running server: interrupted part-way and resumed, while
//! the server keeps answering the self-query (by ID) and the case look-up (by phone); afterwards
//! every look-up finds the same person, every sealed value opens to what it was, the old key is
//! kept retired, the audit log tells the story and the ledger still verifies.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use xiaowei_core::Role;
use xiaowei_core::pii::ID_PURPOSE;

use crate::helpers::{TestApp, both_backends, person_id, roster_csv};
use crate::services::{GOOD, apply, seed_cases};

fn xiaowei(data_dir: &Path, args: &[&str], database_url: &str) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_xiaowei"));
    command.args(args).arg("--data-dir").arg(data_dir).current_dir(data_dir).env("XIAOWEI_LOG", "warn");
    for var in ["XIAOWEI_DATABASE_URL", "XIAOWEI_PII_KEY", "XIAOWEI_CONFIG", "XIAOWEI_DATA_DIR"] {
        command.env_remove(var);
    }
    command.env("DATABASE_URL", database_url);
    command.output().unwrap()
}

fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

/// Every roster entry's ID and account, opened with the server's keys.
async fn opened_entries(app: &TestApp) -> Vec<(i64, String, Option<String>)> {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&app.database_url).await.unwrap();
    let rows: Vec<(i64, Vec<u8>, Option<Vec<u8>>)> =
        sqlx::query_as("SELECT id, id_enc, account_enc FROM roster_entries ORDER BY id")
            .fetch_all(&pool)
            .await
            .unwrap();
    pool.close().await;
    let cipher = app.state.cipher();
    rows.into_iter()
        .map(|(id, sealed_id, account)| {
            (id, cipher.decrypt(&sealed_id).unwrap(), account.map(|a| cipher.decrypt(&a).unwrap()))
        })
        .collect()
}

/// Waits (up to five seconds) for the server to follow the key files.
async fn wait_for_ring(app: &TestApp, rotating: bool) {
    for _ in 0..50 {
        if app.state.cipher().previous_key_id().is_some() == rotating {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the server did not follow the key files (rotating: {rotating})");
}

both_backends!(a_rotation_resumes_while_the_server_keeps_answering, |app: TestApp| async move {
    let clerk = app.login_as(Role::VillageClerk).await;
    let reviewer = app.login_as(Role::TownshipReviewer).await;
    let programme = app.programme().await;
    let lines: Vec<(&str, String, &str)> =
        (1..=12).map(|n| (if n == 7 { "马玉兰" } else { "张三" }, person_id(n), "600")).collect();
    let fields = vec![
        ("programme_id", programme.to_string()),
        ("org_code", "620922100200".to_owned()),
        ("year", "2024".to_owned()),
        ("phase", "proposed".to_owned()),
    ];
    let roster = app.import_roster(&clerk, &fields, roster_csv(&lines)).await;
    app.publish(&clerk, &reviewer, roster).await;
    let ([item, _], _) = seed_cases(&app).await;
    let villager = TestApp::client();
    assert_eq!(apply(&app, &villager, item, &GOOD, None).await.status(), 303);
    let tracking =
        app.state.store().cases(&xiaowei_store::CaseFilter::default(), 10, 0).await.unwrap().0[0].tracking.clone();

    let self_query = || async {
        let client = TestApp::client();
        let csrf = app.csrf(&client, "/t/620922100/self-query").await;
        let form =
            [("csrf", csrf), ("name", "马玉兰".to_owned()), ("id_number", person_id(7)), ("household", "1".into())];
        let r = client.post(app.url("/t/620922100/self-query")).form(&form).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let page = r.text().await.unwrap();
        assert!(page.contains("库区移民后期扶持") && !page.contains("未查询到发放记录"), "{page}");
        assert!(page.contains("600.00"), "{page}");
    };
    let case_lookup = || async {
        let client = TestApp::client();
        let csrf = app.csrf(&client, "/cases").await;
        let form = [("csrf", csrf.as_str()), ("tracking", tracking.as_str()), ("phone", "13712345678")];
        let r = client.post(app.url("/cases")).form(&form).send().await.unwrap();
        assert_eq!(r.status(), 303, "the case is found by its phone");
    };
    self_query().await;
    case_lookup().await;
    let before = opened_entries(&app).await;
    let old_key = app.state.cipher().key_id();
    let old_index = app.state.cipher().blind_index(ID_PURPOSE, &person_id(7));

    // Interrupted: a few batches of three rows, the rest left for the next run.
    let dir = app.state.config().data_dir.clone();
    let url = app.database_url.clone();
    let args = ["keys", "rotate", "--batch-size", "3", "--max-batches", "4", "--wait", "2"];
    let run = tokio::task::spawn_blocking({
        let (dir, url) = (dir.clone(), url.clone());
        move || xiaowei(&dir, &args, &url)
    });
    wait_for_ring(&app, true).await;
    // While the command waits, and after it stopped, the server answers with both keys.
    self_query().await;
    case_lookup().await;
    let output = run.await.unwrap();
    assert!(output.status.success(), "{}", text(&output));
    assert!(text(&output).contains("已按 --max-batches 暂停"), "{}", text(&output));
    let progress =
        app.state.store().pii_rotation_progress(&app.state.cipher().key_id(), "roster_entries").await.unwrap();
    assert_eq!((progress.rows_done, progress.finished), (3, false), "one batch of entries, after three empty tables");
    assert!(dir.join("keys/pii.key.next").exists() && dir.join("keys/token.key").exists());
    let backup = tempfile::tempdir().unwrap();
    let refused = xiaowei(&dir, &["backup", backup.path().to_str().unwrap()], &url);
    assert!(!refused.status.success() && text(&refused).contains("轮换尚未完成"), "{}", text(&refused));
    let new_key = app.state.cipher().key_id();
    assert_ne!(new_key, old_key);
    self_query().await;
    case_lookup().await;
    assert_eq!(opened_entries(&app).await, before);

    // Resumed: it goes on from where it stopped and retires the old key.
    let output = tokio::task::spawn_blocking({
        let (dir, url) = (dir.clone(), url.clone());
        move || xiaowei(&dir, &["keys", "rotate", "--batch-size", "3", "--wait", "0"], &url)
    })
    .await
    .unwrap();
    let said = text(&output);
    assert!(output.status.success(), "{said}");
    assert!(said.contains("继续上次未完成的轮换") && said.contains("轮换完成") && said.contains("xiaowei keys export"));
    assert!(said.contains("roster_entries：6/12") && !said.contains("roster_entries：3/12"), "it resumes: {said}");
    wait_for_ring(&app, false).await;
    assert_eq!(app.state.cipher().key_id(), new_key);
    assert!(!dir.join("keys/pii.key.next").exists());
    let retired: Vec<String> = std::fs::read_dir(dir.join("keys"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("pii.key.retired-"))
        .collect();
    assert_eq!(retired.len(), 1);
    let kept = std::fs::read_to_string(dir.join("keys").join(&retired[0])).unwrap();
    assert_eq!(xiaowei_core::PiiKey::from_hex(&kept).unwrap().id(), old_key);

    // Everything is found as before and opens to what it was, under the new key alone.
    self_query().await;
    case_lookup().await;
    assert_eq!(opened_entries(&app).await, before);
    assert!(app.state.store().entries_for_person(&old_index).await.unwrap().is_empty(), "no old index is left");
    let audit = app.state.store().audit_entries("", 500, 0).await.unwrap();
    for action in ["pii_key.rotate.start", "pii_key.rotate.resume", "pii_key.rotate.table", "pii_key.rotate.finish"] {
        assert!(audit.iter().any(|a| a.action == action), "{action} audited");
    }

    // The roster's ledger leaf (which covers the old indexes) still verifies, with the retired key.
    let output = xiaowei(&dir, &["ledger", "verify"], &url);
    assert!(output.status.success(), "{}", text(&output));
    std::fs::remove_file(dir.join("keys").join(&retired[0])).unwrap();
    let output = xiaowei(&dir, &["ledger", "verify"], &url);
    assert!(!output.status.success(), "without the retired key the old leaf cannot be re-derived");
});
