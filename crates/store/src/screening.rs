//! 大数据比对 storage: registries (replaced or amended as a whole, in one transaction), the bulk
//! loads the screening needs, hits upserted idempotently (a re-screen keeps their handling and
//! marks, never deletes, a hit whose cause disappeared), the commission's handling by
//! compare-and-set, 政策找人 leads with outcomes, and the counts the monitor reads.
//! ID numbers arrive sealed with their blind index; this module never sees them in clear.

use std::ops::RangeInclusive;

use serde::Deserialize;
use sqlx::FromRow;

use xiaowei_core::Transition;
use xiaowei_core::registry::RegistryKind;
use xiaowei_core::screening::{HitStatus, LeadKind, LeadStatus, Rule, Severity};
use xiaowei_core::subsidy::{Phase, Unit};

use crate::bulk::{BULK_ROWS, Bulk, id_list};
use crate::decode::Flag;
use crate::{Backend, Store, StoreError};

/// One registry row to store.
#[derive(Debug, Clone)]
pub struct NewRegistryRecord {
    pub person_idx: String,
    pub name: String,
    pub id_enc: Vec<u8>,
    pub id_masked: String,
    pub birth_date: Option<String>,
    pub village_code: Option<String>,
    pub household_no: Option<String>,
    pub members: Option<i64>,
    pub relation: Option<String>,
    pub detail: Option<String>,
    pub event_date: Option<String>,
}

/// A registry row as the screening reads it (no ciphertext), read in bulk: the fields in the
/// order of [`REGISTRY_COLUMNS`].
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct RegistryRow {
    pub id: i64,
    pub kind: RegistryKind,
    pub person_idx: String,
    pub name: String,
    pub id_masked: String,
    pub birth_date: Option<String>,
    pub village_code: Option<String>,
    pub household_no: Option<String>,
    pub members: Option<i64>,
    pub relation: Option<String>,
    pub detail: Option<String>,
    pub event_date: Option<String>,
}

/// One registry import, for the import page's history.
/// One sealed part of a registry snapshot: `records` registry records in the compact form of
/// `xiaowei_core::registry_snapshot`, sealed with the personal-data key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotPart {
    pub part: i64,
    pub records: i64,
    pub data: Vec<u8>,
}

#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct RegistryImport {
    pub id: i64,
    #[sqlx(try_from = "String")]
    pub kind: RegistryKind,
    /// An amendment (补充更新) rather than a replacement of the whole registry.
    #[sqlx(try_from = "Flag")]
    pub amend: bool,
    pub file_name: String,
    pub rows: i64,
    pub actor_name: String,
    pub created_at: i64,
}

/// A programme with its screening settings (defaults when none were set).
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct ProgrammeScreening {
    pub id: i64,
    pub name: String,
    #[sqlx(try_from = "String")]
    pub unit: Unit,
    pub standard_fen: Option<i64>,
    #[sqlx(try_from = "Flag")]
    pub recurring: bool,
    #[sqlx(try_from = "Flag")]
    pub excludes_payroll: bool,
    #[sqlx(try_from = "Flag")]
    pub discretionary: bool,
    pub min_age: Option<i64>,
    pub max_age: Option<i64>,
    #[sqlx(try_from = "Flag")]
    pub asset_test: bool,
}

/// A programme's screening settings to save.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScreeningSettings {
    pub excludes_payroll: bool,
    pub discretionary: bool,
    pub min_age: Option<i64>,
    pub max_age: Option<i64>,
    pub asset_test: bool,
}

/// A roster entry of a published roster, as the screening loads it in bulk (the fields in the
/// order of [`Store::entry_columns`]).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct ScreeningEntryRow {
    pub id: i64,
    pub roster_id: i64,
    pub programme_id: i64,
    pub org_code: String,
    pub year: i64,
    pub period: String,
    pub phase: Phase,
    pub id_idx: String,
    pub name: String,
    pub id_masked: String,
    /// The sealed ID; `None` when the read left it out (see [`Store::screening_entries`]).
    #[serde(deserialize_with = "crate::bulk::from_hex_or_null")]
    pub id_enc: Option<Vec<u8>>,
    pub account_idx: Option<String>,
    pub amount_fen: i64,
    pub settles_id: Option<i64>,
    pub paid_on: Option<String>,
}

/// An entry of a roster in the same batch as a screened one (see [`Store::screening_batch`]).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct BatchEntry {
    pub id: i64,
    pub roster_id: i64,
    pub id_idx: String,
}

/// The people paid into an account in a year (see [`Store::screening_account_payees`]).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct AccountPayees {
    pub account_idx: String,
    pub year: i64,
    /// Their blind indexes, each once, in no particular order.
    #[serde(deserialize_with = "listed")]
    pub people: Vec<String>,
}

/// Deserializes the comma-separated list an aggregate of blind indexes (which hold no comma)
/// returns, or null for none.
fn listed<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let text: Option<std::borrow::Cow<'de, str>> = serde::Deserialize::deserialize(d)?;
    Ok(text.map(|t| t.split(',').filter(|p| !p.is_empty()).map(str::to_owned).collect()).unwrap_or_default())
}

