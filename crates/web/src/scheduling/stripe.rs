//! Deposits paid online through Stripe Checkout. The manage page's "Pay" button creates a Checkout
//! Session (Stripe's REST API, form-encoded, the practice's secret key) and sends the patient to
//! Stripe's page; Stripe reports the payment to `/hooks/stripe`, whose `Stripe-Signature` is
//! verified (HMAC-SHA256 over "timestamp.body" with the practice's signing secret, five minutes'
//! tolerance, constant-time) before the ledger moves, once per event. Nothing about the patient
//! goes to Stripe: the line item names the visit type and time, and the return pages carry no
//! secret.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use hmac::{Hmac, KeyInit, Mac};
use serde::Deserialize;
use sha2::Sha256;
use stride_core::deposits::DepositStatus;
use stride_core::tz::TimeZoneName;
use stride_store::crypto::constant_time_eq;

use crate::AppState;
use crate::calls::hooks::signed_url;
use crate::error::{AppError, PageResult};

/// How old a signed webhook may be, in seconds (Stripe's own libraries use five minutes).
pub const TOLERANCE_S: i64 = 300;

/// Checks a `Stripe-Signature` header (`t=…,v1=…[,v1=…]`) over the raw body.
pub fn verify(secret: &str, header: &str, body: &[u8], now_s: i64) -> Result<(), &'static str> {
    let mut t = None;
    let mut sigs = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = v.parse::<i64>().ok(),
            Some(("v1", v)) => sigs.push(v),
            _ => {}
        }
    }
    let t = t.ok_or("no timestamp in the signature")?;
    if sigs.is_empty() {
        return Err("no v1 signature");
    }
    if (now_s - t).abs() > TOLERANCE_S {
        return Err("the signature's timestamp is outside the tolerance");
    }
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).map_err(|_| "unusable secret")?;
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let expected = hex::encode(mac.finalize().into_bytes());
    if sigs
        .iter()
        .any(|s| constant_time_eq(s.as_bytes(), expected.as_bytes()))
    {
        Ok(())
    } else {
        Err("the signature does not match")
    }
}

#[derive(Deserialize)]
struct Session {
    id: String,
    url: Option<String>,
}

#[derive(Deserialize)]
struct StripeError {
    error: StripeErrorBody,
}

#[derive(Deserialize)]
struct StripeErrorBody {
    message: Option<String>,
}

