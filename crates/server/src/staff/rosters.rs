//! The roster back office: import (upload → preview with every error → confirm), the clerk's
//! reasons and scans, submission, the township reviewer's approve / return / withdraw, and the
//! full export for authorised staff (audited). Every action is checked against role and scope,
//! and every status change is compare-and-set so a double submit acts once.

use std::collections::HashMap;

use askama::Template;
use axum::Form;
use axum::body::Bytes;
use axum::extract::multipart::MultipartError;
use axum::extract::{FromRequest, Multipart, Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;
use xiaowei_core::objection;
use xiaowei_core::period::PeriodReading;
use xiaowei_core::roster::CellError;
use xiaowei_core::subsidy::{self, Phase, Publicity, RosterAction, RosterStatus, transition};
use xiaowei_core::{Fen, OrgLevel, Permission};
use xiaowei_integrations::StoredAttachment;
use xiaowei_store::{NewAttachment, Programme, Roster, StoreError};

use super::{KeyedForm, Nav, Staff, first_submit, see_other, xlsx_response};
use super::{StaffRoutes, Target};
use crate::app::rosters::{
    AttachmentView, DifferenceView, EntryView, ImportParams, VersionView, check_upload, refresh_differences,
    roster_title, store_upload, versions,
};
use crate::app::uploads;
use crate::state::AppState;
use crate::web::dates::shanghai_date;
use crate::web::dates::shanghai_time;
use crate::web::error::AppError;
use crate::web::form::FieldErrors;
use crate::web::places::place_name;
use crate::web::security::random_token;

const PAGE_SIZE: i64 = 50;
/// How long a checked upload waits for confirmation.
const STAGE_SECONDS: i64 = 3600;

/// Loads a roster and checks that its org is inside the account's scope.
async fn roster_in_scope(state: &AppState, staff: &Staff, id: i64) -> Result<Roster, AppError> {
    let roster = state.store().find_roster(id).await?.ok_or(AppError::NotFound)?;
    staff.require_visible(&roster.org_code)?;
    Ok(roster)
}

fn notice_text(code: &str) -> &'static str {
    match code {
        "imported" => "花名册已导入为草稿。请核对后上传签字盖章扫描件并提交审核。",
        "submitted" => "已提交乡镇审核。",
        "approved" => "审核通过，花名册已公开。",
        "returned" => "已退回村文书修改。",
        "withdrawn" => "花名册已撤回，撤回原因已公开。",
        "reasons" => "差异原因已保存。",
        "attached" => "扫描件已上传。",
        "deleted" => "草稿已删除。",
        "repeat" => "该表单已提交过，未重复处理。",
        _ => "",
    }
}

struct RosterRow {
    id: i64,
    title: String,
    /// Stored before periods were structured, with a period text no kind could be read from.
    period_unread: bool,
    status: &'static str,
    version: i64,
    entries: i64,
    total: String,
    updated: String,
}

#[derive(Template)]
#[template(path = "staff/rosters.html")]
struct ListPage {
    nav: Nav,
    notice: &'static str,
    rosters: Vec<RosterRow>,
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
    let mut rows =
        state.store().rosters_within(&staff.scope.org_code, filter, PAGE_SIZE + 1, (page - 1) * PAGE_SIZE).await?;
    let has_more = rows.len() as i64 > PAGE_SIZE;
    rows.truncate(PAGE_SIZE as usize);
    let mut names: HashMap<String, String> = HashMap::new();
    let mut rosters = Vec::with_capacity(rows.len());
    for r in rows {
        if !names.contains_key(&r.org_code) {
            names.insert(r.org_code.clone(), place_name(&state, &r.org_code).await?);
        }
        rosters.push(RosterRow {
            id: r.id,
            title: roster_title(&r, names.get(&r.org_code).map_or("", String::as_str)),
            period_unread: r.period_kind == Some(PeriodReading::Unread),
            status: r.status.label(),
            version: r.version,
            entries: r.entry_count,
            total: Fen::new(r.total_fen).unwrap_or_default().to_string(),
            updated: shanghai_time(r.updated_at),
        });
    }
    let mut filters = vec![("", "全部")];
    filters.extend(RosterStatus::ALL.iter().map(|s| (s.as_str(), s.label())));
    let page = ListPage {
        nav: staff.nav(),
        notice: notice_text(&q.done),
        rosters,
        filter: filter.map_or("", RosterStatus::as_str).to_owned(),
        filters,
        page,
        has_more,
        can_draft: staff.role.allows(Permission::DraftRosters),
    };
    Ok(Html(page.render()?))
}

struct SettleOption {
    id: i64,
    label: String,
}

