//! The hosted appointment-request form (`/p/{practice}/request`), which is also the target of the
//! form a clinic embeds on its own site. A submit creates or joins a lead with the visitor's
//! website touch (found cookielessly: the same daily visitor hash the tracker's events get), counts
//! as a website conversion ("Appointment Request" on the visit), and shows a confirmation page, or
//! the clinic's own thank-you page when the form names one on a registered domain.

use askama::Template;
use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use stride_core::email::EmailAddress;
use stride_core::leads::Origin;
use stride_core::phone::PhoneE164;
use stride_store::audit::Actor;
use stride_store::leads::{Basis, LeadInput, Touch};
use stride_store::website::{NewEvent, VisitTouch};

use crate::AppState;
use crate::auth::client_ip;
use crate::error::{AppError, PageResult};
use crate::pages::render;

/// Services offered in the form's suggestions, besides the conditions the practice tags on its site.
const SERVICES: &[&str] = &[
    "Back pain",
    "Neck pain",
    "Knee pain",
    "Shoulder pain",
    "Sports injury",
    "After surgery",
    "Balance and falls",
    "Other",
];

/// A form a visitor submitted, kept as typed so a mistake loses nothing.
#[derive(Debug, Default, Deserialize, Clone)]
#[serde(default)]
pub struct RequestForm {
    pub first_name: String,
    pub last_name: String,
    pub phone: String,
    pub email: String,
    pub service: String,
    pub payer: String,
    pub preferred_times: String,
    pub message: String,
    pub sms_consent: Option<String>,
    pub email_consent: Option<String>,
    /// A honeypot: people never see it, form-filling bots do.
    pub website: String,
    /// The clinic's own thank-you page, used only on a domain the practice registered.
    pub redirect: String,
    /// "1" when the form sits in an iframe on the clinic's own site.
    pub embed: String,
}

impl RequestForm {
    fn parse(&self) -> Result<LeadInput, AppError> {
        if self.first_name.trim().is_empty() {
            return Err(AppError::invalid("please give your first name"));
        }
        let phone = match self.phone.trim() {
            "" => None,
            s => Some(PhoneE164::parse(s).map_err(AppError::invalid)?),
        };
        let email = match self.email.trim() {
            "" => None,
            s => Some(EmailAddress::parse(s).map_err(AppError::invalid)?),
        };
        if phone.is_none() && email.is_none() {
            return Err(AppError::invalid(
                "please give a phone number or an email, so the clinic can reach you",
            ));
        }
        let mut input = LeadInput::new(Origin::Form);
        input.first_name = self.first_name.trim().to_string();
        input.last_name = self.last_name.trim().to_string();
        input.phone = phone;
        input.email = email;
        input.service = self.service.trim().to_string();
        input.payer = match self.payer.trim() {
            "" => "Self-pay".to_string(),
            p => p.to_string(),
        };
        input.preferred_times = self.preferred_times.trim().to_string();
        input.message = self.message.trim().to_string();
        input.sms_consent = self.sms_consent.is_some();
        input.email_consent = self.email_consent.is_some();
        Ok(input)
    }
}

#[derive(Template)]
#[template(path = "lead_form.html")]
struct FormPage {
    practice: String,
    slug: String,
    embed: bool,
    services: Vec<String>,
    f: RequestForm,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "lead_thanks.html")]
struct ThanksPage {
    practice: String,
    embed: bool,
    phone: String,
    phone_e164: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct FormQuery {
    redirect: String,
    embed: String,
}

/// Lets the practice's own sites (and only those) show the page in an iframe: the embedded form.
fn frameable(mut resp: Response, domains: &[String]) -> Response {
    let ancestors: String = domains.iter().map(|d| format!(" {d}:* *.{d}:*")).collect();
    if let Ok(v) = HeaderValue::from_str(&format!(
        "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; frame-ancestors 'self'{ancestors}"
    )) {
        resp.headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, v);
    }
    resp
}

async fn site_domains(state: &AppState, practice_id: i64) -> Result<Vec<String>, AppError> {
    Ok(state
        .store
        .sites(practice_id)
        .await?
        .into_iter()
        .map(|s| s.domain)
        .collect())
}