/// Records, in the publication's transaction, who roster `roster_id` pays into each account in
/// its year (`account_payees`, read by [`Store::screening_account_payees`]).
pub(crate) async fn record_account_payees(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    roster_id: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO account_payees (year, account_idx, id_idx) SELECT DISTINCT e.year, e.account_idx, e.id_idx \
         FROM roster_entries e WHERE e.roster_id = $1 AND e.account_idx IS NOT NULL ON CONFLICT DO NOTHING",
    )
    .bind(roster_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Rebuilds `account_payees` from the entries of published rosters, in the caller's transaction:
/// after a key rotation, whose new blind indexes the entries now hold.
pub(crate) async fn rebuild_account_payees(tx: &mut sqlx::Transaction<'static, sqlx::Any>) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM account_payees").execute(&mut **tx).await?;
    sqlx::query(
        "INSERT INTO account_payees (year, account_idx, id_idx) SELECT DISTINCT e.year, e.account_idx, e.id_idx \
         FROM roster_entries e JOIN rosters r ON r.id = e.roster_id \
         WHERE r.status = 'published' AND e.account_idx IS NOT NULL",
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// One person named by a public proposed roster (rule 10), read in bulk.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct ProposedPerson {
    pub entry_id: i64,
    pub roster_id: i64,
    pub publicity_end: Option<String>,
    pub id_idx: String,
}

/// A hit to record: the rule, the entry and the evidence (JSON, masked IDs only).
#[derive(Debug, Clone)]
pub struct NewHit {
    pub rule: Rule,
    pub entry_id: i64,
    pub severity: Severity,
    pub evidence: String,
}

/// What one screening run changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunSummary {
    pub run_id: i64,
    pub hits: i64,
    pub new_hits: i64,
    pub cleared: i64,
}

/// One recorded screening run, for the registries page.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct ScreeningRun {
    pub id: i64,
    /// `full`, or `rosters:` and the roster ids of an incremental run
    pub scope: String,
    pub entries: i64,
    pub hits: i64,
    pub new_hits: i64,
    pub cleared: i64,
    pub at: i64,
}

/// A stored hit with its entry's context.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct ScreeningHit {
    pub id: i64,
    #[sqlx(try_from = "String")]
    pub rule: Rule,
    pub entry_id: i64,
    pub roster_id: i64,
    pub programme_id: i64,
    pub programme_name: String,
    pub org_code: String,
    pub org_name: String,
    pub name: String,
    pub id_masked: String,
    pub year: i64,
    pub period: String,
    pub amount_fen: i64,
    #[sqlx(try_from = "String")]
    pub severity: Severity,
    pub evidence: String,
    #[sqlx(try_from = "String")]
    pub status: HitStatus,
    pub note: Option<String>,
    pub handled_at: Option<i64>,
    pub first_seen_at: i64,
    pub last_seen_at: i64,
    pub cleared_at: Option<i64>,
}

/// One handling step of a hit.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct HitEvent {
    pub id: i64,
    #[sqlx(try_from = "String")]
    pub from_status: HitStatus,
    #[sqlx(try_from = "String")]
    pub to_status: HitStatus,
    pub note: String,
    pub actor_name: String,
    pub at: i64,
}

/// Which hits a list shows.
#[derive(Debug, Clone, Default)]
pub struct HitFilter {
    /// Org code prefix (the viewer's scope, or a township chosen in the filter).
    pub within: String,
    pub rule: Option<Rule>,
    pub status: Option<HitStatus>,
    /// Include hits whose cause has disappeared.
    pub include_cleared: bool,
}

/// Hits per township and status, for the monitor and the list's header.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct ScreeningCount {
    pub township: String,
    #[sqlx(try_from = "String")]
    pub status: HitStatus,
    pub hits: i64,
}

/// A 政策找人 lead to record.
#[derive(Debug, Clone)]
pub struct NewLead {
    pub kind: LeadKind,
    pub person_idx: String,
    pub name: String,
    pub id_masked: String,
    pub org_code: String,
    pub programme_id: i64,
    pub detail: String,
}

/// A stored 政策找人 lead.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct OutreachLead {
    pub id: i64,
    #[sqlx(try_from = "String")]
    pub kind: LeadKind,
    pub name: String,
    pub id_masked: String,
    pub org_code: String,
    pub org_name: String,
    pub programme_id: i64,
    pub programme_name: String,
    pub detail: String,
    #[sqlx(try_from = "String")]
    pub status: LeadStatus,
    pub outcome: Option<String>,
    pub handled_at: Option<i64>,
}

const CHUNK: usize = 300;

/// The columns of [`RegistryRow`].
const REGISTRY_COLUMNS: [&str; 12] = [
    "id",
    "kind",
    "person_idx",
    "name",
    "id_masked",
    "birth_date",
    "village_code",
    "household_no",
    "members",
    "relation",
    "detail",
    "event_date",
];

/// The ids of `rosters` (id, entry count) in groups of at most [`BULK_ROWS`] entries (a larger
/// roster is a group of its own).
fn bulk_groups(rosters: &[(i64, i64)]) -> Vec<Vec<i64>> {
    let mut groups: Vec<Vec<i64>> = Vec::new();
    let mut filled = i64::MAX;
    for &(id, count) in rosters {
        match groups.last_mut() {
            Some(group) if filled.saturating_add(count) <= BULK_ROWS as i64 => {
                group.push(id);
                filled += count;
            }
            _ => {
                groups.push(vec![id]);
                filled = count;
            }
        }
    }
    groups
}

