//! 大数据比对 use cases shared by the back office, the command line, the scheduler, the demo and
//! the benchmark: importing a registry file (checked in full, sealed, stored in one
//! transaction), loading everything a screening needs in bulk, running the rules and recording
//! the hits, and refreshing the 政策找人 leads. Personal data is decrypted only here, only to
//! read the birth date and validity of an ID number, and never leaves as anything but a masked form.
//!
//! ## 大数据比对: registries, screening and 政策找人
//!
//! Rosters are screened in the background against registries, openly: every rule is documented and
//! every hit shows its evidence. Hits are leads for the discipline commission, never public.
//!
//! - **Core** (`core::registry`): the six registry kinds (deaths, public payroll 财政供养人员, village
//!   cadres and declared close relatives, household register, vehicles, businesses) and the checking
//!   of their files, with the roster importer's tolerance (title rows, header spellings, full-width
//!   digits) and per-cell errors. `core::screening`: the twelve rules, each a documented pure
//!   function over a `ScreeningContext` (registries indexed by the ID's blind index, programme
//!   settings, exclusive programme pairs, the people of each public proposed roster) producing
//!   `Hit { rule, entry, severity, evidence }`; `screen` runs them all (the per-entry rules and the
//!   four group rules — same person twice, exclusive programmes, one account for several households,
//!   more recipients than household members — are hash joins over all entries); the handling steps
//!   `new → verifying → confirmed / dismissed` (a conclusion needs a note); and 政策找人
//!   (`age_eligible_leads`, `lapsed_leads`). Periods are read from the roster's period text
//!   (quarters, halves, months, else the year); ages come from the ID's birth date.
//! - **Store** (`store::screening`, migration `0013_screening.sql`): `registry_imports` and
//!   `registry_records` (ID sealed, blind index shared with roster entries so the two join, masked
//!   form, birth date); `programme_screening` (excludes payroll, discretionary, age bounds, asset
//!   test) and `exclusive_programmes`, both set by the county on `/staff/registries` (ages checked by
//!   `core::screening::age_bounds`, each change audited); `screening_runs`; `screening_hits` unique on (rule, entry) —
//!   a run upserts its hits (handling untouched), and marks `cleared_at` on every hit in its scope it
//!   did not find again (never deletes); `screening_hit_events` (each handling step, written with the
//!   compare-and-set status change); `outreach_leads` with one outcome each. `screening_counts`
//!   gives hits per township and status for the monitor (a cleared hit counts once handled).
//!   The screening's loads (registries, entries, proposed rosters' people: millions of rows) go
//!   through `store::bulk`: the database packs 50,000 rows at a time into one JSON array
//!   (`json_group_array` / `json_agg`), paged by key, which is parsed in one pass — row-by-row
//!   decoding through the `Any` driver costs about 13 µs a row. An incremental run reads only what
//!   the cross-roster rules compare with its rosters: `screening_batch` (entries of published
//!   rosters of the same year, period and phase, for the same or a mutually exclusive programme —
//!   rules 4, 5, 12), `screening_account_payees` (who is paid into its accounts in its years —
//!   rule 6, answered from `account_payees`, one row per account, year and person, written by
//!   each publication and rebuilt by a finished key rotation, `0041_account_payees.sql`) and
//!   `screening_account_entries` (the published entries of the accounts that pay two households,
//!   through the entries' account index), then the rows by id (`screening_entries`).
//! - **Server** (`server::screening`): registry import (check → seal → replace or amend in one
//!   transaction → audit → full screen), the bulk load (no per-entry query; each entry's ID
//!   decrypted once on every core, only to read its birth date and validity; an incremental run
//!   reads only its own rosters' IDs), `run` (all rosters,
//!   or an incremental run over given rosters, which keeps hits on its own rosters only and loads
//!   their entries plus the related ones: `batch_related` keeps, of the batch, the entries of
//!   the rosters' people and of the members of their households in the cached household
//!   register, read while the account query runs, and `shared_account_entries` adds the entries of
//!   their accounts that pay two households or more), 政策找人
//!   refresh, the run after a roster's publication (in the background, so the approval does not wait)
//!   and the six-hourly `full_pass` in the workers (`serve` with `workers = true`): the re-screen
//!   and 政策找人 from one load of every entry.
//!   The registries, indexed once (`core::screening::Registries`, shared by `Arc`), stay in memory in
//!   `AppState` (`state::registries::RegistryCache`, read once at start by the workers so that a
//!   publication's first run finds them in memory) keyed by `Store::registry_version` (count and
//!   newest id of `registry_imports`, written in each import's transaction) and the personal-data
//!   key: every run asks the version (one small query) and reloads only when it changed, so an
//!   import on another server sharing the database is seen by the next run. A load after an import
//!   reads every registry row and stores them in the background as a sealed snapshot
//!   (`registry_snapshots`, parts in `core::registry_snapshot`'s compact form); a server started
//!   again reads that instead. An import or a key rotation deletes it. Programme settings, proposed
//!   rosters and entries load per run.
//!   Back office (`staff/screening.rs`): `/staff/registries` (county admin, supervisor:
//!   `ManageRegistries`), `/staff/screening` and hit pages (`ViewScreening` / `HandleScreening`: the
//!   commission), `/staff/outreach` (`ViewOutreach`; townships record outcomes with `HandleOutreach`).
//!   A hit page shows masked IDs; a full number is shown on request to accounts with
//!   `ViewPersonalData`, with a `pii.view` audit record.
//! - **CLI**: `xiaowei registry import <kind> <file> [--amend]`, `xiaowei screen [--roster ID]
//!   [--json]`, `xiaowei bench screening` (`src/bench_screening.rs`); demo data in
//!   `src/demo_screening.rs`.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustc_hash::FxHashSet;
use serde::Serialize;
use xiaowei_core::period::RosterPeriod;
use xiaowei_core::registry::{self, RegistryCheck, RegistryKind, RegistryLine};
use xiaowei_core::screening::{
    self, Entry, Evidence, Hit, ProgrammeRules, ProposedRoster, Registries, ScreeningContext,
};
use xiaowei_core::{PiiCipher, ResidentId};
use xiaowei_store::{
    AccountPayees, BatchEntry, NewHit, NewLead, NewRegistryRecord, RunSummary, ScreeningEntryRow, Store,
};

