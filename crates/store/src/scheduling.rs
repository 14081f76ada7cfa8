//! Scheduling in the database: appointment types, clinicians' weekly hours and time off, open slots
//! from the availability engine, and booking. A booked appointment holds the five-minute blocks of
//! its time and the buffer after it in `appointment_blocks`, whose primary key (clinician, block)
//! lets exactly one of any number of racing requests have a slot, on SQLite and PostgreSQL; the
//! losers are told the time was just taken and offered the next open slots.

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;
use stride_core::availability::{self, Busy, Calendar, Request, Slot};
use stride_core::hours::{DayHours, Weekday};
use stride_core::tz::TimeZoneName;

use crate::audit::{self, Actor};
use crate::error::{StoreError, StoreResult};
use crate::{Store, now_ms};

const MINUTE: i64 = 60_000;
/// The grain of `appointment_blocks`.
pub const BLOCK_MIN: i64 = 5;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AppointmentType {
    pub id: i64,
    pub name: String,
    pub duration_min: i64,
    pub buffer_before_min: i64,
    pub buffer_after_min: i64,
    pub cash_price_cents: i64,
    pub deposit_applies: bool,
    pub new_patient: bool,
    pub active: bool,
}

/// The types a practice starts with (editable): name, minutes, buffer after, cash price, deposit,
/// new patient.
pub const DEFAULT_TYPES: &[(&str, i64, i64, i64, bool, bool)] = &[
    ("New-patient evaluation", 60, 15, 15_000, true, true),
    ("Follow-up visit", 45, 15, 11_000, true, false),
    ("Maintenance visit", 45, 15, 9_500, false, false),
];

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Appointment {
    pub id: i64,
    pub location_id: i64,
    pub clinician_id: i64,
    pub type_id: i64,
    pub patient_id: Option<i64>,
    pub lead_id: Option<i64>,
    pub starts_at: i64,
    pub ends_at: i64,
    pub status: String,
    pub source: String,
}

#[derive(Debug, Clone)]
pub struct NewAppointment {
    pub location_id: i64,
    pub clinician_id: i64,
    pub type_id: i64,
    pub starts_at: i64,
    pub patient_id: Option<i64>,
    pub lead_id: Option<i64>,
    /// Who booked it: "front desk", "online", "import".
    pub source: String,
}

/// Why a booking did not happen.
#[derive(Debug)]
pub enum BookingError {
    /// Someone else has the time (or it is no longer open): the next open slots of that clinician.
    Taken(Vec<Slot>),
    Store(StoreError),
}

impl From<StoreError> for BookingError {
    fn from(e: StoreError) -> Self {
        BookingError::Store(e)
    }
}

impl From<sqlx::Error> for BookingError {
    fn from(e: sqlx::Error) -> Self {
        BookingError::Store(e.into())
    }
}

const TYPE_COLS: &str = "id, name, duration_min, buffer_before_min, buffer_after_min, cash_price_cents, \
     deposit_applies, new_patient, active";
const APPT_COLS: &str = "id, location_id, clinician_id, type_id, patient_id, lead_id, starts_at, ends_at, status, source";

fn read_type(r: &AnyRow) -> StoreResult<AppointmentType> {
    Ok(AppointmentType {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        duration_min: r.try_get("duration_min")?,
        buffer_before_min: r.try_get("buffer_before_min")?,
        buffer_after_min: r.try_get("buffer_after_min")?,
        cash_price_cents: r.try_get("cash_price_cents")?,
        deposit_applies: r.try_get::<i64, _>("deposit_applies")? != 0,
        new_patient: r.try_get::<i64, _>("new_patient")? != 0,
        active: r.try_get::<i64, _>("active")? != 0,
    })
}

