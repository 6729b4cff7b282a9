//! Demo data: the real Guazhou County org tree (from the national statistical division codes
//! shipped in `data-seed/`), invented village groups and households, the county departments
//! with invented contacts, one staff account per role, the 惠农资金 programmes and rosters of
//! [`crate::demo_subsidies`], the village offices of [`crate::demo_village_office`], the 公示公开
//! of [`crate::demo_disclosures`], the 留言箱 of [`crate::demo_messages`], the hall terminal of
//! [`crate::demo_kiosk`], the visit history of [`crate::demo_monitor`] and the 大数据比对 of
//! [`crate::demo_screening`]. Loading is repeatable: a second run refreshes the same records
//! instead of duplicating them.

use anyhow::Result;
use xiaowei_core::{OrgLevel, Phone, Role};
use xiaowei_server::AppState;
use xiaowei_store::{NewContact, NewHousehold, NewOrg, NewStaffUser};

const DIVISIONS: &str = include_str!("../data-seed/guazhou-divisions.csv");

/// The password of every demo account; printed on start.
pub const DEMO_PASSWORD: &str = "xiaowei2026";

pub(crate) const SURNAMES: &[&str] =
    &["张", "王", "李", "赵", "刘", "陈", "杨", "马", "何", "周", "吴", "孙", "朱", "胡", "郭", "罗"];
pub(crate) const GIVEN: &[&str] = &[
    "建国", "秀英", "玉兰", "志强", "桂花", "国庆", "春梅", "永福", "红霞", "德明", "海燕", "文斌", "淑珍", "振华",
    "丽娟", "有才",
];
pub(crate) const GROUP_NAMES: &[&str] = &["一组", "二组", "三组", "四组", "五组", "六组"];

const DEPARTMENTS: &[&str] = &[
    "县民政局",
    "县人力资源和社会保障局",
    "县医疗保障局",
    "县农业农村局",
    "县自然资源局",
    "县水务局",
    "县残疾人联合会",
    "县退役军人事务局",
    "县卫生健康局",
    "县住房和城乡建设局",
    "县公安局",
    "县教育局",
];

/// A small deterministic generator, so the demo is the same on every machine.
pub(crate) struct Lcg(pub(crate) u64);

impl Lcg {
    pub(crate) fn next(&mut self, bound: usize) -> usize {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) % bound as u64) as usize
    }
}

struct DemoAccount {
    username: &'static str,
    name: &'static str,
    role: Role,
    org: &'static str,
    department: Option<&'static str>,
}

const ACCOUNTS: &[DemoAccount] = &[
    DemoAccount {
        username: "jiwei",
        name: "县纪委监委值班员",
        role: Role::Supervisor,
        org: "620922",
        department: None,
    },
    DemoAccount {
        username: "admin", name: "县级管理员", role: Role::CountyAdmin, org: "620922", department: None
    },
    DemoAccount {
        username: "guangzhi",
        name: "广至乡管理员",
        role: Role::TownshipAdmin,
        org: "620922214",
        department: None,
    },
    DemoAccount {
        username: "guangzhi-shenhe",
        name: "广至乡纪委书记",
        role: Role::TownshipReviewer,
        org: "620922214",
        department: None,
    },
    DemoAccount {
        username: "zhuoyuan",
        name: "卓园村文书",
        role: Role::VillageClerk,
        org: "620922214200",
        department: None,
    },
    DemoAccount {
        username: "minzheng",
        name: "民政局业务员",
        role: Role::DepartmentOfficer,
        org: "620922",
        department: Some("县民政局"),
    },
];