use crate::app::rosters::ID_PURPOSE;
use crate::state::AppState;
use crate::web::dates::parse_date;
use crate::web::error::AppError;

/// Reads and checks a registry file; an unreadable file is an error naming why.
pub fn check_file(kind: RegistryKind, bytes: &[u8]) -> Result<RegistryCheck, AppError> {
    let grid = xiaowei_sheets::read_grid(bytes).map_err(|e| AppError::invalid(e.to_string()))?;
    registry::check(kind, &grid).map_err(|e| AppError::invalid(e.to_string()))
}

/// Seals one checked registry line: the ID encrypted, its blind index (the same as roster
/// entries', so the two join) and masked form kept, the birth date read from it.
pub fn seal_record(cipher: &PiiCipher, line: &RegistryLine) -> NewRegistryRecord {
    let id = line.resident_id.expose();
    NewRegistryRecord {
        person_idx: cipher.blind_index(ID_PURPOSE, id),
        name: line.name.clone(),
        id_enc: cipher.encrypt(id),
        id_masked: line.resident_id.masked(),
        birth_date: Some(line.resident_id.birth_date().to_string()),
        village_code: line.village.clone(),
        household_no: line.household.clone(),
        members: line.members,
        relation: line.relation.clone(),
        detail: line.detail.clone(),
        event_date: line.date.map(|d| d.to_string()),
    }
}

/// Stores a clean registry file (replacing or amending the registry) and audits it. Returns the
/// number of records stored. The caller re-screens: at once ([`run`]) or in the background
/// ([`in_background`]).
pub async fn import_registry(
    state: &AppState,
    kind: RegistryKind,
    amend: bool,
    check: &RegistryCheck,
    file_name: &str,
    actor: (Option<i64>, &str),
    audit: xiaowei_store::NewAuditEntry,
) -> Result<usize, AppError> {
    if !check.is_clean() {
        return Err(AppError::invalid(format!("文件有 {} 处错误，未导入任何数据", check.errors.len())));
    }
    let records: Vec<NewRegistryRecord> = check.lines.iter().map(|l| seal_record(state.cipher(), l)).collect();
    state.store().import_registry(kind.as_str(), amend, &records, file_name, actor.0, actor.1, state.now()).await?;
    state.audit(audit).await?;
    Ok(records.len())
}

