//! 惠农资金 storage: programmes, rosters (one row per version, linked by lineage), their entries,
//! paid-versus-proposed differences and scans. Status changes are compare-and-set, so a double
//! submit or two reviewers at once change a roster once. ID and account numbers arrive
//! encrypted with their blind index and masked form; this module never sees them in clear.

use sqlx::FromRow;
use xiaowei_core::Transition;
use xiaowei_core::period::{PeriodReading, RosterPeriod};
use xiaowei_core::subsidy::{DifferenceKind, Phase, RosterStatus, Unit};

use crate::decode::{Flag, MaybeCode};
use crate::screening::record_account_payees;
use crate::{Backend, Store, StoreError};

/// 补贴项目
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct Programme {
    pub id: i64,
    pub name: String,
    pub department_id: Option<i64>,
    pub basis: String,
    #[sqlx(try_from = "String")]
    pub unit: Unit,
    pub standard_fen: Option<i64>,
    pub rule: String,
    /// Paid every year (so a self-query can tell the years it was not paid).
    #[sqlx(try_from = "Flag")]
    pub recurring: bool,
    pub from_year: Option<i64>,
    pub to_year: Option<i64>,
    pub publicity_days: i64,
    /// Working days within which an objection to its rosters is answered (see `core::objection`).
    pub objection_reply_days: i64,
}

#[derive(Debug, Clone)]
pub struct NewProgramme {
    pub name: String,
    pub department_id: Option<i64>,
    pub basis: String,
    pub unit: Unit,
    pub standard_fen: Option<i64>,
    pub rule: String,
    pub recurring: bool,
    pub from_year: Option<i64>,
    pub to_year: Option<i64>,
    pub publicity_days: i64,
    pub objection_reply_days: i64,
}

/// One version of a roster, with its programme's name.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct Roster {
    pub id: i64,
    pub programme_id: i64,
    pub programme_name: String,
    pub org_code: String,
    pub year: i64,
    pub period: String,
    #[sqlx(try_from = "String")]
    pub phase: Phase,
    pub settles_id: Option<i64>,
    pub version: i64,
    pub lineage_id: Option<i64>,
    pub supersedes_id: Option<i64>,
    pub correction_reason: Option<String>,
    #[sqlx(try_from = "String")]
    pub status: RosterStatus,
    pub status_reason: Option<String>,
    pub paid_on: Option<String>,
    pub publicity_start: Option<String>,
    pub publicity_end: Option<String>,
    pub entry_count: i64,
    pub total_fen: i64,
    pub created_by: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub published_at: Option<i64>,
    /// A roster of a past year loaded from a file (历史补录), see [`Store::backload_roster`].
    #[sqlx(try_from = "Flag")]
    pub backloaded: bool,
    /// Why a paid roster was approved while objections to its proposed roster were open.
    pub objection_override: Option<String>,
    /// The structured period's kind, or that no kind could be read from its text (see migration
    /// 0034).
    #[sqlx(try_from = "MaybeCode")]
    pub period_kind: Option<PeriodReading>,
}

/// A period's structured columns as stored with a roster.
struct StoredPeriod {
    year: i64,
    kind: &'static str,
    number: Option<i64>,
    key: String,
}

impl StoredPeriod {
    fn of(year: i64, text: &str) -> Self {
        let read = RosterPeriod::read(year, text);
        match read.known() {
            Some(p) => Self {
                year: i64::from(p.year()),
                kind: PeriodReading::Read(p.kind()).as_str(),
                number: Some(i64::from(p.number())),
                key: read.key(),
            },
            None => Self { year, kind: PeriodReading::Unread.as_str(), number: None, key: read.key() },
        }
    }
}

const PROGRAMME_COLUMNS: &str = "id, name, department_id, basis, unit, standard_fen, rule, recurring, from_year, to_year, publicity_days, \
     objection_reply_days";

const ROSTER_COLUMNS: &str = "r.id, r.programme_id, p.name AS programme_name, r.org_code, r.year, r.period, r.phase, \
     r.settles_id, r.version, r.lineage_id, r.supersedes_id, r.correction_reason, r.status, r.status_reason, r.paid_on, \
     r.publicity_start, r.publicity_end, r.entry_count, r.total_fen, r.created_by, r.created_at, r.updated_at, \
     r.published_at, r.backloaded, r.objection_override, r.period_kind";

/// The statuses the public may see.
const PUBLIC_STATUSES: &str = "('published', 'superseded', 'withdrawn')";

#[derive(Debug, Clone)]
pub struct NewRoster {
    pub programme_id: i64,
    pub org_code: String,
    pub year: i64,
    pub period: String,
    pub phase: Phase,
    pub settles_id: Option<i64>,
    /// The published version this one corrects, with the reason.
    pub supersedes_id: Option<i64>,
    pub correction_reason: Option<String>,
    pub paid_on: Option<String>,
    pub created_by: i64,
}

