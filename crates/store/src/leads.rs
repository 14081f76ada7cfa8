//! Leads: every inquiry (form, call, chat, booking, front desk, API, import) becomes a lead, or
//! joins the lead the same person already has (matched on phone or email through the blind
//! indexes). Contact details, messages and task titles are encrypted like patient data, under the
//! AAD "leads.<column>:<practice id>". Reading a lead's identity is audited; the anonymous view
//! (`LeadRow`: source, stage, dates) is what marketers get.

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;
use stride_core::email::EmailAddress;
use stride_core::leads::{
    Fit, Interest, Likelihood, LostReason, Origin, Qualification, Stage, speed_to_lead,
};
use stride_core::phone::PhoneE164;

use crate::audit::{self, Actor};
use crate::error::{StoreError, StoreResult};
use crate::{Store, now_ms, opt_bytes};

/// Where a lead came from: the visit's source, channel, campaign and landing page.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Touch {
    pub source: String,
    pub channel: String,
    pub campaign: String,
    pub landing: String,
}

impl Touch {
    pub fn is_empty(&self) -> bool {
        self.source.is_empty() && self.channel.is_empty() && self.campaign.is_empty()
    }
}

/// How a lead's attribution was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// From the visitor's website session.
    Website,
    /// From the tracking number called.
    TrackingNumber,
    /// Recorded by the front desk ("How did you hear about us?").
    FrontDesk,
    None,
}

impl Basis {
    pub const fn as_str(self) -> &'static str {
        match self {
            Basis::Website => "website",
            Basis::TrackingNumber => "tracking_number",
            Basis::FrontDesk => "front_desk",
            Basis::None => "none",
        }
    }

    fn parse(s: &str) -> Basis {
        match s {
            "website" => Basis::Website,
            "tracking_number" => Basis::TrackingNumber,
            "front_desk" => Basis::FrontDesk,
            _ => Basis::None,
        }
    }
}

/// One inquiry, as captured.
#[derive(Debug, Clone)]
pub struct LeadInput {
    pub first_name: String,
    pub last_name: String,
    pub phone: Option<PhoneE164>,
    pub email: Option<EmailAddress>,
    /// The service or condition of interest ("Back pain", "Sports injury").
    pub service: String,
    /// A payer's name, or "Self-pay".
    pub payer: String,
    pub preferred_times: String,
    pub message: String,
    pub sms_consent: bool,
    pub email_consent: bool,
    pub origin: Origin,
    pub basis: Basis,
    /// The first touch: the visitor's first visit that day, or what the front desk records.
    pub touch: Touch,
    /// The last touch when it differs from the first (the visit the inquiry came from).
    pub last_touch: Option<Touch>,
    pub campaign_id: Option<i64>,
    pub visit_id: Option<i64>,
    /// A key that makes a repeated submission (an import run twice, an API retry) a no-op.
    pub external_key: Option<String>,
    /// When the inquiry happened; now when `None` (imports and the demo give their own).
    pub at: Option<i64>,
}

impl LeadInput {
    pub fn new(origin: Origin) -> LeadInput {
        LeadInput {
            first_name: String::new(),
            last_name: String::new(),
            phone: None,
            email: None,
            service: String::new(),
            payer: String::new(),
            preferred_times: String::new(),
            message: String::new(),
            sms_consent: false,
            email_consent: false,
            origin,
            basis: Basis::None,
            touch: Touch::default(),
            last_touch: None,
            campaign_id: None,
            visit_id: None,
            external_key: None,
            at: None,
        }
    }
}

/// What became of an inquiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Captured {
    /// A new lead.
    Created,
    /// The person already had a lead (same phone or email): the inquiry joined it.
    Matched,
    /// The same external key was seen before: nothing changed.
    Duplicate,
}

/// A lead without identity: what a marketer may see, and what lists are built from.
#[derive(Debug, Clone, Serialize)]
pub struct LeadRow {
    pub id: i64,
    pub origin: Origin,
    pub stage: Stage,
    pub lost_reason: Option<LostReason>,
    pub score: Option<i64>,
    pub service: String,
    pub payer: String,
    pub attribution: Basis,
    pub first_touch: Touch,
    pub last_touch: Touch,
    pub campaign_id: Option<i64>,
    pub created_at: i64,
    pub stage_at: i64,
    pub first_contact_at: Option<i64>,
    /// Milliseconds from the inquiry to the first call, text or email back.
    pub speed_to_lead_ms: Option<i64>,
    pub qualified_at: Option<i64>,
    pub booked_at: Option<i64>,
    pub converted_at: Option<i64>,
}

/// A lead with its contact details (audited on every read).
#[derive(Debug, Clone, Serialize)]
pub struct Lead {
    #[serde(flatten)]
    pub row: LeadRow,
    pub first_name: String,
    pub last_name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub preferred_times: String,
    pub message: String,
    pub sms_consent: bool,
    pub email_consent: bool,
    pub qualification: Option<Qualification>,
    pub patient_id: Option<i64>,
}

impl Lead {
    /// "Ana Ruiz", or the phone or email when no name was given.
    pub fn display_name(&self) -> String {
        let name = format!("{} {}", self.first_name, self.last_name);
        let name = name.trim();
        if !name.is_empty() {
            return name.to_string();
        }
        self.phone
            .clone()
            .or_else(|| self.email.clone())
            .unwrap_or_else(|| format!("Lead #{}", self.row.id))
    }
}

