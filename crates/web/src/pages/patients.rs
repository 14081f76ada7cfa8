//! Patient pages: list, search, create and edit. Searches are POSTed so a name, phone or email never
//! lands in a URL, a browser history or an access log; every view is written to the audit log.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::{Extension, Form};
use serde::Deserialize;
use stride_core::email::EmailAddress;
use stride_core::phone::PhoneE164;
use stride_core::role::Permission;
use stride_store::patients::{Patient, PatientInput, PatientQuery};

use super::{
    Done, Layout, form_error, layout, redirect_done, render, saved_or_again, unprocessable,
};
use crate::AppState;
use crate::auth::Principal;
use crate::error::{AppError, PageResult};

#[derive(Debug, Default, Deserialize, Clone)]
#[serde(default)]
pub struct PatientForm {
    pub first_name: String,
    pub last_name: String,
    pub phone: String,
    pub email: String,
    pub birth_date: String,
    pub address: String,
    pub member_id: String,
    pub sms_consent: Option<String>,
    pub email_consent: Option<String>,
    /// "email" or "sms": how reminders go when both are agreed to.
    pub prefers: String,
}

impl PatientForm {
    pub fn from_patient(p: &Patient) -> PatientForm {
        PatientForm {
            first_name: p.first_name.clone(),
            last_name: p.last_name.clone(),
            phone: p
                .phone
                .as_deref()
                .and_then(|s| PhoneE164::parse(s).ok())
                .map(|p| p.national_display())
                .unwrap_or_default(),
            email: p.email.clone().unwrap_or_default(),
            birth_date: p.birth_date.clone().unwrap_or_default(),
            address: p.address.clone().unwrap_or_default(),
            member_id: p.member_id.clone().unwrap_or_default(),
            sms_consent: p.sms_consent.then(|| "on".into()),
            email_consent: p.email_consent.then(|| "on".into()),
            prefers: if p.prefers_email { "email" } else { "sms" }.into(),
        }
    }

    /// Parses every field, reporting the first problem in words a front desk understands.
    pub fn parse(&self) -> Result<PatientInput, AppError> {
        let phone = match self.phone.trim() {
            "" => None,
            s => Some(PhoneE164::parse(s).map_err(AppError::invalid)?),
        };
        let email = match self.email.trim() {
            "" => None,
            s => Some(EmailAddress::parse(s).map_err(AppError::invalid)?),
        };
        let birth_date = match self.birth_date.trim() {
            "" => None,
            s => {
                let d: jiff::civil::Date = s
                    .parse()
                    .map_err(|_| AppError::invalid("the birth date must look like 1984-03-27"))?;
                if d > jiff::Timestamp::now()
                    .to_zoned_datetime(jiff::tz::TimeZone::UTC)
                    .date()
                    || d.year() < 1900
                {
                    return Err(AppError::invalid(
                        "the birth date must be in the past and after 1900",
                    ));
                }
                Some(d)
            }
        };
        Ok(PatientInput {
            first_name: self.first_name.trim().to_string(),
            last_name: self.last_name.trim().to_string(),
            phone,
            email,
            birth_date,
            address: Some(self.address.trim().to_string()).filter(|s| !s.is_empty()),
            member_id: Some(self.member_id.trim().to_string()).filter(|s| !s.is_empty()),
            sms_consent: self.sms_consent.is_some(),
            email_consent: self.email_consent.is_some(),
        })
    }
}

pub struct PatientRow {
    pub id: i64,
    pub name: String,
    pub phone: String,
    pub email: String,
    pub status: String,
}

fn row(p: &Patient) -> PatientRow {
    PatientRow {
        id: p.id,
        name: format!("{} {}", p.first_name, p.last_name),
        phone: p
            .phone
            .as_deref()
            .and_then(|s| PhoneE164::parse(s).ok())
            .map(|p| p.national_display())
            .unwrap_or_default(),
        email: p.email.clone().unwrap_or_default(),
        status: p.status.clone(),
    }
}

#[derive(Template)]
#[template(path = "patients.html")]
struct PatientsPage {
    l: Layout,
    rows: Vec<PatientRow>,
    q: String,
    searched: bool,
    error: Option<String>,
    can_edit: bool,
}

