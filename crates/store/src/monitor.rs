//! 远程监控平台 storage: page-view counts and daily unique visitors (batched upserts, a shared
//! daily salt, closing a day), and the monitor's figures — one query per metric over a scope,
//! grouped by exact org code so the caller can fold them into townships or villages — plus the
//! lists behind each figure. Never decides who may see a figure, never reads the clock.

use sqlx::FromRow;
use xiaowei_core::disclosure::Category;
use xiaowei_core::message::{MessageKind, MessageStatus};
use xiaowei_core::monitor::{Channel, Menu};
use xiaowei_core::service::CaseStatus;
use xiaowei_core::subsidy::{Phase, RosterStatus};
use xiaowei_core::tracked::Satisfaction;

use crate::decode::{Flag, MaybeCode};
use crate::{Store, StoreError};

/// Page views to add for one day, org, menu and channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisitIncrement {
    /// Shanghai day, `YYYY-MM-DD`.
    pub day: String,
    pub org_code: String,
    pub menu: Menu,
    pub channel: Channel,
    pub count: i64,
}

/// A visitor seen on an open day at one org: only a keyed hash, never an address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UniqueVisitor {
    pub day: String,
    pub org_code: String,
    pub visitor: String,
}

/// One metric's value at one exact org code.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct OrgValue {
    pub org_code: String,
    pub n: i64,
}

/// Service cases (办件) at one village: clocks kept and handling time.
#[derive(Debug, Clone, FromRow, PartialEq, Eq, Default)]
pub struct CaseValues {
    pub org_code: String,
    /// Cases submitted in the period.
    pub cases: i64,
    /// Contacted within 24 hours.
    pub contact_on_time: i64,
    /// Contacted, or whose contact is already due.
    pub contact_due: i64,
    /// Completed by the deadline.
    pub completed_on_time: i64,
    /// Completed, or whose completion is already due.
    pub completion_due: i64,
    /// Completed cases and their summed handling seconds.
    pub completed: i64,
    pub handling_seconds: i64,
}

/// Satisfaction ratings (cases and messages) at one org.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct RatingValues {
    pub org_code: String,
    /// 满意 or 基本满意.
    pub satisfied: i64,
    pub rated: i64,
}

/// Service cases (办件) of one department: clocks kept, handling time and ratings.
#[derive(Debug, Clone, FromRow, PartialEq, Eq, Default)]
pub struct DepartmentValues {
    pub department_id: i64,
    pub name: String,
    pub cases: i64,
    pub contact_on_time: i64,
    pub contact_due: i64,
    pub completed_on_time: i64,
    pub completion_due: i64,
    pub completed: i64,
    pub handling_seconds: i64,
    /// 满意 or 基本满意 among `rated`.
    pub satisfied: i64,
    pub rated: i64,
}

/// The period and scope of a figures query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FigureQuery {
    /// Org code prefix of the scope (the county's code for all).
    pub prefix: String,
    /// `[from, to)` in UTC seconds for publications, cases, messages and ratings.
    pub from: i64,
    pub to: i64,
    /// `[from_day, to_day)` as Shanghai days for visits and visitors.
    pub from_day: String,
    pub to_day: String,
    /// Clock state is judged at this instant (a case not yet due is not in a rate's sample).
    pub now: i64,
}

/// Every metric of the monitor, each as values at exact org codes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MonitorValues {
    pub visits: Vec<OrgValue>,
    /// Unique visitors summed over the days; recorded at the page's org and at its township.
    pub visitors: Vec<OrgValue>,
    /// Subscribed followers by account (township code).
    pub followers: Vec<OrgValue>,
    /// Subscribed followers bound to a household, by the household's org.
    pub bound_followers: Vec<OrgValue>,
    /// Households with a subscribed bound follower, by org.
    pub covered_households: Vec<OrgValue>,
    pub households: Vec<OrgValue>,
    /// Roster batches (proposed and paid) first published in the period.
    pub rosters: Vec<OrgValue>,
    pub power_records: Vec<OrgValue>,
    pub disclosures: Vec<OrgValue>,
    /// Messages other than reports (举报).
    pub messages: Vec<OrgValue>,
    /// Reports, for the discipline commission's eyes.
    pub reports: Vec<OrgValue>,
    pub cases: Vec<CaseValues>,
    pub ratings: Vec<RatingValues>,
}

