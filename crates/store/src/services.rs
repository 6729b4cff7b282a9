//! 我要办事 storage: the service catalogue and township handlers, applications (办件) with their
//! clocks, timeline, photos and extension requests, and the working-day calendar.
//!
//! Every state change is compare-and-set on the case's status or clock column, and writes its
//! timeline event and notifications (into the outbox) in the same transaction, so a double click,
//! a restart or a second server instance never acts twice.

use sqlx::FromRow;
use xiaowei_core::service::{CaseStatus, ExtensionStatus, Recipient, TimeLimit};
use xiaowei_core::tracked::{Rating, Satisfaction};
use xiaowei_core::workday::DayKind;

use crate::decode::{Flag, MaybeCode};
use crate::outbox::NewOutbox;
use crate::tracked::{Columns, Filing, Mark, NewEvent, NewPhoto, RequestKind, Writes, write_event};
use crate::{Store, StoreError};

#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct ServiceItem {
    pub id: i64,
    pub department_id: i64,
    pub department_name: String,
    pub name: String,
    pub conditions: String,
    pub materials: String,
    pub steps: String,
    #[sqlx(try_from = "String")]
    pub time_limit: TimeLimit,
    pub fee: String,
    pub contact_phone: String,
    pub external_url: Option<String>,
    #[sqlx(try_from = "Flag")]
    pub requires_id: bool,
    pub officer_id: Option<i64>,
    #[sqlx(try_from = "Flag")]
    pub active: bool,
}

#[derive(Debug, Clone)]
pub struct NewServiceItem {
    pub department_id: i64,
    pub name: String,
    pub conditions: String,
    pub materials: String,
    pub steps: String,
    pub time_limit: TimeLimit,
    pub fee: String,
    pub contact_phone: String,
    pub external_url: Option<String>,
    pub requires_id: bool,
    pub officer_id: Option<i64>,
}

/// 乡镇经办人 of an item in one township.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct ServiceHandler {
    pub item_id: i64,
    pub township_code: String,
    pub name: String,
    pub phone_enc: Vec<u8>,
}

#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct ServiceCase {
    pub id: i64,
    pub tracking: String,
    pub item_id: i64,
    pub item_name: String,
    pub department_id: i64,
    pub department_name: String,
    pub org_code: String,
    pub applicant_name: String,
    pub phone_enc: Vec<u8>,
    pub phone_idx: String,
    pub resident_id_enc: Option<Vec<u8>>,
    pub description: String,
    #[sqlx(try_from = "String")]
    pub status: CaseStatus,
    pub filed_by: Option<i64>,
    pub submitted_at: i64,
    pub contact_due: i64,
    pub completion_due: i64,
    pub deadline_basis: String,
    pub contact_overdue_at: Option<i64>,
    pub completion_overdue_at: Option<i64>,
    pub contacted_at: Option<i64>,
    pub completed_at: Option<i64>,
    pub reply: Option<String>,
    #[sqlx(try_from = "MaybeCode")]
    pub rating: Option<Satisfaction>,
    pub rating_comment: Option<String>,
    pub rated_at: Option<i64>,
}

const CASE_COLUMNS: &str = "c.id, c.tracking, c.item_id, i.name AS item_name, c.department_id, \
     d.name AS department_name, c.org_code, c.applicant_name, c.phone_enc, c.phone_idx, c.resident_id_enc, \
     c.description, c.status, c.filed_by, c.submitted_at, c.contact_due, c.completion_due, c.deadline_basis, \
     c.contact_overdue_at, c.completion_overdue_at, c.contacted_at, c.completed_at, c.reply, c.rating, \
     c.rating_comment, c.rated_at";
const CASE_FROM: &str =
    "service_cases c JOIN service_items i ON i.id = c.item_id JOIN departments d ON d.id = c.department_id";

#[derive(Debug, Clone)]
pub struct NewCase {
    pub tracking: String,
    /// The form's one-time key: a second submission of the same form finds the first case.
    pub submit_key: String,
    pub item_id: i64,
    pub department_id: i64,
    pub org_code: String,
    pub applicant_name: String,
    pub phone_enc: Vec<u8>,
    pub phone_idx: String,
    pub resident_id_enc: Option<Vec<u8>>,
    pub description: String,
    pub filed_by: Option<i64>,
    pub submitted_at: i64,
    pub contact_due: i64,
    pub contact_remind_at: i64,
    pub completion_due: i64,
    pub completion_remind_at: i64,
    pub deadline_basis: String,
}

