//! The JSON API under `/api/v1`: the same resources as the pages, for bearer tokens and scripts.
//! Errors are always `{"error":{"code","message"}}`; patient searches are POSTed so identifiers
//! never appear in URLs. Every resource is read and written inside the caller's practice only.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use stride_core::email::EmailAddress;
use stride_core::hours::WeeklyHours;
use stride_core::phone::PhoneE164;
use stride_core::role::{Permission, Role};
use stride_core::tz::TimeZoneName;
use stride_store::messages::{Channel, NewMessage};
use stride_store::tenancy::{ClinicianInput, LocationInput, PracticeUpdate};

use crate::AppState;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult, AppError};
use crate::pages::patients::{PatientForm, parse_search};

/// `Json<T>` whose rejections are API errors.
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(Body(v)),
            Err(rejection) => Err(json_rejection(rejection).into()),
        }
    }
}

fn json_rejection(r: JsonRejection) -> AppError {
    match r {
        JsonRejection::JsonDataError(e) => AppError::Unprocessable(e.body_text()),
        JsonRejection::MissingJsonContentType(_) => {
            AppError::BadRequest("send the body as JSON with Content-Type: application/json".into())
        }
        other => AppError::BadRequest(other.body_text()),
    }
}

/// `Path<T>` whose rejections are API errors.
pub struct Id<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Id<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(Id(v)),
            Err(e @ PathRejection::FailedToDeserializePathParams(_)) => {
                Err(AppError::BadRequest(format!("bad id in the path: {}", e.body_text())).into())
            }
            Err(e) => Err(AppError::BadRequest(e.body_text()).into()),
        }
    }
}

/// `Query<T>` whose rejections are API errors.
pub struct Params<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Params<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Params(q.0))
            .map_err(|e: QueryRejection| AppError::BadRequest(e.body_text()).into())
    }
}

fn created(v: Value) -> Response {
    (StatusCode::CREATED, Json(v)).into_response()
}

// ---------------------------------------------------------------- practices

pub async fn practices(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
) -> ApiResult<Json<Value>> {
    let list = match &p.user {
        Some(u) => state
            .store
            .practices_of(u.id)
            .await?
            .into_iter()
            .map(|(pr, role)| json!({"practice": pr, "role": role}))
            .collect(),
        None => {
            vec![json!({"practice": state.store.practice(p.practice_id).await?, "role": p.role})]
        }
    };
    Ok(Json(json!({ "data": list })))
}

fn own_practice(p: &Principal, id: i64) -> Result<(), AppError> {
    // Another practice's id answers exactly like an id that does not exist.
    if id == p.practice_id {
        Ok(())
    } else {
        Err(AppError::NotFound)
    }
}

