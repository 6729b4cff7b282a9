//! Demo data for 留言箱: messages to 广至藏族乡 and 卓园村 of every kind and in every state — two
//! questions answered in public (one rated), a complaint being handled, a complaint reopened after
//! 不满意, a new suggestion, an unanswered question past its deadline, and an anonymous report
//! that only the discipline commission (`jiwei`, `guangzhi-shenhe`) can see. Fixed submission keys
//! make loading repeatable.

use anyhow::Result;
use xiaowei_core::Phone;
use xiaowei_core::message::{self, MessageKind, MessageNotice};
use xiaowei_server::AppState;
use xiaowei_server::workers::notify;
use xiaowei_store::{MessageChange, NewMessage, NewMessageEvent};

/// 广至藏族乡 and its village 卓园村.
const GUANGZHI: &str = "620922214";
const ZHUOYUAN: &str = "620922214200";

/// What happened to a demo message after it was left.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Fate {
    New,
    Assigned,
    PublicAnswer { rated: bool },
    Reopened,
}

struct Demo {
    kind: MessageKind,
    org: &'static str,
    body: &'static str,
    phone: Option<&'static str>,
    public: bool,
    hours_ago: i64,
    fate: Fate,
    reply: &'static str,
}

const MESSAGES: [Demo; 7] = [
    Demo {
        kind: MessageKind::Question,
        org: ZHUOYUAN,
        body: "请问今年的耕地地力保护补贴什么时候发放？标准是每亩多少钱？",
        phone: Some("13609371001"),
        public: true,
        hours_ago: 240,
        fate: Fate::PublicAnswer { rated: true },
        reply: "今年耕地地力保护补贴标准为每亩95元，已于10月下旬通过一卡通发放，可在“自助查询”中查看本人到账情况。",
    },
    Demo {
        kind: MessageKind::Question,
        org: GUANGZHI,
        body: "在外地打工，农村医保可以在手机上交吗？",
        phone: None,
        public: true,
        hours_ago: 120,
        fate: Fate::PublicAnswer { rated: false },
        reply: "可以。在微信搜索“甘肃税务”小程序，选择城乡居民医保缴费，输入参保人身份证号即可缴纳。",
    },
    Demo {
        kind: MessageKind::Complaint,
        org: ZHUOYUAN,
        body: "三组灌溉渠渗水严重，反映两次了还没有修，地里的麦子快旱死了。",
        phone: Some("13609371003"),
        public: false,
        hours_ago: 50,
        fate: Fate::Assigned,
        reply: "",
    },
    Demo {
        kind: MessageKind::Complaint,
        org: ZHUOYUAN,
        body: "村里的公益性岗位名单没有公示就定了人，不公平。",
        phone: Some("13609371004"),
        public: false,
        hours_ago: 300,
        fate: Fate::Reopened,
        reply: "经核实，公益性岗位人选已经村民代表会议讨论，名单已在村务公开栏补充公示。",
    },
    Demo {
        kind: MessageKind::Suggestion,
        org: GUANGZHI,
        body: "建议乡卫生院每周安排一天去卓园村巡诊，老人看病太远了。",
        phone: None,
        public: false,
        hours_ago: 20,
        fate: Fate::New,
        reply: "",
    },
    Demo {
        kind: MessageKind::Question,
        org: ZHUOYUAN,
        body: "孩子上大学了，户口迁出后原来的草原补助还能领吗？",
        phone: Some("13609371006"),
        public: false,
        hours_ago: 24 * 12,
        fate: Fate::New,
        reply: "",
    },
    Demo {
        kind: MessageKind::Report,
        org: ZHUOYUAN,
        body: "村里有人把去世老人的高龄补贴继续领了两年，请纪委查一查。",
        phone: None,
        public: false,
        hours_ago: 30,
        fate: Fate::New,
        reply: "",
    },
];

fn event(kind: &str, actor: &str, note: &str, public: bool) -> NewMessageEvent {
    NewMessageEvent { kind: kind.into(), actor: actor.into(), staff_user_id: None, note: note.into(), public }
}

fn err(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!(e.to_string())
}

