//! Operations from the command line: `backup` while writes go on, `keys export`/`import`,
//! `restore` into an empty folder (and an empty PostgreSQL database), and what a restore refuses
//! (a damaged backup, a folder in use, the wrong key); private file modes whatever the umask.

use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use rand::Rng;
use xiaowei_core::{PiiCipher, PiiKey, ResidentId};
use xiaowei_store::Store;

const PASSPHRASE: &str = "县信息中心托管口令2026";

fn xiaowei(dir: &Path, args: &[&str], database_url: Option<&str>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_xiaowei"));
    command.args(args).current_dir(dir).env("XIAOWEI_LOG", "warn").env("XIAOWEI_ESCROW_PASSPHRASE", PASSPHRASE);
    for var in ["DATABASE_URL", "XIAOWEI_DATABASE_URL", "XIAOWEI_PII_KEY", "XIAOWEI_CONFIG", "XIAOWEI_DATA_DIR"] {
        command.env_remove(var);
    }
    if let Some(url) = database_url {
        command.env("DATABASE_URL", url);
    }
    command.output().unwrap()
}

fn ok(output: &Output) -> String {
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "{text}{}", String::from_utf8_lossy(&output.stderr));
    text
}

fn fails(output: &Output) -> String {
    assert!(!output.status.success(), "{}", String::from_utf8_lossy(&output.stdout));
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A fresh PostgreSQL database, or `None` when no server is configured.
pub async fn pg_database() -> Option<(String, sqlx::AnyPool, String)> {
    let Ok(base) = std::env::var("XIAOWEI_TEST_PG") else {
        assert!(std::env::var("XIAOWEI_REQUIRE_PG").is_err(), "XIAOWEI_REQUIRE_PG is set but XIAOWEI_TEST_PG is not");
        eprintln!("skipping PostgreSQL: XIAOWEI_TEST_PG is not set");
        return None;
    };
    let base = base.trim_end_matches('/').to_owned();
    let name = format!("xw_it_{:016x}", rand::thread_rng().r#gen::<u64>());
    sqlx::any::install_default_drivers();
    let admin = sqlx::AnyPool::connect(&format!("{base}/postgres")).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&admin).await.unwrap();
    Some((format!("{base}/{name}"), admin, name))
}

pub async fn drop_database(admin: &sqlx::AnyPool, name: &str) {
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE {name} WITH (FORCE)"))).execute(admin).await.unwrap();
}

/// Demo data; backup while audit records keep being written; escrow the keys; restore into an
/// empty folder (and database); the ledger verifies, and a self-query and a tracking lookup find
/// on the copy what they found on the original.
async fn drill(live_url: Option<&str>, restore_url: Option<&str>) {
    let root = tempfile::tempdir().unwrap();
    let (live, copy, backup) = (root.path().join("live"), root.path().join("restored"), root.path().join("backup"));
    let live_dir = live.to_str().unwrap();
    std::fs::create_dir_all(&live).unwrap();
    let demo = ok(&xiaowei(root.path(), &["demo", "--load-only", "--data-dir", live_dir], live_url));
    let example = demo.lines().find(|l| l.starts_with("自助查询示例：")).unwrap();
    let seed =
        ResidentId::parse(&example.split_whitespace().nth(1).unwrap().chars().take(18).collect::<String>()).unwrap();
    // A scan in the live attachment folder, as an upload leaves it.
    let scans =
        xiaowei_integrations::AttachmentStore::from_config(&Default::default(), &live.join("attachments")).unwrap();
    scans.put(axum::body::Bytes::from_static(b"%PDF-1.4\n1 0 obj\n%%EOF\n")).await.unwrap();
    let url = live_url.map_or_else(|| format!("sqlite://{live_dir}/xiaowei.db"), str::to_owned);
    let store = Store::connect(&url).await.unwrap();
    let tracking: String = sqlx::query_scalar("SELECT tracking FROM service_cases ORDER BY id LIMIT 1")
        .fetch_one(&sqlx::AnyPool::connect(&url).await.unwrap())
        .await
        .unwrap();

    // Writes go on during the backup.
    let stop = Arc::new(AtomicBool::new(false));
    let written = Arc::new(AtomicU64::new(0));
    let writer = {
        let (store, stop, written) = (store.clone(), stop.clone(), written.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let entry = xiaowei_store::NewAuditEntry {
                    at: 1,
                    actor_id: None,
                    actor_name: "测试".into(),
                    action: "test.write".into(),
                    target: "drill".into(),
                    detail: String::new(),
                    ip: "local".into(),
                    org_code: None,
                };
                store.append_audit(&entry).await.unwrap();
                written.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    let backup_dir = backup.to_str().unwrap().to_owned();
    let (root_path, live_owned, url_owned) = (root.path().to_owned(), live_dir.to_owned(), live_url.map(str::to_owned));
    let before = written.load(Ordering::Relaxed);
    let made = tokio::task::spawn_blocking(move || {
        xiaowei(&root_path, &["backup", &backup_dir, "--data-dir", &live_owned], url_owned.as_deref())
    })
    .await
    .unwrap();
    let during = written.load(Ordering::Relaxed) - before;
    stop.store(true, Ordering::Relaxed);
    writer.await.unwrap();
    let text = ok(&made);
    assert!(text.contains("备份完成") && text.contains("不含密钥"), "{text}");
    assert!(during > 0, "the writer kept writing during the backup");
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(backup.join("manifest.json")).unwrap()).unwrap();
    assert!(manifest["ledger"]["size"].as_u64().unwrap() > 0, "{manifest}");
    assert!(manifest["schema_version"].as_i64().unwrap() >= 17);
    assert!(
        manifest["files"].as_array().unwrap().iter().any(|f| f["path"].as_str().unwrap().starts_with("attachments/"))
    );
    for file in walk(&backup) {
        let bytes = std::fs::read(&file).unwrap();
        let key = std::fs::read_to_string(live.join("keys/pii.key")).unwrap();
        assert!(!bytes.windows(64).any(|w| w == &key.as_bytes()[..64]), "{} holds the key", file.display());
    }

    let escrow = root.path().join("keys.escrow");
    ok(&xiaowei(root.path(), &["keys", "export", escrow.to_str().unwrap(), "--data-dir", live_dir], live_url));
    let copy_dir = copy.to_str().unwrap();
    // Without the keys a restore does not start.
    let keyless =
        fails(&xiaowei(root.path(), &["restore", backup.to_str().unwrap(), "--data-dir", copy_dir], restore_url));
    assert!(keyless.contains("keys import"), "{keyless}");
    assert!(!copy.join("xiaowei.db").exists());
    ok(&xiaowei(root.path(), &["keys", "import", escrow.to_str().unwrap(), "--data-dir", copy_dir], restore_url));
    let restored =
        ok(&xiaowei(root.path(), &["restore", backup.to_str().unwrap(), "--data-dir", copy_dir], restore_url));
    assert!(
        restored.contains("账本核验通过") && restored.contains("花名册记录：") && restored.contains("恢复完成"),
        "{restored}"
    );
    // A second restore into the same folder is refused.
    let again =
        fails(&xiaowei(root.path(), &["restore", backup.to_str().unwrap(), "--data-dir", copy_dir], restore_url));
    assert!(again.contains("不是空"), "{again}");

    let copy_url = restore_url.map_or_else(|| format!("sqlite://{copy_dir}/xiaowei.db"), str::to_owned);
    let restored_store = Store::connect(&copy_url).await.unwrap();
    let key = std::fs::read_to_string(copy.join("keys/pii.key")).unwrap();
    let cipher = PiiCipher::new(PiiKey::from_hex(key.trim()).unwrap());
    let idx = cipher.blind_index(xiaowei_server::app::rosters::ID_PURPOSE, seed.expose());
    let found = restored_store.entries_for_person(&idx).await.unwrap();
    assert!(!found.is_empty(), "the self-query finds the seed villager on the copy");
    assert_eq!(found.len(), store.entries_for_person(&idx).await.unwrap().len());
    let case = restored_store.find_case_by_tracking(&tracking).await.unwrap().expect("the tracking number is found");
    assert_eq!(case.tracking, tracking);
    restored_store.close().await;
    store.close().await;

    // A damaged backup restores nothing.
    let entry = manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"].as_str().unwrap().starts_with("attachments/"))
        .unwrap();
    let damaged = backup.join(entry["path"].as_str().unwrap());
    let mut bytes = std::fs::read(&damaged).unwrap();
    bytes[0] ^= 1;
    std::fs::write(&damaged, bytes).unwrap();
    let empty = root.path().join("empty");
    let refused = fails(&xiaowei(
        root.path(),
        &["restore", backup.to_str().unwrap(), "--data-dir", empty.to_str().unwrap()],
        None,
    ));
    assert!(refused.contains("备份已损坏") && refused.contains(entry["path"].as_str().unwrap()), "{refused}");
    assert!(!empty.join("xiaowei.db").exists());
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() { out.extend(walk(&path)) } else { out.push(path) }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_while_writing_then_restore_on_sqlite() {
    drill(None, None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_while_writing_then_restore_on_postgres() {
    let Some((live, admin, live_name)) = pg_database().await else { return };
    let Some((target, _, target_name)) = pg_database().await else { return };
    drill(Some(&live), Some(&target)).await;
    drop_database(&admin, &live_name).await;
    drop_database(&admin, &target_name).await;
    admin.close().await;
}

#[test]
fn a_wrong_passphrase_imports_nothing() {
    let root = tempfile::tempdir().unwrap();
    let (data, other) = (root.path().join("data"), root.path().join("other"));
    ok(&xiaowei(root.path(), &["migrate", "--data-dir", data.to_str().unwrap()], None));
    let none =
        fails(&xiaowei(root.path(), &["keys", "export", "k.escrow", "--data-dir", data.to_str().unwrap()], None));
    assert!(none.contains("还没有个人信息密钥"), "{none}");
    ok(&xiaowei(root.path(), &["ledger", "checkpoint", "--data-dir", data.to_str().unwrap()], None));
    ok(&xiaowei(root.path(), &["keys", "export", "k.escrow", "--data-dir", data.to_str().unwrap()], None));
    let text = std::fs::read_to_string(root.path().join("k.escrow")).unwrap();
    assert!(!text.contains(std::fs::read_to_string(data.join("keys/pii.key")).unwrap().trim()));
    let wrong = root.path().join("wrong");
    std::fs::write(&wrong, "另一个口令另一个口令\n").unwrap();
    let args = [
        "keys",
        "import",
        "k.escrow",
        "--passphrase-file",
        wrong.to_str().unwrap(),
        "--data-dir",
        other.to_str().unwrap(),
    ];
    assert!(fails(&xiaowei(root.path(), &args, None)).contains("口令不正确"));
    assert!(!other.join("keys/pii.key").exists());
    // Importing over a different key is refused.
    ok(&xiaowei(root.path(), &["ledger", "checkpoint", "--data-dir", other.to_str().unwrap()], None));
    let refused =
        fails(&xiaowei(root.path(), &["keys", "import", "k.escrow", "--data-dir", other.to_str().unwrap()], None));
    assert!(refused.contains("另一把密钥"), "{refused}");
}

/// Runs the binary under a given umask.
#[cfg(unix)]
fn under_umask(umask: &str, dir: &Path, args: &[&str]) -> Output {
    let mut command = Command::new("sh");
    command.arg("-c").arg(format!("umask {umask}; exec \"$0\" \"$@\"")).arg(env!("CARGO_BIN_EXE_xiaowei"));
    command.args(args).current_dir(dir).env("XIAOWEI_LOG", "warn");
    for var in ["DATABASE_URL", "XIAOWEI_DATABASE_URL", "XIAOWEI_PII_KEY", "XIAOWEI_CONFIG", "XIAOWEI_DATA_DIR"] {
        command.env_remove(var);
    }
    command.output().unwrap()
}

#[cfg(unix)]
#[test]
fn the_data_folder_is_private_whatever_the_umask() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    for umask in ["0000", "0022"] {
        let root = tempfile::tempdir().unwrap();
        let data = root.path().join("data");
        let dir = data.to_str().unwrap();
        ok(&under_umask(umask, root.path(), &["ledger", "checkpoint", "--data-dir", dir]));
        assert_eq!(mode(&data), 0o700, "umask {umask}: data folder");
        for file in ["xiaowei.db", "keys/pii.key", "keys/ledger.key"] {
            assert_eq!(mode(&data.join(file)), 0o600, "umask {umask}: {file}");
        }
        for folder in ["keys", "attachments"] {
            assert_eq!(mode(&data.join(folder)), 0o700, "umask {umask}: {folder}");
        }
        // What an older version left open is closed at the next start.
        let scan = data.join("attachments/sha256/ab/ab00");
        std::fs::create_dir_all(scan.parent().unwrap()).unwrap();
        std::fs::write(&scan, b"%PDF").unwrap();
        std::fs::set_permissions(&scan, std::fs::Permissions::from_mode(0o644)).unwrap();
        std::fs::set_permissions(data.join("xiaowei.db"), std::fs::Permissions::from_mode(0o644)).unwrap();
        std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
        ok(&under_umask(umask, root.path(), &["ledger", "checkpoint", "--data-dir", dir]));
        assert_eq!(mode(&data), 0o700);
        assert_eq!(mode(&data.join("xiaowei.db")), 0o600);
        assert_eq!(mode(&scan), 0o600);
        assert_eq!(mode(scan.parent().unwrap()), 0o700);
        let backup = root.path().join("backup");
        ok(&under_umask(umask, root.path(), &["backup", backup.to_str().unwrap(), "--data-dir", dir]));
        assert_eq!(mode(&backup), 0o700);
        assert_eq!(mode(&backup.join("xiaowei.db")), 0o600);
        assert_eq!(mode(&backup.join("manifest.json")), 0o600);
    }
}