#[derive(Template)]
#[template(path = "staff/roster_new.html")]
struct NewPage {
    nav: Nav,
    programmes: Vec<Programme>,
    places: Vec<(String, String)>,
    settle_options: Vec<SettleOption>,
    /// This year, for the batch's example.
    year: i16,
    corrects: Option<CorrectionView>,
    max_mb: usize,
    /// The import parameters: defaults, or what was chosen when the form comes back with errors.
    values: ImportValues,
    /// The file a form that came back asks for again, by name.
    file_again: String,
    errors: FieldErrors,
}

/// The import form's parameters as chosen.
#[derive(Default)]
struct ImportValues {
    programme_id: String,
    org_code: String,
    year: String,
    period: String,
    phase: String,
    settles_id: String,
    paid_on: String,
    correction_reason: String,
}

impl ImportValues {
    fn of(upload: &Upload) -> Self {
        let f = |name| upload.field(name).to_owned();
        Self {
            programme_id: f("programme_id"),
            org_code: f("org_code"),
            year: f("year"),
            period: f("period"),
            phase: f("phase"),
            settles_id: f("settles_id"),
            paid_on: f("paid_on"),
            correction_reason: f("correction_reason"),
        }
    }
}

/// Labels that open the import checks' messages, and the field each names.
const IMPORT_FIELDS: [(&str, &str); 9] = [
    ("更正原因", "correction_reason"),
    ("补贴项目", "programme_id"),
    ("村（社区）", "org_code"),
    ("年度", "year"),
    ("批次", "period"),
    ("类型", "phase"),
    ("对应的公示花名册", "settles_id"),
    ("发放日期", "paid_on"),
    ("花名册文件", "file"),
];

struct CorrectionView {
    id: i64,
    title: String,
    version: i64,
}

#[derive(Deserialize)]
pub struct NewQuery {
    corrects: Option<i64>,
}

/// The orgs an account may draft rosters for: its village, or its township and the township's villages.
pub(super) async fn draft_places(state: &AppState, staff: &Staff) -> Result<Vec<(String, String)>, AppError> {
    let store = state.store();
    let own = store.find_org(&staff.scope.org_code).await?.ok_or(AppError::NotFound)?;
    let mut places = Vec::new();
    match own.level {
        OrgLevel::Village => places.push((own.code.clone(), own.display_name().to_owned())),
        OrgLevel::Township => {
            places.push((own.code.clone(), format!("{}（乡镇本级）", own.display_name())));
            for v in store.child_orgs(&own.code).await? {
                places.push((v.code.clone(), v.display_name().to_owned()));
            }
        }
        _ => {}
    }
    Ok(places)
}

pub async fn new_form(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<NewQuery>,
) -> Result<Html<String>, AppError> {
    let values = ImportValues {
        year: shanghai_date(state.now()).year().to_string(),
        phase: Phase::Proposed.as_str().to_owned(),
        ..ImportValues::default()
    };
    Ok(Html(new_page(&state, &staff, q.corrects, values).await?.render()?))
}

/// The import form, or the correction form of the published roster `corrects`.
async fn new_page(
    state: &AppState,
    staff: &Staff,
    corrects: Option<i64>,
    values: ImportValues,
) -> Result<NewPage, AppError> {
    let corrects = match corrects {
        Some(id) => {
            let old = roster_in_scope(state, staff, id).await?;
            if old.status != RosterStatus::Published {
                return Err(AppError::invalid("只有已公开的花名册可以更正"));
            }
            let place = place_name(state, &old.org_code).await?;
            Some(CorrectionView { id: old.id, title: roster_title(&old, &place), version: old.version })
        }
        None => None,
    };
    let places = draft_places(state, staff).await?;
    let mut settle_options = Vec::new();
    for r in state.store().rosters_within(&staff.scope.org_code, Some(RosterStatus::Published), 200, 0).await? {
        if r.phase == Phase::Proposed {
            let place = place_name(state, &r.org_code).await?;
            settle_options.push(SettleOption { id: r.id, label: roster_title(&r, &place) });
        }
    }
    Ok(NewPage {
        nav: staff.nav(),
        programmes: state.store().programmes().await?,
        places,
        settle_options,
        year: shanghai_date(state.now()).year(),
        corrects,
        max_mb: uploads::MAX_FILE_MB,
        values,
        file_again: String::new(),
        errors: FieldErrors::new(),
    })
}

/// A multipart form read into text fields and at most one file.
pub(super) struct Upload {
    fields: HashMap<String, String>,
    pub(super) file_name: String,
    pub(super) file: Bytes,
}

