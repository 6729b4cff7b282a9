//! WeChat official accounts: their sealed settings, the shared access-token cache, replay
//! protection for callbacks, followers and their household bindings, menu visits, and the text
//! messages waiting for the message box. Secrets arrive sealed by the server; this module never
//! sees one in clear, and never decides who may configure an account.

use sqlx::FromRow;

use crate::decode::Flag;
use crate::{Store, StoreError};

/// One township's account, secrets sealed.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct WechatAccount {
    pub township_code: String,
    pub appid: String,
    pub secret_enc: Vec<u8>,
    pub token_enc: Vec<u8>,
    pub aes_key_enc: Option<Vec<u8>>,
    /// Whether an account with a message key also accepts plaintext (兼容模式).
    #[sqlx(try_from = "Flag")]
    pub compatible: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

impl WechatAccount {
    /// Whether the account is in compatible mode (兼容模式): a message key, plaintext allowed.
    pub fn is_compatible(&self) -> bool {
        self.aes_key_enc.is_some() && self.compatible
    }
}

/// Settings to save for a township's account.
#[derive(Debug, Clone)]
pub struct NewWechatAccount {
    pub township_code: String,
    pub appid: String,
    pub secret_enc: Vec<u8>,
    pub token_enc: Vec<u8>,
    pub aes_key_enc: Option<Vec<u8>>,
    /// Compatible mode (兼容模式); ignored without a message key.
    pub compatible: bool,
}

/// A follower of one account.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct Follower {
    pub township_code: String,
    pub openid: String,
    #[sqlx(try_from = "Flag")]
    pub subscribed: bool,
    pub first_subscribed_at: i64,
    pub subscribed_at: Option<i64>,
    pub unsubscribed_at: Option<i64>,
    pub household_id: Option<i64>,
    pub bound_at: Option<i64>,
}

/// A text message no keyword matched, waiting for the message box.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct WechatText {
    pub id: i64,
    pub township_code: String,
    pub openid: String,
    pub content: String,
    pub received_at: i64,
}

/// The monitor's WeChat figures for one township.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct WechatFigures {
    pub township_code: String,
    pub township_name: String,
    /// Followers currently subscribed.
    pub followers: i64,
    /// Households with at least one subscribed, bound follower.
    pub bound_households: i64,
    /// Households registered anywhere in the township.
    pub households: i64,
    /// Menu visits (CLICK and VIEW events), all days.
    pub menu_visits: i64,
}

/// A cached access token, sealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedToken {
    pub token_enc: Vec<u8>,
    pub expires_at: i64,
}

const ACCOUNT_COLUMNS: &str =
    "township_code, appid, secret_enc, token_enc, aes_key_enc, compatible, created_at, updated_at";
const FOLLOWER_COLUMNS: &str = "township_code, openid, subscribed, first_subscribed_at, subscribed_at, \
     unsubscribed_at, household_id, bound_at";

