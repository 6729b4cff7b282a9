//! The village office in the back office (村干部、值班坐班表、会议通知): the village clerk, or a
//! township admin for the villages of the township, keeps the cadres and their published phones,
//! the weekly duty pattern and its holiday overrides, and meeting notices with their minutes.
//! Every change is audited; phones appear in the audit log masked only.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, Request, State};
use axum::response::{Html, Response};
use jiff::civil::{Date, Time};
use serde::Deserialize;
use xiaowei_core::village_office::{Audience, Audiences, WEEK, weekday_label};
use xiaowei_core::{OrgLevel, Permission, Phone};
use xiaowei_store::{CadreDetails, NewAttachment, NewDutyOverride, NewMeeting, Org, WeeklyDuty};

use super::{KeyedForm, Nav, Staff, first_submit, see_other};
use super::{StaffRoutes, Target};
use crate::public::village_office::{cadre_phone, meeting_time, month_day, rota_of};
use crate::state::AppState;
use crate::web::dates::{parse_date, shanghai_date};
use crate::web::error::AppError;
use crate::web::security::random_token;

/// How far back and ahead a meeting may be dated, in days.
const MEETING_RANGE_DAYS: i64 = 366;

#[derive(Deserialize)]
pub struct DoneQuery {
    #[serde(default)]
    done: String,
}

fn notice_text(code: &str) -> &'static str {
    match code {
        "cadre_added" => "村干部已新增，已在本村页面公布。",
        "cadre_saved" => "村干部信息已保存。",
        "cadre_removed" => "村干部已删除，其值班安排一并取消。",
        "rota" => "每周值班表已保存。",
        "override_added" => "值班调整已新增。",
        "override_removed" => "值班调整已删除。",
        "meeting" => "会议通知已发布。",
        "minutes" => "会议纪要已保存并公布。",
        "file" => "纪要原件已上传。",
        "repeat" => "该表单已提交过，未重复处理。",
        _ => "",
    }
}

/// The village in the path, after the role and scope checks; a township shows its village list.
async fn place_in_scope(state: &AppState, staff: &Staff, org_code: &str) -> Result<Org, AppError> {
    staff.require_org(org_code)?;
    state.store().find_org(org_code).await?.ok_or(AppError::NotFound)
}

async fn village_in_scope(state: &AppState, staff: &Staff, org_code: &str) -> Result<Org, AppError> {
    let org = place_in_scope(state, staff, org_code).await?;
    if org.level == OrgLevel::Village { Ok(org) } else { Err(AppError::NotFound) }
}

async fn audit(state: &AppState, staff: &Staff, village: &Org, action: &str, detail: String) -> Result<(), AppError> {
    let target = format!("village:{}", village.code);
    state.audit(staff.audit_entry(state.now(), action, target, detail, Some(village.code.clone()))).await
}

fn back(org: &str, done: &str, anchor: &str) -> Response {
    see_other(&format!("/staff/village-office/{org}?done={done}#{anchor}"))
}

/// Trimmed text of 1..=`max` characters, or a message naming the field.
fn required(value: &str, field: &str, max: usize) -> Result<String, AppError> {
    let value = value.trim();
    if value.is_empty() || value.chars().count() > max {
        return Err(AppError::invalid(format!("{field}：请填写（不超过{max}个字）")));
    }
    Ok(value.to_owned())
}

struct VillageLink {
    code: String,
    name: String,
}

#[derive(Template)]
#[template(path = "staff/village_office_list.html")]
struct ListPage {
    nav: Nav,
    place_name: String,
    villages: Vec<VillageLink>,
}

struct CadreRow {
    id: i64,
    name: String,
    title: String,
    duties: String,
    phone: String,
}

struct WeekSlot {
    number: usize,
    label: &'static str,
    cadre_id: i64,
}

struct OverrideRow {
    id: i64,
    date: String,
    who: String,
    note: String,
}

struct MeetingRow {
    id: i64,
    when: String,
    place: String,
    agenda: String,
    audiences: String,
    minutes: String,
    has_file: bool,
}

#[derive(Template)]
#[template(path = "staff/village_office.html")]
struct OfficePage {
    nav: Nav,
    notice: &'static str,
    org_code: String,
    /// The township whose list the breadcrumb leads back to; empty when the account cannot open it.
    township_code: String,
    village_name: String,
    cadres: Vec<CadreRow>,
    week: Vec<WeekSlot>,
    overrides: Vec<OverrideRow>,
    upcoming: Vec<MeetingRow>,
    past: Vec<MeetingRow>,
    audiences: Vec<(&'static str, &'static str)>,
    today: String,
    form_key: String,
}

