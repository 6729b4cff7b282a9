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

pub(crate) async fn published_roster(app: &TestApp) -> i64 {
    publish_roster_of(app, "2025", 1).await
}

/// Publishes a roster of two people (persons `first` and `first + 1`) for `year`.
pub(crate) async fn publish_roster_of(app: &TestApp, year: &str, first: u32) -> i64 {
    let clerk = app.login_as(Role::VillageClerk).await;
    let reviewer = app.login_as(Role::TownshipReviewer).await;
    let lines = [("张三", person_id(first), "600"), ("李四", person_id(first + 1), "600")];
    let mut fields = fields(app.programme().await);
    fields.retain(|(k, _)| *k != "year");
    fields.push(("year", year.into()));
    let id = app.import_roster(&clerk, &fields, roster_csv(&lines)).await;
    app.publish(&clerk, &reviewer, id).await;
    id
}

pub(crate) async fn get(app: &TestApp, path: &str) -> reqwest::Response {
    TestApp::client().get(app.url(path)).send().await.unwrap()
}

/// Runs the command line on the app's database with a data folder of its own, given the app's
/// ledger audit key as the discipline commission would be.
fn xiaowei(args: &[&str], data_dir: &std::path::Path, app: &TestApp) -> std::process::Output {
    let audit = std::fs::read_to_string(app.state.config().data_dir.join("keys").join("ledger-audit.key")).unwrap();
    std::process::Command::new(env!("CARGO_BIN_EXE_xiaowei"))
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .env("DATABASE_URL", &app.database_url)
        .env("XIAOWEI_LEDGER_AUDIT_KEY", audit.trim())
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
    let clean = xiaowei(&["ledger", "verify"], dir.path(), &app);
    let out = String::from_utf8_lossy(&clean.stdout).into_owned();
    assert_eq!(clean.status.code(), Some(0), "{out}{}", String::from_utf8_lossy(&clean.stderr));
    assert!(out.contains("账本核验通过"), "{out}");
    let printed = xiaowei(&["ledger", "checkpoint"], dir.path(), &app);
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
    let caught = xiaowei(&["ledger", "verify"], dir.path(), &app);
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
                            rows: Vec::new(),
                        };
                        xiaowei_server::public::ledger::append(&state, leaf.clone()).await.unwrap();
                        // The same change reported twice is logged once.
                        xiaowei_server::public::ledger::append(&state, leaf).await.unwrap();
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

/// An insider's database session: the append-only triggers dropped, as someone with the
/// database password can.
pub(crate) async fn insider(app: &TestApp) -> sqlx::AnyPool {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&app.database_url).await.unwrap();
    let drops: &[&str] = if app.sqlite_file.is_some() {
        &[
            "DROP TRIGGER ledger_leaves_no_update",
            "DROP TRIGGER ledger_leaves_no_delete",
            "DROP TRIGGER ledger_hashes_no_update",
            "DROP TRIGGER ledger_hashes_no_delete",
        ]
    } else {
        &[
            "DROP TRIGGER ledger_leaves_no_change ON ledger_leaves",
            "DROP TRIGGER ledger_hashes_no_change ON ledger_hashes",
        ]
    };
    for sql in drops {
        sqlx::query(*sql).execute(&pool).await.unwrap();
    }
    pool
}

/// Replaces a leaf's bytes and its stored leaf hash, leaving the tree hashes as they were.
pub(crate) async fn rewrite_leaf(pool: &sqlx::AnyPool, index: i64, content: &[u8]) {
    sqlx::query("UPDATE ledger_leaves SET content = $1, leaf_hash = $2 WHERE idx = $3")
        .bind(content.to_vec())
        .bind(leaf_hash(content).0.to_vec())
        .bind(index)
        .execute(pool)
        .await
        .unwrap();
}

