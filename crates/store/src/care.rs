//! A patient's coverage (a payer from the practice's directory, or self-pay) and referral (a
//! physician, whose name is encrypted like the rest of the patient's identity, or direct access),
//! and the visits a payer authorized with the dates they are good for. An authorization's use
//! counts the patient's visits in its dates that were attended or are booked.

use serde::Serialize;
use sqlx::Row;

use crate::audit::{self, Actor};
use crate::error::{StoreError, StoreResult};
use crate::{Store, now_ms, opt_bytes};

/// How the patient came: a physician's referral, or on their own (direct access).
pub const REFERRALS: &[(&str, &str)] = &[
    ("physician", "Physician referral"),
    ("self", "Self (direct access)"),
    ("other", "Other"),
];

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Coverage {
    pub payer_id: Option<i64>,
    pub self_pay: bool,
    /// The plan on the insurance card ("PPO"); empty for self-pay or when not recorded.
    pub plan: String,
    /// One of `REFERRALS`' keys, or empty.
    pub referral: String,
    pub referring_physician: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Authorization {
    pub id: i64,
    pub payer_id: Option<i64>,
    pub visits: i64,
    pub starts_on: String,
    pub ends_on: String,
    pub reference: String,
    /// Visits in its dates attended or booked.
    pub used: i64,
}

fn aad(practice_id: i64) -> Vec<u8> {
    format!("patients.referring_physician:{practice_id}").into_bytes()
}

impl Store {
    pub async fn coverage(&self, practice_id: i64, patient_id: i64) -> StoreResult<Coverage> {
        let r = sqlx::query(
            "SELECT payer_id, self_pay, coverage_plan, referral, referring_physician_enc FROM patients WHERE id = $1 AND practice_id = $2",
        )
        .bind(patient_id)
        .bind(practice_id)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        Ok(Coverage {
            payer_id: r.try_get("payer_id")?,
            self_pay: r.try_get::<i64, _>("self_pay")? != 0,
            plan: r.try_get("coverage_plan")?,
            referral: r.try_get("referral")?,
            referring_physician: self.keys().decrypt_opt(
                opt_bytes(&r, "referring_physician_enc")?.as_deref(),
                &aad(practice_id),
            )?,
        })
    }

    pub async fn set_coverage(
        &self,
        practice_id: i64,
        patient_id: i64,
        c: &Coverage,
        actor: &Actor,
    ) -> StoreResult<()> {
        if !c.referral.is_empty() && !REFERRALS.iter().any(|(k, _)| *k == c.referral) {
            return Err(StoreError::Invalid(
                "choose how the patient was referred".into(),
            ));
        }
        if c.self_pay && c.payer_id.is_some() {
            return Err(StoreError::Invalid(
                "a patient is either self-pay or covered by a payer".into(),
            ));
        }
        let physician = c
            .referring_physician
            .as_deref()
            .map(str::trim)
            .filter(|p| !p.is_empty());
        let plan = if c.payer_id.is_some() {
            c.plan.trim()
        } else {
            ""
        };
        if plan.chars().count() > 60 {
            return Err(StoreError::Invalid(
                "the plan name is longer than 60 characters".into(),
            ));
        }
        if physician.is_some_and(|p| p.chars().count() > 120) {
            return Err(StoreError::Invalid(
                "the physician's name is longer than 120 characters".into(),
            ));
        }
        let mut tx = self.begin().await?;
        if let Some(payer) = c.payer_id {
            sqlx::query("SELECT id FROM payers WHERE id = $1 AND practice_id = $2")
                .bind(payer)
                .bind(practice_id)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or_else(|| StoreError::Invalid("choose a payer from the directory".into()))?;
        }
        let done = sqlx::query(
            "UPDATE patients SET payer_id = $3, self_pay = $4, referral = $5, referring_physician_enc = $6, updated_at = $7, \
             coverage_plan = $8 WHERE id = $1 AND practice_id = $2",
        )
        .bind(patient_id)
        .bind(practice_id)
        .bind(c.payer_id)
        .bind(i64::from(c.self_pay))
        .bind(c.referral.clone())
        .bind(self.keys().encrypt_opt(physician, &aad(practice_id)))
        .bind(now_ms())
        .bind(plan.to_string())
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
            "patient",
            Some(patient_id),
            "coverage",
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A patient's authorizations, newest first, each with the visits used in its dates.
    pub async fn authorizations(
        &self,
        practice_id: i64,
        patient_id: i64,
    ) -> StoreResult<Vec<Authorization>> {
        let rows = sqlx::query(
            "SELECT id, payer_id, visits, starts_on, ends_on, reference FROM authorizations \
             WHERE practice_id = $1 AND patient_id = $2 ORDER BY starts_on DESC, id DESC",
        )
        .bind(practice_id)
        .bind(patient_id)
        .fetch_all(self.pool())
        .await?;
        let visits = self.patient_appointments(practice_id, patient_id).await?;
        let zones: Vec<(i64, jiff::tz::TimeZone)> = self
            .locations(practice_id)
            .await?
            .into_iter()
            .filter_map(|l| {
                Some((
                    l.id,
                    stride_core::tz::TimeZoneName::parse(&l.time_zone)
                        .ok()?
                        .tz(),
                ))
            })
            .collect();
        // A visit's local date at its location.
        let local_day = |a: &crate::scheduling::Appointment| {
            let tz = zones
                .iter()
                .find(|(id, _)| *id == a.location_id)
                .map(|(_, tz)| tz.clone())
                .unwrap_or(jiff::tz::TimeZone::UTC);
            jiff::Timestamp::from_millisecond(a.starts_at)
                .map(|t| t.to_zoned_datetime(tz).date().to_string())
                .unwrap_or_default()
        };
        rows.iter()
            .map(|r| {
                let starts_on: String = r.try_get("starts_on")?;
                let ends_on: String = r.try_get("ends_on")?;
                let used = visits
                    .iter()
                    .filter(|(a, _)| {
                        matches!(
                            a.status.as_str(),
                            "booked" | "confirmed" | "checked_in" | "completed"
                        )
                    })
                    .filter(|(a, _)| {
                        let d = local_day(a);
                        d >= starts_on && d <= ends_on
                    })
                    .count() as i64;
                Ok(Authorization {
                    id: r.try_get("id")?,
                    payer_id: r.try_get("payer_id")?,
                    visits: r.try_get("visits")?,
                    starts_on,
                    ends_on,
                    reference: r.try_get("reference")?,
                    used,
                })
            })
            .collect()
    }

    #[allow(clippy::too_many_arguments)]
    pub async fn add_authorization(
        &self,
        practice_id: i64,
        patient_id: i64,
        payer_id: Option<i64>,
        visits: i64,
        starts_on: jiff::civil::Date,
        ends_on: jiff::civil::Date,
        reference: &str,
        actor: &Actor,
    ) -> StoreResult<i64> {
        if !(1..=200).contains(&visits) {
            return Err(StoreError::Invalid(
                "an authorization covers 1 to 200 visits".into(),
            ));
        }
        if ends_on < starts_on {
            return Err(StoreError::Invalid(
                "the authorization ends before it starts".into(),
            ));
        }
        let mut tx = self.begin().await?;
        sqlx::query("SELECT id FROM patients WHERE id = $1 AND practice_id = $2")
            .bind(patient_id)
            .bind(practice_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?;
        let id: i64 = sqlx::query(
            "INSERT INTO authorizations (practice_id, patient_id, payer_id, visits, starts_on, ends_on, reference, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(practice_id)
        .bind(patient_id)
        .bind(payer_id)
        .bind(visits)
        .bind(starts_on.to_string())
        .bind(ends_on.to_string())
        .bind(reference.trim().chars().take(60).collect::<String>())
        .bind(now_ms())
        .fetch_one(&mut *tx)
        .await?
        .try_get("id")?;
        audit::record(
            &mut *tx,
            Some(practice_id),
            actor,
            "create",
            "authorization",
            Some(id),
            "",
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Re-seals referring physicians' names under the keyring's current key.
    pub(crate) async fn reencrypt_referrals(&self) -> StoreResult<u64> {
        self.reencrypt_column("patients", "id", "referring_physician_enc", aad)
            .await
    }

    /// The lead a patient came from (the newest, when several were merged into one person).
    pub async fn lead_of_patient(
        &self,
        practice_id: i64,
        patient_id: i64,
    ) -> StoreResult<Option<i64>> {
        Ok(sqlx::query(
            "SELECT id FROM leads WHERE practice_id = $1 AND patient_id = $2 AND merged_into IS NULL \
             ORDER BY created_at DESC LIMIT 1",
        )
        .bind(practice_id)
        .bind(patient_id)
        .fetch_optional(self.pool())
        .await?
        .map(|r| r.try_get("id"))
        .transpose()?)
    }
}
