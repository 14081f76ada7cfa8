//! Delivery of outbox messages through each practice's providers: Twilio's REST API for SMS, SMTP
//! for email, or the default "log" provider that only records what would be sent. Errors carry the
//! provider's code and message, never the recipient or the body.

use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use serde::Deserialize;
use stride_store::Store;
use stride_store::messages::{Channel, Message, MessageProviders};

/// What a delivery attempt produced.
pub struct Delivered {
    pub provider: &'static str,
    pub status: String,
    pub provider_message_id: Option<String>,
}

#[derive(Clone)]
pub struct Delivery {
    http: reqwest::Client,
    twilio_api_base: String,
    stripe_api_base: String,
    /// Where patients reach Stride, for links in messages.
    base_url: String,
}

#[derive(Deserialize)]
struct TwilioMessage {
    sid: String,
    status: String,
}

#[derive(Deserialize)]
struct TwilioError {
    code: Option<i64>,
    message: Option<String>,
}

impl Delivery {
    pub fn new(
        twilio_api_base: &str,
        stripe_api_base: &str,
        base_url: &str,
    ) -> anyhow::Result<Delivery> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .user_agent(concat!("stride/", env!("CARGO_PKG_VERSION")))
            .build()
            .context("building the HTTP client")?;
        Ok(Delivery {
            http,
            twilio_api_base: twilio_api_base.trim_end_matches('/').to_string(),
            stripe_api_base: stripe_api_base.trim_end_matches('/').to_string(),
            base_url: base_url.trim_end_matches('/').to_string(),
        })
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Refunds an online deposit at Stripe. The idempotency key makes a retried job one refund.
    pub async fn refund_deposit(
        &self,
        store: &Store,
        practice_id: i64,
        deposit_id: i64,
    ) -> anyhow::Result<()> {
        let (deposit, keys) = store.deposit_for_refund(practice_id, deposit_id).await?;
        let keys = keys.ok_or_else(|| anyhow!("Stripe is no longer connected"))?;
        let payment = deposit
            .payment_ref
            .ok_or_else(|| anyhow!("the deposit has no Stripe payment to refund"))?;
        let resp = self
            .http
            .post(format!("{}/v1/refunds", self.stripe_api_base))
            .bearer_auth(&keys.secret)
            .header(
                "Idempotency-Key",
                format!("stride-deposit-refund-{deposit_id}"),
            )
            .form(&[
                ("payment_intent", payment.as_str()),
                ("metadata[deposit_id]", &deposit_id.to_string()),
            ])
            .send()
            .await
            .map_err(|e| anyhow!("Stripe could not be reached: {}", e.without_url()))?;
        let status = resp.status();
        if status.is_success() {
            return Ok(());
        }
        let body: serde_json::Value = resp.json().await.unwrap_or_default();
        bail!(
            "Stripe refused the refund (HTTP {}): {}",
            status.as_u16(),
            body["error"]["message"].as_str().unwrap_or("")
        )
    }

    /// Sends one message with the practice's configured provider.
    pub async fn deliver(&self, store: &Store, message: &Message) -> anyhow::Result<Delivered> {
        let providers = store.message_providers(message.practice_id).await?;
        match (
            message.channel,
            providers.sms_provider.as_str(),
            providers.email_provider.as_str(),
        ) {
            (Channel::Sms, "twilio", _) => self.twilio(&providers, message).await,
            (Channel::Email, _, "smtp") => smtp(&providers, message).await,
            _ => Ok(Delivered {
                provider: "log",
                status: "recorded".into(),
                provider_message_id: None,
            }),
        }
    }

    async fn twilio(&self, p: &MessageProviders, m: &Message) -> anyhow::Result<Delivered> {
        let token = p
            .twilio_auth_token
            .as_deref()
            .ok_or_else(|| anyhow!("Twilio auth token is not set"))?;
        let url = format!(
            "{}/2010-04-01/Accounts/{}/Messages.json",
            self.twilio_api_base, p.twilio_account_sid
        );
        let resp = self
            .http
            .post(&url)
            .basic_auth(&p.twilio_account_sid, Some(token))
            .form(&[
                ("To", m.to.as_str()),
                ("From", p.twilio_from.as_str()),
                ("Body", m.body.as_str()),
            ])
            .send()
            .await
            .map_err(|e| anyhow!("Twilio could not be reached: {}", e.without_url()))?;
        let status = resp.status();
        if status.is_success() {
            let body: TwilioMessage = resp
                .json()
                .await
                .context("Twilio answered with an unexpected body")?;
            return Ok(Delivered {
                provider: "twilio",
                status: if body.status == "failed" || body.status == "undelivered" {
                    body.status
                } else {
                    "sent".into()
                },
                provider_message_id: Some(body.sid),
            });
        }
        let err: TwilioError = resp.json().await.unwrap_or(TwilioError {
            code: None,
            message: None,
        });
        bail!(
            "Twilio refused the message (HTTP {}, code {}): {}",
            status.as_u16(),
            err.code
                .map(|c| c.to_string())
                .unwrap_or_else(|| "none".into()),
            err.message.unwrap_or_default()
        )
    }
}

async fn smtp(p: &MessageProviders, m: &Message) -> anyhow::Result<Delivered> {
    let email = lettre::Message::builder()
        .from(
            p.email_from
                .parse()
                .context("the From address is not valid")?,
        )
        .to(m.to.parse().context("the recipient address is not valid")?)
        .subject(m.subject.clone().unwrap_or_default())
        .header(ContentType::TEXT_PLAIN)
        .body(m.body.clone())
        .context("building the email")?;
    let port = u16::try_from(p.smtp_port).context("SMTP port")?;
    let mut builder = match p.smtp_tls.as_str() {
        "tls" => AsyncSmtpTransport::<Tokio1Executor>::relay(&p.smtp_host)?,
        "starttls" => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&p.smtp_host)?,
        _ => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&p.smtp_host),
    }
    .port(port)
    .timeout(Some(Duration::from_secs(20)));
    if !p.smtp_username.is_empty() {
        builder = builder.credentials(Credentials::new(
            p.smtp_username.clone(),
            p.smtp_password.clone().unwrap_or_default(),
        ));
    }
    let response = builder
        .build()
        .send(email)
        .await
        .map_err(|e| anyhow!("the SMTP server refused the message: {e}"))?;
    let id = response.message().next().map(|s| s.to_string());
    Ok(Delivered {
        provider: "smtp",
        status: "sent".into(),
        provider_message_id: id,
    })
}