/// Everything one screening run needs, loaded in bulk (no query per entry).
pub struct Loaded {
    pub context: ScreeningContext,
    pub entries: Vec<Entry>,
    /// How long each step of the load took.
    pub steps: Steps,
}

/// How long each step of a run took (the benchmark prints them, the scheduled pass logs them).
#[derive(Debug, Clone, Copy, Default)]
pub struct Steps {
    /// The registries: their version checked, and read and indexed when it changed.
    pub registries: Duration,
    /// Programme settings, exclusive pairs and the people of the proposed rosters.
    pub settings: Duration,
    /// An incremental run: its batch read.
    pub batch: Duration,
    /// An incremental run: who is paid into its accounts read, the related entries chosen, and
    /// the entries of accounts paying two households found.
    pub accounts: Duration,
    /// The entries' rows read.
    pub read: Duration,
    /// Their IDs decrypted, on every core.
    pub decrypt: Duration,
    /// The rules run.
    pub rules: Duration,
    /// The hits recorded.
    pub record: Duration,
    /// A full pass: the 政策找人 leads found and recorded.
    pub outreach: Duration,
}

/// Loads the registries (through the cache), programme settings and the entries of published
/// rosters: every one (`scope` = None), or those an incremental run over the rosters `scope`
/// compares (see [`batch_related`] and [`shared_account_entries`]). The registries, the settings and, for an incremental
/// run, the batch and the accounts' payees are read at once (the registries on every core when
/// they are not in memory). Each entry's ID is decrypted once, to read its birth date (an
/// undecryptable or invalid number has none); an incremental run reads and decrypts only its
/// own rosters' IDs, the related entries being compared by blind index alone.
pub async fn load(state: &AppState, scope: Option<&[i64]>) -> Result<Loaded, AppError> {
    let store = state.store();
    let mut steps = Steps::default();
    let registries = timed(state.registries().get(store, state.cipher()));
    let settings = timed(settings(store, scope));
    let rows = match scope {
        None => {
            let ((registries, r), ((programmes, pairs, proposed), s)) = tokio::try_join!(registries, settings)?;
            (steps.registries, steps.settings) = (r, s);
            let started = Instant::now();
            let rows = store.entries_for_screening().await?;
            steps.read = started.elapsed();
            (registries, programmes, pairs, proposed, rows)
        }
        Some(rosters) => {
            // The batch's related entries are read while the account query runs; only the
            // entries of accounts paying two households wait for it.
            let batch = timed(async { Ok::<_, AppError>(store.screening_batch(rosters).await?) });
            let batch_side = async {
                let ((registries, r), (batch, b)) = tokio::try_join!(registries, batch)?;
                let started = Instant::now();
                let ids = batch_related(&registries, rosters, &batch);
                let rows = store.screening_entries(&ids, rosters).await?;
                Ok::<_, AppError>((registries, r, b, ids, rows, started.elapsed()))
            };
            let payees = timed(async { Ok::<_, AppError>(store.screening_account_payees(rosters).await?) });
            let ((registries, r, b, ids, mut rows, read), ((programmes, pairs, proposed), s), (payees, a)) =
                tokio::try_join!(batch_side, settings, payees)?;
            (steps.registries, steps.settings, steps.batch) = (r, s, b);
            let started = Instant::now();
            let extra: Vec<i64> = shared_account_entries(store, &registries, rosters, &payees)
                .await?
                .into_iter()
                .filter(|id| ids.binary_search(id).is_err())
                .collect();
            steps.accounts = a + started.elapsed();
            let started = Instant::now();
            if !extra.is_empty() {
                rows.extend(store.screening_entries(&extra, rosters).await?);
                rows.sort_unstable_by_key(|e| e.id);
            }
            steps.read = read + started.elapsed();
            (registries, programmes, pairs, proposed, rows)
        }
    };
    let (registries, programmes, pairs, proposed, rows) = rows;
    let started = Instant::now();
    let cipher = state.cipher().clone();
    let entries = off_the_runtime(move || entries_of(&cipher, rows)).await?;
    steps.decrypt = started.elapsed();
    Ok(Loaded { context: ScreeningContext::with_registries(registries, programmes, &pairs, proposed), entries, steps })
}

