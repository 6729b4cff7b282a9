//! 公示公开 storage: disclosures (one row per version, linked by lineage), their finance lines
//! in integer fen, their files (rows of the shared `attachments` table, linked per version) and
//! the monitor's view of each village's last finance disclosure. Status changes are
//! compare-and-set; a published version is never edited, only withdrawn or superseded.

use sqlx::FromRow;
use xiaowei_core::Transition;
use xiaowei_core::disclosure::Category;
use xiaowei_core::subsidy::RosterStatus;

use crate::decode::code;
use crate::{Attachment, NewAttachment, Store, StoreError};

/// One version of a disclosure.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct Disclosure {
    pub id: i64,
    pub org_code: String,
    #[sqlx(try_from = "String")]
    pub category: Category,
    pub title: String,
    /// Markdown source, as the clerk wrote it.
    pub body: String,
    pub period_label: String,
    pub period_start: Option<String>,
    pub period_end: Option<String>,
    pub version: i64,
    pub lineage_id: Option<i64>,
    pub supersedes_id: Option<i64>,
    pub correction_reason: Option<String>,
    #[sqlx(try_from = "String")]
    pub status: RosterStatus,
    pub status_reason: Option<String>,
    pub line_count: i64,
    pub income_fen: i64,
    pub expense_fen: i64,
    pub created_by: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub published_at: Option<i64>,
}

/// What a clerk writes: a new disclosure, or a correction of a published one.
#[derive(Debug, Clone)]
pub struct NewDisclosure {
    pub org_code: String,
    pub category: Category,
    pub title: String,
    pub body: String,
    pub period_label: String,
    pub period_start: Option<String>,
    pub period_end: Option<String>,
    /// The published version this one corrects, with the reason.
    pub supersedes_id: Option<i64>,
    pub correction_reason: Option<String>,
    pub created_by: i64,
}

/// The editable fields of a draft.
#[derive(Debug, Clone)]
pub struct DisclosureText {
    pub title: String,
    pub body: String,
    pub period_label: String,
    pub period_start: Option<String>,
    pub period_end: Option<String>,
}

/// One income or expenditure line as stored.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct FinanceLineRow {
    pub id: i64,
    pub disclosure_id: i64,
    pub row_no: i64,
    pub line_date: Option<String>,
    pub summary: String,
    pub income_fen: i64,
    pub expense_fen: i64,
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFinanceLine {
    pub row_no: i64,
    pub line_date: Option<String>,
    pub summary: String,
    pub income_fen: i64,
    pub expense_fen: i64,
    pub note: Option<String>,
}

/// A village and when its last finance disclosure was published (none: never).
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct VillageFinanceDisclosure {
    pub code: String,
    pub name: String,
    pub last_published_at: Option<i64>,
}

const COLUMNS: &str = "id, org_code, category, title, body, period_label, period_start, period_end, version, \
     lineage_id, supersedes_id, correction_reason, status, status_reason, line_count, income_fen, expense_fen, \
     created_by, created_at, updated_at, published_at";

/// The statuses the public may see.
const PUBLIC: &str = "('published', 'superseded', 'withdrawn')";
/// The statuses that count as having disclosed: a withdrawn disclosure does not.
pub(crate) const DISCLOSED: &str = "('published', 'superseded')";

const INSERT_CHUNK: usize = 300;

