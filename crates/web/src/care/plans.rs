//! The plan of care page (`/app/plans/{id}`): condition, body regions, certification, visit X of
//! Y counted from the schedule, goals with their progress, the visits with their notes, the
//! flexible cadence for a patient who feels better, outreach history and discharge.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::{Extension, Form};
use stride_core::care::{self, PlanStatus};
use stride_core::deposits::Attendance;
use stride_core::role::Permission;
use stride_store::plans::{CarePlan, Discharge, PlanInput, number_of};

use super::{Pairs, opt_date, today};
use crate::AppState;
use crate::auth::Principal;
use crate::error::{AppError, PageResult};
use crate::pages::{
    Done, Layout, form_error, layout, local_time, practice_tz, redirect_done, render,
};

/// The plan form's fields, as typed.
#[derive(Default, Clone)]
pub struct PlanFields {
    pub condition: String,
    pub icd10: String,
    pub areas: Vec<String>,
    pub visits: String,
    pub per_week: String,
    pub starts_on: String,
    pub certified_on: String,
    pub certified_until: String,
    pub clinician: String,
}

impl PlanFields {
    pub fn from_form(f: &Pairs) -> PlanFields {
        PlanFields {
            condition: f.get("condition").to_string(),
            icd10: f.get("icd10").to_string(),
            areas: f.all("areas").into_iter().map(str::to_string).collect(),
            visits: f.get("visits").to_string(),
            per_week: f.get("per_week").to_string(),
            starts_on: f.get("starts_on").to_string(),
            certified_on: f.get("certified_on").to_string(),
            certified_until: f.get("certified_until").to_string(),
            clinician: f.get("clinician").to_string(),
        }
    }

    pub fn from_plan(p: &CarePlan) -> PlanFields {
        PlanFields {
            condition: p.condition.clone(),
            icd10: p.icd10.clone().unwrap_or_default(),
            areas: p.areas.clone(),
            visits: p.prescribed_visits.to_string(),
            per_week: p.visits_per_week.to_string(),
            starts_on: p.starts_on.to_string(),
            certified_on: p.certified_on.map(|d| d.to_string()).unwrap_or_default(),
            certified_until: p.certified_until.map(|d| d.to_string()).unwrap_or_default(),
            clinician: p.clinician_id.map(|c| c.to_string()).unwrap_or_default(),
        }
    }

    pub fn parse(&self) -> Result<PlanInput, AppError> {
        let number = |v: &str, what: &str| -> Result<u32, AppError> {
            v.trim()
                .parse()
                .map_err(|_| AppError::invalid(format!("the {what} should be a number")))
        };
        let areas = care::parse_regions(&self.areas.join(",")).map_err(AppError::invalid)?;
        if areas.is_empty() {
            return Err(AppError::invalid(
                "tick at least one body region the plan treats",
            ));
        }
        Ok(PlanInput {
            clinician_id: self.clinician.trim().parse().ok(),
            condition: self.condition.trim().to_string(),
            icd10: match self.icd10.trim() {
                "" => None,
                s => Some(care::parse_icd10(s).map_err(AppError::invalid)?),
            },
            areas,
            prescribed_visits: number(&self.visits, "number of visits")?,
            visits_per_week: number(&self.per_week, "visits a week")?,
            starts_on: opt_date(&self.starts_on, "first day")?
                .ok_or_else(|| AppError::invalid("give the plan's first day"))?,
            certified_on: opt_date(&self.certified_on, "certification date")?,
            certified_until: opt_date(&self.certified_until, "certification end")?,
        })
    }

    /// (key, label, ticked) for the region checkboxes.
    pub fn regions(&self) -> Vec<(&'static str, &'static str, bool)> {
        care::REGIONS
            .iter()
            .map(|(k, l)| (*k, *l, self.areas.iter().any(|a| a == k)))
            .collect()
    }
}

/// Region keys in words: "Knee, Hip".
pub fn region_words(areas: &[String]) -> String {
    areas
        .iter()
        .filter_map(|a| care::region_label(a))
        .collect::<Vec<_>>()
        .join(", ")
}

