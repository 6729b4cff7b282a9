//! What every kind of tracked request (办件, 留言, 异议) stores the same way: filing with its photos,
//! first event and texts in one transaction; the timeline; the clock marks a periodic pass sets
//! once; and the compare-and-set status change, which takes a `core` [`Transition`].
//!
//! Each kind keeps its own table (`service_cases`, `messages`, `objections`) beside its own events
//! table, photos table and outbox link, named by [`RequestKind`]. One shared table was weighed and
//! not taken: each kind's columns carry rules the database enforces (a case's item and department
//! are foreign keys and its ID number column exists only there; a message's kind, 举报 secrecy and
//! merge link; an objection's roster, entry and programme links), each has its own tracking-number
//! unique constraint that the number redraw names (`error::DUPLICATES` in the server), and the
//! monitor, board and Open311 queries read each table on its own indexes. What the kinds share is
//! behaviour, so it lives here once and the tables only agree in shape: the three events tables
//! have the same columns (migration 0037 gave messages and objections the `method` column cases
//! had), and the two photo tables too. This module never decides whether a change is allowed: the
//! transition comes from the kind's state machine in core.

use sqlx::any::{AnyArguments, AnyRow};
use sqlx::{Any, FromRow, Row};
use xiaowei_core::Transition;
use xiaowei_core::message::{MessageKind, MessageStatus};
use xiaowei_core::objection::ObjectionStatus;
use xiaowei_core::service::{CaseStatus, ContactMethod};
use xiaowei_core::tracked::{Rating, TimelineKind};

use crate::decode::{Flag, MaybeCode};
use crate::outbox::{NewOutbox, insert_outbox};
use crate::{Store, StoreError};

/// A case's or a message's status with what kind it is, read from one query over both tables (the
/// board, an owner's list): its `kind` column holds `case` or the message kind's code, its
/// `status` column the status in that kind's own vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filed {
    Case(CaseStatus),
    Message(MessageKind, MessageStatus),
}

impl Filed {
    /// The status as the public pages name it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Case(status) => status.label(),
            Self::Message(_, status) => status.label(),
        }
    }

    /// Decodes the row's `kind` and `status` columns.
    pub(crate) fn read(row: &AnyRow) -> Result<Self, sqlx::Error> {
        let kind: String = row.try_get("kind")?;
        let status: String = row.try_get("status")?;
        let bad = |column: &'static str| {
            move |e: xiaowei_core::UnknownCode| sqlx::Error::ColumnDecode { index: column.to_owned(), source: e.into() }
        };
        Ok(if kind == "case" {
            Self::Case(CaseStatus::try_from(status).map_err(bad("status"))?)
        } else {
            Self::Message(
                MessageKind::try_from(kind).map_err(bad("kind"))?,
                MessageStatus::try_from(status).map_err(bad("status"))?,
            )
        })
    }
}

/// Reads a nullable code column of a hand-decoded row.
pub(crate) fn maybe_code<T: TryFrom<String, Error = xiaowei_core::UnknownCode>>(
    row: &AnyRow,
    column: &str,
) -> Result<Option<T>, sqlx::Error> {
    Option::<T>::try_from(row.try_get::<MaybeCode, _>(column)?)
        .map_err(|e| sqlx::Error::ColumnDecode { index: column.to_owned(), source: e.into() })
}

/// A kind of tracked request, naming its tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RequestKind {
    /// 办件, in `service_cases`.
    Case,
    /// 留言, in `messages`.
    Message,
    /// 异议, in `objections`.
    Objection,
}

impl RequestKind {
    fn table(self) -> &'static str {
        match self {
            Self::Case => "service_cases",
            Self::Message => "messages",
            Self::Objection => "objections",
        }
    }

    fn events(self) -> &'static str {
        match self {
            Self::Case => "case_events",
            Self::Message => "message_events",
            Self::Objection => "objection_events",
        }
    }

    /// The column naming the request in its events and photos tables.
    fn key(self) -> &'static str {
        match self {
            Self::Case => "case_id",
            Self::Message => "message_id",
            Self::Objection => "objection_id",
        }
    }

    /// Objections take no photos.
    fn photos(self) -> Option<&'static str> {
        match self {
            Self::Case => Some("case_photos"),
            Self::Message => Some("message_photos"),
            Self::Objection => None,
        }
    }

    /// The outbox column linking a text to its request; an objection's texts stay unlinked, so the
    /// tracking code they carry shows on no request's page.
    fn outbox_key(self) -> Option<&'static str> {
        match self {
            Self::Case => Some("case_id"),
            Self::Message => Some("message_id"),
            Self::Objection => None,
        }
    }
}