impl Store {
    /// Stores a new draft with its finance lines in one transaction. A correction takes the next
    /// version number of its lineage and keeps the corrected version's files.
    pub async fn create_disclosure(
        &self,
        d: &NewDisclosure,
        lines: &[NewFinanceLine],
        now: i64,
    ) -> Result<i64, StoreError> {
        let mut tx = self.begin_write().await?;
        let (version, lineage): (i64, Option<i64>) = match d.supersedes_id {
            Some(old) => {
                let (v, lineage): (i64, Option<i64>) =
                    sqlx::query_as("SELECT version, lineage_id FROM disclosures WHERE id = $1")
                        .bind(old)
                        .fetch_one(&mut *tx)
                        .await?;
                (v + 1, lineage.or(Some(old)))
            }
            None => (1, None),
        };
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO disclosures (org_code, category, title, body, period_label, period_start, period_end, \
             version, supersedes_id, correction_reason, status, created_by, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'draft', $11, $12, $12) RETURNING id",
        )
        .bind(&d.org_code)
        .bind(d.category.as_str())
        .bind(&d.title)
        .bind(&d.body)
        .bind(&d.period_label)
        .bind(&d.period_start)
        .bind(&d.period_end)
        .bind(version)
        .bind(d.supersedes_id)
        .bind(&d.correction_reason)
        .bind(d.created_by)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query("UPDATE disclosures SET lineage_id = $1 WHERE id = $2")
            .bind(lineage.unwrap_or(id))
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if let Some(old) = d.supersedes_id {
            sqlx::query(
                "INSERT INTO disclosure_attachments (disclosure_id, attachment_id) \
                 SELECT $1, attachment_id FROM disclosure_attachments WHERE disclosure_id = $2",
            )
            .bind(id)
            .bind(old)
            .execute(&mut *tx)
            .await?;
        }
        write_lines(&mut tx, id, lines).await?;
        tx.commit().await?;
        Ok(id)
    }

    pub async fn find_disclosure(&self, id: i64) -> Result<Option<Disclosure>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM disclosures WHERE id = $1"));
        Ok(sqlx::query_as(sql).bind(id).fetch_optional(&self.pool).await?)
    }

    /// Rewrites a draft's text; refused (`Stale`) once it has been submitted.
    pub async fn update_draft_disclosure(&self, id: i64, text: &DisclosureText, now: i64) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE disclosures SET title = $1, body = $2, period_label = $3, period_start = $4, period_end = $5, \
             updated_at = $6 WHERE id = $7 AND status IN ('draft', 'returned')",
        )
        .bind(&text.title)
        .bind(&text.body)
        .bind(&text.period_label)
        .bind(&text.period_start)
        .bind(&text.period_end)
        .bind(now)
        .bind(id)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 { Err(StoreError::Stale("disclosure is not editable".into())) } else { Ok(()) }
    }

    /// Replaces a draft's finance lines and totals, all or nothing.
    pub async fn replace_finance_lines(&self, id: i64, lines: &[NewFinanceLine], now: i64) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        // Checks the status and locks the row in one statement, so a concurrent submit waits.
        let locked =
            sqlx::query("UPDATE disclosures SET updated_at = $1 WHERE id = $2 AND status IN ('draft', 'returned')")
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        if locked.rows_affected() == 0 {
            return Err(StoreError::Stale("disclosure is not editable".into()));
        }
        sqlx::query("DELETE FROM disclosure_lines WHERE disclosure_id = $1").bind(id).execute(&mut *tx).await?;
        write_lines(&mut tx, id, lines).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A disclosure's finance lines in file order.
    pub async fn finance_lines(&self, id: i64) -> Result<Vec<FinanceLineRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, disclosure_id, row_no, line_date, summary, income_fen, expense_fen, note \
             FROM disclosure_lines WHERE disclosure_id = $1 ORDER BY row_no, id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Disclosures under an org subtree for the back office, newest first, optionally of one status.
    pub async fn disclosures_within(
        &self,
        org_prefix: &str,
        status: Option<RosterStatus>,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<Disclosure>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM disclosures WHERE org_code LIKE $1 AND ($2 = '' OR status = $2) \
             ORDER BY updated_at DESC, id DESC LIMIT $3 OFFSET $4"
        ));
        Ok(sqlx::query_as(sql)
            .bind(format!("{org_prefix}%"))
            .bind(status.map_or("", RosterStatus::as_str))
            .bind(limit)
            .bind(offset)
            .fetch_all(&self.pool)
            .await?)
    }

    /// The public disclosures of one org, optionally of one category, newest publication first.
    pub async fn public_disclosures_of(
        &self,
        org_code: &str,
        category: Option<Category>,
        limit: i64,
    ) -> Result<Vec<Disclosure>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM disclosures WHERE org_code = $1 AND status IN {PUBLIC} \
             AND ($2 = '' OR category = $2) ORDER BY published_at DESC, id DESC LIMIT $3"
        ));
        Ok(sqlx::query_as(sql)
            .bind(org_code)
            .bind(category.map_or("", Category::as_str))
            .bind(limit)
            .fetch_all(&self.pool)
            .await?)
    }

    /// Every public disclosure under an org subtree (the open-data index), by org, newest first.
    pub async fn public_disclosures_under(&self, org_prefix: &str) -> Result<Vec<Disclosure>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM disclosures WHERE org_code LIKE $1 AND status IN {PUBLIC} \
             ORDER BY org_code, published_at DESC, id DESC"
        ));
        Ok(sqlx::query_as(sql).bind(format!("{org_prefix}%")).fetch_all(&self.pool).await?)
    }

    /// Every version of a lineage, oldest first.
    pub async fn disclosure_versions(&self, lineage_id: i64) -> Result<Vec<Disclosure>, StoreError> {
        let sql =
            sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM disclosures WHERE lineage_id = $1 ORDER BY version"));
        Ok(sqlx::query_as(sql).bind(lineage_id).fetch_all(&self.pool).await?)
    }

    /// Moves a disclosure along `change` only if it is still in `change.from()`; a repeated or
    /// lost-race request gets `Stale`.
    pub async fn change_disclosure_status(
        &self,
        id: i64,
        change: Transition<RosterStatus>,
        reason: Option<&str>,
        by: i64,
        now: i64,
    ) -> Result<(), StoreError> {
        self.compare_and_set_status("disclosures", id, change, reason, by, now).await
    }

    /// Publishes a submitted disclosure; the version it corrects, if any, becomes superseded in
    /// the same transaction.
    pub async fn publish_disclosure(&self, id: i64, by: i64, now: i64) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE disclosures SET status = 'published', status_reason = NULL, reviewed_by = $1, updated_at = $2, \
             published_at = $2 WHERE id = $3 AND status = 'submitted'",
        )
        .bind(by)
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Stale("disclosure status changed".into()));
        }
        let old: Option<i64> = sqlx::query_scalar("SELECT supersedes_id FROM disclosures WHERE id = $1")
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        if let Some(old) = old {
            let done = sqlx::query(
                "UPDATE disclosures SET status = 'superseded', updated_at = $1 WHERE id = $2 AND status = 'published'",
            )
            .bind(now)
            .bind(old)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() == 0 {
                return Err(StoreError::Stale("corrected disclosure is no longer published".into()));
            }
        }
        let event = if old.is_some() { "correct" } else { "publish" };
        let leaf = self.disclosure_leaf(&mut tx, id, event, now).await?;
        self.append_leaf_in(&mut tx, &leaf).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Stores a file's record and links it to an editable disclosure, atomically.
    pub async fn attach_to_disclosure(&self, id: i64, a: &NewAttachment, now: i64) -> Result<i64, StoreError> {
        let mut tx = self.begin_write().await?;
        let locked =
            sqlx::query("UPDATE disclosures SET updated_at = $1 WHERE id = $2 AND status IN ('draft', 'returned')")
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        if locked.rows_affected() == 0 {
            return Err(StoreError::Stale("disclosure is not editable".into()));
        }
        let attachment: i64 = sqlx::query_scalar(
            "INSERT INTO attachments (sha256, size, content_type, original_name, uploaded_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(&a.sha256)
        .bind(a.size)
        .bind(&a.content_type)
        .bind(&a.original_name)
        .bind(a.uploaded_by)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query("INSERT INTO disclosure_attachments (disclosure_id, attachment_id) VALUES ($1, $2)")
            .bind(id)
            .bind(attachment)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(attachment)
    }

    /// The files of one version.
    pub async fn attachments_of_disclosure(&self, id: i64) -> Result<Vec<Attachment>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT a.id, a.roster_id, a.programme_id, a.sha256, a.size, a.content_type, a.original_name, \
             a.created_at FROM attachments a JOIN disclosure_attachments l ON l.attachment_id = a.id \
             WHERE l.disclosure_id = $1 ORDER BY a.id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// When each category was last disclosed by an org (withdrawn disclosures do not count).
    pub async fn last_disclosed_by_category(&self, org_code: &str) -> Result<Vec<(Category, i64)>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT category, MAX(published_at) AS last FROM disclosures WHERE org_code = $1 \
             AND status IN {DISCLOSED} AND published_at IS NOT NULL GROUP BY category"
        ));
        let rows: Vec<(String, i64)> = sqlx::query_as(sql).bind(org_code).fetch_all(&self.pool).await?;
        rows.into_iter().map(|(category, last)| Ok((code(category)?, last))).collect()
    }

    /// Every village under an org subtree with its last finance disclosure, for the monitor and
    /// the 未按时公开 marks; villages that never disclosed come with none.
    pub async fn village_finance_disclosures(
        &self,
        org_prefix: &str,
    ) -> Result<Vec<VillageFinanceDisclosure>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT o.code, o.name, MAX(d.published_at) AS last_published_at FROM orgs o \
             LEFT JOIN disclosures d ON d.org_code = o.code AND d.category = 'finance' AND d.status IN {DISCLOSED} \
             WHERE o.level = 'village' AND o.code LIKE $1 GROUP BY o.code, o.name ORDER BY o.code"
        ));
        Ok(sqlx::query_as(sql).bind(format!("{org_prefix}%")).fetch_all(&self.pool).await?)
    }
}

