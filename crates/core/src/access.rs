//! Staff roles and what each may do. A staff account has one role, scoped to an org subtree
//! (or, for department officers, to a department). Every staff route asks both questions:
//! does the role allow the action, and is the target inside the account's scope.

use serde::{Deserialize, Serialize};

use crate::org::{OrgLevel, is_within};

/// A staff role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 纪委监委: the county discipline commission, reads everything in its scope.
    Supervisor,
    /// 县级管理员
    CountyAdmin,
    /// 乡镇管理员
    TownshipAdmin,
    /// 乡镇审核人 (纪委书记 / 经办人)
    TownshipReviewer,
    /// 村文书
    VillageClerk,
    /// 县直部门业务人员
    DepartmentOfficer,
}

/// An action a staff route performs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// See the staff home page.
    ViewDashboard,
    /// Browse the org tree and households.
    ViewOrgs,
    /// Add groups and households.
    ManageOrgs,
    /// Create, disable and reset staff accounts.
    ManageStaff,
    /// See departments and their contacts (phones are personal data).
    ViewDepartments,
    /// Edit departments and their contacts.
    ManageDepartments,
    /// Read the audit log.
    ReadAudit,
    /// See subsidy programmes and rosters in the back office.
    ViewRosters,
    /// Create and edit subsidy programmes.
    ManageProgrammes,
    /// Import, correct and submit rosters, attach scans, explain differences.
    DraftRosters,
    /// Approve (publish), return and withdraw rosters.
    ReviewRosters,
    /// See and export full ID and account numbers (every access is audited).
    ViewPersonalData,
    /// See objections (异议) raised against rosters.
    ViewObjections,
    /// Answer and close objections.
    HandleObjections,
    /// See the 小微权力 catalogue and exercise records in the back office.
    ViewPowers,
    /// Add catalogue items: county items by the county, local items by a township or village.
    ManagePowerCatalogue,
    /// Open, record and publish 权力运行记录 (power exercises).
    RecordPowerExercise,
    /// Keep a village's cadres, duty rota and meeting notices (村干部、值班坐班表、会议通知).
    ManageVillageOffice,
    /// See disclosures (公示公开) in the back office, drafts included.
    ViewDisclosures,
    /// Write, import finance lines for, attach files to, submit and correct disclosures.
    DraftDisclosures,
    /// Approve (publish), return and withdraw disclosures.
    ReviewDisclosures,
    /// See 我要办事 applications (办件) in scope: a department's, or those of villages in scope.
    ViewCases,
    /// Record contact, progress and completion of a case, and ask for an extension.
    HandleCases,
    /// Approve or refuse extensions (延期).
    ApproveExtensions,
    /// Edit the service catalogue (a department officer: their department's items).
    ManageServiceCatalogue,
    /// Keep the working-day calendar (holidays and make-up working days).
    ManageCalendar,
    /// See the text-message outbox and retry failed messages.
    ViewOutbox,
    /// See the 留言箱 inbox in scope (messages, objections and self-query reports). Reports (举报)
    /// are further limited to the discipline commission.
    ViewMessages,
    /// Assign, reply to, close, merge and hide messages in scope.
    HandleMessages,
    /// Configure the townships' WeChat official accounts (公众号) and see their figures.
    ManageWechat,
    /// See the monitoring platform (远程监控平台): figures, alerts and the live overview in scope.
    ViewMonitor,
    /// Look at and resolve alerts (预警) in scope: the county commission county-wide, a township's
    /// discipline secretary for their township.
    HandleAlerts,
    /// Register, list and revoke the township halls' touch terminals (触摸终端).
    ManageKiosks,
    /// Keep the 办事直通车 link-out tiles of the county and its townships.
    ManageServiceLinks,
    /// On a hall terminal of a township in scope, file a 我要办事 application on a villager's
    /// behalf (代办); the case records the officer.
    FileOnBehalf,
    /// Import the registries screened against (deaths, payroll, cadres, households, vehicles,
    /// businesses), set programmes' screening settings and run a screening on demand.
    ManageRegistries,
    /// See screening hits (大数据比对线索) in scope; never public.
    ViewScreening,
    /// Move hits through verification to confirmed or dismissed, with a note.
    HandleScreening,
    /// See 政策找人 lists in scope.
    ViewOutreach,
    /// Record the outcome of contacting a 政策找人 lead.
    HandleOutreach,
    /// Issue, list and revoke integrator keys (接口密钥) for outside systems such as 12345.
    ManageIntegrators,
}

