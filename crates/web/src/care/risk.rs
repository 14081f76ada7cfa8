//! The daily drop-off list (`/app/care`) with its outreach actions and outcomes, and the
//! completion report (`/app/care/completion`): completion and drop-off against the 80% and 20%
//! targets per practice, clinician and payer, month by month with the start of outreach marked,
//! and the revenue lost to drop-offs per clinician per year.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::IntoResponse;
use axum::{Extension, Form, Json};
use serde::Deserialize;
use stride_core::care::{self, TARGET_COMPLETION_PERCENT, TARGET_DROP_OFF_PERCENT};
use stride_core::deposits::dollars;
use stride_core::role::Permission;
use stride_store::outreach::{ACTIONS, CompletionRow, OUTCOMES, TEMPLATES, template_for};

use super::{Pairs, opt_date, today};
use crate::AppState;
use crate::auth::Principal;
use crate::error::{AppError, PageResult};
use crate::pages::{
    Done, Layout, form_error, layout, local_time, practice_tz, redirect_done, render,
};

pub struct RiskRow {
    pub plan_id: i64,
    pub patient_id: i64,
    pub patient: String,
    pub clinician: String,
    pub progress: String,
    pub reasons: Vec<String>,
    pub score: u32,
    pub template: &'static str,
    /// (id, "Text from a template · Dana · Mon Nov 30", outcome label or empty when open)
    pub last: Option<(i64, String, String)>,
}

#[derive(Template)]
#[template(path = "care_risk.html")]
struct RiskPage {
    l: Layout,
    rows: Vec<RiskRow>,
    actions: &'static [(&'static str, &'static str)],
    templates: Vec<(&'static str, &'static str)>,
    outcomes: &'static [(&'static str, &'static str)],
    active_plans: usize,
    clinical: bool,
    error: Option<String>,
    today: String,
}

fn require(p: &Principal) -> Result<(), AppError> {
    p.require(Permission::ViewPatients)?;
    p.require(Permission::ViewSchedule)
}

pub async fn risk_list(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(done): Query<Done>,
) -> PageResult {
    page(&state, &p, &done, None).await
}

async fn page(state: &AppState, p: &Principal, done: &Done, error: Option<String>) -> PageResult {
    require(p)?;
    let l = layout(state, p, "care", done).await?;
    let tzn = practice_tz(state, p.practice_id).await?;
    let tz = state.store.practice_time_zone(p.practice_id).await?;
    let now = jiff::Timestamp::now().as_millisecond();
    let list = state.store.risk_list(p.practice_id, now).await?;
    let active_plans = state
        .store
        .plans_in(p.practice_id, &[care::PlanStatus::Active])
        .await?
        .len();
    let clinicians = state.store.clinicians(p.practice_id).await?;
    let names = state
        .store
        .patients_by_ids(
            p.practice_id,
            &list.iter().map(|r| r.plan.patient_id).collect::<Vec<_>>(),
            &p.actor,
        )
        .await?;
    let mut rows = Vec::with_capacity(list.len());
    for r in list {
        rows.push(RiskRow {
            plan_id: r.plan.id,
            patient_id: r.plan.patient_id,
            patient: names
                .get(&r.plan.patient_id)
                .map(|x| format!("{} {}", x.first_name, x.last_name))
                .unwrap_or_default(),
            clinician: r
                .plan
                .clinician_id
                .and_then(|c| clinicians.iter().find(|x| x.id == c))
                .map(|c| c.name.clone())
                .unwrap_or_default(),
            progress: care::progress_label(&r.count, &r.plan.rule()),
            reasons: r.reasons.iter().map(care::RiskReason::label).collect(),
            score: r.score,
            template: template_for(&r.reasons),
            last: r.last_outreach.map(|o| {
                let what = ACTIONS
                    .iter()
                    .find(|(k, _)| *k == o.action)
                    .map_or(o.action.as_str(), |(_, l)| l);
                let due = o
                    .due_on
                    .as_deref()
                    .map(|d| format!(", due {d}"))
                    .unwrap_or_default();
                (
                    o.id,
                    format!(
                        "{what}{due} · {} · {}",
                        o.created_by,
                        local_time(o.created_at, &tzn)
                    ),
                    o.outcome
                        .and_then(|k| OUTCOMES.iter().find(|(x, _)| *x == k))
                        .map(|(_, l)| (*l).to_string())
                        .unwrap_or_default(),
                )
            }),
        });
    }
    let page = RiskPage {
        l,
        rows,
        actions: ACTIONS,
        templates: TEMPLATES.iter().map(|(k, l, _)| (*k, *l)).collect(),
        outcomes: OUTCOMES,
        active_plans,
        clinical: p.can(Permission::ViewClinicalNotes),
        error,
        today: today(&tz).to_string(),
    };
    if page.error.is_some() {
        let mut resp = render(&page)?;
        *resp.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
        Ok(resp)
    } else {
        render(&page)
    }
}

