//! The 我要办事 back office beyond single cases: the service catalogue (the county admin edits
//! every department's items, a department officer their own), each item's township handlers,
//! the working-day calendar the county admin keeps, and the text-message outbox with its
//! delivery status.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;
use xiaowei_core::outbox::Delivery;
use xiaowei_core::service::TimeLimit;
use xiaowei_core::workday::{self, DayKind};
use xiaowei_core::{OrgLevel, Permission, Phone, Role};
use xiaowei_store::{ListedText, NewServiceItem, ServiceItem};

use super::{Nav, Staff, first_submit, see_other};
use super::{StaffRoutes, Target};
use crate::state::AppState;
use crate::web::dates::shanghai_time;
use crate::web::error::AppError;
use crate::web::form::FieldErrors;
use crate::web::security::random_token;

/// An item the account may edit.
async fn item_in_scope(state: &AppState, staff: &Staff, id: i64) -> Result<ServiceItem, AppError> {
    let item = state.store().find_service_item(id).await?.ok_or(AppError::NotFound)?;
    staff.require_department(item.department_id)?;
    Ok(item)
}

struct DepartmentOption {
    id: i64,
    name: String,
}

#[derive(Template)]
#[template(path = "staff/services.html")]
struct CataloguePage {
    nav: Nav,
    items: Vec<(ServiceItem, String)>,
    departments: Vec<DepartmentOption>,
    form_key: String,
    notice: &'static str,
    /// The new-item form: defaults, or what was typed when it comes back with errors.
    values: ItemForm,
    errors: FieldErrors,
}

#[derive(Deserialize)]
pub struct DoneQuery {
    #[serde(default)]
    done: String,
}

fn notice_of(done: &str) -> &'static str {
    match done {
        "created" => "已新增服务事项。",
        "saved" => "已保存。",
        "handler" => "已设置乡镇经办人。",
        "active" => "已更新事项状态。",
        "day" => "已保存该日期。",
        "deleted" => "已删除该日期，按周一至周五规则计算。",
        "imported" => "已导入该年度节假日安排。",
        "retried" => "已重新排队发送。",
        "repeat" => "该操作已处理过，无需重复提交。",
        _ => "",
    }
}

pub async fn catalogue(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<DoneQuery>,
) -> Result<Html<String>, AppError> {
    let blank = ItemForm { time_limit: "15个工作日".into(), fee: "不收费".into(), ..ItemForm::default() };
    Ok(Html(catalogue_page(&state, &staff, notice_of(&q.done), blank, FieldErrors::new()).await?.render()?))
}

async fn catalogue_page(
    state: &AppState,
    staff: &Staff,
    notice: &'static str,
    values: ItemForm,
    errors: FieldErrors,
) -> Result<CataloguePage, AppError> {
    let items = state
        .store()
        .service_items(false)
        .await?
        .into_iter()
        .filter(|i| staff.scope.covers_department(staff.role, i.department_id))
        .map(|i| {
            let limit = i.time_limit.label();
            (i, limit)
        })
        .collect();
    let departments = state
        .store()
        .departments()
        .await?
        .into_iter()
        .filter(|d| staff.scope.covers_department(staff.role, d.id))
        .map(|d| DepartmentOption { id: d.id, name: d.name })
        .collect();
    Ok(CataloguePage { nav: staff.nav(), items, departments, form_key: random_token(), notice, values, errors })
}

/// A staff form that came back: 400 with the page.
fn again(page: &impl Template) -> Result<Response, AppError> {
    Ok((StatusCode::BAD_REQUEST, Html(page.render()?)).into_response())
}

#[derive(Deserialize, Default)]
pub struct ItemForm {
    #[serde(default)]
    form_key: String,
    #[serde(default)]
    department_id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    conditions: String,
    #[serde(default)]
    materials: String,
    #[serde(default)]
    steps: String,
    #[serde(default)]
    time_limit: String,
    #[serde(default)]
    fee: String,
    #[serde(default)]
    contact_phone: String,
    #[serde(default)]
    external_url: String,
    #[serde(default)]
    requires_id: String,
    #[serde(default)]
    officer_id: String,
}