fn meeting_row(m: xiaowei_store::Meeting) -> MeetingRow {
    MeetingRow {
        id: m.id,
        when: meeting_time(m.starts_at),
        audiences: m.audiences.labels(),
        has_file: m.minutes_attachment_id.is_some(),
        place: m.place,
        agenda: m.agenda,
        minutes: m.minutes.unwrap_or_default(),
    }
}

pub async fn show(
    State(state): State<AppState>,
    staff: Staff,
    Path(org_code): Path<String>,
    Query(q): Query<DoneQuery>,
) -> Result<Html<String>, AppError> {
    let place = place_in_scope(&state, &staff, &org_code).await?;
    let store = state.store();
    if place.level != OrgLevel::Village {
        let villages = store
            .child_orgs(&place.code)
            .await?
            .into_iter()
            .filter(|o| o.level == OrgLevel::Village)
            .map(|v| VillageLink { name: v.display_name().to_owned(), code: v.code })
            .collect();
        let page = ListPage { nav: staff.nav(), place_name: place.display_name().to_owned(), villages };
        return Ok(Html(page.render()?));
    }
    let now = state.now();
    let today = shanghai_date(now);
    let mut cadres = Vec::new();
    for c in store.cadres_of(&place.code).await? {
        let phone = cadre_phone(&state, &c)?;
        cadres.push(CadreRow { id: c.id, name: c.name, title: c.title, duties: c.duties, phone });
    }
    let (rota, rows) = rota_of(store, &place.code, today).await?;
    let name_of = |id: Option<i64>| {
        id.and_then(|id| cadres.iter().find(|c| c.id == id)).map_or_else(|| "不坐班".to_owned(), |c| c.name.clone())
    };
    let week = WEEK
        .iter()
        .enumerate()
        .map(|(i, day)| WeekSlot {
            number: i + 1,
            label: weekday_label(*day),
            cadre_id: rota.weekly_cadre(*day).unwrap_or(0),
        })
        .collect();
    let overrides = rows
        .into_iter()
        .map(|o| {
            let date = parse_date(&o.on_date)
                .map_or_else(|| o.on_date.clone(), |d| format!("{} {}", month_day(d), weekday_label(d.weekday())));
            OverrideRow { id: o.id, date, who: name_of(o.cadre_id), note: o.note }
        })
        .collect();
    // A village clerk's scope ends at the village: the township list is not theirs to open.
    let township_code = place.parent_code.clone().filter(|t| staff.scope.covers_org(t)).unwrap_or_default();
    let page = OfficePage {
        nav: staff.nav(),
        notice: notice_text(&q.done),
        township_code,
        village_name: place.display_name().to_owned(),
        upcoming: store.upcoming_meetings(&place.code, now, 50).await?.into_iter().map(meeting_row).collect(),
        past: store.past_meetings(&place.code, now, 20).await?.into_iter().map(meeting_row).collect(),
        org_code: place.code,
        cadres,
        week,
        overrides,
        audiences: Audience::ALL.iter().map(|a| (a.as_str(), a.label())).collect(),
        today: today.to_string(),
        form_key: random_token(),
    };
    Ok(Html(page.render()?))
}

#[derive(Deserialize)]
pub struct CadreForm {
    #[serde(default)]
    form_key: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    duties: String,
    #[serde(default)]
    phone: String,
}

/// Checks a cadre form and seals the phone; returns the details and the masked phone.
fn cadre_details(state: &AppState, form: &CadreForm) -> Result<(CadreDetails, String), AppError> {
    let name = required(&form.name, "姓名", 32)?;
    let title = required(&form.title, "职务", 40)?;
    let duties = required(&form.duties, "分工", 100)?;
    let phone = Phone::parse(&form.phone).map_err(|e| AppError::invalid(format!("手机号：{e}")))?;
    let details = CadreDetails {
        name,
        title,
        duties,
        phone_enc: state.cipher().encrypt(phone.expose()),
        phone_idx: state.cipher().blind_index("phone", phone.expose()),
    };
    Ok((details, phone.masked()))
}