pub async fn outreach(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    headers: axum::http::HeaderMap,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    require(&p)?;
    p.require(Permission::EditPatients)?;
    let f = Pairs(pairs);
    let result = async {
        let plan: i64 = f
            .get("plan")
            .parse()
            .map_err(|_| AppError::invalid("choose a patient"))?;
        let due = opt_date(f.get("due_on"), "due day")?;
        state
            .store
            .record_outreach(
                p.practice_id,
                plan,
                f.get("action"),
                f.get("template"),
                due,
                &super::base_url(&state, &headers),
                &p.actor,
            )
            .await?;
        Ok::<_, AppError>(())
    }
    .await;
    match result {
        Ok(()) => Ok(redirect_done("/app/care", "outreach")),
        Err(e) => page(&state, &p, &Done::default(), Some(form_error(e)?)).await,
    }
}

pub async fn outcome(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    require(&p)?;
    p.require(Permission::EditPatients)?;
    let f = Pairs(pairs);
    match state
        .store
        .set_outreach_outcome(p.practice_id, id, f.get("outcome"), &p.actor)
        .await
    {
        Ok(()) => Ok(redirect_done("/app/care", "outcome")),
        Err(e) => page(&state, &p, &Done::default(), Some(form_error(e.into())?)).await,
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct PeriodQuery {
    period: String,
}

/// The report's period: the last 12 months, or a calendar year.
fn period(q: &str, today: jiff::civil::Date) -> (jiff::civil::Date, jiff::civil::Date, String) {
    if let Ok(y) = q.parse::<i16>()
        && (2000..=today.year()).contains(&y)
    {
        let from = jiff::civil::date(y, 1, 1);
        let to = jiff::civil::date(y, 12, 31).min(today);
        return (from, to, y.to_string());
    }
    let from = today
        .checked_sub(jiff::Span::new().years(1))
        .unwrap_or(today)
        .tomorrow()
        .unwrap_or(today);
    (from, today, "12mo".into())
}

pub struct Row {
    pub label: String,
    pub closed: u32,
    pub completion: String,
    pub drop_off: String,
    pub dropped: u32,
    pub on_target: bool,
    pub visits_lost: u32,
    pub revenue_lost: String,
}

fn pct(r: Option<f64>) -> String {
    r.map(|r| format!("{r:.0}%")).unwrap_or_else(|| "—".into())
}

fn row(r: &CompletionRow) -> Row {
    Row {
        label: r.label.clone(),
        closed: r.completion.closed,
        completion: pct(r.completion.completion_rate),
        drop_off: pct(r.completion.drop_off_rate),
        dropped: r.completion.dropped,
        on_target: r.completion.on_target().unwrap_or(true),
        visits_lost: r.visits_lost,
        revenue_lost: dollars(r.revenue_lost_cents),
    }
}

pub struct Bar {
    pub x: i64,
    pub y: f64,
    pub h: f64,
    pub ok: bool,
    /// The month's short name; the year under January and the first month.
    pub label: String,
    pub year: String,
    pub title: String,
}

#[derive(Template)]
#[template(path = "care_completion.html")]
struct CompletionPage {
    l: Layout,
    period: String,
    years: Vec<String>,
    total: Row,
    open_plans: u32,
    bars: Vec<Bar>,
    width: i64,
    target_y: f64,
    outreach_x: Option<f64>,
    outreach_started: String,
    summary: String,
    clinical: bool,
    /// (title, first column, rows): by clinician and by payer.
    sections: Vec<(&'static str, &'static str, Vec<Row>)>,
    by_year: Vec<(String, Row)>,
}

pub async fn completion(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(q): Query<PeriodQuery>,
    Query(done): Query<Done>,
) -> PageResult {
    p.require(Permission::ViewSchedule)?;
    let l = layout(&state, &p, "care", &done).await?;
    let tz = state.store.practice_time_zone(p.practice_id).await?;
    let day = today(&tz);
    let (from, to, period) = period(&q.period, day);
    let r = state
        .store
        .completion_report(p.practice_id, from, to)
        .await?;
    const STEP: i64 = 14;
    let bars: Vec<Bar> = r
        .by_month
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let rate = m.completion.completion_rate.unwrap_or(0.0);
            Bar {
                x: i as i64 * STEP,
                y: 100.0 - rate,
                h: rate,
                ok: rate >= TARGET_COMPLETION_PERCENT,
                label: month_part(&m.key, "%b"),
                year: if i == 0 || m.key.ends_with("-01") {
                    month_part(&m.key, "%Y")
                } else {
                    String::new()
                },
                title: format!(
                    "{}: {} of {} plans completed ({})",
                    month_label(&m.key),
                    m.completion.completed,
                    m.completion.closed,
                    pct(m.completion.completion_rate)
                ),
            }
        })
        .collect();
    let outreach_x = r.outreach_started.as_deref().and_then(|d| {
        let key = d.get(..7)?;
        let i = r.by_month.iter().position(|m| m.key.as_str() >= key)?;
        Some(i as f64 * STEP as f64 - 1.5)
    });
    // Before and since outreach began, when it began inside the period.
    let split = |since: bool| {
        let key = r
            .outreach_started
            .as_deref()
            .and_then(|d| d.get(..7))
            .unwrap_or("");
        let outcomes: Vec<care::Completion> = r
            .by_month
            .iter()
            .filter(|m| (m.key.as_str() >= key) == since)
            .map(|m| m.completion)
            .collect();
        let (done, closed) = outcomes
            .iter()
            .fold((0, 0), |(d, c), x| (d + x.completed, c + x.closed));
        (closed > 0).then(|| f64::from(done) * 100.0 / f64::from(closed))
    };
    let summary = match (&r.outreach_started, split(false), split(true)) {
        (Some(started), Some(before), Some(since)) => format!(
            "{before:.0}% of plans were completed before outreach began on {started}, {since:.0}% since"
        ),
        _ => format!(
            "{} of {} plans closed in the period were completed",
            r.practice.completion.completed, r.practice.completion.closed
        ),
    };
    let mut by_year: Vec<(String, Row)> = r
        .lost_by_clinician_year
        .iter()
        .map(|x| (x.key.clone(), row(x)))
        .collect();
    by_year.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.label.cmp(&b.1.label)));
    let years = (0..3).map(|i| (day.year() - i).to_string()).collect();
    render(&CompletionPage {
        l,
        period,
        years,
        total: row(&r.practice),
        open_plans: r.open_plans,
        width: (bars.len() as i64 * STEP).max(STEP),
        bars,
        target_y: 100.0 - TARGET_COMPLETION_PERCENT,
        outreach_x,
        outreach_started: r.outreach_started.clone().unwrap_or_default(),
        summary,
        clinical: p.can(Permission::ViewClinicalNotes),
        sections: vec![
            (
                "By clinician",
                "Clinician",
                r.by_clinician.iter().map(row).collect(),
            ),
            ("By payer", "Payer", r.by_payer.iter().map(row).collect()),
        ],
        by_year,
    })
}

fn month_label(key: &str) -> String {
    month_part(key, "%b %Y")
}

/// A month key ("2026-03") formatted with `fmt`.
fn month_part(key: &str, fmt: &str) -> String {
    format!("{key}-01")
        .parse::<jiff::civil::Date>()
        .map(|d| d.strftime(fmt).to_string())
        .unwrap_or_else(|_| key.to_string())
}

/// `GET /api/v1/care/completion?period=12mo|2026`: the completion report as JSON.
pub async fn completion_api(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(q): Query<PeriodQuery>,
) -> crate::error::ApiResult<impl IntoResponse> {
    p.require(Permission::ViewSchedule)?;
    let tz = state.store.practice_time_zone(p.practice_id).await?;
    let (from, to, _) = period(&q.period, today(&tz));
    let r = state
        .store
        .completion_report(p.practice_id, from, to)
        .await?;
    Ok(Json(serde_json::json!({ "data": {
        "from": from.to_string(),
        "to": to.to_string(),
        "target_completion_percent": TARGET_COMPLETION_PERCENT,
        "target_drop_off_percent": TARGET_DROP_OFF_PERCENT,
        "report": r,
    }})))
}
