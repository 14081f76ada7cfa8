//! The waitlist: patients with a booking who would take an earlier time. When a future visit is
//! cancelled or moved, a job offers the freed time (if it is still open) by text or email to the
//! three longest-waiting patients whose visit of the same type at the same place is later. Each
//! offer is a secret link; the first to accept gets the time, because accepting moves their visit
//! through the same blocks as any booking and the database lets only one hold them. The others are
//! told it was taken.

use sqlx::Row;
use stride_core::phone::PhoneE164;
use stride_core::tz::TimeZoneName;

use crate::audit::{self, Actor};
use crate::crypto::{random_token, sha256_hex};
use crate::error::{StoreError, StoreResult};
use crate::messages::{Channel, NewMessage};
use crate::scheduling::{Appointment, BookingError};
use crate::{Store, now_ms};

/// The job that offers a freed time to the waitlist.
pub const WAITLIST_OFFER_JOB: &str = "waitlist_offer";
/// How many patients one freed time is offered to at once.
pub const OFFERS_PER_SLOT: i64 = 3;

/// What became of an accepted offer.
#[derive(Debug)]
pub enum Accepted {
    /// The visit was moved to the offered time.
    Moved(Appointment),
    /// Someone else accepted first (or the time is no longer open).
    Taken,
}

/// An offer as its link shows it.
#[derive(Debug, Clone)]
pub struct Offer {
    pub practice_id: i64,
    pub appointment_id: i64,
    pub clinician_id: i64,
    pub slot_start: i64,
    pub status: String,
}

type Tx = sqlx::Transaction<'static, sqlx::Any>;

