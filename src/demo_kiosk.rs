//! Demo data for the 触摸终端: one terminal for 广至藏族乡's service hall, ready to enrol. Its
//! one-time token is derived from the data folder's personal-data key, so every run of the demo
//! on one data folder prints the same link instead of registering another terminal.

use anyhow::Result;
use xiaowei_core::kiosk::{ENROL_VALID_SECS, IdleSeconds};
use xiaowei_server::AppState;
use xiaowei_store::NewKioskTerminal;

const GUANGZHI: &str = "620922214";
const NAME: &str = "便民服务大厅1号机";

pub async fn load(state: &AppState) -> Result<()> {
    let store = state.store();
    let token = state.cipher().token_tag("kiosk_demo_enrol", GUANGZHI);
    let hash = xiaowei_server::public::kiosk::enrol_hash(state, &token);
    let Some(admin) = store.find_staff_by_username("admin").await? else {
        anyhow::bail!("演示账号 admin 不存在");
    };
    let now = state.now();
    let exists = store.list_kiosk_terminals(GUANGZHI).await?.into_iter().any(|t| t.name == NAME);
    if !exists {
        let terminal = NewKioskTerminal {
            township_code: GUANGZHI.into(),
            name: NAME.into(),
            idle_seconds: IdleSeconds::DEFAULT.get(),
            enrol_token_hash: hash,
            enrol_expires_at: now + ENROL_VALID_SECS,
            created_by: admin.id,
        };
        store.create_kiosk_terminal(&terminal, now).await?;
    }
    println!("触摸终端登记链接（一次性，广至藏族乡{NAME}）：/kiosk/enrol/{token}");
    Ok(())
}
