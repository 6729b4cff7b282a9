//! The search index: one row per published thing (a roster, a power item, a disclosure…) with
//! its display text and its pre-segmented terms; SQLite matches with FTS5, PostgreSQL with a
//! weighted `tsvector`. Segmentation is the caller's (`xiaowei-search`), so both engines see the
//! same terms. Only public content is ever indexed.

use sqlx::FromRow;
use xiaowei_core::search::DocumentKind;

use crate::{Backend, Store, StoreError};

#[derive(Debug, Clone)]
pub struct SearchDocument {
    pub kind: DocumentKind,
    pub ref_id: i64,
    pub org_code: String,
    pub title: String,
    pub body: String,
    pub url: String,
    pub title_terms: String,
    pub terms: String,
}

#[derive(Debug, Clone, FromRow, PartialEq)]
pub struct SearchHit {
    #[sqlx(try_from = "String")]
    pub kind: DocumentKind,
    pub ref_id: i64,
    pub org_code: String,
    pub title: String,
    pub body: String,
    pub url: String,
}

impl Store {
    /// Adds or replaces the index entry of one thing.
    pub async fn index_document(&self, d: &SearchDocument, now: i64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO search_documents (kind, ref_id, org_code, title, body, url, title_terms, terms, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (kind, ref_id) DO UPDATE SET \
             org_code = excluded.org_code, title = excluded.title, body = excluded.body, url = excluded.url, \
             title_terms = excluded.title_terms, terms = excluded.terms, updated_at = excluded.updated_at",
        )
        .bind(d.kind.as_str())
        .bind(d.ref_id)
        .bind(&d.org_code)
        .bind(&d.title)
        .bind(&d.body)
        .bind(&d.url)
        .bind(&d.title_terms)
        .bind(&d.terms)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Removes a thing from the index (withdrawn, superseded, deleted).
    pub async fn unindex_document(&self, kind: DocumentKind, ref_id: i64) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM search_documents WHERE kind = $1 AND ref_id = $2")
            .bind(kind.as_str())
            .bind(ref_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Best matches first for things of `org_prefix`'s subtree or of its ancestors (a county
    /// catalogue applies in every village). `fts5` and `tsquery` are the same query written for
    /// each engine.
    pub async fn search(
        &self,
        fts5: &str,
        tsquery: &str,
        org_prefix: &str,
        limit: i64,
    ) -> Result<Vec<SearchHit>, StoreError> {
        let scope = "(d.org_code LIKE $2 OR $3 LIKE d.org_code || '%')";
        let sql = match self.backend {
            Backend::Sqlite => format!(
                "SELECT d.kind, d.ref_id, d.org_code, d.title, d.body, d.url FROM search_fts \
                 JOIN search_documents d ON d.id = search_fts.rowid \
                 WHERE search_fts MATCH $1 AND {scope} ORDER BY bm25(search_fts, 4.0, 1.0), d.id DESC LIMIT $4"
            ),
            Backend::Postgres => format!(
                "SELECT d.kind, d.ref_id, d.org_code, d.title, d.body, d.url FROM search_documents d \
                 WHERE d.tsv @@ to_tsquery('simple', $1) AND {scope} \
                 ORDER BY ts_rank(d.tsv, to_tsquery('simple', $1)) DESC, d.id DESC LIMIT $4"
            ),
        };
        let query = match self.backend {
            Backend::Sqlite => fts5,
            Backend::Postgres => tsquery,
        };
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(query)
            .bind(format!("{org_prefix}%"))
            .bind(org_prefix)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?)
    }

    /// Every org name, for the segmenter's dictionary of place names.
    pub async fn org_names(&self) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar("SELECT DISTINCT name FROM orgs").fetch_all(&self.pool).await?)
    }
}
