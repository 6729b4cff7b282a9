//! 大数据比对 in the back office: registry imports (county level), the commission's hit list
//! with filters and counts, a hit's page with its evidence and handling, and the townships'
//! 政策找人 lists with outcomes. Hits are never public; full ID numbers show only to accounts
//! allowed to see personal data, on request, and every such view is audited.

use std::collections::HashMap;

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, Request, State};
use axum::response::{Html, Response};
use serde::Deserialize;
use xiaowei_core::Permission;
use xiaowei_core::registry::RegistryKind;
use xiaowei_core::roster::CellError;
use xiaowei_core::screening::{HitStatus, LeadStatus, Rule, check_handling};
use xiaowei_store::{HitFilter, RegistryImport, ScreeningRun, ScreeningSettings};

use super::rosters::read_upload;
use super::{KeyedForm, Nav, Staff, first_submit, see_other};
use super::{StaffRoutes, Target};
use crate::app::screening::{StoredEvidence, evidence_of};
use crate::state::AppState;
use crate::web::dates::shanghai_time;
use crate::web::error::AppError;
use crate::web::security::random_token;

const PAGE_SIZE: i64 = 30;

fn yuan(fen: i64) -> String {
    format!("{}.{:02}", fen / 100, fen % 100)
}

struct ImportRow {
    kind: &'static str,
    mode: &'static str,
    file_name: String,
    rows: i64,
    actor: String,
    at: String,
}

impl From<RegistryImport> for ImportRow {
    fn from(i: RegistryImport) -> Self {
        Self {
            kind: i.kind.label(),
            mode: if i.amend { "补充更新" } else { "整体替换" },
            file_name: i.file_name,
            rows: i.rows,
            actor: i.actor_name,
            at: shanghai_time(i.created_at),
        }
    }
}

/// One recorded screening run as the registries page lists it.
struct RunRow {
    at: String,
    scope: String,
    entries: i64,
    hits: i64,
    new_hits: i64,
    cleared: i64,
}

impl From<ScreeningRun> for RunRow {
    fn from(r: ScreeningRun) -> Self {
        let scope = match r.scope.strip_prefix("rosters:") {
            Some(ids) => format!("花名册 {ids}（增量）"),
            None => "全面".to_owned(),
        };
        Self {
            at: shanghai_time(r.at),
            scope,
            entries: r.entries,
            hits: r.hits,
            new_hits: r.new_hits,
            cleared: r.cleared,
        }
    }
}

struct SettingRow {
    id: i64,
    name: String,
    flags: String,
    excludes_payroll: bool,
    discretionary: bool,
    asset_test: bool,
    min_age: String,
    max_age: String,
}

struct PairRow {
    a: i64,
    b: i64,
    names: String,
}

#[derive(Template)]
#[template(path = "staff/registries.html")]
struct RegistriesPage {
    nav: Nav,
    notice: String,
    kinds: Vec<(&'static str, &'static str, i64)>,
    imports: Vec<ImportRow>,
    settings: Vec<SettingRow>,
    pairs: Vec<PairRow>,
    runs: Vec<RunRow>,
    form_key: String,
}

#[derive(Deserialize)]
pub struct DoneQuery {
    #[serde(default)]
    done: String,
    #[serde(default)]
    n: i64,
}

