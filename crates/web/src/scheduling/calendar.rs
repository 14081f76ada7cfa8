//! The staff calendar beyond the day view: a location's week (optionally one clinician's),
//! moving an appointment to another open time, and booking a plan of care's series of visits
//! (e.g. twice a week for four weeks) with every conflict listed, and the nearest open time that
//! day offered, before anything is saved.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect};
use axum::{Extension, Form};
use serde::Deserialize;
use stride_core::availability::Fit;
use stride_core::hours::Weekday;
use stride_core::role::Permission;
use stride_core::tz::TimeZoneName;
use stride_store::scheduling::{BookingError, NewAppointment};
use stride_store::tenancy::Location;

use crate::AppState;
use crate::auth::Principal;
use crate::error::{AppError, PageResult};
use crate::pages::{Done, Layout, layout, render, unprocessable};

fn local(ms: i64, tz: &TimeZoneName, fmt: &str) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.to_zoned_datetime(tz.tz()).strftime(fmt).to_string())
        .unwrap_or_default()
}

fn day_start(d: jiff::civil::Date, tz: &TimeZoneName) -> Result<i64, AppError> {
    Ok(d.to_zoned_datetime(tz.tz())
        .map_err(|e| AppError::invalid(e.to_string()))?
        .timestamp()
        .as_millisecond())
}

async fn location_of(
    state: &AppState,
    practice_id: i64,
    id: Option<i64>,
) -> Result<(Location, TimeZoneName, Vec<Location>), AppError> {
    let locations = state.store.locations(practice_id).await?;
    let l = id
        .and_then(|id| locations.iter().find(|l| l.id == id))
        .or(locations.first())
        .cloned()
        .ok_or_else(|| AppError::invalid("add a location in Settings first"))?;
    let tz = TimeZoneName::parse(&l.time_zone).map_err(AppError::invalid)?;
    Ok((l, tz, locations))
}

// ---- Week ----

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct WeekQuery {
    location: Option<i64>,
    clinician: Option<String>,
    week: Option<String>,
}

pub struct WeekDay {
    pub label: String,
    pub date: String,
    /// (time, clinician, visit, status)
    pub visits: Vec<(String, String, String, String)>,
}

#[derive(Template)]
#[template(path = "schedule_week.html")]
struct WeekPage {
    l: Layout,
    locations: Vec<(i64, String)>,
    location_id: i64,
    clinicians: Vec<(i64, String)>,
    clinician_id: i64,
    title: String,
    prev: String,
    next: String,
    days: Vec<WeekDay>,
    total: usize,
}

pub async fn week(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(q): Query<WeekQuery>,
) -> PageResult {
    p.require(Permission::ViewSchedule)?;
    let l = layout(&state, &p, "schedule", &Done::default()).await?;
    let (location, tz, locations) = location_of(&state, p.practice_id, q.location).await?;
    let today = jiff::Timestamp::now().to_zoned_datetime(tz.tz()).date();
    let any: jiff::civil::Date = match q.week.as_deref() {
        Some(d) if !d.is_empty() => d
            .parse()
            .map_err(|_| AppError::invalid("the week should be a date like 2026-12-01"))?,
        _ => today,
    };
    let monday = any
        .checked_sub(jiff::Span::new().days(i64::from(any.weekday().to_monday_zero_offset())))
        .map_err(|e| AppError::invalid(e.to_string()))?;
    let day = |i: i64| {
        monday
            .checked_add(jiff::Span::new().days(i))
            .unwrap_or(monday)
    };
    let from = day_start(monday, &tz)?;
    let to = day_start(day(7), &tz)?;
    let clinician_id: i64 = q
        .clinician
        .as_deref()
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let clinicians = state.store.clinicians(p.practice_id).await?;
    let types = state.store.appointment_types(p.practice_id).await?;
    let visits = state
        .store
        .location_appointments(p.practice_id, location.id, from, to)
        .await?;
    let mut days: Vec<WeekDay> = (0..7)
        .map(|i| WeekDay {
            label: day(i).strftime("%a %b %-d").to_string(),
            date: day(i).to_string(),
            visits: Vec::new(),
        })
        .collect();
    let mut total = 0;
    for a in visits
        .iter()
        .filter(|a| clinician_id == 0 || a.clinician_id == clinician_id)
    {
        let d = local(a.starts_at, &tz, "%Y-%m-%d");
        if let Some(wd) = days.iter_mut().find(|w| w.date == d) {
            total += 1;
            wd.visits.push((
                local(a.starts_at, &tz, "%-I:%M %p"),
                clinicians
                    .iter()
                    .find(|c| c.id == a.clinician_id)
                    .map(|c| c.name.clone())
                    .unwrap_or_default(),
                types
                    .iter()
                    .find(|t| t.id == a.type_id)
                    .map(|t| t.name.clone())
                    .unwrap_or_default(),
                a.status.replace('_', " "),
            ));
        }
    }
    let link = |d: jiff::civil::Date| {
        format!(
            "/app/schedule/week?location={}&clinician={}&week={d}",
            location.id,
            if clinician_id == 0 {
                String::new()
            } else {
                clinician_id.to_string()
            }
        )
    };
    render(&WeekPage {
        l,
        locations: locations.iter().map(|l| (l.id, l.name.clone())).collect(),
        location_id: location.id,
        clinicians: clinicians
            .iter()
            .filter(|c| c.active && c.location_id == Some(location.id))
            .map(|c| (c.id, c.name.clone()))
            .collect(),
        clinician_id,
        title: format!(
            "Week of {} – {}",
            monday.strftime("%B %-d"),
            day(6).strftime("%B %-d, %Y")
        ),
        prev: link(day(-7)),
        next: link(day(7)),
        days,
        total,
    })
}

