//! Server-rendered pages under `/app`: the shared layout (navigation by role, practice switcher,
//! flash messages) and one module per section. Handlers parse, authorize, call the store, render.

pub mod account;
pub mod auth;
pub mod overview;
pub mod patients;
pub mod settings;

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;
use stride_core::role::Permission;

use crate::AppState;
use crate::auth::Principal;
use crate::error::{AppError, PageResult};

pub struct NavItem {
    pub key: &'static str,
    pub label: &'static str,
    pub href: &'static str,
}

/// What every page's frame needs.
pub struct Layout {
    pub practice_id: i64,
    pub practice_name: String,
    pub practices: Vec<(i64, String)>,
    pub user_name: String,
    pub role_label: &'static str,
    pub csrf: String,
    pub section: &'static str,
    pub nav: Vec<NavItem>,
    pub flash: Option<&'static str>,
}

/// Query parameters a page accepts after a redirect: a key naming a fixed message, never data.
#[derive(Debug, Default, Deserialize)]
pub struct Done {
    pub done: Option<String>,
}

fn flash_message(key: Option<&str>) -> Option<&'static str> {
    Some(match key? {
        "practice" => "Practice settings saved.",
        "location" => "Location saved.",
        "holiday" => "Holiday list updated.",
        "clinician" => "Clinician saved.",
        "booking" => "Booking and deposit policy saved. Online booking uses it from now on.",
        "visit_type" => "Visit type saved. New bookings use it; booked visits keep their times.",
        "payer" => "Payer saved.",
        "stripe" => "Stripe settings saved.",
        "time_off" => "Time off saved: those days are no longer offered for booking.",
        "time_off_removed" => "Time off removed: those hours can be booked again.",
        "feed" => {
            "New calendar link made; the old link no longer works. Paste it into the clinician's calendar app as a subscription."
        }
        "user" => "User saved.",
        "user_removed" => "User removed from this practice.",
        "token_revoked" => "Token revoked. Anything using it can no longer sign in.",
        "providers" => "Message providers saved.",
        "test_sent" => "Test message queued. It appears in the message log below.",
        "patient" => "Patient saved.",
        "plan" => "Plan of care saved.",
        "plan_closed" => "Plan of care closed. It counts in the completion report from today.",
        "goal_added" => "Goal added. Visit notes record progress toward it.",
        "flexible" => {
            "Recorded that the patient feels better. Offer the spaced-out dates below instead of stopping."
        }
        "flexible_booked" => "Visits booked at the flexible cadence. Reminders go out as usual.",
        "note_saved" => "Draft saved. Sign it when the visit is documented.",
        "note_signed" => "Note signed and locked. Changes from now on are addenda.",
        "addendum" => "Addendum added to the signed note.",
        "outreach" => "Outreach recorded. Record how it turned out when you hear back.",
        "outcome" => "Outcome recorded.",
        "exercise" => "Exercise saved in the library.",
        "hep" => "Home exercise program saved. Its openings show here and feed the drop-off list.",
        "hep_sent" => "Program link sent.",
        "merged" => {
            "Records merged: the duplicate's visits, plans and history are on this record now."
        }
        "site" => "Website added. Paste the line below into the site to start counting visits.",
        "goal" => "Goal added. Conversions count from now on, and for past visits too.",
        "goal_deleted" => "Goal removed.",
        "confirmation" => "Saved. The dashboard compares the two under “Clicked vs confirmed”.",
        "funnel" => "Funnel added. It shows on the Website dashboard, for past visits too.",
        "funnel_deleted" => "Funnel removed.",
        "condition" => {
            "Condition page tagged. The dashboard ranks conditions by the leads they bring."
        }
        "condition_deleted" => "Condition page untagged.",
        "report_email" => "Address added. Its first weekly summary goes out next Monday morning.",
        "report_email_removed" => "Address removed from the weekly summary.",
        "heatmap" => {
            "Heatmap recording. Clicks on matching pages appear within a minute of the next visit."
        }
        "heatmap_stopped" => {
            "Heatmap stopped. Its clicks so far stay under Heatmaps; Resume records again."
        }
        _ => return None,
    })
}

pub async fn layout(
    state: &AppState,
    p: &Principal,
    section: &'static str,
    done: &Done,
) -> PageResult<Layout> {
    let practice = state.store.practice(p.practice_id).await?;
    let practices = match &p.user {
        Some(u) => state
            .store
            .practices_of(u.id)
            .await?
            .into_iter()
            .map(|(pr, _)| (pr.id, pr.name))
            .collect(),
        None => vec![(practice.id, practice.name.clone())],
    };
    let mut nav = vec![NavItem {
        key: "overview",
        label: "Overview",
        href: "/app",
    }];
    if p.can(Permission::ViewAggregates) || p.can(Permission::ManageWebsite) {
        nav.push(NavItem {
            key: "website",
            label: "Website",
            href: "/app/website",
        });
    }
    if p.can(Permission::ViewAggregates) || p.can(Permission::ViewLeads) {
        nav.push(NavItem {
            key: "leads",
            label: "Leads",
            href: "/app/leads",
        });
        nav.push(NavItem {
            key: "calls",
            label: "Calls",
            href: "/app/calls",
        });
    }
    if p.can(Permission::ViewSchedule) {
        nav.push(NavItem {
            key: "schedule",
            label: "Schedule",
            href: "/app/schedule",
        });
    }
    if p.can(Permission::ViewPatients) && p.can(Permission::ViewSchedule) {
        nav.push(NavItem {
            key: "care",
            label: "Care",
            href: "/app/care",
        });
    }
    if p.can(Permission::ViewPatients) {
        nav.push(NavItem {
            key: "patients",
            label: "Patients",
            href: "/app/patients",
        });
    }
    nav.push(NavItem {
        key: "settings",
        label: "Settings",
        href: "/app/settings",
    });
    Ok(Layout {
        practice_id: practice.id,
        practice_name: practice.name,
        practices,
        user_name: p.user.as_ref().map(|u| u.name.clone()).unwrap_or_default(),
        role_label: p.role.label(),
        csrf: p.csrf.clone(),
        section,
        nav,
        flash: flash_message(done.done.as_deref()),
    })
}

