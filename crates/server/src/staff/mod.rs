//! The staff back office: login, the session extractor, and the routes of each area. Every
//! route asks two questions through [`Staff`]: may this role do this at all, and is the target
//! inside the account's scope. [`ROUTES`] lists every staff route with the permission it needs,
//! so the access matrix can be tested exhaustively.

mod alerts;
mod audit;
mod auth;
pub(crate) mod cases;
mod departments;
mod disclosures;
mod inbox;
mod kiosks;
mod monitor;
mod objections;
mod orgs;
mod powers;
mod programmes;
mod rosters;
mod screening;
mod services;
mod users;
mod village_office;
mod wechat;

pub use auth::{check_password_rules, hash_password};
pub use inbox::redact_link_key;
pub use rosters::xlsx_response;
pub use users::check_username;

use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::routing::{get, post};
use sha2::{Digest, Sha256};
use xiaowei_core::access::Scope;
use xiaowei_core::{Permission, Role};
use xiaowei_store::{NewAuditEntry, StaffUser};

use crate::error::AppError;
use crate::security::{ClientIp, CsrfToken, cookie};
use crate::state::AppState;

pub const SESSION_COOKIE: &str = "xw_session";

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
    /// A screening hit id in the path (`{hit}`): its village must be in scope.
    ScreeningHit,
    /// A 政策找人 lead id in the path (`{lead}`): its village must be in scope.
    OutreachLead,
}

/// One staff route and the permission it requires.
#[derive(Debug, Clone, Copy)]
pub struct StaffRoute {
    pub method: &'static str,
    pub path: &'static str,
    pub permission: Permission,
    pub target: Target,
}

const fn route(method: &'static str, path: &'static str, permission: Permission, target: Target) -> StaffRoute {
    StaffRoute { method, path, permission, target }
}