/// Reads a multipart body; called only after the role and scope checks, so a refused request
/// never has its upload read.
pub(super) async fn read_upload(state: &AppState, request: Request) -> Result<Upload, AppError> {
    let mut multipart = Multipart::from_request(request, state)
        .await
        .map_err(|_| AppError::invalid("请通过页面上的表单选择文件后上传"))?;
    let mut upload = Upload { fields: HashMap::new(), file_name: String::new(), file: Bytes::new() };
    let bad = |e: MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            uploads::too_large("文件")
        } else {
            AppError::invalid(format!(
                "上传内容不完整，请重新选择文件后提交（单个文件不超过{}MB）",
                uploads::MAX_FILE_MB
            ))
        }
    };
    while let Some(field) = multipart.next_field().await.map_err(bad)? {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "file" {
            upload.file_name =
                field.file_name().unwrap_or_default().chars().filter(|c| !c.is_control()).take(200).collect();
            upload.file = field.bytes().await.map_err(bad)?;
            if upload.file.len() > uploads::MAX_FILE_BYTES {
                return Err(uploads::too_large("文件"));
            }
        } else {
            let value = field.text().await.map_err(bad)?;
            if xiaowei_core::text::has_control(&name, false) || xiaowei_core::text::has_control(&value, true) {
                return Err(crate::web::security::control_error(&crate::web::security::field_label(&name)));
            }
            upload.fields.insert(name, value);
        }
    }
    Ok(upload)
}

impl Upload {
    pub(super) fn field(&self, name: &str) -> &str {
        self.fields.get(name).map_or("", |v| v.trim())
    }
}

/// Validates what the clerk chose on the import form, naming the field at fault.
async fn import_params(
    state: &AppState,
    staff: &Staff,
    upload: &Upload,
) -> Result<(ImportParams, Programme), AppError> {
    let store = state.store();
    if let Some(old_id) = upload.field("supersedes_id").parse::<i64>().ok().filter(|id| *id > 0) {
        let old = roster_in_scope(state, staff, old_id).await?;
        if old.status != RosterStatus::Published {
            return Err(AppError::invalid("只有已公开的花名册可以更正"));
        }
        let reason = upload.field("correction_reason");
        if reason.is_empty() || reason.chars().count() > 500 {
            return Err(AppError::invalid("更正原因：请填写（不超过500字），原因将随新版本公开"));
        }
        let programme = store.find_programme(old.programme_id).await?.ok_or(AppError::NotFound)?;
        let params = ImportParams {
            programme_id: old.programme_id,
            org_code: old.org_code,
            year: old.year,
            period: old.period,
            phase: old.phase,
            settles_id: old.settles_id,
            supersedes_id: Some(old.id),
            correction_reason: Some(reason.to_owned()),
            paid_on: old.paid_on,
        };
        return Ok((params, programme));
    }
    let programme_id =
        upload.field("programme_id").parse::<i64>().map_err(|_| AppError::invalid("补贴项目：请选择"))?;
    let programme = store.find_programme(programme_id).await?.ok_or_else(|| AppError::invalid("补贴项目：请选择"))?;
    let org_code = upload.field("org_code").to_owned();
    staff.require_org(&org_code)?;
    let org = store.find_org(&org_code).await?.ok_or_else(|| AppError::invalid("村（社区）：请选择"))?;
    if !matches!(org.level, OrgLevel::Village | OrgLevel::Township) {
        return Err(AppError::invalid("村（社区）：花名册只能按村或乡镇编制"));
    }
    let year = match upload.field("year").parse::<i64>() {
        Ok(y) if (1990..=2100).contains(&y) => y,
        _ => return Err(AppError::invalid("年度：请填写四位年份，如 2025")),
    };
    let period = match upload.field("period") {
        "" => format!("{year}年度"),
        p if p.chars().count() <= 30 => p.to_owned(),
        _ => return Err(AppError::invalid("批次：不超过30个字，如“2025年第一季度”")),
    };
    // The text is kept as typed; it must read as a period of the chosen year.
    xiaowei_core::period::for_new_roster(i16::try_from(year).unwrap_or_default(), &period)
        .map_err(|e| AppError::invalid(format!("批次：{e}")))?;
    let phase =
        Phase::parse(upload.field("phase")).ok_or_else(|| AppError::invalid("类型：请选择拟发放公示或发放结果"))?;
    let (settles_id, paid_on) = match phase {
        Phase::Proposed => (None, None),
        Phase::Paid => {
            let settles = upload
                .field("settles_id")
                .parse::<i64>()
                .map_err(|_| AppError::invalid("对应的公示花名册：发放结果必须对应一份已公开的拟发放公示"))?;
            let proposed = store.find_roster(settles).await?.ok_or(AppError::NotFound)?;
            if proposed.programme_id != programme.id
                || proposed.org_code != org_code
                || proposed.phase != Phase::Proposed
                || proposed.status != RosterStatus::Published
            {
                return Err(AppError::invalid("对应的公示花名册：必须是同一项目、同一村的已公开拟发放公示"));
            }
            let paid_on = subsidy::paid_on(upload.field("paid_on"), shanghai_date(state.now()))
                .map_err(|e| AppError::invalid(format!("发放日期：{e}")))?;
            (Some(settles), Some(paid_on.to_string()))
        }
    };
    let params = ImportParams {
        programme_id,
        org_code,
        year,
        period,
        phase,
        settles_id,
        supersedes_id: None,
        correction_reason: None,
        paid_on,
    };
    Ok((params, programme))
}