/// A query of the years (`y`) of the rosters in `list`, each once.
fn scope_years(list: &str) -> String {
    format!("SELECT DISTINCT z.year AS y FROM rosters z WHERE z.id IN ({list})")
}

const HIT_COLUMNS: &str = "h.id, h.rule, h.entry_id, h.roster_id, h.programme_id, p.name AS programme_name, h.org_code, \
     COALESCE(o.name, h.org_code) AS org_name, h.name, h.id_masked, h.year, h.period, h.amount_fen, h.severity, \
     h.evidence, h.status, h.note, h.handled_at, h.first_seen_at, h.last_seen_at, h.cleared_at";

const HIT_FROM: &str =
    "FROM screening_hits h JOIN programmes p ON p.id = h.programme_id LEFT JOIN orgs o ON o.code = h.org_code";

impl Store {
    /// Placeholders `($k, …)` for `rows` rows of `width` values starting after `offset` bound ones.
    fn placeholders(&self, rows: usize, width: usize, offset: usize) -> String {
        let mut sql = String::new();
        for i in 0..rows {
            sql.push_str(if i == 0 { "(" } else { ", (" });
            for c in 0..width {
                if c > 0 {
                    sql.push_str(", ");
                }
                match self.backend {
                    Backend::Sqlite => sql.push('?'),
                    Backend::Postgres => sql.push_str(&format!("${}", offset + i * width + c + 1)),
                }
            }
            sql.push(')');
        }
        sql
    }

