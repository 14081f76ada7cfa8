//! Stride's HTTP surface: the router, shared state, and the cross-cutting layers (body limits,
//! timeouts, metrics, request logs without patient data). Feature handlers live in `pages` and `api`.

pub mod api;
pub mod auth;
pub mod calls;
pub mod care;
pub mod error;
pub mod leads;
pub mod openapi;
pub mod pages;
pub mod scheduling;
pub mod website;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use metrics_exporter_prometheus::PrometheusHandle;
use stride_store::Store;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;

/// The reverse proxies in front of Stride, which alone may name the client in `X-Forwarded-For`.
/// Parsed from `false` (none), `true` (this machine and private networks: a proxy on the same host
/// or LAN) or a comma-separated list of addresses and networks (`10.0.0.5, 172.16.0.0/12`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<ipnet::IpNet>);

impl TrustedProxies {
    pub fn parse(text: &str) -> Result<TrustedProxies, String> {
        let text = text.trim();
        if text.is_empty() || text.eq_ignore_ascii_case("false") {
            return Ok(TrustedProxies::default());
        }
        if text.eq_ignore_ascii_case("true") {
            return Ok(TrustedProxies(
                [
                    "127.0.0.0/8",
                    "::1/128",
                    "10.0.0.0/8",
                    "172.16.0.0/12",
                    "192.168.0.0/16",
                    "fc00::/7",
                ]
                .iter()
                .map(|n| n.parse().expect("a valid network"))
                .collect(),
            ));
        }
        text.split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(|t| {
                t.parse::<ipnet::IpNet>()
                    .or_else(|_| t.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|_| {
                        format!("“{t}” is not an IP address or network such as 10.0.0.0/8")
                    })
            })
            .collect::<Result<_, _>>()
            .map(TrustedProxies)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn contains(&self, ip: std::net::IpAddr) -> bool {
        // An IPv4 peer on a dual-stack socket shows as ::ffff:a.b.c.d.
        let ip = match ip {
            std::net::IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, std::net::IpAddr::V4),
            v4 => v4,
        };
        self.0.iter().any(|n| n.contains(&ip))
    }

    /// The client's address: the socket's peer, or when that peer is a trusted proxy, the nearest
    /// address in `X-Forwarded-For` (all its headers, read from the right) that is not one, since
    /// each proxy appends the address it was reached from and only trusted ones can be believed.
    pub fn client(
        &self,
        peer: Option<std::net::IpAddr>,
        headers: &axum::http::HeaderMap,
    ) -> Option<std::net::IpAddr> {
        let peer = peer?;
        if !self.contains(peer) {
            return Some(peer);
        }
        let hops: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect();
        let mut client = peer;
        for hop in hops.iter().rev() {
            // Something that is not an address means the chain cannot be read: keep the last hop.
            let Ok(ip) = hop.parse::<std::net::IpAddr>() else {
                break;
            };
            client = ip;
            if !self.contains(ip) {
                break;
            }
        }
        Some(client)
    }
}

/// Settings the web layer reads; built by the binary from flags and environment.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// Set `Secure` on cookies (the public URL is https).
    pub secure_cookies: bool,
    /// The proxies whose `X-Forwarded-For` names the client (none: the socket's peer is).
    pub trusted_proxies: TrustedProxies,
    /// The public address (`https://stride.example.com`): the URL Twilio's webhooks are signed over.
    pub public_url: Option<String>,
    pub request_timeout: Duration,
    pub max_body_bytes: usize,
    /// Stripe's API (a stand-in's address in tests).
    pub stripe_api_base: String,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            secure_cookies: false,
            trusted_proxies: TrustedProxies::default(),
            public_url: None,
            request_timeout: Duration::from_secs(30),
            max_body_bytes: 1024 * 1024,
            stripe_api_base: "https://api.stripe.com".into(),
        }
    }
}

/// What every handler shares. Axum clones the state for each request (and each extractor that
/// asks for it), so it is one `Arc`: a clone is one atomic increment rather than one per part.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

