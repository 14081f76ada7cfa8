//! A booking made by the patient on the public booking page: the slot is taken first (the
//! database decides a race), then the inquiry becomes or joins a lead with the visitor's source,
//! the person is matched to a patient on file by phone or email (or becomes one), and the
//! appointment, lead and patient are linked. The lead moves to "evaluation booked".

use sqlx::Row;
use stride_core::leads::Stage;

use crate::audit::{self, Actor};
use crate::error::StoreResult;
use crate::leads::LeadInput;
use crate::patients::PatientInput;
use crate::scheduling::{Appointment, BookingError, NewAppointment};
use crate::{Store, now_ms};

#[derive(Debug, Clone)]
pub struct OnlineBooking {
    pub appointment: NewAppointment,
    pub lead: LeadInput,
    pub patient: PatientInput,
}

#[derive(Debug, Clone)]
pub struct Booked {
    pub appointment: Appointment,
    pub lead_id: i64,
    pub patient_id: i64,
    /// Whether the patient record was created by this booking (false: matched one on file).
    pub new_patient: bool,
}

impl Store {
    pub async fn book_online(
        &self,
        practice_id: i64,
        b: &OnlineBooking,
        actor: &Actor,
    ) -> Result<Booked, BookingError> {
        let mut appointment = self
            .book_appointment(practice_id, &b.appointment, actor)
            .await?;
        let (_, lead) = self.capture_lead(practice_id, &b.lead, actor).await?;
        let (patient_id, new_patient) = self
            .find_or_create_patient(practice_id, &b.patient, actor)
            .await?;
        let mut tx = self.begin().await?;
        sqlx::query(
            "UPDATE appointments SET patient_id = $3, lead_id = $4, updated_at = $5 WHERE id = $1 AND practice_id = $2",
        )
        .bind(appointment.id)
        .bind(practice_id)
        .bind(patient_id)
        .bind(lead.id)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE leads SET patient_id = $3 WHERE id = $1 AND practice_id = $2 AND patient_id IS NULL",
        )
        .bind(lead.id)
        .bind(practice_id)
        .bind(patient_id)
        .execute(&mut *tx)
        .await?;
        audit::record(
            &mut *tx,
            Some(practice_id),
            actor,
            "update",
            "appointment",
            Some(appointment.id),
            &format!("patient {patient_id}, lead {}", lead.id),
        )
        .await?;
        tx.commit().await?;
        if lead.stage < Stage::EvaluationBooked {
            // A lead further along (already a patient) stays where it is.
            let _ = self
                .move_lead(practice_id, lead.id, Stage::EvaluationBooked, None, actor)
                .await;
        }
        appointment.patient_id = Some(patient_id);
        appointment.lead_id = Some(lead.id);
        Ok(Booked {
            appointment,
            lead_id: lead.id,
            patient_id,
            new_patient,
        })
    }

    /// The patient on file with the same phone (or else email), or a new record: (id, created).
    pub async fn find_or_create_patient(
        &self,
        practice_id: i64,
        input: &PatientInput,
        actor: &Actor,
    ) -> StoreResult<(i64, bool)> {
        let k = self.keys();
        for (domain, value) in [
            ("phone", input.phone.as_ref().map(|p| p.as_str())),
            ("email", input.email.as_ref().map(|e| e.as_str())),
        ] {
            let Some(v) = value else { continue };
            let found = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT id FROM patients WHERE practice_id = $1 AND {domain}_bidx = $2 ORDER BY id LIMIT 1"
            )))
            .bind(practice_id)
            .bind(k.blind_index(domain, v))
            .fetch_optional(self.pool())
            .await?;
            if let Some(r) = found {
                let id: i64 = r.try_get("id")?;
                audit::record(
                    self.pool(),
                    Some(practice_id),
                    actor,
                    "match",
                    "patient",
                    Some(id),
                    domain,
                )
                .await?;
                return Ok((id, false));
            }
        }
        let p = self.create_patient(practice_id, input, actor).await?;
        Ok((p.id, true))
    }

    /// Live visits booked online in the last `within_ms` by the patient with this phone (through
    /// the blind index): a guard against one person, or a script, filling the calendar.
    pub async fn recent_online_bookings(
        &self,
        practice_id: i64,
        phone: &stride_core::phone::PhoneE164,
        within_ms: i64,
    ) -> StoreResult<i64> {
        let bidx = self.keys().blind_index("phone", phone.as_str());
        Ok(sqlx::query(
            "SELECT COUNT(*) AS n FROM appointments a JOIN patients p ON p.id = a.patient_id \
             WHERE a.practice_id = $1 AND p.phone_bidx = $2 AND a.source = 'online' AND a.created_at > $3 \
             AND a.status IN ('booked', 'confirmed')",
        )
        .bind(practice_id)
        .bind(bidx)
        .bind(now_ms() - within_ms)
        .fetch_one(self.pool())
        .await?
        .try_get("n")?)
    }
}
