//! Call tracking: tracking numbers (fixed per source or campaign, or a pool handed to one website
//! visit at a time), calls with their attribution and class, the leads, tasks and text-backs calls
//! make, inbound texts and opt-outs. Callers' numbers are encrypted like patients' and found by the
//! same blind index, so a caller is matched to a patient or a lead without storing the number in
//! plain text. Every step a Twilio webhook drives is idempotent on its CallSid or MessageSid.

use std::collections::BTreeMap;

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;
use stride_core::calls::{CallClass, CallFacts, SmsKeyword, classify, makes_lead, sms_keyword};
use stride_core::leads::Origin;
use stride_core::phone::PhoneE164;

use crate::audit::{self, Actor};
use crate::error::{StoreError, StoreResult};
use crate::leads::{Basis, Captured, LeadInput, Touch};
use crate::{Store, now_ms, opt_bytes};

fn aad(column: &str, practice_id: i64) -> Vec<u8> {
    format!("calls.{column}:{practice_id}").into_bytes()
}

#[derive(Debug, Clone, Serialize)]
pub struct TrackingNumber {
    pub id: i64,
    pub number: String,
    pub label: String,
    pub source: String,
    pub channel: String,
    pub campaign_id: Option<i64>,
    pub location_id: Option<i64>,
    pub pool: bool,
    pub active: bool,
    pub created_at: i64,
}

#[derive(Debug, Clone)]
pub struct NumberInput {
    pub number: PhoneE164,
    pub label: String,
    pub source: String,
    pub channel: String,
    pub campaign_id: Option<i64>,
    pub location_id: Option<i64>,
    pub pool: bool,
    pub active: bool,
}

/// What a webhook needs to answer a call or text to a tracking number.
#[derive(Debug, Clone)]
pub struct NumberRoute {
    pub practice_id: i64,
    pub number_id: i64,
    pub practice_name: String,
    /// The location's main line the call is forwarded to (E.164).
    pub forward_to: String,
    pub ivr: bool,
    pub account_sid: String,
    /// The practice's Twilio auth token, which signs the webhooks; none: webhooks are refused.
    pub auth_token: Option<String>,
}

/// A call without its caller's number: what lists and reports are built from.
#[derive(Debug, Clone, Serialize)]
pub struct CallRow {
    pub id: i64,
    pub call_sid: String,
    pub tracking_number_id: Option<i64>,
    pub status: String,
    pub answered: bool,
    pub missed: bool,
    pub duration_s: i64,
    pub digit: Option<String>,
    pub source: String,
    pub channel: String,
    pub campaign: String,
    pub landing: String,
    pub campaign_id: Option<i64>,
    pub visit_id: Option<i64>,
    pub auto_class: Option<CallClass>,
    pub class: Option<CallClass>,
    pub class_by: Option<String>,
    pub lead_id: Option<i64>,
    pub patient_id: Option<i64>,
    pub text_back_id: Option<i64>,
    pub started_at: i64,
    pub ended_at: Option<i64>,
}

impl CallRow {
    /// The class the front desk gave, else the automatic one.
    pub fn effective_class(&self) -> Option<CallClass> {
        self.class.or(self.auto_class)
    }
}

/// A call with its caller's number, for the front desk.
#[derive(Debug, Clone, Serialize)]
pub struct Call {
    #[serde(flatten)]
    pub row: CallRow,
    pub caller: Option<String>,
}

/// What ending a call did.
#[derive(Debug, Clone)]
pub struct Finished {
    pub call: CallRow,
    /// True the first time the call was seen to end (a retried callback gets false).
    pub first_time: bool,
}

/// Calls per source, for the report and the website's conversions.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CallSourceRow {
    pub source: String,
    pub channel: String,
    pub calls: i64,
    pub new_patient: i64,
    pub missed: i64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct CallReport {
    pub calls: i64,
    pub answered: i64,
    pub missed: i64,
    /// Missed calls from new callers that were called back (their lead has a first contact).
    pub missed_called_back: i64,
    pub by_class: BTreeMap<String, i64>,
    /// Calls whose class the front desk confirmed or corrected, and how many of those the automatic
    /// class had right.
    pub reviewed: i64,
    pub auto_right: i64,
    pub sources: Vec<CallSourceRow>,
}

/// An inbound text and what it asked for.
#[derive(Debug, Clone, Serialize)]
pub struct InboundSms {
    pub id: i64,
    pub from: Option<String>,
    pub body: String,
    pub keyword: String,
    pub received_at: i64,
}

const CALL_COLS: &str = "id, call_sid, tracking_number_id, status, answered, missed, duration_s, digit, source, \
     channel, campaign, landing, campaign_id, visit_id, auto_class, class, class_by, lead_id, patient_id, \
     text_back_id, started_at, ended_at";

const NUMBER_COLS: &str =
    "id, number, label, source, channel, campaign_id, location_id, pool, active, created_at";

fn read_number(r: &AnyRow) -> StoreResult<TrackingNumber> {
    Ok(TrackingNumber {
        id: r.try_get("id")?,
        number: r.try_get("number")?,
        label: r.try_get("label")?,
        source: r.try_get("source")?,
        channel: r.try_get("channel")?,
        campaign_id: r.try_get("campaign_id")?,
        location_id: r.try_get("location_id")?,
        pool: r.try_get::<i64, _>("pool")? != 0,
        active: r.try_get::<i64, _>("active")? != 0,
        created_at: r.try_get("created_at")?,
    })
}

