//! The outbox: every SMS and email Stride sends is first a row here (recipient and body encrypted)
//! plus a `send_message` job, written in one transaction, so a crash never loses a message and a
//! retry never sends one twice. Also each practice's message provider settings.

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;
use stride_core::email::EmailAddress;
use stride_core::phone::PhoneE164;

use crate::error::{StoreError, StoreResult};
use crate::jobs::{self, NewJob};
use crate::{Store, now_ms, opt_bytes};

pub const SEND_MESSAGE_JOB: &str = "send_message";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Sms,
    Email,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Sms => "sms",
            Channel::Email => "email",
        }
    }

    /// Reads a channel name and a recipient for it: a phone number for SMS, an address for email.
    pub fn with_recipient(channel: &str, to: &str) -> StoreResult<(Channel, String)> {
        let invalid = |e: &dyn std::fmt::Display| StoreError::Invalid(e.to_string());
        match channel {
            "sms" => Ok((
                Channel::Sms,
                PhoneE164::parse(to)
                    .map_err(|e| invalid(&e))?
                    .as_str()
                    .to_string(),
            )),
            "email" => Ok((
                Channel::Email,
                EmailAddress::parse(to)
                    .map_err(|e| invalid(&e))?
                    .as_str()
                    .to_string(),
            )),
            _ => Err(StoreError::Invalid(
                "the channel must be sms or email".into(),
            )),
        }
    }

    fn parse(s: &str) -> StoreResult<Channel> {
        match s {
            "sms" => Ok(Channel::Sms),
            "email" => Ok(Channel::Email),
            other => Err(StoreError::Invalid(format!("unknown channel {other}"))),
        }
    }
}