pub async fn practice(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id<i64>,
) -> ApiResult<Json<Value>> {
    own_practice(&p, id)?;
    Ok(Json(json!({ "data": state.store.practice(id).await? })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PracticePatch {
    name: Option<String>,
    website: Option<Option<String>>,
    idle_timeout_minutes: Option<i64>,
}

pub async fn update_practice(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id<i64>,
    Body(patch): Body<PracticePatch>,
) -> ApiResult<Json<Value>> {
    own_practice(&p, id)?;
    p.require(Permission::ManagePractice)?;
    let current = state.store.practice(id).await?;
    let update = PracticeUpdate {
        name: patch.name.unwrap_or(current.name),
        website: patch.website.unwrap_or(current.website),
        idle_timeout_minutes: patch
            .idle_timeout_minutes
            .unwrap_or(current.idle_timeout_minutes),
    };
    Ok(Json(
        json!({ "data": state.store.update_practice(id, &update).await? }),
    ))
}

// ---------------------------------------------------------------- locations

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct LocationBody {
    name: Option<String>,
    address: Option<String>,
    main_phone: Option<String>,
    time_zone: Option<String>,
    hours: Option<String>,
}

impl LocationBody {
    fn over(
        self,
        base: Option<&stride_store::tenancy::Location>,
    ) -> Result<LocationInput, AppError> {
        let pick =
            |v: Option<String>, b: Option<&String>, what: &str| -> Result<String, AppError> {
                v.or_else(|| b.cloned())
                    .ok_or_else(|| AppError::invalid(format!("{what} is required")))
            };
        let phone = pick(self.main_phone, base.map(|b| &b.main_phone), "main_phone")?;
        let tz = pick(self.time_zone, base.map(|b| &b.time_zone), "time_zone")?;
        Ok(LocationInput {
            name: pick(self.name, base.map(|b| &b.name), "name")?,
            address: self
                .address
                .or_else(|| base.map(|b| b.address.clone()))
                .unwrap_or_default(),
            main_phone: PhoneE164::parse(&phone).map_err(AppError::invalid)?,
            time_zone: TimeZoneName::parse(&tz).map_err(AppError::invalid)?,
            hours: WeeklyHours::parse(
                &self
                    .hours
                    .or_else(|| base.map(|b| b.hours.clone()))
                    .unwrap_or_default(),
            )
            .map_err(AppError::invalid)?,
        })
    }
}

pub async fn locations(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
) -> ApiResult<Json<Value>> {
    Ok(Json(
        json!({ "data": state.store.locations(p.practice_id).await? }),
    ))
}

pub async fn location(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id<i64>,
) -> ApiResult<Json<Value>> {
    Ok(Json(
        json!({ "data": state.store.location(p.practice_id, id).await? }),
    ))
}

pub async fn create_location(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Body(b): Body<LocationBody>,
) -> ApiResult<Response> {
    p.require(Permission::ManagePractice)?;
    let input = b.over(None)?;
    Ok(created(
        json!({ "data": state.store.create_location(p.practice_id, &input).await? }),
    ))
}

pub async fn update_location(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id<i64>,
    Body(b): Body<LocationBody>,
) -> ApiResult<Json<Value>> {
    p.require(Permission::ManagePractice)?;
    let current = state.store.location(p.practice_id, id).await?;
    let input = b.over(Some(&current))?;
    Ok(Json(
        json!({ "data": state.store.update_location(p.practice_id, id, &input).await? }),
    ))
}

// ---------------------------------------------------------------- clinicians

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ClinicianBody {
    name: Option<String>,
    credentials: Option<String>,
    location_id: Option<Option<i64>>,
    active: Option<bool>,
}

impl ClinicianBody {
    fn over(
        self,
        base: Option<&stride_store::tenancy::Clinician>,
    ) -> Result<ClinicianInput, AppError> {
        Ok(ClinicianInput {
            name: self
                .name
                .or_else(|| base.map(|b| b.name.clone()))
                .ok_or_else(|| AppError::invalid("name is required"))?,
            credentials: self
                .credentials
                .or_else(|| base.map(|b| b.credentials.clone()))
                .unwrap_or_default(),
            location_id: self
                .location_id
                .unwrap_or_else(|| base.and_then(|b| b.location_id)),
            active: self
                .active
                .or_else(|| base.map(|b| b.active))
                .unwrap_or(true),
        })
    }
}

pub async fn clinicians(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
) -> ApiResult<Json<Value>> {
    Ok(Json(
        json!({ "data": state.store.clinicians(p.practice_id).await? }),
    ))
}

pub async fn clinician(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id<i64>,
) -> ApiResult<Json<Value>> {
    Ok(Json(
        json!({ "data": state.store.clinician(p.practice_id, id).await? }),
    ))
}

pub async fn create_clinician(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Body(b): Body<ClinicianBody>,
) -> ApiResult<Response> {
    p.require(Permission::ManagePractice)?;
    let input = b.over(None)?;
    Ok(created(
        json!({ "data": state.store.create_clinician(p.practice_id, &input).await? }),
    ))
}

pub async fn update_clinician(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id<i64>,
    Body(b): Body<ClinicianBody>,
) -> ApiResult<Json<Value>> {
    p.require(Permission::ManagePractice)?;
    let current = state.store.clinician(p.practice_id, id).await?;
    let input = b.over(Some(&current))?;
    Ok(Json(
        json!({ "data": state.store.update_clinician(p.practice_id, id, &input).await? }),
    ))
}

// ---------------------------------------------------------------- users

pub async fn users(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
) -> ApiResult<Json<Value>> {
    p.require(Permission::ManageUsers)?;
    let members: Vec<Value> = state
        .store
        .members(p.practice_id)
        .await?
        .into_iter()
        .map(|m| json!({"id": m.user.id, "email": m.user.email, "name": m.user.name, "role": m.role}))
        .collect();
    Ok(Json(json!({ "data": members })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserBody {
    email: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
    role: String,
}

pub async fn create_user(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Body(b): Body<UserBody>,
) -> ApiResult<Response> {
    p.require(Permission::ManageUsers)?;
    let email = EmailAddress::parse(&b.email).map_err(AppError::invalid)?;
    let role: Role = b.role.parse().map_err(AppError::invalid)?;
    let user = state
        .store
        .add_member(p.practice_id, &email, &b.name, &b.password, role, &p.actor)
        .await?;
    Ok(created(
        json!({ "data": {"id": user.id, "email": user.email, "name": user.name, "role": role} }),
    ))
}

// ---------------------------------------------------------------- patients

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct PatientBody {
    first_name: Option<String>,
    last_name: Option<String>,
    phone: Option<String>,
    email: Option<String>,
    birth_date: Option<String>,
    address: Option<String>,
    member_id: Option<String>,
    sms_consent: Option<bool>,
    email_consent: Option<bool>,
}

impl PatientBody {
    /// Applies the given fields over a form (empty for a new patient).
    fn over(self, mut f: PatientForm) -> PatientForm {
        let set = |slot: &mut String, v: Option<String>| {
            if let Some(v) = v {
                *slot = v;
            }
        };
        set(&mut f.first_name, self.first_name);
        set(&mut f.last_name, self.last_name);
        set(&mut f.phone, self.phone);
        set(&mut f.email, self.email);
        set(&mut f.birth_date, self.birth_date);
        set(&mut f.address, self.address);
        set(&mut f.member_id, self.member_id);
        if let Some(c) = self.sms_consent {
            f.sms_consent = c.then(|| "on".into());
        }
        if let Some(c) = self.email_consent {
            f.email_consent = c.then(|| "on".into());
        }
        f
    }
}

pub async fn patients(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
) -> ApiResult<Json<Value>> {
    p.require(Permission::ViewPatients)?;
    let list = state
        .store
        .patients(
            p.practice_id,
            &stride_store::patients::PatientQuery::All,
            500,
            &p.actor,
        )
        .await?;
    Ok(Json(json!({ "data": list })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchBody {
    q: String,
}

pub async fn search_patients(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Body(b): Body<SearchBody>,
) -> ApiResult<Json<Value>> {
    p.require(Permission::ViewPatients)?;
    let query = parse_search(&b.q).map_err(AppError::Unprocessable)?;
    Ok(Json(
        json!({ "data": state.store.patients(p.practice_id, &query, 500, &p.actor).await? }),
    ))
}

pub async fn patient(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id<i64>,
) -> ApiResult<Json<Value>> {
    p.require(Permission::ViewPatients)?;
    Ok(Json(
        json!({ "data": state.store.patient(p.practice_id, id, &p.actor).await? }),
    ))
}

pub async fn create_patient(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Body(b): Body<PatientBody>,
) -> ApiResult<Response> {
    p.require(Permission::EditPatients)?;
    let input = b.over(PatientForm::default()).parse()?;
    Ok(created(
        json!({ "data": state.store.create_patient(p.practice_id, &input, &p.actor).await? }),
    ))
}

pub async fn update_patient(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id<i64>,
    Body(b): Body<PatientBody>,
) -> ApiResult<Json<Value>> {
    p.require(Permission::EditPatients)?;
    let current = state.store.patient(p.practice_id, id, &p.actor).await?;
    let input = b.over(PatientForm::from_patient(&current)).parse()?;
    Ok(Json(
        json!({ "data": state.store.update_patient(p.practice_id, id, &input, &p.actor).await? }),
    ))
}

// ---------------------------------------------------------------- messages and audit

pub async fn messages(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
) -> ApiResult<Json<Value>> {
    p.require(Permission::ViewMessageLog)?;
    let list = state.store.messages(p.practice_id, 200, &p.actor).await?;
    Ok(Json(json!({ "data": list })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageBody {
    channel: String,
    to: String,
    subject: Option<String>,
    body: String,
    idempotency_key: Option<String>,
}

pub async fn send_message(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Body(b): Body<MessageBody>,
) -> ApiResult<Response> {
    p.require(Permission::EditPatients)?;
    let (channel, to) = Channel::with_recipient(&b.channel, &b.to)?;
    if b.body.chars().count() > 5000 {
        return Err(AppError::invalid("the message is longer than 5000 characters").into());
    }
    let msg = NewMessage {
        channel,
        to,
        subject: b.subject,
        body: b.body,
        purpose: "api".into(),
        idempotency_key: b
            .idempotency_key
            .map(|k| format!("api:{}:{k}", p.practice_id)),
    };
    let id = state.store.queue_message(p.practice_id, &msg).await?;
    state
        .store
        .audit(
            Some(p.practice_id),
            &p.actor,
            "create",
            "message",
            Some(id),
            "api",
        )
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "data": {"id": id, "status": "queued"} })),
    )
        .into_response())
}

#[derive(Deserialize, Default)]
pub struct AuditParams {
    before: Option<i64>,
    limit: Option<i64>,
}

pub async fn audit_log(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Params(q): Params<AuditParams>,
) -> ApiResult<Json<Value>> {
    p.require(Permission::ViewAuditLog)?;
    let entries = state
        .store
        .audit_entries(p.practice_id, q.before, q.limit.unwrap_or(100))
        .await?;
    state
        .store
        .audit(
            Some(p.practice_id),
            &p.actor,
            "export",
            "audit_log",
            None,
            "api",
        )
        .await?;
    Ok(Json(json!({ "data": entries })))
}

pub async fn not_found() -> ApiError {
    ApiError(AppError::NotFound)
}
