//! Conformance of the search index on both engines: the same pre-segmented terms and the same
//! query (written once for FTS5 and once for `tsquery`) find the same documents, in scope.

use crate::conformance::{conformance, with_postgres, with_sqlite};
use crate::{SearchDocument, Store};

fn doc(kind: &str, id: i64, org: &str, title: &str, title_terms: &str, terms: &str) -> SearchDocument {
    SearchDocument {
        kind: xiaowei_core::search::DocumentKind::parse(kind).expect("a document kind"),
        ref_id: id,
        org_code: org.into(),
        title: title.into(),
        body: String::new(),
        url: format!("/{kind}/{id}"),
        title_terms: title_terms.into(),
        terms: terms.into(),
    }
}

conformance!(documents_are_found_by_their_terms_within_scope_and_best_first, |store: Store| async move {
    let docs = [
        doc("power", 1, "620922", "低保申请初审", "低保 申请 初审 低保 保申 申请 请初 初审", ""),
        doc(
            "disclosure",
            2,
            "620922214200",
            "卓园村低保对象公示",
            "卓园村 低保 对象 公示",
            "低保 卓园 园村 村低 保对 对象 象公 公示",
        ),
        doc("disclosure", 3, "620922101200", "北村名单", "北村 名单", "低保 名单"),
        doc("disclosure", 4, "620922214200", "村道硬化工程", "村道 硬化 工程", "村道 硬化 工程"),
    ];
    for d in &docs {
        store.index_document(d, 1).await.unwrap();
    }
    let ids = |hits: Vec<crate::SearchHit>| hits.into_iter().map(|h| h.ref_id).collect::<Vec<_>>();
    // Inside 广至乡: the county's item and the township's own disclosure, not another township's.
    let found = ids(store.search("\"低保\"", "'低保'", "620922214", 10).await.unwrap());
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(found.contains(&1) && found.contains(&2));
    // A title match ranks above a body-only match.
    let ranked = ids(store.search("\"低保\"", "'低保'", "620922", 10).await.unwrap());
    assert_eq!(ranked.len(), 3);
    assert_ne!(ranked[0], 3, "the body-only match is not first: {ranked:?}");
    // Every term must be present.
    assert_eq!(ids(store.search("\"村道\" AND \"硬化\"", "'村道' & '硬化'", "620922", 10).await.unwrap()), [4]);
    assert!(store.search("\"村道\" AND \"低保\"", "'村道' & '低保'", "620922", 10).await.unwrap().is_empty());

    // Re-indexing replaces; unindexing removes.
    store
        .index_document(&doc("disclosure", 4, "620922214200", "村道硬化工程（更正）", "村道 硬化 更正", "村道 硬化"), 2)
        .await
        .unwrap();
    let hit = store.search("\"更正\"", "'更正'", "620922", 10).await.unwrap();
    assert_eq!(hit.len(), 1);
    assert_eq!(hit[0].title, "村道硬化工程（更正）");
    store.unindex_document(xiaowei_core::search::DocumentKind::Disclosure, 4).await.unwrap();
    assert!(store.search("\"村道\"", "'村道'", "620922", 10).await.unwrap().is_empty());
});
