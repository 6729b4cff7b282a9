//! What every tracked request (办件, 留言, 异议) shares in the use-case layer: the working-day
//! calendar as the administrator keeps it and the plain-Chinese account of a deadline; drawing a
//! tracking number again on a clash; the official acting on a request (named on the timeline,
//! audited under their account, their form claimed once); the filer's view of the timeline
//! and of their own phone, and how a case's or message's page reads them aloud (朗读); and the
//! alert that a filing reached no one.

use std::future::Future;

use xiaowei_core::Phone;
use xiaowei_core::access::Scope;
use xiaowei_core::alert::{self, AlertKind, SubjectKind};
use xiaowei_core::tracked::TimelineKind;
use xiaowei_core::workday::{SpecialDay, WorkCalendar, WorkingDeadline};
use xiaowei_store::{Mark, NewAlert, NewAuditEntry, NewEvent, NewOutbox, StaffUser, StoreError};

use super::phones::ProvenPhone;
use crate::state::{AppState, TRACKING_ATTEMPTS};
use crate::web::dates::shanghai_time;
use crate::web::error::AppError;
use crate::web::listen::Listen;

/// What the filer's page of a case or message reads aloud first: its number, read character by
/// character (`number_label`: 办件编号 or 留言编号), and its status.
pub fn speak_status(listen: &mut Listen, number_label: &str, tracking: &str, status: &str, overdue: bool) {
    listen.say(format!("{number_label}：{}", xiaowei_core::spoken::code(tracking)));
    listen.say(format!("状态：{status}{}", if overdue { "，已逾期" } else { "" }));
}

/// What the filer's page reads aloud last: the reply (or `waiting`), the filer's rating and the
/// public timeline.
pub fn speak_outcome(
    listen: &mut Listen,
    reply: Option<&str>,
    waiting: &str,
    rating: (&str, Option<&str>),
    events: &[PublicEvent],
) {
    match reply {
        Some(reply) => listen.say(format!("答复：{reply}")),
        None => listen.say(waiting),
    };
    let (label, comment) = rating;
    if !label.is_empty() {
        let comment = comment.filter(|c| !c.is_empty()).map(|c| format!("，{c}")).unwrap_or_default();
        listen.say(format!("您的评价：{label}{comment}"));
    }
    listen.say("办理过程：");
    for e in events {
        listen.say(format!("{}，{}，{}", e.at, e.actor, e.note));
    }
}

/// One timeline entry on a filer's page.
pub struct PublicEvent {
    pub at: String,
    pub actor: String,
    pub note: String,
}

impl PublicEvent {
    /// The entry, if the filer may see it (`public` is the stored flag).
    pub fn shown(public: bool, at: i64, actor: String, note: String) -> Option<Self> {
        public.then(|| Self { at: shanghai_time(at), actor, note })
    }
}

/// The filer's sealed phone as their own page shows it (`139****1234`), or nothing if it does not
/// open.
pub fn masked_phone(state: &AppState, sealed: &[u8]) -> String {
    state.cipher().decrypt(sealed).ok().and_then(|p| Phone::parse(&p).ok()).map(|p| p.masked()).unwrap_or_default()
}

/// The working-day calendar as the administrator keeps it.
pub async fn calendar(state: &AppState) -> Result<WorkCalendar, AppError> {
    Ok(calendar_of(state.store().calendar_days().await?))
}

/// The working-day calendar as it stood at `at`: a clock that restarts later (reopening,
/// extension) counts on the calendar of the moment the request was filed, as its deadline
/// explanation says.
pub async fn calendar_as_of(state: &AppState, at: i64) -> Result<WorkCalendar, AppError> {
    Ok(calendar_of(state.store().calendar_days_as_of(at).await?))
}

fn calendar_of(days: Vec<xiaowei_store::CalendarDayRow>) -> WorkCalendar {
    WorkCalendar::new(
        days.into_iter().filter_map(|d| Some(SpecialDay { date: d.on_date.parse().ok()?, kind: d.kind, name: d.name })),
    )
}

fn chinese_date(d: jiff::civil::Date) -> String {
    format!("{}年{}月{}日", d.year(), d.month(), d.day())
}

