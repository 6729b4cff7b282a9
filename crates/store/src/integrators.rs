//! Integrator keys (接口密钥) and the reads the Open311 interface makes. A key is issued by the
//! county admin with an org subtree and the kinds of request it may see; the server hashes it
//! before it reaches this module, and this module never sees one in clear. A key is found only
//! while it is unrevoked and unexpired, and each use is counted by compare-and-set.
//!
//! The request reads list cases and messages by the GeoReport filters (tracking numbers, item or
//! kind, statuses, a submission window) or, for an integrator pulling new work, after an id
//! cursor. Reports (举报) and hidden messages are never read here.

use sqlx::FromRow;
use xiaowei_core::open311::Kinds;

use crate::{Message, ServiceCase, Store, StoreError};

/// One integrator key as the back office lists it.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct IntegratorToken {
    pub id: i64,
    pub name: String,
    pub org_code: String,
    pub org_name: String,
    #[sqlx(try_from = "String")]
    pub kinds: Kinds,
    pub key_hint: String,
    pub created_by: i64,
    pub created_at: i64,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub uses: i64,
}

/// A key to issue.
#[derive(Debug, Clone)]
pub struct NewIntegratorToken {
    pub name: String,
    pub org_code: String,
    pub kinds: Kinds,
    pub key_hash: String,
    pub key_hint: String,
    pub created_by: i64,
    pub expires_at: i64,
}

/// What presenting a key found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenUse {
    /// A live key: its use is recorded.
    Active(Box<IntegratorToken>),
    /// The key's expiry has passed.
    Expired,
    /// The key was revoked.
    Revoked,
    /// No key has this hash.
    Unknown,
}

/// Which requests an Open311 read wants. Empty strings and zeros mean "any".
#[derive(Debug, Clone, Default)]
pub struct RequestFilter {
    /// Only requests of places in this org subtree.
    pub org_prefix: String,
    /// Comma-separated tracking numbers.
    pub tracking: String,
    /// Only cases of this service item.
    pub item_id: i64,
    /// Only messages of this kind.
    pub message_kind: String,
    /// Comma-separated statuses.
    pub statuses: String,
    /// Submitted at or after (unix seconds).
    pub from: i64,
    /// Submitted before (unix seconds; 0: no bound).
    pub until: i64,
    /// Only rows with a larger id (an integrator's cursor).
    pub after_id: i64,
    /// Oldest first by id (a pull); otherwise newest submission first.
    pub oldest_first: bool,
    pub limit: i64,
}

/// A case with the time of its last timeline event.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct RequestCase {
    #[sqlx(flatten)]
    pub case: ServiceCase,
    pub updated_at: i64,
}

/// A message with the time of its last timeline event.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct RequestMessage {
    #[sqlx(flatten)]
    pub message: Message,
    pub updated_at: i64,
}

const COLUMNS: &str = "t.id, t.name, t.org_code, o.name AS org_name, t.kinds, t.key_hint, t.created_by, t.created_at, \
     t.expires_at, t.revoked_at, t.last_used_at, t.uses";
const FROM: &str = "integrator_tokens t JOIN orgs o ON o.code = t.org_code";

/// `$n` matches one of a comma-separated list (empty: any).
fn listed(param: &str, column: &str) -> String {
    format!("({param} = '' OR (',' || {param} || ',') LIKE ('%,' || {column} || ',%'))")
}

