//! The 小微权力 back office: the catalogue (county items by the county admin, local items by a
//! township admin or village clerk for their own subtree) with each item's 责任清单 and 追责清单
//! (edited by the org that owns the item; each save is a new version in the ledger), and power exercises — open, record each
//! step as it happens, attach documents, publish. Every change is audited; publication is
//! compare-and-set and every form is once-only.

use std::collections::HashMap;

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, Request, State};
use axum::response::{Html, Response};
use serde::Deserialize;
use xiaowei_core::power::{self, PowerCategory, ProcedureStep, RecordedStep, RiskPoint};
use xiaowei_core::power_lists;
use xiaowei_core::{OrgLevel, Permission};
use xiaowei_store::{
    NewPowerDocument, NewPowerExercise, NewPowerItem, NewPowerStepRecord, PowerExercise, PowerItem, StoreError,
};

use super::rosters::{read_upload, store_scan};
use super::{KeyedForm, Nav, Staff, first_submit, see_other};
use super::{StaffRoutes, Target};
use crate::public::powers::{
    CategoryGroup, ItemView, RecordLink, TimelineStep, group_items, item_view, loose_documents, record_links, timeline,
};
use crate::state::AppState;
use crate::web::dates::{parse_date, shanghai_date};
use crate::web::error::AppError;
use crate::web::places::place_name;
use crate::web::security::random_token;

/// Rows of the step and risk tables on the new-item form.
const STEP_ROWS: usize = 7;
const RISK_ROWS: usize = 4;

fn notice_text(code: &str) -> &'static str {
    match code {
        "added" => "事项已加入权力清单。",
        "lists" => "责任清单和追责清单已保存，并已记入公开账本。",
        "stale" => "该事项已被他人修改，请核对最新内容后重新保存。",
        "opened" => "运行记录已创建。请在每个步骤办理后及时记录。",
        "step" => "步骤已记录。",
        "attached" => "文件已上传。",
        "published" => "运行记录已公开。",
        "repeat" => "该表单已提交过，未重复处理。",
        _ => "",
    }
}

#[derive(Deserialize)]
pub struct DoneQuery {
    #[serde(default)]
    done: String,
}

/// The orgs an account may act for: its own, and for a township its villages.
async fn own_places(state: &AppState, staff: &Staff) -> Result<Vec<(String, String)>, AppError> {
    let store = state.store();
    let own = store.find_org(&staff.scope.org_code).await?.ok_or(AppError::NotFound)?;
    let mut places = vec![(own.code.clone(), own.display_name().to_owned())];
    if own.level == OrgLevel::Township {
        for v in store.child_orgs(&own.code).await? {
            places.push((v.code.clone(), v.display_name().to_owned()));
        }
    }
    Ok(places)
}

#[derive(Template)]
#[template(path = "staff/powers.html")]
struct CataloguePage {
    nav: Nav,
    notice: &'static str,
    groups: Vec<CategoryGroup>,
    can_manage: bool,
    places: Vec<(String, String)>,
    categories: Vec<(&'static str, &'static str)>,
    step_rows: Vec<usize>,
    risk_rows: Vec<usize>,
    form_key: String,
}

pub async fn catalogue(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<DoneQuery>,
) -> Result<Html<String>, AppError> {
    let can_manage = staff.role.allows(Permission::ManagePowerCatalogue);
    let page = CataloguePage {
        nav: staff.nav(),
        notice: notice_text(&q.done),
        groups: group_items(state.store().power_items_within(&staff.scope.org_code).await?),
        can_manage,
        places: if can_manage { own_places(&state, &staff).await? } else { Vec::new() },
        categories: PowerCategory::ALL.iter().map(|c| (c.as_str(), c.label())).collect(),
        step_rows: (1..=STEP_ROWS).collect(),
        risk_rows: (1..=RISK_ROWS).collect(),
        form_key: random_token(),
    };
    Ok(Html(page.render()?))
}

