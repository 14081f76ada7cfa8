//! Plans of care and their goals, and the visit notes written under them.
//!
//! A plan covers the patient's visits from its first day to the day it closed (or on, while it is
//! open); visit X of Y is counted from those appointments by `stride_core::care`, never typed. A
//! patient has at most one open plan (active or on hold), and a new plan starts after the last one
//! closed, so every visit belongs to at most one plan.
//!
//! A visit note is one per appointment. Its text (subjective, objective, assessment, plan) is
//! sealed; its body regions, goals addressed and CPT lines stay readable for the audit and reports.
//! Signing stamps who and when and a SHA-256 fingerprint of the text, and from then on the note is locked:
//! the store refuses edits and database triggers refuse unsigning or changing what was billed.
//! Later changes are addenda, appended and never edited.

use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;
use stride_core::billing::{self, Line};
use stride_core::care::{self, PlanStatus, VisitRecord};
use stride_core::deposits::Attendance;

use crate::audit::{self, Actor};
use crate::error::{StoreError, StoreResult};
use crate::{Store, now_ms, opt_bytes};

const DAY_MS: i64 = 86_400_000;

/// What a clinician enters for a plan of care.
#[derive(Debug, Clone)]
pub struct PlanInput {
    pub clinician_id: Option<i64>,
    pub condition: String,
    /// Already normalized by `care::parse_icd10`.
    pub icd10: Option<String>,
    pub areas: Vec<&'static str>,
    pub prescribed_visits: u32,
    pub visits_per_week: u32,
    pub starts_on: Date,
    pub certified_on: Option<Date>,
    pub certified_until: Option<Date>,
}

#[derive(Debug, Clone)]
pub struct CarePlan {
    pub id: i64,
    pub patient_id: i64,
    pub clinician_id: Option<i64>,
    pub condition: String,
    pub icd10: Option<String>,
    pub areas: Vec<String>,
    pub prescribed_visits: u32,
    pub visits_per_week: u32,
    pub starts_on: Date,
    pub certified_on: Option<Date>,
    pub certified_until: Option<Date>,
    pub status: PlanStatus,
    pub feeling_better_at: Option<i64>,
    pub flexible_from: Option<Date>,
    pub closed_on: Option<Date>,
    pub summary: Option<String>,
    pub membership_offered: bool,
    pub membership_taken: bool,
    pub created_at: i64,
}

impl CarePlan {
    /// The plan as the core rules see it.
    pub fn rule(&self) -> care::Plan {
        care::Plan {
            prescribed_visits: self.prescribed_visits,
            visits_per_week: self.visits_per_week,
            starts_on: self.starts_on,
            certified_until: self.certified_until,
            status: self.status,
        }
    }

    /// The visits it covers: from its first day to the end of the day it closed, in `tz`.
    pub fn window(&self, tz: &TimeZone) -> (i64, i64) {
        let start = day_start(self.starts_on, tz);
        let end = self
            .closed_on
            .map_or(i64::MAX, |d| day_start(d, tz) + DAY_MS);
        (start, end)
    }
}

#[derive(Debug, Clone)]
pub struct Goal {
    pub id: i64,
    pub plan_id: i64,
    pub text: String,
    pub target: String,
    pub due_on: Option<Date>,
    pub progress: u32,
}

/// One of the plan's appointments, for counting visits.
#[derive(Debug, Clone, Serialize)]
pub struct PlanVisit {
    pub appointment_id: i64,
    pub starts_at: i64,
    pub status: Attendance,
    pub clinician_id: i64,
    pub type_id: i64,
}

impl PlanVisit {
    pub fn record(&self) -> VisitRecord {
        VisitRecord {
            starts_at: self.starts_at,
            status: self.status,
        }
    }
}

/// How a plan closes.
#[derive(Debug, Clone)]
pub struct Discharge {
    /// Completed, discharged or dropped.
    pub status: PlanStatus,
    pub closed_on: Date,
    pub summary: String,
    pub membership_offered: bool,
    pub membership_taken: bool,
}

/// The subjective, objective, assessment and plan of a visit note: sealed as one JSON document.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Soap {
    pub subjective: String,
    pub objective: String,
    pub assessment: String,
    pub plan: String,
}

impl Soap {
    pub fn is_empty(&self) -> bool {
        [
            &self.subjective,
            &self.objective,
            &self.assessment,
            &self.plan,
        ]
        .iter()
        .all(|s| s.trim().is_empty())
    }
}

/// A goal the visit worked on, and its progress as judged at this visit.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct GoalAddressed {
    pub goal: i64,
    pub progress: u32,
}

/// One intervention: a CPT code, the minutes documented, and the units the 8-minute rule gives.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct NoteLine {
    pub code: String,
    pub minutes: u32,
    pub units: u32,
}

