//! The use cases of a 我要办事 case as a tracked request: filing an application (validation,
//! quota, sealing the phone and ID number, the texts to the officials, the audit record), the
//! first contact, progress notes, completion, extensions, the applicant's rating (不满意 reopens
//! it), the contact and completion clocks, and the texts each sends. The public pages, the hall
//! terminal (代办), the back office and the demo all call these.

use axum::body::Bytes;
use xiaowei_core::alert::AlertKind;
use xiaowei_core::outbox::TextChannel;
use xiaowei_core::service::{self, CaseAction, CaseStatus, ContactMethod, ExtensionStatus, Notice, Recipient};
use xiaowei_core::tracked::{Rating, TimelineKind, remind_at};
use xiaowei_core::{OrgLevel, Phone, ResidentId};
use xiaowei_store::{
    CaseChange, ClockMark, NewCase, NewEvent, NewOutbox, NewPhoto, RecipientRow, ServiceCase, ServiceItem,
};

use super::tracked::{Filer, Official, Outcome, calendar, calendar_as_of, draw_again, explain_deadline};
use crate::state::AppState;
use crate::web::dates::shanghai_time;
use crate::web::error::AppError;
use crate::web::form::FieldErrors;

/// Applications one phone may submit per hour.
const APPLICATIONS_PER_PHONE: i64 = 10;

/// The completion deadline's account, kept with the case.
pub fn deadline_basis(clocks: &service::Clocks) -> String {
    match &clocks.completion {
        service::CompletionDeadline::WorkingDays(d) => explain_deadline(d),
        service::CompletionDeadline::Hours { hours } => {
            format!("法定时限{hours}小时，自提交时起算，至{}", shanghai_time(clocks.completion_due))
        }
    }
}

/// The link an official follows from a text.
pub fn staff_link(state: &AppState, tracking: &str) -> String {
    format!("{}/staff/cases/{tracking}", state.config().site_url())
}

/// The applicant's private link to their case (tracking number plus a keyed check).
pub fn applicant_link(state: &AppState, tracking: &str) -> String {
    format!("{}/cases/{tracking}?k={}", state.config().site_url(), case_key(state, tracking))
}

/// The key that lets a link open a case without typing the phone number again.
pub fn case_key(state: &AppState, tracking: &str) -> String {
    state.cipher().token_tag("case-link", tracking)[..20].to_owned()
}

/// What a case notice needs to know about its case.
pub struct CaseRef<'a> {
    pub tracking: &'a str,
    pub item_name: &'a str,
    pub item_id: i64,
    pub org_code: &'a str,
    /// The applicant's sealed phone and its index.
    pub applicant: (&'a [u8], &'a str, &'a str),
}

impl<'a> CaseRef<'a> {
    pub fn of(case: &'a ServiceCase) -> Self {
        Self {
            tracking: &case.tracking,
            item_name: &case.item_name,
            item_id: case.item_id,
            org_code: &case.org_code,
            applicant: (&case.phone_enc, &case.phone_idx, &case.applicant_name),
        }
    }
}

