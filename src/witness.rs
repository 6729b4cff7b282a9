//! `xiaowei witness`: runs a witness of a publication ledger (C2SP tlog-witness) apart from the
//! platform, with its own key file and SQLite file in its own folder; never opens the platform's
//! database or configuration. See `xiaowei_server::witness_server` for the protocol.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use xiaowei_server::witness_server::{self, Witness};

#[derive(Args, Clone)]
pub struct WitnessArgs {
    /// The witness's folder: its key (witness.key, 0600) and database (witness.db).
    /// Env: XIAOWEI_WITNESS_DIR [default: ./witness]
    #[arg(long, env = "XIAOWEI_WITNESS_DIR", default_value = "witness")]
    data_dir: PathBuf,
    /// The witness's key name, a schema-less URL naming who runs it (used when the key is
    /// first generated), e.g. jw.example.gov.cn/witness. Env: XIAOWEI_WITNESS_NAME
    #[arg(long, env = "XIAOWEI_WITNESS_NAME", default_value = "")]
    name: String,
}

#[derive(Subcommand)]
pub enum WitnessCommand {
    /// Serve the witness: POST /add-checkpoint cosigns a log's checkpoint when it is signed by
    /// the log's key and consistent with the last one cosigned; GET /<origin sha256>/checkpoint
    /// shows the latest cosigned one.
    ///
    /// Example: xiaowei witness serve --name jw.example.gov.cn/witness --listen 0.0.0.0:8090
    ///     --log 'xw.example.gov.cn/xiaowei-ledger+1a2b3c4d+AT…'
    Serve {
        #[command(flatten)]
        args: WitnessArgs,
        /// Address to listen on. Env: XIAOWEI_WITNESS_LISTEN
        #[arg(long, env = "XIAOWEI_WITNESS_LISTEN", default_value = "127.0.0.1:8090")]
        listen: std::net::SocketAddr,
        /// A log to witness: its signed-note verifier key (as `xiaowei ledger checkpoint` prints
        /// it); the key's name is the log's origin. Repeat for several logs.
        /// Env: XIAOWEI_WITNESS_LOG (comma-separated)
        #[arg(long = "log", env = "XIAOWEI_WITNESS_LOG", value_delimiter = ',', required = true)]
        logs: Vec<String>,
    },
    /// Print the witness's verifier key (generating the key on first use), for the log's
    /// `[[witnesses]]` configuration.
    ///
    /// Example: xiaowei witness key --name jw.example.gov.cn/witness
    Key {
        #[command(flatten)]
        args: WitnessArgs,
    },
}

pub async fn run(command: WitnessCommand) -> Result<()> {
    match command {
        WitnessCommand::Key { args } => {
            let (key, _) = load_key(&args)?;
            println!("{}", key.vkey());
        }
        WitnessCommand::Serve { args, listen, logs } => {
            let (key, _) = load_key(&args)?;
            let mut configured = Vec::new();
            for vkey in logs.iter().map(|l| l.trim()).filter(|l| !l.is_empty()) {
                let origin = xiaowei_core::witness::log_origin(vkey)
                    .ok_or_else(|| anyhow::anyhow!("账本公钥（--log）格式不正确：{vkey}"))?;
                configured.push((origin, vec![vkey.to_owned()]));
            }
            let witness = Witness::open(&args.data_dir, key, &configured).await.map_err(anyhow::Error::msg)?;
            let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| format!("无法监听 {listen}"))?;
            let address = listener.local_addr()?;
            println!("见证方已启动：http://{address}/  公钥：{}", witness.vkey());
            for (origin, _) in &configured {
                println!("见证账本：{origin}");
            }
            witness_server::serve(listener, witness.clone(), crate::shutdown_signal()).await?;
            witness.close().await;
        }
    }
    Ok(())
}

fn load_key(args: &WitnessArgs) -> Result<(xiaowei_core::witness::WitnessKey, bool)> {
    crate::files::secure_dir(&args.data_dir)?;
    let (key, created) = witness_server::load_or_create_key(&args.data_dir, args.name.trim())
        .map_err(|e| anyhow::anyhow!("见证方密钥：{e}（首次运行请用 --name 给出见证方名称）"))?;
    if created {
        eprintln!("已生成见证方密钥：{}（请备份）", args.data_dir.join("witness.key").display());
    }
    Ok((key, created))
}
