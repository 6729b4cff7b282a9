//! The use cases of an objection (异议) as a tracked request: filing it with its reply deadline,
//! a reviewer's answer (the objector is texted when it is final), the objector's rating (不满意
//! reopens it with a new deadline), the reminder and overdue clocks, and the texts each sends.
//! Handlers in `subsidies` (public) and `staff::objections` call these and render.
//!
//! Texts to staff name the place only and link to the staff list: an objection's tracking code
//! opens its content, so it reaches no one but the objector and the commission.

use xiaowei_core::Phone;
use xiaowei_core::objection::{
    self, DEFAULT_REPLY_DAYS, ObjectionAction, ObjectionNotice, ObjectionRecipient, ObjectionStatus,
};
use xiaowei_core::outbox::TextChannel;
use xiaowei_core::tracked::{Rating, Satisfaction, TimelineKind};
use xiaowei_store::{
    NewEvent, NewObjection, NewOutbox, Objection, ObjectionChange, ObjectionClock, RatingChange, RecipientRow,
};

use crate::state::{AppState, TRACKING_ATTEMPTS};
use crate::web::error::AppError;
use crate::web::places::place_name;

/// An objection as the public form gives it, checked.
pub struct Filing {
    pub form_key: String,
    pub org_code: String,
    pub roster_id: Option<i64>,
    pub entry_id: Option<i64>,
    pub programme_id: Option<i64>,
    pub name: String,
    pub phone: Phone,
    pub body: String,
}

/// What filing did: a new objection, or the one a repeated form already filed.
pub enum Filed {
    New(String),
    Repeat(String),
}

/// The link a reviewer follows from a text.
fn staff_link(state: &AppState) -> String {
    format!("{}/staff/objections", state.config().site_url())
}

/// The objector's link to their objection.
fn objector_link(state: &AppState, code: &str) -> String {
    format!("{}/objections/{code}", state.config().site_url())
}

/// The reply deadline of an objection to `roster_id` / `programme_id` starting at `from`.
async fn deadline(
    state: &AppState,
    roster_id: Option<i64>,
    programme_id: Option<i64>,
    from: i64,
) -> Result<objection::ReplyDeadline, AppError> {
    let publicity_end = match roster_id {
        Some(id) => state.store().find_roster(id).await?.and_then(|r| r.publicity_end).and_then(|d| d.parse().ok()),
        None => None,
    };
    let days = match programme_id {
        Some(id) => state
            .store()
            .find_programme(id)
            .await?
            .and_then(|p| u32::try_from(p.objection_reply_days).ok())
            .unwrap_or(DEFAULT_REPLY_DAYS),
        None => DEFAULT_REPLY_DAYS,
    };
    Ok(objection::reply_deadline(&crate::app::tracked::calendar(state).await?, from, publicity_end, days))
}

/// The outbox rows of `notice` about an objection; `seq` tells repeated events apart.
pub async fn notices(
    state: &AppState,
    o: &Objection,
    notice: ObjectionNotice,
    seq: i64,
) -> Result<Vec<NewOutbox>, AppError> {
    let mut rows = state.store().objection_recipients(&o.org_code).await?;
    rows.push(RecipientRow {
        role: ObjectionRecipient::Objector,
        name: String::new(),
        phone_enc: o.phone_enc.clone(),
        phone_idx: o.phone_idx.clone(),
    });
    let wanted = notice.recipients();
    let link = if notice == ObjectionNotice::Answered { objector_link(state, &o.code) } else { staff_link(state) };
    let place = place_name(state, &o.org_code).await?;
    let params = notice.params(&o.code, &place, &link);
    let params_json = serde_json::to_string(&params).map_err(|e| AppError::Internal(e.to_string()))?;
    let body = notice.render(&o.code, &place, &link);
    let mut seen = std::collections::HashSet::new();
    Ok(rows
        .into_iter()
        .filter(|r| wanted.contains(&r.role))
        .filter(|r| seen.insert(r.phone_idx.clone()))
        .map(|r| NewOutbox {
            dedup_key: format!("obj:{}:{}:{seq}:{}", o.id, notice.key(), &r.phone_idx[..r.phone_idx.len().min(16)]),
            channel: TextChannel::Sms,
            notice: notice.key().into(),
            recipient: match r.role {
                ObjectionRecipient::Objector => "异议人".to_owned(),
                ObjectionRecipient::Reviewers => format!("乡镇审核人 {}", r.name),
                ObjectionRecipient::Commission => format!("县纪委监委 {}", r.name),
            },
            phone_enc: r.phone_enc,
            phone_idx: r.phone_idx,
            params: params_json.clone(),
            body: body.clone(),
        })
        .collect())
}

