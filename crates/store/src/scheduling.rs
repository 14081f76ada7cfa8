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

use stride_core::deposits::Attendance;

use crate::audit::{self, Actor};
use crate::crypto::{random_token, sha256_hex};
use crate::deposits::BookingSettings;
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
    /// This type's own reminder cadence in hours before the visit; `None` follows the practice's.
    pub reminder_hours: Option<Vec<i64>>,
}

/// "48, 24,2" → [48, 24, 2]; empty → None.
pub fn parse_hours_list(s: &str) -> StoreResult<Option<Vec<i64>>> {
    let list = s
        .split([',', ' '])
        .filter(|h| !h.trim().is_empty())
        .map(|h| {
            h.trim()
                .parse::<i64>()
                .ok()
                .filter(|h| (1..=24 * 14).contains(h))
                .ok_or_else(|| {
                    StoreError::Invalid(format!(
                        "“{}” is not a number of hours between 1 and 336",
                        h.trim()
                    ))
                })
        })
        .collect::<StoreResult<Vec<i64>>>()?;
    Ok((!list.is_empty()).then_some(list))
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
    pub payer_id: Option<i64>,
    pub self_pay: bool,
    pub created_at: i64,
    /// The secret of the patient's manage link; only right after booking (the store keeps its hash).
    #[serde(skip)]
    pub manage_token: Option<String>,
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
    /// The patient's payer, when they use insurance.
    pub payer_id: Option<i64>,
    pub self_pay: bool,
}

impl NewAppointment {
    pub fn new(
        location_id: i64,
        clinician_id: i64,
        type_id: i64,
        starts_at: i64,
        source: &str,
    ) -> NewAppointment {
        NewAppointment {
            location_id,
            clinician_id,
            type_id,
            starts_at,
            patient_id: None,
            lead_id: None,
            source: source.to_string(),
            payer_id: None,
            self_pay: false,
        }
    }

    fn online(&self) -> bool {
        self.source == ONLINE
    }
}

/// The source of a booking made by the patient on the public booking page.
pub const ONLINE: &str = "online";

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
     deposit_applies, new_patient, active, reminder_hours";
const APPT_COLS: &str = "id, location_id, clinician_id, type_id, patient_id, lead_id, starts_at, ends_at, status, source, \
     payer_id, self_pay, created_at";

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
        reminder_hours: parse_hours_list(
            &r.try_get::<Option<String>, _>("reminder_hours")?
                .unwrap_or_default(),
        )
        .unwrap_or(None),
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
        payer_id: r.try_get("payer_id")?,
        self_pay: r.try_get::<i64, _>("self_pay")? != 0,
        created_at: r.try_get("created_at")?,
        manage_token: None,
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