/// Reads the new-item form into a checked item, naming the field at fault.
fn item_from_form(fields: &HashMap<String, String>, org_code: &str, staff: &Staff) -> Result<NewPowerItem, AppError> {
    let field = |name: &str| fields.get(name).map_or("", |v| v.trim());
    let category =
        PowerCategory::parse(field("category")).ok_or_else(|| AppError::invalid("类别：请选择权力事项的类别"))?;
    let name = field("name");
    if name.is_empty() || name.chars().count() > 60 {
        return Err(AppError::invalid("事项名称：请填写（不超过60字）"));
    }
    let basis = field("basis");
    if basis.is_empty() || basis.chars().count() > 2000 {
        return Err(AppError::invalid("依据：请填写法律法规或政策依据（不超过2000字）"));
    }
    let materials = field("materials");
    if materials.chars().count() > 2000 {
        return Err(AppError::invalid("所需材料：不超过2000字"));
    }
    let responsible = field("responsible");
    if responsible.is_empty() || responsible.chars().count() > 60 {
        return Err(AppError::invalid("责任主体：请填写（不超过60字）"));
    }
    let mut steps = Vec::new();
    for n in 1..=STEP_ROWS {
        let (actor, action, days, publishes) = (
            field(&format!("step{n}_actor")),
            field(&format!("step{n}_action")),
            field(&format!("step{n}_days")),
            field(&format!("step{n}_publishes")),
        );
        if actor.is_empty() && action.is_empty() && days.is_empty() && publishes.is_empty() {
            continue;
        }
        let no = steps.len() + 1;
        let limit_days =
            days.parse::<u16>().map_err(|_| AppError::invalid(power::PowerError::Limit(no).to_string()))?;
        steps.push(ProcedureStep {
            actor: actor.to_owned(),
            action: action.to_owned(),
            limit_days,
            publishes: publishes.to_owned(),
        });
    }
    let explicit = match field("total_days") {
        "" => None,
        t => Some(t.parse::<u32>().map_err(|_| AppError::invalid(power::PowerError::Total.to_string()))?),
    };
    let total = power::total_limit(&steps, explicit).map_err(|e| AppError::invalid(e.to_string()))?;
    let mut risks = Vec::new();
    for n in 1..=RISK_ROWS {
        let (risk, supervision) = (field(&format!("risk{n}")), field(&format!("risk{n}_supervision")));
        if !risk.is_empty() || !supervision.is_empty() {
            risks.push(RiskPoint { risk: risk.to_owned(), supervision: supervision.to_owned() });
        }
    }
    power::check_risks(&risks).map_err(|e| AppError::invalid(e.to_string()))?;
    Ok(NewPowerItem {
        org_code: org_code.to_owned(),
        category,
        name: name.to_owned(),
        basis: basis.to_owned(),
        materials: materials.to_owned(),
        responsible: responsible.to_owned(),
        total_days: i64::from(total),
        steps,
        risks,
        duties: Vec::new(),
        accountability: Vec::new(),
        created_by: Some(staff.user.id),
    })
}

pub async fn create_item(
    State(state): State<AppState>,
    staff: Staff,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let fields: HashMap<String, String> = fields.into_iter().collect();
    let org_code = fields.get("org_code").map_or("", |v| v.trim()).to_owned();
    staff.require_org(&org_code)?;
    let org = state.store().find_org(&org_code).await?.ok_or_else(|| AppError::invalid("适用范围：请选择"))?;
    if !matches!(org.level, OrgLevel::County | OrgLevel::Township | OrgLevel::Village) {
        return Err(AppError::invalid("适用范围：只能是县、乡镇或村"));
    }
    let item = item_from_form(&fields, &org_code, &staff)?;
    if !first_submit(&state, &staff, fields.get("form_key").map_or("", String::as_str)).await? {
        return Ok(see_other("/staff/powers?done=repeat"));
    }
    let now = state.now();
    let id = state.store().add_power_item(&item, now).await?;
    if let Some(added) = state.store().find_power_item(id).await? {
        crate::app::search::index_power_item(&state, &added).await?;
    }
    let detail = format!("新增权力事项 {}（{}步，{}天）", item.name, item.steps.len(), item.total_days);
    state.audit(staff.audit_entry(now, "power.item.add", format!("power_item:{id}"), detail, Some(org_code))).await?;
    Ok(see_other(&format!("/staff/powers/{id}?done=added")))
}

/// Whether an item concerns the account: it applies at the account's org, or is a local item inside it.
fn item_visible(staff: &Staff, item: &PowerItem) -> bool {
    staff.scope.org_code.starts_with(&item.org_code) || staff.scope.covers_org(&item.org_code)
}

