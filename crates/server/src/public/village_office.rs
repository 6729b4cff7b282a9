//! "Who to find in the village" (村委会坐班) on the public village page: the village's cadres
//! with their published work phones as tap-to-call links, who is on duty today and this week,
//! and its meeting notices with minutes. Cadre phones are stored encrypted like every phone, but
//! the village publishes them as work contacts, so this page (and only this page) shows them in
//! full. Nothing here writes.

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use jiff::civil::Date;
use xiaowei_core::OrgLevel;
use xiaowei_core::village_office::{Duty, DutyOverride, DutyRota, WEEK, weekday_label};
use xiaowei_store::{Cadre, DutyOverrideRow, Meeting, Store};

use crate::state::AppState;
use crate::web::dates::{parse_date, shanghai_date};
use crate::web::error::AppError;

/// Days of the rota the village page lists, starting today.
const DAYS_SHOWN: i32 = 7;
/// How far ahead the village page lists holiday arrangements beyond those days.
const OVERRIDES_AHEAD_DAYS: i32 = 92;
/// Past meetings the village page lists.
const PAST_SHOWN: i64 = 5;

pub fn router() -> Router<AppState> {
    Router::new().route("/t/{township}/v/{village}/meetings/{meeting}/file", get(minutes_file))
}

/// A cadre as the village page shows them.
pub struct CadreView {
    pub name: String,
    pub title: String,
    pub duties: String,
    /// Digits only, for `tel:`.
    pub phone: String,
    /// `139 0937 0001`, easy to read aloud.
    pub phone_display: String,
    pub on_duty_today: bool,
}

/// One day of the rota.
pub struct DayView {
    /// `3月2日`
    pub date: String,
    pub weekday: &'static str,
    pub is_today: bool,
    /// The cadre on duty, when there is one.
    pub person: Option<DutyPerson>,
    /// `春节`, `书记外出学习`: why the day differs from the weekly pattern.
    pub note: String,
    /// No duty by an override (holiday), as opposed to nobody named for the weekday.
    pub closed: bool,
}

pub struct DutyPerson {
    pub name: String,
    pub title: String,
    pub phone: String,
    pub phone_display: String,
}

/// A meeting notice as the village page shows it.
pub struct MeetingView {
    pub when: String,
    pub place: String,
    pub agenda: String,
    pub audiences: String,
    pub minutes: String,
    /// Link to the minutes file, when one was uploaded.
    pub file_url: String,
}

/// Everything the village page shows about the village office.
pub struct OfficeView {
    pub cadres: Vec<CadreView>,
    /// Whether any weekly duty or override is set (otherwise the rota shows its empty state).
    pub has_rota: bool,
    /// Today and the following days; the first is today.
    pub week: Vec<DayView>,
    /// Overrides after the days in `week`, within the next three months.
    pub later: Vec<DayView>,
    pub upcoming: Vec<MeetingView>,
    pub past: Vec<MeetingView>,
}

impl OfficeView {
    /// Today's entry of the rota.
    pub fn today(&self) -> Option<&DayView> {
        self.week.first()
    }
}

/// `13909370001` → `139 0937 0001`.
pub fn phone_display(phone: &str) -> String {
    if phone.len() == 11 && phone.is_ascii() {
        format!("{} {} {}", &phone[..3], &phone[3..7], &phone[7..])
    } else {
        phone.to_owned()
    }
}

/// A cadre's phone in clear.
pub fn cadre_phone(state: &AppState, cadre: &Cadre) -> Result<String, AppError> {
    state.cipher().decrypt(&cadre.phone_enc).map_err(|e| AppError::Internal(format!("cadre {}: {e}", cadre.id)))
}

/// The village's rota with the overrides from `from` on (earlier ones no longer matter).
pub async fn rota_of(store: &Store, org_code: &str, from: Date) -> Result<(DutyRota, Vec<DutyOverrideRow>), AppError> {
    let weekly = store.weekly_duty(org_code).await?;
    let rows = store.duty_overrides_from(org_code, &from.to_string()).await?;
    let slots = weekly.iter().filter_map(|w| {
        let index = usize::try_from(w.weekday - 1).ok()?;
        WEEK.get(index).map(|day| (*day, w.cadre_id))
    });
    let overrides = rows
        .iter()
        .filter_map(|o| Some(DutyOverride { date: parse_date(&o.on_date)?, cadre: o.cadre_id, note: o.note.clone() }))
        .collect();
    Ok((DutyRota::new(slots, overrides), rows))
}

/// `3月2日`
pub fn month_day(date: Date) -> String {
    format!("{}月{}日", date.month(), date.day())
}

