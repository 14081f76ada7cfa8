//! The practice's payer directory: each payer with its other names and the practice's
//! credentialing status (in network; in progress with submitted and expected dates; out of
//! network; not accepted) and average reimbursement per visit. A practice starts with the common
//! US payers (`stride_core::payers::DIRECTORY`) and edits from there.

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;
use stride_core::payers::{self, Credentialing, DIRECTORY, Named, normalize};

use crate::audit::{self, Actor};
use crate::error::{StoreError, StoreResult};
use crate::{Store, now_ms};

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Payer {
    pub id: i64,
    pub name: String,
    pub plan_types: String,
    pub aliases: Vec<String>,
    pub status: Credentialing,
    /// ISO dates, while credentialing is in progress (kept afterwards as history).
    pub submitted_on: Option<String>,
    pub expected_on: Option<String>,
    pub avg_reimbursement_cents: Option<i64>,
    pub note: String,
    pub updated_at: i64,
}

/// A change to the practice's standing with a payer.
#[derive(Debug, Clone, Default)]
pub struct PayerUpdate {
    pub status: Option<Credentialing>,
    pub submitted_on: Option<jiff::civil::Date>,
    pub expected_on: Option<jiff::civil::Date>,
    pub avg_reimbursement_cents: Option<i64>,
    pub plan_types: String,
    pub note: String,
}

const COLS: &str = "id, name, plan_types, status, submitted_on, expected_on, avg_reimbursement_cents, note, updated_at";

fn read_payer(r: &AnyRow) -> StoreResult<Payer> {
    let status: String = r.try_get("status")?;
    Ok(Payer {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        plan_types: r.try_get("plan_types")?,
        aliases: Vec::new(),
        status: Credentialing::parse(&status)
            .ok_or_else(|| StoreError::Invalid(format!("unknown status {status}")))?,
        submitted_on: r.try_get("submitted_on")?,
        expected_on: r.try_get("expected_on")?,
        avg_reimbursement_cents: r.try_get("avg_reimbursement_cents")?,
        note: r.try_get("note")?,
        updated_at: r.try_get("updated_at")?,
    })
}

