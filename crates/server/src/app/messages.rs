//! The use cases of a 留言箱 message as a tracked request: leaving one (validation, quota, sealing
//! the phone, an anonymous reporter's query password, the texts to the handlers or — for a report
//! — the commission only, the audit record), a follower's WeChat text becoming a 咨询, assigning,
//! replying, closing, merging and hiding, the author's rating (不满意 reopens it), the reply clock
//! and the texts each sends. The public pages, the hall terminal (代办), the WeChat callback, the
//! back office and the demo all call these.
//!
//! A report (举报) protects its author: nothing here puts their name or phone into a text to anyone
//! else, the audit detail or the log.

use axum::body::Bytes;
use xiaowei_core::Phone;
use xiaowei_core::alert::AlertKind;
use xiaowei_core::message::{
    self, MessageAction, MessageKind, MessageNotice, MessageRecipient, MessageStatus, MessageTransitionError, PhoneRule,
};
use xiaowei_core::outbox::TextChannel;
use xiaowei_core::text::FreeText;
use xiaowei_core::tracked::{DayClock, Rating, TimelineKind};
use xiaowei_store::{
    Message, MessageChange, MessageClock, NewAuditEntry, NewEvent, NewMessage, NewOutbox, NewPhoto, Org, RecipientRow,
    RequestKind, WechatText,
};

use super::tracked::{Filer, Official, Outcome, calendar, calendar_as_of, draw_again, explain_deadline};
use crate::state::AppState;
use crate::web::error::AppError;
use crate::web::form::FieldErrors;

/// Messages one phone (or, without a phone, one client) may leave per hour.
const MESSAGES_PER_SENDER: i64 = 10;

/// How a message's deadline was counted, in plain Chinese (kept with the message).
pub fn deadline_basis(kind: MessageKind, clock: &DayClock) -> String {
    format!("{}留言答复期限：{}", kind.label(), explain_deadline(&clock.deadline))
}

/// The link a staff member follows from a text about a message.
pub fn staff_link(state: &AppState, tracking: &str) -> String {
    format!("{}/staff/inbox/{tracking}", state.config().site_url())
}

/// The author's private link to their message.
pub fn author_link(state: &AppState, tracking: &str) -> String {
    format!("{}/messages/{tracking}?k={}", state.config().site_url(), message_key(state, tracking))
}

/// The key that lets a link open a message without typing the phone number or password again.
pub fn message_key(state: &AppState, tracking: &str) -> String {
    state.cipher().token_tag("message-link", tracking)[..20].to_owned()
}

/// The outbox rows of `notice` about a message; `seq` tells repeated events apart. The author is
/// named in no row: their own text is addressed to 留言人 (or 举报人), and no text carries the
/// content or who wrote it.
pub async fn notices(
    state: &AppState,
    m: &Message,
    notice: MessageNotice,
    seq: i64,
) -> Result<Vec<NewOutbox>, AppError> {
    let kind = m.kind;
    let mut rows = state.store().message_recipients(&m.org_code, m.assigned_to).await?;
    if let (Some(phone_enc), Some(phone_idx)) = (&m.phone_enc, &m.phone_idx) {
        rows.push(RecipientRow {
            role: MessageRecipient::Author,
            name: String::new(),
            phone_enc: phone_enc.clone(),
            phone_idx: phone_idx.clone(),
        });
    }
    let recipients = notice.recipients(kind);
    let link = if recipients == [MessageRecipient::Author] {
        author_link(state, &m.tracking)
    } else {
        staff_link(state, &m.tracking)
    };
    let params = MessageNotice::params(&m.tracking, kind, &link);
    let params_json = serde_json::to_string(&params).map_err(|e| AppError::Internal(e.to_string()))?;
    let body = notice.render(&m.tracking, kind, &link);
    let mut seen = std::collections::HashSet::new();
    Ok(rows
        .into_iter()
        .filter(|r| recipients.contains(&r.role))
        .filter(|r| seen.insert(r.phone_idx.clone()))
        .map(|r| NewOutbox {
            dedup_key: format!(
                "msg:{}:{}:{seq}:{}",
                m.tracking,
                notice.key(),
                &r.phone_idx[..r.phone_idx.len().min(16)]
            ),
            channel: TextChannel::Sms,
            notice: notice.key().into(),
            recipient: match r.role {
                MessageRecipient::Author if kind == MessageKind::Report => "举报人".to_owned(),
                MessageRecipient::Author => "留言人".to_owned(),
                MessageRecipient::Handlers => format!("承办人员 {}", r.name),
                MessageRecipient::Assignee => format!("承办人 {}", r.name),
                MessageRecipient::Commission | MessageRecipient::CountySupervisor => format!("纪委监委 {}", r.name),
            },
            phone_enc: r.phone_enc,
            phone_idx: r.phone_idx,
            params: params_json.clone(),
            body: body.clone(),
        })
        .collect())
}