/// The outbox rows of `notice` about a case; `seq` tells repeated events apart (0 for one-off
/// events). Each recipient phone is texted once per event even if it holds two roles.
pub async fn notices(
    state: &AppState,
    case: &CaseRef<'_>,
    notice: Notice,
    seq: i64,
) -> Result<Vec<NewOutbox>, AppError> {
    let mut rows = state.store().notice_recipients(case.item_id, case.org_code).await?;
    rows.push(RecipientRow {
        role: Recipient::Applicant,
        name: case.applicant.2.to_owned(),
        phone_enc: case.applicant.0.to_vec(),
        phone_idx: case.applicant.1.to_owned(),
    });
    let wanted: Vec<Recipient> = notice.recipients().to_vec();
    let link = if notice.recipients() == [Recipient::Applicant] {
        applicant_link(state, case.tracking)
    } else {
        staff_link(state, case.tracking)
    };
    let params = Notice::params(case.tracking, case.item_name, &link);
    let params_json = serde_json::to_string(&params).map_err(|e| AppError::Internal(e.to_string()))?;
    let body = notice.render(case.tracking, case.item_name, &link);
    // An applicant who applied inside WeChat and still follows the account is told there
    // (template message); anyone else by text.
    let follower = match state.store().case_follower(case.tracking).await? {
        Some((account, openid)) if wanted.contains(&Recipient::Applicant) => state
            .store()
            .follower(&account, &openid)
            .await?
            .filter(|f| f.subscribed)
            .map(|_| state.cipher().encrypt(&format!("{account}:{openid}"))),
        _ => None,
    };
    let mut seen = std::collections::HashSet::new();
    Ok(rows
        .into_iter()
        .filter(|r| wanted.contains(&r.role))
        .filter(|r| seen.insert(r.phone_idx.clone()))
        .map(|r| {
            let wechat = follower.clone().filter(|_| r.role == Recipient::Applicant);
            let channel = if wechat.is_some() { TextChannel::Wechat } else { TextChannel::Sms };
            NewOutbox {
                dedup_key: format!(
                    "case:{}:{}:{seq}:{}",
                    case.tracking,
                    notice.key(),
                    &r.phone_idx[..r.phone_idx.len().min(16)]
                ),
                channel,
                notice: notice.key().into(),
                recipient: format!("{} {}{}", r.role.label(), r.name, if wechat.is_some() { "（微信）" } else { "" }),
                phone_enc: wechat.unwrap_or(r.phone_enc),
                phone_idx: r.phone_idx,
                params: params_json.clone(),
                body: body.clone(),
            }
        })
        .collect())
}

/// An application as the form gives it, unchecked.
#[derive(Debug, Clone, Default)]
pub struct Application {
    /// The form's once-only key: a second submission finds the first case.
    pub form_key: String,
    pub name: String,
    pub phone: String,
    /// The village (or community) code.
    pub village: String,
    pub id_number: String,
    pub description: String,
    pub photos: Vec<Bytes>,
}

/// What filing did: the case's tracking number, and whether this call created it (`false` for
/// a repeated form, which finds the case the first submission created).
#[derive(Debug, Clone)]
pub struct Filed {
    pub tracking: String,
    pub created: bool,
}

