//! 触摸终端: the township halls' touch terminals. A terminal is created with the keyed hash of a
//! one-time enrolment token; enrolment consumes it by compare-and-set and stores the keyed hash
//! of the long-lived device token; heartbeats record last-seen, version, screen and last error.
//! Tokens arrive hashed by the server; this module never sees one in clear.

use sqlx::FromRow;

use crate::{Store, StoreError};

/// One terminal as the back office and the monitor see it.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct KioskTerminal {
    pub id: i64,
    pub township_code: String,
    pub township_name: String,
    pub name: String,
    pub idle_seconds: i64,
    pub enrol_expires_at: i64,
    pub enrolled_at: Option<i64>,
    pub last_seen_at: Option<i64>,
    pub last_version: Option<String>,
    pub last_screen: Option<String>,
    pub last_error: Option<String>,
    pub created_by: i64,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

/// A terminal to register.
#[derive(Debug, Clone)]
pub struct NewKioskTerminal {
    pub township_code: String,
    pub name: String,
    pub idle_seconds: i64,
    pub enrol_token_hash: String,
    pub enrol_expires_at: i64,
    pub created_by: i64,
}

/// What presenting an enrolment token did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Enrolment {
    /// The token was unused and valid: the terminal now answers to the new device token.
    Enrolled(Box<KioskTerminal>),
    /// The token was already used (by this or another browser).
    AlreadyUsed,
    /// The token's week has passed.
    Expired,
    /// The terminal was revoked.
    Revoked,
    /// No terminal has this token.
    Unknown,
}

const COLUMNS: &str = "k.id, k.township_code, o.name AS township_name, k.name, k.idle_seconds, k.enrol_expires_at, \
     k.enrolled_at, k.last_seen_at, k.last_version, k.last_screen, k.last_error, k.created_by, k.created_at, \
     k.revoked_at";

impl Store {
    /// Registers a terminal for a township; returns its id.
    pub async fn create_kiosk_terminal(&self, t: &NewKioskTerminal, now: i64) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "INSERT INTO kiosk_terminals (township_code, name, idle_seconds, enrol_token_hash, enrol_expires_at, \
             created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(&t.township_code)
        .bind(&t.name)
        .bind(t.idle_seconds)
        .bind(&t.enrol_token_hash)
        .bind(t.enrol_expires_at)
        .bind(t.created_by)
        .bind(now)
        .fetch_one(&self.pool)
        .await?)
    }

    /// Consumes a one-time enrolment token by compare-and-set: of two browsers presenting it,
    /// exactly one enrols; the other, and any later use, is told why not.
    pub async fn enrol_kiosk_terminal(
        &self,
        enrol_token_hash: &str,
        device_token_hash: &str,
        now: i64,
    ) -> Result<Enrolment, StoreError> {
        let done = sqlx::query(
            "UPDATE kiosk_terminals SET device_token_hash = $1, enrolled_at = $2 WHERE enrol_token_hash = $3 \
             AND enrolled_at IS NULL AND revoked_at IS NULL AND enrol_expires_at > $2",
        )
        .bind(device_token_hash)
        .bind(now)
        .bind(enrol_token_hash)
        .execute(&self.pool)
        .await?;
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM kiosk_terminals k JOIN orgs o ON o.code = k.township_code \
             WHERE k.enrol_token_hash = $1"
        ));
        let Some(terminal): Option<KioskTerminal> =
            sqlx::query_as(sql).bind(enrol_token_hash).fetch_optional(&self.pool).await?
        else {
            return Ok(Enrolment::Unknown);
        };
        Ok(if done.rows_affected() == 1 {
            Enrolment::Enrolled(Box::new(terminal))
        } else if terminal.revoked_at.is_some() {
            Enrolment::Revoked
        } else if terminal.enrolled_at.is_some() {
            Enrolment::AlreadyUsed
        } else {
            Enrolment::Expired
        })
    }

    /// The enrolled, unrevoked terminal holding this device token.
    pub async fn find_kiosk_by_device(&self, device_token_hash: &str) -> Result<Option<KioskTerminal>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM kiosk_terminals k JOIN orgs o ON o.code = k.township_code \
             WHERE k.device_token_hash = $1 AND k.revoked_at IS NULL"
        ));
        Ok(sqlx::query_as(sql).bind(device_token_hash).fetch_optional(&self.pool).await?)
    }

    pub async fn find_kiosk_terminal(&self, id: i64) -> Result<Option<KioskTerminal>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM kiosk_terminals k JOIN orgs o ON o.code = k.township_code WHERE k.id = $1"
        ));
        Ok(sqlx::query_as(sql).bind(id).fetch_optional(&self.pool).await?)
    }

    /// Records a heartbeat; false when no active terminal holds the device token.
    pub async fn record_kiosk_heartbeat(
        &self,
        device_token_hash: &str,
        version: &str,
        screen: &str,
        last_error: Option<&str>,
        now: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE kiosk_terminals SET last_seen_at = $1, last_version = $2, last_screen = $3, last_error = $4 \
             WHERE device_token_hash = $5 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(version)
        .bind(screen)
        .bind(last_error)
        .bind(device_token_hash)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Every terminal of the townships under `scope_prefix` (an org code; the county's code
    /// lists them all), revoked ones last, then by township and name. The monitor reads this.
    pub async fn list_kiosk_terminals(&self, scope_prefix: &str) -> Result<Vec<KioskTerminal>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM kiosk_terminals k JOIN orgs o ON o.code = k.township_code \
             WHERE k.township_code LIKE $1 \
             ORDER BY CASE WHEN k.revoked_at IS NULL THEN 0 ELSE 1 END, k.township_code, k.name, k.id"
        ));
        Ok(sqlx::query_as(sql).bind(format!("{scope_prefix}%")).fetch_all(&self.pool).await?)
    }

    /// Revokes a terminal by compare-and-set: its device token and enrolment link stop working.
    /// False when it was already revoked.
    pub async fn revoke_kiosk_terminal(&self, id: i64, now: i64) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE kiosk_terminals SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(now)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The distinct names on a village's current published rosters, for picking one's own name
    /// on a terminal instead of typing it. Names are public on those rosters already.
    pub async fn published_roster_names(&self, village_code: &str) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT DISTINCT e.name FROM roster_entries e JOIN rosters r ON r.id = e.roster_id \
             WHERE r.org_code = $1 AND r.status = 'published' ORDER BY e.name LIMIT 3000",
        )
        .bind(village_code)
        .fetch_all(&self.pool)
        .await?)
    }
}