pub async fn registries(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<DoneQuery>,
) -> Result<Html<String>, AppError> {
    let sizes: HashMap<String, i64> = state.store().registry_sizes().await?.into_iter().collect();
    let kinds = RegistryKind::ALL
        .into_iter()
        .map(|k| (k.as_str(), k.label(), sizes.get(k.as_str()).copied().unwrap_or(0)))
        .collect();
    let imports = state.store().registry_imports(20).await?.into_iter().map(ImportRow::from).collect();
    let programmes = state.store().programme_screening().await?;
    let names: HashMap<i64, String> = programmes.iter().map(|p| (p.id, p.name.clone())).collect();
    let name = |id: i64| names.get(&id).cloned().unwrap_or_else(|| format!("项目{id}"));
    let pairs = state
        .store()
        .exclusive_pairs()
        .await?
        .into_iter()
        .map(|(a, b)| PairRow { a, b, names: format!("{} 与 {}", name(a), name(b)) })
        .collect();
    let settings = programmes
        .into_iter()
        .map(|p| {
            let mut flags = Vec::new();
            if p.excludes_payroll {
                flags.push("财政供养人员不得享受".to_owned());
            }
            if p.discretionary {
                flags.push("村级评定".to_owned());
            }
            if p.asset_test {
                flags.push("有车辆或经营主体不得享受".to_owned());
            }
            match (p.min_age, p.max_age) {
                (Some(a), Some(b)) => flags.push(format!("{a}至{b}周岁")),
                (Some(a), None) => flags.push(format!("{a}周岁以上")),
                (None, Some(b)) => flags.push(format!("{b}周岁以下")),
                (None, None) => {}
            }
            SettingRow {
                id: p.id,
                name: p.name,
                flags: if flags.is_empty() { "—".into() } else { flags.join("；") },
                excludes_payroll: p.excludes_payroll,
                discretionary: p.discretionary,
                asset_test: p.asset_test,
                min_age: p.min_age.map(|a| a.to_string()).unwrap_or_default(),
                max_age: p.max_age.map(|a| a.to_string()).unwrap_or_default(),
            }
        })
        .collect();
    let notice = match q.done.as_str() {
        "imported" => format!("已导入 {} 条记录。全面比对已在后台开始，完成后列入下方“最近比对”。", q.n),
        "screened" => "全面比对已在后台开始，完成后列入下方“最近比对”。".to_owned(),
        "repeat" => "该表单已提交过，未重复处理。".to_owned(),
        "settings" => "比对设置已保存，下次比对起生效。".to_owned(),
        "paired" => "已设为互斥项目。".to_owned(),
        "unpaired" => "已取消互斥。".to_owned(),
        _ => String::new(),
    };
    let runs = state.store().screening_runs(10).await?.into_iter().map(RunRow::from).collect();
    let page =
        RegistriesPage { nav: staff.nav(), notice, kinds, imports, settings, pairs, runs, form_key: random_token() };
    Ok(Html(page.render()?))
}

#[derive(Template)]
#[template(path = "staff/registry_errors.html")]
struct RegistryErrorsPage {
    nav: Nav,
    file_name: String,
    kind: &'static str,
    errors: Vec<CellError>,
    more: usize,
}

pub async fn import(State(state): State<AppState>, staff: Staff, request: Request) -> Result<Response, AppError> {
    let upload = read_upload(&state, request).await?;
    let kind = RegistryKind::parse(upload.field("kind")).ok_or_else(|| AppError::invalid("比对库：请选择"))?;
    let amend = match upload.field("mode") {
        "amend" => true,
        "replace" => {
            if upload.field("confirm") != "1" {
                return Err(AppError::invalid("整体替换会删除该库现有全部记录：请勾选确认后再提交"));
            }
            false
        }
        _ => return Err(AppError::invalid("导入方式：请选择整体替换或补充更新")),
    };
    if upload.file.is_empty() {
        return Err(AppError::invalid("文件：请选择要上传的 Excel 或 CSV 文件"));
    }
    let file = upload.file.clone();
    let check = crate::app::uploads::parse_sheet(move || crate::app::screening::check_file(kind, &file)).await??;
    if !check.is_clean() {
        let more = check.errors.len().saturating_sub(200);
        let page = RegistryErrorsPage {
            nav: staff.nav(),
            file_name: upload.file_name.clone(),
            kind: kind.label(),
            errors: check.errors.into_iter().take(200).collect(),
            more,
        };
        return Ok(axum::response::IntoResponse::into_response(Html(page.render()?)));
    }
    if !first_submit(&state, &staff, upload.field("form_key")).await? {
        return Ok(see_other("/staff/registries?done=repeat"));
    }
    let detail = format!(
        "{}{}：{}，{} 条",
        kind.label(),
        if amend { "补充更新" } else { "整体替换" },
        upload.file_name,
        check.lines.len()
    );
    let audit = staff.audit_entry(state.now(), "registry.import", format!("registry:{}", kind.as_str()), detail, None);
    let count = crate::app::screening::import_registry(
        &state,
        kind,
        amend,
        &check,
        &upload.file_name,
        (Some(staff.user.id), &staff.user.username),
        audit,
    )
    .await?;
    crate::app::screening::in_background(&state);
    Ok(see_other(&format!("/staff/registries?done=imported&n={count}")))
}

