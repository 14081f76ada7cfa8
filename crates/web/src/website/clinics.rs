//! All clinics: for someone who works for several practices (an agency's marketer, an owner of a
//! group), each practice's websites side by side for one period: visitors, the visitors who
//! completed a lead action and their rate against the benchmark bands, each compared with the
//! period before. Aggregates only, and only for practices where the person's role may see them.

use askama::Template;
use axum::Extension;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use stride_core::role::Permission;
use stride_core::website::conversion::band;
use stride_store::campaigns::GroupBy;
use stride_store::website::reports::Scope;

use super::dashboard::{
    MIN_VISITORS_FOR_BAND, PERIODS, band_class, change, period_range, points, tone,
};
use crate::AppState;
use crate::auth::Principal;
use crate::error::{AppError, PageResult};
use crate::pages::{Done, Layout, count, layout, practice_tz, render};

#[derive(Deserialize, Default)]
pub struct ClinicsQuery {
    period: Option<String>,
}

/// One site of one practice, or a practice without a site (or without access to its reports).
pub struct ClinicRow {
    pub practice_id: i64,
    pub practice: String,
    pub current: bool,
    /// The site's domain; empty when the practice has none.
    pub site: String,
    /// Why there are no figures ("no website set up yet"), or empty.
    pub note: &'static str,
    pub visitors: i64,
    pub visitors_before: i64,
    pub visitors_change: String,
    pub visitors_tone: &'static str,
    pub converting: i64,
    pub rate: String,
    /// The rate in percent, when there were visitors.
    pub rate_value: Option<f64>,
    /// The rate as a share of the chart's scale, for its bar.
    pub rate_width: f64,
    pub rate_change: String,
    pub rate_tone: &'static str,
    pub band: &'static str,
    pub band_class: &'static str,
    /// The practice's leads that arrived in the period, the new patients among them, and the
    /// campaigns' spend per lead in cents (none without spend), on its first row only.
    pub leads: Option<(i64, i64, Option<i64>)>,
}

#[derive(Template)]
#[template(path = "clinics.html")]
struct ClinicsPage {
    l: Layout,
    period: &'static str,
    periods: &'static [(&'static str, &'static str, i64)],
    rows: Vec<ClinicRow>,
    /// All the sites' visitors and converting visitors added up, with the overall rate, and all
    /// the practices' leads and new patients.
    total: (i64, i64, String),
    total_leads: (i64, i64),
    /// The rate the bars are drawn against (at least the top band's 4%).
    scale: f64,
}

impl ClinicsPage {
    fn n(&self, v: &i64) -> String {
        count(*v)
    }

    fn money(&self, cents: &Option<i64>) -> String {
        cents.map_or_else(|| "–".into(), crate::leads::report::money)
    }
}

/// The period a query names (the last 30 days by default): its key, label and days.
fn period_of(q: &ClinicsQuery) -> (&'static str, &'static str, i64) {
    PERIODS
        .iter()
        .find(|(k, ..)| Some(*k) == q.period.as_deref())
        .copied()
        .unwrap_or(PERIODS[1])
}

pub async fn clinics(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(q): Query<ClinicsQuery>,
) -> PageResult {
    let l = layout(&state, &p, "clinics", &Done::default()).await?;
    let (period, _, days) = period_of(&q);
    let mut rows = clinic_rows(&state, &p, days).await?;
    let (visitors, converting, overall) = totals(&rows);
    let total_leads = rows
        .iter()
        .filter_map(|r| r.leads.as_ref())
        .fold((0, 0), |(l, p), r| (l + r.0, p + r.1));
    let scale = rows
        .iter()
        .map(|r| r.rate_width)
        .fold(4.0_f64, f64::max)
        .ceil();
    for r in &mut rows {
        r.rate_width = r.rate_width * 100.0 / scale;
    }
    render(&ClinicsPage {
        l,
        period,
        periods: PERIODS,
        rows,
        total: (visitors, converting, overall),
        total_leads,
        scale,
    })
}

/// All the rows' visitors and converting visitors, and the overall rate.
fn totals(rows: &[ClinicRow]) -> (i64, i64, String) {
    let visitors: i64 = rows.iter().map(|r| r.visitors).sum();
    let converting: i64 = rows.iter().map(|r| r.converting).sum();
    let overall = if visitors > 0 {
        format!("{:.1}%", converting as f64 * 100.0 / visitors as f64)
    } else {
        "–".into()
    };
    (visitors, converting, overall)
}

