//! The demo's year of appointments: 600 patients, each with a payer (or self-pay), seen by the
//! five clinicians in their weekly hours from a year ago to three weeks ahead, in plans of care
//! (see `care`): an evaluation, then follow-ups at the prescribed frequency. The deposit
//! policy started four months ago: from then on evaluations and follow-ups carry a $25 deposit
//! (collected at the desk, a few waived by name, settled by the visit's outcome) and no-shows
//! fall from about 16% to about 6%. Payers are in every credentialing state. Written once, when
//! the practice has no appointment yet.

use jiff::Timestamp;
use jiff::civil::Date;
use stride_core::deposits::{Attendance, DepositStatus};
use stride_core::payers::Credentialing;
use stride_core::phone::PhoneE164;
use stride_core::tz::TimeZoneName;
use stride_store::Store;
use stride_store::audit::Actor;
use stride_store::deposits::BookingSettings;
use stride_store::patients::PatientInput;
use stride_store::payers::PayerUpdate;
use stride_store::scheduling::{ImportedAppointment, ImportedStep, NewAppointment};

use super::care;
use crate::traffic::Rng;

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;
/// When the deposit policy started, in days before today.
pub const DEPOSITS_STARTED_DAYS_AGO: i64 = 122;

/// A demo payer: name, status, reimbursement per visit in dollars, submitted / expected in days
/// from today, share of patients in percent.
type DemoPayer = (&'static str, Credentialing, i64, Option<(i64, i64)>, u64);

const PAYERS: &[DemoPayer] = &[
    (
        "Blue Cross Blue Shield",
        Credentialing::InNetwork,
        98,
        None,
        30,
    ),
    ("Medicare", Credentialing::InNetwork, 92, None, 20),
    ("UnitedHealthcare", Credentialing::InNetwork, 88, None, 14),
    (
        "Workers' compensation",
        Credentialing::InNetwork,
        112,
        None,
        5,
    ),
    (
        "Auto insurance (PIP)",
        Credentialing::InNetwork,
        125,
        None,
        3,
    ),
    ("Aetna", Credentialing::InProgress, 0, Some((-62, 21)), 6),
    ("Cigna", Credentialing::InProgress, 0, Some((-150, -12)), 3),
    (
        "Medicare Advantage",
        Credentialing::InProgress,
        0,
        Some((-20, 70)),
        0,
    ),
    ("Humana", Credentialing::OutOfNetwork, 0, None, 1),
    ("Tricare", Credentialing::OutOfNetwork, 0, None, 0),
    ("Medicaid", Credentialing::NotAccepted, 0, None, 0),
    ("Kaiser Permanente", Credentialing::NotAccepted, 0, None, 0),
];

const FIRST: &[&str] = &[
    "Avery", "Benjamin", "Camila", "Daniel", "Emma", "Felix", "Gianna", "Harper", "Ivan",
    "Jasmine", "Kai", "Leah", "Mateo", "Naomi", "Oscar", "Penelope", "Quinn", "Rosa", "Samuel",
    "Tessa",
];
const LAST: &[&str] = &[
    "Abbott",
    "Brennan",
    "Carvalho",
    "Dubois",
    "Eriksen",
    "Flores",
    "Greenberg",
    "Hoffman",
    "Iyer",
    "Jablonski",
];

const PHYSICIANS: &[&str] = &[
    "Dr. Helen Marsh (orthopedics)",
    "Dr. Raj Mehta (sports medicine)",
    "Dr. Lucia Ortega (primary care)",
    "Dr. Samuel Greene (neurosurgery)",
];

const WAIVERS: &[&str] = &[
    "Workers' comp claim: the employer pays the visit",
    "Financial hardship, approved by the owner",
    "Post-surgical referral; the clinic director approved",
];

struct DemoPatient {
    id: i64,
    payer: Option<i64>,
}

pub(super) async fn seed(store: &Store, practice_id: i64, desk: &str) -> anyhow::Result<()> {
    let any: Option<i64> =
        sqlx::query_scalar("SELECT id FROM appointments WHERE practice_id = $1 LIMIT 1")
            .bind(practice_id)
            .fetch_optional(store.pool())
            .await?;
    if any.is_some() {
        return Ok(());
    }
    let actor = Actor::system("demo");
    let now = Timestamp::now().as_millisecond();
    let today = Timestamp::now()
        .to_zoned_datetime(jiff::tz::TimeZone::get("America/Chicago")?)
        .date();
    let mut rng = Rng(0x5c4e_d01e);

    // Payers in every state.
    let mut payer_ids = Vec::new();
    for (name, status, reimbursement, dates, share) in PAYERS {
        let Some(p) = store.find_payer(practice_id, name).await? else {
            continue;
        };
        let day = |d: i64| today.checked_add(jiff::Span::new().days(d)).ok();
        store
            .update_payer(
                practice_id,
                p.id,
                &PayerUpdate {
                    status: Some(*status),
                    submitted_on: dates.and_then(|(s, _)| day(s)),
                    expected_on: dates.and_then(|(_, e)| day(e)),
                    avg_reimbursement_cents: (*reimbursement > 0).then_some(reimbursement * 100),
                    plan_types: p.plan_types.clone(),
                    note: match status {
                        Credentialing::InProgress => {
                            "Application complete; follow up with the provider rep".into()
                        }
                        _ => String::new(),
                    },
                },
                &actor,
            )
            .await?;
        if *share > 0 {
            payer_ids.push((Some(p.id), *share));
        }
    }
    payer_ids.push((None, 18));

    // The deposit policy, started four months ago.
    let started = now - DEPOSITS_STARTED_DAYS_AGO * DAY;
    store
        .set_booking_settings(
            practice_id,
            &BookingSettings {
                deposit_enabled: true,
                deposit_started_at: Some(started),
                ..BookingSettings::default()
            },
            &actor,
        )
        .await?;

    // Patients, each with a payer or self-pay.
    let mut patients = Vec::new();
    for i in 0..600u64 {
        let first = FIRST[(i % FIRST.len() as u64) as usize];
        let last = LAST[((i / FIRST.len() as u64) % LAST.len() as u64) as usize];
        let sms = rng.chance(88);
        let p = store
            .create_patient(
                practice_id,
                &PatientInput {
                    first_name: first.into(),
                    last_name: last.into(),
                    phone: Some(PhoneE164::parse(&format!("(630) 555-{:04}", 2000 + i))?),
                    email: Some(stride_core::email::EmailAddress::parse(&format!(
                        "{}.{}{}@example.com",
                        first.to_lowercase(),
                        last.to_lowercase(),
                        i
                    ))?),
                    birth_date: Some(Date::new(
                        1950 + (i % 50) as i16,
                        1 + (i % 12) as i8,
                        1 + (i % 28) as i8,
                    )?),
                    address: None,
                    member_id: None,
                    sms_consent: sms,
                    email_consent: !sms || rng.chance(50),
                },
                &actor,
            )
            .await?;
        let payer = *rng.pick(&payer_ids);
        // Coverage and referral as the front desk records them; a physician refers most.
        let physician = rng.chance(62);
        store
            .set_coverage(
                practice_id,
                p.id,
                &stride_store::care::Coverage {
                    payer_id: payer,
                    self_pay: payer.is_none(),
                    plan: if payer.is_some() {
                        (*rng.pick(&[("PPO", 55), ("HMO", 25), ("EPO", 10), ("POS", 10)])).into()
                    } else {
                        String::new()
                    },
                    referral: if physician { "physician" } else { "self" }.into(),
                    referring_physician: physician.then(|| {
                        PHYSICIANS[rng.below(PHYSICIANS.len() as u64) as usize].to_string()
                    }),
                },
                &actor,
            )
            .await?;
        patients.push(DemoPatient { id: p.id, payer });
    }

    let types = store.appointment_types(practice_id).await?;
    let (eval, follow_up, maintenance) = (&types[0], &types[1], &types[2]);
    let locations = store.locations(practice_id).await?;
    let hours = store.clinician_hours(practice_id).await?;
    let clinicians = store.clinicians(practice_id).await?;
    let mut slots = Vec::new();
    for c in &clinicians {
        let Some(location) = locations.iter().find(|l| Some(l.id) == c.location_id) else {
            continue;
        };
        let tz = TimeZoneName::parse(&location.time_zone)?.tz();
        let closed: Vec<Date> = store
            .holidays(practice_id, location.id)
            .await?
            .iter()
            .filter_map(|h| h.day.parse().ok())
            .collect();
        let shifts: Vec<_> = hours
            .iter()
            .filter(|(cid, lid, _)| *cid == c.id && *lid == location.id)
            .map(|(_, _, h)| *h)
            .collect();
        for offset in -365..=21i64 {
            let date = today.checked_add(jiff::Span::new().days(offset))?;
            if closed.contains(&date) {
                continue;
            }
            let wd = date.weekday().to_monday_zero_offset() as u8;
            for h in shifts.iter().filter(|h| h.weekday().index() == wd) {
                let mut minute = i64::from(h.open());
                loop {
                    let (t, kind) = *rng.pick(&[
                        ((eval, care::Kind::Evaluation), 13),
                        ((follow_up, care::Kind::FollowUp), 80),
                        ((maintenance, care::Kind::Maintenance), 7),
                    ]);
                    let block = t.duration_min + t.buffer_after_min;
                    if minute + t.duration_min > i64::from(h.close()) {
                        break;
                    }
                    let start = date
                        .to_datetime(jiff::civil::Time::midnight())
                        .checked_add(jiff::Span::new().minutes(minute))?
                        .to_zoned_datetime(tz.clone())?
                        .timestamp()
                        .as_millisecond();
                    minute += block;
                    // Busy in the past, filling up over the next three weeks.
                    let fill = if offset <= 0 {
                        90
                    } else {
                        (75 - offset * 3).max(20) as u64
                    };
                    if !rng.chance(fill) {
                        continue;
                    }
                    slots.push(care::Slot {
                        start,
                        end: start + t.duration_min * MINUTE,
                        day: date,
                        clinician: c.id,
                        location: location.id,
                        kind,
                        type_id: t.id,
                    });
                }
            }
        }
    }
    slots.sort_by_key(|s| (s.start, s.clinician));
    // Patients come for a plan of care, and some take a membership afterwards.
    let self_pay: Vec<bool> = patients.iter().map(|p| p.payer.is_none()).collect();
    let (visits, episodes) = care::assign(
        &mut rng,
        &slots,
        patients.len(),
        &|p| self_pay[p],
        today,
        now,
        &mut |rng, slot, self_pay| {
            outcome(rng, slot.start - 3 * DAY >= started, self_pay, slot.start)
        },
    );
    let mut list = Vec::new();
    for v in &visits {
        let patient = &patients[v.patient];
        let t = types
            .iter()
            .find(|t| t.id == v.slot.type_id)
            .unwrap_or(follow_up);
        let start = v.slot.start;
        let created = (start - (1 + rng.below(12) as i64) * DAY - rng.below(10) as i64 * HOUR)
            .min(now - rng.below(48) as i64 * HOUR - HOUR);
        let with_policy = created >= started;
        let deposit = (with_policy && t.deposit_applies).then(|| {
            (
                2_500,
                deposit_steps(&mut rng, desk, created, start, v.status, v.status_at, now),
            )
        });
        let mut a = NewAppointment::new(
            v.slot.location,
            v.slot.clinician,
            t.id,
            start,
            if rng.chance(22) {
                "online"
            } else {
                "front desk"
            },
        );
        a.patient_id = Some(patient.id);
        a.payer_id = patient.payer.filter(|_| !v.membership);
        a.self_pay = patient.payer.is_none() || v.membership;
        list.push(ImportedAppointment {
            appointment: a,
            status: v.status,
            created_at: created,
            status_at: v.status_at,
            deposit,
        });
    }
    for chunk in list.chunks(1_000) {
        store
            .import_appointments(practice_id, chunk, &actor)
            .await
            .map_err(|e| match e {
                stride_store::scheduling::BookingError::Taken(_) => {
                    anyhow::anyhow!("two demo appointments overlap")
                }
                stride_store::scheduling::BookingError::Store(e) => e.into(),
            })?;
    }
    // Plans of care, their outreach and the recent notes, on the imported appointments.
    let mut visit_ids = std::collections::HashMap::new();
    for r in sqlx::query("SELECT id, clinician_id, starts_at FROM appointments WHERE practice_id = $1 AND starts_at >= $2")
        .bind(practice_id)
        .bind(now - 40 * DAY)
        .fetch_all(store.pool())
        .await?
    {
        use sqlx::Row;
        visit_ids.insert(
            (r.try_get::<i64, _>("clinician_id")?, r.try_get::<i64, _>("starts_at")?),
            r.try_get::<i64, _>("id")?,
        );
    }
    care::seed(
        store,
        practice_id,
        &mut rng,
        &episodes,
        &visits,
        &patients.iter().map(|p| (p.id, p.payer)).collect::<Vec<_>>(),
        &visit_ids,
        &clinicians.iter().map(|c| (c.id, c.name.clone())).collect(),
        desk,
        today,
    )
    .await
}

/// What became of a past visit. Deposits make people come: no-shows and late cancels fall once
/// the policy is in force; self-pay patients miss less than insured ones.
fn outcome(
    rng: &mut Rng,
    with_policy: bool,
    self_pay: bool,
    start: i64,
) -> (Attendance, Option<i64>) {
    let no_show = match (with_policy, self_pay) {
        (false, false) => 17,
        (false, true) => 11,
        (true, false) => 6,
        (true, true) => 4,
    };
    let late = if with_policy { 3 } else { 6 };
    let roll = rng.below(100);
    if roll < no_show {
        (Attendance::NoShow, Some(start + 15 * MINUTE))
    } else if roll < no_show + late {
        (
            Attendance::LateCancel,
            Some(start - (1 + rng.below(20) as i64) * HOUR),
        )
    } else if roll < no_show + late + 7 {
        (
            Attendance::Cancelled,
            Some(start - (2 + rng.below(6) as i64) * DAY),
        )
    } else {
        (Attendance::Completed, Some(start + 50 * MINUTE))
    }
}

/// A deposit's steps after its request, as the front desk and the visit's outcome took them.
fn deposit_steps(
    rng: &mut Rng,
    desk: &str,
    created: i64,
    start: i64,
    status: Attendance,
    status_at: Option<i64>,
    now: i64,
) -> Vec<ImportedStep> {
    let step = |to, at, method: &str, note: &str| ImportedStep {
        to,
        at,
        actor: desk.to_string(),
        method: method.into(),
        note: note.into(),
    };
    if rng.chance(4) {
        let why = WAIVERS[rng.below(WAIVERS.len() as u64) as usize];
        return vec![step(DepositStatus::Waived, created + HOUR, "", why)];
    }
    let paid_at = (created + rng.below(3) as i64 * HOUR + 10 * MINUTE).min(now);
    let collected = rng.chance(if status.is_live() { 75 } else { 99 });
    let settled_at = status_at.unwrap_or(start);
    let mut steps = Vec::new();
    if collected {
        let method = if rng.chance(80) {
            "card_terminal"
        } else {
            "cash"
        };
        steps.push(step(DepositStatus::Collected, paid_at, method, ""));
        let to = match status {
            Attendance::Completed => Some(DepositStatus::Applied),
            Attendance::Cancelled => Some(DepositStatus::Refunded),
            Attendance::NoShow | Attendance::LateCancel => Some(DepositStatus::Forfeited),
            _ => None,
        };
        if let Some(to) = to {
            steps.push(step(to, settled_at, "", status.label()));
        }
    } else if matches!(
        status,
        Attendance::NoShow | Attendance::LateCancel | Attendance::Cancelled
    ) {
        steps.push(step(DepositStatus::Voided, settled_at, "", status.label()));
    }
    steps
}