/// How a working-day deadline was counted, in plain Chinese (kept with the request).
pub fn explain_deadline(d: &WorkingDeadline) -> String {
    let mut text = format!("自{}起算（当日不计），{}个工作日", chinese_date(d.start), d.working_days);
    let weekends = d.weekend_days_skipped();
    if weekends > 0 {
        text.push_str(&format!("；跳过周末{weekends}天"));
    }
    for (name, dates) in d.holidays_skipped() {
        let first = dates.first().copied().unwrap_or(d.start);
        let last = dates.last().copied().unwrap_or(d.start);
        text.push_str(&format!("；跳过{name}假期{}至{}共{}天", chinese_date(first), chinese_date(last), dates.len()));
    }
    for day in d.makeup_days_counted() {
        text.push_str(&format!("；{}为调休上班日，计入", chinese_date(day)));
    }
    for year in &d.uncovered_years {
        text.push_str(&format!("；{year}年节假日安排尚未录入，按周一至周五计算"));
    }
    text.push_str(&format!("；办理期限至{}24时", chinese_date(d.due)));
    text
}

/// Whether a failed insert should be tried again under a freshly drawn number: a clash on the
/// number's own unique `constraint` (another request took it first), while attempts remain (up
/// to `TRACKING_ATTEMPTS`). Six random digits a day clash rarely, and a clash never loses a
/// filing. Counts the attempt.
pub fn draw_again(e: &StoreError, constraint: &str, attempt: &mut usize) -> bool {
    let again = e.is_duplicate_of(constraint) && *attempt < TRACKING_ATTEMPTS;
    *attempt += 1;
    again
}

/// A staff member acting on a tracked request: named on the timeline, audited under their
/// account from their address.
#[derive(Debug, Clone)]
pub struct Official {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub ip: String,
}

impl Official {
    /// Claims a form's once-only key: `false` when this form was already submitted (a double
    /// submit), so the action is not done twice.
    pub async fn claim(&self, state: &AppState, form_key: &str) -> Result<bool, AppError> {
        claim_form(state, self.id, form_key).await
    }

    /// A timeline entry this official writes.
    pub fn event(&self, kind: TimelineKind, note: String, public: bool) -> NewEvent {
        NewEvent { kind, actor: self.display_name.clone(), staff_user_id: Some(self.id), method: None, note, public }
    }

    /// Records the action in the audit log; a failure to audit fails the action.
    pub async fn audit(
        &self,
        state: &AppState,
        at: i64,
        action: &str,
        target: String,
        detail: String,
        org_code: &str,
    ) -> Result<(), AppError> {
        state
            .audit(NewAuditEntry {
                at,
                actor_id: Some(self.id),
                actor_name: self.username.clone(),
                action: action.to_owned(),
                target,
                detail,
                ip: self.ip.clone(),
                org_code: Some(org_code.to_owned()),
            })
            .await
    }
}

/// Claims `form_key` for `user_id`: `false` when the same form was submitted before.
pub async fn claim_form(state: &AppState, user_id: i64, form_key: &str) -> Result<bool, AppError> {
    if form_key.len() < 16 || form_key.len() > 128 {
        return Err(AppError::invalid("表单已失效，请刷新页面后重新提交"));
    }
    Ok(state.store().claim_form(form_key, user_id, state.now()).await?)
}

/// What a staff action on a tracked request did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Done,
    /// Nothing: the same form was submitted before, or someone else acted first.
    Repeat,
}

/// Where a public filing came from, for quotas, the audit record, 代办 and who vouches for the
/// phone it gives.
#[derive(Debug, Clone, Default)]
pub struct Filer {
    /// The client's address (audited) and its quota key (throttling a filing without a phone).
    pub ip: String,
    pub quota: String,
    /// A hall officer logged in at a hall terminal, filing on the villager's behalf.
    pub hall_officer: Option<HallOfficer>,
    /// A WeChat follower filing from inside the account: (account township code, openid).
    pub follower: Option<(String, String)>,
    /// The phone this browser (or API client) proved by SMS code.
    pub proven: Option<ProvenPhone>,
    /// An integrator's system (the 12345 hotline) filing for a caller it spoke to.
    pub integrator: bool,
}

impl Filer {
    /// Whether the filer vouches for a typed phone without a proof: a hall officer at a terminal,
    /// a signed-in WeChat follower or an integrator.
    pub fn vouches_itself(&self) -> bool {
        self.hall_officer.is_some() || self.follower.is_some() || self.integrator
    }

