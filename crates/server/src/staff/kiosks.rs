//! 触摸终端 in the back office: the county admin registers a terminal for a township hall and
//! gets its one-time enrolment link (shown once, with a QR code), sees every terminal's
//! 在线/离线 state, last heartbeat, version, screen and last error, and revokes a terminal.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;
use xiaowei_core::kiosk::{ENROL_VALID_SECS, IdleSeconds, is_online};
use xiaowei_core::{OrgLevel, Permission};
use xiaowei_store::{KioskTerminal, NewKioskTerminal};

use super::{KeyedForm, Nav, Staff, first_submit, see_other};
use super::{StaffRoutes, Target};
use crate::state::AppState;
use crate::web::dates::shanghai_time;
use crate::web::error::AppError;
use crate::web::security::random_token;

struct Row {
    id: i64,
    township: String,
    name: String,
    idle_seconds: i64,
    state: &'static str,
    online: bool,
    last_seen: String,
    version: String,
    screen: String,
    last_error: String,
    revoked: bool,
}

fn row(t: KioskTerminal, now: i64) -> Row {
    let online = t.revoked_at.is_none() && is_online(t.last_seen_at, now);
    let state = match (t.revoked_at, t.enrolled_at) {
        (Some(_), _) => "已停用",
        (None, None) if t.enrol_expires_at <= now => "登记链接已过期",
        (None, None) => "待登记",
        (None, Some(_)) if online => "在线",
        (None, Some(_)) => "离线",
    };
    Row {
        id: t.id,
        township: xiaowei_core::org::display_name(&t.township_name).to_owned(),
        name: t.name,
        idle_seconds: t.idle_seconds,
        state,
        online,
        last_seen: t.last_seen_at.map(shanghai_time).unwrap_or_else(|| "从未".to_owned()),
        version: t.last_version.unwrap_or_default(),
        screen: t.last_screen.unwrap_or_default(),
        last_error: t.last_error.unwrap_or_default(),
        revoked: t.revoked_at.is_some(),
    }
}

struct Township {
    code: String,
    name: String,
}

/// The link and QR code of a terminal just registered: shown on this one answer only.
struct Enrolment {
    name: String,
    url: String,
    qr_svg: String,
    expires: String,
}

#[derive(Template)]
#[template(path = "staff/kiosks.html")]
struct Page {
    nav: Nav,
    notice: &'static str,
    rows: Vec<Row>,
    townships: Vec<Township>,
    enrolment: Option<Enrolment>,
    form_key: String,
    default_idle: i64,
}

#[derive(Deserialize)]
pub struct DoneQuery {
    #[serde(default)]
    done: String,
}

async fn render(
    state: &AppState,
    staff: &Staff,
    notice: &'static str,
    enrolment: Option<Enrolment>,
) -> Result<Html<String>, AppError> {
    let now = state.now();
    let store = state.store();
    let rows = store.list_kiosk_terminals(&staff.scope.org_code).await?.into_iter().map(|t| row(t, now)).collect();
    let townships = store
        .orgs_at_level(OrgLevel::Township)
        .await?
        .into_iter()
        .filter(|t| staff.scope.covers_org(&t.code))
        .map(|t| Township { name: t.display_name().to_owned(), code: t.code })
        .collect();
    let page = Page {
        nav: staff.nav(),
        notice,
        rows,
        townships,
        enrolment,
        form_key: random_token(),
        default_idle: IdleSeconds::DEFAULT.get(),
    };
    Ok(Html(page.render()?))
}

pub async fn list(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<DoneQuery>,
) -> Result<Html<String>, AppError> {
    let notice = match q.done.as_str() {
        "revoked" => "终端已停用，该设备不能再使用触摸终端页面。",
        "repeat" => "该表单已提交过，未重复处理。",
        _ => "",
    };
    render(&state, &staff, notice, None).await
}

#[derive(Deserialize)]
pub struct CreateForm {
    #[serde(default)]
    form_key: String,
    #[serde(default)]
    org_code: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    idle_seconds: String,
}