#[derive(Debug, Clone)]
pub struct NewMessage {
    pub channel: Channel,
    /// An E.164 phone number or an email address, already parsed by the caller.
    pub to: String,
    pub subject: Option<String>,
    pub body: String,
    /// Why it is sent ("reminder", "test", ...): no patient data.
    pub purpose: String,
    pub idempotency_key: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Message {
    pub id: i64,
    pub practice_id: i64,
    pub channel: Channel,
    pub to: String,
    pub subject: Option<String>,
    pub body: String,
    pub purpose: String,
    pub provider: String,
    pub status: String,
    pub provider_message_id: Option<String>,
    pub error: Option<String>,
    pub created_at: i64,
    pub sent_at: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MessageProviders {
    pub sms_provider: String,
    pub twilio_account_sid: String,
    #[serde(skip)]
    pub twilio_auth_token: Option<String>,
    pub twilio_from: String,
    pub email_provider: String,
    pub smtp_host: String,
    pub smtp_port: i64,
    pub smtp_username: String,
    #[serde(skip)]
    pub smtp_password: Option<String>,
    pub smtp_tls: String,
    pub email_from: String,
}

impl Default for MessageProviders {
    fn default() -> Self {
        MessageProviders {
            sms_provider: "log".into(),
            twilio_account_sid: String::new(),
            twilio_auth_token: None,
            twilio_from: String::new(),
            email_provider: "log".into(),
            smtp_host: String::new(),
            smtp_port: 587,
            smtp_username: String::new(),
            smtp_password: None,
            smtp_tls: "starttls".into(),
            email_from: String::new(),
        }
    }
}

const COLS: &str = "id, practice_id, channel, recipient_enc, subject_enc, body_enc, purpose, provider, status, \
                    provider_message_id, error, created_at, sent_at";

fn aad(column: &str, practice_id: i64) -> Vec<u8> {
    format!("messages.{column}:{practice_id}").into_bytes()
}

fn secret_aad(column: &str, practice_id: i64) -> Vec<u8> {
    format!("message_providers.{column}:{practice_id}").into_bytes()
}

impl Store {
    fn open_message(&self, row: &AnyRow) -> StoreResult<Message> {
        let k = self.keys();
        let practice_id: i64 = row.try_get("practice_id")?;
        let recipient: Vec<u8> = row.try_get("recipient_enc")?;
        let body: Vec<u8> = row.try_get("body_enc")?;
        Ok(Message {
            id: row.try_get("id")?,
            practice_id,
            channel: Channel::parse(&row.try_get::<String, _>("channel")?)?,
            to: k.decrypt_string(&recipient, &aad("recipient", practice_id))?,
            subject: k.decrypt_opt(
                opt_bytes(row, "subject_enc")?.as_deref(),
                &aad("subject", practice_id),
            )?,
            body: k.decrypt_string(&body, &aad("body", practice_id))?,
            purpose: row.try_get("purpose")?,
            provider: row.try_get("provider")?,
            status: row.try_get("status")?,
            provider_message_id: row.try_get("provider_message_id")?,
            error: row.try_get("error")?,
            created_at: row.try_get("created_at")?,
            sent_at: row.try_get("sent_at")?,
        })
    }

    /// Puts a message in the outbox with its delivery job, atomically. A repeated idempotency key
    /// returns the first message's id and queues nothing.
    pub async fn queue_message(&self, practice_id: i64, msg: &NewMessage) -> StoreResult<i64> {
        if msg.body.trim().is_empty() {
            return Err(StoreError::Invalid("the message is empty".into()));
        }
        if let Some(key) = &msg.idempotency_key {
            let existing = sqlx::query("SELECT id FROM messages WHERE idempotency_key = $1")
                .bind(key.clone())
                .fetch_optional(self.pool())
                .await?;
            if let Some(row) = existing {
                return Ok(row.try_get("id")?);
            }
        }
        if msg.channel == Channel::Sms
            && let Ok(phone) = stride_core::phone::PhoneE164::parse(&msg.to)
            && self.is_opted_out(practice_id, &phone).await?
        {
            return Err(StoreError::Conflict(
                "this number texted STOP: no texts go to it until it texts START".into(),
            ));
        }
        let k = self.keys();
        let now = now_ms();
        let mut tx = self.begin().await?;
        let id: i64 = sqlx::query(
            "INSERT INTO messages (practice_id, channel, recipient_enc, subject_enc, body_enc, purpose, \
             idempotency_key, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        )
        .bind(practice_id)
        .bind(msg.channel.as_str())
        .bind(k.encrypt_str(&msg.to, &aad("recipient", practice_id)))
        .bind(k.encrypt_opt(msg.subject.as_deref(), &aad("subject", practice_id)))
        .bind(k.encrypt_str(&msg.body, &aad("body", practice_id)))
        .bind(msg.purpose.clone())
        .bind(msg.idempotency_key.clone())
        .bind(now)
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| StoreError::on_unique(e, "this message was already queued"))?
        .try_get("id")?;
        let job = NewJob::now(SEND_MESSAGE_JOB, serde_json::json!({ "message_id": id }))
            .practice(practice_id)
            .key(format!("{SEND_MESSAGE_JOB}:{id}"));
        jobs::enqueue(&mut *tx, &job).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// For the delivery worker, which acts for no particular user.
    pub async fn message_for_delivery(&self, id: i64) -> StoreResult<Message> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLS} FROM messages WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        self.open_message(&row)
    }

    /// The newest messages of a practice, decrypted. Message bodies and recipients are patient
    /// data, so every non-empty read is written to the audit log here, for pages and API alike.
    pub async fn messages(
        &self,
        practice_id: i64,
        limit: i64,
        actor: &crate::audit::Actor,
    ) -> StoreResult<Vec<Message>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLS} FROM messages WHERE practice_id = $1 ORDER BY id DESC LIMIT $2"
        )))
        .bind(practice_id)
        .bind(limit.clamp(1, 1000))
        .fetch_all(self.pool())
        .await?;
        let messages = rows
            .iter()
            .map(|r| self.open_message(r))
            .collect::<StoreResult<Vec<_>>>()?;
        if !messages.is_empty() {
            self.audit(
                Some(practice_id),
                actor,
                "list",
                "message",
                None,
                &format!("{} messages", messages.len()),
            )
            .await?;
        }
        Ok(messages)
    }

    /// Records the outcome of a delivery attempt.
    pub async fn set_message_status(
        &self,
        id: i64,
        provider: &str,
        status: &str,
        provider_message_id: Option<&str>,
        error: Option<&str>,
    ) -> StoreResult<()> {
        let now = now_ms();
        let sent_at = matches!(status, "sent" | "recorded" | "delivered").then_some(now);
        sqlx::query(
            "UPDATE messages SET provider = $1, status = $2, provider_message_id = COALESCE($3, provider_message_id), \
             error = $4, sent_at = COALESCE(sent_at, $5), updated_at = $6 WHERE id = $7",
        )
        .bind(provider.to_string())
        .bind(status.to_string())
        .bind(provider_message_id.map(str::to_string))
        .bind(error.map(|e| e.chars().take(500).collect::<String>()))
        .bind(sent_at)
        .bind(now)
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    pub async fn message_providers(&self, practice_id: i64) -> StoreResult<MessageProviders> {
        let row = sqlx::query(
            "SELECT sms_provider, twilio_account_sid, twilio_auth_token_enc, twilio_from, email_provider, smtp_host, \
             smtp_port, smtp_username, smtp_password_enc, smtp_tls, email_from FROM message_providers WHERE practice_id = $1",
        )
        .bind(practice_id)
        .fetch_optional(self.pool())
        .await?;
        let Some(r) = row else {
            return Ok(MessageProviders::default());
        };
        let k = self.keys();
        Ok(MessageProviders {
            sms_provider: r.try_get("sms_provider")?,
            twilio_account_sid: r.try_get("twilio_account_sid")?,
            twilio_auth_token: k.decrypt_opt(
                opt_bytes(&r, "twilio_auth_token_enc")?.as_deref(),
                &secret_aad("twilio_auth_token", practice_id),
            )?,
            twilio_from: r.try_get("twilio_from")?,
            email_provider: r.try_get("email_provider")?,
            smtp_host: r.try_get("smtp_host")?,
            smtp_port: r.try_get("smtp_port")?,
            smtp_username: r.try_get("smtp_username")?,
            smtp_password: k.decrypt_opt(
                opt_bytes(&r, "smtp_password_enc")?.as_deref(),
                &secret_aad("smtp_password", practice_id),
            )?,
            smtp_tls: r.try_get("smtp_tls")?,
            email_from: r.try_get("email_from")?,
        })
    }

    pub async fn set_message_providers(
        &self,
        practice_id: i64,
        p: &MessageProviders,
    ) -> StoreResult<()> {
        if !matches!(p.sms_provider.as_str(), "log" | "twilio") {
            return Err(StoreError::Invalid(
                "the SMS provider must be log or twilio".into(),
            ));
        }
        if !matches!(p.email_provider.as_str(), "log" | "smtp") {
            return Err(StoreError::Invalid(
                "the email provider must be log or smtp".into(),
            ));
        }
        if !matches!(p.smtp_tls.as_str(), "starttls" | "tls" | "none") {
            return Err(StoreError::Invalid(
                "SMTP security must be starttls, tls or none".into(),
            ));
        }
        if p.sms_provider == "twilio"
            && (p.twilio_account_sid.is_empty()
                || p.twilio_from.is_empty()
                || p.twilio_auth_token.is_none())
        {
            return Err(StoreError::Invalid(
                "Twilio needs an account SID, an auth token and a From number".into(),
            ));
        }
        if p.email_provider == "smtp" && (p.smtp_host.is_empty() || p.email_from.is_empty()) {
            return Err(StoreError::Invalid(
                "SMTP needs a host and a From address".into(),
            ));
        }
        if !(1..=65535).contains(&p.smtp_port) {
            return Err(StoreError::Invalid(
                "the SMTP port must be between 1 and 65535".into(),
            ));
        }
        let k = self.keys();
        sqlx::query(
            "INSERT INTO message_providers (practice_id, sms_provider, twilio_account_sid, twilio_auth_token_enc, \
             twilio_from, email_provider, smtp_host, smtp_port, smtp_username, smtp_password_enc, smtp_tls, email_from, \
             updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
             ON CONFLICT (practice_id) DO UPDATE SET sms_provider = excluded.sms_provider, \
             twilio_account_sid = excluded.twilio_account_sid, twilio_auth_token_enc = excluded.twilio_auth_token_enc, \
             twilio_from = excluded.twilio_from, email_provider = excluded.email_provider, smtp_host = excluded.smtp_host, \
             smtp_port = excluded.smtp_port, smtp_username = excluded.smtp_username, \
             smtp_password_enc = excluded.smtp_password_enc, smtp_tls = excluded.smtp_tls, \
             email_from = excluded.email_from, updated_at = excluded.updated_at",
        )
        .bind(practice_id)
        .bind(p.sms_provider.clone())
        .bind(p.twilio_account_sid.trim().to_string())
        .bind(k.encrypt_opt(p.twilio_auth_token.as_deref(), &secret_aad("twilio_auth_token", practice_id)))
        .bind(p.twilio_from.trim().to_string())
        .bind(p.email_provider.clone())
        .bind(p.smtp_host.trim().to_string())
        .bind(p.smtp_port)
        .bind(p.smtp_username.trim().to_string())
        .bind(k.encrypt_opt(p.smtp_password.as_deref(), &secret_aad("smtp_password", practice_id)))
        .bind(p.smtp_tls.clone())
        .bind(p.email_from.trim().to_string())
        .bind(now_ms())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Re-encrypts messages and provider secrets under the current key (key rotation).
    pub(crate) async fn reencrypt_messages(&self) -> StoreResult<u64> {
        let ids: Vec<i64> = sqlx::query("SELECT id FROM messages ORDER BY id")
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(|r| r.try_get("id"))
            .collect::<Result<_, _>>()?;
        let k = self.keys();
        let mut n = 0;
        for id in ids {
            let m = self.message_for_delivery(id).await?;
            sqlx::query("UPDATE messages SET recipient_enc = $1, subject_enc = $2, body_enc = $3 WHERE id = $4")
                .bind(k.encrypt_str(&m.to, &aad("recipient", m.practice_id)))
                .bind(k.encrypt_opt(m.subject.as_deref(), &aad("subject", m.practice_id)))
                .bind(k.encrypt_str(&m.body, &aad("body", m.practice_id)))
                .bind(id)
                .execute(self.pool())
                .await?;
            n += 1;
        }
        let practices: Vec<i64> = sqlx::query("SELECT practice_id FROM message_providers")
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(|r| r.try_get("practice_id"))
            .collect::<Result<_, _>>()?;
        for practice_id in practices {
            let p = self.message_providers(practice_id).await?;
            sqlx::query(
                "UPDATE message_providers SET twilio_auth_token_enc = $1, smtp_password_enc = $2 WHERE practice_id = $3",
            )
            .bind(k.encrypt_opt(p.twilio_auth_token.as_deref(), &secret_aad("twilio_auth_token", practice_id)))
            .bind(k.encrypt_opt(p.smtp_password.as_deref(), &secret_aad("smtp_password", practice_id)))
            .bind(practice_id)
            .execute(self.pool())
            .await?;
            n += 1;
        }
        Ok(n)
    }
}

impl Store {
    /// (waiting to send, failed) for a practice's outbox.
    pub async fn practice_message_stats(&self, practice_id: i64) -> StoreResult<(i64, i64)> {
        let row = sqlx::query(
            "SELECT COUNT(CASE WHEN status = 'queued' THEN 1 END) AS queued, \
                    COUNT(CASE WHEN status = 'failed' THEN 1 END) AS failed \
             FROM messages WHERE practice_id = $1",
        )
        .bind(practice_id)
        .fetch_one(self.pool())
        .await?;
        Ok((row.try_get("queued")?, row.try_get("failed")?))
    }
}