#[derive(Deserialize)]
pub struct SettingsForm {
    #[serde(default)]
    form_key: String,
    #[serde(default)]
    excludes_payroll: String,
    #[serde(default)]
    discretionary: String,
    #[serde(default)]
    asset_test: String,
    #[serde(default)]
    min_age: String,
    #[serde(default)]
    max_age: String,
}

/// Saves a programme's screening settings (who it excludes, its eligible ages); they apply from
/// the next run.
pub async fn save_settings(
    State(state): State<AppState>,
    staff: Staff,
    Path(programme): Path<i64>,
    Form(form): Form<SettingsForm>,
) -> Result<Response, AppError> {
    let found = state.store().find_programme(programme).await?.ok_or(AppError::NotFound)?;
    let (min_age, max_age) = xiaowei_core::screening::age_bounds(&form.min_age, &form.max_age)
        .map_err(|m| AppError::invalid(m.to_owned()))?;
    if !first_submit(&state, &staff, &form.form_key).await? {
        return Ok(see_other("/staff/registries?done=repeat"));
    }
    let settings = ScreeningSettings {
        excludes_payroll: form.excludes_payroll == "1",
        discretionary: form.discretionary == "1",
        min_age,
        max_age,
        asset_test: form.asset_test == "1",
    };
    state.store().set_programme_screening(programme, &settings).await?;
    let detail = format!(
        "{}：财政供养人员不得享受={}，村级评定={}，资产审查={}，年龄 {}–{}",
        found.name,
        settings.excludes_payroll,
        settings.discretionary,
        settings.asset_test,
        form.min_age.trim(),
        form.max_age.trim()
    );
    state
        .audit(staff.audit_entry(state.now(), "screening.settings", format!("programme:{programme}"), detail, None))
        .await?;
    Ok(see_other("/staff/registries?done=settings"))
}

#[derive(Deserialize)]
pub struct PairForm {
    #[serde(default)]
    form_key: String,
    #[serde(default)]
    a: String,
    #[serde(default)]
    b: String,
}

/// The two programmes of a pair form, both existing and different.
async fn pair_of(state: &AppState, form: &PairForm) -> Result<(i64, i64, String), AppError> {
    let a = form.a.trim().parse::<i64>().map_err(|_| AppError::invalid("项目一：请选择"))?;
    let b = form.b.trim().parse::<i64>().map_err(|_| AppError::invalid("项目二：请选择"))?;
    if a == b {
        return Err(AppError::invalid("项目二：请选择另一个项目"));
    }
    let first = state.store().find_programme(a).await?.ok_or_else(|| AppError::invalid("项目一：不存在"))?;
    let second = state.store().find_programme(b).await?.ok_or_else(|| AppError::invalid("项目二：不存在"))?;
    Ok((a, b, format!("{} 与 {}", first.name, second.name)))
}

/// Declares two programmes mutually exclusive (rule 5: both paid to one person in one period).
pub async fn add_pair(
    State(state): State<AppState>,
    staff: Staff,
    Form(form): Form<PairForm>,
) -> Result<Response, AppError> {
    let (a, b, names) = pair_of(&state, &form).await?;
    if !first_submit(&state, &staff, &form.form_key).await? {
        return Ok(see_other("/staff/registries?done=repeat"));
    }
    state.store().add_exclusive_pair(a, b).await?;
    state
        .audit(staff.audit_entry(state.now(), "screening.exclusive_add", format!("programmes:{a},{b}"), names, None))
        .await?;
    Ok(see_other("/staff/registries?done=paired"))
}

/// Withdraws a declared pair of mutually exclusive programmes.
pub async fn remove_pair(
    State(state): State<AppState>,
    staff: Staff,
    Form(form): Form<PairForm>,
) -> Result<Response, AppError> {
    let (a, b, names) = pair_of(&state, &form).await?;
    if !first_submit(&state, &staff, &form.form_key).await? {
        return Ok(see_other("/staff/registries?done=repeat"));
    }
    if state.store().remove_exclusive_pair(a, b).await? {
        let target = format!("programmes:{a},{b}");
        state.audit(staff.audit_entry(state.now(), "screening.exclusive_remove", target, names, None)).await?;
    }
    Ok(see_other("/staff/registries?done=unpaired"))
}

