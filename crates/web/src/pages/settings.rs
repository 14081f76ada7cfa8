//! Settings: the practice, locations with hours and holidays, clinicians, users and roles, API
//! tokens, message providers with the message log, and the audit log. A form with a mistake comes
//! back with the message and everything typed still in place.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::{Extension, Form};
use serde::{Deserialize, Serialize};
use stride_core::email::EmailAddress;
use stride_core::hours::WeeklyHours;
use stride_core::phone::PhoneE164;
use stride_core::role::{Permission, Role};
use stride_core::tz::TimeZoneName;
use stride_store::accounts::{ApiToken, Member};
use stride_store::audit::AuditEntry;
use stride_store::messages::{Channel, Message, MessageProviders, NewMessage};
use stride_store::tenancy::{
    Clinician, ClinicianInput, Holiday, Location, LocationInput, Practice, PracticeUpdate,
};

use super::{
    Done, Layout, form_error, layout, local_time, practice_tz, redirect_done, render,
    saved_or_again, unprocessable,
};
use crate::AppState;
use crate::auth::Principal;
use crate::error::{AppError, PageResult};

pub struct SubNav {
    pub active: &'static str,
    pub items: Vec<(&'static str, &'static str, &'static str)>,
}

pub(crate) fn subnav(p: &Principal, active: &'static str) -> SubNav {
    let mut items = vec![("practice", "Practice", "/app/settings")];
    items.push(("locations", "Locations", "/app/settings/locations"));
    items.push(("clinicians", "Clinicians", "/app/settings/clinicians"));
    if p.can(Permission::ViewSchedule) {
        items.push(("booking", "Booking and deposits", "/app/settings/booking"));
        items.push(("payers", "Payers", "/app/settings/payers"));
    }
    if p.can(Permission::ManageUsers) {
        items.push(("users", "Users and roles", "/app/settings/users"));
    }
    if p.can(Permission::ManageApiTokens) {
        items.push(("tokens", "API tokens", "/app/settings/tokens"));
    }
    if p.can(Permission::ViewMessageLog) || p.can(Permission::ManagePractice) {
        items.push(("messages", "Messages", "/app/settings/messages"));
    }
    if p.can(Permission::ViewAuditLog) {
        items.push(("audit", "Audit log", "/app/settings/audit"));
    }
    SubNav { active, items }
}

// ---------------------------------------------------------------- practice

#[derive(Template)]
#[template(path = "settings_practice.html")]
struct PracticePage {
    l: Layout,
    nav: SubNav,
    practice: Practice,
    f: PracticeForm,
    can_edit: bool,
    error: Option<String>,
}

#[derive(Deserialize, Serialize, Default, Clone)]
#[serde(default)]
pub struct PracticeForm {
    pub name: String,
    pub website: String,
    pub idle_timeout_minutes: String,
}

impl PracticeForm {
    pub fn parse(&self) -> Result<PracticeUpdate, AppError> {
        let idle: i64 =
            self.idle_timeout_minutes.trim().parse().map_err(|_| {
                AppError::invalid("automatic logoff must be a whole number of minutes")
            })?;
        Ok(PracticeUpdate {
            name: self.name.trim().to_string(),
            website: Some(self.website.trim().to_string()).filter(|s| !s.is_empty()),
            idle_timeout_minutes: idle,
        })
    }
}

pub async fn practice(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(done): Query<Done>,
) -> PageResult {
    let l = layout(&state, &p, "settings", &done).await?;
    let practice = state.store.practice(p.practice_id).await?;
    let f = PracticeForm {
        name: practice.name.clone(),
        website: practice.website.clone().unwrap_or_default(),
        idle_timeout_minutes: practice.idle_timeout_minutes.to_string(),
    };
    render(&PracticePage {
        l,
        nav: subnav(&p, "practice"),
        practice,
        f,
        can_edit: p.can(Permission::ManagePractice),
        error: None,
    })
}

pub async fn save_practice(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Form(f): Form<PracticeForm>,
) -> PageResult {
    p.require(Permission::ManagePractice)?;
    let result = async {
        let u = f.parse()?;
        state
            .store
            .update_practice(p.practice_id, &u)
            .await
            .map_err(AppError::from)
    }
    .await;
    saved_or_again(result, "/app/settings", "practice", |error| async move {
        let error = Some(error);
        let l = layout(&state, &p, "settings", &Done::default()).await?;
        let practice = state.store.practice(p.practice_id).await?;
        unprocessable(&PracticePage {
            l,
            nav: subnav(&p, "practice"),
            practice,
            f,
            can_edit: true,
            error,
        })
    })
    .await
}

// ---------------------------------------------------------------- locations

#[derive(Deserialize, Serialize, Default, Clone)]
#[serde(default)]
pub struct LocationForm {
    pub name: String,
    pub address: String,
    pub main_phone: String,
    pub time_zone: String,
    pub hours: String,
}

impl LocationForm {
    pub fn parse(&self) -> Result<LocationInput, AppError> {
        Ok(LocationInput {
            name: self.name.trim().to_string(),
            address: self.address.trim().to_string(),
            main_phone: PhoneE164::parse(&self.main_phone).map_err(AppError::invalid)?,
            time_zone: TimeZoneName::parse(self.time_zone.trim()).map_err(AppError::invalid)?,
            hours: WeeklyHours::parse(&self.hours).map_err(AppError::invalid)?,
        })
    }

