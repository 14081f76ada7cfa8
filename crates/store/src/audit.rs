//! The append-only audit log of every read and change of patient data: who, what record, when and
//! from where. Rows are only ever inserted; database triggers refuse UPDATE and DELETE. Entries name
//! records by id and never carry patient data themselves.

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row};

use crate::{Store, StoreResult, now_ms};

/// Who is acting, as the audit log and the permission checks see them.
#[derive(Debug, Clone)]
pub struct Actor {
    /// "Dana Reyes <dana@example.com>" for a user, "API token “Zapier” (stride_abcd)" for a token,
    /// "system" for background work.
    pub label: String,
    pub user_id: Option<i64>,
    pub token_id: Option<i64>,
    pub ip: String,
}

impl Actor {
    pub fn system(what: &str) -> Actor {
        Actor {
            label: format!("system: {what}"),
            user_id: None,
            token_id: None,
            ip: String::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: i64,
    pub practice_id: Option<i64>,
    pub actor: String,
    pub action: String,
    pub entity: String,
    pub entity_id: Option<i64>,
    pub ip: String,
    pub detail: String,
}

fn entry_from(row: &AnyRow) -> StoreResult<AuditEntry> {
    Ok(AuditEntry {
        id: row.try_get("id")?,
        at: row.try_get("at")?,
        practice_id: row.try_get("practice_id")?,
        actor: row.try_get("actor")?,
        action: row.try_get("action")?,
        entity: row.try_get("entity")?,
        entity_id: row.try_get("entity_id")?,
        ip: row.try_get("ip")?,
        detail: row.try_get("detail")?,
    })
}

/// Records one audit entry through any executor, so a change and its entry share a transaction.
pub async fn record<'e, E>(
    executor: E,
    practice_id: Option<i64>,
    actor: &Actor,
    action: &str,
    entity: &str,
    entity_id: Option<i64>,
    detail: &str,
) -> StoreResult<()>
where
    E: Executor<'e, Database = Any>,
{
    sqlx::query(
        "INSERT INTO audit_log (at, practice_id, actor, user_id, token_id, action, entity, entity_id, ip, detail) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(now_ms())
    .bind(practice_id)
    .bind(actor.label.clone())
    .bind(actor.user_id)
    .bind(actor.token_id)
    .bind(action.to_string())
    .bind(entity.to_string())
    .bind(entity_id)
    .bind(actor.ip.clone())
    .bind(detail.to_string())
    .execute(executor)
    .await?;
    Ok(())
}

impl Store {
    pub async fn audit(
        &self,
        practice_id: Option<i64>,
        actor: &Actor,
        action: &str,
        entity: &str,
        entity_id: Option<i64>,
        detail: &str,
    ) -> StoreResult<()> {
        record(
            self.pool(),
            practice_id,
            actor,
            action,
            entity,
            entity_id,
            detail,
        )
        .await
    }

    /// Newest first; `before_id` pages backwards.
    pub async fn audit_entries(
        &self,
        practice_id: i64,
        before_id: Option<i64>,
        limit: i64,
    ) -> StoreResult<Vec<AuditEntry>> {
        let rows = sqlx::query(
            "SELECT id, at, practice_id, actor, action, entity, entity_id, ip, detail FROM audit_log \
             WHERE practice_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3",
        )
        .bind(practice_id)
        .bind(before_id.unwrap_or(i64::MAX))
        .bind(limit.clamp(1, 10_000))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(entry_from).collect()
    }
}