fn read_call(r: &AnyRow) -> StoreResult<CallRow> {
    let class = |col: &str| -> StoreResult<Option<CallClass>> {
        Ok(r.try_get::<Option<String>, _>(col)?
            .and_then(|c| c.parse().ok()))
    };
    Ok(CallRow {
        id: r.try_get("id")?,
        call_sid: r.try_get("call_sid")?,
        tracking_number_id: r.try_get("tracking_number_id")?,
        status: r.try_get("status")?,
        answered: r.try_get::<i64, _>("answered")? != 0,
        missed: r.try_get::<i64, _>("missed")? != 0,
        duration_s: r.try_get("duration_s")?,
        digit: r.try_get("digit")?,
        source: r.try_get("source")?,
        channel: r.try_get("channel")?,
        campaign: r.try_get("campaign")?,
        landing: r.try_get("landing")?,
        campaign_id: r.try_get("campaign_id")?,
        visit_id: r.try_get("visit_id")?,
        auto_class: class("auto_class")?,
        class: class("class")?,
        class_by: r.try_get("class_by")?,
        lead_id: r.try_get("lead_id")?,
        patient_id: r.try_get("patient_id")?,
        text_back_id: r.try_get("text_back_id")?,
        started_at: r.try_get("started_at")?,
        ended_at: r.try_get("ended_at")?,
    })
}

fn check_number(input: &NumberInput) -> StoreResult<()> {
    for (what, v) in [
        ("label", &input.label),
        ("source", &input.source),
        ("channel", &input.channel),
    ] {
        if v.chars().count() > 100 {
            return Err(StoreError::Invalid(format!(
                "the {what} is longer than 100 characters"
            )));
        }
    }
    if input.pool && input.campaign_id.is_some() {
        return Err(StoreError::Invalid(
            "a pool number takes each visitor's own source, so it has no campaign".into(),
        ));
    }
    Ok(())
}

/// The event a tracked call records on the website visit that was shown the number.
pub const TRACKED_CALL: &str = "Tracked Call";

/// The `Tracked Call` event of a call from the website visitor `visitor_id`, on their visit that
/// was shown the number: a conversion of that visit, with its attribution.
pub fn tracked_call_event(
    site_id: i64,
    practice_id: i64,
    visitor_id: i64,
    visit: &crate::website::VisitTouch,
    call: &CallRow,
) -> crate::website::NewEvent {
    crate::website::NewEvent {
        site_id,
        practice_id,
        at: call.started_at,
        visitor_id,
        name: TRACKED_CALL.into(),
        path: visit.exit_path.clone(),
        query: String::new(),
        referrer_host: String::new(),
        source: visit.source.clone(),
        channel: visit.channel.clone(),
        campaign: visit.campaign.clone(),
        device: visit.device.clone(),
        browser: visit.browser.clone(),
        os: visit.os.clone(),
        props: if call.missed {
            r#"{"answered":"no"}"#.into()
        } else {
            r#"{"answered":"yes"}"#.into()
        },
        revenue_cents: None,
        scroll_depth: None,
        engaged_ms: None,
        interactive: true,
    }
}

/// How long a pool number stays with a visit after the visitor's last page.
pub const ASSIGNMENT_MINUTES: i64 = 30;