impl Store {
    /// The practice's payers by name, with their aliases; the common ones the first time.
    pub async fn payers(&self, practice_id: i64) -> StoreResult<Vec<Payer>> {
        let read = || async {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {COLS} FROM payers WHERE practice_id = $1 ORDER BY name"
            )))
            .bind(practice_id)
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(read_payer)
            .collect::<StoreResult<Vec<_>>>()
        };
        let mut list = read().await?;
        if list.is_empty() {
            let actor = Actor::system("payer directory");
            for (name, aliases, plans) in DIRECTORY {
                let aliases: Vec<String> = aliases.iter().map(|a| a.to_string()).collect();
                match self
                    .add_payer(practice_id, name, &aliases, plans, &actor)
                    .await
                {
                    Ok(_) | Err(StoreError::Conflict(_)) => {}
                    Err(e) => return Err(e),
                }
            }
            list = read().await?;
        }
        let mut aliases = sqlx::query(
            "SELECT payer_id, alias FROM payer_aliases WHERE practice_id = $1 ORDER BY alias",
        )
        .bind(practice_id)
        .fetch_all(self.pool())
        .await?;
        for r in aliases.drain(..) {
            let id: i64 = r.try_get("payer_id")?;
            if let Some(p) = list.iter_mut().find(|p| p.id == id) {
                p.aliases.push(r.try_get("alias")?);
            }
        }
        Ok(list)
    }

    pub async fn payer(&self, practice_id: i64, id: i64) -> StoreResult<Payer> {
        self.payers(practice_id)
            .await?
            .into_iter()
            .find(|p| p.id == id)
            .ok_or(StoreError::NotFound)
    }

    /// Adds a payer with its other names. A name already taken by a payer is refused, naming it.
    pub async fn add_payer(
        &self,
        practice_id: i64,
        name: &str,
        aliases: &[String],
        plan_types: &str,
        actor: &Actor,
    ) -> StoreResult<i64> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(StoreError::Invalid(
                "a payer needs a name of at most 100 characters".into(),
            ));
        }
        let now = now_ms();
        let mut tx = self.begin().await?;
        let row = sqlx::query(
            "INSERT INTO payers (practice_id, name, plan_types, created_at, updated_at) VALUES ($1, $2, $3, $4, $4) \
             ON CONFLICT (practice_id, name) DO NOTHING RETURNING id",
        )
        .bind(practice_id)
        .bind(name.to_string())
        .bind(plan_types.trim().to_string())
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| StoreError::Conflict(format!("{name} is already in the directory")))?;
        let id: i64 = row.try_get("id")?;
        for alias in std::iter::once(name).chain(aliases.iter().map(|a| a.trim())) {
            Self::insert_alias(&mut tx, practice_id, id, alias).await?;
        }
        audit::record(
            &mut *tx,
            Some(practice_id),
            actor,
            "create",
            "payer",
            Some(id),
            name,
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    async fn insert_alias(
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        practice_id: i64,
        payer_id: i64,
        alias: &str,
    ) -> StoreResult<()> {
        let norm = normalize(alias);
        if norm.is_empty() {
            return Ok(());
        }
        let owner = sqlx::query(
            "SELECT p.id, p.name FROM payer_aliases a JOIN payers p ON p.id = a.payer_id \
             WHERE a.practice_id = $1 AND a.alias_norm = $2",
        )
        .bind(practice_id)
        .bind(norm.clone())
        .fetch_optional(&mut **tx)
        .await?;
        if let Some(o) = owner {
            if o.try_get::<i64, _>("id")? == payer_id {
                return Ok(());
            }
            return Err(StoreError::Conflict(format!(
                "“{}” already names {}",
                alias.trim(),
                o.try_get::<String, _>("name")?
            )));
        }
        sqlx::query(
            "INSERT INTO payer_aliases (practice_id, alias_norm, payer_id, alias) VALUES ($1, $2, $3, $4)",
        )
        .bind(practice_id)
        .bind(norm)
        .bind(payer_id)
        .bind(alias.trim().to_string())
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Adds other names of a payer ("Anthem", "BCBS of Illinois").
    pub async fn add_payer_aliases(
        &self,
        practice_id: i64,
        payer_id: i64,
        aliases: &[String],
        actor: &Actor,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        sqlx::query("SELECT id FROM payers WHERE id = $1 AND practice_id = $2")
            .bind(payer_id)
            .bind(practice_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?;
        for a in aliases {
            Self::insert_alias(&mut tx, practice_id, payer_id, a).await?;
        }
        audit::record(
            &mut *tx,
            Some(practice_id),
            actor,
            "update",
            "payer",
            Some(payer_id),
            &format!("{} aliases", aliases.len()),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Sets the practice's standing with a payer. Credentialing in progress needs the date it was
    /// submitted; an expected date cannot come before it.
    pub async fn update_payer(
        &self,
        practice_id: i64,
        payer_id: i64,
        u: &PayerUpdate,
        actor: &Actor,
    ) -> StoreResult<Payer> {
        if u.status == Some(Credentialing::InProgress) && u.submitted_on.is_none() {
            return Err(StoreError::Invalid(
                "credentialing in progress needs the date the application was submitted".into(),
            ));
        }
        if let (Some(s), Some(e)) = (u.submitted_on, u.expected_on)
            && e < s
        {
            return Err(StoreError::Invalid(
                "the expected date comes before the submitted date".into(),
            ));
        }
        if u.avg_reimbursement_cents.is_some_and(|c| c < 0) {
            return Err(StoreError::Invalid(
                "the average reimbursement cannot be negative".into(),
            ));
        }
        let mut tx = self.begin().await?;
        let done = sqlx::query(
            "UPDATE payers SET status = COALESCE($3, status), submitted_on = $4, expected_on = $5, \
             avg_reimbursement_cents = $6, plan_types = $7, note = $8, updated_at = $9 WHERE id = $1 AND practice_id = $2",
        )
        .bind(payer_id)
        .bind(practice_id)
        .bind(u.status.map(|s| s.as_str().to_string()))
        .bind(u.submitted_on.map(|d| d.to_string()))
        .bind(u.expected_on.map(|d| d.to_string()))
        .bind(u.avg_reimbursement_cents)
        .bind(u.plan_types.trim().to_string())
        .bind(u.note.trim().to_string())
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        audit::record(
            &mut *tx,
            Some(practice_id),
            actor,
            "update",
            "payer",
            Some(payer_id),
            u.status.map(|s| s.as_str()).unwrap_or(""),
        )
        .await?;
        tx.commit().await?;
        self.payer(practice_id, payer_id).await
    }

    /// The payer a typed plan name refers to ("Blue Cross PPO" → Blue Cross Blue Shield).
    pub async fn find_payer(&self, practice_id: i64, typed: &str) -> StoreResult<Option<Payer>> {
        let list = self.payers(practice_id).await?;
        let named: Vec<Named> = list
            .iter()
            .map(|p| Named {
                id: p.id,
                name: p.name.clone(),
                aliases: p.aliases.clone(),
            })
            .collect();
        let id = payers::find(&named, typed);
        Ok(list.into_iter().find(|p| Some(p.id) == id))
    }
}