/// An objection as it will be stored, for choosing the recipients of its first texts.
fn draft(n: &NewObjection, now: i64) -> Objection {
    Objection {
        id: 0,
        code: n.code.clone(),
        org_code: n.org_code.clone(),
        roster_id: n.roster_id,
        entry_id: n.entry_id,
        programme_id: n.programme_id,
        name: String::new(),
        phone_enc: n.phone_enc.clone(),
        phone_idx: n.phone_idx.clone(),
        body: String::new(),
        status: ObjectionStatus::Open,
        reply: None,
        created_at: now,
        updated_at: now,
        reply_due: n.reply_due,
        reply_remind_at: n.reply_remind_at,
        deadline_basis: n.deadline_basis.clone(),
        reminded_at: None,
        overdue_at: None,
        replied_at: None,
        rating: None,
        rating_comment: None,
        rated_at: None,
    }
}

/// An objection's tracking code: eight characters of a 32-letter alphabet (40 bits) from a
/// random draw. A double submit is recognised by the form's once-only key, not by the code.
fn tracking_code(random: u64) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    (0..8).map(|i| ALPHABET[usize::try_from((random >> (5 * i)) & 31).unwrap_or_default()] as char).collect()
}

/// Files an objection with its deadline, first timeline entry and the reviewers' texts. A code
/// clash draws another code; a repeated form finds the objection it filed.
pub async fn file(state: &AppState, f: Filing, now: i64) -> Result<Filed, AppError> {
    if let Some(existing) = state.store().find_objection_by_submit_key(&f.form_key).await? {
        return Ok(Filed::Repeat(existing.code));
    }
    let due = deadline(state, f.roster_id, f.programme_id, now).await?;
    let mut new = NewObjection {
        code: String::new(),
        submit_key: f.form_key.clone(),
        org_code: f.org_code,
        roster_id: f.roster_id,
        entry_id: f.entry_id.filter(|_| f.roster_id.is_some()),
        programme_id: f.programme_id,
        name: f.name,
        phone_enc: state.cipher().encrypt(f.phone.expose()),
        phone_idx: state.cipher().blind_index("phone", f.phone.expose()),
        body: f.body,
        reply_due: due.due,
        reply_remind_at: due.remind_at,
        deadline_basis: due.basis,
    };
    let event = NewEvent {
        kind: TimelineKind::Submitted,
        actor: "异议人".into(),
        staff_user_id: None,
        method: None,
        note: format!("提交异议，{}", new.deadline_basis),
        public: true,
    };
    let mut attempt = 1;
    loop {
        new.code = tracking_code(state.draw());
        let texts = notices(state, &draft(&new, now), ObjectionNotice::Received, 0).await?;
        match state.store().create_objection(&new, &event, &texts, now).await {
            Ok(_) => break,
            Err(e) if e.is_duplicate_of("objections_code_key") && attempt < TRACKING_ATTEMPTS => attempt += 1,
            // The same form submitted twice at once: show the objection the other one filed.
            Err(e) if e.is_duplicate_of("objections_submit_key_key") => {
                let existing =
                    state.store().find_objection_by_submit_key(&f.form_key).await?.ok_or(AppError::NotFound)?;
                return Ok(Filed::Repeat(existing.code));
            }
            Err(e) => return Err(e.into()),
        }
    }
    // The roster page shows its objections: this instance serves it anew from the next view.
    crate::web::shared_pages::read_version(state).await;
    Ok(Filed::New(new.code))
}

/// The objector's current rating, if any.
pub fn rating_of(o: &Objection) -> Option<Satisfaction> {
    o.rating
}

/// What the objector and staff read as the status.
pub fn status_label(o: &Objection) -> &'static str {
    o.status.label(rating_of(o))
}

