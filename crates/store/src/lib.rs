//! Xiaowei's storage: one API in the platform's own verbs over SQLite (embedded default) and
//! PostgreSQL (production), chosen by the database URL.
//!
//! Queries go through sqlx's `Any` driver with `$n` placeholders, which both engines accept, so
//! one SQL text serves both wherever the dialects agree; each engine keeps its own migrations.
//! Callers pass the current time in, so that clocks stay controllable in tests. This crate never
//! decides policy: who may do what is the server's question, what is valid is the core's.

mod alerts;
mod audit;
mod board;
mod bulk;
mod content;
mod decode;
mod departments;
mod disclosures;
mod error;
mod integrators;
mod kiosks;
mod ledger;
mod limits;
mod live;
mod messages;
mod monitor;
mod objections;
mod ops;
mod orgs;
mod outbox;
mod phones;
mod pii_rotation;
mod powers;
mod screening;
mod search;
mod service_links;
mod services;
mod staff;
mod subsidies;
mod tracked;
mod village_office;
mod wechat;
mod witness_db;
mod witnesses;

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};

pub use alerts::{
    Alert, AlertCount, AlertFilter, AlertKindCount, ConditionRow, DifferingRoster, DigestRecipient, LiveEvent,
    LiveFigures, NewAlert, PowerTimeline, RoutedCase, VillageDisclosed,
};
pub use audit::{AuditEntry, NewAuditEntry};
pub use board::{BoardFilter, BoardRow};
pub use departments::{Contact, Department, NewContact};
pub use disclosures::{
    Disclosure, DisclosureText, FinanceLineRow, NewDisclosure, NewFinanceLine, VillageFinanceDisclosure,
};
pub use error::{StoreError, unique_constraint};
pub use integrators::{IntegratorToken, NewIntegratorToken, RequestCase, RequestFilter, RequestMessage, TokenUse};
pub use kiosks::{Enrolment, KioskTerminal, NewKioskTerminal};
pub use ledger::{LeafRef, LedgerLeaf, NewLeaf};
pub use limits::{QueryBatch, RateEvent};
pub use live::{LiveAnnouncement, LiveListener};
pub use messages::{Message, MessageChange, MessageClock, MessageFilter, NewMessage};
pub use monitor::{
    CaseRow, CaseValues, DayValue, DepartmentValues, DisclosedCategory, ExercisedItem, FigureQuery, HouseholdRow,
    Listing, MessageRow, MonitorValues, OrgValue, PublishedRow, RatingValues, RosterState, UniqueVisitor,
    VisitIncrement, VisitRow,
};
pub use objections::{NewObjection, Objection, ObjectionChange, ObjectionClock, RatingChange};
pub use ops::{COUNTED_TABLES, ExportedSnapshot};
pub use orgs::{Household, NewHousehold, NewOrg, Org, OrgCounts};
pub use outbox::{ListedText, NewOutbox, OutboxCounts, OutboxListener, OutboxMessage};
pub use phones::{NewPhoneProof, OwnRequest, PhoneProof, PhoneSession};
pub use pii_rotation::{
    BatchOutcome, Index, PiiRotation, ROTATED_TABLES, Rotated, RotatedTable, RowKey, Sealed, TableProgress,
};
pub use powers::{
    NewPowerDocument, NewPowerExercise, NewPowerItem, NewPowerStepRecord, PowerDocument, PowerExercise, PowerFlags,
    PowerItem, PowerStepRecord,
};
pub use screening::{
    AccountPayees, BatchEntry, HitEvent, HitFilter, NewHit, NewLead, NewRegistryRecord, OutreachLead,
    ProgrammeScreening, ProposedPerson, RegistryImport, RegistryRow, RunSummary, ScreeningCount, ScreeningEntryRow,
    ScreeningHit, ScreeningRun, ScreeningSettings, SnapshotPart,
};
pub use search::{SearchDocument, SearchHit};
pub use service_links::{NewServiceLink, ServiceLinkRow};
pub use services::{
    CalendarDayRow, CaseChange, CaseExtension, CaseFilter, ClockMark, NewCase, NewServiceItem, RecipientRow,
    ServiceCase, ServiceHandler, ServiceItem,
};
pub use staff::{ANY_CLIENT, LoginClaim, NewStaffUser, SessionRow, StaffUser};
pub use subsidies::{
    Attachment, ClashingEntry, NewAttachment, NewDifference, NewEntry, NewProgramme, NewRoster, PersonEntry, Programme,
    ProgrammeSummary, Roster, RosterDifference, RosterEntry,
};
pub use tracked::{Columns, Event, Filed, Mark, NewEvent, NewPhoto, Photo, RequestKind, RequestStatus, Writes};
pub use village_office::{Cadre, CadreDetails, DutyOverrideRow, Meeting, NewDutyOverride, NewMeeting, WeeklyDuty};
pub use wechat::{CachedToken, Follower, NewWechatAccount, WechatAccount, WechatFigures, WechatText};
pub use witness_db::{WitnessDb, WitnessedLog};
pub use witnesses::StoredCosignature;