    pub fn from_location(loc: &Location) -> LocationForm {
        LocationForm {
            name: loc.name.clone(),
            address: loc.address.clone(),
            main_phone: PhoneE164::parse(&loc.main_phone)
                .map(|p| p.national_display())
                .unwrap_or_default(),
            time_zone: loc.time_zone.clone(),
            hours: loc.hours.clone(),
        }
    }
}

/// US time zones first, as most practices pick one of them.
pub const COMMON_TIME_ZONES: &[&str] = &[
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
    "America/Anchorage",
    "Pacific/Honolulu",
    "America/Puerto_Rico",
    "America/Toronto",
    "America/Vancouver",
];

pub struct LocationRow {
    pub id: i64,
    pub name: String,
    pub address: String,
    pub phone: String,
    pub time_zone: String,
    pub hours: String,
}

#[derive(Template)]
#[template(path = "settings_locations.html")]
struct LocationsPage {
    l: Layout,
    nav: SubNav,
    rows: Vec<LocationRow>,
    f: LocationForm,
    zones: &'static [&'static str],
    can_edit: bool,
    error: Option<String>,
}

async fn locations_page(
    state: &AppState,
    p: &Principal,
    done: &Done,
    f: LocationForm,
    error: Option<String>,
) -> PageResult {
    let l = layout(state, p, "settings", done).await?;
    let rows = state
        .store
        .locations(p.practice_id)
        .await?
        .into_iter()
        .map(|loc| LocationRow {
            id: loc.id,
            phone: PhoneE164::parse(&loc.main_phone)
                .map(|p| p.national_display())
                .unwrap_or(loc.main_phone),
            name: loc.name,
            address: loc.address,
            time_zone: loc.time_zone,
            hours: loc.hours,
        })
        .collect();
    let page = LocationsPage {
        l,
        nav: subnav(p, "locations"),
        rows,
        f,
        zones: COMMON_TIME_ZONES,
        can_edit: p.can(Permission::ManagePractice),
        error,
    };
    if page.error.is_some() {
        unprocessable(&page)
    } else {
        render(&page)
    }
}

pub async fn locations(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(done): Query<Done>,
) -> PageResult {
    let f = LocationForm {
        time_zone: "America/Chicago".into(),
        hours: "Mon-Fri 07:00-19:00".into(),
        ..Default::default()
    };
    locations_page(&state, &p, &done, f, None).await
}

pub async fn create_location(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Form(f): Form<LocationForm>,
) -> PageResult {
    p.require(Permission::ManagePractice)?;
    let result = async {
        let input = f.parse()?;
        state
            .store
            .create_location(p.practice_id, &input)
            .await
            .map_err(AppError::from)
    }
    .await;
    saved_or_again(
        result,
        "/app/settings/locations",
        "location",
        |error| async move {
            let error = Some(error);
            locations_page(&state, &p, &Done::default(), f, error).await
        },
    )
    .await
}

#[derive(Template)]
#[template(path = "settings_location.html")]
struct LocationPage {
    l: Layout,
    nav: SubNav,
    id: i64,
    f: LocationForm,
    holidays: Vec<Holiday>,
    zones: &'static [&'static str],
    can_edit: bool,
    error: Option<String>,
}

async fn location_page(
    state: &AppState,
    p: &Principal,
    id: i64,
    done: &Done,
    f: Option<LocationForm>,
    error: Option<String>,
) -> PageResult {
    let loc = state.store.location(p.practice_id, id).await?;
    let l = layout(state, p, "settings", done).await?;
    let holidays = state.store.holidays(p.practice_id, id).await?;
    let page = LocationPage {
        l,
        nav: subnav(p, "locations"),
        id,
        f: f.unwrap_or_else(|| LocationForm::from_location(&loc)),
        holidays,
        zones: COMMON_TIME_ZONES,
        can_edit: p.can(Permission::ManagePractice),
        error,
    };
    if page.error.is_some() {
        unprocessable(&page)
    } else {
        render(&page)
    }
}