/// What the first public event says about the texts: who was told, or that no one could be.
fn notified(texts: &[NewOutbox], to: &str) -> String {
    if texts.is_empty() {
        "暂未找到可接收短信的承办人员，已提醒管理员设置".to_owned()
    } else {
        format!("已短信通知{to}")
    }
}

/// 留言无人接收: one alert per township and message kind; about reports, for the commission only.
async fn raise_unrouted(
    state: &AppState,
    township: &str,
    kind: MessageKind,
    tracking: &str,
    now: i64,
) -> Result<(), AppError> {
    let unrouted = super::tracked::Unrouted {
        kind: AlertKind::UnroutedMessage,
        org_code: township,
        route: format!("{township}:{}", kind.as_str()),
        tracking,
        what: format!("{}留言", kind.label()),
        link: "/staff/inbox".to_owned(),
        restricted: kind == MessageKind::Report,
    };
    super::tracked::raise_unrouted(state, unrouted, now).await
}

/// A message as it will be stored, for choosing the recipients of its first texts.
fn draft_message(n: &NewMessage) -> Message {
    Message {
        id: 0,
        tracking: n.tracking.clone(),
        kind: n.kind,
        org_code: n.org_code.clone(),
        author_name: String::new(),
        phone_enc: n.phone_enc.clone(),
        phone_idx: n.phone_idx.clone(),
        secret_idx: None,
        body: String::new(),
        allow_public: false,
        status: MessageStatus::Submitted,
        assigned_to: None,
        assignee_name: None,
        submitted_at: n.submitted_at,
        reply_due: n.reply_due,
        deadline_basis: String::new(),
        reminded_at: None,
        overdue_at: None,
        reply: None,
        reply_public: false,
        replied_at: None,
        merged_into: None,
        hidden_reason: None,
        rating: None,
        rating_comment: None,
        rated_at: None,
    }
}