/// The status of a kind of tracked request, as its compare-and-set writes it.
pub trait RequestStatus: Copy {
    const KIND: RequestKind;
    /// What a status change of this kind also writes on the row.
    type Change: Writes;

    fn code(self) -> &'static str;
}

impl RequestStatus for CaseStatus {
    const KIND: RequestKind = RequestKind::Case;
    type Change = crate::CaseChange;

    fn code(self) -> &'static str {
        self.as_str()
    }
}

impl RequestStatus for MessageStatus {
    const KIND: RequestKind = RequestKind::Message;
    type Change = crate::MessageChange;

    fn code(self) -> &'static str {
        self.as_str()
    }
}

impl RequestStatus for ObjectionStatus {
    const KIND: RequestKind = RequestKind::Objection;
    type Change = crate::ObjectionChange;

    fn code(self) -> &'static str {
        self.as_str()
    }
}

/// A kind's change record turned into the columns a status change writes and the guards it adds.
pub trait Writes {
    fn write(&self, columns: &mut Columns);
}

/// A value a status change writes.
enum Value {
    Int(i64),
    Text(String),
}

/// The extra `SET` columns and `WHERE` guards of one status change. Placeholders `$1`–`$4` are
/// the new status, now, the id and the expected status; each value set here takes the next.
#[derive(Default)]
pub struct Columns {
    sets: String,
    guards: String,
    values: Vec<Value>,
}

impl Columns {
    fn push(&mut self, column: &str, value: Value) {
        self.values.push(value);
        self.sets.push_str(&format!(", {column} = ${}", self.values.len() + 4));
    }

    /// `column = value`.
    pub(crate) fn int(&mut self, column: &str, value: i64) {
        self.push(column, Value::Int(value));
    }

    /// `column = value`.
    pub(crate) fn text(&mut self, column: &str, value: &str) {
        self.push(column, Value::Text(value.to_owned()));
    }

    /// `column = now`.
    pub(crate) fn now(&mut self, column: &str) {
        self.sets.push_str(&format!(", {column} = $2"));
    }

    /// `column = NULL`.
    pub(crate) fn clear(&mut self, column: &str) {
        self.sets.push_str(&format!(", {column} = NULL"));
    }

    /// The filer's rating and comment, stamped now.
    pub(crate) fn rating(&mut self, rating: &Rating) {
        self.text("rating", rating.satisfaction.as_str());
        self.text("rating_comment", &rating.comment);
        self.now("rated_at");
    }

    /// A new deadline `(due, remind at, basis)` in the clock's `(due, remind)` columns, clearing
    /// the `marks` set on the old one so that the new deadline runs its own clock.
    pub(crate) fn deadline(&mut self, columns: (&str, &str), marks: [&str; 2], deadline: &(i64, i64, String)) {
        self.int(columns.0, deadline.0);
        self.int(columns.1, deadline.1);
        self.text("deadline_basis", &deadline.2);
        for mark in marks {
            self.clear(mark);
        }
    }

    /// A further condition the row must meet, e.g. `rating IS NULL`.
    pub(crate) fn guard(&mut self, condition: &str) {
        self.guards.push_str(&format!(" AND {condition}"));
    }
}

/// The columns of the reply clock messages and objections run: the reply deadline and its
/// reminder time, and the marks set on them.
pub(crate) const REPLY_CLOCK: (&str, &str) = ("reply_due", "reply_remind_at");
pub(crate) const REPLY_MARKS: [&str; 2] = ["reminded_at", "overdue_at"];

/// The reply clock's mark and the time column it is due by: the reminder or the overdue flag.
pub(crate) fn reply_mark(overdue: bool) -> (&'static str, &'static str) {
    if overdue { (REPLY_MARKS[1], REPLY_CLOCK.0) } else { (REPLY_MARKS[0], REPLY_CLOCK.1) }
}

