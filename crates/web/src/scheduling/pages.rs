//! `/app/schedule`: a location's day by clinician, the open evaluation times with the earliest one,
//! and booking in one click, also for a lead (from the lead's page), which moves the lead to
//! "evaluation booked".

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect};
use axum::{Extension, Form};
use serde::Deserialize;
use stride_core::deposits::Attendance;
use stride_core::leads::Stage;
use stride_core::role::Permission;
use stride_core::tz::TimeZoneName;
use stride_store::scheduling::{BookingError, NewAppointment};

use crate::AppState;
use crate::auth::Principal;
use crate::error::{AppError, PageResult};
use crate::pages::{Layout, layout, local_time, redirect_done, render, unprocessable};

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct ScheduleQuery {
    location: Option<i64>,
    /// YYYY-MM-DD, local to the location; today by default.
    date: Option<String>,
    #[serde(rename = "type")]
    type_id: Option<i64>,
    lead: Option<i64>,
    done: Option<String>,
}

/// An appointment on the day view.
pub struct DayAppointment {
    pub id: i64,
    pub when: String,
    pub what: String,
    /// The patient's or lead's page.
    pub link: String,
    pub status: Attendance,
    /// The outcomes the front desk may record now: (status, button label).
    pub next: Vec<(&'static str, &'static str)>,
    /// "Visit 3 of 8" under a plan of care, or empty.
    pub plan: String,
    /// The milestone conversation for this visit (visits 1, 3 and 5), or empty.
    pub prompt: String,
    /// The visit note's page, for those who write notes; empty otherwise.
    pub note: String,
}

pub struct ClinicianDay {
    pub name: String,
    pub appointments: Vec<DayAppointment>,
    /// (start, label) of open times this day, for one-click booking.
    pub open: Vec<(i64, String)>,
    pub id: i64,
}

#[derive(Template)]
#[template(path = "schedule.html")]
struct SchedulePage {
    l: Layout,
    locations: Vec<(i64, String)>,
    location_id: i64,
    types: Vec<(i64, String)>,
    type_id: i64,
    date: String,
    date_label: String,
    prev: String,
    next: String,
    earliest: String,
    days: Vec<ClinicianDay>,
    lead: Option<(i64, String)>,
    can_book: bool,
    error: Option<String>,
}

fn hhmm(ms: i64, tz: &TimeZoneName) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| {
            t.to_zoned_datetime(tz.tz())
                .strftime("%-I:%M %p")
                .to_string()
        })
        .unwrap_or_default()
}

