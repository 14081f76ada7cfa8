//! The public, mobile-first booking page (`/p/{practice}/book`) and the patient's manage link
//! (`/p/{practice}/manage/{secret}`). Three steps on one page, each a plain GET so the back button
//! and a shared link work: the visit (service, location, clinician or anyone), the time, then the
//! patient's details with their insurance (in network or not, said next to each plan) and the
//! deposit disclosure before they confirm. A booking counts as the "Online Booking" website
//! conversion on the visitor's visit and carries the visit's source into the lead.

use askama::Template;
use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use stride_core::deposits::{Attendance, DepositStatus, dollars};
use stride_core::email::EmailAddress;
use stride_core::leads::Origin;
use stride_core::payers::{BillingModel, Credentialing};
use stride_core::phone::PhoneE164;
use stride_core::tz::TimeZoneName;
use stride_store::audit::Actor;
use stride_store::booking::OnlineBooking;
use stride_store::leads::{Basis, LeadInput};
use stride_store::patients::PatientInput;
use stride_store::scheduling::{AppointmentType, BookingError, NewAppointment, ONLINE};
use stride_store::tenancy::Practice;

use crate::AppState;
use crate::auth::client_ip;
use crate::error::{AppError, PageResult};
use crate::leads::form::{record_conversion, touch_of, visitor_touch};
use crate::pages::render;

/// How many live visits one phone number may book online in a day; more go through the front desk.
const MAX_ONLINE_BOOKINGS_PER_DAY: i64 = 3;

/// The website event (and lead-action goal) a completed online booking records.
pub const ONLINE_BOOKING: &str = "Online Booking";

/// A number from a form or query, where an empty field (a select's "Anyone") means none.
fn blank_is_none<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let s: Option<String> = Option::deserialize(d)?;
    match s.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => v.parse().map(Some).map_err(serde::de::Error::custom),
    }
}

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct BookQuery {
    #[serde(rename = "type", deserialize_with = "blank_is_none")]
    pub type_id: Option<i64>,
    #[serde(deserialize_with = "blank_is_none")]
    pub location: Option<i64>,
    /// The clinician asked for; none for anyone.
    #[serde(deserialize_with = "blank_is_none")]
    pub clinician: Option<i64>,
    /// The chosen time and the clinician who has it.
    #[serde(deserialize_with = "blank_is_none")]
    pub start: Option<i64>,
    #[serde(deserialize_with = "blank_is_none")]
    pub with: Option<i64>,
    /// Show days from this local date on (YYYY-MM-DD).
    pub from: Option<String>,
    /// The day whose times are shown (YYYY-MM-DD); the first with open times by default.
    pub day: Option<String>,
}

/// What the patient typed in step 3, kept as typed so a mistake loses nothing.
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct BookForm {
    #[serde(rename = "type")]
    pub type_id: i64,
    pub location: i64,
    #[serde(deserialize_with = "blank_is_none")]
    pub clinician: Option<i64>,
    pub start: i64,
    pub with: i64,
    pub first_name: String,
    pub last_name: String,
    pub phone: String,
    pub email: String,
    /// "self", a payer id, or "other".
    pub payer: String,
    pub payer_other: String,
    pub member_id: String,
    pub sms_consent: Option<String>,
    pub email_consent: Option<String>,
    pub policy_ok: Option<String>,
    /// A honeypot.
    pub website: String,
}

pub struct DaySlots {
    pub label: String,
    /// (link, time label, aria label)
    pub slots: Vec<(String, String, String)>,
}

pub struct PayerOption {
    pub value: String,
    pub label: String,
    pub status: String,
}

#[derive(Template)]
#[template(path = "book.html")]
struct BookPage {
    practice: String,
    slug: String,
    step: u8,
    types: Vec<(i64, String, String)>,
    type_id: i64,
    locations: Vec<(i64, String)>,
    location_id: i64,
    clinicians: Vec<(i64, String)>,
    clinician_id: i64,
    days: Vec<DaySlots>,
    /// (link, weekday, date, selected)
    day_tabs: Vec<(String, String, String, bool)>,
    day_label: String,
    earliest: String,
    later: String,
    summary: String,
    change_time: String,
    payers: Vec<PayerOption>,
    insurance: bool,
    cash_price: String,
    deposit: Option<(String, String)>,
    f: BookForm,
    error: Option<String>,
    phone: String,
}

