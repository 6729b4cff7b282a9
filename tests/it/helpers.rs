//! `spawn_app`: a fresh database (a temp SQLite file, or a new PostgreSQL database when
//! `XIAOWEI_TEST_PG` names a server), a small seeded county plus a foreign one, one account per
//! role, and the real server listening on port 0.

use std::future::Future;
use std::net::SocketAddr;

use rand::Rng;
use xiaowei_core::tracked::Satisfaction;
use xiaowei_core::{OrgLevel, PiiCipher, PiiKey, Role};
use xiaowei_server::{AppState, Config};
use xiaowei_store::{NewContact, NewHousehold, NewOrg, NewStaffUser, Store};

pub const PASSWORD: &str = "correct-horse-1";

pub struct TestApp {
    pub addr: SocketAddr,
    pub state: AppState,
    /// Department of the officer account, and one it must not see.
    pub own_department: i64,
    pub other_department: i64,
    /// The SQLite file, when on SQLite.
    pub sqlite_file: Option<std::path::PathBuf>,
    /// The database URL, for a second server or the command line on the same database.
    pub database_url: String,
    /// Shared with `with_app_config`, which keeps the folder until the test has finished even if
    /// the test's future captures only some fields of its `TestApp`.
    _dir: std::sync::Arc<tempfile::TempDir>,
}

/// Runs `test` against SQLite, then (when configured) PostgreSQL.
macro_rules! both_backends {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                $crate::helpers::with_app($crate::helpers::Backend::Sqlite, $body).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                $crate::helpers::with_app($crate::helpers::Backend::Postgres, $body).await;
            }
        }
    };
}
pub(crate) use both_backends;

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub async fn with_app<F, Fut>(backend: Backend, test: F)
where
    F: FnOnce(TestApp) -> Fut,
    Fut: Future<Output = ()>,
{
    with_app_config(backend, |_| {}, test).await;
}

/// [`with_app`] with the configuration adjusted first (e.g. the WeChat API pointed at a fake).
pub async fn with_app_config<F, Fut>(backend: Backend, configure: impl FnOnce(&mut Config), test: F)
where
    F: FnOnce(TestApp) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = std::sync::Arc::new(tempfile::tempdir().unwrap());
    let (url, cleanup) = match backend {
        Backend::Sqlite => (format!("sqlite://{}?mode=rwc", dir.path().join("xiaowei.db").display()), None),
        Backend::Postgres => {
            let Ok(base) = std::env::var("XIAOWEI_TEST_PG") else {
                assert!(
                    std::env::var("XIAOWEI_REQUIRE_PG").is_err(),
                    "XIAOWEI_REQUIRE_PG is set but XIAOWEI_TEST_PG is not"
                );
                eprintln!("skipping PostgreSQL: XIAOWEI_TEST_PG is not set");
                return;
            };
            let base = base.trim_end_matches('/').to_owned();
            let name = format!("xw_it_{:016x}", rand::thread_rng().r#gen::<u64>());
            sqlx::any::install_default_drivers();
            let admin = sqlx::AnyPool::connect(&format!("{base}/postgres")).await.unwrap();
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&admin).await.unwrap();
            (format!("{base}/{name}"), Some((admin, name)))
        }
    };
    let database_url = url.clone();
    let store = Store::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    // The key is in its file, as `serve` keeps it, for the command line on the same data folder.
    let key = PiiKey::generate();
    std::fs::create_dir_all(dir.path().join("keys")).unwrap();
    std::fs::write(dir.path().join("keys").join("pii.key"), key.to_hex()).unwrap();
    let cipher = PiiCipher::new(key);
    let (own_department, other_department) = seed(&store, &cipher).await;
    // Tests drive the case clocks and text delivery themselves, with a controllable clock.
    let mut config = Config { data_dir: dir.path().to_owned(), workers: false, ..Config::default() };
    configure(&mut config);
    let attachments = xiaowei_integrations::AttachmentStore::in_memory(xiaowei_integrations::MAX_UPLOAD_BYTES);
    let state = AppState::new(store.clone(), cipher, config, attachments);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(xiaowei_server::serve(listener, state.clone(), async {
        let _ = stopped.await;
    }));
    let sqlite_file = (backend == Backend::Sqlite).then(|| dir.path().join("xiaowei.db"));
    test(TestApp { addr, state, own_department, other_department, sqlite_file, database_url, _dir: dir.clone() }).await;
    let _ = stop.send(());
    let _ = server.await;
    store.close().await;
    if let Some((admin, name)) = cleanup {
        sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE {name} WITH (FORCE)"))).execute(&admin).await.unwrap();
        admin.close().await;
    }
}