/// `2026年3月2日 周一 09:30` in Asia/Shanghai.
pub fn meeting_time(unix_seconds: i64) -> String {
    jiff::Timestamp::from_second(unix_seconds)
        .map(|t| {
            let z = t.to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::Offset::constant(8)));
            format!("{}年{} {} {}", z.year(), month_day(z.date()), weekday_label(z.weekday()), z.strftime("%H:%M"))
        })
        .unwrap_or_default()
}

fn meeting_view(township: &str, m: Meeting) -> MeetingView {
    MeetingView {
        when: meeting_time(m.starts_at),
        audiences: m.audiences.labels(),
        file_url: m
            .minutes_attachment_id
            .map(|_| format!("/t/{township}/v/{}/meetings/{}/file", m.org_code, m.id))
            .unwrap_or_default(),
        place: m.place,
        agenda: m.agenda,
        minutes: m.minutes.unwrap_or_default(),
    }
}

fn day_view(date: Date, today: Date, duty: Duty<'_>, people: &[(Cadre, String)]) -> DayView {
    let person = duty.cadre().and_then(|id| people.iter().find(|(c, _)| c.id == id)).map(|(c, phone)| DutyPerson {
        name: c.name.clone(),
        title: c.title.clone(),
        phone: phone.clone(),
        phone_display: phone_display(phone),
    });
    let (note, closed) = match duty {
        Duty::Substitute { note, .. } => (note.to_owned(), false),
        Duty::Closed { note } => (note.to_owned(), true),
        Duty::Weekly(_) | Duty::Nobody => (String::new(), false),
    };
    DayView {
        date: month_day(date),
        weekday: weekday_label(date.weekday()),
        is_today: date == today,
        person,
        note,
        closed,
    }
}

/// Builds the village office part of the village page for `village_code` in `township_code`.
pub async fn office_view(state: &AppState, township_code: &str, village_code: &str) -> Result<OfficeView, AppError> {
    let store = state.store();
    let now = state.now();
    let today = shanghai_date(now);
    let mut people = Vec::new();
    for cadre in store.cadres_of(village_code).await? {
        let phone = cadre_phone(state, &cadre)?;
        people.push((cadre, phone));
    }
    let (rota, overrides) = rota_of(store, village_code, today).await?;
    let week: Vec<DayView> = (0..DAYS_SHOWN)
        .filter_map(|n| today.checked_add(jiff::Span::new().days(n)).ok())
        .map(|date| day_view(date, today, rota.on(date), &people))
        .collect();
    let horizon = today.checked_add(jiff::Span::new().days(OVERRIDES_AHEAD_DAYS)).unwrap_or(Date::MAX);
    let last_shown = today.checked_add(jiff::Span::new().days(DAYS_SHOWN - 1)).unwrap_or(Date::MAX);
    let later = overrides
        .iter()
        .filter_map(|o| parse_date(&o.on_date))
        .filter(|d| *d > last_shown && *d <= horizon)
        .map(|date| day_view(date, today, rota.on(date), &people))
        .collect();
    let on_duty = rota.on(today).cadre();
    let cadres = people
        .into_iter()
        .map(|(c, phone)| CadreView {
            on_duty_today: on_duty == Some(c.id),
            phone_display: phone_display(&phone),
            phone,
            name: c.name,
            title: c.title,
            duties: c.duties,
        })
        .collect();
    let upcoming = store
        .upcoming_meetings(village_code, now, 20)
        .await?
        .into_iter()
        .map(|m| meeting_view(township_code, m))
        .collect();
    let past = store
        .past_meetings(village_code, now, PAST_SHOWN)
        .await?
        .into_iter()
        .map(|m| meeting_view(township_code, m))
        .collect();
    Ok(OfficeView { cadres, has_rota: !rota.is_empty(), week, later, upcoming, past })
}

/// The minutes file of a village's meeting: minutes are public once uploaded.
async fn minutes_file(
    State(state): State<AppState>,
    Path((township, village, meeting)): Path<(String, String, i64)>,
) -> Result<Response, AppError> {
    let org = state.org(&village).await?.ok_or(AppError::NotFound)?;
    if org.level != OrgLevel::Village || org.parent_code.as_deref() != Some(township.as_str()) {
        return Err(AppError::NotFound);
    }
    let m = state.store().find_meeting(&village, meeting).await?.ok_or(AppError::NotFound)?;
    let id = m.minutes_attachment_id.ok_or(AppError::NotFound)?;
    let a = state.store().find_attachment(id).await?.ok_or(AppError::NotFound)?;
    crate::web::respond::attachment_response(&state, &a, true).await
}