/// Visits on one day (a chart point).
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct DayValue {
    pub day: String,
    pub n: i64,
}

/// A row of the visits drill-down.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct VisitRow {
    pub day: String,
    pub org_code: String,
    pub org_name: String,
    #[sqlx(try_from = "String")]
    pub menu: Menu,
    #[sqlx(try_from = "String")]
    pub channel: Channel,
    pub count: i64,
}

/// A row of a publication drill-down, with what its kind adds: [`RosterState`],
/// [`ExercisedItem`] or [`DisclosedCategory`].
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct PublishedRow<D> {
    pub id: i64,
    pub org_code: String,
    pub org_name: String,
    pub title: String,
    #[sqlx(flatten)]
    pub detail: D,
    pub published_at: i64,
}

/// A published roster's phase and where its latest version stands.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct RosterState {
    #[sqlx(try_from = "String")]
    pub phase: Phase,
    #[sqlx(try_from = "String")]
    pub status: RosterStatus,
}

/// The catalogue item a published power record exercises.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct ExercisedItem {
    pub item_name: String,
}

/// A published disclosure's category.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct DisclosedCategory {
    #[sqlx(try_from = "String")]
    pub category: Category,
}

/// A row of the messages drill-down.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct MessageRow {
    pub tracking: String,
    pub org_code: String,
    pub org_name: String,
    #[sqlx(try_from = "String")]
    pub kind: MessageKind,
    #[sqlx(try_from = "String")]
    pub status: MessageStatus,
    pub submitted_at: i64,
    pub replied_at: Option<i64>,
    #[sqlx(try_from = "MaybeCode")]
    pub rating: Option<Satisfaction>,
}

/// A row of the cases drill-down.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct CaseRow {
    pub tracking: String,
    pub org_code: String,
    pub org_name: String,
    pub item_name: String,
    #[sqlx(try_from = "String")]
    pub status: CaseStatus,
    pub submitted_at: i64,
    pub contact_due: i64,
    pub contacted_at: Option<i64>,
    pub completion_due: i64,
    pub completed_at: Option<i64>,
    #[sqlx(try_from = "MaybeCode")]
    pub rating: Option<Satisfaction>,
}

/// A row of the households drill-down: whether a subscribed follower is bound to it.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct HouseholdRow {
    pub household_no: String,
    pub org_code: String,
    pub org_name: String,
    pub head_name: String,
    #[sqlx(try_from = "Flag")]
    pub covered: bool,
}

/// One page of a drill-down list and the total count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing<T> {
    pub rows: Vec<T>,
    pub total: i64,
}

async fn values(store: &Store, sql: &'static str, q: &FigureQuery) -> Result<Vec<OrgValue>, StoreError> {
    Ok(sqlx::query_as(sql)
        .bind(&q.prefix)
        .bind(q.from)
        .bind(q.to)
        .bind(&q.from_day)
        .bind(&q.to_day)
        .fetch_all(&store.pool)
        .await?)
}

// Every figure query takes the same five parameters: $1 prefix, $2 from, $3 to, $4 from_day,
// $5 to_day (unused ones are compared with themselves so both engines know their types).
const VISITS: &str = "SELECT org_code, CAST(SUM(count) AS BIGINT) AS n FROM visits_daily \
     WHERE org_code LIKE $1 || '%' AND day >= $4 AND day < $5 AND $2 <= $3 GROUP BY org_code";
const VISITORS: &str = "SELECT org_code, CAST(SUM(n) AS BIGINT) AS n FROM ( \
     SELECT org_code, visitors AS n FROM visitors_daily WHERE org_code LIKE $1 || '%' AND day >= $4 AND day < $5 \
     UNION ALL SELECT org_code, COUNT(*) AS n FROM visit_uniques WHERE org_code LIKE $1 || '%' AND day >= $4 \
     AND day < $5 GROUP BY org_code, day) v WHERE $2 <= $3 GROUP BY org_code";
const FOLLOWERS: &str = "SELECT township_code AS org_code, COUNT(*) AS n FROM wechat_followers \
     WHERE subscribed = 1 AND township_code LIKE $1 || '%' AND $2 <= $3 AND $4 <= $5 GROUP BY township_code";