// ---- Move ----

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct MoveQuery {
    clinician: Option<String>,
}

/// Open times by day: (day, [(start:clinician, label, aria label)]).
type TimesByDay = Vec<(String, Vec<(String, String, String)>)>;

#[derive(Template)]
#[template(path = "schedule_move.html")]
struct MovePage {
    l: Layout,
    id: i64,
    what: String,
    when: String,
    with: String,
    clinicians: Vec<(i64, String)>,
    clinician_id: i64,
    days: TimesByDay,
    error: Option<String>,
}

async fn move_page(
    state: &AppState,
    p: &Principal,
    id: i64,
    clinician: Option<i64>,
    error: Option<String>,
) -> PageResult {
    p.require(Permission::EditSchedule)?;
    let l = layout(state, p, "schedule", &Done::default()).await?;
    let a = state.store.appointment(p.practice_id, id).await?;
    let (_, tz, _) = location_of(state, p.practice_id, Some(a.location_id)).await?;
    let clinicians = state.store.clinicians(p.practice_id).await?;
    let name = |id: i64| {
        clinicians
            .iter()
            .find(|c| c.id == id)
            .map(|c| c.name.clone())
            .unwrap_or_default()
    };
    let now = jiff::Timestamp::now().as_millisecond();
    let slots = state
        .store
        .open_slots(p.practice_id, a.type_id, a.location_id, clinician, now, 14)
        .await?;
    let mut days: TimesByDay = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (c, s) in slots {
        if !seen.insert(s.start) {
            continue;
        }
        let label = local(s.start, &tz, "%A, %B %-d");
        if days.last().is_none_or(|(d, _)| *d != label) {
            days.push((label.clone(), Vec::new()));
        }
        let time = local(s.start, &tz, "%-I:%M %p");
        if let Some(d) = days.last_mut() {
            d.1.push((
                format!("{}:{c}", s.start),
                format!("{time} · {}", name(c)),
                // The visible text is part of the accessible name (WCAG 2.5.3).
                format!("Move to {label}, {time} · {}", name(c)),
            ));
        }
    }
    let types = state.store.appointment_types(p.practice_id).await?;
    let page = MovePage {
        l,
        id,
        what: types
            .iter()
            .find(|t| t.id == a.type_id)
            .map(|t| t.name.clone())
            .unwrap_or_default(),
        when: local(a.starts_at, &tz, "%A, %B %-d at %-I:%M %p"),
        with: name(a.clinician_id),
        clinicians: clinicians
            .iter()
            .filter(|c| c.active && c.location_id == Some(a.location_id))
            .map(|c| (c.id, c.name.clone()))
            .collect(),
        clinician_id: clinician.unwrap_or(0),
        days,
        error: error.clone(),
    };
    if error.is_some() {
        unprocessable(&page)
    } else {
        render(&page)
    }
}

pub async fn move_form(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<i64>,
    Query(q): Query<MoveQuery>,
) -> PageResult {
    let c = q.clinician.as_deref().and_then(|c| c.parse().ok());
    move_page(&state, &p, id, c, None).await
}

#[derive(Deserialize)]
pub struct MoveForm {
    to: String,
}

