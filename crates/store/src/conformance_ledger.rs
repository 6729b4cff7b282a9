//! Conformance of the publication ledger on both engines: appends are idempotent and gapless
//! under concurrency, the stored tree matches RFC 6962, proofs and tiles check out, and the
//! tables refuse rewriting.

use xiaowei_core::ledger::{
    self, LeafText, TilePath, check_record, check_tree, decode_bundle, hash_from_bytes, leaf_hash,
};

use super::conformance::{conformance, with_postgres, with_sqlite};
use crate::{NewLeaf, Store};

fn leaf(i: i64) -> NewLeaf {
    let mut text = LeafText::new("test_item", i, 1, "publish", Some("620922"), 1_700_000_000 + i).unwrap();
    text.field("title", format!("第{i}条"));
    NewLeaf {
        kind: "test_item".into(),
        object_id: i,
        version: 1,
        event: "publish".into(),
        org_code: Some("620922".into()),
        at: 1_700_000_000 + i,
        content: text.finish().unwrap(),
        rows: Vec::new(),
    }
}

conformance!(appends_are_idempotent_and_proofs_check_out, |store: Store| async move {
    let (size, root) = store.ledger_head().await.unwrap();
    assert_eq!((size, root), (0, ledger::EMPTY_HASH));
    let mut hashes = Vec::new();
    for i in 0..300 {
        let done = store.append_leaf(&leaf(i)).await.unwrap();
        assert_eq!(done.index, u64::try_from(i).unwrap());
        hashes.push(done.hash);
    }
    // The same leaf again is found, not appended.
    let again = store.append_leaf(&leaf(7)).await.unwrap();
    assert_eq!((again.index, again.hash), (7, hashes[7]));
    let (size, root) = store.ledger_head().await.unwrap();
    assert_eq!(size, 300);
    for (t, i) in [(300u64, 0u64), (300, 299), (257, 256), (1, 0), (100, 37)] {
        let tree = store.ledger_root(t).await.unwrap();
        let proof = store.ledger_inclusion_proof(t, i).await.unwrap();
        check_record(&proof, t, tree, i, hashes[i as usize]).unwrap();
    }
    for old in [1u64, 2, 3, 128, 255, 256, 299, 300] {
        let proof = store.ledger_consistency_proof(300, old).await.unwrap();
        check_tree(&proof, 300, root, old, store.ledger_root(old).await.unwrap()).unwrap();
    }
    // The level-0 tile lists the leaf hashes; the entry bundle holds the leaves.
    let tile = store.ledger_tile(TilePath::Hashes { level: 0, index: 0, width: 256 }, 300).await.unwrap().unwrap();
    assert_eq!(tile.len(), 256 * 32);
    assert_eq!(hash_from_bytes(&tile[32 * 5..32 * 6]).unwrap(), hashes[5]);
    let bundle = store.ledger_tile(TilePath::Entries { index: 1, width: 44 }, 300).await.unwrap().unwrap();
    let leaves = decode_bundle(&bundle).unwrap();
    assert_eq!(leaves.len(), 44);
    assert_eq!(leaf_hash(&leaves[0]), hashes[256]);
    assert!(store.ledger_tile(TilePath::Entries { index: 1, width: 45 }, 300).await.unwrap().is_none());
    assert!(store.ledger_tile(TilePath::Hashes { level: 1, index: 0, width: 2 }, 300).await.unwrap().is_none());
    assert_eq!(
        store.ledger_tile(TilePath::Hashes { level: 1, index: 0, width: 1 }, 300).await.unwrap().unwrap().len(),
        32
    );
    // Rewriting the log is refused by the database itself.
    assert!(
        sqlx::query("UPDATE ledger_leaves SET content = $1 WHERE idx = 3")
            .bind(vec![1u8])
            .execute(&store.pool)
            .await
            .is_err()
    );
    assert!(sqlx::query("DELETE FROM ledger_hashes WHERE idx = 3").execute(&store.pool).await.is_err());
});

conformance!(concurrent_appends_form_one_gapless_sequence, |store: Store| async move {
    let mut tasks = Vec::new();
    for worker in 0..4i64 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..15 {
                store.append_leaf(&leaf(worker * 100 + i)).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let leaves = store.ledger_leaves(0, 1000).await.unwrap();
    assert_eq!(leaves.len(), 60);
    assert!(leaves.iter().enumerate().all(|(i, l)| l.idx == i64::try_from(i).unwrap()));
    let (size, root) = store.ledger_head().await.unwrap();
    assert_eq!(size, 60);
    // The root is the RFC 6962 root of the leaves in their stored order.
    let cache = ledger::HashCache::default();
    for (i, l) in leaves.iter().enumerate() {
        let i = u64::try_from(i).unwrap();
        let new = ledger::stored_hashes_for_record_hash(i, leaf_hash(&l.content), &cache).unwrap();
        let base = ledger::stored_hash_index(0, i);
        for (k, h) in (0u64..).zip(new) {
            cache.insert(base + k, h);
        }
    }
    assert_eq!(ledger::tree_hash(60, &cache).unwrap(), root);
});

conformance!(cosignatures_are_kept_once_and_a_witness_head_moves_as_told, |store: Store| async move {
    use crate::StoredCosignature;
    let w = "w.example/witness+01020304+BAAA".to_owned();
    assert_eq!(store.witness_head(&w).await.unwrap(), 0);
    let c = |size: u64, signature: &str| StoredCosignature {
        witness: w.clone(),
        size,
        root: leaf_hash(&size.to_be_bytes()),
        signature: signature.into(),
        signed_at: 100,
        received_at: 200,
    };
    store.record_cosignature(&c(5, "first")).await.unwrap();
    store.record_cosignature(&c(5, "again")).await.unwrap();
    store.record_cosignature(&c(3, "older")).await.unwrap();
    assert_eq!(store.witness_head(&w).await.unwrap(), 5, "a late older cosignature does not move the head back");
    let latest = store.latest_cosignatures(std::slice::from_ref(&w)).await.unwrap();
    assert_eq!(latest, vec![c(5, "first")]);
    assert_eq!(store.all_cosignatures().await.unwrap().iter().map(|c| c.size).collect::<Vec<_>>(), [3, 5]);
    // A 409 answer sets the head wherever the witness says it is.
    store.set_witness_head(&w, 2, 300).await.unwrap();
    assert_eq!(store.witness_head(&w).await.unwrap(), 2);
    assert!(store.latest_cosignatures(&["other".to_owned()]).await.unwrap().is_empty());
});