/// Stores a new message under a fresh tracking number with its photos, first event (`note`
/// followed by who was texted) and texts. Returns (id, created, tracking); a repeated form finds
/// the message the first submission created.
async fn store_new(
    state: &AppState,
    mut new: NewMessage,
    photos: &[NewPhoto],
    first: (String, Option<i64>, String),
) -> Result<(i64, bool, String), AppError> {
    let kind = new.kind;
    let to = if kind == MessageKind::Report { "县纪委监委和乡镇纪委" } else { "承办人员" };
    let (actor, staff_user_id, note) = first;
    let submit_key = new.submit_key.clone();
    let at = new.submitted_at;
    let mut attempt = 1;
    let (id, created, unrouted) = loop {
        new.tracking = message::tracking_number(at, state.draw_digits());
        let texts = notices(state, &draft_message(&new), MessageNotice::Received, 0).await?;
        let event = NewEvent {
            kind: TimelineKind::Submitted,
            actor: actor.clone(),
            staff_user_id,
            method: None,
            note: format!("{note}，{}", notified(&texts, to)),
            public: true,
        };
        // An author who left a phone is texted the tracking number.
        let mut outgoing = notices(state, &draft_message(&new), MessageNotice::Filed, 0).await?;
        outgoing.extend(texts.iter().cloned());
        match state.store().create_message(&new, photos, &event, &outgoing).await {
            Err(e) if draw_again(&e, "messages_tracking_key", &mut attempt) => continue,
            Ok((id, created)) => break (id, created, texts.is_empty()),
            // The same form submitted twice at once: the other submission created the message.
            Err(e) if e.is_duplicate_of("messages_submit_key_key") => {
                let existing =
                    state.store().find_message_by_submit_key(&submit_key).await?.ok_or(AppError::NotFound)?;
                return Ok((existing.id, false, existing.tracking));
            }
            Err(e) => return Err(e.into()),
        }
    };
    let m = state.store().find_message(id).await?.ok_or(AppError::NotFound)?;
    if created {
        state.live().changed(&m.org_code);
        if unrouted {
            let township = match state.store().find_org(&m.org_code).await? {
                Some(o) if o.level == xiaowei_core::OrgLevel::Village => o.parent_code.unwrap_or(o.code),
                Some(o) => o.code,
                None => m.org_code.clone(),
            };
            raise_unrouted(state, &township, kind, &m.tracking, at).await?;
        }
    }
    Ok((id, created, m.tracking))
}

/// A message as the form gives it, unchecked.
#[derive(Debug, Clone, Default)]
pub struct Leaving {
    /// The form's once-only key: a second submission finds the first message.
    pub form_key: String,
    pub kind: String,
    /// The township itself or one of its villages.
    pub place: String,
    pub name: String,
    pub phone: String,
    pub body: String,
    /// The author allows the question and its answer on the public list.
    pub public: bool,
    pub photos: Vec<Bytes>,
}

/// What leaving a message did.
#[derive(Debug, Clone)]
pub struct Left {
    pub id: i64,
    pub tracking: String,
    pub created: bool,
    /// An anonymous reporter's query password, to be shown once on this response only.
    pub secret: Option<String>,
}

