//! `GET /api/v1/patients/{id}/fhir`: the patient's record as a FHIR R4 Bundle (Patient, Coverage,
//! Condition, EpisodeOfCare and CarePlan per plan of care, Goal, Appointment, Encounter and
//! Procedure per billed CPT line of a signed note), built by `stride_core::fhir`. The export is
//! written to the audit log like any read of the record.

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::IntoResponse;
use stride_core::billing::Billed;
use stride_core::deposits::Attendance;
use stride_core::fhir::{
    Export, ExportCoverage, ExportGoal, ExportPatient, ExportPlan, ExportVisit, bundle,
};
use stride_core::role::Permission;

use crate::AppState;
use crate::auth::Principal;
use crate::error::ApiResult;

pub async fn export(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<i64>,
    headers: axum::http::HeaderMap,
) -> ApiResult<impl IntoResponse> {
    p.require(Permission::ViewPatients)?;
    p.require(Permission::ViewClinicalNotes)?;
    let store = &state.store;
    let patient = store.patient(p.practice_id, id, &p.actor).await?;
    let practice = store.practice(p.practice_id).await?;
    let tz = store.practice_time_zone(p.practice_id).await?;
    let coverage = store.coverage(p.practice_id, id).await?;
    let payers = store.payers(p.practice_id).await?;
    let clinicians = store.clinicians(p.practice_id).await?;
    let clinician = |cid: i64| {
        clinicians
            .iter()
            .find(|c| c.id == cid)
            .map(|c| c.name.clone())
    };
    let types = store.appointment_types(p.practice_id).await?;
    let plans = store.patient_plans(p.practice_id, id).await?;
    let mut export_plans = Vec::with_capacity(plans.len());
    for plan in &plans {
        export_plans.push(ExportPlan {
            id: plan.id,
            status: plan.status,
            condition: plan.condition.clone(),
            icd10: plan.icd10.clone(),
            areas: stride_core::care::parse_regions(&plan.areas.join(",")).unwrap_or_default(),
            starts_on: plan.starts_on,
            closed_on: plan.closed_on,
            certified_until: plan.certified_until,
            prescribed_visits: plan.prescribed_visits,
            visits_per_week: plan.visits_per_week,
            clinician: plan.clinician_id.and_then(clinician),
            goals: store
                .plan_goals(p.practice_id, plan.id)
                .await?
                .into_iter()
                .map(|g| ExportGoal {
                    id: g.id,
                    text: g.text,
                    target: g.target,
                    due_on: g.due_on,
                    progress: g.progress,
                })
                .collect(),
            summary: plan.summary.clone(),
        });
    }
    let appointments = store.patient_appointments(p.practice_id, id).await?;
    let notes = store.note_facts(p.practice_id, i64::MIN, i64::MAX).await?;
    let visits = appointments
        .iter()
        .rev()
        .map(|(a, _)| ExportVisit {
            id: a.id,
            plan_id: plans
                .iter()
                .find(|pl| {
                    let (from, to) = pl.window(&tz);
                    (from..to).contains(&a.starts_at)
                })
                .map(|pl| pl.id),
            starts_at: a.starts_at,
            ends_at: a.ends_at,
            status: Attendance::parse(&a.status).unwrap_or(Attendance::Booked),
            type_name: types
                .iter()
                .find(|t| t.id == a.type_id)
                .map(|t| t.name.clone())
                .unwrap_or_default(),
            clinician: clinician(a.clinician_id),
            lines: notes
                .get(&a.id)
                .filter(|n| n.signed)
                .map(|n| {
                    n.lines
                        .iter()
                        .filter(|l| l.units > 0)
                        .map(|l| Billed {
                            code: l.code.clone(),
                            units: l.units,
                        })
                        .collect()
                })
                .unwrap_or_default(),
        })
        .collect();
    let export = Export {
        practice_name: practice.name,
        base_url: super::base_url(&state, &headers),
        generated_at: jiff::Timestamp::now().as_millisecond(),
        patient: ExportPatient {
            id: patient.id,
            first_name: patient.first_name,
            last_name: patient.last_name,
            birth_date: patient.birth_date.as_deref().and_then(|d| d.parse().ok()),
            phone: patient.phone,
            email: patient.email,
            address: patient.address,
            active: patient.status == "active",
        },
        coverage: (coverage.self_pay || coverage.payer_id.is_some()).then(|| ExportCoverage {
            payer_id: coverage.payer_id,
            payer_name: coverage
                .payer_id
                .and_then(|pid| payers.iter().find(|x| x.id == pid))
                .map(|x| x.name.clone()),
            plan: Some(coverage.plan.clone()),
            member_id: patient.member_id,
            self_pay: coverage.self_pay,
        }),
        plans: export_plans,
        visits,
    };
    store
        .audit(
            Some(p.practice_id),
            &p.actor,
            "export_fhir",
            "patient",
            Some(id),
            "",
        )
        .await?;
    Ok((
        [(header::CONTENT_TYPE, "application/fhir+json")],
        axum::Json(bundle(&export)),
    ))
}
