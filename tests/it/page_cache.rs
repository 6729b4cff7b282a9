//! The published-page cache: a cached public page changes as soon as a publication is committed,
//! here at once and on another instance sharing the PostgreSQL database within the stated bound;
//! a cached view still counts as its org's visit and still answers gzip.

use std::time::{Duration, Instant};

use xiaowei_core::{PiiCipher, PiiKey, Role};
use xiaowei_server::{AppState, Config};
use xiaowei_store::Store;

use crate::helpers::{Backend, TestApp, both_backends, person_id, roster_csv, with_app};

const VILLAGE: &str = "620922100200";
const TOWNSHIP: &str = "620922100";

fn fields(programme: i64) -> Vec<(&'static str, String)> {
    vec![
        ("programme_id", programme.to_string()),
        ("org_code", VILLAGE.into()),
        ("year", "2025".into()),
        ("phase", "proposed".into()),
        ("period", "2025年度".into()),
    ]
}

async fn page(app_url: &str) -> String {
    let r = TestApp::client().get(app_url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    r.text().await.unwrap()
}

/// Waits until the instance's cache trusts a version read from the database.
async fn cache_ready(state: &AppState) {
    let started = Instant::now();
    while state.pages().current().is_none() {
        assert!(started.elapsed() < Duration::from_secs(5), "the content version is never read");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

both_backends!(a_cached_list_shows_a_roster_right_after_it_is_published, |app: TestApp| async move {
    cache_ready(&app.state).await;
    let clerk = app.login_as(Role::VillageClerk).await;
    let reviewer = app.login_as(Role::TownshipReviewer).await;
    let programme = app.programme().await;
    let list = app.url(&format!("/t/{TOWNSHIP}/subsidies?village={VILLAGE}"));
    let roster = app.import_roster(&clerk, &fields(programme), roster_csv(&[("张三", person_id(1), "600")])).await;

    let before = page(&list).await;
    assert!(!before.contains(&format!("/rosters/{roster}")), "a draft is not public");
    assert_eq!(page(&list).await, before, "the second view is the kept page");
    assert!(!app.state.pages().is_empty(), "the list is kept");

    app.publish(&clerk, &reviewer, roster).await;
    assert!(page(&list).await.contains(&format!("/rosters/{roster}")), "shown on the very next view");

    // A kept page is sent compressed to a client that accepts gzip, and decompresses to the page.
    let once = page(&list).await;
    let zipped = TestApp::client().get(&list).header("accept-encoding", "gzip").send().await.unwrap();
    assert_eq!(zipped.headers()["content-encoding"], "gzip");
    let bytes = zipped.bytes().await.unwrap();
    let mut unzipped = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut unzipped).unwrap();
    assert_eq!(unzipped, once);

    // Kept views still count as the village's visits.
    app.state.visits().flush(app.state.store()).await.unwrap();
    let today = xiaowei_core::monitor::shanghai_day(app.state.now());
    let tomorrow = today.tomorrow().unwrap().to_string();
    let counted: i64 = app
        .state
        .store()
        .visits_by_day(VILLAGE, &today.to_string(), &tomorrow)
        .await
        .unwrap()
        .into_iter()
        .map(|row| row.n)
        .sum();
    assert!(counted >= 5, "every view of the list counts, kept or not: {counted}");
});

/// A second server on the same database, as a second instance behind a load balancer.
async fn second_instance(database_url: &str, dir: &tempfile::TempDir) -> (String, tokio::sync::oneshot::Sender<()>) {
    let store = Store::connect(database_url).await.unwrap();
    let config = Config { data_dir: dir.path().to_owned(), workers: false, ..Config::default() };
    let attachments = xiaowei_integrations::AttachmentStore::in_memory(xiaowei_integrations::MAX_UPLOAD_BYTES);
    let state = AppState::new(store, PiiCipher::new(PiiKey::generate()), config, attachments);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(xiaowei_server::serve(listener, state.clone(), async {
        let _ = stopped.await;
    }));
    cache_ready(&state).await;
    (format!("http://{addr}"), stop)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publication_on_one_instance_shows_on_another_within_a_second() {
    with_app(Backend::Postgres, |app: TestApp| async move {
        let dir = tempfile::tempdir().unwrap();
        let (other, stop) = second_instance(&app.database_url, &dir).await;
        let clerk = app.login_as(Role::VillageClerk).await;
        let reviewer = app.login_as(Role::TownshipReviewer).await;
        let programme = app.programme().await;
        let roster = app.import_roster(&clerk, &fields(programme), roster_csv(&[("张三", person_id(1), "600")])).await;
        let list = format!("{other}/t/{TOWNSHIP}/subsidies?village={VILLAGE}");
        let shown = |html: &str| html.contains(&format!("/rosters/{roster}"));
        assert!(!shown(&page(&list).await));
        assert!(!shown(&page(&list).await), "kept on the other instance");

        app.publish(&clerk, &reviewer, roster).await;
        let published = Instant::now();
        while !shown(&page(&list).await) {
            assert!(published.elapsed() < Duration::from_secs(1), "the other instance still serves the old list");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let _ = stop.send(());
    })
    .await;
}
