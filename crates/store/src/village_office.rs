//! The village office (村委会): its cadres (村干部) with their published work phones, the duty
//! rota (值班坐班表: weekly pattern and date-specific overrides) and meeting notices (会议通知)
//! with their minutes (纪要). Phones arrive encrypted with their blind index; this module never
//! sees them in clear. Every query is scoped by the village's org code.

use sqlx::FromRow;
use xiaowei_core::village_office::Audiences;

use crate::{Store, StoreError};

/// A cadre as stored: the phone stays sealed.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct Cadre {
    pub id: i64,
    pub org_code: String,
    pub name: String,
    /// 职务, e.g. `村党支部书记、村委会主任`.
    pub title: String,
    /// 分工, e.g. `全面工作`.
    pub duties: String,
    pub phone_enc: Vec<u8>,
}

/// What a clerk enters for a cadre (adding or editing).
#[derive(Debug, Clone)]
pub struct CadreDetails {
    pub name: String,
    pub title: String,
    pub duties: String,
    pub phone_enc: Vec<u8>,
    pub phone_idx: String,
}

/// One weekday of the weekly pattern: 1 (Monday) … 7 (Sunday).
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct WeeklyDuty {
    pub weekday: i64,
    pub cadre_id: i64,
}

/// A date-specific change to the weekly pattern.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct DutyOverrideRow {
    pub id: i64,
    /// `YYYY-MM-DD`, a calendar date in Asia/Shanghai.
    pub on_date: String,
    /// The substitute, or `None` when nobody is on duty that day.
    pub cadre_id: Option<i64>,
    pub note: String,
}

#[derive(Debug, Clone)]
pub struct NewDutyOverride {
    pub on_date: String,
    pub cadre_id: Option<i64>,
    pub note: String,
}

/// A meeting notice and, once held, its minutes.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct Meeting {
    pub id: i64,
    pub org_code: String,
    pub starts_at: i64,
    pub place: String,
    pub agenda: String,
    #[sqlx(try_from = "String")]
    pub audiences: Audiences,
    pub minutes: Option<String>,
    pub minutes_at: Option<i64>,
    pub minutes_attachment_id: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct NewMeeting {
    pub org_code: String,
    pub starts_at: i64,
    pub place: String,
    pub agenda: String,
    pub audiences: Audiences,
    pub created_by: Option<i64>,
}

const MEETING_COLUMNS: &str =
    "id, org_code, starts_at, place, agenda, audiences, minutes, minutes_at, minutes_attachment_id";

