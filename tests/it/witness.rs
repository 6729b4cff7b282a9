//! 见证方 end to end: real witnesses (`witness_server`, each with its own key and SQLite file) on
//! port 0 beside the real platform, on both engines. Two witnesses cosign and the checkpoint
//! carries both; a witness refuses what the C2SP tlog-witness spec says it must refuse; a witness
//! that is down delays only its cosignature, raises an alert after the configured time and
//! cosigns once back; a rewrite whose tree was recomputed is caught by `ledger verify` through
//! the witnessed checkpoint.

use xiaowei_core::ledger::{self, LogKey, leaf_hash};
use xiaowei_core::witness::{AddCheckpoint, CosignatureVerifier, note_body};
use xiaowei_server::config::WitnessSettings;
use xiaowei_server::witness_server::{self, Witness};
use xiaowei_server::workers::witnesses::Submitter;
use xiaowei_store::AlertFilter;

use crate::helpers::{Backend, TestApp, with_app_config};
use crate::ledger::{get, insider, publish_roster_of, published_roster, recompute_tree, rewrite_leaf};

/// A witness served in-process from its own folder, which can be stopped and started again on
/// the same port.
struct RunningWitness {
    dir: tempfile::TempDir,
    port: u16,
    vkey: String,
    witness: Witness,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl RunningWitness {
    async fn start(name: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let (key, created) = witness_server::load_or_create_key(dir.path(), name).unwrap();
        assert!(created);
        let vkey = key.vkey();
        let witness = Witness::open(dir.path(), key, &[]).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut running = Self { dir, port, vkey, witness, stop: None, task: None };
        running.serve(listener);
        running
    }

    fn serve(&mut self, listener: tokio::net::TcpListener) {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        self.task = Some(tokio::spawn(witness_server::serve(listener, self.witness.clone(), async {
            let _ = stopped.await;
        })));
        self.stop = Some(stop);
    }

    async fn down(&mut self) {
        let _ = self.stop.take().unwrap().send(());
        self.task.take().unwrap().await.unwrap().unwrap();
        self.witness.close().await;
    }

    /// Back on the same port, from the same folder: same key, same database.
    async fn up(&mut self) {
        let (key, created) = witness_server::load_or_create_key(self.dir.path(), "").unwrap();
        assert!(!created);
        self.witness = Witness::open(self.dir.path(), key, &[]).await.unwrap();
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", self.port)).await.unwrap();
        self.serve(listener);
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    async fn post(&self, body: Vec<u8>) -> reqwest::Response {
        reqwest::Client::new().post(format!("{}/add-checkpoint", self.url())).body(body).send().await.unwrap()
    }
}

const NAMES: [&str; 2] = ["县纪委监委", "渊泉镇"];

/// Runs `test` on `backend` with `n` witnesses configured on the platform and following its log.
async fn with_witnesses<F, Fut>(backend: Backend, n: usize, test: F)
where
    F: FnOnce(TestApp, Vec<RunningWitness>) -> Fut,
    Fut: Future<Output = ()>,
{
    let mut witnesses = Vec::new();
    for i in 0..n {
        witnesses.push(RunningWitness::start(&format!("w{i}.example.gov.cn/witness")).await);
    }
    let settings: Vec<WitnessSettings> = witnesses
        .iter()
        .zip(NAMES)
        .map(|(w, name)| WitnessSettings { name: name.into(), url: w.url(), vkey: w.vkey.clone() })
        .collect();
    with_app_config(
        backend,
        move |c| c.witnesses = settings,
        |app| async move {
            let key = app.state.ledger_key().await.unwrap();
            for w in &witnesses {
                w.witness.trust(key.origin(), &[key.vkey().to_owned()]).await.unwrap();
            }
            test(app, witnesses).await;
        },
    )
    .await;
}

macro_rules! witnessed {
    ($name:ident, $n:expr, $body:expr) => {
        mod $name {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                with_witnesses(Backend::Sqlite, $n, $body).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                with_witnesses(Backend::Postgres, $n, $body).await;
            }
        }
    };
}

/// The served checkpoint's cosignatures that verify with each witness's key, by witness.
fn cosigned_by(checkpoint: &str, witnesses: &[RunningWitness]) -> Vec<bool> {
    let body = note_body(checkpoint).unwrap();
    witnesses
        .iter()
        .map(|w| CosignatureVerifier::new(&w.vkey).unwrap().find(body.as_bytes(), checkpoint).unwrap().is_some())
        .collect()
}

/// `xiaowei ledger verify` on the app's database, with the witnesses in a configuration file,
/// the app's ledger key and audit key. Returns (passed, stdout).
fn verify(app: &TestApp, witnesses: &[RunningWitness]) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut toml = String::new();
    for (w, name) in witnesses.iter().zip(NAMES) {
        toml.push_str(&format!("[[witnesses]]\nname = \"{name}\"\nurl = \"{}\"\nvkey = \"{}\"\n", w.url(), w.vkey));
    }
    let config = dir.path().join("xiaowei.toml");
    std::fs::write(&config, toml).unwrap();
    let keys = app.state.config().data_dir.join("keys");
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_xiaowei"))
        .args(["ledger", "verify", "--data-dir"])
        .arg(dir.path())
        .arg("--config")
        .arg(&config)
        .env("DATABASE_URL", &app.database_url)
        .env("XIAOWEI_LEDGER_AUDIT_KEY", std::fs::read_to_string(keys.join("ledger-audit.key")).unwrap().trim())
        .env("XIAOWEI_LEDGER_KEY", std::fs::read_to_string(keys.join("ledger.key")).unwrap().trim())
        .env("XIAOWEI_LOG", "warn")
        .env_remove("XIAOWEI_CONFIG")
        .env_remove("XIAOWEI_PII_KEY")
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&run.stdout).into_owned();
    match run.status.code() {
        Some(0) => (true, out),
        Some(1) => (false, out),
        other => panic!("ledger verify exited {other:?}: {out}{}", String::from_utf8_lossy(&run.stderr)),
    }
}

