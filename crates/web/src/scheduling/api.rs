//! Scheduling in the JSON API: appointment types, open slots with the earliest one, booking (409
//! with the next open times when the slot was just taken) and cancelling.

use axum::Extension;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use stride_core::role::Permission;
use stride_store::scheduling::{BookingError, NewAppointment};

use crate::AppState;
use crate::api::{Body, Id, Params};
use crate::auth::Principal;
use crate::error::{ApiResult, AppError};

/// `GET /api/v1/appointment-types`
pub async fn types(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
) -> ApiResult<Json<Value>> {
    p.require(Permission::ViewSchedule)?;
    Ok(Json(
        json!({ "data": state.store.appointment_types(p.practice_id).await? }),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AvailabilityParams {
    type_id: i64,
    location_id: i64,
    clinician_id: Option<i64>,
    /// How many days ahead (default 14, at most 90).
    days: Option<i64>,
}

fn iso(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

/// `GET /api/v1/availability`: the earliest open slot and every open slot in the period.
pub async fn availability(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Params(q): Params<AvailabilityParams>,
) -> ApiResult<Json<Value>> {
    p.require(Permission::ViewSchedule)?;
    let now = jiff::Timestamp::now().as_millisecond();
    let days = q.days.unwrap_or(14).clamp(1, 90);
    let slots = state
        .store
        .open_slots(
            p.practice_id,
            q.type_id,
            q.location_id,
            q.clinician_id,
            now,
            days,
        )
        .await?;
    let slot = |(c, s): &(i64, stride_core::availability::Slot)| json!({"clinician_id": c, "start": iso(s.start), "end": iso(s.end)});
    Ok(Json(json!({
        "data": {
            "earliest": slots.first().map(slot),
            "slots": slots.iter().map(slot).collect::<Vec<_>>(),
        }
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BookBody {
    type_id: i64,
    location_id: i64,
    clinician_id: i64,
    /// RFC 3339, e.g. 2026-12-01T15:00:00Z
    start: String,
    patient_id: Option<i64>,
    lead_id: Option<i64>,
}

/// `POST /api/v1/appointments`
pub async fn book(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Body(b): Body<BookBody>,
) -> ApiResult<Response> {
    p.require(Permission::EditSchedule)?;
    let start: jiff::Timestamp = b.start.parse().map_err(|_| {
        AppError::Unprocessable(format!(
            "“{}” is not a time like 2026-12-01T15:00:00Z",
            b.start
        ))
    })?;
    let request = NewAppointment {
        location_id: b.location_id,
        clinician_id: b.clinician_id,
        type_id: b.type_id,
        starts_at: start.as_millisecond(),
        patient_id: b.patient_id,
        lead_id: b.lead_id,
        source: "api".into(),
        payer_id: None,
        self_pay: false,
    };
    match state
        .store
        .book_appointment(p.practice_id, &request, &p.actor)
        .await
    {
        Ok(a) => Ok((StatusCode::CREATED, Json(json!({ "data": a }))).into_response()),
        Err(BookingError::Taken(next)) => Ok((
            StatusCode::CONFLICT,
            Json(json!({
                "error": {"code": "conflict", "message": "that time is not open (just taken, outside the hours, or too soon): here are the next open times"},
                "next": next.iter().map(|s| json!({"start": iso(s.start), "end": iso(s.end)})).collect::<Vec<_>>(),
            })),
        )
            .into_response()),
        Err(BookingError::Store(e)) => Err(e.into()),
    }
}

/// `POST /api/v1/appointments/{id}/cancel`
pub async fn cancel(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id<i64>,
) -> ApiResult<Json<Value>> {
    p.require(Permission::EditSchedule)?;
    state
        .store
        .cancel_appointment(p.practice_id, id, &p.actor)
        .await?;
    Ok(Json(json!({ "data": {"id": id, "status": "cancelled"} })))
}