/// Recomputes every stored tree hash from the leaves, as a careful insider would.
pub(crate) async fn recompute_tree(pool: &sqlx::AnyPool) {
    let leaves: Vec<(Vec<u8>,)> =
        sqlx::query_as("SELECT content FROM ledger_leaves ORDER BY idx").fetch_all(pool).await.unwrap();
    let cache = ledger::HashCache::default();
    let mut rows = Vec::new();
    for (i, (content,)) in (0u64..).zip(&leaves) {
        let base = ledger::stored_hash_index(0, i);
        for (k, h) in (0u64..).zip(ledger::stored_hashes_for_record_hash(i, leaf_hash(content), &cache).unwrap()) {
            cache.insert(base + k, h);
            rows.push((base + k, h));
        }
    }
    sqlx::query("DELETE FROM ledger_hashes").execute(pool).await.unwrap();
    for (idx, h) in rows {
        sqlx::query("INSERT INTO ledger_hashes (idx, hash) VALUES ($1, $2)")
            .bind(i64::try_from(idx).unwrap())
            .bind(h.0.to_vec())
            .execute(pool)
            .await
            .unwrap();
    }
}

async fn consistency_page(app: &TestApp, checkpoint: &str) -> String {
    get(app, &format!("/ledger/consistency?checkpoint={}", url_encode(checkpoint))).await.text().await.unwrap()
}

fn verify_passes(app: &TestApp, dir: &std::path::Path) -> bool {
    let run = xiaowei(&["ledger", "verify"], dir, app);
    match run.status.code() {
        Some(0) => true,
        Some(1) => false,
        other => panic!("ledger verify exited {other:?}: {}", String::from_utf8_lossy(&run.stderr)),
    }
}

both_backends!(edited_roster_rows_leave_the_ledger_consistent_but_fail_verify, |app: TestApp| async move {
    let id = published_roster(&app).await;
    let dir = tempfile::tempdir().unwrap();
    let old = get(&app, "/ledger/checkpoint").await.text().await.unwrap();
    let pool = insider(&app).await;
    sqlx::query("UPDATE roster_entries SET amount_fen = 990000, name = '王五' WHERE roster_id = $1 AND row_no = (SELECT MIN(row_no) FROM roster_entries WHERE roster_id = $1)")
        .bind(id)
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("UPDATE rosters SET total_fen = total_fen + 930000 WHERE id = $1")
        .bind(id)
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    assert!(!verify_passes(&app, dir.path()));
    // The log itself was not touched, so an old checkpoint is still consistent with it.
    let page = consistency_page(&app, &old).await;
    assert!(page.contains("一致：账本自那时起只追加过"), "{page}");
});

both_backends!(a_leaf_rewritten_under_its_tree_is_caught_by_the_consistency_check, |app: TestApp| async move {
    let id = published_roster(&app).await;
    let dir = tempfile::tempdir().unwrap();
    let old = get(&app, "/ledger/checkpoint").await.text().await.unwrap();
    publish_roster_of(&app, "2024", 11).await;
    let leaf = app.state.store().latest_leaf_of("roster", id).await.unwrap().unwrap();
    let forged = String::from_utf8(leaf.content.clone()).unwrap().replace("total_fen=1200", "total_fen=1300");
    assert_ne!(forged.as_bytes(), leaf.content.as_slice());
    let pool = insider(&app).await;
    rewrite_leaf(&pool, leaf.idx, forged.as_bytes()).await;
    pool.close().await;
    assert!(!verify_passes(&app, dir.path()));
    // The hash tile still holds the old leaf hash, so the inclusion check in 核验 fails.
    let (size, _) = app.state.store().ledger_head().await.unwrap();
    let tile_path = TilePath::Hashes { level: 0, index: 0, width: u32::try_from(size).unwrap() }.to_path();
    let tile = get(&app, &format!("/ledger/{tile_path}")).await.bytes().await.unwrap();
    let at = usize::try_from(leaf.idx).unwrap() * 32;
    assert_ne!(&tile[at..at + 32], &leaf_hash(forged.as_bytes()).0);
    let page = consistency_page(&app, &old).await;
    assert!(page.contains("不一致：今天的账本记录与它的哈希树对不上"), "{page}");
    // Today's own checkpoint is no excuse either.
    let today = get(&app, "/ledger/checkpoint").await.text().await.unwrap();
    assert!(consistency_page(&app, &today).await.contains("不一致"));
});

