//! The 公示公开 back office: the clerk writes a draft (Markdown), imports finance lines from a
//! spreadsheet, attaches files and submits; the township reviewer approves (publishes), returns
//! with a reason or withdraws with a reason; a published disclosure is corrected by a new version
//! with a reason. Every action checks role and scope, every change is audited, and every status
//! change is compare-and-set so a double submit acts once.

use std::collections::HashMap;

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;
use xiaowei_core::disclosure::{Category, FinanceTotals, Period, advance, check_finance, parse_date, signed_yuan};
use xiaowei_core::roster::CellError;
use xiaowei_core::subsidy::{RosterAction, RosterStatus};
use xiaowei_core::{OrgLevel, Permission};
use xiaowei_store::{Disclosure, DisclosureText, NewAttachment, NewDisclosure, NewFinanceLine, StoreError};

use super::rosters::{Upload, draft_places, read_upload, store_scan};
use super::{KeyedForm, Nav, Staff, first_submit, see_other};
use super::{StaffRoutes, Target};
use crate::app::disclosure_text::render_markdown;
use crate::app::rosters::AttachmentView;
use crate::public::disclosures::{ChangesView, LineView, TotalsView, VersionView, changes, versions};
use crate::state::AppState;
use crate::web::dates::shanghai_date;
use crate::web::dates::shanghai_time;
use crate::web::error::AppError;
use crate::web::form::FieldErrors;
use crate::web::places::place_name;
use crate::web::security::random_token;

const PAGE_SIZE: i64 = 50;
const MAX_TITLE: usize = 100;
const MAX_BODY: usize = 20_000;
const MAX_REASON: usize = 500;

/// Loads a disclosure and checks that its org is inside the account's scope.
async fn in_scope(state: &AppState, staff: &Staff, id: i64) -> Result<Disclosure, AppError> {
    let d = state.store().find_disclosure(id).await?.ok_or(AppError::NotFound)?;
    staff.require_visible(&d.org_code)?;
    Ok(d)
}

fn notice_text(code: &str) -> &'static str {
    match code {
        "created" => "草稿已保存。财务公开请导入收支明细；确认无误后提交审核。",
        "saved" => "修改已保存。",
        "lines" => "收支明细已导入，合计已重新计算。",
        "attached" => "附件已上传。",
        "submitted" => "已提交乡镇审核。",
        "approved" => "审核通过，已公开。",
        "returned" => "已退回村文书修改。",
        "withdrawn" => "已撤回，撤回原因已公开。",
        "repeat" => "该表单已提交过，未重复处理。",
        _ => "",
    }
}

/// A status change that lost a race (or a repeated click) is reported plainly.
fn changed_meanwhile(e: StoreError) -> AppError {
    match e {
        StoreError::Stale(_) => AppError::Conflict("公示状态已被他人更新，请刷新页面查看".into()),
        other => other.into(),
    }
}

async fn audit(state: &AppState, staff: &Staff, d: &Disclosure, action: &str, detail: String) -> Result<(), AppError> {
    let entry =
        staff.audit_entry(state.now(), action, format!("disclosure:{}", d.id), detail, Some(d.org_code.clone()));
    state.audit(entry).await
}

struct Row {
    id: i64,
    title: String,
    category: &'static str,
    period: String,
    status: &'static str,
    version: i64,
    updated: String,
}

#[derive(Template)]
#[template(path = "staff/disclosures.html")]
struct ListPage {
    nav: Nav,
    notice: &'static str,
    rows: Vec<Row>,
    filter: String,
    filters: Vec<(&'static str, &'static str)>,
    page: i64,
    has_more: bool,
    can_draft: bool,
}

#[derive(Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    status: String,
    page: Option<i64>,
    #[serde(default)]
    done: String,
}

