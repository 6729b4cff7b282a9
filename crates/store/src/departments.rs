//! County departments (县直部门) and their contacts: head (主要领导), leader in charge (分管领导)
//! and officers (业务人员). Phones arrive encrypted with their blind index; this module never
//! sees them in clear.

use sqlx::FromRow;
use xiaowei_core::service::Recipient;

use crate::{Store, StoreError};

#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct Department {
    pub id: i64,
    pub name: String,
}

#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct Contact {
    pub id: i64,
    pub department_id: i64,
    /// One of `Recipient::POSTS`.
    #[sqlx(try_from = "String")]
    pub position: Recipient,
    pub name: String,
    pub phone_enc: Vec<u8>,
}

#[derive(Debug, Clone)]
pub struct NewContact {
    pub department_id: i64,
    /// One of `Recipient::POSTS`.
    pub position: Recipient,
    pub name: String,
    pub phone_enc: Vec<u8>,
    pub phone_idx: String,
}

impl Store {
    /// Creates a department, or returns the existing one of that name.
    pub async fn ensure_department(&self, name: &str, now: i64) -> Result<i64, StoreError> {
        sqlx::query("INSERT INTO departments (name, created_at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
            .bind(name)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(sqlx::query_scalar("SELECT id FROM departments WHERE name = $1").bind(name).fetch_one(&self.pool).await?)
    }

    pub async fn departments(&self) -> Result<Vec<Department>, StoreError> {
        Ok(sqlx::query_as("SELECT id, name FROM departments ORDER BY id").fetch_all(&self.pool).await?)
    }

    pub async fn find_department(&self, id: i64) -> Result<Option<Department>, StoreError> {
        Ok(sqlx::query_as("SELECT id, name FROM departments WHERE id = $1").bind(id).fetch_optional(&self.pool).await?)
    }

    /// Adds a contact; the same phone twice in one department is a conflict.
    pub async fn add_contact(&self, c: &NewContact, now: i64) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "INSERT INTO department_contacts (department_id, position, name, phone_enc, phone_idx, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(c.department_id)
        .bind(c.position.as_str())
        .bind(&c.name)
        .bind(&c.phone_enc)
        .bind(&c.phone_idx)
        .bind(now)
        .fetch_one(&self.pool)
        .await?)
    }

    /// A department's contacts: head first, then leader, then officers.
    pub async fn contacts_of(&self, department_id: i64) -> Result<Vec<Contact>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, department_id, position, name, phone_enc FROM department_contacts WHERE department_id = $1 \
             ORDER BY CASE position WHEN 'head' THEN 0 WHEN 'leader' THEN 1 ELSE 2 END, id",
        )
        .bind(department_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Removes a contact of the given department; `NotFound` when there is none.
    pub async fn remove_contact(&self, department_id: i64, contact_id: i64) -> Result<(), StoreError> {
        let done = sqlx::query("DELETE FROM department_contacts WHERE id = $1 AND department_id = $2")
            .bind(contact_id)
            .bind(department_id)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }
}