#[derive(Template)]
#[template(path = "staff/power_item.html")]
struct ItemPage {
    nav: Nav,
    notice: &'static str,
    item: ItemView,
    /// Whether the account may edit the item's lists (its own org's items: the county's for the county).
    can_edit: bool,
    duties_text: String,
    accountability_text: String,
    form_key: String,
}

pub async fn item(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    Query(q): Query<DoneQuery>,
) -> Result<Html<String>, AppError> {
    let item = state.store().find_power_item(id).await?.ok_or(AppError::NotFound)?;
    if !item_visible(&staff, &item) {
        return Err(AppError::NotFound);
    }
    let can_edit = staff.role.allows(Permission::ManagePowerCatalogue) && staff.require_org(&item.org_code).is_ok();
    let item = item_view(&state, item).await?;
    let page = ItemPage {
        nav: staff.nav(),
        notice: notice_text(&q.done),
        can_edit,
        duties_text: power_lists::duties_text(&item.duties),
        accountability_text: power_lists::accountability_text(&item.accountability),
        form_key: random_token(),
        item,
    };
    Ok(Html(page.render()?))
}

#[derive(Deserialize)]
pub struct ListsForm {
    #[serde(default)]
    form_key: String,
    #[serde(default)]
    version: String,
    #[serde(default)]
    duties: String,
    #[serde(default)]
    accountability: String,
}

/// Saves an item's 责任清单 and 追责清单 as its next version (the owning org's accounts only:
/// the county's items are the county's to edit), reindexes it and records the audit entry.
pub async fn save_lists(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    Form(form): Form<ListsForm>,
) -> Result<Response, AppError> {
    let store = state.store();
    let item = store.find_power_item(id).await?.ok_or(AppError::NotFound)?;
    if !item_visible(&staff, &item) {
        return Err(AppError::NotFound);
    }
    staff.require_org(&item.org_code)?;
    let version: i64 = form.version.trim().parse().map_err(|_| AppError::invalid("版本：表单已过期，请刷新后重试"))?;
    let steps = store.power_item_steps(id).await?.len();
    let duties = power_lists::parse_duties(&form.duties, steps).map_err(|e| AppError::invalid(e.to_string()))?;
    let accountability =
        power_lists::parse_accountability(&form.accountability).map_err(|e| AppError::invalid(e.to_string()))?;
    if !first_submit(&state, &staff, &form.form_key).await? {
        return Ok(see_other(&format!("/staff/powers/{id}?done=repeat")));
    }
    let now = state.now();
    match store.set_power_item_lists(id, version, &duties, &accountability, now).await {
        Ok(_) => {}
        Err(StoreError::Stale(_)) => return Ok(see_other(&format!("/staff/powers/{id}?done=stale"))),
        Err(e) => return Err(e.into()),
    }
    if let Some(saved) = store.find_power_item(id).await? {
        crate::app::search::index_power_item(&state, &saved).await?;
    }
    let detail = format!("修改四张清单 {}（责任{}条，追责{}条）", item.name, duties.len(), accountability.len());
    let entry = staff.audit_entry(now, "power.item.lists", format!("power_item:{id}"), detail, Some(item.org_code));
    state.audit(entry).await?;
    Ok(see_other(&format!("/staff/powers/{id}?done=lists#duties")))
}

#[derive(Template)]
#[template(path = "staff/power_records.html")]
struct RecordsPage {
    nav: Nav,
    notice: &'static str,
    records: Vec<RecordLink>,
    can_record: bool,
    items: Vec<PowerItem>,
    places: Vec<(String, String)>,
    today: String,
    form_key: String,
}

pub async fn records(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<DoneQuery>,
) -> Result<Html<String>, AppError> {
    let store = state.store();
    let today = shanghai_date(state.now());
    let exercises = store.power_exercises_within(&staff.scope.org_code, false, 200).await?;
    let can_record = staff.role.allows(Permission::RecordPowerExercise);
    let page = RecordsPage {
        nav: staff.nav(),
        notice: notice_text(&q.done),
        records: record_links(&state, exercises, today).await?,
        can_record,
        items: if can_record { store.power_items_within(&staff.scope.org_code).await? } else { Vec::new() },
        places: if can_record { own_places(&state, &staff).await? } else { Vec::new() },
        today: today.to_string(),
        form_key: random_token(),
    };
    Ok(Html(page.render()?))
}

