//! The staff back office: login, the session extractor, and the routes of each area. Every
//! route asks two questions: may this role do this at all — answered by the route's declaration
//! (see [`routes`]) before the handler runs — and is the target inside the account's scope,
//! answered by the handler through [`Staff`] once it has loaded the record.

mod alerts;
mod audit;
mod auth;
pub(crate) mod cases;
mod departments;
mod disclosures;
mod inbox;
mod integrators;
mod kiosks;
pub mod live;
mod monitor;
mod objections;
mod orgs;
mod powers;
mod programmes;
mod rosters;
mod routes;
mod screening;
mod service_links;
mod services;
mod tracked;
mod users;
mod village_office;
mod wechat;

pub(crate) use crate::web::respond::{see_other, xlsx_response};
pub(crate) use crate::web::security::{SESSION_COOKIE, token_hash};
pub use auth::{check_password_rules, hash_password};
pub use routes::{StaffRoute, StaffRoutes};
pub use users::check_username;

use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::routing::{get, post};
use xiaowei_core::access::Scope;
use xiaowei_core::{Permission, Role};
use xiaowei_store::{NewAuditEntry, StaffUser};

use crate::state::AppState;
use crate::web::error::AppError;
use crate::web::security::{ClientIp, CsrfToken, cookie};

/// What a route's target is, for scope checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// No target beyond the account's own scope.
    None,
    /// An org code in the path (`{org}`) or, for creation forms, in the `org_code` field.
    Org,
    /// A department id in the path (`{dept}`).
    Department,
    /// A staff account id in the path (`{user}`).
    User,
    /// A roster id in the path (`{roster}`): its org must be in scope.
    Roster,
    /// An objection id in the path (`{objection}`): its org must be in scope.
    Objection,
    /// A programme id in the path (`{programme}`): its department must be visible.
    Programme,
    /// A power catalogue item id in the path (`{item}`): it must apply at the account's org or lie inside its scope.
    PowerItem,
    /// A power exercise id in the path (`{record}`): its org must be in scope.
    PowerRecord,
    /// A disclosure id in the path (`{disclosure}`): its org must be in scope.
    Disclosure,
    /// A case tracking number in the path (`{case}`): its department (department officers) or
    /// its village (everyone else) must be in scope.
    Case,
    /// A service item id in the path (`{item}`): its department must be visible.
    ServiceItem,
    /// A message tracking number in the path (`{msg}`): its org must be in scope, and a report
    /// is visible to the discipline commission only.
    Message,
    /// An alert id in the path (`{alert}`): its org must be in scope, and an alert about a report
    /// is visible to the discipline commission only.
    Alert,
    /// A touch terminal id in the path (`{kiosk}`): its township must be in scope.
    Kiosk,
    /// A 办事直通车 tile id in the path (`{link}`): its county or township must be in scope.
    ServiceLink,
    /// An integrator key id in the path (`{integrator}`): its org must be in scope.
    Integrator,
    /// A screening hit id in the path (`{hit}`): its village must be in scope.
    ScreeningHit,
    /// A 政策找人 lead id in the path (`{lead}`): its village must be in scope.
    OutreachLead,
}

/// Every staff route behind login, as the areas declare them.
pub fn routes() -> Vec<StaffRoute> {
    areas().list()
}

/// The areas of the back office, each declaring its own routes.
fn areas() -> StaffRoutes {
    StaffRoutes::default()
        .area(auth::routes)
        .area(orgs::routes)
        .area(users::routes)
        .area(departments::routes)
        .area(audit::routes)
        .area(programmes::routes)
        .area(rosters::routes)
        .area(objections::routes)
        .area(powers::routes)
        .area(village_office::routes)
        .area(disclosures::routes)
        .area(cases::routes)
        .area(services::routes)
        .area(inbox::routes)
        .area(wechat::routes)
        .area(alerts::routes)
        .area(crate::staff::live::routes)
        .area(kiosks::routes)
        .area(service_links::routes)
        .area(integrators::routes)
        .area(monitor::routes)
        .area(screening::routes)
}

/// The back office: login and logout, open to all, and every declared route behind its guard.
pub fn router(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/staff/login", get(auth::login_page).post(auth::login))
        .route("/staff/logout", post(auth::logout))
        .merge(areas().into_router(state))
}

/// The logged-in staff member of the current request.
#[derive(Debug, Clone)]
pub struct Staff {
    pub user: StaffUser,
    pub role: Role,
    pub scope: Scope,
    pub csrf: String,
    pub ip: String,
}

impl FromRequestParts<AppState> for Staff {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        match parts.extensions.get::<Staff>() {
            Some(staff) => Ok(staff.clone()),
            None => Self::from_session(parts, state).await,
        }
    }
}

impl Staff {
    /// Reads the session cookie and loads the account behind it.
    async fn from_session(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let token = cookie(&parts.headers, SESSION_COOKIE).ok_or(AppError::LoginRequired)?;
        let session =
            state.store().find_session(&token_hash(token), state.now()).await?.ok_or(AppError::LoginRequired)?;
        let role = session.user.role;
        let scope = Scope { org_code: session.user.org_code.clone(), department_id: session.user.department_id };
        let csrf = CsrfToken::from_request_parts(parts, state).await?.0;
        let ip = ClientIp::from_request_parts(parts, state).await?.0;
        Ok(Self { user: session.user, role, scope, csrf, ip })
    }

    /// Refuses unless the org is inside the account's scope.
    pub fn require_org(&self, org_code: &str) -> Result<(), AppError> {
        if self.scope.covers_org(org_code) { Ok(()) } else { Err(AppError::Forbidden) }
    }

