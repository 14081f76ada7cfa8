//! Leads in the JSON API. Callers who may see lead identity (owner, front desk) get names and
//! contact details, audited; a marketer gets the same leads without them: source, stage, dates.

use axum::Extension;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use stride_core::email::EmailAddress;
use stride_core::leads::CampaignKind;
use stride_core::leads::{Fit, Interest, Likelihood, LostReason, Origin, Qualification, Stage};
use stride_core::phone::PhoneE164;
use stride_core::role::Permission;
use stride_store::campaigns::{Campaign, CampaignInput, GroupBy};
use stride_store::leads::{Basis, Captured, ContactKind, Inbox, LeadInput, Touch};

use crate::AppState;
use crate::api::{Body, Id, Params};
use crate::auth::Principal;
use crate::error::{ApiResult, AppError};
use crate::pages::practice_tz;
use crate::website::dashboard::report_range;

/// Parses a vocabulary value, turning its message into a 422.
fn parse<T: std::str::FromStr>(v: &str) -> Result<T, AppError>
where
    T::Err: std::fmt::Display,
{
    v.parse::<T>()
        .map_err(|e| AppError::Unprocessable(e.to_string()))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// newest (open leads, default), untouched (never contacted, longest waiting first) or all.
    view: Option<String>,
    limit: Option<i64>,
}

fn inbox(view: Option<&str>) -> Result<Inbox, AppError> {
    match view.unwrap_or("newest") {
        "newest" => Ok(Inbox::Newest),
        "untouched" => Ok(Inbox::Untouched),
        "all" => Ok(Inbox::All),
        other => Err(AppError::BadRequest(format!(
            "view “{}” is not one of newest, untouched, all",
            other.chars().take(40).collect::<String>()
        ))),
    }
}

pub async fn leads(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Params(q): Params<ListParams>,
) -> ApiResult<Json<Value>> {
    let view = inbox(q.view.as_deref())?;
    let limit = q.limit.unwrap_or(200);
    if p.can(Permission::ViewLeads) {
        let list = state
            .store
            .leads(p.practice_id, view, limit, &p.actor)
            .await?;
        return Ok(Json(json!({ "data": list })));
    }
    p.require(Permission::ViewAggregates)?;
    let rows = state.store.lead_rows(p.practice_id, view, limit).await?;
    Ok(Json(json!({ "data": rows })))
}

