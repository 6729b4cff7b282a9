//! 补贴项目 (subsidy programmes): the list every roster screen refers to, and the form the county
//! administrator or the responsible department uses to add one.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;
use xiaowei_core::objection;
use xiaowei_core::subsidy::Unit;
use xiaowei_core::{Fen, Permission, Role};
use xiaowei_store::{Department, NewAttachment, NewProgramme, Programme};

use super::{Nav, Staff, first_submit, see_other};
use super::{StaffRoutes, Target};
use crate::state::AppState;
use crate::web::error::AppError;
use crate::web::form::FieldErrors;
use crate::web::security::random_token;

pub struct ProgrammeRow {
    pub id: i64,
    pub department_id: Option<i64>,
    pub documents: Vec<crate::app::rosters::AttachmentView>,
    pub name: String,
    pub department: String,
    pub standard: String,
    pub years: String,
    pub publicity_days: i64,
    pub objection_reply_days: i64,
    pub basis: String,
}

/// How a programme reads in lists: "600.00 元/人", "2006–2025年（每年）".
pub fn describe(p: &Programme, departments: &[Department]) -> ProgrammeRow {
    let unit = p.unit;
    let standard = match p.standard_fen.and_then(Fen::new) {
        Some(f) => format!("{f} {}", unit.per()),
        None => format!("{}（{}）", unit.label(), if p.rule.is_empty() { "按实际核定" } else { p.rule.as_str() }),
    };
    let years = match (p.from_year, p.to_year) {
        (Some(a), Some(b)) => format!("{a}–{b}年"),
        (Some(a), None) => format!("{a}年起"),
        _ => String::new(),
    };
    let years = if p.recurring { format!("{years}（每年发放）") } else { years };
    ProgrammeRow {
        id: p.id,
        department_id: p.department_id,
        documents: Vec::new(),
        name: p.name.clone(),
        department: p
            .department_id
            .and_then(|d| departments.iter().find(|x| x.id == d))
            .map_or_else(String::new, |d| d.name.clone()),
        standard,
        years,
        publicity_days: p.publicity_days,
        objection_reply_days: p.objection_reply_days,
        basis: p.basis.clone(),
    }
}

#[derive(Template)]
#[template(path = "staff/programmes.html")]
struct ListPage {
    nav: Nav,
    own_department: Option<i64>,
    is_county_admin: bool,
    notice: &'static str,
    programmes: Vec<ProgrammeRow>,
    can_manage: bool,
    departments: Vec<Department>,
    units: [Unit; 3],
    form_key: String,
    /// The new-programme form: blank, or what was typed when it comes back with an error.
    values: ProgrammeForm,
    errors: FieldErrors,
}

/// Labels that open the form's messages, and the field each names.
const FIELDS: [(&str, &str); 9] = [
    ("项目名称", "name"),
    ("责任部门", "department_id"),
    ("政策依据", "basis"),
    ("补贴单位", "unit"),
    ("补贴标准", "standard"),
    ("起始年份", "from_year"),
    ("截止年份", "to_year"),
    ("公示天数", "publicity_days"),
    ("异议答复时限", "objection_reply_days"),
];

#[derive(Deserialize)]
pub struct DoneQuery {
    #[serde(default)]
    done: String,
}

pub async fn list(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<DoneQuery>,
) -> Result<Html<String>, AppError> {
    let notice = match q.done.as_str() {
        "created" => "补贴项目已新增。",
        "document" => "政策文件已上传。",
        "repeat" => "该表单已提交过，未重复处理。",
        _ => "",
    };
    let blank = ProgrammeForm {
        form_key: random_token(),
        publicity_days: "7".into(),
        objection_reply_days: objection::DEFAULT_REPLY_DAYS.to_string(),
        ..ProgrammeForm::default()
    };
    Ok(Html(list_page(&state, &staff, notice, blank, FieldErrors::new()).await?.render()?))
}