pub async fn location(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<i64>,
    Query(done): Query<Done>,
) -> PageResult {
    location_page(&state, &p, id, &done, None, None).await
}

pub async fn update_location(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<i64>,
    Form(f): Form<LocationForm>,
) -> PageResult {
    p.require(Permission::ManagePractice)?;
    let result = async {
        let input = f.parse()?;
        state
            .store
            .update_location(p.practice_id, id, &input)
            .await
            .map_err(AppError::from)
    }
    .await;
    saved_or_again(
        result,
        &format!("/app/settings/locations/{id}"),
        "location",
        |error| async move {
            let error = Some(error);
            location_page(&state, &p, id, &Done::default(), Some(f), error).await
        },
    )
    .await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct HolidayForm {
    day: String,
    name: String,
}

pub async fn add_holiday(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<i64>,
    Form(f): Form<HolidayForm>,
) -> PageResult {
    p.require(Permission::ManagePractice)?;
    let result = match f.day.trim().parse::<jiff::civil::Date>() {
        Ok(day) => state
            .store
            .add_holiday(p.practice_id, id, day, &f.name)
            .await
            .map(|_| ())
            .map_err(AppError::from),
        Err(_) => Err(AppError::invalid(
            "the holiday date must look like 2026-12-25",
        )),
    };
    saved_or_again(
        result,
        &format!("/app/settings/locations/{id}"),
        "holiday",
        |error| async move {
            let error = Some(error);
            location_page(&state, &p, id, &Done::default(), None, error).await
        },
    )
    .await
}

pub async fn delete_holiday(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Path((id, hid)): Path<(i64, i64)>,
) -> PageResult {
    p.require(Permission::ManagePractice)?;
    state.store.delete_holiday(p.practice_id, hid).await?;
    Ok(redirect_done(
        &format!("/app/settings/locations/{id}"),
        "holiday",
    ))
}

// ---------------------------------------------------------------- clinicians

#[derive(Deserialize, Serialize, Default, Clone)]
#[serde(default)]
pub struct ClinicianForm {
    pub name: String,
    pub credentials: String,
    pub location_id: String,
    pub active: Option<String>,
    /// Weekly hours at the primary location, e.g. "Mon-Fri 07:00-12:00, 13:00-19:00".
    pub hours: String,
}

impl ClinicianForm {
    pub fn parse(&self) -> Result<ClinicianInput, AppError> {
        let location_id = match self.location_id.trim() {
            "" => None,
            s => Some(
                s.parse::<i64>()
                    .map_err(|_| AppError::invalid("choose a location from the list"))?,
            ),
        };
        Ok(ClinicianInput {
            name: self.name.trim().to_string(),
            credentials: self.credentials.trim().to_string(),
            location_id,
            active: self.active.is_some(),
        })
    }
}

#[derive(Template)]
#[template(path = "settings_clinicians.html")]
struct CliniciansPage {
    l: Layout,
    nav: SubNav,
    /// (clinician, primary location's name, weekly hours there, calendar feed link)
    clinicians: Vec<(Clinician, String, String, Option<String>)>,
    /// Upcoming time off: (id, clinician, from, to, reason)
    time_off: Vec<(i64, String, String, String, String)>,
    locations: Vec<Location>,
    f: ClinicianForm,
    can_edit: bool,
    error: Option<String>,
}

async fn clinicians_page(
    state: &AppState,
    p: &Principal,
    done: &Done,
    f: ClinicianForm,
    error: Option<String>,
) -> PageResult {
    let l = layout(state, p, "settings", done).await?;
    let locations = state.store.locations(p.practice_id).await?;
    let hours = state.store.clinician_hours(p.practice_id).await?;
    let clinicians = state
        .store
        .clinicians(p.practice_id)
        .await?
        .into_iter()
        .map(|c| {
            let loc = locations
                .iter()
                .find(|l| Some(l.id) == c.location_id)
                .map(|l| l.name.clone())
                .unwrap_or_default();
            let shifts: Vec<_> = hours
                .iter()
                .filter(|(cid, lid, _)| *cid == c.id && Some(*lid) == c.location_id)
                .map(|(_, _, h)| *h)
                .collect();
            (c, loc, stride_core::hours::format_shifts(&shifts), None)
        })
        .collect::<Vec<_>>();
    let mut clinicians = clinicians;
    if p.can(Permission::ManagePractice) {
        let base = state.config.public_url.clone().unwrap_or_default();
        for row in clinicians.iter_mut() {
            row.3 = state
                .store
                .calendar_feed_secret(p.practice_id, row.0.id)
                .await?
                .map(|t| format!("{}/calendar/{t}.ics", base.trim_end_matches('/')));
        }
    }
    let tz = crate::pages::practice_tz(state, p.practice_id).await?;
    let day = |ms: i64| crate::pages::local_time(ms, &tz);
    let time_off = state
        .store
        .time_off(p.practice_id, jiff::Timestamp::now().as_millisecond())
        .await?
        .into_iter()
        .map(|t| {
            let who = clinicians
                .iter()
                .find(|c| c.0.id == t.clinician_id)
                .map(|c| c.0.name.clone())
                .unwrap_or_default();
            (t.id, who, day(t.starts_at), day(t.ends_at), t.reason)
        })
        .collect();
    let page = CliniciansPage {
        l,
        nav: subnav(p, "clinicians"),
        time_off,
        clinicians,
        locations,
        f,
        can_edit: p.can(Permission::ManagePractice),
        error,
    };
    if page.error.is_some() {
        unprocessable(&page)
    } else {
        render(&page)
    }
}

pub async fn clinicians(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(done): Query<Done>,
) -> PageResult {
    let f = ClinicianForm {
        active: Some("on".into()),
        credentials: "PT, DPT".into(),
        ..Default::default()
    };
    clinicians_page(&state, &p, &done, f, None).await
}

/// Hours are kept per location: they are set at the clinician's primary location.
async fn save_hours(
    state: &AppState,
    p: &Principal,
    clinician_id: i64,
    location_id: Option<i64>,
    shifts: &[stride_core::hours::DayHours],
) -> Result<(), AppError> {
    match location_id {
        Some(loc) => Ok(state
            .store
            .set_clinician_hours(p.practice_id, clinician_id, loc, shifts, &p.actor)
            .await?),
        None if shifts.is_empty() => Ok(()),
        None => Err(AppError::invalid(
            "choose the primary location the hours are at",
        )),
    }
}

pub async fn create_clinician(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Form(f): Form<ClinicianForm>,
) -> PageResult {
    p.require(Permission::ManagePractice)?;
    let result = async {
        let input = f.parse()?;
        let shifts = stride_core::hours::parse_shifts(&f.hours).map_err(AppError::invalid)?;
        let c = state.store.create_clinician(p.practice_id, &input).await?;
        save_hours(&state, &p, c.id, input.location_id, &shifts).await
    }
    .await;
    saved_or_again(
        result,
        "/app/settings/clinicians",
        "clinician",
        |error| async move {
            let error = Some(error);
            clinicians_page(&state, &p, &Done::default(), f, error).await
        },
    )
    .await
}

pub async fn update_clinician(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<i64>,
    Form(f): Form<ClinicianForm>,
) -> PageResult {
    p.require(Permission::ManagePractice)?;
    let result = async {
        let input = f.parse()?;
        let shifts = stride_core::hours::parse_shifts(&f.hours).map_err(AppError::invalid)?;
        state
            .store
            .update_clinician(p.practice_id, id, &input)
            .await?;
        save_hours(&state, &p, id, input.location_id, &shifts).await
    }
    .await;
    saved_or_again(
        result,
        "/app/settings/clinicians",
        "clinician",
        |error| async move {
            let error = Some(error);
            clinicians_page(
                &state,
                &p,
                &Done::default(),
                ClinicianForm::default(),
                error,
            )
            .await
        },
    )
    .await
}

// ---------------------------------------------------------------- users

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct UserForm {
    pub email: String,
    pub name: String,
    pub role: String,
    pub password: String,
}

#[derive(Template)]
#[template(path = "settings_users.html")]
struct UsersPage {
    l: Layout,
    nav: SubNav,
    members: Vec<Member>,
    roles: [Role; 4],
    f: UserForm,
    me: i64,
    error: Option<String>,
}

async fn users_page(
    state: &AppState,
    p: &Principal,
    done: &Done,
    f: UserForm,
    error: Option<String>,
) -> PageResult {
    p.require(Permission::ManageUsers)?;
    let l = layout(state, p, "settings", done).await?;
    let members = state.store.members(p.practice_id).await?;
    let me = p.user.as_ref().map(|u| u.id).unwrap_or_default();
    let page = UsersPage {
        l,
        nav: subnav(p, "users"),
        members,
        roles: Role::ALL,
        f,
        me,
        error,
    };
    if page.error.is_some() {
        unprocessable(&page)
    } else {
        render(&page)
    }
}

pub async fn users(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(done): Query<Done>,
) -> PageResult {
    users_page(
        &state,
        &p,
        &done,
        UserForm {
            role: "front_desk".into(),
            ..Default::default()
        },
        None,
    )
    .await
}

/// Adds a user to the practice: a new account (with the given first password), or an existing
/// account (for example an agency marketer who serves several practices) given a role here.
pub async fn add_user(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Form(f): Form<UserForm>,
) -> PageResult {
    p.require(Permission::ManageUsers)?;
    let result: Result<(), AppError> = async {
        let email = EmailAddress::parse(&f.email).map_err(AppError::invalid)?;
        let role: Role = f
            .role
            .parse()
            .map_err(|_| AppError::invalid("choose a role"))?;
        state
            .store
            .add_member(p.practice_id, &email, &f.name, &f.password, role, &p.actor)
            .await?;
        Ok(())
    }
    .await;
    saved_or_again(result, "/app/settings/users", "user", |error| async move {
        let error = Some(error);
        let f = UserForm {
            password: String::new(),
            ..f
        };
        users_page(&state, &p, &Done::default(), f, error).await
    })
    .await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct RoleForm {
    role: String,
}

pub async fn change_role(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<i64>,
    Form(f): Form<RoleForm>,
) -> PageResult {
    p.require(Permission::ManageUsers)?;
    let role: Role = f
        .role
        .parse()
        .map_err(|_| AppError::invalid("choose a role"))?;
    match state.store.change_role(id, p.practice_id, role).await {
        Ok(()) => {
            state
                .store
                .audit(
                    Some(p.practice_id),
                    &p.actor,
                    "change_role",
                    "user",
                    Some(id),
                    role.as_str(),
                )
                .await?;
            Ok(redirect_done("/app/settings/users", "user"))
        }
        Err(e) => {
            let error = Some(form_error(e.into())?);
            users_page(&state, &p, &Done::default(), UserForm::default(), error).await
        }
    }
}

pub async fn remove_user(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<i64>,
) -> PageResult {
    p.require(Permission::ManageUsers)?;
    match state.store.revoke_role(id, p.practice_id).await {
        Ok(()) => {
            state
                .store
                .audit(
                    Some(p.practice_id),
                    &p.actor,
                    "revoke_role",
                    "user",
                    Some(id),
                    "",
                )
                .await?;
            Ok(redirect_done("/app/settings/users", "user_removed"))
        }
        Err(e) => {
            let error = Some(form_error(e.into())?);
            users_page(&state, &p, &Done::default(), UserForm::default(), error).await
        }
    }
}

// ---------------------------------------------------------------- API tokens

#[derive(Template)]
#[template(path = "settings_tokens.html")]
struct TokensPage {
    l: Layout,
    nav: SubNav,
    tokens: Vec<(ApiToken, String, String)>,
    roles: [Role; 4],
    created: Option<String>,
    error: Option<String>,
}

async fn tokens_page(
    state: &AppState,
    p: &Principal,
    done: &Done,
    created: Option<String>,
    error: Option<String>,
) -> PageResult {
    p.require(Permission::ManageApiTokens)?;
    let l = layout(state, p, "settings", done).await?;
    let tz = practice_tz(state, p.practice_id).await?;
    let tokens = state
        .store
        .api_tokens(p.practice_id)
        .await?
        .into_iter()
        .map(|t| {
            let created = local_time(t.created_at, &tz);
            let used = t
                .last_used_at
                .map(|u| local_time(u, &tz))
                .unwrap_or_else(|| "never".into());
            (t, created, used)
        })
        .collect();
    let page = TokensPage {
        l,
        nav: subnav(p, "tokens"),
        tokens,
        roles: Role::ALL,
        created,
        error,
    };
    if page.error.is_some() {
        unprocessable(&page)
    } else {
        render(&page)
    }
}

pub async fn tokens(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(done): Query<Done>,
) -> PageResult {
    tokens_page(&state, &p, &done, None, None).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct TokenForm {
    name: String,
    role: String,
}

pub async fn create_token(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Form(f): Form<TokenForm>,
) -> PageResult {
    p.require(Permission::ManageApiTokens)?;
    let result: Result<String, AppError> = async {
        let role: Role = f
            .role
            .parse()
            .map_err(|_| AppError::invalid("choose a role for the token"))?;
        let (token, secret) = state
            .store
            .create_api_token(p.practice_id, &f.name, role, p.user.as_ref().map(|u| u.id))
            .await?;
        state
            .store
            .audit(
                Some(p.practice_id),
                &p.actor,
                "create",
                "api_token",
                Some(token.id),
                role.as_str(),
            )
            .await?;
        Ok(secret)
    }
    .await;
    match result {
        // The secret is shown once, in this response, and never again.
        Ok(secret) => {
            let mut resp = tokens_page(&state, &p, &Done::default(), Some(secret), None).await?;
            resp.headers_mut().insert(
                header::CACHE_CONTROL,
                header::HeaderValue::from_static("no-store"),
            );
            Ok(resp)
        }
        Err(e) => {
            let error = Some(form_error(e)?);
            tokens_page(&state, &p, &Done::default(), None, error).await
        }
    }
}

pub async fn revoke_token(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<i64>,
) -> PageResult {
    p.require(Permission::ManageApiTokens)?;
    state.store.revoke_api_token(p.practice_id, id).await?;
    state
        .store
        .audit(
            Some(p.practice_id),
            &p.actor,
            "revoke",
            "api_token",
            Some(id),
            "",
        )
        .await?;
    Ok(redirect_done("/app/settings/tokens", "token_revoked"))
}

// ---------------------------------------------------------------- messages

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct ProvidersForm {
    sms_provider: String,
    twilio_account_sid: String,
    twilio_auth_token: String,
    twilio_from: String,
    email_provider: String,
    smtp_host: String,
    smtp_port: String,
    smtp_username: String,
    smtp_password: String,
    smtp_tls: String,
    email_from: String,
}

pub struct MessageRow {
    pub when: String,
    pub channel: &'static str,
    pub to: String,
    pub summary: String,
    pub purpose: String,
    pub provider: String,
    pub status: String,
    pub error: String,
}

#[derive(Template)]
#[template(path = "settings_messages.html")]
struct MessagesPage {
    l: Layout,
    nav: SubNav,
    providers: MessageProviders,
    has_twilio_token: bool,
    has_smtp_password: bool,
    rows: Option<Vec<MessageRow>>,
    can_edit: bool,
    error: Option<String>,
}

fn message_row(m: &Message, tz: &Option<TimeZoneName>) -> MessageRow {
    let text = match &m.subject {
        Some(s) => format!("{s} — {}", m.body),
        None => m.body.clone(),
    };
    let summary: String = text.chars().take(140).collect();
    MessageRow {
        when: local_time(m.created_at, tz),
        channel: match m.channel {
            Channel::Sms => "SMS",
            Channel::Email => "Email",
        },
        to: match m.channel {
            Channel::Sms => PhoneE164::parse(&m.to)
                .map(|p| p.national_display())
                .unwrap_or_else(|_| m.to.clone()),
            Channel::Email => m.to.clone(),
        },
        summary,
        purpose: m.purpose.clone(),
        provider: m.provider.clone(),
        status: m.status.clone(),
        error: m.error.clone().unwrap_or_default(),
    }
}

async fn messages_page(
    state: &AppState,
    p: &Principal,
    done: &Done,
    error: Option<String>,
) -> PageResult {
    if !p.can(Permission::ViewMessageLog) && !p.can(Permission::ManagePractice) {
        return Err(AppError::Forbidden);
    }
    let l = layout(state, p, "settings", done).await?;
    let providers = state.store.message_providers(p.practice_id).await?;
    let rows = if p.can(Permission::ViewMessageLog) {
        let tz = practice_tz(state, p.practice_id).await?;
        let messages = state.store.messages(p.practice_id, 100, &p.actor).await?;
        Some(messages.iter().map(|m| message_row(m, &tz)).collect())
    } else {
        None
    };
    let page = MessagesPage {
        l,
        nav: subnav(p, "messages"),
        has_twilio_token: providers.twilio_auth_token.is_some(),
        has_smtp_password: providers.smtp_password.is_some(),
        providers,
        rows,
        can_edit: p.can(Permission::ManagePractice),
        error,
    };
    if page.error.is_some() {
        unprocessable(&page)
    } else {
        render(&page)
    }
}

pub async fn messages(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(done): Query<Done>,
) -> PageResult {
    messages_page(&state, &p, &done, None).await
}

pub async fn save_providers(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Form(f): Form<ProvidersForm>,
) -> PageResult {
    p.require(Permission::ManagePractice)?;
    let current = state.store.message_providers(p.practice_id).await?;
    let result: Result<(), AppError> = async {
        let from = f.twilio_from.trim();
        let twilio_from = if from.is_empty() {
            String::new()
        } else {
            PhoneE164::parse(from)
                .map_err(AppError::invalid)?
                .as_str()
                .to_string()
        };
        let email_from = match f.email_from.trim() {
            "" => String::new(),
            s => EmailAddress::parse(s)
                .map_err(AppError::invalid)?
                .as_str()
                .to_string(),
        };
        let smtp_port = match f.smtp_port.trim() {
            "" => 587,
            s => s
                .parse()
                .map_err(|_| AppError::invalid("the SMTP port must be a number like 587"))?,
        };
        // Blank secret fields keep the stored secret: forms never echo secrets back.
        let providers = MessageProviders {
            sms_provider: f.sms_provider.clone(),
            twilio_account_sid: f.twilio_account_sid.trim().to_string(),
            twilio_auth_token: Some(f.twilio_auth_token.trim().to_string())
                .filter(|s| !s.is_empty())
                .or(current.twilio_auth_token),
            twilio_from,
            email_provider: f.email_provider.clone(),
            smtp_host: f.smtp_host.trim().to_string(),
            smtp_port,
            smtp_username: f.smtp_username.trim().to_string(),
            smtp_password: Some(f.smtp_password.clone())
                .filter(|s| !s.is_empty())
                .or(current.smtp_password),
            smtp_tls: if f.smtp_tls.is_empty() {
                "starttls".into()
            } else {
                f.smtp_tls.clone()
            },
            email_from,
        };
        state
            .store
            .set_message_providers(p.practice_id, &providers)
            .await?;
        state
            .store
            .audit(
                Some(p.practice_id),
                &p.actor,
                "update",
                "message_providers",
                None,
                "",
            )
            .await?;
        Ok(())
    }
    .await;
    saved_or_again(
        result,
        "/app/settings/messages",
        "providers",
        |error| async move {
            let error = Some(error);
            messages_page(&state, &p, &Done::default(), error).await
        },
    )
    .await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct TestMessageForm {
    channel: String,
    to: String,
}

pub async fn send_test(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Form(f): Form<TestMessageForm>,
) -> PageResult {
    p.require(Permission::ManagePractice)?;
    let practice = state.store.practice(p.practice_id).await?;
    let result: Result<(), AppError> = async {
        let (channel, to) = Channel::with_recipient(&f.channel, &f.to)?;
        let (subject, body) = match channel {
            Channel::Sms => (None, format!("Test message from {} via Stride. Reply STOP to opt out.", practice.name)),
            Channel::Email => (
                Some(format!("Test email from {}", practice.name)),
                format!("This is a test email from {} sent by Stride. If you can read it, email delivery works.", practice.name),
            ),
        };
        let msg = NewMessage { channel, to, subject, body, purpose: "test".into(), idempotency_key: None };
        let id = state.store.queue_message(p.practice_id, &msg).await?;
        state.store.audit(Some(p.practice_id), &p.actor, "create", "message", Some(id), "test").await?;
        Ok(())
    }
    .await;
    saved_or_again(
        result,
        "/app/settings/messages",
        "test_sent",
        |error| async move {
            let error = Some(error);
            messages_page(&state, &p, &Done::default(), error).await
        },
    )
    .await
}

// ---------------------------------------------------------------- audit log

#[derive(Template)]
#[template(path = "settings_audit.html")]
struct AuditPage {
    l: Layout,
    nav: SubNav,
    entries: Vec<(AuditEntry, String)>,
    next_before: Option<i64>,
}

#[derive(Deserialize, Default)]
pub struct AuditQuery {
    before: Option<i64>,
}

pub async fn audit(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(q): Query<AuditQuery>,
) -> PageResult {
    p.require(Permission::ViewAuditLog)?;
    let l = layout(&state, &p, "settings", &Done::default()).await?;
    let tz = practice_tz(&state, p.practice_id).await?;
    let page_size = 100;
    let entries: Vec<(AuditEntry, String)> = state
        .store
        .audit_entries(p.practice_id, q.before, page_size)
        .await?
        .into_iter()
        .map(|e| {
            let when = local_time(e.at, &tz);
            (e, when)
        })
        .collect();
    let next_before = (entries.len() as i64 == page_size)
        .then(|| entries.last().map(|e| e.0.id))
        .flatten();
    render(&AuditPage {
        l,
        nav: subnav(&p, "audit"),
        entries,
        next_before,
    })
}

/// The whole audit log of the practice as CSV (the export is itself audited).
pub async fn audit_csv(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
) -> PageResult {
    p.require(Permission::ViewAuditLog)?;
    state
        .store
        .audit(
            Some(p.practice_id),
            &p.actor,
            "export",
            "audit_log",
            None,
            "csv",
        )
        .await?;
    let mut out = String::from("id,at_utc,actor,action,entity,entity_id,ip,detail\n");
    let mut before = None;
    loop {
        let batch = state
            .store
            .audit_entries(p.practice_id, before, 5000)
            .await?;
        for e in &batch {
            let at = jiff::Timestamp::from_millisecond(e.at)
                .map(|t| t.to_string())
                .unwrap_or_default();
            let fields = [
                e.id.to_string(),
                at,
                e.actor.clone(),
                e.action.clone(),
                e.entity.clone(),
                e.entity_id.map(|i| i.to_string()).unwrap_or_default(),
                e.ip.clone(),
                e.detail.clone(),
            ];
            out.push_str(
                &fields
                    .iter()
                    .map(|f| csv_field(f))
                    .collect::<Vec<_>>()
                    .join(","),
            );
            out.push('\n');
        }
        match batch.last() {
            Some(last) if batch.len() == 5000 => before = Some(last.id),
            _ => break,
        }
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"stride-audit-log.csv\"",
            ),
            (header::CACHE_CONTROL, "no-store"),
        ],
        out,
    )
        .into_response())
}

/// Quotes a CSV field, and defuses spreadsheet formulas (=, +, -, @ at the start).
pub fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// Makes (or remakes) a clinician's calendar feed link; the old link stops working.
pub async fn reset_feed(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<i64>,
) -> PageResult {
    p.require(Permission::ManagePractice)?;
    state
        .store
        .reset_calendar_feed(p.practice_id, id, &p.actor)
        .await?;
    Ok(redirect_done("/app/settings/clinicians", "feed"))
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct TimeOffForm {
    from: String,
    to: String,
    reason: String,
}

/// Time off for a clinician, whole days from `from` to `to` (inclusive) in their location's zone.
pub async fn add_time_off(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<i64>,
    Form(f): Form<TimeOffForm>,
) -> PageResult {
    p.require(Permission::ManagePractice)?;
    let result = async {
        let date = |label: &str, v: &str| -> Result<jiff::civil::Date, AppError> {
            v.trim().parse().map_err(|_| {
                AppError::invalid(format!("the {label} day should be a date like 2026-12-24"))
            })
        };
        let from = date("first", &f.from)?;
        let to = if f.to.trim().is_empty() {
            from
        } else {
            date("last", &f.to)?
        };
        if to < from {
            return Err(AppError::invalid("the last day comes before the first"));
        }
        let clinician = state
            .store
            .clinicians(p.practice_id)
            .await?
            .into_iter()
            .find(|c| c.id == id)
            .ok_or(AppError::NotFound)?;
        let locations = state.store.locations(p.practice_id).await?;
        let tz = locations
            .iter()
            .find(|l| Some(l.id) == clinician.location_id)
            .or(locations.first())
            .and_then(|l| stride_core::tz::TimeZoneName::parse(&l.time_zone).ok())
            .map(|t| t.tz())
            .unwrap_or(jiff::tz::TimeZone::UTC);
        let start = from
            .to_zoned_datetime(tz.clone())
            .map_err(|e| AppError::invalid(e.to_string()))?
            .timestamp()
            .as_millisecond();
        let end = to
            .tomorrow()
            .map_err(|e| AppError::invalid(e.to_string()))?
            .to_zoned_datetime(tz)
            .map_err(|e| AppError::invalid(e.to_string()))?
            .timestamp()
            .as_millisecond();
        state
            .store
            .add_time_off(p.practice_id, id, start, end, &f.reason, &p.actor)
            .await?;
        Ok::<_, AppError>(())
    }
    .await;
    saved_or_again(
        result,
        "/app/settings/clinicians",
        "time_off",
        |error| async move {
            let f = ClinicianForm {
                active: Some("on".into()),
                ..Default::default()
            };
            clinicians_page(&state, &p, &Done::default(), f, Some(error)).await
        },
    )
    .await
}

pub async fn remove_time_off(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<i64>,
) -> PageResult {
    p.require(Permission::ManagePractice)?;
    state
        .store
        .remove_time_off(p.practice_id, id, &p.actor)
        .await?;
    Ok(redirect_done(
        "/app/settings/clinicians",
        "time_off_removed",
    ))
}