pub async fn list(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<ListQuery>,
) -> Result<Html<String>, AppError> {
    let filter = RosterStatus::parse(&q.status);
    let page = q.page.unwrap_or(1).clamp(1, 100_000);
    let mut found =
        state.store().disclosures_within(&staff.scope.org_code, filter, PAGE_SIZE + 1, (page - 1) * PAGE_SIZE).await?;
    let has_more = found.len() as i64 > PAGE_SIZE;
    found.truncate(PAGE_SIZE as usize);
    let mut names: HashMap<String, String> = HashMap::new();
    let mut rows = Vec::with_capacity(found.len());
    for d in found {
        if !names.contains_key(&d.org_code) {
            names.insert(d.org_code.clone(), place_name(&state, &d.org_code).await?);
        }
        rows.push(Row {
            id: d.id,
            title: format!("{} {}", names.get(&d.org_code).map_or("", String::as_str), d.title),
            category: d.category.label(),
            period: d.period_label.clone(),
            status: d.status.label(),
            version: d.version,
            updated: shanghai_time(d.updated_at),
        });
    }
    let mut filters = vec![("", "全部")];
    filters.extend(RosterStatus::ALL.iter().map(|s| (s.as_str(), s.label())));
    let page = ListPage {
        nav: staff.nav(),
        notice: notice_text(&q.done),
        rows,
        filter: filter.map_or("", RosterStatus::as_str).to_owned(),
        filters,
        page,
        has_more,
        can_draft: staff.role.allows(Permission::DraftDisclosures),
    };
    Ok(Html(page.render()?))
}

/// The text fields of the form, as typed (kept to refill the form).
#[derive(Deserialize, Default)]
pub struct TextForm {
    #[serde(default)]
    form_key: String,
    #[serde(default)]
    org_code: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    period_kind: String,
    #[serde(default)]
    year: String,
    #[serde(default)]
    number: String,
    #[serde(default)]
    start: String,
    #[serde(default)]
    end: String,
    #[serde(default)]
    supersedes_id: String,
    #[serde(default)]
    correction_reason: String,
}

/// Checks the title, body and period: the text, or every field at fault ([`AppError::Fields`]).
fn parse_text(form: &TextForm) -> Result<DisclosureText, AppError> {
    let mut errors = FieldErrors::new();
    let title = xiaowei_core::text::normalize(&form.title);
    if title.is_empty() || title.chars().count() > MAX_TITLE {
        errors.add("title", format!("标题：请填写（不超过{MAX_TITLE}字）"));
    }
    let period = period_of(form).map_err(|(field, message)| errors.add(field, message)).ok();
    let body = form.body.replace("\r\n", "\n").trim_end().to_owned();
    if body.trim().is_empty() || body.chars().count() > MAX_BODY {
        errors.add("body", format!("正文：请填写（不超过{MAX_BODY}字）"));
    }
    let (Some(period), true) = (period, errors.is_empty()) else { return Err(AppError::Fields(errors)) };
    Ok(DisclosureText {
        title,
        body,
        period_label: period.label,
        period_start: Some(period.start.to_string()),
        period_end: Some(period.end.to_string()),
    })
}

/// The period the form describes, or the field at fault and its message.
fn period_of(form: &TextForm) -> Result<Period, (&'static str, String)> {
    let number = |what: &str| form.number.trim().parse::<i8>().map_err(|_| ("number", format!("{what}：请选择")));
    let year = || form.year.trim().parse::<i16>().map_err(|_| ("year", "年份：请填写四位年份，如 2025".to_owned()));
    let period = |e: xiaowei_core::disclosure::PeriodError| ("period", format!("公开期间：{e}"));
    match form.period_kind.as_str() {
        "quarter" => Period::quarter(year()?, number("季度")?).map_err(period),
        "month" => Period::month(year()?, number("月份")?).map_err(period),
        "range" => {
            let start = parse_date(&form.start).map_err(|e| ("start", format!("开始日期：{e}")))?;
            let end = parse_date(&form.end).map_err(|e| ("end", format!("结束日期：{e}")))?;
            Period::between(start, end).map_err(period)
        }
        _ => Err(("period", "公开期间：请选择按季度、按月或起止日期".to_owned())),
    }
}

/// The form as it is shown: values of an existing disclosure or blanks.
struct FormValues {
    title: String,
    body: String,
    period_kind: String,
    year: String,
    number: String,
    start: String,
    end: String,
}

impl FormValues {
    fn blank(year: i16) -> Self {
        Self {
            title: String::new(),
            body: String::new(),
            period_kind: "quarter".into(),
            year: year.to_string(),
            number: String::new(),
            start: String::new(),
            end: String::new(),
        }
    }

    /// What was typed, for a form that comes back.
    fn typed(form: &TextForm) -> Self {
        Self {
            title: form.title.clone(),
            body: form.body.clone(),
            period_kind: form.period_kind.clone(),
            year: form.year.clone(),
            number: form.number.clone(),
            start: form.start.clone(),
            end: form.end.clone(),
        }
    }

