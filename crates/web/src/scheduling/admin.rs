//! Staff pages around booking: Settings → Booking and deposits (the policy and the visit types),
//! Settings → Payers (the credentialing board and the directory), the deposits page (the ledger
//! and its consistency report), and recording what became of an appointment.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect};
use axum::{Extension, Form};
use serde::Deserialize;
use stride_core::deposits::{Attendance, DepositStatus, dollars};
use stride_core::payers::{BillingModel, Credentialing};
use stride_core::role::Permission;
use stride_store::deposits::{BookingSettings, Consistency, LedgerRow, METHODS};
use stride_store::payers::{Payer, PayerUpdate};
use stride_store::scheduling::AppointmentType;

use crate::AppState;
use crate::auth::Principal;
use crate::error::{AppError, PageResult};
use crate::pages::settings::{SubNav, subnav};
use crate::pages::{
    Done, Layout, form_error, layout, local_time, practice_tz, redirect_done, render, unprocessable,
};

/// "25", "25.50" or "$1,000" → cents.
fn parse_dollars(label: &str, s: &str) -> Result<i64, AppError> {
    let t = s.trim().trim_start_matches('$').replace(',', "");
    if t.is_empty() {
        return Ok(0);
    }
    let (whole, frac) = t.split_once('.').unwrap_or((&t, ""));
    let whole: i64 = whole.parse().map_err(|_| {
        AppError::invalid(format!("the {label} should be an amount like 25 or 25.50"))
    })?;
    let frac: i64 = match frac.len() {
        0 => 0,
        1 => frac.parse::<i64>().map(|f| f * 10).unwrap_or(-1),
        2 => frac.parse().unwrap_or(-1),
        _ => -1,
    };
    if frac < 0 || whole < 0 {
        return Err(AppError::invalid(format!(
            "the {label} should be an amount like 25 or 25.50"
        )));
    }
    Ok(whole * 100 + frac)
}

fn cents_field(c: i64) -> String {
    if c % 100 == 0 {
        (c / 100).to_string()
    } else {
        format!("{}.{:02}", c / 100, c % 100)
    }
}

// ---- Settings → Booking and deposits ----

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct PolicyForm {
    billing_model: String,
    deposit_enabled: Option<String>,
    deposit: String,
    refundable_hours: String,
    min_notice_hours: String,
    horizon_days: String,
    reminder_hours: String,
    quiet_hours: String,
}

impl PolicyForm {
    fn from_settings(s: &BookingSettings) -> PolicyForm {
        PolicyForm {
            billing_model: s.billing_model.as_str().into(),
            deposit_enabled: s.deposit_enabled.then(|| "on".into()),
            deposit: cents_field(s.policy.amount_cents),
            refundable_hours: s.policy.refundable_hours.to_string(),
            min_notice_hours: cents_field(s.min_notice_min * 100 / 60),
            horizon_days: s.horizon_days.to_string(),
            reminder_hours: s
                .reminder_hours
                .iter()
                .map(|h| h.to_string())
                .collect::<Vec<_>>()
                .join(", "),
            quiet_hours: s.quiet_hours.clone(),
        }
    }

    fn parse(&self, before: &BookingSettings) -> Result<BookingSettings, AppError> {
        let int = |label: &str, v: &str| -> Result<i64, AppError> {
            v.trim()
                .parse()
                .map_err(|_| AppError::invalid(format!("the {label} should be a whole number")))
        };
        let quiet = self.quiet_hours.trim();
        if !quiet.is_empty() {
            stride_core::reminders::QuietHours::parse(quiet).map_err(AppError::invalid)?;
        }
        let reminder_hours = self
            .reminder_hours
            .split([',', ' '])
            .filter(|h| !h.trim().is_empty())
            .map(|h| int("reminder hours", h))
            .collect::<Result<Vec<_>, _>>()?;
        let notice = parse_dollars("notice", &self.min_notice_hours)? * 60 / 100;
        Ok(BookingSettings {
            billing_model: BillingModel::parse(&self.billing_model)
                .ok_or_else(|| AppError::invalid("choose how the practice is paid"))?,
            deposit_enabled: self.deposit_enabled.is_some(),
            policy: stride_core::deposits::Policy {
                amount_cents: parse_dollars("deposit", &self.deposit)?,
                refundable_hours: int("refund window", &self.refundable_hours)?,
            },
            deposit_started_at: before.deposit_started_at,
            min_notice_min: notice,
            horizon_days: int("booking horizon", &self.horizon_days)?,
            reminder_hours,
            quiet_hours: quiet.to_string(),
        })
    }
}

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct TypeForm {
    name: String,
    duration_min: String,
    buffer_before_min: String,
    buffer_after_min: String,
    cash_price: String,
    deposit_applies: Option<String>,
    new_patient: Option<String>,
    active: Option<String>,
    reminder_hours: String,
}