pub struct Shared {
    pub store: Store,
    pub intake: Arc<website::intake::Intake>,
    pub config: Arc<WebConfig>,
    pub metrics: Option<PrometheusHandle>,
}

impl AppState {
    pub fn new(shared: Shared) -> Self {
        AppState(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

pub fn router(state: AppState) -> Router {
    use pages::{overview, patients, settings};

    let app = Router::new()
        .route("/app", get(overview::overview))
        .route("/app/website", get(website::dashboard::dashboard))
        .route("/app/clinics", get(website::clinics::clinics))
        .route("/app/clinics.csv", get(website::clinics::export))
        .route("/app/website/report-emails", post(website::weekly::add))
        .route("/app/website/weekly", get(website::weekly::preview))
        .route(
            "/app/website/report-emails/delete",
            post(website::weekly::remove),
        )
        .route("/app/website/export.csv", get(website::dashboard::export))
        .route("/app/website/setup", get(website::pages::setup))
        .route("/app/website/sites", post(website::pages::add_site))
        .route("/app/website/goals", post(website::pages::add_goal))
        .route(
            "/app/website/goals/{id}/confirm",
            post(website::insights::confirm_goal),
        )
        .route("/app/website/funnels", post(website::insights::add_funnel))
        .route(
            "/app/website/funnels/{id}/delete",
            post(website::insights::delete_funnel),
        )
        .route(
            "/app/website/conditions",
            post(website::insights::add_condition),
        )
        .route(
            "/app/website/conditions/{id}/delete",
            post(website::insights::delete_condition),
        )
        .route(
            "/app/website/heatmaps",
            get(website::insights::heatmaps).post(website::insights::add_heatmap),
        )
        .route(
            "/app/website/heatmaps/{id}",
            get(website::insights::heatmap),
        )
        .route(
            "/app/website/heatmaps/{id}/stop",
            post(website::insights::stop_heatmap),
        )
        .route(
            "/app/website/heatmaps/{id}/resume",
            post(website::insights::resume_heatmap),
        )
        .route(
            "/app/website/goals/{id}/delete",
            post(website::pages::delete_goal),
        )
        .route(
            "/app/leads",
            get(leads::pages::inbox).post(leads::pages::create),
        )
        .route(
            "/app/leads/import",
            get(leads::import::form).post(leads::import::upload),
        )
        .route("/app/leads/import/run", post(leads::import::run))
        .route("/app/leads/new", get(leads::pages::new_form))
        .route("/app/leads/report", get(leads::report::report))
        .route("/app/leads/report/value", post(leads::report::set_value))
        .route(
            "/app/leads/campaigns",
            get(leads::report::campaigns).post(leads::report::save_campaign),
        )
        .route(
            "/app/leads/{id}",
            get(leads::pages::show).post(leads::pages::action),
        )
        .route("/app/calls", get(calls::pages::calls))
        .route("/app/calls/{id}/class", post(calls::pages::set_class))
        .route("/app/calls/numbers", post(calls::pages::add_number))
        .route("/app/calls/settings", post(calls::pages::save_settings))
        .route("/app/schedule", get(scheduling::pages::schedule))
        .route("/app/schedule/book", post(scheduling::pages::book))
        .route("/app/schedule/{id}/cancel", post(scheduling::pages::cancel))
        .route(
            "/app/schedule/{id}/status",
            post(scheduling::admin::set_attendance),
        )
        .route("/app/deposits", get(scheduling::admin::deposits))
        .route("/app/schedule/week", get(scheduling::calendar::week))
        .route(
            "/app/schedule/series",
            get(scheduling::calendar::series_form).post(scheduling::calendar::series),
        )
        .route(
            "/app/schedule/{id}/move",
            get(scheduling::calendar::move_form).post(scheduling::calendar::move_to),
        )
        .route(
            "/app/schedule/attendance",
            get(scheduling::attendance::page),
        )
        .route("/app/deposits/{id}", post(scheduling::admin::move_deposit))
        .route(
            "/app/settings/booking",
            get(scheduling::admin::booking).post(scheduling::admin::save_booking),
        )
        .route(
            "/app/settings/booking/stripe",
            post(scheduling::admin::save_stripe),
        )
        .route(
            "/app/settings/booking/types",
            post(scheduling::admin::save_type),
        )
        .route(
            "/app/settings/booking/types/{id}",
            post(scheduling::admin::save_type),
        )
        .route(
            "/app/settings/payers",
            get(scheduling::admin::payers).post(scheduling::admin::add_payer),
        )
        .route(
            "/app/settings/payers/{id}",
            post(scheduling::admin::update_payer),
        )
        .route("/app/care", get(care::risk::risk_list))
        .route("/app/care/outreach", post(care::risk::outreach))
        .route("/app/care/outreach/{id}", post(care::risk::outcome))
        .route("/app/care/completion", get(care::risk::completion))
        .route("/app/care/audit", get(care::audit::audit))
        .route(
            "/app/care/exercises",
            get(care::hep::library).post(care::hep::add_exercise),
        )
        .route("/app/care/exercises/{id}", post(care::hep::update_exercise))
        .route("/app/patients/{id}/hep", post(care::hep::create))
        .route("/app/patients/{id}/merge", post(patients::merge))
        .route("/app/hep/{id}/send", post(care::hep::send))
        .route("/app/patients/{id}/plans", post(care::plans::create))
        .route(
            "/app/plans/{id}",
            get(care::plans::show).post(care::plans::update),
        )
        .route("/app/plans/{id}/goals", post(care::plans::add_goal))
        .route("/app/plans/{id}/hold", post(care::plans::hold))
        .route("/app/plans/{id}/flexible", post(care::plans::flexible))
        .route(
            "/app/plans/{id}/flexible/book",
            post(care::plans::book_flexible),
        )
        .route("/app/plans/{id}/close", post(care::plans::close))
        .route(
            "/app/visits/{id}/note",
            get(care::notes::show).post(care::notes::save),
        )
        .route("/app/visits/{id}/addendum", post(care::notes::addendum))
        .route("/app/patients", get(patients::index).post(patients::create))
        .route("/app/patients/new", get(patients::new_form))
        .route("/app/patients/search", post(patients::search))
        .route("/app/patients/{id}/coverage", post(patients::save_coverage))
        .route(
            "/app/patients/{id}/authorizations",
            post(patients::add_authorization),
        )
        .route(
            "/app/patients/{id}",
            get(patients::show).post(patients::update),
        )
        .route("/app/settings", get(settings::practice))
        .route("/app/settings/practice", post(settings::save_practice))
        .route(
            "/app/settings/locations",
            get(settings::locations).post(settings::create_location),
        )
        .route(
            "/app/settings/locations/{id}",
            get(settings::location).post(settings::update_location),
        )
        .route(
            "/app/settings/locations/{id}/holidays",
            post(settings::add_holiday),
        )
        .route(
            "/app/settings/locations/{id}/holidays/{hid}/delete",
            post(settings::delete_holiday),
        )
        .route(
            "/app/settings/clinicians",
            get(settings::clinicians).post(settings::create_clinician),
        )
        .route(
            "/app/settings/clinicians/{id}",
            post(settings::update_clinician),
        )
        .route(
            "/app/settings/clinicians/{id}/feed",
            post(settings::reset_feed),
        )
        .route(
            "/app/settings/clinicians/{id}/time-off",
            post(settings::add_time_off),
        )
        .route(
            "/app/settings/time-off/{id}/remove",
            post(settings::remove_time_off),
        )
        .route(
            "/app/settings/users",
            get(settings::users).post(settings::add_user),
        )
        .route("/app/settings/users/{id}/role", post(settings::change_role))
        .route(
            "/app/settings/users/{id}/remove",
            post(settings::remove_user),
        )
        .route(
            "/app/settings/tokens",
            get(settings::tokens).post(settings::create_token),
        )
        .route(
            "/app/settings/tokens/{id}/revoke",
            post(settings::revoke_token),
        )
        .route("/app/settings/messages", get(settings::messages))
        .route(
            "/app/settings/messages/providers",
            post(settings::save_providers),
        )
        .route("/app/settings/messages/test", post(settings::send_test))
        .route("/app/settings/audit", get(settings::audit))
        .route("/app/settings/audit.csv", get(settings::audit_csv))
        .route("/app/switch-practice", post(pages::switch_practice))
        .route("/app/account", get(pages::account::show))
        .route(
            "/app/account/password",
            post(pages::account::change_password),
        )
        .route("/logout", post(pages::auth::logout))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            auth::require_session,
        ));

    let api_routes = Router::new()
        .route("/api/v1/practices", get(api::practices))
        .route(
            "/api/v1/practices/{id}",
            get(api::practice).patch(api::update_practice),
        )
        .route(
            "/api/v1/locations",
            get(api::locations).post(api::create_location),
        )
        .route(
            "/api/v1/locations/{id}",
            get(api::location).patch(api::update_location),
        )
        .route(
            "/api/v1/clinicians",
            get(api::clinicians).post(api::create_clinician),
        )
        .route(
            "/api/v1/clinicians/{id}",
            get(api::clinician).patch(api::update_clinician),
        )
        .route("/api/v1/users", get(api::users).post(api::create_user))
        .route(
            "/api/v1/patients",
            get(api::patients).post(api::create_patient),
        )
        .route("/api/v1/patients/search", post(api::search_patients))
        .route(
            "/api/v1/patients/{id}",
            get(api::patient).patch(api::update_patient),
        )
        .route(
            "/api/v1/messages",
            get(api::messages).post(api::send_message),
        )
        .route("/api/v1/audit-log", get(api::audit_log))
        .route("/api/v1/care/completion", get(care::risk::completion_api))
        .route("/api/v1/patients/{id}/fhir", get(care::fhir::export))
        .route(
            "/api/v1/leads",
            get(leads::api::leads).post(leads::api::create_lead),
        )
        .route("/api/v1/leads/{id}", get(leads::api::lead))
        .route("/api/v1/leads/{id}/stage", post(leads::api::move_lead))
        .route(
            "/api/v1/leads/{id}/qualification",
            post(leads::api::qualify_lead),
        )
        .route(
            "/api/v1/leads/{id}/activities",
            post(leads::api::log_activity),
        )
        .route("/api/v1/leads/{id}/tasks", post(leads::api::add_task))
        .route("/api/v1/leads/{id}/merge", post(leads::api::merge_leads))
        .route(
            "/api/v1/campaigns",
            get(leads::api::campaigns).post(leads::api::create_campaign),
        )
        .route(
            "/api/v1/campaigns/{id}",
            axum::routing::patch(leads::api::update_campaign),
        )
        .route("/api/v1/campaigns/{id}/spend", post(leads::api::set_spend))
        .route("/api/v1/lead-report", get(leads::api::lead_report))
        .route("/api/v1/calls", get(calls::api::calls))
        .route("/api/v1/calls/{id}/class", post(calls::api::set_class))
        .route("/api/v1/call-report", get(calls::api::call_report))
        .route("/api/v1/appointment-types", get(scheduling::api::types))
        .route("/api/v1/availability", get(scheduling::api::availability))
        .route(
            "/api/v1/attendance-report",
            get(scheduling::attendance::api),
        )
        .route("/api/v1/appointments", post(scheduling::api::book))
        .route(
            "/api/v1/appointments/{id}/cancel",
            post(scheduling::api::cancel),
        )
        .route(
            "/api/v1/tracking-numbers",
            get(calls::api::numbers).post(calls::api::create_number),
        )
        .route(
            "/api/v1/lead-tasks/{id}/done",
            post(leads::api::complete_task),
        )
        .route(
            "/api/v1/sites",
            get(website::api::sites).post(website::api::create_site),
        )
        .route(
            "/api/v1/sites/{id}/goals",
            get(website::api::goals).post(website::api::create_goal),
        )
        .route("/api/v1/sites/{id}/report", get(website::api::report))
        .route(
            "/api/v1/sites/{id}/funnels",
            get(website::api::funnels).post(website::api::create_funnel),
        )
        .route(
            "/api/v1/sites/{id}/condition-pages",
            get(website::api::condition_pages).post(website::api::create_condition_page),
        )
        .route(
            "/api/v1/sites/{id}/heatmaps",
            get(website::api::heatmaps).post(website::api::create_heatmap),
        )
        .route(
            "/api/v1/heatmaps/{id}/report",
            get(website::api::heatmap_report),
        )
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            auth::require_api_caller,
        ));

    let public = Router::new()
        .route("/", get(|| async { Redirect::to("/app") }))
        .route(
            "/login",
            get(pages::auth::login_form).post(pages::auth::login),
        )
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/static/app.css", get(stylesheet))
        .route("/favicon.ico", get(favicon))
        .route("/static/favicon.svg", get(favicon))
        .route("/js/stride.js", get(website::tracker_script))
        .route("/js/stride-clicks.js", get(website::clicks_script))
        .route("/api/heatmaps", get(website::intake::heatmap_config))
        .route("/js/stride-numbers.js", get(website::numbers_script))
        .route("/api/numbers", get(calls::numbers::numbers))
        .route(
            "/p/{slug}/request",
            get(leads::form::form).post(leads::form::submit),
        )
        .route("/p/{slug}/request/thanks", get(leads::form::thanks))
        .route(
            "/p/{slug}/book",
            get(scheduling::public::book_page).post(scheduling::public::book),
        )
        .route("/calendar/{file}", get(scheduling::public::calendar_feed))
        .route("/p/{slug}/deposit", get(scheduling::stripe::returned))
        .route(
            "/p/{slug}/offer/{token}",
            get(scheduling::public::offer).post(scheduling::public::accept_offer),
        )
        .route(
            "/p/{slug}/manage/{token}/pay",
            post(scheduling::stripe::pay),
        )
        .route("/hooks/stripe", post(scheduling::stripe::webhook))
        .route("/p/{slug}/hep/{token}", get(care::hep::public))
        .route(
            "/p/{slug}/manage/{token}",
            get(scheduling::public::manage).post(scheduling::public::manage_action),
        )
        .route("/hooks/twilio/voice", post(calls::hooks::voice))
        .route(
            "/hooks/twilio/voice-status",
            post(calls::hooks::voice_status),
        )
        .route("/hooks/twilio/sms", post(calls::hooks::sms))
        .route(
            "/api/event",
            post(website::intake::event).options(website::intake::preflight),
        )
        .route(
            "/api/v1/openapi.json",
            get(|| async { Json(openapi::document()) }),
        );

    let config = state.config.clone();
    Router::new()
        .merge(public)
        .merge(app)
        .merge(api_routes)
        .nest("/api/v1", Router::new().fallback(api::not_found))
        .fallback(|| async { error::AppError::NotFound })
        .layer(middleware::from_fn(observe))
        .layer(SetResponseHeaderLayer::if_not_present(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::if_not_present(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .layer(SetResponseHeaderLayer::if_not_present(header::REFERRER_POLICY, HeaderValue::from_static("same-origin")))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, config.request_timeout))
        .layer(RequestBodyLimitLayer::new(config.max_body_bytes))
        .with_state(state)
}