async fn list_page(
    state: &AppState,
    staff: &Staff,
    notice: &'static str,
    values: ProgrammeForm,
    errors: FieldErrors,
) -> Result<ListPage, AppError> {
    let all_departments = state.store().departments().await?;
    let mut programmes = Vec::new();
    for p in state.store().programmes().await? {
        let mut row = describe(&p, &all_departments);
        row.documents = state
            .store()
            .attachments_of_programme(p.id)
            .await?
            .into_iter()
            .map(crate::app::rosters::AttachmentView::from)
            .collect();
        programmes.push(row);
    }
    let departments = all_departments.into_iter().filter(|d| staff.scope.covers_department(staff.role, d.id)).collect();
    Ok(ListPage {
        nav: staff.nav(),
        own_department: staff.scope.department_id,
        is_county_admin: staff.role == Role::CountyAdmin,
        notice,
        programmes,
        can_manage: staff.role.allows(Permission::ManageProgrammes),
        departments,
        units: Unit::ALL,
        form_key: if (16..=128).contains(&values.form_key.len()) { values.form_key.clone() } else { random_token() },
        values,
        errors,
    })
}

#[derive(Deserialize, Default)]
pub struct ProgrammeForm {
    #[serde(default)]
    form_key: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    department_id: String,
    #[serde(default)]
    basis: String,
    #[serde(default)]
    unit: String,
    #[serde(default)]
    standard: String,
    #[serde(default)]
    rule: String,
    #[serde(default)]
    recurring: String,
    #[serde(default)]
    from_year: String,
    #[serde(default)]
    to_year: String,
    #[serde(default)]
    publicity_days: String,
    #[serde(default)]
    objection_reply_days: String,
}

fn optional_year(text: &str, field: &str) -> Result<Option<i64>, AppError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    match text.parse::<i64>() {
        Ok(y) if (1990..=2100).contains(&y) => Ok(Some(y)),
        _ => Err(AppError::invalid(format!("{field}：请填写四位年份，如 2025"))),
    }
}

/// Parses the programme form into a new programme, naming the field at fault.
fn parse_form(form: &ProgrammeForm, staff: &Staff) -> Result<NewProgramme, AppError> {
    let name = form.name.trim();
    if name.is_empty() || name.chars().count() > 60 {
        return Err(AppError::invalid("项目名称：请填写（不超过60个字）"));
    }
    let department_id = match form.department_id.trim() {
        "" => None,
        d => Some(d.parse::<i64>().map_err(|_| AppError::invalid("责任部门：请从列表中选择"))?),
    };
    if staff.role == Role::DepartmentOfficer && department_id != staff.scope.department_id {
        return Err(AppError::invalid("责任部门：只能为本部门新增补贴项目"));
    }
    let basis = form.basis.trim();
    if basis.is_empty() || basis.chars().count() > 2000 {
        return Err(AppError::invalid("政策依据：请填写文件名称和文号（不超过2000字）"));
    }
    let unit = Unit::parse(&form.unit).ok_or_else(|| AppError::invalid("补贴单位：请选择按人、按户或按亩"))?;
    let standard_fen = match form.standard.trim() {
        "" => None,
        s => {
            let f = Fen::parse_yuan(s).map_err(|e| AppError::invalid(format!("补贴标准：{e}")))?;
            if f.as_fen() == 0 {
                return Err(AppError::invalid("补贴标准：必须大于0，没有固定标准请留空"));
            }
            Some(f.as_fen())
        }
    };
    let recurring = form.recurring == "1";
    let from_year = optional_year(&form.from_year, "起始年份")?;
    let to_year = optional_year(&form.to_year, "截止年份")?;
    if let (Some(a), Some(b)) = (from_year, to_year)
        && b < a
    {
        return Err(AppError::invalid("截止年份：不能早于起始年份"));
    }
    if recurring && from_year.is_none() {
        return Err(AppError::invalid("起始年份：每年发放的项目请填写起始年份"));
    }
    let publicity_days = match form.publicity_days.trim() {
        "" => 7,
        d => match d.parse::<i64>() {
            Ok(n) if (1..=365).contains(&n) => n,
            _ => return Err(AppError::invalid("公示天数：请填写1到365之间的整数")),
        },
    };
    let objection_reply_days =
        objection::parse_reply_days(&form.objection_reply_days).map_err(|e| AppError::invalid(e.to_string()))?;
    Ok(NewProgramme {
        name: name.to_owned(),
        department_id,
        basis: basis.to_owned(),
        unit,
        standard_fen,
        rule: form.rule.trim().chars().take(500).collect(),
        recurring,
        from_year,
        to_year,
        publicity_days,
        objection_reply_days: i64::from(objection_reply_days),
    })
}