    /// Prefills from a stored disclosure; its period is offered as start and end dates.
    fn of(d: &Disclosure) -> Self {
        Self {
            title: d.title.clone(),
            body: d.body.clone(),
            period_kind: "range".into(),
            year: String::new(),
            number: String::new(),
            start: d.period_start.clone().unwrap_or_default(),
            end: d.period_end.clone().unwrap_or_default(),
        }
    }
}

struct CorrectionView {
    id: i64,
    title: String,
    version: i64,
    category: &'static str,
    place: String,
}

#[derive(Template)]
#[template(path = "staff/disclosure_new.html")]
struct NewPage {
    nav: Nav,
    places: Vec<(String, String)>,
    categories: Vec<(&'static str, &'static str)>,
    values: FormValues,
    corrects: Option<CorrectionView>,
    form_key: String,
    /// A new draft's place, category and a correction's reason, as chosen or typed.
    org_code: String,
    category: String,
    correction_reason: String,
    errors: FieldErrors,
}

/// Labels that open the checks' messages, and the field each names.
const TEXT_FIELDS: [(&str, &str); 3] =
    [("公开单位", "org_code"), ("类别", "category"), ("更正原因", "correction_reason")];

#[derive(Deserialize)]
pub struct NewQuery {
    corrects: Option<i64>,
}

/// Only a published disclosure can be corrected.
async fn correctable(state: &AppState, staff: &Staff, id: i64) -> Result<Disclosure, AppError> {
    let old = in_scope(state, staff, id).await?;
    if old.status != RosterStatus::Published {
        return Err(AppError::invalid("只有已公开的公示可以更正"));
    }
    Ok(old)
}

pub async fn new_form(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<NewQuery>,
) -> Result<Html<String>, AppError> {
    let blank = FormValues::blank(shanghai_date(state.now()).year());
    Ok(Html(new_page(&state, &staff, q.corrects, blank).await?.render()?))
}

/// The new-draft form, or the correction form of the published disclosure `corrects` (prefilled
/// from it unless `values` were typed).
async fn new_page(
    state: &AppState,
    staff: &Staff,
    corrects: Option<i64>,
    values: FormValues,
) -> Result<NewPage, AppError> {
    let (values, corrects) = match corrects {
        Some(id) => {
            let old = correctable(state, staff, id).await?;
            let view = CorrectionView {
                id: old.id,
                title: old.title.clone(),
                version: old.version,
                category: old.category.label(),
                place: place_name(state, &old.org_code).await?,
            };
            (if values.title.is_empty() && values.body.is_empty() { FormValues::of(&old) } else { values }, Some(view))
        }
        None => (values, None),
    };
    Ok(NewPage {
        nav: staff.nav(),
        places: draft_places(state, staff).await?,
        categories: Category::ALL.iter().map(|c| (c.as_str(), c.label())).collect(),
        values,
        corrects,
        form_key: random_token(),
        org_code: String::new(),
        category: String::new(),
        correction_reason: String::new(),
        errors: FieldErrors::new(),
    })
}

/// Checks a new draft or correction: its place, category, old version and text, or the fields at
/// fault (all of them where the checks are independent).
async fn check_new(
    state: &AppState,
    staff: &Staff,
    form: &TextForm,
    supersedes: Option<i64>,
) -> Result<(String, Category, Option<Disclosure>, DisclosureText), AppError> {
    let mut errors = FieldErrors::new();
    let (org_code, category, old) = match supersedes {
        Some(id) => {
            let old = correctable(state, staff, id).await?;
            let reason = form.correction_reason.trim();
            if reason.is_empty() || reason.chars().count() > MAX_REASON {
                errors
                    .add("correction_reason", format!("更正原因：请填写（不超过{MAX_REASON}字），原因将随新版本公开"));
            }
            (old.org_code.clone(), Some(old.category), Some(old))
        }
        None => {
            let org_code = form.org_code.trim().to_owned();
            match state.store().find_org(&org_code).await? {
                Some(org) if matches!(org.level, OrgLevel::Village | OrgLevel::Township) => {
                    staff.require_org(&org.code)?;
                }
                Some(_) => errors.add("org_code", "公开单位：只能选择村或乡镇"),
                None => errors.add("org_code", "公开单位：请选择"),
            }
            let category = Category::parse(&form.category);
            if category.is_none() {
                errors.add("category", "类别：请选择");
            }
            (org_code, category, None)
        }
    };
    let text = match parse_text(form) {
        Ok(text) => Some(text),
        Err(AppError::Fields(more)) => {
            for (field, message) in more.items() {
                errors.add(field, message.clone());
            }
            None
        }
        Err(e) => return Err(e),
    };
    match (category, text) {
        (Some(category), Some(text)) if errors.is_empty() => Ok((org_code, category, old, text)),
        _ => Err(AppError::Fields(errors)),
    }
}