pub async fn move_to(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<i64>,
    Form(f): Form<MoveForm>,
) -> PageResult {
    p.require(Permission::EditSchedule)?;
    let (start, clinician) =
        f.to.split_once(':')
            .and_then(|(s, c)| Some((s.parse::<i64>().ok()?, c.parse::<i64>().ok()?)))
            .ok_or_else(|| AppError::invalid("choose a new time"))?;
    match state
        .store
        .reschedule_appointment(p.practice_id, id, start, Some(clinician), false, &p.actor)
        .await
    {
        Ok(a) => {
            let (_, tz, _) = location_of(&state, p.practice_id, Some(a.location_id)).await?;
            Ok(Redirect::to(&format!(
                "/app/schedule?location={}&date={}&done=moved",
                a.location_id,
                local(a.starts_at, &tz, "%Y-%m-%d")
            ))
            .into_response())
        }
        Err(BookingError::Taken(_)) => {
            move_page(
                &state,
                &p,
                id,
                None,
                Some("That time was just taken: choose another.".into()),
            )
            .await
        }
        Err(BookingError::Store(e)) => Err(e.into()),
    }
}

// ---- Series ----

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct SeriesForm {
    location: Option<i64>,
    clinician: Option<i64>,
    #[serde(rename = "type")]
    type_id: Option<i64>,
    first: String,
    time: String,
    mon: Option<String>,
    tue: Option<String>,
    wed: Option<String>,
    thu: Option<String>,
    fri: Option<String>,
    sat: Option<String>,
    weeks: String,
    patient: Option<i64>,
    use_nearest: Option<String>,
    action: String,
}

impl SeriesForm {
    fn weekdays(&self) -> Vec<Weekday> {
        [
            (&self.mon, Weekday::Mon),
            (&self.tue, Weekday::Tue),
            (&self.wed, Weekday::Wed),
            (&self.thu, Weekday::Thu),
            (&self.fri, Weekday::Fri),
            (&self.sat, Weekday::Sat),
        ]
        .into_iter()
        .filter(|(on, _)| on.is_some())
        .map(|(_, d)| d)
        .collect()
    }
}

/// One planned visit: when, and what the check found.
pub struct PlannedVisit {
    pub when: String,
    pub ok: bool,
    pub note: String,
}

#[derive(Template)]
#[template(path = "schedule_series.html")]
struct SeriesPage {
    l: Layout,
    f: SeriesForm,
    locations: Vec<(i64, String)>,
    clinicians: Vec<(i64, String)>,
    types: Vec<(i64, String)>,
    patient: Option<(i64, String)>,
    planned: Vec<PlannedVisit>,
    conflicts: usize,
    booked: Option<String>,
    error: Option<String>,
}