fn org(code: &str, name: &str, level: OrgLevel, parent: Option<&str>) -> NewOrg {
    NewOrg { code: code.into(), name: name.into(), level, parent_code: parent.map(Into::into) }
}

/// Two counties: 瓜州县 (ours) and 肃北县 (foreign, outside every test account's scope).
async fn seed(store: &Store, cipher: &PiiCipher) -> (i64, i64) {
    store
        .import_orgs(
            &[
                org("620922", "瓜州县", OrgLevel::County, None),
                org("620922100", "渊泉镇", OrgLevel::Township, Some("620922")),
                org("620922100200", "南岔村委会", OrgLevel::Village, Some("620922100")),
                org("620922100200001", "一组", OrgLevel::Group, Some("620922100200")),
                org("620922101", "柳园镇", OrgLevel::Township, Some("620922")),
                org("620922101200", "北村委会", OrgLevel::Village, Some("620922101")),
                org("620923", "肃北县", OrgLevel::County, None),
                org("620923100", "外乡", OrgLevel::Township, Some("620923")),
                org("620923100200", "外村委会", OrgLevel::Village, Some("620923100")),
            ],
            1,
        )
        .await
        .unwrap();
    store
        .add_household(
            &NewHousehold {
                org_code: "620922100200001".into(),
                household_no: "H001".into(),
                head_name: "张建国".into(),
                members: 4,
            },
            1,
        )
        .await
        .unwrap();
    let own = store.ensure_department("县民政局", 1).await.unwrap();
    store
        .create_programme(
            &xiaowei_store::NewProgramme {
                name: "库区移民后期扶持".into(),
                department_id: Some(own),
                basis: "国发〔2006〕17号".into(),
                unit: xiaowei_core::subsidy::Unit::Person,
                standard_fen: Some(60_000),
                rule: String::new(),
                recurring: true,
                from_year: Some(2006),
                to_year: Some(2025),
                publicity_days: 7,
                objection_reply_days: 5,
            },
            1,
        )
        .await
        .unwrap();
    let other = store.ensure_department("县水务局", 1).await.unwrap();
    for (dept, phone) in [(own, "13909370001"), (other, "13909370002")] {
        let contact = NewContact {
            department_id: dept,
            position: xiaowei_core::service::Recipient::DepartmentHead,
            name: "李主任".into(),
            phone_enc: cipher.encrypt(phone),
            phone_idx: cipher.blind_index("phone", phone),
        };
        store.add_contact(&contact, 1).await.unwrap();
    }
    let hash = xiaowei_server::staff::hash_password(PASSWORD.into()).await.unwrap();
    for role in Role::ALL {
        let (org_code, department_id) = scope_of(role);
        let user = NewStaffUser {
            username: role.as_str().into(),
            display_name: role.label().into(),
            password_hash: hash.clone(),
            role,
            org_code: org_code.into(),
            department_id: department_id.then_some(own),
        };
        store.create_staff_user(&user, 1).await.unwrap();
    }
    // Accounts to act on: one in our township, one in the foreign county.
    for (username, org_code) in [("clerk2", "620922100200"), ("foreign", "620923100200")] {
        let user = NewStaffUser {
            username: username.into(),
            display_name: "目标".into(),
            password_hash: hash.clone(),
            role: xiaowei_core::Role::VillageClerk,
            org_code: org_code.into(),
            department_id: None,
        };
        store.create_staff_user(&user, 1).await.unwrap();
    }
    (own, other)
}