/// Creates a draft, or a correction (a new version with a reason) of a published disclosure.
pub async fn create(
    State(state): State<AppState>,
    staff: Staff,
    Form(form): Form<TextForm>,
) -> Result<Response, AppError> {
    let store = state.store();
    let supersedes = form.supersedes_id.trim().parse::<i64>().ok().filter(|id| *id > 0);
    let checked = check_new(&state, &staff, &form, supersedes).await;
    let (org_code, category, old, text) = match checked {
        Ok(checked) => checked,
        Err(e) => {
            let errors = FieldErrors::from_error(e, &TEXT_FIELDS)?;
            let mut page = new_page(&state, &staff, supersedes, FormValues::typed(&form)).await?;
            page.org_code = form.org_code.trim().to_owned();
            page.category = form.category.clone();
            page.correction_reason = form.correction_reason.clone();
            page.errors = errors;
            return Ok((StatusCode::BAD_REQUEST, Html(page.render()?)).into_response());
        }
    };
    let reason = form.correction_reason.trim();
    if !first_submit(&state, &staff, &form.form_key).await? {
        return Ok(see_other("/staff/disclosures?done=repeat"));
    }
    // A correction starts from the corrected version's finance lines; the clerk may import anew.
    let lines: Vec<NewFinanceLine> = match &old {
        Some(old) => store
            .finance_lines(old.id)
            .await?
            .into_iter()
            .map(|l| NewFinanceLine {
                row_no: l.row_no,
                line_date: l.line_date,
                summary: l.summary,
                income_fen: l.income_fen,
                expense_fen: l.expense_fen,
                note: l.note,
            })
            .collect(),
        None => Vec::new(),
    };
    let new = NewDisclosure {
        org_code,
        category,
        title: text.title,
        body: text.body,
        period_label: text.period_label,
        period_start: text.period_start,
        period_end: text.period_end,
        supersedes_id: old.as_ref().map(|o| o.id),
        correction_reason: old.as_ref().map(|_| reason.to_owned()),
        created_by: staff.user.id,
    };
    let id = store.create_disclosure(&new, &lines, state.now()).await?;
    let created = store.find_disclosure(id).await?.ok_or(AppError::NotFound)?;
    let (action, detail) = match &old {
        Some(o) => ("disclosure.correct", format!("更正第{}版：{reason}", o.version)),
        None => ("disclosure.create", format!("新建{}公开草稿：{}", category.label(), created.title)),
    };
    audit(&state, &staff, &created, action, detail).await?;
    Ok(see_other(&format!("/staff/disclosures/{id}?done=created")))
}

#[derive(Template)]
#[template(path = "staff/disclosure.html")]
struct ShowPage {
    nav: Nav,
    notice: &'static str,
    id: i64,
    title: String,
    place: String,
    category: &'static str,
    period: String,
    status: &'static str,
    status_reason: String,
    version: i64,
    body_html: String,
    values: FormValues,
    is_finance: bool,
    lines: Vec<LineView>,
    totals: TotalsView,
    attachments: Vec<AttachmentView>,
    versions: Vec<VersionView>,
    changes: Option<ChangesView>,
    can_edit: bool,
    can_review: bool,
    can_withdraw: bool,
    can_correct: bool,
    is_public: bool,
    form_key: String,
    /// The edit form's messages when it comes back (then it is open, with what was typed).
    errors: FieldErrors,
}

#[derive(Deserialize)]
pub struct ShowQuery {
    #[serde(default)]
    done: String,
}

pub async fn show(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    Query(q): Query<ShowQuery>,
) -> Result<Html<String>, AppError> {
    let d = in_scope(&state, &staff, id).await?;
    Ok(Html(show_page(&state, &staff, d, notice_text(&q.done)).await?.render()?))
}