/// Every staff route behind login.
pub const ROUTES: &[StaffRoute] = &[
    route("GET", "/staff", Permission::ViewDashboard, Target::None),
    route("GET", "/staff/orgs/{org}", Permission::ViewOrgs, Target::Org),
    route("POST", "/staff/orgs/{org}/groups", Permission::ManageOrgs, Target::Org),
    route("POST", "/staff/orgs/{org}/households", Permission::ManageOrgs, Target::Org),
    route("GET", "/staff/users", Permission::ManageStaff, Target::None),
    route("POST", "/staff/users", Permission::ManageStaff, Target::Org),
    route("POST", "/staff/users/{user}/disable", Permission::ManageStaff, Target::User),
    route("POST", "/staff/users/{user}/enable", Permission::ManageStaff, Target::User),
    route("POST", "/staff/users/{user}/password", Permission::ManageStaff, Target::User),
    route("GET", "/staff/departments", Permission::ViewDepartments, Target::None),
    route("POST", "/staff/departments", Permission::ManageDepartments, Target::None),
    route("GET", "/staff/departments/{dept}", Permission::ViewDepartments, Target::Department),
    route("POST", "/staff/departments/{dept}/contacts", Permission::ManageDepartments, Target::Department),
    route(
        "POST",
        "/staff/departments/{dept}/contacts/{contact}/delete",
        Permission::ManageDepartments,
        Target::Department,
    ),
    route("GET", "/staff/audit", Permission::ReadAudit, Target::None),
    route("GET", "/staff/programmes", Permission::ViewRosters, Target::None),
    route("POST", "/staff/programmes", Permission::ManageProgrammes, Target::None),
    route("POST", "/staff/programmes/{programme}/basis", Permission::ManageProgrammes, Target::Programme),
    route("GET", "/staff/rosters", Permission::ViewRosters, Target::None),
    route("GET", "/staff/rosters/new", Permission::DraftRosters, Target::None),
    route("POST", "/staff/rosters/preview", Permission::DraftRosters, Target::Org),
    route("POST", "/staff/rosters/confirm", Permission::DraftRosters, Target::None),
    route("GET", "/staff/rosters/{roster}", Permission::ViewRosters, Target::Roster),
    route("POST", "/staff/rosters/{roster}/submit", Permission::DraftRosters, Target::Roster),
    route("POST", "/staff/rosters/{roster}/delete", Permission::DraftRosters, Target::Roster),
    route("POST", "/staff/rosters/{roster}/reasons", Permission::DraftRosters, Target::Roster),
    route("POST", "/staff/rosters/{roster}/attachments", Permission::DraftRosters, Target::Roster),
    route("POST", "/staff/rosters/{roster}/approve", Permission::ReviewRosters, Target::Roster),
    route("POST", "/staff/rosters/{roster}/return", Permission::ReviewRosters, Target::Roster),
    route("POST", "/staff/rosters/{roster}/withdraw", Permission::ReviewRosters, Target::Roster),
    route("GET", "/staff/rosters/{roster}/attachments/{attachment}", Permission::ViewRosters, Target::Roster),
    route("GET", "/staff/rosters/{roster}/export", Permission::ViewPersonalData, Target::Roster),
    route("GET", "/staff/objections", Permission::ViewObjections, Target::None),
    route("POST", "/staff/objections/{objection}/answer", Permission::HandleObjections, Target::Objection),
    route("GET", "/staff/powers", Permission::ViewPowers, Target::None),
    route("POST", "/staff/powers", Permission::ManagePowerCatalogue, Target::Org),
    route("GET", "/staff/powers/{item}", Permission::ViewPowers, Target::PowerItem),
    route("GET", "/staff/power-records", Permission::ViewPowers, Target::None),
    route("POST", "/staff/power-records", Permission::RecordPowerExercise, Target::Org),
    route("GET", "/staff/power-records/{record}", Permission::ViewPowers, Target::PowerRecord),
    route("POST", "/staff/power-records/{record}/steps", Permission::RecordPowerExercise, Target::PowerRecord),
    route("POST", "/staff/power-records/{record}/documents", Permission::RecordPowerExercise, Target::PowerRecord),
    route("POST", "/staff/power-records/{record}/publish", Permission::RecordPowerExercise, Target::PowerRecord),
    route("GET", "/staff/power-records/{record}/documents/{document}", Permission::ViewPowers, Target::PowerRecord),
    route("GET", "/staff/village-office/{org}", Permission::ManageVillageOffice, Target::Org),
    route("POST", "/staff/village-office/{org}/cadres", Permission::ManageVillageOffice, Target::Org),
    route("POST", "/staff/village-office/{org}/cadres/{cadre}", Permission::ManageVillageOffice, Target::Org),
    route("POST", "/staff/village-office/{org}/cadres/{cadre}/delete", Permission::ManageVillageOffice, Target::Org),
    route("POST", "/staff/village-office/{org}/rota", Permission::ManageVillageOffice, Target::Org),
    route("POST", "/staff/village-office/{org}/overrides", Permission::ManageVillageOffice, Target::Org),
    route(
        "POST",
        "/staff/village-office/{org}/overrides/{override}/delete",
        Permission::ManageVillageOffice,
        Target::Org,
    ),
    route("POST", "/staff/village-office/{org}/meetings", Permission::ManageVillageOffice, Target::Org),
    route(
        "POST",
        "/staff/village-office/{org}/meetings/{meeting}/minutes",
        Permission::ManageVillageOffice,
        Target::Org,
    ),
    route("POST", "/staff/village-office/{org}/meetings/{meeting}/file", Permission::ManageVillageOffice, Target::Org),
    route("GET", "/staff/disclosures", Permission::ViewDisclosures, Target::None),
    route("POST", "/staff/disclosures", Permission::DraftDisclosures, Target::Org),
    route("GET", "/staff/disclosures/new", Permission::DraftDisclosures, Target::None),
    route("GET", "/staff/disclosures/{disclosure}", Permission::ViewDisclosures, Target::Disclosure),
    route("POST", "/staff/disclosures/{disclosure}/edit", Permission::DraftDisclosures, Target::Disclosure),
    route("POST", "/staff/disclosures/{disclosure}/lines", Permission::DraftDisclosures, Target::Disclosure),
    route("POST", "/staff/disclosures/{disclosure}/attachments", Permission::DraftDisclosures, Target::Disclosure),
    route("POST", "/staff/disclosures/{disclosure}/submit", Permission::DraftDisclosures, Target::Disclosure),
    route("POST", "/staff/disclosures/{disclosure}/approve", Permission::ReviewDisclosures, Target::Disclosure),
    route("POST", "/staff/disclosures/{disclosure}/return", Permission::ReviewDisclosures, Target::Disclosure),
    route("POST", "/staff/disclosures/{disclosure}/withdraw", Permission::ReviewDisclosures, Target::Disclosure),
    route(
        "GET",
        "/staff/disclosures/{disclosure}/attachments/{attachment}",
        Permission::ViewDisclosures,
        Target::Disclosure,
    ),
    route("GET", "/staff/cases", Permission::ViewCases, Target::None),
    route("GET", "/staff/cases/{case}", Permission::ViewCases, Target::Case),
    route("POST", "/staff/cases/{case}/contact", Permission::HandleCases, Target::Case),
    route("POST", "/staff/cases/{case}/progress", Permission::HandleCases, Target::Case),
    route("POST", "/staff/cases/{case}/complete", Permission::HandleCases, Target::Case),
    route("POST", "/staff/cases/{case}/extensions", Permission::HandleCases, Target::Case),
    route("POST", "/staff/cases/{case}/extensions/{extension}", Permission::ApproveExtensions, Target::Case),
    route("GET", "/staff/cases/{case}/photos/{photo}", Permission::ViewCases, Target::Case),
    route("GET", "/staff/services", Permission::ManageServiceCatalogue, Target::None),
    route("POST", "/staff/services", Permission::ManageServiceCatalogue, Target::None),
    route("GET", "/staff/services/{item}", Permission::ManageServiceCatalogue, Target::ServiceItem),
    route("POST", "/staff/services/{item}", Permission::ManageServiceCatalogue, Target::ServiceItem),
    route("POST", "/staff/services/{item}/active", Permission::ManageServiceCatalogue, Target::ServiceItem),
    route("POST", "/staff/services/{item}/handlers", Permission::ManageServiceCatalogue, Target::ServiceItem),
    route("GET", "/staff/calendar", Permission::ManageCalendar, Target::None),
    route("POST", "/staff/calendar", Permission::ManageCalendar, Target::None),
    route("POST", "/staff/calendar/delete", Permission::ManageCalendar, Target::None),
    route("POST", "/staff/calendar/import", Permission::ManageCalendar, Target::None),
    route("GET", "/staff/outbox", Permission::ViewOutbox, Target::None),
    route("POST", "/staff/outbox/{message}/retry", Permission::ViewOutbox, Target::None),
    route("POST", "/staff/users/{user}/phone", Permission::ManageStaff, Target::User),
    route("GET", "/staff/inbox", Permission::ViewMessages, Target::None),
    route("GET", "/staff/inbox/export", Permission::ViewMessages, Target::None),
    route("GET", "/staff/inbox/{msg}", Permission::ViewMessages, Target::Message),
    route("POST", "/staff/inbox/{msg}/assign", Permission::HandleMessages, Target::Message),
    route("POST", "/staff/inbox/{msg}/reply", Permission::HandleMessages, Target::Message),
    route("POST", "/staff/inbox/{msg}/handled", Permission::HandleMessages, Target::Message),
    route("POST", "/staff/inbox/{msg}/merge", Permission::HandleMessages, Target::Message),
    route("POST", "/staff/inbox/{msg}/hide", Permission::HandleMessages, Target::Message),
    route("GET", "/staff/inbox/{msg}/photos/{photo}", Permission::ViewMessages, Target::Message),
    route("GET", "/staff/wechat", Permission::ManageWechat, Target::None),
    route("POST", "/staff/wechat", Permission::ManageWechat, Target::Org),
    route("GET", "/staff/alerts", Permission::ViewMonitor, Target::None),
    route("GET", "/staff/alerts/{alert}", Permission::ViewMonitor, Target::Alert),
    route("POST", "/staff/alerts/{alert}/look", Permission::HandleAlerts, Target::Alert),
    route("POST", "/staff/alerts/{alert}/resolve", Permission::HandleAlerts, Target::Alert),
    route("GET", "/staff/live", Permission::ViewMonitor, Target::None),
    route("GET", "/staff/live/screen", Permission::ViewMonitor, Target::None),
    route("GET", "/staff/live/events", Permission::ViewMonitor, Target::None),
    route("GET", "/staff/kiosks", Permission::ManageKiosks, Target::None),
    route("POST", "/staff/kiosks", Permission::ManageKiosks, Target::Org),
    route("POST", "/staff/kiosks/{kiosk}/revoke", Permission::ManageKiosks, Target::Kiosk),
    route("GET", "/staff/monitor", Permission::ViewMonitor, Target::None),
    route("GET", "/staff/monitor/export", Permission::ViewMonitor, Target::None),
    route("GET", "/staff/monitor/townships/{org}", Permission::ViewMonitor, Target::Org),
    route("GET", "/staff/monitor/townships/{org}/export", Permission::ViewMonitor, Target::Org),
    route("GET", "/staff/monitor/list/{org}/{metric}", Permission::ViewMonitor, Target::Org),
    route("GET", "/staff/monitor/list/{org}/{metric}/export", Permission::ViewMonitor, Target::Org),
    route("GET", "/staff/monitor/weekly/{org}", Permission::ViewMonitor, Target::Org),
    route("GET", "/staff/monitor/weekly/{org}/export", Permission::ViewMonitor, Target::Org),
    route("GET", "/staff/registries", Permission::ManageRegistries, Target::None),
    route("POST", "/staff/registries", Permission::ManageRegistries, Target::None),
    route("POST", "/staff/registries/programmes/{programme}", Permission::ManageRegistries, Target::Programme),
    route("POST", "/staff/registries/exclusive", Permission::ManageRegistries, Target::None),
    route("POST", "/staff/registries/exclusive/remove", Permission::ManageRegistries, Target::None),
    route("POST", "/staff/screening/run", Permission::ManageRegistries, Target::None),
    route("GET", "/staff/screening", Permission::ViewScreening, Target::None),
    route("GET", "/staff/screening/{hit}", Permission::ViewScreening, Target::ScreeningHit),
    route("POST", "/staff/screening/{hit}/handle", Permission::HandleScreening, Target::ScreeningHit),
    route("GET", "/staff/outreach", Permission::ViewOutreach, Target::None),
    route("POST", "/staff/outreach/{lead}/outcome", Permission::HandleOutreach, Target::OutreachLead),
];

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/staff/login", get(auth::login_page).post(auth::login))
        .route("/staff/logout", post(auth::logout))
        .route("/staff", get(auth::home))
        .route("/staff/orgs/{org}", get(orgs::show))
        .route("/staff/orgs/{org}/groups", post(orgs::add_group))
        .route("/staff/orgs/{org}/households", post(orgs::add_household))
        .route("/staff/users", get(users::list).post(users::create))
        .route("/staff/users/{user}/disable", post(users::disable))
        .route("/staff/users/{user}/enable", post(users::enable))
        .route("/staff/users/{user}/password", post(users::reset_password))
        .route("/staff/departments", get(departments::list).post(departments::create))
        .route("/staff/departments/{dept}", get(departments::show))
        .route("/staff/departments/{dept}/contacts", post(departments::add_contact))
        .route("/staff/departments/{dept}/contacts/{contact}/delete", post(departments::remove_contact))
        .route("/staff/audit", get(audit::list))
        .route("/staff/programmes", get(programmes::list).post(programmes::create))
        .route("/staff/programmes/{programme}/basis", post(programmes::attach_basis))
        .route("/staff/rosters", get(rosters::list))
        .route("/staff/rosters/new", get(rosters::new_form))
        .route("/staff/rosters/preview", post(rosters::preview))
        .route("/staff/rosters/confirm", post(rosters::confirm))
        .route("/staff/rosters/{roster}", get(rosters::show))
        .route("/staff/rosters/{roster}/submit", post(rosters::submit))
        .route("/staff/rosters/{roster}/delete", post(rosters::delete))
        .route("/staff/rosters/{roster}/reasons", post(rosters::reasons))
        .route("/staff/rosters/{roster}/attachments", post(rosters::attach))
        .route("/staff/rosters/{roster}/approve", post(rosters::approve))
        .route("/staff/rosters/{roster}/return", post(rosters::send_back))
        .route("/staff/rosters/{roster}/withdraw", post(rosters::withdraw))
        .route("/staff/rosters/{roster}/attachments/{attachment}", get(rosters::attachment))
        .route("/staff/rosters/{roster}/export", get(rosters::export_full))
        .route("/staff/objections", get(objections::list))
        .route("/staff/objections/{objection}/answer", post(objections::answer))
        .route("/staff/powers", get(powers::catalogue).post(powers::create_item))
        .route("/staff/powers/{item}", get(powers::item))
        .route("/staff/power-records", get(powers::records).post(powers::open))
        .route("/staff/power-records/{record}", get(powers::record))
        .route("/staff/power-records/{record}/steps", post(powers::add_step))
        .route("/staff/power-records/{record}/documents", post(powers::attach))
        .route("/staff/power-records/{record}/publish", post(powers::publish))
        .route("/staff/power-records/{record}/documents/{document}", get(powers::document))
        .route("/staff/village-office/{org}", get(village_office::show))
        .route("/staff/village-office/{org}/cadres", post(village_office::add_cadre))
        .route("/staff/village-office/{org}/cadres/{cadre}", post(village_office::edit_cadre))
        .route("/staff/village-office/{org}/cadres/{cadre}/delete", post(village_office::remove_cadre))
        .route("/staff/village-office/{org}/rota", post(village_office::set_rota))
        .route("/staff/village-office/{org}/overrides", post(village_office::add_override))
        .route("/staff/village-office/{org}/overrides/{override}/delete", post(village_office::remove_override))
        .route("/staff/village-office/{org}/meetings", post(village_office::create_meeting))
        .route("/staff/village-office/{org}/meetings/{meeting}/minutes", post(village_office::record_minutes))
        .route("/staff/village-office/{org}/meetings/{meeting}/file", post(village_office::attach_minutes))
        .route("/staff/disclosures", get(disclosures::list).post(disclosures::create))
        .route("/staff/disclosures/new", get(disclosures::new_form))
        .route("/staff/disclosures/{disclosure}", get(disclosures::show))
        .route("/staff/disclosures/{disclosure}/edit", post(disclosures::edit))
        .route("/staff/disclosures/{disclosure}/lines", post(disclosures::import_lines))
        .route("/staff/disclosures/{disclosure}/attachments", post(disclosures::attach))
        .route("/staff/disclosures/{disclosure}/submit", post(disclosures::submit))
        .route("/staff/disclosures/{disclosure}/approve", post(disclosures::approve))
        .route("/staff/disclosures/{disclosure}/return", post(disclosures::send_back))
        .route("/staff/disclosures/{disclosure}/withdraw", post(disclosures::withdraw))
        .route("/staff/disclosures/{disclosure}/attachments/{attachment}", get(disclosures::attachment))
        .route("/staff/cases", get(cases::list))
        .route("/staff/cases/{case}", get(cases::show))
        .route("/staff/cases/{case}/contact", post(cases::contact))
        .route("/staff/cases/{case}/progress", post(cases::progress))
        .route("/staff/cases/{case}/complete", post(cases::complete))
        .route("/staff/cases/{case}/extensions", post(cases::request_extension))
        .route("/staff/cases/{case}/extensions/{extension}", post(cases::decide_extension))
        .route("/staff/cases/{case}/photos/{photo}", get(cases::photo))
        .route("/staff/services", get(services::catalogue).post(services::create))
        .route("/staff/services/{item}", get(services::item).post(services::update))
        .route("/staff/services/{item}/active", post(services::set_active))
        .route("/staff/services/{item}/handlers", post(services::set_handler))
        .route("/staff/calendar", get(services::calendar).post(services::set_day))
        .route("/staff/calendar/delete", post(services::delete_day))
        .route("/staff/calendar/import", post(services::import_year))
        .route("/staff/outbox", get(services::outbox))
        .route("/staff/outbox/{message}/retry", post(services::retry))
        .route("/staff/users/{user}/phone", post(users::set_phone))
        .route("/staff/inbox", get(inbox::list))
        .route("/staff/inbox/export", get(inbox::export))
        .route("/staff/inbox/{msg}", get(inbox::show))
        .route("/staff/inbox/{msg}/assign", post(inbox::assign))
        .route("/staff/inbox/{msg}/reply", post(inbox::reply))
        .route("/staff/inbox/{msg}/handled", post(inbox::mark_handled))
        .route("/staff/inbox/{msg}/merge", post(inbox::merge))
        .route("/staff/inbox/{msg}/hide", post(inbox::hide))
        .route("/staff/inbox/{msg}/photos/{photo}", get(inbox::photo))
        .route("/staff/wechat", get(wechat::list).post(wechat::save))
        .route("/staff/alerts", get(alerts::list))
        .route("/staff/alerts/{alert}", get(alerts::show))
        .route("/staff/alerts/{alert}/look", post(alerts::look))
        .route("/staff/alerts/{alert}/resolve", post(alerts::resolve))
        .route("/staff/live", get(crate::live::page))
        .route("/staff/live/screen", get(crate::live::screen))
        .route("/staff/live/events", get(crate::live::events))
        .route("/staff/kiosks", get(kiosks::list).post(kiosks::create))
        .route("/staff/kiosks/{kiosk}/revoke", post(kiosks::revoke))
        .route("/staff/monitor", get(monitor::overview))
        .route("/staff/monitor/export", get(monitor::overview_export))
        .route("/staff/monitor/townships/{org}", get(monitor::township))
        .route("/staff/monitor/townships/{org}/export", get(monitor::township_export))
        .route("/staff/monitor/list/{org}/{metric}", get(monitor::list))
        .route("/staff/monitor/list/{org}/{metric}/export", get(monitor::list_export))
        .route("/staff/monitor/weekly/{org}", get(monitor::weekly))
        .route("/staff/monitor/weekly/{org}/export", get(monitor::weekly_export))
        .route("/staff/registries", get(screening::registries).post(screening::import))
        .route("/staff/registries/programmes/{programme}", post(screening::save_settings))
        .route("/staff/registries/exclusive", post(screening::add_pair))
        .route("/staff/registries/exclusive/remove", post(screening::remove_pair))
        .route("/staff/screening/run", post(screening::run_now))
        .route("/staff/screening", get(screening::list))
        .route("/staff/screening/{hit}", get(screening::show))
        .route("/staff/screening/{hit}/handle", post(screening::handle))
        .route("/staff/outreach", get(screening::outreach))
        .route("/staff/outreach/{lead}/outcome", post(screening::record_outcome))
}