pub fn render(t: &impl Template) -> PageResult {
    Ok(Html(t.render()?).into_response())
}

/// After a successful POST: back to a page, naming a fixed confirmation.
pub fn redirect_done(path: &str, key: &str) -> Response {
    Redirect::to(&format!("{path}?done={key}")).into_response()
}

/// The message of a mistake the user can fix (shown with the form again); other errors pass through.
pub fn form_error(e: AppError) -> Result<String, AppError> {
    match e {
        AppError::Unprocessable(m) | AppError::Conflict(m) | AppError::BadRequest(m) => Ok(m),
        other => Err(other),
    }
}

/// Renders a form page that carries an error message, with status 422.
pub fn unprocessable(t: &impl Template) -> PageResult {
    let mut resp = render(t)?;
    *resp.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    Ok(resp)
}

/// Ends a form POST: on success, back to `path` with the confirmation named by `key`; on a mistake
/// the user can fix, `again` renders the form with the message and everything that was typed.
pub async fn saved_or_again<T, Fut>(
    result: Result<T, AppError>,
    path: &str,
    key: &str,
    again: impl FnOnce(String) -> Fut,
) -> PageResult
where
    Fut: std::future::Future<Output = PageResult>,
{
    match result {
        Ok(_) => Ok(redirect_done(path, key)),
        Err(e) => again(form_error(e)?).await,
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    status: u16,
    title: &'a str,
    message: &'a str,
}

pub fn error_page(status: u16, title: &str, message: &str) -> String {
    ErrorPage {
        status,
        title,
        message,
    }
    .render()
    .unwrap_or_else(|_| format!("{status} {title}"))
}

#[derive(Deserialize)]
pub struct SwitchForm {
    practice_id: i64,
    /// The section the switch was made from (`Layout::section`): the other practice opens on the
    /// same section's first page, so an agency comparing clinics' websites stays on Website.
    #[serde(default)]
    section: String,
    /// The period the page showed ("90d"), kept when the section's first page takes one (All
    /// clinics opens a practice's website dashboard for the period being compared).
    #[serde(default)]
    period: String,
}

/// The first page of each section a switch of practice can land on.
const SECTION_PAGES: &[(&str, &str)] = &[
    ("website", "/app/website"),
    ("leads", "/app/leads"),
    ("calls", "/app/calls"),
    ("schedule", "/app/schedule"),
    ("care", "/app/care"),
    ("patients", "/app/patients"),
    ("settings", "/app/settings"),
];

pub async fn switch_practice(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    Form(form): Form<SwitchForm>,
) -> PageResult {
    let token = crate::auth::cookie_value(&headers, crate::auth::SESSION_COOKIE)
        .ok_or(AppError::Unauthorized)?;
    state
        .store
        .switch_session_practice(&token, form.practice_id)
        .await?;
    let to = SECTION_PAGES
        .iter()
        .find(|(key, _)| *key == form.section)
        .map_or("/app", |(_, page)| page);
    let period = crate::website::dashboard::PERIODS
        .iter()
        .find(|(key, ..)| *key == form.period && to == "/app/website");
    Ok(match period {
        Some((key, ..)) => Redirect::to(&format!("{to}?period={key}")),
        None => Redirect::to(to),
    }
    .into_response())
}

/// A count with thousands separators: 11,492.
pub fn count(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Formats a stored instant in a practice's time zone, or UTC when it has no location yet.
pub fn local_time(ms: i64, tz: &Option<stride_core::tz::TimeZoneName>) -> String {
    match tz {
        Some(tz) => stride_core::time::format_local(ms, tz),
        None => jiff::Timestamp::from_millisecond(ms)
            .map(|t| t.strftime("%a %b %-d, %Y %-I:%M %p UTC").to_string())
            .unwrap_or_default(),
    }
}

/// The practice's display time zone: its first location's.
pub async fn practice_tz(
    state: &AppState,
    practice_id: i64,
) -> PageResult<Option<stride_core::tz::TimeZoneName>> {
    let locations = state.store.locations(practice_id).await?;
    Ok(locations
        .first()
        .and_then(|l| stride_core::tz::TimeZoneName::parse(&l.time_zone).ok()))
}
