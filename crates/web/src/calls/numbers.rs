//! Dynamic number insertion: `/js/stride-numbers.js` asks `GET /api/numbers` which number this
//! visitor should see in place of the clinic's main line. The visitor is the tracker's cookieless
//! daily hash, so a pool number stays with them while they browse and the call that follows is
//! attributed to their visit.

use axum::extract::{Query, Request, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use stride_core::phone::PhoneE164;
use stride_core::website::agents::classify_agent;
use stride_core::website::urls::{clean_url, referrer_host};
use stride_store::leads::Touch;
use stride_store::website::normalize_domain;

use crate::AppState;
use crate::auth::client_ip;
use crate::website::intake::{attribute, cors};

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct NumbersQuery {
    /// The site's domain (the script's `data-domain`).
    d: String,
    /// The page's address.
    u: String,
    /// The page's referrer.
    r: String,
}

fn none() -> Response {
    let mut resp = cors(axum::Json(serde_json::json!({})).into_response());
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// `{"find": ["6305550142"], "display": "(630) 555-0199", "tel": "+16305550199"}`: the digits of
/// the main line to replace, and the number to show; `{}` when the page keeps its number.
pub async fn numbers(
    State(state): State<AppState>,
    Query(q): Query<NumbersQuery>,
    req: Request,
) -> Response {
    let (ip, user_agent, do_not_track) = {
        let header = |h: &str| {
            req.headers()
                .get(h)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
        };
        (
            client_ip(&state, &req),
            header("user-agent").to_string(),
            header("dnt") == "1" || header("sec-gpc") == "1",
        )
    };
    drop(req);
    let Ok(domain) = normalize_domain(&q.d) else {
        return none();
    };
    let Ok(Some(site)) = state.intake.site(&state.store, &domain).await else {
        return none();
    };
    // Bots get the clinic's own number and hold no pool number.
    if classify_agent(&user_agent).bot {
        return none();
    }
    // A visitor who asked not to be tracked is not followed to the phone either.
    if site.honor_dnt && do_not_track {
        return none();
    }
    let allow: Vec<&str> = site.allowed_params.iter().map(String::as_str).collect();
    let Ok(url) = clean_url(&q.u, &allow) else {
        return none();
    };
    if url.host != site.domain && !url.host.ends_with(&format!(".{}", site.domain)) {
        return none();
    }
    let referrer = referrer_host(&q.r);
    let attribution = attribute(&site, &url, referrer.as_deref());
    let touch = Touch {
        source: attribution.source,
        channel: attribution.channel.as_str().to_string(),
        campaign: attribution.campaign.unwrap_or_default(),
        landing: url.path.clone(),
    };
    let Ok(visitor) = state
        .intake
        .visitor_id_now(&state.store, &site, &ip, &user_agent)
        .await
    else {
        return none();
    };
    let now = jiff::Timestamp::now().as_millisecond();
    let number = match state
        .store
        .number_for_visitor(site.practice_id, site.id, visitor, &touch, now)
        .await
    {
        Ok(Some(n)) => n,
        Ok(None) => return none(),
        Err(e) => {
            tracing::error!(error = %e, "choosing a tracking number failed");
            return none();
        }
    };
    let Ok(locations) = state.store.locations(site.practice_id).await else {
        return none();
    };
    let main = number
        .location_id
        .and_then(|id| locations.iter().find(|l| l.id == id))
        .or(locations.first());
    let (Some(main), Ok(shown)) = (main, PhoneE164::parse(&number.number)) else {
        return none();
    };
    let national = |e164: &str| e164.trim_start_matches("+1").to_string();
    metrics::counter!("stride_numbers_shown_total", "pool" => if number.pool { "yes" } else { "no" })
        .increment(1);
    let mut resp = cors(
        axum::Json(serde_json::json!({
            "find": [national(&main.main_phone)],
            "display": shown.national_display(),
            "tel": shown.as_str(),
        }))
        .into_response(),
    );
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}
