//! Demo data for 留言箱: messages to 广至藏族乡 and 卓园村 of every kind and in every state — two
//! questions answered in public (one rated), a complaint being handled, a complaint reopened after
//! 不满意, a new suggestion, an unanswered question past its deadline, and an anonymous report
//! that only the discipline commission (`jiwei`, `guangzhi-shenhe`) can see. Left and handled
//! through the same use cases as real ones; fixed form keys make loading repeatable.

use anyhow::Result;
use xiaowei_core::message::MessageKind;
use xiaowei_core::tracked::Rating;
use xiaowei_server::AppState;
use xiaowei_server::app::messages;
use xiaowei_server::app::tracked::{Filer, Official};

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

fn err(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!(e.to_string())
}

fn official(user: &xiaowei_store::StaffUser) -> Official {
    Official {
        id: user.id,
        username: user.username.clone(),
        display_name: user.display_name.clone(),
        ip: String::new(),
    }
}

/// Loads the demo messages through the same use cases as real ones, and sets their clock marks.
pub async fn load(state: &AppState) -> Result<()> {
    let store = state.store();
    let now = state.now();
    let township = store.find_org(GUANGZHI).await?.ok_or_else(|| anyhow::anyhow!("no township {GUANGZHI}"))?;
    let clerk = store.find_staff_by_username("zhuoyuan").await?;
    let admin = store.find_staff_by_username("guangzhi").await?;
    let mut created = 0;
    for (n, d) in MESSAGES.iter().enumerate() {
        let submitted = now - d.hours_ago * 3600;
        let leaving = messages::Leaving {
            form_key: format!("demo-message-box-{n}"),
            kind: d.kind.as_str().into(),
            place: d.org.into(),
            phone: d.phone.unwrap_or_default().into(),
            body: d.body.into(),
            public: d.public,
            ..messages::Leaving::default()
        };
        if store.find_message_by_submit_key(&leaving.form_key).await?.is_some() {
            continue;
        }
        let proven = match d.phone {
            Some(phone) => {
                let client = format!("demo-message-box-{n}");
                Some(crate::demo_services::proven_phone(state, phone, &client, submitted).await?)
            }
            None => None,
        };
        let filer = Filer { quota: format!("demo-message-box-{n}"), proven, ..Filer::default() };
        let left = messages::leave(state, &township, leaving, &filer, submitted).await.map_err(err)?;
        if !left.created {
            continue;
        }
        created += 1;
        if let Some(secret) = &left.secret {
            println!("留言箱：匿名举报 {}（查询密码 {secret}），仅 jiwei 和 guangzhi-shenhe 可见。", left.tracking);
        }
        let handler = if d.org == ZHUOYUAN { clerk.as_ref() } else { admin.as_ref() };
        let (Some(handler), Some(admin)) = (handler, admin.as_ref()) else { continue };
        let at = submitted + 3 * 3600;
        let message = async || store.find_message(left.id).await?.ok_or_else(|| anyhow::anyhow!("demo message"));
        let key = |step: &str| format!("demo-message-box-{n}-{step}");
        match d.fate {
            Fate::New => {}
            Fate::Assigned => {
                let id = handler.id.to_string();
                messages::assign(state, &message().await?, &official(admin), &key("assign"), &id, at)
                    .await
                    .map_err(err)?;
            }
            Fate::PublicAnswer { .. } | Fate::Reopened if !d.reply.is_empty() => {
                let public = matches!(d.fate, Fate::PublicAnswer { .. });
                let by = official(handler);
                messages::reply(state, &message().await?, &by, &key("reply"), d.reply, public, at + 86_400)
                    .await
                    .map_err(err)?;
                let rated_at = at + 2 * 86_400;
                let rating = match d.fate {
                    Fate::Reopened => Some(Rating::parse("unsatisfied", "名单是事后补的，程序不对").map_err(err)?),
                    Fate::PublicAnswer { rated: true } => Some(Rating::parse("satisfied", "").map_err(err)?),
                    _ => None,
                };
                if let Some(rating) = rating {
                    messages::rate(state, &message().await?, &rating, rated_at).await.map_err(err)?;
                }
            }
            Fate::PublicAnswer { .. } | Fate::Reopened => {}
        }
    }
    let marks = messages::run_clocks(state, now).await.map_err(err)?;
    println!("留言箱：{created} 条演示留言（{marks} 个提醒或逾期标记）。");
    Ok(())
}
