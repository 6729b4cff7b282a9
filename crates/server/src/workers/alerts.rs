//! The alert scan (预警扫描): finds every alert condition in bulk, one store query per kind, and
//! raises an alert per subject with a link to its evidence. The workers loop runs it; tests call
//! [`scan`] with a controlled `now`.
//!
//! Raising is idempotent by dedup key, so the scan may run on every instance at once and as often
//! as wanted. Summaries name tracking numbers, items, places and officials' roles, never an
//! applicant's or reporter's name or phone.
//!
//! ## 远程监控平台: alerts (预警) and the live overview
//!
//! The county commission's view of the platform in operation, scoped like every staff page (a
//! township account sees its township). `Permission::ViewMonitor` opens it (supervisors, county and
//! township admins, township reviewers); `Permission::HandleAlerts` handles alerts (the commission:
//! county supervisors county-wide, the township's 纪委书记 for their township).
//!
//! **Alerts.** `core::alert` holds the kinds (超24小时未联系, 超期未办结, 群众不满意, 超一个季度未公开,
//! 权力运行环节缺失或超时, 发放与公示不一致, 短信接收人连续未响应, 触摸终端离线超1小时), the handling state machine (new →
//! looked at → resolved, a resolution needs a note), the dedup key per (kind, subject[, episode]) and
//! the rules that are more than a comparison: a power exercise is flagged by the public timeline rule
//! (`power::evaluate`, late or skipped steps — a step merely overdue today may still be done), a
//! village's required disclosures (三务公开: party, village affairs, finance) lapse by the public
//! 未按时公开 rule, and dead routing is a case officer or township handler whose last
//! `DEAD_ROUTING_CASES` (3) new-case texts, with the contact deadline passed, were all followed by no
//! timely contact. The table `alerts` (migration `0015_alerts.sql`) has a UNIQUE dedup key: the
//! store's `raise_alert` is `INSERT … ON CONFLICT DO NOTHING`, so a re-scan on any number of
//! instances never duplicates an alert or resets its handling; `look_at_alert` and `resolve_alert`
//! are compare-and-set on the status. An episode in the key makes a new occurrence a new alert (a
//! second 不满意 rating, a new lapse after a disclosure, a new streak of ignored texts). One store query
//! per kind finds its condition in bulk (`cases_contact_breached`, `deadlines_breached`,
//! `unsatisfied_ratings`, `villages_last_disclosed`, `published_power_timelines`,
//! `differing_paid_rosters`, `routed_new_cases`). `server::alerts::scan(state, now)` runs them all
//! and raises what it finds (reading first which dedup keys exist, so a quiet round writes nothing); the workers loop (`notify::spawn_workers`) calls it every round and the
//! demo once, tests with a controlled `now`. Summaries name tracking numbers, items, places and
//! officials' roles, never an applicant's or reporter's identity; an alert about a report (举报) is
//! `restricted` and, like the report, does not exist for anyone outside the commission (404).
//! `/staff/alerts` lists alerts with filters (kind, status, township), pagination and counts per
//! township; `/staff/alerts/{id}` links to the evidence (the case, the message, the village's
//! disclosure page, the power record, the roster) and carries the handling forms (a confirmation box
//! before resolving); each step is audited (`alert.look`, `alert.resolve`).
//!
//! **Live overview.** `server::live` computes the figures of a scope (`Store::live_figures`: open and
//! overdue cases and messages, contact-overdue cases, this month's ratings, new alerts;
//! `latest_arrivals`: the ten newest cases and messages as time, place and item — no personal data;
//! reports count for the commission only). `/staff/live` renders them server-side (with a refresh
//! link, so the page works without JavaScript), `/staff/live/screen` is the big screen (大屏: dark,
//! no navigation, sized for 1920×1080, a meta refresh as the no-JavaScript fallback), and
//! `/staff/live/events` is an SSE stream (`text/event-stream`, keep-alive) of `figures` events.
//! `AppState::live()` is a `tokio::sync::broadcast` hub: the public apply handler, the message
//! handlers and the alert scan announce the org code of what they created after commit; each open
//! stream re-sends its figures when the change lies in its scope, and every 10 seconds anyway, so
//! changes made through another instance arrive too; on shutdown the hub ends every stream, since a
//! graceful stop waits for open requests. `static/live.js` (no inline script: the CSP
//! forbids it) rewrites the tiles; `EventSource` reconnects by itself and the page reloads if the
//! stream is refused. The overview also shows today's page views (`Store::visits_by_day`, as written
//! by the visit counter) and the hall terminals in scope, online or offline by their last heartbeat
//! (`Store::list_kiosk_terminals`, `core::kiosk::is_online`); a terminal silent for more than an hour
//! (`core::alert::kiosk_outage`) raises a 触摸终端离线超1小时 alert, one per outage (its start is the
//! episode), linking to that list. For the discipline commission only, a tile counts 大数据比对 hits waiting for or
//! under verification and those confirmed (`Store::screening_counts`).