pub async fn add_cadre(
    State(state): State<AppState>,
    staff: Staff,
    Path(org_code): Path<String>,
    Form(form): Form<CadreForm>,
) -> Result<Response, AppError> {
    let village = village_in_scope(&state, &staff, &org_code).await?;
    let (details, masked) = cadre_details(&state, &form)?;
    if !first_submit(&state, &staff, &form.form_key).await? {
        return Ok(back(&village.code, "repeat", "cadres"));
    }
    let id = state.store().add_cadre(&village.code, &details, state.now()).await?;
    let detail = format!("新增村干部 #{id} {}（{}，{masked}）", details.name, details.title);
    audit(&state, &staff, &village, "village_office.add_cadre", detail).await?;
    Ok(back(&village.code, "cadre_added", "cadres"))
}

pub async fn edit_cadre(
    State(state): State<AppState>,
    staff: Staff,
    Path((org_code, cadre_id)): Path<(String, i64)>,
    Form(form): Form<CadreForm>,
) -> Result<Response, AppError> {
    let village = village_in_scope(&state, &staff, &org_code).await?;
    let (details, masked) = cadre_details(&state, &form)?;
    if !first_submit(&state, &staff, &form.form_key).await? {
        return Ok(back(&village.code, "repeat", "cadres"));
    }
    state.store().update_cadre(&village.code, cadre_id, &details, state.now()).await?;
    let detail =
        format!("修改村干部 #{cadre_id} 为 {}（{}，分工：{}，{masked}）", details.name, details.title, details.duties);
    audit(&state, &staff, &village, "village_office.edit_cadre", detail).await?;
    Ok(back(&village.code, "cadre_saved", "cadres"))
}

pub async fn remove_cadre(
    State(state): State<AppState>,
    staff: Staff,
    Path((org_code, cadre_id)): Path<(String, i64)>,
    Form(form): Form<KeyedForm>,
) -> Result<Response, AppError> {
    let village = village_in_scope(&state, &staff, &org_code).await?;
    let cadre = state
        .store()
        .cadres_of(&village.code)
        .await?
        .into_iter()
        .find(|c| c.id == cadre_id)
        .ok_or(AppError::NotFound)?;
    if !first_submit(&state, &staff, &form.form_key).await? {
        return Ok(back(&village.code, "repeat", "cadres"));
    }
    state.store().remove_cadre(&village.code, cadre_id).await?;
    let detail = format!("删除村干部 #{cadre_id} {}（{}）及其值班安排", cadre.name, cadre.title);
    audit(&state, &staff, &village, "village_office.remove_cadre", detail).await?;
    Ok(back(&village.code, "cadre_removed", "cadres"))
}

/// The value of the first field called `name` in a form read as pairs.
fn field<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
    fields.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.trim())
}

/// A cadre chosen in a select: empty (or `none`) is nobody; anything else must be a cadre of the village.
async fn chosen_cadre(state: &AppState, village: &Org, value: &str, field: &str) -> Result<Option<i64>, AppError> {
    if value.is_empty() || value == "none" || value == "0" {
        return Ok(None);
    }
    let bad = || AppError::invalid(format!("{field}：请选择本村的村干部"));
    let id = value.parse::<i64>().map_err(|_| bad())?;
    let cadres = state.store().cadres_of(&village.code).await?;
    if cadres.iter().any(|c| c.id == id) { Ok(Some(id)) } else { Err(bad()) }
}

pub async fn set_rota(
    State(state): State<AppState>,
    staff: Staff,
    Path(org_code): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let village = village_in_scope(&state, &staff, &org_code).await?;
    let mut slots = Vec::new();
    let mut summary = Vec::new();
    for (i, day) in WEEK.iter().enumerate() {
        let label = weekday_label(*day);
        if let Some(cadre_id) = chosen_cadre(&state, &village, field(&fields, &format!("day{}", i + 1)), label).await? {
            let weekday = i64::try_from(i + 1).unwrap_or(1);
            slots.push(WeeklyDuty { weekday, cadre_id });
            summary.push(format!("{label} #{cadre_id}"));
        }
    }
    if !first_submit(&state, &staff, field(&fields, "form_key")).await? {
        return Ok(back(&village.code, "repeat", "rota"));
    }
    state.store().set_weekly_duty(&village.code, &slots).await?;
    let detail = if summary.is_empty() {
        "清空每周值班表".to_owned()
    } else {
        format!("设置每周值班：{}", summary.join("，"))
    };
    audit(&state, &staff, &village, "village_office.set_rota", detail).await?;
    Ok(back(&village.code, "rota", "rota"))
}

#[derive(Deserialize)]
pub struct OverrideForm {
    #[serde(default)]
    form_key: String,
    #[serde(default)]
    date: String,
    #[serde(default)]
    cadre_id: String,
    #[serde(default)]
    note: String,
}

