//! `xiaowei bench texts`: a surge of applications (我要办事) and how long their texts take to
//! reach the provider. The provider is a local fake speaking Aliyun's `SendSms` answer, with a
//! chosen latency per request; the server's own delivery worker (`notify::spawn_delivery`, woken
//! as `serve` wakes it) sends through the configured `ProviderGateway`, at the pace `[sms]` gives.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Args;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use xiaowei_server::app::cases::{self, Application};
use xiaowei_server::app::tracked::Filer;
use xiaowei_server::workers::notify;

use crate::bench::{ms, open_temp};

#[derive(Args)]
pub struct TextsArgs {
    /// Applications filed one after another, each texting the officials and the applicant
    #[arg(long, default_value_t = 150)]
    applications: usize,
    /// How long the fake provider takes to answer each request, in milliseconds
    #[arg(long, default_value_t = 100)]
    latency_ms: u64,
    /// `[sms] max_per_second`; the provider's documented limit when absent
    #[arg(long)]
    max_per_second: Option<u32>,
    /// `[sms] max_in_flight`
    #[arg(long, default_value_t = xiaowei_integrations::sms::DEFAULT_IN_FLIGHT)]
    max_in_flight: usize,
}

/// 卓园村, whose township handles the demo's applications.
const VILLAGE: &str = "620922214200";

/// What the fake provider saw.
#[derive(Default)]
struct Seen {
    requests: AtomicUsize,
    open: AtomicUsize,
    most_open: AtomicUsize,
}

/// A local HTTP server answering every request, after `latency`, as Aliyun answers an accepted
/// `SendSms`. Returns its address.
async fn fake_provider(latency: Duration, seen: Arc<Seen>) -> Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let seen = Arc::clone(&seen);
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0_u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let open = seen.open.fetch_add(1, Ordering::SeqCst) + 1;
                seen.most_open.fetch_max(open, Ordering::SeqCst);
                tokio::time::sleep(latency).await;
                let n = seen.requests.fetch_add(1, Ordering::SeqCst);
                let body = format!(
                    r#"{{"Code":"OK","Message":"OK","BizId":"{n}^0","RequestId":"F655A8D5-B967-440B-8683-{n:012}"}}"#
                );
                let reply = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(reply.as_bytes()).await;
                seen.open.fetch_sub(1, Ordering::SeqCst);
            });
        }
    });
    Ok(format!("http://{address}"))
}

pub async fn texts(args: TextsArgs) -> Result<()> {
    println!("\n== 短信高峰（目标：{} 件申请的短信在 60 秒内全部交给服务商）==", args.applications);
    let dir = tempfile::tempdir()?;
    let state = open_temp(&dir).await?;
    crate::demo::load(&state).await?;
    let seen = Arc::new(Seen::default());
    let endpoint = fake_provider(Duration::from_millis(args.latency_ms), Arc::clone(&seen)).await?;
    let sms = xiaowei_integrations::SmsConfig {
        provider: xiaowei_integrations::SmsProvider::Aliyun,
        sign_name: Some("瓜州民生监督".into()),
        access_key_id: Some("LTAI-bench".into()),
        access_key_secret: Some(secrecy::SecretString::from("bench")),
        endpoint: Some(endpoint),
        max_per_second: args.max_per_second,
        max_in_flight: args.max_in_flight,
        ..Default::default()
    };
    let templates: std::collections::BTreeMap<String, String> =
        notify::sms_notice_keys().map(|k| (k.to_owned(), format!("SMS_{k}"))).collect();
    let gateway = notify::ProviderGateway::from_config(&sms, &templates)?;
    let pace = sms.pace()?;
    println!(
        "本地模拟阿里云短信接口，每次应答 {} ms；发送节奏：每秒至多 {}，同时至多 {} 个请求。",
        args.latency_ms,
        pace.per_second().map_or_else(|| "不限".to_owned(), |n| n.to_string()),
        pace.in_flight()
    );
    // The demo's own texts go first, so that the surge starts from an empty queue.
    while notify::deliver_due(&state, gateway.as_ref(), "bench-warm-up", state.now()).await? != (0, 0) {}
    let (before, before_sent) =
        (state.store().outbox(None, None, 1, 0).await?.1, state.store().outbox_counts(true).await?.sent);
    let item = state
        .store()
        .service_items(true)
        .await?
        .into_iter()
        .find(|i| !i.requires_id)
        .context("演示数据中没有无需身份证号的服务事项")?;

    let worker = notify::spawn_delivery(state.clone(), Arc::clone(&gateway), notify::DELIVERY_POLL);
    let started = Instant::now();
    for n in 0..args.applications {
        let application = Application {
            form_key: format!("bench-texts-application-{n:06}"),
            name: "孙大爷".into(),
            phone: format!("1390937{:04}", n % 10_000),
            village: VILLAGE.into(),
            description: "申请办理，请尽快联系。".into(),
            ..Application::default()
        };
        // An integrator (the 12345 hotline) vouches for the phone, so no code is sent first.
        let filer = Filer { quota: format!("bench-texts-{n}"), integrator: true, ..Filer::default() };
        cases::file(&state, &item, application, &filer, state.now()).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let filed = started.elapsed();
    let texts = state.store().outbox(None, None, 1, 0).await?.1 - before;
    let deadline = Instant::now() + Duration::from_secs(600);
    let delivered = loop {
        let counts = state.store().outbox_counts(true).await?;
        if counts.pending + counts.sending == 0 {
            break started.elapsed();
        }
        if Instant::now() > deadline {
            bail!("10 分钟后仍有 {} 条短信未发出", counts.pending + counts.sending);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    worker.abort();
    let counts = state.store().outbox_counts(true).await?;
    println!("  申请 {} 件，产生短信 {texts} 条", args.applications);
    println!("  提交全部申请用时             {:>8.0} ms", ms(filed));
    println!("  从第一件申请到最后一条发出   {:>8.0} ms", ms(delivered));
    println!(
        "  服务商收到请求 {} 次（最多同时 {} 个），发出 {} 条，失败 {} 条；平均 {:.0} 条/秒",
        seen.requests.load(Ordering::SeqCst),
        seen.most_open.load(Ordering::SeqCst),
        counts.sent - before_sent,
        counts.failed,
        f64::from(u32::try_from(texts).unwrap_or(u32::MAX)) / delivered.as_secs_f64().max(1e-3)
    );
    state.store().close().await;
    Ok(())
}
