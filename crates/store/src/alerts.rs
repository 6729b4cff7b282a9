//! 预警 storage: raising an alert once per dedup key, its handling by compare-and-set, the list
//! with filters and counts per township, the queries that find each alert condition in bulk (one
//! per kind), and the figures of the live overview.
//!
//! Raising never touches an existing alert, so a re-scan neither duplicates nor resets handling.
//! This module never decides who may see an alert: callers pass the scope and whether alerts about
//! reports (举报) are included.

use sqlx::FromRow;
use xiaowei_core::Transition;
use xiaowei_core::alert::{AlertKind, AlertStatus, SubjectKind};
use xiaowei_core::disclosure::Category;

use crate::decode::{Flag, MaybeCode};
use crate::disclosures::DISCLOSED;
use crate::{Store, StoreError};

/// Open cases: still awaiting the officer's work.
const CASE_OPEN: &str = "status IN ('submitted', 'in_progress', 'reopened')";
/// Open messages: still awaiting a reply.
const MESSAGE_OPEN: &str = "status IN ('submitted', 'handling', 'reopened')";

#[derive(Debug, Clone)]
pub struct NewAlert {
    pub kind: AlertKind,
    pub org_code: String,
    pub subject_kind: SubjectKind,
    pub subject_id: String,
    pub dedup_key: String,
    pub summary: String,
    pub link: String,
    pub restricted: bool,
}

#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct Alert {
    pub id: i64,
    #[sqlx(try_from = "String")]
    pub kind: AlertKind,
    pub org_code: String,
    #[sqlx(try_from = "String")]
    pub subject_kind: SubjectKind,
    pub subject_id: String,
    pub dedup_key: String,
    pub summary: String,
    pub link: String,
    #[sqlx(try_from = "Flag")]
    pub restricted: bool,
    pub raised_at: i64,
    #[sqlx(try_from = "String")]
    pub status: AlertStatus,
    pub looked_at_by: Option<i64>,
    pub looked_at_name: Option<String>,
    pub looked_at: Option<i64>,
    pub resolved_by: Option<i64>,
    pub resolved_by_name: Option<String>,
    pub resolved_at: Option<i64>,
    pub note: Option<String>,
}

const COLUMNS: &str = "a.id, a.kind, a.org_code, a.subject_kind, a.subject_id, a.dedup_key, a.summary, a.link, \
     a.restricted, a.raised_at, a.status, a.looked_at_by, l.display_name AS looked_at_name, a.looked_at, \
     a.resolved_by, r.display_name AS resolved_by_name, a.resolved_at, a.note";
/// Among alerts raised at the same moment (a first scan), those about people waiting come first.
const KIND_RANK: &str = "CASE a.kind WHEN 'contact_overdue' THEN 0 WHEN 'deadline_overdue' THEN 1 \
     WHEN 'unsatisfied' THEN 2 WHEN 'dead_routing' THEN 3 WHEN 'roster_differences' THEN 4 \
     WHEN 'power_steps' THEN 5 ELSE 6 END";
const FROM: &str = "alerts a LEFT JOIN staff_users l ON l.id = a.looked_at_by \
     LEFT JOIN staff_users r ON r.id = a.resolved_by";

/// A filter over alerts.
#[derive(Debug, Clone, Default)]
pub struct AlertFilter {
    /// Only alerts in this org subtree (the account's scope, or a township inside it).
    pub org_prefix: String,
    /// Whether alerts about reports (举报) are included (the discipline commission only).
    pub include_restricted: bool,
    pub kind: Option<AlertKind>,
    pub status: Option<AlertStatus>,
}

/// How many alerts of one status one township has.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct AlertCount {
    pub township_code: String,
    #[sqlx(try_from = "String")]
    pub status: AlertStatus,
    pub count: i64,
}

/// How many alerts of one kind.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct AlertKindCount {
    #[sqlx(try_from = "String")]
    pub kind: AlertKind,
    pub count: i64,
}