/// "Pay the deposit now" on the manage page: a Checkout Session, then Stripe's payment page.
pub async fn pay(
    State(state): State<AppState>,
    Path((slug, token)): Path<(String, String)>,
    headers: HeaderMap,
) -> PageResult {
    let (practice, a) = super::public::linked_appointment(&state, &slug, &token).await?;
    let practice_id = practice.id;
    let Some((deposit, _)) = state.store.deposit_for(practice_id, a.id).await? else {
        return Err(AppError::invalid("this visit has no deposit to pay"));
    };
    if deposit.status != DepositStatus::Pending {
        return Err(AppError::Conflict(format!(
            "the deposit is already {}",
            deposit.status.label().to_lowercase()
        )));
    }
    let Some(keys) = state.store.stripe_keys(practice_id).await? else {
        return Err(AppError::invalid(
            "online payment is not available: the clinic will take the deposit by phone or at the desk",
        ));
    };
    let types = state.store.appointment_types(practice_id).await?;
    let what = types
        .iter()
        .find(|t| t.id == a.type_id)
        .map(|t| t.name.clone())
        .unwrap_or_else(|| "Visit".into());
    let tz = state
        .store
        .locations(practice_id)
        .await?
        .into_iter()
        .find(|l| l.id == a.location_id)
        .and_then(|l| TimeZoneName::parse(&l.time_zone).ok());
    let when = match (&tz, jiff::Timestamp::from_millisecond(a.starts_at)) {
        (Some(tz), Ok(t)) => t
            .to_zoned_datetime(tz.tz())
            .strftime("%a %b %-d at %-I:%M %p")
            .to_string(),
        _ => String::new(),
    };
    let back = |path: &str| signed_url(&state, &headers, path);
    let form = [
        ("mode", "payment".to_string()),
        ("line_items[0][quantity]", "1".into()),
        ("line_items[0][price_data][currency]", "usd".into()),
        (
            "line_items[0][price_data][unit_amount]",
            deposit.amount_cents.to_string(),
        ),
        (
            "line_items[0][price_data][product_data][name]",
            format!("Deposit: {what}, {when} · {}", practice.name),
        ),
        ("success_url", back(&format!("/p/{slug}/deposit?paid=1"))),
        ("cancel_url", back(&format!("/p/{slug}/deposit"))),
        ("client_reference_id", deposit.id.to_string()),
        ("metadata[deposit_id]", deposit.id.to_string()),
        ("metadata[practice_id]", practice_id.to_string()),
        (
            "payment_intent_data[metadata][deposit_id]",
            deposit.id.to_string(),
        ),
    ];
    let resp = reqwest::Client::new()
        .post(format!(
            "{}/v1/checkout/sessions",
            state.config.stripe_api_base
        ))
        .bearer_auth(&keys.secret)
        .form(&form)
        .timeout(std::time::Duration::from_secs(15))
        .send()
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "Stripe could not be reached");
            AppError::Unavailable(
                "the payment page could not be opened; please try again in a minute".into(),
            )
        })?;
    if !resp.status().is_success() {
        let status = resp.status();
        let message = resp
            .json::<StripeError>()
            .await
            .ok()
            .and_then(|e| e.error.message)
            .unwrap_or_default();
        tracing::warn!(%status, %message, "Stripe refused a Checkout Session");
        return Err(AppError::Unavailable(
            "the payment page could not be opened; please call the clinic".into(),
        ));
    }
    let session: Session = resp
        .json()
        .await
        .map_err(|_| AppError::Unavailable("Stripe's answer could not be read".into()))?;
    state
        .store
        .start_checkout(practice_id, deposit.id, &session.id)
        .await?;
    let url = session
        .url
        .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
        .ok_or_else(|| AppError::Unavailable("Stripe gave no payment page".into()))?;
    Ok(Redirect::to(&url).into_response())
}

#[derive(Deserialize)]
struct Event {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    data: EventData,
}

#[derive(Deserialize)]
struct EventData {
    object: serde_json::Value,
}

fn refuse(status: StatusCode, why: &str) -> Response {
    (status, why.to_string()).into_response()
}