/// Each test account's org, and whether it belongs to a department.
pub fn scope_of(role: Role) -> (&'static str, bool) {
    match role {
        Role::Supervisor | Role::CountyAdmin => ("620922", false),
        Role::DepartmentOfficer => ("620922", true),
        Role::TownshipAdmin | Role::TownshipReviewer => ("620922100", false),
        Role::VillageClerk => ("620922100200", false),
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// A client with its own cookie jar that does not follow redirects.
    pub fn client() -> reqwest::Client {
        reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap()
    }

    /// Fetches a page and returns the CSRF token of its first form.
    pub async fn csrf(&self, client: &reqwest::Client, path: &str) -> String {
        let html = client.get(self.url(path)).send().await.unwrap().text().await.unwrap();
        hidden(&html, "csrf").unwrap_or_else(|| panic!("no csrf field on {path}"))
    }

    /// A logged-in client for the test account of `role`.
    pub async fn login_as(&self, role: Role) -> reqwest::Client {
        self.login(role.as_str(), PASSWORD).await
    }

    pub async fn login(&self, username: &str, password: &str) -> reqwest::Client {
        let client = Self::client();
        let csrf = self.csrf(&client, "/staff/login").await;
        let response = client
            .post(self.url("/staff/login"))
            .form(&[("csrf", csrf.as_str()), ("username", username), ("password", password)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 303, "login as {username} failed");
        client
    }

    /// Proves `phone` for the client's browser the way a villager does: asks for a code, reads it
    /// off the page (the test server has no SMS provider, so the code is shown there) and types it
    /// back. Does nothing when the client has already proven this phone.
    pub async fn prove_phone(&self, client: &reqwest::Client, phone: &str) {
        let Ok(phone) = xiaowei_core::Phone::parse(phone) else { return };
        let page = client.get(self.url("/phone")).send().await.unwrap().text().await.unwrap();
        if page.contains(&format!("<strong>{}</strong>", phone.masked())) {
            return;
        }
        let csrf = hidden(&page, "csrf").unwrap();
        let sent = client
            .post(self.url("/phone/code"))
            .form(&[("csrf", csrf.as_str()), ("phone", phone.expose()), ("next", "/")])
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let code = shown_code(&sent).unwrap_or_else(|| panic!("no code shown: {sent}"));
        let token = hidden(&sent, "token").unwrap();
        let done = client
            .post(self.url("/phone/confirm"))
            .form(&[("csrf", csrf.as_str()), ("token", token.as_str()), ("code", code.as_str()), ("next", "/")])
            .send()
            .await
            .unwrap();
        assert_eq!(done.status(), 303, "the code proves the phone");
    }

    /// Posts a form with the client's CSRF token and a fresh form key.
    pub async fn post_form(&self, client: &reqwest::Client, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let csrf = self.csrf(client, "/staff/login").await;
        let key = form_key();
        let mut form: Vec<(&str, &str)> = vec![("csrf", &csrf), ("form_key", &key)];
        form.extend_from_slice(fields);
        client.post(self.url(path)).form(&form).send().await.unwrap()
    }
}

/// The verification code a page shows when no SMS provider is configured.
pub fn shown_code(html: &str) -> Option<String> {
    let at = html.find("id=\"shown-code\"")?;
    let rest = &html[at..];
    let code = rest.split("<strong>").nth(1)?.split("</strong>").next()?;
    Some(code.to_owned())
}

/// A fresh once-only form key, as a rendered form carries.
pub fn form_key() -> String {
    format!("{:032x}", rand::thread_rng().r#gen::<u128>())
}

/// The value of the first hidden input named `name`.
pub fn hidden(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    Some(html[start..].split('"').next()?.to_owned())
}

/// A valid resident ID number, distinct for each `seq` (born 1980-01-01 in 瓜州县).
pub fn person_id(seq: u32) -> String {
    let body = format!("62092219800101{:03}", seq % 1000);
    let mut digits = [0u32; 17];
    for (slot, c) in digits.iter_mut().zip(body.chars()) {
        *slot = c.to_digit(10).unwrap();
    }
    format!("{body}{}", xiaowei_core::resident_id::check_char(&digits))
}

/// A roster CSV with a title row, for (name, id, amount in yuan) lines. Lines are paired into
/// households: each pair shares one 一卡通 account.
pub fn roster_csv(lines: &[(&str, String, &str)]) -> Vec<u8> {
    let mut text = String::from("南岔村库区移民后期扶持花名册\n序号,姓名,身份证号,组,金额（元）,一卡通账号\n");
    for (i, (name, id, amount)) in lines.iter().enumerate() {
        text.push_str(&format!("{},{name},{id},一组,{amount},622848040256489{:04}\n", i + 1, i / 2));
    }
    text.into_bytes()
}

impl TestApp {
    /// Id of the seeded programme 库区移民后期扶持.
    pub async fn programme(&self) -> i64 {
        self.state.store().find_programme_by_name("库区移民后期扶持").await.unwrap().unwrap().id
    }

    /// Posts the roster upload form (multipart, CSRF in the action URL) and returns the response.
    pub async fn upload(
        &self,
        client: &reqwest::Client,
        fields: &[(&str, String)],
        file: Vec<u8>,
    ) -> reqwest::Response {
        let csrf = self.csrf(client, "/staff/login").await;
        let mut form = reqwest::multipart::Form::new();
        for (k, v) in fields {
            form = form.text(k.to_string(), v.clone());
        }
        form = form.part("file", reqwest::multipart::Part::bytes(file).file_name("花名册.csv"));
        client.post(self.url(&format!("/staff/rosters/preview?csrf={csrf}"))).multipart(form).send().await.unwrap()
    }

    /// Uploads, previews and confirms a roster as `client`; returns the new draft's id.
    pub async fn import_roster(&self, client: &reqwest::Client, fields: &[(&str, String)], file: Vec<u8>) -> i64 {
        let preview = self.upload(client, fields, file).await;
        assert_eq!(preview.status(), 200);
        let html = preview.text().await.unwrap();
        let token = hidden(&html, "token").unwrap_or_else(|| panic!("preview refused the file: {html}"));
        let done = self.post_form(client, "/staff/rosters/confirm", &[("token", &token)]).await;
        assert_eq!(done.status(), 303, "{}", done.text().await.unwrap());
        let location = done.headers()["location"].to_str().unwrap().to_owned();
        location.trim_start_matches("/staff/rosters/").split('?').next().unwrap().parse().unwrap()
    }

    /// Submits a draft as the clerk and approves it as the township reviewer.
    pub async fn publish(&self, clerk: &reqwest::Client, reviewer: &reqwest::Client, roster: i64) {
        let r = self.post_form(clerk, &format!("/staff/rosters/{roster}/submit"), &[]).await;
        assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
        let r = self.post_form(reviewer, &format!("/staff/rosters/{roster}/approve"), &[]).await;
        assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    }
}

/// Stores an objection as filed at `at`, with its first timeline entry and no texts.
pub async fn store_objection(store: &Store, o: &xiaowei_store::NewObjection, at: i64) -> i64 {
    let event = xiaowei_store::NewEvent {
        kind: xiaowei_core::tracked::TimelineKind::Submitted,
        actor: "异议人".into(),
        staff_user_id: None,
        method: None,
        note: "提交异议".into(),
        public: true,
    };
    store.create_objection(o, &event, &[], at).await.unwrap()
}

/// Walks a case from 待联系 through contact and completion to the applicant's rating, each step
/// the transition core's case state machine allows, at `at`.
pub async fn close_case(store: &Store, id: i64, rating: Satisfaction, at: i64) {
    use xiaowei_core::service::{CaseAction, CaseStatus, transition};
    use xiaowei_store::CaseChange;
    let steps = [
        (CaseStatus::Submitted, CaseAction::Contact, CaseChange { contacted: true, ..CaseChange::default() }),
        (
            CaseStatus::InProgress,
            CaseAction::Complete,
            CaseChange { completed_reply: Some("已办结".into()), ..CaseChange::default() },
        ),
        (
            CaseStatus::Completed,
            CaseAction::Rate(rating),
            CaseChange {
                rating: Some(xiaowei_core::tracked::Rating { satisfaction: rating, comment: String::new() }),
                ..CaseChange::default()
            },
        ),
    ];
    for (from, action, change) in steps {
        let event = xiaowei_store::NewEvent {
            kind: xiaowei_core::tracked::TimelineKind::Progress,
            actor: "测试".into(),
            staff_user_id: None,
            method: None,
            note: String::new(),
            public: false,
        };
        assert!(store.change(id, transition(from, action).unwrap(), &change, &event, &[], at).await.unwrap());
    }
}