    /// Replaces the registry `kind` as a whole (`amend` = false) or, when amending, replaces
    /// only the records of the people in the file; one transaction with its import record.
    #[allow(clippy::too_many_arguments)]
    pub async fn import_registry(
        &self,
        kind: &str,
        amend: bool,
        records: &[NewRegistryRecord],
        file_name: &str,
        actor_id: Option<i64>,
        actor_name: &str,
        now: i64,
    ) -> Result<i64, StoreError> {
        let mut tx = self.begin_write().await?;
        let import_id: i64 = sqlx::query_scalar(
            "INSERT INTO registry_imports (kind, mode, file_name, rows, actor_id, actor_name, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(kind)
        .bind(if amend { "amend" } else { "replace" })
        .bind(file_name)
        .bind(i64::try_from(records.len()).unwrap_or(i64::MAX))
        .bind(actor_id)
        .bind(actor_name)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        if amend {
            let mut persons: Vec<&str> = records.iter().map(|r| r.person_idx.as_str()).collect();
            persons.sort_unstable();
            persons.dedup();
            for chunk in persons.chunks(CHUNK) {
                let list = self.placeholders(1, chunk.len(), 1);
                let sql = format!("DELETE FROM registry_records WHERE kind = $1 AND person_idx IN {list}");
                let sql = match self.backend {
                    Backend::Sqlite => sql.replace("$1", "?"),
                    Backend::Postgres => sql,
                };
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(kind);
                for p in chunk {
                    q = q.bind(*p);
                }
                q.execute(&mut *tx).await?;
            }
        } else {
            sqlx::query("DELETE FROM registry_records WHERE kind = $1").bind(kind).execute(&mut *tx).await?;
        }
        for chunk in records.chunks(CHUNK) {
            let sql = format!(
                "INSERT INTO registry_records (kind, person_idx, name, id_enc, id_masked, birth_date, village_code, \
                 household_no, members, relation, detail, event_date, import_id) VALUES {}",
                self.placeholders(chunk.len(), 13, 0)
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for r in chunk {
                q = q
                    .bind(kind)
                    .bind(&r.person_idx)
                    .bind(&r.name)
                    .bind(&r.id_enc)
                    .bind(&r.id_masked)
                    .bind(&r.birth_date)
                    .bind(&r.village_code)
                    .bind(&r.household_no)
                    .bind(r.members)
                    .bind(&r.relation)
                    .bind(&r.detail)
                    .bind(&r.event_date)
                    .bind(import_id);
            }
            q.execute(&mut *tx).await?;
        }
        sqlx::query("DELETE FROM registry_snapshots").execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(import_id)
    }

    /// How many records each registry holds.
    pub async fn registry_sizes(&self) -> Result<Vec<(String, i64)>, StoreError> {
        Ok(sqlx::query_as("SELECT kind, COUNT(*) FROM registry_records GROUP BY kind ORDER BY kind")
            .fetch_all(&self.pool)
            .await?)
    }

    /// The latest imports, newest first.
    pub async fn registry_imports(&self, limit: i64) -> Result<Vec<RegistryImport>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, kind, CASE WHEN mode = 'amend' THEN 1 ELSE 0 END AS amend, file_name, rows, actor_name, \
             created_at FROM registry_imports \
             ORDER BY id DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The latest screening runs, newest first.
    pub async fn screening_runs(&self, limit: i64) -> Result<Vec<ScreeningRun>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, scope, entries, hits, new_hits, cleared, at FROM screening_runs ORDER BY id DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The registries' version: how many imports were committed and the newest one's id. Every
    /// change to `registry_records` is an import, written in the same transaction as its
    /// `registry_imports` row, and imports are never deleted, so a changed pair means changed
    /// registries (the count also catches an import with a lower id committing later).
    pub async fn registry_version(&self) -> Result<(i64, i64), StoreError> {
        Ok(sqlx::query_as("SELECT COUNT(*), COALESCE(MAX(id), 0) FROM registry_imports").fetch_one(&self.pool).await?)
    }

    /// The lowest and highest registry record ids, or `None` when the registries are empty.
    pub async fn registry_id_bounds(&self) -> Result<Option<(i64, i64)>, StoreError> {
        let (low, high): (Option<i64>, Option<i64>) =
            sqlx::query_as("SELECT MIN(id), MAX(id) FROM registry_records").fetch_one(&self.pool).await?;
        Ok(low.zip(high))
    }

    /// The registry records with ids in `ids`, for a screening (read in bulk; the screening reads
    /// shares of the ids at once, on several connections).
    pub async fn registry_for_screening(&self, ids: RangeInclusive<i64>) -> Result<Vec<RegistryRow>, StoreError> {
        let columns: Vec<String> = REGISTRY_COLUMNS.iter().map(|c| (*c).to_owned()).collect();
        let from = format!("registry_records WHERE id >= {} AND id <= {}", ids.start(), ids.end());
        let query = Bulk { columns: &columns, from: &from, key: "id" };
        self.fetch_bulk(&query, |r: &RegistryRow| r.id).await
    }

    /// The sealed parts of the registry snapshot tagged `tag`, in order, or `None` unless every
    /// one of them is stored (a snapshot is written part by part).
    pub async fn registry_snapshot(&self, tag: &str) -> Result<Option<Vec<SnapshotPart>>, StoreError> {
        let rows: Vec<(i64, i64, i64, Vec<u8>)> =
            sqlx::query_as("SELECT part, parts, records, data FROM registry_snapshots WHERE tag = $1 ORDER BY part")
                .bind(tag)
                .fetch_all(&self.pool)
                .await?;
        let count = i64::try_from(rows.len()).unwrap_or(i64::MAX);
        let complete = !rows.is_empty()
            && rows.iter().zip(0..).all(|(&(part, parts, ..), expected)| part == expected && parts == count);
        Ok(complete
            .then(|| rows.into_iter().map(|(part, _, records, data)| SnapshotPart { part, records, data }).collect()))
    }

    /// Stores one sealed part of the registry snapshot tagged `tag`, which has `parts` parts,
    /// replacing what that part held. Each part is its own short write.
    pub async fn save_registry_snapshot_part(
        &self,
        tag: &str,
        parts: i64,
        part: &SnapshotPart,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO registry_snapshots (tag, part, parts, records, data) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (tag, part) DO UPDATE SET parts = excluded.parts, records = excluded.records, data = excluded.data",
        )
        .bind(tag)
        .bind(part.part)
        .bind(parts)
        .bind(part.records)
        .bind(&part.data)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Deletes every registry snapshot (the next load reads the registry rows).
    pub async fn drop_registry_snapshots(&self) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM registry_snapshots").execute(&self.pool).await?;
        Ok(())
    }

    /// Deletes every registry snapshot except the one tagged `tag`.
    pub async fn drop_other_registry_snapshots(&self, tag: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM registry_snapshots WHERE tag <> $1").bind(tag).execute(&self.pool).await?;
        Ok(())
    }

    /// Every programme with its screening settings.
    pub async fn programme_screening(&self) -> Result<Vec<ProgrammeScreening>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT p.id, p.name, p.unit, p.standard_fen, p.recurring, COALESCE(s.excludes_payroll, 0) AS \
             excludes_payroll, COALESCE(s.discretionary, 0) AS discretionary, s.min_age, s.max_age, \
             COALESCE(s.asset_test, 0) AS asset_test FROM programmes p \
             LEFT JOIN programme_screening s ON s.programme_id = p.id ORDER BY p.id",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// Saves a programme's screening settings (insert or replace).
    pub async fn set_programme_screening(&self, programme_id: i64, s: &ScreeningSettings) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM programme_screening WHERE programme_id = $1")
            .bind(programme_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO programme_screening (programme_id, excludes_payroll, discretionary, min_age, max_age, \
             asset_test) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(programme_id)
        .bind(i64::from(s.excludes_payroll))
        .bind(i64::from(s.discretionary))
        .bind(s.min_age)
        .bind(s.max_age)
        .bind(i64::from(s.asset_test))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Declares two programmes mutually exclusive (idempotent, order-free).
    pub async fn add_exclusive_pair(&self, a: i64, b: i64) -> Result<(), StoreError> {
        let (a, b) = (a.min(b), a.max(b));
        sqlx::query(
            "INSERT INTO exclusive_programmes (programme_a, programme_b) VALUES ($1, $2) \
             ON CONFLICT (programme_a, programme_b) DO NOTHING",
        )
        .bind(a)
        .bind(b)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Undoes [`Store::add_exclusive_pair`]; false when the pair was not declared.
    pub async fn remove_exclusive_pair(&self, a: i64, b: i64) -> Result<bool, StoreError> {
        let (a, b) = (a.min(b), a.max(b));
        let done = sqlx::query("DELETE FROM exclusive_programmes WHERE programme_a = $1 AND programme_b = $2")
            .bind(a)
            .bind(b)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The programmes declared mutually exclusive, each pair once (lower id first).
    pub async fn exclusive_pairs(&self) -> Result<Vec<(i64, i64)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT programme_a, programme_b FROM exclusive_programmes ORDER BY programme_a, programme_b",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// The columns of [`ScreeningEntryRow`] for a screening read: every entry's sealed ID, or (`sealed_for`, a list of
    /// roster ids) only the sealed IDs of those rosters' entries.
    fn entry_columns(&self, sealed_for: Option<&str>) -> Vec<String> {
        let sealed = match sealed_for {
            None => self.hex_of("e.id_enc"),
            Some(list) => format!("CASE WHEN e.roster_id IN ({list}) THEN {} END", self.hex_of("e.id_enc")),
        };
        [
            "e.id",
            "e.roster_id",
            "r.programme_id",
            "r.org_code",
            "r.year",
            "r.period",
            "r.phase",
            "e.id_idx",
            "e.name",
            "e.id_masked",
            &sealed,
            "e.account_idx",
            "e.amount_fen",
            "r.settles_id",
            "r.paid_on",
        ]
        .iter()
        .map(|c| (*c).to_owned())
        .collect()
    }

    /// The bulk query over entries of published rosters.
    fn published_entries<'a>(&self, columns: &'a [String]) -> Bulk<'a> {
        Bulk {
            columns,
            from: "roster_entries e JOIN rosters r ON r.id = e.roster_id WHERE r.status = 'published'",
            key: "e.id",
        }
    }

    /// Every entry of every published roster, in bulk, ordered by id (a full screening).
    pub async fn entries_for_screening(&self) -> Result<Vec<ScreeningEntryRow>, StoreError> {
        let columns = self.entry_columns(None);
        self.fetch_bulk(&self.published_entries(&columns), |e: &ScreeningEntryRow| e.id).await
    }

    /// The given entries of published rosters, in bulk, ordered by id (an incremental screening
    /// reads its rosters' entries and the related ones this way), with the sealed IDs of the
    /// entries of the rosters `scope` only: only their entries are judged by the rules that read
    /// a birth date; the others are compared with them, by blind index.
    pub async fn screening_entries(&self, ids: &[i64], scope: &[i64]) -> Result<Vec<ScreeningEntryRow>, StoreError> {
        let columns = self.entry_columns(Some(&id_list(scope.iter().copied())));
        self.fetch_bulk_listed(&self.published_entries(&columns), ids, |e: &ScreeningEntryRow| e.id).await
    }

    /// For an incremental screening of the rosters `scope`: every entry of a published roster
    /// of the same period (compared structured) and phase as one of them, for its programme or a programme
    /// declared mutually exclusive with it — where rules 4, 5 and 12 look for the same person or
    /// household (the scoped rosters' own entries included). Read as (entry, roster, person).
    pub async fn screening_batch(&self, scope: &[i64]) -> Result<Vec<BatchEntry>, StoreError> {
        let list = id_list(scope.iter().copied());
        // The batch's rosters first (few), then their entries through the entries' (roster,
        // person) index, a group of rosters of at most BULK_ROWS entries per packed answer, so
        // each entry is read once (paging the whole batch by entry id re-read it per page).
        let rosters: Vec<(i64, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT b.id, b.entry_count FROM rosters b WHERE b.status = 'published' \
             AND EXISTS (SELECT 1 FROM rosters z WHERE z.id IN ({list}) \
             AND z.period_key = b.period_key AND z.phase = b.phase AND (z.programme_id = b.programme_id \
             OR EXISTS (SELECT 1 FROM exclusive_programmes x WHERE (x.programme_a = z.programme_id \
             AND x.programme_b = b.programme_id) OR (x.programme_b = z.programme_id AND x.programme_a = b.programme_id)))) \
             ORDER BY b.id"
        )))
        .fetch_all(&self.pool)
        .await?;
        let mut rows: Vec<BatchEntry> = Vec::new();
        for group in bulk_groups(&rosters) {
            let sql = format!(
                "SELECT e.id AS i, e.roster_id AS r, e.id_idx AS p FROM roster_entries e WHERE e.roster_id IN ({})",
                id_list(group.iter().copied())
            );
            rows.extend(self.fetch_all_packed::<BatchEntry>(&sql, &["i", "r", "p"]).await?);
        }
        rows.sort_by_key(|e| e.id);
        Ok(rows)
    }