/// Awaits `step` and measures it (steps awaited together overlap).
async fn timed<T>(step: impl Future<Output = Result<T, AppError>>) -> Result<(T, Duration), AppError> {
    let started = Instant::now();
    let value = step.await?;
    Ok((value, started.elapsed()))
}

/// Programme settings, exclusive pairs, and the people of the public proposed rosters (every
/// one, or those the rosters `scope` settle).
async fn settings(
    store: &Store,
    scope: Option<&[i64]>,
) -> Result<(Vec<ProgrammeRules>, Vec<(i64, i64)>, HashMap<i64, ProposedRoster>), AppError> {
    let programmes: Vec<ProgrammeRules> = store
        .programme_screening()
        .await?
        .into_iter()
        .map(|p| ProgrammeRules {
            id: p.id,
            name: p.name,
            unit: p.unit,
            standard_fen: p.standard_fen,
            recurring: p.recurring,
            excludes_payroll: p.excludes_payroll,
            discretionary: p.discretionary,
            min_age: p.min_age.and_then(|a| i32::try_from(a).ok()),
            max_age: p.max_age.and_then(|a| i32::try_from(a).ok()),
            asset_test: p.asset_test,
        })
        .collect();
    let pairs = store.exclusive_pairs().await?;
    let mut proposed: HashMap<i64, ProposedRoster> = HashMap::new();
    for p in store.proposed_for_screening(scope).await? {
        let slot = proposed.entry(p.roster_id).or_default();
        slot.publicity_end = p.publicity_end.as_deref().and_then(parse_date);
        slot.persons.insert(p.id_idx);
    }
    Ok((programmes, pairs, proposed))
}

/// The ids, sorted, of the entries of an incremental screening of `rosters` found through
/// their `batch` (year, period, phase; the same or a mutually exclusive programme): their own,
/// and those of the same people or people of their households in the household register (rules
/// 4, 5, 12).
fn batch_related(registries: &Registries, rosters: &[i64], batch: &[BatchEntry]) -> Vec<i64> {
    let mut people: FxHashSet<&str> = FxHashSet::default();
    for e in batch.iter().filter(|e| rosters.contains(&e.roster_id)) {
        if people.insert(e.id_idx.as_str()) {
            people.extend(registries.household_members(&e.id_idx));
        }
    }
    let mut ids: Vec<i64> = batch.iter().filter(|e| people.contains(e.id_idx.as_str())).map(|e| e.id).collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// The ids of the entries, of the same years as `rosters`, paid into one of their accounts
/// whose `payees` are of two households or more (rule 6; an account a household's members
/// share, as most do, is read no further).
async fn shared_account_entries(
    store: &Store,
    registries: &Registries,
    rosters: &[i64],
    payees: &[AccountPayees],
) -> Result<Vec<i64>, AppError> {
    let mut shared: Vec<String> = payees
        .iter()
        .filter(|p| {
            let mut households = p.people.iter().filter_map(|id| registries.household(id));
            households.next().is_some_and(|first| households.any(|h| h != first))
        })
        .map(|p| p.account_idx.clone())
        .collect();
    shared.sort_unstable();
    shared.dedup();
    if shared.is_empty() {
        return Ok(Vec::new());
    }
    Ok(store.screening_account_entries(rosters, &shared).await?)
}

/// Turns stored rows into the rules' entries, in order, decrypting each ID (to read its birth
/// date) on every core.
fn entries_of(cipher: &PiiCipher, rows: Vec<ScreeningEntryRow>) -> Vec<Entry> {
    // Each roster's period is read once, not once per entry.
    let mut periods: HashMap<i64, RosterPeriod> = HashMap::new();
    for e in &rows {
        periods.entry(e.roster_id).or_insert_with(|| RosterPeriod::read(e.year, &e.period));
    }
    let entry = |e: ScreeningEntryRow| Entry {
        period: periods.get(&e.roster_id).cloned().unwrap_or_else(|| RosterPeriod::read(e.year, &e.period)),
        birth_date: e
            .id_enc
            .and_then(|sealed| cipher.decrypt(&sealed).ok())
            .and_then(|id| ResidentId::parse(&id).ok())
            .map(|id| id.birth_date()),
        id: e.id,
        roster_id: e.roster_id,
        programme_id: e.programme_id,
        village: e.org_code,
        year: i32::try_from(e.year).unwrap_or_default(),
        phase: e.phase,
        person: e.id_idx,
        name: e.name,
        masked_id: e.id_masked,
        account: e.account_idx,
        amount_fen: e.amount_fen,
        settles: e.settles_id,
        paid_on: e.paid_on.as_deref().and_then(parse_date),
    };
    let cores = crate::app::cores();
    let share = rows.len().div_ceil(cores).max(1);
    let mut rows = rows.into_iter();
    let shares: Vec<Vec<ScreeningEntryRow>> =
        (0..cores).map(|_| rows.by_ref().take(share).collect()).filter(|s: &Vec<_>| !s.is_empty()).collect();
    std::thread::scope(|scope| {
        let workers: Vec<_> =
            shares.into_iter().map(|s| scope.spawn(move || s.into_iter().map(entry).collect::<Vec<_>>())).collect();
        workers.into_iter().flat_map(|w| w.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))).collect()
    })
}

