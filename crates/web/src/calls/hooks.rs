//! Twilio's webhooks for tracking numbers: an incoming call (answered with TwiML that offers the
//! keypad menu when the practice has it on, then forwards to the location's main line), the
//! forwarded leg's result and the call's status callback, and inbound texts with STOP and HELP.
//! Every request must carry a valid `X-Twilio-Signature` made with the practice's auth token over
//! the public URL and the sorted form parameters (403 otherwise). Retries are idempotent on
//! CallSid and MessageSid.

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use serde::Deserialize;
use sha1::Sha1;
use stride_core::calls::{IVR_PROMPT, SmsKeyword, is_final_status};
use stride_core::phone::PhoneE164;
use stride_store::calls::NumberRoute;

use crate::AppState;

/// HMAC-SHA1 keyed with the auth token over the URL and each parameter's name and value, sorted.
fn signing_mac(auth_token: &str, url: &str, params: &[(String, String)]) -> Hmac<Sha1> {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    let mut mac =
        Hmac::<Sha1>::new_from_slice(auth_token.as_bytes()).expect("HMAC takes any key length");
    mac.update(url.as_bytes());
    for (k, v) in sorted {
        mac.update(k.as_bytes());
        mac.update(v.as_bytes());
    }
    mac
}

/// Twilio's request signature (`X-Twilio-Signature`): base64 of [`signing_mac`].
pub fn twilio_signature(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    base64::engine::general_purpose::STANDARD
        .encode(signing_mac(auth_token, url, params).finalize().into_bytes())
}

/// Checks a signature in constant time.
fn signature_ok(auth_token: &str, url: &str, params: &[(String, String)], given: &str) -> bool {
    let Ok(given) = base64::engine::general_purpose::STANDARD.decode(given.trim()) else {
        return false;
    };
    signing_mac(auth_token, url, params)
        .verify_slice(&given)
        .is_ok()
}

/// The URL Twilio requested, as it signed it: the configured public URL, else the Host header.
pub(crate) fn signed_url(state: &AppState, headers: &HeaderMap, path_and_query: &str) -> String {
    match &state.config.public_url {
        Some(base) => format!("{}{path_and_query}", base.trim_end_matches('/')),
        None => {
            let host = headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .unwrap_or("localhost");
            let scheme = if !state.config.trusted_proxies.is_empty() {
                headers
                    .get("x-forwarded-proto")
                    .and_then(|h| h.to_str().ok())
                    .unwrap_or("http")
            } else {
                "http"
            };
            format!("{scheme}://{host}{path_and_query}")
        }
    }
}

/// A webhook request whose signature checked out, with the tracking number it is for.
struct Verified {
    route: NumberRoute,
    params: Vec<(String, String)>,
}

impl Verified {
    fn get(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }
}

fn twiml(body: String) -> Response {
    (
        [(header::CONTENT_TYPE, "text/xml; charset=utf-8")],
        format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response>{body}</Response>"),
    )
        .into_response()
}