both_backends!(
    a_leaf_rewritten_with_its_tree_recomputed_is_caught_by_the_consistency_check,
    |app: TestApp| async move {
        let id = published_roster(&app).await;
        let dir = tempfile::tempdir().unwrap();
        let old = get(&app, "/ledger/checkpoint").await.text().await.unwrap();
        publish_roster_of(&app, "2024", 11).await;
        assert!(consistency_page(&app, &old).await.contains("一致：账本自那时起只追加过"));
        // The rows, the leaf rebuilt from them and the whole tree, all rewritten consistently.
        let pool = insider(&app).await;
        sqlx::query("UPDATE roster_entries SET amount_fen = 990000 WHERE roster_id = $1 AND row_no = (SELECT MIN(row_no) FROM roster_entries WHERE roster_id = $1)")
        .bind(id)
        .execute(&pool)
        .await
        .unwrap();
        sqlx::query("UPDATE rosters SET total_fen = 1050000 WHERE id = $1").bind(id).execute(&pool).await.unwrap();
        let leaf = app.state.store().latest_leaf_of("roster", id).await.unwrap().unwrap();
        let rebuilt = app.state.store().rederive_leaf(&leaf).await.unwrap().unwrap();
        assert_ne!(rebuilt, leaf.content);
        rewrite_leaf(&pool, leaf.idx, &rebuilt).await;
        recompute_tree(&pool).await;
        pool.close().await;
        assert!(verify_passes(&app, dir.path()), "the database agrees with itself");
        let page = consistency_page(&app, &old).await;
        assert!(page.contains("不一致：今天的账本与这份检查点对不上"), "{page}");
    }
);

both_backends!(a_payment_account_switched_in_the_database_is_caught_with_the_audit_key, |app: TestApp| async move {
    let clerk = app.login_as(Role::VillageClerk).await;
    let reviewer = app.login_as(Role::TownshipReviewer).await;
    let lines = [("张三", person_id(1), "600"), ("李四", person_id(2), "600"), ("王五", person_id(3), "600")];
    let id = app.import_roster(&clerk, &fields(app.programme().await), roster_csv(&lines)).await;
    app.publish(&clerk, &reviewer, id).await;
    let leaf = app.state.store().latest_leaf_of("roster", id).await.unwrap().unwrap();
    assert!(leaf.content.starts_with(b"xiaowei-ledger-leaf/2\n") && leaf.field("accounts_hmac").is_some());
    let dir = tempfile::tempdir().unwrap();
    assert!(verify_passes(&app, dir.path()));
    let old = get(&app, "/ledger/checkpoint").await.text().await.unwrap();
    // The first row's bank account becomes the last row's (another person's), ciphertext and index alike: the
    // public page shows nothing different.
    let table =
        |html: String| html.split("<table id=\"entries\"").nth(1).unwrap().split("</table>").next().unwrap().to_owned();
    let before = table(get(&app, &format!("/rosters/{id}")).await.text().await.unwrap());
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&app.database_url).await.unwrap();
    let (enc, idx, masked): (Vec<u8>, String, String) = sqlx::query_as(
        "SELECT account_enc, account_idx, account_masked FROM roster_entries WHERE roster_id = $1 ORDER BY row_no DESC LIMIT 1",
    )
    .bind(id)
    .fetch_one(&pool)
    .await
    .unwrap();
    sqlx::query(
        "UPDATE roster_entries SET account_enc = $1, account_idx = $2, account_masked = $3 WHERE roster_id = $4 \
         AND row_no = (SELECT MIN(row_no) FROM roster_entries WHERE roster_id = $4)",
    )
    .bind(enc)
    .bind(idx)
    .bind(masked)
    .bind(id)
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;
    // Another address of the same page, so that it is rendered anew from the changed rows.
    assert_eq!(table(get(&app, &format!("/rosters/{id}?page=1")).await.text().await.unwrap()), before);
    let run = xiaowei(&["ledger", "verify"], dir.path(), &app);
    let out = String::from_utf8_lossy(&run.stdout).into_owned();
    assert_eq!(run.status.code(), Some(1), "{out}");
    assert!(out.contains("accounts_hmac") && out.contains("收款账户"), "{out}");
    assert!(consistency_page(&app, &old).await.contains("一致：账本自那时起只追加过"));
});