#[derive(Deserialize)]
pub struct OpenForm {
    #[serde(default)]
    form_key: String,
    #[serde(default)]
    org_code: String,
    #[serde(default)]
    item_id: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    started_on: String,
}

pub async fn open(
    State(state): State<AppState>,
    staff: Staff,
    Form(form): Form<OpenForm>,
) -> Result<Response, AppError> {
    let org_code = form.org_code.trim();
    staff.require_org(org_code)?;
    let store = state.store();
    let org = store.find_org(org_code).await?.ok_or_else(|| AppError::invalid("村（社区）：请选择"))?;
    if !matches!(org.level, OrgLevel::Township | OrgLevel::Village) {
        return Err(AppError::invalid("村（社区）：运行记录只能按村或乡镇填写"));
    }
    let item = match form.item_id.trim().parse::<i64>() {
        Ok(id) => store.find_power_item(id).await?,
        Err(_) => None,
    }
    .filter(|i| org_code.starts_with(&i.org_code))
    .ok_or_else(|| AppError::invalid("权力事项：请选择适用于该村的事项"))?;
    let title = form.title.trim();
    if title.is_empty() || title.chars().count() > 60 {
        return Err(AppError::invalid("记录标题：请填写（不超过60字），如“2025年村道硬化工程招标”"));
    }
    let today = shanghai_date(state.now());
    let started_on = parse_date(&form.started_on)
        .filter(|d| *d <= today)
        .ok_or_else(|| AppError::invalid("开始日期：请填写不晚于今天的日期，如 2025-03-01"))?;
    if !first_submit(&state, &staff, &form.form_key).await? {
        return Ok(see_other("/staff/power-records?done=repeat"));
    }
    let new = NewPowerExercise {
        item_id: item.id,
        org_code: org_code.to_owned(),
        title: title.to_owned(),
        started_on: started_on.to_string(),
        created_by: staff.user.id,
    };
    let now = state.now();
    let id = store.open_power_exercise(&new, now).await?;
    let detail = format!("创建运行记录 {title}（{}）", item.name);
    let entry =
        staff.audit_entry(now, "power.exercise.open", format!("power_exercise:{id}"), detail, Some(new.org_code));
    state.audit(entry).await?;
    Ok(see_other(&format!("/staff/power-records/{id}?done=opened")))
}

/// Loads an exercise and checks that its org is inside the account's scope.
async fn exercise_in_scope(state: &AppState, staff: &Staff, id: i64) -> Result<PowerExercise, AppError> {
    let exercise = state.store().find_power_exercise(id).await?.ok_or(AppError::NotFound)?;
    staff.require_visible(&exercise.org_code)?;
    Ok(exercise)
}

#[derive(Template)]
#[template(path = "staff/power_record.html")]
struct RecordPage {
    nav: Nav,
    notice: &'static str,
    id: i64,
    title: String,
    place: String,
    item_id: i64,
    item_name: String,
    started_on: String,
    published: bool,
    steps: Vec<TimelineStep>,
    /// Steps that may be recorded next: after the last recorded one.
    next_steps: Vec<(usize, String)>,
    recorded_steps: Vec<(i64, String)>,
    documents: Vec<(i64, String)>,
    doc_base: String,
    can_record: bool,
    today: String,
    form_key: String,
}

pub async fn record(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    Query(q): Query<DoneQuery>,
) -> Result<Html<String>, AppError> {
    let exercise = exercise_in_scope(&state, &staff, id).await?;
    let store = state.store();
    let today = shanghai_date(state.now());
    let steps = timeline(store, &exercise, today).await?;
    let records = store.power_step_records(id).await?;
    let last = records.iter().map(|r| r.step_no).max().unwrap_or(0);
    let next_steps = steps
        .iter()
        .filter(|s| s.no as i64 > last)
        .map(|s| (s.no, format!("第{}步 {} · {}", s.no, s.actor, s.action)))
        .collect();
    let recorded_steps = records.iter().map(|r| (r.id, format!("第{}步（{}）", r.step_no, r.done_on))).collect();
    let page = RecordPage {
        nav: staff.nav(),
        notice: notice_text(&q.done),
        id,
        place: place_name(&state, &exercise.org_code).await?,
        can_record: staff.role.allows(Permission::RecordPowerExercise) && staff.scope.covers_org(&exercise.org_code),
        published: exercise.is_published(),
        title: exercise.title,
        item_id: exercise.item_id,
        item_name: exercise.item_name,
        started_on: exercise.started_on,
        steps,
        next_steps,
        recorded_steps,
        documents: loose_documents(&store.power_documents(id).await?),
        doc_base: format!("/staff/power-records/{id}/documents"),
        today: today.to_string(),
        form_key: random_token(),
    };
    Ok(Html(page.render()?))
}