impl ItemForm {
    /// The edit form of `item` as stored.
    fn of(item: &ServiceItem, limit: &str) -> Self {
        Self {
            form_key: String::new(),
            department_id: item.department_id.to_string(),
            name: item.name.clone(),
            conditions: item.conditions.clone(),
            materials: item.materials.clone(),
            steps: item.steps.clone(),
            time_limit: limit.to_owned(),
            fee: item.fee.clone(),
            contact_phone: item.contact_phone.clone(),
            external_url: item.external_url.clone().unwrap_or_default(),
            requires_id: if item.requires_id { "1".into() } else { String::new() },
            officer_id: item.officer_id.map(|id| id.to_string()).unwrap_or_default(),
        }
    }
}

/// Validates an item form: the item, or every field at fault ([`AppError::Fields`]).
async fn parse_item(state: &AppState, department_id: i64, form: &ItemForm) -> Result<NewServiceItem, AppError> {
    let mut errors = FieldErrors::new();
    let mut text = |value: &str, id: &'static str, field: &str, max: usize| -> String {
        let v = value.trim();
        if v.is_empty() || v.chars().count() > max {
            errors.add(id, format!("{field}：请填写（不超过{max}字）"));
        }
        v.to_owned()
    };
    let name = text(&form.name, "name", "事项名称", 60);
    let conditions = text(&form.conditions, "conditions", "受理条件", 2000);
    let fee = text(&form.fee, "fee", "收费标准", 100);
    let limit = TimeLimit::parse(&form.time_limit);
    if limit.is_none() {
        errors.add("time_limit", "法定时限：请写成“15个工作日”或“48小时”");
    }
    let contact_phone = form.contact_phone.trim();
    if contact_phone.is_empty()
        || contact_phone.len() > 20
        || !contact_phone.chars().all(|c| c.is_ascii_digit() || c == '-' || c == ' ')
    {
        errors.add("contact_phone", "咨询电话：请填写办公电话，如 0937-5522001");
    }
    let external_url = match form.external_url.trim() {
        "" => None,
        url if (url.starts_with("https://") || url.starts_with("http://")) && url.len() <= 500 => Some(url.to_owned()),
        _ => {
            errors.add("external_url", "办事直通车链接：请填写以 https:// 开头的网址，或留空");
            None
        }
    };
    let officer_id = match form.officer_id.trim() {
        "" => None,
        id => {
            let contacts = state.store().contacts_of(department_id).await?;
            let found = id.parse::<i64>().ok().and_then(|id| contacts.iter().find(|c| c.id == id).map(|c| c.id));
            if found.is_none() {
                errors.add("officer_id", "经办人：请选择本部门的联系人");
            }
            found
        }
    };
    let (Some(time_limit), true) = (limit, errors.is_empty()) else { return Err(AppError::Fields(errors)) };
    Ok(NewServiceItem {
        department_id,
        name,
        conditions,
        materials: form.materials.trim().chars().take(2000).collect(),
        steps: form.steps.trim().chars().take(2000).collect(),
        time_limit,
        fee,
        contact_phone: contact_phone.to_owned(),
        external_url,
        requires_id: form.requires_id == "1",
        officer_id,
    })
}

pub async fn create(
    State(state): State<AppState>,
    staff: Staff,
    Form(form): Form<ItemForm>,
) -> Result<Response, AppError> {
    let department_id = match staff.role {
        Role::DepartmentOfficer => Some(staff.scope.department_id.ok_or(AppError::Forbidden)?),
        _ => form.department_id.trim().parse().ok(),
    };
    if let Some(d) = department_id {
        staff.require_department(d)?;
    }
    let department = match department_id {
        Some(d) => state.store().find_department(d).await?.map(|d| d.id),
        None => None,
    };
    let checked = match department {
        Some(d) => parse_item(&state, d, &form).await,
        None => {
            let mut errors = FieldErrors::new();
            errors.add("department_id", "所属部门：请选择");
            Err(AppError::Fields(errors))
        }
    };
    let item = match checked {
        Ok(item) => item,
        Err(e) => {
            let errors = FieldErrors::from_error(e, &[])?;
            return again(&catalogue_page(&state, &staff, "", form, errors).await?);
        }
    };
    if !first_submit(&state, &staff, &form.form_key).await? {
        return Ok(see_other("/staff/services?done=repeat"));
    }
    let id = state.store().upsert_service_item(&item, state.now()).await?;
    crate::app::search::index_service_item(&state, id).await?;
    let entry = staff.audit_entry(
        state.now(),
        "service_item.save",
        format!("service_item:{id}"),
        format!("新增服务事项 {}", item.name),
        None,
    );
    state.audit(entry).await?;
    Ok(see_other(&format!("/staff/services/{id}?done=created")))
}

