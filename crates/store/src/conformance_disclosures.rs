//! The storage conformance suite for 公示公开: versions and their compare-and-set status changes,
//! finance lines and totals, files kept across versions, public listings and the monitor's last
//! finance disclosure per village. Every behaviour runs against SQLite and PostgreSQL.

use crate::conformance::{conformance, small_tree, user, with_postgres, with_sqlite};
use crate::{DisclosureText, NewAttachment, NewDisclosure, NewFinanceLine, Store, StoreError};
use xiaowei_core::disclosure::{self, Category};
use xiaowei_core::subsidy::{RosterAction, RosterStatus};

/// 南岔村, in 渊泉镇 (620922100).
const NANCHA: &str = "620922100200";
/// 北村, in 柳园镇 (620922101).
const BEICUN: &str = "620922101200";

struct Setup {
    clerk: i64,
    reviewer: i64,
}

async fn setup(store: &Store) -> Setup {
    small_tree(store).await;
    let clerk = store.create_staff_user(&user("clerk", "village_clerk", NANCHA), 1).await.unwrap();
    let reviewer = store.create_staff_user(&user("reviewer", "township_reviewer", "620922100"), 1).await.unwrap();
    Setup { clerk, reviewer }
}

fn disclosure(s: &Setup, org: &str, category: &str, title: &str) -> NewDisclosure {
    NewDisclosure {
        org_code: org.into(),
        category: xiaowei_core::disclosure::Category::parse(category).unwrap(),
        title: title.into(),
        body: "第一行\n第二行\n".into(),
        period_label: "2025年第三季度".into(),
        period_start: Some("2025-07-01".into()),
        period_end: Some("2025-09-30".into()),
        supersedes_id: None,
        correction_reason: None,
        created_by: s.clerk,
    }
}

fn line(row_no: i64, income_fen: i64, expense_fen: i64) -> NewFinanceLine {
    NewFinanceLine {
        row_no,
        line_date: Some("2025-07-01".into()),
        summary: format!("第{row_no}笔"),
        income_fen,
        expense_fen,
        note: None,
    }
}

fn file(name: &str) -> NewAttachment {
    NewAttachment {
        roster_id: None,
        programme_id: None,
        sha256: format!("{:0>64}", name.len()),
        size: 10,
        content_type: "application/pdf".into(),
        original_name: name.into(),
        uploaded_by: None,
    }
}

async fn publish(store: &Store, s: &Setup, id: i64, now: i64) {
    store
        .change_disclosure_status(
            id,
            disclosure::advance(RosterStatus::Draft, RosterAction::Submit).unwrap(),
            None,
            s.clerk,
            now,
        )
        .await
        .unwrap();
    store.publish_disclosure(id, s.reviewer, now).await.unwrap();
}

conformance!(a_finance_disclosure_keeps_its_lines_and_totals_in_fen, |store: Store| async move {
    let s = setup(&store).await;
    let lines = [line(3, 5_000_000, 0), line(4, 0, 1_234_560), line(5, 1, 0)];
    let id = store.create_disclosure(&disclosure(&s, NANCHA, "finance", "三季度财务"), &lines, 10).await.unwrap();
    let d = store.find_disclosure(id).await.unwrap().unwrap();
    assert_eq!((d.status.as_str(), d.version, d.lineage_id), ("draft", 1, Some(id)));
    assert_eq!((d.line_count, d.income_fen, d.expense_fen), (3, 5_000_001, 1_234_560));
    let stored = store.finance_lines(id).await.unwrap();
    assert_eq!(stored.iter().map(|l| l.row_no).collect::<Vec<_>>(), [3, 4, 5]);
    assert_eq!(stored[1].expense_fen, 1_234_560);

    store.replace_finance_lines(id, &[line(2, 100, 0)], 11).await.unwrap();
    let d = store.find_disclosure(id).await.unwrap().unwrap();
    assert_eq!((d.line_count, d.income_fen, d.expense_fen, d.updated_at), (1, 100, 0, 11));
    assert_eq!(store.finance_lines(id).await.unwrap().len(), 1);

    let many: Vec<NewFinanceLine> = (1..=700).map(|r| line(r, 100, 0)).collect();
    store.replace_finance_lines(id, &many, 12).await.unwrap();
    assert_eq!(store.find_disclosure(id).await.unwrap().unwrap().income_fen, 70_000);

    // The ledger leaf names the category by its stored code, never by its label.
    publish(&store, &s, id, 13).await;
    let leaves = store.ledger_leaves(0, 10).await.unwrap();
    assert_eq!(leaves.last().and_then(|l| l.field("category")).as_deref(), Some("finance"));
});