/// A clock mark a periodic pass sets once on a request (a reminder, an overdue flag).
pub trait Mark: Copy {
    const KIND: RequestKind;

    /// The column the mark sets and the time column compared with now.
    fn columns(self) -> (&'static str, &'static str);

    /// The condition on the status under which the clock runs.
    fn running(self) -> &'static str;
}

/// A timeline entry to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    pub kind: TimelineKind,
    pub actor: String,
    pub staff_user_id: Option<i64>,
    /// How a case's first contact was made.
    pub method: Option<ContactMethod>,
    pub note: String,
    /// Whether the filer's public timeline shows it.
    pub public: bool,
}

/// A timeline entry.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct Event {
    pub id: i64,
    pub request_id: i64,
    #[sqlx(try_from = "String")]
    pub kind: TimelineKind,
    pub actor: String,
    #[sqlx(try_from = "MaybeCode")]
    pub method: Option<ContactMethod>,
    pub note: String,
    #[sqlx(try_from = "Flag")]
    pub public: bool,
    pub at: i64,
}

/// A photo filed with a request, already in attachment storage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPhoto {
    pub sha256: String,
    pub size: i64,
    pub content_type: String,
    pub original_name: String,
}

#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct Photo {
    pub id: i64,
    pub request_id: i64,
    pub sha256: String,
    pub size: i64,
    pub content_type: String,
    pub original_name: String,
}

/// A new request's row, its once-only form key and what is written with it.
pub(crate) struct Filing<'a, 'q> {
    pub kind: RequestKind,
    /// A repeated key finds the first request instead (`None`: a clash fails as a duplicate).
    pub submit_key: Option<&'a str>,
    /// The `INSERT … RETURNING id` of the kind's row.
    pub insert: sqlx::query::QueryScalar<'q, Any, i64, AnyArguments>,
    pub photos: &'a [NewPhoto],
    pub event: &'a NewEvent,
    pub notices: &'a [NewOutbox],
    pub at: i64,
}

type Tx = sqlx::Transaction<'static, Any>;

impl Store {
    /// Stores a new request with its photos, first event and texts in one transaction. Returns its
    /// id and `true`, or the id a repeated form key already filed and `false`.
    pub(crate) async fn file(&self, f: Filing<'_, '_>) -> Result<(i64, bool), StoreError> {
        let mut tx = self.begin_write().await?;
        if let Some(key) = f.submit_key {
            let sql = sqlx::AssertSqlSafe(format!("SELECT id FROM {} WHERE submit_key = $1", f.kind.table()));
            if let Some(id) = sqlx::query_scalar::<_, i64>(sql).bind(key).fetch_optional(&mut *tx).await? {
                return Ok((id, false));
            }
        }
        let id = f.insert.fetch_one(&mut *tx).await?;
        if let Some(table) = f.kind.photos() {
            let sql = format!(
                "INSERT INTO {table} ({}, sha256, size, content_type, original_name, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
                f.kind.key()
            );
            for p in f.photos {
                sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                    .bind(id)
                    .bind(&p.sha256)
                    .bind(p.size)
                    .bind(&p.content_type)
                    .bind(&p.original_name)
                    .bind(f.at)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        write_event(&mut tx, f.kind, id, f.event, f.notices, f.at).await?;
        tx.commit().await?;
        if !f.notices.is_empty() {
            self.announce_outbox().await;
        }
        Ok((id, true))
    }

    /// Moves a request along `transition` by compare-and-set, writing `change`, the event and the
    /// texts in one transaction. `Ok(false)` when it was no longer in `transition.from()` (someone
    /// acted first) or failed a guard of `change`.
    pub async fn change<S: RequestStatus>(
        &self,
        id: i64,
        transition: Transition<S>,
        change: &S::Change,
        event: &NewEvent,
        notices: &[NewOutbox],
        now: i64,
    ) -> Result<bool, StoreError> {
        let mut columns = Columns::default();
        change.write(&mut columns);
        let sql = sqlx::AssertSqlSafe(format!(
            "UPDATE {} SET status = $1, updated_at = $2{} WHERE id = $3 AND status = $4{}",
            S::KIND.table(),
            columns.sets,
            columns.guards
        ));
        let mut query = sqlx::query(sql).bind(transition.to().code()).bind(now).bind(id).bind(transition.from().code());
        for value in columns.values {
            query = match value {
                Value::Int(v) => query.bind(v),
                Value::Text(v) => query.bind(v),
            };
        }
        let mut tx = self.begin_write().await?;
        if query.execute(&mut *tx).await?.rows_affected() == 0 {
            return Ok(false);
        }
        write_event(&mut tx, S::KIND, id, event, notices, now).await?;
        tx.commit().await?;
        if !notices.is_empty() {
            self.announce_outbox().await;
        }
        Ok(true)
    }

    /// Adds a timeline entry that changes nothing else (e.g. on the kept message of a merge).
    pub async fn add_event(&self, kind: RequestKind, id: i64, event: &NewEvent, now: i64) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        write_event(&mut tx, kind, id, event, &[], now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A request's timeline, oldest first.
    pub async fn events(&self, kind: RequestKind, id: i64) -> Result<Vec<Event>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT id, {key} AS request_id, kind, actor, method, note, public, at FROM {} WHERE {key} = $1 \
             ORDER BY id",
            kind.events(),
            key = kind.key()
        ));
        Ok(sqlx::query_as(sql).bind(id).fetch_all(&self.pool).await?)
    }