impl Store {
    /// Issues a key; returns its id.
    pub async fn create_integrator_token(&self, t: &NewIntegratorToken, now: i64) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "INSERT INTO integrator_tokens (name, org_code, kinds, key_hash, key_hint, created_by, created_at, \
             expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(&t.name)
        .bind(&t.org_code)
        .bind(t.kinds.as_code())
        .bind(&t.key_hash)
        .bind(&t.key_hint)
        .bind(t.created_by)
        .bind(now)
        .bind(t.expires_at)
        .fetch_one(&self.pool)
        .await?)
    }

    pub async fn find_integrator_token(&self, id: i64) -> Result<Option<IntegratorToken>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM {FROM} WHERE t.id = $1"));
        Ok(sqlx::query_as(sql).bind(id).fetch_optional(&self.pool).await?)
    }

    /// The keys scoped inside `scope_prefix`, live ones first, newest first.
    pub async fn integrator_tokens(&self, scope_prefix: &str) -> Result<Vec<IntegratorToken>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM {FROM} WHERE t.org_code LIKE $1 \
             ORDER BY CASE WHEN t.revoked_at IS NULL THEN 0 ELSE 1 END, t.created_at DESC, t.id DESC"
        ));
        Ok(sqlx::query_as(sql).bind(format!("{scope_prefix}%")).fetch_all(&self.pool).await?)
    }

    /// Presents a key: a live one has its use counted in the same statement that checks it, so a
    /// key revoked a moment earlier is never counted as used.
    pub async fn use_integrator_token(&self, key_hash: &str, now: i64) -> Result<TokenUse, StoreError> {
        let done = sqlx::query(
            "UPDATE integrator_tokens SET uses = uses + 1, last_used_at = $1 \
             WHERE key_hash = $2 AND revoked_at IS NULL AND expires_at > $1",
        )
        .bind(now)
        .bind(key_hash)
        .execute(&self.pool)
        .await?;
        let sql = sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM {FROM} WHERE t.key_hash = $1"));
        let Some(token): Option<IntegratorToken> =
            sqlx::query_as(sql).bind(key_hash).fetch_optional(&self.pool).await?
        else {
            return Ok(TokenUse::Unknown);
        };
        Ok(if done.rows_affected() == 1 {
            TokenUse::Active(Box::new(token))
        } else if token.revoked_at.is_some() {
            TokenUse::Revoked
        } else {
            TokenUse::Expired
        })
    }

    /// Revokes a key by compare-and-set; false when it was already revoked.
    pub async fn revoke_integrator_token(&self, id: i64, by: i64, now: i64) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE integrator_tokens SET revoked_at = $1, revoked_by = $2 WHERE id = $3 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(by)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Cases for an Open311 read.
    pub async fn request_cases(&self, f: &RequestFilter) -> Result<Vec<RequestCase>, StoreError> {
        let order = if f.oldest_first { "c.id" } else { "c.submitted_at DESC, c.id DESC" };
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT c.id, c.tracking, c.item_id, i.name AS item_name, c.department_id, d.name AS department_name, \
             c.org_code, c.applicant_name, c.phone_enc, c.phone_idx, c.resident_id_enc, c.description, c.status, \
             c.filed_by, c.submitted_at, c.contact_due, c.completion_due, c.deadline_basis, c.contact_overdue_at, \
             c.completion_overdue_at, c.contacted_at, c.completed_at, c.reply, c.rating, c.rating_comment, \
             c.rated_at, COALESCE((SELECT MAX(e.at) FROM case_events e WHERE e.case_id = c.id), c.submitted_at) \
             AS updated_at \
             FROM service_cases c JOIN service_items i ON i.id = c.item_id JOIN departments d ON d.id = c.department_id \
             WHERE c.org_code LIKE $1 AND {} AND ($3 = 0 OR c.item_id = $3) AND {} \
             AND c.submitted_at >= $5 AND ($6 = 0 OR c.submitted_at < $6) AND c.id > $7 \
             ORDER BY {order} LIMIT $8",
            listed("$2", "c.tracking"),
            listed("$4", "c.status"),
        ));
        Ok(sqlx::query_as(sql)
            .bind(format!("{}%", f.org_prefix))
            .bind(&f.tracking)
            .bind(f.item_id)
            .bind(&f.statuses)
            .bind(f.from)
            .bind(f.until)
            .bind(f.after_id)
            .bind(f.limit)
            .fetch_all(&self.pool)
            .await?)
    }

    /// Messages for an Open311 read: never a report (举报), never a hidden message.
    pub async fn request_messages(&self, f: &RequestFilter) -> Result<Vec<RequestMessage>, StoreError> {
        let order = if f.oldest_first { "m.id" } else { "m.submitted_at DESC, m.id DESC" };
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT m.id, m.tracking, m.kind, m.org_code, m.author_name, m.phone_enc, m.phone_idx, m.secret_idx, \
             m.body, m.allow_public, m.status, m.assigned_to, u.display_name AS assignee_name, m.submitted_at, \
             m.reply_due, m.deadline_basis, m.reminded_at, m.overdue_at, m.reply, m.reply_public, m.replied_at, \
             m.merged_into, m.hidden_reason, m.rating, m.rating_comment, m.rated_at, \
             COALESCE((SELECT MAX(e.at) FROM message_events e WHERE e.message_id = m.id), m.submitted_at) \
             AS updated_at \
             FROM messages m LEFT JOIN staff_users u ON u.id = m.assigned_to \
             WHERE m.kind <> 'report' AND m.status <> 'hidden' AND m.org_code LIKE $1 AND {} \
             AND ($3 = '' OR m.kind = $3) AND {} \
             AND m.submitted_at >= $5 AND ($6 = 0 OR m.submitted_at < $6) AND m.id > $7 \
             ORDER BY {order} LIMIT $8",
            listed("$2", "m.tracking"),
            listed("$4", "m.status"),
        ));
        Ok(sqlx::query_as(sql)
            .bind(format!("{}%", f.org_prefix))
            .bind(&f.tracking)
            .bind(&f.message_kind)
            .bind(&f.statuses)
            .bind(f.from)
            .bind(f.until)
            .bind(f.after_id)
            .bind(f.limit)
            .fetch_all(&self.pool)
            .await?)
    }
}
