//! Drop-off risk and outreach, and how many plans of care the practice sees through.
//!
//! The daily risk list reads every active plan with its visits and home-program opens and asks
//! `stride_core::care::risk` why the patient may drift away. Staff act on it (a text from a
//! template, an email, a call, or a task with a due day) and record how it turned out; the action
//! and outcome are kept per plan so the report can show completion before and after outreach began.
//!
//! Completion counts closed plans by the day they closed; revenue lost is the prescribed visits a
//! dropped plan never attended, times the visit's value: the payer's average reimbursement, or for
//! self-pay (and payers without one) the cash price of the visit type the plan used most.

use std::collections::HashMap;

use jiff::civil::Date;
use serde::Serialize;
use sqlx::Row;
use stride_core::care::{self, Completion, Outcome, PlanStatus, RiskReason, VisitCount};
use stride_core::deposits::Attendance;

use crate::audit::{self, Actor};
use crate::error::{StoreError, StoreResult};
use crate::messages::{Channel, NewMessage};
use crate::plans::{CarePlan, PlanVisit};
use crate::{Store, now_ms};

/// What staff can do for a patient at risk.
pub const ACTIONS: &[(&str, &str)] = &[
    ("text", "Text from a template"),
    ("email", "Email from a template"),
    ("call", "Phone call"),
    ("task", "Task for later"),
];

/// How an outreach turned out.
pub const OUTCOMES: &[(&str, &str)] = &[
    ("rebooked", "Rebooked"),
    ("reached", "Reached, not booked yet"),
    ("no_answer", "No answer"),
    ("declined", "Declined to continue"),
    ("dropped", "Dropped the plan"),
];

/// Outreach messages: (key, label, text). `{first}`, `{practice}`, `{left}` and `{link}` are
/// filled in; the text carries no clinical detail, since texts are not a private channel.
pub const TEMPLATES: &[(&str, &str, &str)] = &[
    (
        "missed",
        "Missed visit",
        "Hi {first}, we missed you at {practice}. You have {left} left in your plan; pick a new time here: {link}",
    ),
    (
        "next_visit",
        "Book the next visit",
        "Hi {first}, it's {practice}. You have {left} left in your plan; book your next one so your progress holds: {link}",
    ),
    (
        "feeling_better",
        "Feeling better",
        "Hi {first}, great to hear you're feeling better! The last {left} lock in the gains and prevent flare-ups. We can space them out: {link}",
    ),
    (
        "check_in",
        "Check in",
        "Hi {first}, it's {practice}, checking in on how you're doing. Reply here or book your next visit: {link}",
    ),
];

/// The template that fits the reasons best: a missed visit first, then "feeling better" (the
/// patient needs to hear why the last visits matter), then a visit to book.
pub fn template_for(reasons: &[RiskReason]) -> &'static str {
    if reasons.contains(&RiskReason::LastVisitMissed) {
        "missed"
    } else if reasons.contains(&RiskReason::FeelingBetter) {
        "feeling_better"
    } else if reasons.iter().any(|r| {
        matches!(
            r,
            RiskReason::NoNextVisitBooked | RiskReason::GapTooLong { .. }
        )
    }) {
        "next_visit"
    } else {
        "check_in"
    }
}

/// Fills in a template. `left` is the visits left in the plan.
pub fn fill(template: &str, first: &str, practice: &str, left: u32, link: &str) -> Option<String> {
    let text = TEMPLATES.iter().find(|(k, _, _)| *k == template)?.2;
    let left = if left == 1 {
        "1 visit".to_string()
    } else {
        format!("{left} visits")
    };
    Some(
        text.replace("{first}", first)
            .replace("{practice}", practice)
            .replace("{left}", &left)
            .replace("{link}", link),
    )
}

#[derive(Debug, Clone, Serialize)]
pub struct Outreach {
    pub id: i64,
    pub plan_id: i64,
    pub reasons: String,
    pub action: String,
    pub template: String,
    pub due_on: Option<String>,
    pub created_by: String,
    pub created_at: i64,
    pub outcome: Option<String>,
    pub outcome_at: Option<i64>,
}

