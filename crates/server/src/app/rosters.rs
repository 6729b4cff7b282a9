//! Roster use cases shared by the back office, the public pages, the demo and the benchmarks:
//! checking an upload against the file rules and against other rosters, sealing personal data
//! before it is stored, computing the paid-versus-proposed differences, and date helpers.
//!
//! ## Rosters (惠农资金)
//!
//! A roster row is one *version*; versions of one roster share a `lineage_id`, and a correction is a
//! new row with `supersedes_id` and a public reason. Life: `draft` → `submitted` → `published` (on
//! the township reviewer's approval, which also fixes the publicity dates of a proposed roster) or
//! `returned` (with a reason, editable again); a published roster is only ever `superseded` (when its
//! correction is approved) or `withdrawn` (with a reason) and stays public either way. Import is
//! two-step: the upload is checked in full (file rules in core, duplicates against other live rosters
//! of the same programme, year, period and phase in the store) and shown with every error by row and
//! column; only a clean file is staged — encrypted — until the clerk confirms, and the roster and all
//! its entries are then written in one transaction. A paid roster's differences from the proposed
//! roster it settles are computed by `core::subsidy::diff` and stored with the clerk's reasons;
//! submission and approval refuse while any reason is missing. Rosters of past years are back-loaded from the
//! command line (`xiaowei roster import`, `rosters::backload`): the same file checks, then one
//! transaction (`Store::backload_roster`) stores the roster marked `backloaded`, its differences from
//! a settled proposed roster with the reason 「历史数据补录，原因未记录」 and, with `--publish`, its
//! publication and ledger leaf; public and staff pages label it 历史补录, and the audit log names the
//! account (or the disabled `system` account) and the file's SHA-256. The self-query matches the ID's blind
//! index and then the name, so a wrong name answers exactly like an unknown ID; unpaid years run from
//! a person's first paid year to the latest year the programme paid anyone in that village.

use std::collections::HashMap;

use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use xiaowei_core::period::RosterPeriod;
use xiaowei_core::roster::{CellError, RosterCheck, RosterLine};
use xiaowei_core::subsidy::{self, BatchPeriod, Payee, Phase};
use xiaowei_core::{Fen, PiiCipher};
use xiaowei_store::{NewDifference, NewEntry, NewRoster, Programme, Roster, Store};

use crate::web::dates::parse_date;
use crate::web::error::AppError;

/// Blind-index purposes: one per kind of personal data, so equal values of different kinds
/// never share an index.
pub use xiaowei_core::pii::{ACCOUNT_PURPOSE, ID_PURPOSE};

/// Encrypts a checked line's ID and account numbers and keeps only their masked forms in clear.
pub fn seal_line(cipher: &PiiCipher, line: &RosterLine) -> NewEntry {
    let id = line.resident_id.expose();
    let account = line.account.as_deref();
    NewEntry {
        row_no: i64::try_from(line.row).unwrap_or(i64::MAX),
        name: line.name.clone(),
        id_enc: cipher.encrypt(id),
        id_idx: cipher.blind_index(ID_PURPOSE, id),
        id_masked: line.resident_id.masked(),
        group_name: line.group.clone(),
        account_enc: account.map(|a| cipher.encrypt(a)),
        account_idx: account.map(|a| cipher.blind_index(ACCOUNT_PURPOSE, a)),
        account_masked: account.map(subsidy::mask_account),
        amount_fen: line.amount.as_fen(),
        note: line.note.clone(),
    }
}

/// Seals every checked line, spread over the machine's cores (each line costs two AES-GCM
/// encryptions and two keyed hashes, the largest share of a check after reading the file).
pub fn seal_lines(cipher: &PiiCipher, lines: &[RosterLine]) -> Vec<NewEntry> {
    let cores = crate::app::cores();
    if cores == 1 || lines.len() < 2_000 {
        return lines.iter().map(|l| seal_line(cipher, l)).collect();
    }
    let chunk = lines.len().div_ceil(cores);
    std::thread::scope(|scope| {
        let parts: Vec<_> = lines
            .chunks(chunk)
            .map(|part| scope.spawn(move || part.iter().map(|l| seal_line(cipher, l)).collect::<Vec<_>>()))
            .collect();
        // A sealing thread only panics if the allocator does; the whole import fails with it.
        parts.into_iter().flat_map(|p| p.join().unwrap_or_else(|e| std::panic::resume_unwind(e))).collect()
    })
}

/// What a clerk chose on the import form; kept with a staged upload until confirmation.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ImportParams {
    pub programme_id: i64,
    pub org_code: String,
    pub year: i64,
    pub period: String,
    pub phase: Phase,
    pub settles_id: Option<i64>,
    pub supersedes_id: Option<i64>,
    pub correction_reason: Option<String>,
    pub paid_on: Option<String>,
}

