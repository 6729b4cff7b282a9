//! Conformance of the personal-data key rotation on both engines: batches re-seal and re-index,
//! an interrupted rotation resumes from the recorded progress, a finished table is not walked
//! again, and a row the server rewrote meanwhile is left as the server wrote it.

use xiaowei_core::pii::{ID_PURPOSE, PHONE_PURPOSE};
use xiaowei_core::{PiiCipher, PiiKey};

use super::conformance::{conformance, with_postgres, with_sqlite};
use crate::{NewContact, NewRegistryRecord, ROTATED_TABLES, RotatedTable, Store, StoreError};

fn table(name: &str) -> &'static RotatedTable {
    ROTATED_TABLES.iter().find(|t| t.name == name).unwrap()
}

const IDS: [&str; 5] =
    ["620922198001011234", "62092219750202123X", "620922196003031235", "620922199004041236", "620922200005051237"];

async fn rotate_all(store: &Store, new_id: &str, cipher: &PiiCipher, max_batches: usize) -> usize {
    let mut batches = 0;
    for t in ROTATED_TABLES {
        loop {
            if batches == max_batches {
                return batches;
            }
            let outcome = store.rotate_pii_batch(new_id, t, cipher, 2, 100).await.unwrap();
            batches += 1;
            if outcome.finished {
                break;
            }
        }
    }
    batches
}

conformance!(a_rotation_reseals_resumes_and_spares_fresh_writes, |store: Store| async move {
    let (old, new) = (PiiKey::generate(), PiiKey::generate());
    let before = PiiCipher::new(old.clone());
    let department = store.ensure_department("民政局", 1).await.unwrap();
    let phones = ["13900000001", "13900000002", "13900000003"];
    let mut contacts = Vec::new();
    for (i, phone) in phones.iter().enumerate() {
        let contact = NewContact {
            department_id: department,
            position: xiaowei_core::service::Recipient::POSTS[i],
            name: "张三".into(),
            phone_enc: before.encrypt(phone),
            phone_idx: before.blind_index(PHONE_PURPOSE, phone),
        };
        contacts.push(store.add_contact(&contact, 1).await.unwrap());
    }
    let records: Vec<NewRegistryRecord> = IDS
        .iter()
        .map(|id| NewRegistryRecord {
            person_idx: before.blind_index(ID_PURPOSE, id),
            name: "李四".into(),
            id_enc: before.encrypt(id),
            id_masked: "6209**********1234".into(),
            birth_date: None,
            village_code: None,
            household_no: None,
            members: None,
            relation: None,
            detail: None,
            event_date: None,
        })
        .collect();
    store.import_registry("deaths", false, &records, "死亡.xlsx", None, "命令行:test", 10).await.unwrap();

    assert!(store.begin_pii_rotation(&old.id(), &new.id(), 100).await.unwrap());
    assert!(!store.begin_pii_rotation(&old.id(), &new.id(), 101).await.unwrap(), "a second start resumes");
    assert!(matches!(store.begin_pii_rotation(&old.id(), "other", 102).await, Err(StoreError::Stale(_))));
    let ring = PiiCipher::rotating(new.clone(), old.clone());

    // The server, holding both keys, rewrites the second contact under the new key meanwhile.
    let fresh = ring.encrypt("13900000009");
    sqlx::query("UPDATE department_contacts SET phone_enc = $1, phone_idx = $2 WHERE id = $3")
        .bind(fresh.clone())
        .bind(ring.blind_index(PHONE_PURPOSE, "13900000009"))
        .bind(contacts[1])
        .execute(&store.pool)
        .await
        .unwrap();

    // Interrupted after a few batches: part of the rows is done, and the progress says so.
    let contacts_table = table("department_contacts");
    let registry = table("registry_records");
    // One batch for each (empty) table before the registry records, then one of theirs.
    let stop = ROTATED_TABLES.iter().position(|t| t.name == "registry_records").unwrap() + 1;
    assert_eq!(rotate_all(&store, &new.id(), &ring, stop).await, stop);
    assert!(store.sealed_under_other_keys(registry, &ring).await.unwrap() > 0, "not finished yet");
    let progress = store.pii_rotation_progress(&new.id(), "registry_records").await.unwrap();
    assert!(progress.rows_done > 0 && !progress.finished);

    // A new run (a fresh ring, as a new process would build) goes on from there.
    let resumed = PiiCipher::rotating(new.clone(), old.clone());
    rotate_all(&store, &new.id(), &resumed, usize::MAX).await;
    for t in ROTATED_TABLES {
        assert!(store.pii_rotation_progress(&new.id(), t.name).await.unwrap().finished, "{}", t.name);
        assert_eq!(store.sealed_under_other_keys(t, &resumed).await.unwrap(), 0, "{}", t.name);
    }
    let progress = store.pii_rotation_progress(&new.id(), "registry_records").await.unwrap();
    assert_eq!(progress.rows_done, 5, "every row walked once");
    let again = store.rotate_pii_batch(&new.id(), registry, &resumed, 2, 200).await.unwrap();
    assert_eq!((again.rows, again.finished), (0, true), "a finished table is not walked again");

    // Under the new key alone every value opens and every index is the new key's.
    let after = PiiCipher::new(new.clone());
    let rows: Vec<(i64, Vec<u8>, String)> =
        sqlx::query_as("SELECT id, phone_enc, phone_idx FROM department_contacts ORDER BY id")
            .fetch_all(&store.pool)
            .await
            .unwrap();
    let expected = [phones[0], "13900000009", phones[2]];
    for ((_, sealed, idx), phone) in rows.iter().zip(expected) {
        assert_eq!(after.decrypt(sealed).unwrap(), phone);
        assert_eq!(idx, &after.blind_index(PHONE_PURPOSE, phone));
    }
    assert_eq!(rows[1].1, fresh, "a value the server sealed with the new key is kept as it is");
    let records: Vec<(Vec<u8>, String)> = sqlx::query_as("SELECT id_enc, person_idx FROM registry_records ORDER BY id")
        .fetch_all(&store.pool)
        .await
        .unwrap();
    for ((sealed, idx), id) in records.iter().zip(IDS) {
        assert_eq!(after.decrypt(sealed).unwrap(), id);
        assert_eq!(idx, &after.blind_index(ID_PURPOSE, id));
    }
    assert_eq!(store.pii_rotation_total(contacts_table).await.unwrap(), 3);
    assert!(store.unfinished_pii_rotation().await.unwrap().is_some());
    store.finish_pii_rotation(&new.id(), 300).await.unwrap();
    assert!(store.unfinished_pii_rotation().await.unwrap().is_none());
});