const BOUND_FOLLOWERS: &str = "SELECT h.org_code, COUNT(*) AS n FROM wechat_followers f \
     JOIN households h ON h.id = f.household_id WHERE f.subscribed = 1 AND h.org_code LIKE $1 || '%' \
     AND $2 <= $3 AND $4 <= $5 GROUP BY h.org_code";
const COVERED: &str = "SELECT h.org_code, COUNT(*) AS n FROM households h WHERE h.org_code LIKE $1 || '%' \
     AND (EXISTS (SELECT 1 FROM wechat_followers f WHERE f.household_id = h.id AND f.subscribed = 1) \
          OR EXISTS (SELECT 1 FROM proven_households p WHERE p.household_id = h.id)) \
     AND $2 <= $3 AND $4 <= $5 GROUP BY h.org_code";
const HOUSEHOLDS: &str = "SELECT org_code, COUNT(*) AS n FROM households WHERE org_code LIKE $1 || '%' \
     AND $2 <= $3 AND $4 <= $5 GROUP BY org_code";
// A batch counts once, however many corrected versions it has: by its lineage's first publication.
const ROSTERS: &str = "SELECT org_code, COUNT(*) AS n FROM ( \
     SELECT org_code, MIN(published_at) AS first_at FROM rosters WHERE published_at IS NOT NULL \
     AND org_code LIKE $1 || '%' GROUP BY org_code, COALESCE(lineage_id, id)) r \
     WHERE first_at >= $2 AND first_at < $3 AND $4 <= $5 GROUP BY org_code";
const POWER_RECORDS: &str = "SELECT org_code, COUNT(*) AS n FROM power_exercises WHERE status = 'published' \
     AND org_code LIKE $1 || '%' AND published_at >= $2 AND published_at < $3 AND $4 <= $5 GROUP BY org_code";
const DISCLOSURES: &str = "SELECT org_code, COUNT(*) AS n FROM ( \
     SELECT org_code, MIN(published_at) AS first_at FROM disclosures WHERE published_at IS NOT NULL \
     AND org_code LIKE $1 || '%' GROUP BY org_code, COALESCE(lineage_id, id)) d \
     WHERE first_at >= $2 AND first_at < $3 AND $4 <= $5 GROUP BY org_code";
const MESSAGES: &str = "SELECT org_code, COUNT(*) AS n FROM messages WHERE kind <> 'report' \
     AND status <> 'hidden' AND org_code LIKE $1 || '%' AND submitted_at >= $2 AND submitted_at < $3 \
     AND $4 <= $5 GROUP BY org_code";
const REPORTS: &str = "SELECT org_code, COUNT(*) AS n FROM messages WHERE kind = 'report' \
     AND status <> 'hidden' AND org_code LIKE $1 || '%' AND submitted_at >= $2 AND submitted_at < $3 \
     AND $4 <= $5 GROUP BY org_code";

impl Store {
    /// Adds batched page views in one transaction: `count = count + n` per key.
    pub async fn add_visits(
        &self,
        increments: &[VisitIncrement],
        visitors: &[UniqueVisitor],
    ) -> Result<(), StoreError> {
        if increments.is_empty() && visitors.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin_write().await?;
        for v in increments {
            sqlx::query(
                "INSERT INTO visits_daily (day, org_code, menu, channel, count) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (day, org_code, menu, channel) DO UPDATE SET count = visits_daily.count + excluded.count",
            )
            .bind(&v.day)
            .bind(&v.org_code)
            .bind(v.menu.as_str())
            .bind(v.channel.as_str())
            .bind(v.count)
            .execute(&mut *tx)
            .await?;
        }
        for u in visitors {
            sqlx::query(
                "INSERT INTO visit_uniques (day, org_code, visitor) VALUES ($1, $2, $3) \
                 ON CONFLICT (day, org_code, visitor) DO NOTHING",
            )
            .bind(&u.day)
            .bind(&u.org_code)
            .bind(&u.visitor)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The salt of an open day: `candidate` if this is the first ask, else the one stored first
    /// (so every instance, and a restarted one, hashes visitors the same way that day).
    pub async fn visit_salt(&self, day: &str, candidate: &[u8]) -> Result<Vec<u8>, StoreError> {
        sqlx::query("INSERT INTO visit_salts (day, salt) VALUES ($1, $2) ON CONFLICT (day) DO NOTHING")
            .bind(day)
            .bind(candidate)
            .execute(&self.pool)
            .await?;
        Ok(sqlx::query_scalar("SELECT salt FROM visit_salts WHERE day = $1").bind(day).fetch_one(&self.pool).await?)
    }

    /// Closes every day before `open_day`: keeps each org's unique-visitor count and deletes the
    /// day's hashes and salt. Returns how many days were closed.
    pub async fn close_visit_days(&self, open_day: &str) -> Result<u64, StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO visitors_daily (day, org_code, visitors) SELECT day, org_code, COUNT(*) FROM visit_uniques \
             WHERE day < $1 GROUP BY day, org_code ON CONFLICT (day, org_code) DO UPDATE SET \
             visitors = visitors_daily.visitors + excluded.visitors",
        )
        .bind(open_day)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM visit_uniques WHERE day < $1").bind(open_day).execute(&mut *tx).await?;
        let closed = sqlx::query("DELETE FROM visit_salts WHERE day < $1").bind(open_day).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(closed.rows_affected())
    }