impl Store {
    /// Creates or replaces a township's account settings.
    pub async fn save_wechat_account(&self, a: &NewWechatAccount, now: i64) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO wechat_accounts (township_code, appid, secret_enc, token_enc, aes_key_enc, compatible, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) ON CONFLICT (township_code) DO UPDATE \
             SET appid = excluded.appid, secret_enc = excluded.secret_enc, token_enc = excluded.token_enc, \
             aes_key_enc = excluded.aes_key_enc, compatible = excluded.compatible, updated_at = excluded.updated_at",
        )
        .bind(&a.township_code)
        .bind(&a.appid)
        .bind(&a.secret_enc)
        .bind(&a.token_enc)
        .bind(&a.aes_key_enc)
        .bind(i64::from(a.aes_key_enc.is_some() && a.compatible))
        .bind(now)
        .execute(&mut *tx)
        .await?;
        // New credentials invalidate the cached token.
        sqlx::query("DELETE FROM wechat_tokens WHERE township_code = $1")
            .bind(&a.township_code)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn wechat_account(&self, township_code: &str) -> Result<Option<WechatAccount>, StoreError> {
        let sql =
            sqlx::AssertSqlSafe(format!("SELECT {ACCOUNT_COLUMNS} FROM wechat_accounts WHERE township_code = $1"));
        Ok(sqlx::query_as(sql).bind(township_code).fetch_optional(&self.pool).await?)
    }

    pub async fn wechat_accounts(&self) -> Result<Vec<WechatAccount>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT {ACCOUNT_COLUMNS} FROM wechat_accounts ORDER BY township_code"));
        Ok(sqlx::query_as(sql).fetch_all(&self.pool).await?)
    }

    /// The cached access token, whether or not it is still valid.
    pub async fn wechat_cached_token(&self, township_code: &str) -> Result<Option<CachedToken>, StoreError> {
        let row: Option<(Option<Vec<u8>>, i64)> =
            sqlx::query_as("SELECT token_enc, expires_at FROM wechat_tokens WHERE township_code = $1")
                .bind(township_code)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.and_then(|(enc, expires_at)| enc.map(|token_enc| CachedToken { token_enc, expires_at })))
    }

    /// Claims the right to refresh the token until `now + lease_secs`; false while another
    /// instance holds an unexpired claim.
    pub async fn claim_wechat_token_refresh(
        &self,
        township_code: &str,
        now: i64,
        lease_secs: i64,
    ) -> Result<bool, StoreError> {
        sqlx::query("INSERT INTO wechat_tokens (township_code) VALUES ($1) ON CONFLICT (township_code) DO NOTHING")
            .bind(township_code)
            .execute(&self.pool)
            .await?;
        let done =
            sqlx::query("UPDATE wechat_tokens SET refresh_until = $1 WHERE township_code = $2 AND refresh_until <= $3")
                .bind(now + lease_secs)
                .bind(township_code)
                .bind(now)
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Stores a fresh token and releases the refresh claim.
    pub async fn store_wechat_token(
        &self,
        township_code: &str,
        token_enc: &[u8],
        expires_at: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO wechat_tokens (township_code, token_enc, expires_at, refresh_until) VALUES ($1, $2, $3, 0) \
             ON CONFLICT (township_code) DO UPDATE SET token_enc = excluded.token_enc, \
             expires_at = excluded.expires_at, refresh_until = 0",
        )
        .bind(township_code)
        .bind(token_enc)
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Marks the cached token expired, but only if it is still `token_enc` (another instance
    /// may already have replaced it).
    pub async fn expire_wechat_token(&self, township_code: &str, token_enc: &[u8]) -> Result<(), StoreError> {
        sqlx::query("UPDATE wechat_tokens SET expires_at = 0 WHERE township_code = $1 AND token_enc = $2")
            .bind(township_code)
            .bind(token_enc)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// True the first time a message key is seen for an account; false for a redelivery or a
    /// replay, on any instance.
    pub async fn first_sighting(&self, township_code: &str, dedup_key: &str, now: i64) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO wechat_seen (township_code, dedup_key, seen_at) VALUES ($1, $2, $3) \
             ON CONFLICT (township_code, dedup_key) DO NOTHING",
        )
        .bind(township_code)
        .bind(dedup_key)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Forgets one sighting, so that WeChat's redelivery of a message whose handling failed is
    /// handled again.
    pub async fn forget_wechat_sighting(&self, township_code: &str, dedup_key: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM wechat_seen WHERE township_code = $1 AND dedup_key = $2")
            .bind(township_code)
            .bind(dedup_key)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Forgets message keys seen before `before` (older messages are refused by their timestamp).
    pub async fn prune_wechat_seen(&self, before: i64) -> Result<u64, StoreError> {
        Ok(sqlx::query("DELETE FROM wechat_seen WHERE seen_at < $1")
            .bind(before)
            .execute(&self.pool)
            .await?
            .rows_affected())
    }

    /// Records a subscribe (关注) event: a new follower, or a returning one.
    pub async fn follower_subscribed(&self, township_code: &str, openid: &str, now: i64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO wechat_followers (township_code, openid, subscribed, first_subscribed_at, subscribed_at) \
             VALUES ($1, $2, 1, $3, $3) ON CONFLICT (township_code, openid) DO UPDATE SET subscribed = 1, \
             subscribed_at = excluded.subscribed_at",
        )
        .bind(township_code)
        .bind(openid)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Records an unsubscribe (取消关注) event. The household binding is kept, so a returning
    /// follower need not bind again, but an unsubscribed follower no longer counts.
    pub async fn follower_unsubscribed(&self, township_code: &str, openid: &str, now: i64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO wechat_followers (township_code, openid, subscribed, first_subscribed_at, unsubscribed_at) \
             VALUES ($1, $2, 0, $3, $3) ON CONFLICT (township_code, openid) DO UPDATE SET subscribed = 0, \
             unsubscribed_at = excluded.unsubscribed_at",
        )
        .bind(township_code)
        .bind(openid)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn follower(&self, township_code: &str, openid: &str) -> Result<Option<Follower>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {FOLLOWER_COLUMNS} FROM wechat_followers WHERE township_code = $1 AND openid = $2"
        ));
        Ok(sqlx::query_as(sql).bind(township_code).bind(openid).fetch_optional(&self.pool).await?)
    }

    /// Binds a follower to a household (the server has checked name and ID first). A follower
    /// who opened a page before any subscribe event reached us is recorded as subscribed.
    pub async fn bind_follower(
        &self,
        township_code: &str,
        openid: &str,
        household_id: i64,
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO wechat_followers (township_code, openid, subscribed, first_subscribed_at, subscribed_at, \
             household_id, bound_at) VALUES ($1, $2, 1, $3, $3, $4, $3) ON CONFLICT (township_code, openid) DO UPDATE \
             SET household_id = excluded.household_id, bound_at = excluded.bound_at",
        )
        .bind(township_code)
        .bind(openid)
        .bind(now)
        .bind(household_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Loads followers already known elsewhere (a migration from an earlier platform, the demo)
    /// in one transaction: `(township, openid, household)` rows, subscribed at `now`, bound
    /// when a household is given. A follower already recorded is left as it is.
    pub async fn import_followers(&self, rows: &[(String, String, Option<i64>)], now: i64) -> Result<u64, StoreError> {
        let mut tx = self.begin_write().await?;
        let mut added = 0;
        for (township_code, openid, household_id) in rows {
            added += sqlx::query(
                "INSERT INTO wechat_followers (township_code, openid, subscribed, first_subscribed_at, subscribed_at, \
                 household_id, bound_at) VALUES ($1, $2, 1, $3, $3, $4, $5) \
                 ON CONFLICT (township_code, openid) DO NOTHING",
            )
            .bind(township_code)
            .bind(openid)
            .bind(now)
            .bind(*household_id)
            .bind(household_id.map(|_| now))
            .execute(&mut *tx)
            .await?
            .rows_affected();
        }
        tx.commit().await?;
        Ok(added)
    }

    /// Households in `village_code`'s subtree whose head has this name (to find the household
    /// of a person whose ID the self-query matched).
    pub async fn households_headed_by(
        &self,
        village_code: &str,
        head_name: &str,
    ) -> Result<Vec<crate::Household>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, org_code, household_no, head_name, members FROM households \
             WHERE org_code LIKE $1 AND head_name = $2 ORDER BY household_no LIMIT 20",
        )
        .bind(format!("{village_code}%"))
        .bind(head_name)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The household with this number, if it lies in `org_prefix`'s subtree.
    pub async fn household_by_no(
        &self,
        org_prefix: &str,
        household_no: &str,
    ) -> Result<Option<crate::Household>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, org_code, household_no, head_name, members FROM households \
             WHERE household_no = $1 AND org_code LIKE $2",
        )
        .bind(household_no)
        .bind(format!("{org_prefix}%"))
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Counts one menu visit for a township, item and day.
    pub async fn count_menu_visit(&self, township_code: &str, item: &str, day: &str) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO wechat_menu_visits (township_code, item, day, visits) VALUES ($1, $2, $3, 1) \
             ON CONFLICT (township_code, item, day) DO UPDATE SET visits = wechat_menu_visits.visits + 1",
        )
        .bind(township_code)
        .bind(item)
        .bind(day)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Menu visits of one township by item and day, newest day first.
    pub async fn menu_visits(&self, township_code: &str) -> Result<Vec<(String, String, i64)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT item, day, visits FROM wechat_menu_visits WHERE township_code = $1 ORDER BY day DESC, item",
        )
        .bind(township_code)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Keeps a follower's text message that no keyword matched, for the message box (留言箱).
    ///
    /// This is the one place such messages enter the database. The message box takes them over
    /// with [`Store::unrouted_wechat_texts`] and marks each with [`Store::mark_wechat_text_routed`]
    /// once it has become a message there; the openid and account let its answer go back to the
    /// follower.
    pub async fn store_unmatched_wechat_text(
        &self,
        township_code: &str,
        openid: &str,
        content: &str,
        now: i64,
    ) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "INSERT INTO wechat_inbox (township_code, openid, content, received_at) VALUES ($1, $2, $3, $4) \
             RETURNING id",
        )
        .bind(township_code)
        .bind(openid)
        .bind(content)
        .bind(now)
        .fetch_one(&self.pool)
        .await?)
    }

    /// Text messages not yet taken over by the message box, oldest first.
    pub async fn unrouted_wechat_texts(&self, limit: i64) -> Result<Vec<WechatText>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, township_code, openid, content, received_at FROM wechat_inbox WHERE routed_at IS NULL \
             ORDER BY id LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Marks a text message as taken over; false if it already was (compare-and-set).
    pub async fn mark_wechat_text_routed(&self, id: i64, now: i64) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE wechat_inbox SET routed_at = $1 WHERE id = $2 AND routed_at IS NULL")
            .bind(now)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Remembers the follower who submitted a case inside WeChat.
    pub async fn link_case_to_follower(
        &self,
        case_id: i64,
        township_code: &str,
        openid: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE service_cases SET wechat_account = $1, wechat_openid = $2 WHERE id = $3")
            .bind(township_code)
            .bind(openid)
            .bind(case_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The follower a case was submitted by, if any: (account, openid).
    pub async fn case_follower(&self, tracking: &str) -> Result<Option<(String, String)>, StoreError> {
        let row: Option<(Option<String>, Option<String>)> =
            sqlx::query_as("SELECT wechat_account, wechat_openid FROM service_cases WHERE tracking = $1")
                .bind(tracking)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.and_then(|(a, o)| a.zip(o)))
    }

    /// 我的办件: the tracking numbers, items, statuses and submission times of the cases one
    /// follower submitted, newest first.
    pub async fn cases_of_follower(
        &self,
        township_code: &str,
        openid: &str,
    ) -> Result<Vec<(String, String, String, i64)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT c.tracking, i.name, c.status, c.submitted_at FROM service_cases c \
             JOIN service_items i ON i.id = c.item_id WHERE c.wechat_account = $1 AND c.wechat_openid = $2 \
             ORDER BY c.submitted_at DESC, c.id DESC LIMIT 100",
        )
        .bind(township_code)
        .bind(openid)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Per township: followers, households with a bound follower, households, menu visits.
    /// Every township appears, with zeros where it has no account.
    pub async fn wechat_figures(&self) -> Result<Vec<WechatFigures>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT t.code AS township_code, t.name AS township_name, \
             (SELECT COUNT(*) FROM wechat_followers f WHERE f.township_code = t.code AND f.subscribed = 1) AS followers, \
             (SELECT COUNT(DISTINCT f.household_id) FROM wechat_followers f JOIN households h ON h.id = f.household_id \
              WHERE f.subscribed = 1 AND h.org_code LIKE t.code || '%') AS bound_households, \
             (SELECT COUNT(*) FROM households h WHERE h.org_code LIKE t.code || '%') AS households, \
             CAST((SELECT COALESCE(SUM(v.visits), 0) FROM wechat_menu_visits v WHERE v.township_code = t.code) AS BIGINT) AS menu_visits \
             FROM orgs t WHERE t.level = 'township' ORDER BY t.code",
        )
        .fetch_all(&self.pool)
        .await?)
    }
}
