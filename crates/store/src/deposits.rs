//! The practice's booking policy (billing model, deposit, notice and horizon, reminder cadence) and
//! the deposit ledger. A qualifying booking gets its deposit request in the booking's own
//! transaction; every later step appends a `deposit_events` row (append-only, enforced by the
//! database) with who took it and when. The consistency report checks every qualifying booking
//! against the ledger and names the staff member behind each waiver.

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;
use stride_core::deposits::{Attendance, DepositStatus, Policy};
use stride_core::payers::BillingModel;

use crate::audit::{self, Actor};
use crate::error::{StoreError, StoreResult};
use crate::{Store, now_ms};

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BookingSettings {
    pub billing_model: BillingModel,
    pub deposit_enabled: bool,
    pub policy: Policy,
    /// When the deposit policy began; kept when it is switched off and on again.
    pub deposit_started_at: Option<i64>,
    pub min_notice_min: i64,
    pub horizon_days: i64,
    /// Hours before a visit that reminders go out, largest first.
    pub reminder_hours: Vec<i64>,
    /// "21:00-08:00", in each location's time zone; empty for none.
    pub quiet_hours: String,
}

impl Default for BookingSettings {
    fn default() -> Self {
        BookingSettings {
            billing_model: BillingModel::Hybrid,
            deposit_enabled: false,
            policy: Policy::default(),
            deposit_started_at: None,
            min_notice_min: 120,
            horizon_days: 60,
            reminder_hours: vec![48, 24, 2],
            quiet_hours: "21:00-08:00".into(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Deposit {
    pub id: i64,
    pub appointment_id: i64,
    pub amount_cents: i64,
    pub status: DepositStatus,
    pub method: String,
    /// The processor's reference of an online payment (a Stripe PaymentIntent), for refunds.
    pub payment_ref: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A practice's Stripe connection: the secret API key and the webhook signing secret.
#[derive(Clone)]
pub struct StripeKeys {
    pub secret: String,
    pub webhook_secret: String,
}

/// The job that refunds an online deposit at Stripe.
pub const STRIPE_REFUND_JOB: &str = "stripe_refund";

#[derive(Debug, Clone, Serialize)]
pub struct DepositEvent {
    pub at: i64,
    pub from: DepositStatus,
    pub to: DepositStatus,
    pub actor: String,
    pub method: String,
    pub note: String,
}

/// A deposit with its appointment, for the ledger page.
#[derive(Debug, Clone, Serialize)]
pub struct LedgerRow {
    pub deposit: Deposit,
    pub appointment_starts_at: i64,
    pub appointment_status: String,
    pub clinician_id: i64,
    pub type_name: String,
    /// Who moved it last.
    pub last_actor: String,
}

/// A qualifying booking the ledger has no request for, or one a staff member waived.
#[derive(Debug, Clone, Serialize)]
pub struct Exception {
    pub appointment_id: i64,
    pub starts_at: i64,
    pub booked_at: i64,
    pub type_name: String,
    /// The staff member who waived it, and why; empty for a missing request.
    pub waived_by: String,
    pub note: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Consistency {
    /// Bookings made while the policy was on, of types that take a deposit.
    pub qualifying: i64,
    /// Of those, how many have a deposit request.
    pub requested: i64,
    pub missing: Vec<Exception>,
    pub waived: Vec<Exception>,
    /// Past visits whose deposit is still pending: nothing was collected nor settled.
    pub unsettled: i64,
    pub by_status: Vec<(DepositStatus, i64, i64)>,
}

const DEP_COLS: &str =
    "id, appointment_id, amount_cents, status, method, payment_ref, created_at, updated_at";

fn stripe_aad(column: &str, practice_id: i64) -> Vec<u8> {
    format!("booking_settings.{column}:{practice_id}").into_bytes()
}

fn read_deposit(r: &AnyRow) -> StoreResult<Deposit> {
    let status: String = r.try_get("status")?;
    Ok(Deposit {
        id: r.try_get("id")?,
        appointment_id: r.try_get("appointment_id")?,
        amount_cents: r.try_get("amount_cents")?,
        status: DepositStatus::parse(&status)
            .ok_or_else(|| StoreError::Invalid(format!("unknown deposit status {status}")))?,
        method: r.try_get("method")?,
        payment_ref: r.try_get("payment_ref")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

/// How a deposit was paid, when the front desk records it.
pub const METHODS: &[(&str, &str)] = &[
    ("card_terminal", "Card terminal"),
    ("cash", "Cash"),
    ("check", "Check"),
    ("stripe", "Online (Stripe)"),
];

type Tx = sqlx::Transaction<'static, sqlx::Any>;

impl Store {
    pub async fn booking_settings(&self, practice_id: i64) -> StoreResult<BookingSettings> {
        let Some(r) = sqlx::query(
            "SELECT billing_model, deposit_enabled, deposit_cents, refundable_hours, deposit_started_at, \
             min_notice_min, horizon_days, reminder_hours, quiet_hours FROM booking_settings WHERE practice_id = $1",
        )
        .bind(practice_id)
        .fetch_optional(self.pool())
        .await?
        else {
            return Ok(BookingSettings::default());
        };
        let model: String = r.try_get("billing_model")?;
        let hours: String = r.try_get("reminder_hours")?;
        Ok(BookingSettings {
            billing_model: BillingModel::parse(&model).unwrap_or(BillingModel::Hybrid),
            deposit_enabled: r.try_get::<i64, _>("deposit_enabled")? != 0,
            policy: Policy {
                amount_cents: r.try_get("deposit_cents")?,
                refundable_hours: r.try_get("refundable_hours")?,
            },
            deposit_started_at: r.try_get("deposit_started_at")?,
            min_notice_min: r.try_get("min_notice_min")?,
            horizon_days: r.try_get("horizon_days")?,
            reminder_hours: hours
                .split(',')
                .filter_map(|h| h.trim().parse().ok())
                .collect(),
            quiet_hours: r.try_get("quiet_hours")?,
        })
    }

    /// Saves the policy. Turning deposits on for the first time marks the day the policy started
    /// (or the given date, for an import); it stays when deposits are turned off and on again.
    pub async fn set_booking_settings(
        &self,
        practice_id: i64,
        s: &BookingSettings,
        actor: &Actor,
    ) -> StoreResult<BookingSettings> {
        if !(0..=100_000).contains(&s.policy.amount_cents) {
            return Err(StoreError::Invalid(
                "the deposit must be between $0 and $1,000".into(),
            ));
        }
        if !(0..=24 * 14).contains(&s.policy.refundable_hours) {
            return Err(StoreError::Invalid(
                "refundable until must be between 0 and 336 hours before the visit".into(),
            ));
        }
        if !(1..=365).contains(&s.horizon_days) || !(0..=60 * 24 * 14).contains(&s.min_notice_min) {
            return Err(StoreError::Invalid(
                "the booking horizon is 1 to 365 days and the notice at most 14 days".into(),
            ));
        }
        if s.reminder_hours.iter().any(|h| !(1..=24 * 14).contains(h)) {
            return Err(StoreError::Invalid(
                "reminders go out between 1 and 336 hours before a visit".into(),
            ));
        }
        let before = self.booking_settings(practice_id).await?;
        let started = before
            .deposit_started_at
            .or(s.deposit_started_at.filter(|_| s.deposit_enabled))
            .or(s.deposit_enabled.then(now_ms));
        let mut hours = s.reminder_hours.clone();
        hours.sort_unstable_by(|a, b| b.cmp(a));
        hours.dedup();
        let hours = hours
            .iter()
            .map(|h| h.to_string())
            .collect::<Vec<_>>()
            .join(",");
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO booking_settings (practice_id, billing_model, deposit_enabled, deposit_cents, refundable_hours, \
             deposit_started_at, min_notice_min, horizon_days, reminder_hours, quiet_hours, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (practice_id) DO UPDATE SET \
             billing_model = excluded.billing_model, deposit_enabled = excluded.deposit_enabled, \
             deposit_cents = excluded.deposit_cents, refundable_hours = excluded.refundable_hours, \
             deposit_started_at = excluded.deposit_started_at, min_notice_min = excluded.min_notice_min, \
             horizon_days = excluded.horizon_days, reminder_hours = excluded.reminder_hours, \
             quiet_hours = excluded.quiet_hours, updated_at = excluded.updated_at",
        )
        .bind(practice_id)
        .bind(s.billing_model.as_str().to_string())
        .bind(i64::from(s.deposit_enabled))
        .bind(s.policy.amount_cents)
        .bind(s.policy.refundable_hours)
        .bind(started)
        .bind(s.min_notice_min)
        .bind(s.horizon_days)
        .bind(hours)
        .bind(s.quiet_hours.trim().to_string())
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        audit::record(
            &mut *tx,
            Some(practice_id),
            actor,
            "update",
            "booking_settings",
            None,
            if s.deposit_enabled {
                "deposits on"
            } else {
                "deposits off"
            },
        )
        .await?;
        tx.commit().await?;
        self.booking_settings(practice_id).await
    }

    /// The deposit request of a new booking, in its transaction.
    pub(crate) async fn request_deposit(
        tx: &mut Tx,
        practice_id: i64,
        appointment_id: i64,
        amount_cents: i64,
        at: i64,
        actor: &Actor,
    ) -> StoreResult<()> {
        let row = sqlx::query(
            "INSERT INTO deposits (practice_id, appointment_id, amount_cents, status, created_at, updated_at) \
             VALUES ($1, $2, $3, 'pending', $4, $4) RETURNING id",
        )
        .bind(practice_id)
        .bind(appointment_id)
        .bind(amount_cents)
        .bind(at)
        .fetch_one(&mut **tx)
        .await?;
        let id: i64 = row.try_get("id")?;
        Self::deposit_event(
            tx,
            practice_id,
            id,
            at,
            (DepositStatus::Pending, DepositStatus::Pending),
            actor,
            "",
            "requested with the booking",
            None,
        )
        .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn deposit_event(
        tx: &mut Tx,
        practice_id: i64,
        deposit_id: i64,
        at: i64,
        (from, to): (DepositStatus, DepositStatus),
        actor: &Actor,
        method: &str,
        note: &str,
        external_id: Option<&str>,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO deposit_events (practice_id, deposit_id, at, from_status, to_status, actor, user_id, method, note, external_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(practice_id)
        .bind(deposit_id)
        .bind(at)
        .bind(from.as_str().to_string())
        .bind(to.as_str().to_string())
        .bind(actor.label.clone())
        .bind(actor.user_id)
        .bind(method.to_string())
        .bind(note.trim().to_string())
        .bind(external_id.map(str::to_string))
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Moves a deposit one step along its ledger (collected at the desk, waived, ...). A step the
    /// ledger does not allow is refused; waiving needs a reason. `external_id` makes a repeated
    /// notification (a Stripe webhook delivered twice) a no-op: `Ok(false)`.
    #[allow(clippy::too_many_arguments)]
    pub async fn move_deposit(
        &self,
        practice_id: i64,
        deposit_id: i64,
        to: DepositStatus,
        method: &str,
        note: &str,
        external_id: Option<&str>,
        at: Option<i64>,
        actor: &Actor,
    ) -> StoreResult<bool> {
        if to == DepositStatus::Waived && note.trim().is_empty() {
            return Err(StoreError::Invalid(
                "say why the deposit is waived: the reason is kept with your name".into(),
            ));
        }
        if to == DepositStatus::Collected && !METHODS.iter().any(|(m, _)| *m == method) {
            return Err(StoreError::Invalid("say how the deposit was paid".into()));
        }
        let mut tx = self.begin().await?;
        if let Some(ext) = external_id {
            let seen = sqlx::query("SELECT id FROM deposit_events WHERE external_id = $1")
                .bind(ext.to_string())
                .fetch_optional(&mut *tx)
                .await?;
            if seen.is_some() {
                return Ok(false);
            }
        }
        let r = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {DEP_COLS} FROM deposits WHERE id = $1 AND practice_id = $2"
        )))
        .bind(deposit_id)
        .bind(practice_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?;
        let d = read_deposit(&r)?;
        if !d.status.can_move(to) {
            return Err(StoreError::Conflict(format!(
                "a deposit that is {} cannot become {}",
                d.status.label().to_lowercase(),
                to.label().to_lowercase()
            )));
        }
        let at = at.unwrap_or_else(now_ms);
        let done = sqlx::query(
            "UPDATE deposits SET status = $3, method = CASE WHEN $4 = '' THEN method ELSE $4 END, updated_at = $5 \
             WHERE id = $1 AND status = $2",
        )
        .bind(deposit_id)
        .bind(d.status.as_str().to_string())
        .bind(to.as_str().to_string())
        .bind(method.to_string())
        .bind(at)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict(
                "the deposit changed meanwhile; reload and try again".into(),
            ));
        }
        Self::deposit_event(
            &mut tx,
            practice_id,
            deposit_id,
            at,
            (d.status, to),
            actor,
            method,
            note,
            external_id,
        )
        .await?;
        audit::record(
            &mut *tx,
            Some(practice_id),
            actor,
            "update",
            "deposit",
            Some(deposit_id),
            to.as_str(),
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Settles an appointment's deposit after an attendance outcome, in the outcome's transaction.
    pub(crate) async fn settle_deposit(
        tx: &mut Tx,
        practice_id: i64,
        appointment_id: i64,
        outcome: Attendance,
        at: i64,
        actor: &Actor,
    ) -> StoreResult<()> {
        let Some(r) = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {DEP_COLS} FROM deposits WHERE appointment_id = $1 AND practice_id = $2"
        )))
        .bind(appointment_id)
        .bind(practice_id)
        .fetch_optional(&mut **tx)
        .await?
        else {
            return Ok(());
        };
        let d = read_deposit(&r)?;
        let Some(to) = Policy::settle(outcome, d.status) else {
            return Ok(());
        };
        sqlx::query("UPDATE deposits SET status = $2, updated_at = $3 WHERE id = $1")
            .bind(d.id)
            .bind(to.as_str().to_string())
            .bind(at)
            .execute(&mut **tx)
            .await?;
        if to == DepositStatus::Refunded && d.method == "stripe" && d.payment_ref.is_some() {
            // The money goes back through Stripe; the job retries until Stripe confirms.
            let job = crate::jobs::NewJob::now(
                STRIPE_REFUND_JOB,
                serde_json::json!({ "deposit_id": d.id, "practice_id": practice_id }),
            )
            .practice(practice_id)
            .key(format!("{STRIPE_REFUND_JOB}:{}", d.id));
            crate::jobs::enqueue(&mut **tx, &job).await?;
        }
        Self::deposit_event(
            tx,
            practice_id,
            d.id,
            at,
            (d.status, to),
            actor,
            "",
            outcome.label(),
            None,
        )
        .await
    }

    pub async fn deposit_for(
        &self,
        practice_id: i64,
        appointment_id: i64,
    ) -> StoreResult<Option<(Deposit, Vec<DepositEvent>)>> {
        let Some(r) = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {DEP_COLS} FROM deposits WHERE appointment_id = $1 AND practice_id = $2"
        )))
        .bind(appointment_id)
        .bind(practice_id)
        .fetch_optional(self.pool())
        .await?
        else {
            return Ok(None);
        };
        let d = read_deposit(&r)?;
        let events = sqlx::query(
            "SELECT at, from_status, to_status, actor, method, note FROM deposit_events WHERE deposit_id = $1 ORDER BY at, id",
        )
        .bind(d.id)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(|r| {
            let st = |c: &str| -> StoreResult<DepositStatus> {
                let s: String = r.try_get(c)?;
                DepositStatus::parse(&s).ok_or_else(|| StoreError::Invalid(s))
            };
            Ok(DepositEvent {
                at: r.try_get("at")?,
                from: st("from_status")?,
                to: st("to_status")?,
                actor: r.try_get("actor")?,
                method: r.try_get("method")?,
                note: r.try_get("note")?,
            })
        })
        .collect::<StoreResult<Vec<_>>>()?;
        Ok(Some((d, events)))
    }

    /// Deposits of visits in [from, to), newest first.
    pub async fn deposit_ledger(
        &self,
        practice_id: i64,
        from: i64,
        to: i64,
    ) -> StoreResult<Vec<LedgerRow>> {
        sqlx::query(
            "SELECT d.id, d.appointment_id, d.amount_cents, d.status, d.method, d.payment_ref, d.created_at, d.updated_at, \
             a.starts_at, a.status AS appointment_status, a.clinician_id, t.name AS type_name, \
             (SELECT e.actor FROM deposit_events e WHERE e.deposit_id = d.id ORDER BY e.at DESC, e.id DESC LIMIT 1) AS last_actor \
             FROM deposits d JOIN appointments a ON a.id = d.appointment_id JOIN appointment_types t ON t.id = a.type_id \
             WHERE d.practice_id = $1 AND a.starts_at >= $2 AND a.starts_at < $3 ORDER BY a.starts_at DESC",
        )
        .bind(practice_id)
        .bind(from)
        .bind(to)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(|r| {
            Ok(LedgerRow {
                deposit: read_deposit(r)?,
                appointment_starts_at: r.try_get("starts_at")?,
                appointment_status: r.try_get("appointment_status")?,
                clinician_id: r.try_get("clinician_id")?,
                type_name: r.try_get("type_name")?,
                last_actor: r.try_get::<Option<String>, _>("last_actor")?.unwrap_or_default(),
            })
        })
        .collect()
    }

    /// Checks every booking that needed a deposit against the ledger: those marked so when booked,
    /// and (while the policy is on) every booking since it started of a type that takes one, so a
    /// booking that slipped past the rule is listed rather than trusted.
    pub async fn deposit_consistency(
        &self,
        practice_id: i64,
        now: i64,
    ) -> StoreResult<Consistency> {
        let s = self.booking_settings(practice_id).await?;
        let Some(started) = s.deposit_started_at else {
            return Ok(Consistency {
                qualifying: 0,
                requested: 0,
                missing: Vec::new(),
                waived: Vec::new(),
                unsettled: 0,
                by_status: Vec::new(),
            });
        };
        let rows = sqlx::query(
            "SELECT a.id, a.starts_at, a.created_at, t.name AS type_name, d.id AS deposit_id, d.status AS deposit_status, \
             (SELECT e.actor FROM deposit_events e WHERE e.deposit_id = d.id AND e.to_status = 'waived' LIMIT 1) AS waived_by, \
             (SELECT e.note FROM deposit_events e WHERE e.deposit_id = d.id AND e.to_status = 'waived' LIMIT 1) AS waived_note, \
             d.amount_cents \
             FROM appointments a JOIN appointment_types t ON t.id = a.type_id \
             LEFT JOIN deposits d ON d.appointment_id = a.id \
             WHERE a.practice_id = $1 AND (a.deposit_required = 1 OR d.id IS NOT NULL \
             OR ($3 = 1 AND a.created_at >= $2 AND t.deposit_applies = 1)) ORDER BY a.starts_at",
        )
        .bind(practice_id)
        .bind(started)
        .bind(i64::from(s.deposit_enabled && s.policy.amount_cents > 0))
        .fetch_all(self.pool())
        .await?;
        let mut c = Consistency {
            qualifying: 0,
            requested: 0,
            missing: Vec::new(),
            waived: Vec::new(),
            unsettled: 0,
            by_status: Vec::new(),
        };
        for r in &rows {
            c.qualifying += 1;
            let exception = |waived_by: String, note: String| -> StoreResult<Exception> {
                Ok(Exception {
                    appointment_id: r.try_get("id")?,
                    starts_at: r.try_get("starts_at")?,
                    booked_at: r.try_get("created_at")?,
                    type_name: r.try_get("type_name")?,
                    waived_by,
                    note,
                })
            };
            let Some(status) = r.try_get::<Option<String>, _>("deposit_status")? else {
                c.missing.push(exception(String::new(), String::new())?);
                continue;
            };
            c.requested += 1;
            let status = DepositStatus::parse(&status).ok_or(StoreError::Invalid(status))?;
            let amount: i64 = r.try_get::<Option<i64>, _>("amount_cents")?.unwrap_or(0);
            match c.by_status.iter_mut().find(|(st, _, _)| *st == status) {
                Some(e) => {
                    e.1 += 1;
                    e.2 += amount;
                }
                None => c.by_status.push((status, 1, amount)),
            }
            if status == DepositStatus::Waived {
                c.waived.push(exception(
                    r.try_get::<Option<String>, _>("waived_by")?
                        .unwrap_or_default(),
                    r.try_get::<Option<String>, _>("waived_note")?
                        .unwrap_or_default(),
                )?);
            }
            if status == DepositStatus::Pending && r.try_get::<i64, _>("starts_at")? < now {
                c.unsettled += 1;
            }
        }
        c.by_status
            .sort_by_key(|(st, _, _)| DepositStatus::ALL.iter().position(|x| x == st));
        Ok(c)
    }

    /// The practice's Stripe keys, when both are set.
    pub async fn stripe_keys(&self, practice_id: i64) -> StoreResult<Option<StripeKeys>> {
        let Some(r) = sqlx::query(
            "SELECT stripe_secret_enc, stripe_webhook_enc FROM booking_settings WHERE practice_id = $1",
        )
        .bind(practice_id)
        .fetch_optional(self.pool())
        .await?
        else {
            return Ok(None);
        };
        let k = self.keys();
        let secret = k.decrypt_opt(
            crate::opt_bytes(&r, "stripe_secret_enc")?.as_deref(),
            &stripe_aad("stripe_secret", practice_id),
        )?;
        let webhook = k.decrypt_opt(
            crate::opt_bytes(&r, "stripe_webhook_enc")?.as_deref(),
            &stripe_aad("stripe_webhook", practice_id),
        )?;
        Ok(match (secret, webhook) {
            (Some(secret), Some(webhook_secret)) => Some(StripeKeys {
                secret,
                webhook_secret,
            }),
            _ => None,
        })
    }

    /// Sets (Some), clears (Some("")) or keeps (None) each of the practice's Stripe keys.
    pub async fn set_stripe_keys(
        &self,
        practice_id: i64,
        secret: Option<&str>,
        webhook_secret: Option<&str>,
        actor: &Actor,
    ) -> StoreResult<()> {
        if let Some(s) = secret.map(str::trim).filter(|s| !s.is_empty())
            && !(s.starts_with("sk_") || s.starts_with("rk_"))
        {
            return Err(StoreError::Invalid(
                "the Stripe secret key starts with sk_ (or rk_ for a restricted key)".into(),
            ));
        }
        if let Some(s) = webhook_secret.map(str::trim).filter(|s| !s.is_empty())
            && !s.starts_with("whsec_")
        {
            return Err(StoreError::Invalid(
                "the webhook signing secret starts with whsec_".into(),
            ));
        }
        let k = self.keys();
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO booking_settings (practice_id, updated_at) VALUES ($1, $2) ON CONFLICT (practice_id) DO NOTHING",
        )
        .bind(practice_id)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        for (col, value) in [
            ("stripe_secret", secret),
            ("stripe_webhook", webhook_secret),
        ] {
            let Some(v) = value.map(str::trim) else {
                continue;
            };
            let sealed = (!v.is_empty()).then(|| k.encrypt_str(v, &stripe_aad(col, practice_id)));
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "UPDATE booking_settings SET {col}_enc = $2 WHERE practice_id = $1"
            )))
            .bind(practice_id)
            .bind(sealed)
            .execute(&mut *tx)
            .await?;
        }
        audit::record(
            &mut *tx,
            Some(practice_id),
            actor,
            "update",
            "stripe_keys",
            None,
            "",
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Remembers the Checkout Session made for a pending deposit.
    pub async fn start_checkout(
        &self,
        practice_id: i64,
        deposit_id: i64,
        session_id: &str,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE deposits SET checkout_session = $3 WHERE id = $1 AND practice_id = $2 AND status = 'pending'",
        )
        .bind(deposit_id)
        .bind(practice_id)
        .bind(session_id.to_string())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The deposit a Checkout Session was made for: (practice, deposit).
    pub async fn deposit_by_checkout(
        &self,
        session_id: &str,
    ) -> StoreResult<Option<(i64, Deposit)>> {
        let Some(r) = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT practice_id, {DEP_COLS} FROM deposits WHERE checkout_session = $1"
        )))
        .bind(session_id.to_string())
        .fetch_optional(self.pool())
        .await?
        else {
            return Ok(None);
        };
        Ok(Some((r.try_get("practice_id")?, read_deposit(&r)?)))
    }

    /// A paid Checkout Session: the deposit is collected, once per Stripe event.
    pub async fn record_online_payment(
        &self,
        practice_id: i64,
        deposit_id: i64,
        payment_ref: &str,
        event_id: &str,
    ) -> StoreResult<bool> {
        // The reference first, so a refund can always find the payment once it counts as collected.
        sqlx::query(
            "UPDATE deposits SET payment_ref = $3 WHERE id = $1 AND practice_id = $2 AND status = 'pending'",
        )
        .bind(deposit_id)
        .bind(practice_id)
        .bind(payment_ref.to_string())
        .execute(self.pool())
        .await?;
        let moved = self
            .move_deposit(
                practice_id,
                deposit_id,
                DepositStatus::Collected,
                "stripe",
                &format!("paid online ({payment_ref})"),
                Some(event_id),
                None,
                &Actor::system("Stripe"),
            )
            .await?;
        Ok(moved)
    }

    /// For the refund job: the deposit and the practice's Stripe key.
    pub async fn deposit_for_refund(
        &self,
        practice_id: i64,
        deposit_id: i64,
    ) -> StoreResult<(Deposit, Option<StripeKeys>)> {
        let r = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {DEP_COLS} FROM deposits WHERE id = $1 AND practice_id = $2"
        )))
        .bind(deposit_id)
        .bind(practice_id)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        Ok((read_deposit(&r)?, self.stripe_keys(practice_id).await?))
    }

    /// Re-seals the practices' Stripe keys under the keyring's current key.
    pub(crate) async fn reencrypt_stripe_keys(&self) -> StoreResult<u64> {
        let mut n = 0;
        for col in ["stripe_secret", "stripe_webhook"] {
            n += self
                .reencrypt_column(
                    "booking_settings",
                    "practice_id",
                    &format!("{col}_enc"),
                    |p| stripe_aad(col, p),
                )
                .await?;
        }
        Ok(n)
    }
}