impl Role {
    pub const ALL: [Role; 6] = [
        Role::Supervisor,
        Role::CountyAdmin,
        Role::TownshipAdmin,
        Role::TownshipReviewer,
        Role::VillageClerk,
        Role::DepartmentOfficer,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Supervisor => "supervisor",
            Self::CountyAdmin => "county_admin",
            Self::TownshipAdmin => "township_admin",
            Self::TownshipReviewer => "township_reviewer",
            Self::VillageClerk => "village_clerk",
            Self::DepartmentOfficer => "department_officer",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s.trim())
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Supervisor => "县纪委监委",
            Self::CountyAdmin => "县级管理员",
            Self::TownshipAdmin => "乡镇管理员",
            Self::TownshipReviewer => "乡镇审核人",
            Self::VillageClerk => "村文书",
            Self::DepartmentOfficer => "县直部门业务人员",
        }
    }

    /// The org level an account of this role is attached to.
    pub fn org_level(self) -> OrgLevel {
        match self {
            Self::Supervisor | Self::CountyAdmin | Self::DepartmentOfficer => OrgLevel::County,
            Self::TownshipAdmin | Self::TownshipReviewer => OrgLevel::Township,
            Self::VillageClerk => OrgLevel::Village,
        }
    }

    /// Whether the role may perform `permission` at all (scope is checked separately).
    pub fn allows(self, permission: Permission) -> bool {
        use Permission as P;
        use Role as R;
        match permission {
            P::ViewDashboard => true,
            P::ViewOrgs => !matches!(self, R::DepartmentOfficer),
            P::ManageOrgs => matches!(self, R::CountyAdmin | R::TownshipAdmin | R::VillageClerk),
            P::ManageStaff => matches!(self, R::CountyAdmin | R::TownshipAdmin),
            P::ViewDepartments => matches!(self, R::Supervisor | R::CountyAdmin | R::DepartmentOfficer),
            P::ManageDepartments => matches!(self, R::CountyAdmin),
            P::ReadAudit => matches!(self, R::Supervisor),
            P::ViewRosters => true,
            P::ManageProgrammes => matches!(self, R::CountyAdmin | R::DepartmentOfficer),
            P::DraftRosters => matches!(self, R::VillageClerk | R::TownshipAdmin),
            P::ReviewRosters => matches!(self, R::TownshipReviewer),
            P::ViewPersonalData => !matches!(self, R::DepartmentOfficer),
            P::ViewObjections => !matches!(self, R::DepartmentOfficer),
            P::HandleObjections => matches!(self, R::TownshipReviewer | R::Supervisor),
            P::ViewPowers => !matches!(self, R::DepartmentOfficer),
            P::ManagePowerCatalogue => matches!(self, R::CountyAdmin | R::TownshipAdmin | R::VillageClerk),
            P::RecordPowerExercise => matches!(self, R::VillageClerk | R::TownshipAdmin),
            P::ManageVillageOffice => matches!(self, R::VillageClerk | R::TownshipAdmin),
            P::ViewDisclosures => !matches!(self, R::DepartmentOfficer),
            P::DraftDisclosures => matches!(self, R::VillageClerk | R::TownshipAdmin),
            P::ReviewDisclosures => matches!(self, R::TownshipReviewer),
            P::ViewCases => true,
            P::HandleCases => matches!(self, R::DepartmentOfficer | R::TownshipAdmin),
            P::ApproveExtensions => matches!(self, R::Supervisor | R::CountyAdmin),
            P::ManageServiceCatalogue => matches!(self, R::CountyAdmin | R::DepartmentOfficer),
            P::ManageCalendar => matches!(self, R::CountyAdmin),
            P::ViewOutbox => matches!(self, R::Supervisor | R::CountyAdmin),
            P::ViewMessages => !matches!(self, R::DepartmentOfficer),
            P::HandleMessages => {
                matches!(self, R::Supervisor | R::TownshipAdmin | R::TownshipReviewer | R::VillageClerk)
            }
            P::ManageWechat => matches!(self, R::CountyAdmin),
            P::ViewMonitor => matches!(self, R::Supervisor | R::CountyAdmin | R::TownshipAdmin | R::TownshipReviewer),
            P::HandleAlerts => matches!(self, R::Supervisor | R::TownshipReviewer),
            P::ManageKiosks => matches!(self, R::CountyAdmin),
            P::ManageServiceLinks => matches!(self, R::CountyAdmin),
            P::FileOnBehalf => matches!(self, R::TownshipAdmin),
            P::ManageRegistries => matches!(self, R::CountyAdmin | R::Supervisor),
            P::ViewScreening | P::HandleScreening => self.is_commission(),
            P::ViewOutreach => {
                matches!(self, R::Supervisor | R::CountyAdmin | R::TownshipAdmin | R::TownshipReviewer)
            }
            P::HandleOutreach => matches!(self, R::TownshipAdmin),
            P::ManageIntegrators => matches!(self, R::CountyAdmin),
        }
    }

    /// Whether the role belongs to the discipline commission (县纪委监委, 乡镇纪委书记), the only
    /// readers of reports (举报) and of their authors' identity.
    pub fn is_commission(self) -> bool {
        matches!(self, Self::Supervisor | Self::TownshipReviewer)
    }

    /// Whether an account of this role may create or manage an account of role `other`.
    pub fn may_grant(self, other: Role) -> bool {
        match self {
            Self::CountyAdmin => true,
            Self::TownshipAdmin => matches!(other, Self::TownshipReviewer | Self::VillageClerk),
            _ => false,
        }
    }
}