#[derive(Deserialize)]
pub struct StepForm {
    #[serde(default)]
    form_key: String,
    #[serde(default)]
    step_no: String,
    #[serde(default)]
    done_on: String,
    #[serde(default)]
    actor_name: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    decision: String,
}

pub async fn add_step(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    Form(form): Form<StepForm>,
) -> Result<Response, AppError> {
    let exercise = exercise_in_scope(&state, &staff, id).await?;
    let store = state.store();
    let step_count = store.power_item_steps(exercise.item_id).await?.len();
    let step_no = form.step_no.trim().parse::<usize>().map_err(|_| AppError::invalid("办理步骤：请选择"))?;
    let done_on = parse_date(&form.done_on).ok_or_else(|| AppError::invalid("办理日期：请填写日期，如 2025-03-05"))?;
    let (actor_name, action, decision) = (form.actor_name.trim(), form.action.trim(), form.decision.trim());
    if actor_name.is_empty() || actor_name.chars().count() > 30 {
        return Err(AppError::invalid("经办人：请填写（不超过30字）"));
    }
    if action.is_empty() || action.chars().count() > 500 {
        return Err(AppError::invalid("办理情况：请填写（不超过500字）"));
    }
    if decision.chars().count() > 500 {
        return Err(AppError::invalid("办理结果：不超过500字"));
    }
    let start = parse_date(&exercise.started_on).ok_or_else(|| AppError::Internal("exercise start date".into()))?;
    let recorded: Vec<RecordedStep> = store
        .power_step_records(id)
        .await?
        .iter()
        .filter_map(|r| {
            Some(RecordedStep { step_no: usize::try_from(r.step_no).ok()?, done_on: parse_date(&r.done_on)? })
        })
        .collect();
    let today = shanghai_date(state.now());
    power::check_next(step_count, start, &recorded, step_no, done_on, today)
        .map_err(|e| AppError::invalid(e.to_string()))?;
    if !first_submit(&state, &staff, &form.form_key).await? {
        return Ok(see_other(&format!("/staff/power-records/{id}?done=repeat")));
    }
    let now = state.now();
    let new = NewPowerStepRecord {
        exercise_id: id,
        step_no: i64::try_from(step_no).unwrap_or(i64::MAX),
        done_on: done_on.to_string(),
        actor_name: actor_name.to_owned(),
        action: action.to_owned(),
        decision: decision.to_owned(),
        recorded_by: staff.user.id,
    };
    store.record_power_step(&new, now).await?;
    let detail = format!("记录第{step_no}步（{done_on}）：{action}");
    let entry =
        staff.audit_entry(now, "power.exercise.step", format!("power_exercise:{id}"), detail, Some(exercise.org_code));
    state.audit(entry).await?;
    Ok(see_other(&format!("/staff/power-records/{id}?done=step")))
}

#[derive(Deserialize)]
pub struct AttachQuery {
    #[serde(default)]
    form_key: String,
    step: Option<i64>,
}