struct PreviewLine {
    row: usize,
    name: String,
    id_masked: String,
    group: String,
    amount: String,
}

#[derive(Template)]
#[template(path = "staff/roster_preview.html")]
struct PreviewPage {
    nav: Nav,
    file_name: String,
    title: String,
    errors: Vec<CellError>,
    lines: Vec<PreviewLine>,
    line_count: usize,
    total: String,
    token: String,
    form_key: String,
}

pub async fn preview(State(state): State<AppState>, staff: Staff, request: Request) -> Result<Response, AppError> {
    let upload = read_upload(&state, request).await?;
    let checked = match import_params(&state, &staff, &upload).await {
        Ok(_) if upload.file.is_empty() => Err(AppError::invalid("花名册文件：请选择要上传的 Excel 或 CSV 文件")),
        other => other,
    };
    let (params, programme) = match checked {
        Ok(checked) => checked,
        Err(e) => {
            // The form again with every choice kept; a file cannot be kept by a browser, so it
            // is asked for again by name.
            let errors = FieldErrors::from_error(e, &IMPORT_FIELDS)?;
            let corrects = upload.field("supersedes_id").parse::<i64>().ok().filter(|id| *id > 0);
            let mut page = new_page(&state, &staff, corrects, ImportValues::of(&upload)).await?;
            page.file_again = if upload.file.is_empty() { String::new() } else { upload.file_name.clone() };
            page.errors = errors;
            return Ok((StatusCode::BAD_REQUEST, Html(page.render()?)).into_response());
        }
    };
    let (check, _) = check_upload(state.store(), state.cipher(), &programme, &params, &upload.file).await?;
    let place = place_name(&state, &params.org_code).await?;
    let title = format!("{place} {} {} {}", params.period, programme.name, params.phase.label());
    let token = if check.is_clean() {
        let token = random_token();
        let params_json = serde_json::to_string(&params).map_err(|e| AppError::Internal(e.to_string()))?;
        let sealed = state.cipher().encrypt_bytes(&upload.file);
        state.store().stage_import(&token, staff.user.id, &params_json, &sealed, state.now()).await?;
        token
    } else {
        String::new()
    };
    let lines = check
        .lines
        .iter()
        .take(20)
        .map(|l| PreviewLine {
            row: l.row,
            name: l.name.clone(),
            id_masked: l.resident_id.masked(),
            group: l.group.clone().unwrap_or_default(),
            amount: l.amount.to_string(),
        })
        .collect();
    let page = PreviewPage {
        nav: staff.nav(),
        file_name: upload.file_name,
        title,
        line_count: check.lines.len(),
        total: check.total().to_string(),
        errors: check.errors,
        lines,
        token,
        form_key: random_token(),
    };
    Ok(Html(page.render()?).into_response())
}

#[derive(Deserialize)]
pub struct ConfirmForm {
    #[serde(default)]
    form_key: String,
    #[serde(default)]
    token: String,
}

pub async fn confirm(
    State(state): State<AppState>,
    staff: Staff,
    Form(form): Form<ConfirmForm>,
) -> Result<Response, AppError> {
    if !first_submit(&state, &staff, &form.form_key).await? {
        return Ok(see_other("/staff/rosters?done=repeat"));
    }
    let now = state.now();
    let (params_json, sealed) = state
        .store()
        .staged_import(&form.token, staff.user.id, now - STAGE_SECONDS)
        .await?
        .ok_or_else(|| AppError::invalid("上传已过期或已导入，请重新上传文件"))?;
    let params: ImportParams =
        serde_json::from_str(&params_json).map_err(|e| AppError::Internal(format!("staged params: {e}")))?;
    staff.require_org(&params.org_code)?;
    let file = state.cipher().decrypt_bytes(&sealed).map_err(|e| AppError::Internal(format!("staged file: {e}")))?;
    let programme = state.store().find_programme(params.programme_id).await?.ok_or(AppError::NotFound)?;
    let (check, entries) = check_upload(state.store(), state.cipher(), &programme, &params, &file).await?;
    if !check.is_clean() {
        return Err(AppError::invalid("文件在确认前出现了新的问题（可能有他人同时导入了同一批次），请重新上传检查"));
    }
    let id = store_upload(state.store(), &params, &entries, staff.user.id, now).await?;
    state.store().drop_staged_import(&form.token).await?;
    let detail = format!("导入花名册 {} 人，合计 {} 元", entries.len(), check.total());
    let entry = staff.audit_entry(now, "roster.import", format!("roster:{id}"), detail, Some(params.org_code.clone()));
    state.audit(entry).await?;
    Ok(see_other(&format!("/staff/rosters/{id}?done=imported")))
}