struct HandlerRow {
    township: String,
    name: String,
    phone: String,
}

#[derive(Template)]
#[template(path = "staff/service_item.html")]
struct ItemPage {
    nav: Nav,
    item: ServiceItem,
    officers: Vec<(i64, String)>,
    handlers: Vec<HandlerRow>,
    townships: Vec<(String, String)>,
    form_key: String,
    notice: &'static str,
    /// The edit form: the item as stored, or what was typed when it comes back with errors.
    values: ItemForm,
    errors: FieldErrors,
}

pub async fn item(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    Query(q): Query<DoneQuery>,
) -> Result<Html<String>, AppError> {
    let item = item_in_scope(&state, &staff, id).await?;
    let values = ItemForm::of(&item, &item.time_limit.label());
    Ok(Html(item_page(&state, &staff, item, notice_of(&q.done), values, FieldErrors::new()).await?.render()?))
}

async fn item_page(
    state: &AppState,
    staff: &Staff,
    item: ServiceItem,
    notice: &'static str,
    values: ItemForm,
    errors: FieldErrors,
) -> Result<ItemPage, AppError> {
    let id = item.id;
    let officers = state.store().contacts_of(item.department_id).await?.into_iter().map(|c| (c.id, c.name)).collect();
    let townships: Vec<(String, String)> = state
        .store()
        .orgs_at_level(OrgLevel::Township)
        .await?
        .into_iter()
        .map(|t| (t.code.clone(), t.display_name().to_owned()))
        .collect();
    let handlers = state
        .store()
        .service_handlers(id)
        .await?
        .into_iter()
        .map(|h| HandlerRow {
            township: townships
                .iter()
                .find(|t| t.0 == h.township_code)
                .map_or(h.township_code.clone(), |t| t.1.clone()),
            name: h.name,
            phone: state
                .cipher()
                .decrypt(&h.phone_enc)
                .ok()
                .and_then(|p| Phone::parse(&p).ok())
                .map(|p| p.masked())
                .unwrap_or_default(),
        })
        .collect();
    Ok(ItemPage {
        nav: staff.nav(),
        item,
        officers,
        handlers,
        townships,
        form_key: random_token(),
        notice,
        values,
        errors,
    })
}

pub async fn update(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    Form(form): Form<ItemForm>,
) -> Result<Response, AppError> {
    let existing = item_in_scope(&state, &staff, id).await?;
    let item = match parse_item(&state, existing.department_id, &form).await {
        Ok(item) => item,
        Err(e) => {
            let errors = FieldErrors::from_error(e, &[])?;
            return again(&item_page(&state, &staff, existing, "", form, errors).await?);
        }
    };
    if !first_submit(&state, &staff, &form.form_key).await? {
        return Ok(see_other(&format!("/staff/services/{id}?done=repeat")));
    }
    state.store().update_service_item(id, &item, state.now()).await?;
    crate::app::search::index_service_item(&state, id).await?;
    let entry = staff.audit_entry(
        state.now(),
        "service_item.save",
        format!("service_item:{id}"),
        format!("修改服务事项 {}", item.name),
        None,
    );
    state.audit(entry).await?;
    Ok(see_other(&format!("/staff/services/{id}?done=saved")))
}

#[derive(Deserialize)]
pub struct ActiveForm {
    #[serde(default)]
    form_key: String,
    #[serde(default)]
    active: String,
}