async fn show_page(state: &AppState, staff: &Staff, d: Disclosure, notice: &'static str) -> Result<ShowPage, AppError> {
    let id = d.id;
    let status = d.status;
    let store = state.store();
    let allowed = |p: Permission| staff.role.allows(p) && staff.scope.covers_org(&d.org_code);
    let category = d.category;
    Ok(ShowPage {
        nav: staff.nav(),
        notice,
        id,
        title: d.title.clone(),
        place: place_name(state, &d.org_code).await?,
        category: category.label(),
        period: d.period_label.clone(),
        status: status.label(),
        status_reason: d.status_reason.clone().unwrap_or_default(),
        version: d.version,
        body_html: render_markdown(&d.body),
        values: FormValues::of(&d),
        is_finance: category.has_lines(),
        lines: store.finance_lines(id).await?.into_iter().map(LineView::from).collect(),
        totals: TotalsView::of(&d),
        attachments: store.attachments_of_disclosure(id).await?.into_iter().map(AttachmentView::from).collect(),
        versions: versions(store, &d, false).await?,
        changes: changes(store, &d).await?,
        can_edit: status.is_editable() && allowed(Permission::DraftDisclosures),
        can_review: status == RosterStatus::Submitted && allowed(Permission::ReviewDisclosures),
        can_withdraw: status == RosterStatus::Published && allowed(Permission::ReviewDisclosures),
        can_correct: status == RosterStatus::Published && allowed(Permission::DraftDisclosures),
        is_public: status.is_public(),
        form_key: random_token(),
        errors: FieldErrors::new(),
    })
}

/// Loads a draft the account may edit, refusing once it has been submitted.
async fn editable(state: &AppState, staff: &Staff, id: i64) -> Result<Disclosure, AppError> {
    let d = in_scope(state, staff, id).await?;
    if !d.status.is_editable() {
        return Err(AppError::Conflict("公示已提交或已公开，不能再修改；已公开的请使用“更正”".into()));
    }
    Ok(d)
}

pub async fn edit(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    Form(form): Form<TextForm>,
) -> Result<Response, AppError> {
    let d = editable(&state, &staff, id).await?;
    let text = match parse_text(&form) {
        Ok(text) => text,
        Err(e) => {
            let errors = FieldErrors::from_error(e, &[])?;
            let mut page = show_page(&state, &staff, d, "").await?;
            page.values = FormValues::typed(&form);
            page.errors = errors;
            return Ok((StatusCode::BAD_REQUEST, Html(page.render()?)).into_response());
        }
    };
    if !first_submit(&state, &staff, &form.form_key).await? {
        return Ok(see_other(&format!("/staff/disclosures/{id}?done=repeat")));
    }
    state.store().update_draft_disclosure(id, &text, state.now()).await.map_err(changed_meanwhile)?;
    audit(&state, &staff, &d, "disclosure.edit", format!("修改草稿：{}", text.title)).await?;
    Ok(see_other(&format!("/staff/disclosures/{id}?done=saved")))
}

#[derive(Template)]
#[template(path = "staff/disclosure_import.html")]
struct ImportProblemsPage {
    nav: Nav,
    id: i64,
    file_name: String,
    problem: String,
    errors: Vec<CellError>,
}

