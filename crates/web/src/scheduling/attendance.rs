//! The attendance report (`/app/schedule/attendance`, `/api/v1/attendance-report`): the no-show
//! rate against the 10% target, week by week with the day the deposit policy started marked,
//! and by payer, clinician and visit type.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::IntoResponse;
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::json;
use stride_core::attendance::{Report, TARGET_NO_SHOW_PERCENT, Tally, summarize};
use stride_core::role::Permission;

use crate::AppState;
use crate::auth::Principal;
use crate::error::{AppError, PageResult};
use crate::pages::{Done, Layout, layout, practice_tz, render};

const DAY: i64 = 86_400_000;

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct PeriodQuery {
    period: String,
}

fn period_days(p: &str) -> (i64, &'static str) {
    match p {
        "30d" => (30, "30d"),
        "3mo" => (91, "3mo"),
        "6mo" => (182, "6mo"),
        _ => (365, "12mo"),
    }
}

pub struct Row {
    pub label: String,
    /// A subtotal line (insurance, self-pay).
    pub strong: bool,
    pub due: u32,
    pub no_shows: u32,
    pub late_cancels: u32,
    pub rate: String,
    pub over: bool,
}

fn row(label: String, t: &Tally) -> Row {
    Row {
        label,
        strong: false,
        due: t.due(),
        no_shows: t.no_shows,
        late_cancels: t.late_cancels,
        rate: pct(t.no_show_rate()),
        over: t
            .no_show_rate()
            .is_some_and(|r| r >= TARGET_NO_SHOW_PERCENT),
    }
}

fn pct(r: Option<f64>) -> String {
    r.map(|r| format!("{r:.1}%")).unwrap_or_else(|| "—".into())
}

/// One week's bar: x, height and y in the chart's units, over the target or not, its title.
pub struct Bar {
    pub x: i64,
    pub y: f64,
    pub h: f64,
    pub over: bool,
    pub title: String,
}

#[derive(Template)]
#[template(path = "attendance.html")]
struct AttendancePage {
    l: Layout,
    period: &'static str,
    total: Row,
    before: Option<Row>,
    after: Option<Row>,
    started: String,
    bars: Vec<Bar>,
    width: i64,
    target_y: f64,
    policy_x: Option<i64>,
    summary: String,
    /// (heading, first column, rows)
    sections: Vec<(&'static str, &'static str, Vec<Row>)>,
    periods: &'static [(&'static str, &'static str)],
    unrecorded: u32,
}

/// The chart's scale: 0 to 30% over 100 units.
const SCALE: f64 = 100.0 / 30.0;

async fn report(
    state: &AppState,
    p: &Principal,
    period: &str,
) -> Result<
    (
        Report,
        i64,
        i64,
        Option<i64>,
        Option<stride_core::tz::TimeZoneName>,
    ),
    AppError,
> {
    p.require(Permission::ViewSchedule)?;
    let (days, _) = period_days(period);
    let now = jiff::Timestamp::now().as_millisecond();
    let from = now - days * DAY;
    let tz = practice_tz(state, p.practice_id).await?;
    let zone = tz
        .as_ref()
        .map(|t| t.tz())
        .unwrap_or(jiff::tz::TimeZone::UTC);
    let visits = state.store.visits_between(p.practice_id, from, now).await?;
    let settings = state.store.booking_settings(p.practice_id).await?;
    let started = settings.deposit_started_at;
    Ok((
        summarize(&visits, &zone, from, now, started),
        from,
        now,
        started,
        tz,
    ))
}