fn read_appointment(r: &AnyRow) -> StoreResult<Appointment> {
    Ok(Appointment {
        id: r.try_get("id")?,
        location_id: r.try_get("location_id")?,
        clinician_id: r.try_get("clinician_id")?,
        type_id: r.try_get("type_id")?,
        patient_id: r.try_get("patient_id")?,
        lead_id: r.try_get("lead_id")?,
        starts_at: r.try_get("starts_at")?,
        ends_at: r.try_get("ends_at")?,
        status: r.try_get("status")?,
        source: r.try_get("source")?,
    })
}

/// A `clinician_hours` row as an interval of a weekday.
fn read_shift(r: &AnyRow) -> Option<DayHours> {
    let wd = Weekday::from_index(r.try_get::<i64, _>("weekday").ok()? as u8)?;
    DayHours::new(
        wd,
        r.try_get::<i64, _>("start_min").ok()? as u16,
        r.try_get::<i64, _>("end_min").ok()? as u16,
    )
    .ok()
}

/// Statuses that no longer hold their time.
const RELEASED: &str = "('cancelled', 'late_cancel', 'no_show')";

impl Store {
    /// The practice's appointment types, creating the usual three the first time.
    pub async fn appointment_types(&self, practice_id: i64) -> StoreResult<Vec<AppointmentType>> {
        let read = || async {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {TYPE_COLS} FROM appointment_types WHERE practice_id = $1 ORDER BY new_patient DESC, id"
            )))
            .bind(practice_id)
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(read_type)
            .collect::<StoreResult<Vec<_>>>()
        };
        let types = read().await?;
        if !types.is_empty() {
            return Ok(types);
        }
        let now = now_ms();
        for (name, minutes, after, price, deposit, new_patient) in DEFAULT_TYPES {
            sqlx::query(
                "INSERT INTO appointment_types (practice_id, name, duration_min, buffer_after_min, cash_price_cents, \
                 deposit_applies, new_patient, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                 ON CONFLICT (practice_id, name) DO NOTHING",
            )
            .bind(practice_id)
            .bind(name.to_string())
            .bind(*minutes)
            .bind(*after)
            .bind(*price)
            .bind(i64::from(*deposit))
            .bind(i64::from(*new_patient))
            .bind(now)
            .execute(self.pool())
            .await?;
        }
        read().await
    }

    /// Replaces a clinician's weekly hours at a location.
    pub async fn set_clinician_hours(
        &self,
        practice_id: i64,
        clinician_id: i64,
        location_id: i64,
        hours: &[DayHours],
        actor: &Actor,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        let owned = sqlx::query(
            "SELECT c.id FROM clinicians c, locations l WHERE c.id = $1 AND c.practice_id = $3 \
             AND l.id = $2 AND l.practice_id = $3",
        )
        .bind(clinician_id)
        .bind(location_id)
        .bind(practice_id)
        .fetch_optional(&mut *tx)
        .await?;
        if owned.is_none() {
            return Err(StoreError::NotFound);
        }
        for (i, a) in hours.iter().enumerate() {
            if hours[i + 1..]
                .iter()
                .any(|b| a.weekday() == b.weekday() && a.open() < b.close() && b.open() < a.close())
            {
                return Err(StoreError::Invalid(format!(
                    "the hours on {} overlap",
                    a.weekday().long()
                )));
            }
        }
        sqlx::query("DELETE FROM clinician_hours WHERE clinician_id = $1 AND location_id = $2")
            .bind(clinician_id)
            .bind(location_id)
            .execute(&mut *tx)
            .await?;
        for h in hours {
            sqlx::query(
                "INSERT INTO clinician_hours (practice_id, clinician_id, location_id, weekday, start_min, end_min) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(practice_id)
            .bind(clinician_id)
            .bind(location_id)
            .bind(i64::from(h.weekday().index()))
            .bind(i64::from(h.open()))
            .bind(i64::from(h.close()))
            .execute(&mut *tx)
            .await?;
        }
        audit::record(
            &mut *tx,
            Some(practice_id),
            actor,
            "update",
            "clinician_hours",
            Some(clinician_id),
            &format!("{} intervals", hours.len()),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A practice's clinicians' weekly hours: (clinician, location, interval).
    pub async fn clinician_hours(
        &self,
        practice_id: i64,
    ) -> StoreResult<Vec<(i64, i64, DayHours)>> {
        Ok(sqlx::query(
            "SELECT clinician_id, location_id, weekday, start_min, end_min FROM clinician_hours \
             WHERE practice_id = $1 ORDER BY clinician_id, weekday, start_min",
        )
        .bind(practice_id)
        .fetch_all(self.pool())
        .await?
        .iter()
        .filter_map(|r| {
            Some((
                r.try_get("clinician_id").ok()?,
                r.try_get("location_id").ok()?,
                read_shift(r)?,
            ))
        })
        .collect())
    }

    pub async fn add_time_off(
        &self,
        practice_id: i64,
        clinician_id: i64,
        starts_at: i64,
        ends_at: i64,
        reason: &str,
        actor: &Actor,
    ) -> StoreResult<()> {
        if ends_at <= starts_at {
            return Err(StoreError::Invalid(
                "time off must end after it starts".into(),
            ));
        }
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO time_off (practice_id, clinician_id, starts_at, ends_at, reason) \
             SELECT $1, id, $3, $4, $5 FROM clinicians WHERE id = $2 AND practice_id = $1",
        )
        .bind(practice_id)
        .bind(clinician_id)
        .bind(starts_at)
        .bind(ends_at)
        .bind(reason.trim().to_string())
        .execute(&mut *tx)
        .await?;
        audit::record(
            &mut *tx,
            Some(practice_id),
            actor,
            "create",
            "time_off",
            Some(clinician_id),
            "",
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A clinician's calendar at a location for the engine: hours, busy times from `from` on, the
    /// location's holidays.
    async fn calendar(
        &self,
        practice_id: i64,
        clinician_id: i64,
        location_id: i64,
        from: i64,
    ) -> StoreResult<Calendar> {
        let executor = self.pool();
        let location =
            sqlx::query("SELECT time_zone FROM locations WHERE id = $1 AND practice_id = $2")
                .bind(location_id)
                .bind(practice_id)
                .fetch_optional(executor)
                .await?
                .ok_or(StoreError::NotFound)?;
        let tz = TimeZoneName::parse(&location.try_get::<String, _>("time_zone")?)
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        let hours = sqlx::query(
            "SELECT weekday, start_min, end_min FROM clinician_hours WHERE clinician_id = $1 AND location_id = $2",
        )
        .bind(clinician_id)
        .bind(location_id)
        .fetch_all(executor)
        .await?
        .iter()
        .filter_map(read_shift)
        .collect();
        let mut busy: Vec<Busy> = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT starts_at, ends_at, buffer_before_min, buffer_after_min FROM appointments \
             WHERE clinician_id = $1 AND ends_at > $2 AND status NOT IN {RELEASED}"
        )))
        .bind(clinician_id)
        .bind(from - 86_400_000)
        .fetch_all(executor)
        .await?
        .iter()
        .map(|r| {
            Ok(Busy {
                start: r.try_get("starts_at")?,
                end: r.try_get("ends_at")?,
                buffer_before: r.try_get("buffer_before_min")?,
                buffer_after: r.try_get("buffer_after_min")?,
            })
        })
        .collect::<StoreResult<_>>()?;
        for r in sqlx::query(
            "SELECT starts_at, ends_at FROM time_off WHERE clinician_id = $1 AND ends_at > $2",
        )
        .bind(clinician_id)
        .bind(from)
        .fetch_all(executor)
        .await?
        {
            busy.push(Busy::time_off(
                r.try_get("starts_at")?,
                r.try_get("ends_at")?,
            ));
        }
        let closed = sqlx::query("SELECT day FROM location_holidays WHERE location_id = $1")
            .bind(location_id)
            .fetch_all(executor)
            .await?
            .iter()
            .filter_map(|r| r.try_get::<String, _>("day").ok()?.parse().ok())
            .collect();
        Ok(Calendar {
            tz: tz.tz(),
            hours,
            busy,
            closed,
        })
    }

    async fn appointment_type(
        &self,
        practice_id: i64,
        type_id: i64,
    ) -> StoreResult<AppointmentType> {
        let r = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {TYPE_COLS} FROM appointment_types WHERE id = $1 AND practice_id = $2"
        )))
        .bind(type_id)
        .bind(practice_id)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        read_type(&r)
    }

    fn request(t: &AppointmentType, now: i64) -> Request {
        Request {
            buffer_before_min: t.buffer_before_min,
            buffer_after_min: t.buffer_after_min,
            ..Request::new(t.duration_min, now)
        }
    }

    /// Clinicians who work at a location, or the one asked for.
    async fn clinicians_at(
        &self,
        practice_id: i64,
        location_id: i64,
        clinician_id: Option<i64>,
    ) -> StoreResult<Vec<i64>> {
        let rows = sqlx::query(
            "SELECT DISTINCT h.clinician_id FROM clinician_hours h JOIN clinicians c ON c.id = h.clinician_id \
             WHERE h.practice_id = $1 AND h.location_id = $2 AND c.active = 1 ORDER BY h.clinician_id",
        )
        .bind(practice_id)
        .bind(location_id)
        .fetch_all(self.pool())
        .await?;
        let mut ids: Vec<i64> = rows
            .iter()
            .map(|r| r.try_get("clinician_id"))
            .collect::<Result<_, _>>()?;
        if let Some(c) = clinician_id {
            ids.retain(|id| *id == c);
        }
        Ok(ids)
    }

    /// Open slots for a type at a location, of one clinician or anyone working there, in order.
    pub async fn open_slots(
        &self,
        practice_id: i64,
        type_id: i64,
        location_id: i64,
        clinician_id: Option<i64>,
        now: i64,
        horizon_days: i64,
    ) -> StoreResult<Vec<(i64, Slot)>> {
        let t = self.appointment_type(practice_id, type_id).await?;
        let mut req = Self::request(&t, now);
        req.horizon_days = horizon_days;
        let mut out = Vec::new();
        for c in self
            .clinicians_at(practice_id, location_id, clinician_id)
            .await?
        {
            let cal = self.calendar(practice_id, c, location_id, now).await?;
            out.extend(
                availability::open_slots(&cal, &req)
                    .into_iter()
                    .map(|s| (c, s)),
            );
        }
        out.sort_by_key(|(c, s)| (s.start, *c));
        Ok(out)
    }

    /// The earliest open slot for a type at a location: (clinician, slot).
    pub async fn earliest_available(
        &self,
        practice_id: i64,
        type_id: i64,
        location_id: i64,
        clinician_id: Option<i64>,
        now: i64,
    ) -> StoreResult<Option<(i64, Slot)>> {
        let t = self.appointment_type(practice_id, type_id).await?;
        let req = Self::request(&t, now);
        let ids = self
            .clinicians_at(practice_id, location_id, clinician_id)
            .await?;
        let mut cals = Vec::new();
        for c in &ids {
            cals.push(self.calendar(practice_id, *c, location_id, now).await?);
        }
        Ok(availability::earliest(&cals, &req).map(|(i, s)| (ids[i], s)))
    }

    /// Books a slot if it is open. The database decides a race: one request wins, the others get
    /// `Taken` with the next open slots of that clinician.
    pub async fn book_appointment(
        &self,
        practice_id: i64,
        a: &NewAppointment,
        actor: &Actor,
    ) -> Result<Appointment, BookingError> {
        let t = self.appointment_type(practice_id, a.type_id).await?;
        let now = now_ms();
        let ends_at = a.starts_at + t.duration_min * MINUTE;
        // Open now (in hours, past the notice, clear of others and their buffers)? The blocks below
        // settle a race between requests that both saw it open.
        let cal = self
            .calendar(practice_id, a.clinician_id, a.location_id, now)
            .await?;
        let mut req = Self::request(&t, now);
        req.step_min = BLOCK_MIN;
        let date = jiff::Timestamp::from_millisecond(a.starts_at)
            .map_err(|e| StoreError::Invalid(e.to_string()))?
            .to_zoned_datetime(cal.tz.clone())
            .date();
        let busy = availability::Prepared::new(&cal.busy);
        let open = availability::day_slots(&cal, &req, date, &busy)
            .iter()
            .any(|s| s.start == a.starts_at);
        if !open {
            return Err(BookingError::Taken(
                self.next_slots(practice_id, a, now).await?,
            ));
        }
        let mut tx = self.begin().await?;
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO appointments (practice_id, location_id, clinician_id, type_id, patient_id, lead_id, starts_at, \
             ends_at, buffer_before_min, buffer_after_min, status, source, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'booked', $11, $12, $12) RETURNING {APPT_COLS}"
        )))
        .bind(practice_id)
        .bind(a.location_id)
        .bind(a.clinician_id)
        .bind(a.type_id)
        .bind(a.patient_id)
        .bind(a.lead_id)
        .bind(a.starts_at)
        .bind(ends_at)
        .bind(t.buffer_before_min)
        .bind(t.buffer_after_min)
        .bind(a.source.clone())
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        let appointment = read_appointment(&row)?;
        let block = BLOCK_MIN * MINUTE;
        let first = a.starts_at.div_euclid(block) * block;
        let held_until = ends_at + t.buffer_after_min * MINUTE;
        let mut b = first;
        while b < held_until {
            let taken = sqlx::query(
                "INSERT INTO appointment_blocks (clinician_id, block_start, appointment_id) VALUES ($1, $2, $3)",
            )
            .bind(a.clinician_id)
            .bind(b)
            .bind(appointment.id)
            .execute(&mut *tx)
            .await;
            match taken {
                Ok(_) => {}
                Err(sqlx::Error::Database(db)) if db.is_unique_violation() => {
                    drop(tx);
                    return Err(BookingError::Taken(
                        self.next_slots(practice_id, a, now).await?,
                    ));
                }
                Err(e) => return Err(e.into()),
            }
            b += block;
        }
        audit::record(
            &mut *tx,
            Some(practice_id),
            actor,
            "create",
            "appointment",
            Some(appointment.id),
            &a.source,
        )
        .await?;
        tx.commit().await?;
        Ok(appointment)
    }

    async fn next_slots(
        &self,
        practice_id: i64,
        a: &NewAppointment,
        now: i64,
    ) -> StoreResult<Vec<Slot>> {
        Ok(self
            .open_slots(
                practice_id,
                a.type_id,
                a.location_id,
                Some(a.clinician_id),
                now,
                30,
            )
            .await?
            .into_iter()
            .filter(|(_, s)| s.start >= a.starts_at)
            .take(3)
            .map(|(_, s)| s)
            .collect())
    }

    /// Cancels an appointment: its time is free again.
    pub async fn cancel_appointment(
        &self,
        practice_id: i64,
        id: i64,
        actor: &Actor,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        let done = sqlx::query(
            "UPDATE appointments SET status = 'cancelled', updated_at = $3 WHERE id = $1 AND practice_id = $2",
        )
        .bind(id)
        .bind(practice_id)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        sqlx::query("DELETE FROM appointment_blocks WHERE appointment_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        audit::record(
            &mut *tx,
            Some(practice_id),
            actor,
            "update",
            "appointment",
            Some(id),
            "cancelled",
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Appointments of a clinician in [from, to), live ones only.
    pub async fn appointments(
        &self,
        practice_id: i64,
        clinician_id: i64,
        from: i64,
        to: i64,
    ) -> StoreResult<Vec<Appointment>> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {APPT_COLS} FROM appointments WHERE practice_id = $1 AND clinician_id = $2 AND starts_at >= $3 \
             AND starts_at < $4 AND status NOT IN {RELEASED} ORDER BY starts_at"
        )))
        .bind(practice_id)
        .bind(clinician_id)
        .bind(from)
        .bind(to)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(read_appointment)
        .collect()
    }
}