    /// Every monitor metric in the scope and period, one query per metric.
    pub async fn monitor_values(&self, q: &FigureQuery) -> Result<MonitorValues, StoreError> {
        let cases = sqlx::query_as(
            "SELECT org_code, COUNT(*) AS cases, \
             CAST(SUM(CASE WHEN contacted_at IS NOT NULL AND contacted_at <= contact_due THEN 1 ELSE 0 END) AS BIGINT) \
             AS contact_on_time, \
             CAST(SUM(CASE WHEN contacted_at IS NOT NULL OR contact_due <= $4 THEN 1 ELSE 0 END) AS BIGINT) AS contact_due, \
             CAST(SUM(CASE WHEN completed_at IS NOT NULL AND completed_at <= completion_due THEN 1 ELSE 0 END) AS BIGINT) \
             AS completed_on_time, \
             CAST(SUM(CASE WHEN completed_at IS NOT NULL OR completion_due <= $4 THEN 1 ELSE 0 END) AS BIGINT) \
             AS completion_due, \
             CAST(SUM(CASE WHEN completed_at IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT) AS completed, \
             CAST(COALESCE(SUM(completed_at - submitted_at), 0) AS BIGINT) AS handling_seconds \
             FROM service_cases WHERE org_code LIKE $1 || '%' AND submitted_at >= $2 AND submitted_at < $3 \
             GROUP BY org_code",
        )
        .bind(&q.prefix)
        .bind(q.from)
        .bind(q.to)
        .bind(q.now)
        .fetch_all(&self.pool)
        .await?;
        let ratings = self.monitor_ratings(q).await?;
        Ok(MonitorValues {
            visits: values(self, VISITS, q).await?,
            visitors: values(self, VISITORS, q).await?,
            followers: values(self, FOLLOWERS, q).await?,
            bound_followers: values(self, BOUND_FOLLOWERS, q).await?,
            covered_households: values(self, COVERED, q).await?,
            households: values(self, HOUSEHOLDS, q).await?,
            rosters: values(self, ROSTERS, q).await?,
            power_records: values(self, POWER_RECORDS, q).await?,
            disclosures: values(self, DISCLOSURES, q).await?,
            messages: values(self, MESSAGES, q).await?,
            reports: values(self, REPORTS, q).await?,
            cases,
            ratings,
        })
    }

