//! 小微权力 storage: catalogue items with their procedure steps and risk points, power exercises
//! (权力运行记录) with the steps recorded as they happen, their documents, and the per-village
//! counts of flagged steps the monitor reads. Publication is compare-and-set; a step is recorded
//! once per exercise. Whether a step is late or skipped is the core's rule, applied here only to count.

use std::collections::BTreeMap;

use sqlx::FromRow;
use xiaowei_core::power::{self, Date, ExerciseStatus, PowerCategory, ProcedureStep, RecordedStep, RiskPoint};
use xiaowei_core::power_lists::{Accountability, Duty};

use crate::bulk::id_list;
use crate::decode::code;
use crate::{Store, StoreError};

/// 小微权力清单 item.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct PowerItem {
    pub id: i64,
    /// The county for county items; a township or village for local items.
    pub org_code: String,
    #[sqlx(try_from = "String")]
    pub category: PowerCategory,
    pub name: String,
    pub basis: String,
    /// One required material per line.
    pub materials: String,
    pub responsible: String,
    pub total_days: i64,
    /// Starts at 1; each change of its lists makes a new version with its own ledger leaf.
    pub version: i64,
}

#[derive(Debug, Clone)]
pub struct NewPowerItem {
    pub org_code: String,
    pub category: PowerCategory,
    pub name: String,
    pub basis: String,
    pub materials: String,
    pub responsible: String,
    pub total_days: i64,
    pub steps: Vec<ProcedureStep>,
    pub risks: Vec<RiskPoint>,
    /// 责任清单 and 追责清单 (may be empty, to be filled in later).
    pub duties: Vec<Duty>,
    pub accountability: Vec<Accountability>,
    pub created_by: Option<i64>,
}

/// One use of a power, with its item's name.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct PowerExercise {
    pub id: i64,
    pub item_id: i64,
    pub item_name: String,
    pub org_code: String,
    pub title: String,
    pub started_on: String,
    #[sqlx(try_from = "String")]
    pub status: ExerciseStatus,
    pub created_by: i64,
    pub updated_at: i64,
    pub published_at: Option<i64>,
}

impl PowerExercise {
    pub fn is_published(&self) -> bool {
        self.status == ExerciseStatus::Published
    }
}

#[derive(Debug, Clone)]
pub struct NewPowerExercise {
    pub item_id: i64,
    pub org_code: String,
    pub title: String,
    pub started_on: String,
    pub created_by: i64,
}

/// A step of an exercise as recorded.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct PowerStepRecord {
    pub id: i64,
    pub exercise_id: i64,
    pub step_no: i64,
    pub done_on: String,
    pub actor_name: String,
    pub action: String,
    pub decision: String,
}

#[derive(Debug, Clone)]
pub struct NewPowerStepRecord {
    pub exercise_id: i64,
    pub step_no: i64,
    pub done_on: String,
    pub actor_name: String,
    pub action: String,
    pub decision: String,
    pub recorded_by: i64,
}

/// A document of an exercise (minutes, contract, notice photo), optionally tied to one step.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct PowerDocument {
    pub id: i64,
    pub exercise_id: i64,
    pub step_id: Option<i64>,
    pub sha256: String,
    pub size: i64,
    pub content_type: String,
    pub original_name: String,
    pub created_at: i64,
}

#[derive(Debug, Clone)]
pub struct NewPowerDocument {
    pub exercise_id: i64,
    pub step_id: Option<i64>,
    pub sha256: String,
    pub size: i64,
    pub content_type: String,
    pub original_name: String,
    pub uploaded_by: i64,
}

/// Published exercises of one village (or township) and their flagged steps.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PowerFlags {
    pub org_code: String,
    pub exercises: i64,
    pub late: i64,
    pub skipped: i64,
    pub overdue: i64,
}

#[derive(FromRow)]
struct StepRow {
    actor: String,
    action: String,
    limit_days: i64,
    publishes: String,
}