    /// For an incremental screening of the rosters `scope`: who is paid, in the years of those
    /// rosters, into each account their entries use — for each (account, year), the people
    /// `account_payees` names: everyone a published roster paid into it that year, and possibly
    /// people of rosters since withdrawn or superseded (never fewer than are paid now). Rule 6
    /// needs an account paying two households in a year; which people form a household the
    /// caller knows (the household register), so it keeps the accounts that do and reads their
    /// entries, whose rosters' status is checked there, with [`Store::screening_account_entries`].
    pub async fn screening_account_payees(&self, scope: &[i64]) -> Result<Vec<AccountPayees>, StoreError> {
        let list = id_list(scope.iter().copied());
        let years = scope_years(&list);
        // The scoped accounts grouped, not made DISTINCT: grouping leaves them in key order, so
        // the look-ups below walk one year's rows of `account_payees` (keyed by year, account
        // and person) forwards and read each page once. In the order the entries list them,
        // each look-up read a page of its own: at 10^7 entries the query took three times as
        // long on the entries' account index (see docs/BENCHMARKS.md).
        let accounts = format!(
            "SELECT s.account_idx AS a FROM roster_entries s \
             WHERE s.roster_id IN ({list}) AND s.account_idx IS NOT NULL GROUP BY s.account_idx"
        );
        let people = match self.backend {
            Backend::Sqlite => "group_concat(x.id_idx)",
            Backend::Postgres => "string_agg(x.id_idx, ',')",
        };
        // One packed answer, one row per (account, year) paying someone.
        let sql = format!(
            "SELECT x.account_idx AS a, x.year AS y, {people} AS p FROM ({years}) w CROSS JOIN ({accounts}) q \
             CROSS JOIN account_payees x WHERE x.year = w.y AND x.account_idx = q.a GROUP BY x.year, x.account_idx"
        );
        self.fetch_all_packed(&sql, &["a", "y", "p"]).await
    }

