//! Staff accounts, their server-side sessions, login throttling records and the once-only
//! record of submitted forms (so a double submit does not act twice).

use sqlx::FromRow;
use xiaowei_core::Role;

use crate::decode::Flag;

use crate::{Store, StoreError};

#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct StaffUser {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub password_hash: String,
    #[sqlx(try_from = "String")]
    pub role: Role,
    pub org_code: String,
    pub department_id: Option<i64>,
    #[sqlx(try_from = "Flag")]
    pub disabled: bool,
}

#[derive(Debug, Clone)]
pub struct NewStaffUser {
    pub username: String,
    pub display_name: String,
    pub password_hash: String,
    pub role: Role,
    pub org_code: String,
    pub department_id: Option<i64>,
}

/// A live session and its account.
#[derive(Debug, Clone, FromRow)]
pub struct SessionRow {
    #[sqlx(flatten)]
    pub user: StaffUser,
    pub csrf_token: String,
}

/// The client key of the per-username counter, which no client address can equal.
pub const ANY_CLIENT: &str = "*";

/// One claimed login attempt: how many the counter holds now, this one included, and until
/// when the client is known to the username (0 when never).
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromRow)]
pub struct LoginClaim {
    pub attempts: i64,
    pub known_until: i64,
}

const SYSTEM_USERNAME: &str = "system";
/// Not a PHC string, so no password ever verifies against it.
const SYSTEM_PASSWORD_HASH: &str = "!";

pub(crate) const USER_COLUMNS: &str =
    "u.id, u.username, u.display_name, u.password_hash, u.role, u.org_code, u.department_id, u.disabled";

