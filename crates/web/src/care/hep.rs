//! Home exercise programs: the exercise library (`/app/care/exercises`), a patient's programs on
//! their page, and the public program page a patient opens from a text or email
//! (`/p/{practice}/hep/{secret}`), which needs no login and records each opening.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Form};
use stride_core::care;
use stride_core::role::Permission;
use stride_store::StoreError;
use stride_store::hep::{DEFAULT_VALID_DAYS, ExerciseInput, ItemInput};
use stride_store::messages::Channel;

use super::Pairs;
use crate::AppState;
use crate::auth::Principal;
use crate::error::{AppError, PageResult};
use crate::pages::{Done, Layout, form_error, layout, redirect_done, render};

/// Exercise rows on the new-program form.
pub const PROGRAM_ROWS: usize = 6;

#[derive(Template)]
#[template(path = "hep_library.html")]
struct LibraryPage {
    l: Layout,
    clinical: bool,
    exercises: Vec<stride_store::hep::Exercise>,
    regions: Vec<(&'static str, &'static str)>,
    can_edit: bool,
    error: Option<String>,
    /// What was typed into the add form, after a refusal.
    typed: (String, String, String, String),
}

pub async fn library(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(done): Query<Done>,
) -> PageResult {
    library_page(&state, &p, &done, None, Default::default()).await
}