pub async fn set_active(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    Form(form): Form<ActiveForm>,
) -> Result<Response, AppError> {
    let item = item_in_scope(&state, &staff, id).await?;
    if !first_submit(&state, &staff, &form.form_key).await? {
        return Ok(see_other(&format!("/staff/services/{id}?done=repeat")));
    }
    let active = form.active == "1";
    state.store().set_service_item_active(id, active, state.now()).await?;
    crate::app::search::index_service_item(&state, id).await?;
    let detail = format!("{}服务事项 {}", if active { "上架" } else { "下架" }, item.name);
    state
        .audit(staff.audit_entry(state.now(), "service_item.active", format!("service_item:{id}"), detail, None))
        .await?;
    Ok(see_other(&format!("/staff/services/{id}?done=active")))
}

#[derive(Deserialize)]
pub struct HandlerForm {
    #[serde(default)]
    form_key: String,
    #[serde(default)]
    township: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    phone: String,
}

pub async fn set_handler(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    Form(form): Form<HandlerForm>,
) -> Result<Response, AppError> {
    let item = item_in_scope(&state, &staff, id).await?;
    let township = match state.store().find_org(&form.township).await? {
        Some(t) if t.level == OrgLevel::Township => t,
        _ => return Err(AppError::invalid("乡镇：请选择")),
    };
    let name = form.name.trim();
    if name.is_empty() || name.chars().count() > 32 {
        return Err(AppError::invalid("经办人姓名：请填写（不超过32个字）"));
    }
    let phone = Phone::parse(&form.phone).map_err(|e| AppError::invalid(format!("手机号：{e}")))?;
    if !first_submit(&state, &staff, &form.form_key).await? {
        return Ok(see_other(&format!("/staff/services/{id}?done=repeat")));
    }
    let cipher = state.cipher();
    state
        .store()
        .set_service_handler(
            id,
            &township.code,
            name,
            &cipher.encrypt(phone.expose()),
            &cipher.blind_index("phone", phone.expose()),
        )
        .await?;
    let detail = format!("{} 的{}经办人设为 {name}（{}）", item.name, township.display_name(), phone.masked());
    state
        .audit(staff.audit_entry(
            state.now(),
            "service_item.handler",
            format!("service_item:{id}"),
            detail,
            Some(township.code),
        ))
        .await?;
    Ok(see_other(&format!("/staff/services/{id}?done=handler")))
}

struct DayRow {
    date: String,
    weekday: &'static str,
    kind: &'static str,
    name: String,
}

#[derive(Template)]
#[template(path = "staff/calendar.html")]
struct CalendarPage {
    nav: Nav,
    year: i16,
    years: Vec<i16>,
    days: Vec<DayRow>,
    covered: bool,
    form_key: String,
    notice: &'static str,
}

#[derive(Deserialize)]
pub struct CalendarQuery {
    year: Option<i16>,
    #[serde(default)]
    done: String,
}

fn weekday_label(d: jiff::civil::Date) -> &'static str {
    ["周一", "周二", "周三", "周四", "周五", "周六", "周日"]
        [usize::try_from(d.weekday().to_monday_zero_offset()).unwrap_or(0)]
}

pub async fn calendar(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<CalendarQuery>,
) -> Result<Html<String>, AppError> {
    let this_year = crate::web::dates::shanghai_date(state.now()).year();
    let year = q.year.filter(|y| (2000..=2100).contains(y)).unwrap_or(this_year);
    let cal = crate::app::tracked::calendar(&state).await?;
    let days = cal
        .year(year)
        .into_iter()
        .map(|d| DayRow {
            date: d.date.to_string(),
            weekday: weekday_label(d.date),
            kind: d.kind.label(),
            name: d.name,
        })
        .collect();
    let page = CalendarPage {
        nav: staff.nav(),
        covered: cal.is_covered(year),
        years: ((this_year - 1)..=(this_year + 1)).collect(),
        year,
        days,
        form_key: random_token(),
        notice: notice_of(&q.done),
    };
    Ok(Html(page.render()?))
}

#[derive(Deserialize)]
pub struct DayForm {
    #[serde(default)]
    form_key: String,
    #[serde(default)]
    date: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    name: String,
}