#[derive(Template)]
#[template(path = "staff/roster.html")]
struct ShowPage {
    nav: Nav,
    notice: &'static str,
    id: i64,
    title: String,
    status: &'static str,
    status_reason: String,
    version: i64,
    is_paid: bool,
    paid_on: String,
    publicity: String,
    backloaded: bool,
    entry_count: i64,
    total: String,
    entries: Vec<EntryView>,
    /// Entries before this page, so 序号 counts on across pages as on the public page.
    offset: usize,
    page: i64,
    has_more: bool,
    differences: Vec<DifferenceView>,
    attachments: Vec<AttachmentView>,
    versions: Vec<VersionView>,
    can_edit: bool,
    can_review: bool,
    can_withdraw: bool,
    can_correct: bool,
    can_export: bool,
    is_public: bool,
    /// Open objections to the proposed roster a paid roster settles.
    open_objections: i64,
    /// For a published roster: the notice to paste into the village's WeChat groups.
    group_notice: String,
    form_key: String,
}

#[derive(Deserialize)]
pub struct ShowQuery {
    page: Option<i64>,
    #[serde(default)]
    done: String,
}

pub async fn show(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    Query(q): Query<ShowQuery>,
) -> Result<Html<String>, AppError> {
    let roster = roster_in_scope(&state, &staff, id).await?;
    let status = roster.status;
    let store = state.store();
    let page = q.page.unwrap_or(1).clamp(1, 100_000);
    let mut entries = store.roster_entries(id, PAGE_SIZE + 1, (page - 1) * PAGE_SIZE).await?;
    let has_more = entries.len() as i64 > PAGE_SIZE;
    entries.truncate(PAGE_SIZE as usize);
    let place = place_name(&state, &roster.org_code).await?;
    let publicity = match (&roster.publicity_start, &roster.publicity_end) {
        (Some(a), Some(b)) => format!("{a} 至 {b}"),
        _ => String::new(),
    };
    let in_scope = |p: Permission| staff.role.allows(p) && staff.scope.covers_org(&roster.org_code);
    let group_notice = if status == RosterStatus::Published {
        group_notice(&state, &roster, &roster_title(&roster, &place), &publicity).await?
    } else {
        String::new()
    };
    let page = ShowPage {
        nav: staff.nav(),
        notice: notice_text(&q.done),
        id,
        title: roster_title(&roster, &place),
        status: status.label(),
        status_reason: roster.status_reason.clone().unwrap_or_default(),
        version: roster.version,
        is_paid: roster.phase == Phase::Paid,
        paid_on: roster.paid_on.clone().unwrap_or_default(),
        publicity,
        backloaded: roster.backloaded,
        entry_count: roster.entry_count,
        total: Fen::new(roster.total_fen).unwrap_or_default().to_string(),
        entries: entries.into_iter().map(EntryView::from).collect(),
        offset: usize::try_from((page - 1) * PAGE_SIZE).unwrap_or(0),
        page,
        has_more,
        differences: store.differences(id).await?.into_iter().map(DifferenceView::from).collect(),
        attachments: store.attachments_of_roster(id).await?.into_iter().map(AttachmentView::from).collect(),
        versions: versions(store, &roster, false).await?,
        can_edit: status.is_editable() && in_scope(Permission::DraftRosters),
        can_review: status == RosterStatus::Submitted && in_scope(Permission::ReviewRosters),
        can_withdraw: status == RosterStatus::Published && in_scope(Permission::ReviewRosters),
        can_correct: status == RosterStatus::Published && in_scope(Permission::DraftRosters),
        can_export: in_scope(Permission::ViewPersonalData),
        is_public: status.is_public(),
        open_objections: open_objections_settled(&state, &roster).await?,
        group_notice,
        form_key: random_token(),
    };
    Ok(Html(page.render()?))
}

