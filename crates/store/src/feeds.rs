//! Clinicians' subscribable calendar feeds (RFC 5545). Each clinician may have one secret link;
//! resetting it makes the old one stop working. The feed lists the clinician's appointments from
//! 30 days back to 90 days ahead by visit type and place only: no patient names, numbers or notes.

use sqlx::Row;
use stride_core::ics::{self, Event};

use crate::audit::{self, Actor};
use crate::crypto::{random_token, sha256_hex};
use crate::error::{StoreError, StoreResult};
use crate::{Store, now_ms};

const DAY: i64 = 86_400_000;

fn aad(practice_id: i64) -> Vec<u8> {
    format!("calendar_feeds.token:{practice_id}").into_bytes()
}

impl Store {
    /// The secret of a clinician's feed, if one was made.
    pub async fn calendar_feed_secret(
        &self,
        practice_id: i64,
        clinician_id: i64,
    ) -> StoreResult<Option<String>> {
        let Some(r) = sqlx::query(
            "SELECT token_enc FROM calendar_feeds WHERE clinician_id = $1 AND practice_id = $2",
        )
        .bind(clinician_id)
        .bind(practice_id)
        .fetch_optional(self.pool())
        .await?
        else {
            return Ok(None);
        };
        let blob: Vec<u8> = r.try_get("token_enc")?;
        Ok(Some(self.keys().decrypt_string(&blob, &aad(practice_id))?))
    }

    /// Makes a new secret for a clinician's feed; the old link stops working.
    pub async fn reset_calendar_feed(
        &self,
        practice_id: i64,
        clinician_id: i64,
        actor: &Actor,
    ) -> StoreResult<String> {
        let token = random_token(24);
        let mut tx = self.begin().await?;
        sqlx::query("SELECT id FROM clinicians WHERE id = $1 AND practice_id = $2")
            .bind(clinician_id)
            .bind(practice_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?;
        sqlx::query(
            "INSERT INTO calendar_feeds (clinician_id, practice_id, token_hash, token_enc, created_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (clinician_id) DO UPDATE SET \
             token_hash = excluded.token_hash, token_enc = excluded.token_enc, created_at = excluded.created_at",
        )
        .bind(clinician_id)
        .bind(practice_id)
        .bind(sha256_hex(token.as_bytes()))
        .bind(self.keys().encrypt_str(&token, &aad(practice_id)))
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        audit::record(
            &mut *tx,
            Some(practice_id),
            actor,
            "update",
            "calendar_feed",
            Some(clinician_id),
            "new secret link",
        )
        .await?;
        tx.commit().await?;
        Ok(token)
    }

    /// The feed a secret opens, as iCalendar text; `NotFound` for an unknown secret.
    pub async fn calendar_feed(&self, token: &str, now: i64) -> StoreResult<String> {
        if token.len() < 20 || token.len() > 100 {
            return Err(StoreError::NotFound);
        }
        let r = sqlx::query(
            "SELECT f.practice_id, f.clinician_id, c.name FROM calendar_feeds f JOIN clinicians c ON c.id = f.clinician_id \
             WHERE f.token_hash = $1",
        )
        .bind(sha256_hex(token.as_bytes()))
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        let practice_id: i64 = r.try_get("practice_id")?;
        let clinician_id: i64 = r.try_get("clinician_id")?;
        let name: String = r.try_get("name")?;
        let practice = self.practice(practice_id).await?;
        let events = sqlx::query(
            "SELECT a.id, a.starts_at, a.ends_at, a.status, a.created_at, a.updated_at, t.name AS type_name, \
             l.name AS location_name, l.address FROM appointments a JOIN appointment_types t ON t.id = a.type_id \
             JOIN locations l ON l.id = a.location_id \
             WHERE a.practice_id = $1 AND a.clinician_id = $2 AND a.starts_at >= $3 AND a.starts_at < $4 ORDER BY a.starts_at",
        )
        .bind(practice_id)
        .bind(clinician_id)
        .bind(now - 30 * DAY)
        .bind(now + 90 * DAY)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(|r| {
            let status: String = r.try_get("status")?;
            let created: i64 = r.try_get("created_at")?;
            let updated: i64 = r.try_get("updated_at")?;
            Ok(Event {
                uid: format!("appointment-{}@{}.stride", r.try_get::<i64, _>("id")?, practice.slug),
                start: r.try_get("starts_at")?,
                end: r.try_get("ends_at")?,
                stamp: updated,
                summary: r.try_get("type_name")?,
                location: format!(
                    "{}, {}",
                    r.try_get::<String, _>("location_name")?,
                    r.try_get::<String, _>("address")?
                ),
                description: format!("{}: {}", practice.name, status.replace('_', " ")),
                cancelled: matches!(status.as_str(), "cancelled" | "late_cancel"),
                // Each change raises the sequence so calendar apps take the newest version.
                sequence: u32::try_from(((updated - created) / 1000).max(0)).unwrap_or(u32::MAX),
            })
        })
        .collect::<StoreResult<Vec<_>>>()?;
        Ok(ics::calendar(
            &format!("{name} · {}", practice.name),
            &events,
        ))
    }

    /// Re-seals every feed secret under the keyring's current key.
    pub(crate) async fn reencrypt_feeds(&self) -> StoreResult<u64> {
        self.reencrypt_column("calendar_feeds", "clinician_id", "token_enc", aad)
            .await
    }
}