pub struct VisitRow {
    pub id: i64,
    pub when: String,
    pub what: String,
    pub status: String,
    /// "3" for the third attended visit; empty for missed and upcoming ones.
    pub number: String,
    /// "signed", "draft" or "".
    pub note: &'static str,
}

pub struct GoalRow {
    pub text: String,
    pub target: String,
    pub due: String,
    pub progress: u32,
    pub overdue: bool,
}

#[derive(Template)]
#[template(path = "care_plan.html")]
struct PlanPage {
    l: Layout,
    id: i64,
    patient_id: i64,
    patient: String,
    f: PlanFields,
    status: PlanStatus,
    progress: String,
    attended: u32,
    prescribed: u32,
    percent: u32,
    missed: u32,
    upcoming: u32,
    regions: String,
    certification: Option<String>,
    goals: Vec<GoalRow>,
    visits: Vec<VisitRow>,
    /// Proposed visits when the patient feels better: (date, open time found or why not, start).
    flexible: Vec<(String, String, Option<i64>)>,
    /// Visits already booked ahead when the cadence was proposed.
    booked_ahead: u32,
    feeling_better: bool,
    outreach: Vec<(String, String, String, String)>,
    summary: String,
    membership: String,
    closed_on: String,
    clinicians: Vec<(i64, String)>,
    can_edit: bool,
    error: Option<String>,
    today: String,
}

pub async fn show(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<i64>,
    Query(done): Query<Done>,
) -> PageResult {
    page(&state, &p, id, &done, None, None).await
}

