//! The `xiaowei` command: serve the platform, run it on demo data, migrate the database, manage
//! staff accounts, load the org tree and check roster files. Everything an operator does goes
//! through here.

mod backup;
mod bench;
mod bench_hostile;
mod bench_instances;
mod bench_pages;
mod bench_screening;
mod bench_texts;
mod demo;
mod demo_disclosures;
mod demo_followers;
mod demo_kiosk;
mod demo_messages;
mod demo_monitor;
mod demo_powers;
mod demo_screening;
mod demo_services;
mod demo_subsidies;
mod demo_village_office;
mod files;
mod key_rotation;
mod keys;
mod ledger_verify;
mod roster_import;
mod witness;

/// Small, short-lived allocations dominate a page view (headers, cookies, the visit record), and
/// mimalloc serves them faster than the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use secrecy::ExposeSecret;
use tokio::net::TcpListener;
use xiaowei_core::{OrgLevel, Role};
use xiaowei_integrations::AttachmentStore;
use xiaowei_server::{AppState, Config};
use xiaowei_store::{NewOrg, NewStaffUser, Store};

/// 小微：村级小微权力监督平台
#[derive(Parser)]
#[command(
    name = "xiaowei",
    version,
    about = "小微 Xiaowei — 村级小微权力监督平台 (village-level micro-power supervision)"
)]
struct Cli {
    /// Configuration file (TOML); defaults to ./xiaowei.toml when present. Env: XIAOWEI_CONFIG
    #[arg(long, global = true, env = "XIAOWEI_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone)]
struct ServeArgs {
    /// Address to listen on. Env: XIAOWEI_LISTEN [default: 127.0.0.1:8080]
    #[arg(long, env = "XIAOWEI_LISTEN")]
    listen: Option<std::net::SocketAddr>,
    /// Folder for the SQLite file, attachments and generated keys. Env: XIAOWEI_DATA_DIR [default: ./data]
    #[arg(long, env = "XIAOWEI_DATA_DIR")]
    data_dir: Option<PathBuf>,
}

#[derive(Args, Clone)]
struct DemoArgs {
    #[command(flatten)]
    serve: ServeArgs,
    /// Load the demo data and exit without serving.
    #[arg(long)]
    load_only: bool,
}

#[derive(Args, Clone)]
struct DataArgs {
    /// Folder for the SQLite file and keys. Env: XIAOWEI_DATA_DIR [default: ./data]
    #[arg(long, env = "XIAOWEI_DATA_DIR")]
    data_dir: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the platform.
    ///
    /// Example: xiaowei serve --listen 0.0.0.0:8080 --data-dir /var/lib/xiaowei
    Serve(ServeArgs),
    /// Create or refresh the demo database (real Guazhou County org tree, sample households,
    /// departments, staff accounts, subsidy programmes and rosters), print the demo logins, then
    /// serve.
    ///
    /// Example: xiaowei demo
    Demo(DemoArgs),
    /// Apply database migrations and exit.
    ///
    /// Example: DATABASE_URL=postgres://xiaowei@localhost/xiaowei xiaowei migrate
    Migrate(DataArgs),
    /// Manage staff accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage the org tree.
    #[command(subcommand)]
    Org(OrgCommand),
    /// Work with roster (花名册) files.
    #[command(subcommand)]
    Roster(RosterCommand),
    /// 见证方: run a witness that cosigns a publication ledger's checkpoints (C2SP tlog-witness),
    /// apart from the platform, with its own key and database.
    #[command(subcommand)]
    Witness(witness::WitnessCommand),
    /// The publication ledger (公开账本): check it against the database, print its checkpoint.
    #[command(subcommand)]
    Ledger(LedgerCommand),
    /// Measure the performance targets (self-query, roster page, import) and print the figures.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
    /// Work with the townships' WeChat official accounts.
    #[command(subcommand)]
    Wechat(WechatCommand),
    /// Work with the registries rosters are screened against (大数据比对).
    #[command(subcommand)]
    Registry(RegistryCommand),
    /// Back up the database, the attachments and a manifest of checksums into an empty folder,
    /// while the server keeps running (SQLite: VACUUM INTO; PostgreSQL: pg_dump of a snapshot).
    /// Keys are not included: keep an escrow copy from `xiaowei keys export`.
    ///
    /// Example: xiaowei backup /srv/backup/xiaowei-2026-12-06
    Backup {
        /// An empty or new folder
        dest: PathBuf,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Restore a backup into an empty data folder (and, on PostgreSQL, an empty database): checks
    /// every checksum first, then verifies the ledger and prints row counts. The keys must be in
    /// place first (`xiaowei keys import`). Exit status 1 when the ledger does not verify.
    ///
    /// Example: xiaowei keys import escrow.key && xiaowei restore /srv/backup/xiaowei-2026-12-06
    Restore {
        src: PathBuf,
        #[command(flatten)]
        data: DataArgs,
    },
    /// The keys: an escrow copy sealed with a passphrase, and its import.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Screen published rosters against the registries and print every hit with its rule, entry
    /// and evidence (masked IDs only).
    ///
    /// Example: xiaowei screen --roster 12 --json
    Screen {
        /// Screen only this roster's entries (against everything)
        #[arg(long)]
        roster: Option<i64>,
        /// Print the hits as JSON
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        data: DataArgs,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Write the personal-data key and the ledger signing key to FILE, sealed with a passphrase
    /// (argon2id + AES-256-GCM). The passphrase is read from --passphrase-file, else the
    /// environment variable XIAOWEI_ESCROW_PASSPHRASE, else a prompt.
    ///
    /// Example: xiaowei keys export /media/usb/xiaowei-keys.escrow
    Export {
        file: PathBuf,
        /// A file whose first line is the passphrase (for scripts)
        #[arg(long)]
        passphrase_file: Option<PathBuf>,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Replace the personal-data key: every ID, phone and account is sealed again and every blind
    /// index rebuilt under a new key, in batches, while the server keeps running (it reads both
    /// keys meanwhile). Interrupted, it resumes where it stopped when run again. Finally the old
    /// key is kept as keys/pii.key.retired-<date>. Back up first; escrow the new key afterwards.
    ///
    /// Example: xiaowei backup /srv/backup/before-rotation && xiaowei keys rotate && xiaowei keys export /media/usb/xiaowei-keys.escrow
    Rotate {
        /// Take the new key from FILE (128 hex characters) instead of generating one
        #[arg(long)]
        new_key: Option<PathBuf>,
        /// Rows sealed again per transaction
        #[arg(long, default_value_t = 500)]
        batch_size: i64,
        /// Stop after this many batches (the next run resumes)
        #[arg(long)]
        max_batches: Option<u64>,
        /// Seconds to wait after writing the new key, for running servers to load it
        #[arg(long, default_value_t = 3)]
        wait: u64,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Put the keys from an escrow file into the data folder (never over different keys).
    ///
    /// Example: xiaowei keys import /media/usb/xiaowei-keys.escrow --data-dir /var/lib/xiaowei
    Import {
        file: PathBuf,
        /// A file whose first line is the passphrase (for scripts)
        #[arg(long)]
        passphrase_file: Option<PathBuf>,
        #[command(flatten)]
        data: DataArgs,
    },
}

#[derive(Subcommand)]
enum RegistryCommand {
    /// Import a registry file (xlsx, xls or CSV): deaths | payroll | cadres | households |
    /// vehicles | businesses. The registry is replaced as a whole, or with --amend only the
    /// records of the people in the file are. Every row is checked first; a file with any error
    /// stores nothing (exit status 1). A full screening follows.
    ///
    /// Example: xiaowei registry import deaths 2025年死亡人员.xlsx
    Import {
        kind: String,
        file: PathBuf,
        /// Replace only the records of the people in the file
        #[arg(long)]
        amend: bool,
        #[command(flatten)]
        data: DataArgs,
    },
}

#[derive(Subcommand)]
enum WechatCommand {
    /// Print the standard 民生监督 menu of a township's account (its township code); with
    /// --push, create it on the account through the WeChat API.
    ///
    /// Example: xiaowei wechat menu 620922100 --push
    Menu {
        /// The account: the township's code, as in /wechat/{account}/callback
        account: String,
        /// Create the menu on the account instead of only printing it
        #[arg(long)]
        push: bool,
        #[command(flatten)]
        data: DataArgs,
    },
}

#[derive(Subcommand)]
enum LedgerCommand {
    /// Re-derive every leaf from the database content and the attachment files, re-check the
    /// Merkle tree, and report any mismatch (a row edited behind the application's back).
    /// Exit status: 0 when everything matches, 1 on any mismatch.
    ///
    /// Example: xiaowei ledger verify
    Verify {
        #[command(flatten)]
        data: DataArgs,
    },
    /// Print the current signed checkpoint (C2SP tlog-checkpoint, with the witnesses'
    /// cosignatures of it) and the public key.
    ///
    /// Example: xiaowei ledger checkpoint
    Checkpoint {
        #[command(flatten)]
        data: DataArgs,
    },
}

#[derive(Subcommand)]
enum RosterCommand {
    /// Check a roster file (xlsx, xls or CSV) before uploading it. Exit status: 0 when the file
    /// has no errors, 1 when it has errors, 2 when it cannot be read or the arguments are wrong.
    ///
    /// Example: xiaowei roster check 卓园村2025年花名册.xlsx --programme 库区移民后期扶持
    Check {
        file: PathBuf,
        /// Programme name: amounts above its standard are errors (reads the configured database)
        #[arg(long)]
        programme: Option<String>,
        /// Print the result as JSON
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Load a roster of a past year straight from a file (历史补录): checked exactly like an
    /// upload, stored marked as back-loaded and audited; with --publish it is public at once
    /// (otherwise a draft for the back office). A paid roster settles the published proposed
    /// roster of the same programme, place and period, if any. Exit status: 0 stored, 1 the
    /// file has errors (nothing stored), 2 the arguments are wrong.
    ///
    /// Example: xiaowei roster import 卓园村2016.xlsx --programme 库区移民后期扶持 --org 620922214200 --period 2016 --phase paid --publish
    Import {
        file: PathBuf,
        /// Programme name (补贴项目), as in the back office
        #[arg(long)]
        programme: String,
        /// Code of the village or township the roster is for
        #[arg(long)]
        org: String,
        /// The period paid for: a year (2016) or a month (2016-03)
        #[arg(long)]
        period: String,
        /// proposed (拟发放公示) or paid (发放结果)
        #[arg(long)]
        phase: String,
        /// Payment date of a paid roster [default: the last day of the period]
        #[arg(long)]
        paid_on: Option<String>,
        /// Publish at once instead of leaving a draft
        #[arg(long)]
        publish: bool,
        /// The staff account doing the back-load [default: the disabled `system` account]
        #[arg(long)]
        by: Option<String>,
        #[command(flatten)]
        data: DataArgs,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a staff account; the password is read from standard input.
    ///
    /// Example: echo '初始密码2026' | xiaowei user add zhangsan --name 张三 --role village_clerk --org 620922214200
    Add {
        username: String,
        /// Display name (姓名)
        #[arg(long)]
        name: String,
        /// supervisor | county_admin | township_admin | township_reviewer | village_clerk | department_officer
        #[arg(long)]
        role: String,
        /// Org code the account belongs to (county, township or village, matching the role)
        #[arg(long)]
        org: String,
        /// Department name, for department officers
        #[arg(long)]
        department: Option<String>,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Set a new password (read from standard input) and end the account's sessions.
    ///
    /// Example: echo '新密码2026' | xiaowei user passwd zhangsan
    Passwd {
        username: String,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Disable an account and end its sessions.
    ///
    /// Example: xiaowei user disable zhangsan
    Disable {
        username: String,
        #[command(flatten)]
        data: DataArgs,
    },
}

#[derive(Subcommand)]
enum OrgCommand {
    /// Load or update orgs from a CSV with columns code,name,level,parent_code.
    ///
    /// Example: xiaowei org import divisions.csv
    Import {
        file: PathBuf,
        #[command(flatten)]
        data: DataArgs,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    files::restrict_umask();
    let cli = Cli::parse();
    // `roster check` keeps 1 for "the file has errors"; it cannot run at all with 2.
    let failure = if matches!(cli.command, Command::Roster(_)) { ExitCode::from(2) } else { ExitCode::FAILURE };
    match dispatch(cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("错误：{e:#}");
            failure
        }
    }
}

async fn dispatch(cli: Cli) -> Result<ExitCode> {
    let mut config = Config::load(cli.config.as_deref())?;
    init_tracing(&config);
    match cli.command {
        Command::Serve(args) => {
            apply(&mut config, &args);
            let state = open(&config).await?;
            run(config, state).await?;
        }
        Command::Demo(args) => {
            apply(&mut config, &args.serve);
            let state = open(&config).await?;
            demo::load(&state).await?;
            if args.load_only {
                state.store().close().await;
            } else {
                run(config, state).await?;
            }
        }
        Command::Migrate(data) => {
            apply_data(&mut config, &data);
            let store = connect(&config).await?;
            store.migrate().await.context("迁移失败")?;
            println!("数据库已是最新结构。");
        }
        Command::User(command) => user(config, command).await?,
        Command::Org(OrgCommand::Import { file, data }) => {
            apply_data(&mut config, &data);
            let store = connect(&config).await?;
            store.migrate().await?;
            let text = std::fs::read_to_string(&file).with_context(|| format!("无法读取 {}", file.display()))?;
            let count = import_orgs(&store, &text).await?;
            println!("已导入 {count} 个单位。");
        }
        Command::Roster(RosterCommand::Check { file, programme, json, data }) => {
            apply_data(&mut config, &data);
            return check_roster(&config, &file, programme.as_deref(), json).await;
        }
        Command::Roster(RosterCommand::Import { file, programme, org, period, phase, paid_on, publish, by, data }) => {
            apply_data(&mut config, &data);
            let state = open(&config).await?;
            let request = roster_import::Request {
                file: &file,
                programme: &programme,
                org: &org,
                period: &period,
                phase: &phase,
                paid_on: paid_on.as_deref(),
                publish,
                by: by.as_deref(),
            };
            let code = roster_import::run(&state, &request, jiff_now()).await;
            state.store().close().await;
            return code;
        }
        Command::Bench(which) => bench::run(which).await?,
        Command::Witness(command) => witness::run(command).await?,
        Command::Ledger(LedgerCommand::Checkpoint { data }) => {
            apply_data(&mut config, &data);
            let state = open(&config).await?;
            let text = xiaowei_server::app::ledger::witnessed_checkpoint(&state)
                .await
                .map_err(|e| anyhow::anyhow!(user_message(&e)))?
                .text;
            print!("{text}");
            let key = state.ledger_key().await.map_err(|e| anyhow::anyhow!(user_message(&e)))?;
            eprintln!("公钥：{}", key.vkey());
            state.store().close().await;
        }
        Command::Ledger(LedgerCommand::Verify { data }) => {
            apply_data(&mut config, &data);
            let state = open(&config).await?;
            let clean = ledger_verify::run(&state).await?;
            state.store().close().await;
            return Ok(if clean { ExitCode::SUCCESS } else { ExitCode::FAILURE });
        }
        Command::Registry(RegistryCommand::Import { kind, file, amend, data }) => {
            apply_data(&mut config, &data);
            return import_registry(&config, &kind, &file, amend).await;
        }
        Command::Backup { dest, data } => {
            apply_data(&mut config, &data);
            backup::backup(&config, &dest).await?;
        }
        Command::Restore { src, data } => {
            apply_data(&mut config, &data);
            let clean = backup::restore(&config, &src).await?;
            return Ok(if clean { ExitCode::SUCCESS } else { ExitCode::FAILURE });
        }
        Command::Keys(KeysCommand::Export { file, passphrase_file, data }) => {
            apply_data(&mut config, &data);
            keys::export(&config, &file, passphrase_file.as_deref())?;
        }
        Command::Keys(KeysCommand::Import { file, passphrase_file, data }) => {
            apply_data(&mut config, &data);
            keys::import(&config, &file, passphrase_file.as_deref())?;
        }
        Command::Keys(KeysCommand::Rotate { new_key, batch_size, max_batches, wait, data }) => {
            apply_data(&mut config, &data);
            let store = connect(&config).await?;
            store.migrate().await.context("数据库迁移失败")?;
            let options =
                key_rotation::Options { new_key, batch_size, max_batches, wait: std::time::Duration::from_secs(wait) };
            let code = key_rotation::run(&config, &store, &options).await;
            store.close().await;
            return code;
        }
        Command::Screen { roster, json, data } => {
            apply_data(&mut config, &data);
            return screen(&config, roster, json).await;
        }
        Command::Wechat(WechatCommand::Menu { account, push, data }) => {
            apply_data(&mut config, &data);
            let state = open(&config).await?;
            let menu = if push {
                if state.store().wechat_account(&account).await?.is_none() {
                    bail!("乡镇 {account} 尚未配置公众号：请县级管理员在后台「公众号管理」中配置");
                }
                let sent = xiaowei_server::app::wechat::push_menu(&state, &account)
                    .await
                    .map_err(|e| anyhow::anyhow!("推送菜单失败：{e}"))?;
                eprintln!("菜单已推送到 {account} 的公众号。");
                sent
            } else {
                if state.store().find_org(&account).await?.is_none() {
                    bail!("未找到乡镇 {account}");
                }
                xiaowei_integrations::wechat::standard_menu(&config.site_url(), &account)
            };
            println!("{menu:#}");
            state.store().close().await;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `xiaowei roster check`: the same checks as an upload, without storing anything.
async fn check_roster(
    config: &Config,
    file: &std::path::Path,
    programme: Option<&str>,
    json: bool,
) -> Result<ExitCode> {
    let bytes = std::fs::read(file).with_context(|| format!("无法读取 {}", file.display()))?;
    let standard = match programme {
        None => None,
        Some(name) => {
            let store = connect(config).await?;
            store.migrate().await.context("数据库迁移失败")?;
            let found = store.find_programme_by_name(name).await?;
            let known: Vec<String> = store.programmes().await?.into_iter().map(|p| p.name).collect();
            store.close().await;
            let Some(found) = found else {
                let known = if known.is_empty() { "（尚无补贴项目）".to_owned() } else { known.join("、") };
                bail!("未找到补贴项目“{name}”。已有项目：{known}");
            };
            xiaowei_server::app::rosters::standard_of(&found)
        }
    };
    let name = file.file_name().map_or_else(|| file.display().to_string(), |n| n.to_string_lossy().into_owned());
    let result = xiaowei_sheets::check_file(&bytes, standard);
    if json {
        println!("{:#}", xiaowei_sheets::report_json(&name, &result));
    } else {
        print!("{}", xiaowei_sheets::report_text(&name, &result));
    }
    let clean = result.as_ref().is_ok_and(|check| check.is_clean());
    Ok(if clean { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// `xiaowei registry import`: checks the whole file, stores it in one transaction, audits it
/// and re-screens.
async fn import_registry(config: &Config, kind: &str, file: &std::path::Path, amend: bool) -> Result<ExitCode> {
    let Some(kind) = xiaowei_core::registry::RegistryKind::parse(kind) else {
        let known: Vec<&str> = xiaowei_core::registry::RegistryKind::ALL.iter().map(|k| k.as_str()).collect();
        bail!("未知比对库 {kind}，可选：{}", known.join(" | "));
    };
    let bytes = std::fs::read(file).with_context(|| format!("无法读取 {}", file.display()))?;
    let check =
        xiaowei_server::app::screening::check_file(kind, &bytes).map_err(|e| anyhow::anyhow!(user_message(&e)))?;
    let name = file.file_name().map_or_else(|| file.display().to_string(), |n| n.to_string_lossy().into_owned());
    if !check.is_clean() {
        eprintln!("{name}：{} 处错误，未导入任何数据：", check.errors.len());
        for e in &check.errors {
            eprintln!("  {e}");
        }
        return Ok(ExitCode::FAILURE);
    }
    let state = open(config).await?;
    let operator = format!("命令行:{}", std::env::var("USER").unwrap_or_else(|_| "operator".into()));
    let audit = xiaowei_store::NewAuditEntry {
        at: jiff_now(),
        actor_id: None,
        actor_name: operator.clone(),
        action: "registry.import".into(),
        target: format!("registry:{}", kind.as_str()),
        detail: format!(
            "{}{}：{name}，{} 条",
            kind.label(),
            if amend { "补充更新" } else { "整体替换" },
            check.lines.len()
        ),
        ip: "local".into(),
        org_code: None,
    };
    let count =
        xiaowei_server::app::screening::import_registry(&state, kind, amend, &check, &name, (None, &operator), audit)
            .await
            .map_err(|e| anyhow::anyhow!(user_message(&e)))?;
    println!("已导入{} {count} 条，正在全面比对……", kind.label());
    let summary = xiaowei_server::app::screening::run(&state, None, state.now())
        .await
        .map_err(|e| anyhow::anyhow!(user_message(&e)))?
        .summary;
    println!("比对完成：线索 {} 条，新增 {} 条，消除 {} 条。", summary.hits, summary.new_hits, summary.cleared);
    state.store().close().await;
    Ok(ExitCode::SUCCESS)
}

/// `xiaowei screen`: runs the screening (all rosters, or one) and prints every current hit.
async fn screen(config: &Config, roster: Option<i64>, json: bool) -> Result<ExitCode> {
    use std::fmt::Write as _;
    let state = open(config).await?;
    let mut out = String::new();
    let store = state.store();
    if let Some(id) = roster
        && store.find_roster(id).await?.is_none()
    {
        bail!("未找到花名册 {id}");
    }
    let only = roster.map(|id| vec![id]);
    let outcome = xiaowei_server::app::screening::run(&state, only.as_deref(), jiff_now())
        .await
        .map_err(|e| anyhow::anyhow!(user_message(&e)))?;
    let hits = match roster {
        Some(id) => store.hits_of_roster(id).await?,
        None => {
            let filter = xiaowei_store::HitFilter { within: String::new(), ..Default::default() };
            store.screening_hits(&filter, i64::MAX, 0).await?
        }
    };
    if json {
        let list: Vec<serde_json::Value> = hits
            .iter()
            .map(|h| {
                serde_json::json!({
                    "id": h.id,
                    "rule": h.rule.as_str(),
                    "rule_number": h.rule.number(),
                    "rule_label": h.rule.label(),
                    "severity": h.severity.as_str(),
                    "status": h.status.as_str(),
                    "roster_id": h.roster_id,
                    "entry_id": h.entry_id,
                    "village": h.org_code,
                    "programme": h.programme_name,
                    "year": h.year,
                    "period": h.period,
                    "name": h.name,
                    "id_masked": h.id_masked,
                    "amount_fen": h.amount_fen,
                    "evidence": xiaowei_server::app::screening::evidence_of(&h.evidence)
                        .into_iter()
                        .map(|e| serde_json::json!({"record": e.record, "entry": e.entry, "text": e.text}))
                        .collect::<Vec<_>>(),
                })
            })
            .collect();
        let report = serde_json::json!({
            "entries": outcome.entries,
            "hits": list,
            "new_hits": outcome.summary.new_hits,
            "cleared": outcome.summary.cleared,
        });
        writeln!(out, "{report:#}")?;
    } else {
        writeln!(
            out,
            "比对花名册记录 {} 条：线索 {} 条（新增 {}，消除 {}）。",
            outcome.entries,
            hits.len(),
            outcome.summary.new_hits,
            outcome.summary.cleared
        )?;
        for h in &hits {
            writeln!(
                out,
                "[{}] 规则{} {} · {} {} {} · 花名册{} 记录{} · {}（{}） {}.{:02}元",
                h.id,
                h.rule.number(),
                h.rule.label(),
                h.org_name,
                h.programme_name,
                h.period,
                h.roster_id,
                h.entry_id,
                h.name,
                h.id_masked,
                h.amount_fen / 100,
                h.amount_fen % 100
            )?;
            for e in xiaowei_server::app::screening::evidence_of(&h.evidence) {
                writeln!(out, "    证据：{}", e.text)?;
            }
        }
    }
    state.store().close().await;
    print_piped(&out)?;
    Ok(ExitCode::SUCCESS)
}

/// Prints a report to standard output; a reader that stops early (`| head`) is not an error.
fn print_piped(text: &str) -> Result<()> {
    use std::io::Write;
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

fn apply(config: &mut Config, args: &ServeArgs) {
    if let Some(listen) = args.listen {
        config.listen = listen;
    }
    if let Some(dir) = &args.data_dir {
        config.data_dir = dir.clone();
    }
}

fn apply_data(config: &mut Config, args: &DataArgs) {
    if let Some(dir) = &args.data_dir {
        config.data_dir = dir.clone();
    }
}

fn init_tracing(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("XIAOWEI_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn,tower_http=info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if config.log_format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn connect(config: &Config) -> Result<Store> {
    if config.uses_sqlite() {
        files::secure_dir(&config.data_dir)?;
        let file = backup::sqlite_path(config.database_url().expose_secret());
        if !file.as_os_str().is_empty() && !file.to_string_lossy().contains(":memory:") {
            files::create_private_file(&file)?;
        }
    } else if config.data_dir.exists() {
        files::secure_dir(&config.data_dir)?;
    }
    Store::connect(config.database_url().expose_secret()).await.context("无法连接数据库")
}

async fn open(config: &Config) -> Result<AppState> {
    let store = connect(config).await?;
    store.migrate().await.context("数据库迁移失败")?;
    let cipher = xiaowei_server::keyring::load(config)?;
    if config.attachments.backend == "local" {
        files::secure_dir(config.attachments.dir.as_deref().unwrap_or(&config.attachments_dir()))?;
    }
    let attachments = AttachmentStore::from_config(&config.attachments, &config.attachments_dir())?;
    let gateway = xiaowei_server::workers::notify::ProviderGateway::from_config(&config.sms, &config.sms_templates)?;
    Ok(AppState::with_gateway(store, cipher, config.clone(), attachments, gateway))
}

async fn run(config: Config, state: AppState) -> Result<()> {
    let listener = TcpListener::bind(config.listen).await.with_context(|| format!("无法监听 {}", config.listen))?;
    let address = listener.local_addr()?;
    tracing::info!(%address, "serving");
    println!("小微已启动：http://{address}/  （按 Ctrl+C 停止）");
    let store = state.store().clone();
    xiaowei_server::serve(listener, state, shutdown_signal()).await?;
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

/// Validates a division-code CSV against the orgs already loaded and loads it in one transaction.
pub async fn import_orgs(store: &Store, text: &str) -> Result<u64> {
    let mut known = Vec::new();
    for level in [OrgLevel::County, OrgLevel::Township, OrgLevel::Village, OrgLevel::Group] {
        known.extend(store.orgs_at_level(level).await?.into_iter().map(|o| (o.code, level)));
    }
    let rows = match xiaowei_core::org::parse_division_csv(text, &known) {
        Ok(rows) => rows,
        Err(errors) => {
            let list: Vec<String> = errors.iter().map(ToString::to_string).collect();
            bail!("区划文件有 {} 处错误，未导入任何数据：\n{}", errors.len(), list.join("\n"));
        }
    };
    let orgs: Vec<NewOrg> = rows
        .into_iter()
        .map(|r| NewOrg { code: r.code.to_string(), name: r.name, level: r.level, parent_code: r.parent_code })
        .collect();
    Ok(store.import_orgs(&orgs, jiff_now()).await?)
}

fn jiff_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

fn read_password() -> Result<String> {
    let mut text = String::new();
    std::io::stdin().read_to_string(&mut text).context("无法从标准输入读取密码")?;
    let password = text.trim_end_matches(['\r', '\n']).to_owned();
    xiaowei_server::staff::check_password_rules(&password).map_err(|e| anyhow::anyhow!(user_message(&e)))?;
    Ok(password)
}

fn user_message(e: &xiaowei_server::web::error::AppError) -> String {
    match e {
        xiaowei_server::web::error::AppError::Invalid(m) | xiaowei_server::web::error::AppError::Conflict(m) => {
            m.clone()
        }
        other => other.to_string(),
    }
}

async fn user(mut config: Config, command: UserCommand) -> Result<()> {
    match command {
        UserCommand::Add { username, name, role, org, department, data } => {
            apply_data(&mut config, &data);
            let store = connect(&config).await?;
            store.migrate().await?;
            xiaowei_server::staff::check_username(&username).map_err(|e| anyhow::anyhow!(user_message(&e)))?;
            let role = Role::parse(&role).with_context(|| format!("未知身份 {role}"))?;
            let org_row = store.find_org(&org).await?.with_context(|| format!("单位 {org} 不存在，请先导入区划"))?;
            if org_row.level != role.org_level() {
                bail!("{}应属于{}，而 {org} 是{}", role.label(), role.org_level().label(), org_row.level.label());
            }
            let department_id = match (role, department) {
                (Role::DepartmentOfficer, Some(d)) => Some(store.ensure_department(&d, jiff_now()).await?),
                (Role::DepartmentOfficer, None) => bail!("县直部门业务人员需要 --department"),
                _ => None,
            };
            let password = read_password()?;
            let password_hash =
                xiaowei_server::staff::hash_password(password).await.map_err(|e| anyhow::anyhow!(e.to_string()))?;
            let new = NewStaffUser {
                username: username.clone(),
                display_name: name,
                password_hash,
                role,
                org_code: org,
                department_id,
            };
            store.create_staff_user(&new, jiff_now()).await.map_err(|e| match e {
                xiaowei_store::StoreError::Duplicate { .. } => anyhow::anyhow!("用户名 {username} 已存在"),
                other => other.into(),
            })?;
            audit_cli(&store, "staff.create", &username).await?;
            println!("已创建账号 {username}（{}）。", role.label());
        }
        UserCommand::Passwd { username, data } => {
            apply_data(&mut config, &data);
            let store = connect(&config).await?;
            let user =
                store.find_staff_by_username(&username).await?.with_context(|| format!("账号 {username} 不存在"))?;
            let password = read_password()?;
            let hash =
                xiaowei_server::staff::hash_password(password).await.map_err(|e| anyhow::anyhow!(e.to_string()))?;
            store.set_staff_password(user.id, &hash).await?;
            audit_cli(&store, "staff.password", &username).await?;
            println!("已重置 {username} 的密码，其登录状态已全部退出。");
        }
        UserCommand::Disable { username, data } => {
            apply_data(&mut config, &data);
            let store = connect(&config).await?;
            let user =
                store.find_staff_by_username(&username).await?.with_context(|| format!("账号 {username} 不存在"))?;
            store.set_staff_disabled(user.id, true).await?;
            audit_cli(&store, "staff.disable", &username).await?;
            println!("已停用账号 {username}。");
        }
    }
    Ok(())
}

/// Command-line changes are audited like web ones, with the operator's login as the actor.
async fn audit_cli(store: &Store, action: &str, username: &str) -> Result<()> {
    let operator = std::env::var("USER").unwrap_or_else(|_| "operator".into());
    store
        .append_audit(&xiaowei_store::NewAuditEntry {
            at: jiff_now(),
            actor_id: None,
            actor_name: format!("命令行:{operator}"),
            action: action.into(),
            target: format!("staff_user:{username}"),
            detail: format!("通过命令行操作账号 {username}"),
            ip: "local".into(),
            org_code: None,
        })
        .await?;
    Ok(())
}