/// Where a staff account may act.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    /// Root of the org subtree the account sees.
    pub org_code: String,
    /// For department officers: their department.
    pub department_id: Option<i64>,
}

impl Scope {
    /// Whether the org `code` is inside this scope.
    pub fn covers_org(&self, code: &str) -> bool {
        is_within(code, &self.org_code)
    }

    /// Whether the department is visible: county-wide accounts without a department see all.
    pub fn covers_department(&self, role: Role, department_id: i64) -> bool {
        match role {
            Role::DepartmentOfficer => self.department_id == Some(department_id),
            Role::Supervisor | Role::CountyAdmin => true,
            _ => false,
        }
    }
}

crate::stored_code!(Role);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_supervisor_reads_the_audit_log() {
        let readers: Vec<_> = Role::ALL.into_iter().filter(|r| r.allows(Permission::ReadAudit)).collect();
        assert_eq!(readers, vec![Role::Supervisor]);
    }

    #[test]
    fn a_township_admin_cannot_create_county_accounts() {
        assert!(!Role::TownshipAdmin.may_grant(Role::CountyAdmin));
        assert!(!Role::TownshipAdmin.may_grant(Role::Supervisor));
        assert!(!Role::TownshipAdmin.may_grant(Role::TownshipAdmin));
        assert!(Role::TownshipAdmin.may_grant(Role::VillageClerk));
    }

    #[test]
    fn only_the_supervisor_and_the_township_reviewer_form_the_commission() {
        let commission: Vec<_> = Role::ALL.into_iter().filter(|r| r.is_commission()).collect();
        assert_eq!(commission, vec![Role::Supervisor, Role::TownshipReviewer]);
        assert!(!Role::DepartmentOfficer.allows(Permission::ViewMessages));
    }

    #[test]
    fn role_names_round_trip() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
    }

    #[test]
    fn a_scope_covers_its_own_subtree_only() {
        let scope = Scope { org_code: "620922100".into(), department_id: None };
        assert!(scope.covers_org("620922100001"));
        assert!(!scope.covers_org("620922101001"));
        assert!(!scope.covers_org("620922"));
    }

    #[test]
    fn a_department_officer_sees_only_their_department() {
        let scope = Scope { org_code: "620922".into(), department_id: Some(3) };
        assert!(scope.covers_department(Role::DepartmentOfficer, 3));
        assert!(!scope.covers_department(Role::DepartmentOfficer, 4));
    }
}