/// Evidence as stored with a hit (JSON): masked IDs only.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct StoredEvidence {
    pub record: Option<i64>,
    pub entry: Option<i64>,
    pub text: String,
}

impl From<&Evidence> for StoredEvidence {
    fn from(e: &Evidence) -> Self {
        Self { record: e.record, entry: e.entry, text: e.text.clone() }
    }
}

/// Reads a stored hit's evidence back (an unreadable value shows as no evidence).
pub fn evidence_of(json: &str) -> Vec<StoredEvidence> {
    serde_json::from_str(json).unwrap_or_default()
}

/// The outcome of one run: the hits found (in scope), what changed in storage, and how long
/// each step took.
pub struct Outcome {
    pub hits: Vec<Hit>,
    pub entries: usize,
    pub summary: RunSummary,
    pub steps: Steps,
}

/// Screens every published roster (`only` = None) or the entries of the given rosters against
/// everything, and records the hits. Refused while the personal-data key is being rotated: the
/// matching compares blind indexes, which are then under two keys.
pub async fn run(state: &AppState, only: Option<&[i64]>, now: i64) -> Result<Outcome, AppError> {
    refuse_while_rotating(state)?;
    let loaded = Arc::new(load(state, only).await?);
    let outcome = screen_loaded(state, &loaded, only, now).await;
    state.registries().store_pending(state.store(), state.cipher());
    outcome
}

fn refuse_while_rotating(state: &AppState) -> Result<(), AppError> {
    match state.cipher().previous_key_id() {
        Some(_) => Err(AppError::Conflict("个人信息密钥正在轮换，比对暂停；轮换完成后再运行".into())),
        None => Ok(()),
    }
}

/// Runs `work` on a thread for blocking work: decrypting and the rules take seconds on a
/// county's entries and would otherwise hold one of the few threads serving requests.
async fn off_the_runtime<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T, AppError> {
    tokio::task::spawn_blocking(work).await.map_err(|e| AppError::Internal(format!("screening: {e}")))
}

/// Runs the rules over what was loaded (hits kept for the rosters `only`, or all) and records them.
async fn screen_loaded(
    state: &AppState,
    loaded: &Arc<Loaded>,
    only: Option<&[i64]>,
    now: i64,
) -> Result<Outcome, AppError> {
    let started = Instant::now();
    let scope: Option<HashSet<i64>> = only.map(|ids| ids.iter().copied().collect());
    let loaded_now = Arc::clone(loaded);
    let (hits, entries, rows) = off_the_runtime(move || {
        let (context, all) = (&loaded_now.context, &loaded_now.entries);
        let hits = screening::screen(context, all, scope.as_ref());
        let entries = all.iter().filter(|e| scope.as_ref().is_none_or(|s| s.contains(&e.roster_id))).count();
        let rows: Vec<NewHit> = hits
            .iter()
            .map(|h| NewHit {
                rule: h.rule,
                entry_id: h.entry,
                severity: h.severity,
                evidence: serde_json::to_string(&h.evidence.iter().map(StoredEvidence::from).collect::<Vec<_>>())
                    .unwrap_or_else(|_| "[]".into()),
            })
            .collect();
        (hits, entries, rows)
    })
    .await?;
    let rules = started.elapsed();
    let started = Instant::now();
    let summary = state.store().record_screening(only, i64::try_from(entries).unwrap_or(i64::MAX), &rows, now).await?;
    let steps = Steps { rules, record: started.elapsed(), ..loaded.steps };
    Ok(Outcome { hits, entries, summary, steps })
}