impl Store {
    /// Adds a cadre to a village; the same phone twice in one village is a conflict.
    pub async fn add_cadre(&self, org_code: &str, c: &CadreDetails, now: i64) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "INSERT INTO village_cadres (org_code, name, title, duties, phone_enc, phone_idx, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id",
        )
        .bind(org_code)
        .bind(&c.name)
        .bind(&c.title)
        .bind(&c.duties)
        .bind(&c.phone_enc)
        .bind(&c.phone_idx)
        .bind(now)
        .fetch_one(&self.pool)
        .await?)
    }

    /// A village's cadres in the order they were added (the secretary is entered first).
    pub async fn cadres_of(&self, org_code: &str) -> Result<Vec<Cadre>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, org_code, name, title, duties, phone_enc FROM village_cadres WHERE org_code = $1 ORDER BY id",
        )
        .bind(org_code)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Changes a cadre of the village; `NotFound` when the village has no such cadre.
    pub async fn update_cadre(&self, org_code: &str, id: i64, c: &CadreDetails, now: i64) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE village_cadres SET name = $1, title = $2, duties = $3, phone_enc = $4, phone_idx = $5, \
             updated_at = $6 WHERE id = $7 AND org_code = $8",
        )
        .bind(&c.name)
        .bind(&c.title)
        .bind(&c.duties)
        .bind(&c.phone_enc)
        .bind(&c.phone_idx)
        .bind(now)
        .bind(id)
        .bind(org_code)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }

    /// Removes a cadre of the village together with their weekly duty days and the overrides
    /// that named them (those days fall back to the weekly pattern).
    pub async fn remove_cadre(&self, org_code: &str, id: i64) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        for sql in [
            "DELETE FROM village_duty_weekly WHERE cadre_id = $1 AND org_code = $2",
            "DELETE FROM village_duty_overrides WHERE cadre_id = $1 AND org_code = $2",
        ] {
            sqlx::query(sql).bind(id).bind(org_code).execute(&mut *tx).await?;
        }
        let done = sqlx::query("DELETE FROM village_cadres WHERE id = $1 AND org_code = $2")
            .bind(id)
            .bind(org_code)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        tx.commit().await?;
        Ok(())
    }

    /// Replaces the village's weekly pattern with `slots` (weekday 1–7, cadre); a weekday left
    /// out has nobody on duty. A cadre of another village is refused as a conflict.
    pub async fn set_weekly_duty(&self, org_code: &str, slots: &[WeeklyDuty]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM village_duty_weekly WHERE org_code = $1").bind(org_code).execute(&mut *tx).await?;
        for slot in slots {
            sqlx::query("INSERT INTO village_duty_weekly (org_code, weekday, cadre_id) VALUES ($1, $2, $3)")
                .bind(org_code)
                .bind(slot.weekday)
                .bind(slot.cadre_id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The village's weekly pattern, Monday first.
    pub async fn weekly_duty(&self, org_code: &str) -> Result<Vec<WeeklyDuty>, StoreError> {
        Ok(sqlx::query_as("SELECT weekday, cadre_id FROM village_duty_weekly WHERE org_code = $1 ORDER BY weekday")
            .bind(org_code)
            .fetch_all(&self.pool)
            .await?)
    }

    /// Adds a date-specific override; a second override for the same date is a conflict.
    pub async fn add_duty_override(&self, org_code: &str, o: &NewDutyOverride, now: i64) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "INSERT INTO village_duty_overrides (org_code, on_date, cadre_id, note, created_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(org_code)
        .bind(&o.on_date)
        .bind(o.cadre_id)
        .bind(&o.note)
        .bind(now)
        .fetch_one(&self.pool)
        .await?)
    }

    /// The village's overrides on or after `from` (`YYYY-MM-DD`), in date order.
    pub async fn duty_overrides_from(&self, org_code: &str, from: &str) -> Result<Vec<DutyOverrideRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, on_date, cadre_id, note FROM village_duty_overrides \
             WHERE org_code = $1 AND on_date >= $2 ORDER BY on_date",
        )
        .bind(org_code)
        .bind(from)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Removes an override of the village; `NotFound` when there is none.
    pub async fn remove_duty_override(&self, org_code: &str, id: i64) -> Result<(), StoreError> {
        let done = sqlx::query("DELETE FROM village_duty_overrides WHERE id = $1 AND org_code = $2")
            .bind(id)
            .bind(org_code)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }

    pub async fn create_meeting(&self, m: &NewMeeting, now: i64) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "INSERT INTO village_meetings (org_code, starts_at, place, agenda, audiences, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(&m.org_code)
        .bind(m.starts_at)
        .bind(&m.place)
        .bind(&m.agenda)
        .bind(m.audiences.codes())
        .bind(m.created_by)
        .bind(now)
        .fetch_one(&self.pool)
        .await?)
    }

    /// A meeting of the village.
    pub async fn find_meeting(&self, org_code: &str, id: i64) -> Result<Option<Meeting>, StoreError> {
        let sql = format!("SELECT {MEETING_COLUMNS} FROM village_meetings WHERE id = $1 AND org_code = $2");
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).bind(org_code).fetch_optional(&self.pool).await?)
    }

    /// Meetings starting at or after `now`, soonest first.
    pub async fn upcoming_meetings(&self, org_code: &str, now: i64, limit: i64) -> Result<Vec<Meeting>, StoreError> {
        let sql = format!(
            "SELECT {MEETING_COLUMNS} FROM village_meetings WHERE org_code = $1 AND starts_at >= $2 \
             ORDER BY starts_at, id LIMIT $3"
        );
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(org_code).bind(now).bind(limit).fetch_all(&self.pool).await?)
    }

    /// Meetings that started before `now`, latest first.
    pub async fn past_meetings(&self, org_code: &str, now: i64, limit: i64) -> Result<Vec<Meeting>, StoreError> {
        let sql = format!(
            "SELECT {MEETING_COLUMNS} FROM village_meetings WHERE org_code = $1 AND starts_at < $2 \
             ORDER BY starts_at DESC, id DESC LIMIT $3"
        );
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(org_code).bind(now).bind(limit).fetch_all(&self.pool).await?)
    }

    /// Records (or corrects) a meeting's minutes; `NotFound` when the village has no such meeting.
    pub async fn record_minutes(&self, org_code: &str, id: i64, minutes: &str, now: i64) -> Result<(), StoreError> {
        let done =
            sqlx::query("UPDATE village_meetings SET minutes = $1, minutes_at = $2 WHERE id = $3 AND org_code = $4")
                .bind(minutes)
                .bind(now)
                .bind(id)
                .bind(org_code)
                .execute(&self.pool)
                .await?;
        if done.rows_affected() == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }

    /// Links a stored attachment (see `add_attachment`) to a meeting as its minutes file.
    pub async fn attach_minutes_file(&self, org_code: &str, id: i64, attachment_id: i64) -> Result<(), StoreError> {
        let done =
            sqlx::query("UPDATE village_meetings SET minutes_attachment_id = $1 WHERE id = $2 AND org_code = $3")
                .bind(attachment_id)
                .bind(id)
                .bind(org_code)
                .execute(&self.pool)
                .await?;
        if done.rows_affected() == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }
}