/// The same as a spreadsheet (`/app/clinics.csv?period=…`): a row per site, numbers unformatted.
pub async fn export(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(q): Query<ClinicsQuery>,
) -> Result<Response, AppError> {
    let (period, _, days) = period_of(&q);
    let rows = clinic_rows(&state, &p, days).await?;
    let mut out = String::from(
        "practice,website,visitors,previous_visitors,converting_visitors,lead_action_rate_pct,band,leads,new_patients,cost_per_lead\n",
    );
    for r in &rows {
        let (leads, patients, cost) = r.leads.map_or(
            (String::new(), String::new(), String::new()),
            |(l, n, c)| {
                (
                    l.to_string(),
                    n.to_string(),
                    c.map(|c| format!("{}.{:02}", c / 100, c % 100))
                        .unwrap_or_default(),
                )
            },
        );
        let site = if r.note.is_empty() {
            r.site.clone()
        } else {
            r.note.to_string()
        };
        let cells = [
            r.practice.clone(),
            site,
            r.visitors.to_string(),
            r.visitors_before.to_string(),
            r.converting.to_string(),
            r.rate_value.map(|v| format!("{v:.1}")).unwrap_or_default(),
            r.band.to_string(),
            leads,
            patients,
            cost,
        ];
        let cells: Vec<String> = cells
            .iter()
            .map(|c| crate::pages::settings::csv_field(c))
            .collect();
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    let today = jiff::Timestamp::now()
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .date();
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"clinics-{period}-{today}.csv\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        out,
    )
        .into_response())
}

/// A row per site of each practice the person belongs to, for the last `days` days of each.
async fn clinic_rows(
    state: &AppState,
    p: &Principal,
    days: i64,
) -> Result<Vec<ClinicRow>, AppError> {
    let user = p.user.as_ref().ok_or(AppError::Forbidden)?;
    let mut rows = Vec::new();
    for (practice, role) in state.store.practices_of(user.id).await? {
        let row = |site: String, note: &'static str| ClinicRow {
            practice_id: practice.id,
            practice: practice.name.clone(),
            current: practice.id == p.practice_id,
            site,
            note,
            visitors: 0,
            visitors_before: 0,
            visitors_change: String::new(),
            visitors_tone: "",
            converting: 0,
            rate: "–".into(),
            rate_value: None,
            rate_width: 0.0,
            rate_change: String::new(),
            rate_tone: "",
            band: "",
            band_class: "",
            leads: None,
        };
        if !role.allows(Permission::ViewAggregates) {
            rows.push(row(
                String::new(),
                "your role here does not include reports",
            ));
            continue;
        }
        let sites = state.store.sites(practice.id).await?;
        if sites.is_empty() {
            rows.push(row(String::new(), "no website set up yet"));
            continue;
        }
        // Each practice's period ends with today in its own time zone.
        let range = period_range(days, &practice_tz(state, practice.id).await?);
        let leads = state
            .store
            .lead_report(practice.id, range.from, range.to, GroupBy::Channel)
            .await?
            .total;
        let mut leads = Some((leads.leads, leads.patients, leads.cost_per_lead_cents));
        for site in sites {
            let report = state
                .store
                .website_report(&Scope::new(practice.id, site.id, range))
                .await?;
            let (now, before) = (&report.summary, &report.previous);
            let (converting, converting_before) = report.converting_visitors();
            let rate = |n: i64, of: i64| (of > 0).then(|| n as f64 * 100.0 / of as f64);
            let rate_now = rate(converting, now.visitors);
            let rate_before = converting_before.and_then(|b| rate(b, before.visitors));
            let judged = rate_now.filter(|_| now.visitors >= MIN_VISITORS_FOR_BAND);
            let mut r = row(site.domain.clone(), "");
            r.leads = leads.take();
            r.visitors = now.visitors;
            r.visitors_before = before.visitors;
            r.rate_value = rate_now;
            let (v, b) = (now.visitors as f64, before.visitors as f64);
            r.visitors_change = change(v, b).unwrap_or_default();
            r.visitors_tone = tone(v, b, true);
            r.converting = converting;
            r.rate = rate_now.map_or("–".into(), |r| format!("{r:.1}%"));
            r.rate_width = rate_now.unwrap_or(0.0);
            if let Some((a, b)) = rate_now.zip(rate_before) {
                (r.rate_change, r.rate_tone) = points(a, b);
            }
            r.band = judged.map_or(
                if rate_now.is_some() {
                    "too few visitors to judge"
                } else {
                    ""
                },
                |r| band(r).label(),
            );
            r.band_class = judged.map_or("", |r| band_class(band(r)));
            rows.push(r);
        }
    }
    Ok(rows)
}