pub async fn create(
    State(state): State<AppState>,
    staff: Staff,
    Form(form): Form<CreateForm>,
) -> Result<Response, AppError> {
    staff.require_org(&form.org_code)?;
    let org = state.store().find_org(&form.org_code).await?;
    let Some(org) = org.filter(|o| o.level == OrgLevel::Township) else {
        return Err(AppError::invalid("乡镇：触摸终端按乡镇便民服务大厅登记，请选择乡镇"));
    };
    let name = xiaowei_core::text::compact(&form.name);
    if name.is_empty() || name.chars().count() > 40 {
        return Err(AppError::invalid("终端名称：请填写1至40个字，如“便民服务大厅1号机”"));
    }
    let idle = IdleSeconds::parse(&form.idle_seconds).map_err(|e| AppError::invalid(e.to_string()))?;
    if !first_submit(&state, &staff, &form.form_key).await? {
        return Ok(see_other("/staff/kiosks?done=repeat"));
    }
    let now = state.now();
    let token = random_token();
    let terminal = NewKioskTerminal {
        township_code: org.code.clone(),
        name: name.clone(),
        idle_seconds: idle.get(),
        enrol_token_hash: crate::public::kiosk::enrol_hash(&state, &token),
        enrol_expires_at: now + ENROL_VALID_SECS,
        created_by: staff.user.id,
    };
    let id = state.store().create_kiosk_terminal(&terminal, now).await?;
    state
        .audit(staff.audit_entry(
            now,
            "kiosk.create",
            format!("kiosk:{id}"),
            format!("新建触摸终端 {name}（{}），无操作 {} 秒返回首页", org.display_name(), idle.get()),
            Some(org.code.clone()),
        ))
        .await?;
    let url = state.config().public_link(&format!("/kiosk/enrol/{token}"));
    let code = qrcode::QrCode::with_error_correction_level(url.as_bytes(), qrcode::EcLevel::M)
        .map_err(|e| AppError::Internal(format!("qr: {e}")))?;
    let svg = code.render::<qrcode::render::svg::Color>().min_dimensions(240, 240).quiet_zone(true).build();
    let qr_svg = svg.find("<svg").map_or(svg.clone(), |at| svg[at..].to_owned());
    let enrolment = Enrolment { name, url, qr_svg, expires: shanghai_time(now + ENROL_VALID_SECS) };
    let mut response = render(&state, &staff, "", Some(enrolment)).await?.into_response();
    // The link is a secret shown once: no cache may keep this answer.
    response.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    Ok(response)
}

#[derive(Deserialize)]
pub struct RevokeForm {
    #[serde(flatten)]
    keyed: KeyedForm,
    #[serde(default)]
    confirm: String,
}

pub async fn revoke(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    Form(form): Form<RevokeForm>,
) -> Result<Response, AppError> {
    let terminal = state.store().find_kiosk_terminal(id).await?.ok_or(AppError::NotFound)?;
    staff.require_visible(&terminal.township_code)?;
    if form.confirm != "1" {
        return Err(AppError::invalid("停用确认：请勾选“确认停用该终端”后再提交"));
    }
    if !first_submit(&state, &staff, &form.keyed.form_key).await? {
        return Ok(see_other("/staff/kiosks?done=repeat"));
    }
    let now = state.now();
    if state.store().revoke_kiosk_terminal(id, now).await? {
        state
            .audit(staff.audit_entry(
                now,
                "kiosk.revoke",
                format!("kiosk:{id}"),
                format!("停用触摸终端 {}", terminal.name),
                Some(terminal.township_code.clone()),
            ))
            .await?;
    }
    Ok(see_other("/staff/kiosks?done=revoked"))
}

/// This area's staff routes, each with the permission it needs and its scope target.
pub(super) fn routes(r: StaffRoutes) -> StaffRoutes {
    r.get("/staff/kiosks", Permission::ManageKiosks, Target::None, list)
        .post("/staff/kiosks", Permission::ManageKiosks, Target::Org, create)
        .post("/staff/kiosks/{kiosk}/revoke", Permission::ManageKiosks, Target::Kiosk, revoke)
}