use std::collections::HashMap;

use xiaowei_core::alert::{self, AlertKind, DEAD_ROUTING_CASES, SubjectKind};
use xiaowei_core::disclosure::Category;
use xiaowei_core::message::MessageKind;
use xiaowei_core::outbox::TextChannel;
use xiaowei_core::power::{self, RecordedStep};
use xiaowei_core::tracked::beijing_date;
use xiaowei_store::{ConditionRow, NewAlert, NewOutbox};

use crate::state::AppState;
use crate::web::dates::shanghai_time;
use crate::web::error::AppError;

/// Recipients of new-case texts whose job is to contact the applicant (see `notify`): the dead
/// routing rule watches them, not the leaders who are told for information.
const CONTACTING_ROLES: [&str; 2] = ["经办人 ", "乡镇经办人 "];

/// Runs one scan at `now`; returns how many alerts were newly raised.
pub async fn scan(state: &AppState, now: i64) -> Result<usize, AppError> {
    let mut found = Vec::new();
    for row in state.store().cases_contact_breached(now).await? {
        found.push(record_alert(
            AlertKind::ContactOverdue,
            &row,
            None,
            format!("超过24小时未联系群众（{}）", row.detail),
        ));
    }
    for row in state.store().deadlines_breached(now).await? {
        let what = if row.subject == SubjectKind::Case {
            "超过办理期限未办结"
        } else {
            "超过答复期限未答复"
        };
        found.push(record_alert(AlertKind::DeadlineOverdue, &row, None, what.to_owned()));
    }
    for row in state.store().unsatisfied_ratings().await? {
        let episode = row.at.to_string();
        found.push(record_alert(AlertKind::Unsatisfied, &row, Some(&episode), "群众评价为不满意".to_owned()));
    }
    found.extend(disclosure_alerts(state, now).await?);
    found.extend(power_alerts(state, now).await?);
    for r in state.store().differing_paid_rosters().await? {
        let id = r.roster_id.to_string();
        found.push(NewAlert {
            kind: AlertKind::RosterDifferences,
            org_code: r.org_code,
            subject_kind: SubjectKind::Roster,
            dedup_key: alert::dedup_key(AlertKind::RosterDifferences, SubjectKind::Roster, &id, None),
            summary: format!("{}（{}）发放名册与公示名册有{}处不一致", r.programme, r.period, r.differences),
            link: format!("/staff/rosters/{id}"),
            subject_id: id,
            restricted: false,
        });
    }
    found.extend(dead_routing_alerts(state, now).await?);
    found.extend(kiosk_alerts(state, now).await?);
    let keys: Vec<String> = found.iter().map(|a| a.dedup_key.clone()).collect();
    let known = state.store().known_alert_keys(&keys).await?;
    let mut raised = 0;
    let mut places = Vec::new();
    for a in found.iter().filter(|a| !known.contains(&a.dedup_key)) {
        if state.store().raise_alert(a, now).await? {
            raised += 1;
            places.push(a.org_code.clone());
        }
    }
    for place in places {
        state.live().changed(&place);
    }
    Ok(raised)
}

