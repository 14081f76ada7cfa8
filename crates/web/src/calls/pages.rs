//! `/app/calls`: calls to the tracking numbers with their class (one click to confirm or correct),
//! the numbers themselves, and the keypad menu and missed-call text. The front desk sees callers;
//! a marketer sees the same counts and sources with no caller.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::{Extension, Form};
use serde::Deserialize;
use stride_core::calls::CallClass;
use stride_core::phone::PhoneE164;
use stride_core::role::Permission;
use stride_store::calls::{CallReport, CallRow, NumberInput};

use crate::AppState;
use crate::auth::Principal;
use crate::error::{AppError, PageResult};
use crate::pages::{
    Layout, form_error, layout, local_time, practice_tz, redirect_done, render, unprocessable,
};
use crate::website::dashboard::{PERIODS, report_range};

pub struct CallView {
    pub id: i64,
    pub when: String,
    pub caller: String,
    pub number: String,
    pub source: String,
    pub outcome: String,
    pub missed: bool,
    pub class: &'static str,
    pub class_label: &'static str,
    pub reviewed: bool,
    pub lead_id: Option<i64>,
    pub text_back: bool,
}

pub struct NumberView {
    pub number: String,
    pub label: String,
    pub routes: String,
    pub active: bool,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct NumberForm {
    number: String,
    label: String,
    source: String,
    channel: String,
    campaign_id: String,
    location_id: String,
    pool: Option<String>,
}

#[derive(Template)]
#[template(path = "calls.html")]
struct CallsPage {
    l: Layout,
    period: String,
    periods: Vec<(&'static str, &'static str)>,
    report: CallReport,
    accuracy: String,
    calls: Vec<CallView>,
    /// (identifier, chip label, full label)
    classes: Vec<(&'static str, &'static str, &'static str)>,
    /// (source, channel, calls, new-patient inquiries, missed)
    sources: Vec<(String, &'static str, i64, i64, i64)>,
    show_callers: bool,
    can_classify: bool,
    numbers: Vec<NumberView>,
    can_manage_numbers: bool,
    campaigns: Vec<(i64, String)>,
    channels: Vec<(&'static str, &'static str)>,
    locations: Vec<(i64, String)>,
    f: NumberForm,
    /// Texts to the tracking numbers (front desk only): when, from, what, keyword.
    texts: Vec<(String, String, String, String)>,
    can_manage_settings: bool,
    ivr: bool,
    missed_text: String,
    hooks_base: String,
    error: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CallsQuery {
    period: Option<String>,
    done: Option<String>,
}

/// A class's one-word button.
fn chip(c: CallClass) -> &'static str {
    match c {
        CallClass::NewPatient => "New patient",
        CallClass::ExistingPatient => "Patient",
        CallClass::LeadFollowUp => "Follow-up",
        CallClass::General => "Question",
    }
}

fn outcome(c: &CallRow) -> String {
    if c.ended_at.is_none() {
        "in progress".into()
    } else if c.missed {
        "missed".into()
    } else {
        stride_core::leads::short_duration(c.duration_s * 1000)
    }
}

async fn calls_page(
    state: &AppState,
    p: &Principal,
    q: CallsQuery,
    f: NumberForm,
    error: Option<String>,
) -> PageResult {
    if !(p.can(Permission::ViewLeads) || p.can(Permission::ViewAggregates)) {
        return Err(AppError::Forbidden);
    }
    let mut l = layout(state, p, "calls", &crate::pages::Done::default()).await?;
    l.flash = match q.done.as_deref() {
        Some("class") => Some("Class saved: the report counts it."),
        Some("number") => Some(
            "Tracking number added. Point its voice and messaging webhooks at the addresses below.",
        ),
        Some("settings") => Some("Call settings saved."),
        _ => None,
    };
    let tz = practice_tz(state, p.practice_id).await?;
    let period = q.period.clone().unwrap_or_else(|| "30d".into());
    let range = report_range(Some(&period), None, None, &tz)?;
    let report = state
        .store
        .call_report(p.practice_id, range.from, range.to)
        .await?;
    let show_callers = p.can(Permission::ViewLeads);
    let numbers = state.store.tracking_numbers(p.practice_id).await?;
    let number_label = |id: Option<i64>| {
        id.and_then(|id| numbers.iter().find(|n| n.id == id))
            .map(|n| {
                if n.label.is_empty() {
                    n.number.clone()
                } else {
                    n.label.clone()
                }
            })
            .unwrap_or_default()
    };
    let views = |rows: Vec<(CallRow, Option<String>)>| -> Vec<CallView> {
        rows.into_iter()
            .map(|(c, caller)| {
                let class = c.effective_class();
                CallView {
                    id: c.id,
                    when: local_time(c.started_at, &tz),
                    caller: caller
                        .as_deref()
                        .and_then(|s| PhoneE164::parse(s).ok())
                        .map(|p| p.national_display())
                        .unwrap_or_else(|| {
                            if show_callers {
                                "unknown number".into()
                            } else {
                                String::new()
                            }
                        }),
                    number: number_label(c.tracking_number_id),
                    source: [c.source.as_str(), c.campaign.as_str()]
                        .iter()
                        .filter(|s| !s.is_empty())
                        .copied()
                        .collect::<Vec<_>>()
                        .join(" · "),
                    outcome: outcome(&c),
                    missed: c.missed,
                    class: class.map_or("", |c| c.as_str()),
                    class_label: class.map_or("—", |c| c.label()),
                    reviewed: c.class.is_some(),
                    lead_id: c.lead_id,
                    text_back: c.text_back_id.is_some(),
                }
            })
            .collect()
    };
    let calls = if show_callers {
        views(
            state
                .store
                .calls(p.practice_id, range.from, range.to, 200, &p.actor)
                .await?
                .into_iter()
                .map(|c| (c.row, c.caller))
                .collect(),
        )
    } else {
        views(
            state
                .store
                .call_rows(p.practice_id, range.from, range.to, 200)
                .await?
                .into_iter()
                .map(|c| (c, None))
                .collect(),
        )
    };
    let texts = if show_callers {
        state
            .store
            .inbound_sms(p.practice_id, 20, &p.actor)
            .await?
            .into_iter()
            .map(|t| {
                (
                    local_time(t.received_at, &tz),
                    t.from
                        .as_deref()
                        .and_then(|s| PhoneE164::parse(s).ok())
                        .map(|p| p.national_display())
                        .unwrap_or_default(),
                    t.body,
                    match t.keyword.as_str() {
                        "stop" => "opted out".to_string(),
                        "start" => "opted back in".to_string(),
                        "help" => "asked for help".to_string(),
                        _ => String::new(),
                    },
                )
            })
            .collect()
    } else {
        Vec::new()
    };
    let campaigns = state.store.campaigns(p.practice_id).await?;
    let locations = state.store.locations(p.practice_id).await?;
    let (ivr, missed_text) = state.store.call_settings(p.practice_id).await?;
    let page = CallsPage {
        l,
        periods: PERIODS.iter().map(|(k, label, _)| (*k, *label)).collect(),
        period,
        accuracy: if report.reviewed > 0 {
            format!(
                "The automatic class was right for {} of the {} calls the front desk reviewed ({:.0}%).",
                report.auto_right,
                report.reviewed,
                report.auto_right as f64 * 100.0 / report.reviewed as f64
            )
        } else {
            "No call reviewed yet: one click on a call's class confirms or corrects it.".into()
        },
        sources: report
            .sources
            .iter()
            .map(|s| {
                (
                    if s.source.is_empty() {
                        "Unknown".to_string()
                    } else {
                        s.source.clone()
                    },
                    s.channel
                        .parse::<stride_core::website::channels::Channel>()
                        .map_or("", |c| c.label()),
                    s.calls,
                    s.new_patient,
                    s.missed,
                )
            })
            .collect(),
        report,
        calls,
        classes: CallClass::ALL
            .iter()
            .map(|c| (c.as_str(), chip(*c), c.label()))
            .collect(),
        show_callers,
        can_classify: p.can(Permission::EditLeads),
        numbers: numbers
            .iter()
            .map(|n| NumberView {
                number: PhoneE164::parse(&n.number)
                    .map(|p| p.national_display())
                    .unwrap_or_else(|_| n.number.clone()),
                label: n.label.clone(),
                routes: if n.pool {
                    "pool: takes each website visitor's source".into()
                } else {
                    let campaign = n
                        .campaign_id
                        .and_then(|id| campaigns.iter().find(|c| c.id == id))
                        .map(|c| c.name.clone());
                    let channel = n
                        .channel
                        .parse::<stride_core::website::channels::Channel>()
                        .map(|c| c.label().to_string())
                        .ok();
                    [Some(n.source.clone()), channel, campaign]
                        .into_iter()
                        .flatten()
                        .filter(|s| !s.is_empty())
                        .collect::<Vec<_>>()
                        .join(" · ")
                },
                active: n.active,
            })
            .collect(),
        can_manage_numbers: p.can(Permission::ManageCampaigns),
        campaigns: campaigns.iter().map(|c| (c.id, c.name.clone())).collect(),
        channels: stride_core::website::channels::Channel::ALL
            .iter()
            .map(|c| (c.as_str(), c.label()))
            .collect(),
        locations: locations.iter().map(|l| (l.id, l.name.clone())).collect(),
        f,
        texts,
        can_manage_settings: p.can(Permission::ManagePractice),
        ivr,
        missed_text,
        hooks_base: state
            .config
            .public_url
            .clone()
            .unwrap_or_else(|| "https://YOUR-STRIDE-ADDRESS".into())
            .trim_end_matches('/')
            .to_string(),
        error: error.clone(),
    };
    if error.is_some() {
        unprocessable(&page)
    } else {
        render(&page)
    }
}

pub async fn calls(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(q): Query<CallsQuery>,
) -> PageResult {
    calls_page(&state, &p, q, NumberForm::default(), None).await
}

#[derive(Deserialize)]
pub struct ClassForm {
    class: String,
}

/// One click: confirm or correct a call's class.
pub async fn set_class(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<i64>,
    Form(f): Form<ClassForm>,
) -> PageResult {
    p.require(Permission::EditLeads)?;
    let class: CallClass = f.class.parse().map_err(AppError::invalid)?;
    state
        .store
        .set_call_class(p.practice_id, id, class, &p.actor)
        .await?;
    Ok(redirect_done("/app/calls", "class"))
}

fn optional_id(v: &str) -> Result<Option<i64>, AppError> {
    match v.trim() {
        "" => Ok(None),
        s => s
            .parse()
            .map(Some)
            .map_err(|_| AppError::invalid("choose from the list")),
    }
}

pub async fn add_number(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Form(f): Form<NumberForm>,
) -> PageResult {
    p.require(Permission::ManageCampaigns)?;
    let result: Result<(), AppError> = async {
        let input = NumberInput {
            number: PhoneE164::parse(&f.number).map_err(AppError::invalid)?,
            label: f.label.clone(),
            source: f.source.clone(),
            channel: f.channel.clone(),
            campaign_id: optional_id(&f.campaign_id)?,
            location_id: optional_id(&f.location_id)?,
            pool: f.pool.is_some(),
            active: true,
        };
        state
            .store
            .create_tracking_number(p.practice_id, &input, &p.actor)
            .await?;
        Ok(())
    }
    .await;
    match result {
        Ok(()) => Ok(redirect_done("/app/calls", "number")),
        Err(e) => {
            let message = form_error(e)?;
            calls_page(&state, &p, CallsQuery::default(), f, Some(message)).await
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct SettingsForm {
    ivr: Option<String>,
    missed_text: String,
}

pub async fn save_settings(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Form(f): Form<SettingsForm>,
) -> PageResult {
    p.require(Permission::ManagePractice)?;
    match state
        .store
        .set_call_settings(p.practice_id, f.ivr.is_some(), &f.missed_text, &p.actor)
        .await
    {
        Ok(()) => Ok(redirect_done("/app/calls", "settings")),
        Err(e) => {
            let message = form_error(e.into())?;
            calls_page(
                &state,
                &p,
                CallsQuery::default(),
                NumberForm::default(),
                Some(message),
            )
            .await
        }
    }
}
