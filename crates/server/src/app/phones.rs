//! Phones proven by SMS code (短信验证码): sending a code under the per-phone and per-client
//! quotas, judging a typed code (five minutes, five tries), remembering the proven phone for the
//! browser (a cookie naming a stored session; ten minutes at a hall terminal), forgetting it, and
//! marking the household of a proven phone that identified itself as reached (coverage).
//!
//! The code is sent at once through the SMS gateway, never through the outbox: it must not be
//! kept in clear anywhere, and an applicant should not wait behind queued notices. Only a keyed
//! tag of the code is stored. The development log gateway reaches no phone, so there the code is
//! shown on the page instead (`SentCode::shown`), which the README and the start-up log say.

use std::time::Duration;

use xiaowei_core::Phone;
use xiaowei_core::phone_proof::{self, Code, Quota, Refused, Sent};
use xiaowei_store::{Household, NewPhoneProof, PhoneSession};

use crate::state::AppState;
use crate::web::error::AppError;
use crate::web::security::{constant_time_eq, random_token};

/// The cookie that names a browser's proven phone.
pub const COOKIE: &str = "xw_phone";
/// How long sending a code may take before the villager is asked to try again.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// A phone proven in this browser.
#[derive(Debug, Clone)]
pub struct ProvenPhone {
    pub phone: Phone,
    /// The phone's blind indexes, newest key first (more than one during a key rotation).
    pub idxs: Vec<String>,
    pub expires_at: i64,
}

impl ProvenPhone {
    /// Whether `phone` is this one.
    pub fn is(&self, phone: &Phone) -> bool {
        self.phone == *phone
    }
}

/// A code sent: the handle the confirming form carries, the masked phone, and the code itself
/// when no SMS provider is configured (development and the demo).
#[derive(Debug, Clone)]
pub struct SentCode {
    pub token: String,
    pub masked: String,
    pub shown: Option<String>,
}

/// Refuses with the quota's answer when `earlier` requests were made in its window.
fn within(quota: &Quota, earlier: i64) -> Result<(), AppError> {
    if quota.allows(earlier) { Ok(()) } else { Err(AppError::Throttled(quota.refusal)) }
}

/// Sends a code to the phone typed, under the quotas of that phone and of the client
/// (`client` is its quota key). Answers the handle for the confirming form.
pub async fn send_code(state: &AppState, typed: &str, client: &str, now: i64) -> Result<SentCode, AppError> {
    let phone = Phone::parse(typed).map_err(|_| AppError::invalid("手机号：请填写11位手机号码"))?;
    let cipher = state.cipher();
    let phone_idx = cipher.blind_index("phone", phone.expose());
    let store = state.store();
    let earlier = store.rate_event("phone_code_client", client, now - phone_proof::PER_CLIENT.window, now).await?;
    within(&phone_proof::PER_CLIENT, earlier)?;
    let windows: Vec<i64> = phone_proof::PER_PHONE.iter().map(|q| now - q.window).collect();
    let counts = store.rate_counts("phone_code", &phone_idx, &windows, now).await?;
    for (quota, earlier) in phone_proof::PER_PHONE.iter().zip(counts) {
        within(quota, earlier)?;
    }
    let token = random_token();
    let code = Code::from_draw(rand::random());
    store
        .create_phone_proof(&NewPhoneProof {
            token_idx: cipher.token_tag("phone-proof", &token),
            phone_enc: cipher.encrypt(phone.expose()),
            phone_idx,
            code_tag: code_tag(state, &token, &code),
            sent_at: now,
        })
        .await?;
    let gateway = state.gateway();
    let params = [("code".to_owned(), code.expose().to_owned())];
    let text = phone_proof::text(&code);
    let sending = gateway.send(phone.expose(), phone_proof::CODE_NOTICE, &params, &text);
    match tokio::time::timeout(SEND_TIMEOUT, sending).await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => {
            tracing::warn!(error = ?e, "verification code not sent");
            return Err(AppError::invalid("短信验证码未能发出，请稍后重试，或到便民服务大厅办理"));
        }
        Err(_) => {
            tracing::warn!("verification code: the SMS provider did not answer in time");
            return Err(AppError::invalid("短信验证码未能发出（短信服务无响应），请稍后重试"));
        }
    }
    let shown = (!gateway.reaches_phones()).then(|| code.expose().to_owned());
    Ok(SentCode { token, masked: phone.masked(), shown })
}

fn code_tag(state: &AppState, token: &str, code: &Code) -> String {
    state.cipher().token_tag("phone-code", &format!("{token}:{}", code.expose()))
}

/// The masked phone a handle's code went to, for the confirming page (nothing for an unknown
/// handle).
pub async fn masked_phone_of(state: &AppState, token: &str) -> Result<Option<String>, AppError> {
    let token_idx = state.cipher().token_tag("phone-proof", token);
    Ok(state
        .store()
        .phone_proof(&token_idx)
        .await?
        .and_then(|p| state.cipher().decrypt(&p.phone_enc).ok())
        .and_then(|p| Phone::parse(&p).ok())
        .map(|p| p.masked()))
}