/// Files an application for `item` at `now`: checks every field (all faults at once, each under
/// its field: [`AppError::Fields`]), throttles the client, seals the phone and ID number, draws a
/// tracking number (again on a clash), starts the contact and completion clocks, texts the officials (or says on the timeline that no one could
/// be reached, raising 办件无人接收), links a WeChat follower, and audits the filing.
pub async fn file(
    state: &AppState,
    item: &ServiceItem,
    a: Application,
    filer: &Filer,
    now: i64,
) -> Result<Filed, AppError> {
    if a.form_key.len() < 16 || a.form_key.len() > 128 {
        return Err(AppError::invalid("表单已失效，请刷新页面后重新填写"));
    }
    if let Some(existing) = state.store().find_case_by_submit_key(&a.form_key).await? {
        return Ok(Filed { tracking: existing.tracking, created: false });
    }
    let mut errors = FieldErrors::new();
    let name = xiaowei_core::text::normalize(&a.name);
    if name.is_empty() || name.chars().count() > 32 {
        errors.add("name", "姓名：请填写申请人姓名（不超过32个字）");
    }
    // The form carries no phone when the proven one went under it: its proof has since expired.
    let phone = if a.phone.trim().is_empty() && filer.proven.is_none() && !filer.vouches_itself() {
        errors.add("phone", "手机号：手机号验证已过期，请重新获取短信验证码验证后再提交");
        None
    } else {
        Phone::parse(&a.phone).map_err(|_| errors.add("phone", "手机号：请填写11位手机号码，用于工作人员联系您")).ok()
    };
    let village = match state.store().find_org(&a.village).await? {
        Some(v) if v.level == OrgLevel::Village => Some(v),
        _ => {
            errors.add("village", "所在村（社区）：请选择");
            None
        }
    };
    let resident_id = if item.requires_id || !a.id_number.is_empty() {
        ResidentId::parse(&a.id_number).map_err(|e| errors.add("id_number", format!("身份证号：{e}"))).ok()
    } else {
        None
    };
    let description = a.description;
    if description.chars().count() < 5 || description.chars().count() > service::MAX_TEXT_CHARS {
        errors.add("description", format!("需求描述：请写明要办理的事情（5至{}字）", service::MAX_TEXT_CHARS));
    }
    let (Some(phone), Some(village), true) = (phone, village, errors.is_empty()) else {
        return Err(AppError::Fields(errors));
    };
    let officer = filer.hall_officer.as_ref().and_then(|h| h.for_org(&village.code)).cloned();
    let quota = filer.vouch(&phone, &village.code, state.cipher())?;
    if state.store().rate_event("service_case", &quota, now - 3600, now).await? >= APPLICATIONS_PER_PHONE {
        return Err(AppError::Throttled("该手机号提交过于频繁，请1小时后再试"));
    }
    let photos: Vec<NewPhoto> = crate::app::photos::store(state, &a.photos)
        .await?
        .into_iter()
        .map(|p| NewPhoto { sha256: p.sha256, size: p.size, content_type: p.content_type, original_name: p.name })
        .collect();
    let clocks = service::clocks(&calendar(state).await?, item.time_limit, now);
    let cipher = state.cipher();
    let phone_enc = cipher.encrypt(phone.expose());
    let phone_idx = cipher.blind_index("phone", phone.expose());
    let resident_id_enc = resident_id.as_ref().map(|r| cipher.encrypt(r.expose()));
    let mut attempt = 1;
    let stored = loop {
        let tracking = service::tracking_number(now, state.draw_digits());
        let case = NewCase {
            tracking: tracking.clone(),
            submit_key: a.form_key.clone(),
            item_id: item.id,
            department_id: item.department_id,
            org_code: village.code.clone(),
            applicant_name: name.clone(),
            phone_enc: phone_enc.clone(),
            phone_idx: phone_idx.clone(),
            resident_id_enc: resident_id_enc.clone(),
            description: description.clone(),
            filed_by: officer.as_ref().map(|u| u.id),
            submitted_at: now,
            contact_due: clocks.contact_due,
            contact_remind_at: clocks.contact_remind_at,
            completion_due: clocks.completion_due,
            completion_remind_at: clocks.completion_remind_at,
            deadline_basis: deadline_basis(&clocks),
        };
        let case_ref = CaseRef {
            tracking: &tracking,
            item_name: &item.name,
            item_id: item.id,
            org_code: &village.code,
            applicant: (&phone_enc, &phone_idx, &name),
        };
        let texts = notices(state, &case_ref, Notice::CaseSubmitted, 0).await?;
        let event = NewEvent {
            kind: TimelineKind::Submitted,
            actor: officer.as_ref().map_or_else(|| "申请人".to_owned(), |u| format!("{}（代办）", u.display_name)),
            staff_user_id: officer.as_ref().map(|u| u.id),
            method: None,
            note: format!(
                "{}提交申请，{}",
                if officer.is_some() { "工作人员在触摸终端代办，" } else { "" },
                if texts.is_empty() {
                    "暂未找到可接收短信的承办人员，已提醒管理员设置".to_owned()
                } else {
                    format!("已短信通知部门主要领导、分管领导、经办人和乡镇经办人（{}条）", texts.len())
                }
            ),
            public: true,
        };
        // The applicant's confirmation carries the tracking number.
        let mut outgoing = notices(state, &case_ref, Notice::CaseReceived, 0).await?;
        outgoing.extend(texts.iter().cloned());
        match state.store().create_case(&case, &photos, &event, &outgoing).await {
            Err(e) if draw_again(&e, "service_cases_tracking_key", &mut attempt) => continue,
            Ok((id, created)) => break (id, created, tracking, texts.is_empty()),
            // The same form submitted twice at once: the other submission created the case.
            Err(e) if e.is_duplicate_of("service_cases_submit_key_key") => {
                let existing = state.store().find_case_by_submit_key(&a.form_key).await?.ok_or(AppError::NotFound)?;
                return Ok(Filed { tracking: existing.tracking, created: false });
            }
            Err(e) => return Err(e.into()),
        }
    };
    let (case_id, created, tracking, unrouted) = stored;
    if !created {
        let existing = state.store().find_case(case_id).await?.ok_or(AppError::NotFound)?;
        return Ok(Filed { tracking: existing.tracking, created: false });
    }
    state.live().changed(&village.code);
    let township = village.parent_code.clone().unwrap_or_else(|| village.code.clone());
    if unrouted {
        let unrouted = super::tracked::Unrouted {
            kind: AlertKind::UnroutedCase,
            org_code: &township,
            route: format!("{}:{township}", item.id),
            tracking: &tracking,
            what: format!("办事事项“{}”", item.name),
            link: format!("/staff/services/{}", item.id),
            restricted: false,
        };
        super::tracked::raise_unrouted(state, unrouted, now).await?;
    }
    // An applicant with a proven phone who gave their ID number: their household is reached.
    if let (Some(_), Some(id)) = (&filer.proven, &resident_id) {
        crate::app::phones::mark_household(state, &name, id, &village.code, now).await?;
    }
    // Inside WeChat, the case belongs to the follower too (我的办件, notices by WeChat).
    if let Some((account, openid)) = &filer.follower
        && *account == township
    {
        state.store().link_case_to_follower(case_id, account, openid).await?;
    }
    state
        .audit(xiaowei_store::NewAuditEntry {
            at: now,
            actor_id: officer.as_ref().map(|u| u.id),
            actor_name: officer.as_ref().map_or_else(|| "公众".to_owned(), |u| u.username.clone()),
            action: "service_case.create".into(),
            target: format!("service_case:{case_id}"),
            detail: format!(
                "{}申请“{}”（手机 {}）",
                if officer.is_some() { "代办" } else { "在线" },
                item.name,
                phone.masked()
            ),
            ip: filer.ip.clone(),
            org_code: Some(village.code.clone()),
        })
        .await?;
    Ok(Filed { tracking, created: true })
}