/// Counts and times every request by its route pattern (never the concrete path, which could carry
/// ids) and logs one line per request without query strings or bodies.
async fn observe(req: Request, next: Next) -> Response {
    let start = Instant::now();
    // Labels are built once and shared (a static method name, one `Arc` for the route): this runs
    // for every tracker beacon.
    let method: metrics::SharedString = match *req.method() {
        axum::http::Method::GET => "GET".into(),
        axum::http::Method::POST => "POST".into(),
        axum::http::Method::HEAD => "HEAD".into(),
        axum::http::Method::OPTIONS => "OPTIONS".into(),
        ref other => other.to_string().into(),
    };
    let route: Arc<str> = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| Arc::from("unmatched"), |m| Arc::from(m.as_str()));
    let resp = next.run(req).await;
    let status = resp.status().as_u16();
    let elapsed = start.elapsed();
    metrics::counter!("stride_http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status.to_string()).increment(1);
    metrics::histogram!("stride_http_request_duration_seconds", "method" => method.clone(), "route" => route.clone()).record(elapsed.as_secs_f64());
    // Tracker beacons are counted in the metrics above; a log line each would drown everything else.
    if &*route == "/api/event" && status == 202 {
        tracing::debug!(target: "stride::http", %method, route = %route, status, ms = elapsed.as_millis() as u64, "request");
    } else {
        tracing::info!(target: "stride::http", %method, route = %route, status, ms = elapsed.as_millis() as u64, "request");
    }
    resp
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(state): State<AppState>) -> Response {
    match state.store.ping().await {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "database not ready");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
    }
}