impl Store {
    pub async fn tracking_numbers(&self, practice_id: i64) -> StoreResult<Vec<TrackingNumber>> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {NUMBER_COLS} FROM tracking_numbers WHERE practice_id = $1 ORDER BY pool, label, id"
        )))
        .bind(practice_id)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(read_number)
        .collect()
    }

    pub async fn create_tracking_number(
        &self,
        practice_id: i64,
        input: &NumberInput,
        actor: &Actor,
    ) -> StoreResult<TrackingNumber> {
        check_number(input)?;
        let mut tx = self.begin().await?;
        self.check_number_refs(&mut tx, practice_id, input).await?;
        let r = sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO tracking_numbers (practice_id, number, label, source, channel, campaign_id, location_id, \
             pool, active, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING {NUMBER_COLS}"
        )))
        .bind(practice_id)
        .bind(input.number.as_str().to_string())
        .bind(input.label.trim().to_string())
        .bind(input.source.trim().to_string())
        .bind(input.channel.trim().to_string())
        .bind(input.campaign_id)
        .bind(input.location_id)
        .bind(i64::from(input.pool))
        .bind(i64::from(input.active))
        .bind(now_ms())
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| StoreError::on_unique(e, "that number is already a tracking number"))?;
        let n = read_number(&r)?;
        audit::record(
            &mut *tx,
            Some(practice_id),
            actor,
            "create",
            "tracking_number",
            Some(n.id),
            &n.label,
        )
        .await?;
        tx.commit().await?;
        if n.pool {
            self.ensure_call_goals(practice_id).await?;
        }
        Ok(n)
    }

    /// With a website pool, calls become `Tracked Call` events on the visits that were shown the
    /// number; a lead-action goal for them makes calls count as conversions per source.
    async fn ensure_call_goals(&self, practice_id: i64) -> StoreResult<()> {
        self.ensure_event_goal(practice_id, "Tracked call", TRACKED_CALL)
            .await
    }

    async fn check_number_refs(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        practice_id: i64,
        input: &NumberInput,
    ) -> StoreResult<()> {
        for (table, id) in [
            ("campaigns", input.campaign_id),
            ("locations", input.location_id),
        ] {
            if let Some(id) = id {
                let found = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT id FROM {table} WHERE id = $1 AND practice_id = $2"
                )))
                .bind(id)
                .bind(practice_id)
                .fetch_optional(&mut **tx)
                .await?;
                if found.is_none() {
                    return Err(StoreError::Invalid(format!(
                        "no such {} in this practice",
                        table.trim_end_matches('s')
                    )));
                }
            }
        }
        Ok(())
    }

    pub async fn update_tracking_number(
        &self,
        practice_id: i64,
        id: i64,
        input: &NumberInput,
        actor: &Actor,
    ) -> StoreResult<TrackingNumber> {
        check_number(input)?;
        let mut tx = self.begin().await?;
        self.check_number_refs(&mut tx, practice_id, input).await?;
        let r = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE tracking_numbers SET number = $3, label = $4, source = $5, channel = $6, campaign_id = $7, \
             location_id = $8, pool = $9, active = $10 WHERE id = $1 AND practice_id = $2 RETURNING {NUMBER_COLS}"
        )))
        .bind(id)
        .bind(practice_id)
        .bind(input.number.as_str().to_string())
        .bind(input.label.trim().to_string())
        .bind(input.source.trim().to_string())
        .bind(input.channel.trim().to_string())
        .bind(input.campaign_id)
        .bind(input.location_id)
        .bind(i64::from(input.pool))
        .bind(i64::from(input.active))
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| StoreError::on_unique(e, "that number is already a tracking number"))?
        .ok_or(StoreError::NotFound)?;
        let n = read_number(&r)?;
        audit::record(
            &mut *tx,
            Some(practice_id),
            actor,
            "update",
            "tracking_number",
            Some(id),
            &n.label,
        )
        .await?;
        tx.commit().await?;
        Ok(n)
    }

    /// The practice, forward-to line, menu setting and signing token for a call or text to `number`
    /// (an active tracking number), or `None` when it is not one.
    pub async fn number_route(&self, number: &str) -> StoreResult<Option<NumberRoute>> {
        let Some(r) = sqlx::query(
            "SELECT n.id, n.practice_id, n.location_id, p.name, p.ivr_enabled FROM tracking_numbers n \
             JOIN practices p ON p.id = n.practice_id WHERE n.number = $1 AND n.active = 1",
        )
        .bind(number.to_string())
        .fetch_optional(self.pool())
        .await?
        else {
            return Ok(None);
        };
        let practice_id: i64 = r.try_get("practice_id")?;
        let location_id: Option<i64> = r.try_get("location_id")?;
        let locations = self.locations(practice_id).await?;
        let forward_to = location_id
            .and_then(|id| locations.iter().find(|l| l.id == id))
            .or(locations.first())
            .map(|l| l.main_phone.clone())
            .unwrap_or_default();
        let providers = self.message_providers(practice_id).await?;
        Ok(Some(NumberRoute {
            practice_id,
            number_id: r.try_get("id")?,
            practice_name: r.try_get("name")?,
            forward_to,
            ivr: r.try_get::<i64, _>("ivr_enabled")? != 0,
            account_sid: providers.twilio_account_sid,
            auth_token: providers.twilio_auth_token,
        }))
    }

    /// The keypad menu and the missed-call text (empty: none).
    pub async fn call_settings(&self, practice_id: i64) -> StoreResult<(bool, String)> {
        let r = sqlx::query("SELECT ivr_enabled, missed_call_text FROM practices WHERE id = $1")
            .bind(practice_id)
            .fetch_optional(self.pool())
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok((
            r.try_get::<i64, _>("ivr_enabled")? != 0,
            r.try_get("missed_call_text")?,
        ))
    }

    pub async fn set_call_settings(
        &self,
        practice_id: i64,
        ivr: bool,
        missed_call_text: &str,
        actor: &Actor,
    ) -> StoreResult<()> {
        let text = missed_call_text.trim();
        if text.chars().count() > 320 {
            return Err(StoreError::Invalid(
                "the missed-call text is longer than 320 characters (two text messages)".into(),
            ));
        }
        let mut tx = self.begin().await?;
        sqlx::query("UPDATE practices SET ivr_enabled = $2, missed_call_text = $3 WHERE id = $1")
            .bind(practice_id)
            .bind(i64::from(ivr))
            .bind(text.to_string())
            .execute(&mut *tx)
            .await?;
        audit::record(
            &mut *tx,
            Some(practice_id),
            actor,
            "update",
            "call_settings",
            None,
            if ivr { "menu on" } else { "menu off" },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The number a website visitor should see instead of the clinic's main line (dynamic number
    /// insertion): a fixed number for the visit's campaign, else for its source or channel, else a
    /// pool number held for this visitor (the one they already have, or the least recently handed
    /// out) while the visit goes on. `None`: no number fits, the page keeps the main line.
    pub async fn number_for_visitor(
        &self,
        practice_id: i64,
        site_id: i64,
        visitor_id: i64,
        touch: &Touch,
        now: i64,
    ) -> StoreResult<Option<TrackingNumber>> {
        let numbers = self.tracking_numbers(practice_id).await?;
        let campaigns = self.campaigns(practice_id).await?;
        let same = |a: &str, b: &str| !a.is_empty() && a.eq_ignore_ascii_case(b);
        let fixed = numbers.iter().filter(|n| n.active && !n.pool);
        let by_campaign = fixed.clone().find(|n| {
            n.campaign_id
                .and_then(|id| campaigns.iter().find(|c| c.id == id))
                .is_some_and(|c| {
                    same(&c.utm_campaign, &touch.campaign) || same(&c.name, &touch.campaign)
                })
        });
        let by_source = || {
            fixed
                .clone()
                .find(|n| n.campaign_id.is_none() && same(&n.source, &touch.source))
        };
        let by_channel = || {
            fixed.clone().find(|n| {
                n.campaign_id.is_none() && n.source.is_empty() && same(&n.channel, &touch.channel)
            })
        };
        if let Some(n) = by_campaign.or_else(by_source).or_else(by_channel) {
            return Ok(Some(n.clone()));
        }
        self.assign_pool_number(practice_id, site_id, visitor_id, touch, now)
            .await
    }

    /// A pool number for a website visitor: the one they hold, else the number least recently
    /// handed out. Extends the hold while the visitor goes on browsing.
    async fn assign_pool_number(
        &self,
        practice_id: i64,
        site_id: i64,
        visitor_id: i64,
        touch: &Touch,
        now: i64,
    ) -> StoreResult<Option<TrackingNumber>> {
        let expires = now + ASSIGNMENT_MINUTES * 60_000;
        let mut tx = self.begin().await?;
        let held = sqlx::query(
            "SELECT a.id, a.tracking_number_id FROM number_assignments a JOIN tracking_numbers n \
             ON n.id = a.tracking_number_id WHERE a.site_id = $1 AND a.visitor_id = $2 AND a.practice_id = $3 \
             AND a.expires_at >= $4 AND n.active = 1 AND n.pool = 1 ORDER BY a.id DESC LIMIT 1",
        )
        .bind(site_id)
        .bind(visitor_id)
        .bind(practice_id)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        let number_id: i64 = if let Some(h) = held {
            sqlx::query("UPDATE number_assignments SET expires_at = $2 WHERE id = $1")
                .bind(h.try_get::<i64, _>("id")?)
                .bind(expires)
                .execute(&mut *tx)
                .await?;
            h.try_get("tracking_number_id")?
        } else {
            let Some(pick) = sqlx::query(
                "SELECT n.id FROM tracking_numbers n WHERE n.practice_id = $1 AND n.pool = 1 AND n.active = 1 \
                 ORDER BY (SELECT MAX(a.assigned_at) FROM number_assignments a WHERE a.tracking_number_id = n.id) \
                 NULLS FIRST, n.id LIMIT 1",
            )
            .bind(practice_id)
            .fetch_optional(&mut *tx)
            .await?
            else {
                return Ok(None);
            };
            let id: i64 = pick.try_get("id")?;
            sqlx::query(
                "INSERT INTO number_assignments (tracking_number_id, practice_id, site_id, visitor_id, source, \
                 channel, campaign, landing, assigned_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(id)
            .bind(practice_id)
            .bind(site_id)
            .bind(visitor_id)
            .bind(touch.source.clone())
            .bind(touch.channel.clone())
            .bind(touch.campaign.clone())
            .bind(touch.landing.clone())
            .bind(now)
            .bind(expires)
            .execute(&mut *tx)
            .await?;
            id
        };
        let n = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {NUMBER_COLS} FROM tracking_numbers WHERE id = $1"
        )))
        .bind(number_id)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some(read_number(&n)?))
    }

    /// Records a call arriving at a tracking number (Twilio's voice webhook). A retry with the same
    /// CallSid returns the call already recorded; the bool says whether this request created it.
    pub async fn start_call(
        &self,
        route: &NumberRoute,
        call_sid: &str,
        from: Option<&PhoneE164>,
        status: &str,
        at: i64,
    ) -> StoreResult<(CallRow, bool)> {
        if call_sid.is_empty() || call_sid.len() > 64 {
            return Err(StoreError::Invalid("a call needs its CallSid".into()));
        }
        let practice_id = route.practice_id;
        let mut tx = self.begin().await?;
        let number = read_number(
            &sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {NUMBER_COLS} FROM tracking_numbers WHERE id = $1"
            )))
            .bind(route.number_id)
            .fetch_one(&mut *tx)
            .await?,
        )?;
        // A pool number takes the visit it was last shown to, if that visit still holds it (or let
        // it go within the last half hour); a fixed number its own source and campaign.
        let mut touch = Touch {
            source: number.source.clone(),
            channel: number.channel.clone(),
            campaign: String::new(),
            landing: String::new(),
        };
        let mut visit_id = None;
        if number.pool
            && let Some(a) = sqlx::query(
                "SELECT site_id, visitor_id, source, channel, campaign, landing FROM number_assignments \
                 WHERE tracking_number_id = $1 AND assigned_at <= $2 AND expires_at >= $3 \
                 ORDER BY assigned_at DESC LIMIT 1",
            )
            .bind(number.id)
            .bind(at)
            .bind(at - ASSIGNMENT_MINUTES * 60_000)
            .fetch_optional(&mut *tx)
            .await?
        {
            // The visitor's latest visit that began before the call.
            visit_id = sqlx::query(
                "SELECT id FROM visits WHERE site_id = $1 AND visitor_id = $2 AND started_at <= $3 \
                 ORDER BY started_at DESC, id DESC LIMIT 1",
            )
            .bind(a.try_get::<i64, _>("site_id")?)
            .bind(a.try_get::<i64, _>("visitor_id")?)
            .bind(at)
            .fetch_optional(&mut *tx)
            .await?
            .map(|v| v.try_get::<i64, _>("id"))
            .transpose()?;
            touch = Touch {
                source: a.try_get("source")?,
                channel: a.try_get("channel")?,
                campaign: a.try_get("campaign")?,
                landing: a.try_get("landing")?,
            };
        }
        let mut campaign_id = number.campaign_id;
        if let Some(id) = campaign_id {
            let name = sqlx::query("SELECT name, utm_campaign FROM campaigns WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
            if let Some(n) = name {
                let utm: String = n.try_get("utm_campaign")?;
                touch.campaign = if utm.is_empty() {
                    n.try_get("name")?
                } else {
                    utm
                };
            }
        } else if !touch.campaign.is_empty() {
            campaign_id = self
                .campaign_named(&mut tx, practice_id, &touch.campaign)
                .await?;
        }
        let k = self.keys();
        let inserted = sqlx::query(
            "INSERT INTO calls (practice_id, call_sid, tracking_number_id, location_id, caller_enc, caller_bidx, \
             status, source, channel, campaign, landing, campaign_id, visit_id, started_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14) \
             ON CONFLICT (call_sid) DO NOTHING RETURNING id",
        )
        .bind(practice_id)
        .bind(call_sid.to_string())
        .bind(number.id)
        .bind(number.location_id)
        .bind(from.map(|p| k.encrypt_str(p.as_str(), &aad("caller", practice_id))))
        .bind(from.map(|p| k.blind_index("phone", p.as_str())))
        .bind(status.to_string())
        .bind(touch.source)
        .bind(touch.channel)
        .bind(touch.campaign)
        .bind(touch.landing)
        .bind(campaign_id)
        .bind(visit_id)
        .bind(at)
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        let call = self.call_by_sid(practice_id, call_sid).await?;
        Ok((call, inserted.is_some()))
    }

    pub async fn call_by_sid(&self, practice_id: i64, call_sid: &str) -> StoreResult<CallRow> {
        let r = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {CALL_COLS} FROM calls WHERE call_sid = $1 AND practice_id = $2"
        )))
        .bind(call_sid.to_string())
        .bind(practice_id)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        read_call(&r)
    }

    /// The key the caller pressed in the menu.
    pub async fn call_digit(
        &self,
        practice_id: i64,
        call_sid: &str,
        digit: char,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE calls SET digit = $3, updated_at = $4 WHERE call_sid = $1 AND practice_id = $2",
        )
        .bind(call_sid.to_string())
        .bind(practice_id)
        .bind(digit.to_string())
        .bind(now_ms())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// How the forwarded leg ended (Twilio's `DialCallStatus` and `DialCallDuration`).
    pub async fn call_dialed(
        &self,
        practice_id: i64,
        call_sid: &str,
        dial_status: &str,
        duration_s: i64,
    ) -> StoreResult<()> {
        let answered = stride_core::calls::answered(Some(dial_status)) && duration_s > 0;
        sqlx::query(
            "UPDATE calls SET dial_status = $3, answered = $4, duration_s = $5, updated_at = $6 \
             WHERE call_sid = $1 AND practice_id = $2 AND ended_at IS NULL",
        )
        .bind(call_sid.to_string())
        .bind(practice_id)
        .bind(dial_status.to_string())
        .bind(i64::from(answered))
        .bind(if answered { duration_s.max(0) } else { 0 })
        .bind(now_ms())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Ends a call (Twilio's status callback with a final `CallStatus`): classifies it from who the
    /// caller is, the menu key and how the call went; a new-patient call makes or joins a lead, a
    /// missed one adds a follow-up task and, when the practice has one, queues the text-back.
    /// Idempotent: a retried callback changes nothing and sends nothing twice.
    pub async fn finish_call(
        &self,
        practice_id: i64,
        call_sid: &str,
        status: &str,
        at: i64,
    ) -> StoreResult<Finished> {
        let k = self.keys();
        let mut tx = self.begin().await?;
        let row = sqlx::query(
            "SELECT id, caller_enc, caller_bidx, answered, duration_s, digit, ended_at FROM calls \
             WHERE call_sid = $1 AND practice_id = $2",
        )
        .bind(call_sid.to_string())
        .bind(practice_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?;
        let id: i64 = row.try_get("id")?;
        let first_time = row.try_get::<Option<i64>, _>("ended_at")?.is_none();
        if first_time {
            let bidx: Option<String> = row.try_get("caller_bidx")?;
            let patient_id: Option<i64> = match &bidx {
                Some(b) => sqlx::query(
                    "SELECT id FROM patients WHERE practice_id = $1 AND phone_bidx = $2 ORDER BY id LIMIT 1",
                )
                .bind(practice_id)
                .bind(b.clone())
                .fetch_optional(&mut *tx)
                .await?
                .map(|r| r.try_get("id"))
                .transpose()?,
                None => None,
            };
            let open_lead = match &bidx {
                Some(b) => sqlx::query(
                    "SELECT id FROM leads WHERE practice_id = $1 AND phone_bidx = $2 AND merged_into IS NULL \
                     AND stage IN ('new', 'qualified', 'evaluation_booked') LIMIT 1",
                )
                .bind(practice_id)
                .bind(b.clone())
                .fetch_optional(&mut *tx)
                .await?
                .is_some(),
                None => false,
            };
            let answered = row.try_get::<i64, _>("answered")? != 0;
            let digit: Option<String> = row.try_get("digit")?;
            let class = classify(&CallFacts {
                caller_is_patient: patient_id.is_some(),
                caller_has_open_lead: open_lead,
                digit: digit.and_then(|d| d.chars().next()),
                answered,
                duration_s: row.try_get("duration_s")?,
            });
            sqlx::query(
                "UPDATE calls SET status = $3, ended_at = $4, updated_at = $4, missed = $5, auto_class = $6, \
                 patient_id = $7 WHERE id = $1 AND practice_id = $2",
            )
            .bind(id)
            .bind(practice_id)
            .bind(status.to_string())
            .bind(at)
            .bind(i64::from(!answered))
            .bind(class.as_str())
            .bind(patient_id)
            .execute(&mut *tx)
            .await?;
        }
        let caller = k.decrypt_opt(
            opt_bytes(&row, "caller_enc")?.as_deref(),
            &aad("caller", practice_id),
        )?;
        tx.commit().await?;
        self.call_follow_up(practice_id, call_sid, caller.as_deref())
            .await?;
        Ok(Finished {
            call: self.call_by_sid(practice_id, call_sid).await?,
            first_time,
        })
    }

    /// The lead, task and text-back a call's class asks for, each once.
    async fn call_follow_up(
        &self,
        practice_id: i64,
        call_sid: &str,
        caller: Option<&str>,
    ) -> StoreResult<()> {
        let call = self.call_by_sid(practice_id, call_sid).await?;
        let (Some(class), Some(caller)) = (call.effective_class(), caller) else {
            return Ok(());
        };
        if call.lead_id.is_some() || !makes_lead(class) {
            return Ok(());
        }
        let Ok(phone) = PhoneE164::parse(caller) else {
            return Ok(());
        };
        let actor = Actor::system("call tracking");
        let mut input = LeadInput::new(Origin::Call);
        input.phone = Some(phone.clone());
        input.basis = if call.visit_id.is_some() {
            Basis::Website
        } else {
            Basis::TrackingNumber
        };
        input.touch = Touch {
            source: call.source.clone(),
            channel: call.channel.clone(),
            campaign: call.campaign.clone(),
            landing: call.landing.clone(),
        };
        input.campaign_id = call.campaign_id;
        input.visit_id = call.visit_id;
        input.message = if call.missed {
            "Missed call".into()
        } else {
            format!(
                "Call of {}",
                stride_core::leads::short_duration(call.duration_s * 1000)
            )
        };
        input.external_key = Some(format!("call:{call_sid}"));
        input.at = Some(call.started_at);
        let (captured, lead) = self.capture_lead(practice_id, &input, &actor).await?;
        if call.missed && captured != Captured::Duplicate {
            self.add_lead_task(
                practice_id,
                lead.id,
                "Call back: missed call",
                call.ended_at.unwrap_or(call.started_at) + 15 * 60_000,
                &actor,
            )
            .await?;
        }
        let mut text_back = None;
        if call.missed && class == CallClass::NewPatient {
            let (_, text) = self.call_settings(practice_id).await?;
            if !text.is_empty() && !self.is_opted_out(practice_id, &phone).await? {
                text_back = Some(
                    self.queue_message(
                        practice_id,
                        &crate::messages::NewMessage {
                            channel: crate::messages::Channel::Sms,
                            to: phone.as_str().to_string(),
                            subject: None,
                            body: text,
                            purpose: "missed-call text-back".into(),
                            idempotency_key: Some(format!("textback:{call_sid}")),
                        },
                    )
                    .await?,
                );
            }
        }
        sqlx::query(
            "UPDATE calls SET lead_id = $3, text_back_id = COALESCE(text_back_id, $4) \
             WHERE call_sid = $1 AND practice_id = $2",
        )
        .bind(call_sid.to_string())
        .bind(practice_id)
        .bind(lead.id)
        .bind(text_back)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The front desk confirms or corrects a call's class with one click; a call corrected to a
    /// new-patient inquiry gets its lead.
    pub async fn set_call_class(
        &self,
        practice_id: i64,
        id: i64,
        class: CallClass,
        actor: &Actor,
    ) -> StoreResult<CallRow> {
        let mut tx = self.begin().await?;
        let r = sqlx::query(
            "UPDATE calls SET class = $3, class_by = $4, class_at = $5, updated_at = $5 \
             WHERE id = $1 AND practice_id = $2 AND ended_at IS NOT NULL RETURNING call_sid, caller_enc",
        )
        .bind(id)
        .bind(practice_id)
        .bind(class.as_str())
        .bind(actor.label.clone())
        .bind(now_ms())
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?;
        audit::record(
            &mut *tx,
            Some(practice_id),
            actor,
            "update",
            "call",
            Some(id),
            &format!("class: {}", class.as_str()),
        )
        .await?;
        let sid: String = r.try_get("call_sid")?;
        let caller = self.keys().decrypt_opt(
            opt_bytes(&r, "caller_enc")?.as_deref(),
            &aad("caller", practice_id),
        )?;
        tx.commit().await?;
        self.call_follow_up(practice_id, &sid, caller.as_deref())
            .await?;
        self.call_by_sid(practice_id, &sid).await
    }

    /// Calls of a period, newest first, without callers.
    pub async fn call_rows(
        &self,
        practice_id: i64,
        from: i64,
        to: i64,
        limit: i64,
    ) -> StoreResult<Vec<CallRow>> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {CALL_COLS} FROM calls WHERE practice_id = $1 AND started_at >= $2 AND started_at < $3 \
             ORDER BY started_at DESC, id DESC LIMIT $4"
        )))
        .bind(practice_id)
        .bind(from)
        .bind(to)
        .bind(limit)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(read_call)
        .collect()
    }

    /// Calls of a period with their callers' numbers, for the front desk (audited).
    pub async fn calls(
        &self,
        practice_id: i64,
        from: i64,
        to: i64,
        limit: i64,
        actor: &Actor,
    ) -> StoreResult<Vec<Call>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {CALL_COLS}, caller_enc FROM calls WHERE practice_id = $1 AND started_at >= $2 AND started_at < $3 \
             ORDER BY started_at DESC, id DESC LIMIT $4"
        )))
        .bind(practice_id)
        .bind(from)
        .bind(to)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        let k = self.keys();
        let calls = rows
            .iter()
            .map(|r| {
                Ok(Call {
                    row: read_call(r)?,
                    caller: k.decrypt_opt(
                        opt_bytes(r, "caller_enc")?.as_deref(),
                        &aad("caller", practice_id),
                    )?,
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        audit::record(
            self.pool(),
            Some(practice_id),
            actor,
            "read",
            "call",
            None,
            &format!("{} calls", calls.len()),
        )
        .await?;
        Ok(calls)
    }

    /// Calls of a period: answered and missed, by class, how often the automatic class was right,
    /// and per source.
    pub async fn call_report(
        &self,
        practice_id: i64,
        from: i64,
        to: i64,
    ) -> StoreResult<CallReport> {
        let rows = self.call_rows(practice_id, from, to, i64::MAX).await?;
        let called_back: Vec<i64> = sqlx::query(
            "SELECT c.id FROM calls c JOIN leads l ON l.id = c.lead_id WHERE c.practice_id = $1 \
             AND c.started_at >= $2 AND c.started_at < $3 AND c.missed = 1 AND l.first_contact_at IS NOT NULL",
        )
        .bind(practice_id)
        .bind(from)
        .bind(to)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(|r| r.try_get("id"))
        .collect::<Result<_, _>>()?;
        let mut report = CallReport::default();
        let mut sources: BTreeMap<(String, String), CallSourceRow> = BTreeMap::new();
        for c in rows.iter().filter(|c| c.ended_at.is_some()) {
            report.calls += 1;
            if c.missed {
                report.missed += 1;
            } else {
                report.answered += 1;
            }
            let class = c.effective_class();
            if let Some(class) = class {
                *report.by_class.entry(class.as_str().into()).or_default() += 1;
            }
            if let Some(final_class) = c.class {
                report.reviewed += 1;
                report.auto_right += i64::from(c.auto_class == Some(final_class));
            }
            let s = sources
                .entry((c.source.clone(), c.channel.clone()))
                .or_insert_with(|| CallSourceRow {
                    source: c.source.clone(),
                    channel: c.channel.clone(),
                    ..CallSourceRow::default()
                });
            s.calls += 1;
            s.missed += i64::from(c.missed);
            s.new_patient += i64::from(class == Some(CallClass::NewPatient));
        }
        report.missed_called_back = called_back.len() as i64;
        report.sources = sources.into_values().collect();
        report.sources.sort_by_key(|s| std::cmp::Reverse(s.calls));
        Ok(report)
    }

    /// Records a text to a tracking number (Twilio's messaging webhook); STOP opts the sender out and
    /// START back in. A retry with the same MessageSid changes nothing.
    pub async fn receive_sms(
        &self,
        route: &NumberRoute,
        message_sid: &str,
        from: &PhoneE164,
        body: &str,
        at: i64,
    ) -> StoreResult<SmsKeyword> {
        if message_sid.is_empty() || message_sid.len() > 64 {
            return Err(StoreError::Invalid("a text needs its MessageSid".into()));
        }
        let practice_id = route.practice_id;
        let keyword = sms_keyword(body);
        let k = self.keys();
        let bidx = k.blind_index("phone", from.as_str());
        let mut tx = self.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO sms_inbound (practice_id, message_sid, tracking_number_id, sender_enc, sender_bidx, \
             body_enc, keyword, received_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (message_sid) DO NOTHING RETURNING id",
        )
        .bind(practice_id)
        .bind(message_sid.to_string())
        .bind(route.number_id)
        .bind(k.encrypt_str(from.as_str(), &aad("sender", practice_id)))
        .bind(bidx.clone())
        .bind(k.encrypt_str(body, &aad("sms_body", practice_id)))
        .bind(format!("{keyword:?}").to_lowercase())
        .bind(at)
        .fetch_optional(&mut *tx)
        .await?;
        if inserted.is_some() {
            match keyword {
                SmsKeyword::Stop => {
                    sqlx::query(
                        "INSERT INTO sms_opt_outs (practice_id, phone_bidx, phone_enc, opted_out_at) \
                         VALUES ($1, $2, $3, $4) ON CONFLICT (practice_id, phone_bidx) DO NOTHING",
                    )
                    .bind(practice_id)
                    .bind(bidx)
                    .bind(k.encrypt_str(from.as_str(), &aad("opt_out", practice_id)))
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
                }
                SmsKeyword::Start => {
                    sqlx::query(
                        "DELETE FROM sms_opt_outs WHERE practice_id = $1 AND phone_bidx = $2",
                    )
                    .bind(practice_id)
                    .bind(bidx)
                    .execute(&mut *tx)
                    .await?;
                }
                SmsKeyword::Help | SmsKeyword::Confirm | SmsKeyword::Other => {}
            }
        }
        tx.commit().await?;
        Ok(keyword)
    }

    /// Whether this number texted STOP (and not START since).
    pub async fn is_opted_out(&self, practice_id: i64, phone: &PhoneE164) -> StoreResult<bool> {
        Ok(sqlx::query(
            "SELECT 1 AS x FROM sms_opt_outs WHERE practice_id = $1 AND phone_bidx = $2",
        )
        .bind(practice_id)
        .bind(self.keys().blind_index("phone", phone.as_str()))
        .fetch_optional(self.pool())
        .await?
        .is_some())
    }

    /// Inbound texts, newest first, for the front desk (audited).
    pub async fn inbound_sms(
        &self,
        practice_id: i64,
        limit: i64,
        actor: &Actor,
    ) -> StoreResult<Vec<InboundSms>> {
        let k = self.keys();
        let rows = sqlx::query(
            "SELECT id, sender_enc, body_enc, keyword, received_at FROM sms_inbound WHERE practice_id = $1 \
             ORDER BY received_at DESC, id DESC LIMIT $2",
        )
        .bind(practice_id)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        let out = rows
            .iter()
            .map(|r| {
                Ok(InboundSms {
                    id: r.try_get("id")?,
                    from: k.decrypt_opt(
                        opt_bytes(r, "sender_enc")?.as_deref(),
                        &aad("sender", practice_id),
                    )?,
                    body: k
                        .decrypt_opt(
                            opt_bytes(r, "body_enc")?.as_deref(),
                            &aad("sms_body", practice_id),
                        )?
                        .unwrap_or_default(),
                    keyword: r.try_get("keyword")?,
                    received_at: r.try_get("received_at")?,
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        audit::record(
            self.pool(),
            Some(practice_id),
            actor,
            "read",
            "sms_inbound",
            None,
            &format!("{} texts", out.len()),
        )
        .await?;
        Ok(out)
    }

    /// Re-encrypts callers, texts and opt-outs under the current key, with fresh blind indexes.
    pub(crate) async fn reencrypt_calls(&self) -> StoreResult<u64> {
        let k = self.keys();
        let mut n = 0;
        for (table, key, enc, bidx, aad_col) in [
            ("calls", "id", "caller_enc", Some("caller_bidx"), "caller"),
            (
                "sms_inbound",
                "id",
                "sender_enc",
                Some("sender_bidx"),
                "sender",
            ),
            ("sms_inbound", "id", "body_enc", None, "sms_body"),
            (
                "sms_opt_outs",
                "phone_bidx",
                "phone_enc",
                Some("phone_bidx"),
                "opt_out",
            ),
        ] {
            let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {key} AS k, practice_id, {enc} FROM {table}"
            )))
            .fetch_all(self.pool())
            .await?;
            for r in &rows {
                let practice_id: i64 = r.try_get("practice_id")?;
                let Some(plain) =
                    k.decrypt_opt(opt_bytes(r, enc)?.as_deref(), &aad(aad_col, practice_id))?
                else {
                    continue;
                };
                let sealed = k.encrypt_str(&plain, &aad(aad_col, practice_id));
                let q = match bidx {
                    Some(b) => sqlx::query(sqlx::AssertSqlSafe(format!(
                        "UPDATE {table} SET {enc} = $3, {b} = $4 WHERE {key} = $1 AND practice_id = $2"
                    ))),
                    None => sqlx::query(sqlx::AssertSqlSafe(format!(
                        "UPDATE {table} SET {enc} = $3 WHERE {key} = $1 AND practice_id = $2"
                    ))),
                };
                let q = if key == "id" {
                    q.bind(r.try_get::<i64, _>("k")?)
                } else {
                    q.bind(r.try_get::<String, _>("k")?)
                };
                let q = q.bind(practice_id).bind(sealed);
                let q = match bidx {
                    Some(_) => q.bind(k.blind_index("phone", &plain)),
                    None => q,
                };
                q.execute(self.pool()).await?;
                n += 1;
            }
        }
        Ok(n)
    }
}