/// One entry of a lead's timeline.
#[derive(Debug, Clone, Serialize)]
pub struct Activity {
    pub id: i64,
    pub at: i64,
    /// inquiry, call, text, email, note, stage, qualified, merged, task.
    pub kind: String,
    /// What happened, without patient data ("form: Back pain", "new → qualified").
    pub detail: String,
    /// The message or note, decrypted.
    pub body: String,
    pub actor: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct LeadTask {
    pub id: i64,
    pub lead_id: i64,
    pub title: String,
    pub due_at: i64,
    pub done_at: Option<i64>,
    pub created_at: i64,
}

/// Ways the front desk reaches out or writes down; each is a timeline entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContactKind {
    Call,
    Text,
    Email,
    Note,
}

impl ContactKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            ContactKind::Call => "call",
            ContactKind::Text => "text",
            ContactKind::Email => "email",
            ContactKind::Note => "note",
        }
    }

    /// A note is not contact: it does not stop the speed-to-lead clock.
    const fn reaches_out(self) -> bool {
        !matches!(self, ContactKind::Note)
    }
}

/// Which leads a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Inbox {
    /// Open leads, newest inquiry first.
    #[default]
    Newest,
    /// Open leads nobody has contacted yet, the longest waiting first.
    Untouched,
    /// Every lead, newest first.
    All,
}

const ROW_COLS: &str = "id, origin, stage, lost_reason, score, service, payer, attribution, first_source, \
    first_channel, first_campaign, first_landing, last_source, last_channel, last_campaign, last_landing, \
    campaign_id, created_at, stage_at, first_contact_at, qualified_at, booked_at, converted_at";

const IDENTITY_COLS: &str = "practice_id, first_name_enc, last_name_enc, phone_enc, email_enc, \
    preferred_times_enc, message_enc, sms_consent, email_consent, interest, fit, likelihood, patient_id";