/// Inserts lines and sets the disclosure's line count and totals.
async fn write_lines(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    id: i64,
    lines: &[NewFinanceLine],
) -> Result<(), StoreError> {
    for chunk in lines.chunks(INSERT_CHUNK) {
        let mut sql = String::from(
            "INSERT INTO disclosure_lines (disclosure_id, row_no, line_date, summary, income_fen, expense_fen, note) \
             VALUES ",
        );
        for i in 0..chunk.len() {
            let b = i * 6 + 2;
            if i > 0 {
                sql.push(',');
            }
            sql.push_str(&format!("($1, ${}, ${}, ${}, ${}, ${}, ${})", b, b + 1, b + 2, b + 3, b + 4, b + 5));
        }
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id);
        for l in chunk {
            q = q
                .bind(l.row_no)
                .bind(&l.line_date)
                .bind(&l.summary)
                .bind(l.income_fen)
                .bind(l.expense_fen)
                .bind(&l.note);
        }
        q.execute(&mut **tx).await?;
    }
    let income: i64 = lines.iter().map(|l| l.income_fen).sum();
    let expense: i64 = lines.iter().map(|l| l.expense_fen).sum();
    sqlx::query("UPDATE disclosures SET line_count = $1, income_fen = $2, expense_fen = $3 WHERE id = $4")
        .bind(i64::try_from(lines.len()).unwrap_or(i64::MAX))
        .bind(income)
        .bind(expense)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