/// Leaves a message in `township`'s 留言箱 at `now`: checks every field (all faults at once, each
/// under its field: [`AppError::Fields`]), throttles the client, seals the phone, gives an
/// anonymous reporter a query password, starts the reply clock, texts the handlers (a report:
/// the commission only), and audits it without the reporter's identity.
pub async fn leave(state: &AppState, township: &Org, l: Leaving, filer: &Filer, now: i64) -> Result<Left, AppError> {
    if l.form_key.len() < 16 || l.form_key.len() > 128 {
        return Err(AppError::invalid("表单已失效，请刷新页面后重新填写"));
    }
    if let Some(existing) = state.store().find_message_by_submit_key(&l.form_key).await? {
        return Ok(Left { id: existing.id, tracking: existing.tracking, created: false, secret: None });
    }
    let mut errors = FieldErrors::new();
    let kind = MessageKind::parse(&l.kind);
    if kind.is_none() {
        errors.add("kind", "留言类别：请选择咨询、投诉、建议或举报");
    }
    let place = match state.store().find_org(&l.place).await? {
        Some(o) if o.code == township.code || o.parent_code.as_deref() == Some(township.code.as_str()) => Some(o),
        _ => {
            errors.add("place", "留言对象：请选择乡镇或所在村（社区）");
            None
        }
    };
    let name = xiaowei_core::text::normalize(&l.name);
    if name.chars().count() > 32 {
        errors.add("name", "称呼：不超过32个字");
    }
    let phone = match (l.phone.is_empty(), kind.map(MessageKind::phone_rule)) {
        (true, Some(PhoneRule::Required)) => {
            errors.add("phone", "手机号：投诉须留11位手机号码，便于工作人员联系核实");
            None
        }
        (true, _) => None,
        (false, _) => {
            Phone::parse(&l.phone).map_err(|_| errors.add("phone", "手机号：请填写11位手机号码，或不填")).ok()
        }
    };
    let body = match FreeText::parse(&l.body, message::MAX_BODY_CHARS) {
        Ok(b) if (message::MIN_BODY_CHARS..=message::MAX_BODY_CHARS).contains(&b.as_str().chars().count()) => {
            b.into_string()
        }
        Ok(_) => {
            errors.add(
                "body",
                format!("留言内容：请写明具体事情（{}至{}字）", message::MIN_BODY_CHARS, message::MAX_BODY_CHARS),
            );
            String::new()
        }
        Err(e) => {
            errors.add("body", format!("留言内容：{e}"));
            String::new()
        }
    };
    let (Some(kind), Some(place), true) = (kind, place, errors.is_empty()) else {
        return Err(AppError::Fields(errors));
    };
    let officer = filer.hall_officer.as_ref().and_then(|h| h.for_org(&place.code)).cloned();
    // With a phone, the quota follows the phone; without one, the client.
    let quota = match &phone {
        Some(p) => filer.vouch(p, &place.code, state.cipher())?,
        None => filer.quota.clone(),
    };
    if state.store().rate_event("message", &quota, now - 3600, now).await? >= MESSAGES_PER_SENDER {
        return Err(AppError::Throttled("提交过于频繁，请1小时后再试"));
    }
    let photos: Vec<NewPhoto> = crate::app::photos::store(state, &l.photos)
        .await?
        .into_iter()
        .map(|p| NewPhoto { sha256: p.sha256, size: p.size, content_type: p.content_type, original_name: p.name })
        .collect();
    let clock = message::reply_clock(&calendar(state).await?, kind, state.config().complaint_reply_days, now);
    let cipher = state.cipher();
    // An anonymous report gets a query password instead of a phone.
    let secret = (kind == MessageKind::Report && phone.is_none())
        .then(|| message::query_secret(&rand::random::<[u8; message::SECRET_LEN]>()));
    let new = NewMessage {
        tracking: String::new(),
        submit_key: l.form_key.clone(),
        kind,
        org_code: place.code.clone(),
        author_name: name,
        phone_enc: phone.as_ref().map(|p| cipher.encrypt(p.expose())),
        phone_idx: phone.as_ref().map(|p| cipher.blind_index("phone", p.expose())),
        secret_idx: secret.as_ref().map(|s| cipher.token_tag("message-secret", s)),
        body,
        allow_public: kind.may_be_public() && l.public,
        submitted_at: now,
        reply_due: clock.due,
        reply_remind_at: clock.remind_at,
        deadline_basis: deadline_basis(kind, &clock),
    };
    // 代办: the first event names the hall officer who filed it on the villager's behalf.
    let first = (
        officer.as_ref().map_or_else(|| "留言人".to_owned(), |u| format!("{}（代办）", u.display_name)),
        officer.as_ref().map(|u| u.id),
        format!("{}提交{}留言", if officer.is_some() { "工作人员在触摸终端代办，" } else { "" }, kind.label()),
    );
    let (id, created, tracking) = store_new(state, new, &photos, first).await?;
    if !created {
        return Ok(Left { id, tracking, created, secret: None });
    }
    // The audit detail never carries a reporter's phone, not even masked.
    let who = match (&phone, kind) {
        (_, MessageKind::Report) => String::from("举报人身份受保护"),
        (Some(p), _) => format!("手机 {}", p.masked()),
        (None, _) => String::from("未留手机"),
    };
    state
        .audit(NewAuditEntry {
            at: now,
            actor_id: officer.as_ref().map(|u| u.id),
            actor_name: officer.as_ref().map_or_else(|| "公众".to_owned(), |u| u.username.clone()),
            action: "message.create".into(),
            target: format!("message:{id}"),
            detail: format!("{}留言 {tracking}（{who}）", kind.label()),
            ip: if kind == MessageKind::Report { String::new() } else { filer.ip.clone() },
            org_code: Some(place.code.clone()),
        })
        .await?;
    Ok(Left { id, tracking, created, secret })
}