/// One line of a roster as stored.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct RosterEntry {
    pub id: i64,
    pub roster_id: i64,
    pub row_no: i64,
    pub name: String,
    pub id_enc: Vec<u8>,
    pub id_idx: String,
    pub id_masked: String,
    pub group_name: Option<String>,
    pub account_enc: Option<Vec<u8>>,
    pub account_masked: Option<String>,
    pub amount_fen: i64,
    pub note: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NewEntry {
    pub row_no: i64,
    pub name: String,
    pub id_enc: Vec<u8>,
    pub id_idx: String,
    pub id_masked: String,
    pub group_name: Option<String>,
    pub account_enc: Option<Vec<u8>>,
    pub account_idx: Option<String>,
    pub account_masked: Option<String>,
    pub amount_fen: i64,
    pub note: Option<String>,
}

/// A person already on another roster of the same programme and period.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct ClashingEntry {
    pub id_idx: String,
    pub roster_id: i64,
    pub org_code: String,
}

/// A stored paid-versus-proposed difference and the clerk's reason for it.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct RosterDifference {
    pub id: i64,
    pub roster_id: i64,
    #[sqlx(try_from = "String")]
    pub kind: DifferenceKind,
    pub person_idx: String,
    pub name: String,
    pub id_masked: String,
    pub proposed_fen: Option<i64>,
    pub paid_fen: Option<i64>,
    pub reason: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NewDifference {
    pub kind: DifferenceKind,
    pub person_idx: String,
    pub name: String,
    pub id_masked: String,
    pub proposed_fen: Option<i64>,
    pub paid_fen: Option<i64>,
}

/// A scan of a signed roster, or a programme's policy document.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct Attachment {
    pub id: i64,
    pub roster_id: Option<i64>,
    pub programme_id: Option<i64>,
    pub sha256: String,
    pub size: i64,
    pub content_type: String,
    pub original_name: String,
    pub created_at: i64,
}

#[derive(Debug, Clone)]
pub struct NewAttachment {
    pub roster_id: Option<i64>,
    pub programme_id: Option<i64>,
    pub sha256: String,
    pub size: i64,
    pub content_type: String,
    pub original_name: String,
    pub uploaded_by: Option<i64>,
}

/// A programme with public rosters under an org, for the public programme list.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct ProgrammeSummary {
    pub id: i64,
    pub name: String,
    pub rosters: i64,
    pub latest_year: i64,
}

/// One payment record found by a self-query.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct PersonEntry {
    pub entry_id: i64,
    pub name: String,
    pub amount_fen: i64,
    pub account_idx: Option<String>,
    pub roster_id: i64,
    pub org_code: String,
    /// The roster's org as registered (`卓园村委会`).
    pub org_name: String,
    pub year: i64,
    pub period: String,
    #[sqlx(try_from = "String")]
    pub phase: Phase,
    pub paid_on: Option<String>,
    pub published_at: Option<i64>,
    pub programme_id: i64,
    pub programme_name: String,
    #[sqlx(try_from = "Flag")]
    pub recurring: bool,
    pub to_year: Option<i64>,
}

/// Entries per INSERT statement when a roster is stored (about 3 MB of JSON).
const ENTRY_CHUNK: usize = 10_000;

/// One entry as a JSON array in column order, the binary columns in hex.
type EntryJson<'a> = (
    i64,
    &'a str,
    String,
    &'a str,
    &'a str,
    Option<&'a str>,
    Option<String>,
    Option<&'a str>,
    Option<&'a str>,
    i64,
    Option<&'a str>,
);

fn entry_json(e: &NewEntry) -> EntryJson<'_> {
    (
        e.row_no,
        &e.name,
        hex::encode(&e.id_enc),
        &e.id_idx,
        &e.id_masked,
        e.group_name.as_deref(),
        e.account_enc.as_ref().map(hex::encode),
        e.account_idx.as_deref(),
        e.account_masked.as_deref(),
        e.amount_fen,
        e.note.as_deref(),
    )
}