/// The notice a clerk pastes into the village's WeChat groups (村组微信群通知) once a roster is
/// public: what was published, the publicity period, the page's link and how to object, and the
/// ledger entry with the newest checkpoint the witnesses confirmed (its size and short hash), so
/// that anyone can later check that the list was not changed after the notice went out.
async fn group_notice(state: &AppState, roster: &Roster, title: &str, publicity: &str) -> Result<String, AppError> {
    let link = state.config().public_link(&format!("/rosters/{}", roster.id));
    let mut text = format!("【公示通知】{title}已在“民生监督”平台公开");
    if !publicity.is_empty() {
        text.push_str(&format!("，公示期 {publicity}"));
    }
    text.push_str(&format!("。请点开链接核对本人信息：{link} 。如有异议，可在页面上点“对此有异议”直接提出。"));
    if let Some(leaf) = state.store().latest_leaf_of("roster", roster.id).await? {
        text.push_str(&format!("\n公开账本第{}号记录。", leaf.idx));
        let witnessed = crate::app::ledger::witnessed_checkpoint(state).await?;
        match witnessed.newest {
            Some((size, root, names)) if size > u64::try_from(leaf.idx).unwrap_or(u64::MAX) => text.push_str(&format!(
                "见证检查点：{size}条记录，根哈希 {}（{}确认）。",
                crate::app::ledger::short_hash(&root),
                names.join("、")
            )),
            _ if state.config().witnesses.is_empty() => text.push_str(&format!(
                "账本检查点：{}条记录，根哈希 {}。",
                witnessed.size,
                crate::app::ledger::short_hash(&witnessed.root)
            )),
            _ => text.push_str("见证方确认中，稍后可在本页复制带见证检查点的通知。"),
        }
    }
    Ok(text)
}

/// Appends an audit record of an action on a roster, filed under the roster's org.
async fn audit_roster(
    state: &AppState,
    staff: &Staff,
    roster: &Roster,
    action: &str,
    detail: String,
) -> Result<(), AppError> {
    let entry =
        staff.audit_entry(state.now(), action, format!("roster:{}", roster.id), detail, Some(roster.org_code.clone()));
    state.audit(entry).await
}

/// Refuses to move on while any difference lacks a reason.
async fn require_reasons(state: &AppState, roster: &Roster) -> Result<(), AppError> {
    let missing = state.store().differences(roster.id).await?.iter().filter(|d| d.reason.is_none()).count();
    if missing > 0 {
        return Err(AppError::invalid(format!("还有{missing}处发放差异未填写原因，请逐条说明后再提交")));
    }
    Ok(())
}

/// A status change that lost a race (or a repeated click) is reported plainly.
fn changed_meanwhile(e: StoreError) -> AppError {
    match e {
        StoreError::Stale(_) => AppError::Conflict("花名册状态已被他人更新，请刷新页面查看".into()),
        other => other.into(),
    }
}

pub async fn submit(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    Form(form): Form<KeyedForm>,
) -> Result<Response, AppError> {
    let roster = roster_in_scope(&state, &staff, id).await?;
    let change = transition(roster.status, RosterAction::Submit).map_err(|e| AppError::Conflict(e.to_string()))?;
    if !first_submit(&state, &staff, &form.form_key).await? {
        return Ok(see_other(&format!("/staff/rosters/{id}?done=repeat")));
    }
    refresh_differences(state.store(), id).await?;
    require_reasons(&state, &roster).await?;
    let now = state.now();
    state.store().change_roster_status(id, change, None, staff.user.id, now).await.map_err(changed_meanwhile)?;
    audit_roster(&state, &staff, &roster, "roster.submit", "提交审核".into()).await?;
    Ok(see_other(&format!("/staff/rosters/{id}?done=submitted")))
}

pub async fn delete(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    Form(form): Form<KeyedForm>,
) -> Result<Response, AppError> {
    let roster = roster_in_scope(&state, &staff, id).await?;
    if !roster.status.is_editable() {
        return Err(AppError::Conflict("只有草稿或被退回的花名册可以删除".into()));
    }
    if !first_submit(&state, &staff, &form.form_key).await? {
        return Ok(see_other("/staff/rosters?done=repeat"));
    }
    state.store().delete_draft_roster(id).await.map_err(changed_meanwhile)?;
    let detail = format!("删除草稿（{}人）", roster.entry_count);
    audit_roster(&state, &staff, &roster, "roster.delete", detail).await?;
    Ok(see_other("/staff/rosters?done=deleted"))
}