    /// The ids of the entries of published rosters of the years of the rosters `scope` paid into
    /// one of `accounts` (blind indexes), sorted: what rule 6 compares for those accounts.
    pub async fn screening_account_entries(&self, scope: &[i64], accounts: &[String]) -> Result<Vec<i64>, StoreError> {
        let list = id_list(scope.iter().copied());
        let years = scope_years(&list);
        let listed = match self.backend {
            Backend::Sqlite => "SELECT value FROM json_each($1)",
            Backend::Postgres => "SELECT value FROM json_array_elements_text($1::json)",
        };
        self.fetch_keys_listed(
            &format!(
                "SELECT x.id AS k FROM ({listed}) q CROSS JOIN ({years}) w CROSS JOIN roster_entries x \
                 CROSS JOIN rosters y WHERE x.account_idx = q.value AND x.year = w.y AND y.id = x.roster_id \
                 AND y.status = 'published'"
            ),
            accounts,
        )
        .await
    }

    /// The people named by public proposed rosters, with each roster's last day of publicity, in
    /// bulk: every such roster, or those the rosters `scope` settle.
    pub async fn proposed_for_screening(&self, scope: Option<&[i64]>) -> Result<Vec<ProposedPerson>, StoreError> {
        let mut from = "rosters r JOIN roster_entries e ON e.roster_id = r.id \
             WHERE r.phase = 'proposed' AND r.status IN ('published', 'superseded', 'withdrawn')"
            .to_owned();
        if let Some(ids) = scope {
            from.push_str(&format!(
                " AND r.id IN (SELECT p.settles_id FROM rosters p WHERE p.id IN ({}))",
                id_list(ids.iter().copied())
            ));
        }
        let columns: Vec<String> =
            ["e.id", "r.id", "r.publicity_end", "e.id_idx"].iter().map(|c| (*c).to_owned()).collect();
        self.fetch_bulk(&Bulk { columns: &columns, from: &from, key: "e.id" }, |p: &ProposedPerson| p.entry_id).await
    }