impl Store {
    /// Fills the structured period of every roster stored before periods were structured
    /// (migration 0034); run by [`Store::migrate`], a no-op once done. Returns the rows filled.
    pub(crate) async fn carry_periods_forward(&self) -> Result<usize, StoreError> {
        let rows: Vec<(i64, i64, String)> =
            sqlx::query_as("SELECT id, year, period FROM rosters WHERE period_key IS NULL ORDER BY id")
                .fetch_all(&self.pool)
                .await?;
        if rows.is_empty() {
            return Ok(0);
        }
        let mut tx = self.begin_write().await?;
        for (id, year, text) in &rows {
            let p = StoredPeriod::of(*year, text);
            sqlx::query(
                "UPDATE rosters SET period_year = $1, period_kind = $2, period_number = $3, period_key = $4 \
                 WHERE id = $5 AND period_key IS NULL",
            )
            .bind(p.year)
            .bind(p.kind)
            .bind(p.number)
            .bind(&p.key)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(rows.len())
    }

    /// Begins a transaction that writes. On SQLite it takes the write lock up front
    /// (`BEGIN IMMEDIATE`), waiting out the busy timeout if another writer holds it: a deferred
    /// transaction that reads first and writes later cannot wait, and fails with "database is
    /// locked" as soon as another connection writes in between.
    pub(crate) async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, StoreError> {
        Ok(match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        })
    }