pub async fn lead(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id<i64>,
) -> ApiResult<Json<Value>> {
    if p.can(Permission::ViewLeads) {
        let lead = state.store.lead(p.practice_id, id, &p.actor).await?;
        let activities = state.store.lead_activities(p.practice_id, id).await?;
        let tasks = state.store.lead_tasks(p.practice_id, Some(id), 100).await?;
        return Ok(Json(
            json!({ "data": lead, "activities": activities, "tasks": tasks }),
        ));
    }
    p.require(Permission::ViewAggregates)?;
    let row = state
        .store
        .lead_rows(p.practice_id, Inbox::All, 1000)
        .await?
        .into_iter()
        .find(|r| r.id == id)
        .ok_or(AppError::NotFound)?;
    Ok(Json(json!({ "data": row })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeadBody {
    #[serde(default)]
    pub(crate) first_name: String,
    #[serde(default)]
    pub(crate) last_name: String,
    pub(crate) phone: Option<String>,
    pub(crate) email: Option<String>,
    #[serde(default)]
    pub(crate) service: String,
    #[serde(default)]
    pub(crate) payer: String,
    #[serde(default)]
    pub(crate) preferred_times: String,
    #[serde(default)]
    pub(crate) message: String,
    #[serde(default)]
    pub(crate) sms_consent: bool,
    #[serde(default)]
    pub(crate) email_consent: bool,
    /// api (default), front_desk, call, chat, form, booking or import.
    pub(crate) origin: Option<String>,
    /// Where the person heard of the practice, as the front desk records it.
    pub(crate) source: Option<String>,
    pub(crate) channel: Option<String>,
    pub(crate) campaign: Option<String>,
    /// Makes a retried request a no-op.
    pub(crate) external_key: Option<String>,
}

impl LeadBody {
    pub(crate) fn parse(self) -> Result<LeadInput, AppError> {
        let origin = match self.origin.as_deref() {
            None => Origin::Api,
            Some(o) => parse::<Origin>(o)?,
        };
        let phone = match self.phone.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(v) => {
                Some(PhoneE164::parse(v).map_err(|e| AppError::Unprocessable(e.to_string()))?)
            }
        };
        let email = match self.email.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(v) => {
                Some(EmailAddress::parse(v).map_err(|e| AppError::Unprocessable(e.to_string()))?)
            }
        };
        let channel = match self.channel.as_deref().map(str::trim) {
            None | Some("") => String::new(),
            Some(c) => parse::<stride_core::website::channels::Channel>(c)?
                .as_str()
                .to_string(),
        };
        let touch = Touch {
            source: self.source.unwrap_or_default().trim().to_string(),
            channel,
            campaign: self.campaign.unwrap_or_default().trim().to_string(),
            landing: String::new(),
        };
        let mut input = LeadInput::new(origin);
        input.first_name = self.first_name;
        input.last_name = self.last_name;
        input.phone = phone;
        input.email = email;
        input.service = self.service;
        input.payer = self.payer;
        input.preferred_times = self.preferred_times;
        input.message = self.message;
        input.sms_consent = self.sms_consent;
        input.email_consent = self.email_consent;
        input.basis = if touch.is_empty() {
            Basis::None
        } else {
            Basis::FrontDesk
        };
        input.touch = touch;
        input.external_key = self.external_key;
        Ok(input)
    }
}

pub async fn create_lead(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Body(b): Body<LeadBody>,
) -> ApiResult<Response> {
    p.require(Permission::EditLeads)?;
    let input = b.parse()?;
    let (captured, row) = state
        .store
        .capture_lead(p.practice_id, &input, &p.actor)
        .await?;
    let status = if captured == Captured::Created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(json!({ "data": row, "captured": captured }))).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageBody {
    stage: String,
    lost_reason: Option<String>,
}

pub async fn move_lead(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id<i64>,
    Body(b): Body<StageBody>,
) -> ApiResult<Json<Value>> {
    p.require(Permission::EditLeads)?;
    let stage: Stage = parse(&b.stage)?;
    let reason = match b.lost_reason.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(r) => Some(parse::<LostReason>(r)?),
    };
    let row = state
        .store
        .move_lead(p.practice_id, id, stage, reason, &p.actor)
        .await?;
    Ok(Json(json!({ "data": row })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QualificationBody {
    interest: String,
    fit: String,
    likelihood: String,
}

pub async fn qualify_lead(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id<i64>,
    Body(b): Body<QualificationBody>,
) -> ApiResult<Json<Value>> {
    p.require(Permission::EditLeads)?;
    let q = Qualification {
        interest: parse::<Interest>(&b.interest)?,
        fit: parse::<Fit>(&b.fit)?,
        likelihood: parse::<Likelihood>(&b.likelihood)?,
    };
    let row = state
        .store
        .qualify_lead(p.practice_id, id, q, &p.actor)
        .await?;
    Ok(Json(json!({ "data": row })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActivityBody {
    kind: ContactKind,
    #[serde(default)]
    body: String,
}

pub async fn log_activity(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id<i64>,
    Body(b): Body<ActivityBody>,
) -> ApiResult<Response> {
    p.require(Permission::EditLeads)?;
    let row = state
        .store
        .log_lead_contact(p.practice_id, id, b.kind, &b.body, &p.actor)
        .await?;
    Ok((StatusCode::CREATED, Json(json!({ "data": row }))).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskBody {
    title: String,
    /// An RFC 3339 instant, e.g. 2026-11-24T15:00:00Z.
    due_at: String,
}

pub async fn add_task(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id<i64>,
    Body(b): Body<TaskBody>,
) -> ApiResult<Response> {
    p.require(Permission::EditLeads)?;
    let due: jiff::Timestamp = b.due_at.trim().parse().map_err(|_| {
        AppError::Unprocessable(
            "due_at must be an RFC 3339 instant, e.g. 2026-11-24T15:00:00Z".into(),
        )
    })?;
    let task = state
        .store
        .add_lead_task(p.practice_id, id, &b.title, due.as_millisecond(), &p.actor)
        .await?;
    Ok((StatusCode::CREATED, Json(json!({ "data": task }))).into_response())
}

pub async fn complete_task(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id<i64>,
) -> ApiResult<Json<Value>> {
    p.require(Permission::EditLeads)?;
    state
        .store
        .complete_lead_task(p.practice_id, id, &p.actor)
        .await?;
    Ok(Json(json!({ "data": { "id": id, "done": true } })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MergeBody {
    /// The lead to fold into this one.
    other_id: i64,
}

pub async fn merge_leads(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id<i64>,
    Body(b): Body<MergeBody>,
) -> ApiResult<Json<Value>> {
    p.require(Permission::EditLeads)?;
    let row = state
        .store
        .merge_leads(p.practice_id, id, b.other_id, &p.actor)
        .await?;
    Ok(Json(json!({ "data": row })))
}

// ---------------------------------------------------------------- campaigns and the lead report

fn can_see_aggregates(p: &Principal) -> Result<(), AppError> {
    if p.can(Permission::ViewAggregates) || p.can(Permission::ManageCampaigns) {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

pub async fn campaigns(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
) -> ApiResult<Json<Value>> {
    can_see_aggregates(&p)?;
    let list = state.store.campaigns(p.practice_id).await?;
    let spend = state.store.campaign_spend(p.practice_id).await?;
    Ok(Json(json!({ "data": list, "spend": spend })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CampaignBody {
    name: Option<String>,
    kind: Option<String>,
    utm_source: Option<String>,
    utm_medium: Option<String>,
    utm_campaign: Option<String>,
    archived: Option<bool>,
}

impl CampaignBody {
    /// The input, starting from `current` (for a change) or from nothing (for a new campaign).
    fn over(self, current: Option<&Campaign>) -> Result<CampaignInput, AppError> {
        let kind = match (self.kind.as_deref(), current) {
            (Some(k), _) => parse::<CampaignKind>(k)?,
            (None, Some(c)) => c.kind,
            (None, None) => {
                return Err(AppError::Unprocessable(
                    "a campaign needs a kind (seo, content, social, email, media_pr, cold_calling, direct_mail, paid_ads, display)".into(),
                ));
            }
        };
        let keep = |v: Option<String>, f: fn(&Campaign) -> &String| {
            v.or_else(|| current.map(|c| f(c).clone()))
                .unwrap_or_default()
        };
        Ok(CampaignInput {
            name: keep(self.name, |c| &c.name),
            kind,
            utm_source: keep(self.utm_source, |c| &c.utm_source),
            utm_medium: keep(self.utm_medium, |c| &c.utm_medium),
            utm_campaign: keep(self.utm_campaign, |c| &c.utm_campaign),
            archived: self
                .archived
                .or(current.map(|c| c.archived))
                .unwrap_or(false),
        })
    }
}

pub async fn create_campaign(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Body(b): Body<CampaignBody>,
) -> ApiResult<Response> {
    p.require(Permission::ManageCampaigns)?;
    let input = b.over(None)?;
    let c = state
        .store
        .create_campaign(p.practice_id, &input, &p.actor)
        .await?;
    Ok((StatusCode::CREATED, Json(json!({ "data": c }))).into_response())
}

pub async fn update_campaign(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id<i64>,
    Body(b): Body<CampaignBody>,
) -> ApiResult<Json<Value>> {
    p.require(Permission::ManageCampaigns)?;
    let current = state.store.campaign(p.practice_id, id).await?;
    let input = b.over(Some(&current))?;
    let c = state
        .store
        .update_campaign(p.practice_id, id, &input, &p.actor)
        .await?;
    Ok(Json(json!({ "data": c })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpendBody {
    /// "2026-11"
    month: String,
    amount_cents: i64,
}

pub async fn set_spend(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id<i64>,
    Body(b): Body<SpendBody>,
) -> ApiResult<Json<Value>> {
    p.require(Permission::ManageCampaigns)?;
    state
        .store
        .set_campaign_spend(p.practice_id, id, &b.month, b.amount_cents, &p.actor)
        .await?;
    let spend: Vec<_> = state
        .store
        .campaign_spend(p.practice_id)
        .await?
        .into_iter()
        .filter(|s| s.campaign_id == id)
        .collect();
    Ok(Json(json!({ "data": spend })))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct LeadReportParams {
    period: Option<String>,
    from: Option<String>,
    to: Option<String>,
    /// channel (default), source or campaign.
    by: Option<String>,
}

pub(crate) fn group_by(by: Option<&str>) -> Result<GroupBy, AppError> {
    match by.unwrap_or("channel") {
        "channel" => Ok(GroupBy::Channel),
        "source" => Ok(GroupBy::Source),
        "campaign" => Ok(GroupBy::Campaign),
        _ => Err(AppError::BadRequest(
            "by must be channel, source or campaign".into(),
        )),
    }
}

pub async fn lead_report(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Params(q): Params<LeadReportParams>,
) -> ApiResult<Json<Value>> {
    can_see_aggregates(&p)?;
    let by = group_by(q.by.as_deref())?;
    let tz = practice_tz(&state, p.practice_id).await?;
    let range = report_range(q.period.as_deref(), q.from.as_deref(), q.to.as_deref(), &tz)?;
    let report = state
        .store
        .lead_report(p.practice_id, range.from, range.to, by)
        .await?;
    Ok(Json(
        json!({ "data": report, "from": range.from, "to": range.to }),
    ))
}