/// Judges the code typed for a handle. A match opens a session and answers the cookie value
/// that names it, valid for a week (ten minutes at a hall terminal, `kiosk`).
pub async fn confirm(
    state: &AppState,
    token: &str,
    typed: &str,
    kiosk: bool,
    now: i64,
) -> Result<(String, ProvenPhone), AppError> {
    let cipher = state.cipher();
    let proof = state
        .store()
        .phone_proof(&cipher.token_tag("phone-proof", token))
        .await?
        .ok_or_else(|| AppError::invalid("短信验证码：已失效，请重新获取"))?;
    let code = Code::parse(typed).ok_or_else(|| AppError::invalid("短信验证码：请填写短信中的6位数字"))?;
    let matches = constant_time_eq(&code_tag(state, token, &code), &proof.code_tag);
    let sent = Sent { sent_at: proof.sent_at, tries: proof.tries, proven: proof.proven_at.is_some() };
    if let Err(refused) = phone_proof::judge(sent, matches, now) {
        if matches!(refused, Refused::Wrong { .. } | Refused::Spent) && !matches {
            state.store().count_wrong_code(proof.id, proof.tries).await?;
        }
        return Err(AppError::invalid(refused.message()));
    }
    let phone = cipher
        .decrypt(&proof.phone_enc)
        .ok()
        .and_then(|p| Phone::parse(&p).ok())
        .ok_or_else(|| AppError::Internal(format!("phone proof {} does not open", proof.id)))?;
    let cookie = random_token();
    let expires_at = now + if kiosk { phone_proof::KIOSK_PROVEN_SECS } else { phone_proof::PROVEN_SECS };
    let session = PhoneSession {
        token_idx: cipher.token_tag("phone-session", &cookie),
        phone_enc: proof.phone_enc.clone(),
        phone_idx: cipher.blind_index("phone", phone.expose()),
        proven_at: now,
        expires_at,
    };
    if !state.store().prove_phone(proof.id, proof.tries, &session).await? {
        return Err(AppError::invalid(Refused::Used.message()));
    }
    let idxs = cipher.blind_indexes("phone", phone.expose());
    Ok((cookie, ProvenPhone { phone, idxs, expires_at }))
}

/// The proven phone a cookie value names, while its session lasts.
pub async fn proven(state: &AppState, cookie: &str, now: i64) -> Result<Option<ProvenPhone>, AppError> {
    if cookie.len() != 64 {
        return Ok(None);
    }
    let cipher = state.cipher();
    let Some(session) = state.store().phone_session(&cipher.token_tag("phone-session", cookie), now).await? else {
        return Ok(None);
    };
    Ok(cipher.decrypt(&session.phone_enc).ok().and_then(|p| Phone::parse(&p).ok()).map(|phone| ProvenPhone {
        idxs: cipher.blind_indexes("phone", phone.expose()),
        phone,
        expires_at: session.expires_at,
    }))
}

/// Forgets the proven phone a cookie value names.
pub async fn forget(state: &AppState, cookie: &str) -> Result<(), AppError> {
    Ok(state.store().end_phone_session(&state.cipher().token_tag("phone-session", cookie)).await?)
}

/// The household a person identified by `name` and ID indexes heads in a village under
/// `org_prefix` where a published roster lists them (or, with `household_no`, the household of
/// that number there): the villages where they were found, and the household when exactly one
/// fits.
pub async fn household_of(
    state: &AppState,
    name: &str,
    id_idxs: &[String],
    org_prefix: &str,
    household_no: &str,
) -> Result<(std::collections::BTreeSet<String>, Option<Household>), AppError> {
    let store = state.store();
    let villages: std::collections::BTreeSet<String> = store
        .entries_for_person_indexes(id_idxs)
        .await?
        .into_iter()
        .filter(|e| e.name == name && e.org_code.starts_with(org_prefix))
        .map(|e| e.org_code)
        .collect();
    for village in &villages {
        let candidates = if household_no.is_empty() {
            store.households_headed_by(village, name).await?
        } else {
            store.household_by_no(village, household_no).await?.into_iter().collect()
        };
        if let [only] = candidates.as_slice() {
            return Ok((villages.clone(), Some(only.clone())));
        }
    }
    Ok((villages, None))
}

/// Counts the household of a proven phone's owner, identified by name and ID number in their
/// village, as reached by the platform (the monitor's coverage).
pub async fn mark_household(
    state: &AppState,
    name: &str,
    id: &xiaowei_core::ResidentId,
    village: &str,
    now: i64,
) -> Result<(), AppError> {
    let idxs = state.cipher().blind_indexes(xiaowei_core::pii::ID_PURPOSE, id.expose());
    if let (_, Some(household)) = household_of(state, name, &idxs, village, "").await? {
        state.store().mark_household_proven(household.id, now).await?;
    }
    Ok(())
}
