//! 办件 handling in the back office: the case list in scope (a department officer sees their
//! department's cases, everyone else the cases of villages in their org scope), the case page
//! with its clocks, timeline, photos and texts, and the officer's steps — first contact,
//! progress, completion with a reply — plus extension requests and their approval.
//! The applicant's phone is shown in full only to those who handle the case, and each such view
//! is audited.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{Html, Response};
use serde::Deserialize;
use xiaowei_core::service::{self, CaseStatus, ContactMethod, ExtensionStatus};
use xiaowei_core::{Permission, Role};
use xiaowei_store::{CaseFilter, RequestKind, ServiceCase};

use super::tracked::{self, EventRow, PhoneView, TextRow};
use super::{Nav, Staff, StaffRoutes, Target};
use crate::app::cases;
use crate::app::tracked::Outcome;
use crate::state::AppState;
use crate::web::dates::shanghai_time;
use crate::web::error::AppError;
use crate::web::security::random_token;

const PAGE_SIZE: i64 = 30;

/// Whether the account sees this case: a department officer by department, others by org.
pub fn covers(staff: &Staff, case: &ServiceCase) -> bool {
    match staff.role {
        Role::DepartmentOfficer => staff.scope.department_id == Some(case.department_id),
        _ => staff.scope.covers_org(&case.org_code),
    }
}

/// The case of `tracking` if it lies in the account's reach; a case outside the
/// account's reach is not found, as if it did not exist.
pub async fn case_in_scope(state: &AppState, staff: &Staff, tracking: &str) -> Result<ServiceCase, AppError> {
    let tracking = service::normalize_tracking(tracking).ok_or(AppError::NotFound)?;
    let case = state.store().find_case_by_tracking(&tracking).await?.ok_or(AppError::NotFound)?;
    if covers(staff, &case) { Ok(case) } else { Err(AppError::NotFound) }
}

/// The cases an account sees: its department's (department officers) or its org subtree's.
pub fn scope_filter(staff: &Staff) -> CaseFilter {
    match staff.role {
        Role::DepartmentOfficer => {
            CaseFilter { department_id: Some(staff.scope.department_id.unwrap_or(-1)), ..CaseFilter::default() }
        }
        _ => CaseFilter { org_prefix: Some(staff.scope.org_code.clone()), ..CaseFilter::default() },
    }
}

/// Case counts in an account's scope, for its home page.
pub struct Workload {
    /// 待联系
    pub waiting: i64,
    /// 办理中 and 重新办理
    pub open: i64,
    /// 逾期
    pub overdue: i64,
}

/// 待联系, open and overdue cases in the account's scope.
pub async fn workload(state: &AppState, staff: &Staff) -> Result<Workload, AppError> {
    let base = scope_filter(staff);
    let count = |filter: CaseFilter| async move { Ok::<_, AppError>(state.store().cases(&filter, 0, 0).await?.1) };
    Ok(Workload {
        waiting: count(CaseFilter { status: Some(CaseStatus::Submitted), ..base.clone() }).await?,
        open: count(CaseFilter { status: Some(CaseStatus::InProgress), ..base.clone() }).await?
            + count(CaseFilter { status: Some(CaseStatus::Reopened), ..base.clone() }).await?,
        overdue: count(CaseFilter { overdue_only: true, ..base }).await?,
    })
}

struct CaseRow {
    tracking: String,
    item: String,
    department: String,
    place: String,
    applicant: String,
    status: &'static str,
    overdue: bool,
    submitted: String,
    due: String,
}

#[derive(Template)]
#[template(path = "staff/cases.html")]
struct ListPage {
    nav: Nav,
    rows: Vec<CaseRow>,
    total: i64,
    page: i64,
    has_more: bool,
    status: String,
    overdue: bool,
    statuses: [CaseStatus; 5],
}

#[derive(Deserialize)]
pub struct ListQuery {
    page: Option<i64>,
    #[serde(default)]
    status: String,
    #[serde(default)]
    overdue: String,
}

pub async fn list(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<ListQuery>,
) -> Result<Html<String>, AppError> {
    let page = q.page.unwrap_or(1).clamp(1, 100_000);
    let status = CaseStatus::parse(&q.status);
    let filter = CaseFilter { status, overdue_only: q.overdue == "1", ..scope_filter(&staff) };
    let (cases, total) = state.store().cases(&filter, PAGE_SIZE, (page - 1) * PAGE_SIZE).await?;
    let mut rows = Vec::new();
    for c in cases {
        let place = crate::web::places::place_name(&state, &c.org_code).await?;
        rows.push(CaseRow {
            status: c.status.label(),
            overdue: c.contact_overdue_at.is_some() || c.completion_overdue_at.is_some(),
            submitted: shanghai_time(c.submitted_at),
            due: shanghai_time(c.completion_due),
            tracking: c.tracking,
            item: c.item_name,
            department: c.department_name,
            place,
            applicant: c.applicant_name,
        });
    }
    let page = ListPage {
        nav: staff.nav(),
        has_more: page * PAGE_SIZE < total,
        rows,
        total,
        page,
        status: status.map_or("", CaseStatus::as_str).to_owned(),
        overdue: q.overdue == "1",
        statuses: CaseStatus::ALL,
    };
    Ok(Html(page.render()?))
}