witnessed!(two_witnesses_cosign_every_new_checkpoint, 2, |app: TestApp, ws: Vec<RunningWitness>| async move {
    let roster = published_roster(&app).await;
    let clerk = app.login_as(xiaowei_core::Role::VillageClerk).await;
    let staff_page = format!("/staff/rosters/{roster}");
    let notice = clerk.get(app.url(&staff_page)).send().await.unwrap().text().await.unwrap();
    assert!(notice.contains("微信群通知") && notice.contains("见证方确认中"), "not yet witnessed: {notice}");
    let mut submitter = Submitter::new().unwrap();
    let now = app.state.now();
    assert_eq!(submitter.tick(&app.state, now).await.unwrap(), 2);
    let first = get(&app, "/ledger/checkpoint").await.text().await.unwrap();
    assert_eq!(cosigned_by(&first, &ws), [true, true], "{first}");
    // Nothing new, nothing to submit.
    assert_eq!(submitter.tick(&app.state, now).await.unwrap(), 0);

    // The next checkpoint is cosigned from the previous one, with a consistency proof.
    publish_roster_of(&app, "2024", 11).await;
    let grown = get(&app, "/ledger/checkpoint").await.text().await.unwrap();
    assert_eq!(cosigned_by(&grown, &ws), [false, false], "not yet cosigned: {grown}");
    assert_eq!(submitter.tick(&app.state, now).await.unwrap(), 2);
    let second = get(&app, "/ledger/checkpoint").await.text().await.unwrap();
    assert_eq!(cosigned_by(&second, &ws), [true, true], "{second}");
    let key = app.state.ledger_key().await.unwrap();
    let (size, _) = app.state.store().ledger_head().await.unwrap();
    assert!(ledger::open_checkpoint(&second, key.vkey()).unwrap().size() == size && size >= 2);

    // Each witness serves what it cosigned, at the monitoring path.
    let served =
        reqwest::get(format!("{}/{}/checkpoint", ws[0].url(), xiaowei_core::witness::origin_hash(key.origin())))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
    assert!(served.starts_with(note_body(&second).unwrap()) && cosigned_by(&served, &ws[..1]) == [true], "{served}");

    // A witness that lost track of the log answers 409 with its size; the log submits again from there.
    app.state.store().set_witness_head(&ws[1].vkey, 0, now).await.unwrap();
    publish_roster_of(&app, "2023", 21).await;
    assert_eq!(submitter.tick(&app.state, now).await.unwrap(), 2);
    assert_eq!(cosigned_by(&get(&app, "/ledger/checkpoint").await.text().await.unwrap(), &ws), [true, true]);

    let page = get(&app, "/ledger").await.text().await.unwrap();
    assert!(page.contains("当前检查点已由 2 个见证方确认") && page.contains(&ws[0].vkey), "{page}");
    let sheet = get(&app, "/ledger/sheet").await.text().await.unwrap();
    let (_, root) = app.state.store().ledger_head().await.unwrap();
    let short = xiaowei_server::app::ledger::short_hash(&root);
    assert!(sheet.contains("见证方确认的检查点") && sheet.contains(&short), "{sheet}");
    // The notice for the village's WeChat groups carries the witnessed checkpoint's short hash.
    let notice = clerk.get(app.url(&staff_page)).send().await.unwrap().text().await.unwrap();
    let (size, _) = app.state.store().ledger_head().await.unwrap();
    assert!(notice.contains(&format!("见证检查点：{size}条记录，根哈希 {short}（县纪委监委、")), "witnessed: {notice}");
    let (passed, out) = verify(&app, &ws);
    assert!(passed && out.contains("县纪委监委」：已确认到第"), "{out}");
});

