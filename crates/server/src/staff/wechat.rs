//! 公众号管理: the county admin configures each township's official account (appid, secret,
//! token, EncodingAESKey — sealed with the personal-data key at rest, never shown again — and
//! the message mode: 明文, 安全 or, only when ticked, 兼容) and
//! sees followers, bound households and menu visits per township.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::response::{Html, Response};
use serde::Deserialize;
use xiaowei_core::Permission;
use xiaowei_integrations::wechat::MessageCrypto;
use xiaowei_store::NewWechatAccount;

use super::{Nav, Staff, first_submit, see_other};
use super::{StaffRoutes, Target};
use crate::state::AppState;
use crate::web::error::AppError;
use crate::web::security::random_token;

struct Row {
    code: String,
    name: String,
    appid: Option<String>,
    /// 明文模式, 兼容模式 or 安全模式.
    mode: &'static str,
    callback: String,
    followers: i64,
    bound: i64,
    households: i64,
    coverage: String,
    visits: i64,
}

#[derive(Template)]
#[template(path = "staff/wechat.html")]
struct Page {
    nav: Nav,
    notice: &'static str,
    rows: Vec<Row>,
    form_key: String,
}

#[derive(Deserialize)]
pub struct DoneQuery {
    #[serde(default)]
    done: String,
}

pub async fn list(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<DoneQuery>,
) -> Result<Html<String>, AppError> {
    let accounts = state.store().wechat_accounts().await?;
    let site = state.config().site_url();
    let rows = state
        .store()
        .wechat_figures()
        .await?
        .into_iter()
        .filter(|f| staff.scope.covers_org(&f.township_code))
        .map(|f| {
            let account = accounts.iter().find(|a| a.township_code == f.township_code);
            Row {
                callback: format!("{site}/wechat/{}/callback", f.township_code),
                name: xiaowei_core::org::display_name(&f.township_name).to_owned(),
                appid: account.map(|a| a.appid.clone()),
                mode: match account {
                    Some(a) if a.is_compatible() => "兼容模式",
                    Some(a) if a.aes_key_enc.is_some() => "安全模式",
                    _ => "明文模式",
                },
                coverage: if f.households > 0 {
                    format!("{:.1}%", f.bound_households as f64 * 100.0 / f.households as f64)
                } else {
                    "—".into()
                },
                code: f.township_code,
                followers: f.followers,
                bound: f.bound_households,
                households: f.households,
                visits: f.menu_visits,
            }
        })
        .collect();
    let notice = match q.done.as_str() {
        "saved" => "公众号配置已保存。",
        "repeat" => "该表单已提交过，未重复处理。",
        _ => "",
    };
    Ok(Html(Page { nav: staff.nav(), notice, rows, form_key: random_token() }.render()?))
}

#[derive(Deserialize)]
pub struct AccountForm {
    #[serde(default)]
    form_key: String,
    #[serde(default)]
    org_code: String,
    #[serde(default)]
    appid: String,
    #[serde(default)]
    secret: String,
    #[serde(default)]
    token: String,
    #[serde(default)]
    aes_key: String,
    /// `1` for compatible mode (兼容模式).
    #[serde(default)]
    compatible: String,
}

fn token_chars(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_alphanumeric())
}

pub async fn save(
    State(state): State<AppState>,
    staff: Staff,
    Form(form): Form<AccountForm>,
) -> Result<Response, AppError> {
    staff.require_org(&form.org_code)?;
    let org = state.store().find_org(&form.org_code).await?.ok_or(AppError::invalid("请选择乡镇"))?;
    if org.level != xiaowei_core::OrgLevel::Township {
        return Err(AppError::invalid("公众号按乡镇配置，请选择乡镇"));
    }
    let appid = form.appid.trim();
    if !(appid.starts_with("wx") && (10..=32).contains(&appid.len()) && token_chars(appid)) {
        return Err(AppError::invalid("AppID：应为 wx 开头的字母数字"));
    }
    let secret = form.secret.trim();
    if !(16..=64).contains(&secret.len()) || !token_chars(secret) {
        return Err(AppError::invalid("AppSecret：应为16至64位字母数字"));
    }
    let token = form.token.trim();
    if !(3..=32).contains(&token.len()) || !token_chars(token) {
        return Err(AppError::invalid("Token：应为3至32位字母数字"));
    }
    let aes_key = form.aes_key.trim();
    if !aes_key.is_empty() && !MessageCrypto::valid_key(aes_key) {
        return Err(AppError::invalid("EncodingAESKey：应为43位字母数字；明文模式请留空"));
    }
    if aes_key.is_empty() && form.compatible == "1" {
        return Err(AppError::invalid("兼容模式：需要填写 EncodingAESKey；明文模式请不要勾选"));
    }
    let mode = match (aes_key.is_empty(), form.compatible == "1") {
        (true, _) => "明文模式",
        (false, true) => "兼容模式",
        (false, false) => "安全模式",
    };
    if !first_submit(&state, &staff, &form.form_key).await? {
        return Ok(see_other("/staff/wechat?done=repeat"));
    }
    let cipher = state.cipher();
    let account = NewWechatAccount {
        township_code: org.code.clone(),
        appid: appid.to_owned(),
        secret_enc: cipher.encrypt(secret),
        token_enc: cipher.encrypt(token),
        aes_key_enc: (!aes_key.is_empty()).then(|| cipher.encrypt(aes_key)),
        compatible: form.compatible == "1",
    };
    state.store().save_wechat_account(&account, state.now()).await?;
    state
        .audit(staff.audit_entry(
            state.now(),
            "wechat.account",
            format!("wechat:{}", org.code),
            format!("配置公众号 {appid}（{mode}）"),
            Some(org.code.clone()),
        ))
        .await?;
    Ok(see_other("/staff/wechat?done=saved"))
}

/// This area's staff routes, each with the permission it needs and its scope target.
pub(super) fn routes(r: StaffRoutes) -> StaffRoutes {
    r.get("/staff/wechat", Permission::ManageWechat, Target::None, list).post(
        "/staff/wechat",
        Permission::ManageWechat,
        Target::Org,
        save,
    )
}
