//! Deposits paid online through Stripe Checkout, against a local stand-in that speaks Stripe's
//! REST wire format (form-encoded requests with bracketed keys, Bearer auth, Stripe's JSON
//! objects), and webhooks signed the way Stripe signs them (written here independently of
//! Stride's verifier): a paid deposit is collected once however often the event is delivered,
//! forged or stale events change nothing, and a refund under the policy goes back through Stripe.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Form, Json, Router};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use stride_core::deposits::DepositStatus;
use stride_core::role::Role;
use stride_store::audit::Actor;
use stride_store::scheduling::NewAppointment;
use tokio::net::TcpListener;

use crate::booking::{deposits_on, open_all_day, open_time};
use crate::helpers::*;

const SECRET_KEY: &str = "sk_test_51StrideExampleKey";
const WEBHOOK_SECRET: &str = "whsec_stride_test_signing_secret";
const HOUR: i64 = 3_600_000;

/// (path, form, Idempotency-Key) of each request the stand-in accepted.
type Seen = Arc<Mutex<Vec<(String, HashMap<String, String>, Option<String>)>>>;

async fn stripe_stand_in() -> (String, Seen) {
    let seen: Seen = Arc::default();
    fn authorized(headers: &HeaderMap) -> bool {
        headers.get("authorization").and_then(|v| v.to_str().ok())
            == Some(format!("Bearer {SECRET_KEY}").as_str())
    }
    fn unauthorized() -> (StatusCode, Json<serde_json::Value>) {
        (
            StatusCode::UNAUTHORIZED,
            Json(
                serde_json::json!({"error": {"message": "Invalid API Key provided", "type": "invalid_request_error"}}),
            ),
        )
    }
    async fn sessions(
        State(seen): State<Seen>,
        headers: HeaderMap,
        Form(form): Form<HashMap<String, String>>,
    ) -> (StatusCode, Json<serde_json::Value>) {
        if !authorized(&headers) {
            return unauthorized();
        }
        seen.lock()
            .unwrap()
            .push(("/v1/checkout/sessions".into(), form.clone(), None));
        let id = "cs_test_a1StrideSession";
        (
            StatusCode::OK,
            Json(serde_json::json!({
                "id": id, "object": "checkout.session", "mode": form.get("mode"),
                "amount_total": form.get("line_items[0][price_data][unit_amount]").and_then(|a| a.parse::<i64>().ok()),
                "currency": "usd", "client_reference_id": form.get("client_reference_id"),
                "metadata": {"deposit_id": form.get("metadata[deposit_id]"), "practice_id": form.get("metadata[practice_id]")},
                "payment_intent": null, "payment_status": "unpaid", "status": "open",
                "success_url": form.get("success_url"), "cancel_url": form.get("cancel_url"),
                "url": format!("https://checkout.stripe.com/c/pay/{id}#fidkdWxOYHwnPyd1blpxYHZxWjA0"),
                "livemode": false
            })),
        )
    }
    async fn refunds(
        State(seen): State<Seen>,
        headers: HeaderMap,
        Form(form): Form<HashMap<String, String>>,
    ) -> (StatusCode, Json<serde_json::Value>) {
        if !authorized(&headers) {
            return unauthorized();
        }
        let key = headers
            .get("idempotency-key")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        seen.lock()
            .unwrap()
            .push(("/v1/refunds".into(), form.clone(), key));
        (
            StatusCode::OK,
            Json(serde_json::json!({
                "id": "re_3StrideRefund", "object": "refund", "amount": 2500, "currency": "usd",
                "payment_intent": form.get("payment_intent"), "status": "succeeded"
            })),
        )
    }
    let app = Router::new()
        .route("/v1/checkout/sessions", post(sessions))
        .route("/v1/refunds", post(refunds))
        .with_state(seen.clone());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), seen)
}