/// The AAD of an appointment's manage-link secret, kept encrypted so reminders can carry the link.
pub(crate) fn manage_aad(practice_id: i64) -> Vec<u8> {
    format!("appointments.manage_token:{practice_id}").into_bytes()
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

    /// Adds a type (`id` none) or changes one. Its length and buffers apply to bookings from now
    /// on; booked appointments keep theirs.
    pub async fn save_appointment_type(
        &self,
        practice_id: i64,
        id: Option<i64>,
        t: &AppointmentType,
        actor: &Actor,
    ) -> StoreResult<i64> {
        let name = t.name.trim();
        if name.is_empty() || name.chars().count() > 80 {
            return Err(StoreError::Invalid(
                "give the visit type a name of up to 80 characters".into(),
            ));
        }
        if !(5..=480).contains(&t.duration_min) || t.duration_min % BLOCK_MIN != 0 {
            return Err(StoreError::Invalid(
                "a visit lasts 5 to 480 minutes, in steps of 5".into(),
            ));
        }
        for (label, v) in [
            ("buffer before", t.buffer_before_min),
            ("buffer after", t.buffer_after_min),
        ] {
            if !(0..=120).contains(&v) || v % BLOCK_MIN != 0 {
                return Err(StoreError::Invalid(format!(
                    "the {label} is 0 to 120 minutes, in steps of 5"
                )));
            }
        }
        if !(0..=1_000_000).contains(&t.cash_price_cents) {
            return Err(StoreError::Invalid(
                "the cash price must be between $0 and $10,000".into(),
            ));
        }
        let hours_text = t.reminder_hours.as_ref().map(|h| {
            let mut h = h.clone();
            h.sort_unstable_by(|a, b| b.cmp(a));
            h.dedup();
            h.iter()
                .map(|x| x.to_string())
                .collect::<Vec<_>>()
                .join(",")
        });
        let mut tx = self.begin().await?;
        let id = match id {
            Some(id) => {
                let done = sqlx::query(
                    "UPDATE appointment_types SET name = $3, duration_min = $4, buffer_before_min = $5, \
                     buffer_after_min = $6, cash_price_cents = $7, deposit_applies = $8, new_patient = $9, active = $10, \
                     reminder_hours = $11 WHERE id = $1 AND practice_id = $2",
                )
                .bind(id)
                .bind(practice_id)
                .bind(name.to_string())
                .bind(t.duration_min)
                .bind(t.buffer_before_min)
                .bind(t.buffer_after_min)
                .bind(t.cash_price_cents)
                .bind(i64::from(t.deposit_applies))
                .bind(i64::from(t.new_patient))
                .bind(i64::from(t.active))
                .bind(hours_text.clone())
                .execute(&mut *tx)
                .await
                .map_err(|e| StoreError::on_unique(e, format!("a visit type is already called {name}")))?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::NotFound);
                }
                id
            }
            None => sqlx::query(
                "INSERT INTO appointment_types (practice_id, name, duration_min, buffer_before_min, buffer_after_min, \
                 cash_price_cents, deposit_applies, new_patient, active, created_at, reminder_hours) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
            )
            .bind(practice_id)
            .bind(name.to_string())
            .bind(t.duration_min)
            .bind(t.buffer_before_min)
            .bind(t.buffer_after_min)
            .bind(t.cash_price_cents)
            .bind(i64::from(t.deposit_applies))
            .bind(i64::from(t.new_patient))
            .bind(i64::from(t.active))
            .bind(now_ms())
            .bind(hours_text.clone())
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| StoreError::on_unique(e, format!("a visit type is already called {name}")))?
            .try_get("id")?,
        };
        audit::record(
            &mut *tx,
            Some(practice_id),
            actor,
            "update",
            "appointment_type",
            Some(id),
            name,
        )
        .await?;
        tx.commit().await?;
        Ok(id)
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
        exclude: Option<i64>,
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
             WHERE clinician_id = $1 AND ends_at > $2 AND id <> $3 AND status NOT IN {RELEASED}"
        )))
        .bind(clinician_id)
        .bind(from - 86_400_000)
        .bind(exclude.unwrap_or(-1))
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
        self.slots_for(practice_id, location_id, clinician_id, &req)
            .await
    }

    /// Open slots a patient may book online: the practice's own notice and horizon.
    pub async fn online_slots(
        &self,
        practice_id: i64,
        type_id: i64,
        location_id: i64,
        clinician_id: Option<i64>,
        now: i64,
    ) -> StoreResult<Vec<(i64, Slot)>> {
        let t = self.appointment_type(practice_id, type_id).await?;
        let settings = self.booking_settings(practice_id).await?;
        let req = Self::booking_request(&t, &settings, true, now);
        self.slots_for(practice_id, location_id, clinician_id, &req)
            .await
    }

    async fn slots_for(
        &self,
        practice_id: i64,
        location_id: i64,
        clinician_id: Option<i64>,
        req: &Request,
    ) -> StoreResult<Vec<(i64, Slot)>> {
        let mut out = Vec::new();
        for c in self
            .clinicians_at(practice_id, location_id, clinician_id)
            .await?
        {
            let cal = self
                .calendar(practice_id, c, location_id, req.now, None)
                .await?;
            out.extend(
                availability::open_slots(&cal, req)
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
            cals.push(
                self.calendar(practice_id, *c, location_id, now, None)
                    .await?,
            );
        }
        Ok(availability::earliest(&cals, &req).map(|(i, s)| (ids[i], s)))
    }

    /// The rules a booking is checked against: the practice's notice and horizon online, the
    /// engine's defaults at the front desk.
    fn booking_request(
        t: &AppointmentType,
        settings: &BookingSettings,
        online: bool,
        now: i64,
    ) -> Request {
        let mut req = Self::request(t, now);
        if online {
            req.min_notice_min = settings.min_notice_min;
            req.horizon_days = settings.horizon_days;
        }
        req
    }

    /// Whether a clinician is free at `starts_at` under `req` (leaving out one appointment, the one
    /// being moved).
    async fn is_open(
        &self,
        practice_id: i64,
        clinician_id: i64,
        location_id: i64,
        starts_at: i64,
        req: &Request,
        exclude: Option<i64>,
    ) -> StoreResult<bool> {
        let cal = self
            .calendar(practice_id, clinician_id, location_id, req.now, exclude)
            .await?;
        let mut req = *req;
        req.step_min = BLOCK_MIN;
        let date = jiff::Timestamp::from_millisecond(starts_at)
            .map_err(|e| StoreError::Invalid(e.to_string()))?
            .to_zoned_datetime(cal.tz.clone())
            .date();
        let busy = availability::Prepared::new(&cal.busy);
        Ok(availability::day_slots(&cal, &req, date, &busy)
            .iter()
            .any(|s| s.start == starts_at))
    }

    /// Holds the blocks of [start, until) for an appointment; `false` when another has one.
    async fn hold_blocks(
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        clinician_id: i64,
        appointment_id: i64,
        start: i64,
        until: i64,
    ) -> StoreResult<bool> {
        let block = BLOCK_MIN * MINUTE;
        let mut b = start.div_euclid(block) * block;
        while b < until {
            let taken = sqlx::query(
                "INSERT INTO appointment_blocks (clinician_id, block_start, appointment_id) VALUES ($1, $2, $3)",
            )
            .bind(clinician_id)
            .bind(b)
            .bind(appointment_id)
            .execute(&mut **tx)
            .await;
            match taken {
                Ok(_) => {}
                Err(sqlx::Error::Database(db)) if db.is_unique_violation() => return Ok(false),
                Err(e) => return Err(e.into()),
            }
            b += block;
        }
        Ok(true)
    }

    /// Books a slot if it is open. The database decides a race: one request wins, the others get
    /// `Taken` with the next open slots of that clinician. A type that takes a deposit, while the
    /// policy is on, gets its deposit request in the same transaction; the returned appointment
    /// carries the secret of the patient's manage link.
    pub async fn book_appointment(
        &self,
        practice_id: i64,
        a: &NewAppointment,
        actor: &Actor,
    ) -> Result<Appointment, BookingError> {
        let t = self.appointment_type(practice_id, a.type_id).await?;
        let settings = self.booking_settings(practice_id).await?;
        let now = now_ms();
        let ends_at = a.starts_at + t.duration_min * MINUTE;
        // Open now (in hours, past the notice, clear of others and their buffers)? The blocks below
        // settle a race between requests that both saw it open.
        let req = Self::booking_request(&t, &settings, a.online(), now);
        if !self
            .is_open(
                practice_id,
                a.clinician_id,
                a.location_id,
                a.starts_at,
                &req,
                None,
            )
            .await?
        {
            return Err(BookingError::Taken(
                self.next_slots(practice_id, a, now).await?,
            ));
        }
        let deposit =
            (settings.deposit_enabled && t.deposit_applies && settings.policy.amount_cents > 0)
                .then_some(settings.policy.amount_cents);
        let token = random_token(24);
        let mut tx = self.begin().await?;
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO appointments (practice_id, location_id, clinician_id, type_id, patient_id, lead_id, starts_at, \
             ends_at, buffer_before_min, buffer_after_min, status, source, created_at, updated_at, payer_id, self_pay, \
             manage_token, deposit_required, manage_token_enc, scheduled_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'booked', $11, $12, $12, $13, $14, $15, $16, $17, $12) RETURNING {APPT_COLS}"
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
        .bind(a.payer_id)
        .bind(i64::from(a.self_pay))
        .bind(sha256_hex(token.as_bytes()))
        .bind(i64::from(deposit.is_some()))
        .bind(
            self.keys()
                .encrypt_str(&token, &manage_aad(practice_id)),
        )
        .fetch_one(&mut *tx)
        .await?;
        let mut appointment = read_appointment(&row)?;
        let held_until = ends_at + t.buffer_after_min * MINUTE;
        if !Self::hold_blocks(
            &mut tx,
            a.clinician_id,
            appointment.id,
            a.starts_at,
            held_until,
        )
        .await?
        {
            drop(tx);
            return Err(BookingError::Taken(
                self.next_slots(practice_id, a, now).await?,
            ));
        }
        if let Some(amount) = deposit {
            Self::request_deposit(&mut tx, practice_id, appointment.id, amount, now, actor).await?;
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
        appointment.manage_token = Some(token);
        Ok(appointment)
    }

    async fn next_slots(
        &self,
        practice_id: i64,
        a: &NewAppointment,
        now: i64,
    ) -> StoreResult<Vec<Slot>> {
        let slots = if a.online() {
            self.online_slots(
                practice_id,
                a.type_id,
                a.location_id,
                Some(a.clinician_id),
                now,
            )
            .await?
        } else {
            self.open_slots(
                practice_id,
                a.type_id,
                a.location_id,
                Some(a.clinician_id),
                now,
                30,
            )
            .await?
        };
        Ok(slots
            .into_iter()
            .filter(|(_, s)| s.start >= a.starts_at)
            .take(3)
            .map(|(_, s)| s)
            .collect())
    }

    /// Moves a live appointment to another time (and optionally another clinician at the same
    /// location). The new time is held the same way a booking is; a race is lost with `Taken`.
    pub async fn reschedule_appointment(
        &self,
        practice_id: i64,
        id: i64,
        starts_at: i64,
        clinician_id: Option<i64>,
        online: bool,
        actor: &Actor,
    ) -> Result<Appointment, BookingError> {
        let current = self.appointment(practice_id, id).await?;
        if !Attendance::parse(&current.status).is_some_and(Attendance::is_live) {
            return Err(StoreError::Conflict(format!(
                "a {} appointment cannot be moved",
                current.status.replace('_', " ")
            ))
            .into());
        }
        let t = self.appointment_type(practice_id, current.type_id).await?;
        let settings = self.booking_settings(practice_id).await?;
        let now = now_ms();
        let req = Self::booking_request(&t, &settings, online, now);
        let clinician = clinician_id.unwrap_or(current.clinician_id);
        let mut wanted = NewAppointment::new(
            current.location_id,
            clinician,
            current.type_id,
            starts_at,
            if online { ONLINE } else { "front desk" },
        );
        wanted.patient_id = current.patient_id;
        if !self
            .is_open(
                practice_id,
                clinician,
                current.location_id,
                starts_at,
                &req,
                Some(id),
            )
            .await?
        {
            return Err(BookingError::Taken(
                self.next_slots(practice_id, &wanted, now).await?,
            ));
        }
        let ends_at = starts_at + t.duration_min * MINUTE;
        let mut tx = self.begin().await?;
        sqlx::query("DELETE FROM appointment_blocks WHERE appointment_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE appointments SET clinician_id = $3, starts_at = $4, ends_at = $5, updated_at = $6, scheduled_at = $6 \
             WHERE id = $1 AND practice_id = $2",
        )
        .bind(id)
        .bind(practice_id)
        .bind(clinician)
        .bind(starts_at)
        .bind(ends_at)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let held_until = ends_at + t.buffer_after_min * MINUTE;
        if !Self::hold_blocks(&mut tx, clinician, id, starts_at, held_until).await? {
            drop(tx);
            return Err(BookingError::Taken(
                self.next_slots(practice_id, &wanted, now).await?,
            ));
        }
        Self::enqueue_freed(&mut tx, practice_id, &current, now).await?;
        audit::record(
            &mut *tx,
            Some(practice_id),
            actor,
            "update",
            "appointment",
            Some(id),
            "moved",
        )
        .await?;
        tx.commit().await?;
        Ok(self.appointment(practice_id, id).await?)
    }

    /// Records what became of an appointment (confirmed, checked in, completed, no-show, late
    /// cancel, cancelled). An outcome that frees the time releases it, and the deposit is settled
    /// by the policy in the same transaction.
    pub async fn set_attendance(
        &self,
        practice_id: i64,
        id: i64,
        to: Attendance,
        at: Option<i64>,
        actor: &Actor,
    ) -> StoreResult<Appointment> {
        let at = at.unwrap_or_else(now_ms);
        let mut tx = self.begin().await?;
        let r = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {APPT_COLS} FROM appointments WHERE id = $1 AND practice_id = $2"
        )))
        .bind(id)
        .bind(practice_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?;
        let a = read_appointment(&r)?;
        let from = Attendance::parse(&a.status)
            .ok_or_else(|| StoreError::Invalid(format!("unknown status {}", a.status)))?;
        if from == to {
            return Ok(a);
        }
        if !from.can_move(to) {
            return Err(StoreError::Conflict(format!(
                "an appointment that is {} cannot become {}",
                from.label().to_lowercase(),
                to.label().to_lowercase()
            )));
        }
        let done = sqlx::query(
            "UPDATE appointments SET status = $3, status_at = $4, updated_at = $4 WHERE id = $1 AND status = $2",
        )
        .bind(id)
        .bind(from.as_str().to_string())
        .bind(to.as_str().to_string())
        .bind(at)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict(
                "the appointment changed meanwhile; reload and try again".into(),
            ));
        }
        if !to.is_live() {
            sqlx::query("DELETE FROM appointment_blocks WHERE appointment_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            // A time freed ahead of time may suit someone on the waitlist.
            Self::enqueue_freed(&mut tx, practice_id, &a, at).await?;
            sqlx::query(
                "UPDATE waitlist SET status = 'removed', updated_at = $2 WHERE appointment_id = $1",
            )
            .bind(id)
            .bind(at)
            .execute(&mut *tx)
            .await?;
        }
        Self::settle_deposit(&mut tx, practice_id, id, to, at, actor).await?;
        audit::record(
            &mut *tx,
            Some(practice_id),
            actor,
            "update",
            "appointment",
            Some(id),
            to.as_str(),
        )
        .await?;
        tx.commit().await?;
        Ok(Appointment {
            status: to.as_str().to_string(),
            ..a
        })
    }

    /// Cancels an appointment: its time is free again.
    pub async fn cancel_appointment(
        &self,
        practice_id: i64,
        id: i64,
        actor: &Actor,
    ) -> StoreResult<()> {
        self.set_attendance(practice_id, id, Attendance::Cancelled, None, actor)
            .await
            .map(|_| ())
    }

    pub async fn appointment(&self, practice_id: i64, id: i64) -> StoreResult<Appointment> {
        let r = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {APPT_COLS} FROM appointments WHERE id = $1 AND practice_id = $2"
        )))
        .bind(id)
        .bind(practice_id)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        read_appointment(&r)
    }

    /// The appointment a manage link's secret opens: (practice, appointment).
    pub async fn appointment_by_token(&self, token: &str) -> StoreResult<(i64, Appointment)> {
        if token.len() < 20 || token.len() > 100 {
            return Err(StoreError::NotFound);
        }
        let r = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT practice_id, {APPT_COLS} FROM appointments WHERE manage_token = $1"
        )))
        .bind(sha256_hex(token.as_bytes()))
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        Ok((r.try_get("practice_id")?, read_appointment(&r)?))
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

    /// Re-seals every manage-link secret under the keyring's current key.
    pub(crate) async fn reencrypt_manage_tokens(&self) -> StoreResult<u64> {
        self.reencrypt_column("appointments", "id", "manage_token_enc", manage_aad)
            .await
    }
}