/// One patient on the daily list.
#[derive(Debug, Clone)]
pub struct AtRisk {
    pub plan: CarePlan,
    pub reasons: Vec<RiskReason>,
    pub score: u32,
    pub count: VisitCount,
    pub last_outreach: Option<Outreach>,
}

/// A row of the completion report.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CompletionRow {
    pub key: String,
    pub label: String,
    pub completion: Completion,
    pub visits_lost: u32,
    pub revenue_lost_cents: i64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct CompletionReport {
    pub practice: CompletionRow,
    pub by_clinician: Vec<CompletionRow>,
    pub by_payer: Vec<CompletionRow>,
    /// Plans closed per month ("2026-03"), for the trend chart.
    pub by_month: Vec<CompletionRow>,
    /// Revenue lost per clinician per calendar year: key "2026", label the clinician.
    pub lost_by_clinician_year: Vec<CompletionRow>,
    /// The day the practice recorded its first outreach, drawn on the chart.
    pub outreach_started: Option<String>,
    /// Plans still open (active or on hold), for context.
    pub open_plans: u32,
}

const OUTREACH_COLS: &str =
    "id, plan_id, reasons, action, template, due_on, created_by, created_at, outcome, outcome_at";

fn read_outreach(r: &sqlx::any::AnyRow) -> StoreResult<Outreach> {
    Ok(Outreach {
        id: r.try_get("id")?,
        plan_id: r.try_get("plan_id")?,
        reasons: r.try_get("reasons")?,
        action: r.try_get("action")?,
        template: r.try_get("template")?,
        due_on: r.try_get("due_on")?,
        created_by: r.try_get("created_by")?,
        created_at: r.try_get("created_at")?,
        outcome: r.try_get("outcome")?,
        outcome_at: r.try_get("outcome_at")?,
    })
}