#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct CaseExtension {
    pub id: i64,
    pub case_id: i64,
    pub days: i64,
    pub reason: String,
    #[sqlx(try_from = "String")]
    pub status: ExtensionStatus,
    pub requested_by: i64,
    pub requested_at: i64,
    pub decided_at: Option<i64>,
    pub decision_note: Option<String>,
    pub basis: Option<String>,
}

/// What a status change also writes on the case.
#[derive(Debug, Clone, Default)]
pub struct CaseChange {
    pub contacted: bool,
    pub completed_reply: Option<String>,
    pub rating: Option<Rating>,
    /// A new completion deadline (due, remind at) with its basis, clearing the reminder and overdue
    /// marks: for a reopened case.
    pub new_completion: Option<(i64, i64, String)>,
}

/// The clock marks a scheduler sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockMark {
    ContactReminder,
    ContactOverdue,
    CompletionReminder,
    CompletionOverdue,
}

impl ClockMark {
    pub const ALL: [Self; 4] =
        [Self::ContactReminder, Self::ContactOverdue, Self::CompletionReminder, Self::CompletionOverdue];
}

impl Mark for ClockMark {
    const KIND: RequestKind = RequestKind::Case;

    fn columns(self) -> (&'static str, &'static str) {
        match self {
            Self::ContactReminder => ("contact_reminded_at", "contact_remind_at"),
            Self::ContactOverdue => ("contact_overdue_at", "contact_due"),
            Self::CompletionReminder => ("completion_reminded_at", "completion_remind_at"),
            Self::CompletionOverdue => ("completion_overdue_at", "completion_due"),
        }
    }

    fn running(self) -> &'static str {
        match self {
            Self::ContactReminder | Self::ContactOverdue => "status = 'submitted'",
            Self::CompletionReminder | Self::CompletionOverdue => "status IN ('submitted', 'in_progress', 'reopened')",
        }
    }
}

impl Writes for CaseChange {
    fn write(&self, c: &mut Columns) {
        if self.contacted {
            c.now("contacted_at");
        }
        if let Some(reply) = &self.completed_reply {
            c.now("completed_at");
            c.text("reply", reply);
        }
        if let Some(rating) = &self.rating {
            c.rating(rating);
        }
        if let Some(deadline) = &self.new_completion {
            let marks = ["completion_reminded_at", "completion_overdue_at"];
            c.deadline(("completion_due", "completion_remind_at"), marks, deadline);
        }
    }
}

/// A filter over cases for the back office.
#[derive(Debug, Clone, Default)]
pub struct CaseFilter {
    /// Only cases in this org subtree.
    pub org_prefix: Option<String>,
    /// Only cases of this department.
    pub department_id: Option<i64>,
    pub status: Option<CaseStatus>,
    pub overdue_only: bool,
}

/// A person a notification may reach, in the role `Role` of one kind of tracked request's
/// recipients (`core::service::Recipient` for a case, `MessageRecipient`, `ObjectionRecipient`),
/// with their sealed phone.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct RecipientRow<Role: TryFrom<String, Error = xiaowei_core::UnknownCode>> {
    #[sqlx(try_from = "String")]
    pub role: Role,
    pub name: String,
    pub phone_enc: Vec<u8>,
    pub phone_idx: String,
}

#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct CalendarDayRow {
    pub on_date: String,
    #[sqlx(try_from = "String")]
    pub kind: DayKind,
    pub name: String,
}