/// Creates or refreshes the demo data and prints the demo logins.
pub async fn load(state: &AppState) -> Result<()> {
    let store = state.store();
    let now = state.now();
    let orgs = crate::import_orgs(store, DIVISIONS).await?;

    let mut rng = Lcg(20_200_601);
    let mut groups = Vec::new();
    let mut households = Vec::new();
    for village in store.orgs_at_level(OrgLevel::Village).await? {
        let count = 3 + rng.next(4);
        for (i, name) in GROUP_NAMES.iter().take(count).enumerate() {
            let code = format!("{}{:03}", village.code, i + 1);
            for h in 0..(12 + rng.next(20)) {
                let head_name = format!("{}{}", SURNAMES[rng.next(SURNAMES.len())], GIVEN[rng.next(GIVEN.len())]);
                households.push(NewHousehold {
                    org_code: code.clone(),
                    household_no: format!("{code}{:03}", h + 1),
                    head_name,
                    members: 1 + rng.next(6) as i64,
                });
            }
            groups.push(NewOrg {
                code,
                name: (*name).to_owned(),
                level: OrgLevel::Group,
                parent_code: Some(village.code.clone()),
            });
        }
    }
    store.import_orgs(&groups, now).await?;
    store.add_households(&households, now).await?;

    for (d, name) in DEPARTMENTS.iter().enumerate() {
        let id = store.ensure_department(name, now).await?;
        for (p, position) in xiaowei_core::service::Recipient::POSTS.into_iter().enumerate() {
            let phone = Phone::parse(&format!("1390937{:02}{:02}", d, p + 1))?;
            let contact = NewContact {
                department_id: id,
                position,
                name: format!("{}{}", SURNAMES[(d * 3 + p) % SURNAMES.len()], GIVEN[(d * 5 + p) % GIVEN.len()]),
                phone_enc: state.cipher().encrypt(phone.expose()),
                phone_idx: state.cipher().blind_index("phone", phone.expose()),
            };
            match store.add_contact(&contact, now).await {
                Ok(_) | Err(xiaowei_store::StoreError::Duplicate { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }

    let hash = xiaowei_server::staff::hash_password(DEMO_PASSWORD.to_owned())
        .await
        .map_err(|e| anyhow::anyhow!(e.to_string()))?;
    for account in ACCOUNTS {
        let department_id = match account.department {
            Some(name) => Some(store.ensure_department(name, now).await?),
            None => None,
        };
        match store.find_staff_by_username(account.username).await? {
            Some(existing) => {
                store.set_staff_password(existing.id, &hash).await?;
                store.set_staff_disabled(existing.id, false).await?;
            }
            None => {
                let new = NewStaffUser {
                    username: account.username.into(),
                    display_name: account.name.into(),
                    password_hash: hash.clone(),
                    role: account.role,
                    org_code: account.org.into(),
                    department_id,
                };
                store.create_staff_user(&new, now).await?;
            }
        }
    }

    println!("演示数据已就绪：瓜州县 {orgs} 个区划单位，{} 个村民小组，{} 户。", groups.len(), households.len());
    println!("演示账号（密码均为 {DEMO_PASSWORD}）：");
    for a in ACCOUNTS {
        println!("  {:<16} {}", a.username, a.role.label());
    }
    crate::demo_subsidies::load(state).await?;
    crate::demo_powers::load(state).await?;
    crate::demo_village_office::load(state).await?;
    crate::demo_disclosures::load(state).await?;
    crate::demo_services::load(state).await?;
    crate::demo_messages::load(state).await?;
    let raised =
        xiaowei_server::workers::alerts::scan(state, state.now()).await.map_err(|e| anyhow::anyhow!(e.to_string()))?;
    println!("远程监控平台：新发现 {raised} 条预警（办件超期、不满意评价、未按时公开等）。");
    crate::demo_kiosk::load(state).await?;
    crate::demo_monitor::load(state).await?;
    crate::demo_followers::load(state).await?;
    crate::demo_screening::load(state).await?;
    let indexed = xiaowei_server::app::search::reindex_all(state).await.map_err(|e| anyhow::anyhow!(e.to_string()))?;
    println!("搜索索引已更新：{indexed} 条公开信息。");
    Ok(())
}