async fn services(state: &AppState, practice_id: i64) -> Vec<String> {
    let mut out: Vec<String> = SERVICES.iter().map(|s| s.to_string()).collect();
    for site in state.store.sites(practice_id).await.unwrap_or_default() {
        for c in state
            .store
            .condition_pages(practice_id, site.id)
            .await
            .unwrap_or_default()
        {
            if !out.iter().any(|s| s.eq_ignore_ascii_case(&c.condition)) {
                out.insert(out.len() - 1, c.condition);
            }
        }
    }
    out
}

pub async fn form(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Query(q): Query<FormQuery>,
) -> PageResult {
    let practice = state
        .store
        .practice_by_slug(&slug)
        .await
        .map_err(|_| AppError::NotFound)?;
    let embed = q.embed == "1";
    let resp = render(&FormPage {
        practice: practice.name,
        slug: practice.slug,
        embed,
        services: services(&state, practice.id).await,
        f: RequestForm {
            redirect: q.redirect,
            embed: q.embed,
            ..RequestForm::default()
        },
        error: None,
    })?;
    Ok(if embed {
        frameable(resp, &site_domains(&state, practice.id).await?)
    } else {
        resp
    })
}

/// The clinic's thank-you page from the form, if it is on one of the practice's site domains.
fn allowed_redirect(redirect: &str, domains: &[String]) -> Option<String> {
    let url = redirect.trim();
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let host = rest.split(['/', '?', '#']).next()?.to_ascii_lowercase();
    let host = host.strip_prefix("www.").unwrap_or(&host);
    let ok = url.len() <= 500
        && !url.contains(['"', '<', '>', ' ', '\\'])
        && domains
            .iter()
            .any(|d| host == d || host.ends_with(&format!(".{d}")));
    ok.then(|| url.to_string())
}

/// The visitor's visits today on the practice's sites, found by the tracker's daily hash.
pub(crate) async fn visitor_touch(
    state: &AppState,
    practice_id: i64,
    ip: &str,
    user_agent: &str,
) -> Option<(stride_store::website::Site, i64, Vec<VisitTouch>)> {
    let since = jiff::Timestamp::now().as_millisecond() - 86_400_000;
    for site in state.store.sites(practice_id).await.ok()? {
        let Ok(visitor) = state
            .intake
            .visitor_id_now(&state.store, &site, ip, user_agent)
            .await
        else {
            continue;
        };
        let visits = state
            .store
            .visitor_visits(site.id, visitor, since)
            .await
            .ok()?;
        if !visits.is_empty() {
            return Some((site, visitor, visits));
        }
    }
    None
}

pub(crate) fn touch_of(v: &VisitTouch) -> Touch {
    Touch {
        source: v.source.clone(),
        channel: v.channel.clone(),
        campaign: v.campaign.clone(),
        landing: v.entry_path.clone(),
    }
}

/// Records a conversion Stride saw itself (a request, a booking) as an event on the visit it came
/// from, with that visit's source, so website reports count it like the tracker's own events.
pub(crate) fn record_conversion(
    state: &AppState,
    site: &stride_store::website::Site,
    visitor_id: i64,
    last: &VisitTouch,
    name: &str,
    props: String,
) {
    state.intake.record(NewEvent {
        site_id: site.id,
        practice_id: site.practice_id,
        at: jiff::Timestamp::now().as_millisecond(),
        visitor_id,
        name: name.into(),
        path: last.exit_path.clone(),
        query: String::new(),
        referrer_host: String::new(),
        source: last.source.clone(),
        channel: last.channel.clone(),
        campaign: last.campaign.clone(),
        device: last.device.clone(),
        browser: last.browser.clone(),
        os: last.os.clone(),
        props,
        revenue_cents: None,
        scroll_depth: None,
        engaged_ms: None,
        interactive: true,
    });
}

