//! The outbox and its providers: the default provider records, Twilio is spoken to in its REST wire
//! format (a local stand-in checks Basic auth and the form fields), and email goes over real SMTP to
//! a small local SMTP server.

use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Form, Json, Router};
use base64::Engine;
use stride_core::role::Role;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use crate::helpers::*;

type Seen = Arc<Mutex<Vec<(String, std::collections::HashMap<String, String>)>>>;

const SID: &str = "AC0123456789abcdef0123456789abcdef";
const TOKEN: &str = "twilio-auth-token-for-tests";

async fn twilio_stand_in() -> (String, Seen) {
    let seen: Seen = Arc::default();
    async fn create(
        State(seen): State<Seen>,
        Path(account): Path<String>,
        headers: HeaderMap,
        Form(form): Form<std::collections::HashMap<String, String>>,
    ) -> (StatusCode, Json<serde_json::Value>) {
        let expected = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{SID}:{TOKEN}"))
        );
        if account != SID
            || headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(expected.as_str())
        {
            return (
                StatusCode::UNAUTHORIZED,
                Json(
                    serde_json::json!({"code": 20003, "message": "Authenticate", "more_info": "https://www.twilio.com/docs/errors/20003", "status": 401}),
                ),
            );
        }
        let to = form.get("To").cloned().unwrap_or_default();
        seen.lock().unwrap().push((account.clone(), form.clone()));
        if to == "+15005550001" {
            return (
                StatusCode::BAD_REQUEST,
                Json(serde_json::json!({
                "code": 21211, "message": format!("The 'To' number {to} is not a valid phone number."),
                "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400})),
            );
        }
        (
            StatusCode::CREATED,
            Json(serde_json::json!({
                "account_sid": account, "api_version": "2010-04-01", "body": form.get("Body"),
                "date_created": "Mon, 23 Nov 2026 14:00:00 +0000", "direction": "outbound-api",
                "from": form.get("From"), "to": to, "num_segments": "1", "price": null,
                "sid": "SM0123456789abcdef0123456789abcdef", "status": "queued",
                "uri": format!("/2010-04-01/Accounts/{account}/Messages/SM0123456789abcdef0123456789abcdef.json")
            })),
        )
    }
    let app = Router::new()
        .route("/2010-04-01/Accounts/{account}/Messages.json", post(create))
        .with_state(seen.clone());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), seen)
}

/// A minimal SMTP server (RFC 5321 commands a client needs to hand over one message).
async fn smtp_server() -> (u16, Arc<Mutex<Vec<String>>>) {
    let mails: Arc<Mutex<Vec<String>>> = Arc::default();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let store = mails.clone();
    tokio::spawn(async move {
        loop {
            let (socket, _) = listener.accept().await.unwrap();
            let store = store.clone();
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                write
                    .write_all(b"220 localhost ESMTP test\r\n")
                    .await
                    .unwrap();
                let mut envelope = String::new();
                while let Ok(Some(line)) = lines.next_line().await {
                    let upper = line.to_uppercase();
                    let reply: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                        b"250-localhost\r\n250 8BITMIME\r\n"
                    } else if upper.starts_with("MAIL FROM") || upper.starts_with("RCPT TO") {
                        envelope.push_str(&line);
                        envelope.push('\n');
                        b"250 OK\r\n"
                    } else if upper == "DATA" {
                        write
                            .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                            .await
                            .unwrap();
                        let mut data = envelope.clone();
                        while let Ok(Some(l)) = lines.next_line().await {
                            if l == "." {
                                break;
                            }
                            data.push_str(&l);
                            data.push('\n');
                        }
                        store.lock().unwrap().push(data);
                        b"250 OK: queued as TEST123\r\n"
                    } else if upper == "QUIT" {
                        write.write_all(b"221 Bye\r\n").await.unwrap();
                        break;
                    } else if upper == "RSET" || upper == "NOOP" {
                        b"250 OK\r\n"
                    } else {
                        b"502 Command not implemented\r\n"
                    };
                    write.write_all(reply).await.unwrap();
                }
            });
        }
    });
    (port, mails)
}