    /// For a record looked up by id or tracking number: answers "not found" (404) when the
    /// record's org lies outside the scope, so that ids and tracking numbers cannot be probed
    /// across townships.
    pub fn require_visible(&self, org_code: &str) -> Result<(), AppError> {
        if self.scope.covers_org(org_code) { Ok(()) } else { Err(AppError::NotFound) }
    }

    /// Refuses unless the department is visible to the account.
    pub fn require_department(&self, department_id: i64) -> Result<(), AppError> {
        if self.scope.covers_department(self.role, department_id) { Ok(()) } else { Err(AppError::Forbidden) }
    }

    /// An audit record of an action by this account.
    /// This account as the official acting in a use case.
    pub fn official(&self) -> crate::app::tracked::Official {
        crate::app::tracked::Official {
            id: self.user.id,
            username: self.user.username.clone(),
            display_name: self.user.display_name.clone(),
            ip: self.ip.clone(),
        }
    }

    pub fn audit_entry(
        &self,
        now: i64,
        action: &str,
        target: String,
        detail: String,
        org_code: Option<String>,
    ) -> NewAuditEntry {
        NewAuditEntry {
            at: now,
            actor_id: Some(self.user.id),
            actor_name: self.user.username.clone(),
            action: action.to_owned(),
            target,
            detail,
            ip: self.ip.clone(),
            org_code,
        }
    }

    /// The navigation bar for this account: only the areas its role may open.
    pub fn nav(&self) -> Nav {
        let mut links = vec![("/staff".to_owned(), "工作台")];
        if self.role.allows(Permission::ViewOrgs) {
            links.push((format!("/staff/orgs/{}", self.scope.org_code), "组织与农户"));
        }
        if self.role.allows(Permission::ManageStaff) {
            links.push(("/staff/users".to_owned(), "账号管理"));
        }
        if self.role.allows(Permission::ViewRosters) {
            links.push(("/staff/rosters".to_owned(), "花名册"));
            links.push(("/staff/programmes".to_owned(), "补贴项目"));
        }
        if self.role.allows(Permission::ViewMessages) {
            links.push(("/staff/inbox".to_owned(), "留言与异议"));
        }
        if self.role.allows(Permission::ViewDepartments) {
            links.push(("/staff/departments".to_owned(), "县直部门"));
        }
        if self.role.allows(Permission::ViewPowers) {
            links.push(("/staff/powers".to_owned(), "小微权力"));
        }
        if self.role.allows(Permission::ReadAudit) {
            links.push(("/staff/audit".to_owned(), "审计日志"));
        }
        if self.role.allows(Permission::ManageVillageOffice) {
            links.push((format!("/staff/village-office/{}", self.scope.org_code), "村干部与会议"));
        }
        if self.role.allows(Permission::ViewDisclosures) {
            links.push(("/staff/disclosures".to_owned(), "公示公开"));
        }
        if self.role.allows(Permission::ViewCases) {
            links.push(("/staff/cases".to_owned(), "办件管理"));
        }
        if self.role.allows(Permission::ManageServiceCatalogue) {
            links.push(("/staff/services".to_owned(), "服务事项"));
        }
        if self.role.allows(Permission::ManageCalendar) {
            links.push(("/staff/calendar".to_owned(), "工作日历"));
        }
        if self.role.allows(Permission::ViewOutbox) {
            links.push(("/staff/outbox".to_owned(), "短信记录"));
        }
        if self.role.allows(Permission::ManageWechat) {
            links.push(("/staff/wechat".to_owned(), "公众号管理"));
        }
        if self.role.allows(Permission::ViewMonitor) {
            let home = if self.role.org_level() == xiaowei_core::OrgLevel::Township {
                format!("/staff/monitor/townships/{}", self.scope.org_code)
            } else {
                "/staff/monitor".to_owned()
            };
            links.push((home, "远程监控"));
            links.push(("/staff/live".to_owned(), "实时监控"));
            links.push(("/staff/alerts".to_owned(), "预警处置"));
        }
        if self.role.allows(Permission::ManageKiosks) {
            links.push(("/staff/kiosks".to_owned(), "触摸终端"));
        }
        if self.role.allows(Permission::ManageServiceLinks) {
            links.push(("/staff/service-links".to_owned(), "办事直通车"));
        }
        if self.role.allows(Permission::ManageIntegrators) {
            links.push(("/staff/integrators".to_owned(), "接口密钥"));
        }
        if self.role.allows(Permission::ViewScreening) {
            links.push(("/staff/screening".to_owned(), "大数据比对"));
        }
        if self.role.allows(Permission::ManageRegistries) {
            links.push(("/staff/registries".to_owned(), "比对库"));
        }
        if self.role.allows(Permission::ViewOutreach) {
            links.push(("/staff/outreach".to_owned(), "政策找人"));
        }
        Nav {
            display_name: self.user.display_name.clone(),
            role_label: self.role.label(),
            links,
            csrf: self.csrf.clone(),
        }
    }
}

/// The staff navigation bar, rendered by `staff/nav.html`.
pub struct Nav {
    pub display_name: String,
    pub role_label: &'static str,
    pub links: Vec<(String, &'static str)>,
    pub csrf: String,
}

/// A form that carries nothing but its once-only key (enable, disable, delete buttons).
#[derive(serde::Deserialize)]
pub struct KeyedForm {
    #[serde(default)]
    pub form_key: String,
}

/// Rejects a repeated submission of the same form: the first submit acts, later ones do not.
pub async fn first_submit(state: &AppState, staff: &Staff, form_key: &str) -> Result<bool, AppError> {
    crate::app::tracked::claim_form(state, staff.user.id, form_key).await
}