/// `POST /hooks/stripe`: Stripe's report of a completed Checkout Session.
pub async fn webhook(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(signature) = headers
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok())
    else {
        return refuse(StatusCode::BAD_REQUEST, "no Stripe-Signature");
    };
    let Ok(event) = serde_json::from_slice::<Event>(&body) else {
        return refuse(StatusCode::BAD_REQUEST, "not a Stripe event");
    };
    let object = &event.data.object;
    // Which practice's secret to check with: named in the metadata Stride set, trusted only once
    // the signature under that practice's secret checks out.
    let practice_id = object["metadata"]["practice_id"]
        .as_str()
        .and_then(|p| p.parse::<i64>().ok());
    let Some(practice_id) = practice_id else {
        // An event about something Stride did not start: acknowledged, ignored.
        return (StatusCode::OK, "ignored").into_response();
    };
    let keys = match state.store.stripe_keys(practice_id).await {
        Ok(Some(k)) => k,
        Ok(None) => return refuse(StatusCode::BAD_REQUEST, "Stripe is not connected"),
        Err(e) => {
            tracing::error!(error = %e, "reading Stripe keys failed");
            return refuse(StatusCode::SERVICE_UNAVAILABLE, "try again");
        }
    };
    let now = jiff::Timestamp::now().as_second();
    if let Err(why) = verify(&keys.webhook_secret, signature, &body, now) {
        metrics::counter!("stride_stripe_webhooks_refused_total").increment(1);
        return refuse(StatusCode::BAD_REQUEST, why);
    }
    let paid = object["payment_status"].as_str() == Some("paid");
    let handled = matches!(
        event.kind.as_str(),
        "checkout.session.completed" | "checkout.session.async_payment_succeeded"
    );
    if !(handled && paid) {
        return (StatusCode::OK, "ignored").into_response();
    }
    let deposit_id = object["metadata"]["deposit_id"]
        .as_str()
        .or(object["client_reference_id"].as_str())
        .and_then(|d| d.parse::<i64>().ok());
    let payment = object["payment_intent"].as_str().unwrap_or_default();
    let Some(deposit_id) = deposit_id else {
        return refuse(StatusCode::BAD_REQUEST, "no deposit named");
    };
    match state
        .store
        .record_online_payment(practice_id, deposit_id, payment, &event.id)
        .await
    {
        Ok(_) => (StatusCode::OK, "ok").into_response(),
        // Already collected (or settled): nothing to do; Stripe must not retry.
        Err(stride_store::StoreError::Conflict(m)) => {
            tracing::warn!(deposit = deposit_id, reason = %m, "a Stripe payment for a deposit that is not pending");
            (StatusCode::OK, "not pending").into_response()
        }
        Err(stride_store::StoreError::NotFound) => {
            refuse(StatusCode::BAD_REQUEST, "unknown deposit")
        }
        Err(e) => {
            tracing::error!(error = %e, "recording a Stripe payment failed");
            refuse(StatusCode::SERVICE_UNAVAILABLE, "try again")
        }
    }
}

/// Where Stripe sends the patient back: no secret in the address.
pub async fn returned(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> PageResult {
    let practice = state
        .store
        .practice_by_slug(&slug)
        .await
        .map_err(|_| AppError::NotFound)?;
    let paid = q.contains_key("paid");
    let (title, text) = if paid {
        (
            "Thank you: your deposit is paid",
            "It is applied to what you owe for the visit. Your confirmation link shows the visit and lets you move or cancel it.",
        )
    } else {
        (
            "Your deposit is not paid yet",
            "Nothing was charged. Use the link in your confirmation to pay later, or the clinic will take it by phone.",
        )
    };
    crate::pages::render(&ReturnPage {
        practice: practice.name,
        title,
        text,
    })
}

#[derive(askama::Template)]
#[template(path = "deposit_return.html")]
struct ReturnPage {
    practice: String,
    title: &'static str,
    text: &'static str,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sign(secret: &str, t: i64, body: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(format!("{t}.{body}").as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    #[test]
    fn a_signature_checks_over_the_timestamp_and_the_exact_body() {
        let secret = "whsec_test_secret";
        let body = r#"{"id":"evt_1","type":"checkout.session.completed"}"#;
        let t = 1_764_500_000;
        let good = format!("t={t},v1={}", sign(secret, t, body));
        assert_eq!(verify(secret, &good, body.as_bytes(), t + 10), Ok(()));
        // Several v1 signatures (while a secret is rolled): any one may match.
        let rolled = format!("t={t},v1={},v1={}", "0".repeat(64), sign(secret, t, body));
        assert_eq!(verify(secret, &rolled, body.as_bytes(), t), Ok(()));
        assert!(verify("whsec_other", &good, body.as_bytes(), t).is_err());
        assert!(
            verify(secret, &good, b"{\"id\":\"evt_2\"}", t).is_err(),
            "a changed body"
        );
        assert!(
            verify(secret, &good, body.as_bytes(), t + TOLERANCE_S + 1).is_err(),
            "too old"
        );
        assert!(
            verify(
                secret,
                &format!("v1={}", sign(secret, t, body)),
                body.as_bytes(),
                t
            )
            .is_err()
        );
        assert!(verify(secret, &format!("t={t},v0=abc"), body.as_bytes(), t).is_err());
    }
}