/// The SHA-256 of a session token: only the hash is stored.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
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
        let token = cookie(&parts.headers, SESSION_COOKIE).ok_or(AppError::LoginRequired)?;
        let session =
            state.store().find_session(&token_hash(token), state.now()).await?.ok_or(AppError::LoginRequired)?;
        let role =
            Role::parse(&session.user.role).ok_or_else(|| AppError::Internal("unknown role in database".into()))?;
        let scope = Scope { org_code: session.user.org_code.clone(), department_id: session.user.department_id };
        let csrf = CsrfToken::from_request_parts(parts, state).await?.0;
        let ip = ClientIp::from_request_parts(parts, state).await?.0;
        Ok(Self { user: session.user, role, scope, csrf, ip })
    }
}

impl Staff {
    /// Refuses unless the role has the permission.
    pub fn require(&self, permission: Permission) -> Result<(), AppError> {
        if self.role.allows(permission) { Ok(()) } else { Err(AppError::Forbidden) }
    }

    /// Refuses unless the role has the permission and the org is inside the account's scope.
    pub fn require_org(&self, permission: Permission, org_code: &str) -> Result<(), AppError> {
        self.require(permission)?;
        if self.scope.covers_org(org_code) { Ok(()) } else { Err(AppError::Forbidden) }
    }

    /// For a record looked up by id or tracking number: refuses (403) unless the role has the
    /// permission, and answers "not found" (404) when the record's org lies outside the scope,
    /// so that ids and tracking numbers cannot be probed across townships.
    pub fn require_visible(&self, permission: Permission, org_code: &str) -> Result<(), AppError> {
        self.require(permission)?;
        if self.scope.covers_org(org_code) { Ok(()) } else { Err(AppError::NotFound) }
    }

    /// Refuses unless the role has the permission and the department is visible to the account.
    pub fn require_department(&self, permission: Permission, department_id: i64) -> Result<(), AppError> {
        self.require(permission)?;
        if self.scope.covers_department(self.role, department_id) { Ok(()) } else { Err(AppError::Forbidden) }
    }

    /// An audit record of an action by this account.
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
    if form_key.len() < 16 || form_key.len() > 128 {
        return Err(AppError::invalid("表单已失效，请刷新页面后重新提交"));
    }
    Ok(state.store().claim_form(form_key, staff.user.id, state.now()).await?)
}

/// A `303 See Other` to `location`, the answer to every successful form post.
pub fn see_other(location: &str) -> axum::response::Response {
    axum::response::IntoResponse::into_response(axum::response::Redirect::to(location))
}