conformance!(a_restarted_table_is_walked_again, |store: Store| async move {
    let (old, new) = (PiiKey::generate(), PiiKey::generate());
    let ring = PiiCipher::rotating(new.clone(), old.clone());
    let department = store.ensure_department("民政局", 1).await.unwrap();
    store.begin_pii_rotation(&old.id(), &new.id(), 100).await.unwrap();
    rotate_all(&store, &new.id(), &ring, usize::MAX).await;
    // A server that had not yet loaded the new key wrote under the old one after the walk.
    let late = PiiCipher::new(old.clone());
    let contact = NewContact {
        department_id: department,
        position: xiaowei_core::service::Recipient::CaseOfficer,
        name: "王五".into(),
        phone_enc: late.encrypt("13900000005"),
        phone_idx: late.blind_index(PHONE_PURPOSE, "13900000005"),
    };
    store.add_contact(&contact, 2).await.unwrap();
    let contacts = table("department_contacts");
    assert_eq!(store.sealed_under_other_keys(contacts, &ring).await.unwrap(), 1);
    store.restart_pii_rotation_table(&new.id(), contacts.name).await.unwrap();
    assert!(!store.pii_rotation_progress(&new.id(), contacts.name).await.unwrap().finished);
    rotate_all(&store, &new.id(), &ring, usize::MAX).await;
    assert_eq!(store.sealed_under_other_keys(contacts, &ring).await.unwrap(), 0);
    let idx: String =
        sqlx::query_scalar("SELECT phone_idx FROM department_contacts").fetch_one(&store.pool).await.unwrap();
    assert_eq!(idx, PiiCipher::new(new).blind_index(PHONE_PURPOSE, "13900000005"));
});
