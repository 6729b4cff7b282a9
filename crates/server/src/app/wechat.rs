//! Calling a township's WeChat official account: its credentials unsealed for one request, the
//! access token shared by every instance (one refreshes at a time), a retry on an expired token,
//! the standard menu and template messages. The callback and the follower pages are
//! `public::wechat`; delivery of template messages is `workers::notify`.

use secrecy::{ExposeSecret, SecretString};
use xiaowei_integrations::wechat::{MessageCrypto, Security, WechatApi, WechatApiError, standard_menu};

use crate::state::AppState;
use crate::web::error::AppError;

/// A cached token is renewed this long before it expires.
const TOKEN_MARGIN_SECS: i64 = 300;
/// How long one instance may hold the right to refresh a token.
const REFRESH_LEASE_SECS: i64 = 20;
/// One account's credentials, unsealed for the length of a request.
pub struct AccountKeys {
    pub township_code: String,
    pub appid: String,
    pub secret: SecretString,
    pub token: SecretString,
    pub crypto: Option<MessageCrypto>,
    /// 兼容模式: plaintext accepted besides ciphertext.
    compatible: bool,
}

impl AccountKeys {
    /// Which callback messages the account accepts.
    pub fn security(&self) -> Security<'_> {
        match &self.crypto {
            None => Security::Plain,
            Some(crypto) if self.compatible => Security::Compatible(crypto),
            Some(crypto) => Security::Safe(crypto),
        }
    }
}

impl std::fmt::Debug for AccountKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountKeys").field("township_code", &self.township_code).field("appid", &self.appid).finish()
    }
}

/// Loads and unseals a township's account; `NotFound` when it has none.
pub async fn account_keys(state: &AppState, township_code: &str) -> Result<AccountKeys, AppError> {
    let account = state.store().wechat_account(township_code).await?.ok_or(AppError::NotFound)?;
    let unseal = |sealed: &[u8]| {
        state.cipher().decrypt(sealed).map_err(|_| AppError::Internal("wechat secret cannot be unsealed".into()))
    };
    let crypto = match &account.aes_key_enc {
        Some(sealed) => Some(
            MessageCrypto::new(&unseal(sealed)?, &account.appid)
                .map_err(|e| AppError::Internal(format!("wechat aes key: {e}")))?,
        ),
        None => None,
    };
    Ok(AccountKeys {
        compatible: account.is_compatible(),
        township_code: account.township_code,
        appid: account.appid,
        secret: SecretString::from(unseal(&account.secret_enc)?),
        token: SecretString::from(unseal(&account.token_enc)?),
        crypto,
    })
}

/// A valid access token for the account, from the shared cache or freshly fetched. Only one
/// instance refreshes at a time; the others wait briefly for its result.
pub async fn access_token(state: &AppState, keys: &AccountKeys) -> Result<(String, Vec<u8>), WechatFailure> {
    let store = state.store();
    let code = &keys.township_code;
    for _ in 0..15 {
        let now = state.now();
        if let Some(cached) = store.wechat_cached_token(code).await?
            && cached.expires_at > now + TOKEN_MARGIN_SECS
            && let Ok(token) = state.cipher().decrypt(&cached.token_enc)
        {
            return Ok((token, cached.token_enc));
        }
        if store.claim_wechat_token_refresh(code, now, REFRESH_LEASE_SECS).await? {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let api = state.wechat_api()?;
    let fresh = api.fetch_token(&keys.appid, keys.secret.expose_secret()).await?;
    let sealed = state.cipher().encrypt(&fresh.token);
    store.store_wechat_token(code, &sealed, state.now() + fresh.expires_in.clamp(60, 7200)).await?;
    tracing::info!(account = %code, "wechat access token refreshed");
    Ok((fresh.token, sealed))
}

/// Why a call to the platform failed: the platform's answer, or our side.
#[derive(Debug, thiserror::Error)]
pub enum WechatFailure {
    #[error(transparent)]
    Api(#[from] WechatApiError),
    #[error(transparent)]
    App(#[from] AppError),
}

impl From<xiaowei_store::StoreError> for WechatFailure {
    fn from(e: xiaowei_store::StoreError) -> Self {
        Self::App(e.into())
    }
}

/// Runs `call` with the account's access token; if the platform says the token expired or is
/// invalid (40001/40014/42001), marks it so everywhere, fetches a new one and tries once more.
pub async fn with_token<T, F, Fut>(state: &AppState, keys: &AccountKeys, call: F) -> Result<T, WechatFailure>
where
    F: Fn(WechatApi, String) -> Fut,
    Fut: std::future::Future<Output = Result<T, WechatApiError>>,
{
    let api = state.wechat_api()?.clone();
    let (token, sealed) = access_token(state, keys).await?;
    match call(api.clone(), token).await {
        Err(e) if e.is_token_expired() => {
            tracing::info!(account = %keys.township_code, error = %e, "wechat token rejected, refreshing");
            state.store().expire_wechat_token(&keys.township_code, &sealed).await?;
            let (token, _) = access_token(state, keys).await?;
            Ok(call(api, token).await?)
        }
        other => Ok(other?),
    }
}

/// Creates the standard menu on the township's account; returns the menu sent.
pub async fn push_menu(state: &AppState, township_code: &str) -> Result<serde_json::Value, WechatFailure> {
    let keys = account_keys(state, township_code).await?;
    let menu = standard_menu(&state.config().site_url(), township_code);
    let sent = menu.clone();
    with_token(state, &keys, move |api, token| {
        let menu = menu.clone();
        async move { api.create_menu(&token, &menu).await }
    })
    .await?;
    Ok(sent)
}

/// Sends one template message (模板消息) to a follower; returns the platform's message id.
pub async fn send_template(
    state: &AppState,
    township_code: &str,
    message: serde_json::Value,
) -> Result<String, WechatFailure> {
    let keys = account_keys(state, township_code).await?;
    with_token(state, &keys, move |api, token| {
        let message = message.clone();
        async move { api.send_template(&token, &message).await }
    })
    .await
}