pub async fn reasons(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let roster = roster_in_scope(&state, &staff, id).await?;
    if !roster.status.is_editable() {
        return Err(AppError::Conflict("花名册已提交或已公开，不能再修改差异原因".into()));
    }
    let mut reasons = Vec::new();
    for (name, value) in &fields {
        if let Some(diff_id) = name.strip_prefix("reason_").and_then(|d| d.parse::<i64>().ok()) {
            let value = value.trim();
            if value.chars().count() > 300 {
                return Err(AppError::invalid("差异原因：每条不超过300字"));
            }
            if !value.is_empty() {
                reasons.push((diff_id, value.to_owned()));
            }
        }
    }
    if reasons.is_empty() {
        return Err(AppError::invalid("差异原因：请至少填写一条"));
    }
    state.store().set_difference_reasons(id, &reasons).await?;
    let detail = format!("填写差异原因 {} 条", reasons.len());
    audit_roster(&state, &staff, &roster, "roster.reasons", detail).await?;
    Ok(see_other(&format!("/staff/rosters/{id}?done=reasons")))
}

pub async fn attach(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    request: Request,
) -> Result<Response, AppError> {
    let roster = roster_in_scope(&state, &staff, id).await?;
    if !roster.status.is_editable() {
        return Err(AppError::Conflict("花名册已提交或已公开，不能再添加扫描件".into()));
    }
    let upload = read_upload(&state, request).await?;
    let (stored, original_name) = store_scan(&state, &upload).await?;
    let existing = state.store().attachments_of_roster(id).await?;
    if !existing.iter().any(|a| a.sha256 == stored.sha256) {
        let attachment = NewAttachment {
            roster_id: Some(id),
            programme_id: None,
            sha256: stored.sha256.clone(),
            size: i64::try_from(stored.size).unwrap_or(i64::MAX),
            content_type: stored.kind.content_type().to_owned(),
            original_name: original_name.clone(),
            uploaded_by: Some(staff.user.id),
        };
        state.store().add_attachment(&attachment, state.now()).await?;
        let detail = format!("上传扫描件 {original_name}");
        audit_roster(&state, &staff, &roster, "roster.attach", detail).await?;
    }
    Ok(see_other(&format!("/staff/rosters/{id}?done=attached")))
}

/// How many objections to the proposed roster that a paid roster settles are still open (0 for
/// a proposed roster, or a paid one that settles none).
async fn open_objections_settled(state: &AppState, roster: &Roster) -> Result<i64, AppError> {
    match roster.settles_id.filter(|_| roster.phase == Phase::Paid) {
        Some(proposed) => Ok(state.store().open_objections_of_lineage(proposed).await?),
        None => Ok(0),
    }
}

#[derive(Deserialize)]
pub struct ApproveForm {
    #[serde(default)]
    form_key: String,
    /// Why a paid roster is approved while objections to its proposed roster are open.
    #[serde(default)]
    objection_reason: String,
}

pub async fn approve(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    Form(form): Form<ApproveForm>,
) -> Result<Response, AppError> {
    let roster = roster_in_scope(&state, &staff, id).await?;
    transition(roster.status, RosterAction::Approve).map_err(|e| AppError::Conflict(e.to_string()))?;
    let open = usize::try_from(open_objections_settled(&state, &roster).await?).unwrap_or(usize::MAX);
    let override_reason =
        objection::approval_reason(open, &form.objection_reason).map_err(|e| AppError::invalid(e.to_string()))?;
    if !first_submit(&state, &staff, &form.form_key).await? {
        return Ok(see_other(&format!("/staff/rosters/{id}?done=repeat")));
    }
    refresh_differences(state.store(), id).await?;
    require_reasons(&state, &roster).await?;
    let now = state.now();
    let publicity = if roster.phase == Phase::Proposed {
        let programme = state.store().find_programme(roster.programme_id).await?.ok_or(AppError::NotFound)?;
        let p = Publicity::starting(shanghai_date(now), programme.publicity_days);
        Some((p.start.to_string(), p.end.to_string()))
    } else {
        None
    };
    let dates = publicity.as_ref().map(|(a, b)| (a.as_str(), b.as_str()));
    state
        .store()
        .publish_roster(id, dates, override_reason.as_deref(), staff.user.id, now)
        .await
        .map_err(changed_meanwhile)?;
    if let Some(published) = state.store().find_roster(id).await? {
        crate::app::search::index_roster(&state, &published).await?;
    }
    crate::app::screening::after_publication(&state, id);
    if let Some(old) = roster.supersedes_id {
        state.store().unindex_document(xiaowei_core::search::DocumentKind::Roster, old).await?;
    }
    let mut detail = match &publicity {
        Some((a, b)) => format!("审核通过并公开，公示期 {a} 至 {b}"),
        None => "审核通过并公开".to_owned(),
    };
    if let Some(reason) = &override_reason {
        detail.push_str(&format!("；尚有{open}条异议未办结，说明：{reason}"));
    }
    audit_roster(&state, &staff, &roster, "roster.publish", detail).await?;
    Ok(see_other(&format!("/staff/rosters/{id}?done=approved")))
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
    let roster = roster_in_scope(state, staff, id).await?;
    let change = transition(roster.status, action).map_err(|e| AppError::Conflict(e.to_string()))?;
    let reason = form.reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(AppError::invalid("原因：请填写（不超过500字）"));
    }
    if !first_submit(state, staff, &form.form_key).await? {
        return Ok(see_other(&format!("/staff/rosters/{id}?done=repeat")));
    }
    let now = state.now();
    state
        .store()
        .change_roster_status(id, change, Some(reason), staff.user.id, now)
        .await
        .map_err(changed_meanwhile)?;
    if change.to() == RosterStatus::Withdrawn {
        state.store().unindex_document(xiaowei_core::search::DocumentKind::Roster, id).await?;
    }
    let (code, done) =
        if action == RosterAction::Return { ("roster.return", "returned") } else { ("roster.withdraw", "withdrawn") };
    audit_roster(state, staff, &roster, code, reason.to_owned()).await?;
    Ok(see_other(&format!("/staff/rosters/{id}?done={done}")))
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