struct ExtensionRow {
    id: i64,
    days: i64,
    reason: String,
    status: &'static str,
    pending: bool,
    requested: String,
    decision: String,
}

#[derive(Template)]
#[template(path = "staff/case.html")]
struct CasePage {
    nav: Nav,
    case: ServiceCase,
    place: String,
    /// The officer who filed the case on the applicant's behalf (代办), if any.
    filed_by_name: Option<String>,
    phone: String,
    resident_id: String,
    status: &'static str,
    submitted: String,
    contact_due: String,
    completion_due: String,
    contacted: String,
    contact_overdue: bool,
    completion_overdue: bool,
    can_handle: bool,
    can_contact: bool,
    can_progress: bool,
    can_extend: bool,
    can_approve: bool,
    methods: [ContactMethod; 4],
    events: Vec<EventRow>,
    extensions: Vec<ExtensionRow>,
    texts: Vec<TextRow>,
    photos: Vec<xiaowei_store::Photo>,
    rating: String,
    form_key: String,
    notice: &'static str,
}

#[derive(Deserialize)]
pub struct ShowQuery {
    #[serde(default)]
    done: String,
}

pub async fn show(
    State(state): State<AppState>,
    staff: Staff,
    Path(tracking): Path<String>,
    Query(q): Query<ShowQuery>,
) -> Result<Html<String>, AppError> {
    let case = case_in_scope(&state, &staff, &tracking).await?;
    let status = case.status;
    let can_handle = staff.role.allows(Permission::HandleCases);
    let now = state.now();
    // The handler needs the phone to call; everyone else sees it masked.
    let view = PhoneView {
        sealed: &case.phone_enc,
        target: format!("service_case:{}", case.id),
        detail: format!("查看办件{}申请人联系方式", case.tracking),
        org_code: &case.org_code,
    };
    let phone = tracked::contact_phone(&state, &staff, view, can_handle).await?;
    let sealed_id = case.resident_id_enc.as_deref().map(|s| state.cipher().decrypt(s).unwrap_or_default());
    let resident_id = match sealed_id {
        Some(id) if can_handle => id,
        Some(id) => xiaowei_core::ResidentId::parse(&id).map(|r| r.masked()).unwrap_or_default(),
        None => String::new(),
    };
    let events = tracked::timeline(&state, RequestKind::Case, case.id).await?;
    let raw_extensions = state.store().case_extensions(case.id).await?;
    let pending = raw_extensions.iter().any(|e| e.status == ExtensionStatus::Requested);
    let extensions = raw_extensions
        .into_iter()
        .map(|e| {
            let s = e.status;
            ExtensionRow {
                id: e.id,
                days: e.days,
                reason: e.reason,
                status: s.label(),
                pending: s == ExtensionStatus::Requested,
                requested: shanghai_time(e.requested_at),
                decision: e.decision_note.unwrap_or_default(),
            }
        })
        .collect();
    let texts = state.store().outbox(None, Some(case.id), 50, 0).await?.0.into_iter().map(TextRow::from).collect();
    let photos = state.store().photos(RequestKind::Case, case.id).await?;
    let notice = match q.done.as_str() {
        "contact" => "已记录首次联系，已短信告知申请人。",
        "progress" => "已记录办理进展。",
        "complete" => "已办结，已短信通知申请人查看答复并评价。",
        "extension" => "延期申请已提交，等待审批。",
        "decided" => "已处理延期申请。",
        "repeat" => "该操作已处理过，无需重复提交。",
        _ => "",
    };
    let filed_by_name = match case.filed_by {
        Some(id) => Some(state.store().find_staff(id).await?.map_or_else(|| format!("#{id}"), |u| u.display_name)),
        None => None,
    };
    let page = CasePage {
        nav: staff.nav(),
        filed_by_name,
        place: crate::web::places::place_name(&state, &case.org_code).await?,
        phone,
        resident_id,
        status: status.label(),
        submitted: shanghai_time(case.submitted_at),
        contact_due: shanghai_time(case.contact_due),
        completion_due: shanghai_time(case.completion_due),
        contacted: case.contacted_at.map(shanghai_time).unwrap_or_default(),
        contact_overdue: case.contact_overdue_at.is_some(),
        completion_overdue: case.completion_overdue_at.is_some(),
        can_handle,
        can_contact: can_handle && status == CaseStatus::Submitted,
        can_progress: can_handle && matches!(status, CaseStatus::InProgress | CaseStatus::Reopened),
        can_extend: can_handle && service::check_extension(status, case.completion_due, now, 1, pending).is_ok(),
        can_approve: staff.role.allows(Permission::ApproveExtensions),
        methods: ContactMethod::ALL,
        events,
        extensions,
        texts,
        photos,
        rating: tracked::rating_line(case.rating, case.rating_comment.as_deref()),
        form_key: random_token(),
        notice,
        case,
    };
    Ok(Html(page.render()?))
}