conformance!(only_drafts_are_edited_and_a_status_changes_once, |store: Store| async move {
    let s = setup(&store).await;
    let id = store.create_disclosure(&disclosure(&s, NANCHA, "village_affairs", "村务"), &[], 10).await.unwrap();
    let text = DisclosureText {
        title: "村务（改）".into(),
        body: "新正文".into(),
        period_label: "2025年7月".into(),
        period_start: None,
        period_end: None,
    };
    store.update_draft_disclosure(id, &text, 11).await.unwrap();
    assert_eq!(store.find_disclosure(id).await.unwrap().unwrap().title, "村务（改）");
    store
        .change_disclosure_status(
            id,
            disclosure::advance(RosterStatus::Draft, RosterAction::Submit).unwrap(),
            None,
            s.clerk,
            12,
        )
        .await
        .unwrap();
    let again = store
        .change_disclosure_status(
            id,
            disclosure::advance(RosterStatus::Draft, RosterAction::Submit).unwrap(),
            None,
            s.clerk,
            12,
        )
        .await;
    assert!(matches!(again, Err(StoreError::Stale(_))));
    assert!(matches!(store.update_draft_disclosure(id, &text, 13).await, Err(StoreError::Stale(_))));
    assert!(matches!(store.replace_finance_lines(id, &[line(1, 1, 0)], 13).await, Err(StoreError::Stale(_))));
    assert!(matches!(store.attach_to_disclosure(id, &file("x.pdf"), 13).await, Err(StoreError::Stale(_))));
    store
        .change_disclosure_status(
            id,
            disclosure::advance(RosterStatus::Submitted, RosterAction::Return).unwrap(),
            Some("请补充附件"),
            s.reviewer,
            14,
        )
        .await
        .unwrap();
    let d = store.find_disclosure(id).await.unwrap().unwrap();
    assert_eq!((d.status.as_str(), d.status_reason.as_deref()), ("returned", Some("请补充附件")));
    store.update_draft_disclosure(id, &text, 15).await.unwrap();
    store
        .change_disclosure_status(
            id,
            disclosure::advance(RosterStatus::Returned, RosterAction::Submit).unwrap(),
            None,
            s.clerk,
            16,
        )
        .await
        .unwrap();
    store.publish_disclosure(id, s.reviewer, 17).await.unwrap();
    assert!(matches!(store.publish_disclosure(id, s.reviewer, 18).await, Err(StoreError::Stale(_))));
    let d = store.find_disclosure(id).await.unwrap().unwrap();
    assert_eq!((d.status.as_str(), d.published_at, d.status_reason), ("published", Some(17), None));
});

conformance!(a_correction_supersedes_on_publication_and_keeps_the_files, |store: Store| async move {
    let s = setup(&store).await;
    let first = store.create_disclosure(&disclosure(&s, NANCHA, "project", "村道硬化"), &[], 10).await.unwrap();
    let scan = store.attach_to_disclosure(first, &file("合同.pdf"), 11).await.unwrap();
    publish(&store, &s, first, 12).await;
    let fix = NewDisclosure {
        supersedes_id: Some(first),
        correction_reason: Some("中标金额写错".into()),
        body: "第一行\n第二行（更正）\n".into(),
        ..disclosure(&s, NANCHA, "project", "村道硬化")
    };
    let second = store.create_disclosure(&fix, &[], 20).await.unwrap();
    let v2 = store.find_disclosure(second).await.unwrap().unwrap();
    assert_eq!((v2.version, v2.lineage_id, v2.supersedes_id), (2, Some(first), Some(first)));
    let files = store.attachments_of_disclosure(second).await.unwrap();
    assert_eq!(files.iter().map(|a| a.id).collect::<Vec<_>>(), [scan]);
    assert_eq!(files[0].roster_id, None);
    let dup = store.create_disclosure(&fix, &[], 21).await;
    assert!(matches!(&dup, Err(e) if e.is_duplicate_of("disclosures_one_successor")), "one successor per version");

    assert_eq!(store.find_disclosure(first).await.unwrap().unwrap().status, RosterStatus::Published);
    publish(&store, &s, second, 30).await;
    assert_eq!(store.find_disclosure(first).await.unwrap().unwrap().status, RosterStatus::Superseded);
    let versions = store.disclosure_versions(first).await.unwrap();
    assert_eq!(versions.iter().map(|v| (v.id, v.version)).collect::<Vec<_>>(), [(first, 1), (second, 2)]);

    store
        .change_disclosure_status(
            second,
            disclosure::advance(RosterStatus::Published, RosterAction::Withdraw).unwrap(),
            Some("项目取消"),
            s.reviewer,
            40,
        )
        .await
        .unwrap();
    let public = store.public_disclosures_of(NANCHA, None, 50).await.unwrap();
    assert_eq!(public.iter().map(|d| d.id).collect::<Vec<_>>(), [second, first]);
    assert_eq!(public[0].status, RosterStatus::Withdrawn);
});