witnessed!(a_witness_refuses_what_the_spec_says_it_must, 1, |app: TestApp, ws: Vec<RunningWitness>| async move {
    published_roster(&app).await;
    publish_roster_of(&app, "2024", 11).await;
    let w = &ws[0];
    let key = app.state.ledger_key().await.unwrap();
    let (size, root) = app.state.store().ledger_head().await.unwrap();
    let checkpoint = key.sign_checkpoint(size, root).unwrap().into_bytes();
    let request = |old, proof| AddCheckpoint { old, proof, checkpoint: checkpoint.clone() }.to_bytes();

    // First contact at old 0 is cosigned.
    let r = w.post(request(0, vec![])).await;
    assert_eq!(r.status(), 200);
    let line = r.text().await.unwrap();
    assert!(line.starts_with("\u{2014} w0.example.gov.cn/witness ") && line.ends_with('\n'), "{line}");
    // A stale old size: 409, the witness's size as text/x.tlog.size.
    let r = w.post(request(1, vec![])).await;
    assert_eq!(r.status(), 409);
    assert_eq!(r.headers()["content-type"], "text/x.tlog.size");
    assert_eq!(r.text().await.unwrap(), format!("{size}\n"));
    // Same size, another root: 422. A proof that does not verify: 422.
    let forged = key.sign_checkpoint(size, leaf_hash(b"forged")).unwrap().into_bytes();
    let r = w.post(AddCheckpoint { old: size, proof: vec![], checkpoint: forged }.to_bytes()).await;
    assert_eq!(r.status(), 422);
    publish_roster_of(&app, "2023", 21).await;
    let (bigger, new_root) = app.state.store().ledger_head().await.unwrap();
    let next = key.sign_checkpoint(bigger, new_root).unwrap().into_bytes();
    let bad_proof = vec![leaf_hash(b"x"); 2];
    let r = w.post(AddCheckpoint { old: size, proof: bad_proof, checkpoint: next.clone() }.to_bytes()).await;
    assert_eq!(r.status(), 422);
    // Signed by another key: 403. Another log: 404. Old beyond the checkpoint: 400.
    let (_, impostor) = LogKey::generate(key.origin()).unwrap();
    assert_eq!(w.post(Vec::new()).await.status(), 400, "an empty body");
    let theirs = impostor.sign_checkpoint(bigger, new_root).unwrap().into_bytes();
    assert_eq!(w.post(AddCheckpoint { old: size, proof: vec![], checkpoint: theirs }.to_bytes()).await.status(), 403);
    let (_, stranger) = LogKey::generate("other.example/log").unwrap();
    let other = stranger.sign_checkpoint(1, leaf_hash(b"a")).unwrap().into_bytes();
    assert_eq!(w.post(AddCheckpoint { old: 0, proof: vec![], checkpoint: other }.to_bytes()).await.status(), 404);
    let r = w.post(AddCheckpoint { old: bigger + 1, proof: vec![], checkpoint: next.clone() }.to_bytes()).await;
    assert_eq!(r.status(), 400);
    // Nothing refused moved the witness: a real proof from `size` is still cosigned.
    let proof = app.state.store().ledger_consistency_proof(bigger, size).await.unwrap();
    assert_eq!(w.post(AddCheckpoint { old: size, proof, checkpoint: next }.to_bytes()).await.status(), 200);
});