/// Turns a follower's free text sent to a township's official account into a 咨询 in that
/// township's 留言箱 (not public, no phone: the answer is read through the keyed link the reply
/// carries). Idempotent per stored text; returns the tracking number.
pub async fn from_wechat_text(state: &AppState, text: &WechatText) -> Result<String, AppError> {
    let kind = MessageKind::Question;
    let clock =
        message::reply_clock(&calendar(state).await?, kind, state.config().complaint_reply_days, text.received_at);
    let new = NewMessage {
        tracking: String::new(),
        submit_key: format!("wechat-inbox-{}", text.id),
        kind,
        org_code: text.township_code.clone(),
        author_name: "公众号关注者".into(),
        phone_enc: None,
        phone_idx: None,
        secret_idx: None,
        body: text.content.clone(),
        allow_public: false,
        submitted_at: text.received_at,
        reply_due: clock.due,
        reply_remind_at: clock.remind_at,
        deadline_basis: deadline_basis(kind, &clock),
    };
    let first = ("留言人".to_owned(), None, "通过乡镇公众号留言".to_owned());
    let (_, _, tracking) = store_new(state, new, &[], first).await?;
    state.store().mark_wechat_text_routed(text.id, state.now()).await?;
    Ok(tracking)
}

fn text_field(value: &str, field: &str, min: usize, max: usize) -> Result<String, AppError> {
    let value = value.trim();
    let n = value.chars().count();
    if n < min || n > max {
        return Err(AppError::invalid(format!("{field}：请填写（{min}至{max}字）")));
    }
    Ok(value.to_owned())
}

async fn audit(
    state: &AppState,
    by: &Official,
    m: &Message,
    action: &str,
    detail: String,
    now: i64,
) -> Result<(), AppError> {
    let target = format!("message:{}", m.id);
    by.audit(state, now, action, target, format!("留言{}：{detail}", m.tracking), &m.org_code).await
}

/// Roles a message may be assigned to: the commission for a report, handlers otherwise.
pub fn assignable_roles(kind: MessageKind) -> &'static [&'static str] {
    if kind == MessageKind::Report {
        &["supervisor", "township_reviewer"]
    } else {
        &["village_clerk", "township_admin", "township_reviewer", "supervisor"]
    }
}

/// Assigns a message to a staff account covering it (texts the assignee).
pub async fn assign(
    state: &AppState,
    m: &Message,
    by: &Official,
    form_key: &str,
    user_id: &str,
    now: i64,
) -> Result<Outcome, AppError> {
    let kind = m.kind;
    let user_id: i64 = user_id.trim().parse().map_err(|_| AppError::invalid("承办人：请选择"))?;
    let candidates = state.store().staff_covering(&m.org_code, assignable_roles(kind)).await?;
    let Some(user) = candidates.into_iter().find(|u| u.id == user_id) else {
        return Err(AppError::invalid("承办人：请选择本辖区内可以办理该留言的工作人员"));
    };
    let from = m.status;
    let Ok(transition) = message::transition(from, MessageAction::Assign) else {
        return Err(AppError::invalid(format!("交办：{}", MessageTransitionError { from })));
    };
    if !by.claim(state, form_key).await? {
        return Ok(Outcome::Repeat);
    }
    let assigned = Message { assigned_to: Some(user.id), ..m.clone() };
    let texts = notices(state, &assigned, MessageNotice::Assigned, now).await?;
    let event = by.event(TimelineKind::Assign, format!("交由{}办理", user.display_name), false);
    let change = MessageChange { assigned_to: Some(user.id), ..MessageChange::default() };
    if !state.store().change(m.id, transition, &change, &event, &texts, now).await? {
        return Ok(Outcome::Repeat);
    }
    audit(state, by, m, "message.assign", format!("交由{}办理", user.username), now).await?;
    Ok(Outcome::Done)
}