fn refuse(status: StatusCode, why: &'static str) -> Response {
    metrics::counter!("stride_twilio_webhooks_refused_total", "why" => why).increment(1);
    (status, why).into_response()
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Parses the form body, finds the tracking number (`To`), and checks the signature with that
/// practice's auth token. Nothing is recorded for a request that fails.
async fn verify(
    state: &AppState,
    headers: &HeaderMap,
    uri: &axum::http::Uri,
    body: &Bytes,
) -> Result<Verified, Response> {
    let path_and_query = uri.path_and_query().map_or("", |p| p.as_str());
    let params: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
        .map_err(|_| refuse(StatusCode::BAD_REQUEST, "the body is not a form"))?;
    let Some(signature) = headers
        .get("x-twilio-signature")
        .and_then(|h| h.to_str().ok())
    else {
        return Err(refuse(StatusCode::FORBIDDEN, "no X-Twilio-Signature"));
    };
    let to = params
        .iter()
        .find(|(k, _)| k == "To")
        .map(|(_, v)| v.as_str())
        .unwrap_or_default();
    let route = match PhoneE164::parse(to) {
        Ok(n) => state
            .store
            .number_route(n.as_str())
            .await
            .map_err(|_| refuse(StatusCode::SERVICE_UNAVAILABLE, "database unavailable"))?,
        Err(_) => None,
    };
    // An unknown number is refused like a bad signature: nothing tells a prober which numbers exist.
    let Some(route) = route else {
        return Err(refuse(StatusCode::FORBIDDEN, "not a tracking number"));
    };
    let Some(token) = route.auth_token.as_deref() else {
        return Err(refuse(StatusCode::FORBIDDEN, "no Twilio auth token set"));
    };
    let url = signed_url(state, headers, path_and_query);
    if !signature_ok(token, &url, &params, signature) {
        return Err(refuse(StatusCode::FORBIDDEN, "bad X-Twilio-Signature"));
    }
    let account = params
        .iter()
        .find(|(k, _)| k == "AccountSid")
        .map(|(_, v)| v.as_str());
    if !route.account_sid.is_empty() && account != Some(route.account_sid.as_str()) {
        return Err(refuse(StatusCode::FORBIDDEN, "another Twilio account"));
    }
    Ok(Verified { route, params })
}

fn now() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct VoiceQuery {
    /// `menu`: the answer to the keypad menu.
    step: Option<String>,
}

/// `POST /hooks/twilio/voice`: a call to a tracking number.
pub async fn voice(
    State(state): State<AppState>,
    Query(q): Query<VoiceQuery>,
    headers: HeaderMap,
    uri: axum::http::Uri,
    body: Bytes,
) -> Response {
    let v = match verify(&state, &headers, &uri, &body).await {
        Ok(v) => v,
        Err(resp) => return resp,
    };
    let Some(sid) = v.get("CallSid").map(str::to_string) else {
        return refuse(StatusCode::BAD_REQUEST, "no CallSid");
    };
    let from = v.get("From").and_then(|f| PhoneE164::parse(f).ok());
    let status = v.get("CallStatus").unwrap_or("ringing").to_string();
    if let Err(e) = state
        .store
        .start_call(&v.route, &sid, from.as_ref(), &status, now())
        .await
    {
        tracing::error!(error = %e, "recording a call failed");
        // Still forward the call: a caller must never hear an error because of Stride.
    }
    let dial = format!(
        "<Dial action=\"/hooks/twilio/voice-status\" timeout=\"25\">{}</Dial>",
        xml_escape(&v.route.forward_to)
    );
    if q.step.as_deref() == Some("menu") {
        if let Some(d) = v.get("Digits").and_then(|d| d.chars().next()) {
            let _ = state.store.call_digit(v.route.practice_id, &sid, d).await;
        }
        return twiml(dial);
    }
    if v.route.ivr {
        return twiml(format!(
            "<Gather numDigits=\"1\" timeout=\"6\" action=\"/hooks/twilio/voice?step=menu\"><Say>{}</Say></Gather>{dial}",
            xml_escape(IVR_PROMPT)
        ));
    }
    twiml(dial)
}

/// `POST /hooks/twilio/voice-status`: the forwarded leg's result (the `<Dial>` action, with
/// `DialCallStatus`) and the call's status callback (a final `CallStatus` with `CallDuration`).
pub async fn voice_status(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: axum::http::Uri,
    body: Bytes,
) -> Response {
    let v = match verify(&state, &headers, &uri, &body).await {
        Ok(v) => v,
        Err(resp) => return resp,
    };
    let Some(sid) = v.get("CallSid").map(str::to_string) else {
        return refuse(StatusCode::BAD_REQUEST, "no CallSid");
    };
    let practice_id = v.route.practice_id;
    let store = &state.store;
    // A status for a call Stride never saw answer (the voice webhook failed): record it now.
    if store.call_by_sid(practice_id, &sid).await.is_err() {
        let from = v.get("From").and_then(|f| PhoneE164::parse(f).ok());
        if let Err(e) = store
            .start_call(&v.route, &sid, from.as_ref(), "ringing", now())
            .await
        {
            tracing::error!(error = %e, "recording a call failed");
            return refuse(StatusCode::SERVICE_UNAVAILABLE, "could not record the call");
        }
    }
    if let Some(dial) = v.get("DialCallStatus") {
        let duration = v
            .get("DialCallDuration")
            .and_then(|d| d.parse().ok())
            .unwrap_or(0);
        if let Err(e) = store.call_dialed(practice_id, &sid, dial, duration).await {
            tracing::error!(error = %e, "recording a call's result failed");
            return refuse(StatusCode::SERVICE_UNAVAILABLE, "could not record the call");
        }
    }
    let status = v.get("CallStatus").unwrap_or_default().to_string();
    // The forwarded leg ended: that ends the call for Stride (the caller only hangs up after).
    let ended = v.get("DialCallStatus").is_some() || is_final_status(&status);
    if ended {
        let status = if status.is_empty() || !is_final_status(&status) {
            "completed".to_string()
        } else {
            status
        };
        match store.finish_call(practice_id, &sid, &status, now()).await {
            Ok(done) => {
                if done.first_time {
                    metrics::counter!("stride_calls_total").increment(1);
                    if let Some(visit_id) = done.call.visit_id {
                        record_conversion(&state, practice_id, visit_id, &done.call).await;
                    }
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "ending a call failed");
                return refuse(StatusCode::SERVICE_UNAVAILABLE, "could not record the call");
            }
        }
    }
    twiml(if v.get("DialCallStatus").is_some() {
        "<Hangup/>".into()
    } else {
        String::new()
    })
}

/// A tracked call is a conversion of the website visit that was shown the number.
async fn record_conversion(
    state: &AppState,
    practice_id: i64,
    visit_id: i64,
    call: &stride_store::calls::CallRow,
) {
    let Ok(Some((site_id, visitor_id, visit))) =
        state.store.visit_by_id(practice_id, visit_id).await
    else {
        return;
    };
    state.intake.record(stride_store::calls::tracked_call_event(
        site_id,
        practice_id,
        visitor_id,
        &visit,
        call,
    ));
}

/// `POST /hooks/twilio/sms`: a text to a tracking number. STOP opts out (Twilio confirms on its
/// side), START opts back in, HELP gets who is texting and how to stop.
pub async fn sms(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: axum::http::Uri,
    body: Bytes,
) -> Response {
    let v = match verify(&state, &headers, &uri, &body).await {
        Ok(v) => v,
        Err(resp) => return resp,
    };
    let (Some(sid), Some(from)) = (
        v.get("MessageSid").map(str::to_string),
        v.get("From").and_then(|f| PhoneE164::parse(f).ok()),
    ) else {
        return refuse(StatusCode::BAD_REQUEST, "no MessageSid or From");
    };
    let text = v.get("Body").unwrap_or_default().to_string();
    match state
        .store
        .receive_sms(&v.route, &sid, &from, &text, now())
        .await
    {
        Ok(SmsKeyword::Help) => twiml(format!(
            "<Message>{}: texts about your appointments. Call {} for help. Reply STOP to opt out.</Message>",
            xml_escape(&v.route.practice_name),
            xml_escape(&v.route.forward_to)
        )),
        Ok(SmsKeyword::Start) => twiml(format!(
            "<Message>{}: you will get appointment texts again. Reply STOP to opt out.</Message>",
            xml_escape(&v.route.practice_name)
        )),
        Ok(SmsKeyword::Confirm) => {
            let confirmed = state
                .store
                .confirm_by_text(v.route.practice_id, &from, now())
                .await;
            twiml(match confirmed {
                Ok(Some(_)) => format!(
                    "<Message>{}: thank you, your visit is confirmed. See you then!</Message>",
                    xml_escape(&v.route.practice_name)
                ),
                Ok(None) => format!(
                    "<Message>{}: we found no upcoming visit for this number. Call {} if you need help.</Message>",
                    xml_escape(&v.route.practice_name),
                    xml_escape(&v.route.forward_to)
                ),
                Err(e) => {
                    tracing::error!(error = %e, "confirming by text failed");
                    String::new()
                }
            })
        }
        Ok(_) => twiml(String::new()),
        Err(e) => {
            tracing::error!(error = %e, "recording a text failed");
            refuse(StatusCode::SERVICE_UNAVAILABLE, "could not record the text")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example in Twilio's security documentation and its signature-validation snippets.
    #[test]
    fn matches_twilios_documented_example() {
        let params: Vec<(String, String)> = [
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+14158675310"),
            ("Digits", "1234"),
            ("From", "+14158675310"),
            ("To", "+18005551212"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
        let sig = twilio_signature("12345", url, &params);
        assert_eq!(sig, "GvWf1cFY/Q7PnoempGyD5oXAezc=");
        assert!(signature_ok("12345", url, &params, &sig));
        assert!(!signature_ok("54321", url, &params, &sig));
        assert!(!signature_ok(
            "12345",
            "https://mycompany.com/myapp.php",
            &params,
            &sig
        ));
        assert!(!signature_ok("12345", url, &params, "not base64!"));
    }
}