/// Uploads a document (the CSRF token and the once-only key travel in the action URL).
pub async fn attach(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    Query(q): Query<AttachQuery>,
    request: Request,
) -> Result<Response, AppError> {
    let exercise = exercise_in_scope(&state, &staff, id).await?;
    let step_id = match q.step.filter(|s| *s > 0) {
        Some(step) => {
            let records = state.store().power_step_records(id).await?;
            Some(
                records
                    .iter()
                    .find(|r| r.id == step)
                    .map(|r| r.id)
                    .ok_or_else(|| AppError::invalid("对应步骤：请选择已记录的步骤"))?,
            )
        }
        None => None,
    };
    let upload = read_upload(&state, request).await?;
    if upload.file.is_empty() {
        return Err(AppError::invalid("文件：请选择要上传的文件"));
    }
    if !first_submit(&state, &staff, &q.form_key).await? {
        return Ok(see_other(&format!("/staff/power-records/{id}?done=repeat")));
    }
    let (stored, original_name) = store_scan(&state, &upload).await?;
    let doc = NewPowerDocument {
        exercise_id: id,
        step_id,
        sha256: stored.sha256.clone(),
        size: i64::try_from(stored.size).unwrap_or(i64::MAX),
        content_type: stored.kind.content_type().to_owned(),
        original_name: original_name.clone(),
        uploaded_by: staff.user.id,
    };
    match state.store().add_power_document(&doc, state.now()).await {
        Ok(doc_id) => {
            let detail = format!("上传文件 {original_name}");
            let entry = staff.audit_entry(
                state.now(),
                "power.exercise.attach",
                format!("power_document:{doc_id}"),
                detail,
                Some(exercise.org_code),
            );
            state.audit(entry).await?;
        }
        // The same file again: already attached, nothing to do.
        Err(e) if e.is_duplicate_of("power_documents_exercise_id_sha256_key") => {}
        Err(e) => return Err(e.into()),
    }
    Ok(see_other(&format!("/staff/power-records/{id}?done=attached")))
}

pub async fn publish(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    Form(form): Form<KeyedForm>,
) -> Result<Response, AppError> {
    let exercise = exercise_in_scope(&state, &staff, id).await?;
    if exercise.is_published() {
        return Err(AppError::Conflict("该运行记录已公开".into()));
    }
    if state.store().power_step_records(id).await?.is_empty() {
        return Err(AppError::invalid("办理步骤：请至少记录一个步骤后再公开"));
    }
    if !first_submit(&state, &staff, &form.form_key).await? {
        return Ok(see_other(&format!("/staff/power-records/{id}?done=repeat")));
    }
    let now = state.now();
    state.store().publish_power_exercise(id, now).await.map_err(|e| match e {
        StoreError::Stale(_) => AppError::Conflict("该运行记录已被他人公开，请刷新页面查看".into()),
        other => other.into(),
    })?;
    if let Some(published) = state.store().find_power_exercise(id).await? {
        crate::app::search::index_power_record(&state, &published).await?;
    }
    let entry = staff.audit_entry(
        now,
        "power.exercise.publish",
        format!("power_exercise:{id}"),
        format!("公开运行记录 {}", exercise.title),
        Some(exercise.org_code),
    );
    state.audit(entry).await?;
    Ok(see_other(&format!("/staff/power-records/{id}?done=published")))
}

pub async fn document(
    State(state): State<AppState>,
    staff: Staff,
    Path((id, doc)): Path<(i64, i64)>,
) -> Result<Response, AppError> {
    exercise_in_scope(&state, &staff, id).await?;
    let d = state.store().find_power_document(doc).await?.filter(|d| d.exercise_id == id).ok_or(AppError::NotFound)?;
    crate::web::respond::document_response(&state, d, false).await
}

/// This area's staff routes, each with the permission it needs and its scope target.
pub(super) fn routes(r: StaffRoutes) -> StaffRoutes {
    r.get("/staff/powers", Permission::ViewPowers, Target::None, catalogue)
        .post("/staff/powers", Permission::ManagePowerCatalogue, Target::Org, create_item)
        .get("/staff/powers/{item}", Permission::ViewPowers, Target::PowerItem, item)
        .post("/staff/powers/{item}/lists", Permission::ManagePowerCatalogue, Target::PowerItem, save_lists)
        .get("/staff/power-records", Permission::ViewPowers, Target::None, records)
        .post("/staff/power-records", Permission::RecordPowerExercise, Target::Org, open)
        .get("/staff/power-records/{record}", Permission::ViewPowers, Target::PowerRecord, record)
        .post("/staff/power-records/{record}/steps", Permission::RecordPowerExercise, Target::PowerRecord, add_step)
        .post("/staff/power-records/{record}/documents", Permission::RecordPowerExercise, Target::PowerRecord, attach)
        .post("/staff/power-records/{record}/publish", Permission::RecordPowerExercise, Target::PowerRecord, publish)
        .get(
            "/staff/power-records/{record}/documents/{document}",
            Permission::ViewPowers,
            Target::PowerRecord,
            document,
        )
}