/// Which engine a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The storage handle: cheap to clone, shared by every request.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// The ledger audit key, when this server holds it: roster leaves are then written in leaf
    /// format 2, covering payment accounts (see `ledger.rs`).
    audit_key: Option<std::sync::Arc<xiaowei_core::ledger::AuditKey>>,
    /// The ring in use and the retired personal-data keys, when a check of the ledger must
    /// re-derive roster leaves written before a key rotation (see `ledger.rs`).
    retired_pii: Option<std::sync::Arc<(xiaowei_core::PiiCipher, Vec<xiaowei_core::PiiCipher>)>>,
    /// Called after texts are queued (see `outbox.rs`).
    outbox_signal: outbox::OutboxSignal,
    /// The PostgreSQL address, for the connection that listens for queued texts.
    pg_url: Option<PgUrl>,
}

/// A database address that never prints: it may hold a password.
#[derive(Clone)]
struct PgUrl(std::sync::Arc<str>);

impl std::fmt::Debug for PgUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PgUrl(…)")
    }
}

/// How long a pooled PostgreSQL connection may sit idle and still be used without a ping.
const PG_TRUSTED_IDLE: Duration = Duration::from_secs(5);

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

impl Store {
    /// Connects to `url` (`sqlite://path?mode=rwc` or `postgres://…`). SQLite runs in WAL mode
    /// with foreign keys enforced and a busy timeout, so concurrent writers wait instead of failing.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(StoreError::UnsupportedUrl);
        };
        let options = AnyConnectOptions::from_str(url)?;
        let pool_options = AnyPoolOptions::new().acquire_timeout(Duration::from_secs(10));
        let pool = match backend {
            Backend::Sqlite => {
                // An embedded file cannot drop a connection, so skip the ping before each use.
                pool_options
                    .max_connections(8)
                    .test_before_acquire(false)
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            conn.execute(
                                "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; \
                                 PRAGMA busy_timeout = 10000; PRAGMA synchronous = NORMAL; \
                                 PRAGMA cache_size = -65536;",
                            )
                            .await?;
                            Ok(())
                        })
                    })
                    .connect_with(options)
                    .await?
            }
            // A connection used in the last few seconds is trusted as it is; one idle longer is
            // pinged first (a server restart or a dropped link shows there, not in a query).
            // Pinging before every use cost one more round trip for each of a page's queries.
            Backend::Postgres => {
                pool_options
                    .max_connections(16)
                    .test_before_acquire(false)
                    .before_acquire(|conn, meta| {
                        Box::pin(async move {
                            if meta.idle_for > PG_TRUSTED_IDLE {
                                sqlx::Connection::ping(conn).await?;
                            }
                            Ok(true)
                        })
                    })
                    .connect_with(options)
                    .await?
            }
        };
        let pg_url = (backend == Backend::Postgres).then(|| PgUrl(url.into()));
        Ok(Self {
            pool,
            backend,
            audit_key: None,
            retired_pii: None,
            outbox_signal: outbox::OutboxSignal::default(),
            pg_url,
        })
    }

    /// Applies this engine's pending migrations.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let migrator = match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator.run(&self.pool).await?;
        self.carry_periods_forward().await?;
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Answers when the database answers a trivial query (for `/readyz`).
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Closes every connection (graceful shutdown).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

#[cfg(test)]
mod conformance;
#[cfg(test)]
mod conformance_alerts;
#[cfg(test)]
mod conformance_disclosures;
#[cfg(test)]
mod conformance_integrators;
#[cfg(test)]
mod conformance_kiosks;
#[cfg(test)]
mod conformance_ledger;
#[cfg(test)]
mod conformance_messages;
#[cfg(test)]
mod conformance_monitor;
#[cfg(test)]
mod conformance_phones;
#[cfg(test)]
mod conformance_pii_rotation;
#[cfg(test)]
mod conformance_powers;
#[cfg(test)]
mod conformance_screening;
#[cfg(test)]
mod conformance_search;
#[cfg(test)]
mod conformance_services;
#[cfg(test)]
mod conformance_subsidies;
#[cfg(test)]
mod conformance_village_office;
#[cfg(test)]
mod conformance_wechat;
#[cfg(test)]
mod migrations_frozen;
