//! The addresses that receive a site's weekly summary by email (see `stride_web::website::weekly`).
//! Staff and agency addresses: adding and removing one is audited, since each receives the site's
//! figures every week.

use sqlx::Row;
use stride_core::email::EmailAddress;

use crate::audit::{self, Actor};
use crate::error::{StoreError, StoreResult};
use crate::{Store, now_ms};

/// A site may send its summary to this many addresses.
pub const MAX_REPORT_EMAILS: usize = 20;

impl Store {
    /// The addresses a site's weekly summary goes to, in order.
    pub async fn report_emails(&self, practice_id: i64, site_id: i64) -> StoreResult<Vec<String>> {
        self.site(practice_id, site_id).await?;
        sqlx::query("SELECT email FROM report_emails WHERE site_id = $1 ORDER BY email")
            .bind(site_id)
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(|r| Ok(r.try_get("email")?))
            .collect()
    }

    pub async fn add_report_email(
        &self,
        practice_id: i64,
        site_id: i64,
        email: &EmailAddress,
        actor: &Actor,
    ) -> StoreResult<()> {
        let site = self.site(practice_id, site_id).await?;
        if self.report_emails(practice_id, site_id).await?.len() >= MAX_REPORT_EMAILS {
            return Err(StoreError::Invalid(format!(
                "a site sends its weekly summary to at most {MAX_REPORT_EMAILS} addresses: remove one first"
            )));
        }
        let mut tx = self.begin().await?;
        sqlx::query("INSERT INTO report_emails (site_id, email, added_at) VALUES ($1, $2, $3)")
            .bind(site_id)
            .bind(email.as_str())
            .bind(now_ms())
            .execute(&mut *tx)
            .await
            .map_err(|e| {
                StoreError::on_unique(e, format!("{email} already receives the weekly summary"))
            })?;
        audit::record(
            &mut *tx,
            Some(practice_id),
            actor,
            "create",
            "report_email",
            Some(site_id),
            &format!("weekly summary of {} to {email}", site.domain),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn remove_report_email(
        &self,
        practice_id: i64,
        site_id: i64,
        email: &str,
        actor: &Actor,
    ) -> StoreResult<()> {
        let site = self.site(practice_id, site_id).await?;
        let mut tx = self.begin().await?;
        let gone = sqlx::query("DELETE FROM report_emails WHERE site_id = $1 AND email = $2")
            .bind(site_id)
            .bind(email)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if gone == 0 {
            return Err(StoreError::NotFound);
        }
        audit::record(
            &mut *tx,
            Some(practice_id),
            actor,
            "delete",
            "report_email",
            Some(site_id),
            &format!("weekly summary of {} no longer to {email}", site.domain),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Every site with addresses for its weekly summary: (practice, site, addresses).
    pub async fn sites_with_report_emails(&self) -> StoreResult<Vec<(i64, i64, Vec<String>)>> {
        let rows = sqlx::query(
            "SELECT s.practice_id, r.site_id, r.email FROM report_emails r JOIN sites s ON s.id = r.site_id \
             ORDER BY r.site_id, r.email",
        )
        .fetch_all(self.pool())
        .await?;
        let mut out: Vec<(i64, i64, Vec<String>)> = Vec::new();
        for r in rows {
            let (practice_id, site_id): (i64, i64) =
                (r.try_get("practice_id")?, r.try_get("site_id")?);
            let email: String = r.try_get("email")?;
            match out.last_mut() {
                Some(last) if last.1 == site_id => last.2.push(email),
                _ => out.push((practice_id, site_id, vec![email])),
            }
        }
        Ok(out)
    }
}