    /// Creates a programme; a second programme of the same name is a conflict.
    pub async fn create_programme(&self, p: &NewProgramme, now: i64) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "INSERT INTO programmes (name, department_id, basis, unit, standard_fen, rule, recurring, from_year, \
             to_year, publicity_days, objection_reply_days, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
        )
        .bind(&p.name)
        .bind(p.department_id)
        .bind(&p.basis)
        .bind(p.unit.as_str())
        .bind(p.standard_fen)
        .bind(&p.rule)
        .bind(i64::from(p.recurring))
        .bind(p.from_year)
        .bind(p.to_year)
        .bind(p.publicity_days)
        .bind(p.objection_reply_days)
        .bind(now)
        .fetch_one(&self.pool)
        .await?)
    }

    pub async fn programmes(&self) -> Result<Vec<Programme>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT {PROGRAMME_COLUMNS} FROM programmes ORDER BY id"));
        Ok(sqlx::query_as(sql).fetch_all(&self.pool).await?)
    }

    pub async fn find_programme(&self, id: i64) -> Result<Option<Programme>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT {PROGRAMME_COLUMNS} FROM programmes WHERE id = $1"));
        Ok(sqlx::query_as(sql).bind(id).fetch_optional(&self.pool).await?)
    }

    pub async fn find_programme_by_name(&self, name: &str) -> Result<Option<Programme>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT {PROGRAMME_COLUMNS} FROM programmes WHERE name = $1"));
        Ok(sqlx::query_as(sql).bind(name).fetch_optional(&self.pool).await?)
    }

    /// Stores a new draft roster and all its entries in one transaction: either everything is
    /// written or nothing is. A correction takes the next version number of its lineage.
    pub async fn create_roster(&self, r: &NewRoster, entries: &[NewEntry], now: i64) -> Result<i64, StoreError> {
        let mut tx = self.begin_write().await?;
        let id = self.insert_roster_in(&mut tx, r, entries, now).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Stores a roster of a past year loaded from a file (历史补录) in one transaction: the
    /// roster marked `backloaded`, its entries, its differences from the proposed roster it
    /// settles (each with `difference_reason`, since a file from the past cannot explain them)
    /// and, when `publish` is set, its publication with its ledger leaf. Publicity dates stay
    /// empty: they were never recorded here.
    pub async fn backload_roster(
        &self,
        r: &NewRoster,
        entries: &[NewEntry],
        diffs: &[NewDifference],
        difference_reason: &str,
        publish: bool,
        now: i64,
    ) -> Result<i64, StoreError> {
        let mut tx = self.begin_write().await?;
        let id = self.insert_roster_in(&mut tx, r, entries, now).await?;
        sqlx::query("UPDATE rosters SET backloaded = 1 WHERE id = $1").bind(id).execute(&mut *tx).await?;
        for d in diffs {
            insert_difference(&mut tx, id, d, Some(difference_reason)).await?;
        }
        if publish {
            sqlx::query(
                "UPDATE rosters SET status = 'published', reviewed_by = created_by, published_at = $1 WHERE id = $2",
            )
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            record_account_payees(&mut tx, id).await?;
            let leaf = self.roster_leaf(&mut tx, id, "publish", now).await?;
            self.append_leaf_in(&mut tx, &leaf).await?;
        }
        tx.commit().await?;
        Ok(id)
    }

    /// Inserts a roster's entries inside the caller's transaction, in file order. The rows travel
    /// as one JSON array per statement, unpacked by the database (`json_each` on SQLite,
    /// `json_array_elements` on PostgreSQL): binding twelve parameters a row through the `Any`
    /// driver cost more than the database's own work. (PostgreSQL's `COPY` would need a
    /// connection of its own, outside this transaction, which also holds the ledger leaf of a
    /// back-load.) Each entry carries the roster's `year`, which the account index orders by.
    async fn insert_entries(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        roster_id: i64,
        year: i64,
        entries: &[NewEntry],
    ) -> Result<(), StoreError> {
        let rows = match self.backend {
            Backend::Sqlite => {
                "SELECT $1, $3, r.value ->> 0, r.value ->> 1, unhex(r.value ->> 2), r.value ->> 3, r.value ->> 4, \
                 r.value ->> 5, unhex(r.value ->> 6), r.value ->> 7, r.value ->> 8, r.value ->> 9, r.value ->> 10 \
                 FROM json_each($2) r"
            }
            Backend::Postgres => {
                "SELECT $1, $3, (r ->> 0)::bigint, r ->> 1, decode(r ->> 2, 'hex'), r ->> 3, r ->> 4, r ->> 5, \
                 decode(r ->> 6, 'hex'), r ->> 7, r ->> 8, (r ->> 9)::bigint, r ->> 10 \
                 FROM json_array_elements($2::json) WITH ORDINALITY AS t(r, n) ORDER BY n"
            }
        };
        let sql = format!(
            "INSERT INTO roster_entries (roster_id, year, row_no, name, id_enc, id_idx, id_masked, group_name, \
             account_enc, account_idx, account_masked, amount_fen, note) {rows}"
        );
        for chunk in entries.chunks(ENTRY_CHUNK) {
            let json: Vec<EntryJson<'_>> = chunk.iter().map(entry_json).collect();
            let json = serde_json::to_string(&json).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                .bind(roster_id)
                .bind(json)
                .bind(year)
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }

    /// Inserts a draft roster and its entries inside the caller's transaction.
    async fn insert_roster_in(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        r: &NewRoster,
        entries: &[NewEntry],
        now: i64,
    ) -> Result<i64, StoreError> {
        let total: i64 = entries.iter().map(|e| e.amount_fen).sum();
        let (version, lineage): (i64, Option<i64>) = match r.supersedes_id {
            Some(old) => {
                let (v, lineage): (i64, Option<i64>) =
                    sqlx::query_as("SELECT version, lineage_id FROM rosters WHERE id = $1")
                        .bind(old)
                        .fetch_one(&mut **tx)
                        .await?;
                (v + 1, lineage.or(Some(old)))
            }
            None => (1, None),
        };
        let structured = StoredPeriod::of(r.year, &r.period);
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO rosters (programme_id, org_code, year, period, phase, settles_id, version, supersedes_id, \
             correction_reason, status, paid_on, entry_count, total_fen, created_by, created_at, updated_at, \
             period_year, period_kind, period_number, period_key) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'draft', $10, $11, $12, $13, $14, $14, $15, $16, $17, $18) \
             RETURNING id",
        )
        .bind(r.programme_id)
        .bind(&r.org_code)
        .bind(r.year)
        .bind(&r.period)
        .bind(r.phase.as_str())
        .bind(r.settles_id)
        .bind(version)
        .bind(r.supersedes_id)
        .bind(&r.correction_reason)
        .bind(&r.paid_on)
        .bind(i64::try_from(entries.len()).unwrap_or(i64::MAX))
        .bind(total)
        .bind(r.created_by)
        .bind(now)
        .bind(structured.year)
        .bind(structured.kind)
        .bind(structured.number)
        .bind(&structured.key)
        .fetch_one(&mut **tx)
        .await?;
        sqlx::query("UPDATE rosters SET lineage_id = $1 WHERE id = $2")
            .bind(lineage.unwrap_or(id))
            .bind(id)
            .execute(&mut **tx)
            .await?;
        self.insert_entries(tx, id, r.year, entries).await?;
        Ok(id)
    }

    pub async fn find_roster(&self, id: i64) -> Result<Option<Roster>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {ROSTER_COLUMNS} FROM rosters r JOIN programmes p ON p.id = r.programme_id WHERE r.id = $1"
        ));
        Ok(sqlx::query_as(sql).bind(id).fetch_optional(&self.pool).await?)
    }

    /// Rosters under an org subtree for the back office, newest first, optionally of one status.
    pub async fn rosters_within(
        &self,
        org_prefix: &str,
        status: Option<RosterStatus>,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<Roster>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {ROSTER_COLUMNS} FROM rosters r JOIN programmes p ON p.id = r.programme_id \
             WHERE r.org_code LIKE $1 AND ($2 = '' OR r.status = $2) ORDER BY r.updated_at DESC, r.id DESC \
             LIMIT $3 OFFSET $4"
        ));
        Ok(sqlx::query_as(sql)
            .bind(format!("{org_prefix}%"))
            .bind(status.map_or("", RosterStatus::as_str))
            .bind(limit)
            .bind(offset)
            .fetch_all(&self.pool)
            .await?)
    }

    /// The public rosters of one org (village or township), newest year first.
    pub async fn public_rosters_of(
        &self,
        org_code: &str,
        programme_id: Option<i64>,
    ) -> Result<Vec<Roster>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {ROSTER_COLUMNS} FROM rosters r JOIN programmes p ON p.id = r.programme_id \
             WHERE r.org_code = $1 AND r.status IN {PUBLIC_STATUSES} AND ($2 = 0 OR r.programme_id = $2) \
             ORDER BY r.year DESC, r.programme_id, r.period, r.phase DESC, r.version DESC"
        ));
        Ok(sqlx::query_as(sql).bind(org_code).bind(programme_id.unwrap_or(0)).fetch_all(&self.pool).await?)
    }

    /// The public rosters of one programme anywhere under an org subtree, newest year first.
    pub async fn public_rosters_within(
        &self,
        org_prefix: &str,
        programme_id: i64,
        limit: i64,
    ) -> Result<Vec<Roster>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {ROSTER_COLUMNS} FROM rosters r JOIN programmes p ON p.id = r.programme_id \
             WHERE r.org_code LIKE $1 AND r.status IN {PUBLIC_STATUSES} AND r.programme_id = $2 \
             ORDER BY r.year DESC, r.org_code, r.period, r.phase DESC, r.version DESC LIMIT $3"
        ));
        Ok(sqlx::query_as(sql)
            .bind(format!("{org_prefix}%"))
            .bind(programme_id)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?)
    }

    /// Every public roster under an org subtree (the open-data index), by org, then newest first.
    pub async fn public_rosters_under(&self, org_prefix: &str) -> Result<Vec<Roster>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {ROSTER_COLUMNS} FROM rosters r JOIN programmes p ON p.id = r.programme_id \
             WHERE r.org_code LIKE $1 AND r.status IN {PUBLIC_STATUSES} \
             ORDER BY r.org_code, r.year DESC, r.programme_id, r.period, r.phase DESC, r.version DESC"
        ));
        Ok(sqlx::query_as(sql).bind(format!("{org_prefix}%")).fetch_all(&self.pool).await?)
    }

    /// Programmes with public rosters under an org subtree.
    pub async fn public_programmes_within(&self, org_prefix: &str) -> Result<Vec<ProgrammeSummary>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT p.id, p.name, COUNT(r.id) AS rosters, MAX(r.year) AS latest_year FROM programmes p \
             JOIN rosters r ON r.programme_id = p.id \
             WHERE r.org_code LIKE $1 AND r.status IN {PUBLIC_STATUSES} GROUP BY p.id, p.name ORDER BY p.id"
        ));
        Ok(sqlx::query_as(sql).bind(format!("{org_prefix}%")).fetch_all(&self.pool).await?)
    }

    /// Every version of a roster's lineage, oldest first.
    pub async fn roster_versions(&self, lineage_id: i64) -> Result<Vec<Roster>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {ROSTER_COLUMNS} FROM rosters r JOIN programmes p ON p.id = r.programme_id \
             WHERE r.lineage_id = $1 ORDER BY r.version"
        ));
        Ok(sqlx::query_as(sql).bind(lineage_id).fetch_all(&self.pool).await?)
    }

    /// The published proposed rosters a paid roster of this programme and org may settle.
    pub async fn settleable_rosters(&self, programme_id: i64, org_code: &str) -> Result<Vec<Roster>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {ROSTER_COLUMNS} FROM rosters r JOIN programmes p ON p.id = r.programme_id \
             WHERE r.programme_id = $1 AND r.org_code = $2 AND r.phase = 'proposed' AND r.status = 'published' \
             ORDER BY r.year DESC, r.id DESC"
        ));
        Ok(sqlx::query_as(sql).bind(programme_id).bind(org_code).fetch_all(&self.pool).await?)
    }

    /// A page of a roster's entries in file order.
    pub async fn roster_entries(
        &self,
        roster_id: i64,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<RosterEntry>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, roster_id, row_no, name, id_enc, id_idx, id_masked, group_name, account_enc, account_masked, \
             amount_fen, note FROM roster_entries WHERE roster_id = $1 ORDER BY row_no, id LIMIT $2 OFFSET $3",
        )
        .bind(roster_id)
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?)
    }

    /// 序号: an entry's 1-based place in its roster's file order, the one number every page and
    /// export shows for it (`row_no` is the spreadsheet line, which counts title and header rows).
    pub async fn entry_number(&self, roster_id: i64, entry_id: i64) -> Result<Option<i64>, StoreError> {
        let (count,): (i64,) = sqlx::query_as(
            "SELECT COUNT(e.id) FROM roster_entries t JOIN roster_entries e ON e.roster_id = t.roster_id \
             AND (e.row_no < t.row_no OR (e.row_no = t.row_no AND e.id <= t.id)) \
             WHERE t.roster_id = $1 AND t.id = $2",
        )
        .bind(roster_id)
        .bind(entry_id)
        .fetch_one(&self.pool)
        .await?;
        Ok((count > 0).then_some(count))
    }

    pub async fn find_entry(&self, roster_id: i64, entry_id: i64) -> Result<Option<RosterEntry>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, roster_id, row_no, name, id_enc, id_idx, id_masked, group_name, account_enc, account_masked, \
             amount_fen, note FROM roster_entries WHERE roster_id = $1 AND id = $2",
        )
        .bind(roster_id)
        .bind(entry_id)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// People among `id_idxs` who are already on another live roster of the same programme,
    /// period (compared structured: 2025年3月 is 2025年03月) and phase (outside the lineage being
    /// corrected).
    pub async fn clashing_entries(
        &self,
        programme_id: i64,
        period: &RosterPeriod,
        phase: Phase,
        exclude_lineage: Option<i64>,
        id_idxs: &[String],
    ) -> Result<Vec<ClashingEntry>, StoreError> {
        if id_idxs.is_empty() {
            return Ok(Vec::new());
        }
        // The keys travel as one JSON array and drive the look-ups through the person index, in
        // one statement: 100,000 keys as bound parameters took 250 statements.
        // SQLite keeps the order of CROSS JOINs: keys, then entries by the person index, then
        // their rosters.
        let keys = match self.backend {
            Backend::Sqlite => "json_each($5) k CROSS JOIN roster_entries e CROSS JOIN rosters r",
            Backend::Postgres => "json_array_elements_text($5::json) AS k(value), roster_entries e, rosters r",
        };
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT e.id_idx, r.id AS roster_id, r.org_code FROM {keys} \
             WHERE e.id_idx = k.value AND r.id = e.roster_id \
             AND r.programme_id = $1 AND r.period_key = $2 AND r.phase = $3 \
             AND r.status NOT IN ('superseded', 'withdrawn') AND COALESCE(r.lineage_id, 0) <> $4"
        ));
        let keys = serde_json::to_string(id_idxs).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        Ok(sqlx::query_as(sql)
            .bind(programme_id)
            .bind(period.key())
            .bind(phase.as_str())
            .bind(exclude_lineage.unwrap_or(0))
            .bind(keys)
            .fetch_all(&self.pool)
            .await?)
    }

    /// Moves a roster along `change`, only if it is still in `change.from()`: a second identical
    /// request finds nothing to change and gets `Stale`.
    pub async fn change_roster_status(
        &self,
        id: i64,
        change: Transition<RosterStatus>,
        reason: Option<&str>,
        by: i64,
        now: i64,
    ) -> Result<(), StoreError> {
        self.compare_and_set_status("rosters", id, change, reason, by, now).await
    }

    /// Moves a roster or disclosure (`table`) along `change`, only if it is still in
    /// `change.from()`; a reviewer is recorded for every change but a submission.
    pub(crate) async fn compare_and_set_status(
        &self,
        table: &'static str,
        id: i64,
        change: Transition<RosterStatus>,
        reason: Option<&str>,
        by: i64,
        now: i64,
    ) -> Result<(), StoreError> {
        let (from, to) = (change.from().as_str(), change.to());
        let sql = sqlx::AssertSqlSafe(format!(
            "UPDATE {table} SET status = $1, status_reason = $2, reviewed_by = CASE WHEN $1 = 'submitted' \
             THEN reviewed_by ELSE $3 END, updated_at = $4 WHERE id = $5 AND status = $6"
        ));
        // A withdrawal is a public change: it is written to the ledger in the same transaction.
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(sql)
            .bind(to.as_str())
            .bind(reason)
            .bind(by)
            .bind(now)
            .bind(id)
            .bind(from)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Stale(format!("{table} status changed")));
        }
        if to == RosterStatus::Withdrawn {
            let leaf = match table {
                "rosters" => self.roster_leaf(&mut tx, id, "withdraw", now).await?,
                _ => self.disclosure_leaf(&mut tx, id, "withdraw", now).await?,
            };
            self.append_leaf_in(&mut tx, &leaf).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Publishes a submitted roster with its publicity dates (and, for a paid roster approved over
    /// open objections, the reviewer's reason); the version it corrects, if any, becomes superseded
    /// in the same transaction.
    pub async fn publish_roster(
        &self,
        id: i64,
        publicity: Option<(&str, &str)>,
        objection_override: Option<&str>,
        by: i64,
        now: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE rosters SET status = 'published', status_reason = NULL, reviewed_by = $1, updated_at = $2, \
             published_at = $2, publicity_start = $3, publicity_end = $4, objection_override = $5 \
             WHERE id = $6 AND status = 'submitted'",
        )
        .bind(by)
        .bind(now)
        .bind(publicity.map(|p| p.0))
        .bind(publicity.map(|p| p.1))
        .bind(objection_override)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Stale("roster status changed".into()));
        }
        let old: Option<i64> =
            sqlx::query_scalar("SELECT supersedes_id FROM rosters WHERE id = $1").bind(id).fetch_one(&mut *tx).await?;
        if let Some(old) = old {
            let done = sqlx::query(
                "UPDATE rosters SET status = 'superseded', updated_at = $1 WHERE id = $2 AND status = 'published'",
            )
            .bind(now)
            .bind(old)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() == 0 {
                return Err(StoreError::Stale("corrected roster is no longer published".into()));
            }
        }
        record_account_payees(&mut tx, id).await?;
        let event = if old.is_some() { "correct" } else { "publish" };
        let leaf = self.roster_leaf(&mut tx, id, event, now).await?;
        self.append_leaf_in(&mut tx, &leaf).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Deletes a draft (never a submitted or public roster) with its entries and differences.
    pub async fn delete_draft_roster(&self, id: i64) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        // Checks the status and locks the row in one statement, so that a concurrent submit or
        // deletion waits for this one and then finds nothing to change (PostgreSQL).
        let locked =
            sqlx::query("UPDATE rosters SET updated_at = updated_at WHERE id = $1 AND status IN ('draft', 'returned')")
                .bind(id)
                .execute(&mut *tx)
                .await?;
        if locked.rows_affected() == 0 {
            return Err(StoreError::Stale("only drafts can be deleted".into()));
        }
        for sql in [
            "DELETE FROM roster_entries WHERE roster_id = $1",
            "DELETE FROM roster_differences WHERE roster_id = $1",
            "DELETE FROM attachments WHERE roster_id = $1",
            "DELETE FROM rosters WHERE id = $1",
        ] {
            sqlx::query(sql).bind(id).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Replaces a draft's computed differences, keeping the reasons already given for
    /// differences that are still there.
    pub async fn replace_differences(&self, roster_id: i64, diffs: &[NewDifference]) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        // Locks the roster row first, so that two recomputations of one roster run one after the
        // other instead of both deleting the old rows and then colliding on insert (PostgreSQL).
        sqlx::query("UPDATE rosters SET updated_at = updated_at WHERE id = $1")
            .bind(roster_id)
            .execute(&mut *tx)
            .await?;
        let old: Vec<(String, String, Option<String>)> =
            sqlx::query_as("SELECT kind, person_idx, reason FROM roster_differences WHERE roster_id = $1")
                .bind(roster_id)
                .fetch_all(&mut *tx)
                .await?;
        sqlx::query("DELETE FROM roster_differences WHERE roster_id = $1").bind(roster_id).execute(&mut *tx).await?;
        for d in diffs {
            let reason = old
                .iter()
                .find(|(k, p, _)| k == d.kind.as_str() && *p == d.person_idx)
                .and_then(|(_, _, reason)| reason.as_deref());
            insert_difference(&mut tx, roster_id, d, reason).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn differences(&self, roster_id: i64) -> Result<Vec<RosterDifference>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, roster_id, kind, person_idx, name, id_masked, proposed_fen, paid_fen, reason \
             FROM roster_differences WHERE roster_id = $1 ORDER BY id",
        )
        .bind(roster_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Records the clerk's reasons for differences of an editable roster, all or nothing.
    pub async fn set_difference_reasons(&self, roster_id: i64, reasons: &[(i64, String)]) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        for (id, reason) in reasons {
            let done = sqlx::query(
                "UPDATE roster_differences SET reason = $1 WHERE id = $2 AND roster_id = $3 AND EXISTS \
                 (SELECT 1 FROM rosters r WHERE r.id = $3 AND r.status IN ('draft', 'returned'))",
            )
            .bind(reason)
            .bind(id)
            .bind(roster_id)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound);
            }
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn add_attachment(&self, a: &NewAttachment, now: i64) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "INSERT INTO attachments (roster_id, programme_id, sha256, size, content_type, original_name, \
             uploaded_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(a.roster_id)
        .bind(a.programme_id)
        .bind(&a.sha256)
        .bind(a.size)
        .bind(&a.content_type)
        .bind(&a.original_name)
        .bind(a.uploaded_by)
        .bind(now)
        .fetch_one(&self.pool)
        .await?)
    }

    pub async fn attachments_of_roster(&self, roster_id: i64) -> Result<Vec<Attachment>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, roster_id, programme_id, sha256, size, content_type, original_name, created_at \
             FROM attachments WHERE roster_id = $1 ORDER BY id",
        )
        .bind(roster_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// A programme's policy documents.
    pub async fn attachments_of_programme(&self, programme_id: i64) -> Result<Vec<Attachment>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, roster_id, programme_id, sha256, size, content_type, original_name, created_at \
             FROM attachments WHERE programme_id = $1 AND roster_id IS NULL ORDER BY id",
        )
        .bind(programme_id)
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn find_attachment(&self, id: i64) -> Result<Option<Attachment>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, roster_id, programme_id, sha256, size, content_type, original_name, created_at \
             FROM attachments WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Every current, published payment record of one person (by ID blind index), newest first.
    pub async fn entries_for_person(&self, id_idx: &str) -> Result<Vec<PersonEntry>, StoreError> {
        self.entries_for_person_indexes(&[id_idx.to_owned()]).await
    }

    /// [`Store::entries_for_person`] for a person who may be found under any of `id_idxs` (the
    /// blind indexes of one ID under each key of a rotation in progress).
    pub async fn entries_for_person_indexes(&self, id_idxs: &[String]) -> Result<Vec<PersonEntry>, StoreError> {
        let list: Vec<String> = (1..=id_idxs.len()).map(|n| format!("${n}")).collect();
        let filter = format!("e.id_idx IN ({})", list.join(", "));
        self.person_entries(&filter, id_idxs).await
    }

    /// Every current, published payment record paid to one account (a household's 一卡通).
    pub async fn entries_for_account(&self, account_idx: &str) -> Result<Vec<PersonEntry>, StoreError> {
        self.person_entries("e.account_idx = $1", &[account_idx.to_owned()]).await
    }

    async fn person_entries(&self, filter: &str, keys: &[String]) -> Result<Vec<PersonEntry>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT e.id AS entry_id, e.name, e.amount_fen, e.account_idx, r.id AS roster_id, r.org_code, \
             o.name AS org_name, r.year, r.period, r.phase, r.paid_on, r.published_at, p.id AS programme_id, \
             p.name AS programme_name, p.recurring, p.to_year FROM roster_entries e JOIN rosters r ON r.id = e.roster_id \
             JOIN programmes p ON p.id = r.programme_id JOIN orgs o ON o.code = r.org_code WHERE {filter} AND r.status = 'published' \
             ORDER BY r.year DESC, p.id, r.phase DESC LIMIT 2000"
        ));
        let mut query = sqlx::query_as(sql);
        for key in keys {
            query = query.bind(key);
        }
        Ok(query.fetch_all(&self.pool).await?)
    }

    /// For each (programme, org), the latest year with a published payment result, in one query.
    pub async fn last_paid_years(&self, keys: &[(i64, String)]) -> Result<Vec<(i64, String, i64)>, StoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let mut found = Vec::new();
        for chunk in keys.chunks(100) {
            let terms: Vec<String> = (0..chunk.len())
                .map(|i| format!("(programme_id = ${} AND org_code = ${})", 2 * i + 1, 2 * i + 2))
                .collect();
            let sql = sqlx::AssertSqlSafe(format!(
                "SELECT programme_id, org_code, MAX(year) FROM rosters WHERE phase = 'paid' AND status = 'published' \
                 AND ({}) GROUP BY programme_id, org_code",
                terms.join(" OR ")
            ));
            let mut q = sqlx::query_as::<_, (i64, String, i64)>(sql);
            for (programme, org) in chunk {
                q = q.bind(*programme).bind(org);
            }
            found.extend(q.fetch_all(&self.pool).await?);
        }
        Ok(found)
    }

    /// The latest year for which a programme has a published payment result in an org.
    pub async fn last_paid_year(&self, programme_id: i64, org_code: &str) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT MAX(year) FROM rosters WHERE programme_id = $1 AND org_code = $2 AND phase = 'paid' \
             AND status = 'published'",
        )
        .bind(programme_id)
        .bind(org_code)
        .fetch_one(&self.pool)
        .await?)
    }
}

/// Writes one paid-versus-proposed difference of `roster_id`, with its reason if known.
async fn insert_difference(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    roster_id: i64,
    d: &NewDifference,
    reason: Option<&str>,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO roster_differences (roster_id, kind, person_idx, name, id_masked, proposed_fen, paid_fen, \
         reason) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(roster_id)
    .bind(d.kind.as_str())
    .bind(&d.person_idx)
    .bind(&d.name)
    .bind(&d.id_masked)
    .bind(d.proposed_fen)
    .bind(d.paid_fen)
    .bind(reason)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