async fn list_page(
    state: &AppState,
    p: &Principal,
    done: &Done,
    q: String,
    query: PatientQuery,
    error: Option<String>,
) -> PageResult {
    p.require(Permission::ViewPatients)?;
    let l = layout(state, p, "patients", done).await?;
    let searched = !matches!(query, PatientQuery::All);
    let rows = if error.is_some() {
        Vec::new()
    } else {
        state
            .store
            .patients(p.practice_id, &query, 100, &p.actor)
            .await?
            .iter()
            .map(row)
            .collect()
    };
    render(&PatientsPage {
        l,
        rows,
        q,
        searched,
        error,
        can_edit: p.can(Permission::EditPatients),
    })
}

pub async fn index(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(done): Query<Done>,
) -> PageResult {
    list_page(&state, &p, &done, String::new(), PatientQuery::All, None).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct SearchForm {
    q: String,
}

/// Reads a search box: a phone number, an email address, or a last name.
pub fn parse_search(q: &str) -> Result<PatientQuery, String> {
    let q = q.trim();
    if q.is_empty() {
        return Ok(PatientQuery::All);
    }
    if q.contains('@') {
        return EmailAddress::parse(q)
            .map(PatientQuery::Email)
            .map_err(|e| e.to_string());
    }
    if q.chars().filter(|c| c.is_ascii_digit()).count() >= 7 {
        return PhoneE164::parse(q)
            .map(PatientQuery::Phone)
            .map_err(|e| e.to_string());
    }
    Ok(PatientQuery::LastName(q.to_string()))
}

pub async fn search(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Form(form): Form<SearchForm>,
) -> PageResult {
    match parse_search(&form.q) {
        Ok(query) => list_page(&state, &p, &Done::default(), form.q, query, None).await,
        Err(e) => {
            list_page(
                &state,
                &p,
                &Done::default(),
                form.q,
                PatientQuery::All,
                Some(e),
            )
            .await
        }
    }
}

#[derive(Template)]
#[template(path = "patient_form.html")]
struct PatientFormPage {
    l: Layout,
    id: Option<i64>,
    f: PatientForm,
    error: Option<String>,
    created: String,
    can_edit: bool,
    /// (when, visit, clinician, status, deposit) newest first.
    visits: Vec<(String, String, String, String, String)>,
    can_book: bool,
    care: Option<CareView>,
    plans: Option<PlansView>,
    hep: Option<HepView>,
    /// Other records that look like this person: (id, name, contact).
    duplicates: Vec<(i64, String, String)>,
    /// The record this duplicate was merged into.
    merged_into: Option<i64>,
}

/// The patient's home exercise programs and the form to make one (clinical users).
pub struct HepView {
    /// (id, made, exercises, sent, link good until, openings)
    pub programs: Vec<(i64, String, String, String, String, String)>,
    /// Active library exercises: (id, name).
    pub exercises: Vec<(i64, String)>,
    pub rows: Vec<usize>,
    pub can_edit: bool,
    pub can_text: bool,
    pub can_email: bool,
}

/// The patient's plans of care, and the form to start one.
pub struct PlansView {
    /// (id, condition or "Plan of care", progress, status, dates) newest first.
    pub rows: Vec<(i64, String, String, String, String)>,
    /// Whether the user may open plans (clinical content).
    pub clinical: bool,
    /// The form to start a plan, for clinicians when no plan is open.
    pub form: Option<crate::care::plans::PlanFields>,
    pub clinicians: Vec<(i64, String)>,
    pub error: Option<String>,
}

/// Coverage, referral and authorizations on the patient's page.
pub struct CareView {
    /// (value, label, selected) for the coverage select: "" (not recorded), "self", payer ids.
    pub coverage: Vec<(String, String, bool)>,
    pub referrals: Vec<(&'static str, &'static str, bool)>,
    /// The plan on the insurance card.
    pub plan: String,
    pub physician: String,
    /// (visits, from, to, reference, used, left, warning)
    pub authorizations: Vec<(i64, String, String, String, i64, i64, String)>,
    pub warning: Option<String>,
    /// The lead the patient came from, for those who may see leads.
    pub lead: Option<i64>,
}

pub async fn new_form(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
) -> PageResult {
    p.require(Permission::EditPatients)?;
    let l = layout(&state, &p, "patients", &Done::default()).await?;
    render(&PatientFormPage {
        l,
        id: None,
        f: PatientForm::default(),
        error: None,
        created: String::new(),
        can_edit: true,
        visits: Vec::new(),
        can_book: false,
        care: None,
        plans: None,
        hep: None,
        duplicates: Vec::new(),
        merged_into: None,
    })
}

/// The patient form again, with the message and everything that was typed.
async fn form_again(
    state: &AppState,
    p: &Principal,
    id: Option<i64>,
    f: PatientForm,
    error: String,
) -> PageResult {
    let l = layout(state, p, "patients", &Done::default()).await?;
    unprocessable(&PatientFormPage {
        l,
        id,
        f,
        error: Some(error),
        created: String::new(),
        can_edit: true,
        visits: Vec::new(),
        can_book: false,
        care: None,
        plans: None,
        hep: None,
        duplicates: Vec::new(),
        merged_into: None,
    })
}

pub async fn create(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Form(f): Form<PatientForm>,
) -> PageResult {
    p.require(Permission::EditPatients)?;
    let result = async {
        let input = f.parse()?;
        let patient = state
            .store
            .create_patient(p.practice_id, &input, &p.actor)
            .await?;
        if f.prefers == "email" {
            state
                .store
                .set_contact_preference(p.practice_id, patient.id, true, &p.actor)
                .await?;
        }
        Ok::<_, AppError>(patient)
    }
    .await;
    match result {
        Ok(patient) => Ok(redirect_done(
            &format!("/app/patients/{}", patient.id),
            "patient",
        )),
        Err(e) => form_again(&state, &p, None, f, form_error(e)?).await,
    }
}

pub async fn show(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<i64>,
    Query(done): Query<Done>,
) -> PageResult {
    show_page(&state, &p, id, &done, None).await
}

/// The patient's page again after a refused plan of care, with what was typed (422).
pub async fn show_with_plan_form(
    state: &AppState,
    p: &Principal,
    id: i64,
    f: crate::care::plans::PlanFields,
    error: String,
) -> PageResult {
    let mut resp = show_page(state, p, id, &Done::default(), Some((f, error))).await?;
    *resp.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    Ok(resp)
}

async fn show_page(
    state: &AppState,
    p: &Principal,
    id: i64,
    done: &Done,
    plan_form: Option<(crate::care::plans::PlanFields, String)>,
) -> PageResult {
    p.require(Permission::ViewPatients)?;
    let patient = state.store.patient(p.practice_id, id, &p.actor).await?;
    let l = layout(state, p, "patients", done).await?;
    let tz = super::practice_tz(state, p.practice_id).await?;
    let visits = if p.can(Permission::ViewSchedule) {
        let types = state.store.appointment_types(p.practice_id).await?;
        let clinicians = state.store.clinicians(p.practice_id).await?;
        state
            .store
            .patient_appointments(p.practice_id, id)
            .await?
            .into_iter()
            .map(|(a, deposit)| {
                (
                    super::local_time(a.starts_at, &tz),
                    types
                        .iter()
                        .find(|t| t.id == a.type_id)
                        .map(|t| t.name.clone())
                        .unwrap_or_default(),
                    clinicians
                        .iter()
                        .find(|c| c.id == a.clinician_id)
                        .map(|c| c.name.clone())
                        .unwrap_or_default(),
                    a.status.replace('_', " "),
                    deposit.unwrap_or_default(),
                )
            })
            .collect()
    } else {
        Vec::new()
    };
    render(&PatientFormPage {
        l,
        id: Some(id),
        f: PatientForm::from_patient(&patient),
        error: None,
        created: super::local_time(patient.created_at, &tz),
        can_edit: p.can(Permission::EditPatients),
        visits,
        can_book: p.can(Permission::EditSchedule),
        duplicates: if p.can(Permission::EditPatients) {
            state
                .store
                .possible_duplicates(p.practice_id, id)
                .await?
                .iter()
                .map(|d| {
                    let r = row(d);
                    (
                        r.id,
                        r.name,
                        [r.phone, r.email].join(" ").trim().to_string(),
                    )
                })
                .collect()
        } else {
            Vec::new()
        },
        merged_into: state.store.merged_into(p.practice_id, id).await?,
        plans: Some(plans_view(state, p, id, plan_form).await?),
        hep: if p.can(Permission::ViewClinicalNotes) {
            Some(hep_view(state, p, &patient, &tz).await?)
        } else {
            None
        },
        care: Some(CareView {
            lead: if p.can(Permission::ViewLeads) {
                state.store.lead_of_patient(p.practice_id, id).await?
            } else {
                None
            },
            ..care_view(state, p.practice_id, id, &tz).await?
        }),
    })
}

pub async fn update(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<i64>,
    Form(f): Form<PatientForm>,
) -> PageResult {
    p.require(Permission::EditPatients)?;
    let result = async {
        let input = f.parse()?;
        state
            .store
            .update_patient(p.practice_id, id, &input, &p.actor)
            .await?;
        state
            .store
            .set_contact_preference(p.practice_id, id, f.prefers == "email", &p.actor)
            .await
            .map_err(AppError::from)
    }
    .await;
    let path = format!("/app/patients/{id}");
    saved_or_again(result, &path, "patient", |error| {
        form_again(&state, &p, Some(id), f, error)
    })
    .await
}

async fn hep_view(
    state: &AppState,
    p: &Principal,
    patient: &Patient,
    tz: &Option<stride_core::tz::TimeZoneName>,
) -> Result<HepView, AppError> {
    let now = jiff::Timestamp::now().as_millisecond();
    let programs = state
        .store
        .patient_programs(p.practice_id, patient.id)
        .await?
        .into_iter()
        .map(|g| {
            (
                g.id,
                super::local_time(g.created_at, tz),
                g.items
                    .iter()
                    .map(|i| format!("{} {}×{}", i.exercise.name, i.sets, i.reps))
                    .collect::<Vec<_>>()
                    .join(", "),
                match g.sent_at {
                    Some(at) => format!(
                        "{} by {}",
                        super::local_time(at, tz),
                        if g.channel == "email" {
                            "email"
                        } else {
                            "text"
                        }
                    ),
                    None => "not sent".into(),
                },
                if g.expires_at <= now {
                    "expired".into()
                } else {
                    super::local_time(g.expires_at, tz)
                },
                match g.last_opened {
                    Some(at) => format!(
                        "{}, last {}",
                        if g.opens == 1 {
                            "once".to_string()
                        } else {
                            format!("{} times", g.opens)
                        },
                        super::local_time(at, tz)
                    ),
                    None => "never opened".into(),
                },
            )
        })
        .collect();
    Ok(HepView {
        programs,
        exercises: state
            .store
            .exercises(p.practice_id)
            .await?
            .into_iter()
            .filter(|e| e.active)
            .map(|e| (e.id, e.name))
            .collect(),
        rows: (0..crate::care::hep::PROGRAM_ROWS).collect(),
        can_edit: p.can(Permission::EditClinicalNotes),
        can_text: patient.sms_consent && patient.phone.is_some(),
        can_email: patient.email_consent && patient.email.is_some(),
    })
}

async fn plans_view(
    state: &AppState,
    p: &Principal,
    patient_id: i64,
    typed: Option<(crate::care::plans::PlanFields, String)>,
) -> Result<PlansView, AppError> {
    let tz = state.store.practice_time_zone(p.practice_id).await?;
    let now = jiff::Timestamp::now().as_millisecond();
    let clinical = p.can(Permission::ViewClinicalNotes);
    let plans = state.store.patient_plans(p.practice_id, patient_id).await?;
    let mut rows = Vec::new();
    for plan in &plans {
        let visits = state.store.plan_visits(p.practice_id, plan, &tz).await?;
        let records: Vec<_> = visits.iter().map(|v| v.record()).collect();
        let count = stride_core::care::visit_number(&records, now);
        rows.push((
            plan.id,
            if clinical {
                plan.condition.clone()
            } else {
                "Plan of care".to_string()
            },
            stride_core::care::progress_label(&count, &plan.rule()),
            plan.status.label().to_string(),
            match plan.closed_on {
                Some(c) => format!("{} to {c}", plan.starts_on),
                None => format!("since {}", plan.starts_on),
            },
        ));
    }
    let open = plans.iter().any(|pl| !pl.status.is_closed());
    let (form, error) = match typed {
        Some((f, e)) => (Some(f), Some(e)),
        None if !open && p.can(Permission::EditClinicalNotes) => (
            Some(crate::care::plans::PlanFields {
                per_week: "2".into(),
                visits: "8".into(),
                starts_on: crate::care::today(&tz).to_string(),
                ..Default::default()
            }),
            None,
        ),
        None => (None, None),
    };
    Ok(PlansView {
        rows,
        clinical,
        form,
        clinicians: state
            .store
            .clinicians(p.practice_id)
            .await?
            .into_iter()
            .filter(|c| c.active)
            .map(|c| (c.id, c.name))
            .collect(),
        error,
    })
}

async fn care_view(
    state: &AppState,
    practice_id: i64,
    patient_id: i64,
    tz: &Option<stride_core::tz::TimeZoneName>,
) -> Result<CareView, AppError> {
    let c = state.store.coverage(practice_id, patient_id).await?;
    let payers = state.store.payers(practice_id).await?;
    let mut coverage = vec![
        (
            String::new(),
            "Not recorded".to_string(),
            !c.self_pay && c.payer_id.is_none(),
        ),
        ("self".to_string(), "Self-pay".to_string(), c.self_pay),
    ];
    coverage.extend(payers.iter().map(|x| {
        (
            x.id.to_string(),
            format!("{} ({})", x.name, x.status.label().to_lowercase()),
            c.payer_id == Some(x.id),
        )
    }));
    let today = jiff::Timestamp::now()
        .to_zoned_datetime(
            tz.as_ref()
                .map(|t| t.tz())
                .unwrap_or(jiff::tz::TimeZone::UTC),
        )
        .date()
        .to_string();
    let mut warning = None;
    let authorizations = state
        .store
        .authorizations(practice_id, patient_id)
        .await?
        .into_iter()
        .map(|a| {
            let left = a.visits - a.used;
            let current = a.starts_on <= today && today <= a.ends_on;
            let note = if left < 0 {
                format!("{} visits booked past it", -left)
            } else if current
                && stride_core::care::authorization_low(a.visits as u32, a.used as u32)
            {
                format!("{left} left: ask the payer for more")
            } else if today > a.ends_on {
                "ended".to_string()
            } else {
                String::new()
            };
            if warning.is_none() && current && !note.is_empty() {
                warning = Some(format!(
                    "Authorization ({} visits to {}): {note}.",
                    a.visits, a.ends_on
                ));
            }
            (
                a.visits,
                a.starts_on,
                a.ends_on,
                a.reference,
                a.used,
                left.max(0),
                note,
            )
        })
        .collect();
    Ok(CareView {
        coverage,
        referrals: stride_store::care::REFERRALS
            .iter()
            .map(|(k, label)| (*k, *label, c.referral == *k))
            .collect(),
        plan: c.plan.clone(),
        physician: c.referring_physician.unwrap_or_default(),
        authorizations,
        warning,
        lead: None,
    })
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct CoverageForm {
    coverage: String,
    plan: String,
    referral: String,
    physician: String,
}

pub async fn save_coverage(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<i64>,
    Form(f): Form<CoverageForm>,
) -> PageResult {
    p.require(Permission::EditPatients)?;
    let c = stride_store::care::Coverage {
        payer_id: f.coverage.parse().ok(),
        self_pay: f.coverage == "self",
        plan: f.plan.trim().to_string(),
        referral: f.referral.trim().to_string(),
        referring_physician: Some(f.physician.trim().to_string()).filter(|s| !s.is_empty()),
    };
    state
        .store
        .set_coverage(p.practice_id, id, &c, &p.actor)
        .await?;
    Ok(redirect_done(&format!("/app/patients/{id}"), "patient"))
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct AuthorizationForm {
    visits: String,
    starts_on: String,
    ends_on: String,
    reference: String,
}

pub async fn add_authorization(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<i64>,
    Form(f): Form<AuthorizationForm>,
) -> PageResult {
    p.require(Permission::EditPatients)?;
    let result = async {
        let visits: i64 =
            f.visits.trim().parse().map_err(|_| {
                AppError::invalid("the number of visits authorized should be a number")
            })?;
        let date = |label: &str, v: &str| -> Result<jiff::civil::Date, AppError> {
            v.trim().parse().map_err(|_| {
                AppError::invalid(format!("the {label} date should look like 2026-12-01"))
            })
        };
        let payer = state.store.coverage(p.practice_id, id).await?.payer_id;
        state
            .store
            .add_authorization(
                p.practice_id,
                id,
                payer,
                visits,
                date("first", &f.starts_on)?,
                date("last", &f.ends_on)?,
                &f.reference,
                &p.actor,
            )
            .await?;
        Ok::<_, AppError>(())
    }
    .await;
    match result {
        Ok(()) => Ok(redirect_done(&format!("/app/patients/{id}"), "patient")),
        Err(e) => Err(AppError::Unprocessable(form_error(e)?)),
    }
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct MergeForm {
    duplicate: String,
}

/// Merges another record (a duplicate) into this one.
pub async fn merge(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<i64>,
    Form(f): Form<MergeForm>,
) -> PageResult {
    p.require(Permission::EditPatients)?;
    let duplicate: i64 = f
        .duplicate
        .trim()
        .trim_start_matches('#')
        .parse()
        .map_err(|_| {
            AppError::invalid("give the patient number of the duplicate, for example 31")
        })?;
    state
        .store
        .merge_patients(p.practice_id, id, duplicate, &p.actor)
        .await?;
    Ok(redirect_done(&format!("/app/patients/{id}"), "merged"))
}