pub async fn add_override(
    State(state): State<AppState>,
    staff: Staff,
    Path(org_code): Path<String>,
    Form(form): Form<OverrideForm>,
) -> Result<Response, AppError> {
    let village = village_in_scope(&state, &staff, &org_code).await?;
    let today = shanghai_date(state.now());
    let date = parse_date(&form.date).ok_or_else(|| AppError::invalid("日期：请按 2026-02-17 的格式填写"))?;
    let year_ahead = today.checked_add(jiff::Span::new().days(MEETING_RANGE_DAYS)).unwrap_or(Date::MAX);
    if date < today || date > year_ahead {
        return Err(AppError::invalid("日期：请选择今天起一年内的日期"));
    }
    let cadre_id = chosen_cadre(&state, &village, form.cadre_id.trim(), "值班人").await?;
    let note = required(&form.note, "说明", 30)?;
    if !first_submit(&state, &staff, &form.form_key).await? {
        return Ok(back(&village.code, "repeat", "overrides"));
    }
    let new = NewDutyOverride { on_date: date.to_string(), cadre_id, note: note.clone() };
    let id = state.store().add_duty_override(&village.code, &new, state.now()).await?;
    let who = cadre_id.map_or_else(|| "不坐班".to_owned(), |c| format!("由 #{c} 代班"));
    let detail = format!("新增值班调整 #{id}：{date} {who}（{note}）");
    audit(&state, &staff, &village, "village_office.add_override", detail).await?;
    Ok(back(&village.code, "override_added", "overrides"))
}

pub async fn remove_override(
    State(state): State<AppState>,
    staff: Staff,
    Path((org_code, override_id)): Path<(String, i64)>,
    Form(form): Form<KeyedForm>,
) -> Result<Response, AppError> {
    let village = village_in_scope(&state, &staff, &org_code).await?;
    if !first_submit(&state, &staff, &form.form_key).await? {
        return Ok(back(&village.code, "repeat", "overrides"));
    }
    state.store().remove_duty_override(&village.code, override_id).await?;
    audit(&state, &staff, &village, "village_office.remove_override", format!("删除值班调整 #{override_id}")).await?;
    Ok(back(&village.code, "override_removed", "overrides"))
}

/// A date and a time typed in Asia/Shanghai, as UTC unix seconds.
fn shanghai_instant(date: &str, time: &str) -> Result<i64, AppError> {
    let date = parse_date(date).ok_or_else(|| AppError::invalid("会议日期：请按 2026-03-02 的格式填写"))?;
    let time: Time = time.trim().parse().map_err(|_| AppError::invalid("会议时间：请按 09:30 的格式填写"))?;
    date.to_datetime(time)
        .to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::Offset::constant(8)))
        .map(|z| z.timestamp().as_second())
        .map_err(|_| AppError::invalid("会议日期：日期超出范围"))
}

pub async fn create_meeting(
    State(state): State<AppState>,
    staff: Staff,
    Path(org_code): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let village = village_in_scope(&state, &staff, &org_code).await?;
    let now = state.now();
    let starts_at = shanghai_instant(field(&fields, "date"), field(&fields, "time"))?;
    if (starts_at - now).abs() > MEETING_RANGE_DAYS * 86_400 {
        return Err(AppError::invalid("会议日期：请选择前后一年内的日期"));
    }
    let place = required(field(&fields, "place"), "地点", 60)?;
    let agenda = required(field(&fields, "agenda"), "议题", 500)?;
    let chosen = fields.iter().filter(|(k, _)| k == "audience").map(|(_, v)| v.as_str());
    let audiences = Audiences::parse(chosen).ok_or_else(|| AppError::invalid("参会人员：请从列表中选择"))?;
    if audiences.is_empty() {
        return Err(AppError::invalid("参会人员：请至少选择一项"));
    }
    if !first_submit(&state, &staff, field(&fields, "form_key")).await? {
        return Ok(back(&village.code, "repeat", "meetings"));
    }
    let meeting = NewMeeting {
        org_code: village.code.clone(),
        starts_at,
        place,
        agenda,
        audiences,
        created_by: Some(staff.user.id),
    };
    let id = state.store().create_meeting(&meeting, now).await?;
    let detail = format!("发布会议通知 #{id}：{} {}", meeting_time(starts_at), meeting.place);
    audit(&state, &staff, &village, "village_office.create_meeting", detail).await?;
    Ok(back(&village.code, "meeting", "meetings"))
}