async fn metrics(State(state): State<AppState>) -> Response {
    if let Ok(stats) = state.store.queue_stats().await {
        metrics::gauge!("stride_jobs", "status" => "queued").set(stats.queued as f64);
        metrics::gauge!("stride_jobs", "status" => "running").set(stats.running as f64);
        metrics::gauge!("stride_jobs", "status" => "failed").set(stats.failed as f64);
    }
    match &state.metrics {
        Some(handle) => (
            [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
            handle.render(),
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "metrics are off").into_response(),
    }
}

async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../assets/app.css"),
    )
        .into_response()
}

/// Stride's icon, for the browser tab (browsers ask for /favicon.ico whatever the page says).
async fn favicon() -> Response {
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        include_str!("../assets/favicon.svg"),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::TrustedProxies;
    use axum::http::{HeaderMap, HeaderValue};
    use std::net::IpAddr;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn only_a_trusted_peer_may_name_the_client() {
        let none = TrustedProxies::parse("false").unwrap();
        let local = TrustedProxies::parse("true").unwrap();
        let listed = TrustedProxies::parse(" 203.0.113.7, 10.1.0.0/16 ").unwrap();
        let h = forwarded(&["198.51.100.20"]);
        assert_eq!(
            none.client(Some(ip("127.0.0.1")), &h),
            Some(ip("127.0.0.1"))
        );
        assert_eq!(
            local.client(Some(ip("127.0.0.1")), &h),
            Some(ip("198.51.100.20"))
        );
        assert_eq!(
            local.client(Some(ip("::ffff:192.168.1.2")), &h),
            Some(ip("198.51.100.20"))
        );
        // Reached directly from outside, the header is the sender's own claim.
        assert_eq!(
            local.client(Some(ip("198.51.100.99")), &h),
            Some(ip("198.51.100.99"))
        );
        assert_eq!(
            listed.client(Some(ip("203.0.113.7")), &h),
            Some(ip("198.51.100.20"))
        );
        assert_eq!(
            listed.client(Some(ip("203.0.113.8")), &h),
            Some(ip("203.0.113.8"))
        );
        assert_eq!(none.client(None, &h), None);
    }

    #[test]
    fn the_client_is_the_nearest_untrusted_hop_of_every_header() {
        let proxies = TrustedProxies::parse("10.0.0.0/8").unwrap();
        let peer = Some(ip("10.0.0.1"));
        // A forged first entry is ignored: the proxies appended the real hops after it.
        let h = forwarded(&["6.6.6.6, 198.51.100.20", "10.0.0.2"]);
        assert_eq!(proxies.client(peer, &h), Some(ip("198.51.100.20")));
        // Garbage stops the walk at the last readable hop; no header leaves the peer.
        let h = forwarded(&["not-an-ip, 10.0.0.3"]);
        assert_eq!(proxies.client(peer, &h), Some(ip("10.0.0.3")));
        assert_eq!(proxies.client(peer, &HeaderMap::new()), peer);
    }

    #[test]
    fn a_bad_proxy_list_is_refused_with_the_culprit_named() {
        let err = TrustedProxies::parse("10.0.0.1, proxy.local").unwrap_err();
        assert!(err.contains("proxy.local"), "{err}");
        assert!(TrustedProxies::parse("").unwrap().is_empty());
        assert!(
            TrustedProxies::parse("2001:db8::/32")
                .unwrap()
                .contains(ip("2001:db8::1"))
        );
    }
}