/// An appointment with its history, as another system (or the demo) recorded it.
#[derive(Debug, Clone)]
pub struct ImportedAppointment {
    pub appointment: NewAppointment,
    pub status: Attendance,
    pub created_at: i64,
    pub status_at: Option<i64>,
    /// The deposit's amount and its steps after the request: (to, at, who, method, note).
    pub deposit: Option<(i64, Vec<ImportedStep>)>,
}

#[derive(Debug, Clone)]
pub struct ImportedStep {
    pub to: stride_core::deposits::DepositStatus,
    pub at: i64,
    pub actor: String,
    pub method: String,
    pub note: String,
}

impl Store {
    /// Writes appointments with their past (statuses, deposits and their steps) in one
    /// transaction. Live ones hold their time like a booking does, so an overlap is refused with
    /// `Taken`; the ledger's steps must follow its arrows.
    pub async fn import_appointments(
        &self,
        practice_id: i64,
        list: &[ImportedAppointment],
        actor: &Actor,
    ) -> Result<usize, BookingError> {
        use stride_core::deposits::DepositStatus;
        let types: Vec<AppointmentType> = self.appointment_types(practice_id).await?;
        let mut tx = self.begin().await?;
        for imp in list {
            let a = &imp.appointment;
            let t = types
                .iter()
                .find(|t| t.id == a.type_id)
                .ok_or(StoreError::NotFound)?;
            let ends_at = a.starts_at + t.duration_min * MINUTE;
            let id: i64 = sqlx::query(
                "INSERT INTO appointments (practice_id, location_id, clinician_id, type_id, patient_id, lead_id, starts_at, \
                 ends_at, buffer_before_min, buffer_after_min, status, source, created_at, updated_at, payer_id, self_pay, \
                 deposit_required, status_at, scheduled_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13, $14, $15, $16, $17, $13) RETURNING id",
            )
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
            .bind(imp.status.as_str().to_string())
            .bind(a.source.clone())
            .bind(imp.created_at)
            .bind(a.payer_id)
            .bind(i64::from(a.self_pay))
            .bind(i64::from(imp.deposit.is_some()))
            .bind(imp.status_at)
            .fetch_one(&mut *tx)
            .await?
            .try_get("id")?;
            if imp.status.is_live()
                && !Self::hold_blocks(
                    &mut tx,
                    a.clinician_id,
                    id,
                    a.starts_at,
                    ends_at + t.buffer_after_min * MINUTE,
                )
                .await?
            {
                return Err(BookingError::Taken(Vec::new()));
            }
            if let Some((amount, steps)) = &imp.deposit {
                let mut status = DepositStatus::Pending;
                let mut method = String::new();
                for s in steps {
                    if !status.can_move(s.to) {
                        return Err(StoreError::Invalid(format!(
                            "a deposit cannot go from {} to {}",
                            status.as_str(),
                            s.to.as_str()
                        ))
                        .into());
                    }
                    status = s.to;
                    if !s.method.is_empty() {
                        method = s.method.clone();
                    }
                }
                let updated = steps.last().map(|s| s.at).unwrap_or(imp.created_at);
                let dep: i64 = sqlx::query(
                    "INSERT INTO deposits (practice_id, appointment_id, amount_cents, status, method, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                )
                .bind(practice_id)
                .bind(id)
                .bind(*amount)
                .bind(status.as_str().to_string())
                .bind(method)
                .bind(imp.created_at)
                .bind(updated)
                .fetch_one(&mut *tx)
                .await?
                .try_get("id")?;
                let mut from = DepositStatus::Pending;
                let requested = ImportedStep {
                    to: DepositStatus::Pending,
                    at: imp.created_at,
                    actor: actor.label.clone(),
                    method: String::new(),
                    note: "requested with the booking".into(),
                };
                for s in std::iter::once(&requested).chain(steps) {
                    sqlx::query(
                        "INSERT INTO deposit_events (practice_id, deposit_id, at, from_status, to_status, actor, method, note) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    )
                    .bind(practice_id)
                    .bind(dep)
                    .bind(s.at)
                    .bind(from.as_str().to_string())
                    .bind(s.to.as_str().to_string())
                    .bind(s.actor.clone())
                    .bind(s.method.clone())
                    .bind(s.note.clone())
                    .execute(&mut *tx)
                    .await?;
                    from = s.to;
                }
            }
        }
        audit::record(
            &mut *tx,
            Some(practice_id),
            actor,
            "import",
            "appointment",
            None,
            &format!("{} appointments", list.len()),
        )
        .await?;
        tx.commit().await?;
        Ok(list.len())
    }
}

impl Store {
    /// Visits that started in [from, to), for the attendance report (no patient data).
    pub async fn visits_between(
        &self,
        practice_id: i64,
        from: i64,
        to: i64,
    ) -> StoreResult<Vec<stride_core::attendance::Visit>> {
        sqlx::query(
            "SELECT starts_at, status, clinician_id, type_id, payer_id, self_pay FROM appointments \
             WHERE practice_id = $1 AND starts_at >= $2 AND starts_at < $3",
        )
        .bind(practice_id)
        .bind(from)
        .bind(to)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(|r| {
            let status: String = r.try_get("status")?;
            Ok(stride_core::attendance::Visit {
                starts_at: r.try_get("starts_at")?,
                status: Attendance::parse(&status)
                    .ok_or_else(|| StoreError::Invalid(format!("unknown status {status}")))?,
                clinician_id: r.try_get("clinician_id")?,
                type_id: r.try_get("type_id")?,
                payer_id: r.try_get("payer_id")?,
                self_pay: r.try_get::<i64, _>("self_pay")? != 0,
            })
        })
        .collect()
    }
}

/// A clinician's time off, as listed in Settings.
#[derive(Debug, Clone, Serialize)]
pub struct TimeOff {
    pub id: i64,
    pub clinician_id: i64,
    pub starts_at: i64,
    pub ends_at: i64,
    pub reason: String,
}

impl Store {
    /// Checks a series of wanted starts for one clinician (the front desk's rules): each open, or
    /// its conflict with the nearest open time that day.
    pub async fn plan_series(
        &self,
        practice_id: i64,
        clinician_id: i64,
        location_id: i64,
        type_id: i64,
        starts: &[i64],
    ) -> StoreResult<Vec<availability::Fit>> {
        let t = self.appointment_type(practice_id, type_id).await?;
        let now = now_ms();
        let cal = self
            .calendar(practice_id, clinician_id, location_id, now, None)
            .await?;
        let mut req = Self::request(&t, now);
        req.step_min = BLOCK_MIN;
        req.horizon_days = 366;
        Ok(availability::fit_series(&cal, &req, starts))
    }

    /// Time off that has not ended, soonest first.
    pub async fn time_off(&self, practice_id: i64, now: i64) -> StoreResult<Vec<TimeOff>> {
        sqlx::query(
            "SELECT id, clinician_id, starts_at, ends_at, reason FROM time_off WHERE practice_id = $1 AND ends_at > $2 \
             ORDER BY starts_at",
        )
        .bind(practice_id)
        .bind(now)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(|r| {
            Ok(TimeOff {
                id: r.try_get("id")?,
                clinician_id: r.try_get("clinician_id")?,
                starts_at: r.try_get("starts_at")?,
                ends_at: r.try_get("ends_at")?,
                reason: r.try_get("reason")?,
            })
        })
        .collect()
    }

    pub async fn remove_time_off(
        &self,
        practice_id: i64,
        id: i64,
        actor: &Actor,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        let done = sqlx::query("DELETE FROM time_off WHERE id = $1 AND practice_id = $2")
            .bind(id)
            .bind(practice_id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        audit::record(
            &mut *tx,
            Some(practice_id),
            actor,
            "delete",
            "time_off",
            Some(id),
            "",
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Live appointments at a location in [from, to), for the week view.
    pub async fn location_appointments(
        &self,
        practice_id: i64,
        location_id: i64,
        from: i64,
        to: i64,
    ) -> StoreResult<Vec<Appointment>> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {APPT_COLS} FROM appointments WHERE practice_id = $1 AND location_id = $2 AND starts_at >= $3 \
             AND starts_at < $4 AND status NOT IN {RELEASED} ORDER BY starts_at, clinician_id"
        )))
        .bind(practice_id)
        .bind(location_id)
        .bind(from)
        .bind(to)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(read_appointment)
        .collect()
    }
}

impl Store {
    /// All of a patient's appointments, newest first, with their deposit's status.
    pub async fn patient_appointments(
        &self,
        practice_id: i64,
        patient_id: i64,
    ) -> StoreResult<Vec<(Appointment, Option<String>)>> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {}, (SELECT d.status FROM deposits d WHERE d.appointment_id = appointments.id) AS deposit_status \
             FROM appointments WHERE practice_id = $1 AND patient_id = $2 ORDER BY starts_at DESC",
            APPT_COLS
        )))
        .bind(practice_id)
        .bind(patient_id)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(|r| Ok((read_appointment(r)?, r.try_get("deposit_status")?)))
        .collect()
    }
}