witnessed!(
    a_witness_that_is_down_delays_only_its_cosignature,
    2,
    |app: TestApp, mut ws: Vec<RunningWitness>| async move {
        ws[1].down().await;
        // Publication does not wait for anyone.
        published_roster(&app).await;
        let mut submitter = Submitter::new().unwrap();
        let now = app.state.now();
        assert_eq!(submitter.tick(&app.state, now).await.unwrap(), 1);
        let checkpoint = get(&app, "/ledger/checkpoint").await.text().await.unwrap();
        assert_eq!(cosigned_by(&checkpoint, &ws), [true, false]);
        let filter = AlertFilter {
            org_prefix: "620922".into(),
            include_restricted: true,
            kind: Some(xiaowei_core::alert::AlertKind::WitnessLagging),
            status: None,
        };
        assert_eq!(app.state.store().alerts(&filter, 10, 0).await.unwrap().1, 0, "no alert before the delay");
        let later = now + app.state.config().witness_alert_secs + 1;
        submitter.tick(&app.state, later).await.unwrap();
        let (alerts, count) = app.state.store().alerts(&filter, 10, 0).await.unwrap();
        assert_eq!(count, 1);
        assert!(
            alerts[0].summary.contains("渊泉镇") && alerts[0].summary.contains("无法连接见证方"),
            "{}",
            alerts[0].summary
        );
        // Retried with backoff: the same round again raises nothing new.
        submitter.tick(&app.state, later).await.unwrap();
        assert_eq!(app.state.store().alerts(&filter, 10, 0).await.unwrap().1, 1);

        ws[1].up().await;
        assert_eq!(submitter.tick(&app.state, later + 3600).await.unwrap(), 1);
        let checkpoint = get(&app, "/ledger/checkpoint").await.text().await.unwrap();
        assert_eq!(cosigned_by(&checkpoint, &ws), [true, true], "{checkpoint}");
    }
);

witnessed!(
    a_rewrite_with_its_tree_recomputed_is_caught_through_the_witnesses,
    1,
    |app: TestApp, ws: Vec<RunningWitness>| async move {
        let id = published_roster(&app).await;
        publish_roster_of(&app, "2024", 11).await;
        let mut submitter = Submitter::new().unwrap();
        let now = app.state.now();
        assert_eq!(submitter.tick(&app.state, now).await.unwrap(), 1);
        assert!(verify(&app, &ws).0);

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
        rewrite_leaf(&pool, leaf.idx, &rebuilt).await;
        recompute_tree(&pool).await;

        let (passed, out) = verify(&app, &ws);
        assert!(!passed, "{out}");
        assert!(out.contains("数据库与见证方「县纪委监委」确认的检查点不一致"), "{out}");
        // Even with the stored cosignatures deleted, the witness's own copy catches it.
        sqlx::query("DELETE FROM ledger_cosignatures").execute(&pool).await.unwrap();
        pool.close().await;
        let (passed, out) = verify(&app, &ws);
        assert!(!passed && out.contains("见证方当前保存的检查点"), "{out}");
        // And the witness refuses to cosign the rewritten tree.
        assert_eq!(submitter.tick(&app.state, now).await.unwrap(), 0);
        assert!(app.state.store().all_cosignatures().await.unwrap().is_empty());
    }
);