pub async fn submit(
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
    let axum::Form(f) = axum::Form::<RequestForm>::from_request(req, &state)
        .await
        .map_err(|e| AppError::BadRequest(e.body_text()))?;
    let practice = state
        .store
        .practice_by_slug(&slug)
        .await
        .map_err(|_| AppError::NotFound)?;
    let domains = site_domains(&state, practice.id).await?;
    let embed = f.embed == "1";
    let done = allowed_redirect(&f.redirect, &domains).unwrap_or_else(|| {
        format!(
            "/p/{}/request/thanks{}",
            practice.slug,
            if embed { "?embed=1" } else { "" }
        )
    });
    if !f.website.is_empty() {
        metrics::counter!("stride_lead_forms_dropped_total", "reason" => "honeypot").increment(1);
        return Ok(Redirect::to(&done).into_response());
    }
    let mut input = match f.parse() {
        Ok(i) => i,
        Err(e) => {
            let mut resp = render(&FormPage {
                practice: practice.name.clone(),
                slug: practice.slug.clone(),
                embed,
                services: services(&state, practice.id).await,
                f: f.clone(),
                error: Some(e.to_string()),
            })?;
            *resp.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
            return Ok(if embed {
                frameable(resp, &domains)
            } else {
                resp
            });
        }
    };
    let touch = visitor_touch(&state, practice.id, &ip, &user_agent).await;
    if let Some((_, _, visits)) = &touch {
        let (first, last) = (&visits[0], &visits[visits.len() - 1]);
        input.basis = Basis::Website;
        input.touch = touch_of(first);
        input.last_touch = Some(touch_of(last));
        input.visit_id = Some(last.id);
    }
    let actor = Actor {
        label: "appointment request form".into(),
        user_id: None,
        token_id: None,
        ip,
    };
    match state.store.capture_lead(practice.id, &input, &actor).await {
        Ok(_) => {}
        Err(stride_store::StoreError::Invalid(message)) => {
            let mut resp = render(&FormPage {
                practice: practice.name.clone(),
                slug: practice.slug.clone(),
                embed,
                services: services(&state, practice.id).await,
                f,
                error: Some(message),
            })?;
            *resp.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
            return Ok(if embed {
                frameable(resp, &domains)
            } else {
                resp
            });
        }
        Err(e) => return Err(e.into()),
    }
    // The website conversion, on the visit the request came from.
    if let Some((site, visitor_id, visits)) = touch {
        record_conversion(
            &state,
            &site,
            visitor_id,
            &visits[visits.len() - 1],
            "Appointment Request",
            r#"{"form":"stride"}"#.into(),
        );
    }
    metrics::counter!("stride_lead_forms_total").increment(1);
    Ok(Redirect::to(&done).into_response())
}

pub async fn thanks(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Query(q): Query<FormQuery>,
) -> PageResult {
    let practice = state
        .store
        .practice_by_slug(&slug)
        .await
        .map_err(|_| AppError::NotFound)?;
    let phone = state
        .store
        .locations(practice.id)
        .await?
        .into_iter()
        .next()
        .and_then(|l| PhoneE164::parse(&l.main_phone).ok());
    let embed = q.embed == "1";
    let resp = render(&ThanksPage {
        practice: practice.name,
        embed,
        phone: phone
            .as_ref()
            .map(|p| p.national_display())
            .unwrap_or_default(),
        phone_e164: phone.map(|p| p.as_str().to_string()).unwrap_or_default(),
    })?;
    Ok(if embed {
        frameable(resp, &site_domains(&state, practice.id).await?)
    } else {
        resp
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_practices_own_domains_take_the_visitor_after_a_submit() {
        let domains = vec!["riversidept.com".to_string()];
        for ok in [
            "https://riversidept.com/thank-you",
            "https://www.riversidept.com/thank-you?x=1",
            "http://book.riversidept.com/thanks",
        ] {
            assert_eq!(allowed_redirect(ok, &domains).as_deref(), Some(ok));
        }
        for bad in [
            "https://evil.example/thank-you",
            "https://riversidept.com.evil.example/",
            "https://notriversidept.com/",
            "javascript:alert(1)",
            "//riversidept.com/x",
            "/thank-you",
            "https://riversidept.com/\"><script>",
            "",
        ] {
            assert_eq!(allowed_redirect(bad, &domains), None, "{bad}");
        }
    }
}