/// A meeting of the village that has already started: only those get minutes.
async fn held_meeting(state: &AppState, village: &Org, id: i64) -> Result<xiaowei_store::Meeting, AppError> {
    let meeting = state.store().find_meeting(&village.code, id).await?.ok_or(AppError::NotFound)?;
    if meeting.starts_at > state.now() {
        return Err(AppError::Conflict("会议尚未召开，召开后再填写纪要".into()));
    }
    Ok(meeting)
}

#[derive(Deserialize)]
pub struct MinutesForm {
    #[serde(default)]
    form_key: String,
    #[serde(default)]
    minutes: String,
}

pub async fn record_minutes(
    State(state): State<AppState>,
    staff: Staff,
    Path((org_code, meeting_id)): Path<(String, i64)>,
    Form(form): Form<MinutesForm>,
) -> Result<Response, AppError> {
    let village = village_in_scope(&state, &staff, &org_code).await?;
    held_meeting(&state, &village, meeting_id).await?;
    let minutes = required(&form.minutes, "会议纪要", 5000)?;
    if !first_submit(&state, &staff, &form.form_key).await? {
        return Ok(back(&village.code, "repeat", "meetings"));
    }
    state.store().record_minutes(&village.code, meeting_id, &minutes, state.now()).await?;
    let detail = format!("公布会议 #{meeting_id} 纪要（{}字）", minutes.chars().count());
    audit(&state, &staff, &village, "village_office.minutes", detail).await?;
    Ok(back(&village.code, "minutes", "meetings"))
}

/// Uploads the signed minutes (PDF or image); the same file twice is stored once.
pub async fn attach_minutes(
    State(state): State<AppState>,
    staff: Staff,
    Path((org_code, meeting_id)): Path<(String, i64)>,
    request: Request,
) -> Result<Response, AppError> {
    let village = village_in_scope(&state, &staff, &org_code).await?;
    let meeting = held_meeting(&state, &village, meeting_id).await?;
    let upload = super::rosters::read_upload(&state, request).await?;
    let (stored, original_name) = super::rosters::store_scan(&state, &upload).await?;
    let current = match meeting.minutes_attachment_id {
        Some(id) => state.store().find_attachment(id).await?,
        None => None,
    };
    if current.is_some_and(|a| a.sha256 == stored.sha256) {
        return Ok(back(&village.code, "repeat", "meetings"));
    }
    let attachment = NewAttachment {
        roster_id: None,
        programme_id: None,
        sha256: stored.sha256,
        size: i64::try_from(stored.size).unwrap_or(i64::MAX),
        content_type: stored.kind.content_type().to_owned(),
        original_name: original_name.clone(),
        uploaded_by: Some(staff.user.id),
    };
    let id = state.store().add_attachment(&attachment, state.now()).await?;
    state.store().attach_minutes_file(&village.code, meeting_id, id).await?;
    let detail = format!("上传会议 #{meeting_id} 纪要原件 {original_name}");
    audit(&state, &staff, &village, "village_office.minutes_file", detail).await?;
    Ok(back(&village.code, "file", "meetings"))
}

/// This area's staff routes, each with the permission it needs and its scope target.
pub(super) fn routes(r: StaffRoutes) -> StaffRoutes {
    r.get("/staff/village-office/{org}", Permission::ManageVillageOffice, Target::Org, show)
        .post("/staff/village-office/{org}/cadres", Permission::ManageVillageOffice, Target::Org, add_cadre)
        .post("/staff/village-office/{org}/cadres/{cadre}", Permission::ManageVillageOffice, Target::Org, edit_cadre)
        .post(
            "/staff/village-office/{org}/cadres/{cadre}/delete",
            Permission::ManageVillageOffice,
            Target::Org,
            remove_cadre,
        )
        .post("/staff/village-office/{org}/rota", Permission::ManageVillageOffice, Target::Org, set_rota)
        .post("/staff/village-office/{org}/overrides", Permission::ManageVillageOffice, Target::Org, add_override)
        .post(
            "/staff/village-office/{org}/overrides/{override}/delete",
            Permission::ManageVillageOffice,
            Target::Org,
            remove_override,
        )
        .post("/staff/village-office/{org}/meetings", Permission::ManageVillageOffice, Target::Org, create_meeting)
        .post(
            "/staff/village-office/{org}/meetings/{meeting}/minutes",
            Permission::ManageVillageOffice,
            Target::Org,
            record_minutes,
        )
        .post(
            "/staff/village-office/{org}/meetings/{meeting}/file",
            Permission::ManageVillageOffice,
            Target::Org,
            attach_minutes,
        )
}