#[tokio::test]
async fn without_a_provider_messages_are_recorded_and_shown_in_the_log() {
    let app = TestApp::spawn().await;
    let practice = app.practice("alpha").await;
    let owner = app.user(&practice, Role::Owner).await;
    let b = app.login(&owner).await;
    let resp = b
        .post_form(
            "/app/settings/messages/test",
            &[("channel", "sms"), ("to", "(312) 555-0142")],
        )
        .await;
    assert_eq!(resp.status(), 303);
    eventually("the message is recorded", || async {
        app.store
            .messages(practice.id, 10, &stride_store::audit::Actor::system("test"))
            .await
            .unwrap()
            .iter()
            .any(|m| m.status == "recorded")
    })
    .await;
    let (_, page) = b.text("/app/settings/messages").await;
    assert!(page.contains("(312) 555-0142"));
    assert!(page.contains("Test message from alpha PT"));
    assert!(page.contains("recorded"));
    // A bad number is refused with the reason, and nothing is queued.
    let resp = b
        .post_form(
            "/app/settings/messages/test",
            &[("channel", "sms"), ("to", "12345")],
        )
        .await;
    assert_eq!(resp.status(), 422);
    assert!(resp.text().await.unwrap().contains("not a valid"));
    assert_eq!(
        app.store
            .messages(practice.id, 10, &stride_store::audit::Actor::system("test"))
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn sms_goes_out_through_twilios_rest_api() {
    let (twilio, seen) = twilio_stand_in().await;
    let app = TestApp::spawn_with(stride::config::ServeArgs {
        twilio_api_base: twilio,
        ..Default::default()
    })
    .await;
    let practice = app.practice("alpha").await;
    let owner = app.user(&practice, Role::Owner).await;
    let b = app.login(&owner).await;
    let resp = b
        .post_form(
            "/app/settings/messages/providers",
            &[
                ("sms_provider", "twilio"),
                ("twilio_account_sid", SID),
                ("twilio_auth_token", TOKEN),
                ("twilio_from", "(312) 555-0100"),
                ("email_provider", "log"),
                ("smtp_port", "587"),
                ("smtp_tls", "starttls"),
            ],
        )
        .await;
    assert_eq!(resp.status(), 303);
    let (_, page) = b.text("/app/settings/messages").await;
    assert!(!page.contains(TOKEN), "the auth token is never shown again");
    assert!(page.contains("saved; leave blank to keep it"));

    let api = Api::new(&app, &app.token(&practice, Role::FrontDesk).await);
    let (status, body) = api
        .call("POST", "/api/v1/messages", Some(serde_json::json!({"channel": "sms", "to": "(312) 555-0177", "body": "Your visit is tomorrow at 9:00 AM", "idempotency_key": "visit-42-24h"})))
        .await;
    assert_eq!(status, 202, "{body}");
    let id = body["data"]["id"].as_i64().unwrap();
    // The same idempotency key does not send twice.
    let (_, again) = api
        .call("POST", "/api/v1/messages", Some(serde_json::json!({"channel": "sms", "to": "(312) 555-0177", "body": "Your visit is tomorrow at 9:00 AM", "idempotency_key": "visit-42-24h"})))
        .await;
    assert_eq!(again["data"]["id"], id);
    eventually("Twilio accepted the message", || async {
        app.store.message_for_delivery(id).await.unwrap().status == "sent"
    })
    .await;
    let m = app.store.message_for_delivery(id).await.unwrap();
    assert_eq!(m.provider, "twilio");
    assert_eq!(
        m.provider_message_id.as_deref(),
        Some("SM0123456789abcdef0123456789abcdef")
    );
    let requests = seen.lock().unwrap().clone();
    assert_eq!(requests.len(), 1, "sent exactly once");
    let form = &requests[0].1;
    assert_eq!(form["To"], "+13125550177");
    assert_eq!(form["From"], "+13125550100");
    assert_eq!(form["Body"], "Your visit is tomorrow at 9:00 AM");

    // Twilio's refusal is kept (HTTP status, code and message) for the retry and the log.
    let (status, body) = api
        .call(
            "POST",
            "/api/v1/messages",
            Some(serde_json::json!({"channel": "sms", "to": "+1 500 555 0001", "body": "x"})),
        )
        .await;
    assert_eq!(status, 202);
    let bad = body["data"]["id"].as_i64().unwrap();
    let key = format!("send_message:{bad}");
    eventually("the failed attempt is recorded", || {
        let key = key.clone();
        let pool = app.store.pool().clone();
        async move {
            let err: Option<String> =
                sqlx::query_scalar("SELECT last_error FROM jobs WHERE idempotency_key = $1")
                    .bind(key)
                    .fetch_one(&pool)
                    .await
                    .unwrap();
            err.is_some_and(|e| {
                e.contains("HTTP 400")
                    && e.contains("code 21211")
                    && e.contains("not a valid phone number")
            })
        }
    })
    .await;
    assert_eq!(
        app.store.message_for_delivery(bad).await.unwrap().status,
        "queued",
        "it will be retried"
    );
}

#[tokio::test]
async fn email_goes_out_over_smtp() {
    let (port, mails) = smtp_server().await;
    let app = TestApp::spawn().await;
    let practice = app.practice("alpha").await;
    let owner = app.user(&practice, Role::Owner).await;
    let b = app.login(&owner).await;
    let port_text = port.to_string();
    let resp = b
        .post_form(
            "/app/settings/messages/providers",
            &[
                ("sms_provider", "log"),
                ("email_provider", "smtp"),
                ("smtp_host", "127.0.0.1"),
                ("smtp_port", port_text.as_str()),
                ("smtp_tls", "none"),
                ("email_from", "frontdesk@alpha.example"),
            ],
        )
        .await;
    assert_eq!(resp.status(), 303);
    let resp = b
        .post_form(
            "/app/settings/messages/test",
            &[("channel", "email"), ("to", "patient@example.com")],
        )
        .await;
    assert_eq!(resp.status(), 303);
    eventually("the email reached the SMTP server", || async {
        !mails.lock().unwrap().is_empty()
    })
    .await;
    let mail = mails.lock().unwrap()[0].clone();
    assert!(
        mail.contains("MAIL FROM:<frontdesk@alpha.example>"),
        "{mail}"
    );
    assert!(mail.contains("RCPT TO:<patient@example.com>"));
    assert!(mail.contains("Subject: Test email from alpha PT"));
    // The body may be wrapped with quoted-printable soft line breaks.
    assert!(
        mail.replace("=\n", "").contains("email delivery works"),
        "{mail}"
    );
    eventually("the message is marked sent", || async {
        app.store
            .messages(practice.id, 10, &stride_store::audit::Actor::system("test"))
            .await
            .unwrap()
            .iter()
            .any(|m| m.status == "sent" && m.provider == "smtp")
    })
    .await;
}
