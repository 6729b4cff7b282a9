//! Open data (开放数据): every public roster and disclosure as JSON and CSV, masked exactly as on
//! its public page (names in full; ID numbers and bank accounts only in their stored masked
//! forms, never decrypted here), each with the reference of its newest ledger leaf (index and
//! hash, checkable at `/ledger/leaves/{index}`), and a bulk index per county listing every
//! dataset with its addresses, dates and ledger reference. Everything is published under
//! CC BY 4.0, stated in the index, in every JSON file and in each CSV's CSVW metadata
//! (`….csv-metadata.json`, W3C CSV on the Web), which the CSV names in its `Link` header.
//!
//! Routes: `/opendata/{county}/index.json`, `/opendata/rosters/{id}.json|.csv|.csv-metadata.json`,
//! `/opendata/disclosures/{id}.json|.csv|.csv-metadata.json`. Only public statuses (published,
//! superseded, withdrawn) are served, each with its status; drafts are "not found".

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;
use serde_json::{Value, json};
use xiaowei_core::Fen;
use xiaowei_core::subsidy::{Phase, RosterStatus};
use xiaowei_store::{Disclosure, Roster};

use crate::app::rosters::roster_title;
use crate::state::AppState;
use crate::web::error::AppError;
use crate::web::places::{county_name, place_name};

/// The licence of everything served here.
pub const LICENCE_NAME: &str = "CC BY 4.0";
pub const LICENCE_URL: &str = "https://creativecommons.org/licenses/by/4.0/";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/opendata/{county}/index.json", get(index))
        .route("/opendata/rosters/{file}", get(roster))
        .route("/opendata/disclosures/{file}", get(disclosure))
}

/// The licence statement, as every file carries it.
#[derive(Debug, Serialize)]
pub struct Licence {
    pub name: &'static str,
    pub url: &'static str,
    pub statement: String,
}

/// The licence statement naming the county an org code lies in (its first six digits).
async fn licence(state: &AppState, org_code: &str) -> Result<Licence, AppError> {
    let county = match state.org(org_code.get(..6).unwrap_or(org_code)).await? {
        Some(county) => county.name,
        None => county_name(state).await?,
    };
    Ok(Licence {
        name: LICENCE_NAME,
        url: LICENCE_URL,
        statement: format!(
            "本数据由{county}村级小微权力监督平台公开，按知识共享署名 4.0 国际许可协议（CC BY 4.0）授权，\
             使用时请注明来源“{county}村级小微权力监督平台”。身份证号、银行账号已按公示页面隐藏部分数字。"
        ),
    })
}

/// A dataset's newest ledger leaf.
#[derive(Debug, Serialize)]
pub struct LedgerRef {
    pub leaf_index: i64,
    pub leaf_hash: String,
    pub verify_url: String,
}

async fn ledger_ref(state: &AppState, kind: &str, id: i64) -> Result<Option<LedgerRef>, AppError> {
    Ok(state.store().latest_leaf_of(kind, id).await?.map(|leaf| LedgerRef {
        leaf_index: leaf.idx,
        leaf_hash: leaf.hash_hex(),
        verify_url: state.config().public_link(&format!("/ledger/leaves/{}", leaf.idx)),
    }))
}

/// The file a path names: its id and which form.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Form {
    Json,
    Csv,
    CsvMetadata,
}

fn parse_file(file: &str) -> Result<(i64, Form), AppError> {
    let (id, form) = if let Some(id) = file.strip_suffix(".csv-metadata.json") {
        (id, Form::CsvMetadata)
    } else if let Some(id) = file.strip_suffix(".json") {
        (id, Form::Json)
    } else if let Some(id) = file.strip_suffix(".csv") {
        (id, Form::Csv)
    } else {
        return Err(AppError::NotFound);
    };
    Ok((id.parse().map_err(|_| AppError::NotFound)?, form))
}

fn iso(unix: Option<i64>) -> Option<String> {
    unix.map(crate::open311::iso_time)
}

fn yuan(fen: i64) -> String {
    Fen::new(fen).map_or_else(|| format!("-{}", Fen::new(-fen).unwrap_or_default()), |f| f.to_string())
}

