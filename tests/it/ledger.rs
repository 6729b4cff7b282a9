//! 公开账本 over HTTP: a published roster's page shows its leaf and a 核验 link; the checkpoint
//! and tiles are served in the C2SP formats; bad input gets a Chinese message; an edit made
//! directly in the database is found by `xiaowei ledger verify`; two servers on one database
//! append one gapless sequence.

use xiaowei_core::Role;
use xiaowei_core::ledger::{self, LeafText, TilePath, check_record, decode_bundle, leaf_hash};
use xiaowei_store::NewLeaf;

use crate::helpers::{Backend, TestApp, both_backends, person_id, roster_csv, with_app};

fn fields(programme: i64) -> Vec<(&'static str, String)> {
    vec![
        ("programme_id", programme.to_string()),
        ("org_code", "620922100200".into()),
        ("year", "2025".into()),
        ("phase", "proposed".into()),
    ]
}

async fn published_roster(app: &TestApp) -> i64 {
    let clerk = app.login_as(Role::VillageClerk).await;
    let reviewer = app.login_as(Role::TownshipReviewer).await;
    let lines = [("张三", person_id(1), "600"), ("李四", person_id(2), "600")];
    let id = app.import_roster(&clerk, &fields(app.programme().await), roster_csv(&lines)).await;
    app.publish(&clerk, &reviewer, id).await;
    id
}

async fn get(app: &TestApp, path: &str) -> reqwest::Response {
    TestApp::client().get(app.url(path)).send().await.unwrap()
}

fn xiaowei(args: &[&str], data_dir: &std::path::Path, url: &str) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_xiaowei"))
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .env("DATABASE_URL", url)
        .env("XIAOWEI_LOG", "warn")
        .env_remove("XIAOWEI_CONFIG")
        .env_remove("XIAOWEI_PII_KEY")
        .output()
        .unwrap()
}

both_backends!(a_published_roster_is_logged_and_its_proof_checks_out, |app: TestApp| async move {
    let id = published_roster(&app).await;
    let page = get(&app, &format!("/rosters/{id}")).await.text().await.unwrap();
    let leaf = app.state.store().latest_leaf_of("roster", id).await.unwrap().unwrap();
    assert!(page.contains(&leaf.hash_hex()) && page.contains(&format!("/ledger/leaves/{}", leaf.idx)), "{page}");
    assert!(page.contains("核验"));

    let checkpoint = get(&app, "/ledger/checkpoint").await.text().await.unwrap();
    let key = app.state.ledger_key().await.unwrap();
    let body = ledger::open_checkpoint(&checkpoint, key.vkey()).unwrap();
    let size = body.size();
    assert!(size >= 1);
    // The leaf from the entry bundle, its hash from the level-0 tile, its proof against the root.
    let bundle_path = TilePath::Entries { index: 0, width: u32::try_from(size).unwrap() }.to_path();
    let bundle = get(&app, &format!("/ledger/{bundle_path}")).await;
    assert_eq!(bundle.headers()["cache-control"], "public, max-age=31536000, immutable");
    let leaves = decode_bundle(&bundle.bytes().await.unwrap()).unwrap();
    let index = usize::try_from(leaf.idx).unwrap();
    assert_eq!(leaves[index], leaf.content);
    let tile_path = TilePath::Hashes { level: 0, index: 0, width: u32::try_from(size).unwrap() }.to_path();
    let tile = get(&app, &format!("/ledger/{tile_path}")).await.bytes().await.unwrap();
    assert_eq!(&tile[index * 32..index * 32 + 32], &leaf_hash(&leaf.content).0);
    let proof = app.state.store().ledger_inclusion_proof(size, index as u64).await.unwrap();
    check_record(&proof, size, *body.hash(), index as u64, leaf_hash(&leaf.content)).unwrap();

    // The verify page names the script and carries what it checks.
    let verify = get(&app, &format!("/ledger/leaves/{}", leaf.idx)).await.text().await.unwrap();
    assert!(verify.contains("/static/ledger-verify.js") && verify.contains(key.vkey()), "{verify}");
    assert_eq!(get(&app, "/static/ledger-verify.js").await.status(), 200);

    // Today's checkpoint is consistent with itself; the sheet prints it.
    let encoded: String = url_encode(&checkpoint);
    let same = get(&app, &format!("/ledger/consistency?checkpoint={encoded}")).await.text().await.unwrap();
    assert!(same.contains("一致：账本自那时起只追加过"), "{same}");
    let sheet = get(&app, "/ledger/sheet").await.text().await.unwrap();
    assert!(sheet.contains(&format!("共有 <strong>{size}</strong> 条记录")), "{sheet}");
    assert_eq!(get(&app, "/ledger/sheet/qr.svg").await.status(), 200);

    // Bad input: a clear Chinese message, never a server error.
    for (path, status, words) in [
        ("/ledger/tile/0/5", 400, "瓦片路径无效"),
        ("/ledger/tile/0/000.p/0", 400, "瓦片路径无效"),
        ("/ledger/tile/entries/x001/000", 404, "不存在"),
        ("/ledger/leaves/abc", 400, "账本记录编号应为数字"),
        ("/ledger/leaves/999999", 404, "不存在"),
        ("/ledger/consistency?checkpoint=hello%0Aworld", 400, "检查点格式不正确"),
    ] {
        let r = get(&app, path).await;
        assert_eq!(r.status().as_u16(), status, "{path}");
        let text = r.text().await.unwrap();
        assert!(text.contains(words), "{path}: {text}");
    }
    let forged = url_encode(&checkpoint.replacen(&format!("\n{size}\n"), &format!("\n{}\n", size + 1), 1));
    let r = get(&app, &format!("/ledger/consistency?checkpoint={forged}")).await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("签名无法用本站公钥验证"));
});

fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

both_backends!(ledger_verify_finds_a_row_edited_in_the_database, |app: TestApp| async move {
    let id = published_roster(&app).await;
    let dir = tempfile::tempdir().unwrap();
    let clean = xiaowei(&["ledger", "verify"], dir.path(), &app.database_url);
    let out = String::from_utf8_lossy(&clean.stdout).into_owned();
    assert_eq!(clean.status.code(), Some(0), "{out}{}", String::from_utf8_lossy(&clean.stderr));
    assert!(out.contains("账本核验通过"), "{out}");
    let printed = xiaowei(&["ledger", "checkpoint"], dir.path(), &app.database_url);
    assert_eq!(printed.status.code(), Some(0));

    // Someone changes an amount behind the application's back.
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&app.database_url).await.unwrap();
    sqlx::query("UPDATE roster_entries SET amount_fen = 990000 WHERE roster_id = $1")
        .bind(id)
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let caught = xiaowei(&["ledger", "verify"], dir.path(), &app.database_url);
    let out = String::from_utf8_lossy(&caught.stdout).into_owned();
    assert_eq!(caught.status.code(), Some(1), "{out}");
    assert!(out.contains("与数据库现有内容不符") && out.contains("entries_sha256"), "{out}");
});

/// Two servers on one PostgreSQL database append at the same time: one sequence, no gaps, no
/// duplicates, and both serve the same checkpoint.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_servers_on_one_postgres_append_one_sequence() {
    with_app(Backend::Postgres, |app: TestApp| async move {
        let second_store = xiaowei_store::Store::connect(&app.database_url).await.unwrap();
        let second = xiaowei_server::AppState::new(
            second_store.clone(),
            xiaowei_core::PiiCipher::new(xiaowei_core::PiiKey::generate()),
            app.state.config().clone(),
            xiaowei_integrations::AttachmentStore::in_memory(1024),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let second_addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(xiaowei_server::serve(listener, second.clone(), async {
            let _ = stopped.await;
        }));
        let mut tasks = Vec::new();
        for (n, state) in [(0i64, app.state.clone()), (1, second.clone())] {
            for worker in 0..3i64 {
                let state = state.clone();
                tasks.push(tokio::spawn(async move {
                    for i in 0..10i64 {
                        let object = n * 1000 + worker * 100 + i;
                        let mut text = LeafText::new("test_item", object, 1, "publish", None, 1).unwrap();
                        text.field("server", n);
                        let leaf = NewLeaf {
                            kind: "test_item".into(),
                            object_id: object,
                            version: 1,
                            event: "publish".into(),
                            org_code: None,
                            at: 1,
                            content: text.finish().unwrap(),
                        };
                        xiaowei_server::ledger::append(&state, leaf.clone()).await.unwrap();
                        // The same change reported twice is logged once.
                        xiaowei_server::ledger::append(&state, leaf).await.unwrap();
                    }
                }));
            }
        }
        for t in tasks {
            t.await.unwrap();
        }
        let leaves = app.state.store().ledger_leaves(0, 1000).await.unwrap();
        assert_eq!(leaves.len(), 60);
        assert!(leaves.iter().enumerate().all(|(i, l)| l.idx == i64::try_from(i).unwrap()), "gapless");
        let mut objects: Vec<i64> = leaves.iter().map(|l| l.object_id).collect();
        objects.sort_unstable();
        objects.dedup();
        assert_eq!(objects.len(), 60, "no duplicates");
        let one = get(&app, "/ledger/checkpoint").await.text().await.unwrap();
        let two = TestApp::client()
            .get(format!("http://{second_addr}/ledger/checkpoint"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(one, two, "both servers sign the same tree with the same key");
        assert!(one.contains("\n60\n"), "{one}");
        let _ = stop.send(());
        let _ = server.await;
        second_store.close().await;
    })
    .await;
}
