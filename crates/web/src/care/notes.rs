//! The visit note (`/app/visits/{appointment}/note`): subjective, objective, assessment and plan,
//! the body regions treated, the plan's goals addressed with their progress, and interventions
//! with CPT codes and minutes. The billed units come from the 8-minute rule. The visit's place
//! in the plan ("visit 3 of 8") and the milestone conversation for it head the page. Signing
//! locks the note; later changes are addenda.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::{Extension, Form};
use stride_core::billing::{self, Line};
use stride_core::care;
use stride_core::role::Permission;
use stride_store::plans::{GoalAddressed, NoteInput, Soap, VisitNote, number_of};

use super::Pairs;
use crate::AppState;
use crate::auth::Principal;
use crate::error::{AppError, PageResult};
use crate::pages::{
    Done, Layout, form_error, layout, local_time, practice_tz, redirect_done, render,
};

/// Rows for interventions on the form.
const LINE_ROWS: usize = 6;

pub struct GoalField {
    pub id: i64,
    pub text: String,
    pub target: String,
    pub addressed: bool,
    pub progress: u32,
}

pub struct LineField {
    pub code: String,
    pub minutes: String,
    /// Units billed, once saved.
    pub units: String,
}

#[derive(Template)]
#[template(path = "visit_note.html")]
struct NotePage {
    l: Layout,
    appointment_id: i64,
    patient_id: Option<i64>,
    patient: String,
    when: String,
    what: String,
    clinician: String,
    status: String,
    plan_id: Option<i64>,
    progress: String,
    prompt: Option<String>,
    soap: Soap,
    regions: Vec<(&'static str, &'static str, bool)>,
    goals: Vec<GoalField>,
    lines: Vec<LineField>,
    codes: Vec<(&'static str, String)>,
    feeling_better: bool,
    signed: Option<String>,
    intact: bool,
    addenda: Vec<(String, String, String)>,
    total_minutes: u32,
    total_units: u32,
    can_edit: bool,
    error: Option<String>,
}

/// What the form held, to render again after a refusal.
struct Typed {
    input: NoteInput,
    lines: Vec<(String, String)>,
    addressed: Vec<(i64, u32)>,
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
    typed: Option<Typed>,
    error: Option<String>,
) -> PageResult {
    p.require(Permission::ViewClinicalNotes)?;
    let appt = state.store.appointment(p.practice_id, id).await?;
    let l = layout(state, p, "care", done).await?;
    let tzn = practice_tz(state, p.practice_id).await?;
    let tz = state.store.practice_time_zone(p.practice_id).await?;
    let patient = match appt.patient_id {
        Some(pid) => {
            let x = state.store.patient(p.practice_id, pid, &p.actor).await?;
            format!("{} {}", x.first_name, x.last_name)
        }
        None => "No patient linked".to_string(),
    };
    let types = state.store.appointment_types(p.practice_id).await?;
    let clinicians = state.store.clinicians(p.practice_id).await?;
    let note: Option<VisitNote> = state.store.visit_note(p.practice_id, id, &p.actor).await?;
    let plan = state.store.plan_for_appointment(p.practice_id, id).await?;
    let (progress, prompt, goals_all) = match &plan {
        Some(plan) => {
            let visits = state.store.plan_visits(p.practice_id, plan, &tz).await?;
            let x = number_of(&visits, appt.starts_at);
            let y = plan.prescribed_visits;
            let prompt = care::milestone_for(x).map(|m| care::prompt(m, &plan.rule()));
            (
                if x > y {
                    format!("Visit {x}: past the {y} prescribed")
                } else {
                    format!("Visit {x} of {y}")
                },
                prompt,
                state.store.plan_goals(p.practice_id, plan.id).await?,
            )
        }
        None => (String::new(), None, Vec::new()),
    };
    let (input, raw_lines, addressed) = match typed {
        Some(t) => (t.input, Some(t.lines), t.addressed),
        None => match &note {
            Some(n) => (
                NoteInput {
                    soap: n.soap.clone(),
                    areas: n
                        .areas
                        .iter()
                        .filter_map(|a| care::REGIONS.iter().find(|(k, _)| k == a).map(|(k, _)| *k))
                        .collect(),
                    goals: n.goals.clone(),
                    lines: Vec::new(),
                    feeling_better: n.feeling_better,
                },
                None,
                n.goals.iter().map(|g| (g.goal, g.progress)).collect(),
            ),
            None => (
                NoteInput {
                    areas: plan
                        .as_ref()
                        .map(|pl| {
                            pl.areas
                                .iter()
                                .filter_map(|a| {
                                    care::REGIONS.iter().find(|(k, _)| k == a).map(|(k, _)| *k)
                                })
                                .collect()
                        })
                        .unwrap_or_default(),
                    ..NoteInput::default()
                },
                None,
                Vec::new(),
            ),
        },
    };
    let mut lines: Vec<LineField> = match (raw_lines, &note) {
        (Some(raw), _) => raw
            .into_iter()
            .map(|(code, minutes)| LineField {
                code,
                minutes,
                units: String::new(),
            })
            .collect(),
        (None, Some(n)) => n
            .lines
            .iter()
            .map(|x| LineField {
                code: x.code.clone(),
                minutes: x.minutes.to_string(),
                units: x.units.to_string(),
            })
            .collect(),
        (None, None) => Vec::new(),
    };
    let signed = note.as_ref().and_then(|n| {
        n.signed_at.map(|at| {
            format!(
                "Signed by {} on {}",
                n.signed_by.clone().unwrap_or_default(),
                local_time(at, &tzn)
            )
        })
    });
    if signed.is_none() {
        while lines.len() < LINE_ROWS {
            lines.push(LineField {
                code: String::new(),
                minutes: String::new(),
                units: String::new(),
            });
        }
    }
    let (total_minutes, total_units) = note.as_ref().map_or((0, 0), |n| {
        (
            n.lines.iter().map(|x| x.minutes).sum(),
            n.lines.iter().map(|x| x.units).sum(),
        )
    });
    let goals = goals_all
        .into_iter()
        .map(|g| {
            let hit = addressed.iter().find(|(id, _)| *id == g.id);
            GoalField {
                id: g.id,
                addressed: hit.is_some(),
                progress: hit.map_or(g.progress, |(_, pr)| *pr),
                text: g.text,
                target: g.target,
            }
        })
        .filter(|g| signed.is_none() || g.addressed)
        .collect();
    render(&NotePage {
        l,
        appointment_id: id,
        patient_id: appt.patient_id,
        patient,
        when: local_time(appt.starts_at, &tzn),
        what: types
            .iter()
            .find(|t| t.id == appt.type_id)
            .map(|t| t.name.clone())
            .unwrap_or_default(),
        clinician: clinicians
            .iter()
            .find(|c| c.id == appt.clinician_id)
            .map(|c| c.name.clone())
            .unwrap_or_default(),
        status: appt.status.replace('_', " "),
        plan_id: plan.as_ref().map(|pl| pl.id),
        progress,
        prompt,
        regions: care::REGIONS
            .iter()
            .map(|(k, label)| (*k, *label, input.areas.contains(k)))
            .collect(),
        soap: input.soap,
        goals,
        lines,
        codes: billing::CODES
            .iter()
            .map(|c| {
                (
                    c.code,
                    format!(
                        "{} {}{}",
                        c.code,
                        c.label,
                        if c.timed { " (timed)" } else { "" }
                    ),
                )
            })
            .collect(),
        feeling_better: input.feeling_better,
        intact: note.as_ref().is_none_or(|n| n.intact),
        addenda: note
            .as_ref()
            .map(|n| {
                n.addenda
                    .iter()
                    .map(|a| {
                        (
                            local_time(a.created_at, &tzn),
                            a.author.clone(),
                            a.text.clone(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default(),
        can_edit: p.can(Permission::EditClinicalNotes),
        signed,
        total_minutes,
        total_units,
        error,
    })
}

fn read_form(f: &Pairs) -> Result<Typed, Box<(Typed, AppError)>> {
    let soap = Soap {
        subjective: f.get("subjective").to_string(),
        objective: f.get("objective").to_string(),
        assessment: f.get("assessment").to_string(),
        plan: f.get("plan").to_string(),
    };
    let raw_lines: Vec<(String, String)> = (0..LINE_ROWS)
        .map(|i| {
            (
                f.get(&format!("code_{i}")).to_string(),
                f.get(&format!("minutes_{i}")).to_string(),
            )
        })
        .collect();
    let addressed: Vec<(i64, u32)> = f
        .all("goal")
        .iter()
        .filter_map(|g| g.parse::<i64>().ok())
        .map(|g| {
            let pr = f
                .get(&format!("progress_{g}"))
                .trim()
                .parse::<u32>()
                .unwrap_or(0);
            (g, pr)
        })
        .collect();
    let mut problem = None;
    let areas = match care::parse_regions(&f.all("areas").join(",")) {
        Ok(a) => a,
        Err(e) => {
            problem = Some(AppError::invalid(e));
            Vec::new()
        }
    };
    let mut lines = Vec::new();
    for (code, minutes) in &raw_lines {
        if code.trim().is_empty() && minutes.trim().is_empty() {
            continue;
        }
        if code.trim().is_empty() {
            problem.get_or_insert(AppError::invalid(format!(
                "choose the CPT code for the {} minutes",
                minutes.trim()
            )));
            continue;
        }
        let m = match minutes.trim() {
            "" => 0,
            s => match s.parse::<u32>() {
                Ok(m) => m,
                Err(_) => {
                    problem.get_or_insert(AppError::invalid(format!(
                        "the minutes for {} should be a whole number",
                        code.trim()
                    )));
                    0
                }
            },
        };
        lines.push(Line {
            code: code.trim().to_string(),
            minutes: m,
        });
    }
    if addressed.iter().any(|(_, pr)| *pr > 100) {
        problem.get_or_insert(AppError::invalid("progress toward a goal is 0 to 100%"));
    }
    let typed = Typed {
        input: NoteInput {
            soap,
            areas,
            goals: addressed
                .iter()
                .map(|(goal, progress)| GoalAddressed {
                    goal: *goal,
                    progress: *progress,
                })
                .collect(),
            lines,
            feeling_better: f.on("feeling_better"),
        },
        lines: raw_lines,
        addressed,
    };
    match problem {
        Some(e) => Err(Box::new((typed, e))),
        None => Ok(typed),
    }
}

pub async fn save(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    p.require(Permission::EditClinicalNotes)?;
    let f = Pairs(pairs);
    let sign = f.get("action") == "sign";
    let typed = match read_form(&f) {
        Ok(t) => t,
        Err(refused) => {
            let (t, e) = *refused;
            return again(&state, &p, id, t, e).await;
        }
    };
    if let Err(e) = state
        .store
        .save_note(p.practice_id, id, &typed.input, &p.actor)
        .await
    {
        return again(&state, &p, id, typed, e.into()).await;
    }
    if sign {
        if let Err(e) = state.store.sign_note(p.practice_id, id, &p.actor).await {
            return again(&state, &p, id, typed, e.into()).await;
        }
        return Ok(redirect_done(
            &format!("/app/visits/{id}/note"),
            "note_signed",
        ));
    }
    Ok(redirect_done(
        &format!("/app/visits/{id}/note"),
        "note_saved",
    ))
}

async fn again(state: &AppState, p: &Principal, id: i64, t: Typed, e: AppError) -> PageResult {
    let msg = form_error(e)?;
    let mut resp = page(state, p, id, &Done::default(), Some(t), Some(msg)).await?;
    *resp.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    Ok(resp)
}

pub async fn addendum(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    p.require(Permission::EditClinicalNotes)?;
    let f = Pairs(pairs);
    match state
        .store
        .add_addendum(p.practice_id, id, f.get("text"), &p.actor)
        .await
    {
        Ok(()) => Ok(redirect_done(&format!("/app/visits/{id}/note"), "addendum")),
        Err(e) => {
            let msg = form_error(e.into())?;
            let mut resp = page(&state, &p, id, &Done::default(), None, Some(msg)).await?;
            *resp.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
            Ok(resp)
        }
    }
}