pub async fn run_now(
    State(state): State<AppState>,
    staff: Staff,
    Form(form): Form<KeyedForm>,
) -> Result<Response, AppError> {
    if !first_submit(&state, &staff, &form.form_key).await? {
        return Ok(see_other("/staff/registries?done=repeat"));
    }
    let now = state.now();
    state.audit(staff.audit_entry(now, "screening.run", "screening".into(), "全面比对".into(), None)).await?;
    crate::app::screening::in_background(&state);
    Ok(see_other("/staff/registries?done=screened"))
}

struct HitRow {
    id: i64,
    rule: &'static str,
    severity: &'static str,
    severity_code: &'static str,
    place: String,
    programme: String,
    period: String,
    name: String,
    id_masked: String,
    status: &'static str,
    cleared: bool,
}

struct CountRow {
    place: String,
    counts: Vec<i64>,
}

#[derive(Template)]
#[template(path = "staff/screening.html")]
struct HitsPage {
    nav: Nav,
    hits: Vec<HitRow>,
    total: i64,
    page: i64,
    has_more: bool,
    rules: Vec<(&'static str, usize, &'static str)>,
    statuses: Vec<(&'static str, &'static str)>,
    places: Vec<(String, String)>,
    rule: String,
    status: String,
    place: String,
    cleared: bool,
    query: String,
    totals: Vec<(&'static str, i64)>,
    counts: Vec<CountRow>,
}

#[derive(Deserialize)]
pub struct HitsQuery {
    page: Option<i64>,
    #[serde(default)]
    rule: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    place: String,
    #[serde(default)]
    cleared: String,
}

/// The list's filter: the chosen place inside the scope (else the scope), rule, status and
/// whether cleared hits are included.
fn hit_filter(staff: &Staff, q: &HitsQuery) -> HitFilter {
    let scope = &staff.scope.org_code;
    let within = if !q.place.is_empty() && staff.scope.covers_org(&q.place) { q.place.clone() } else { scope.clone() };
    let rule = Rule::parse(&q.rule);
    let status = HitStatus::parse(&q.status);
    HitFilter { within, rule, status, include_cleared: q.cleared == "1" }
}

/// Most hits in one export.
const EXPORT_ROWS: i64 = 50_000;

const EXPORT_HEADERS: [&str; 11] = [
    "规则",
    "风险等级",
    "地点",
    "补贴项目",
    "年度",
    "期次",
    "姓名",
    "身份证号（部分隐藏）",
    "金额（元）",
    "状态",
    "首次发现",
];

/// The hits of the list's filter as an .xlsx (ID numbers masked; audited).
pub async fn export(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<HitsQuery>,
) -> Result<Response, AppError> {
    use xiaowei_sheets::TableCell::{Number as N, Text as T};
    let filter = hit_filter(&staff, &q);
    let hits = state.store().screening_hits(&filter, EXPORT_ROWS, 0).await?;
    let cells: Vec<Vec<xiaowei_sheets::TableCell>> = hits
        .into_iter()
        .map(|h| {
            vec![
                T(format!("{}. {}", h.rule.number(), h.rule.label())),
                T(h.severity.label().to_owned()),
                T(h.org_name),
                T(h.programme_name),
                N(h.year),
                T(h.period),
                T(h.name),
                T(h.id_masked),
                T(yuan(h.amount_fen)),
                T(h.status.label().to_owned()),
                T(shanghai_time(h.first_seen_at)),
            ]
        })
        .collect();
    let title = "大数据比对线索";
    let mut subtitle = vec![format!("导出时间：{}；身份证号已隐藏部分数字", shanghai_time(state.now()))];
    if cells.len() as i64 >= EXPORT_ROWS {
        subtitle.push(format!("仅导出前{EXPORT_ROWS}条，请按规则或地区筛选后分批导出"));
    }
    let bytes = xiaowei_sheets::table_xlsx("比对线索", title, &subtitle, &EXPORT_HEADERS, &cells)
        .map_err(|e| AppError::Internal(format!("screening export: {e}")))?;
    let detail = format!("导出比对线索{}条", cells.len());
    state.audit(staff.audit_entry(state.now(), "screening.export", filter.within.clone(), detail, None)).await?;
    Ok(crate::staff::xlsx_response(bytes, &format!("{title}.xlsx")))
}

pub async fn list(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<HitsQuery>,
) -> Result<Html<String>, AppError> {
    let store = state.store();
    let scope = staff.scope.org_code.clone();
    let filter = hit_filter(&staff, &q);
    let page = q.page.unwrap_or(1).clamp(1, 100_000);
    let mut rows = store.screening_hits(&filter, PAGE_SIZE + 1, (page - 1) * PAGE_SIZE).await?;
    let has_more = rows.len() as i64 > PAGE_SIZE;
    rows.truncate(PAGE_SIZE as usize);
    let total = store.count_screening_hits(&filter).await?;
    let hits = rows
        .into_iter()
        .map(|h| {
            let severity = h.severity;
            HitRow {
                id: h.id,
                rule: h.rule.label(),
                severity: severity.label(),
                severity_code: severity.as_str(),
                place: h.org_name,
                programme: h.programme_name,
                period: h.period,
                name: h.name,
                id_masked: h.id_masked,
                status: h.status.label(),
                cleared: h.cleared_at.is_some(),
            }
        })
        .collect();
    let children = store.child_orgs(&scope).await?;
    let names: HashMap<String, String> = children.iter().map(|o| (o.code.clone(), o.name.clone())).collect();
    let counted = store.screening_counts(&scope).await?;
    let mut by_place: Vec<CountRow> = Vec::new();
    let mut totals: Vec<(&'static str, i64)> = HitStatus::ALL.iter().map(|s| (s.label(), 0)).collect();
    for c in counted {
        let Some(i) = HitStatus::ALL.iter().position(|s| *s == c.status) else { continue };
        totals[i].1 += c.hits;
        let place = names.get(&c.township).cloned().unwrap_or_else(|| c.township.clone());
        match by_place.iter_mut().find(|r| r.place == place) {
            Some(row) => row.counts[i] += c.hits,
            None => {
                let mut counts = vec![0; HitStatus::ALL.len()];
                counts[i] = c.hits;
                by_place.push(CountRow { place, counts });
            }
        }
    }
    let query = serde_urlencoded::to_string([
        ("rule", q.rule.as_str()),
        ("status", q.status.as_str()),
        ("place", q.place.as_str()),
        ("cleared", q.cleared.as_str()),
    ])
    .unwrap_or_default();
    let page = HitsPage {
        nav: staff.nav(),
        hits,
        total,
        page,
        has_more,
        rules: Rule::ALL.iter().map(|r| (r.as_str(), r.number(), r.label())).collect(),
        statuses: HitStatus::ALL.iter().map(|s| (s.as_str(), s.label())).collect(),
        places: children.into_iter().map(|o| (o.code, o.name)).collect(),
        rule: q.rule,
        status: q.status,
        place: q.place,
        cleared: q.cleared == "1",
        query,
        totals,
        counts: by_place,
    };
    Ok(Html(page.render()?))
}

struct EventRow {
    from: &'static str,
    to: &'static str,
    note: String,
    actor: String,
    at: String,
}

#[derive(Template)]
#[template(path = "staff/screening_hit.html")]
struct HitPage {
    nav: Nav,
    notice: &'static str,
    id: i64,
    rule_number: usize,
    rule: &'static str,
    description: &'static str,
    severity: &'static str,
    place: String,
    programme: String,
    period: String,
    roster_id: i64,
    name: String,
    id_shown: String,
    can_reveal: bool,
    revealed: bool,
    amount: String,
    status: &'static str,
    status_code: &'static str,
    note: String,
    cleared: String,
    first_seen: String,
    last_seen: String,
    evidence: Vec<StoredEvidence>,
    events: Vec<EventRow>,
    next: Vec<(&'static str, &'static str)>,
    can_handle: bool,
    form_key: String,
}

#[derive(Deserialize)]
pub struct HitQuery {
    #[serde(default)]
    reveal: String,
    #[serde(default)]
    done: String,
}

async fn hit_in_scope(state: &AppState, staff: &Staff, id: i64) -> Result<xiaowei_store::ScreeningHit, AppError> {
    let hit = state.store().find_screening_hit(id).await?.ok_or(AppError::NotFound)?;
    staff.require_visible(&hit.org_code)?;
    Ok(hit)
}

pub async fn show(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    Query(q): Query<HitQuery>,
) -> Result<Html<String>, AppError> {
    let hit = hit_in_scope(&state, &staff, id).await?;
    let can_reveal = staff.role.allows(Permission::ViewPersonalData);
    let revealed = can_reveal && q.reveal == "1";
    let id_shown = if revealed {
        let entry = state.store().find_entry(hit.roster_id, hit.entry_id).await?.ok_or(AppError::NotFound)?;
        let full = state.cipher().decrypt(&entry.id_enc).map_err(|e| AppError::Internal(format!("hit {id}: {e}")))?;
        let detail = format!("查看比对线索 {id} 的完整身份证号（{}）", hit.id_masked);
        let audit = staff.audit_entry(
            state.now(),
            "pii.view",
            format!("screening_hit:{id}"),
            detail,
            Some(hit.org_code.clone()),
        );
        state.audit(audit).await?;
        full
    } else {
        hit.id_masked.clone()
    };
    let rule = hit.rule;
    let status = hit.status;
    let events = state
        .store()
        .hit_events(id)
        .await?
        .into_iter()
        .map(|e| EventRow {
            from: e.from_status.label(),
            to: e.to_status.label(),
            note: e.note,
            actor: e.actor_name,
            at: shanghai_time(e.at),
        })
        .collect();
    let notice = match q.done.as_str() {
        "handled" => "处理结果已保存。",
        "repeat" => "该表单已提交过，未重复处理。",
        _ => "",
    };
    let page = HitPage {
        nav: staff.nav(),
        notice,
        id,
        rule_number: rule.number(),
        rule: rule.label(),
        description: rule.description(),
        severity: hit.severity.label(),
        place: hit.org_name,
        programme: hit.programme_name,
        period: hit.period,
        roster_id: hit.roster_id,
        name: hit.name,
        id_shown,
        can_reveal,
        revealed,
        amount: yuan(hit.amount_fen),
        status: status.label(),
        status_code: status.as_str(),
        note: hit.note.unwrap_or_default(),
        cleared: hit.cleared_at.map(shanghai_time).unwrap_or_default(),
        first_seen: shanghai_time(hit.first_seen_at),
        last_seen: shanghai_time(hit.last_seen_at),
        evidence: evidence_of(&hit.evidence),
        events,
        next: status.next().iter().map(|s| (s.as_str(), s.label())).collect(),
        can_handle: staff.role.allows(Permission::HandleScreening),
        form_key: random_token(),
    };
    Ok(Html(page.render()?))
}

#[derive(Deserialize)]
pub struct HandleForm {
    #[serde(default)]
    form_key: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    note: String,
}

pub async fn handle(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    Form(form): Form<HandleForm>,
) -> Result<Response, AppError> {
    let hit = hit_in_scope(&state, &staff, id).await?;
    let current = hit.status;
    let to = HitStatus::parse(&form.to).ok_or_else(|| AppError::invalid("处理结果：请选择"))?;
    let note = form.note.trim();
    if note.chars().count() > 1000 {
        return Err(AppError::invalid("说明：不超过1000字"));
    }
    // The status the form was shown in: checked after the repeat check, so that a double submit
    // is answered as a repeat and a second handler acting on a stale page is refused.
    let from = HitStatus::parse(&form.from).unwrap_or(current);
    let change = check_handling(from, to, note).map_err(AppError::invalid)?;
    if !first_submit(&state, &staff, &form.form_key).await? {
        return Ok(see_other(&format!("/staff/screening/{id}?done=repeat")));
    }
    if from != current {
        return Err(AppError::Conflict("该线索已被他人处理，请刷新页面查看最新状态".into()));
    }
    let now = state.now();
    state.store().handle_screening_hit(id, change, note, staff.user.id, &staff.user.username, now).await.map_err(
        |e| match e {
            xiaowei_store::StoreError::Stale(_) => {
                AppError::Conflict("该线索已被他人处理，请刷新页面查看最新状态".into())
            }
            other => other.into(),
        },
    )?;
    let detail = format!("{} → {}：{note}", from.label(), to.label());
    let audit = staff.audit_entry(now, "screening.handle", format!("screening_hit:{id}"), detail, Some(hit.org_code));
    state.audit(audit).await?;
    Ok(see_other(&format!("/staff/screening/{id}?done=handled")))
}

struct LeadRow {
    id: i64,
    kind: &'static str,
    place: String,
    programme: String,
    name: String,
    id_masked: String,
    detail: String,
    status: &'static str,
    open: bool,
    outcome: String,
}

#[derive(Template)]
#[template(path = "staff/outreach.html")]
struct OutreachPage {
    nav: Nav,
    notice: &'static str,
    leads: Vec<LeadRow>,
    total: i64,
    page: i64,
    has_more: bool,
    can_handle: bool,
    form_key: String,
}

#[derive(Deserialize)]
pub struct PageQuery {
    page: Option<i64>,
    #[serde(default)]
    done: String,
}

pub async fn outreach(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<PageQuery>,
) -> Result<Html<String>, AppError> {
    let within = &staff.scope.org_code;
    let page = q.page.unwrap_or(1).clamp(1, 100_000);
    let mut rows = state.store().outreach_leads(within, PAGE_SIZE + 1, (page - 1) * PAGE_SIZE).await?;
    let has_more = rows.len() as i64 > PAGE_SIZE;
    rows.truncate(PAGE_SIZE as usize);
    let leads = rows
        .into_iter()
        .map(|l| LeadRow {
            id: l.id,
            kind: l.kind.label(),
            place: l.org_name,
            programme: l.programme_name,
            name: l.name,
            id_masked: l.id_masked,
            detail: l.detail,
            status: l.status.label(),
            open: l.status == LeadStatus::Open,
            outcome: l.outcome.unwrap_or_default(),
        })
        .collect();
    let notice = match q.done.as_str() {
        "recorded" => "联系结果已记录。",
        "repeat" => "该表单已提交过，未重复处理。",
        _ => "",
    };
    let page = OutreachPage {
        nav: staff.nav(),
        notice,
        leads,
        total: state.store().count_outreach_leads(within).await?,
        page,
        has_more,
        can_handle: staff.role.allows(Permission::HandleOutreach),
        form_key: random_token(),
    };
    Ok(Html(page.render()?))
}

#[derive(Deserialize)]
pub struct OutcomeForm {
    #[serde(default)]
    form_key: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    outcome: String,
}

pub async fn record_outcome(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    Form(form): Form<OutcomeForm>,
) -> Result<Response, AppError> {
    let lead = state.store().find_outreach_lead(id).await?.ok_or(AppError::NotFound)?;
    staff.require_visible(&lead.org_code)?;
    let Some(status) = LeadStatus::outcome(&form.status) else {
        return Err(AppError::invalid("联系结果：请选择"));
    };
    let outcome = form.outcome.trim();
    if outcome.is_empty() || outcome.chars().count() > 500 {
        return Err(AppError::invalid("情况说明：请填写（不超过500字）"));
    }
    if !first_submit(&state, &staff, &form.form_key).await? {
        return Ok(see_other("/staff/outreach?done=repeat"));
    }
    let now = state.now();
    state.store().record_outreach_outcome(id, status, outcome, staff.user.id, now).await.map_err(|e| match e {
        xiaowei_store::StoreError::Stale(_) => AppError::Conflict("该线索已记录过联系结果".into()),
        other => other.into(),
    })?;
    let detail = format!("{}：{outcome}", status.label());
    let audit = staff.audit_entry(now, "outreach.outcome", format!("outreach_lead:{id}"), detail, Some(lead.org_code));
    state.audit(audit).await?;
    Ok(see_other("/staff/outreach?done=recorded"))
}

/// This area's staff routes, each with the permission it needs and its scope target.
pub(super) fn routes(r: StaffRoutes) -> StaffRoutes {
    r.get("/staff/registries", Permission::ManageRegistries, Target::None, registries)
        .post("/staff/registries", Permission::ManageRegistries, Target::None, import)
        .post(
            "/staff/registries/programmes/{programme}",
            Permission::ManageRegistries,
            Target::Programme,
            save_settings,
        )
        .post("/staff/registries/exclusive", Permission::ManageRegistries, Target::None, add_pair)
        .post("/staff/registries/exclusive/remove", Permission::ManageRegistries, Target::None, remove_pair)
        .post("/staff/screening/run", Permission::ManageRegistries, Target::None, run_now)
        .get("/staff/screening", Permission::ViewScreening, Target::None, list)
        .get("/staff/screening/export", Permission::ViewScreening, Target::None, export)
        .get("/staff/screening/{hit}", Permission::ViewScreening, Target::ScreeningHit, show)
        .post("/staff/screening/{hit}/handle", Permission::HandleScreening, Target::ScreeningHit, handle)
        .get("/staff/outreach", Permission::ViewOutreach, Target::None, outreach)
        .post("/staff/outreach/{lead}/outcome", Permission::HandleOutreach, Target::OutreachLead, record_outcome)
}