async fn series_page(state: &AppState, p: &Principal, f: SeriesForm, checked: bool) -> PageResult {
    p.require(Permission::EditSchedule)?;
    let l = layout(state, p, "schedule", &Done::default()).await?;
    let (location, tz, locations) = location_of(state, p.practice_id, f.location).await?;
    let clinicians = state.store.clinicians(p.practice_id).await?;
    let types = state.store.appointment_types(p.practice_id).await?;
    let patient = match f.patient {
        Some(id) if p.can(Permission::ViewPatients) => {
            let pt = state.store.patient(p.practice_id, id, &p.actor).await?;
            Some((id, format!("{} {}", pt.first_name, pt.last_name)))
        }
        _ => None,
    };
    let mut planned = Vec::new();
    let mut conflicts = 0;
    let mut booked = None;
    let mut error = None;
    if checked {
        let result: Result<(), AppError> = async {
            let clinician = f
                .clinician
                .ok_or_else(|| AppError::invalid("choose the clinician"))?;
            let type_id = f
                .type_id
                .ok_or_else(|| AppError::invalid("choose the visit type"))?;
            let first: jiff::civil::Date = f
                .first
                .parse()
                .map_err(|_| AppError::invalid("the first day should be a date like 2026-12-01"))?;
            let time: jiff::civil::Time = f
                .time
                .parse()
                .map_err(|_| AppError::invalid("the time should look like 09:00"))?;
            let weeks: u32 = f
                .weeks
                .trim()
                .parse()
                .ok()
                .filter(|w| (1..=26).contains(w))
                .ok_or_else(|| AppError::invalid("the series runs 1 to 26 weeks"))?;
            let days = f.weekdays();
            if days.is_empty() {
                return Err(AppError::invalid("choose the weekdays of the visits"));
            }
            let minute = (time.hour() as u16) * 60 + time.minute() as u16;
            let starts =
                stride_core::availability::series_starts(&tz.tz(), first, &days, minute, weeks);
            let fits = state
                .store
                .plan_series(p.practice_id, clinician, location.id, type_id, &starts)
                .await?;
            // The patient's newest authorization, if any: visits past it are flagged.
            let authorization = match f.patient {
                Some(pid) => state
                    .store
                    .authorizations(p.practice_id, pid)
                    .await?
                    .into_iter()
                    .next()
                    .and_then(|a| {
                        Some((
                            (
                                a.visits as u32,
                                a.starts_on.parse().ok()?,
                                a.ends_on.parse().ok()?,
                            ),
                            a.used as u32,
                        ))
                    }),
                None => None,
            };
            let past_authorization = |n: usize, start: i64| -> Option<String> {
                let ((visits, from, to), used) = authorization?;
                let day: jiff::civil::Date = local(start, &tz, "%Y-%m-%d").parse().ok()?;
                stride_core::care::authorization_problem(
                    Some((visits, from, to)),
                    used + n as u32 + 1,
                    day,
                )
            };
            let mut to_book = Vec::new();
            for fit in &fits {
                match fit {
                    Fit::Open(s) => {
                        let auth = past_authorization(to_book.len(), s.start);
                        to_book.push(s.start);
                        planned.push(PlannedVisit {
                            when: local(s.start, &tz, "%a %b %-d, %-I:%M %p"),
                            ok: auth.is_none(),
                            note: auth
                                .map(|a| format!("open, but {a}"))
                                .unwrap_or_else(|| "open".into()),
                        });
                    }
                    Fit::Conflict { wanted, nearest } => {
                        conflicts += 1;
                        let note = match nearest {
                            Some(n) => {
                                if f.use_nearest.is_some() {
                                    to_book.push(n.start);
                                }
                                format!(
                                    "taken or outside hours; nearest open that day: {}",
                                    local(n.start, &tz, "%-I:%M %p")
                                )
                            }
                            None => "nothing open that day".into(),
                        };
                        planned.push(PlannedVisit {
                            when: local(*wanted, &tz, "%a %b %-d, %-I:%M %p"),
                            ok: false,
                            note,
                        });
                    }
                }
            }
            if f.action == "book" {
                let (mut ok, mut lost) = (0, 0);
                for start in to_book {
                    let mut a =
                        NewAppointment::new(location.id, clinician, type_id, start, "front desk");
                    a.patient_id = f.patient;
                    match state
                        .store
                        .book_appointment(p.practice_id, &a, &p.actor)
                        .await
                    {
                        Ok(_) => ok += 1,
                        Err(BookingError::Taken(_)) => lost += 1,
                        Err(BookingError::Store(e)) => return Err(e.into()),
                    }
                }
                booked = Some(if lost == 0 {
                    format!("Booked {ok} visits.")
                } else {
                    format!("Booked {ok} visits; {lost} were taken meanwhile and were not booked.")
                });
            }
            Ok(())
        }
        .await;
        if let Err(e) = result {
            error = Some(crate::pages::form_error(e)?);
        }
    }
    let page = SeriesPage {
        l,
        f: SeriesForm {
            location: Some(location.id),
            ..f
        },
        locations: locations.iter().map(|l| (l.id, l.name.clone())).collect(),
        clinicians: clinicians
            .iter()
            .filter(|c| c.active)
            .map(|c| (c.id, c.name.clone()))
            .collect(),
        types: types
            .iter()
            .filter(|t| t.active)
            .map(|t| (t.id, t.name.clone()))
            .collect(),
        patient,
        planned,
        conflicts,
        booked,
        error: error.clone(),
    };
    if error.is_some() {
        unprocessable(&page)
    } else {
        render(&page)
    }
}

pub async fn series_form(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(f): Query<SeriesForm>,
) -> PageResult {
    let f = SeriesForm {
        weeks: if f.weeks.is_empty() {
            "4".into()
        } else {
            f.weeks
        },
        time: if f.time.is_empty() {
            "09:00".into()
        } else {
            f.time
        },
        mon: f.mon.or(Some("on".into())),
        thu: f.thu.or(Some("on".into())),
        ..f
    };
    series_page(&state, &p, f, false).await
}

pub async fn series(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Form(f): Form<SeriesForm>,
) -> PageResult {
    series_page(&state, &p, f, true).await
}
