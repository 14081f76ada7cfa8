//! Calls and tracking numbers in the JSON API. The front desk and owner get callers' numbers
//! (audited); a marketer gets the same calls without them.

use axum::Extension;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use stride_core::calls::CallClass;
use stride_core::phone::PhoneE164;
use stride_core::role::Permission;
use stride_store::calls::NumberInput;

use crate::AppState;
use crate::api::{Body, Id, Params};
use crate::auth::Principal;
use crate::error::{ApiResult, AppError};
use crate::pages::practice_tz;
use crate::website::dashboard::report_range;

fn can_see(p: &Principal) -> Result<(), AppError> {
    if p.can(Permission::ViewLeads) || p.can(Permission::ViewAggregates) {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct CallParams {
    period: Option<String>,
    from: Option<String>,
    to: Option<String>,
    limit: Option<i64>,
}

/// `GET /api/v1/calls`: the period's calls, newest first.
pub async fn calls(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Params(q): Params<CallParams>,
) -> ApiResult<Json<Value>> {
    can_see(&p)?;
    let tz = practice_tz(&state, p.practice_id).await?;
    let range = report_range(q.period.as_deref(), q.from.as_deref(), q.to.as_deref(), &tz)?;
    let limit = q.limit.unwrap_or(100).clamp(1, 500);
    let data = if p.can(Permission::ViewLeads) {
        json!(
            state
                .store
                .calls(p.practice_id, range.from, range.to, limit, &p.actor)
                .await?
        )
    } else {
        json!(
            state
                .store
                .call_rows(p.practice_id, range.from, range.to, limit)
                .await?
        )
    };
    Ok(Json(
        json!({ "data": data, "from": range.from, "to": range.to }),
    ))
}

/// `GET /api/v1/call-report`.
pub async fn call_report(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Params(q): Params<CallParams>,
) -> ApiResult<Json<Value>> {
    can_see(&p)?;
    let tz = practice_tz(&state, p.practice_id).await?;
    let range = report_range(q.period.as_deref(), q.from.as_deref(), q.to.as_deref(), &tz)?;
    let report = state
        .store
        .call_report(p.practice_id, range.from, range.to)
        .await?;
    Ok(Json(
        json!({ "data": report, "from": range.from, "to": range.to }),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassBody {
    class: String,
}

/// `POST /api/v1/calls/{id}/class`: confirm or correct a call's class.
pub async fn set_class(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id<i64>,
    Body(b): Body<ClassBody>,
) -> ApiResult<Json<Value>> {
    p.require(Permission::EditLeads)?;
    let class: CallClass = b
        .class
        .parse()
        .map_err(|e: stride_core::leads::VocabularyError| AppError::Unprocessable(e.to_string()))?;
    let call = state
        .store
        .set_call_class(p.practice_id, id, class, &p.actor)
        .await?;
    Ok(Json(json!({ "data": call })))
}

/// `GET /api/v1/tracking-numbers`.
pub async fn numbers(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
) -> ApiResult<Json<Value>> {
    can_see(&p)?;
    Ok(Json(
        json!({ "data": state.store.tracking_numbers(p.practice_id).await? }),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NumberBody {
    number: String,
    #[serde(default)]
    label: String,
    #[serde(default)]
    source: String,
    #[serde(default)]
    channel: String,
    campaign_id: Option<i64>,
    location_id: Option<i64>,
    #[serde(default)]
    pool: bool,
}

/// `POST /api/v1/tracking-numbers`.
pub async fn create_number(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Body(b): Body<NumberBody>,
) -> ApiResult<Response> {
    p.require(Permission::ManageCampaigns)?;
    let input = NumberInput {
        number: PhoneE164::parse(&b.number).map_err(|e| AppError::Unprocessable(e.to_string()))?,
        label: b.label,
        source: b.source,
        channel: b.channel,
        campaign_id: b.campaign_id,
        location_id: b.location_id,
        pool: b.pool,
        active: true,
    };
    let n = state
        .store
        .create_tracking_number(p.practice_id, &input, &p.actor)
        .await?;
    Ok((StatusCode::CREATED, Json(json!({ "data": n }))).into_response())
}