impl Store {
    /// Every visit of the patients with a plan in `statuses`, grouped by patient.
    async fn visits_of_plan_patients(
        &self,
        practice_id: i64,
        statuses: &str,
    ) -> StoreResult<HashMap<i64, Vec<PlanVisit>>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT patient_id, id, starts_at, status, clinician_id, type_id FROM appointments \
             WHERE practice_id = $1 AND patient_id IN \
             (SELECT patient_id FROM care_plans WHERE practice_id = $1 AND status IN {statuses}) \
             ORDER BY starts_at"
        )))
        .bind(practice_id)
        .fetch_all(self.pool())
        .await?;
        let mut out: HashMap<i64, Vec<PlanVisit>> = HashMap::new();
        for r in &rows {
            let status: String = r.try_get("status")?;
            out.entry(r.try_get("patient_id")?)
                .or_default()
                .push(PlanVisit {
                    appointment_id: r.try_get("id")?,
                    starts_at: r.try_get("starts_at")?,
                    status: Attendance::parse(&status)
                        .ok_or_else(|| StoreError::Invalid(format!("unknown status {status}")))?,
                    clinician_id: r.try_get("clinician_id")?,
                    type_id: r.try_get("type_id")?,
                });
        }
        Ok(out)
    }

    /// The daily drop-off list: active plans with a reason, highest risk first.
    pub async fn risk_list(&self, practice_id: i64, now: i64) -> StoreResult<Vec<AtRisk>> {
        let tz = self.practice_time_zone(practice_id).await?;
        let plans = self.plans_in(practice_id, &[PlanStatus::Active]).await?;
        let visits = self
            .visits_of_plan_patients(practice_id, "('active')")
            .await?;
        // The home program's last sending and opening, per patient.
        let mut sent: HashMap<i64, i64> = HashMap::new();
        for r in sqlx::query(
            "SELECT patient_id, MAX(sent_at) AS sent FROM hep_programs WHERE practice_id = $1 AND sent_at IS NOT NULL \
             GROUP BY patient_id",
        )
        .bind(practice_id)
        .fetch_all(self.pool())
        .await?
        {
            sent.insert(r.try_get("patient_id")?, r.try_get("sent")?);
        }
        let mut opened: HashMap<i64, i64> = HashMap::new();
        for r in sqlx::query(
            "SELECT p.patient_id, MAX(o.opened_at) AS opened FROM hep_opens o JOIN hep_programs p ON p.id = o.program_id \
             WHERE o.practice_id = $1 GROUP BY p.patient_id",
        )
        .bind(practice_id)
        .fetch_all(self.pool())
        .await?
        {
            opened.insert(r.try_get("patient_id")?, r.try_get("opened")?);
        }
        let mut last: HashMap<i64, Outreach> = HashMap::new();
        for r in sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {OUTREACH_COLS} FROM outreach WHERE practice_id = $1 AND plan_id IN \
             (SELECT id FROM care_plans WHERE practice_id = $1 AND status = 'active') ORDER BY id"
        )))
        .bind(practice_id)
        .fetch_all(self.pool())
        .await?
        {
            let o = read_outreach(&r)?;
            last.insert(o.plan_id, o);
        }
        let mut out = Vec::new();
        for plan in plans {
            let (from, to) = plan.window(&tz);
            let records: Vec<_> = visits
                .get(&plan.patient_id)
                .map(|v| {
                    v.iter()
                        .filter(|v| (from..to).contains(&v.starts_at))
                        .map(PlanVisit::record)
                        .collect()
                })
                .unwrap_or_default();
            let input = care::RiskInput {
                plan: plan.rule(),
                feeling_better: plan.feeling_better_at.is_some(),
                home_program_last_opened: opened.get(&plan.patient_id).copied(),
                home_program_sent_at: sent.get(&plan.patient_id).copied(),
                visits: records,
            };
            let reasons = care::risk(&input, now);
            if reasons.is_empty() {
                continue;
            }
            out.push(AtRisk {
                score: care::risk_score(&reasons),
                count: care::visit_number(&input.visits, now),
                last_outreach: last.remove(&plan.id),
                reasons,
                plan,
            });
        }
        out.sort_by(|a, b| b.score.cmp(&a.score).then(a.plan.id.cmp(&b.plan.id)));
        Ok(out)
    }

    /// Records an outreach for a plan. A text or email goes out through the outbox at once, to
    /// the patient's consented channel; a call or task is only recorded (a task with its due day).
    #[allow(clippy::too_many_arguments)]
    pub async fn record_outreach(
        &self,
        practice_id: i64,
        plan_id: i64,
        action: &str,
        template: &str,
        due_on: Option<Date>,
        base_url: &str,
        actor: &Actor,
    ) -> StoreResult<i64> {
        if !ACTIONS.iter().any(|(k, _)| *k == action) {
            return Err(StoreError::Invalid("choose what to do".into()));
        }
        let plan = self.plan(practice_id, plan_id, actor).await?;
        if plan.status.is_closed() {
            return Err(StoreError::Conflict("the plan of care is closed".into()));
        }
        let now = now_ms();
        let tz = self.practice_time_zone(practice_id).await?;
        let visits = self.plan_visits(practice_id, &plan, &tz).await?;
        let records: Vec<_> = visits.iter().map(PlanVisit::record).collect();
        let count = care::visit_number(&records, now);
        let reasons = care::risk(
            &care::RiskInput {
                plan: plan.rule(),
                visits: records,
                feeling_better: plan.feeling_better_at.is_some(),
                home_program_last_opened: None,
                home_program_sent_at: None,
            },
            now,
        );
        let mut message = None;
        if action == "text" || action == "email" {
            let patient = self.patient(practice_id, plan.patient_id, actor).await?;
            let practice = self.practice(practice_id).await?;
            let left = plan.prescribed_visits.saturating_sub(count.attended);
            let link = format!(
                "{}/p/{}/book",
                base_url.trim_end_matches('/'),
                practice.slug
            );
            let body = fill(template, &patient.first_name, &practice.name, left, &link)
                .ok_or_else(|| StoreError::Invalid("choose a message template".into()))?;
            let (channel, to) = if action == "text" {
                let phone = patient.phone.clone().filter(|_| patient.sms_consent).ok_or_else(|| {
                    StoreError::Invalid(
                        "the patient has no mobile number with consent to texts: call or email instead".into(),
                    )
                })?;
                (Channel::Sms, phone)
            } else {
                let email = patient.email.clone().filter(|_| patient.email_consent).ok_or_else(|| {
                    StoreError::Invalid(
                        "the patient has no email address with consent to email: call or text instead".into(),
                    )
                })?;
                (Channel::Email, email)
            };
            message = Some(NewMessage {
                subject: (channel == Channel::Email)
                    .then(|| format!("Your plan at {}", practice.name)),
                body: if channel == Channel::Sms {
                    format!("{body} Reply STOP to opt out.")
                } else {
                    body
                },
                channel,
                to,
                purpose: "outreach".into(),
                idempotency_key: None,
            });
        }
        if action == "task" && due_on.is_none() {
            return Err(StoreError::Invalid("give the task a due day".into()));
        }
        if let Some(m) = &message {
            self.queue_message(practice_id, m).await?;
        }
        let reasons_text = reasons
            .iter()
            .map(RiskReason::as_str)
            .collect::<Vec<_>>()
            .join(",");
        let mut tx = self.begin().await?;
        let id: i64 = sqlx::query(
            "INSERT INTO outreach (practice_id, plan_id, reasons, action, template, due_on, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(practice_id)
        .bind(plan_id)
        .bind(reasons_text)
        .bind(action.to_string())
        .bind(if message.is_some() { template.to_string() } else { String::new() })
        .bind(due_on.map(|d| d.to_string()))
        .bind(actor.label.clone())
        .bind(now)
        .fetch_one(&mut *tx)
        .await?
        .try_get("id")?;
        audit::record(
            &mut *tx,
            Some(practice_id),
            actor,
            "create",
            "outreach",
            Some(id),
            action,
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Records how an outreach turned out. "Dropped" also closes the plan as dropped, today.
    pub async fn set_outreach_outcome(
        &self,
        practice_id: i64,
        outreach_id: i64,
        outcome: &str,
        actor: &Actor,
    ) -> StoreResult<()> {
        if !OUTCOMES.iter().any(|(k, _)| *k == outcome) {
            return Err(StoreError::Invalid("choose how it turned out".into()));
        }
        let now = now_ms();
        let mut tx = self.begin().await?;
        let plan_id: i64 = sqlx::query(
            "UPDATE outreach SET outcome = $3, outcome_by = $4, outcome_at = $5 WHERE id = $1 AND practice_id = $2 \
             RETURNING plan_id",
        )
        .bind(outreach_id)
        .bind(practice_id)
        .bind(outcome.to_string())
        .bind(actor.label.clone())
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?
        .try_get("plan_id")?;
        audit::record(
            &mut *tx,
            Some(practice_id),
            actor,
            "outcome",
            "outreach",
            Some(outreach_id),
            outcome,
        )
        .await?;
        tx.commit().await?;
        if outcome == "dropped" {
            let tz = self.practice_time_zone(practice_id).await?;
            let today = jiff::Timestamp::from_millisecond(now)
                .map_err(|e| StoreError::Invalid(e.to_string()))?
                .to_zoned_datetime(tz)
                .date();
            match self
                .close_plan(
                    practice_id,
                    plan_id,
                    &crate::plans::Discharge {
                        status: PlanStatus::Dropped,
                        closed_on: today,
                        summary: String::new(),
                        membership_offered: false,
                        membership_taken: false,
                    },
                    actor,
                )
                .await
            {
                Ok(()) | Err(StoreError::Conflict(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// A plan's outreach, newest first.
    pub async fn plan_outreach(
        &self,
        practice_id: i64,
        plan_id: i64,
    ) -> StoreResult<Vec<Outreach>> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {OUTREACH_COLS} FROM outreach WHERE practice_id = $1 AND plan_id = $2 ORDER BY id DESC"
        )))
        .bind(practice_id)
        .bind(plan_id)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(read_outreach)
        .collect()
    }

    /// Completion and drop-off of the plans closed from `from` to `to` (inclusive), overall and
    /// per clinician, payer and month, with the visits and revenue lost to drop-offs.
    pub async fn completion_report(
        &self,
        practice_id: i64,
        from: Date,
        to: Date,
    ) -> StoreResult<CompletionReport> {
        let tz = self.practice_time_zone(practice_id).await?;
        let all = self.plans_in(practice_id, &[]).await?;
        let visits = self
            .visits_of_plan_patients(practice_id, "('completed', 'dropped', 'discharged')")
            .await?;
        let clinicians: HashMap<i64, String> = self
            .clinicians(practice_id)
            .await?
            .into_iter()
            .map(|c| (c.id, c.name))
            .collect();
        let payers: HashMap<i64, (String, Option<i64>)> = self
            .payers(practice_id)
            .await?
            .into_iter()
            .map(|p| (p.id, (p.name, p.avg_reimbursement_cents)))
            .collect();
        let prices: HashMap<i64, i64> = self
            .appointment_types(practice_id)
            .await?
            .into_iter()
            .map(|t| (t.id, t.cash_price_cents))
            .collect();
        let mut coverage: HashMap<i64, (Option<i64>, bool)> = HashMap::new();
        for r in sqlx::query("SELECT id, payer_id, self_pay FROM patients WHERE practice_id = $1")
            .bind(practice_id)
            .fetch_all(self.pool())
            .await?
        {
            coverage.insert(
                r.try_get("id")?,
                (
                    r.try_get("payer_id")?,
                    r.try_get::<i64, _>("self_pay")? != 0,
                ),
            );
        }
        let mut report = CompletionReport {
            open_plans: all.iter().filter(|p| !p.status.is_closed()).count() as u32,
            outreach_started: sqlx::query(
                "SELECT MIN(created_at) AS at FROM outreach WHERE practice_id = $1",
            )
            .bind(practice_id)
            .fetch_one(self.pool())
            .await?
            .try_get::<Option<i64>, _>("at")?
            .and_then(|ms| jiff::Timestamp::from_millisecond(ms).ok())
            .map(|t| t.to_zoned_datetime(tz.clone()).date().to_string()),
            ..CompletionReport::default()
        };
        // (group key, label) → outcomes and lost (visits, cents)
        type Acc = HashMap<(String, String), (Vec<Outcome>, u32, i64)>;
        let mut overall: Acc = HashMap::new();
        let mut by_clinician: Acc = HashMap::new();
        let mut by_payer: Acc = HashMap::new();
        let mut by_month: Acc = HashMap::new();
        let mut by_year: Acc = HashMap::new();
        for plan in all.iter().filter(|p| p.status.is_closed()) {
            let Some(closed) = plan.closed_on.filter(|d| *d >= from && *d <= to) else {
                continue;
            };
            let (start, end) = plan.window(&tz);
            let mine: Vec<&PlanVisit> = visits
                .get(&plan.patient_id)
                .map(|v| {
                    v.iter()
                        .filter(|v| (start..end).contains(&v.starts_at))
                        .collect()
                })
                .unwrap_or_default();
            let attended = mine
                .iter()
                .filter(|v| matches!(v.status, Attendance::Completed | Attendance::CheckedIn))
                .count() as u32;
            let outcome = Outcome {
                status: plan.status,
                prescribed: plan.prescribed_visits,
                attended,
            };
            let lost = care::visits_lost(&[outcome]);
            let (payer_id, self_pay) = coverage
                .get(&plan.patient_id)
                .copied()
                .unwrap_or((None, false));
            let payer = payer_id.and_then(|id| payers.get(&id));
            // The type the plan used most, for its cash price.
            let mut used: HashMap<i64, u32> = HashMap::new();
            for v in &mine {
                *used.entry(v.type_id).or_default() += 1;
            }
            let cash = used
                .iter()
                .max_by_key(|(id, n)| (**n, -**id))
                .and_then(|(id, _)| prices.get(id).copied())
                .unwrap_or(0);
            let value = payer
                .and_then(|(_, avg)| *avg)
                .filter(|_| !self_pay)
                .unwrap_or(cash);
            let cents = i64::from(lost) * value;
            let clinician = plan
                .clinician_id
                .or_else(|| mine.last().map(|v| v.clinician_id));
            let clinician_label = clinician
                .and_then(|c| clinicians.get(&c).cloned())
                .unwrap_or_else(|| "No clinician".into());
            let payer_key = match (self_pay, payer_id) {
                (true, _) => ("self".to_string(), "Self-pay".to_string()),
                (false, Some(id)) => (
                    id.to_string(),
                    payer.map_or_else(|| "Unknown payer".into(), |p| p.0.clone()),
                ),
                (false, None) => ("none".to_string(), "Not recorded".to_string()),
            };
            let add = |acc: &mut Acc, key: (String, String)| {
                let e = acc.entry(key).or_default();
                e.0.push(outcome);
                e.1 += lost;
                e.2 += cents;
            };
            add(&mut overall, ("all".into(), "Practice".into()));
            add(
                &mut by_clinician,
                (
                    clinician.map_or("none".into(), |c| c.to_string()),
                    clinician_label.clone(),
                ),
            );
            add(&mut by_payer, payer_key);
            add(
                &mut by_month,
                (
                    format!("{:04}-{:02}", closed.year(), closed.month()),
                    String::new(),
                ),
            );
            add(&mut by_year, (closed.year().to_string(), clinician_label));
        }
        let rows = |acc: Acc| -> Vec<CompletionRow> {
            let mut v: Vec<CompletionRow> = acc
                .into_iter()
                .map(|((key, label), (outcomes, lost, cents))| CompletionRow {
                    label: if label.is_empty() { key.clone() } else { label },
                    key,
                    completion: care::completion(&outcomes),
                    visits_lost: lost,
                    revenue_lost_cents: cents,
                })
                .collect();
            v.sort_by(|a, b| a.key.cmp(&b.key).then(a.label.cmp(&b.label)));
            v
        };
        report.practice = rows(overall).pop().unwrap_or(CompletionRow {
            key: "all".into(),
            label: "Practice".into(),
            ..CompletionRow::default()
        });
        report.by_clinician = rows(by_clinician);
        report.by_clinician.sort_by(|a, b| a.label.cmp(&b.label));
        report.by_payer = rows(by_payer);
        report.by_payer.sort_by(|a, b| {
            b.completion
                .closed
                .cmp(&a.completion.closed)
                .then(a.label.cmp(&b.label))
        });
        report.by_month = rows(by_month);
        report.lost_by_clinician_year = rows(by_year);
        Ok(report)
    }
}

/// An outreach as it happened, for imports and the demo.
#[derive(Debug, Clone)]
pub struct PastOutreach {
    pub action: &'static str,
    pub template: &'static str,
    pub reasons: String,
    pub created_by: String,
    pub created_at: i64,
    pub outcome: Option<(&'static str, i64)>,
}

impl Store {
    /// Records outreach that already happened, with its own times (imports and the demo).
    pub async fn import_outreach(
        &self,
        practice_id: i64,
        plan_id: i64,
        o: &PastOutreach,
        actor: &Actor,
    ) -> StoreResult<i64> {
        if !ACTIONS.iter().any(|(k, _)| *k == o.action)
            || o.outcome
                .is_some_and(|(k, _)| !OUTCOMES.iter().any(|(x, _)| *x == k))
        {
            return Err(StoreError::Invalid(
                "unknown outreach action or outcome".into(),
            ));
        }
        let mut tx = self.begin().await?;
        let id: i64 = sqlx::query(
            "INSERT INTO outreach (practice_id, plan_id, reasons, action, template, created_by, created_at, \
             outcome, outcome_by, outcome_at) SELECT $1, id, $3, $4, $5, $6, $7, $8, $9, $10 FROM care_plans \
             WHERE id = $2 AND practice_id = $1 RETURNING id",
        )
        .bind(practice_id)
        .bind(plan_id)
        .bind(o.reasons.clone())
        .bind(o.action)
        .bind(o.template)
        .bind(o.created_by.clone())
        .bind(o.created_at)
        .bind(o.outcome.map(|(k, _)| k))
        .bind(o.outcome.map(|_| o.created_by.clone()))
        .bind(o.outcome.map(|(_, at)| at))
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?
        .try_get("id")?;
        audit::record(
            &mut *tx,
            Some(practice_id),
            actor,
            "import",
            "outreach",
            Some(id),
            o.action,
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }
}