impl Store {
    /// Adds a catalogue item, or updates the item of that name in that department (an unchanged
    /// item is left alone). Each public change is a new version with its ledger leaf, written in
    /// the same transaction.
    pub async fn upsert_service_item(&self, item: &NewServiceItem, now: i64) -> Result<i64, StoreError> {
        let mut tx = self.begin_write().await?;
        #[allow(clippy::type_complexity)]
        let existing: Option<(
            i64,
            String,
            String,
            String,
            String,
            String,
            String,
            Option<String>,
            i64,
            Option<i64>,
            i64,
        )> = sqlx::query_as(
            "SELECT id, conditions, materials, steps, time_limit, fee, contact_phone, external_url, requires_id, \
                 officer_id, active FROM service_items WHERE department_id = $1 AND name = $2",
        )
        .bind(item.department_id)
        .bind(&item.name)
        .fetch_optional(&mut *tx)
        .await?;
        let (id, event) = match existing {
            Some(row) => {
                let same = (&row.1, &row.2, &row.3, &row.4, &row.5, &row.6, &row.7, row.8, row.9, row.10)
                    == (
                        &item.conditions,
                        &item.materials,
                        &item.steps,
                        &item.time_limit.as_code(),
                        &item.fee,
                        &item.contact_phone,
                        &item.external_url,
                        i64::from(item.requires_id),
                        item.officer_id,
                        1,
                    );
                if same {
                    tx.commit().await?;
                    return Ok(row.0);
                }
                self.write_service_item(&mut tx, row.0, item, now).await?;
                sqlx::query("UPDATE service_items SET active = 1 WHERE id = $1").bind(row.0).execute(&mut *tx).await?;
                (row.0, "update")
            }
            None => {
                // A version-0 row that the write below fills in as version 1.
                let id = sqlx::query_scalar(
                    "INSERT INTO service_items (department_id, name, conditions, materials, steps, time_limit, fee, \
                     contact_phone, requires_id, active, version, created_at, updated_at) \
                     VALUES ($1, $2, '', '', '', '', '', '', 0, 1, 0, $3, $3) RETURNING id",
                )
                .bind(item.department_id)
                .bind(&item.name)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
                self.write_service_item(&mut tx, id, item, now).await?;
                (id, "add")
            }
        };
        let leaf = self.service_item_leaf(&mut tx, id, event, now).await?;
        self.append_leaf_in(&mut tx, &leaf).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Writes an item's fields as a new version.
    async fn write_service_item(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        id: i64,
        item: &NewServiceItem,
        now: i64,
    ) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE service_items SET name = $1, conditions = $2, materials = $3, steps = $4, time_limit = $5, \
             fee = $6, contact_phone = $7, external_url = $8, requires_id = $9, officer_id = $10, updated_at = $11, \
             version = version + 1 WHERE id = $12",
        )
        .bind(&item.name)
        .bind(&item.conditions)
        .bind(&item.materials)
        .bind(&item.steps)
        .bind(item.time_limit.as_code())
        .bind(&item.fee)
        .bind(&item.contact_phone)
        .bind(&item.external_url)
        .bind(i64::from(item.requires_id))
        .bind(item.officer_id)
        .bind(now)
        .bind(id)
        .execute(&mut **tx)
        .await?;
        if done.rows_affected() == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }

    /// Changes an item in place (its department stays) as a new version with its ledger leaf;
    /// `NotFound` when there is none.
    pub async fn update_service_item(&self, id: i64, item: &NewServiceItem, now: i64) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        self.write_service_item(&mut tx, id, item, now).await?;
        let leaf = self.service_item_leaf(&mut tx, id, "update", now).await?;
        self.append_leaf_in(&mut tx, &leaf).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Takes an item off (or back onto) the public catalogue, logged in the ledger; a repeat
    /// changes nothing.
    pub async fn set_service_item_active(&self, id: i64, active: bool, now: i64) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE service_items SET active = $1, updated_at = $2, version = version + 1 WHERE id = $3 AND active <> $1",
        )
        .bind(i64::from(active))
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM service_items WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
            return if exists.is_some() { Ok(()) } else { Err(StoreError::NotFound) };
        }
        let leaf = self.service_item_leaf(&mut tx, id, if active { "restore" } else { "withdraw" }, now).await?;
        self.append_leaf_in(&mut tx, &leaf).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The catalogue by department, then name; `active_only` for the public.
    pub async fn service_items(&self, active_only: bool) -> Result<Vec<ServiceItem>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT i.id, i.department_id, d.name AS department_name, i.name, i.conditions, i.materials, i.steps, \
             i.time_limit, i.fee, i.contact_phone, i.external_url, i.requires_id, i.officer_id, i.active \
             FROM service_items i JOIN departments d ON d.id = i.department_id \
             WHERE i.active = 1 OR $1 = 0 ORDER BY d.id, i.id",
        )
        .bind(i64::from(active_only))
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn find_service_item(&self, id: i64) -> Result<Option<ServiceItem>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT i.id, i.department_id, d.name AS department_name, i.name, i.conditions, i.materials, i.steps, \
             i.time_limit, i.fee, i.contact_phone, i.external_url, i.requires_id, i.officer_id, i.active \
             FROM service_items i JOIN departments d ON d.id = i.department_id WHERE i.id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Sets the township handler of an item.
    pub async fn set_service_handler(
        &self,
        item_id: i64,
        township_code: &str,
        name: &str,
        phone_enc: &[u8],
        phone_idx: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO service_handlers (item_id, township_code, name, phone_enc, phone_idx) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (item_id, township_code) DO UPDATE SET name = excluded.name, \
             phone_enc = excluded.phone_enc, phone_idx = excluded.phone_idx",
        )
        .bind(item_id)
        .bind(township_code)
        .bind(name)
        .bind(phone_enc)
        .bind(phone_idx)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn service_handler(
        &self,
        item_id: i64,
        township_code: &str,
    ) -> Result<Option<ServiceHandler>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT item_id, township_code, name, phone_enc FROM service_handlers \
             WHERE item_id = $1 AND township_code = $2",
        )
        .bind(item_id)
        .bind(township_code)
        .fetch_optional(&self.pool)
        .await?)
    }

    pub async fn service_handlers(&self, item_id: i64) -> Result<Vec<ServiceHandler>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT item_id, township_code, name, phone_enc FROM service_handlers WHERE item_id = $1 \
             ORDER BY township_code",
        )
        .bind(item_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Stores a new case with its photos, first timeline event and notifications, in one
    /// transaction. A repeated `submit_key` returns the first case's id and `false`.
    pub async fn create_case(
        &self,
        c: &NewCase,
        photos: &[NewPhoto],
        event: &NewEvent,
        notices: &[NewOutbox],
    ) -> Result<(i64, bool), StoreError> {
        let insert = sqlx::query_scalar(
            "INSERT INTO service_cases (tracking, submit_key, item_id, department_id, org_code, applicant_name, \
             phone_enc, phone_idx, resident_id_enc, description, status, filed_by, submitted_at, contact_due, \
             contact_remind_at, completion_due, completion_remind_at, deadline_basis, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'submitted', $11, $12, $13, $14, $15, $16, $17, $12) \
             RETURNING id",
        )
        .bind(&c.tracking)
        .bind(&c.submit_key)
        .bind(c.item_id)
        .bind(c.department_id)
        .bind(&c.org_code)
        .bind(&c.applicant_name)
        .bind(&c.phone_enc)
        .bind(&c.phone_idx)
        .bind(&c.resident_id_enc)
        .bind(&c.description)
        .bind(c.filed_by)
        .bind(c.submitted_at)
        .bind(c.contact_due)
        .bind(c.contact_remind_at)
        .bind(c.completion_due)
        .bind(c.completion_remind_at)
        .bind(&c.deadline_basis);
        let kind = RequestKind::Case;
        let at = c.submitted_at;
        self.file(Filing { kind, submit_key: Some(&c.submit_key), insert, photos, event, notices, at }).await
    }

    pub async fn find_case(&self, id: i64) -> Result<Option<ServiceCase>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT {CASE_COLUMNS} FROM {CASE_FROM} WHERE c.id = $1"));
        Ok(sqlx::query_as(sql).bind(id).fetch_optional(&self.pool).await?)
    }

    /// The case a form submission created, if any (a repeated submit finds it).
    pub async fn find_case_by_submit_key(&self, submit_key: &str) -> Result<Option<ServiceCase>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT {CASE_COLUMNS} FROM {CASE_FROM} WHERE c.submit_key = $1"));
        Ok(sqlx::query_as(sql).bind(submit_key).fetch_optional(&self.pool).await?)
    }

    pub async fn find_case_by_tracking(&self, tracking: &str) -> Result<Option<ServiceCase>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT {CASE_COLUMNS} FROM {CASE_FROM} WHERE c.tracking = $1"));
        Ok(sqlx::query_as(sql).bind(tracking).fetch_optional(&self.pool).await?)
    }

    /// Cases matching `filter`, newest first, with the total count.
    pub async fn cases(
        &self,
        filter: &CaseFilter,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<ServiceCase>, i64), StoreError> {
        let condition = "($1 = '' OR c.org_code LIKE $1 || '%') AND ($2 = 0 OR c.department_id = $2) \
             AND ($3 = '' OR c.status = $3) AND ($4 = 0 OR c.contact_overdue_at IS NOT NULL \
             OR c.completion_overdue_at IS NOT NULL)";
        let prefix = filter.org_prefix.clone().unwrap_or_default();
        let department = filter.department_id.unwrap_or(0);
        let status = filter.status.map_or("", CaseStatus::as_str);
        let overdue = i64::from(filter.overdue_only);
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {CASE_COLUMNS} FROM {CASE_FROM} WHERE {condition} ORDER BY c.submitted_at DESC, c.id DESC \
             LIMIT $5 OFFSET $6"
        ));
        let rows = sqlx::query_as(sql)
            .bind(&prefix)
            .bind(department)
            .bind(status)
            .bind(overdue)
            .bind(limit)
            .bind(offset)
            .fetch_all(&self.pool)
            .await?;
        let count_sql = sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM service_cases c WHERE {condition}"));
        let total = sqlx::query_scalar(count_sql)
            .bind(&prefix)
            .bind(department)
            .bind(status)
            .bind(overdue)
            .fetch_one(&self.pool)
            .await?;
        Ok((rows, total))
    }

    pub async fn case_extensions(&self, case_id: i64) -> Result<Vec<CaseExtension>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, case_id, days, reason, status, requested_by, requested_at, decided_at, decision_note, basis \
             FROM case_extensions WHERE case_id = $1 ORDER BY id",
        )
        .bind(case_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Who notifications about an application for `item_id` from `org_code` can reach: the
    /// department's head and leaders in charge, the item's case officer, the township handler and
    /// the county supervisors with a phone whose scope covers the village. The applicant is the
    /// caller's to add.
    pub async fn notice_recipients(
        &self,
        item_id: i64,
        org_code: &str,
    ) -> Result<Vec<RecipientRow<Recipient>>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT dc.position AS role, dc.name, dc.phone_enc, dc.phone_idx FROM service_items i \
             JOIN department_contacts dc ON dc.department_id = i.department_id AND dc.position IN ('head', 'leader') \
             WHERE i.id = $1 \
             UNION ALL SELECT 'officer', dc.name, dc.phone_enc, dc.phone_idx FROM service_items i \
             JOIN department_contacts dc ON dc.id = i.officer_id WHERE i.id = $1 \
             UNION ALL SELECT 'township', h.name, h.phone_enc, h.phone_idx FROM service_handlers h \
             JOIN orgs o ON o.code = $2 AND (h.township_code = o.parent_code OR h.township_code = o.code) \
             WHERE h.item_id = $1 \
             UNION ALL SELECT 'supervisor', u.display_name, u.phone_enc, u.phone_idx FROM staff_users u \
             WHERE u.role = 'supervisor' AND u.disabled = 0 AND u.phone_enc IS NOT NULL \
             AND $2 LIKE u.org_code || '%'",
        )
        .bind(item_id)
        .bind(org_code)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Asks for an extension; `Ok(false)` when one is already pending.
    pub async fn request_extension(
        &self,
        case_id: i64,
        days: i64,
        reason: &str,
        by: i64,
        event: &NewEvent,
        now: i64,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "INSERT INTO case_extensions (case_id, days, reason, status, requested_by, requested_at) \
             VALUES ($1, $2, $3, 'requested', $4, $5) ON CONFLICT DO NOTHING",
        )
        .bind(case_id)
        .bind(days)
        .bind(reason)
        .bind(by)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        write_event(&mut tx, RequestKind::Case, case_id, event, &[], now).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Decides a pending extension. On approval the case's completion deadline becomes
    /// `new_due` (remind at `remind_at`), with its basis. `Ok(false)` when already decided.
    pub async fn decide_extension(
        &self,
        extension_id: i64,
        approve: Option<(i64, i64, String)>,
        by: i64,
        note: &str,
        event: &NewEvent,
        now: i64,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let case_id: Option<i64> = sqlx::query_scalar(
            "UPDATE case_extensions SET status = $1, decided_by = $2, decided_at = $3, decision_note = $4, \
             basis = $5 WHERE id = $6 AND status = 'requested' RETURNING case_id",
        )
        .bind(if approve.is_some() { "approved" } else { "rejected" })
        .bind(by)
        .bind(now)
        .bind(note)
        .bind(approve.as_ref().map(|a| a.2.clone()))
        .bind(extension_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(case_id) = case_id else { return Ok(false) };
        if let Some((due, remind_at, _)) = &approve {
            sqlx::query(
                "UPDATE service_cases SET completion_due = $1, completion_remind_at = $2, \
                 completion_reminded_at = NULL, updated_at = $3 WHERE id = $4",
            )
            .bind(due)
            .bind(remind_at)
            .bind(now)
            .bind(case_id)
            .execute(&mut *tx)
            .await?;
        }
        write_event(&mut tx, RequestKind::Case, case_id, event, &[], now).await?;
        tx.commit().await?;
        Ok(true)
    }

    pub async fn find_extension(&self, id: i64) -> Result<Option<CaseExtension>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, case_id, days, reason, status, requested_by, requested_at, decided_at, decision_note, basis \
             FROM case_extensions WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// The calendar's listed days, in date order.
    pub async fn calendar_days(&self) -> Result<Vec<CalendarDayRow>, StoreError> {
        Ok(sqlx::query_as("SELECT on_date, kind, name FROM calendar_days ORDER BY on_date")
            .fetch_all(&self.pool)
            .await?)
    }

    /// The listed days as the calendar stood at `at` (a clock that started then counts on these).
    pub async fn calendar_days_as_of(&self, at: i64) -> Result<Vec<CalendarDayRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT on_date, kind, name FROM calendar_day_history \
             WHERE valid_from <= $1 AND (valid_until IS NULL OR valid_until > $1) ORDER BY on_date",
        )
        .bind(at)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Replaces the listed days of `year` with `days` (date, kind, name), in one transaction.
    pub async fn replace_calendar_year(
        &self,
        year: i16,
        days: &[(String, String, String)],
        now: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let pattern = format!("{year:04}-%");
        sqlx::query("DELETE FROM calendar_days WHERE on_date LIKE $1").bind(&pattern).execute(&mut *tx).await?;
        sqlx::query("UPDATE calendar_day_history SET valid_until = $1 WHERE on_date LIKE $2 AND valid_until IS NULL")
            .bind(now)
            .bind(&pattern)
            .execute(&mut *tx)
            .await?;
        for (date, kind, name) in days {
            sqlx::query("INSERT INTO calendar_days (on_date, kind, name, updated_at) VALUES ($1, $2, $3, $4)")
                .bind(date)
                .bind(kind)
                .bind(name)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            open_calendar_history(&mut tx, date, kind, name, now).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Sets one day (an administrator's correction).
    pub async fn set_calendar_day(&self, date: &str, kind: &str, name: &str, now: i64) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO calendar_days (on_date, kind, name, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (on_date) DO UPDATE SET kind = excluded.kind, name = excluded.name, \
             updated_at = excluded.updated_at",
        )
        .bind(date)
        .bind(kind)
        .bind(name)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        close_calendar_history(&mut tx, date, now).await?;
        open_calendar_history(&mut tx, date, kind, name, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Removes one listed day (it follows the weekday rule again).
    pub async fn delete_calendar_day(&self, date: &str, now: i64) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query("DELETE FROM calendar_days WHERE on_date = $1").bind(date).execute(&mut *tx).await?;
        close_calendar_history(&mut tx, date, now).await?;
        tx.commit().await?;
        Ok(done.rows_affected() > 0)
    }

    /// Sets (or clears) a staff account's phone, for escalation texts.
    pub async fn set_staff_phone(&self, user_id: i64, phone: Option<(&[u8], &str)>) -> Result<(), StoreError> {
        let done = sqlx::query("UPDATE staff_users SET phone_enc = $1, phone_idx = $2 WHERE id = $3")
            .bind(phone.map(|p| p.0.to_vec()))
            .bind(phone.map(|p| p.1.to_string()))
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }
}

/// Ends the version of `date` that holds (if any) at `now`.
async fn close_calendar_history(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    date: &str,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE calendar_day_history SET valid_until = $1 WHERE on_date = $2 AND valid_until IS NULL")
        .bind(now)
        .bind(date)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Starts a version of `date` holding from `now`.
async fn open_calendar_history(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    date: &str,
    kind: &str,
    name: &str,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO calendar_day_history (on_date, kind, name, valid_from) VALUES ($1, $2, $3, $4)")
        .bind(date)
        .bind(kind)
        .bind(name)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