/// The full spreadsheet (clear ID and account numbers) for authorised staff; every download is audited.
pub async fn export_full(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let roster = roster_in_scope(&state, &staff, id).await?;
    let place = place_name(&state, &roster.org_code).await?;
    let title = roster_title(&roster, &place);
    let entries = state.store().roster_entries(id, i64::MAX, 0).await?;
    let count = entries.len();
    let subtitle = vec![format!("内部资料，含完整身份证号和账号，请妥善保管。导出人：{}", staff.user.display_name)];
    let bytes = crate::app::rosters::export(state.cipher(), title.clone(), subtitle, entries, true)?;
    let detail = format!("导出完整花名册（含身份证号、账号）{count} 人");
    state
        .audit(staff.audit_entry(state.now(), "pii.export", format!("roster:{id}"), detail, Some(roster.org_code)))
        .await?;
    Ok(xlsx_response(bytes, &format!("{title}（内部）.xlsx")))
}

/// Validates and stores an uploaded scan or document; returns it with the name to keep.
pub(super) async fn store_scan(state: &AppState, upload: &Upload) -> Result<(StoredAttachment, String), AppError> {
    let stored = state.attachments().put(upload.file.clone()).await.map_err(|e| {
        if e.is_user_error() {
            AppError::invalid(format!("文件：{e}"))
        } else {
            AppError::Internal(format!("{e:?}"))
        }
    })?;
    let name = if upload.file_name.is_empty() {
        format!("附件.{}", stored.kind.extension())
    } else {
        upload.file_name.clone()
    };
    Ok((stored, name))
}

/// A scan of a roster in scope, including drafts not yet public.
pub async fn attachment(
    State(state): State<AppState>,
    staff: Staff,
    Path((id, attachment_id)): Path<(i64, i64)>,
) -> Result<Response, AppError> {
    roster_in_scope(&state, &staff, id).await?;
    let a = state
        .store()
        .find_attachment(attachment_id)
        .await?
        .filter(|a| a.roster_id == Some(id))
        .ok_or(AppError::NotFound)?;
    crate::web::respond::attachment_response(&state, &a, false).await
}

/// This area's staff routes, each with the permission it needs and its scope target.
pub(super) fn routes(r: StaffRoutes) -> StaffRoutes {
    r.get("/staff/rosters", Permission::ViewRosters, Target::None, list)
        .get("/staff/rosters/new", Permission::DraftRosters, Target::None, new_form)
        .post("/staff/rosters/preview", Permission::DraftRosters, Target::Org, preview)
        .post("/staff/rosters/confirm", Permission::DraftRosters, Target::None, confirm)
        .get("/staff/rosters/{roster}", Permission::ViewRosters, Target::Roster, show)
        .post("/staff/rosters/{roster}/submit", Permission::DraftRosters, Target::Roster, submit)
        .post("/staff/rosters/{roster}/delete", Permission::DraftRosters, Target::Roster, delete)
        .post("/staff/rosters/{roster}/reasons", Permission::DraftRosters, Target::Roster, reasons)
        .post("/staff/rosters/{roster}/attachments", Permission::DraftRosters, Target::Roster, attach)
        .post("/staff/rosters/{roster}/approve", Permission::ReviewRosters, Target::Roster, approve)
        .post("/staff/rosters/{roster}/return", Permission::ReviewRosters, Target::Roster, send_back)
        .post("/staff/rosters/{roster}/withdraw", Permission::ReviewRosters, Target::Roster, withdraw)
        .get("/staff/rosters/{roster}/attachments/{attachment}", Permission::ViewRosters, Target::Roster, attachment)
        .get("/staff/rosters/{roster}/export", Permission::ViewPersonalData, Target::Roster, export_full)
}