/// Answers a message (texts the author); only a question whose author allowed it may be
/// answered in public.
pub async fn reply(
    state: &AppState,
    m: &Message,
    by: &Official,
    form_key: &str,
    text: &str,
    public: bool,
    now: i64,
) -> Result<Outcome, AppError> {
    let text = text_field(text, "答复内容", 5, message::MAX_BODY_CHARS)?;
    let public = public && m.kind.may_be_public() && m.allow_public;
    if message::transition(m.status, MessageAction::Reply).is_err() {
        return Ok(Outcome::Repeat);
    }
    if !by.claim(state, form_key).await? {
        return Ok(Outcome::Repeat);
    }
    let texts = notices(state, m, MessageNotice::Replied, now).await?;
    let note = format!("{}答复：{text}", if public { "公开" } else { "" });
    let event = by.event(TimelineKind::Reply, note, true);
    let change = MessageChange { reply: Some((text, public, by.id)), ..MessageChange::default() };
    // A message assigned while the reply was written is answered from where it stands now.
    let mut status = m.status;
    loop {
        let Ok(transition) = message::transition(status, MessageAction::Reply) else { return Ok(Outcome::Repeat) };
        if state.store().change(m.id, transition, &change, &event, &texts, now).await? {
            break;
        }
        let now_stands = state.store().find_message(m.id).await?.ok_or(AppError::NotFound)?.status;
        if now_stands == status {
            return Ok(Outcome::Repeat);
        }
        status = now_stands;
    }
    audit(state, by, m, "message.reply", if public { "公开答复".into() } else { "答复".into() }, now).await?;
    Ok(Outcome::Done)
}

/// Closes an answered message, with an optional note.
pub async fn mark_handled(
    state: &AppState,
    m: &Message,
    by: &Official,
    form_key: &str,
    note: &str,
    now: i64,
) -> Result<Outcome, AppError> {
    let from = m.status;
    let Ok(transition) = message::transition(from, MessageAction::MarkHandled) else {
        return Err(AppError::invalid("办结：请先答复留言，答复后才能标记办结"));
    };
    if !by.claim(state, form_key).await? {
        return Ok(Outcome::Repeat);
    }
    let note: String = note.trim().chars().take(500).collect();
    let text = if note.is_empty() { "标记办结".to_owned() } else { format!("标记办结：{note}") };
    let event = by.event(TimelineKind::Handled, text, true);
    let change = MessageChange::default();
    if !state.store().change(m.id, transition, &change, &event, &[], now).await? {
        return Ok(Outcome::Repeat);
    }
    audit(state, by, m, "message.close", "标记办结".into(), now).await?;
    Ok(Outcome::Done)
}

/// Merges a message into `kept` (the same matter), noting it on both timelines. The caller has
/// checked that `kept` is in the official's scope.
pub async fn merge(
    state: &AppState,
    m: &Message,
    kept: &Message,
    by: &Official,
    form_key: &str,
    now: i64,
) -> Result<Outcome, AppError> {
    if kept.id == m.id {
        return Err(AppError::invalid("合并到：不能合并到本条留言自身"));
    }
    if (kept.kind == MessageKind::Report) != (m.kind == MessageKind::Report) {
        return Err(AppError::invalid("合并到：举报只能与举报合并"));
    }
    if kept.merged_into.is_some() || kept.status == MessageStatus::Hidden {
        return Err(AppError::invalid("合并到：要保留的留言已被合并或屏蔽，请选择另一条"));
    }
    let from = m.status;
    let Ok(transition) = message::transition(from, MessageAction::Merge) else {
        return Err(AppError::invalid(format!("合并：{}", MessageTransitionError { from })));
    };
    if !by.claim(state, form_key).await? {
        return Ok(Outcome::Repeat);
    }
    let event = by.event(TimelineKind::Merge, format!("与留言{}反映的问题相同，合并办理", kept.tracking), true);
    let change = MessageChange { merged_into: Some(kept.id), ..MessageChange::default() };
    if !state.store().change(m.id, transition, &change, &event, &[], now).await? {
        return Ok(Outcome::Repeat);
    }
    let note = by.event(TimelineKind::MergedIn, format!("留言{}与本条重复，已合并到本条", m.tracking), false);
    state.store().add_event(RequestKind::Message, kept.id, &note, now).await?;
    audit(state, by, m, "message.merge", format!("合并到{}", kept.tracking), now).await?;
    Ok(Outcome::Done)
}