struct Ctx {
    practice: Practice,
    types: Vec<AppointmentType>,
    locations: Vec<stride_store::tenancy::Location>,
    clinicians: Vec<stride_store::tenancy::Clinician>,
}

async fn ctx(state: &AppState, slug: &str) -> Result<Ctx, AppError> {
    let practice = state
        .store
        .practice_by_slug(slug)
        .await
        .map_err(|_| AppError::NotFound)?;
    let types = state
        .store
        .appointment_types(practice.id)
        .await?
        .into_iter()
        .filter(|t| t.active)
        .collect();
    let locations = state.store.locations(practice.id).await?;
    let clinicians = state
        .store
        .clinicians(practice.id)
        .await?
        .into_iter()
        .filter(|c| c.active)
        .collect();
    Ok(Ctx {
        practice,
        types,
        locations,
        clinicians,
    })
}

fn tz_of(l: &stride_store::tenancy::Location) -> Result<TimeZoneName, AppError> {
    TimeZoneName::parse(&l.time_zone).map_err(AppError::invalid)
}

fn local(ms: i64, tz: &TimeZoneName, fmt: &str) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.to_zoned_datetime(tz.tz()).strftime(fmt).to_string())
        .unwrap_or_default()
}

fn q_link(slug: &str, q: &BookQuery) -> String {
    let mut s = format!("/p/{slug}/book?");
    let mut add = |k: &str, v: Option<String>| {
        if let Some(v) = v {
            s.push_str(&format!("{k}={v}&"));
        }
    };
    add("type", q.type_id.map(|v| v.to_string()));
    add("location", q.location.map(|v| v.to_string()));
    add("clinician", q.clinician.map(|v| v.to_string()));
    add("start", q.start.map(|v| v.to_string()));
    add("with", q.with.map(|v| v.to_string()));
    add("from", q.from.clone());
    add("day", q.day.clone());
    s.trim_end_matches(['&', '?']).to_string()
}