#[derive(Deserialize)]
pub struct ContactForm {
    #[serde(default)]
    form_key: String,
    #[serde(default)]
    method: String,
    #[serde(default)]
    note: String,
}

#[derive(Deserialize)]
pub struct NoteForm {
    #[serde(default)]
    form_key: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    public: String,
}

#[derive(Deserialize)]
pub struct CompleteForm {
    #[serde(default)]
    form_key: String,
    #[serde(default)]
    reply: String,
}

#[derive(Deserialize)]
pub struct ExtensionForm {
    #[serde(default)]
    form_key: String,
    #[serde(default)]
    days: String,
    #[serde(default)]
    reason: String,
}

#[derive(Deserialize)]
pub struct DecideForm {
    #[serde(default)]
    form_key: String,
    #[serde(default)]
    decision: String,
    #[serde(default)]
    note: String,
}

/// Where a staff action on a case leads: back to the case, saying what was done.
fn done(case: &ServiceCase, outcome: Outcome, what: &str) -> Response {
    tracked::done(&format!("/staff/cases/{}", case.tracking), outcome, what)
}

pub async fn contact(
    State(state): State<AppState>,
    staff: Staff,
    Path(tracking): Path<String>,
    Form(form): Form<ContactForm>,
) -> Result<Response, AppError> {
    let case = case_in_scope(&state, &staff, &tracking).await?;
    let outcome =
        cases::record_contact(&state, &case, &staff.official(), &form.form_key, &form.method, &form.note, state.now())
            .await?;
    Ok(done(&case, outcome, "contact"))
}

pub async fn progress(
    State(state): State<AppState>,
    staff: Staff,
    Path(tracking): Path<String>,
    Form(form): Form<NoteForm>,
) -> Result<Response, AppError> {
    let case = case_in_scope(&state, &staff, &tracking).await?;
    let public = form.public == "1";
    let outcome =
        cases::add_progress(&state, &case, &staff.official(), &form.form_key, &form.note, public, state.now()).await?;
    Ok(done(&case, outcome, "progress"))
}

pub async fn complete(
    State(state): State<AppState>,
    staff: Staff,
    Path(tracking): Path<String>,
    Form(form): Form<CompleteForm>,
) -> Result<Response, AppError> {
    let case = case_in_scope(&state, &staff, &tracking).await?;
    let outcome = cases::complete(&state, &case, &staff.official(), &form.form_key, &form.reply, state.now()).await?;
    Ok(done(&case, outcome, "complete"))
}

pub async fn request_extension(
    State(state): State<AppState>,
    staff: Staff,
    Path(tracking): Path<String>,
    Form(form): Form<ExtensionForm>,
) -> Result<Response, AppError> {
    let case = case_in_scope(&state, &staff, &tracking).await?;
    let by = staff.official();
    let outcome =
        cases::request_extension(&state, &case, &by, &form.form_key, &form.days, &form.reason, state.now()).await?;
    Ok(done(&case, outcome, "extension"))
}

pub async fn decide_extension(
    State(state): State<AppState>,
    staff: Staff,
    Path((tracking, extension_id)): Path<(String, i64)>,
    Form(form): Form<DecideForm>,
) -> Result<Response, AppError> {
    let case = case_in_scope(&state, &staff, &tracking).await?;
    let (by, now) = (staff.official(), state.now());
    let outcome =
        cases::decide_extension(&state, &case, &by, &form.form_key, extension_id, &form.decision, &form.note, now)
            .await?;
    Ok(done(&case, outcome, "decided"))
}

/// A photo the applicant attached.
pub async fn photo(
    State(state): State<AppState>,
    staff: Staff,
    Path((tracking, photo_id)): Path<(String, i64)>,
) -> Result<Response, AppError> {
    let case = case_in_scope(&state, &staff, &tracking).await?;
    tracked::photo(&state, RequestKind::Case, case.id, photo_id).await
}

/// This area's staff routes, each with the permission it needs and its scope target.
pub(super) fn routes(r: StaffRoutes) -> StaffRoutes {
    r.get("/staff/cases", Permission::ViewCases, Target::None, list)
        .get("/staff/cases/{case}", Permission::ViewCases, Target::Case, show)
        .post("/staff/cases/{case}/contact", Permission::HandleCases, Target::Case, contact)
        .post("/staff/cases/{case}/progress", Permission::HandleCases, Target::Case, progress)
        .post("/staff/cases/{case}/complete", Permission::HandleCases, Target::Case, complete)
        .post("/staff/cases/{case}/extensions", Permission::HandleCases, Target::Case, request_extension)
        .post(
            "/staff/cases/{case}/extensions/{extension}",
            Permission::ApproveExtensions,
            Target::Case,
            decide_extension,
        )
        .get("/staff/cases/{case}/photos/{photo}", Permission::ViewCases, Target::Case, photo)
}