impl TypeForm {
    fn parse(&self) -> Result<AppointmentType, AppError> {
        let int = |label: &str, v: &str| -> Result<i64, AppError> {
            match v.trim() {
                "" => Ok(0),
                v => v.parse().map_err(|_| {
                    AppError::invalid(format!("the {label} should be minutes, e.g. 15"))
                }),
            }
        };
        Ok(AppointmentType {
            id: 0,
            name: self.name.trim().to_string(),
            duration_min: int("length", &self.duration_min)?,
            buffer_before_min: int("buffer before", &self.buffer_before_min)?,
            buffer_after_min: int("buffer after", &self.buffer_after_min)?,
            cash_price_cents: parse_dollars("cash price", &self.cash_price)?,
            deposit_applies: self.deposit_applies.is_some(),
            new_patient: self.new_patient.is_some(),
            active: self.active.is_some(),
            reminder_hours: stride_store::scheduling::parse_hours_list(&self.reminder_hours)?,
        })
    }
}

#[derive(Template)]
#[template(path = "settings_booking.html")]
struct BookingPage {
    l: Layout,
    nav: SubNav,
    f: PolicyForm,
    models: Vec<(&'static str, &'static str)>,
    started: String,
    /// (type, cash price, its own reminder hours or empty)
    types: Vec<(AppointmentType, String, String)>,
    new_type: TypeForm,
    booking_link: String,
    stripe_connected: bool,
    webhook_url: String,
    can_edit: bool,
    error: Option<String>,
}