async fn page(
    state: &AppState,
    p: &Principal,
    id: i64,
    done: &Done,
    fields: Option<PlanFields>,
    error: Option<String>,
) -> PageResult {
    p.require(Permission::ViewClinicalNotes)?;
    let plan = state.store.plan(p.practice_id, id, &p.actor).await?;
    let patient = state
        .store
        .patient(p.practice_id, plan.patient_id, &p.actor)
        .await?;
    let l = layout(state, p, "care", done).await?;
    let tz = state.store.practice_time_zone(p.practice_id).await?;
    let tzn = practice_tz(state, p.practice_id).await?;
    let now = jiff::Timestamp::now().as_millisecond();
    let visits = state.store.plan_visits(p.practice_id, &plan, &tz).await?;
    let records: Vec<_> = visits.iter().map(|v| v.record()).collect();
    let count = care::visit_number(&records, now);
    let rule = plan.rule();
    let types = state.store.appointment_types(p.practice_id).await?;
    let from = visits.first().map_or(0, |v| v.starts_at);
    let notes = state
        .store
        .note_facts(p.practice_id, from, i64::MAX)
        .await?;
    let visit_rows = visits
        .iter()
        .rev()
        .map(|v| {
            let attended = matches!(v.status, Attendance::Completed | Attendance::CheckedIn);
            VisitRow {
                id: v.appointment_id,
                when: local_time(v.starts_at, &tzn),
                what: types
                    .iter()
                    .find(|t| t.id == v.type_id)
                    .map(|t| t.name.clone())
                    .unwrap_or_default(),
                status: v.status.label().to_string(),
                number: if attended {
                    number_of(&visits, v.starts_at).to_string()
                } else {
                    String::new()
                },
                note: match notes.get(&v.appointment_id) {
                    Some(n) if n.signed => "signed",
                    Some(_) => "draft",
                    None => "",
                },
            }
        })
        .collect();
    let day = today(&tz);
    let goals = state
        .store
        .plan_goals(p.practice_id, id)
        .await?
        .into_iter()
        .map(|g| GoalRow {
            overdue: g.due_on.is_some_and(|d| d < day) && g.progress < 100,
            due: g.due_on.map(|d| d.to_string()).unwrap_or_default(),
            text: g.text,
            target: g.target,
            progress: g.progress,
        })
        .collect();
    let feeling_better = plan.feeling_better_at.is_some();
    let flexible = if feeling_better && !plan.status.is_closed() {
        flexible_visits(state, p, &plan, &visits, &count, day, &tz).await?
    } else {
        Vec::new()
    };
    let outreach = state
        .store
        .plan_outreach(p.practice_id, id)
        .await?
        .into_iter()
        .map(|o| {
            (
                local_time(o.created_at, &tzn),
                stride_store::outreach::ACTIONS
                    .iter()
                    .find(|(k, _)| *k == o.action)
                    .map_or(o.action.clone(), |(_, l)| (*l).to_string()),
                o.created_by,
                o.outcome
                    .and_then(|k| {
                        stride_store::outreach::OUTCOMES
                            .iter()
                            .find(|(x, _)| *x == k)
                            .map(|(_, l)| (*l).to_string())
                    })
                    .unwrap_or_else(|| "open".into()),
            )
        })
        .collect();
    let certification = if plan.status.is_closed() {
        None
    } else {
        care::certification_problem(&rule, day)
    };
    render(&PlanPage {
        l,
        id,
        patient_id: plan.patient_id,
        patient: format!("{} {}", patient.first_name, patient.last_name),
        f: fields.unwrap_or_else(|| PlanFields::from_plan(&plan)),
        status: plan.status,
        progress: care::progress_label(&count, &rule),
        attended: count.attended,
        prescribed: plan.prescribed_visits,
        percent: (count.attended * 100 / plan.prescribed_visits.max(1)).min(100),
        missed: count.missed,
        upcoming: count.upcoming,
        regions: region_words(&plan.areas),
        certification,
        goals,
        visits: visit_rows,
        flexible,
        booked_ahead: count.upcoming,
        feeling_better,
        outreach,
        summary: plan.summary.clone().unwrap_or_default(),
        membership: match (plan.membership_offered, plan.membership_taken) {
            (true, true) => "Maintenance membership offered and taken".into(),
            (true, false) => "Maintenance membership offered, not taken".into(),
            _ => "No maintenance membership offered".into(),
        },
        closed_on: plan.closed_on.map(|d| d.to_string()).unwrap_or_default(),
        clinicians: state
            .store
            .clinicians(p.practice_id)
            .await?
            .into_iter()
            .filter(|c| c.active || plan.clinician_id == Some(c.id))
            .map(|c| (c.id, c.name))
            .collect(),
        can_edit: p.can(Permission::EditClinicalNotes) && !plan.status.is_closed(),
        error,
        today: day.to_string(),
    })
}

