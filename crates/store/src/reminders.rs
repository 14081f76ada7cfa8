//! Appointment reminders, exactly once per step. Nothing is stored ahead: each sweep computes, for
//! every live upcoming appointment, the practice's cadence (48, 24 and 2 hours before by default,
//! moved earlier out of quiet hours in the location's time zone) from the appointment's current
//! time, and queues the latest step that is due. The message's idempotency key names the
//! appointment, the step and the visit's time, and the outbox refuses a key twice, so:
//! - a restart or crash (between queueing and anything else) sends nothing twice and loses
//!   nothing: the next sweep queues whatever is still due;
//! - moving a visit changes its time and so its keys: the reminders follow the new time;
//! - cancelling takes the visit out of the sweep: nothing more is sent.
//!
//! A reply "C" confirms the sender's next visit.

use std::collections::HashMap;

use sqlx::Row;
use stride_core::deposits::dollars;
use stride_core::phone::PhoneE164;
use stride_core::reminders::{QuietHours, plan};
use stride_core::tz::TimeZoneName;

use crate::audit::Actor;
use crate::deposits::BookingSettings;
use crate::error::{StoreError, StoreResult};
use crate::messages::{Channel, NewMessage};
use crate::scheduling::manage_aad;
use crate::{Store, opt_bytes};

const HOUR: i64 = 3_600_000;
/// Why a reminder message is sent (the outbox's `purpose`).
pub const REMINDER: &str = "reminder";

/// What one sweep did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Sweep {
    pub queued: usize,
    /// Due, but the patient agreed to neither texts nor email (or texted STOP).
    pub no_consent: usize,
}

/// The idempotency key of one reminder step of one visit at one time.
pub fn reminder_key(appointment_id: i64, step_hours: i64, starts_at: i64) -> String {
    format!("{REMINDER}:{appointment_id}:{step_hours}:{starts_at}")
}