/// A JSON document, cacheable for a few minutes (public data; a correction makes a new version).
fn json_response(value: &Value, filename: &str) -> Response {
    let mut response = axum::Json(value).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    if let Ok(v) = HeaderValue::from_str(&format!("inline; filename=\"{filename}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    response
}

/// A CSV file (UTF-8 with a byte-order mark, so that Excel reads the Chinese), naming its
/// metadata and licence in `Link`.
fn csv_response(bytes: Vec<u8>, filename: &str, metadata_url: &str) -> Response {
    let mut body = "\u{feff}".as_bytes().to_vec();
    body.extend(bytes);
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    if let Ok(v) =
        HeaderValue::from_str(&format!("<{metadata_url}>; rel=\"describedby\", <{LICENCE_URL}>; rel=\"license\""))
    {
        headers.insert(header::LINK, v);
    }
    response
}

fn write_csv(header: &[&str], rows: Vec<Vec<String>>) -> Result<Vec<u8>, AppError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let internal = |e: csv::Error| AppError::Internal(format!("csv: {e}"));
    w.write_record(header).map_err(internal)?;
    for row in rows {
        w.write_record(&row).map_err(internal)?;
    }
    w.into_inner().map_err(|e| AppError::Internal(format!("csv: {e}")))
}

/// The CSVW metadata of a CSV file: title, licence, source page, ledger leaf and columns.
fn csvw(
    csv_url: &str,
    title: &str,
    page_url: &str,
    licence: &Licence,
    ledger: &Option<LedgerRef>,
    columns: &[&str],
) -> Value {
    json!({
        "@context": "http://www.w3.org/ns/csvw",
        "url": csv_url,
        "dc:title": title,
        "dc:source": page_url,
        "dc:license": { "@id": licence.url },
        "dc:rights": licence.statement,
        "ledger": ledger,
        "tableSchema": {
            "columns": columns.iter().map(|c| json!({ "titles": c, "datatype": "string" })).collect::<Vec<_>>()
        }
    })
}

/// A public roster (published, superseded or withdrawn); anything else is "not found".
async fn public_roster(state: &AppState, id: i64) -> Result<(Roster, RosterStatus), AppError> {
    let roster = state.store().find_roster(id).await?.ok_or(AppError::NotFound)?;
    let status = roster.status;
    if status.is_public() { Ok((roster, status)) } else { Err(AppError::NotFound) }
}

const ROSTER_COLUMNS: [&str; 7] =
    ["序号", "姓名", "身份证号（已隐藏部分数字）", "村民小组", "账号（已隐藏部分数字）", "金额（元）", "备注"];

async fn roster(State(state): State<AppState>, Path(file): Path<String>) -> Result<Response, AppError> {
    let (id, form) = parse_file(&file)?;
    let (roster, status) = public_roster(&state, id).await?;
    let store = state.store();
    let place = place_name(&state, &roster.org_code).await?;
    let title = roster_title(&roster, &place);
    let page_url = state.config().public_link(&format!("/rosters/{id}"));
    let licence = licence(&state, &roster.org_code).await?;
    let ledger = ledger_ref(&state, "roster", id).await?;
    let csv_url = state.config().public_link(&format!("/opendata/rosters/{id}.csv"));
    let metadata_url = state.config().public_link(&format!("/opendata/rosters/{id}.csv-metadata.json"));
    if form == Form::CsvMetadata {
        return Ok(json_response(&csvw(&csv_url, &title, &page_url, &licence, &ledger, &ROSTER_COLUMNS), &file));
    }
    // The stored masked forms, exactly what the page shows; nothing is decrypted here.
    let entries = store.roster_entries(id, i64::MAX, 0).await?;
    if form == Form::Csv {
        let rows = entries
            .into_iter()
            .zip(1..)
            .map(|(e, number): (_, i64)| {
                vec![
                    number.to_string(),
                    e.name,
                    e.id_masked,
                    e.group_name.unwrap_or_default(),
                    e.account_masked.unwrap_or_default(),
                    yuan(e.amount_fen),
                    e.note.unwrap_or_default(),
                ]
            })
            .collect();
        return Ok(csv_response(write_csv(&ROSTER_COLUMNS, rows)?, &format!("roster-{id}.csv"), &metadata_url));
    }
    let differences: Vec<Value> = if roster.phase == Phase::Paid {
        store
            .differences(id)
            .await?
            .into_iter()
            .map(|d| {
                json!({
                    "kind": d.kind.as_str(),
                    "label": d.kind.label(),
                    "name": d.name,
                    "id_masked": d.id_masked,
                    "proposed_fen": d.proposed_fen,
                    "paid_fen": d.paid_fen,
                    "reason": d.reason,
                })
            })
            .collect()
    } else {
        Vec::new()
    };
    let value = json!({
        "dataset": "roster",
        "id": id,
        "title": title,
        "programme": roster.programme_name,
        "org_code": roster.org_code,
        "place": place,
        "year": roster.year,
        "period": roster.period,
        "phase": roster.phase.as_str(),
        "phase_label": roster.phase.label(),
        "status": status.as_str(),
        "status_label": status.label(),
        "status_reason": roster.status_reason,
        "version": roster.version,
        "supersedes_id": roster.supersedes_id,
        "correction_reason": roster.correction_reason,
        "published_at": iso(roster.published_at),
        "publicity_start": roster.publicity_start,
        "publicity_end": roster.publicity_end,
        "paid_on": roster.paid_on,
        "entry_count": roster.entry_count,
        "total_fen": roster.total_fen,
        "page_url": page_url,
        "csv_url": csv_url,
        "ledger": ledger,
        "licence": licence,
        "masking": "身份证号、银行账号与公示页面一致，已隐藏部分数字；姓名按公示惯例完整显示",
        "entries": entries.into_iter().zip(1..).map(|(e, number): (_, i64)| json!({
            "row_no": number,
            "name": e.name,
            "id_masked": e.id_masked,
            "group": e.group_name,
            "account_masked": e.account_masked,
            "amount_fen": e.amount_fen,
            "note": e.note,
        })).collect::<Vec<_>>(),
        "differences": differences,
    });
    Ok(json_response(&value, &file))
}

/// A public disclosure; anything else is "not found".
async fn public_disclosure(state: &AppState, id: i64) -> Result<(Disclosure, RosterStatus), AppError> {
    let d = state.store().find_disclosure(id).await?.ok_or(AppError::NotFound)?;
    let status = d.status;
    if status.is_public() { Ok((d, status)) } else { Err(AppError::NotFound) }
}

const LINE_COLUMNS: [&str; 6] = ["序号", "日期", "摘要", "收入（元）", "支出（元）", "备注"];
const TEXT_COLUMNS: [&str; 2] = ["项目", "内容"];

async fn disclosure(State(state): State<AppState>, Path(file): Path<String>) -> Result<Response, AppError> {
    let (id, form) = parse_file(&file)?;
    let (d, status) = public_disclosure(&state, id).await?;
    let store = state.store();
    let place = place_name(&state, &d.org_code).await?;
    let category = d.category.label();
    let page_url = state.config().public_link(&format!("/disclosures/{id}"));
    let licence = licence(&state, &d.org_code).await?;
    let ledger = ledger_ref(&state, "disclosure", id).await?;
    let csv_url = state.config().public_link(&format!("/opendata/disclosures/{id}.csv"));
    let metadata_url = state.config().public_link(&format!("/opendata/disclosures/{id}.csv-metadata.json"));
    let lines = store.finance_lines(id).await?;
    // A finance disclosure is its lines; any other is its text, one field a row.
    let columns: &[&str] = if lines.is_empty() { &TEXT_COLUMNS } else { &LINE_COLUMNS };
    let title = format!("{place} {}", d.title);
    match form {
        Form::CsvMetadata => {
            return Ok(json_response(&csvw(&csv_url, &title, &page_url, &licence, &ledger, columns), &file));
        }
        Form::Csv => {
            let rows = if lines.is_empty() {
                vec![
                    vec!["标题".to_owned(), d.title.clone()],
                    vec!["类别".to_owned(), category.to_owned()],
                    vec!["单位".to_owned(), place.clone()],
                    vec!["期间".to_owned(), d.period_label.clone()],
                    vec!["版本".to_owned(), d.version.to_string()],
                    vec!["状态".to_owned(), status.label().to_owned()],
                    vec!["正文".to_owned(), d.body.clone()],
                ]
            } else {
                lines
                    .iter()
                    .map(|l| {
                        vec![
                            l.row_no.to_string(),
                            l.line_date.clone().unwrap_or_default(),
                            l.summary.clone(),
                            yuan(l.income_fen),
                            yuan(l.expense_fen),
                            l.note.clone().unwrap_or_default(),
                        ]
                    })
                    .collect()
            };
            return Ok(csv_response(write_csv(columns, rows)?, &format!("disclosure-{id}.csv"), &metadata_url));
        }
        Form::Json => {}
    }
    let files: Vec<Value> = store
        .attachments_of_disclosure(id)
        .await?
        .into_iter()
        .map(|a| {
            json!({
                "name": a.original_name,
                "content_type": a.content_type,
                "size": a.size,
                "url": state.config().public_link(&format!("/disclosures/{id}/files/{}", a.id)),
            })
        })
        .collect();
    let value = json!({
        "dataset": "disclosure",
        "id": id,
        "title": d.title,
        "category": d.category.as_str(),
        "category_label": category,
        "org_code": d.org_code,
        "place": place,
        "period_label": d.period_label,
        "period_start": d.period_start,
        "period_end": d.period_end,
        "status": status.as_str(),
        "status_label": status.label(),
        "status_reason": d.status_reason,
        "version": d.version,
        "supersedes_id": d.supersedes_id,
        "correction_reason": d.correction_reason,
        "published_at": iso(d.published_at),
        "body_markdown": d.body,
        "income_fen": d.income_fen,
        "expense_fen": d.expense_fen,
        "lines": lines.into_iter().map(|l| json!({
            "row_no": l.row_no,
            "date": l.line_date,
            "summary": l.summary,
            "income_fen": l.income_fen,
            "expense_fen": l.expense_fen,
            "note": l.note,
        })).collect::<Vec<_>>(),
        "files": files,
        "page_url": page_url,
        "csv_url": csv_url,
        "ledger": ledger,
        "licence": licence,
    });
    Ok(json_response(&value, &file))
}

/// One dataset in the bulk index.
#[derive(Debug, Serialize)]
struct Entry {
    dataset: &'static str,
    id: i64,
    title: String,
    org_code: String,
    status: String,
    published_at: Option<String>,
    page_url: String,
    json_url: String,
    csv_url: String,
    ledger: Option<LedgerRef>,
}

/// `/opendata/{county}/index.json`: every public roster and disclosure of the county.
async fn index(State(state): State<AppState>, Path(code): Path<String>) -> Result<Response, AppError> {
    let county = state
        .store()
        .find_org(&code)
        .await?
        .filter(|o| o.level == xiaowei_core::OrgLevel::County)
        .ok_or(AppError::NotFound)?;
    let store = state.store();
    let link = |path: String| state.config().public_link(&path);
    let leaves = |kind: &'static str| async move {
        Ok::<_, AppError>(
            store
                .latest_leaves_of_kind(kind)
                .await?
                .into_iter()
                .map(|(id, idx, hash)| (id, (idx, hex::encode(hash))))
                .collect::<std::collections::HashMap<_, _>>(),
        )
    };
    let to_ref = |found: Option<&(i64, String)>| {
        found.map(|(idx, hash)| LedgerRef {
            leaf_index: *idx,
            leaf_hash: hash.clone(),
            verify_url: link(format!("/ledger/leaves/{idx}")),
        })
    };
    let mut places = std::collections::HashMap::new();
    let mut datasets = Vec::new();
    let roster_leaves = leaves("roster").await?;
    for r in store.public_rosters_under(&county.code).await? {
        if !places.contains_key(&r.org_code) {
            places.insert(r.org_code.clone(), place_name(&state, &r.org_code).await?);
        }
        datasets.push(Entry {
            dataset: "roster",
            id: r.id,
            title: roster_title(&r, places.get(&r.org_code).map_or("", String::as_str)),
            status: r.status.as_str().to_owned(),
            published_at: iso(r.published_at),
            page_url: link(format!("/rosters/{}", r.id)),
            json_url: link(format!("/opendata/rosters/{}.json", r.id)),
            csv_url: link(format!("/opendata/rosters/{}.csv", r.id)),
            ledger: to_ref(roster_leaves.get(&r.id)),
            org_code: r.org_code,
        });
    }
    let disclosure_leaves = leaves("disclosure").await?;
    for d in store.public_disclosures_under(&county.code).await? {
        if !places.contains_key(&d.org_code) {
            places.insert(d.org_code.clone(), place_name(&state, &d.org_code).await?);
        }
        datasets.push(Entry {
            dataset: "disclosure",
            id: d.id,
            title: format!("{} {}", places.get(&d.org_code).map_or("", String::as_str), d.title),
            status: d.status.as_str().to_owned(),
            published_at: iso(d.published_at),
            page_url: link(format!("/disclosures/{}", d.id)),
            json_url: link(format!("/opendata/disclosures/{}.json", d.id)),
            csv_url: link(format!("/opendata/disclosures/{}.csv", d.id)),
            ledger: to_ref(disclosure_leaves.get(&d.id)),
            org_code: d.org_code,
        });
    }
    let value = json!({
        "county": county.name,
        "county_code": county.code,
        "generated_at": crate::open311::iso_time(state.now()),
        "licence": licence(&state, &county.code).await?,
        "ledger_checkpoint_url": link("/ledger/checkpoint".to_owned()),
        "dataset_count": datasets.len(),
        "datasets": datasets,
    });
    let mut response = json_response(&value, "index.json");
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=60"));
    Ok(response)
}