/// A commission member who receives the daily alert digest: a supervisor account with a phone.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct DigestRecipient {
    pub id: i64,
    pub org_code: String,
    pub display_name: String,
    pub phone_enc: Vec<u8>,
    pub phone_idx: String,
}

/// A case, message or objection meeting an alert condition: `detail` is the item's name (cases)
/// or the message's kind, `at` when the condition began.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct ConditionRow {
    #[sqlx(try_from = "String")]
    pub subject: SubjectKind,
    pub tracking: String,
    pub org_code: String,
    pub detail: String,
    pub at: i64,
}

/// When a village last disclosed one category; `category` is `None` for a village that never
/// disclosed anything.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct VillageDisclosed {
    pub code: String,
    pub name: String,
    #[sqlx(try_from = "MaybeCode")]
    pub category: Option<Category>,
    pub last_published_at: Option<i64>,
}

/// A published power exercise with its item's step limits and its recorded steps.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PowerTimeline {
    pub id: i64,
    pub org_code: String,
    pub title: String,
    pub item_name: String,
    pub started_on: String,
    pub limits: Vec<u16>,
    /// (step number, done on `YYYY-MM-DD`).
    pub steps: Vec<(i64, String)>,
}

/// A published paid roster with stored differences from the proposed roster it settles.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct DifferingRoster {
    pub roster_id: i64,
    pub org_code: String,
    pub programme: String,
    pub year: i64,
    pub period: String,
    pub differences: i64,
}

/// One text about a new case to one recipient, with whether the case was contacted in time.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct RoutedCase {
    pub phone_idx: String,
    pub recipient: String,
    pub phone_enc: Vec<u8>,
    pub tracking: String,
    pub org_code: String,
    pub submitted_at: i64,
    pub contact_due: i64,
    pub contacted_at: Option<i64>,
}

impl RoutedCase {
    pub fn contacted_in_time(&self) -> bool {
        self.contacted_at.is_some_and(|at| at <= self.contact_due)
    }
}

/// The live overview's figures for one scope.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LiveFigures {
    pub open_cases: i64,
    pub open_messages: i64,
    pub overdue_cases: i64,
    pub overdue_messages: i64,
    pub contact_overdue: i64,
    pub satisfied: i64,
    pub basic: i64,
    pub unsatisfied: i64,
    pub new_alerts: i64,
}

/// A recent arrival for the live overview: `kind` is a case or a message, `detail` the item's name
/// or the message's kind. No personal data.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct LiveEvent {
    #[sqlx(try_from = "String")]
    pub kind: SubjectKind,
    pub at: i64,
    pub org_code: String,
    pub detail: String,
}