pub async fn set_day(
    State(state): State<AppState>,
    staff: Staff,
    Form(form): Form<DayForm>,
) -> Result<Response, AppError> {
    let date: jiff::civil::Date = form.date.trim().parse().map_err(|_| AppError::invalid("日期：请选择日期"))?;
    let kind = DayKind::parse(&form.kind).ok_or_else(|| AppError::invalid("类型：请选择节假日或调休上班"))?;
    let name = form.name.trim();
    if name.is_empty() || name.chars().count() > 30 {
        return Err(AppError::invalid("名称：请填写，如“国庆节”或“调休上班（国庆节）”"));
    }
    let back = format!("/staff/calendar?year={}", date.year());
    if !first_submit(&state, &staff, &form.form_key).await? {
        return Ok(see_other(&format!("{back}&done=repeat")));
    }
    state.store().set_calendar_day(&date.to_string(), kind.as_str(), name, state.now()).await?;
    let detail = format!("{date} 设为{}（{name}）", kind.label());
    state.audit(staff.audit_entry(state.now(), "calendar.set", format!("calendar:{date}"), detail, None)).await?;
    Ok(see_other(&format!("{back}&done=day")))
}

pub async fn delete_day(
    State(state): State<AppState>,
    staff: Staff,
    Form(form): Form<DayForm>,
) -> Result<Response, AppError> {
    let date: jiff::civil::Date = form.date.trim().parse().map_err(|_| AppError::invalid("日期：请选择日期"))?;
    let back = format!("/staff/calendar?year={}", date.year());
    if !first_submit(&state, &staff, &form.form_key).await? {
        return Ok(see_other(&format!("{back}&done=repeat")));
    }
    if state.store().delete_calendar_day(&date.to_string(), state.now()).await? {
        state
            .audit(staff.audit_entry(
                state.now(),
                "calendar.delete",
                format!("calendar:{date}"),
                format!("删除 {date}"),
                None,
            ))
            .await?;
    }
    Ok(see_other(&format!("{back}&done=deleted")))
}

#[derive(Deserialize)]
pub struct ImportForm {
    #[serde(default)]
    form_key: String,
    #[serde(default)]
    year: String,
    #[serde(default)]
    csv: String,
}

/// Replaces a year's holidays with pasted `date,kind,name` lines (the State Council publishes the
/// next year's arrangement each November).
pub async fn import_year(
    State(state): State<AppState>,
    staff: Staff,
    Form(form): Form<ImportForm>,
) -> Result<Response, AppError> {
    let year: i16 = form
        .year
        .trim()
        .parse()
        .ok()
        .filter(|y| (2000..=2100).contains(y))
        .ok_or_else(|| AppError::invalid("年度：请填写，如 2027"))?;
    let days = workday::parse_csv(&form.csv).map_err(|errors| {
        AppError::invalid(errors.iter().take(10).map(ToString::to_string).collect::<Vec<_>>().join("；"))
    })?;
    if days.is_empty() {
        return Err(AppError::invalid("节假日安排：请粘贴“日期,类型,名称”格式的内容"));
    }
    if let Some(other) = days.iter().find(|d| d.date.year() != year) {
        return Err(AppError::invalid(format!("节假日安排：{} 不属于{year}年", other.date)));
    }
    if !first_submit(&state, &staff, &form.form_key).await? {
        return Ok(see_other(&format!("/staff/calendar?year={year}&done=repeat")));
    }
    let rows: Vec<(String, String, String)> =
        days.iter().map(|d| (d.date.to_string(), d.kind.as_str().to_owned(), d.name.clone())).collect();
    state.store().replace_calendar_year(year, &rows, state.now()).await?;
    let detail = format!("导入{year}年节假日安排{}天", rows.len());
    state.audit(staff.audit_entry(state.now(), "calendar.import", format!("calendar:{year}"), detail, None)).await?;
    Ok(see_other(&format!("/staff/calendar?year={year}&done=imported")))
}

struct OutboxRow {
    id: i64,
    tracking: String,
    recipient: String,
    status: &'static str,
    failed: bool,
    attempts: i64,
    error: String,
    body: String,
    at: String,
}