impl Store {
    pub async fn create_staff_user(&self, u: &NewStaffUser, now: i64) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "INSERT INTO staff_users (username, display_name, password_hash, role, org_code, department_id, disabled, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, 0, $7) RETURNING id",
        )
        .bind(&u.username)
        .bind(&u.display_name)
        .bind(&u.password_hash)
        .bind(u.role.as_str())
        .bind(&u.org_code)
        .bind(u.department_id)
        .bind(now)
        .fetch_one(&self.pool)
        .await?)
    }

    /// The account that back-loads are attributed to when no person is named on the command
    /// line: `system` (系统（命令行）), created disabled on first use and with no usable password
    /// hash, so nobody can log in as it. `None` if a person's account already took that name.
    pub async fn system_account(&self, county_code: &str, now: i64) -> Result<Option<StaffUser>, StoreError> {
        sqlx::query(
            "INSERT INTO staff_users (username, display_name, password_hash, role, org_code, department_id, disabled, created_at) \
             VALUES ($1, '系统（命令行）', $2, 'county_admin', $3, NULL, 1, $4) ON CONFLICT (username) DO NOTHING",
        )
        .bind(SYSTEM_USERNAME)
        .bind(SYSTEM_PASSWORD_HASH)
        .bind(county_code)
        .bind(now)
        .execute(&self.pool)
        .await?;
        let found = self.find_staff_by_username(SYSTEM_USERNAME).await?;
        Ok(found.filter(|u| u.password_hash == SYSTEM_PASSWORD_HASH && u.disabled))
    }

    pub async fn find_staff_by_username(&self, username: &str) -> Result<Option<StaffUser>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT {USER_COLUMNS} FROM staff_users u WHERE u.username = $1"));
        Ok(sqlx::query_as(sql).bind(username).fetch_optional(&self.pool).await?)
    }

    pub async fn find_staff(&self, id: i64) -> Result<Option<StaffUser>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT {USER_COLUMNS} FROM staff_users u WHERE u.id = $1"));
        Ok(sqlx::query_as(sql).bind(id).fetch_optional(&self.pool).await?)
    }

    /// Accounts attached to orgs inside the subtree rooted at `org_code`.
    pub async fn staff_within(&self, org_code: &str) -> Result<Vec<StaffUser>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM staff_users u WHERE u.org_code LIKE $1 ORDER BY u.org_code, u.username"
        ));
        Ok(sqlx::query_as(sql).bind(format!("{org_code}%")).fetch_all(&self.pool).await?)
    }

    /// Replaces a password hash and ends every session of the account.
    pub async fn set_staff_password(&self, id: i64, password_hash: &str) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query("UPDATE staff_users SET password_hash = $1 WHERE id = $2")
            .bind(password_hash)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        sqlx::query("DELETE FROM staff_sessions WHERE user_id = $1").bind(id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Disables or re-enables an account; disabling ends its sessions.
    pub async fn set_staff_disabled(&self, id: i64, disabled: bool) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query("UPDATE staff_users SET disabled = $1 WHERE id = $2")
            .bind(i64::from(disabled))
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        if disabled {
            sqlx::query("DELETE FROM staff_sessions WHERE user_id = $1").bind(id).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn create_session(
        &self,
        token_hash: &str,
        user_id: i64,
        csrf_token: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO staff_sessions (token_hash, user_id, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token_hash)
        .bind(user_id)
        .bind(csrf_token)
        .bind(now)
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The session behind a token, if it is unexpired and its account enabled.
    pub async fn find_session(&self, token_hash: &str, now: i64) -> Result<Option<SessionRow>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS}, s.csrf_token FROM staff_sessions s JOIN staff_users u ON u.id = s.user_id \
             WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.disabled = 0"
        ));
        Ok(sqlx::query_as(sql).bind(token_hash).bind(now).fetch_optional(&self.pool).await?)
    }

    pub async fn delete_session(&self, token_hash: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM staff_sessions WHERE token_hash = $1").bind(token_hash).execute(&self.pool).await?;
        Ok(())
    }

    /// Removes expired sessions and login counters whose window began before `attempts_before`
    /// (unless their client is still known); returns how many sessions went.
    pub async fn purge_expired(&self, now: i64, attempts_before: i64) -> Result<u64, StoreError> {
        let done =
            sqlx::query("DELETE FROM staff_sessions WHERE expires_at <= $1").bind(now).execute(&self.pool).await?;
        sqlx::query("DELETE FROM login_throttle WHERE window_start < $1 AND known_until < $2")
            .bind(attempts_before)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    /// Claims one login attempt for `username` from `client` (use [`ANY_CLIENT`] for the
    /// per-username ceiling) atomically, before the password is checked: the count restarts when
    /// the window that began at the first counted attempt is over. Returns the claim, this attempt
    /// included, so parallel attempts each see a distinct count.
    pub async fn claim_login(
        &self,
        username: &str,
        client: &str,
        now: i64,
        window_secs: i64,
    ) -> Result<LoginClaim, StoreError> {
        Ok(sqlx::query_as(
            "INSERT INTO login_throttle (username, client, window_start, attempts, known_until) \
             VALUES ($1, $2, $3, 1, 0) ON CONFLICT (username, client) DO UPDATE SET \
             attempts = CASE WHEN login_throttle.window_start <= $4 THEN 1 ELSE login_throttle.attempts + 1 END, \
             window_start = CASE WHEN login_throttle.window_start <= $4 THEN $3 ELSE login_throttle.window_start END \
             RETURNING attempts, known_until",
        )
        .bind(username)
        .bind(client)
        .bind(now)
        .bind(now - window_secs)
        .fetch_one(&self.pool)
        .await?)
    }

    /// Gives back a claimed attempt that was never checked (the server was too busy to hash).
    pub async fn release_login(&self, username: &str, client: &str) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE login_throttle SET attempts = attempts - 1 WHERE username = $1 AND client = $2 AND attempts > 0",
        )
        .bind(username)
        .bind(client)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// After a successful login: the client's count restarts and it is known to the username
    /// until `known_until`.
    pub async fn login_succeeded(&self, username: &str, client: &str, known_until: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE login_throttle SET attempts = 0, known_until = $3 WHERE username = $1 AND client = $2")
            .bind(username)
            .bind(client)
            .bind(known_until)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Records that the form identified by `form_key` was submitted. Returns `false` when it had
    /// been submitted before, in which case the caller must not act again.
    pub async fn claim_form(&self, form_key: &str, user_id: i64, now: i64) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO form_submissions (form_key, user_id, outcome, created_at) VALUES ($1, $2, '', $3) \
             ON CONFLICT (form_key) DO NOTHING",
        )
        .bind(form_key)
        .bind(user_id)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