async fn library_page(
    state: &AppState,
    p: &Principal,
    done: &Done,
    error: Option<String>,
    typed: (String, String, String, String),
) -> PageResult {
    p.require(Permission::ViewClinicalNotes)?;
    let l = layout(state, p, "care", done).await?;
    let page = LibraryPage {
        l,
        clinical: true,
        exercises: state.store.exercises(p.practice_id).await?,
        regions: care::REGIONS.to_vec(),
        can_edit: p.can(Permission::EditClinicalNotes),
        typed,
        error,
    };
    let mut resp = render(&page)?;
    if page.error.is_some() {
        *resp.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(resp)
}

fn exercise_input(f: &Pairs) -> ExerciseInput {
    ExerciseInput {
        name: f.get("name").to_string(),
        instructions: f.get("instructions").to_string(),
        video_url: f.get("video_url").to_string(),
        region: f.get("region").to_string(),
        active: f.get("active") != "0",
    }
}

pub async fn add_exercise(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    p.require(Permission::EditClinicalNotes)?;
    let f = Pairs(pairs);
    let input = exercise_input(&f);
    match state
        .store
        .save_exercise(p.practice_id, None, &input, &p.actor)
        .await
    {
        Ok(_) => Ok(redirect_done("/app/care/exercises", "exercise")),
        Err(e) => {
            let typed = (
                input.name,
                input.instructions,
                input.video_url,
                input.region,
            );
            library_page(
                &state,
                &p,
                &Done::default(),
                Some(form_error(e.into())?),
                typed,
            )
            .await
        }
    }
}

pub async fn update_exercise(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    p.require(Permission::EditClinicalNotes)?;
    let f = Pairs(pairs);
    match state
        .store
        .save_exercise(p.practice_id, Some(id), &exercise_input(&f), &p.actor)
        .await
    {
        Ok(_) => Ok(redirect_done("/app/care/exercises", "exercise")),
        Err(e) => {
            library_page(
                &state,
                &p,
                &Done::default(),
                Some(form_error(e.into())?),
                Default::default(),
            )
            .await
        }
    }
}

fn channel(v: &str) -> Option<Channel> {
    match v {
        "sms" => Some(Channel::Sms),
        "email" => Some(Channel::Email),
        _ => None,
    }
}

/// Makes a program from the patient's page and sends it, if a channel was chosen.
pub async fn create(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(patient_id): Path<i64>,
    headers: axum::http::HeaderMap,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    p.require(Permission::EditClinicalNotes)?;
    let f = Pairs(pairs);
    let result = async {
        let mut items = Vec::new();
        for i in 0..PROGRAM_ROWS {
            let exercise = f.get(&format!("exercise_{i}"));
            if exercise.is_empty() {
                continue;
            }
            let number = |field: &str, what: &str| -> Result<u32, AppError> {
                f.get(&format!("{field}_{i}")).trim().parse().map_err(|_| {
                    AppError::invalid(format!("give the {what} of every exercise as a number"))
                })
            };
            items.push(ItemInput {
                exercise_id: exercise
                    .parse()
                    .map_err(|_| AppError::invalid("choose exercises from the library"))?,
                sets: number("sets", "sets")?,
                reps: number("reps", "reps")?,
                times_per_week: number("per_week", "times a week")?,
            });
        }
        let days = match f.get("valid_days").trim() {
            "" => DEFAULT_VALID_DAYS,
            s => s.parse().map_err(|_| {
                AppError::invalid("the number of days the link works should be a number")
            })?,
        };
        let (id, _) = state
            .store
            .create_program(p.practice_id, patient_id, &items, days, &p.actor)
            .await?;
        if let Some(ch) = channel(f.get("send")) {
            state
                .store
                .send_program(
                    p.practice_id,
                    id,
                    ch,
                    &super::base_url(&state, &headers),
                    &p.actor,
                )
                .await?;
        }
        Ok::<_, AppError>(())
    }
    .await;
    match result {
        Ok(()) => Ok(redirect_done(&format!("/app/patients/{patient_id}"), "hep")),
        Err(e) => Err(AppError::Unprocessable(form_error(e)?)),
    }
}

/// Sends an existing program again.
pub async fn send(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<i64>,
    headers: axum::http::HeaderMap,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    p.require(Permission::EditClinicalNotes)?;
    let f = Pairs(pairs);
    let ch = channel(f.get("send")).ok_or_else(|| AppError::invalid("choose text or email"))?;
    state
        .store
        .send_program(
            p.practice_id,
            id,
            ch,
            &super::base_url(&state, &headers),
            &p.actor,
        )
        .await?;
    let patient: i64 = f.get("patient").parse().unwrap_or(0);
    Ok(redirect_done(
        &format!("/app/patients/{patient}"),
        "hep_sent",
    ))
}

#[derive(Template)]
#[template(path = "hep_public.html")]
struct PublicPage {
    practice: String,
    /// (name, instructions, video, "3 sets of 10, 5 times a week")
    items: Vec<(String, String, String, String)>,
    until: String,
    expired: Option<String>,
}

/// The patient's program: no login, found by the link's secret; every opening is recorded.
pub async fn public(
    State(state): State<AppState>,
    Path((slug, token)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let page = match state.store.open_program(&slug, &token).await {
        Ok(Some((practice, items, expires_at))) => PublicPage {
            practice,
            items: items
                .into_iter()
                .map(|i| {
                    (
                        i.exercise.name,
                        i.exercise.instructions,
                        i.exercise.video_url,
                        format!(
                            "{} {} of {}, {} a week",
                            i.sets,
                            if i.sets == 1 { "set" } else { "sets" },
                            i.reps,
                            if i.times_per_week == 1 {
                                "once".to_string()
                            } else {
                                format!("{} times", i.times_per_week)
                            }
                        ),
                    )
                })
                .collect(),
            until: jiff::Timestamp::from_millisecond(expires_at)
                .map(|t| t.strftime("%B %-d, %Y").to_string())
                .unwrap_or_default(),
            expired: None,
        },
        Ok(None) => return Err(AppError::NotFound),
        Err(StoreError::Conflict(m)) => PublicPage {
            practice: String::new(),
            items: Vec::new(),
            until: String::new(),
            expired: Some(m),
        },
        Err(e) => return Err(e.into()),
    };
    let gone = page.expired.is_some();
    let mut resp = render(&page)?;
    if gone {
        *resp.status_mut() = StatusCode::GONE;
    }
    resp.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    Ok(crate::scheduling::public::secret_page(resp).into_response())
}
