//! Lead pages for the front desk: the inbox (newest, waiting for a first contact, all), one lead
//! with its timeline and follow-up actions, and a lead taken on the phone or at the desk. Lead
//! identity needs `view_leads`; a marketer is sent to the report, which shows none.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect};
use axum::{Extension, Form};
use serde::Deserialize;
use stride_core::leads::{
    Fit, Interest, Likelihood, LostReason, Origin, Qualification, Stage, short_duration,
};
use stride_core::phone::PhoneE164;
use stride_core::role::Permission;
use stride_core::time::format_local;
use stride_core::tz::TimeZoneName;
use stride_store::leads::{Activity, ContactKind, Inbox, Lead, LeadTask};

use super::api::LeadBody;
use crate::AppState;
use crate::auth::Principal;
use crate::error::{AppError, PageResult};
use crate::pages::{Done, Layout, form_error, layout, redirect_done, render, unprocessable};

fn when(ms: i64, tz: &Option<TimeZoneName>) -> String {
    match tz {
        Some(tz) => format_local(ms, tz),
        None => jiff::Timestamp::from_millisecond(ms)
            .map(|t| t.to_string())
            .unwrap_or_default(),
    }
}

fn phone_display(p: &Option<String>) -> String {
    p.as_deref()
        .and_then(|s| PhoneE164::parse(s).ok())
        .map(|p| p.national_display())
        .unwrap_or_default()
}

fn flash(key: Option<&str>) -> Option<&'static str> {
    Some(match key? {
        "lead" => "Lead saved.",
        "matched" => "This person already had a lead: the inquiry was added to it.",
        "contact" => "Logged on the timeline.",
        "qualified" => "Qualification saved.",
        "stage" => "Stage changed.",
        "task" => "Task added.",
        "task_done" => "Task done.",
        "merged" => "Leads merged: both histories are on this one.",
        "booked" => "Evaluation booked: the lead moved to “evaluation booked”.",
        _ => return None,
    })
}

pub struct InboxRow {
    pub id: i64,
    pub name: String,
    pub phone: String,
    pub phone_e164: String,
    pub service: String,
    pub source: String,
    pub stage: &'static str,
    pub stage_class: &'static str,
    pub waiting: String,
    pub first_contact: String,
}

pub struct TaskRow {
    pub id: i64,
    pub lead_id: i64,
    pub title: String,
    pub due: String,
    pub overdue: bool,
}

fn stage_class(s: Stage) -> &'static str {
    match s {
        Stage::New => "warn",
        Stage::Qualified | Stage::EvaluationBooked => "",
        Stage::BecamePatient => "ok",
        Stage::Lost => "bad",
    }
}

fn source_of(l: &Lead) -> String {
    let t = &l.row.first_touch;
    let channel = t
        .channel
        .parse::<stride_core::website::channels::Channel>()
        .map(|c| c.label().to_string())
        .unwrap_or_default();
    match (t.source.as_str(), channel.as_str()) {
        ("", "") => "Unknown".into(),
        (s, "") => s.to_string(),
        ("", c) => c.to_string(),
        (s, c) => format!("{s} · {c}"),
    }
}