/// Hides a message (abuse, nonsense) with a reason the author reads.
pub async fn hide(
    state: &AppState,
    m: &Message,
    by: &Official,
    form_key: &str,
    reason: &str,
    now: i64,
) -> Result<Outcome, AppError> {
    let reason = text_field(reason, "屏蔽原因（留言人可见）", 2, 200)?;
    let from = m.status;
    let Ok(transition) = message::transition(from, MessageAction::Hide) else {
        return Err(AppError::invalid(format!("屏蔽：{}", MessageTransitionError { from })));
    };
    if !by.claim(state, form_key).await? {
        return Ok(Outcome::Repeat);
    }
    let event = by.event(TimelineKind::Hide, format!("屏蔽留言，原因：{reason}"), true);
    let change = MessageChange { hidden_reason: Some(reason.clone()), ..MessageChange::default() };
    if !state.store().change(m.id, transition, &change, &event, &[], now).await? {
        return Ok(Outcome::Repeat);
    }
    audit(state, by, m, "message.hide", format!("屏蔽：{reason}"), now).await?;
    Ok(Outcome::Done)
}

/// The author rates the answer; 不满意 reopens the message with a new reply deadline and tells
/// the commission. A second rating (a double submit) changes nothing.
pub async fn rate(state: &AppState, m: &Message, rated: &Rating, now: i64) -> Result<Outcome, AppError> {
    let rating = rated.satisfaction;
    let from = m.status;
    let Ok(transition) = message::transition(from, MessageAction::Rate(rating)) else { return Ok(Outcome::Repeat) };
    let mut change = MessageChange { rating: Some(rated.clone()), ..MessageChange::default() };
    let mut texts = Vec::new();
    let mut note = rated.note();
    if rating.reopens() {
        let kind = m.kind;
        let calendar = calendar_as_of(state, m.submitted_at).await?;
        let clock = message::reply_clock(&calendar, kind, state.config().complaint_reply_days, now);
        change.new_due = Some((clock.due, clock.remind_at, deadline_basis(kind, &clock)));
        texts = notices(state, m, MessageNotice::Unsatisfied, now).await?;
        note = xiaowei_core::text::join_sentences(&note, "留言重新办理，已通知县纪委监委");
    }
    let event = NewEvent {
        kind: TimelineKind::Rate,
        actor: "留言人".into(),
        staff_user_id: None,
        method: None,
        note,
        public: true,
    };
    let changed = state.store().change(m.id, transition, &change, &event, &texts, now).await?;
    Ok(if changed { Outcome::Done } else { Outcome::Repeat })
}

/// One scheduler round for messages: sets every reply reminder and overdue mark due at `now`,
/// each once, with its texts. Returns how many marks this call set.
pub async fn run_clocks(state: &AppState, now: i64) -> Result<usize, AppError> {
    super::tracked::fire_due_marks(state, &MessageClock::ALL, now, |id, mark| async move {
        let Some(m) = state.store().find_message(id).await? else { return Ok(None) };
        let (notice, kind, note) = match mark {
            MessageClock::Reminder => {
                (MessageNotice::ReplyReminder, TimelineKind::Reminder, "距答复期限不足24小时，已短信提醒承办人")
            }
            MessageClock::Overdue => {
                (MessageNotice::ReplyOverdue, TimelineKind::Overdue, "超过答复期限未答复，标记逾期，已短信告知纪委监委")
            }
        };
        let notices = notices(state, &m, notice, 0).await?;
        let public = mark == MessageClock::Overdue;
        Ok(Some(super::tracked::ClockEntry { kind, note, public, notices }))
    })
    .await
}