fn text_field(value: &str, field: &str, min: usize) -> Result<String, AppError> {
    let value = value.trim();
    let n = value.chars().count();
    if n < min || n > service::MAX_TEXT_CHARS {
        return Err(AppError::invalid(format!("{field}：请填写（{min}至{}字）", service::MAX_TEXT_CHARS)));
    }
    Ok(value.to_owned())
}

async fn audit(
    state: &AppState,
    by: &Official,
    case: &ServiceCase,
    action: &str,
    detail: String,
    now: i64,
) -> Result<(), AppError> {
    let target = format!("service_case:{}", case.id);
    by.audit(state, now, action, target, format!("办件{}：{detail}", case.tracking), &case.org_code).await
}

/// The first contact with the applicant (the 24-hour clock stops): texts the applicant.
pub async fn record_contact(
    state: &AppState,
    case: &ServiceCase,
    by: &Official,
    form_key: &str,
    method: &str,
    note: &str,
    now: i64,
) -> Result<Outcome, AppError> {
    let method = ContactMethod::parse(method).ok_or_else(|| AppError::invalid("联系方式：请选择"))?;
    let note = text_field(note, "联系情况", 2)?;
    let from = case.status;
    let Ok(transition) = service::transition(from, CaseAction::Contact) else { return Ok(Outcome::Repeat) };
    if !by.claim(state, form_key).await? {
        return Ok(Outcome::Repeat);
    }
    let texts = notices(state, &CaseRef::of(case), Notice::CaseContacted, 0).await?;
    let event = NewEvent {
        method: Some(method),
        ..by.event(TimelineKind::Contact, format!("{}：{note}", method.label()), true)
    };
    let change = CaseChange { contacted: true, ..CaseChange::default() };
    if !state.store().change(case.id, transition, &change, &event, &texts, now).await? {
        return Ok(Outcome::Repeat);
    }
    audit(state, by, case, "service_case.contact", format!("首次联系（{}）", method.label()), now).await?;
    Ok(Outcome::Done)
}