async fn schedule_page(
    state: &AppState,
    p: &Principal,
    q: ScheduleQuery,
    error: Option<String>,
) -> PageResult {
    p.require(Permission::ViewSchedule)?;
    let mut l = layout(state, p, "schedule", &crate::pages::Done::default()).await?;
    l.flash = match q.done.as_deref() {
        Some("booked") => Some("Booked."),
        Some("cancelled") => Some("Cancelled: the time is open again."),
        Some("checked_in") => Some("Checked in."),
        Some("moved") => {
            Some("Moved; the old time is open again and the reminders follow the new one.")
        }
        Some("completed") => Some("Marked completed; a collected deposit is applied to the visit."),
        Some("no_show") => Some(
            "Marked as a no-show; the time is open again and a collected deposit is forfeited.",
        ),
        Some("late_cancel") => Some(
            "Marked as a late cancel; the time is open again and a collected deposit is forfeited.",
        ),
        _ => None,
    };
    let locations = state.store.locations(p.practice_id).await?;
    let Some(location) = q
        .location
        .and_then(|id| locations.iter().find(|l| l.id == id))
        .or(locations.first())
        .cloned()
    else {
        return Err(AppError::invalid("add a location in Settings first"));
    };
    let tz = TimeZoneName::parse(&location.time_zone).map_err(AppError::invalid)?;
    let today = jiff::Timestamp::now().to_zoned_datetime(tz.tz()).date();
    let date: jiff::civil::Date = match q.date.as_deref() {
        Some(d) => d
            .parse()
            .map_err(|_| AppError::invalid("the date should look like 2026-12-01"))?,
        None => today,
    };
    let day_start = date
        .to_zoned_datetime(tz.tz())
        .map_err(|e| AppError::invalid(e.to_string()))?
        .timestamp()
        .as_millisecond();
    let day_end = date
        .tomorrow()
        .map_err(|e| AppError::invalid(e.to_string()))?
        .to_zoned_datetime(tz.tz())
        .map_err(|e| AppError::invalid(e.to_string()))?
        .timestamp()
        .as_millisecond();
    let types = state.store.appointment_types(p.practice_id).await?;
    let type_id = q
        .type_id
        .filter(|id| types.iter().any(|t| t.id == *id))
        .or(types.first().map(|t| t.id))
        .ok_or(AppError::NotFound)?;
    let now = jiff::Timestamp::now().as_millisecond();
    let earliest = state
        .store
        .earliest_available(p.practice_id, type_id, location.id, None, now)
        .await?;
    let open = if date >= today {
        let days = (date - today).get_days() as i64 + 1;
        state
            .store
            .open_slots(
                p.practice_id,
                type_id,
                location.id,
                None,
                now,
                days.min(366),
            )
            .await?
            .into_iter()
            .filter(|(_, s)| s.start >= day_start && s.start < day_end)
            .collect()
    } else {
        Vec::new()
    };
    let clinicians = state.store.clinicians(p.practice_id).await?;
    let type_name = |id: i64| {
        types
            .iter()
            .find(|t| t.id == id)
            .map(|t| t.name.clone())
            .unwrap_or_default()
    };
    let mut days = Vec::new();
    for c in clinicians
        .iter()
        .filter(|c| c.active && c.location_id == Some(location.id))
    {
        let booked = state
            .store
            .appointments(p.practice_id, c.id, day_start, day_end)
            .await?;
        let positions = state
            .store
            .plan_positions(
                p.practice_id,
                &booked
                    .iter()
                    .map(|a| (a.id, a.patient_id, a.starts_at))
                    .collect::<Vec<_>>(),
            )
            .await?;
        let notes = p.can(Permission::ViewClinicalNotes);
        let appointments = booked
            .iter()
            .map(|a| {
                let who = match (a.patient_id, a.lead_id) {
                    (Some(id), _) => format!("/app/patients/{id}"),
                    (None, Some(id)) => format!("/app/leads/{id}"),
                    _ => String::new(),
                };
                let status = Attendance::parse(&a.status).unwrap_or(Attendance::Booked);
                let started = a.starts_at <= now + 30 * 60_000;
                let next = [
                    (Attendance::CheckedIn, "Check in"),
                    (Attendance::Completed, "Completed"),
                    (Attendance::NoShow, "No-show"),
                    (Attendance::LateCancel, "Late cancel"),
                ]
                .into_iter()
                .filter(|(to, _)| status.can_move(*to))
                .filter(|(to, _)| started || *to != Attendance::NoShow)
                .map(|(to, label)| (to.as_str(), label))
                .collect();
                let position = positions.get(&a.id);
                DayAppointment {
                    id: a.id,
                    when: format!("{}–{}", hhmm(a.starts_at, &tz), hhmm(a.ends_at, &tz)),
                    what: type_name(a.type_id),
                    link: who,
                    status,
                    next,
                    plan: position
                        .map(|x| {
                            if x.number > x.plan.prescribed_visits {
                                format!(
                                    "visit {} (past the {} prescribed)",
                                    x.number, x.plan.prescribed_visits
                                )
                            } else {
                                format!("visit {} of {}", x.number, x.plan.prescribed_visits)
                            }
                        })
                        .unwrap_or_default(),
                    prompt: position
                        .filter(|_| status.is_live())
                        .and_then(|x| {
                            stride_core::care::milestone_for(x.number)
                                .map(|m| stride_core::care::prompt(m, &x.plan))
                        })
                        .unwrap_or_default(),
                    note: if notes && a.patient_id.is_some() {
                        format!("/app/visits/{}/note", a.id)
                    } else {
                        String::new()
                    },
                }
            })
            .collect();
        days.push(ClinicianDay {
            name: c.name.clone(),
            appointments,
            open: open
                .iter()
                .filter(|(id, _)| *id == c.id)
                .map(|(_, s)| (s.start, hhmm(s.start, &tz)))
                .collect(),
            id: c.id,
        });
    }
    let lead = match q.lead {
        Some(id) if p.can(Permission::ViewLeads) => {
            let lead = state.store.lead(p.practice_id, id, &p.actor).await?;
            Some((id, lead.display_name()))
        }
        _ => None,
    };
    let fmt = |d: jiff::civil::Date| d.to_string();
    let page = SchedulePage {
        l,
        locations: locations.iter().map(|l| (l.id, l.name.clone())).collect(),
        location_id: location.id,
        types: types.iter().map(|t| (t.id, t.name.clone())).collect(),
        type_id,
        date: fmt(date),
        date_label: date.strftime("%A, %B %-d, %Y").to_string(),
        prev: date.yesterday().map(fmt).unwrap_or_default(),
        next: date.tomorrow().map(fmt).unwrap_or_default(),
        earliest: match earliest {
            Some((c, s)) => format!(
                "{} with {}",
                local_time(s.start, &Some(tz.clone())),
                clinicians
                    .iter()
                    .find(|x| x.id == c)
                    .map(|x| x.name.clone())
                    .unwrap_or_default()
            ),
            None => "nothing open in the next 60 days".into(),
        },
        days,
        lead,
        can_book: p.can(Permission::EditSchedule),
        error: error.clone(),
    };
    if error.is_some() {
        unprocessable(&page)
    } else {
        render(&page)
    }
}