/// Imports a finance file: every problem is listed by row and column, and a file with any
/// problem changes nothing. A clean file replaces the draft's lines and totals.
pub async fn import_lines(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    request: Request,
) -> Result<Response, AppError> {
    let d = editable(&state, &staff, id).await?;
    if !d.category.has_lines() {
        return Err(AppError::invalid("收支明细：只有财务公开可以导入收支明细"));
    }
    let upload: Upload = read_upload(&state, request).await?;
    if upload.file.is_empty() {
        return Err(AppError::invalid("收支明细文件：请选择要上传的 Excel 或 CSV 文件"));
    }
    let problems = |problem: String, errors: Vec<CellError>| -> Result<Response, AppError> {
        let page = ImportProblemsPage { nav: staff.nav(), id, file_name: upload.file_name.clone(), problem, errors };
        Ok(axum::response::IntoResponse::into_response(Html(page.render()?)))
    };
    let file = upload.file.clone();
    let grid = match crate::app::uploads::parse_sheet(move || xiaowei_sheets::read_grid(&file)).await? {
        Ok(grid) => grid,
        Err(e) => return problems(e.to_string(), Vec::new()),
    };
    let check = match check_finance(&grid) {
        Ok(check) => check,
        Err(e) => return problems(e.to_string(), Vec::new()),
    };
    if !check.is_clean() {
        return problems(format!("发现 {} 处问题，文件未导入。请修改后重新上传。", check.errors.len()), check.errors);
    }
    let lines: Vec<NewFinanceLine> = check
        .lines
        .iter()
        .map(|l| NewFinanceLine {
            row_no: i64::try_from(l.row).unwrap_or(i64::MAX),
            line_date: l.date.map(|d| d.to_string()),
            summary: l.summary.clone(),
            income_fen: l.income.as_fen(),
            expense_fen: l.expense.as_fen(),
            note: l.note.clone(),
        })
        .collect();
    state.store().replace_finance_lines(id, &lines, state.now()).await.map_err(changed_meanwhile)?;
    let totals = FinanceTotals::of(&check.lines);
    let detail = format!(
        "导入收支明细 {} 笔（{}），收入 {} 元，支出 {} 元",
        lines.len(),
        upload.file_name,
        signed_yuan(totals.income),
        signed_yuan(totals.expense)
    );
    audit(&state, &staff, &d, "disclosure.lines", detail).await?;
    Ok(see_other(&format!("/staff/disclosures/{id}?done=lines")))
}

pub async fn attach(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    request: Request,
) -> Result<Response, AppError> {
    let d = editable(&state, &staff, id).await?;
    let upload = read_upload(&state, request).await?;
    let (stored, original_name) = store_scan(&state, &upload).await?;
    let existing = state.store().attachments_of_disclosure(id).await?;
    if !existing.iter().any(|a| a.sha256 == stored.sha256) {
        let attachment = NewAttachment {
            roster_id: None,
            programme_id: None,
            sha256: stored.sha256.clone(),
            size: i64::try_from(stored.size).unwrap_or(i64::MAX),
            content_type: stored.kind.content_type().to_owned(),
            original_name: original_name.clone(),
            uploaded_by: Some(staff.user.id),
        };
        state.store().attach_to_disclosure(id, &attachment, state.now()).await.map_err(changed_meanwhile)?;
        audit(&state, &staff, &d, "disclosure.attach", format!("上传附件 {original_name}")).await?;
    }
    Ok(see_other(&format!("/staff/disclosures/{id}?done=attached")))
}

pub async fn submit(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    Form(form): Form<KeyedForm>,
) -> Result<Response, AppError> {
    let d = in_scope(&state, &staff, id).await?;
    let change = advance(d.status, RosterAction::Submit).map_err(|e| AppError::Conflict(e.to_string()))?;
    if d.category.has_lines() && d.line_count == 0 {
        return Err(AppError::invalid("收支明细：财务公开须先导入收支明细再提交"));
    }
    if !first_submit(&state, &staff, &form.form_key).await? {
        return Ok(see_other(&format!("/staff/disclosures/{id}?done=repeat")));
    }
    let now = state.now();
    state.store().change_disclosure_status(id, change, None, staff.user.id, now).await.map_err(changed_meanwhile)?;
    audit(&state, &staff, &d, "disclosure.submit", "提交审核".into()).await?;
    Ok(see_other(&format!("/staff/disclosures/{id}?done=submitted")))
}

pub async fn approve(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    Form(form): Form<KeyedForm>,
) -> Result<Response, AppError> {
    let d = in_scope(&state, &staff, id).await?;
    advance(d.status, RosterAction::Approve).map_err(|e| AppError::Conflict(e.to_string()))?;
    if !first_submit(&state, &staff, &form.form_key).await? {
        return Ok(see_other(&format!("/staff/disclosures/{id}?done=repeat")));
    }
    state.store().publish_disclosure(id, staff.user.id, state.now()).await.map_err(changed_meanwhile)?;
    if let Some(published) = state.store().find_disclosure(id).await? {
        crate::app::search::index_disclosure(&state, &published).await?;
    }
    if let Some(old) = d.supersedes_id {
        state.store().unindex_document(xiaowei_core::search::DocumentKind::Disclosure, old).await?;
    }
    let detail = match d.supersedes_id {
        Some(_) => format!("审核通过并公开第{}版（更正）", d.version),
        None => "审核通过并公开".to_owned(),
    };
    audit(&state, &staff, &d, "disclosure.publish", detail).await?;
    Ok(see_other(&format!("/staff/disclosures/{id}?done=approved")))
}