/// The programme's standard as the roster check applies it (per person, household or mu).
pub fn standard_of(programme: &Programme) -> Option<xiaowei_core::roster::Standard> {
    let amount = programme.standard_fen.and_then(Fen::new)?;
    Some(xiaowei_core::roster::Standard { amount, unit: programme.unit })
}

/// Checks an uploaded file: every file rule, then duplicates against other live rosters of the
/// same programme, year, period and phase. Returns the lines and every problem found.
pub async fn check_upload(
    store: &Store,
    cipher: &PiiCipher,
    programme: &Programme,
    params: &ImportParams,
    bytes: &[u8],
) -> Result<(RosterCheck, Vec<NewEntry>), AppError> {
    let standard = standard_of(programme);
    let file = bytes.to_vec();
    let sealer = cipher.clone();
    let (mut check, entries) = crate::app::uploads::parse_sheet(move || {
        xiaowei_sheets::check_file(&file, standard).map(|check| {
            let entries = seal_lines(&sealer, &check.lines);
            (check, entries)
        })
    })
    .await?
    .map_err(|e| AppError::invalid(e.to_string()))?;
    let exclude_lineage = match params.supersedes_id {
        Some(old) => store.find_roster(old).await?.and_then(|r| r.lineage_id),
        None => None,
    };
    let keys: Vec<String> = entries.iter().map(|e| e.id_idx.clone()).collect();
    let clashes = store
        .clashing_entries(
            params.programme_id,
            &RosterPeriod::read(params.year, &params.period),
            params.phase,
            exclude_lineage,
            &keys,
        )
        .await?;
    if !clashes.is_empty() {
        let mut place_names: HashMap<String, String> = HashMap::new();
        for c in &clashes {
            if !place_names.contains_key(&c.org_code) {
                let name = store.find_org(&c.org_code).await?.map(|o| o.display_name().to_owned()).unwrap_or_default();
                place_names.insert(c.org_code.clone(), name);
            }
        }
        let by_key: HashMap<&str, &str> = clashes
            .iter()
            .map(|c| (c.id_idx.as_str(), place_names.get(&c.org_code).map_or("", String::as_str)))
            .collect();
        for (line, entry) in check.lines.iter().zip(&entries) {
            if let Some(place) = by_key.get(entry.id_idx.as_str()) {
                check.errors.push(CellError {
                    row: line.row,
                    column: "身份证号",
                    message: format!("此人已在{place}同一项目同期花名册中，不能重复享受"),
                });
            }
        }
        check.errors.sort_by_key(|e| e.row);
    }
    Ok((check, entries))
}

/// Stores a clean upload as a draft roster (atomically) and, for a paid roster, its differences
/// from the proposed roster it settles.
pub async fn store_upload(
    store: &Store,
    params: &ImportParams,
    entries: &[NewEntry],
    created_by: i64,
    now: i64,
) -> Result<i64, AppError> {
    let roster = NewRoster {
        programme_id: params.programme_id,
        org_code: params.org_code.clone(),
        year: params.year,
        period: params.period.clone(),
        phase: params.phase,
        settles_id: params.settles_id,
        supersedes_id: params.supersedes_id,
        correction_reason: params.correction_reason.clone(),
        paid_on: params.paid_on.clone(),
        created_by,
    };
    let id = store.create_roster(&roster, entries, now).await?;
    refresh_differences(store, id).await?;
    Ok(id)
}

/// Recomputes and stores a paid roster's differences from the proposed roster it settles,
/// keeping reasons already given. Does nothing for a proposed roster.
pub async fn refresh_differences(store: &Store, roster_id: i64) -> Result<(), AppError> {
    let paid = store.find_roster(roster_id).await?.ok_or(AppError::NotFound)?;
    if paid.phase != Phase::Paid {
        return Ok(());
    }
    let Some(settles) = paid.settles_id else {
        return Ok(());
    };
    let proposed = store.find_roster(settles).await?.ok_or(AppError::NotFound)?;
    let paid_payees: Vec<Payee> = store.roster_entries(paid.id, i64::MAX, 0).await?.into_iter().map(payee).collect();
    let paid_on = paid.paid_on.as_deref().and_then(parse_date).unwrap_or(Date::MAX);
    let diffs = differences_from(store, &proposed, &paid_payees, paid_on).await?;
    store.replace_differences(paid.id, &diffs).await?;
    Ok(())
}