impl Store {
    /// Raises an alert unless one with the same dedup key exists; `Ok(true)` when it is new. An
    /// existing alert is left exactly as it is, handling included.
    pub async fn raise_alert(&self, a: &NewAlert, now: i64) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO alerts (kind, org_code, subject_kind, subject_id, dedup_key, summary, link, restricted, \
             raised_at, status) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'new') ON CONFLICT (dedup_key) DO NOTHING",
        )
        .bind(a.kind.as_str())
        .bind(&a.org_code)
        .bind(a.subject_kind.as_str())
        .bind(&a.subject_id)
        .bind(&a.dedup_key)
        .bind(&a.summary)
        .bind(&a.link)
        .bind(i64::from(a.restricted))
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Which of `keys` already name an alert, so that a scan writes only what is new.
    pub async fn known_alert_keys(&self, keys: &[String]) -> Result<std::collections::HashSet<String>, StoreError> {
        let mut known = std::collections::HashSet::new();
        for chunk in keys.chunks(500) {
            let placeholders: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = sqlx::AssertSqlSafe(format!(
                "SELECT dedup_key FROM alerts WHERE dedup_key IN ({})",
                placeholders.join(", ")
            ));
            let mut q = sqlx::query_scalar::<_, String>(sql);
            for key in chunk {
                q = q.bind(key);
            }
            known.extend(q.fetch_all(&self.pool).await?);
        }
        Ok(known)
    }

    pub async fn find_alert(&self, id: i64) -> Result<Option<Alert>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM {FROM} WHERE a.id = $1"));
        Ok(sqlx::query_as(sql).bind(id).fetch_optional(&self.pool).await?)
    }

    /// Moves an alert along `change` by compare-and-set, recording who did it and when (and the
    /// note, on resolving); `Ok(false)` when it was no longer in `change.from()` (someone acted
    /// first).
    pub async fn change_alert(
        &self,
        id: i64,
        change: Transition<AlertStatus>,
        by: i64,
        note: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        // Who and when go with the status they record; handling never returns to new.
        let set = match change.to() {
            AlertStatus::New => "",
            AlertStatus::LookedAt => ", looked_at_by = $4, looked_at = $5",
            AlertStatus::Resolved => ", resolved_by = $4, resolved_at = $5, note = $6",
        };
        let sql = sqlx::AssertSqlSafe(format!("UPDATE alerts SET status = $1{set} WHERE id = $2 AND status = $3"));
        let mut query = sqlx::query(sql).bind(change.to().as_str()).bind(id).bind(change.from().as_str());
        if change.to() != AlertStatus::New {
            query = query.bind(by).bind(now);
        }
        if change.to() == AlertStatus::Resolved {
            query = query.bind(note);
        }
        let done = query.execute(&self.pool).await?;
        Ok(done.rows_affected() == 1)
    }

    /// A page of alerts (unresolved before resolved, newest first, then by urgency of kind) and the
    /// total matching.
    pub async fn alerts(&self, filter: &AlertFilter, limit: i64, offset: i64) -> Result<(Vec<Alert>, i64), StoreError> {
        let condition = "a.org_code LIKE $1 || '%' AND ($2 = 1 OR a.restricted = 0) AND ($3 = '' OR a.kind = $3) \
                         AND ($4 = '' OR a.status = $4)";
        let kind = filter.kind.map_or("", AlertKind::as_str);
        let status = filter.status.map_or("", AlertStatus::as_str);
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM {FROM} WHERE {condition} \
             ORDER BY CASE WHEN a.status = 'resolved' THEN 1 ELSE 0 END, a.raised_at DESC, {KIND_RANK}, a.id DESC \
             LIMIT $5 OFFSET $6"
        ));
        let rows = sqlx::query_as(sql)
            .bind(&filter.org_prefix)
            .bind(i64::from(filter.include_restricted))
            .bind(kind)
            .bind(status)
            .bind(limit)
            .bind(offset)
            .fetch_all(&self.pool)
            .await?;
        let count = sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM alerts a WHERE {condition}"));
        let total = sqlx::query_scalar(count)
            .bind(&filter.org_prefix)
            .bind(i64::from(filter.include_restricted))
            .bind(kind)
            .bind(status)
            .fetch_one(&self.pool)
            .await?;
        Ok((rows, total))
    }

    /// Alerts by township (the first nine digits of the org code) and status in a subtree.
    /// Alerts within `org_prefix` by kind: with `status`, only those in it; with `raised`, only
    /// those raised in `[from, to)`.
    pub async fn alert_kind_counts(
        &self,
        org_prefix: &str,
        include_restricted: bool,
        status: Option<&str>,
        raised: Option<(i64, i64)>,
    ) -> Result<Vec<AlertKindCount>, StoreError> {
        let (from, to) = raised.unwrap_or((i64::MIN, i64::MAX));
        Ok(sqlx::query_as(
            "SELECT kind, COUNT(*) AS count FROM alerts \
             WHERE org_code LIKE $1 || '%' AND ($2 = 1 OR restricted = 0) AND ($3 = '' OR status = $3) \
             AND raised_at >= $4 AND raised_at < $5 GROUP BY kind ORDER BY COUNT(*) DESC, kind",
        )
        .bind(org_prefix)
        .bind(i64::from(include_restricted))
        .bind(status.unwrap_or(""))
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Who receives the commission's daily alert digest.
    pub async fn digest_recipients(&self) -> Result<Vec<DigestRecipient>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, org_code, display_name, phone_enc, phone_idx FROM staff_users \
             WHERE role = 'supervisor' AND disabled = 0 AND phone_enc IS NOT NULL AND phone_idx IS NOT NULL ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn alert_counts(
        &self,
        org_prefix: &str,
        include_restricted: bool,
    ) -> Result<Vec<AlertCount>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT SUBSTR(org_code, 1, 9) AS township_code, status, COUNT(*) AS count FROM alerts \
             WHERE org_code LIKE $1 || '%' AND ($2 = 1 OR restricted = 0) \
             GROUP BY SUBSTR(org_code, 1, 9), status ORDER BY SUBSTR(org_code, 1, 9), status",
        )
        .bind(org_prefix)
        .bind(i64::from(include_restricted))
        .fetch_all(&self.pool)
        .await?)
    }

    /// Cases whose 24-hour contact deadline passed before `now` without contact, or with contact
    /// recorded late.
    pub async fn cases_contact_breached(&self, now: i64) -> Result<Vec<ConditionRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT 'case' AS subject, c.tracking, c.org_code, i.name AS detail, c.contact_due AS at \
             FROM service_cases c JOIN service_items i ON i.id = c.item_id \
             WHERE c.contact_due < $1 AND (c.contacted_at IS NULL OR c.contacted_at > c.contact_due) \
             ORDER BY c.id",
        )
        .bind(now)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Cases and messages past their deadline: still open after it, finished after it, or marked
    /// overdue by the clocks. Merged and hidden messages are left out.
    pub async fn deadlines_breached(&self, now: i64) -> Result<Vec<ConditionRow>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT 'case' AS subject, c.tracking, c.org_code, i.name AS detail, c.completion_due AS at \
             FROM service_cases c JOIN service_items i ON i.id = c.item_id \
             WHERE (c.completion_due < $1 AND (c.{CASE_OPEN} OR c.completed_at > c.completion_due)) \
             OR c.completion_overdue_at IS NOT NULL \
             UNION ALL \
             SELECT 'message' AS subject, m.tracking, m.org_code, m.kind AS detail, m.reply_due AS at FROM messages m \
             WHERE m.status NOT IN ('merged', 'hidden') AND ((m.reply_due < $1 AND (m.{MESSAGE_OPEN} \
             OR m.replied_at > m.reply_due)) OR m.overdue_at IS NOT NULL) \
             UNION ALL \
             SELECT 'objection' AS subject, CAST(o.id AS TEXT) AS tracking, o.org_code, '' AS detail, \
             o.reply_due AS at FROM objections o WHERE (o.reply_due < $1 AND (o.status <> 'closed' \
             OR o.replied_at > o.reply_due)) OR o.overdue_at IS NOT NULL \
             ORDER BY 1, 2"
        ));
        Ok(sqlx::query_as(sql).bind(now).fetch_all(&self.pool).await?)
    }

    /// Cases and messages whose current rating is 不满意, with when it was given.
    pub async fn unsatisfied_ratings(&self) -> Result<Vec<ConditionRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT 'case' AS subject, c.tracking, c.org_code, i.name AS detail, c.rated_at AS at \
             FROM service_cases c JOIN service_items i ON i.id = c.item_id \
             WHERE c.rating = 'unsatisfied' AND c.rated_at IS NOT NULL \
             UNION ALL \
             SELECT 'message' AS subject, m.tracking, m.org_code, m.kind AS detail, m.rated_at AS at FROM messages m \
             WHERE m.rating = 'unsatisfied' AND m.rated_at IS NOT NULL \
             UNION ALL \
             SELECT 'objection' AS subject, CAST(o.id AS TEXT) AS tracking, o.org_code, '' AS detail, \
             o.rated_at AS at FROM objections o WHERE o.rating = 'unsatisfied' AND o.rated_at IS NOT NULL \
             ORDER BY 1, 2",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// Every village with when it last disclosed each category (withdrawn disclosures count, as on
    /// the public pages; drafts do not).
    pub async fn villages_last_disclosed(&self) -> Result<Vec<VillageDisclosed>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT o.code, o.name, d.category, MAX(d.published_at) AS last_published_at FROM orgs o \
             LEFT JOIN disclosures d ON d.org_code = o.code AND d.status IN {DISCLOSED} AND d.published_at IS NOT NULL \
             WHERE o.level = 'village' GROUP BY o.code, o.name, d.category ORDER BY o.code, d.category"
        ));
        Ok(sqlx::query_as(sql).fetch_all(&self.pool).await?)
    }

    /// Every published power exercise with its procedure's limits and its recorded steps.
    pub async fn published_power_timelines(&self) -> Result<Vec<PowerTimeline>, StoreError> {
        let exercises: Vec<(i64, String, String, String, String, i64)> = sqlx::query_as(
            "SELECT e.id, e.org_code, e.title, i.name, e.started_on, e.item_id FROM power_exercises e \
             JOIN power_items i ON i.id = e.item_id WHERE e.status = 'published' ORDER BY e.id",
        )
        .fetch_all(&self.pool)
        .await?;
        let limits: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT item_id, limit_days FROM power_item_steps WHERE item_id IN \
             (SELECT item_id FROM power_exercises WHERE status = 'published') ORDER BY item_id, step_no",
        )
        .fetch_all(&self.pool)
        .await?;
        let steps: Vec<(i64, i64, String)> = sqlx::query_as(
            "SELECT s.exercise_id, s.step_no, s.done_on FROM power_exercise_steps s \
             JOIN power_exercises e ON e.id = s.exercise_id WHERE e.status = 'published' ORDER BY s.exercise_id, s.step_no",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut item_limits: std::collections::BTreeMap<i64, Vec<u16>> = std::collections::BTreeMap::new();
        for (item, days) in limits {
            item_limits.entry(item).or_default().push(u16::try_from(days).unwrap_or(u16::MAX));
        }
        let mut recorded: std::collections::BTreeMap<i64, Vec<(i64, String)>> = std::collections::BTreeMap::new();
        for (exercise, step_no, done_on) in steps {
            recorded.entry(exercise).or_default().push((step_no, done_on));
        }
        Ok(exercises
            .into_iter()
            .map(|(id, org_code, title, item_name, started_on, item_id)| PowerTimeline {
                id,
                org_code,
                title,
                item_name,
                started_on,
                limits: item_limits.get(&item_id).cloned().unwrap_or_default(),
                steps: recorded.remove(&id).unwrap_or_default(),
            })
            .collect())
    }

    /// Published paid rosters with at least one stored difference from the proposed roster.
    pub async fn differing_paid_rosters(&self) -> Result<Vec<DifferingRoster>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT r.id AS roster_id, r.org_code, p.name AS programme, r.year, r.period, COUNT(d.id) AS differences \
             FROM rosters r JOIN programmes p ON p.id = r.programme_id JOIN roster_differences d ON d.roster_id = r.id \
             WHERE r.phase = 'paid' AND r.status = 'published' \
             GROUP BY r.id, r.org_code, p.name, r.year, r.period ORDER BY r.id",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// Texts about new cases whose contact deadline passed before `now`, by recipient (blind
    /// index) and newest case first: the material of the dead-routing rule.
    pub async fn routed_new_cases(&self, now: i64) -> Result<Vec<RoutedCase>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT o.phone_idx, o.recipient, o.phone_enc, c.tracking, c.org_code, c.submitted_at, c.contact_due, \
             c.contacted_at FROM outbox o JOIN service_cases c ON c.id = o.case_id \
             WHERE o.notice = 'case_submitted' AND o.channel = 'sms' AND c.contact_due < $1 \
             ORDER BY o.phone_idx, c.submitted_at DESC, c.id DESC",
        )
        .bind(now)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The live overview's figures in a subtree at `now`; ratings count from `month_start`.
    /// Reports (举报) count only when `include_reports`.
    pub async fn live_figures(
        &self,
        org_prefix: &str,
        include_reports: bool,
        now: i64,
        month_start: i64,
    ) -> Result<LiveFigures, StoreError> {
        let cases: (i64, i64, i64) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*), \
             COALESCE(SUM(CASE WHEN completion_due < $2 THEN 1 ELSE 0 END), 0), \
             COALESCE(SUM(CASE WHEN status = 'submitted' AND contact_due < $2 THEN 1 ELSE 0 END), 0) \
             FROM service_cases WHERE org_code LIKE $1 || '%' AND {CASE_OPEN}"
        )))
        .bind(org_prefix)
        .bind(now)
        .fetch_one(&self.pool)
        .await?;
        let messages: (i64, i64) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*), COALESCE(SUM(CASE WHEN reply_due < $2 THEN 1 ELSE 0 END), 0) \
             FROM messages WHERE org_code LIKE $1 || '%' AND ($3 = 1 OR kind <> 'report') AND {MESSAGE_OPEN}"
        )))
        .bind(org_prefix)
        .bind(now)
        .bind(i64::from(include_reports))
        .fetch_one(&self.pool)
        .await?;
        let ratings: Vec<(String, i64)> = sqlx::query_as(
            "SELECT rating, COUNT(*) FROM (\
             SELECT rating FROM service_cases WHERE org_code LIKE $1 || '%' AND rated_at >= $2 AND rating IS NOT NULL \
             UNION ALL SELECT rating FROM messages WHERE org_code LIKE $1 || '%' AND rated_at >= $2 \
             AND rating IS NOT NULL AND ($3 = 1 OR kind <> 'report')) r GROUP BY rating",
        )
        .bind(org_prefix)
        .bind(month_start)
        .bind(i64::from(include_reports))
        .fetch_all(&self.pool)
        .await?;
        let new_alerts: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM alerts WHERE org_code LIKE $1 || '%' AND status = 'new' AND ($2 = 1 OR restricted = 0)",
        )
        .bind(org_prefix)
        .bind(i64::from(include_reports))
        .fetch_one(&self.pool)
        .await?;
        let rated = |r: &str| ratings.iter().find(|(k, _)| k == r).map_or(0, |(_, n)| *n);
        Ok(LiveFigures {
            open_cases: cases.0,
            overdue_cases: cases.1,
            contact_overdue: cases.2,
            open_messages: messages.0,
            overdue_messages: messages.1,
            satisfied: rated("satisfied"),
            basic: rated("basic"),
            unsatisfied: rated("unsatisfied"),
            new_alerts,
        })
    }

    /// The newest cases and messages in a subtree, newest first.
    pub async fn latest_arrivals(
        &self,
        org_prefix: &str,
        include_reports: bool,
        limit: i64,
    ) -> Result<Vec<LiveEvent>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT kind, at, org_code, detail FROM (\
             SELECT 'case' AS kind, c.submitted_at AS at, c.org_code, i.name AS detail, c.id AS id \
             FROM service_cases c JOIN service_items i ON i.id = c.item_id WHERE c.org_code LIKE $1 || '%' \
             UNION ALL SELECT 'message' AS kind, m.submitted_at AS at, m.org_code, m.kind AS detail, m.id AS id \
             FROM messages m WHERE m.org_code LIKE $1 || '%' AND ($2 = 1 OR m.kind <> 'report')) e \
             ORDER BY at DESC, id DESC LIMIT $3",
        )
        .bind(org_prefix)
        .bind(i64::from(include_reports))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }
}
