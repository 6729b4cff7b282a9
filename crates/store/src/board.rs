//! 办件公开 storage: the public board of service cases (办件) and messages (留言) without anything
//! that names or reaches a person. Rows carry only what the item or kind, the village, the
//! department, the dates, the status, the clock and the rating say; reports (举报), hidden and
//! merged messages never appear. Tracking numbers are left out too: a board row leads nowhere.

use sqlx::any::AnyRow;
use sqlx::{FromRow, Row};
use xiaowei_core::tracked::Satisfaction;

use crate::tracked::{Filed, maybe_code};
use crate::{Store, StoreError};

/// One anonymised row of the board.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoardRow {
    /// A case, or a message of its kind (咨询, 投诉, 建议), with its status.
    pub filed: Filed,
    /// The service item's name; empty for a message.
    pub item_name: String,
    /// The department of a case; empty for a message.
    pub department_name: String,
    pub org_code: String,
    pub org_name: String,
    pub submitted_at: i64,
    /// The deadline of completion (case) or reply (message).
    pub due_at: i64,
    /// When the case was completed or the message answered.
    pub done_at: Option<i64>,
    pub rating: Option<Satisfaction>,
}

impl<'r> FromRow<'r, AnyRow> for BoardRow {
    fn from_row(row: &'r AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            filed: Filed::read(row)?,
            item_name: row.try_get("item_name")?,
            department_name: row.try_get("department_name")?,
            org_code: row.try_get("org_code")?,
            org_name: row.try_get("org_name")?,
            submitted_at: row.try_get("submitted_at")?,
            due_at: row.try_get("due_at")?,
            done_at: row.try_get("done_at")?,
            rating: maybe_code(row, "rating")?,
        })
    }
}

/// What the board is narrowed to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BoardFilter {
    /// Org code prefix (county, township or village).
    pub org_prefix: String,
    /// `case`, `question`, `complaint`, `suggestion`, or any.
    pub kind: Option<String>,
    /// `Some(true)`: completed or answered; `Some(false)`: still open.
    pub done: Option<bool>,
    /// `Some(true)`: done by the deadline; `Some(false)`: done late or open past it (at `now`).
    pub on_time: Option<bool>,
    pub now: i64,
}

/// Cases and messages as one relation with the board's columns; `done` is 1 when the work is over.
const BOARD: &str = "SELECT 'case' AS kind, i.name AS item_name, d.name AS department_name, c.org_code, o.name AS org_name, \
     c.status, c.submitted_at, c.completion_due AS due_at, c.completed_at AS done_at, c.rating, \
     CASE WHEN c.status IN ('completed', 'closed') THEN 1 ELSE 0 END AS done \
     FROM service_cases c JOIN service_items i ON i.id = c.item_id JOIN departments d ON d.id = c.department_id \
     JOIN orgs o ON o.code = c.org_code \
     UNION ALL SELECT m.kind, '' AS item_name, '' AS department_name, m.org_code, o.name AS org_name, m.status, \
     m.submitted_at, m.reply_due AS due_at, m.replied_at AS done_at, m.rating, \
     CASE WHEN m.status IN ('replied', 'closed') THEN 1 ELSE 0 END AS done \
     FROM messages m JOIN orgs o ON o.code = m.org_code \
     WHERE m.kind <> 'report' AND m.status NOT IN ('hidden', 'merged')";

/// The filter as a `WHERE` clause over [`BOARD`]: $1 prefix, $2 kind ('' any), $3 done (-1 any),
/// $4 on time (-1 any), $5 now.
const WHERE: &str = "WHERE b.org_code LIKE $1 || '%' AND ($2 = '' OR b.kind = $2) \
     AND ($3 = -1 OR b.done = $3) \
     AND ($4 = -1 OR (CASE WHEN b.done_at IS NOT NULL THEN \
     (CASE WHEN b.done_at <= b.due_at THEN 1 ELSE 0 END) \
     WHEN b.due_at <= $5 THEN 0 ELSE -2 END) = $4)";

impl Store {
    /// One page of the board, newest first, and how many rows the filter matches.
    pub async fn board(&self, f: &BoardFilter, limit: i64, offset: i64) -> Result<(Vec<BoardRow>, i64), StoreError> {
        let kind = f.kind.clone().unwrap_or_default();
        let done = f.done.map_or(-1, i64::from);
        let on_time = f.on_time.map_or(-1, i64::from);
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT b.kind, b.item_name, b.department_name, b.org_code, b.org_name, b.status, b.submitted_at, \
             b.due_at, b.done_at, b.rating FROM ({BOARD}) b {WHERE} ORDER BY b.submitted_at DESC, b.kind LIMIT $6 OFFSET $7"
        ));
        let rows = sqlx::query_as(sql)
            .bind(&f.org_prefix)
            .bind(&kind)
            .bind(done)
            .bind(on_time)
            .bind(f.now)
            .bind(limit)
            .bind(offset)
            .fetch_all(&self.pool)
            .await?;
        let sql = sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM ({BOARD}) b {WHERE}"));
        let total = sqlx::query_scalar(sql)
            .bind(&f.org_prefix)
            .bind(&kind)
            .bind(done)
            .bind(on_time)
            .bind(f.now)
            .fetch_one(&self.pool)
            .await?;
        Ok((rows, total))
    }
}