/// A partial update of a matched lead: the SET clause, its sealed values, then a blind index.
type Fill = (&'static str, Vec<Option<Vec<u8>>>, Option<String>);

fn aad(column: &str, practice_id: i64) -> Vec<u8> {
    format!("leads.{column}:{practice_id}").into_bytes()
}

fn normalize_name(name: &str) -> String {
    name.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

fn parse_opt<T: std::str::FromStr>(row: &AnyRow, col: &str) -> StoreResult<Option<T>> {
    Ok(row
        .try_get::<Option<String>, _>(col)?
        .and_then(|s| s.parse().ok()))
}

fn parse_req<T: std::str::FromStr>(row: &AnyRow, col: &str) -> StoreResult<T> {
    let s: String = row.try_get(col)?;
    s.parse()
        .map_err(|_| StoreError::Invalid(format!("unknown {col} “{s}” in the database")))
}

fn read_row(r: &AnyRow) -> StoreResult<LeadRow> {
    let touch = |p: &str| -> StoreResult<Touch> {
        Ok(Touch {
            source: r.try_get(format!("{p}_source").as_str())?,
            channel: r.try_get(format!("{p}_channel").as_str())?,
            campaign: r.try_get(format!("{p}_campaign").as_str())?,
            landing: r.try_get(format!("{p}_landing").as_str())?,
        })
    };
    let created_at: i64 = r.try_get("created_at")?;
    let first_contact_at: Option<i64> = r.try_get("first_contact_at")?;
    Ok(LeadRow {
        id: r.try_get("id")?,
        origin: parse_req(r, "origin")?,
        stage: parse_req(r, "stage")?,
        lost_reason: parse_opt(r, "lost_reason")?,
        score: r.try_get("score")?,
        service: r.try_get("service")?,
        payer: r.try_get("payer")?,
        attribution: Basis::parse(&r.try_get::<String, _>("attribution")?),
        first_touch: touch("first")?,
        last_touch: touch("last")?,
        campaign_id: r.try_get("campaign_id")?,
        created_at,
        stage_at: r.try_get("stage_at")?,
        first_contact_at,
        speed_to_lead_ms: speed_to_lead(created_at, first_contact_at),
        qualified_at: r.try_get("qualified_at")?,
        booked_at: r.try_get("booked_at")?,
        converted_at: r.try_get("converted_at")?,
    })
}

fn check(input: &LeadInput) -> StoreResult<()> {
    if input.phone.is_none() && input.email.is_none() {
        return Err(StoreError::Invalid(
            "a lead needs a phone number or an email address to follow up".into(),
        ));
    }
    for (label, value, max) in [
        ("first name", &input.first_name, 100),
        ("last name", &input.last_name, 100),
        ("service", &input.service, 100),
        ("payer", &input.payer, 100),
        ("preferred times", &input.preferred_times, 500),
        ("message", &input.message, 4000),
    ] {
        if value.chars().count() > max {
            return Err(StoreError::Invalid(format!(
                "the {label} is longer than {max} characters"
            )));
        }
    }
    if let Some(k) = &input.external_key
        && (k.is_empty() || k.len() > 200)
    {
        return Err(StoreError::Invalid(
            "the external key must be 1 to 200 characters".into(),
        ));
    }
    Ok(())
}

impl Store {
    fn open_lead(&self, row: &AnyRow) -> StoreResult<Lead> {
        let k = self.keys();
        let practice_id: i64 = row.try_get("practice_id")?;
        let text = |col: &str| -> StoreResult<String> {
            Ok(k.decrypt_opt(
                opt_bytes(row, &format!("{col}_enc"))?.as_deref(),
                &aad(col, practice_id),
            )?
            .unwrap_or_default())
        };
        let qualification = match (
            parse_opt::<Interest>(row, "interest")?,
            parse_opt::<Fit>(row, "fit")?,
            parse_opt::<Likelihood>(row, "likelihood")?,
        ) {
            (Some(interest), Some(fit), Some(likelihood)) => Some(Qualification {
                interest,
                fit,
                likelihood,
            }),
            _ => None,
        };
        Ok(Lead {
            row: read_row(row)?,
            first_name: text("first_name")?,
            last_name: text("last_name")?,
            phone: k.decrypt_opt(
                opt_bytes(row, "phone_enc")?.as_deref(),
                &aad("phone", practice_id),
            )?,
            email: k.decrypt_opt(
                opt_bytes(row, "email_enc")?.as_deref(),
                &aad("email", practice_id),
            )?,
            preferred_times: text("preferred_times")?,
            message: text("message")?,
            sms_consent: row.try_get::<i64, _>("sms_consent")? != 0,
            email_consent: row.try_get::<i64, _>("email_consent")? != 0,
            qualification,
            patient_id: row.try_get("patient_id")?,
        })
    }

    /// Records an inquiry: a new lead, or a new entry on the lead the same person already has
    /// (same phone or email; the newest such lead that was not merged away). A matched lead gets
    /// the contact details it lacked, the new last touch, and is reopened as new if it was lost.
    pub async fn capture_lead(
        &self,
        practice_id: i64,
        input: &LeadInput,
        actor: &Actor,
    ) -> StoreResult<(Captured, LeadRow)> {
        check(input)?;
        let k = self.keys();
        let phone_bidx = input
            .phone
            .as_ref()
            .map(|p| k.blind_index("phone", p.as_str()));
        let email_bidx = input
            .email
            .as_ref()
            .map(|e| k.blind_index("email", e.as_str()));
        let at = input.at.unwrap_or_else(now_ms);
        let mut tx = self.begin().await?;
        if let Some(key) = &input.external_key {
            let existing = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {ROW_COLS} FROM leads WHERE practice_id = $1 AND external_key = $2"
            )))
            .bind(practice_id)
            .bind(key)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(r) = existing {
                return Ok((Captured::Duplicate, read_row(&r)?));
            }
            let joined = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {ROW_COLS} FROM leads WHERE id = \
                 (SELECT lead_id FROM lead_activities WHERE practice_id = $1 AND external_key = $2)"
            )))
            .bind(practice_id)
            .bind(key)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(r) = joined {
                return Ok((Captured::Duplicate, read_row(&r)?));
            }
        }
        let matched = sqlx::query(
            "SELECT id, stage, first_name_enc, phone_enc, email_enc FROM leads \
             WHERE practice_id = $1 AND merged_into IS NULL \
             AND ((phone_bidx IS NOT NULL AND phone_bidx = $2) OR (email_bidx IS NOT NULL AND email_bidx = $3)) \
             ORDER BY created_at DESC, id DESC LIMIT 1",
        )
        .bind(practice_id)
        .bind(phone_bidx.clone())
        .bind(email_bidx.clone())
        .fetch_optional(&mut *tx)
        .await?;
        let origin_detail = if input.service.is_empty() {
            input.origin.label().to_string()
        } else {
            format!("{}: {}", input.origin.label(), input.service)
        };
        let message = k.encrypt_opt(
            Some(input.message.trim()).filter(|m| !m.is_empty()),
            &aad("activity", practice_id),
        );
        let (captured, id) = if let Some(m) = matched {
            let id: i64 = m.try_get("id")?;
            let stage: Stage = parse_req(&m, "stage")?;
            // Fill what the lead lacked; keep what it had. One small statement per part.
            let has = |col: &str| opt_bytes(&m, col).map(|b| b.is_some());
            let mut fills: Vec<Fill> = Vec::new();
            if !has("first_name_enc")? && !input.first_name.trim().is_empty() {
                fills.push((
                    "first_name_enc = $3, last_name_enc = $4, name_bidx = $5",
                    vec![
                        Some(
                            k.encrypt_str(input.first_name.trim(), &aad("first_name", practice_id)),
                        ),
                        k.encrypt_opt(
                            Some(input.last_name.trim()).filter(|s| !s.is_empty()),
                            &aad("last_name", practice_id),
                        ),
                    ],
                    (!input.last_name.trim().is_empty())
                        .then(|| k.blind_index("last_name", &normalize_name(&input.last_name))),
                ));
            }
            if !has("phone_enc")? && input.phone.is_some() {
                fills.push((
                    "phone_enc = $3, phone_bidx = $4",
                    vec![k.encrypt_opt(
                        input.phone.as_ref().map(|p| p.as_str()),
                        &aad("phone", practice_id),
                    )],
                    phone_bidx.clone(),
                ));
            }
            if !has("email_enc")? && input.email.is_some() {
                fills.push((
                    "email_enc = $3, email_bidx = $4",
                    vec![k.encrypt_opt(
                        input.email.as_ref().map(|e| e.as_str()),
                        &aad("email", practice_id),
                    )],
                    email_bidx.clone(),
                ));
            }
            for (set, blobs, text) in fills {
                let mut q = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "UPDATE leads SET {set} WHERE id = $1 AND practice_id = $2"
                )))
                .bind(id)
                .bind(practice_id);
                for b in blobs {
                    q = q.bind(b);
                }
                q.bind(text).execute(&mut *tx).await?;
            }
            // A call makes a lead with a number only; the front desk's entry adds what it was about.
            for (col, v) in [("service", &input.service), ("payer", &input.payer)] {
                if !v.trim().is_empty() {
                    sqlx::query(sqlx::AssertSqlSafe(format!(
                        "UPDATE leads SET {col} = $3 WHERE id = $1 AND practice_id = $2 AND {col} = ''"
                    )))
                    .bind(id)
                    .bind(practice_id)
                    .bind(v.trim().to_string())
                    .execute(&mut *tx)
                    .await?;
                }
            }
            let last = input.last_touch.as_ref().unwrap_or(&input.touch);
            if !last.is_empty() {
                let t = last;
                sqlx::query(
                    "UPDATE leads SET last_source = $3, last_channel = $4, last_campaign = $5, last_landing = $6 \
                     WHERE id = $1 AND practice_id = $2",
                )
                .bind(id)
                .bind(practice_id)
                .bind(t.source.clone())
                .bind(t.channel.clone())
                .bind(t.campaign.clone())
                .bind(t.landing.clone())
                .execute(&mut *tx)
                .await?;
            }
            let reopen = if stage == Stage::Lost {
                ", stage = 'new', lost_reason = NULL, stage_at = $3"
            } else {
                ""
            };
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "UPDATE leads SET updated_at = $3{reopen} WHERE id = $1 AND practice_id = $2"
            )))
            .bind(id)
            .bind(practice_id)
            .bind(at)
            .execute(&mut *tx)
            .await?;
            if stage == Stage::Lost {
                self.add_activity(
                    &mut tx,
                    practice_id,
                    id,
                    at,
                    "stage",
                    "lost → new: asked again",
                    None,
                    actor,
                )
                .await?;
            }
            (Captured::Matched, id)
        } else {
            let seal = |col: &str, v: &str| {
                k.encrypt_opt(
                    Some(v.trim()).filter(|s| !s.is_empty()),
                    &aad(col, practice_id),
                )
            };
            let name_bidx = (!input.last_name.trim().is_empty())
                .then(|| k.blind_index("last_name", &normalize_name(&input.last_name)));
            let t = &input.touch;
            let last = input.last_touch.as_ref().unwrap_or(t);
            let campaign_id = match input.campaign_id {
                Some(id) => Some(id),
                None => {
                    self.campaign_named(&mut tx, practice_id, &t.campaign)
                        .await?
                }
            };
            let row = sqlx::query(
                "INSERT INTO leads (practice_id, first_name_enc, last_name_enc, phone_enc, email_enc, phone_bidx, \
                 email_bidx, name_bidx, message_enc, preferred_times_enc, service, payer, sms_consent, email_consent, \
                 origin, attribution, first_source, first_channel, first_campaign, first_landing, last_source, \
                 last_channel, last_campaign, last_landing, campaign_id, visit_id, external_key, created_at, \
                 updated_at, stage_at, touched_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, \
                 $21, $22, $23, $24, $25, $26, $27, $28, $28, $28, $28) RETURNING id",
            )
            .bind(practice_id)
            .bind(seal("first_name", &input.first_name))
            .bind(seal("last_name", &input.last_name))
            .bind(k.encrypt_opt(
                input.phone.as_ref().map(|p| p.as_str()),
                &aad("phone", practice_id),
            ))
            .bind(k.encrypt_opt(
                input.email.as_ref().map(|e| e.as_str()),
                &aad("email", practice_id),
            ))
            .bind(phone_bidx)
            .bind(email_bidx)
            .bind(name_bidx)
            .bind(seal("message", &input.message))
            .bind(seal("preferred_times", &input.preferred_times))
            .bind(input.service.trim().to_string())
            .bind(input.payer.trim().to_string())
            .bind(i64::from(input.sms_consent))
            .bind(i64::from(input.email_consent))
            .bind(input.origin.as_str())
            .bind(input.basis.as_str())
            .bind(t.source.clone())
            .bind(t.channel.clone())
            .bind(t.campaign.clone())
            .bind(t.landing.clone())
            .bind(last.source.clone())
            .bind(last.channel.clone())
            .bind(last.campaign.clone())
            .bind(last.landing.clone())
            .bind(campaign_id)
            .bind(input.visit_id)
            .bind(input.external_key.clone())
            .bind(at)
            .fetch_one(&mut *tx)
            .await?;
            (Captured::Created, row.try_get::<i64, _>("id")?)
        };
        self.add_activity(
            &mut tx,
            practice_id,
            id,
            at,
            "inquiry",
            &origin_detail,
            message,
            actor,
        )
        .await?;
        if captured == Captured::Matched
            && let Some(key) = &input.external_key
        {
            sqlx::query(
                "UPDATE lead_activities SET external_key = $3 WHERE id = (SELECT MAX(id) FROM lead_activities \
                 WHERE lead_id = $1 AND practice_id = $2 AND kind = 'inquiry')",
            )
            .bind(id)
            .bind(practice_id)
            .bind(key.clone())
            .execute(&mut *tx)
            .await?;
        }
        let action = if captured == Captured::Created {
            "create"
        } else {
            "update"
        };
        audit::record(
            &mut *tx,
            Some(practice_id),
            actor,
            action,
            "lead",
            Some(id),
            input.origin.as_str(),
        )
        .await?;
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ROW_COLS} FROM leads WHERE id = $1"
        )))
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        let row = read_row(&row)?;
        tx.commit().await?;
        Ok((captured, row))
    }

    #[allow(clippy::too_many_arguments)]
    async fn add_activity(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        practice_id: i64,
        lead_id: i64,
        at: i64,
        kind: &str,
        detail: &str,
        body_enc: Option<Vec<u8>>,
        actor: &Actor,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO lead_activities (practice_id, lead_id, at, kind, detail, body_enc, actor) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(practice_id)
        .bind(lead_id)
        .bind(at)
        .bind(kind)
        .bind(detail)
        .bind(body_enc)
        .bind(actor.label.clone())
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Leads without identity (for lists and marketers), newest first or the longest waiting.
    pub async fn lead_rows(
        &self,
        practice_id: i64,
        inbox: Inbox,
        limit: i64,
    ) -> StoreResult<Vec<LeadRow>> {
        let (filter, order) = match inbox {
            Inbox::Newest => (
                " AND stage IN ('new', 'qualified', 'evaluation_booked')",
                "created_at DESC, id DESC",
            ),
            Inbox::Untouched => (
                " AND stage IN ('new', 'qualified') AND first_contact_at IS NULL",
                "created_at ASC, id ASC",
            ),
            Inbox::All => ("", "created_at DESC, id DESC"),
        };
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ROW_COLS} FROM leads WHERE practice_id = $1 AND merged_into IS NULL{filter} \
             ORDER BY {order} LIMIT $2"
        )))
        .bind(practice_id)
        .bind(limit.clamp(1, 1000))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(read_row).collect()
    }

    /// Leads with their contact details; the ids shown are audited.
    pub async fn leads(
        &self,
        practice_id: i64,
        inbox: Inbox,
        limit: i64,
        actor: &Actor,
    ) -> StoreResult<Vec<Lead>> {
        let ids: Vec<i64> = self
            .lead_rows(practice_id, inbox, limit)
            .await?
            .iter()
            .map(|r| r.id)
            .collect();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let list = ids
            .iter()
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(",");
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ROW_COLS}, {IDENTITY_COLS} FROM leads WHERE practice_id = $1 AND id IN ({list})"
        )))
        .bind(practice_id)
        .fetch_all(self.pool())
        .await?;
        let mut leads = rows
            .iter()
            .map(|r| self.open_lead(r))
            .collect::<StoreResult<Vec<_>>>()?;
        leads.sort_by_key(|l| ids.iter().position(|i| *i == l.row.id));
        self.audit(
            Some(practice_id),
            actor,
            "list",
            "lead",
            None,
            &format!("ids {list}"),
        )
        .await?;
        Ok(leads)
    }

    /// One lead with its contact details (audited). A lead merged into another is not found.
    pub async fn lead(&self, practice_id: i64, id: i64, actor: &Actor) -> StoreResult<Lead> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ROW_COLS}, {IDENTITY_COLS} FROM leads WHERE id = $1 AND practice_id = $2 AND merged_into IS NULL"
        )))
        .bind(id)
        .bind(practice_id)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        let lead = self.open_lead(&row)?;
        self.audit(Some(practice_id), actor, "read", "lead", Some(id), "")
            .await?;
        Ok(lead)
    }

    /// A lead's timeline, oldest first (audited with the lead).
    pub async fn lead_activities(
        &self,
        practice_id: i64,
        lead_id: i64,
    ) -> StoreResult<Vec<Activity>> {
        let k = self.keys();
        sqlx::query(
            "SELECT id, at, kind, detail, body_enc, actor FROM lead_activities \
             WHERE practice_id = $1 AND lead_id = $2 ORDER BY at, id",
        )
        .bind(practice_id)
        .bind(lead_id)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(|r| {
            Ok(Activity {
                id: r.try_get("id")?,
                at: r.try_get("at")?,
                kind: r.try_get("kind")?,
                detail: r.try_get("detail")?,
                body: k
                    .decrypt_opt(
                        opt_bytes(r, "body_enc")?.as_deref(),
                        &aad("activity", practice_id),
                    )?
                    .unwrap_or_default(),
                actor: r.try_get("actor")?,
            })
        })
        .collect()
    }

    /// Locks an open lead's row for a change and returns its stage.
    async fn lead_stage_for_update(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        practice_id: i64,
        id: i64,
    ) -> StoreResult<Stage> {
        // The no-op write takes the row lock on PostgreSQL (SQLite's BEGIN IMMEDIATE already holds it).
        let row = sqlx::query(
            "UPDATE leads SET updated_at = updated_at WHERE id = $1 AND practice_id = $2 AND merged_into IS NULL \
             RETURNING stage",
        )
        .bind(id)
        .bind(practice_id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(StoreError::NotFound)?;
        parse_req(&row, "stage")
    }

    /// Moves a lead along its lifecycle. Losing a lead needs a reason.
    pub async fn move_lead(
        &self,
        practice_id: i64,
        id: i64,
        to: Stage,
        reason: Option<LostReason>,
        actor: &Actor,
    ) -> StoreResult<LeadRow> {
        self.move_lead_at(practice_id, id, to, reason, actor, now_ms())
            .await
    }

    /// [`Self::move_lead`] at a given time (imports and the demo replay a lead's history).
    pub async fn move_lead_at(
        &self,
        practice_id: i64,
        id: i64,
        to: Stage,
        reason: Option<LostReason>,
        actor: &Actor,
        at: i64,
    ) -> StoreResult<LeadRow> {
        if to == Stage::Lost && reason.is_none() {
            return Err(StoreError::Invalid(
                "say why the lead was lost (no response, chose another clinic, insurance, price, not a fit)"
                    .into(),
            ));
        }
        let mut tx = self.begin().await?;
        let from = self.lead_stage_for_update(&mut tx, practice_id, id).await?;
        from.can_move_to(to)
            .map_err(|e| StoreError::Conflict(e.to_string()))?;
        let now = at;
        let stamp = match to {
            Stage::Qualified => ", qualified_at = COALESCE(qualified_at, $3)",
            Stage::EvaluationBooked => ", booked_at = COALESCE(booked_at, $3)",
            Stage::BecamePatient => ", converted_at = COALESCE(converted_at, $3)",
            Stage::New | Stage::Lost => "",
        };
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE leads SET stage = $4, lost_reason = $5, stage_at = $3, updated_at = $3, touched_at = $3{stamp} \
             WHERE id = $1 AND practice_id = $2"
        )))
        .bind(id)
        .bind(practice_id)
        .bind(now)
        .bind(to.as_str())
        .bind(
            reason
                .filter(|_| to == Stage::Lost)
                .map(|r| r.as_str().to_string()),
        )
        .execute(&mut *tx)
        .await?;
        let detail = match reason.filter(|_| to == Stage::Lost) {
            Some(r) => format!("{} → {}: {}", from.as_str(), to.as_str(), r.label()),
            None => format!("{} → {}", from.as_str(), to.as_str()),
        };
        self.add_activity(&mut tx, practice_id, id, now, "stage", &detail, None, actor)
            .await?;
        audit::record(
            &mut *tx,
            Some(practice_id),
            actor,
            "update",
            "lead",
            Some(id),
            &detail,
        )
        .await?;
        tx.commit().await?;
        self.lead_row(practice_id, id).await
    }

    async fn lead_row(&self, practice_id: i64, id: i64) -> StoreResult<LeadRow> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ROW_COLS} FROM leads WHERE id = $1 AND practice_id = $2 AND merged_into IS NULL"
        )))
        .bind(id)
        .bind(practice_id)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        read_row(&row)
    }

    /// Records the screening that makes an MQL an SQL, and its score; a new lead becomes qualified.
    pub async fn qualify_lead(
        &self,
        practice_id: i64,
        id: i64,
        q: Qualification,
        actor: &Actor,
    ) -> StoreResult<LeadRow> {
        self.qualify_lead_at(practice_id, id, q, actor, now_ms())
            .await
    }

    /// [`Self::qualify_lead`] at a given time (imports and the demo replay a lead's history).
    pub async fn qualify_lead_at(
        &self,
        practice_id: i64,
        id: i64,
        q: Qualification,
        actor: &Actor,
        at: i64,
    ) -> StoreResult<LeadRow> {
        let mut tx = self.begin().await?;
        let from = self.lead_stage_for_update(&mut tx, practice_id, id).await?;
        if !from.is_open() {
            return Err(StoreError::Conflict(format!(
                "the lead is “{}”: reopen it before qualifying",
                from.label()
            )));
        }
        let now = at;
        let becomes = if from == Stage::New {
            Stage::Qualified
        } else {
            from
        };
        sqlx::query(
            "UPDATE leads SET interest = $3, fit = $4, likelihood = $5, score = $6, stage = $7, \
             stage_at = CASE WHEN stage = $7 THEN stage_at ELSE $8 END, qualified_at = COALESCE(qualified_at, $8), \
             updated_at = $8, touched_at = $8 WHERE id = $1 AND practice_id = $2",
        )
        .bind(id)
        .bind(practice_id)
        .bind(q.interest.as_str())
        .bind(q.fit.as_str())
        .bind(q.likelihood.as_str())
        .bind(i64::from(q.score()))
        .bind(becomes.as_str())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let detail = format!(
            "score {}: interest {}, fit {}, likelihood {}",
            q.score(),
            q.interest.as_str(),
            q.fit.as_str(),
            q.likelihood.as_str()
        );
        self.add_activity(
            &mut tx,
            practice_id,
            id,
            now,
            "qualified",
            &detail,
            None,
            actor,
        )
        .await?;
        audit::record(
            &mut *tx,
            Some(practice_id),
            actor,
            "update",
            "lead",
            Some(id),
            "qualified",
        )
        .await?;
        tx.commit().await?;
        self.lead_row(practice_id, id).await
    }

    /// Logs a call, text, email or note; the first call, text or email back stops the
    /// speed-to-lead clock.
    pub async fn log_lead_contact(
        &self,
        practice_id: i64,
        id: i64,
        kind: ContactKind,
        body: &str,
        actor: &Actor,
    ) -> StoreResult<LeadRow> {
        self.log_lead_contact_at(practice_id, id, kind, body, actor, now_ms())
            .await
    }

    /// [`Self::log_lead_contact`] at a given time (imports and the demo replay a lead's history).
    pub async fn log_lead_contact_at(
        &self,
        practice_id: i64,
        id: i64,
        kind: ContactKind,
        body: &str,
        actor: &Actor,
        at: i64,
    ) -> StoreResult<LeadRow> {
        if body.chars().count() > 4000 {
            return Err(StoreError::Invalid(
                "the note is longer than 4,000 characters".into(),
            ));
        }
        let mut tx = self.begin().await?;
        self.lead_stage_for_update(&mut tx, practice_id, id).await?;
        let now = at;
        let first = if kind.reaches_out() {
            ", first_contact_at = COALESCE(first_contact_at, $3)"
        } else {
            ""
        };
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE leads SET touched_at = $3, updated_at = $3{first} WHERE id = $1 AND practice_id = $2"
        )))
        .bind(id)
        .bind(practice_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let body_enc = self.keys().encrypt_opt(
            Some(body.trim()).filter(|b| !b.is_empty()),
            &aad("activity", practice_id),
        );
        self.add_activity(
            &mut tx,
            practice_id,
            id,
            now,
            kind.as_str(),
            "",
            body_enc,
            actor,
        )
        .await?;
        audit::record(
            &mut *tx,
            Some(practice_id),
            actor,
            "update",
            "lead",
            Some(id),
            kind.as_str(),
        )
        .await?;
        tx.commit().await?;
        self.lead_row(practice_id, id).await
    }

    /// Adds a follow-up task with a due time.
    pub async fn add_lead_task(
        &self,
        practice_id: i64,
        lead_id: i64,
        title: &str,
        due_at: i64,
        actor: &Actor,
    ) -> StoreResult<LeadTask> {
        let title = title.trim();
        if title.is_empty() || title.chars().count() > 200 {
            return Err(StoreError::Invalid(
                "a task needs a title of at most 200 characters".into(),
            ));
        }
        let mut tx = self.begin().await?;
        self.lead_stage_for_update(&mut tx, practice_id, lead_id)
            .await?;
        let now = now_ms();
        let row = sqlx::query(
            "INSERT INTO lead_tasks (practice_id, lead_id, title_enc, due_at, created_at, actor) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(practice_id)
        .bind(lead_id)
        .bind(self.keys().encrypt_str(title, &aad("task", practice_id)))
        .bind(due_at)
        .bind(now)
        .bind(actor.label.clone())
        .fetch_one(&mut *tx)
        .await?;
        let id: i64 = row.try_get("id")?;
        tx.commit().await?;
        Ok(LeadTask {
            id,
            lead_id,
            title: title.to_string(),
            due_at,
            done_at: None,
            created_at: now,
        })
    }

    /// Marks a task done (again is a no-op).
    pub async fn complete_lead_task(
        &self,
        practice_id: i64,
        task_id: i64,
        actor: &Actor,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        let now = now_ms();
        let row = sqlx::query(
            "UPDATE lead_tasks SET done_at = COALESCE(done_at, $3) WHERE id = $1 AND practice_id = $2 \
             RETURNING lead_id",
        )
        .bind(task_id)
        .bind(practice_id)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?;
        let lead_id: i64 = row.try_get("lead_id")?;
        self.add_activity(
            &mut tx,
            practice_id,
            lead_id,
            now,
            "task",
            "task done",
            None,
            actor,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Open tasks, soonest due first; of one lead, or of the whole practice.
    pub async fn lead_tasks(
        &self,
        practice_id: i64,
        lead_id: Option<i64>,
        limit: i64,
    ) -> StoreResult<Vec<LeadTask>> {
        let k = self.keys();
        let filter = if lead_id.is_some() {
            " AND lead_id = $3"
        } else {
            ""
        };
        let mut q = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT id, lead_id, title_enc, due_at, done_at, created_at FROM lead_tasks \
             WHERE practice_id = $1 AND done_at IS NULL{filter} ORDER BY due_at, id LIMIT $2"
        )))
        .bind(practice_id)
        .bind(limit.clamp(1, 1000));
        if let Some(l) = lead_id {
            q = q.bind(l);
        }
        q.fetch_all(self.pool())
            .await?
            .iter()
            .map(|r| {
                let title: Vec<u8> = r.try_get("title_enc")?;
                Ok(LeadTask {
                    id: r.try_get("id")?,
                    lead_id: r.try_get("lead_id")?,
                    title: k.decrypt_string(&title, &aad("task", practice_id))?,
                    due_at: r.try_get("due_at")?,
                    done_at: r.try_get("done_at")?,
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect()
    }

    /// Merges lead `other` into `keep`: the timeline and tasks move over, contact details `keep`
    /// lacks are taken from `other`, the earlier inquiry's first touch is kept, and `other` is
    /// marked merged (it then reads as not found).
    pub async fn merge_leads(
        &self,
        practice_id: i64,
        keep: i64,
        other: i64,
        actor: &Actor,
    ) -> StoreResult<LeadRow> {
        if keep == other {
            return Err(StoreError::Invalid(
                "a lead cannot be merged into itself".into(),
            ));
        }
        let mut tx = self.begin().await?;
        self.lead_stage_for_update(&mut tx, practice_id, keep)
            .await?;
        self.lead_stage_for_update(&mut tx, practice_id, other)
            .await?;
        let now = now_ms();
        // Column by column: keep's value unless it has none. The blind index travels with its field.
        sqlx::query(
            "UPDATE leads SET \
               first_name_enc = COALESCE(leads.first_name_enc, o.first_name_enc), \
               last_name_enc = CASE WHEN leads.first_name_enc IS NULL THEN o.last_name_enc ELSE leads.last_name_enc END, \
               name_bidx = CASE WHEN leads.first_name_enc IS NULL THEN o.name_bidx ELSE leads.name_bidx END, \
               phone_bidx = CASE WHEN leads.phone_enc IS NULL THEN o.phone_bidx ELSE leads.phone_bidx END, \
               phone_enc = COALESCE(leads.phone_enc, o.phone_enc), \
               email_bidx = CASE WHEN leads.email_enc IS NULL THEN o.email_bidx ELSE leads.email_bidx END, \
               email_enc = COALESCE(leads.email_enc, o.email_enc), \
               first_source = CASE WHEN o.created_at < leads.created_at THEN o.first_source ELSE leads.first_source END, \
               first_channel = CASE WHEN o.created_at < leads.created_at THEN o.first_channel ELSE leads.first_channel END, \
               first_campaign = CASE WHEN o.created_at < leads.created_at THEN o.first_campaign ELSE leads.first_campaign END, \
               first_landing = CASE WHEN o.created_at < leads.created_at THEN o.first_landing ELSE leads.first_landing END, \
               created_at = CASE WHEN o.created_at < leads.created_at THEN o.created_at ELSE leads.created_at END, \
               first_contact_at = CASE WHEN leads.first_contact_at IS NULL THEN o.first_contact_at \
                                       WHEN o.first_contact_at IS NULL THEN leads.first_contact_at \
                                       WHEN o.first_contact_at < leads.first_contact_at THEN o.first_contact_at \
                                       ELSE leads.first_contact_at END, \
               updated_at = $4 \
             FROM leads o WHERE leads.id = $1 AND leads.practice_id = $2 AND o.id = $3 AND o.practice_id = $2",
        )
        .bind(keep)
        .bind(practice_id)
        .bind(other)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE leads SET merged_into = $1, updated_at = $4, phone_bidx = NULL, email_bidx = NULL, name_bidx = NULL \
             WHERE id = $3 AND practice_id = $2",
        )
        .bind(keep)
        .bind(practice_id)
        .bind(other)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        for table in ["lead_activities", "lead_tasks"] {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "UPDATE {table} SET lead_id = $1 WHERE lead_id = $3 AND practice_id = $2"
            )))
            .bind(keep)
            .bind(practice_id)
            .bind(other)
            .execute(&mut *tx)
            .await?;
        }
        self.add_activity(
            &mut tx,
            practice_id,
            keep,
            now,
            "merged",
            &format!("lead #{other} merged into this one"),
            None,
            actor,
        )
        .await?;
        audit::record(
            &mut *tx,
            Some(practice_id),
            actor,
            "merge",
            "lead",
            Some(keep),
            &format!("merged #{other}"),
        )
        .await?;
        tx.commit().await?;
        self.lead_row(practice_id, keep).await
    }
}