/// Refreshes the 政策找人 leads for `year` (age-eligible people not paid, lapsed recipients).
/// Returns the leads found.
pub async fn refresh_outreach(state: &AppState, year: i32, now: i64) -> Result<usize, AppError> {
    let loaded = Arc::new(load(state, None).await?);
    let leads = outreach_loaded(state, &loaded, year, now).await;
    state.registries().store_pending(state.store(), state.cipher());
    leads
}

/// Finds and records the 政策找人 leads for `year` in what a full load read.
async fn outreach_loaded(state: &AppState, loaded: &Arc<Loaded>, year: i32, now: i64) -> Result<usize, AppError> {
    let loaded = Arc::clone(loaded);
    let rows = off_the_runtime(move || {
        let mut leads = screening::age_eligible_leads(&loaded.context, &loaded.entries, year);
        leads.extend(screening::lapsed_leads(&loaded.context, &loaded.entries));
        leads
            .into_iter()
            .map(|l| NewLead {
                kind: l.kind,
                person_idx: l.person,
                name: l.name,
                id_masked: l.masked_id,
                org_code: l.village,
                programme_id: l.programme_id,
                detail: l.detail,
            })
            .collect::<Vec<_>>()
    })
    .await?;
    state.store().record_outreach(&rows, now).await?;
    Ok(rows.len())
}

/// What one full pass did: the re-screen (its steps include the 政策找人 refresh) and the leads.
pub struct FullPass {
    pub screening: Outcome,
    pub leads: usize,
}

/// The full re-screen of every published roster and the 政策找人 refresh for `now`'s year,
/// both from one load of every entry (millions of rows: read and decrypted once, not twice).
/// Refused while the personal-data key is being rotated, as [`run`] is.
pub async fn full_pass(state: &AppState, now: i64) -> Result<FullPass, AppError> {
    refuse_while_rotating(state)?;
    let loaded = Arc::new(load(state, None).await?);
    let mut screening = screen_loaded(state, &loaded, None, now).await?;
    let started = Instant::now();
    let year = i32::from(crate::web::dates::shanghai_date(now).year());
    let leads = outreach_loaded(state, &loaded, year, now).await;
    state.registries().store_pending(state.store(), state.cipher());
    screening.steps.outreach = started.elapsed();
    Ok(FullPass { screening, leads: leads? })
}

/// A run after a roster was published: that roster's entries are screened in the background (the
/// reviewer's request does not wait for it); a failure is logged, never undoing the publication,
/// and the next scheduled run covers it.
pub fn after_publication(state: &AppState, roster_id: i64) {
    let state = state.clone();
    tokio::spawn(async move {
        if let Err(e) = run(&state, Some(&[roster_id]), state.now()).await {
            tracing::warn!(error = %e, roster_id, "screening after publication failed");
        }
    });
}

/// The scheduled full pass (screening and 政策找人 from one load), from the workers loop.
pub async fn scheduled(state: &AppState) {
    match full_pass(state, state.now()).await {
        Ok(pass) => tracing::info!(
            entries = pass.screening.entries,
            hits = pass.screening.summary.hits,
            leads = pass.leads,
            steps = ?pass.screening.steps,
            "scheduled screening and outreach done"
        ),
        Err(e) => tracing::warn!(error = %e, "scheduled screening and outreach failed"),
    }
}

/// A full pass (as [`scheduled`]) started in the background, for a back-office
/// request that must not wait minutes for a county-scale screening; its outcome appears in the
/// recorded runs.
pub fn in_background(state: &AppState) {
    let state = state.clone();
    tokio::spawn(async move { scheduled(&state).await });
}

/// Reads and indexes the registries at start, so that the first publication's run finds them in
/// memory, then runs [`scheduled`] every `every`, the first time one period after start.
pub fn spawn_schedule(state: AppState, every: std::time::Duration) {
    tokio::spawn(async move {
        if let Err(e) = state.registries().get(state.store(), state.cipher()).await {
            tracing::warn!(error = %e, "reading the registries at start failed");
        }
        state.registries().store_pending(state.store(), state.cipher());
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        loop {
            tick.tick().await;
            scheduled(&state).await;
        }
    });
}