pub async fn schedule(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(q): Query<ScheduleQuery>,
) -> PageResult {
    schedule_page(&state, &p, q, None).await
}

#[derive(Deserialize)]
pub struct BookForm {
    location: i64,
    clinician: i64,
    #[serde(rename = "type")]
    type_id: i64,
    start: i64,
    date: String,
    #[serde(default)]
    lead: Option<i64>,
}

/// One click on an open time: book it (for the lead, if one is being booked).
pub async fn book(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Form(f): Form<BookForm>,
) -> PageResult {
    p.require(Permission::EditSchedule)?;
    let request = NewAppointment {
        location_id: f.location,
        clinician_id: f.clinician,
        type_id: f.type_id,
        starts_at: f.start,
        patient_id: None,
        lead_id: f.lead,
        source: "front desk".into(),
        payer_id: None,
        self_pay: false,
    };
    let back = ScheduleQuery {
        location: Some(f.location),
        date: Some(f.date.clone()),
        type_id: Some(f.type_id),
        lead: f.lead,
        done: None,
    };
    match state
        .store
        .book_appointment(p.practice_id, &request, &p.actor)
        .await
    {
        Ok(_) => {
            if let Some(lead) = f.lead
                && p.can(Permission::EditLeads)
            {
                // Best effort: a lead already past this stage stays where it is.
                let _ = state
                    .store
                    .move_lead(p.practice_id, lead, Stage::EvaluationBooked, None, &p.actor)
                    .await;
                return Ok(redirect_done(&format!("/app/leads/{lead}"), "booked"));
            }
            Ok(Redirect::to(&format!(
                "/app/schedule?location={}&date={}&type={}&done=booked",
                f.location, f.date, f.type_id
            ))
            .into_response())
        }
        Err(BookingError::Taken(_)) => {
            schedule_page(
                &state,
                &p,
                back,
                Some("That time was just taken or is no longer open: choose another.".into()),
            )
            .await
        }
        Err(BookingError::Store(e)) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct CancelForm {
    location: i64,
    date: String,
}

/// Cancels an appointment from the day view: its time is open again.
pub async fn cancel(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    axum::extract::Path(id): axum::extract::Path<i64>,
    Form(f): Form<CancelForm>,
) -> PageResult {
    p.require(Permission::EditSchedule)?;
    state
        .store
        .cancel_appointment(p.practice_id, id, &p.actor)
        .await?;
    Ok(Redirect::to(&format!(
        "/app/schedule?location={}&date={}&done=cancelled",
        f.location, f.date
    ))
    .into_response())
}