conformance!(public_lists_hide_drafts_and_filter_by_category, |store: Store| async move {
    let s = setup(&store).await;
    let party = store.create_disclosure(&disclosure(&s, NANCHA, "party", "党费收缴"), &[], 10).await.unwrap();
    publish(&store, &s, party, 11).await;
    let finance = store.create_disclosure(&disclosure(&s, NANCHA, "finance", "财务"), &[], 12).await.unwrap();
    publish(&store, &s, finance, 13).await;
    store.create_disclosure(&disclosure(&s, NANCHA, "finance", "草稿"), &[], 14).await.unwrap();
    let other = store.create_disclosure(&disclosure(&s, BEICUN, "finance", "北村"), &[], 15).await.unwrap();
    publish(&store, &s, other, 16).await;

    let all = store.public_disclosures_of(NANCHA, None, 50).await.unwrap();
    assert_eq!(all.iter().map(|d| d.id).collect::<Vec<_>>(), [finance, party]);
    let only = store.public_disclosures_of(NANCHA, Some(Category::Party), 50).await.unwrap();
    assert_eq!(only.iter().map(|d| d.id).collect::<Vec<_>>(), [party]);
    assert_eq!(store.disclosures_within("620922100", None, 50, 0).await.unwrap().len(), 3);
    assert_eq!(store.disclosures_within("620922100", Some(RosterStatus::Draft), 50, 0).await.unwrap().len(), 1);
    assert_eq!(store.disclosures_within("620922", None, 2, 2).await.unwrap().len(), 2);
});

conformance!(the_monitor_sees_each_village_last_finance_disclosure, |store: Store| async move {
    let s = setup(&store).await;
    let old = store.create_disclosure(&disclosure(&s, NANCHA, "finance", "二季度"), &[], 10).await.unwrap();
    publish(&store, &s, old, 100).await;
    let new = store.create_disclosure(&disclosure(&s, NANCHA, "finance", "三季度"), &[], 10).await.unwrap();
    publish(&store, &s, new, 200).await;
    let withdrawn = store.create_disclosure(&disclosure(&s, NANCHA, "finance", "撤回的"), &[], 10).await.unwrap();
    publish(&store, &s, withdrawn, 300).await;
    store
        .change_disclosure_status(
            withdrawn,
            disclosure::advance(RosterStatus::Published, RosterAction::Withdraw).unwrap(),
            Some("错误"),
            s.reviewer,
            301,
        )
        .await
        .unwrap();
    let party = store.create_disclosure(&disclosure(&s, BEICUN, "party", "党务"), &[], 10).await.unwrap();
    publish(&store, &s, party, 400).await;

    let villages = store.village_finance_disclosures("620922").await.unwrap();
    let seen: Vec<(&str, Option<i64>)> = villages.iter().map(|v| (v.code.as_str(), v.last_published_at)).collect();
    assert_eq!(seen, [(NANCHA, Some(200)), (BEICUN, None)]);
    assert_eq!(villages[0].name, "南岔村委会");
    assert_eq!(store.village_finance_disclosures("620922101").await.unwrap().len(), 1);

    let mut last = store.last_disclosed_by_category(NANCHA).await.unwrap();
    last.sort();
    assert_eq!(last, [(Category::Finance, 200)]);
    assert_eq!(store.last_disclosed_by_category(BEICUN).await.unwrap(), [(Category::Party, 400)]);
});