/// Signs like Stripe: `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
fn stripe_signature(secret: &str, t: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{body}").as_bytes());
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// Stripe's `checkout.session.completed` event for a paid session.
fn completed_event(event_id: &str, practice_id: i64, deposit_id: i64, created: i64) -> String {
    serde_json::json!({
        "id": event_id, "object": "event", "api_version": "2024-06-20", "created": created,
        "data": {"object": {
            "id": "cs_test_a1StrideSession", "object": "checkout.session", "amount_subtotal": 2500,
            "amount_total": 2500, "client_reference_id": deposit_id.to_string(), "currency": "usd",
            "customer_details": {"email": null, "name": null},
            "metadata": {"deposit_id": deposit_id.to_string(), "practice_id": practice_id.to_string()},
            "mode": "payment", "payment_intent": "pi_3StridePaymentIntent", "payment_status": "paid",
            "status": "complete", "livemode": false
        }},
        "livemode": false, "pending_webhooks": 1,
        "request": {"id": null, "idempotency_key": null},
        "type": "checkout.session.completed"
    })
    .to_string()
}

#[tokio::test]
async fn a_patient_pays_the_deposit_on_stripe_and_a_timely_cancel_refunds_it_there() {
    let (stripe, seen) = stripe_stand_in().await;
    let app = TestApp::spawn_with(stride::config::ServeArgs {
        stripe_api_base: stripe,
        ..Default::default()
    })
    .await;
    let practice = app.practice("alpha").await;
    let actor = Actor::system("test");
    let (location, clinician) = open_all_day(&app, practice.id).await;
    deposits_on(&app, practice.id).await;
    let eval = app.store.appointment_types(practice.id).await.unwrap()[0].clone();
    let (_, start) = open_time(&app, practice.id, eval.id, location, 48 * HOUR).await;
    let booked = app
        .store
        .book_appointment(
            practice.id,
            &NewAppointment::new(location, clinician, eval.id, start, "online"),
            &actor,
        )
        .await
        .unwrap();
    let manage = format!("/p/alpha/manage/{}", booked.manage_token.clone().unwrap());
    let patient = Browser::new(&app);
    let (_, page) = patient.text(&manage).await;
    assert!(
        !page.contains("Pay the $25 deposit"),
        "no online payment before Stripe is connected"
    );

    // The owner connects Stripe; a key of the wrong kind is refused with the reason.
    let owner = app.login(&app.user(&practice, Role::Owner).await).await;
    let bad = owner
        .post_form(
            "/app/settings/booking/stripe",
            &[
                ("secret_key", "pk_test_publishable"),
                ("webhook_secret", WEBHOOK_SECRET),
            ],
        )
        .await;
    assert_eq!(bad.status(), 422);
    assert!(bad.text().await.unwrap().contains("starts with sk_"));
    let ok = owner
        .post_form(
            "/app/settings/booking/stripe",
            &[
                ("secret_key", SECRET_KEY),
                ("webhook_secret", WEBHOOK_SECRET),
            ],
        )
        .await;
    assert_eq!(ok.status(), 303);
    let (_, settings) = owner.text("/app/settings/booking").await;
    assert!(
        settings.contains("Connected") && !settings.contains(SECRET_KEY),
        "keys are never shown again"
    );

    // Pay: a Checkout Session for exactly the deposit, then Stripe's page.
    let (_, page) = patient.text(&manage).await;
    assert!(page.contains("Pay the $25 deposit"), "{page}");
    let resp = patient.post_public(&format!("{manage}/pay"), &[]).await;
    assert_eq!(resp.status(), 303);
    assert!(
        resp.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("https://checkout.stripe.com/c/pay/cs_test_a1StrideSession")
    );
    let (deposit, _) = app
        .store
        .deposit_for(practice.id, booked.id)
        .await
        .unwrap()
        .unwrap();
    {
        let seen = seen.lock().unwrap();
        let (path, form, _) = &seen[0];
        assert_eq!(path, "/v1/checkout/sessions");
        assert_eq!(form["mode"], "payment");
        assert_eq!(form["line_items[0][price_data][unit_amount]"], "2500");
        assert_eq!(form["line_items[0][price_data][currency]"], "usd");
        assert_eq!(form["client_reference_id"], deposit.id.to_string());
        assert_eq!(form["metadata[practice_id]"], practice.id.to_string());
        assert!(
            form["line_items[0][price_data][product_data][name]"]
                .starts_with("Deposit: New-patient evaluation, ")
        );
        let token = booked.manage_token.clone().unwrap();
        assert!(
            form.values().all(|v| !v.contains(&token)),
            "the manage link's secret never goes to Stripe"
        );
    }

    // Stripe reports the payment: forged and stale deliveries change nothing.
    let now = jiff::Timestamp::now().as_second();
    let body = completed_event("evt_1StridePaid", practice.id, deposit.id, now);
    let hook = |signature: String, body: String| {
        let url = app.url("/hooks/stripe");
        async move {
            reqwest::Client::new()
                .post(url)
                .header("content-type", "application/json; charset=utf-8")
                .header("stripe-signature", signature)
                .body(body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(
        hook(
            stripe_signature("whsec_someone_else", now, &body),
            body.clone()
        )
        .await,
        400
    );
    assert_eq!(
        hook(
            stripe_signature(WEBHOOK_SECRET, now - 600, &body),
            body.clone()
        )
        .await,
        400,
        "stale"
    );
    let tampered = body.replace("\"amount_total\":2500", "\"amount_total\":1");
    assert_eq!(
        hook(stripe_signature(WEBHOOK_SECRET, now, &body), tampered).await,
        400
    );
    let (d, _) = app
        .store
        .deposit_for(practice.id, booked.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(d.status, DepositStatus::Pending);
    for _ in 0..2 {
        assert_eq!(
            hook(stripe_signature(WEBHOOK_SECRET, now, &body), body.clone()).await,
            200
        );
    }
    let (d, events) = app
        .store
        .deposit_for(practice.id, booked.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (d.status, d.method.as_str()),
        (DepositStatus::Collected, "stripe")
    );
    assert_eq!(d.payment_ref.as_deref(), Some("pi_3StridePaymentIntent"));
    assert_eq!(
        events
            .iter()
            .filter(|e| e.to == DepositStatus::Collected)
            .count(),
        1,
        "one payment however often Stripe delivers it"
    );
    assert_eq!(events.last().unwrap().actor, "system: Stripe");
    let (_, page) = patient.text(&manage).await;
    assert!(
        page.contains("Deposit $25:</strong> Collected") && !page.contains("Pay the $25 deposit"),
        "{page}"
    );
    let (status, thanks) = patient.text("/p/alpha/deposit?paid=1").await;
    assert_eq!(status, 200);
    assert!(thanks.contains("your deposit is paid"));

    // Cancelled in time: refunded in the ledger, and the money goes back through Stripe, once.
    patient.post_public(&manage, &[("action", "cancel")]).await;
    let (d, _) = app
        .store
        .deposit_for(practice.id, booked.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(d.status, DepositStatus::Refunded);
    eventually("the refund reaches Stripe", || async {
        seen.lock()
            .unwrap()
            .iter()
            .any(|(p, _, _)| p == "/v1/refunds")
    })
    .await;
    let seen = seen.lock().unwrap();
    let refunds: Vec<_> = seen.iter().filter(|(p, _, _)| p == "/v1/refunds").collect();
    assert_eq!(refunds.len(), 1);
    assert_eq!(refunds[0].1["payment_intent"], "pi_3StridePaymentIntent");
    assert_eq!(
        refunds[0].2.as_deref(),
        Some(format!("stride-deposit-refund-{}", d.id).as_str())
    );
}