/// A progress note on an open case, public if `public`.
pub async fn add_progress(
    state: &AppState,
    case: &ServiceCase,
    by: &Official,
    form_key: &str,
    note: &str,
    public: bool,
    now: i64,
) -> Result<Outcome, AppError> {
    let note = text_field(note, "办理进展", 2)?;
    if !by.claim(state, form_key).await? {
        return Ok(Outcome::Repeat);
    }
    let event = by.event(TimelineKind::Progress, note, public);
    let not_open = || AppError::invalid("该办件当前不能记录进展（尚未联系或已办结）");
    let transition = service::transition(case.status, CaseAction::Progress).map_err(|_| not_open())?;
    if !state.store().change(case.id, transition, &CaseChange::default(), &event, &[], now).await? {
        return Err(not_open());
    }
    Ok(Outcome::Done)
}

/// Completes a contacted (or reopened) case with the reply the applicant reads; texts them.
pub async fn complete(
    state: &AppState,
    case: &ServiceCase,
    by: &Official,
    form_key: &str,
    reply: &str,
    now: i64,
) -> Result<Outcome, AppError> {
    let reply = text_field(reply, "答复内容（申请人可见）", 5)?;
    let from = case.status;
    if from == CaseStatus::Submitted {
        return Err(AppError::invalid("请先记录与申请人的首次联系，再办结"));
    }
    let Ok(transition) = service::transition(from, CaseAction::Complete) else { return Ok(Outcome::Repeat) };
    if !by.claim(state, form_key).await? {
        return Ok(Outcome::Repeat);
    }
    let texts = notices(state, &CaseRef::of(case), Notice::CaseCompleted, now).await?;
    let event = by.event(TimelineKind::Complete, format!("办结答复：{reply}"), true);
    let change = CaseChange { completed_reply: Some(reply), ..CaseChange::default() };
    if !state.store().change(case.id, transition, &change, &event, &texts, now).await? {
        return Ok(Outcome::Repeat);
    }
    audit(state, by, case, "service_case.complete", "办结".into(), now).await?;
    Ok(Outcome::Done)
}

/// Asks for more working days on the completion deadline (decided by the county supervisor).
pub async fn request_extension(
    state: &AppState,
    case: &ServiceCase,
    by: &Official,
    form_key: &str,
    days: &str,
    reason: &str,
    now: i64,
) -> Result<Outcome, AppError> {
    let days: u32 = days
        .trim()
        .parse()
        .map_err(|_| AppError::invalid(format!("延期天数：请填写1至{}之间的工作日数", service::MAX_EXTENSION_DAYS)))?;
    let reason = text_field(reason, "延期理由", 5)?;
    let pending = state.store().case_extensions(case.id).await?.iter().any(|e| e.status == ExtensionStatus::Requested);
    let status = case.status;
    if !by.claim(state, form_key).await? {
        return Ok(Outcome::Repeat);
    }
    service::check_extension(status, case.completion_due, now, days, pending)
        .map_err(|e| AppError::invalid(format!("延期：{e}")))?;
    let event = by.event(TimelineKind::ExtensionRequested, format!("申请延期{days}个工作日：{reason}"), false);
    if !state.store().request_extension(case.id, i64::from(days), &reason, by.id, &event, now).await? {
        return Err(AppError::invalid("延期：已有待审批的延期申请"));
    }
    audit(state, by, case, "service_case.extension.request", format!("申请延期{days}个工作日"), now).await?;
    Ok(Outcome::Done)
}

/// Approves (moving the completion deadline on by the requested working days) or rejects (with a
/// reason) a pending extension.
#[allow(clippy::too_many_arguments)]
pub async fn decide_extension(
    state: &AppState,
    case: &ServiceCase,
    by: &Official,
    form_key: &str,
    extension_id: i64,
    decision: &str,
    note: &str,
    now: i64,
) -> Result<Outcome, AppError> {
    let extension =
        state.store().find_extension(extension_id).await?.filter(|e| e.case_id == case.id).ok_or(AppError::NotFound)?;
    let approve = match decision {
        "approve" => true,
        "reject" => false,
        _ => return Err(AppError::invalid("审批结果：请选择批准或不批准")),
    };
    let note = note.trim().chars().take(500).collect::<String>();
    if !approve && note.chars().count() < 2 {
        return Err(AppError::invalid("审批意见：不批准时请说明理由"));
    }
    if !by.claim(state, form_key).await? {
        return Ok(Outcome::Repeat);
    }
    let days = u32::try_from(extension.days).unwrap_or(1);
    let (decision, text) = if approve {
        let calendar = calendar_as_of(state, case.submitted_at).await?;
        let (due, deadline) = service::extended(&calendar, case.completion_due, days);
        let basis = format!("延期{days}个工作日：{}", explain_deadline(&deadline));
        (Some((due, remind_at(now, due), basis.clone())), format!("批准延期{days}个工作日。{basis}"))
    } else {
        (None, format!("不批准延期：{note}"))
    };
    let kind = if approve { TimelineKind::ExtensionApproved } else { TimelineKind::ExtensionRejected };
    let event = by.event(kind, text, true);
    if !state.store().decide_extension(extension.id, decision, by.id, &note, &event, now).await? {
        return Ok(Outcome::Repeat);
    }
    let action = if approve { "service_case.extension.approve" } else { "service_case.extension.reject" };
    audit(state, by, case, action, format!("延期{days}个工作日"), now).await?;
    Ok(Outcome::Done)
}