/// The differences between a proposed roster and the payees actually paid on `paid_on`.
async fn differences_from(
    store: &Store,
    proposed: &Roster,
    paid: &[Payee],
    paid_on: Date,
) -> Result<Vec<NewDifference>, AppError> {
    let proposed_payees: Vec<Payee> =
        store.roster_entries(proposed.id, i64::MAX, 0).await?.into_iter().map(payee).collect();
    let publicity_end = proposed.publicity_end.as_deref().and_then(parse_date);
    Ok(subsidy::diff(&proposed_payees, paid, publicity_end, paid_on)
        .into_iter()
        .map(|d| NewDifference {
            kind: d.kind,
            person_idx: d.key,
            name: d.name,
            id_masked: d.masked_id,
            proposed_fen: d.proposed.map(Fen::as_fen),
            paid_fen: d.paid.map(Fen::as_fen),
        })
        .collect())
}

fn payee(e: xiaowei_store::RosterEntry) -> Payee {
    Payee { key: e.id_idx, name: e.name, masked_id: e.id_masked, amount: Fen::new(e.amount_fen).unwrap_or_default() }
}

/// A roster of a past year to load straight from a file (历史补录, `xiaowei roster import`).
pub struct Backload {
    pub programme: Programme,
    pub org_code: String,
    pub period: BatchPeriod,
    pub phase: Phase,
    /// For a paid roster; the last day of the period when not given.
    pub paid_on: Option<Date>,
    pub publish: bool,
    pub by: i64,
}

/// What became of a back-load.
pub enum BackloadOutcome {
    /// The file broke a rule; nothing was stored.
    Refused(RosterCheck),
    Stored {
        roster: Box<Roster>,
        /// Differences from the proposed roster it settles, when there is one.
        differences: usize,
    },
}

/// The reason recorded for each difference of a back-loaded paid roster from its proposed
/// roster: a file from the past cannot say why someone was added, dropped or paid otherwise.
pub const BACKLOAD_DIFFERENCE_REASON: &str = "历史数据补录，原因未记录";

/// Checks a file exactly like an upload (file rules, then duplicates against live rosters of the
/// same programme and period) and, if it is clean, stores it in one transaction marked as
/// back-loaded — published at once when asked. A paid roster settles the published proposed
/// roster of the same programme, place and period when there is one.
pub async fn backload(
    store: &Store,
    cipher: &PiiCipher,
    b: &Backload,
    bytes: &[u8],
    now: i64,
) -> Result<BackloadOutcome, AppError> {
    let period = b.period.label();
    let year = i64::from(b.period.year);
    let settles = match b.phase {
        Phase::Proposed => None,
        Phase::Paid => store
            .settleable_rosters(b.programme.id, &b.org_code)
            .await?
            .into_iter()
            .filter(|r| r.year == year && r.period == period && r.status == subsidy::RosterStatus::Published)
            .max_by_key(|r| r.version),
    };
    let paid_on = match b.phase {
        Phase::Proposed => None,
        Phase::Paid => Some(b.paid_on.unwrap_or_else(|| b.period.last_day())),
    };
    let params = ImportParams {
        programme_id: b.programme.id,
        org_code: b.org_code.clone(),
        year,
        period,
        phase: b.phase,
        settles_id: settles.as_ref().map(|r| r.id),
        supersedes_id: None,
        correction_reason: None,
        paid_on: paid_on.map(|d| d.to_string()),
    };
    let (check, entries) = check_upload(store, cipher, &b.programme, &params, bytes).await?;
    if !check.is_clean() {
        return Ok(BackloadOutcome::Refused(check));
    }
    let diffs = match (&settles, paid_on) {
        (Some(proposed), Some(paid_on)) => {
            let paid: Vec<Payee> = entries
                .iter()
                .map(|e| Payee {
                    key: e.id_idx.clone(),
                    name: e.name.clone(),
                    masked_id: e.id_masked.clone(),
                    amount: Fen::new(e.amount_fen).unwrap_or_default(),
                })
                .collect();
            differences_from(store, proposed, &paid, paid_on).await?
        }
        _ => Vec::new(),
    };
    let roster = NewRoster {
        programme_id: params.programme_id,
        org_code: params.org_code,
        year,
        period: params.period,
        phase: params.phase,
        settles_id: params.settles_id,
        supersedes_id: None,
        correction_reason: None,
        paid_on: params.paid_on,
        created_by: b.by,
    };
    let id = store.backload_roster(&roster, &entries, &diffs, BACKLOAD_DIFFERENCE_REASON, b.publish, now).await?;
    let roster = store.find_roster(id).await?.ok_or(AppError::NotFound)?;
    Ok(BackloadOutcome::Stored { roster: Box::new(roster), differences: diffs.len() })
}

/// A roster's headline: "卓园村 2025年度 草原生态保护补助奖励 拟发放公示".
pub fn roster_title(roster: &Roster, place: &str) -> String {
    format!("{place} {} {} {}", roster.period, roster.programme_name, roster.phase.label())
}

