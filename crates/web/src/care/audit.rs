//! The documentation audit (`/app/care/audit`): every billed visit in the period that a payer's
//! reviewer would reject, with the reasons in plain words and a link to fix each note.

use askama::Template;
use axum::Extension;
use axum::extract::{Query, State};
use serde::Deserialize;
use stride_core::role::Permission;

use super::today;
use crate::AppState;
use crate::auth::Principal;
use crate::error::PageResult;
use crate::pages::{Done, Layout, layout, local_time, practice_tz, render};

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct PeriodQuery {
    period: String,
}

pub struct Finding {
    pub appointment_id: i64,
    pub when: String,
    pub patient_id: i64,
    pub patient: String,
    pub clinician: String,
    pub problems: Vec<String>,
}

#[derive(Template)]
#[template(path = "care_audit.html")]
struct AuditPage {
    l: Layout,
    clinical: bool,
    period: &'static str,
    periods: Vec<(&'static str, &'static str)>,
    billed: u32,
    flagged: usize,
    clean: String,
    /// (problem kind, visits with it), most common first.
    kinds: Vec<(&'static str, usize)>,
    findings: Vec<Finding>,
    more: usize,
}

/// Findings shown on the page; the rest are counted.
const SHOWN: usize = 300;

/// The kind of a problem, for the summary: its words without the dates and counts.
fn kind(problem: &str) -> &'static str {
    let has = |w: &str| problem.contains(w);
    if has("no visit note") {
        "no visit note"
    } else if has("not signed") {
        "note not signed"
    } else if has("no goal") {
        "no goal addressed"
    } else if has("no plan of care") {
        "no plan of care"
    } else if has("not certified") {
        "plan of care not certified"
    } else if has("certification expired") || has("before the plan of care starts") {
        "visit outside the certified plan of care"
    } else if has("authoriz") {
        "visit past or outside the payer's authorization"
    } else {
        "units not supported by the minutes"
    }
}

pub async fn audit(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(q): Query<PeriodQuery>,
    Query(done): Query<Done>,
) -> PageResult {
    p.require(Permission::ViewClinicalNotes)?;
    let l = layout(&state, &p, "care", &done).await?;
    let tz = state.store.practice_time_zone(p.practice_id).await?;
    let tzn = practice_tz(&state, p.practice_id).await?;
    let (days, period) = match q.period.as_str() {
        "90d" => (90, "90d"),
        "12mo" => (365, "12mo"),
        _ => (30, "30d"),
    };
    let to = today(&tz);
    let from = to
        .checked_sub(jiff::Span::new().days(days - 1))
        .unwrap_or(to);
    let audit = state
        .store
        .documentation_audit(p.practice_id, from, to)
        .await?;
    let clinicians = state.store.clinicians(p.practice_id).await?;
    let mut kinds: Vec<(&'static str, usize)> = Vec::new();
    for f in &audit.findings {
        let mut seen: Vec<&'static str> = f.problems.iter().map(|p| kind(p)).collect();
        seen.dedup();
        for k in seen {
            match kinds.iter_mut().find(|(x, _)| *x == k) {
                Some((_, n)) => *n += 1,
                None => kinds.push((k, 1)),
            }
        }
    }
    kinds.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let names = state
        .store
        .patients_by_ids(
            p.practice_id,
            &audit
                .findings
                .iter()
                .take(SHOWN)
                .map(|f| f.patient_id)
                .collect::<Vec<_>>(),
            &p.actor,
        )
        .await?;
    let mut findings = Vec::new();
    for f in audit.findings.iter().take(SHOWN) {
        findings.push(Finding {
            appointment_id: f.appointment_id,
            when: local_time(f.starts_at, &tzn),
            patient_id: f.patient_id,
            patient: names
                .get(&f.patient_id)
                .map(|x| format!("{} {}", x.first_name, x.last_name))
                .unwrap_or_default(),
            clinician: clinicians
                .iter()
                .find(|c| c.id == f.clinician_id)
                .map(|c| c.name.clone())
                .unwrap_or_default(),
            problems: f.problems.clone(),
        });
    }
    let flagged = audit.findings.len();
    render(&AuditPage {
        l,
        clinical: true,
        period,
        periods: vec![
            ("30d", "Last 30 days"),
            ("90d", "90 days"),
            ("12mo", "12 months"),
        ],
        billed: audit.billed,
        clean: if audit.billed == 0 {
            "—".into()
        } else {
            format!(
                "{:.0}%",
                f64::from(audit.billed - flagged as u32) * 100.0 / f64::from(audit.billed)
            )
        },
        flagged,
        kinds,
        more: flagged.saturating_sub(SHOWN),
        findings,
    })
}