    /// A request's photos, in filing order.
    pub async fn photos(&self, kind: RequestKind, id: i64) -> Result<Vec<Photo>, StoreError> {
        let Some(table) = kind.photos() else { return Ok(Vec::new()) };
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT id, {key} AS request_id, sha256, size, content_type, original_name FROM {table} \
             WHERE {key} = $1 ORDER BY id",
            key = kind.key()
        ));
        Ok(sqlx::query_as(sql).bind(id).fetch_all(&self.pool).await?)
    }

    /// Requests whose `mark` is due at `now` and not yet set, earliest first.
    pub async fn due<M: Mark>(&self, mark: M, now: i64, limit: i64) -> Result<Vec<i64>, StoreError> {
        let (set, at) = mark.columns();
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT id FROM {} WHERE {set} IS NULL AND {at} <= $1 AND {} ORDER BY {at} LIMIT $2",
            M::KIND.table(),
            mark.running()
        ));
        Ok(sqlx::query_scalar(sql).bind(now).bind(limit).fetch_all(&self.pool).await?)
    }

    /// Sets `mark` on a request once, with its event and texts; `Ok(false)` when another instance
    /// (or an earlier tick) already did, or the request moved on.
    pub async fn fire<M: Mark>(
        &self,
        id: i64,
        mark: M,
        event: &NewEvent,
        notices: &[NewOutbox],
        now: i64,
    ) -> Result<bool, StoreError> {
        let (set, at) = mark.columns();
        let sql = sqlx::AssertSqlSafe(format!(
            "UPDATE {} SET {set} = $1 WHERE id = $2 AND {set} IS NULL AND {at} <= $1 AND {}",
            M::KIND.table(),
            mark.running()
        ));
        let mut tx = self.begin_write().await?;
        if sqlx::query(sql).bind(now).bind(id).execute(&mut *tx).await?.rows_affected() == 0 {
            return Ok(false);
        }
        write_event(&mut tx, M::KIND, id, event, notices, now).await?;
        tx.commit().await?;
        if !notices.is_empty() {
            self.announce_outbox().await;
        }
        Ok(true)
    }
}

/// Writes a timeline entry and its texts inside a request's transaction.
pub(crate) async fn write_event(
    tx: &mut Tx,
    kind: RequestKind,
    id: i64,
    e: &NewEvent,
    notices: &[NewOutbox],
    now: i64,
) -> Result<(), StoreError> {
    let sql = sqlx::AssertSqlSafe(format!(
        "INSERT INTO {} ({}, kind, actor, staff_user_id, method, note, public, at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        kind.events(),
        kind.key()
    ));
    sqlx::query(sql)
        .bind(id)
        .bind(e.kind.as_str())
        .bind(&e.actor)
        .bind(e.staff_user_id)
        .bind(e.method.map(ContactMethod::as_str))
        .bind(&e.note)
        .bind(i64::from(e.public))
        .bind(now)
        .execute(&mut **tx)
        .await?;
    for n in notices {
        insert_outbox(tx, kind.outbox_key().map(|column| (column, id)), n, now).await?;
    }
    Ok(())
}