impl Store {
    /// Re-encrypts every lead, timeline entry and task under the current key and recomputes the
    /// blind indexes of leads not merged away; returns how many rows were rewritten (key rotation).
    pub(crate) async fn reencrypt_leads(&self) -> StoreResult<u64> {
        let k = self.keys();
        let mut n = 0;
        for (table, columns) in [
            (
                "leads",
                &[
                    "first_name",
                    "last_name",
                    "phone",
                    "email",
                    "message",
                    "preferred_times",
                ][..],
            ),
            ("lead_activities", &["body"][..]),
            ("lead_tasks", &["title"][..]),
        ] {
            let aad_of = |col: &str, practice_id: i64| match (table, col) {
                ("lead_activities", _) => aad("activity", practice_id),
                ("lead_tasks", _) => aad("task", practice_id),
                _ => aad(col, practice_id),
            };
            let list = columns
                .iter()
                .map(|c| format!("{c}_enc"))
                .collect::<Vec<_>>()
                .join(", ");
            let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT id, practice_id, {list} FROM {table} ORDER BY id"
            )))
            .fetch_all(self.pool())
            .await?;
            for r in &rows {
                let id: i64 = r.try_get("id")?;
                let practice_id: i64 = r.try_get("practice_id")?;
                let mut plain: Vec<Option<String>> = Vec::new();
                for c in columns {
                    plain.push(k.decrypt_opt(
                        opt_bytes(r, &format!("{c}_enc"))?.as_deref(),
                        &aad_of(c, practice_id),
                    )?);
                }
                let sets = columns
                    .iter()
                    .enumerate()
                    .map(|(i, c)| format!("{c}_enc = ${}", i + 2))
                    .collect::<Vec<_>>()
                    .join(", ");
                let mut q = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "UPDATE {table} SET {sets} WHERE id = $1"
                )))
                .bind(id);
                for (c, p) in columns.iter().zip(&plain) {
                    q = q.bind(k.encrypt_opt(p.as_deref(), &aad_of(c, practice_id)));
                }
                q.execute(self.pool()).await?;
                if table == "leads" {
                    let bidx = |domain: &str, v: &Option<String>| {
                        v.as_deref().map(|v| k.blind_index(domain, v))
                    };
                    let last_name = plain[1].as_deref().map(normalize_name);
                    sqlx::query(
                        "UPDATE leads SET phone_bidx = $2, email_bidx = $3, name_bidx = $4 \
                         WHERE id = $1 AND merged_into IS NULL",
                    )
                    .bind(id)
                    .bind(bidx("phone", &plain[2]))
                    .bind(bidx("email", &plain[3]))
                    .bind(bidx("last_name", &last_name))
                    .execute(self.pool())
                    .await?;
                }
                n += 1;
            }
        }
        Ok(n)
    }
}