#[derive(FromRow)]
struct RiskRow {
    risk: String,
    supervision: String,
}

pub(crate) const ITEM_COLUMNS: &str =
    "id, org_code, category, name, basis, materials, responsible, total_days, version";
const EXERCISE_COLUMNS: &str = "e.id, e.item_id, i.name AS item_name, e.org_code, e.title, e.started_on, e.status, \
     e.created_by, e.updated_at, e.published_at";

/// Writes an item's list rows in order (the caller has removed any earlier rows).
async fn insert_lists(
    tx: &mut sqlx::AnyConnection,
    item_id: i64,
    duties: &[Duty],
    accountability: &[Accountability],
) -> Result<(), StoreError> {
    for (seq, d) in (1_i64..).zip(duties) {
        sqlx::query("INSERT INTO power_item_duties (item_id, seq, step_no, bearer, duty) VALUES ($1, $2, $3, $4, $5)")
            .bind(item_id)
            .bind(seq)
            .bind(i64::from(d.step_no))
            .bind(&d.bearer)
            .bind(&d.duty)
            .execute(&mut *tx)
            .await?;
    }
    for (seq, a) in (1_i64..).zip(accountability) {
        sqlx::query(
            "INSERT INTO power_item_accountability (item_id, seq, breach, measure, basis) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(item_id)
        .bind(seq)
        .bind(&a.breach)
        .bind(&a.measure)
        .bind(&a.basis)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

impl Store {
    /// Adds a catalogue item with its steps and risk points in one transaction; a second item
    /// of the same name at the same org is a conflict.
    pub async fn add_power_item(&self, item: &NewPowerItem, now: i64) -> Result<i64, StoreError> {
        let mut tx = self.begin_write().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO power_items (org_code, category, name, basis, materials, responsible, total_days, \
             created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        )
        .bind(&item.org_code)
        .bind(item.category.as_str())
        .bind(&item.name)
        .bind(&item.basis)
        .bind(&item.materials)
        .bind(&item.responsible)
        .bind(item.total_days)
        .bind(item.created_by)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        for (no, s) in (1_i64..).zip(&item.steps) {
            sqlx::query(
                "INSERT INTO power_item_steps (item_id, step_no, actor, action, limit_days, publishes) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(id)
            .bind(no)
            .bind(&s.actor)
            .bind(&s.action)
            .bind(i64::from(s.limit_days))
            .bind(&s.publishes)
            .execute(&mut *tx)
            .await?;
        }
        for (seq, r) in (1_i64..).zip(&item.risks) {
            sqlx::query("INSERT INTO power_item_risks (item_id, seq, risk, supervision) VALUES ($1, $2, $3, $4)")
                .bind(id)
                .bind(seq)
                .bind(&r.risk)
                .bind(&r.supervision)
                .execute(&mut *tx)
                .await?;
        }
        insert_lists(&mut tx, id, &item.duties, &item.accountability).await?;
        let leaf = self.power_item_leaf(&mut tx, id, now).await?;
        self.append_leaf_in(&mut tx, &leaf).await?;
        tx.commit().await?;
        Ok(id)
    }

    pub async fn find_power_item(&self, id: i64) -> Result<Option<PowerItem>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT {ITEM_COLUMNS} FROM power_items WHERE id = $1"));
        Ok(sqlx::query_as(sql).bind(id).fetch_optional(&self.pool).await?)
    }

    pub async fn find_power_item_by_name(&self, org_code: &str, name: &str) -> Result<Option<PowerItem>, StoreError> {
        let sql =
            sqlx::AssertSqlSafe(format!("SELECT {ITEM_COLUMNS} FROM power_items WHERE org_code = $1 AND name = $2"));
        Ok(sqlx::query_as(sql).bind(org_code).bind(name).fetch_optional(&self.pool).await?)
    }

    /// The items that apply at an org: the county's, and the local items of the org and of the
    /// orgs above it. A village's local items never show at its township or a neighbour.
    pub async fn power_items_for(&self, org_code: &str) -> Result<Vec<PowerItem>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {ITEM_COLUMNS} FROM power_items WHERE $1 LIKE org_code || '%' ORDER BY LENGTH(org_code), id"
        ));
        Ok(sqlx::query_as(sql).bind(org_code).fetch_all(&self.pool).await?)
    }

    /// For the back office: the items that apply at the account's org and every local item below it.
    pub async fn power_items_within(&self, org_prefix: &str) -> Result<Vec<PowerItem>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {ITEM_COLUMNS} FROM power_items WHERE $1 LIKE org_code || '%' OR org_code LIKE $2 \
             ORDER BY LENGTH(org_code), org_code, id"
        ));
        Ok(sqlx::query_as(sql).bind(org_prefix).bind(format!("{org_prefix}%")).fetch_all(&self.pool).await?)
    }

    /// An item's procedure, in order.
    pub async fn power_item_steps(&self, item_id: i64) -> Result<Vec<ProcedureStep>, StoreError> {
        let rows: Vec<StepRow> = sqlx::query_as(
            "SELECT actor, action, limit_days, publishes FROM power_item_steps WHERE item_id = $1 ORDER BY step_no",
        )
        .bind(item_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| ProcedureStep {
                actor: r.actor,
                action: r.action,
                limit_days: u16::try_from(r.limit_days).unwrap_or(u16::MAX),
                publishes: r.publishes,
            })
            .collect())
    }

    pub async fn power_item_risks(&self, item_id: i64) -> Result<Vec<RiskPoint>, StoreError> {
        let rows: Vec<RiskRow> =
            sqlx::query_as("SELECT risk, supervision FROM power_item_risks WHERE item_id = $1 ORDER BY seq")
                .bind(item_id)
                .fetch_all(&self.pool)
                .await?;
        Ok(rows.into_iter().map(|r| RiskPoint { risk: r.risk, supervision: r.supervision }).collect())
    }

    /// An item's 责任清单, by step.
    pub async fn power_item_duties(&self, item_id: i64) -> Result<Vec<Duty>, StoreError> {
        let rows: Vec<(i64, String, String)> =
            sqlx::query_as("SELECT step_no, bearer, duty FROM power_item_duties WHERE item_id = $1 ORDER BY seq")
                .bind(item_id)
                .fetch_all(&self.pool)
                .await?;
        Ok(rows
            .into_iter()
            .map(|(step_no, bearer, duty)| Duty { step_no: u16::try_from(step_no).unwrap_or(u16::MAX), bearer, duty })
            .collect())
    }

    /// An item's 追责清单.
    pub async fn power_item_accountability(&self, item_id: i64) -> Result<Vec<Accountability>, StoreError> {
        let rows: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT breach, measure, basis FROM power_item_accountability WHERE item_id = $1 ORDER BY seq",
        )
        .bind(item_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|(breach, measure, basis)| Accountability { breach, measure, basis }).collect())
    }

    /// Replaces an item's 责任清单 and 追责清单 if it is still at `version` (compare-and-set:
    /// otherwise `Stale`), making version + 1 with its ledger leaf in the same transaction.
    /// Returns the new version.
    pub async fn set_power_item_lists(
        &self,
        item_id: i64,
        version: i64,
        duties: &[Duty],
        accountability: &[Accountability],
        now: i64,
    ) -> Result<i64, StoreError> {
        let mut tx = self.begin_write().await?;
        let done =
            sqlx::query("UPDATE power_items SET version = version + 1, updated_at = $1 WHERE id = $2 AND version = $3")
                .bind(now)
                .bind(item_id)
                .bind(version)
                .execute(&mut *tx)
                .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Stale("power item version changed".into()));
        }
        sqlx::query("DELETE FROM power_item_duties WHERE item_id = $1").bind(item_id).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM power_item_accountability WHERE item_id = $1").bind(item_id).execute(&mut *tx).await?;
        insert_lists(&mut tx, item_id, duties, accountability).await?;
        let leaf = self.power_item_leaf(&mut tx, item_id, now).await?;
        self.append_leaf_in(&mut tx, &leaf).await?;
        tx.commit().await?;
        Ok(version + 1)
    }

    /// Opens an exercise as a draft; the same title for the same item and org twice is a conflict.
    pub async fn open_power_exercise(&self, e: &NewPowerExercise, now: i64) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "INSERT INTO power_exercises (item_id, org_code, title, started_on, status, created_by, created_at, \
             updated_at) VALUES ($1, $2, $3, $4, 'draft', $5, $6, $6) RETURNING id",
        )
        .bind(e.item_id)
        .bind(&e.org_code)
        .bind(&e.title)
        .bind(&e.started_on)
        .bind(e.created_by)
        .bind(now)
        .fetch_one(&self.pool)
        .await?)
    }

    pub async fn find_power_exercise(&self, id: i64) -> Result<Option<PowerExercise>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {EXERCISE_COLUMNS} FROM power_exercises e JOIN power_items i ON i.id = e.item_id WHERE e.id = $1"
        ));
        Ok(sqlx::query_as(sql).bind(id).fetch_optional(&self.pool).await?)
    }

    pub async fn find_power_exercise_by_title(
        &self,
        org_code: &str,
        item_id: i64,
        title: &str,
    ) -> Result<Option<PowerExercise>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {EXERCISE_COLUMNS} FROM power_exercises e JOIN power_items i ON i.id = e.item_id \
             WHERE e.org_code = $1 AND e.item_id = $2 AND e.title = $3"
        ));
        Ok(sqlx::query_as(sql).bind(org_code).bind(item_id).bind(title).fetch_optional(&self.pool).await?)
    }

    /// Exercises under an org subtree, newest first; only published ones when `public_only`.
    pub async fn power_exercises_within(
        &self,
        org_prefix: &str,
        public_only: bool,
        limit: i64,
    ) -> Result<Vec<PowerExercise>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {EXERCISE_COLUMNS} FROM power_exercises e JOIN power_items i ON i.id = e.item_id \
             WHERE e.org_code LIKE $1 AND ($2 = 0 OR e.status = 'published') \
             ORDER BY e.started_on DESC, e.id DESC LIMIT $3"
        ));
        Ok(sqlx::query_as(sql)
            .bind(format!("{org_prefix}%"))
            .bind(i64::from(public_only))
            .bind(limit)
            .fetch_all(&self.pool)
            .await?)
    }

    /// Published exercises of one item under an org subtree, newest first.
    pub async fn public_exercises_of_item(
        &self,
        item_id: i64,
        org_prefix: &str,
    ) -> Result<Vec<PowerExercise>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {EXERCISE_COLUMNS} FROM power_exercises e JOIN power_items i ON i.id = e.item_id \
             WHERE e.item_id = $1 AND e.org_code LIKE $2 AND e.status = 'published' \
             ORDER BY e.started_on DESC, e.id DESC LIMIT 50"
        ));
        Ok(sqlx::query_as(sql).bind(item_id).bind(format!("{org_prefix}%")).fetch_all(&self.pool).await?)
    }

    /// Records one step of an exercise; the same step twice is a conflict. The caller has
    /// checked the order and dates against the procedure.
    pub async fn record_power_step(&self, s: &NewPowerStepRecord, now: i64) -> Result<i64, StoreError> {
        let mut tx = self.begin_write().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO power_exercise_steps (exercise_id, step_no, done_on, actor_name, action, decision, \
             recorded_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(s.exercise_id)
        .bind(s.step_no)
        .bind(&s.done_on)
        .bind(&s.actor_name)
        .bind(&s.action)
        .bind(&s.decision)
        .bind(s.recorded_by)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query("UPDATE power_exercises SET updated_at = $1 WHERE id = $2")
            .bind(now)
            .bind(s.exercise_id)
            .execute(&mut *tx)
            .await?;
        self.log_published_exercise(&mut tx, s.exercise_id, now).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The recorded steps of an exercise, in procedure order.
    pub async fn power_step_records(&self, exercise_id: i64) -> Result<Vec<PowerStepRecord>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, exercise_id, step_no, done_on, actor_name, action, decision FROM power_exercise_steps \
             WHERE exercise_id = $1 ORDER BY step_no",
        )
        .bind(exercise_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Makes a draft exercise public; anything but a draft is a conflict (compare-and-set).
    pub async fn publish_power_exercise(&self, id: i64, now: i64) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE power_exercises SET status = 'published', published_at = $1, updated_at = $1 \
             WHERE id = $2 AND status = 'draft'",
        )
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Stale("power exercise status changed".into()));
        }
        let leaf = self.power_exercise_leaf(&mut tx, id, "publish", now, None).await?;
        self.append_leaf_in(&mut tx, &leaf).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A step or document added to a record already public changes what the public sees: the
    /// record's new state is appended to the ledger (in the caller's transaction).
    async fn log_published_exercise(&self, tx: &mut sqlx::AnyConnection, id: i64, now: i64) -> Result<(), StoreError> {
        let status: String =
            sqlx::query_scalar("SELECT status FROM power_exercises WHERE id = $1").bind(id).fetch_one(&mut *tx).await?;
        if code::<ExerciseStatus>(status)? == ExerciseStatus::Published {
            let leaf = self.power_exercise_leaf(tx, id, "update", now, None).await?;
            self.append_leaf_in(tx, &leaf).await?;
        }
        Ok(())
    }

    /// Adds a document to an exercise; the same file twice is a conflict.
    pub async fn add_power_document(&self, d: &NewPowerDocument, now: i64) -> Result<i64, StoreError> {
        let mut tx = self.begin_write().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO power_documents (exercise_id, step_id, sha256, size, content_type, original_name, \
             uploaded_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(d.exercise_id)
        .bind(d.step_id)
        .bind(&d.sha256)
        .bind(d.size)
        .bind(&d.content_type)
        .bind(&d.original_name)
        .bind(d.uploaded_by)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        self.log_published_exercise(&mut tx, d.exercise_id, now).await?;
        tx.commit().await?;
        Ok(id)
    }

    pub async fn power_documents(&self, exercise_id: i64) -> Result<Vec<PowerDocument>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, exercise_id, step_id, sha256, size, content_type, original_name, created_at \
             FROM power_documents WHERE exercise_id = $1 ORDER BY id",
        )
        .bind(exercise_id)
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn find_power_document(&self, id: i64) -> Result<Option<PowerDocument>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, exercise_id, step_id, sha256, size, content_type, original_name, created_at \
             FROM power_documents WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Per org (village or township) under a subtree: published exercises and their late,
    /// skipped and (on `today`) overdue steps, evaluated by the core's timeline rule.
    pub async fn power_flags_within(&self, org_prefix: &str, today: Date) -> Result<Vec<PowerFlags>, StoreError> {
        let exercises: Vec<(i64, i64, String, String)> = sqlx::query_as(
            "SELECT id, item_id, org_code, started_on FROM power_exercises \
             WHERE org_code LIKE $1 AND status = 'published' ORDER BY org_code, id",
        )
        .bind(format!("{org_prefix}%"))
        .fetch_all(&self.pool)
        .await?;
        let limits: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT s.item_id, s.limit_days FROM power_item_steps s WHERE s.item_id IN \
             (SELECT item_id FROM power_exercises WHERE org_code LIKE $1 AND status = 'published') \
             ORDER BY s.item_id, s.step_no",
        )
        .bind(format!("{org_prefix}%"))
        .fetch_all(&self.pool)
        .await?;
        let records: Vec<(i64, i64, String)> = sqlx::query_as(
            "SELECT s.exercise_id, s.step_no, s.done_on FROM power_exercise_steps s \
             JOIN power_exercises e ON e.id = s.exercise_id WHERE e.org_code LIKE $1 AND e.status = 'published'",
        )
        .bind(format!("{org_prefix}%"))
        .fetch_all(&self.pool)
        .await?;
        let procedures = Procedures::new(limits, records);
        let mut flags: BTreeMap<String, PowerFlags> = BTreeMap::new();
        for (id, item, org_code, started_on) in exercises {
            let entry =
                flags.entry(org_code.clone()).or_insert_with(|| PowerFlags { org_code, ..PowerFlags::default() });
            entry.exercises += 1;
            let Some(start) = power::parse_day(&started_on) else { continue };
            for state in procedures.evaluate(id, item, start, today) {
                match state {
                    power::StepState::Late { .. } => entry.late += 1,
                    power::StepState::Skipped => entry.skipped += 1,
                    power::StepState::Overdue { .. } => entry.overdue += 1,
                    _ => {}
                }
            }
        }
        Ok(flags.into_values().collect())
    }

    /// How many steps of each of `exercises` are flagged (late, skipped or, on `today`, overdue),
    /// in their order: two reads whatever their number, for a list of records. An exercise with
    /// no readable start day is evaluated from `today`, as its own page does.
    pub async fn power_flagged_steps(
        &self,
        exercises: &[PowerExercise],
        today: Date,
    ) -> Result<Vec<usize>, StoreError> {
        if exercises.is_empty() {
            return Ok(Vec::new());
        }
        let items = id_list(exercises.iter().map(|e| e.item_id).collect::<std::collections::BTreeSet<_>>());
        let limits: Vec<(i64, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT item_id, limit_days FROM power_item_steps WHERE item_id IN ({items}) ORDER BY item_id, step_no"
        )))
        .fetch_all(&self.pool)
        .await?;
        let ids = id_list(exercises.iter().map(|e| e.id));
        let records: Vec<(i64, i64, String)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT exercise_id, step_no, done_on FROM power_exercise_steps WHERE exercise_id IN ({ids})"
        )))
        .fetch_all(&self.pool)
        .await?;
        let procedures = Procedures::new(limits, records);
        Ok(exercises
            .iter()
            .map(|e| {
                let start = power::parse_day(&e.started_on).unwrap_or(today);
                procedures.evaluate(e.id, e.item_id, start, today).into_iter().filter(|s| s.is_flagged()).count()
            })
            .collect())
    }
}