/// Loads the demo messages and sets their clock marks.
pub async fn load(state: &AppState) -> Result<()> {
    let store = state.store();
    let now = state.now();
    let calendar = xiaowei_server::public::services::calendar(state).await.map_err(err)?;
    let clerk = store.find_staff_by_username("zhuoyuan").await?;
    let admin = store.find_staff_by_username("guangzhi").await?;
    let mut created = 0;
    for (n, d) in MESSAGES.iter().enumerate() {
        let submitted = now - d.hours_ago * 3600;
        let clock = message::reply_clock(&calendar, d.kind, state.config().complaint_reply_days, submitted);
        let phone = d.phone.map(Phone::parse).transpose()?;
        let cipher = state.cipher();
        let new = NewMessage {
            tracking: message::tracking_number(submitted, 200_000 + u32::try_from(n).unwrap_or(0)),
            submit_key: format!("demo-message-{n}"),
            kind: d.kind.as_str().into(),
            org_code: d.org.into(),
            author_name: String::new(),
            phone_enc: phone.as_ref().map(|p| cipher.encrypt(p.expose())),
            phone_idx: phone.as_ref().map(|p| cipher.blind_index("phone", p.expose())),
            // The demo report's query password is printed below, so that it can be followed.
            secret_idx: (d.kind == MessageKind::Report).then(|| cipher.token_tag("message-secret", "DEMKX-23456")),
            body: d.body.into(),
            allow_public: d.public,
            submitted_at: submitted,
            reply_due: clock.due,
            reply_remind_at: clock.remind_at,
            deadline_basis: xiaowei_server::public::messages::deadline_basis(d.kind, &clock),
        };
        let submitted_note = format!("提交{}留言", d.kind.label());
        let (id, fresh) =
            store.create_message(&new, &[], &event("submitted", "留言人", &submitted_note, true), &[]).await?;
        if !fresh {
            continue;
        }
        created += 1;
        if d.kind == MessageKind::Report {
            println!("留言箱：匿名举报 {}（查询密码 DEMKX-23456），仅 jiwei 和 guangzhi-shenhe 可见。", new.tracking);
        }
        let handler = if d.org == ZHUOYUAN { clerk.as_ref() } else { admin.as_ref() };
        let Some(handler) = handler else { continue };
        let at = submitted + 3 * 3600;
        match d.fate {
            Fate::New => {}
            Fate::Assigned => {
                let change = MessageChange { assigned_to: Some(handler.id), ..MessageChange::default() };
                let note = event("assign", "广至乡管理员", &format!("交由{}办理", handler.display_name), false);
                store.change_message(id, &["submitted"], "handling", &change, &note, &[], at).await?;
            }
            Fate::PublicAnswer { .. } | Fate::Reopened if !d.reply.is_empty() => {
                let public = matches!(d.fate, Fate::PublicAnswer { .. });
                let change =
                    MessageChange { reply: Some((d.reply.into(), public, handler.id)), ..MessageChange::default() };
                let note = event("reply", &handler.display_name, &format!("答复：{}", d.reply), true);
                store.change_message(id, &["submitted"], "replied", &change, &note, &[], at + 86_400).await?;
                let rated_at = at + 2 * 86_400;
                if d.fate == Fate::Reopened {
                    let again = message::reply_clock(&calendar, d.kind, state.config().complaint_reply_days, rated_at);
                    let change = MessageChange {
                        rating: Some(("unsatisfied".into(), "名单是事后补的，程序不对".into())),
                        new_due: Some((
                            again.due,
                            again.remind_at,
                            xiaowei_server::public::messages::deadline_basis(d.kind, &again),
                        )),
                        ..MessageChange::default()
                    };
                    let m = store.find_message(id).await?.ok_or_else(|| anyhow::anyhow!("demo message {id}"))?;
                    let texts =
                        notify::message_notices(state, &m, MessageNotice::Unsatisfied, rated_at).await.map_err(err)?;
                    let note = event("rate", "留言人", "评价：不满意。留言重新办理，已通知县纪委监委", true);
                    store.change_message(id, &["replied"], "reopened", &change, &note, &texts, rated_at).await?;
                } else if d.fate == (Fate::PublicAnswer { rated: true }) {
                    let change =
                        MessageChange { rating: Some(("satisfied".into(), String::new())), ..MessageChange::default() };
                    let note = event("rate", "留言人", "评价：满意", true);
                    store.change_message(id, &["replied"], "closed", &change, &note, &[], rated_at).await?;
                }
            }
            Fate::PublicAnswer { .. } | Fate::Reopened => {}
        }
    }
    let marks = notify::run_message_clocks(state, now).await.map_err(err)?;
    println!("留言箱：{created} 条演示留言（{marks} 个提醒或逾期标记）。");
    Ok(())
}
