//! The `xiaowei` binary itself: `roster check` on good and bad files, and `demo --load-only`
//! (repeatable, the seed self-query case present, no valid ID number stored in clear).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use rand::Rng;
use xiaowei_core::resident_id::check_char;
use xiaowei_core::subsidy::{YearRange, unpaid_years};
use xiaowei_core::{PiiCipher, PiiKey, ResidentId};
use xiaowei_store::Store;

/// The binary, run in `dir` with no configuration from the environment.
fn xiaowei(dir: &Path, args: &[&str], database_url: Option<&str>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_xiaowei"));
    command.args(args).current_dir(dir).env("XIAOWEI_LOG", "warn");
    for var in ["DATABASE_URL", "XIAOWEI_DATABASE_URL", "XIAOWEI_PII_KEY", "XIAOWEI_CONFIG", "XIAOWEI_DATA_DIR"] {
        command.env_remove(var);
    }
    if let Some(url) = database_url {
        command.env("DATABASE_URL", url);
    }
    command.output().unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn valid_id(body: &str) -> String {
    let mut digits = [0u32; 17];
    for (slot, c) in digits.iter_mut().zip(body.chars()) {
        *slot = c.to_digit(10).unwrap();
    }
    format!("{body}{}", check_char(&digits))
}

#[test]
fn roster_check_passes_a_clean_file_and_names_every_bad_cell() {
    let dir = tempfile::tempdir().unwrap();
    let clean = dir.path().join("样例花名册.xlsx");
    std::fs::write(&clean, xiaowei_sheets::sample_roster_xlsx(30, 1).unwrap()).unwrap();
    let output = xiaowei(dir.path(), &["roster", "check", clean.to_str().unwrap()], None);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    let text = stdout(&output);
    assert!(text.contains("检查通过") && text.contains("有效行数：30"), "{text}");

    let good = valid_id("62092219620315124");
    let mut bad = valid_id("62092219700101013");
    let last = if bad.ends_with('1') { "2" } else { "1" };
    bad.replace_range(17.., last);
    let csv = dir.path().join("bad.csv");
    std::fs::write(&csv, format!("姓名,身份证号,金额\n马玉兰,{good},600\n张建国,{bad},600\n")).unwrap();
    let output = xiaowei(dir.path(), &["roster", "check", csv.to_str().unwrap()], None);
    assert_eq!(output.status.code(), Some(1));
    let text = stdout(&output);
    assert!(text.contains("第3行 身份证号：身份证号校验位不正确"), "{text}");
    assert!(!text.contains(&bad) && !text.contains(&good), "the report shows no full ID number");

    let output = xiaowei(dir.path(), &["roster", "check", "--json", csv.to_str().unwrap()], None);
    assert_eq!(output.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(json["ok"], false);
    assert_eq!(json["rows"], 1);
    assert_eq!(json["errors"][0]["row"], 3);
    assert_eq!(json["errors"][0]["column"], "身份证号");

    let missing = xiaowei(dir.path(), &["roster", "check", "no-such-file.xlsx"], None);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("错误：无法读取"));
    let usage = xiaowei(dir.path(), &["roster", "check"], None);
    assert_eq!(usage.status.code(), Some(2));
}

#[test]
fn the_id_scan_finds_a_number_stored_in_clear() {
    let id = valid_id("62092219620315124");
    let bytes = format!("\x00abc{id}1234\x00620922********1248 620922214200001001").into_bytes();
    assert_eq!(valid_ids_in(&bytes), [id]);
}

/// Every 18-character run that is a valid resident ID number (check digit and birth date).
fn valid_ids_in(bytes: &[u8]) -> Vec<String> {
    bytes
        .windows(18)
        .filter(|w| w[..17].iter().all(u8::is_ascii_digit) && (w[17].is_ascii_digit() || w[17] == b'X'))
        .filter_map(|w| std::str::from_utf8(w).ok())
        .filter(|s| ResidentId::parse(s).is_ok())
        .map(str::to_owned)
        .collect()
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

async fn roster_count(store: &Store) -> usize {
    store.rosters_within("620922", None, 100_000, 0).await.unwrap().len()
}

/// Runs the demo twice and checks what a visitor is told to try is really there.
async fn demo_loads_once_and_keeps_ids_sealed(data_dir: &Path, database_url: Option<&str>) {
    let dir = data_dir.to_str().unwrap();
    let first = xiaowei(data_dir, &["demo", "--load-only", "--data-dir", dir], database_url);
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    let text = stdout(&first);
    let example = text.lines().find(|l| l.starts_with("自助查询示例：")).unwrap_or_else(|| panic!("{text}"));
    let seed_id = example.split_whitespace().nth(1).unwrap().chars().take(18).collect::<String>();
    let seed_id = ResidentId::parse(&seed_id).unwrap();
    assert!(example.contains("马玉兰") && example.contains("2014–2018年"), "{example}");
    let differences = text.lines().find(|l| l.contains("有差异说明的发放结果：/rosters/")).unwrap();
    let differences: i64 = differences.rsplit('/').next().unwrap().trim().parse().unwrap();

    let url = database_url.map_or_else(|| format!("sqlite://{dir}/xiaowei.db"), str::to_owned);
    let store = Store::connect(&url).await.unwrap();
    let rosters = roster_count(&store).await;
    assert!(rosters > 100, "{rosters} rosters");
    store.close().await;

    let second = xiaowei(data_dir, &["demo", "--load-only", "--data-dir", dir], database_url);
    assert!(second.status.success(), "{}", String::from_utf8_lossy(&second.stderr));
    assert!(stdout(&second).contains("未重复导入"), "{}", stdout(&second));
    assert!(stdout(&second).contains(seed_id.expose()), "the example is printed on every start");

    let store = Store::connect(&url).await.unwrap();
    assert_eq!(roster_count(&store).await, rosters, "a second run adds no rosters");
    assert_eq!(store.programmes().await.unwrap().len(), 6);

    // The seed villager: paid every year of the support period except 2014–2018.
    let key = std::fs::read_to_string(data_dir.join("keys/pii.key")).unwrap();
    let cipher = PiiCipher::new(PiiKey::from_hex(key.trim()).unwrap());
    let idx = cipher.blind_index(xiaowei_server::app::rosters::ID_PURPOSE, seed_id.expose());
    let entries = store.entries_for_person(&idx).await.unwrap();
    let paid: BTreeSet<i32> =
        entries.iter().filter(|e| e.phase.as_str() == "paid").map(|e| i32::try_from(e.year).unwrap()).collect();
    assert!(entries.iter().all(|e| e.programme_name == "库区移民后期扶持" && e.org_code == "620922214200"));
    assert_eq!(paid.first(), Some(&2006));
    assert_eq!(unpaid_years(&paid, 2025), [YearRange { first: 2014, last: 2018 }]);
    let last = store.last_paid_year(entries[0].programme_id, "620922214200").await.unwrap();
    assert_eq!(last, Some(2025));

    // The paid roster with differences: one of each kind, each explained.
    let roster = store.find_roster(differences).await.unwrap().unwrap();
    assert_eq!((roster.phase.as_str(), roster.status.as_str()), ("paid", "published"));
    let found = store.differences(differences).await.unwrap();
    let kinds: BTreeSet<&str> = found.iter().map(|d| d.kind.as_str()).collect();
    assert_eq!(kinds, BTreeSet::from(["amount_changed", "paid_not_proposed", "proposed_not_paid"]));
    assert!(found.iter().all(|d| d.reason.as_deref().is_some_and(|r| !r.is_empty())));
    let statuses: BTreeSet<String> = store
        .rosters_within("620922", None, 100_000, 0)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.status.as_str().to_owned())
        .collect();
    for status in ["draft", "submitted", "published", "superseded", "withdrawn"] {
        assert!(statuses.contains(status), "no {status} roster");
    }
    store.close().await;

    backload_the_missing_year(data_dir, database_url, &url, &seed_id, entries[0].amount_fen, &idx).await;

    for file in files_under(data_dir) {
        let bytes = std::fs::read(&file).unwrap();
        let leaked = valid_ids_in(&bytes);
        assert!(leaked.is_empty(), "{} holds ID numbers in clear: {}", file.display(), leaked.len());
        let seed = seed_id.expose().as_bytes();
        assert!(!bytes.windows(seed.len()).any(|w| w == seed), "{} holds the example ID", file.display());
    }
}

/// `roster import`: the seed villager's 2014 payment, found in the archive, is back-loaded and
/// published; the file is checked like an upload, a repeat or a bad file stores nothing, and the
/// ledger still verifies.
async fn backload_the_missing_year(
    data_dir: &Path,
    database_url: Option<&str>,
    url: &str,
    seed_id: &ResidentId,
    amount_fen: i64,
    seed_idx: &str,
) {
    let dir = data_dir.to_str().unwrap();
    let files = tempfile::tempdir().unwrap();
    let archive = files.path().join("卓园村2014年发放名册.csv");
    let neighbour = valid_id("62092219550708201");
    let yuan = amount_fen / 100;
    std::fs::write(
        &archive,
        format!("姓名,身份证号,金额\n马玉兰,{},{yuan}\n李春生,{neighbour},{yuan}\n", seed_id.expose()),
    )
    .unwrap();
    let archive = archive.to_str().unwrap();
    let import = |extra: &[&str]| {
        let mut args = vec!["roster", "import", archive, "--programme", "库区移民后期扶持", "--org", "620922214200"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--data-dir", dir]);
        xiaowei(data_dir, &args, database_url)
    };
    let stored = import(&["--period", "2014", "--phase", "paid", "--publish"]);
    assert_eq!(stored.status.code(), Some(0), "{}{}", stdout(&stored), String::from_utf8_lossy(&stored.stderr));
    let text = stdout(&stored);
    assert!(text.contains("已补录花名册") && text.contains("2 人") && text.contains("已公开"), "{text}");
    assert!(!text.contains(seed_id.expose()), "no full ID is printed");

    let store = Store::connect(url).await.unwrap();
    let paid: BTreeSet<i32> = store
        .entries_for_person(seed_idx)
        .await
        .unwrap()
        .iter()
        .filter(|e| e.phase.as_str() == "paid")
        .map(|e| i32::try_from(e.year).unwrap())
        .collect();
    assert_eq!(unpaid_years(&paid, 2025), [YearRange { first: 2015, last: 2018 }], "2014 is no longer missing");
    let roster = store
        .rosters_within("620922214200", Some(xiaowei_core::subsidy::RosterStatus::Published), 1_000, 0)
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.year == 2014 && r.backloaded)
        .expect("the back-loaded roster is published");
    assert_eq!(
        (roster.period.as_str(), roster.paid_on.as_deref(), roster.entry_count),
        ("2014年度", Some("2014-12-31"), 2)
    );
    let audit = store.audit_entries("620922", 50, 0).await.unwrap();
    let record = audit.iter().find(|a| a.action == "roster.backload").expect("the back-load is audited");
    assert!(record.detail.contains("卓园村2014年发放名册.csv") && record.actor_name.contains("命令行"), "{record:?}");
    let rosters = roster_count(&store).await;
    store.close().await;

    // The same file again: both people are already on a live roster of that programme and year.
    let again = import(&["--period", "2014", "--phase", "paid", "--publish"]);
    assert_eq!(again.status.code(), Some(1), "{}", stdout(&again));
    assert!(stdout(&again).contains("不能重复享受") && stdout(&again).contains("未导入"), "{}", stdout(&again));
    // Arguments that cannot be right are named.
    let bad_period = import(&["--period", "2014-13", "--phase", "paid"]);
    assert_eq!(bad_period.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad_period.stderr).contains("--period"));
    let unknown = xiaowei(
        data_dir,
        &[
            "roster",
            "import",
            archive,
            "--programme",
            "库区移民",
            "--org",
            "620922214200",
            "--period",
            "2014",
            "--phase",
            "paid",
            "--data-dir",
            dir,
        ],
        database_url,
    );
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("未找到补贴项目"));
    let store = Store::connect(url).await.unwrap();
    assert_eq!(roster_count(&store).await, rosters, "refused imports store nothing");
    store.close().await;

    let verify = xiaowei(data_dir, &["ledger", "verify", "--data-dir", dir], database_url);
    assert_eq!(verify.status.code(), Some(0), "{}{}", stdout(&verify), String::from_utf8_lossy(&verify.stderr));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    demo_loads_once_and_keeps_ids_sealed(dir.path(), None).await;
    assert!(dir.path().join("xiaowei.db").exists());

    let file = dir.path().join("over.csv");
    let id = valid_id("62092219700101013");
    std::fs::write(&file, format!("姓名,身份证号,金额\n张建国,{id},700\n")).unwrap();
    let (data_dir, path) = (dir.path().to_str().unwrap(), file.to_str().unwrap());
    let run = |programme: &str| {
        xiaowei(dir.path(), &["roster", "check", "--data-dir", data_dir, "--programme", programme, path], None)
    };
    let over = run("库区移民后期扶持");
    assert_eq!(over.status.code(), Some(1));
    assert!(stdout(&over).contains("超过补贴标准"), "{}", stdout(&over));
    let unknown = run("不存在的项目");
    assert_eq!(unknown.status.code(), Some(2));
    let message = String::from_utf8_lossy(&unknown.stderr);
    assert!(message.contains("未找到补贴项目") && message.contains("高龄补贴"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_on_postgres() {
    let Ok(base) = std::env::var("XIAOWEI_TEST_PG") else {
        assert!(std::env::var("XIAOWEI_REQUIRE_PG").is_err(), "XIAOWEI_REQUIRE_PG is set but XIAOWEI_TEST_PG is not");
        eprintln!("skipping PostgreSQL: XIAOWEI_TEST_PG is not set");
        return;
    };
    let base = base.trim_end_matches('/').to_owned();
    let name = format!("xw_it_{:016x}", rand::thread_rng().r#gen::<u64>());
    sqlx::any::install_default_drivers();
    let admin = sqlx::AnyPool::connect(&format!("{base}/postgres")).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&admin).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    demo_loads_once_and_keeps_ids_sealed(dir.path(), Some(&format!("{base}/{name}"))).await;
    assert!(!dir.path().join("xiaowei.db").exists(), "the demo used PostgreSQL");
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE {name} WITH (FORCE)"))).execute(&admin).await.unwrap();
    admin.close().await;
}

#[test]
fn registry_import_refuses_a_bad_file_and_screen_prints_json() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("deaths-bad.csv");
    std::fs::write(&bad, "姓名,身份证号,死亡日期\n张三,123,2024-01-01\n李四,,2024-13-01\n").unwrap();
    let output = xiaowei(dir.path(), &["registry", "import", "deaths", bad.to_str().unwrap()], None);
    assert_eq!(output.status.code(), Some(1));
    let errors = String::from_utf8_lossy(&output.stderr);
    assert!(errors.contains("第2行 身份证号") && errors.contains("第3行 日期"), "{errors}");
    let good = dir.path().join("deaths.csv");
    std::fs::write(&good, format!("姓名,身份证号,死亡日期\n李四,{},2024-01-01\n", valid_id("62092219400101001")))
        .unwrap();
    let output = xiaowei(dir.path(), &["registry", "import", "deaths", good.to_str().unwrap()], None);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout(&output).contains("已导入死亡人员 1 条"), "{}", stdout(&output));
    let unknown = xiaowei(dir.path(), &["registry", "import", "pets", good.to_str().unwrap()], None);
    assert_eq!(unknown.status.code(), Some(1));
    let output = xiaowei(dir.path(), &["screen", "--json"], None);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let report: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!((report["entries"].as_u64(), report["hits"].as_array().map(Vec::len)), (Some(0), Some(0)));
}