    /// Records one screening run: each hit is inserted or refreshed (its handling untouched, its
    /// cleared mark lifted), and every hit in scope that this run did not find again is marked
    /// cleared. The scope is every roster, or the given rosters for an incremental run.
    pub async fn record_screening(
        &self,
        scope_rosters: Option<&[i64]>,
        entries: i64,
        hits: &[NewHit],
        now: i64,
    ) -> Result<RunSummary, StoreError> {
        let scope = match scope_rosters {
            None => "full".to_owned(),
            Some(ids) => format!("rosters:{}", ids.iter().map(ToString::to_string).collect::<Vec<_>>().join(",")),
        };
        let mut tx = self.begin_write().await?;
        let run_id: i64 = sqlx::query_scalar(
            "INSERT INTO screening_runs (scope, entries, hits, new_hits, cleared, at) VALUES ($1, $2, 0, 0, 0, $3) \
             RETURNING id",
        )
        .bind(&scope)
        .bind(entries)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        for chunk in hits.chunks(CHUNK) {
            // The entry's context is copied from its roster so that lists never join 10^7 entries.
            let values: Vec<String> = (0..chunk.len())
                .map(|i| {
                    let p = |k: usize| match self.backend {
                        Backend::Sqlite => "?".to_owned(),
                        Backend::Postgres => format!("${}", i * 6 + k),
                    };
                    format!(
                        "SELECT {} AS rule, {} AS entry_id, {} AS severity, {} AS evidence, {} AS run, {} AS at",
                        p(1),
                        p(2),
                        p(3),
                        p(4),
                        p(5),
                        p(6)
                    )
                })
                .collect();
            let cast = match self.backend {
                Backend::Sqlite => "",
                Backend::Postgres => "::BIGINT",
            };
            let sql = format!(
                "INSERT INTO screening_hits (rule, entry_id, roster_id, programme_id, org_code, person_idx, name, \
                 id_masked, year, period, amount_fen, severity, evidence, status, first_run, last_run, \
                 first_seen_at, last_seen_at) \
                 SELECT v.rule, e.id, r.id, r.programme_id, r.org_code, e.id_idx, e.name, e.id_masked, r.year, \
                 r.period, e.amount_fen, v.severity, v.evidence, 'new', v.run{cast}, v.run{cast}, v.at{cast}, v.at{cast} \
                 FROM ({}) v JOIN roster_entries e ON e.id = v.entry_id{cast} JOIN rosters r ON r.id = e.roster_id \
                 WHERE true ON CONFLICT (rule, entry_id) DO UPDATE SET severity = excluded.severity, \
                 evidence = excluded.evidence, last_run = excluded.last_run, last_seen_at = excluded.last_seen_at, \
                 cleared_at = NULL",
                values.join(" UNION ALL ")
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for h in chunk {
                q = q
                    .bind(h.rule.as_str())
                    .bind(h.entry_id)
                    .bind(h.severity.as_str())
                    .bind(&h.evidence)
                    .bind(run_id)
                    .bind(now);
            }
            q.execute(&mut *tx).await?;
        }
        let in_scope = match scope_rosters {
            None => String::new(),
            Some(ids) => {
                format!(" AND roster_id IN ({})", id_list(ids.iter().copied()))
            }
        };
        let cleared = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE screening_hits SET cleared_at = $1 WHERE cleared_at IS NULL AND last_run <> $2{in_scope}"
        )))
        .bind(now)
        .bind(run_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let new_hits: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM screening_hits WHERE first_run = $1")
            .bind(run_id)
            .fetch_one(&mut *tx)
            .await?;
        let cleared = i64::try_from(cleared).unwrap_or(i64::MAX);
        let total = i64::try_from(hits.len()).unwrap_or(i64::MAX);
        sqlx::query("UPDATE screening_runs SET hits = $1, new_hits = $2, cleared = $3 WHERE id = $4")
            .bind(total)
            .bind(new_hits)
            .bind(cleared)
            .bind(run_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(RunSummary { run_id, hits: total, new_hits, cleared })
    }

    fn hit_where(filter: &HitFilter) -> (String, Vec<String>) {
        let mut clauses = vec!["h.org_code LIKE $1".to_owned()];
        let mut binds = vec![format!("{}%", filter.within)];
        if let Some(rule) = &filter.rule {
            binds.push(rule.as_str().to_owned());
            clauses.push(format!("h.rule = ${}", binds.len()));
        }
        if let Some(status) = &filter.status {
            binds.push(status.as_str().to_owned());
            clauses.push(format!("h.status = ${}", binds.len()));
        }
        if !filter.include_cleared {
            clauses.push("h.cleared_at IS NULL".to_owned());
        }
        (clauses.join(" AND "), binds)
    }

    /// One page of hits, most severe and newest first.
    pub async fn screening_hits(
        &self,
        filter: &HitFilter,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<ScreeningHit>, StoreError> {
        let (clauses, binds) = Self::hit_where(filter);
        let n = binds.len();
        let sql = format!(
            "SELECT {HIT_COLUMNS} {HIT_FROM} WHERE {clauses} ORDER BY CASE h.severity WHEN 'high' THEN 0 \
             WHEN 'medium' THEN 1 ELSE 2 END, h.id DESC LIMIT ${} OFFSET ${}",
            n + 1,
            n + 2
        );
        let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql));
        for b in binds {
            q = q.bind(b);
        }
        Ok(q.bind(limit).bind(offset).fetch_all(&self.pool).await?)
    }

    pub async fn count_screening_hits(&self, filter: &HitFilter) -> Result<i64, StoreError> {
        let (clauses, binds) = Self::hit_where(filter);
        let sql = format!("SELECT COUNT(*) FROM screening_hits h WHERE {clauses}");
        let mut q = sqlx::query_scalar(sqlx::AssertSqlSafe(sql));
        for b in binds {
            q = q.bind(b);
        }
        Ok(q.fetch_one(&self.pool).await?)
    }

    pub async fn find_screening_hit(&self, id: i64) -> Result<Option<ScreeningHit>, StoreError> {
        let sql = format!("SELECT {HIT_COLUMNS} {HIT_FROM} WHERE h.id = $1");
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(&self.pool).await?)
    }

    /// Hits of the given rosters (for `xiaowei screen --roster`), cleared ones excluded.
    pub async fn hits_of_roster(&self, roster_id: i64) -> Result<Vec<ScreeningHit>, StoreError> {
        let sql = format!(
            "SELECT {HIT_COLUMNS} {HIT_FROM} WHERE h.roster_id = $1 AND h.cleared_at IS NULL ORDER BY h.entry_id, h.rule"
        );
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(roster_id).fetch_all(&self.pool).await?)
    }

    /// A hit's handling steps, oldest first.
    pub async fn hit_events(&self, hit_id: i64) -> Result<Vec<HitEvent>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, from_status, to_status, note, actor_name, at FROM screening_hit_events WHERE hit_id = $1 \
             ORDER BY id",
        )
        .bind(hit_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Moves a hit along `change` with a note, only if it is still in `change.from()` (a double
    /// submit or two handlers at once change it once); the step is recorded in the same
    /// transaction.
    pub async fn handle_screening_hit(
        &self,
        id: i64,
        change: Transition<HitStatus>,
        note: &str,
        actor_id: i64,
        actor_name: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        let (from, to) = (change.from().as_str(), change.to().as_str());
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE screening_hits SET status = $1, note = $2, handled_by = $3, handled_at = $4 \
             WHERE id = $5 AND status = $6",
        )
        .bind(to)
        .bind(note)
        .bind(actor_id)
        .bind(now)
        .bind(id)
        .bind(from)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Stale("screening hit status changed".into()));
        }
        sqlx::query(
            "INSERT INTO screening_hit_events (hit_id, from_status, to_status, note, actor_id, actor_name, at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id)
        .bind(from)
        .bind(to)
        .bind(note)
        .bind(actor_id)
        .bind(actor_name)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Hits in `within` per township (the org code's first nine digits) and status; hits whose
    /// cause disappeared count only once someone has handled them.
    pub async fn screening_counts(&self, within: &str) -> Result<Vec<ScreeningCount>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT SUBSTR(org_code, 1, 9) AS township, status, COUNT(*) AS hits FROM screening_hits \
             WHERE org_code LIKE $1 AND (cleared_at IS NULL OR status <> 'new') \
             GROUP BY SUBSTR(org_code, 1, 9), status ORDER BY township, status",
        )
        .bind(format!("{within}%"))
        .fetch_all(&self.pool)
        .await?)
    }

    /// Records 政策找人 leads: new ones open, known ones refreshed with their outcome kept.
    pub async fn record_outreach(&self, leads: &[NewLead], now: i64) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        for chunk in leads.chunks(CHUNK) {
            let sql = format!(
                "INSERT INTO outreach_leads (kind, person_idx, name, id_masked, org_code, programme_id, detail, \
                 status, first_seen_at, last_seen_at) VALUES {} ON CONFLICT (kind, person_idx, programme_id) \
                 DO UPDATE SET detail = excluded.detail, org_code = excluded.org_code, \
                 last_seen_at = excluded.last_seen_at",
                self.placeholders(chunk.len(), 10, 0)
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for l in chunk {
                q = q
                    .bind(l.kind.as_str())
                    .bind(&l.person_idx)
                    .bind(&l.name)
                    .bind(&l.id_masked)
                    .bind(&l.org_code)
                    .bind(l.programme_id)
                    .bind(&l.detail)
                    .bind("open")
                    .bind(now)
                    .bind(now);
            }
            q.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// One page of leads in `within`, open ones first, by village.
    pub async fn outreach_leads(&self, within: &str, limit: i64, offset: i64) -> Result<Vec<OutreachLead>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT l.id, l.kind, l.name, l.id_masked, l.org_code, COALESCE(o.name, l.org_code) AS org_name, \
             l.programme_id, p.name AS programme_name, l.detail, l.status, l.outcome, l.handled_at \
             FROM outreach_leads l JOIN programmes p ON p.id = l.programme_id LEFT JOIN orgs o ON o.code = l.org_code \
             WHERE l.org_code LIKE $1 ORDER BY CASE l.status WHEN 'open' THEN 0 ELSE 1 END, l.org_code, l.id \
             LIMIT $2 OFFSET $3",
        )
        .bind(format!("{within}%"))
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn count_outreach_leads(&self, within: &str) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM outreach_leads WHERE org_code LIKE $1")
            .bind(format!("{within}%"))
            .fetch_one(&self.pool)
            .await?)
    }

    pub async fn find_outreach_lead(&self, id: i64) -> Result<Option<OutreachLead>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT l.id, l.kind, l.name, l.id_masked, l.org_code, COALESCE(o.name, l.org_code) AS org_name, \
             l.programme_id, p.name AS programme_name, l.detail, l.status, l.outcome, l.handled_at \
             FROM outreach_leads l JOIN programmes p ON p.id = l.programme_id LEFT JOIN orgs o ON o.code = l.org_code \
             WHERE l.id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Records the outcome of contacting a lead, once: only an open lead takes an outcome.
    pub async fn record_outreach_outcome(
        &self,
        id: i64,
        status: LeadStatus,
        outcome: &str,
        by: i64,
        now: i64,
    ) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE outreach_leads SET status = $1, outcome = $2, handled_by = $3, handled_at = $4 \
             WHERE id = $5 AND status = 'open'",
        )
        .bind(status.as_str())
        .bind(outcome)
        .bind(by)
        .bind(now)
        .bind(id)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Stale("outreach lead already handled".into()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{BULK_ROWS, bulk_groups};

    #[test]
    fn rosters_are_grouped_up_to_a_bulk_answer_and_a_large_one_goes_alone() {
        let bulk = BULK_ROWS as i64;
        let rosters = [(1, bulk / 2), (2, bulk / 2), (3, 1), (4, bulk * 2), (5, 10), (6, bulk - 10), (7, 1)];
        assert_eq!(bulk_groups(&rosters), vec![vec![1, 2], vec![3], vec![4], vec![5, 6], vec![7]]);
        assert!(bulk_groups(&[]).is_empty());
    }
}