/// Starts a plan from the patient's page.
pub async fn create(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(patient_id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    p.require(Permission::EditClinicalNotes)?;
    let f = PlanFields::from_form(&Pairs(pairs));
    let result = async {
        let input = f.parse()?;
        Ok::<_, AppError>(
            state
                .store
                .create_plan(p.practice_id, patient_id, &input, &p.actor)
                .await?,
        )
    }
    .await;
    match result {
        Ok(id) => Ok(redirect_done(&format!("/app/plans/{id}"), "plan")),
        Err(e) => {
            crate::pages::patients::show_with_plan_form(&state, &p, patient_id, f, form_error(e)?)
                .await
        }
    }
}

pub async fn update(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    p.require(Permission::EditClinicalNotes)?;
    let f = PlanFields::from_form(&Pairs(pairs));
    let result = async {
        let input = f.parse()?;
        state
            .store
            .update_plan(p.practice_id, id, &input, &p.actor)
            .await
            .map_err(AppError::from)
    }
    .await;
    match result {
        Ok(()) => Ok(redirect_done(&format!("/app/plans/{id}"), "plan")),
        Err(e) => {
            let msg = form_error(e)?;
            let mut resp = page(&state, &p, id, &Done::default(), Some(f), Some(msg)).await?;
            *resp.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
            Ok(resp)
        }
    }
}

/// Re-renders the plan page with a message (422), keeping nothing else typed.
async fn again(state: &AppState, p: &Principal, id: i64, e: AppError) -> PageResult {
    let msg = form_error(e)?;
    let mut resp = page(state, p, id, &Done::default(), None, Some(msg)).await?;
    *resp.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    Ok(resp)
}

pub async fn add_goal(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    p.require(Permission::EditClinicalNotes)?;
    let f = Pairs(pairs);
    let result = async {
        let due = opt_date(f.get("due_on"), "due date")?;
        state
            .store
            .add_goal(
                p.practice_id,
                id,
                f.get("text"),
                f.get("target"),
                due,
                &p.actor,
            )
            .await?;
        Ok::<_, AppError>(())
    }
    .await;
    match result {
        Ok(()) => Ok(redirect_done(&format!("/app/plans/{id}"), "goal_added")),
        Err(e) => again(&state, &p, id, e).await,
    }
}

pub async fn hold(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    p.require(Permission::EditClinicalNotes)?;
    let f = Pairs(pairs);
    match state
        .store
        .set_plan_hold(p.practice_id, id, f.get("hold") == "1", &p.actor)
        .await
    {
        Ok(()) => Ok(redirect_done(&format!("/app/plans/{id}"), "plan")),
        Err(e) => again(&state, &p, id, e.into()).await,
    }
}

/// "I'm fine now": records it and offers the spaced-out dates instead of a stop.
pub async fn flexible(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<i64>,
) -> PageResult {
    p.require(Permission::EditClinicalNotes)?;
    let tz = state.store.practice_time_zone(p.practice_id).await?;
    match state
        .store
        .set_feeling_better(p.practice_id, id, Some(today(&tz)), &p.actor)
        .await
    {
        Ok(()) => Ok(redirect_done(&format!("/app/plans/{id}"), "flexible")),
        Err(e) => again(&state, &p, id, e.into()).await,
    }
}

pub async fn close(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    p.require(Permission::EditClinicalNotes)?;
    let f = Pairs(pairs);
    let result = async {
        let status = PlanStatus::parse(f.get("status"))
            .filter(|s| s.is_closed())
            .ok_or_else(|| AppError::invalid("choose how the plan ends"))?;
        let tz = state.store.practice_time_zone(p.practice_id).await?;
        let d = Discharge {
            status,
            closed_on: opt_date(f.get("closed_on"), "closing day")?.unwrap_or_else(|| today(&tz)),
            summary: f.get("summary").to_string(),
            membership_offered: f.on("membership_offered"),
            membership_taken: f.on("membership_taken"),
        };
        state
            .store
            .close_plan(p.practice_id, id, &d, &p.actor)
            .await?;
        Ok::<_, AppError>(())
    }
    .await;
    match result {
        Ok(()) => Ok(redirect_done(&format!("/app/plans/{id}"), "plan_closed")),
        Err(e) => again(&state, &p, id, e).await,
    }
}

/// The remaining visits spaced out (`care::flexible_cadence`), after any already booked, each at
/// the open time nearest the patient's usual time with the same clinician, type and place.
async fn flexible_visits(
    state: &AppState,
    p: &Principal,
    plan: &CarePlan,
    visits: &[stride_store::plans::PlanVisit],
    count: &care::VisitCount,
    today: jiff::civil::Date,
    tz: &jiff::tz::TimeZone,
) -> Result<Vec<(String, String, Option<i64>)>, AppError> {
    let left = plan
        .prescribed_visits
        .saturating_sub(count.attended + count.upcoming);
    let Some(last) = visits.last() else {
        return Ok(Vec::new());
    };
    let from = visits
        .iter()
        .map(|v| v.starts_at)
        .max()
        .and_then(|ms| jiff::Timestamp::from_millisecond(ms).ok())
        .map(|t| t.to_zoned_datetime(tz.clone()).date())
        .unwrap_or(today)
        .max(plan.flexible_from.unwrap_or(today));
    let dates = care::flexible_cadence(left, from);
    let Some(horizon) = dates.last().map(|d| (*d - today).get_days() as i64 + 2) else {
        return Ok(Vec::new());
    };
    let appt = state
        .store
        .appointment(p.practice_id, last.appointment_id)
        .await?;
    let usual = jiff::Timestamp::from_millisecond(appt.starts_at)
        .map(|t| t.to_zoned_datetime(tz.clone()).time())
        .unwrap_or_default();
    let now = jiff::Timestamp::now().as_millisecond();
    let slots = state
        .store
        .open_slots(
            p.practice_id,
            appt.type_id,
            appt.location_id,
            Some(appt.clinician_id),
            now,
            horizon.min(366),
        )
        .await?;
    let clinician = state
        .store
        .clinicians(p.practice_id)
        .await?
        .into_iter()
        .find(|c| c.id == appt.clinician_id)
        .map(|c| c.name)
        .unwrap_or_default();
    Ok(dates
        .iter()
        .map(|d| {
            let wanted = at(*d, usual, tz);
            let best = slots
                .iter()
                .map(|(_, s)| s.start)
                .filter(|s| {
                    jiff::Timestamp::from_millisecond(*s)
                        .map(|t| t.to_zoned_datetime(tz.clone()).date() == *d)
                        .unwrap_or(false)
                })
                .min_by_key(|s| (s - wanted).abs());
            (
                d.strftime("%a %b %-d").to_string(),
                match best {
                    Some(s) => format!(
                        "{} with {clinician}",
                        jiff::Timestamp::from_millisecond(s)
                            .map(|t| t
                                .to_zoned_datetime(tz.clone())
                                .strftime("%-I:%M %p")
                                .to_string())
                            .unwrap_or_default()
                    ),
                    None => format!("nothing open with {clinician} that day"),
                },
                best,
            )
        })
        .collect())
}

/// `d` at `time` in `tz`, in Unix milliseconds.
pub fn at(d: jiff::civil::Date, time: jiff::civil::Time, tz: &jiff::tz::TimeZone) -> i64 {
    d.to_datetime(time)
        .to_zoned_datetime(tz.clone())
        .map(|z| z.timestamp().as_millisecond())
        .unwrap_or(0)
}

/// Books the spaced-out visits offered on the plan page, like the patient's last visit (type,
/// place, clinician). Times taken meanwhile are reported, the rest booked.
pub async fn book_flexible(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    p.require(Permission::EditClinicalNotes)?;
    p.require(Permission::EditSchedule)?;
    let f = Pairs(pairs);
    let plan = state.store.plan(p.practice_id, id, &p.actor).await?;
    let tz = state.store.practice_time_zone(p.practice_id).await?;
    let visits = state.store.plan_visits(p.practice_id, &plan, &tz).await?;
    let Some(last) = visits.last() else {
        return again(
            &state,
            &p,
            id,
            AppError::invalid("the plan has no visit to follow"),
        )
        .await;
    };
    let appt = state
        .store
        .appointment(p.practice_id, last.appointment_id)
        .await?;
    let (mut booked, mut lost) = (0, 0);
    for start in f.all("start").iter().filter_map(|s| s.parse::<i64>().ok()) {
        let mut a = stride_store::scheduling::NewAppointment::new(
            appt.location_id,
            appt.clinician_id,
            appt.type_id,
            start,
            "front desk",
        );
        a.patient_id = Some(plan.patient_id);
        a.payer_id = appt.payer_id;
        a.self_pay = appt.self_pay;
        match state
            .store
            .book_appointment(p.practice_id, &a, &p.actor)
            .await
        {
            Ok(_) => booked += 1,
            Err(stride_store::scheduling::BookingError::Taken(_)) => lost += 1,
            Err(stride_store::scheduling::BookingError::Store(e)) => return Err(e.into()),
        }
    }
    if lost > 0 {
        return again(
            &state,
            &p,
            id,
            AppError::Conflict(format!(
                "Booked {booked}; {lost} of the times were taken meanwhile. The nearest open times are shown again below."
            )),
        )
        .await;
    }
    Ok(redirect_done(
        &format!("/app/plans/{id}"),
        "flexible_booked",
    ))
}