#[derive(Template)]
#[template(path = "leads.html")]
struct InboxPage {
    l: Layout,
    view: &'static str,
    rows: Vec<InboxRow>,
    tasks: Vec<TaskRow>,
    can_edit: bool,
    form_url: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct InboxQuery {
    view: Option<String>,
    done: Option<String>,
}

pub async fn inbox(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(q): Query<InboxQuery>,
) -> PageResult {
    if !p.can(Permission::ViewLeads) {
        p.require(Permission::ViewAggregates)?;
        return Ok(Redirect::to("/app/leads/report").into_response());
    }
    let (view, inbox) = match q.view.as_deref() {
        Some("untouched") => ("untouched", Inbox::Untouched),
        Some("all") => ("all", Inbox::All),
        _ => ("newest", Inbox::Newest),
    };
    let mut l = layout(&state, &p, "leads", &Done::default()).await?;
    l.flash = flash(q.done.as_deref());
    let tz = crate::pages::practice_tz(&state, p.practice_id).await?;
    let now = jiff::Timestamp::now().as_millisecond();
    let leads = state
        .store
        .leads(p.practice_id, inbox, 200, &p.actor)
        .await?;
    let rows = leads
        .iter()
        .map(|lead| InboxRow {
            id: lead.row.id,
            name: lead.display_name(),
            phone: phone_display(&lead.phone),
            phone_e164: lead.phone.clone().unwrap_or_default(),
            service: lead.row.service.clone(),
            source: source_of(lead),
            stage: lead.row.stage.label(),
            stage_class: stage_class(lead.row.stage),
            waiting: short_duration(now - lead.row.created_at),
            first_contact: lead
                .row
                .speed_to_lead_ms
                .map(|ms| format!("after {}", short_duration(ms)))
                .unwrap_or_else(|| "not yet".into()),
        })
        .collect();
    let tasks = state
        .store
        .lead_tasks(p.practice_id, None, 50)
        .await?
        .into_iter()
        .map(|t| TaskRow {
            id: t.id,
            lead_id: t.lead_id,
            title: t.title,
            due: when(t.due_at, &tz),
            overdue: t.due_at < now,
        })
        .collect();
    let slug = state.store.practice(p.practice_id).await?.slug;
    render(&InboxPage {
        l,
        view,
        rows,
        tasks,
        can_edit: p.can(Permission::EditLeads),
        form_url: format!("/p/{slug}/request"),
    })
}

pub struct ActivityRow {
    pub at: String,
    pub kind: String,
    pub detail: String,
    pub body: String,
    pub actor: String,
}

fn activity_row(a: &Activity, tz: &Option<TimeZoneName>) -> ActivityRow {
    let kind = match a.kind.as_str() {
        "inquiry" => "Inquiry",
        "call" => "Call",
        "text" => "Text",
        "email" => "Email",
        "note" => "Note",
        "stage" => "Stage",
        "qualified" => "Qualified",
        "merged" => "Merged",
        "task" => "Task",
        other => other,
    };
    ActivityRow {
        at: when(a.at, tz),
        kind: kind.to_string(),
        detail: a.detail.clone(),
        body: a.body.clone(),
        actor: a.actor.clone(),
    }
}

#[derive(Template)]
#[template(path = "lead.html")]
struct LeadPage {
    l: Layout,
    lead: Lead,
    name: String,
    phone: String,
    stage_class: &'static str,
    created: String,
    speed: String,
    activities: Vec<ActivityRow>,
    tasks: Vec<LeadTask>,
    task_due: Vec<String>,
    stages: Vec<(&'static str, &'static str)>,
    reasons: Vec<(&'static str, &'static str)>,
    interests: Vec<(&'static str, &'static str)>,
    fits: Vec<(&'static str, &'static str)>,
    likelihoods: Vec<(&'static str, &'static str)>,
    error: Option<String>,
    can_edit: bool,
}

fn pairs<T: Copy>(
    all: &[T],
    f: impl Fn(T) -> (&'static str, &'static str),
) -> Vec<(&'static str, &'static str)> {
    all.iter().copied().map(f).collect()
}

async fn lead_page(
    state: &AppState,
    p: &Principal,
    id: i64,
    flash_key: Option<&str>,
    error: Option<String>,
) -> PageResult {
    p.require(Permission::ViewLeads)?;
    let mut l = layout(state, p, "leads", &Done::default()).await?;
    l.flash = flash(flash_key);
    let tz = crate::pages::practice_tz(state, p.practice_id).await?;
    let lead = state.store.lead(p.practice_id, id, &p.actor).await?;
    let activities = state
        .store
        .lead_activities(p.practice_id, id)
        .await?
        .iter()
        .map(|a| activity_row(a, &tz))
        .collect();
    let tasks = state.store.lead_tasks(p.practice_id, Some(id), 50).await?;
    let task_due = tasks.iter().map(|t| when(t.due_at, &tz)).collect();
    let page = LeadPage {
        name: lead.display_name(),
        phone: phone_display(&lead.phone),
        stage_class: stage_class(lead.row.stage),
        created: when(lead.row.created_at, &tz),
        speed: lead
            .row
            .speed_to_lead_ms
            .map(short_duration)
            .unwrap_or_else(|| "no contact yet".into()),
        activities,
        tasks,
        task_due,
        stages: pairs(Stage::ALL, |s| (s.as_str(), s.label())),
        reasons: pairs(LostReason::ALL, |s| (s.as_str(), s.label())),
        interests: pairs(Interest::ALL, |s| (s.as_str(), s.label())),
        fits: pairs(Fit::ALL, |s| (s.as_str(), s.label())),
        likelihoods: pairs(Likelihood::ALL, |s| (s.as_str(), s.label())),
        can_edit: p.can(Permission::EditLeads),
        lead,
        l,
        error: error.clone(),
    };
    if error.is_some() {
        unprocessable(&page)
    } else {
        render(&page)
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct DoneQuery {
    done: Option<String>,
}

pub async fn show(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<i64>,
    Query(q): Query<DoneQuery>,
) -> PageResult {
    lead_page(&state, &p, id, q.done.as_deref(), None).await
}

/// One of the actions on a lead's page, posted from its own small form.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ActionForm {
    action: String,
    kind: String,
    body: String,
    stage: String,
    lost_reason: String,
    interest: String,
    fit: String,
    likelihood: String,
    title: String,
    /// A local date and time from a datetime-local input, e.g. 2026-11-24T15:00.
    due: String,
    task_id: i64,
    other_id: String,
}

fn parse<T: std::str::FromStr>(v: &str) -> Result<T, AppError>
where
    T::Err: std::fmt::Display,
{
    v.parse::<T>().map_err(AppError::invalid)
}

async fn act(
    state: &AppState,
    p: &Principal,
    id: i64,
    f: &ActionForm,
) -> Result<&'static str, AppError> {
    let store = &state.store;
    match f.action.as_str() {
        "contact" => {
            let kind = match f.kind.as_str() {
                "call" => ContactKind::Call,
                "text" => ContactKind::Text,
                "email" => ContactKind::Email,
                "note" => ContactKind::Note,
                _ => return Err(AppError::invalid("choose call, text, email or note")),
            };
            store
                .log_lead_contact(p.practice_id, id, kind, &f.body, &p.actor)
                .await?;
            Ok("contact")
        }
        "qualify" => {
            let q = Qualification {
                interest: parse::<Interest>(&f.interest)?,
                fit: parse::<Fit>(&f.fit)?,
                likelihood: parse::<Likelihood>(&f.likelihood)?,
            };
            store.qualify_lead(p.practice_id, id, q, &p.actor).await?;
            Ok("qualified")
        }
        "stage" => {
            let stage = parse::<Stage>(&f.stage)?;
            let reason = match f.lost_reason.trim() {
                "" => None,
                r => Some(parse::<LostReason>(r)?),
            };
            store
                .move_lead(p.practice_id, id, stage, reason, &p.actor)
                .await?;
            Ok("stage")
        }
        "task" => {
            let tz = crate::pages::practice_tz(state, p.practice_id)
                .await?
                .map(|t| t.tz())
                .unwrap_or(jiff::tz::TimeZone::UTC);
            let due: jiff::civil::DateTime = f
                .due
                .trim()
                .parse()
                .map_err(|_| AppError::invalid("give the task's due date and time"))?;
            let due = due
                .to_zoned_datetime(tz)
                .map_err(|_| AppError::invalid("that due time does not exist"))?;
            store
                .add_lead_task(
                    p.practice_id,
                    id,
                    &f.title,
                    due.timestamp().as_millisecond(),
                    &p.actor,
                )
                .await?;
            Ok("task")
        }
        "task_done" => {
            store
                .complete_lead_task(p.practice_id, f.task_id, &p.actor)
                .await?;
            Ok("task_done")
        }
        "merge" => {
            let other: i64 = f
                .other_id
                .trim()
                .trim_start_matches('#')
                .parse()
                .map_err(|_| AppError::invalid("give the number of the lead to merge, e.g. 42"))?;
            store
                .merge_leads(p.practice_id, id, other, &p.actor)
                .await?;
            Ok("merged")
        }
        _ => Err(AppError::BadRequest("unknown action".into())),
    }
}

pub async fn action(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<i64>,
    Form(f): Form<ActionForm>,
) -> PageResult {
    p.require(Permission::EditLeads)?;
    match act(&state, &p, id, &f).await {
        Ok(key) => Ok(redirect_done(&format!("/app/leads/{id}"), key)),
        Err(e) => {
            let message = form_error(e)?;
            lead_page(&state, &p, id, None, Some(message)).await
        }
    }
}

/// A lead the front desk takes on the phone or at the desk.
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct NewLeadForm {
    first_name: String,
    last_name: String,
    phone: String,
    email: String,
    service: String,
    payer: String,
    preferred_times: String,
    message: String,
    sms_consent: Option<String>,
    email_consent: Option<String>,
    origin: String,
    source: String,
    channel: String,
    campaign: String,
}

#[derive(Template)]
#[template(path = "lead_new.html")]
struct NewLeadPage {
    l: Layout,
    f: NewLeadForm,
    origins: Vec<(&'static str, &'static str)>,
    channels: Vec<(&'static str, &'static str)>,
    campaigns: Vec<String>,
    error: Option<String>,
}

async fn new_page(
    state: &AppState,
    p: &Principal,
    f: NewLeadForm,
    error: Option<String>,
) -> PageResult {
    let l = layout(state, p, "leads", &Done::default()).await?;
    let page = NewLeadPage {
        l,
        f,
        origins: [Origin::Call, Origin::FrontDesk, Origin::Chat]
            .into_iter()
            .map(|o| (o.as_str(), o.label()))
            .collect(),
        channels: stride_core::website::channels::Channel::ALL
            .into_iter()
            .map(|c| (c.as_str(), c.label()))
            .collect(),
        campaigns: state
            .store
            .campaigns(p.practice_id)
            .await?
            .into_iter()
            .filter(|c| !c.archived)
            .map(|c| c.name)
            .collect(),
        error: error.clone(),
    };
    if error.is_some() {
        unprocessable(&page)
    } else {
        render(&page)
    }
}

pub async fn new_form(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
) -> PageResult {
    p.require(Permission::EditLeads)?;
    new_page(
        &state,
        &p,
        NewLeadForm {
            origin: "call".into(),
            ..NewLeadForm::default()
        },
        None,
    )
    .await
}

pub async fn create(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Form(f): Form<NewLeadForm>,
) -> PageResult {
    p.require(Permission::EditLeads)?;
    let body = LeadBody::from_form(&f);
    let result = match body.parse() {
        Ok(input) => state
            .store
            .capture_lead(p.practice_id, &input, &p.actor)
            .await
            .map_err(AppError::from),
        Err(e) => Err(e),
    };
    match result {
        Ok((captured, row)) => {
            let key = if captured == stride_store::leads::Captured::Matched {
                "matched"
            } else {
                "lead"
            };
            Ok(redirect_done(&format!("/app/leads/{}", row.id), key))
        }
        Err(e) => {
            let message = form_error(e)?;
            new_page(&state, &p, f, Some(message)).await
        }
    }
}

impl LeadBody {
    fn from_form(f: &NewLeadForm) -> LeadBody {
        let opt = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
        LeadBody {
            first_name: f.first_name.clone(),
            last_name: f.last_name.clone(),
            phone: opt(&f.phone),
            email: opt(&f.email),
            service: f.service.clone(),
            payer: f.payer.clone(),
            preferred_times: f.preferred_times.clone(),
            message: f.message.clone(),
            sms_consent: f.sms_consent.is_some(),
            email_consent: f.email_consent.is_some(),
            origin: opt(&f.origin),
            source: opt(&f.source),
            channel: opt(&f.channel),
            campaign: opt(&f.campaign),
            external_key: None,
        }
    }
}