/// The commission's daily alert digest (预警日报): from 08:00 Beijing time each day, one text to
/// each supervisor account with a phone, counting by kind the alerts raised in its scope in the
/// 24 hours before 08:00 (none when nothing was raised). The outbox's dedup key
/// (`alert_digest:<day>:<account>`) makes it once per day and person, however often the workers
/// run and on however many instances. Returns how many digests were due this round.
pub async fn daily_digest(state: &AppState, now: i64) -> Result<usize, AppError> {
    let (day, from, to) = alert::digest_window(now);
    let link = format!("{}/staff/alerts?status=new", state.config().site_url());
    let mut texts = Vec::new();
    for r in state.store().digest_recipients().await? {
        let counts: Vec<(AlertKind, i64)> = state
            .store()
            .alert_kind_counts(&r.org_code, true, None, Some((from, to)))
            .await?
            .into_iter()
            .map(|c| (c.kind, c.count))
            .collect();
        let Some(body) = alert::digest_text(day, &counts, &link) else { continue };
        let total: i64 = counts.iter().map(|(_, n)| n).sum();
        let params = [
            ("date", format!("{}月{}日", day.month(), day.day())),
            ("count", total.to_string()),
            ("link", link.clone()),
        ];
        texts.push(NewOutbox {
            dedup_key: format!("{}:{day}:{}", alert::DIGEST_NOTICE, r.id),
            channel: TextChannel::Sms,
            notice: alert::DIGEST_NOTICE.into(),
            recipient: format!("县纪委监委 {}", r.display_name),
            phone_enc: r.phone_enc,
            phone_idx: r.phone_idx,
            params: serde_json::to_string(&params).map_err(|e| AppError::Internal(e.to_string()))?,
            body,
        });
    }
    if !texts.is_empty() {
        state.store().enqueue(&texts, now).await?;
    }
    Ok(texts.len())
}

/// Hall terminals not heard from for more than an hour, one alert per outage.
async fn kiosk_alerts(state: &AppState, now: i64) -> Result<Vec<NewAlert>, AppError> {
    let mut found = Vec::new();
    for t in state.store().list_kiosk_terminals("").await? {
        let Some(since) = alert::kiosk_outage(t.enrolled_at, t.last_seen_at, t.revoked_at.is_some(), now) else {
            continue;
        };
        let id = t.id.to_string();
        found.push(NewAlert {
            kind: AlertKind::KioskOffline,
            org_code: t.township_code.clone(),
            subject_kind: SubjectKind::Kiosk,
            dedup_key: alert::dedup_key(AlertKind::KioskOffline, SubjectKind::Kiosk, &id, Some(&since.to_string())),
            summary: format!("触摸终端「{}」自 {} 起没有心跳", t.name, shanghai_time(since)),
            link: "/staff/live#kiosks".into(),
            subject_id: id,
            restricted: false,
        });
    }
    Ok(found)
}

/// An alert about a case, a message or an objection; alerts about reports (举报) are for the
/// commission only. An objection is named by its id, never by the code that opens its content.
fn record_alert(kind: AlertKind, row: &ConditionRow, episode: Option<&str>, what: String) -> NewAlert {
    let (subject, name, link) = match row.subject {
        SubjectKind::Case => (SubjectKind::Case, "办件".to_owned(), format!("/staff/cases/{}", row.tracking)),
        SubjectKind::Objection => {
            (SubjectKind::Objection, "花名册异议#".to_owned(), format!("/staff/objections#objection-{}", row.tracking))
        }
        _ => {
            let label = MessageKind::parse(&row.detail).map_or("留言", MessageKind::label);
            (SubjectKind::Message, format!("{label}留言"), format!("/staff/inbox/{}", row.tracking))
        }
    };
    NewAlert {
        kind,
        org_code: row.org_code.clone(),
        subject_kind: subject,
        subject_id: row.tracking.clone(),
        dedup_key: alert::dedup_key(kind, subject, &row.tracking, episode),
        summary: format!("{name}{}{what}", row.tracking),
        link,
        restricted: row.subject == SubjectKind::Message && row.detail == MessageKind::Report.as_str(),
    }
}

/// Villages that have not disclosed a required category (三务公开) for more than a quarter, by the
/// 未按时公开 rule of the public pages. A later lapse after a new disclosure is a new alert.
async fn disclosure_alerts(state: &AppState, now: i64) -> Result<Vec<NewAlert>, AppError> {
    let today = beijing_date(now);
    let mut last: HashMap<(String, Category), i64> = HashMap::new();
    let mut villages: Vec<(String, String)> = Vec::new();
    for row in state.store().villages_last_disclosed().await? {
        if villages.last().is_none_or(|(code, _)| *code != row.code) {
            villages.push((row.code.clone(), row.name.clone()));
        }
        if let (Some(category), Some(at)) = (row.category, row.last_published_at) {
            last.insert((row.code, category), at);
        }
    }
    // One alert per village and overdue period (the quarter it is found in), naming every
    // required category that has lapsed.
    let period = alert::disclosure_overdue_period(today);
    let mut out = Vec::new();
    for (code, name) in villages {
        let township = &code[..code.len().min(9)];
        let lapsed: Vec<String> = Category::REQUIRED
            .iter()
            .filter_map(|category| {
                let published = last.get(&(code.clone(), *category)).copied();
                alert::disclosure_lapsed(published.map(beijing_date), today).then(|| {
                    let since =
                        published.map_or_else(|| "从未公开".to_owned(), |at| format!("上次公开于{}", beijing_date(at)));
                    format!("{}（{since}）", category.label())
                })
            })
            .collect();
        if lapsed.is_empty() {
            continue;
        }
        out.push(NewAlert {
            kind: AlertKind::DisclosureOverdue,
            org_code: code.clone(),
            subject_kind: SubjectKind::Village,
            dedup_key: alert::dedup_key(AlertKind::DisclosureOverdue, SubjectKind::Village, &code, Some(&period.key())),
            summary: format!(
                "{}超过一个季度未公开（{}）：{}",
                xiaowei_core::org::display_name(&name),
                period.label(),
                lapsed.join("、")
            ),
            link: format!("/t/{township}/disclosures?village={code}"),
            subject_id: code,
            restricted: false,
        });
    }
    Ok(out)
}