/// A reviewer (`by`, named `actor`) answers; a final answer (`last`) closes the objection and
/// texts the objector. Returns `false` when the objection was closed meanwhile.
pub async fn answer(
    state: &AppState,
    o: &Objection,
    (by, actor): (i64, &str),
    last: bool,
    reply: &str,
    now: i64,
) -> Result<bool, AppError> {
    let answer = ObjectionAction::Answer { last };
    objection::transition(o.status, rating_of(o).is_some(), answer).map_err(|e| AppError::Conflict(e.to_string()))?;
    let change = ObjectionChange {
        reply: Some((reply.to_owned(), by)),
        rating: if last { RatingChange::Clear } else { RatingChange::Keep },
        new_due: None,
    };
    let texts = if last { notices(state, o, ObjectionNotice::Answered, now).await? } else { Vec::new() };
    let heading = if last { "答复" } else { "处理中" };
    let event = NewEvent {
        kind: TimelineKind::Reply,
        actor: actor.to_owned(),
        staff_user_id: Some(by),
        method: None,
        note: format!("{heading}：{reply}"),
        public: true,
    };
    // An interim answer given meanwhile leaves the objection open: answer from where it stands now.
    let (mut status, mut changed) = (o.status, false);
    while let Ok(transition) = objection::transition(status, rating_of(o).is_some(), answer) {
        if state.store().change(o.id, transition, &change, &event, &texts, now).await? {
            changed = true;
            break;
        }
        let now_stands = state.store().find_objection(o.id).await?.ok_or(AppError::NotFound)?.status;
        if now_stands == status {
            break;
        }
        status = now_stands;
    }
    if changed {
        crate::web::shared_pages::read_version(state).await;
    }
    Ok(changed)
}

/// The objector rates the final answer; 不满意 reopens the objection with a new deadline and
/// tells the reviewers and the commission. A second rating of one answer changes nothing.
pub async fn rate(state: &AppState, o: &Objection, rating: &Rating, now: i64) -> Result<(), AppError> {
    let action = ObjectionAction::Rate(rating.satisfaction);
    let transition = match objection::transition(o.status, rating_of(o).is_some(), action) {
        Ok(transition) => transition,
        Err(objection::ObjectionTransitionError::AlreadyRated) => return Ok(()),
        Err(e) => return Err(AppError::Conflict(e.to_string())),
    };
    let mut change = ObjectionChange { rating: RatingChange::Set(rating.clone()), ..ObjectionChange::default() };
    let mut texts = Vec::new();
    let mut note = rating.note();
    if rating.satisfaction.reopens() {
        let due = deadline(state, o.roster_id, o.programme_id, now).await?;
        note.push_str(&format!("。异议重新办理，{}", due.basis));
        change.new_due = Some((due.due, due.remind_at, due.basis));
        texts = notices(state, o, ObjectionNotice::Unsatisfied, now).await?;
    }
    let event = NewEvent {
        kind: TimelineKind::Rate,
        actor: "异议人".into(),
        staff_user_id: None,
        method: None,
        note,
        public: true,
    };
    if state.store().change(o.id, transition, &change, &event, &texts, now).await? {
        crate::web::shared_pages::read_version(state).await;
    }
    Ok(())
}

/// One scheduler round: sets every reply reminder and overdue mark due at `now`, each once, with
/// its texts to the township reviewers (and, when overdue, the commission). Returns how many
/// marks this call set.
pub async fn run_clocks(state: &AppState, now: i64) -> Result<usize, AppError> {
    super::tracked::fire_due_marks(state, &ObjectionClock::ALL, now, |id, mark| async move {
        let Some(o) = state.store().find_objection(id).await? else { return Ok(None) };
        let (notice, kind, note) = match mark {
            ObjectionClock::Reminder => {
                (ObjectionNotice::ReplyReminder, TimelineKind::Reminder, "距答复期限不足24小时，已短信提醒乡镇审核人")
            }
            ObjectionClock::Overdue => (
                ObjectionNotice::ReplyOverdue,
                TimelineKind::Overdue,
                "超过答复期限未答复，标记逾期，已短信告知乡镇审核人和县纪委监委",
            ),
        };
        // A reopened objection runs its clock again: the reopening time tells the rounds apart.
        let notices = notices(state, &o, notice, o.rated_at.unwrap_or(0)).await?;
        let public = mark == ObjectionClock::Overdue;
        Ok(Some(super::tracked::ClockEntry { kind, note, public, notices }))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_use_the_unambiguous_alphabet() {
        let code = tracking_code(u64::MAX);
        assert_eq!(code.len(), 8);
        assert!(code.chars().all(|c| !"IO01".contains(c)), "{code}");
        assert_ne!(tracking_code(1), tracking_code(2));
    }
}
