//! Demo 公众号 followers: each township gets a placeholder official account (appid
//! `wxdemo<code>`, to be replaced in 公众号管理 before real use) and followers, most of them bound
//! to a household of the township, so the monitor's 关注用户 and 户覆盖率 show figures. Coverage
//! varies by township between about 35% and 70% of households (广至藏族乡, the report's model
//! township, at the top), and about one follower in five is not bound (relatives working away,
//! cadres). Openids are fixed, so loading twice adds nothing.

use anyhow::Result;
use xiaowei_core::OrgLevel;
use xiaowei_server::AppState;
use xiaowei_store::NewWechatAccount;

use crate::demo::Lcg;

const GUANGZHI: &str = "620922214";

pub async fn load(state: &AppState) -> Result<()> {
    let store = state.store();
    let now = state.now();
    let mut rng = Lcg(20_250_315);
    let mut rows: Vec<(String, String, Option<i64>)> = Vec::new();
    let (mut households, mut bound) = (0_usize, 0_usize);
    for township in store.orgs_at_level(OrgLevel::Township).await? {
        if store.wechat_account(&township.code).await?.is_none() {
            let cipher = state.cipher();
            let account = NewWechatAccount {
                township_code: township.code.clone(),
                appid: format!("wxdemo{}", township.code),
                secret_enc: cipher.encrypt(&format!("demo-secret-{}", township.code)),
                token_enc: cipher.encrypt("xiaoweidemo"),
                aes_key_enc: None,
                compatible: false,
            };
            store.save_wechat_account(&account, now).await?;
        }
        // Percent of households bound: 广至 70, the others 35 to 64.
        let rate = if township.code == GUANGZHI { 70 } else { 35 + rng.next(30) };
        let mut n = 0_usize;
        for village in store.child_orgs(&township.code).await? {
            for group in store.child_orgs(&village.code).await? {
                for h in store.households_of(&group.code, 10_000, 0).await? {
                    households += 1;
                    if rng.next(100) < rate {
                        n += 1;
                        bound += 1;
                        rows.push((township.code.clone(), openid(&township.code, n), Some(h.id)));
                    }
                }
            }
        }
        for _ in 0..n / 5 {
            n += 1;
            rows.push((township.code.clone(), openid(&township.code, n), None));
        }
    }
    let added = store.import_followers(&rows, now).await?;
    let coverage = (bound * 100).checked_div(households).unwrap_or(0);
    println!("公众号：{} 位关注用户（新增 {added}），{bound} 户已绑定，户覆盖率约 {coverage}%。", rows.len());
    Ok(())
}

/// A fixed, openid-shaped identifier (28 characters) of the n-th demo follower of a township.
fn openid(township: &str, n: usize) -> String {
    format!("oDemo{township}{n:014}")
}