impl Store {
    /// Puts the patient of an upcoming visit on the waitlist for an earlier time.
    pub async fn join_waitlist(
        &self,
        practice_id: i64,
        appointment_id: i64,
        actor: &Actor,
    ) -> StoreResult<i64> {
        let a = self.appointment(practice_id, appointment_id).await?;
        if !matches!(a.status.as_str(), "booked" | "confirmed") || a.starts_at <= now_ms() {
            return Err(StoreError::Conflict(
                "only an upcoming visit can wait for an earlier time".into(),
            ));
        }
        let now = now_ms();
        let mut tx = self.begin().await?;
        let id: i64 = sqlx::query(
            "INSERT INTO waitlist (practice_id, appointment_id, status, created_at, updated_at) VALUES ($1, $2, 'waiting', $3, $3) \
             ON CONFLICT (appointment_id) DO UPDATE SET status = 'waiting', updated_at = excluded.updated_at RETURNING id",
        )
        .bind(practice_id)
        .bind(appointment_id)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?
        .try_get("id")?;
        audit::record(
            &mut *tx,
            Some(practice_id),
            actor,
            "create",
            "waitlist",
            Some(id),
            "",
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Whether an appointment's patient is waiting for an earlier time.
    pub async fn on_waitlist(&self, practice_id: i64, appointment_id: i64) -> StoreResult<bool> {
        Ok(sqlx::query(
            "SELECT id FROM waitlist WHERE practice_id = $1 AND appointment_id = $2 AND status = 'waiting'",
        )
        .bind(practice_id)
        .bind(appointment_id)
        .fetch_optional(self.pool())
        .await?
        .is_some())
    }

    /// Waiting entries: (appointment, since), longest waiting first.
    pub async fn waitlist(&self, practice_id: i64) -> StoreResult<Vec<(Appointment, i64)>> {
        let rows = sqlx::query(
            "SELECT appointment_id, created_at FROM waitlist WHERE practice_id = $1 AND status = 'waiting' ORDER BY created_at",
        )
        .bind(practice_id)
        .fetch_all(self.pool())
        .await?;
        let mut out = Vec::new();
        for r in &rows {
            out.push((
                self.appointment(practice_id, r.try_get("appointment_id")?)
                    .await?,
                r.try_get("created_at")?,
            ));
        }
        Ok(out)
    }

    /// Queues the offer of a freed time, in the transaction that freed it.
    pub(crate) async fn enqueue_freed(
        tx: &mut Tx,
        practice_id: i64,
        a: &Appointment,
        now: i64,
    ) -> StoreResult<()> {
        if a.starts_at <= now {
            return Ok(());
        }
        let job = crate::jobs::NewJob::now(
            WAITLIST_OFFER_JOB,
            serde_json::json!({
                "practice_id": practice_id, "clinician_id": a.clinician_id, "location_id": a.location_id,
                "type_id": a.type_id, "start": a.starts_at,
            }),
        )
        .practice(practice_id)
        .key(format!(
            "{WAITLIST_OFFER_JOB}:{}:{}:{}",
            a.id, a.clinician_id, a.starts_at
        ));
        crate::jobs::enqueue(&mut **tx, &job).await?;
        Ok(())
    }

    /// Offers a freed time (if still open) to the longest-waiting patients whose visit of that type
    /// at that place is later. Returns how many offers went out. Safe to repeat: one offer per
    /// patient per time.
    #[allow(clippy::too_many_arguments)]
    pub async fn offer_freed_slot(
        &self,
        practice_id: i64,
        clinician_id: i64,
        location_id: i64,
        type_id: i64,
        start: i64,
        base_url: &str,
        now: i64,
    ) -> StoreResult<usize> {
        let open = self
            .online_slots(practice_id, type_id, location_id, Some(clinician_id), now)
            .await?
            .iter()
            .any(|(_, s)| s.start == start);
        if !open {
            return Ok(0);
        }
        let candidates = sqlx::query(
            "SELECT w.id, a.id AS appointment_id, a.patient_id, a.lead_id FROM waitlist w JOIN appointments a ON a.id = w.appointment_id \
             WHERE w.practice_id = $1 AND w.status = 'waiting' AND a.status IN ('booked', 'confirmed') \
             AND a.type_id = $2 AND a.location_id = $3 AND a.starts_at > $4 ORDER BY w.created_at LIMIT $5",
        )
        .bind(practice_id)
        .bind(type_id)
        .bind(location_id)
        .bind(start + 3_600_000)
        .bind(OFFERS_PER_SLOT)
        .fetch_all(self.pool())
        .await?;
        let practice = self.practice(practice_id).await?;
        let location = self
            .locations(practice_id)
            .await?
            .into_iter()
            .find(|l| l.id == location_id)
            .ok_or(StoreError::NotFound)?;
        let clinician = self
            .clinicians(practice_id)
            .await?
            .into_iter()
            .find(|c| c.id == clinician_id)
            .map(|c| c.name)
            .unwrap_or_default();
        let when = TimeZoneName::parse(&location.time_zone)
            .ok()
            .and_then(|tz| {
                Some(
                    jiff::Timestamp::from_millisecond(start)
                        .ok()?
                        .to_zoned_datetime(tz.tz())
                        .strftime("%a %b %-d at %-I:%M %p")
                        .to_string(),
                )
            })
            .unwrap_or_default();
        let actor = Actor::system("waitlist");
        let mut sent = 0;
        for c in &candidates {
            let waitlist_id: i64 = c.try_get("id")?;
            let token = random_token(24);
            let inserted = sqlx::query(
                "INSERT INTO waitlist_offers (practice_id, waitlist_id, clinician_id, slot_start, token_hash, status, created_at) \
                 VALUES ($1, $2, $3, $4, $5, 'offered', $6) ON CONFLICT (waitlist_id, clinician_id, slot_start) DO NOTHING RETURNING id",
            )
            .bind(practice_id)
            .bind(waitlist_id)
            .bind(clinician_id)
            .bind(start)
            .bind(sha256_hex(token.as_bytes()))
            .bind(now)
            .fetch_optional(self.pool())
            .await?;
            let Some(offer) = inserted else { continue };
            let offer_id: i64 = offer.try_get("id")?;
            let contact = match (
                c.try_get::<Option<i64>, _>("patient_id")?,
                c.try_get::<Option<i64>, _>("lead_id")?,
            ) {
                (Some(p), _) => {
                    let p = self.patient(practice_id, p, &actor).await?;
                    (p.phone, p.email, p.sms_consent, p.email_consent)
                }
                (None, Some(l)) => {
                    let l = self.lead(practice_id, l, &actor).await?;
                    (l.phone, l.email, l.sms_consent, l.email_consent)
                }
                (None, None) => continue,
            };
            let sms = contact
                .0
                .filter(|_| contact.2)
                .and_then(|p| PhoneE164::parse(&p).ok());
            let (channel, to) = match (sms, contact.1.filter(|_| contact.3)) {
                (Some(p), _) => (Channel::Sms, p.as_str().to_string()),
                (None, Some(e)) => (Channel::Email, e),
                (None, None) => continue,
            };
            let link = format!(
                "{}/p/{}/offer/{token}",
                base_url.trim_end_matches('/'),
                practice.slug
            );
            let body = format!(
                "{}: an earlier time opened: {when} with {clinician} at {}. The first to accept gets it: {link}{}",
                practice.name,
                location.name,
                if channel == Channel::Sms {
                    " Reply STOP to opt out."
                } else {
                    ""
                }
            );
            let msg = NewMessage {
                channel,
                to,
                subject: (channel == Channel::Email).then(|| format!("An earlier time: {when}")),
                body,
                purpose: "waitlist offer".into(),
                idempotency_key: Some(format!("waitlist_offer:{offer_id}")),
            };
            match self.queue_message(practice_id, &msg).await {
                Ok(_) => sent += 1,
                Err(StoreError::Conflict(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(sent)
    }

    /// The offer a link's secret opens.
    pub async fn waitlist_offer(&self, token: &str) -> StoreResult<Offer> {
        if token.len() < 20 || token.len() > 100 {
            return Err(StoreError::NotFound);
        }
        let r = sqlx::query(
            "SELECT o.practice_id, o.clinician_id, o.slot_start, o.status, w.appointment_id FROM waitlist_offers o \
             JOIN waitlist w ON w.id = o.waitlist_id WHERE o.token_hash = $1",
        )
        .bind(sha256_hex(token.as_bytes()))
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        Ok(Offer {
            practice_id: r.try_get("practice_id")?,
            appointment_id: r.try_get("appointment_id")?,
            clinician_id: r.try_get("clinician_id")?,
            slot_start: r.try_get("slot_start")?,
            status: r.try_get("status")?,
        })
    }

    /// Accepts an offer: the patient's visit moves to the offered time if nobody got there first.
    pub async fn accept_waitlist_offer(&self, token: &str) -> StoreResult<Accepted> {
        let offer = self.waitlist_offer(token).await?;
        if offer.status != "offered" {
            return Ok(Accepted::Taken);
        }
        let actor = Actor::system("waitlist offer accepted by the patient");
        let moved = self
            .reschedule_appointment(
                offer.practice_id,
                offer.appointment_id,
                offer.slot_start,
                Some(offer.clinician_id),
                true,
                &actor,
            )
            .await;
        let hash = sha256_hex(token.as_bytes());
        match moved {
            Ok(a) => {
                let mut tx = self.begin().await?;
                sqlx::query("UPDATE waitlist_offers SET status = 'accepted' WHERE token_hash = $1")
                    .bind(hash)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(
                    "UPDATE waitlist_offers SET status = 'taken' WHERE practice_id = $1 AND clinician_id = $2 \
                     AND slot_start = $3 AND status = 'offered'",
                )
                .bind(offer.practice_id)
                .bind(offer.clinician_id)
                .bind(offer.slot_start)
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "UPDATE waitlist SET status = 'moved', updated_at = $3 WHERE practice_id = $1 AND appointment_id = $2",
                )
                .bind(offer.practice_id)
                .bind(offer.appointment_id)
                .bind(now_ms())
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(Accepted::Moved(a))
            }
            Err(BookingError::Taken(_)) => {
                sqlx::query("UPDATE waitlist_offers SET status = 'taken' WHERE token_hash = $1")
                    .bind(hash)
                    .execute(self.pool())
                    .await?;
                Ok(Accepted::Taken)
            }
            Err(BookingError::Store(e)) => Err(e),
        }
    }
}