pub async fn page(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(q): Query<PeriodQuery>,
) -> PageResult {
    let (r, from, _now, started, tz) = report(&state, &p, &q.period).await?;
    let l = layout(&state, &p, "schedule", &Done::default()).await?;
    let names = |list: Vec<(i64, String)>, id: i64| {
        list.iter()
            .find(|(x, _)| *x == id)
            .map(|(_, n)| n.clone())
            .unwrap_or_else(|| format!("#{id}"))
    };
    let clinicians: Vec<(i64, String)> = state
        .store
        .clinicians(p.practice_id)
        .await?
        .into_iter()
        .map(|c| (c.id, c.name))
        .collect();
    let types: Vec<(i64, String)> = state
        .store
        .appointment_types(p.practice_id)
        .await?
        .into_iter()
        .map(|t| (t.id, t.name))
        .collect();
    let payers: Vec<(i64, String)> = state
        .store
        .payers(p.practice_id)
        .await?
        .into_iter()
        .map(|x| (x.id, x.name))
        .collect();
    let zone = tz
        .as_ref()
        .map(|t| t.tz())
        .unwrap_or(jiff::tz::TimeZone::UTC);
    let bars: Vec<Bar> = r
        .weeks
        .iter()
        .enumerate()
        .map(|(i, (week, t))| {
            let rate = t.no_show_rate().unwrap_or(0.0);
            let h = (rate * SCALE).min(100.0);
            Bar {
                x: i as i64 * 12,
                y: 100.0 - h,
                h,
                over: rate >= TARGET_NO_SHOW_PERCENT,
                title: format!(
                    "Week of {}: {} no-shows of {} visits ({})",
                    week.strftime("%b %-d"),
                    t.no_shows,
                    t.due(),
                    pct(t.no_show_rate())
                ),
            }
        })
        .collect();
    let policy_x = started.filter(|s| *s > from).and_then(|s| {
        let d = jiff::Timestamp::from_millisecond(s)
            .ok()?
            .to_zoned_datetime(zone.clone())
            .date();
        let i = r.weeks.iter().position(|(w, _)| {
            w.checked_add(jiff::Span::new().days(7))
                .is_ok_and(|end| d >= *w && d < end)
        })?;
        Some(i as i64 * 12)
    });
    let started_label = started
        .and_then(|s| jiff::Timestamp::from_millisecond(s).ok())
        .map(|t| {
            t.to_zoned_datetime(zone.clone())
                .strftime("%B %-d, %Y")
                .to_string()
        })
        .unwrap_or_default();
    let summary = match (
        r.before_policy.no_show_rate(),
        r.after_policy.no_show_rate(),
        started,
    ) {
        (Some(b), Some(a), Some(_)) if policy_x.is_some() => format!(
            "Weekly no-show rate: {b:.1}% before the deposit policy started on {started_label}, {a:.1}% since; the target is under 10%"
        ),
        _ => format!(
            "Weekly no-show rate, {} overall; the target is under 10%",
            pct(r.total.no_show_rate())
        ),
    };
    let page = AttendancePage {
        l,
        period: period_days(&q.period).1,
        total: row("All visits".into(), &r.total),
        before: (policy_x.is_some() && r.before_policy.due() > 0)
            .then(|| row("Before the deposit policy".into(), &r.before_policy)),
        after: (started.is_some() && r.after_policy.due() > 0)
            .then(|| row("Since the deposit policy".into(), &r.after_policy)),
        started: started_label,
        width: (bars.len() as i64 * 12).max(12),
        bars,
        target_y: 100.0 - TARGET_NO_SHOW_PERCENT * SCALE,
        policy_x,
        summary,
        sections: vec![
            ("By payer", "Payer", {
                let mut rows = vec![
                    Row {
                        strong: true,
                        ..row("Insurance".into(), &r.insured)
                    },
                    Row {
                        strong: true,
                        ..row("Self-pay".into(), &r.self_pay)
                    },
                ];
                rows.extend(
                    r.by_payer
                        .iter()
                        .filter(|(id, _)| id.is_some())
                        .map(|(id, t)| row(names(payers.clone(), id.unwrap_or_default()), t)),
                );
                rows
            }),
            (
                "By clinician",
                "Clinician",
                r.by_clinician
                    .iter()
                    .map(|(id, t)| row(names(clinicians.clone(), *id), t))
                    .collect(),
            ),
            (
                "By visit type",
                "Visit type",
                r.by_type
                    .iter()
                    .map(|(id, t)| row(names(types.clone(), *id), t))
                    .collect(),
            ),
        ],
        periods: &[
            ("30d", "30 days"),
            ("3mo", "3 months"),
            ("6mo", "6 months"),
            ("12mo", "12 months"),
        ],
        unrecorded: r.total.unrecorded,
    };
    render(&page)
}

fn tally_json(t: &Tally) -> serde_json::Value {
    json!({
        "due": t.due(), "attended": t.attended, "no_shows": t.no_shows, "late_cancels": t.late_cancels,
        "cancelled": t.cancelled, "unrecorded": t.unrecorded,
        "no_show_rate": t.no_show_rate(), "late_cancel_rate": t.late_cancel_rate(),
    })
}

/// `GET /api/v1/attendance-report?period=12mo`
pub async fn api(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(q): Query<PeriodQuery>,
) -> Result<impl IntoResponse, AppError> {
    let (r, from, to, started, _) = report(&state, &p, &q.period).await?;
    Ok(Json(json!({ "data": {
        "from": from, "to": to, "deposit_policy_started_at": started,
        "target_no_show_rate": TARGET_NO_SHOW_PERCENT,
        "total": tally_json(&r.total),
        "before_policy": tally_json(&r.before_policy),
        "after_policy": tally_json(&r.after_policy),
        "insured": tally_json(&r.insured),
        "self_pay": tally_json(&r.self_pay),
        "weeks": r.weeks.iter().map(|(w, t)| json!({"week": w.to_string(), "tally": tally_json(t)})).collect::<Vec<_>>(),
        "by_payer": r.by_payer.iter().map(|(id, t)| json!({"payer_id": id, "tally": tally_json(t)})).collect::<Vec<_>>(),
        "by_clinician": r.by_clinician.iter().map(|(id, t)| json!({"clinician_id": id, "tally": tally_json(t)})).collect::<Vec<_>>(),
        "by_type": r.by_type.iter().map(|(id, t)| json!({"type_id": id, "tally": tally_json(t)})).collect::<Vec<_>>(),
    }})))
}