#[derive(Template)]
#[template(path = "staff/outbox.html")]
struct OutboxPage {
    nav: Nav,
    rows: Vec<OutboxRow>,
    counts: xiaowei_store::OutboxCounts,
    status: String,
    page: i64,
    has_more: bool,
    form_key: String,
    notice: &'static str,
}

#[derive(Deserialize)]
pub struct OutboxQuery {
    page: Option<i64>,
    #[serde(default)]
    status: String,
    #[serde(default)]
    done: String,
}

const OUTBOX_PAGE: i64 = 50;

pub async fn outbox(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<OutboxQuery>,
) -> Result<Html<String>, AppError> {
    let page = q.page.unwrap_or(1).clamp(1, 100_000);
    let status = Delivery::parse(&q.status);
    // Texts about a report (举报) are listed only to those who may read the report.
    let reports = staff.role.is_commission();
    let (messages, total) =
        state.store().outbox_listing(status, reports, OUTBOX_PAGE, (page - 1) * OUTBOX_PAGE).await?;
    let rows = messages
        .into_iter()
        .map(|ListedText { text: m, tracking }| OutboxRow {
            id: m.id,
            tracking,
            recipient: m.recipient,
            status: m.status.label(),
            failed: m.status == Delivery::Failed,
            attempts: m.attempts,
            error: m.last_error.unwrap_or_default(),
            // A message author's link opens their own page: keep its key out of this view.
            body: if m.message_id.is_some() { xiaowei_core::text::redact_link_keys(&m.body) } else { m.body },
            at: shanghai_time(m.sent_at.unwrap_or(m.created_at)),
        })
        .collect();
    let page = OutboxPage {
        nav: staff.nav(),
        rows,
        counts: state.store().outbox_counts(reports).await?,
        status: status.map_or("", Delivery::as_str).to_owned(),
        has_more: page * OUTBOX_PAGE < total,
        page,
        form_key: random_token(),
        notice: notice_of(&q.done),
    };
    Ok(Html(page.render()?))
}

#[derive(Deserialize)]
pub struct RetryForm {
    #[serde(default)]
    form_key: String,
}

pub async fn retry(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    Form(form): Form<RetryForm>,
) -> Result<Response, AppError> {
    if !staff.role.is_commission() && state.store().outbox_is_about_report(id).await? {
        return Err(AppError::NotFound);
    }
    if !first_submit(&state, &staff, &form.form_key).await? {
        return Ok(see_other("/staff/outbox?done=repeat"));
    }
    if state.store().retry_outbox(id, state.now()).await? {
        state
            .audit(staff.audit_entry(state.now(), "outbox.retry", format!("outbox:{id}"), "重新发送短信".into(), None))
            .await?;
    }
    Ok(see_other("/staff/outbox?status=failed&done=retried"))
}

/// This area's staff routes, each with the permission it needs and its scope target.
pub(super) fn routes(r: StaffRoutes) -> StaffRoutes {
    r.get("/staff/services", Permission::ManageServiceCatalogue, Target::None, catalogue)
        .post("/staff/services", Permission::ManageServiceCatalogue, Target::None, create)
        .get("/staff/services/{item}", Permission::ManageServiceCatalogue, Target::ServiceItem, item)
        .post("/staff/services/{item}", Permission::ManageServiceCatalogue, Target::ServiceItem, update)
        .post("/staff/services/{item}/active", Permission::ManageServiceCatalogue, Target::ServiceItem, set_active)
        .post("/staff/services/{item}/handlers", Permission::ManageServiceCatalogue, Target::ServiceItem, set_handler)
        .get("/staff/calendar", Permission::ManageCalendar, Target::None, calendar)
        .post("/staff/calendar", Permission::ManageCalendar, Target::None, set_day)
        .post("/staff/calendar/delete", Permission::ManageCalendar, Target::None, delete_day)
        .post("/staff/calendar/import", Permission::ManageCalendar, Target::None, import_year)
        .get("/staff/outbox", Permission::ViewOutbox, Target::None, outbox)
        .post("/staff/outbox/{message}/retry", Permission::ViewOutbox, Target::None, retry)
}