/// The page for a query (and, after a failed submit, the form and the error).
async fn page(
    state: &AppState,
    slug: &str,
    q: BookQuery,
    f: Option<BookForm>,
    error: Option<String>,
) -> PageResult {
    let c = ctx(state, slug).await?;
    let settings = state.store.booking_settings(c.practice.id).await?;
    let Some(location) = q
        .location
        .and_then(|id| c.locations.iter().find(|l| l.id == id))
        .or(c.locations.first())
    else {
        return Err(AppError::NotFound);
    };
    let tz = tz_of(location)?;
    let phone = PhoneE164::parse(&location.main_phone)
        .map(|p| p.national_display())
        .unwrap_or_default();
    let chosen_type = q.type_id.and_then(|id| c.types.iter().find(|t| t.id == id));
    let clinician = q
        .clinician
        .filter(|id| c.clinicians.iter().any(|x| x.id == *id));
    let name_of = |id: i64| {
        c.clinicians
            .iter()
            .find(|x| x.id == id)
            .map(|x| x.name.clone())
            .unwrap_or_default()
    };
    let mut step = 1;
    let mut days = Vec::new();
    let mut day_tabs = Vec::new();
    let mut day_label = String::new();
    let mut earliest = String::new();
    let mut later = String::new();
    let mut summary = String::new();
    let mut change_time = String::new();
    if let Some(t) = chosen_type {
        step = 2;
        let now = jiff::Timestamp::now().as_millisecond();
        let from_day = q
            .from
            .as_deref()
            .and_then(|d| d.parse::<jiff::civil::Date>().ok());
        let from_ms = from_day
            .and_then(|d| d.to_zoned_datetime(tz.tz()).ok())
            .map(|z| z.timestamp().as_millisecond())
            .unwrap_or(now);
        let slots = state
            .store
            .online_slots(c.practice.id, t.id, location.id, clinician, now)
            .await?;
        if let Some((w, s)) = slots.first() {
            earliest = format!(
                "{} with {}",
                local(s.start, &tz, "%A, %B %-d at %-I:%M %p"),
                name_of(*w)
            );
        }
        // Anyone: one button per time, with the first clinician free then.
        let mut seen = std::collections::HashSet::new();
        let open: Vec<_> = slots
            .iter()
            .filter(|(_, s)| s.start >= from_ms && seen.insert(s.start))
            .collect();
        // Two weeks of days with open times as tabs, and the chosen day's times by part of day.
        let day_of = |ms: i64| local(ms, &tz, "%Y-%m-%d");
        let mut dates: Vec<(String, i64)> = Vec::new();
        for (_, s) in &open {
            let d = day_of(s.start);
            if dates.last().is_none_or(|(x, _)| *x != d) {
                if dates.len() == 14 {
                    later = q_link(
                        slug,
                        &BookQuery {
                            from: Some(d),
                            day: None,
                            start: None,
                            with: None,
                            ..q.clone()
                        },
                    );
                    break;
                }
                dates.push((d, s.start));
            }
        }
        let selected = q
            .day
            .clone()
            .filter(|d| dates.iter().any(|(x, _)| x == d))
            .or(dates.first().map(|(d, _)| d.clone()));
        for (d, first) in &dates {
            day_tabs.push((
                q_link(
                    slug,
                    &BookQuery {
                        location: Some(location.id),
                        day: Some(d.clone()),
                        start: None,
                        with: None,
                        ..q.clone()
                    },
                ),
                local(*first, &tz, "%a"),
                local(*first, &tz, "%b %-d"),
                selected.as_ref() == Some(d),
            ));
            if selected.as_ref() == Some(d) {
                day_label = local(*first, &tz, "%A, %B %-d");
            }
        }
        for (w, s) in open
            .iter()
            .filter(|(_, s)| selected.as_deref() == Some(day_of(s.start).as_str()))
        {
            let hour: i64 = local(s.start, &tz, "%H").parse().unwrap_or(0);
            let part = match hour {
                0..12 => "Morning",
                12..17 => "Afternoon",
                _ => "Evening",
            };
            if days.last().is_none_or(|d: &DaySlots| d.label != part) {
                days.push(DaySlots {
                    label: part.to_string(),
                    slots: Vec::new(),
                });
            }
            let link = q_link(
                slug,
                &BookQuery {
                    location: Some(location.id),
                    start: Some(s.start),
                    with: Some(*w),
                    ..q.clone()
                },
            );
            let time = local(s.start, &tz, "%-I:%M %p");
            let aria = format!("{day_label}, {time}, with {}", name_of(*w));
            days.last_mut()
                .expect("a part was pushed")
                .slots
                .push((link, time, aria));
        }
        if let (Some(start), Some(w)) = (q.start, q.with)
            && c.clinicians.iter().any(|x| x.id == w)
        {
            step = 3;
            summary = format!(
                "{} · {} · with {} · {}",
                t.name,
                local(start, &tz, "%A, %B %-d at %-I:%M %p"),
                name_of(w),
                location.name
            );
            change_time = q_link(
                slug,
                &BookQuery {
                    start: None,
                    with: None,
                    ..q.clone()
                },
            );
        }
    }
    let payers = state.store.payers(c.practice.id).await?;
    let insurance = settings.billing_model != BillingModel::CashPay;
    let payer_options = payers
        .iter()
        .filter(|p| p.status != Credentialing::NotAccepted || insurance)
        .map(|p| PayerOption {
            value: p.id.to_string(),
            label: format!("{} — {}", p.name, p.status.label().to_lowercase()),
            status: p.status.for_patient().to_string(),
        })
        .collect();
    let deposit = chosen_type
        .filter(|t| {
            t.deposit_applies && settings.deposit_enabled && settings.policy.amount_cents > 0
        })
        .map(|_| {
            (
                dollars(settings.policy.amount_cents),
                settings.policy.disclosure(),
            )
        });
    let f = f.unwrap_or_else(|| BookForm {
        type_id: q.type_id.unwrap_or_default(),
        location: location.id,
        clinician,
        start: q.start.unwrap_or_default(),
        with: q.with.unwrap_or_default(),
        payer: if insurance {
            String::new()
        } else {
            "self".into()
        },
        ..BookForm::default()
    });
    let page = BookPage {
        practice: c.practice.name.clone(),
        slug: c.practice.slug.clone(),
        step,
        types: c
            .types
            .iter()
            .map(|t| {
                (
                    t.id,
                    t.name.clone(),
                    format!(
                        "{} minutes{}",
                        t.duration_min,
                        if t.cash_price_cents > 0 {
                            format!(" · self-pay {}", dollars(t.cash_price_cents))
                        } else {
                            String::new()
                        }
                    ),
                )
            })
            .collect(),
        type_id: chosen_type.map(|t| t.id).unwrap_or_default(),
        locations: c
            .locations
            .iter()
            .map(|l| (l.id, format!("{} — {}", l.name, l.address)))
            .collect(),
        location_id: location.id,
        clinicians: c
            .clinicians
            .iter()
            .filter(|x| x.location_id.is_none() || x.location_id == Some(location.id))
            .map(|x| (x.id, x.name.clone()))
            .collect(),
        clinician_id: clinician.unwrap_or_default(),
        days,
        day_tabs,
        day_label,
        earliest,
        later,
        summary,
        change_time,
        payers: payer_options,
        insurance,
        cash_price: chosen_type
            .filter(|t| t.cash_price_cents > 0)
            .map(|t| dollars(t.cash_price_cents))
            .unwrap_or_default(),
        deposit,
        f,
        error: error.clone(),
        phone,
    };
    let mut resp = render(&page)?;
    if error.is_some() {
        *resp.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(resp)
}

pub async fn book_page(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Query(q): Query<BookQuery>,
) -> PageResult {
    page(&state, &slug, q, None, None).await
}

impl BookForm {
    fn query(&self) -> BookQuery {
        BookQuery {
            type_id: Some(self.type_id),
            location: Some(self.location),
            clinician: self.clinician,
            start: Some(self.start),
            with: Some(self.with),
            from: None,
            day: None,
        }
    }
}

pub async fn book(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    req: Request,
) -> PageResult {
    let ip = client_ip(&state, &req);
    let user_agent = req
        .headers()
        .get("user-agent")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let axum::Form(f) = axum::Form::<BookForm>::from_request(req, &state)
        .await
        .map_err(|e| AppError::BadRequest(e.body_text()))?;
    let c = ctx(&state, &slug).await?;
    let practice_id = c.practice.id;
    if !f.website.is_empty() {
        metrics::counter!("stride_bookings_dropped_total", "reason" => "honeypot").increment(1);
        return Ok(Redirect::to(&format!("/p/{slug}/book")).into_response());
    }
    let invalid = |msg: String| page(&state, &slug, f.query(), Some(f.clone()), Some(msg));
    let Some(t) = c.types.iter().find(|t| t.id == f.type_id) else {
        return invalid("choose a visit type".into()).await;
    };
    if f.first_name.trim().is_empty() || f.last_name.trim().is_empty() {
        return invalid("please give your first and last name".into()).await;
    }
    let phone = match f.phone.trim() {
        "" => None,
        s => match PhoneE164::parse(s) {
            Ok(p) => Some(p),
            Err(e) => return invalid(e.to_string()).await,
        },
    };
    let email = match f.email.trim() {
        "" => None,
        s => match EmailAddress::parse(s) {
            Ok(e) => Some(e),
            Err(e) => return invalid(e.to_string()).await,
        },
    };
    if phone.is_none() {
        return invalid(
            "please give a mobile number, so the clinic can reach you about the visit".into(),
        )
        .await;
    }
    if let Some(p) = &phone
        && state
            .store
            .recent_online_bookings(practice_id, p, 86_400_000)
            .await?
            >= MAX_ONLINE_BOOKINGS_PER_DAY
    {
        metrics::counter!("stride_bookings_dropped_total", "reason" => "limit").increment(1);
        return invalid(format!(
            "this number already booked {MAX_ONLINE_BOOKINGS_PER_DAY} visits online today; please call the clinic to book more"
        ))
        .await;
    }
    let settings = state.store.booking_settings(practice_id).await?;
    let deposit_applies =
        t.deposit_applies && settings.deposit_enabled && settings.policy.amount_cents > 0;
    if deposit_applies && f.policy_ok.is_none() {
        return invalid("please read the deposit policy and tick the box to accept it".into())
            .await;
    }
    let (payer_id, payer_name, self_pay) = match f.payer.as_str() {
        "self" => (None, "Self-pay".to_string(), true),
        "other" => {
            let typed = f.payer_other.trim();
            if typed.is_empty() {
                return invalid("type the name of your insurance plan, or choose self-pay".into())
                    .await;
            }
            match state.store.find_payer(practice_id, typed).await? {
                Some(p) => (Some(p.id), p.name, false),
                None => (None, typed.chars().take(100).collect(), false),
            }
        }
        id => match id.parse::<i64>() {
            Ok(id) => match state.store.payer(practice_id, id).await {
                Ok(p) => (Some(p.id), p.name, false),
                Err(_) => return invalid("choose your insurance, or self-pay".into()).await,
            },
            Err(_) => return invalid("choose your insurance, or self-pay".into()).await,
        },
    };
    let mut lead = LeadInput::new(Origin::Booking);
    lead.first_name = f.first_name.trim().to_string();
    lead.last_name = f.last_name.trim().to_string();
    lead.phone = phone.clone();
    lead.email = email.clone();
    lead.service = t.name.clone();
    lead.payer = payer_name;
    lead.sms_consent = f.sms_consent.is_some();
    lead.email_consent = f.email_consent.is_some();
    let touch = visitor_touch(&state, practice_id, &ip, &user_agent).await;
    if let Some((_, _, visits)) = &touch {
        let (first, last) = (&visits[0], &visits[visits.len() - 1]);
        lead.basis = Basis::Website;
        lead.touch = touch_of(first);
        lead.last_touch = Some(touch_of(last));
        lead.visit_id = Some(last.id);
    }
    let patient = PatientInput {
        first_name: lead.first_name.clone(),
        last_name: lead.last_name.clone(),
        phone,
        email,
        birth_date: None,
        address: None,
        member_id: Some(f.member_id.trim().to_string()).filter(|m| !m.is_empty() && !self_pay),
        sms_consent: lead.sms_consent,
        email_consent: lead.email_consent,
    };
    let mut appointment = NewAppointment::new(f.location, f.with, t.id, f.start, ONLINE);
    appointment.payer_id = payer_id;
    appointment.self_pay = self_pay;
    let actor = Actor {
        label: "online booking page".into(),
        user_id: None,
        token_id: None,
        ip,
    };
    let booking = OnlineBooking {
        appointment,
        lead,
        patient,
    };
    let booked = match state.store.book_online(practice_id, &booking, &actor).await {
        Ok(b) => b,
        Err(BookingError::Taken(next)) => {
            metrics::counter!("stride_bookings_lost_race_total").increment(1);
            let mut q = f.query();
            q.start = None;
            q.with = None;
            let msg = if next.is_empty() {
                "Sorry, that time was just taken. Please choose another time below.".to_string()
            } else {
                "Sorry, that time was just taken. The next open times are listed below.".to_string()
            };
            return page(&state, &slug, q, Some(f.clone()), Some(msg)).await;
        }
        Err(BookingError::Store(stride_store::StoreError::Invalid(m))) => return invalid(m).await,
        Err(BookingError::Store(e)) => return Err(e.into()),
    };
    if let Some((site, visitor_id, visits)) = touch {
        state
            .store
            .ensure_event_goal(practice_id, "Online booking", ONLINE_BOOKING)
            .await?;
        record_conversion(
            &state,
            &site,
            visitor_id,
            &visits[visits.len() - 1],
            ONLINE_BOOKING,
            format!(r#"{{"type":{}}}"#, serde_json::json!(t.name)),
        );
    }
    metrics::counter!("stride_bookings_total").increment(1);
    let token = booked.appointment.manage_token.unwrap_or_default();
    Ok(Redirect::to(&format!("/p/{slug}/manage/{token}?booked=1")).into_response())
}

#[derive(Template)]
#[template(path = "book_manage.html")]
struct ManagePage {
    practice: String,
    slug: String,
    token: String,
    booked: bool,
    what: String,
    when: String,
    with: String,
    location: String,
    address: String,
    phone: String,
    status: String,
    live: bool,
    confirmed: bool,
    coverage: String,
    deposit: Option<(String, String, String)>,
    /// Cancelling now: refunded or forfeited.
    cancel_note: String,
    can_move: bool,
    /// The deposit is pending and the practice takes payments online.
    can_pay: bool,
    waiting: bool,
    days: Vec<DaySlots>,
    flash: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ManageQuery {
    booked: Option<String>,
    done: Option<String>,
}

/// The appointment a manage link opens, with its practice; 404 for an unknown secret or one
/// presented under another practice's address.
pub(crate) async fn linked_appointment(
    state: &AppState,
    slug: &str,
    token: &str,
) -> Result<(Practice, stride_store::scheduling::Appointment), AppError> {
    let (practice_id, a) = state
        .store
        .appointment_by_token(token)
        .await
        .map_err(|_| AppError::NotFound)?;
    let practice = state
        .store
        .practice_by_slug(slug)
        .await
        .map_err(|_| AppError::NotFound)?;
    if practice.id != practice_id {
        return Err(AppError::NotFound);
    }
    Ok((practice, a))
}

/// Manage pages carry a secret in their address: never cached, indexed or sent on as a referrer.
pub(crate) fn secret_page(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        "x-robots-tag",
        HeaderValue::from_static("noindex, nofollow"),
    );
    resp
}

pub async fn manage(
    State(state): State<AppState>,
    Path((slug, token)): Path<(String, String)>,
    Query(q): Query<ManageQuery>,
) -> PageResult {
    let (practice_id, a) = state
        .store
        .appointment_by_token(&token)
        .await
        .map_err(|_| AppError::NotFound)?;
    let c = ctx(&state, &slug).await?;
    if c.practice.id != practice_id {
        return Err(AppError::NotFound);
    }
    let location = c
        .locations
        .iter()
        .find(|l| l.id == a.location_id)
        .ok_or(AppError::NotFound)?;
    let tz = tz_of(location)?;
    let settings = state.store.booking_settings(practice_id).await?;
    let status = Attendance::parse(&a.status).unwrap_or(Attendance::Booked);
    let now = jiff::Timestamp::now().as_millisecond();
    let live = status.is_live() && a.starts_at > now;
    let in_window = a.starts_at - now >= settings.policy.refundable_hours * 3_600_000;
    let deposit = state.store.deposit_for(practice_id, a.id).await?;
    let coverage = match a.payer_id {
        Some(id) => match state.store.payer(practice_id, id).await {
            Ok(p) => format!("{}: {}", p.name, p.status.for_patient()),
            Err(_) => String::new(),
        },
        None if a.self_pay => "Self-pay".to_string(),
        None => String::new(),
    };
    let type_name = c
        .types
        .iter()
        .find(|t| t.id == a.type_id)
        .map(|t| t.name.clone())
        .unwrap_or_else(|| "Visit".into());
    let mut days: Vec<DaySlots> = Vec::new();
    if live && in_window {
        let slots = state
            .store
            .online_slots(practice_id, a.type_id, a.location_id, None, now)
            .await?;
        let mut seen = std::collections::HashSet::new();
        for (w, s) in slots {
            if s.start - now < settings.policy.refundable_hours * 3_600_000 || !seen.insert(s.start)
            {
                continue;
            }
            let label = local(s.start, &tz, "%A, %B %-d");
            if days.last().is_none_or(|d| d.label != label) {
                if days.len() == 5 {
                    break;
                }
                days.push(DaySlots {
                    label: label.clone(),
                    slots: Vec::new(),
                });
            }
            let time = local(s.start, &tz, "%-I:%M %p");
            days.last_mut().expect("pushed").slots.push((
                format!("{}:{}", s.start, w),
                time.clone(),
                format!("Move to {label}, {time}"),
            ));
        }
    }
    let deposit_view = deposit.map(|(d, _)| {
        let note = match d.status {
            DepositStatus::Pending => {
                "The clinic will take it before your visit (by phone or at the front desk)."
                    .to_string()
            }
            DepositStatus::Collected => {
                "Paid. It will be applied to what you owe for the visit.".to_string()
            }
            DepositStatus::Applied => "Applied to your visit.".to_string(),
            DepositStatus::Refunded => "Refunded.".to_string(),
            DepositStatus::Forfeited => "Kept under the deposit policy.".to_string(),
            DepositStatus::Waived => "Not needed for this visit.".to_string(),
            DepositStatus::Voided => "Not taken.".to_string(),
        };
        (dollars(d.amount_cents), d.status.label().to_string(), note)
    });
    let paid = matches!(
        deposit_view.as_ref().map(|d| d.1.as_str()),
        Some("Collected")
    );
    let can_pay = live
        && deposit_view.as_ref().map(|d| d.1.as_str()) == Some("Pending")
        && state.store.stripe_keys(practice_id).await?.is_some();
    let cancel_note = if !paid {
        String::new()
    } else if in_window {
        "Cancelling now refunds your deposit in full.".into()
    } else {
        format!(
            "It is less than {} hours before your visit: cancelling now forfeits your deposit.",
            settings.policy.refundable_hours
        )
    };
    let flash = match (q.booked.is_some(), q.done.as_deref()) {
        (_, Some("confirmed")) => Some("Thank you: your visit is confirmed.".to_string()),
        (_, Some("cancelled")) => Some("Your visit is cancelled.".to_string()),
        (_, Some("moved")) => Some("Your visit has been moved.".to_string()),
        (_, Some("taken")) => {
            Some("Sorry, that time was just taken: please choose another.".to_string())
        }
        _ => None,
    };
    let resp = render(&ManagePage {
        practice: c.practice.name.clone(),
        slug,
        token,
        booked: q.booked.is_some(),
        what: type_name,
        when: local(a.starts_at, &tz, "%A, %B %-d, %Y at %-I:%M %p"),
        with: c
            .clinicians
            .iter()
            .find(|x| x.id == a.clinician_id)
            .map(|x| x.name.clone())
            .unwrap_or_default(),
        location: location.name.clone(),
        address: location.address.clone(),
        phone: PhoneE164::parse(&location.main_phone)
            .map(|p| p.national_display())
            .unwrap_or_default(),
        status: status.label().to_string(),
        live,
        confirmed: status == Attendance::Confirmed,
        coverage,
        deposit: deposit_view,
        cancel_note,
        can_move: live && in_window,
        can_pay,
        waiting: live && state.store.on_waitlist(practice_id, a.id).await?,
        days,
        flash,
    })?;
    Ok(secret_page(resp))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ManageAction {
    action: String,
    /// "start:clinician" for a move.
    to: String,
}

/// Confirm, cancel or move, from the manage page (or the links in a reminder).
pub async fn manage_action(
    State(state): State<AppState>,
    Path((slug, token)): Path<(String, String)>,
    axum::Form(f): axum::Form<ManageAction>,
) -> PageResult {
    let (practice, a) = linked_appointment(&state, &slug, &token).await?;
    let practice_id = practice.id;
    let actor = Actor {
        label: "patient (manage link)".into(),
        user_id: None,
        token_id: None,
        ip: String::new(),
    };
    let back = |done: &str| {
        Ok(secret_page(
            Redirect::to(&format!("/p/{slug}/manage/{token}?done={done}")).into_response(),
        ))
    };
    let now = jiff::Timestamp::now().as_millisecond();
    match f.action.as_str() {
        "confirm" => {
            state
                .store
                .set_attendance(practice_id, a.id, Attendance::Confirmed, None, &actor)
                .await?;
            back("confirmed")
        }
        "waitlist" => {
            state.store.join_waitlist(practice_id, a.id, &actor).await?;
            back("waitlist")
        }
        "cancel" => {
            let settings = state.store.booking_settings(practice_id).await?;
            let kind = settings.policy.cancellation(a.starts_at, now);
            state
                .store
                .set_attendance(practice_id, a.id, kind, None, &actor)
                .await?;
            back("cancelled")
        }
        "move" => {
            let settings = state.store.booking_settings(practice_id).await?;
            if a.starts_at - now < settings.policy.refundable_hours * 3_600_000 {
                return Err(AppError::invalid(
                    "it is too close to the visit to move it online: please call the clinic",
                ));
            }
            let (start, clinician) =
                f.to.split_once(':')
                    .and_then(|(s, c)| Some((s.parse::<i64>().ok()?, c.parse::<i64>().ok()?)))
                    .ok_or_else(|| AppError::invalid("choose a new time"))?;
            match state
                .store
                .reschedule_appointment(practice_id, a.id, start, Some(clinician), true, &actor)
                .await
            {
                Ok(_) => back("moved"),
                Err(BookingError::Taken(_)) => back("taken"),
                Err(BookingError::Store(e)) => Err(e.into()),
            }
        }
        _ => Err(AppError::invalid("unknown action")),
    }
}

/// A clinician's subscribable calendar (`/calendar/{secret}.ics`): RFC 5545, no patient names.
pub async fn calendar_feed(
    State(state): State<AppState>,
    Path(file): Path<String>,
) -> Result<Response, AppError> {
    let token = file.strip_suffix(".ics").unwrap_or(&file);
    let body = state
        .store
        .calendar_feed(token, jiff::Timestamp::now().as_millisecond())
        .await
        .map_err(|_| AppError::NotFound)?;
    let mut resp = body.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/calendar; charset=utf-8"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        "x-robots-tag",
        HeaderValue::from_static("noindex, nofollow"),
    );
    Ok(resp)
}

#[derive(Template)]
#[template(path = "waitlist_offer.html")]
struct OfferPage {
    practice: String,
    slug: String,
    token: String,
    when: String,
    with: String,
    location: String,
    /// offered, moved, taken
    state: &'static str,
}

async fn offer_page(
    state: &AppState,
    slug: &str,
    token: &str,
    outcome: Option<&'static str>,
) -> PageResult {
    let offer = state
        .store
        .waitlist_offer(token)
        .await
        .map_err(|_| AppError::NotFound)?;
    let c = ctx(state, slug).await?;
    if c.practice.id != offer.practice_id {
        return Err(AppError::NotFound);
    }
    let a = state
        .store
        .appointment(offer.practice_id, offer.appointment_id)
        .await?;
    let location = c
        .locations
        .iter()
        .find(|l| l.id == a.location_id)
        .ok_or(AppError::NotFound)?;
    let tz = tz_of(location)?;
    let state_label = match (outcome, offer.status.as_str()) {
        (Some(o), _) => o,
        (None, "offered") => "offered",
        (None, "accepted") => "moved",
        _ => "taken",
    };
    let resp = render(&OfferPage {
        practice: c.practice.name.clone(),
        slug: slug.to_string(),
        token: token.to_string(),
        when: local(offer.slot_start, &tz, "%A, %B %-d at %-I:%M %p"),
        with: c
            .clinicians
            .iter()
            .find(|x| x.id == offer.clinician_id)
            .map(|x| x.name.clone())
            .unwrap_or_default(),
        location: location.name.clone(),
        state: state_label,
    })?;
    Ok(secret_page(resp))
}

/// A waitlist offer's link: the freed time, and a button to take it.
pub async fn offer(
    State(state): State<AppState>,
    Path((slug, token)): Path<(String, String)>,
) -> PageResult {
    offer_page(&state, &slug, &token, None).await
}

/// Takes the offered time: the first patient to accept gets it.
pub async fn accept_offer(
    State(state): State<AppState>,
    Path((slug, token)): Path<(String, String)>,
) -> PageResult {
    let offer = state
        .store
        .waitlist_offer(&token)
        .await
        .map_err(|_| AppError::NotFound)?;
    let practice = state
        .store
        .practice_by_slug(&slug)
        .await
        .map_err(|_| AppError::NotFound)?;
    if practice.id != offer.practice_id {
        return Err(AppError::NotFound);
    }
    let outcome = match state.store.accept_waitlist_offer(&token).await? {
        stride_store::waitlist::Accepted::Moved(_) => "moved",
        stride_store::waitlist::Accepted::Taken => "taken",
    };
    offer_page(&state, &slug, &token, Some(outcome)).await
}