pub async fn create(
    State(state): State<AppState>,
    staff: Staff,
    Form(form): Form<ProgrammeForm>,
) -> Result<Response, AppError> {
    let known: Vec<i64> = state.store().departments().await?.iter().map(|d| d.id).collect();
    let checked = match parse_form(&form, &staff) {
        Ok(p) if p.department_id.is_some_and(|d| !known.contains(&d)) => Err("责任部门：请从列表中选择".to_owned()),
        Ok(p) => Ok(p),
        Err(AppError::Invalid(message)) => Err(message),
        Err(e) => return Err(e),
    };
    let programme = match checked {
        Ok(p) => p,
        Err(message) => {
            let errors = FieldErrors::from_message(&message, &FIELDS);
            let page = list_page(&state, &staff, "", form, errors).await?;
            return Ok((StatusCode::BAD_REQUEST, Html(page.render()?)).into_response());
        }
    };
    if !first_submit(&state, &staff, &form.form_key).await? {
        return Ok(see_other("/staff/programmes?done=repeat"));
    }
    let id = state.store().create_programme(&programme, state.now()).await?;
    let detail = format!("新增补贴项目 {}", programme.name);
    state.audit(staff.audit_entry(state.now(), "programme.create", format!("programme:{id}"), detail, None)).await?;
    Ok(see_other("/staff/programmes?done=created"))
}

/// Attaches a policy document (PDF or image) to a programme of the account's department.
pub async fn attach_basis(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    request: Request,
) -> Result<Response, AppError> {
    let programme = state.store().find_programme(id).await?.ok_or(AppError::NotFound)?;
    if staff.role != Role::CountyAdmin && programme.department_id != staff.scope.department_id {
        return Err(AppError::Forbidden);
    }
    let upload = super::rosters::read_upload(&state, request).await?;
    let (stored, original_name) = super::rosters::store_scan(&state, &upload).await?;
    let existing = state.store().attachments_of_programme(id).await?;
    if !existing.iter().any(|a| a.sha256 == stored.sha256) {
        let attachment = NewAttachment {
            roster_id: None,
            programme_id: Some(id),
            sha256: stored.sha256,
            size: i64::try_from(stored.size).unwrap_or(i64::MAX),
            content_type: stored.kind.content_type().to_owned(),
            original_name: original_name.clone(),
            uploaded_by: Some(staff.user.id),
        };
        state.store().add_attachment(&attachment, state.now()).await?;
        let detail = format!("为 {} 上传政策文件 {original_name}", programme.name);
        state
            .audit(staff.audit_entry(state.now(), "programme.document", format!("programme:{id}"), detail, None))
            .await?;
    }
    Ok(see_other("/staff/programmes?done=document"))
}

/// This area's staff routes, each with the permission it needs and its scope target.
pub(super) fn routes(r: StaffRoutes) -> StaffRoutes {
    r.get("/staff/programmes", Permission::ViewRosters, Target::None, list)
        .post("/staff/programmes", Permission::ManageProgrammes, Target::None, create)
        .post("/staff/programmes/{programme}/basis", Permission::ManageProgrammes, Target::Programme, attach_basis)
}