/// Published power exercises with a skipped or late step.
async fn power_alerts(state: &AppState, now: i64) -> Result<Vec<NewAlert>, AppError> {
    let today = beijing_date(now);
    let mut out = Vec::new();
    for t in state.store().published_power_timelines().await? {
        let Some(start) = power::parse_day(&t.started_on) else { continue };
        let recorded: Vec<RecordedStep> = t
            .steps
            .iter()
            .filter_map(|(no, day)| {
                Some(RecordedStep { step_no: usize::try_from(*no).ok()?, done_on: power::parse_day(day)? })
            })
            .collect();
        let Some(flags) = alert::power_flags(&t.limits, start, &recorded, today) else { continue };
        let mut what = Vec::new();
        if flags.skipped > 0 {
            what.push(format!("{}个环节跳过未办", flags.skipped));
        }
        if flags.late > 0 {
            what.push(format!("{}个环节超时办理", flags.late));
        }
        let id = t.id.to_string();
        out.push(NewAlert {
            kind: AlertKind::PowerSteps,
            org_code: t.org_code,
            subject_kind: SubjectKind::PowerExercise,
            dedup_key: alert::dedup_key(AlertKind::PowerSteps, SubjectKind::PowerExercise, &id, None),
            summary: format!("“{}”（{}）{}", t.title, t.item_name, what.join("，")),
            link: format!("/staff/power-records/{id}"),
            subject_id: id,
            restricted: false,
        });
    }
    Ok(out)
}

/// Case officers and township handlers whose last [`DEAD_ROUTING_CASES`] new-case texts (with the
/// contact deadline passed) were all followed by no timely contact. A later streak is a new alert.
async fn dead_routing_alerts(state: &AppState, now: i64) -> Result<Vec<NewAlert>, AppError> {
    let rows = state.store().routed_new_cases(now).await?;
    let mut out = Vec::new();
    let mut i = 0;
    while i < rows.len() {
        let end = rows[i..].iter().position(|r| r.phone_idx != rows[i].phone_idx).map_or(rows.len(), |n| i + n);
        let group = &rows[i..end];
        i = end;
        let first = &group[0];
        if !CONTACTING_ROLES.iter().any(|role| first.recipient.starts_with(role)) {
            continue;
        }
        let in_time: Vec<bool> = group.iter().map(xiaowei_store::RoutedCase::contacted_in_time).collect();
        if !alert::dead_routing(&in_time, DEAD_ROUTING_CASES) {
            continue;
        }
        let streak = &group[..DEAD_ROUTING_CASES];
        let trackings: Vec<&str> = streak.iter().map(|r| r.tracking.as_str()).collect();
        out.push(NewAlert {
            kind: AlertKind::DeadRouting,
            org_code: first.org_code.clone(),
            subject_kind: SubjectKind::Recipient,
            subject_id: first.phone_idx.clone(),
            dedup_key: alert::dedup_key(
                AlertKind::DeadRouting,
                SubjectKind::Recipient,
                &first.phone_idx,
                Some(&first.tracking),
            ),
            summary: format!(
                "{}连续{}件新办件短信后均未在24小时内联系群众（{}），请核实号码或人员",
                first.recipient,
                DEAD_ROUTING_CASES,
                trackings.join("、")
            ),
            link: format!("/staff/cases/{}", first.tracking),
            restricted: false,
        });
    }
    Ok(out)
}