    /// Checks that the phone a filing for `org_code` gives is vouched for: proven by SMS code in
    /// this browser, or given by a hall officer at a terminal, a WeChat follower signed in
    /// through the account, or an integrator. Answers the quota key of the filing: the phone, so
    /// that quotas follow the phone and not the address.
    pub fn vouch(&self, phone: &Phone, org_code: &str, cipher: &xiaowei_core::PiiCipher) -> Result<String, AppError> {
        let vouched = self.hall_officer.as_ref().is_some_and(|h| h.for_org(org_code).is_some())
            || self.follower.is_some()
            || self.integrator;
        match &self.proven {
            _ if vouched => {}
            Some(proven) if proven.is(phone) => {}
            Some(_) => return Err(AppError::invalid("手机号：与已验证的手机号不一致，请重新验证手机号")),
            None => return Err(AppError::invalid("手机号：请先通过短信验证码验证手机号")),
        }
        Ok(format!("phone:{}", &cipher.blind_index("phone", phone.expose())[..16]))
    }
}

/// A staff member logged in at an enrolled hall terminal with the right to file on a villager's
/// behalf (代办), and the township the terminal stands in.
#[derive(Debug, Clone)]
pub struct HallOfficer {
    pub user: StaffUser,
    pub township_code: String,
}

impl HallOfficer {
    /// The officer, if they may file for `org_code`: inside the terminal's township and their
    /// own scope.
    pub fn for_org(&self, org_code: &str) -> Option<&StaffUser> {
        let scope = Scope { org_code: self.user.org_code.clone(), department_id: None };
        (scope.covers_org(org_code) && xiaowei_core::org::is_within(org_code, &self.township_code))
            .then_some(&self.user)
    }
}

/// What was filed with no one to text about it (办件无人接收 / 留言无人接收).
pub struct Unrouted<'a> {
    pub kind: AlertKind,
    /// The township (or village) the alert belongs to.
    pub org_code: &'a str,
    /// `{item}:{township}` for a case, `{township}:{message kind}` for a message.
    pub route: String,
    /// The first filing found without a recipient, named in the summary as evidence.
    pub tracking: &'a str,
    pub what: String,
    pub link: String,
    /// About a report (举报): only the discipline commission sees the alert.
    pub restricted: bool,
}

/// Raises the alert that a route is dead right after a filing queued no text: one alert per
/// route, however many filings follow, so the admin is told once and the list stays readable.
pub async fn raise_unrouted(state: &AppState, u: Unrouted<'_>, now: i64) -> Result<(), AppError> {
    let alert = NewAlert {
        kind: u.kind,
        org_code: u.org_code.to_owned(),
        subject_kind: SubjectKind::Route,
        subject_id: u.route.clone(),
        dedup_key: alert::dedup_key(u.kind, SubjectKind::Route, &u.route, None),
        summary: format!("{}无人接收短信提醒（首件{}），请为承办人员登记手机号或设置接收人", u.what, u.tracking),
        link: u.link,
        restricted: u.restricted,
    };
    if state.store().raise_alert(&alert, now).await? {
        state.live().changed(u.org_code);
    }
    Ok(())
}

/// What a clock mark adds to a request when it fires: a timeline entry by 系统 and the texts.
pub struct ClockEntry {
    /// The timeline kind (a reminder, an overdue mark).
    pub kind: TimelineKind,
    pub note: &'static str,
    /// Whether the public timeline shows it (an overdue mark does, a reminder does not).
    pub public: bool,
    pub notices: Vec<NewOutbox>,
}

/// One scheduler round over `marks`: every request due for a mark at `now` gets it once, with
/// what `entry` prepares for it (nothing when the request is gone). Returns how many marks this
/// round set; another instance may have set the rest.
pub async fn fire_due_marks<M, F, Fut>(state: &AppState, marks: &[M], now: i64, entry: F) -> Result<usize, AppError>
where
    M: Mark,
    F: Fn(i64, M) -> Fut,
    Fut: Future<Output = Result<Option<ClockEntry>, AppError>>,
{
    let mut fired = 0;
    for &mark in marks {
        for id in state.store().due(mark, now, 200).await? {
            let Some(e) = entry(id, mark).await? else { continue };
            let event = NewEvent {
                kind: e.kind,
                actor: "系统".into(),
                staff_user_id: None,
                method: None,
                note: e.note.into(),
                public: e.public,
            };
            if state.store().fire(id, mark, &event, &e.notices, now).await? {
                fired += 1;
            }
        }
    }
    Ok(fired)
}