impl Store {
    /// Queues every reminder that is due at `now`. `base_url` is where patients reach Stride (for
    /// the manage link). Safe to run from any number of processes at once.
    pub async fn send_due_reminders(&self, base_url: &str, now: i64) -> StoreResult<Sweep> {
        // Only visits close enough for their earliest step to be due: the longest cadence in use,
        // plus a day for quiet hours moving a message earlier.
        let mut longest = 48;
        for r in sqlx::query(
            "SELECT reminder_hours FROM booking_settings UNION ALL \
             SELECT reminder_hours FROM appointment_types WHERE reminder_hours IS NOT NULL",
        )
        .fetch_all(self.pool())
        .await?
        {
            let text: Option<String> = r.try_get("reminder_hours")?;
            if let Ok(Some(hours)) = crate::scheduling::parse_hours_list(&text.unwrap_or_default())
            {
                longest = hours.into_iter().fold(longest, i64::max);
            }
        }
        let rows = sqlx::query(
            "SELECT a.id, a.practice_id, a.starts_at, a.created_at, a.scheduled_at, a.patient_id, a.lead_id, \
             a.manage_token_enc, a.clinician_id, l.time_zone, l.name AS location_name, l.main_phone, \
             t.name AS type_name, t.reminder_hours AS type_hours, c.name AS clinician_name, p.slug, p.name AS practice_name, \
             (SELECT d.amount_cents FROM deposits d WHERE d.appointment_id = a.id AND d.status IN ('pending', 'collected')) AS deposit_cents \
             FROM appointments a JOIN locations l ON l.id = a.location_id JOIN appointment_types t ON t.id = a.type_id \
             JOIN clinicians c ON c.id = a.clinician_id JOIN practices p ON p.id = a.practice_id \
             WHERE a.status IN ('booked', 'confirmed') AND a.starts_at > $1 AND a.starts_at <= $2 ORDER BY a.starts_at",
        )
        .bind(now)
        .bind(now + (longest + 24) * HOUR)
        .fetch_all(self.pool())
        .await?;
        let mut settings: HashMap<i64, BookingSettings> = HashMap::new();
        let mut sweep = Sweep::default();
        let actor = Actor::system("appointment reminders");
        for r in &rows {
            let id: i64 = r.try_get("id")?;
            let practice_id: i64 = r.try_get("practice_id")?;
            let starts_at: i64 = r.try_get("starts_at")?;
            let s = match settings.entry(practice_id) {
                std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert(self.booking_settings(practice_id).await?)
                }
            };
            let Ok(tz) = TimeZoneName::parse(&r.try_get::<String, _>("time_zone")?) else {
                continue;
            };
            let quiet = QuietHours::parse(&s.quiet_hours).ok();
            let scheduled: i64 = r
                .try_get::<Option<i64>, _>("scheduled_at")?
                .unwrap_or(r.try_get("created_at")?);
            // The visit type's own cadence, else the practice's.
            let cadence = crate::scheduling::parse_hours_list(
                &r.try_get::<Option<String>, _>("type_hours")?
                    .unwrap_or_default(),
            )
            .ok()
            .flatten()
            .unwrap_or_else(|| s.reminder_hours.clone());
            let due = plan(starts_at, scheduled, &cadence, quiet, &tz.tz())
                .into_iter()
                .rfind(|p| p.send_at <= now);
            let Some(step) = due else { continue };
            let key = reminder_key(id, step.step_hours, starts_at);
            let sent = sqlx::query("SELECT id FROM messages WHERE idempotency_key = $1")
                .bind(key.clone())
                .fetch_optional(self.pool())
                .await?;
            if sent.is_some() {
                continue;
            }
            // Who to tell, and how: the patient's consent (texts first), else the lead's.
            let contact = match (
                r.try_get::<Option<i64>, _>("patient_id")?,
                r.try_get::<Option<i64>, _>("lead_id")?,
            ) {
                (Some(pid), _) => {
                    let p = self.patient(practice_id, pid, &actor).await?;
                    // A patient who prefers email and agreed to it gets email.
                    let texts = p.sms_consent && !(p.prefers_email && p.email_consent);
                    (p.phone, p.email, texts, p.email_consent)
                }
                (None, Some(lid)) => {
                    let l = self.lead(practice_id, lid, &actor).await?;
                    (l.phone, l.email, l.sms_consent, l.email_consent)
                }
                (None, None) => continue,
            };
            let sms = contact
                .0
                .filter(|_| contact.2)
                .and_then(|p| PhoneE164::parse(&p).ok());
            let sms = match sms {
                Some(p) if !self.is_opted_out(practice_id, &p).await? => Some(p),
                _ => None,
            };
            let (channel, to) = match (sms, contact.1.filter(|_| contact.3)) {
                (Some(p), _) => (Channel::Sms, p.as_str().to_string()),
                (None, Some(e)) => (Channel::Email, e),
                (None, None) => {
                    sweep.no_consent += 1;
                    continue;
                }
            };
            let token = self.keys().decrypt_opt(
                opt_bytes(r, "manage_token_enc")?.as_deref(),
                &manage_aad(practice_id),
            )?;
            let when = jiff::Timestamp::from_millisecond(starts_at)
                .map(|t| {
                    t.to_zoned_datetime(tz.tz())
                        .strftime("%a %b %-d at %-I:%M %p")
                        .to_string()
                })
                .unwrap_or_default();
            let practice: String = r.try_get("practice_name")?;
            let slug: String = r.try_get("slug")?;
            let mut body = format!(
                "{practice}: a reminder of your {} on {when} with {} at {}.",
                r.try_get::<String, _>("type_name")?.to_lowercase(),
                r.try_get::<String, _>("clinician_name")?,
                r.try_get::<String, _>("location_name")?,
            );
            if channel == Channel::Sms {
                body.push_str(" Reply C to confirm.");
            }
            if let Some(t) = token {
                body.push_str(&format!(
                    " Confirm, move or cancel: {}/p/{slug}/manage/{t}",
                    base_url.trim_end_matches('/')
                ));
            }
            if let Some(cents) = r.try_get::<Option<i64>, _>("deposit_cents")? {
                body.push_str(&format!(
                    " Your {} deposit is applied to the visit; cancelling less than {} hours before forfeits it.",
                    dollars(cents),
                    s.policy.refundable_hours
                ));
            }
            if channel == Channel::Sms {
                body.push_str(" Reply STOP to opt out.");
            }
            let msg = NewMessage {
                channel,
                to,
                subject: (channel == Channel::Email)
                    .then(|| format!("Reminder: your visit on {when}")),
                body,
                purpose: REMINDER.into(),
                idempotency_key: Some(key),
            };
            match self.queue_message(practice_id, &msg).await {
                Ok(_) => sweep.queued += 1,
                // Another process queued it a moment ago, or the number opted out meanwhile.
                Err(StoreError::Conflict(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(sweep)
    }

    /// A "C" reply: confirms the sender's next booked visit (matched by phone through the blind
    /// index, on patients and leads). The appointment's id, or `None` when there is none.
    pub async fn confirm_by_text(
        &self,
        practice_id: i64,
        from: &PhoneE164,
        now: i64,
    ) -> StoreResult<Option<i64>> {
        let bidx = self.keys().blind_index("phone", from.as_str());
        let next = sqlx::query(
            "SELECT a.id FROM appointments a LEFT JOIN patients p ON p.id = a.patient_id \
             LEFT JOIN leads l ON l.id = a.lead_id \
             WHERE a.practice_id = $1 AND a.status = 'booked' AND a.starts_at > $2 \
             AND (p.phone_bidx = $3 OR l.phone_bidx = $3) ORDER BY a.starts_at LIMIT 1",
        )
        .bind(practice_id)
        .bind(now)
        .bind(bidx)
        .fetch_optional(self.pool())
        .await?;
        let Some(r) = next else { return Ok(None) };
        let id: i64 = r.try_get("id")?;
        self.set_attendance(
            practice_id,
            id,
            stride_core::deposits::Attendance::Confirmed,
            Some(now),
            &Actor::system("reply C to a reminder"),
        )
        .await?;
        Ok(Some(id))
    }
}