/// The applicant rates the reply; 不满意 reopens the case with a new completion deadline and
/// tells the commission. A second rating (a double submit) changes nothing.
pub async fn rate(state: &AppState, case: &ServiceCase, rated: &Rating, now: i64) -> Result<Outcome, AppError> {
    let rating = rated.satisfaction;
    let from = case.status;
    let Ok(transition) = service::transition(from, CaseAction::Rate(rating)) else { return Ok(Outcome::Repeat) };
    let mut change = CaseChange { rating: Some(rated.clone()), ..CaseChange::default() };
    let mut texts = Vec::new();
    let mut note = rated.note();
    if rating.reopens() {
        let item = state.store().find_service_item(case.item_id).await?.ok_or(AppError::NotFound)?;
        let clocks = service::clocks(&calendar_as_of(state, case.submitted_at).await?, item.time_limit, now);
        change.new_completion = Some((clocks.completion_due, clocks.completion_remind_at, deadline_basis(&clocks)));
        texts = notices(state, &CaseRef::of(case), Notice::CaseUnsatisfied, now).await?;
        note = xiaowei_core::text::join_sentences(&note, "办件重新办理，已通知县纪委监委");
    }
    let event = NewEvent {
        kind: TimelineKind::Rate,
        actor: "申请人".into(),
        staff_user_id: None,
        method: None,
        note,
        public: true,
    };
    let changed = state.store().change(case.id, transition, &change, &event, &texts, now).await?;
    Ok(if changed { Outcome::Done } else { Outcome::Repeat })
}

fn clock_notice(mark: ClockMark) -> (Notice, TimelineKind, &'static str) {
    match mark {
        ClockMark::ContactReminder => {
            (Notice::ContactReminder, TimelineKind::ContactReminder, "距24小时联系时限不足4小时，已短信提醒经办人")
        }
        ClockMark::ContactOverdue => (
            Notice::ContactOverdue,
            TimelineKind::ContactOverdue,
            "超过24小时未联系群众，标记逾期，已短信告知部门主要领导和县纪委监委",
        ),
        ClockMark::CompletionReminder => {
            (Notice::CompletionReminder, TimelineKind::CompletionReminder, "距办理期限不足24小时，已短信提醒经办人")
        }
        ClockMark::CompletionOverdue => (
            Notice::CompletionOverdue,
            TimelineKind::CompletionOverdue,
            "超过办理期限未办结，标记逾期，已短信告知部门主要领导和县纪委监委",
        ),
    }
}

/// One scheduler round: sets every reminder and overdue mark due at `now`, each once, with its
/// texts. Returns how many marks this call set (another instance may have set the rest).
pub async fn run_clocks(state: &AppState, now: i64) -> Result<usize, AppError> {
    super::tracked::fire_due_marks(state, &ClockMark::ALL, now, |id, mark| async move {
        let Some(case) = state.store().find_case(id).await? else { return Ok(None) };
        let (notice, kind, note) = clock_notice(mark);
        let notices = notices(state, &CaseRef::of(&case), notice, 0).await?;
        let public = matches!(mark, ClockMark::ContactOverdue | ClockMark::CompletionOverdue);
        Ok(Some(super::tracked::ClockEntry { kind, note, public, notices }))
    })
    .await
}
