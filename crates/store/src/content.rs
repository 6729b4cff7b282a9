//! The published-content version (`content_version`, migration 0038): one number that every
//! write to a table a public page renders bumps in the same transaction, by triggers on those
//! tables. Instances sharing one database read it to know whether a cached page is still current.

use crate::{Store, StoreError};

impl Store {
    /// The current published-content version.
    pub async fn content_version(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT n FROM content_version WHERE id = 1").fetch_one(&self.pool).await?)
    }
}

#[cfg(test)]
mod tests {
    use crate::conformance::{conformance, small_tree, user, with_postgres, with_sqlite};
    use crate::{NewOrg, Store};
    use xiaowei_core::OrgLevel;

    conformance!(content_writes_bump_the_version_and_other_writes_do_not, |store: Store| async move {
        let start = store.content_version().await.unwrap();
        small_tree(&store).await;
        let after_tree = store.content_version().await.unwrap();
        assert!(after_tree > start, "importing places is a change public pages show");
        store.create_staff_user(&user("zhang", "county_admin", "620922"), 2).await.unwrap();
        assert_eq!(store.content_version().await.unwrap(), after_tree, "a staff account is not public content");
        let renamed = NewOrg {
            code: "620922101".into(),
            name: "柳园镇（新）".into(),
            level: OrgLevel::Township,
            parent_code: Some("620922".into()),
        };
        store.import_orgs(&[renamed], 3).await.unwrap();
        assert!(store.content_version().await.unwrap() > after_tree, "a renamed township shows on every page");
    });

    conformance!(villages_are_counted_per_township_in_one_query, |store: Store| async move {
        small_tree(&store).await;
        let counts = store.villages_per_township().await.unwrap();
        assert_eq!(counts, [("620922100".to_owned(), 1), ("620922101".to_owned(), 1)]);
    });
}