/// Step limits per catalogue item and recorded steps per exercise, read in bulk, as the core's
/// timeline rule takes them.
struct Procedures {
    limits: BTreeMap<i64, Vec<u16>>,
    recorded: BTreeMap<i64, Vec<RecordedStep>>,
}

impl Procedures {
    /// From (item, limit days) rows in step order and (exercise, step number, done on) rows.
    fn new(limits: Vec<(i64, i64)>, records: Vec<(i64, i64, String)>) -> Self {
        let mut procedures = Self { limits: BTreeMap::new(), recorded: BTreeMap::new() };
        for (item, days) in limits {
            procedures.limits.entry(item).or_default().push(u16::try_from(days).unwrap_or(u16::MAX));
        }
        for (exercise, step_no, done_on) in records {
            if let (Some(done_on), Ok(step_no)) = (power::parse_day(&done_on), usize::try_from(step_no)) {
                procedures.recorded.entry(exercise).or_default().push(RecordedStep { step_no, done_on });
            }
        }
        procedures
    }

    /// The state of each step of exercise `id` of `item`, started on `start`, on `today`.
    fn evaluate(&self, id: i64, item: i64, start: Date, today: Date) -> Vec<power::StepState> {
        let limits = self.limits.get(&item).map_or(&[][..], Vec::as_slice);
        let steps = self.recorded.get(&id).map_or(&[][..], Vec::as_slice);
        power::evaluate(limits, start, steps, today)
    }
}