#[derive(Deserialize)]
pub struct ReasonForm {
    #[serde(default)]
    form_key: String,
    #[serde(default)]
    reason: String,
}

async fn change_with_reason(
    state: &AppState,
    staff: &Staff,
    id: i64,
    form: &ReasonForm,
    action: RosterAction,
) -> Result<Response, AppError> {
    let d = in_scope(state, staff, id).await?;
    let change = advance(d.status, action).map_err(|e| AppError::Conflict(e.to_string()))?;
    let reason = form.reason.trim();
    if reason.is_empty() || reason.chars().count() > MAX_REASON {
        return Err(AppError::invalid(format!("原因：请填写（不超过{MAX_REASON}字）")));
    }
    if !first_submit(state, staff, &form.form_key).await? {
        return Ok(see_other(&format!("/staff/disclosures/{id}?done=repeat")));
    }
    state
        .store()
        .change_disclosure_status(id, change, Some(reason), staff.user.id, state.now())
        .await
        .map_err(changed_meanwhile)?;
    if change.to() == RosterStatus::Withdrawn {
        state.store().unindex_document(xiaowei_core::search::DocumentKind::Disclosure, id).await?;
    }
    let (code, done) = if action == RosterAction::Return {
        ("disclosure.return", "returned")
    } else {
        ("disclosure.withdraw", "withdrawn")
    };
    audit(state, staff, &d, code, reason.to_owned()).await?;
    Ok(see_other(&format!("/staff/disclosures/{id}?done={done}")))
}

pub async fn send_back(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    Form(form): Form<ReasonForm>,
) -> Result<Response, AppError> {
    change_with_reason(&state, &staff, id, &form, RosterAction::Return).await
}

pub async fn withdraw(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    Form(form): Form<ReasonForm>,
) -> Result<Response, AppError> {
    change_with_reason(&state, &staff, id, &form, RosterAction::Withdraw).await
}

/// A file of a disclosure in scope, including drafts not yet public.
pub async fn attachment(
    State(state): State<AppState>,
    staff: Staff,
    Path((id, attachment_id)): Path<(i64, i64)>,
) -> Result<Response, AppError> {
    in_scope(&state, &staff, id).await?;
    let a = state
        .store()
        .attachments_of_disclosure(id)
        .await?
        .into_iter()
        .find(|a| a.id == attachment_id)
        .ok_or(AppError::NotFound)?;
    crate::web::respond::attachment_response(&state, &a, false).await
}

/// This area's staff routes, each with the permission it needs and its scope target.
pub(super) fn routes(r: StaffRoutes) -> StaffRoutes {
    r.get("/staff/disclosures", Permission::ViewDisclosures, Target::None, list)
        .post("/staff/disclosures", Permission::DraftDisclosures, Target::Org, create)
        .get("/staff/disclosures/new", Permission::DraftDisclosures, Target::None, new_form)
        .get("/staff/disclosures/{disclosure}", Permission::ViewDisclosures, Target::Disclosure, show)
        .post("/staff/disclosures/{disclosure}/edit", Permission::DraftDisclosures, Target::Disclosure, edit)
        .post("/staff/disclosures/{disclosure}/lines", Permission::DraftDisclosures, Target::Disclosure, import_lines)
        .post("/staff/disclosures/{disclosure}/attachments", Permission::DraftDisclosures, Target::Disclosure, attach)
        .post("/staff/disclosures/{disclosure}/submit", Permission::DraftDisclosures, Target::Disclosure, submit)
        .post("/staff/disclosures/{disclosure}/approve", Permission::ReviewDisclosures, Target::Disclosure, approve)
        .post("/staff/disclosures/{disclosure}/return", Permission::ReviewDisclosures, Target::Disclosure, send_back)
        .post("/staff/disclosures/{disclosure}/withdraw", Permission::ReviewDisclosures, Target::Disclosure, withdraw)
        .get(
            "/staff/disclosures/{disclosure}/attachments/{attachment}",
            Permission::ViewDisclosures,
            Target::Disclosure,
            attachment,
        )
}