/// A roster line as pages show it: masked ID and account, amount in yuan.
pub struct EntryView {
    pub id: i64,
    pub row_no: i64,
    pub name: String,
    pub id_masked: String,
    pub group: String,
    pub account_masked: String,
    pub amount: String,
    pub note: String,
}

impl From<xiaowei_store::RosterEntry> for EntryView {
    fn from(e: xiaowei_store::RosterEntry) -> Self {
        Self {
            id: e.id,
            row_no: e.row_no,
            name: e.name,
            id_masked: e.id_masked,
            group: e.group_name.unwrap_or_default(),
            account_masked: e.account_masked.unwrap_or_default(),
            amount: Fen::new(e.amount_fen).unwrap_or_default().to_string(),
            note: e.note.unwrap_or_default(),
        }
    }
}

/// A paid-versus-proposed difference as pages show it.
pub struct DifferenceView {
    pub id: i64,
    pub label: &'static str,
    pub person: String,
    pub proposed: String,
    pub paid: String,
    pub reason: String,
}

impl From<xiaowei_store::RosterDifference> for DifferenceView {
    fn from(d: xiaowei_store::RosterDifference) -> Self {
        let yuan = |f: Option<i64>| f.and_then(Fen::new).map_or_else(|| "—".to_owned(), |f| format!("{f}元"));
        Self {
            id: d.id,
            label: d.kind.label(),
            person: if d.name.is_empty() { "整批".to_owned() } else { format!("{} {}", d.name, d.id_masked) },
            proposed: yuan(d.proposed_fen),
            paid: yuan(d.paid_fen),
            reason: d.reason.unwrap_or_default(),
        }
    }
}

/// One version in a roster's history.
pub struct VersionView {
    pub id: i64,
    pub version: i64,
    pub status: &'static str,
    pub reason: String,
    pub published: String,
    pub current: bool,
}

/// The public versions of a lineage (and, for staff, every version), oldest first.
pub async fn versions(store: &Store, roster: &Roster, public_only: bool) -> Result<Vec<VersionView>, AppError> {
    let lineage = roster.lineage_id.unwrap_or(roster.id);
    Ok(store
        .roster_versions(lineage)
        .await?
        .into_iter()
        .filter_map(|v| {
            let status = v.status;
            (!public_only || status.is_public()).then(|| VersionView {
                id: v.id,
                version: v.version,
                status: status.label(),
                reason: v.correction_reason.clone().or_else(|| v.status_reason.clone()).unwrap_or_default(),
                published: v.published_at.map(crate::web::dates::shanghai_time).unwrap_or_default(),
                current: v.id == roster.id,
            })
        })
        .collect())
}

/// A stored scan as pages list it.
pub struct AttachmentView {
    pub id: i64,
    pub name: String,
    pub kind: &'static str,
    pub size: String,
}

impl From<xiaowei_store::Attachment> for AttachmentView {
    fn from(a: xiaowei_store::Attachment) -> Self {
        let kind = match a.content_type.as_str() {
            "application/pdf" => "PDF",
            "image/png" => "PNG图片",
            _ => "JPG图片",
        };
        let size = if a.size >= 1024 * 1024 {
            format!("{:.1}MB", a.size as f64 / 1_048_576.0)
        } else {
            format!("{}KB", (a.size + 1023) / 1024)
        };
        Self { id: a.id, name: a.original_name, kind, size }
    }
}

/// Builds the spreadsheet export of a roster: masked for the public, full for authorised staff.
pub fn export(
    cipher: &PiiCipher,
    title: String,
    subtitle: Vec<String>,
    entries: Vec<xiaowei_store::RosterEntry>,
    full: bool,
) -> Result<Vec<u8>, AppError> {
    let mut rows = Vec::with_capacity(entries.len());
    for e in entries {
        let (resident_id, account) = if full {
            let id = cipher.decrypt(&e.id_enc).map_err(|err| AppError::Internal(format!("entry {}: {err}", e.id)))?;
            let account = match &e.account_enc {
                Some(enc) => {
                    Some(cipher.decrypt(enc).map_err(|err| AppError::Internal(format!("entry {}: {err}", e.id)))?)
                }
                None => None,
            };
            (id, account)
        } else {
            (e.id_masked.clone(), e.account_masked.clone())
        };
        rows.push(xiaowei_sheets::ExportRow {
            name: e.name,
            resident_id,
            group: e.group_name,
            amount: Fen::new(e.amount_fen).unwrap_or_default(),
            account,
            note: e.note,
        });
    }
    let roster = xiaowei_sheets::ExportRoster { title, subtitle, with_account: true, rows };
    xiaowei_sheets::roster_xlsx(&roster).map_err(|e| AppError::Internal(format!("export: {e}")))
}