    /// Satisfaction ratings (cases and messages other than reports) per org, rated in the period.
    pub async fn monitor_ratings(&self, q: &FigureQuery) -> Result<Vec<RatingValues>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT org_code, CAST(SUM(CASE WHEN rating IN ('satisfied', 'basic') THEN 1 ELSE 0 END) AS BIGINT) \
             AS satisfied, COUNT(*) AS rated FROM ( \
             SELECT org_code, rating, rated_at FROM service_cases WHERE rating IS NOT NULL \
             UNION ALL SELECT org_code, rating, rated_at FROM messages WHERE rating IS NOT NULL AND kind <> 'report') r \
             WHERE org_code LIKE $1 || '%' AND rated_at >= $2 AND rated_at < $3 GROUP BY org_code",
        )
        .bind(&q.prefix)
        .bind(q.from)
        .bind(q.to)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Per department: its cases submitted in the period under the scope, their clocks and
    /// handling time, and the ratings of its cases given in the period. Every department is
    /// listed, those without cases with zeros.
    pub async fn monitor_departments(&self, q: &FigureQuery) -> Result<Vec<DepartmentValues>, StoreError> {
        let mut rows: Vec<DepartmentValues> = sqlx::query_as(
            "SELECT d.id AS department_id, d.name, COUNT(c.id) AS cases, \
             CAST(COALESCE(SUM(CASE WHEN c.contacted_at IS NOT NULL AND c.contacted_at <= c.contact_due THEN 1 ELSE 0 END), 0) \
             AS BIGINT) AS contact_on_time, \
             CAST(COALESCE(SUM(CASE WHEN c.contacted_at IS NOT NULL OR c.contact_due <= $4 THEN 1 ELSE 0 END), 0) AS BIGINT) \
             AS contact_due, \
             CAST(COALESCE(SUM(CASE WHEN c.completed_at IS NOT NULL AND c.completed_at <= c.completion_due THEN 1 ELSE 0 END), \
             0) AS BIGINT) AS completed_on_time, \
             CAST(COALESCE(SUM(CASE WHEN c.completed_at IS NOT NULL OR c.completion_due <= $4 THEN 1 ELSE 0 END), 0) AS BIGINT) \
             AS completion_due, \
             CAST(COALESCE(SUM(CASE WHEN c.completed_at IS NOT NULL THEN 1 ELSE 0 END), 0) AS BIGINT) AS completed, \
             CAST(COALESCE(SUM(c.completed_at - c.submitted_at), 0) AS BIGINT) AS handling_seconds, \
             CAST(0 AS BIGINT) AS satisfied, CAST(0 AS BIGINT) AS rated \
             FROM departments d LEFT JOIN service_cases c ON c.department_id = d.id AND c.org_code LIKE $1 || '%' \
             AND c.submitted_at >= $2 AND c.submitted_at < $3 GROUP BY d.id, d.name ORDER BY d.id",
        )
        .bind(&q.prefix)
        .bind(q.from)
        .bind(q.to)
        .bind(q.now)
        .fetch_all(&self.pool)
        .await?;
        let ratings: Vec<(i64, i64, i64)> = sqlx::query_as(
            "SELECT department_id, CAST(SUM(CASE WHEN rating IN ('satisfied', 'basic') THEN 1 ELSE 0 END) AS BIGINT), \
             COUNT(*) FROM service_cases WHERE rating IS NOT NULL AND org_code LIKE $1 || '%' \
             AND rated_at >= $2 AND rated_at < $3 GROUP BY department_id",
        )
        .bind(&q.prefix)
        .bind(q.from)
        .bind(q.to)
        .fetch_all(&self.pool)
        .await?;
        for (department, satisfied, rated) in ratings {
            if let Some(row) = rows.iter_mut().find(|r| r.department_id == department) {
                row.satisfied = satisfied;
                row.rated = rated;
            }
        }
        Ok(rows)
    }

    /// Page views per org in the scope and days of `q` (for trends).
    pub async fn monitor_visits(&self, q: &FigureQuery) -> Result<Vec<OrgValue>, StoreError> {
        values(self, VISITS, q).await
    }

    /// Unique visitors per org in the scope and days of `q`.
    pub async fn monitor_visitors(&self, q: &FigureQuery) -> Result<Vec<OrgValue>, StoreError> {
        values(self, VISITORS, q).await
    }

    /// Visits per day in the scope over `[from_day, to_day)`, days without visits left out.
    pub async fn visits_by_day(&self, prefix: &str, from_day: &str, to_day: &str) -> Result<Vec<DayValue>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT day, CAST(SUM(count) AS BIGINT) AS n FROM visits_daily WHERE org_code LIKE $1 || '%' \
             AND day >= $2 AND day < $3 GROUP BY day ORDER BY day",
        )
        .bind(prefix)
        .bind(from_day)
        .bind(to_day)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The visits behind a figure: day × org × menu × channel, newest first.
    pub async fn monitor_visit_rows(
        &self,
        q: &FigureQuery,
        limit: i64,
        offset: i64,
    ) -> Result<Listing<VisitRow>, StoreError> {
        let total = sqlx::query_scalar(
            "SELECT COUNT(*) FROM visits_daily WHERE org_code LIKE $1 || '%' AND day >= $2 AND day < $3",
        )
        .bind(&q.prefix)
        .bind(&q.from_day)
        .bind(&q.to_day)
        .fetch_one(&self.pool)
        .await?;
        let rows = sqlx::query_as(
            "SELECT v.day, v.org_code, o.name AS org_name, v.menu, v.channel, v.count FROM visits_daily v \
             JOIN orgs o ON o.code = v.org_code WHERE v.org_code LIKE $1 || '%' AND v.day >= $2 AND v.day < $3 \
             ORDER BY v.day DESC, v.org_code, v.menu, v.channel LIMIT $4 OFFSET $5",
        )
        .bind(&q.prefix)
        .bind(&q.from_day)
        .bind(&q.to_day)
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?;
        Ok(Listing { rows, total })
    }

    /// The roster batches behind a figure (each batch's current version), newest first.
    pub async fn monitor_roster_rows(
        &self,
        q: &FigureQuery,
        limit: i64,
        offset: i64,
    ) -> Result<Listing<PublishedRow<RosterState>>, StoreError> {
        const FROM: &str = "FROM rosters r JOIN orgs o ON o.code = r.org_code JOIN programmes p ON p.id = r.programme_id \
             JOIN (SELECT COALESCE(lineage_id, id) AS lineage, MIN(published_at) AS first_at, MAX(id) AS latest \
             FROM rosters WHERE published_at IS NOT NULL AND org_code LIKE $1 || '%' GROUP BY COALESCE(lineage_id, id)) b \
             ON b.latest = r.id WHERE b.first_at >= $2 AND b.first_at < $3";
        self.published_listing(
            FROM,
            "r.id, r.org_code, o.name AS org_name, p.name || ' ' || CAST(r.year AS TEXT) || ' ' || r.period AS title, \
             r.phase, r.status, b.first_at AS published_at",
            "b.first_at DESC, r.id DESC",
            q,
            limit,
            offset,
        )
        .await
    }

    /// The published power records behind a figure, newest first.
    pub async fn monitor_power_rows(
        &self,
        q: &FigureQuery,
        limit: i64,
        offset: i64,
    ) -> Result<Listing<PublishedRow<ExercisedItem>>, StoreError> {
        self.published_listing(
            "FROM power_exercises e JOIN orgs o ON o.code = e.org_code JOIN power_items i ON i.id = e.item_id \
             WHERE e.status = 'published' AND e.org_code LIKE $1 || '%' AND e.published_at >= $2 AND e.published_at < $3",
            "e.id, e.org_code, o.name AS org_name, e.title, i.name AS item_name, e.published_at",
            "e.published_at DESC, e.id DESC",
            q,
            limit,
            offset,
        )
        .await
    }

    /// The disclosures behind a figure (each one's current version), newest first.
    pub async fn monitor_disclosure_rows(
        &self,
        q: &FigureQuery,
        limit: i64,
        offset: i64,
    ) -> Result<Listing<PublishedRow<DisclosedCategory>>, StoreError> {
        self.published_listing(
            "FROM disclosures d JOIN orgs o ON o.code = d.org_code \
             JOIN (SELECT MIN(published_at) AS first_at, MAX(id) AS latest FROM disclosures \
             WHERE published_at IS NOT NULL AND org_code LIKE $1 || '%' GROUP BY COALESCE(lineage_id, id)) b \
             ON b.latest = d.id WHERE b.first_at >= $2 AND b.first_at < $3",
            "d.id, d.org_code, o.name AS org_name, d.title, d.category, b.first_at AS published_at",
            "b.first_at DESC, d.id DESC",
            q,
            limit,
            offset,
        )
        .await
    }

    async fn published_listing<D>(
        &self,
        from: &str,
        columns: &str,
        order: &str,
        q: &FigureQuery,
        limit: i64,
        offset: i64,
    ) -> Result<Listing<PublishedRow<D>>, StoreError>
    where
        D: for<'r> FromRow<'r, sqlx::any::AnyRow> + Send + Unpin,
    {
        let total = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) {from}")))
            .bind(&q.prefix)
            .bind(q.from)
            .bind(q.to)
            .fetch_one(&self.pool)
            .await?;
        let rows =
            sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {columns} {from} ORDER BY {order} LIMIT $4 OFFSET $5")))
                .bind(&q.prefix)
                .bind(q.from)
                .bind(q.to)
                .bind(limit)
                .bind(offset)
                .fetch_all(&self.pool)
                .await?;
        Ok(Listing { rows, total })
    }

    /// The messages behind a figure, newest first; reports only when `with_reports`.
    pub async fn monitor_message_rows(
        &self,
        q: &FigureQuery,
        with_reports: bool,
        limit: i64,
        offset: i64,
    ) -> Result<Listing<MessageRow>, StoreError> {
        const WHERE: &str = "WHERE m.status <> 'hidden' AND m.org_code LIKE $1 || '%' AND m.submitted_at >= $2 \
             AND m.submitted_at < $3 AND (m.kind <> 'report' OR $4 = 1)";
        let total = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM messages m {WHERE}")))
            .bind(&q.prefix)
            .bind(q.from)
            .bind(q.to)
            .bind(i64::from(with_reports))
            .fetch_one(&self.pool)
            .await?;
        let rows = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT m.tracking, m.org_code, o.name AS org_name, m.kind, m.status, m.submitted_at, m.replied_at, \
             m.rating FROM messages m JOIN orgs o ON o.code = m.org_code {WHERE} \
             ORDER BY m.submitted_at DESC, m.id DESC LIMIT $5 OFFSET $6"
        )))
        .bind(&q.prefix)
        .bind(q.from)
        .bind(q.to)
        .bind(i64::from(with_reports))
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?;
        Ok(Listing { rows, total })
    }

    /// The service cases behind a figure, newest first.
    pub async fn monitor_case_rows(
        &self,
        q: &FigureQuery,
        limit: i64,
        offset: i64,
    ) -> Result<Listing<CaseRow>, StoreError> {
        const WHERE: &str = "WHERE c.org_code LIKE $1 || '%' AND c.submitted_at >= $2 AND c.submitted_at < $3";
        let total = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM service_cases c {WHERE}")))
            .bind(&q.prefix)
            .bind(q.from)
            .bind(q.to)
            .fetch_one(&self.pool)
            .await?;
        let rows = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT c.tracking, c.org_code, o.name AS org_name, i.name AS item_name, c.status, c.submitted_at, \
             c.contact_due, c.contacted_at, c.completion_due, c.completed_at, c.rating FROM service_cases c \
             JOIN orgs o ON o.code = c.org_code JOIN service_items i ON i.id = c.item_id {WHERE} \
             ORDER BY c.submitted_at DESC, c.id DESC LIMIT $4 OFFSET $5"
        )))
        .bind(&q.prefix)
        .bind(q.from)
        .bind(q.to)
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?;
        Ok(Listing { rows, total })
    }

    /// The households behind the coverage figure, uncovered first.
    pub async fn monitor_household_rows(
        &self,
        prefix: &str,
        limit: i64,
        offset: i64,
    ) -> Result<Listing<HouseholdRow>, StoreError> {
        let total = sqlx::query_scalar("SELECT COUNT(*) FROM households WHERE org_code LIKE $1 || '%'")
            .bind(prefix)
            .fetch_one(&self.pool)
            .await?;
        let rows = sqlx::query_as(
            "SELECT h.household_no, h.org_code, o.name AS org_name, h.head_name, \
             CASE WHEN EXISTS (SELECT 1 FROM wechat_followers f WHERE f.household_id = h.id AND f.subscribed = 1) \
             OR EXISTS (SELECT 1 FROM proven_households p WHERE p.household_id = h.id) \
             THEN 1 ELSE 0 END AS covered FROM households h JOIN orgs o ON o.code = h.org_code \
             WHERE h.org_code LIKE $1 || '%' ORDER BY covered, h.org_code, h.household_no LIMIT $2 OFFSET $3",
        )
        .bind(prefix)
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?;
        Ok(Listing { rows, total })
    }
}