#[derive(Debug, Clone, Default)]
pub struct NoteInput {
    pub soap: Soap,
    pub areas: Vec<&'static str>,
    pub goals: Vec<GoalAddressed>,
    pub lines: Vec<Line>,
    pub feeling_better: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Addendum {
    pub author: String,
    pub text: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct VisitNote {
    pub id: i64,
    pub appointment_id: i64,
    pub plan_id: Option<i64>,
    pub author: String,
    pub soap: Soap,
    pub areas: Vec<String>,
    pub goals: Vec<GoalAddressed>,
    pub lines: Vec<NoteLine>,
    pub feeling_better: bool,
    pub signed_at: Option<i64>,
    pub signed_by: Option<String>,
    /// Whether the signed text still matches the digest taken when it was signed.
    pub intact: bool,
    pub addenda: Vec<Addendum>,
    pub updated_at: i64,
}

fn plan_aad(column: &str, practice_id: i64) -> Vec<u8> {
    format!("care_plans.{column}:{practice_id}").into_bytes()
}

fn goal_aad(column: &str, practice_id: i64) -> Vec<u8> {
    format!("care_goals.{column}:{practice_id}").into_bytes()
}

fn note_aad(practice_id: i64) -> Vec<u8> {
    format!("visit_notes.body:{practice_id}").into_bytes()
}

fn addendum_aad(practice_id: i64) -> Vec<u8> {
    format!("note_addenda.body:{practice_id}").into_bytes()
}

/// Midnight of `d` in `tz`, in Unix milliseconds.
pub fn day_start(d: Date, tz: &TimeZone) -> i64 {
    d.to_zoned_datetime(tz.clone())
        .map(|z| z.timestamp().as_millisecond())
        .unwrap_or(0)
}

fn parse_date(s: Option<String>) -> StoreResult<Option<Date>> {
    s.filter(|s| !s.is_empty())
        .map(|s| {
            s.parse()
                .map_err(|_| StoreError::Invalid(format!("bad date {s}")))
        })
        .transpose()
}

fn split_areas(s: &str) -> Vec<String> {
    s.split(',')
        .filter(|a| !a.is_empty())
        .map(str::to_string)
        .collect()
}

const PLAN_COLS: &str = "id, practice_id, patient_id, clinician_id, condition_enc, icd10_enc, areas, \
    prescribed_visits, visits_per_week, starts_on, certified_on, certified_until, status, feeling_better_at, \
    flexible_from, closed_on, summary_enc, membership_offered, membership_taken, created_at";

const OPEN: &str = "('active', 'on_hold')";

impl Store {
    fn read_plan(&self, r: &AnyRow) -> StoreResult<CarePlan> {
        let k = self.keys();
        let practice_id: i64 = r.try_get("practice_id")?;
        let status: String = r.try_get("status")?;
        let condition: Vec<u8> = r.try_get("condition_enc")?;
        Ok(CarePlan {
            id: r.try_get("id")?,
            patient_id: r.try_get("patient_id")?,
            clinician_id: r.try_get("clinician_id")?,
            condition: k.decrypt_string(&condition, &plan_aad("condition", practice_id))?,
            icd10: k.decrypt_opt(
                opt_bytes(r, "icd10_enc")?.as_deref(),
                &plan_aad("icd10", practice_id),
            )?,
            areas: split_areas(&r.try_get::<String, _>("areas")?),
            prescribed_visits: r.try_get::<i64, _>("prescribed_visits")? as u32,
            visits_per_week: r.try_get::<i64, _>("visits_per_week")? as u32,
            starts_on: parse_date(r.try_get("starts_on")?)?
                .ok_or_else(|| StoreError::Invalid("plan without a start".into()))?,
            certified_on: parse_date(r.try_get("certified_on")?)?,
            certified_until: parse_date(r.try_get("certified_until")?)?,
            status: PlanStatus::parse(&status)
                .ok_or_else(|| StoreError::Invalid(format!("unknown plan status {status}")))?,
            feeling_better_at: r.try_get("feeling_better_at")?,
            flexible_from: parse_date(r.try_get("flexible_from")?)?,
            closed_on: parse_date(r.try_get("closed_on")?)?,
            summary: k.decrypt_opt(
                opt_bytes(r, "summary_enc")?.as_deref(),
                &plan_aad("summary", practice_id),
            )?,
            membership_offered: r.try_get::<i64, _>("membership_offered")? != 0,
            membership_taken: r.try_get::<i64, _>("membership_taken")? != 0,
            created_at: r.try_get("created_at")?,
        })
    }

    fn check_plan(input: &PlanInput) -> StoreResult<()> {
        let condition = input.condition.trim();
        if condition.is_empty() {
            return Err(StoreError::Invalid(
                "name the condition the plan treats".into(),
            ));
        }
        if condition.chars().count() > 200 {
            return Err(StoreError::Invalid(
                "the condition is longer than 200 characters".into(),
            ));
        }
        if !(1..=100).contains(&input.prescribed_visits) {
            return Err(StoreError::Invalid(
                "prescribe between 1 and 100 visits".into(),
            ));
        }
        if !(1..=7).contains(&input.visits_per_week) {
            return Err(StoreError::Invalid(
                "the frequency is 1 to 7 visits a week".into(),
            ));
        }
        if let (Some(from), Some(until)) = (input.certified_on, input.certified_until)
            && until < from
        {
            return Err(StoreError::Invalid(
                "the certification ends before it was signed".into(),
            ));
        }
        if input.certified_until.is_some_and(|u| u < input.starts_on) {
            return Err(StoreError::Invalid(
                "the certification ends before the plan starts".into(),
            ));
        }
        Ok(())
    }

    /// Starts a plan of care. Refused while the patient has another open plan, or when it would
    /// start on or before the day their last plan closed.
    pub async fn create_plan(
        &self,
        practice_id: i64,
        patient_id: i64,
        input: &PlanInput,
        actor: &Actor,
    ) -> StoreResult<i64> {
        Self::check_plan(input)?;
        let k = self.keys();
        let mut tx = self.begin().await?;
        sqlx::query("SELECT id FROM patients WHERE id = $1 AND practice_id = $2")
            .bind(patient_id)
            .bind(practice_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?;
        let open = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT id FROM care_plans WHERE patient_id = $1 AND status IN {OPEN}"
        )))
        .bind(patient_id)
        .fetch_optional(&mut *tx)
        .await?;
        if open.is_some() {
            return Err(StoreError::Conflict(
                "the patient already has an open plan of care: discharge it first".into(),
            ));
        }
        let last_closed: Option<String> =
            sqlx::query("SELECT MAX(closed_on) AS d FROM care_plans WHERE patient_id = $1")
                .bind(patient_id)
                .fetch_one(&mut *tx)
                .await?
                .try_get("d")?;
        if let Some(last) = parse_date(last_closed)?
            && input.starts_on <= last
        {
            return Err(StoreError::Conflict(format!(
                "the patient's last plan closed on {last}: a new plan starts after that"
            )));
        }
        self.check_clinician(&mut tx, practice_id, input.clinician_id)
            .await?;
        let now = now_ms();
        let id: i64 = sqlx::query(
            "INSERT INTO care_plans (practice_id, patient_id, clinician_id, condition_enc, icd10_enc, areas, \
             prescribed_visits, visits_per_week, starts_on, certified_on, certified_until, status, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'active', $12, $12) RETURNING id",
        )
        .bind(practice_id)
        .bind(patient_id)
        .bind(input.clinician_id)
        .bind(k.encrypt_str(input.condition.trim(), &plan_aad("condition", practice_id)))
        .bind(k.encrypt_opt(input.icd10.as_deref(), &plan_aad("icd10", practice_id)))
        .bind(input.areas.join(","))
        .bind(i64::from(input.prescribed_visits))
        .bind(i64::from(input.visits_per_week))
        .bind(input.starts_on.to_string())
        .bind(input.certified_on.map(|d| d.to_string()))
        .bind(input.certified_until.map(|d| d.to_string()))
        .bind(now)
        .fetch_one(&mut *tx)
        .await?
        .try_get("id")?;
        audit::record(
            &mut *tx,
            Some(practice_id),
            actor,
            "create",
            "care_plan",
            Some(id),
            &format!("patient {patient_id}"),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    async fn check_clinician(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        practice_id: i64,
        clinician_id: Option<i64>,
    ) -> StoreResult<()> {
        if let Some(c) = clinician_id {
            sqlx::query("SELECT id FROM clinicians WHERE id = $1 AND practice_id = $2")
                .bind(c)
                .bind(practice_id)
                .fetch_optional(&mut **tx)
                .await?
                .ok_or_else(|| {
                    StoreError::Invalid("choose one of the practice's clinicians".into())
                })?;
        }
        Ok(())
    }

    /// Changes an open plan's clinical details (not its status).
    pub async fn update_plan(
        &self,
        practice_id: i64,
        plan_id: i64,
        input: &PlanInput,
        actor: &Actor,
    ) -> StoreResult<()> {
        Self::check_plan(input)?;
        let k = self.keys();
        let mut tx = self.begin().await?;
        self.check_clinician(&mut tx, practice_id, input.clinician_id)
            .await?;
        let done = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE care_plans SET clinician_id = $3, condition_enc = $4, icd10_enc = $5, areas = $6, \
             prescribed_visits = $7, visits_per_week = $8, starts_on = $9, certified_on = $10, certified_until = $11, \
             updated_at = $12 WHERE id = $1 AND practice_id = $2 AND status IN {OPEN}"
        )))
        .bind(plan_id)
        .bind(practice_id)
        .bind(input.clinician_id)
        .bind(k.encrypt_str(input.condition.trim(), &plan_aad("condition", practice_id)))
        .bind(k.encrypt_opt(input.icd10.as_deref(), &plan_aad("icd10", practice_id)))
        .bind(input.areas.join(","))
        .bind(i64::from(input.prescribed_visits))
        .bind(i64::from(input.visits_per_week))
        .bind(input.starts_on.to_string())
        .bind(input.certified_on.map(|d| d.to_string()))
        .bind(input.certified_until.map(|d| d.to_string()))
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict(
                "only an open plan of care can be changed".into(),
            ));
        }
        audit::record(
            &mut *tx,
            Some(practice_id),
            actor,
            "update",
            "care_plan",
            Some(plan_id),
            "",
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// One plan, with the read audited.
    pub async fn plan(
        &self,
        practice_id: i64,
        plan_id: i64,
        actor: &Actor,
    ) -> StoreResult<CarePlan> {
        let r = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {PLAN_COLS} FROM care_plans WHERE id = $1 AND practice_id = $2"
        )))
        .bind(plan_id)
        .bind(practice_id)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        let plan = self.read_plan(&r)?;
        self.audit(
            Some(practice_id),
            actor,
            "view",
            "care_plan",
            Some(plan_id),
            "",
        )
        .await?;
        Ok(plan)
    }

    /// A patient's plans, newest first (the caller audits the patient's page).
    pub async fn patient_plans(
        &self,
        practice_id: i64,
        patient_id: i64,
    ) -> StoreResult<Vec<CarePlan>> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {PLAN_COLS} FROM care_plans WHERE practice_id = $1 AND patient_id = $2 ORDER BY starts_on DESC"
        )))
        .bind(practice_id)
        .bind(patient_id)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(|r| self.read_plan(r))
        .collect()
    }

    /// Every plan of the practice in the given statuses (all when empty).
    pub async fn plans_in(
        &self,
        practice_id: i64,
        statuses: &[PlanStatus],
    ) -> StoreResult<Vec<CarePlan>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {PLAN_COLS} FROM care_plans WHERE practice_id = $1 ORDER BY id"
        )))
        .bind(practice_id)
        .fetch_all(self.pool())
        .await?;
        let mut out = Vec::new();
        for r in &rows {
            let status: String = r.try_get("status")?;
            if statuses.is_empty() || statuses.iter().any(|s| s.as_str() == status) {
                out.push(self.read_plan(r)?);
            }
        }
        Ok(out)
    }

    /// The appointments a plan covers, oldest first.
    pub async fn plan_visits(
        &self,
        practice_id: i64,
        plan: &CarePlan,
        tz: &TimeZone,
    ) -> StoreResult<Vec<PlanVisit>> {
        let (from, to) = plan.window(tz);
        sqlx::query(
            "SELECT id, starts_at, status, clinician_id, type_id FROM appointments \
             WHERE practice_id = $1 AND patient_id = $2 AND starts_at >= $3 AND starts_at < $4 ORDER BY starts_at",
        )
        .bind(practice_id)
        .bind(plan.patient_id)
        .bind(from)
        .bind(to)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(read_visit)
        .collect()
    }

    /// Puts a plan on hold or back to active.
    pub async fn set_plan_hold(
        &self,
        practice_id: i64,
        plan_id: i64,
        hold: bool,
        actor: &Actor,
    ) -> StoreResult<()> {
        let (to, from) = if hold {
            (PlanStatus::OnHold, PlanStatus::Active)
        } else {
            (PlanStatus::Active, PlanStatus::OnHold)
        };
        let mut tx = self.begin().await?;
        let done = sqlx::query(
            "UPDATE care_plans SET status = $3, updated_at = $4 WHERE id = $1 AND practice_id = $2 AND status = $5",
        )
        .bind(plan_id)
        .bind(practice_id)
        .bind(to.as_str())
        .bind(now_ms())
        .bind(from.as_str())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict(format!(
                "only an {} plan can be set {}",
                from.label().to_lowercase(),
                to.label().to_lowercase()
            )));
        }
        audit::record(
            &mut *tx,
            Some(practice_id),
            actor,
            "status",
            "care_plan",
            Some(plan_id),
            to.as_str(),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Closes an open plan: completed, discharged (with its summary and whether a maintenance
    /// membership was offered and taken) or dropped.
    pub async fn close_plan(
        &self,
        practice_id: i64,
        plan_id: i64,
        d: &Discharge,
        actor: &Actor,
    ) -> StoreResult<()> {
        if !d.status.is_closed() {
            return Err(StoreError::Invalid(
                "a plan closes as completed, discharged or dropped".into(),
            ));
        }
        if d.membership_taken && !d.membership_offered {
            return Err(StoreError::Invalid(
                "a membership can only be taken once it was offered".into(),
            ));
        }
        let summary = d.summary.trim();
        if d.status != PlanStatus::Dropped && summary.is_empty() {
            return Err(StoreError::Invalid(
                "write a discharge summary: what was achieved and what the patient does next"
                    .into(),
            ));
        }
        let k = self.keys();
        let mut tx = self.begin().await?;
        let starts_on: Option<String> = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT starts_on FROM care_plans WHERE id = $1 AND practice_id = $2 AND status IN {OPEN}"
        )))
        .bind(plan_id)
        .bind(practice_id)
        .fetch_optional(&mut *tx)
        .await?
        .map(|r| r.try_get("starts_on"))
        .transpose()?;
        let Some(starts_on) = parse_date(starts_on)? else {
            return Err(StoreError::Conflict("the plan is already closed".into()));
        };
        if d.closed_on < starts_on {
            return Err(StoreError::Invalid(format!(
                "the plan started on {starts_on}: it cannot close before that"
            )));
        }
        sqlx::query(
            "UPDATE care_plans SET status = $3, closed_on = $4, summary_enc = $5, membership_offered = $6, \
             membership_taken = $7, updated_at = $8 WHERE id = $1 AND practice_id = $2",
        )
        .bind(plan_id)
        .bind(practice_id)
        .bind(d.status.as_str())
        .bind(d.closed_on.to_string())
        .bind(k.encrypt_opt(
            Some(summary).filter(|s| !s.is_empty()),
            &plan_aad("summary", practice_id),
        ))
        .bind(i64::from(d.membership_offered))
        .bind(i64::from(d.membership_taken))
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        audit::record(
            &mut *tx,
            Some(practice_id),
            actor,
            "close",
            "care_plan",
            Some(plan_id),
            d.status.as_str(),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records (or clears) that the patient said they feel better, and the day the remaining visits
    /// were spaced out instead of stopped.
    pub async fn set_feeling_better(
        &self,
        practice_id: i64,
        plan_id: i64,
        flexible_from: Option<Date>,
        actor: &Actor,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        let done = sqlx::query(
            "UPDATE care_plans SET feeling_better_at = COALESCE(feeling_better_at, $3), flexible_from = $4, \
             updated_at = $3 WHERE id = $1 AND practice_id = $2",
        )
        .bind(plan_id)
        .bind(practice_id)
        .bind(now_ms())
        .bind(flexible_from.map(|d| d.to_string()))
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        audit::record(
            &mut *tx,
            Some(practice_id),
            actor,
            "flexible_cadence",
            "care_plan",
            Some(plan_id),
            "",
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn add_goal(
        &self,
        practice_id: i64,
        plan_id: i64,
        text: &str,
        target: &str,
        due_on: Option<Date>,
        actor: &Actor,
    ) -> StoreResult<i64> {
        let (text, target) = (text.trim(), target.trim());
        if text.is_empty() || target.is_empty() {
            return Err(StoreError::Invalid(
                "a goal needs what to achieve and a measurable target (for example: climb stairs; 2 flights without a rail)".into(),
            ));
        }
        if text.chars().count() > 300 || target.chars().count() > 200 {
            return Err(StoreError::Invalid("the goal is too long".into()));
        }
        let k = self.keys();
        let mut tx = self.begin().await?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT id FROM care_plans WHERE id = $1 AND practice_id = $2 AND status IN {OPEN}"
        )))
        .bind(plan_id)
        .bind(practice_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| StoreError::Conflict("goals are added to an open plan of care".into()))?;
        let id: i64 = sqlx::query(
            "INSERT INTO care_goals (practice_id, plan_id, text_enc, target_enc, due_on, progress, created_at) \
             VALUES ($1, $2, $3, $4, $5, 0, $6) RETURNING id",
        )
        .bind(practice_id)
        .bind(plan_id)
        .bind(k.encrypt_str(text, &goal_aad("text", practice_id)))
        .bind(k.encrypt_str(target, &goal_aad("target", practice_id)))
        .bind(due_on.map(|d| d.to_string()))
        .bind(now_ms())
        .fetch_one(&mut *tx)
        .await?
        .try_get("id")?;
        audit::record(
            &mut *tx,
            Some(practice_id),
            actor,
            "create",
            "care_goal",
            Some(id),
            "",
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    pub async fn plan_goals(&self, practice_id: i64, plan_id: i64) -> StoreResult<Vec<Goal>> {
        let k = self.keys();
        sqlx::query(
            "SELECT id, plan_id, text_enc, target_enc, due_on, progress FROM care_goals \
             WHERE practice_id = $1 AND plan_id = $2 ORDER BY id",
        )
        .bind(practice_id)
        .bind(plan_id)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(|r| {
            let text: Vec<u8> = r.try_get("text_enc")?;
            let target: Vec<u8> = r.try_get("target_enc")?;
            Ok(Goal {
                id: r.try_get("id")?,
                plan_id: r.try_get("plan_id")?,
                text: k.decrypt_string(&text, &goal_aad("text", practice_id))?,
                target: k.decrypt_string(&target, &goal_aad("target", practice_id))?,
                due_on: parse_date(r.try_get("due_on")?)?,
                progress: r.try_get::<i64, _>("progress")? as u32,
            })
        })
        .collect()
    }

    /// The plan whose window holds the appointment's start, for the appointment's patient.
    pub async fn plan_for_appointment(
        &self,
        practice_id: i64,
        appointment_id: i64,
    ) -> StoreResult<Option<CarePlan>> {
        let r = sqlx::query(
            "SELECT patient_id, starts_at FROM appointments WHERE id = $1 AND practice_id = $2",
        )
        .bind(appointment_id)
        .bind(practice_id)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        let Some(patient_id) = r.try_get::<Option<i64>, _>("patient_id")? else {
            return Ok(None);
        };
        let starts_at: i64 = r.try_get("starts_at")?;
        let tz = self.practice_time_zone(practice_id).await?;
        Ok(self
            .patient_plans(practice_id, patient_id)
            .await?
            .into_iter()
            .find(|p| {
                let (from, to) = p.window(&tz);
                (from..to).contains(&starts_at)
            }))
    }
}

fn read_visit(r: &AnyRow) -> StoreResult<PlanVisit> {
    let status: String = r.try_get("status")?;
    Ok(PlanVisit {
        appointment_id: r.try_get("id")?,
        starts_at: r.try_get("starts_at")?,
        status: Attendance::parse(&status)
            .ok_or_else(|| StoreError::Invalid(format!("unknown status {status}")))?,
        clinician_id: r.try_get("clinician_id")?,
        type_id: r.try_get("type_id")?,
    })
}

/// The number a visit has in its plan: one more than the visits attended before it.
pub fn number_of(visits: &[PlanVisit], starts_at: i64) -> u32 {
    1 + visits
        .iter()
        .filter(|v| {
            v.starts_at < starts_at
                && matches!(v.status, Attendance::Completed | Attendance::CheckedIn)
        })
        .count() as u32
}

const NOTE_COLS: &str = "id, practice_id, appointment_id, plan_id, author, body_enc, areas, goals, lines, \
    feeling_better, signed_at, signed_by, body_digest, updated_at";

impl Store {
    /// The fingerprint of a signed note's text: SHA-256 over the note's id and the text, so it
    /// survives key rotation (the sealed text itself is authenticated by its cipher).
    fn digest(note_id: i64, body: &str) -> String {
        crate::crypto::sha256_hex(format!("{note_id}\n{body}").as_bytes())
    }

    async fn read_note(&self, r: &AnyRow) -> StoreResult<VisitNote> {
        let k = self.keys();
        let practice_id: i64 = r.try_get("practice_id")?;
        let id: i64 = r.try_get("id")?;
        let body: Vec<u8> = r.try_get("body_enc")?;
        let text = k.decrypt_string(&body, &note_aad(practice_id))?;
        let soap: Soap = serde_json::from_str(&text)
            .map_err(|e| StoreError::Invalid(format!("unreadable note: {e}")))?;
        let digest: Option<String> = r.try_get("body_digest")?;
        let json = |col: &str| -> StoreResult<String> { Ok(r.try_get::<String, _>(col)?) };
        let addenda = sqlx::query(
            "SELECT author, body_enc, created_at FROM note_addenda WHERE note_id = $1 ORDER BY id",
        )
        .bind(id)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(|a| {
            let body: Vec<u8> = a.try_get("body_enc")?;
            Ok(Addendum {
                author: a.try_get("author")?,
                text: k.decrypt_string(&body, &addendum_aad(practice_id))?,
                created_at: a.try_get("created_at")?,
            })
        })
        .collect::<StoreResult<Vec<_>>>()?;
        Ok(VisitNote {
            id,
            appointment_id: r.try_get("appointment_id")?,
            plan_id: r.try_get("plan_id")?,
            author: r.try_get("author")?,
            intact: digest
                .as_deref()
                .is_none_or(|d| d == Self::digest(id, &text)),
            soap,
            areas: split_areas(&r.try_get::<String, _>("areas")?),
            goals: serde_json::from_str(&json("goals")?).unwrap_or_default(),
            lines: serde_json::from_str(&json("lines")?).unwrap_or_default(),
            feeling_better: r.try_get::<i64, _>("feeling_better")? != 0,
            signed_at: r.try_get("signed_at")?,
            signed_by: r.try_get("signed_by")?,
            addenda,
            updated_at: r.try_get("updated_at")?,
        })
    }

    /// The note of an appointment, with the read audited.
    pub async fn visit_note(
        &self,
        practice_id: i64,
        appointment_id: i64,
        actor: &Actor,
    ) -> StoreResult<Option<VisitNote>> {
        let r = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {NOTE_COLS} FROM visit_notes WHERE appointment_id = $1 AND practice_id = $2"
        )))
        .bind(appointment_id)
        .bind(practice_id)
        .fetch_optional(self.pool())
        .await?;
        let Some(r) = r else { return Ok(None) };
        let note = self.read_note(&r).await?;
        self.audit(
            Some(practice_id),
            actor,
            "view",
            "visit_note",
            Some(note.id),
            "",
        )
        .await?;
        Ok(Some(note))
    }

    /// Writes (or rewrites) an unsigned note for an appointment. The billed units come from the
    /// documented minutes by the 8-minute rule; goals must be the plan's own.
    pub async fn save_note(
        &self,
        practice_id: i64,
        appointment_id: i64,
        input: &NoteInput,
        actor: &Actor,
    ) -> StoreResult<i64> {
        let billed =
            billing::units(&input.lines).map_err(|e| StoreError::Invalid(e.to_string()))?;
        let lines: Vec<NoteLine> = input
            .lines
            .iter()
            .map(|l| {
                let code = billing::cpt(&l.code).map_or(l.code.trim(), |c| c.code);
                NoteLine {
                    code: code.to_string(),
                    minutes: l.minutes,
                    units: billed
                        .iter()
                        .find(|b| b.code == code)
                        .map_or(0, |b| b.units),
                }
            })
            .collect();
        if input.goals.iter().any(|g| g.progress > 100) {
            return Err(StoreError::Invalid("progress is 0 to 100%".into()));
        }
        let plan = self
            .plan_for_appointment(practice_id, appointment_id)
            .await?;
        if !input.goals.is_empty() {
            let Some(plan) = &plan else {
                return Err(StoreError::Invalid(
                    "the visit is not under a plan of care, so it has no goals to address".into(),
                ));
            };
            let goals = self.plan_goals(practice_id, plan.id).await?;
            if input
                .goals
                .iter()
                .any(|g| !goals.iter().any(|x| x.id == g.goal))
            {
                return Err(StoreError::Invalid(
                    "a goal is not one of the plan's".into(),
                ));
            }
        }
        let text =
            serde_json::to_string(&input.soap).map_err(|e| StoreError::Invalid(e.to_string()))?;
        let body = self.keys().encrypt_str(&text, &note_aad(practice_id));
        let goals = serde_json::to_string(&input.goals).unwrap_or_else(|_| "[]".into());
        let lines = serde_json::to_string(&lines).unwrap_or_else(|_| "[]".into());
        let now = now_ms();
        let mut tx = self.begin().await?;
        let existing = sqlx::query(
            "SELECT id, signed_at FROM visit_notes WHERE appointment_id = $1 AND practice_id = $2",
        )
        .bind(appointment_id)
        .bind(practice_id)
        .fetch_optional(&mut *tx)
        .await?;
        let id = match existing {
            Some(r) => {
                if r.try_get::<Option<i64>, _>("signed_at")?.is_some() {
                    return Err(StoreError::Conflict(
                        "the note is signed and locked: add an addendum instead".into(),
                    ));
                }
                let id: i64 = r.try_get("id")?;
                sqlx::query(
                    "UPDATE visit_notes SET body_enc = $2, areas = $3, goals = $4, lines = $5, feeling_better = $6, \
                     plan_id = $7, updated_at = $8 WHERE id = $1 AND signed_at IS NULL",
                )
                .bind(id)
                .bind(body)
                .bind(input.areas.join(","))
                .bind(goals)
                .bind(lines)
                .bind(i64::from(input.feeling_better))
                .bind(plan.as_ref().map(|p| p.id))
                .bind(now)
                .execute(&mut *tx)
                .await?;
                id
            }
            None => sqlx::query(
                "INSERT INTO visit_notes (practice_id, appointment_id, plan_id, author, body_enc, areas, goals, lines, \
                 feeling_better, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING id",
            )
            .bind(practice_id)
            .bind(appointment_id)
            .bind(plan.as_ref().map(|p| p.id))
            .bind(actor.label.clone())
            .bind(body)
            .bind(input.areas.join(","))
            .bind(goals)
            .bind(lines)
            .bind(i64::from(input.feeling_better))
            .bind(now)
            .fetch_one(&mut *tx)
            .await?
            .try_get("id")?,
        };
        audit::record(
            &mut *tx,
            Some(practice_id),
            actor,
            "write",
            "visit_note",
            Some(id),
            "",
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Signs a note: it must say something, and then it is locked. The goals it addressed take the
    /// progress it recorded, and "feeling better" is carried to the plan, in the same transaction.
    pub async fn sign_note(
        &self,
        practice_id: i64,
        appointment_id: i64,
        actor: &Actor,
    ) -> StoreResult<()> {
        let r = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {NOTE_COLS} FROM visit_notes WHERE appointment_id = $1 AND practice_id = $2"
        )))
        .bind(appointment_id)
        .bind(practice_id)
        .fetch_optional(self.pool())
        .await?
        .ok_or_else(|| StoreError::Invalid("write the note before signing it".into()))?;
        let note = self.read_note(&r).await?;
        if note.signed_at.is_some() {
            return Err(StoreError::Conflict("the note is already signed".into()));
        }
        if note.soap.is_empty() {
            return Err(StoreError::Invalid(
                "an empty note cannot be signed: document the visit first".into(),
            ));
        }
        let text =
            serde_json::to_string(&note.soap).map_err(|e| StoreError::Invalid(e.to_string()))?;
        let now = now_ms();
        let mut tx = self.begin().await?;
        let done = sqlx::query(
            "UPDATE visit_notes SET signed_at = $2, signed_by = $3, body_digest = $4, updated_at = $2 \
             WHERE id = $1 AND signed_at IS NULL",
        )
        .bind(note.id)
        .bind(now)
        .bind(actor.label.clone())
        .bind(Self::digest(note.id, &text))
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict("the note is already signed".into()));
        }
        if let Some(plan_id) = note.plan_id {
            for g in &note.goals {
                sqlx::query("UPDATE care_goals SET progress = $3 WHERE id = $1 AND plan_id = $2")
                    .bind(g.goal)
                    .bind(plan_id)
                    .bind(i64::from(g.progress))
                    .execute(&mut *tx)
                    .await?;
            }
            if note.feeling_better {
                sqlx::query(
                    "UPDATE care_plans SET feeling_better_at = COALESCE(feeling_better_at, $2), updated_at = $2 WHERE id = $1",
                )
                .bind(plan_id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
        }
        audit::record(
            &mut *tx,
            Some(practice_id),
            actor,
            "sign",
            "visit_note",
            Some(note.id),
            "",
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Appends an addendum to a signed note.
    pub async fn add_addendum(
        &self,
        practice_id: i64,
        appointment_id: i64,
        text: &str,
        actor: &Actor,
    ) -> StoreResult<()> {
        let text = text.trim();
        if text.is_empty() {
            return Err(StoreError::Invalid("the addendum is empty".into()));
        }
        let mut tx = self.begin().await?;
        let r = sqlx::query(
            "SELECT id, signed_at FROM visit_notes WHERE appointment_id = $1 AND practice_id = $2",
        )
        .bind(appointment_id)
        .bind(practice_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?;
        if r.try_get::<Option<i64>, _>("signed_at")?.is_none() {
            return Err(StoreError::Conflict(
                "the note is not signed yet: edit it instead".into(),
            ));
        }
        let note_id: i64 = r.try_get("id")?;
        sqlx::query(
            "INSERT INTO note_addenda (practice_id, note_id, author, body_enc, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(practice_id)
        .bind(note_id)
        .bind(actor.label.clone())
        .bind(self.keys().encrypt_str(text, &addendum_aad(practice_id)))
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        audit::record(
            &mut *tx,
            Some(practice_id),
            actor,
            "addendum",
            "visit_note",
            Some(note_id),
            "",
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Re-seals the plans', goals' and notes' text under the current key. Addenda may only have
    /// their body re-sealed, which the database allows.
    pub(crate) async fn reencrypt_plans(&self) -> StoreResult<u64> {
        Ok(self
            .reencrypt_column("care_plans", "id", "condition_enc", |p| {
                plan_aad("condition", p)
            })
            .await?
            + self
                .reencrypt_column("care_plans", "id", "icd10_enc", |p| plan_aad("icd10", p))
                .await?
            + self
                .reencrypt_column("care_plans", "id", "summary_enc", |p| {
                    plan_aad("summary", p)
                })
                .await?
            + self
                .reencrypt_column("care_goals", "id", "text_enc", |p| goal_aad("text", p))
                .await?
            + self
                .reencrypt_column("care_goals", "id", "target_enc", |p| goal_aad("target", p))
                .await?
            + self
                .reencrypt_column("visit_notes", "id", "body_enc", note_aad)
                .await?
            + self
                .reencrypt_column("note_addenda", "id", "body_enc", addendum_aad)
                .await?)
    }
}

/// Where one appointment stands in its patient's plan of care.
#[derive(Debug, Clone)]
pub struct Position {
    pub plan_id: i64,
    /// X in "visit X of Y".
    pub number: u32,
    pub plan: care::Plan,
}

impl Store {
    /// The plan position of each appointment `(id, patient, start)` that falls under a plan of
    /// care, for the schedule's "visit 3 of 8" and milestone prompts.
    pub async fn plan_positions(
        &self,
        practice_id: i64,
        appointments: &[(i64, Option<i64>, i64)],
    ) -> StoreResult<std::collections::HashMap<i64, Position>> {
        let tz = self.practice_time_zone(practice_id).await?;
        let mut out = std::collections::HashMap::new();
        let mut patients: Vec<i64> = appointments.iter().filter_map(|a| a.1).collect();
        patients.sort_unstable();
        patients.dedup();
        for patient in patients {
            for plan in self.patient_plans(practice_id, patient).await? {
                let (from, to) = plan.window(&tz);
                let mine: Vec<_> = appointments
                    .iter()
                    .filter(|a| a.1 == Some(patient) && (from..to).contains(&a.2))
                    .collect();
                if mine.is_empty() {
                    continue;
                }
                let visits = self.plan_visits(practice_id, &plan, &tz).await?;
                for (id, _, start) in mine {
                    out.insert(
                        *id,
                        Position {
                            plan_id: plan.id,
                            number: number_of(&visits, *start),
                            plan: plan.rule(),
                        },
                    );
                }
            }
        }
        Ok(out)
    }
}

/// The structured parts of a visit note, for the audit and visit lists (nothing decrypted).
#[derive(Debug, Clone)]
pub struct NoteFacts {
    pub signed: bool,
    pub goals_addressed: u32,
    pub lines: Vec<NoteLine>,
}

/// One billed visit the documentation audit flags.
#[derive(Debug, Clone, Serialize)]
pub struct AuditFinding {
    pub appointment_id: i64,
    pub patient_id: i64,
    pub clinician_id: i64,
    pub starts_at: i64,
    pub problems: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct DocumentationAudit {
    /// Attended visits in the period billed to a payer.
    pub billed: u32,
    pub findings: Vec<AuditFinding>,
}

impl Store {
    /// The structured facts of the notes of visits starting in `[from, to)`, by appointment.
    pub async fn note_facts(
        &self,
        practice_id: i64,
        from: i64,
        to: i64,
    ) -> StoreResult<std::collections::HashMap<i64, NoteFacts>> {
        let rows = sqlx::query(
            "SELECT n.appointment_id, n.signed_at, n.goals, n.lines FROM visit_notes n \
             JOIN appointments a ON a.id = n.appointment_id \
             WHERE n.practice_id = $1 AND a.starts_at >= $2 AND a.starts_at < $3",
        )
        .bind(practice_id)
        .bind(from)
        .bind(to)
        .fetch_all(self.pool())
        .await?;
        let mut out = std::collections::HashMap::new();
        for r in &rows {
            let goals: Vec<GoalAddressed> =
                serde_json::from_str(&r.try_get::<String, _>("goals")?).unwrap_or_default();
            out.insert(
                r.try_get("appointment_id")?,
                NoteFacts {
                    signed: r.try_get::<Option<i64>, _>("signed_at")?.is_some(),
                    goals_addressed: goals.len() as u32,
                    lines: serde_json::from_str(&r.try_get::<String, _>("lines")?)
                        .unwrap_or_default(),
                },
            );
        }
        Ok(out)
    }

    /// Every visit billed to a payer (attended, not self-pay) from `from` to `to` (inclusive,
    /// practice days) that would not survive the payer's review, with the reasons from `care::audit_visit`: no signed note, no goal
    /// addressed, units the minutes do not support, no plan of care or an uncertified or expired
    /// one, and visits past or outside the payer's authorization.
    pub async fn documentation_audit(
        &self,
        practice_id: i64,
        from: Date,
        to: Date,
    ) -> StoreResult<DocumentationAudit> {
        let tz = self.practice_time_zone(practice_id).await?;
        let (start, end) = (day_start(from, &tz), day_start(to, &tz) + DAY_MS);
        let notes = self.note_facts(practice_id, start, end).await?;
        // Every appointment of every patient, for plan and authorization counts.
        let rows = sqlx::query(
            "SELECT patient_id, id, starts_at, status, clinician_id, type_id, payer_id, self_pay FROM appointments \
             WHERE practice_id = $1 AND patient_id IS NOT NULL AND starts_at < $2 ORDER BY starts_at",
        )
        .bind(practice_id)
        .bind(end)
        .fetch_all(self.pool())
        .await?;
        let mut by_patient: std::collections::HashMap<i64, Vec<PlanVisit>> =
            std::collections::HashMap::new();
        // Visits billed to a payer: self-pay and membership visits face no payer's review.
        let mut payer_billed = std::collections::HashSet::new();
        for r in &rows {
            let v = read_visit(r)?;
            if r.try_get::<Option<i64>, _>("payer_id")?.is_some()
                && r.try_get::<i64, _>("self_pay")? == 0
            {
                payer_billed.insert(v.appointment_id);
            }
            by_patient
                .entry(r.try_get("patient_id")?)
                .or_default()
                .push(v);
        }
        let mut plans: std::collections::HashMap<i64, Vec<CarePlan>> =
            std::collections::HashMap::new();
        for p in self.plans_in(practice_id, &[]).await? {
            plans.entry(p.patient_id).or_default().push(p);
        }
        let mut auths: std::collections::HashMap<i64, Vec<(u32, Date, Date)>> =
            std::collections::HashMap::new();
        for r in sqlx::query(
            "SELECT a.patient_id, a.visits, a.starts_on, a.ends_on FROM authorizations a \
             JOIN patients p ON p.id = a.patient_id WHERE a.practice_id = $1 AND p.self_pay = 0",
        )
        .bind(practice_id)
        .fetch_all(self.pool())
        .await?
        {
            let (Some(s), Some(e)) = (
                parse_date(r.try_get("starts_on")?)?,
                parse_date(r.try_get("ends_on")?)?,
            ) else {
                continue;
            };
            auths.entry(r.try_get("patient_id")?).or_default().push((
                r.try_get::<i64, _>("visits")? as u32,
                s,
                e,
            ));
        }
        let local_day = |ms: i64| {
            jiff::Timestamp::from_millisecond(ms)
                .map(|t| t.to_zoned_datetime(tz.clone()).date())
                .unwrap_or(from)
        };
        let attended =
            |v: &PlanVisit| matches!(v.status, Attendance::Completed | Attendance::CheckedIn);
        let mut audit = DocumentationAudit::default();
        for (patient, visits) in &by_patient {
            for v in visits.iter().filter(|v| {
                attended(v)
                    && (start..end).contains(&v.starts_at)
                    && payer_billed.contains(&v.appointment_id)
            }) {
                audit.billed += 1;
                let day = local_day(v.starts_at);
                let plan = plans.get(patient).and_then(|ps| {
                    ps.iter().find(|p| {
                        let (a, b) = p.window(&tz);
                        (a..b).contains(&v.starts_at)
                    })
                });
                let visit_number = plan.map_or(1, |p| {
                    let (a, b) = p.window(&tz);
                    1 + visits
                        .iter()
                        .filter(|x| {
                            attended(x)
                                && x.starts_at < v.starts_at
                                && (a..b).contains(&x.starts_at)
                        })
                        .count() as u32
                });
                // The authorization covering the day, or the latest that started before it.
                let authorization = auths.get(patient).and_then(|list| {
                    list.iter()
                        .filter(|(_, s, _)| *s <= day)
                        .max_by_key(|(_, s, e)| (*e >= day, *s))
                        .or_else(|| list.iter().min_by_key(|(_, s, _)| *s))
                        .copied()
                });
                // Counted within the authorization's own dates.
                let auth_number = authorization.map_or(visit_number, |(_, s, e)| {
                    1 + visits
                        .iter()
                        .filter(|x| {
                            let d = local_day(x.starts_at);
                            attended(x)
                                && payer_billed.contains(&x.appointment_id)
                                && x.starts_at < v.starts_at
                                && d >= s
                                && d <= e
                        })
                        .count() as u32
                });
                let note = notes.get(&v.appointment_id).map(|n| care::AuditNote {
                    signed: n.signed,
                    goals_addressed: n.goals_addressed,
                    lines: n
                        .lines
                        .iter()
                        .map(|l| Line {
                            code: l.code.clone(),
                            minutes: l.minutes,
                        })
                        .collect(),
                    billed: n
                        .lines
                        .iter()
                        .map(|l| billing::Billed {
                            code: l.code.clone(),
                            units: l.units,
                        })
                        .collect(),
                });
                let problems = care::audit_visit(&care::AuditVisit {
                    day,
                    visit_number: auth_number,
                    plan: plan.map(CarePlan::rule),
                    note,
                    authorization,
                });
                if !problems.is_empty() {
                    audit.findings.push(AuditFinding {
                        appointment_id: v.appointment_id,
                        patient_id: *patient,
                        clinician_id: v.clinician_id,
                        starts_at: v.starts_at,
                        problems,
                    });
                }
            }
        }
        audit.findings.sort_by(|a, b| {
            b.starts_at
                .cmp(&a.starts_at)
                .then(a.appointment_id.cmp(&b.appointment_id))
        });
        Ok(audit)
    }
}