async fn booking_page(
    state: &AppState,
    p: &Principal,
    done: &Done,
    f: Option<PolicyForm>,
    new_type: Option<TypeForm>,
    error: Option<String>,
) -> PageResult {
    p.require(Permission::ViewSchedule)?;
    let l = layout(state, p, "settings", done).await?;
    let settings = state.store.booking_settings(p.practice_id).await?;
    let tz = practice_tz(state, p.practice_id).await?;
    let practice = state.store.practice(p.practice_id).await?;
    let page = BookingPage {
        l,
        nav: subnav(p, "booking"),
        f: f.unwrap_or_else(|| PolicyForm::from_settings(&settings)),
        models: BillingModel::ALL
            .iter()
            .map(|m| (m.as_str(), m.label()))
            .collect(),
        started: settings
            .deposit_started_at
            .map(|t| local_time(t, &tz))
            .unwrap_or_default(),
        types: state
            .store
            .appointment_types(p.practice_id)
            .await?
            .into_iter()
            .map(|t| {
                let price = cents_field(t.cash_price_cents);
                let hours = t
                    .reminder_hours
                    .as_ref()
                    .map(|h| {
                        h.iter()
                            .map(|x| x.to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    })
                    .unwrap_or_default();
                (t, price, hours)
            })
            .collect(),
        new_type: new_type.unwrap_or(TypeForm {
            duration_min: "45".into(),
            buffer_after_min: "15".into(),
            active: Some("on".into()),
            ..TypeForm::default()
        }),
        booking_link: format!("/p/{}/book", practice.slug),
        stripe_connected: state.store.stripe_keys(p.practice_id).await?.is_some(),
        webhook_url: format!(
            "{}/hooks/stripe",
            state
                .config
                .public_url
                .as_deref()
                .unwrap_or("https://YOUR-STRIDE-ADDRESS")
                .trim_end_matches('/')
        ),
        can_edit: p.can(Permission::ManagePractice),
        error: error.clone(),
    };
    if error.is_some() {
        unprocessable(&page)
    } else {
        render(&page)
    }
}

pub async fn booking(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(done): Query<Done>,
) -> PageResult {
    booking_page(&state, &p, &done, None, None, None).await
}

pub async fn save_booking(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Form(f): Form<PolicyForm>,
) -> PageResult {
    p.require(Permission::ManagePractice)?;
    let result = async {
        let before = state.store.booking_settings(p.practice_id).await?;
        let s = f.parse(&before)?;
        Ok::<_, AppError>(
            state
                .store
                .set_booking_settings(p.practice_id, &s, &p.actor)
                .await?,
        )
    }
    .await;
    match result {
        Ok(_) => Ok(redirect_done("/app/settings/booking", "booking")),
        Err(e) => {
            let msg = form_error(e)?;
            booking_page(&state, &p, &Done::default(), Some(f), None, Some(msg)).await
        }
    }
}

pub async fn save_type(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    id: Option<Path<i64>>,
    Form(f): Form<TypeForm>,
) -> PageResult {
    p.require(Permission::ManagePractice)?;
    let id = id.map(|Path(id)| id);
    let result = async {
        let t = f.parse()?;
        Ok::<_, AppError>(
            state
                .store
                .save_appointment_type(p.practice_id, id, &t, &p.actor)
                .await?,
        )
    }
    .await;
    match result {
        Ok(_) => Ok(redirect_done("/app/settings/booking", "visit_type")),
        Err(e) => {
            let msg = form_error(e)?;
            let keep = id.is_none().then_some(f);
            booking_page(&state, &p, &Done::default(), None, keep, Some(msg)).await
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct StripeForm {
    secret_key: String,
    webhook_secret: String,
    disconnect: Option<String>,
}

/// Connects (or disconnects) Stripe for deposits paid online. Empty fields keep what is stored.
pub async fn save_stripe(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Form(f): Form<StripeForm>,
) -> PageResult {
    p.require(Permission::ManagePractice)?;
    let keep = |v: &str| Some(v.trim()).filter(|v| !v.is_empty()).map(str::to_string);
    let (secret, webhook) = if f.disconnect.is_some() {
        (Some(String::new()), Some(String::new()))
    } else {
        (keep(&f.secret_key), keep(&f.webhook_secret))
    };
    match state
        .store
        .set_stripe_keys(
            p.practice_id,
            secret.as_deref(),
            webhook.as_deref(),
            &p.actor,
        )
        .await
    {
        Ok(()) => Ok(redirect_done("/app/settings/booking", "stripe")),
        Err(e) => {
            let msg = form_error(e.into())?;
            booking_page(&state, &p, &Done::default(), None, None, Some(msg)).await
        }
    }
}

// ---- Settings → Payers ----

#[derive(Template)]
#[template(path = "settings_payers.html")]
struct PayersPage {
    l: Layout,
    nav: SubNav,
    /// In progress, soonest expected first: (payer, submitted, expected, days to go, overdue).
    pending: Vec<(Payer, String, String, String, bool)>,
    /// (payer, average reimbursement, its other names)
    payers: Vec<(Payer, String, String)>,
    counts: Vec<(&'static str, usize)>,
    statuses: Vec<(&'static str, &'static str)>,
    can_edit: bool,
    error: Option<String>,
}

async fn payers_page(
    state: &AppState,
    p: &Principal,
    done: &Done,
    error: Option<String>,
) -> PageResult {
    p.require(Permission::ViewSchedule)?;
    let l = layout(state, p, "settings", done).await?;
    let payers = state.store.payers(p.practice_id).await?;
    let tz = practice_tz(state, p.practice_id).await?;
    let today = match &tz {
        Some(tz) => jiff::Timestamp::now().to_zoned_datetime(tz.tz()).date(),
        None => jiff::Timestamp::now()
            .to_zoned_datetime(jiff::tz::TimeZone::UTC)
            .date(),
    };
    let pretty = |d: &Option<String>| {
        d.as_deref()
            .and_then(|d| d.parse::<jiff::civil::Date>().ok())
            .map(|d| d.strftime("%b %-d, %Y").to_string())
            .unwrap_or_else(|| "—".into())
    };
    let mut pending: Vec<_> = payers
        .iter()
        .filter(|x| x.status == Credentialing::InProgress)
        .map(|x| {
            let expected = x
                .expected_on
                .as_deref()
                .and_then(|d| d.parse::<jiff::civil::Date>().ok());
            let (due, overdue) = match expected {
                Some(e) => {
                    let days = (e - today).get_days();
                    match days {
                        d if d < 0 => (format!("{} days overdue", -d), true),
                        0 => ("due today".into(), false),
                        1 => ("due tomorrow".into(), false),
                        d => (format!("in {d} days"), false),
                    }
                }
                None => ("no date expected yet".into(), false),
            };
            (
                x.clone(),
                pretty(&x.submitted_on),
                pretty(&x.expected_on),
                due,
                overdue,
            )
        })
        .collect();
    pending.sort_by(|a, b| {
        (a.0.expected_on.is_none(), &a.0.expected_on)
            .cmp(&(b.0.expected_on.is_none(), &b.0.expected_on))
    });
    let counts = Credentialing::ALL
        .iter()
        .map(|c| (c.label(), payers.iter().filter(|x| x.status == *c).count()))
        .collect();
    let page = PayersPage {
        l,
        nav: subnav(p, "payers"),
        pending,
        payers: payers
            .into_iter()
            .map(|x| {
                let r = x
                    .avg_reimbursement_cents
                    .map(cents_field)
                    .unwrap_or_default();
                let aka = x
                    .aliases
                    .iter()
                    .filter(|a| **a != x.name)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ");
                (x, r, aka)
            })
            .collect(),
        counts,
        statuses: Credentialing::ALL
            .iter()
            .map(|c| (c.as_str(), c.label()))
            .collect(),
        can_edit: p.can(Permission::ManagePractice),
        error: error.clone(),
    };
    if error.is_some() {
        unprocessable(&page)
    } else {
        render(&page)
    }
}

pub async fn payers(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(done): Query<Done>,
) -> PageResult {
    payers_page(&state, &p, &done, None).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct NewPayerForm {
    name: String,
    aliases: String,
    plan_types: String,
}

fn split_aliases(s: &str) -> Vec<String> {
    s.split([',', ';', '\n'])
        .map(|a| a.trim().to_string())
        .filter(|a| !a.is_empty())
        .collect()
}

pub async fn add_payer(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Form(f): Form<NewPayerForm>,
) -> PageResult {
    p.require(Permission::ManagePractice)?;
    match state
        .store
        .add_payer(
            p.practice_id,
            &f.name,
            &split_aliases(&f.aliases),
            &f.plan_types,
            &p.actor,
        )
        .await
    {
        Ok(_) => Ok(redirect_done("/app/settings/payers", "payer")),
        Err(e) => {
            let msg = form_error(e.into())?;
            payers_page(&state, &p, &Done::default(), Some(msg)).await
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct PayerForm {
    status: String,
    submitted_on: String,
    expected_on: String,
    avg_reimbursement: String,
    plan_types: String,
    note: String,
    aliases: String,
}

pub async fn update_payer(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<i64>,
    Form(f): Form<PayerForm>,
) -> PageResult {
    p.require(Permission::ManagePractice)?;
    let result = async {
        let date = |label: &str, v: &str| -> Result<Option<jiff::civil::Date>, AppError> {
            match v.trim() {
                "" => Ok(None),
                v => v.parse().map(Some).map_err(|_| {
                    AppError::invalid(format!("the {label} date should look like 2026-12-01"))
                }),
            }
        };
        let u = PayerUpdate {
            status: Some(
                Credentialing::parse(&f.status)
                    .ok_or_else(|| AppError::invalid("choose a status"))?,
            ),
            submitted_on: date("submitted", &f.submitted_on)?,
            expected_on: date("expected", &f.expected_on)?,
            avg_reimbursement_cents: match f.avg_reimbursement.trim() {
                "" => None,
                v => Some(parse_dollars("average reimbursement", v)?),
            },
            plan_types: f.plan_types.clone(),
            note: f.note.clone(),
        };
        state
            .store
            .update_payer(p.practice_id, id, &u, &p.actor)
            .await?;
        let aliases = split_aliases(&f.aliases);
        if !aliases.is_empty() {
            state
                .store
                .add_payer_aliases(p.practice_id, id, &aliases, &p.actor)
                .await?;
        }
        Ok::<_, AppError>(())
    }
    .await;
    match result {
        Ok(()) => Ok(redirect_done("/app/settings/payers", "payer")),
        Err(e) => {
            let msg = form_error(e)?;
            payers_page(&state, &p, &Done::default(), Some(msg)).await
        }
    }
}

// ---- Deposits ----

#[derive(Template)]
#[template(path = "deposits.html")]
struct DepositsPage {
    l: Layout,
    c: Consistency,
    policy_on: bool,
    policy: String,
    started: String,
    /// (row, visit time, clinician, amount)
    rows: Vec<(LedgerRow, String, String, String)>,
    totals: Vec<(String, i64, String)>,
    methods: Vec<(&'static str, &'static str)>,
    waived: Vec<(String, String, String, String)>,
    /// Waivers per staff member, most first.
    waivers_by: Vec<(String, usize)>,
    missing: Vec<(String, String, String)>,
    can_edit: bool,
    error: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct DepositsQuery {
    done: Option<String>,
}

async fn deposits_page(
    state: &AppState,
    p: &Principal,
    error: Option<String>,
    done: Option<String>,
) -> PageResult {
    p.require(Permission::EditSchedule)?;
    let mut l = layout(state, p, "schedule", &Done::default()).await?;
    l.flash = match done.as_deref() {
        Some("deposit") => Some("Deposit updated; the step is kept with your name."),
        _ => None,
    };
    let tz = practice_tz(state, p.practice_id).await?;
    let now = jiff::Timestamp::now().as_millisecond();
    let settings = state.store.booking_settings(p.practice_id).await?;
    let c = state.store.deposit_consistency(p.practice_id, now).await?;
    let clinicians = state.store.clinicians(p.practice_id).await?;
    let rows = state
        .store
        .deposit_ledger(p.practice_id, now - 30 * 86_400_000, now + 90 * 86_400_000)
        .await?
        .into_iter()
        .map(|r| {
            let when = local_time(r.appointment_starts_at, &tz);
            let who = clinicians
                .iter()
                .find(|c| c.id == r.clinician_id)
                .map(|c| c.name.clone())
                .unwrap_or_default();
            let amount = dollars(r.deposit.amount_cents);
            (r, when, who, amount)
        })
        .collect();
    let mut waivers_by: Vec<(String, usize)> = Vec::new();
    for e in &c.waived {
        match waivers_by.iter_mut().find(|(who, _)| *who == e.waived_by) {
            Some(w) => w.1 += 1,
            None => waivers_by.push((e.waived_by.clone(), 1)),
        }
    }
    waivers_by.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let page = DepositsPage {
        l,
        waivers_by,
        totals: c
            .by_status
            .iter()
            .map(|(s, n, cents)| (s.label().to_string(), *n, dollars(*cents)))
            .collect(),
        waived: c
            .waived
            .iter()
            .map(|e| {
                (
                    local_time(e.starts_at, &tz),
                    e.type_name.clone(),
                    e.waived_by.clone(),
                    e.note.clone(),
                )
            })
            .collect(),
        missing: c
            .missing
            .iter()
            .map(|e| {
                (
                    local_time(e.starts_at, &tz),
                    e.type_name.clone(),
                    local_time(e.booked_at, &tz),
                )
            })
            .collect(),
        c,
        policy_on: settings.deposit_enabled,
        policy: settings.policy.disclosure(),
        started: settings
            .deposit_started_at
            .map(|t| local_time(t, &tz))
            .unwrap_or_default(),
        rows,
        methods: METHODS.to_vec(),
        can_edit: p.can(Permission::EditSchedule),
        error: error.clone(),
    };
    if error.is_some() {
        unprocessable(&page)
    } else {
        render(&page)
    }
}

pub async fn deposits(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(q): Query<DepositsQuery>,
) -> PageResult {
    deposits_page(&state, &p, None, q.done).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct DepositForm {
    to: String,
    method: String,
    note: String,
}

pub async fn move_deposit(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<i64>,
    Form(f): Form<DepositForm>,
) -> PageResult {
    p.require(Permission::EditSchedule)?;
    let to = DepositStatus::parse(&f.to).ok_or_else(|| AppError::invalid("choose a step"))?;
    match state
        .store
        .move_deposit(
            p.practice_id,
            id,
            to,
            &f.method,
            &f.note,
            None,
            None,
            &p.actor,
        )
        .await
    {
        Ok(_) => Ok(Redirect::to("/app/deposits?done=deposit").into_response()),
        Err(e) => {
            let msg = form_error(e.into())?;
            deposits_page(&state, &p, Some(msg), None).await
        }
    }
}

// ---- Attendance ----

#[derive(Deserialize)]
pub struct AttendanceForm {
    status: String,
    location: i64,
    date: String,
}

/// Check in, complete, no-show or late cancel from the day view.
pub async fn set_attendance(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<i64>,
    Form(f): Form<AttendanceForm>,
) -> PageResult {
    p.require(Permission::EditSchedule)?;
    let to =
        Attendance::parse(&f.status).ok_or_else(|| AppError::invalid("choose what happened"))?;
    state
        .store
        .set_attendance(p.practice_id, id, to, None, &p.actor)
        .await?;
    Ok(Redirect::to(&format!(
        "/app/schedule?location={}&date={}&done={}",
        f.location,
        f.date,
        to.as_str()
    ))
    .into_response())
}
