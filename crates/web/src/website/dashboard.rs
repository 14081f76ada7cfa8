//! The Website dashboard: for one site and period, the top-line numbers against the previous
//! period, a daily chart, goals with their conversion rates and benchmark bands, and where visits
//! came from. Periods end with today in the practice's time zone.

use askama::Template;
use axum::Extension;
use axum::extract::{Query, State};
use serde::Deserialize;
use stride_core::role::Permission;
use stride_core::website::channels::Channel;
use stride_core::website::conversion::{band, conversion_rate};
use stride_store::website::Site;
use stride_store::website::reports::{BreakdownRow, GoalCategory, Range, Summary};

use crate::AppState;
use crate::auth::Principal;
use crate::error::{AppError, PageResult};
use crate::pages::{Done, Layout, layout, practice_tz, render};

pub const PERIODS: &[(&str, &str, i64)] = &[
    ("7d", "Last 7 days", 7),
    ("30d", "Last 30 days", 30),
    ("90d", "Last 90 days", 90),
    ("12mo", "Last 12 months", 365),
];

#[derive(Deserialize, Default)]
pub struct DashboardQuery {
    site: Option<i64>,
    period: Option<String>,
}

pub struct Card {
    pub label: &'static str,
    pub value: String,
    pub change: Option<String>,
    /// Whether the change is good news (bounce rate going down is).
    pub good: bool,
}

pub struct Bar {
    pub x: i64,
    pub height: f64,
    pub label: String,
}

pub struct GoalRow {
    pub name: String,
    pub category: &'static str,
    pub converting: i64,
    pub conversions: i64,
    pub rate: String,
    pub band: &'static str,
    pub band_class: &'static str,
}

#[derive(Template)]
#[template(path = "website_dashboard.html")]
struct DashboardPage {
    l: Layout,
    sites: Vec<Site>,
    site: Option<Site>,
    period: &'static str,
    periods: &'static [(&'static str, &'static str, i64)],
    cards: Vec<Card>,
    bars: Vec<Bar>,
    chart_width: i64,
    chart_summary: String,
    goals: Vec<GoalRow>,
    /// (title, what a row is, rows)
    tables: Vec<(&'static str, &'static str, Vec<BreakdownRow>)>,
}

fn change(now: f64, before: f64) -> Option<String> {
    if before <= 0.0 {
        return None;
    }
    let pct = (now - before) / before * 100.0;
    Some(format!("{}{:.0}%", if pct >= 0.0 { "+" } else { "" }, pct))
}

fn duration(ms: Option<i64>) -> String {
    match ms {
        Some(ms) => {
            let s = ms / 1000;
            if s >= 60 {
                format!("{}m {:02}s", s / 60, s % 60)
            } else {
                format!("{s}s")
            }
        }
        None => "–".into(),
    }
}

fn cards(now: &Summary, before: &Summary) -> Vec<Card> {
    let f = |v: i64| v as f64;
    let bounce_change = match (now.bounce_rate, before.bounce_rate) {
        (Some(a), Some(b)) => Some(format!("{}{:.1} pts", if a >= b { "+" } else { "" }, a - b)),
        _ => None,
    };
    vec![
        Card {
            label: "Visitors",
            value: now.visitors.to_string(),
            change: change(f(now.visitors), f(before.visitors)),
            good: now.visitors >= before.visitors,
        },
        Card {
            label: "Visits",
            value: now.visits.to_string(),
            change: change(f(now.visits), f(before.visits)),
            good: now.visits >= before.visits,
        },
        Card {
            label: "Pageviews",
            value: now.pageviews.to_string(),
            change: change(f(now.pageviews), f(before.pageviews)),
            good: now.pageviews >= before.pageviews,
        },
        Card {
            label: "Bounce rate",
            value: now
                .bounce_rate
                .map(|b| format!("{b:.0}%"))
                .unwrap_or_else(|| "–".into()),
            change: bounce_change,
            good: now.bounce_rate <= before.bounce_rate,
        },
        Card {
            label: "Visit duration",
            value: duration(now.avg_duration_ms),
            change: change(
                now.avg_duration_ms.unwrap_or(0) as f64,
                before.avg_duration_ms.unwrap_or(0) as f64,
            ),
            good: now.avg_duration_ms >= before.avg_duration_ms,
        },
    ]
}

/// The period ending with today (local), as a range and its number of days.
pub fn period_range(days: i64, tz: &Option<stride_core::tz::TimeZoneName>) -> Range {
    let zone = tz
        .as_ref()
        .map(|t| t.tz())
        .unwrap_or(jiff::tz::TimeZone::UTC);
    let today = jiff::Timestamp::now()
        .to_zoned_datetime(zone.clone())
        .date();
    let start_of = |d: jiff::civil::Date| {
        d.to_zoned_datetime(zone.clone())
            .map(|z| z.timestamp().as_millisecond())
            .unwrap_or_default()
    };
    let end = today
        .tomorrow()
        .map(start_of)
        .unwrap_or_else(|_| jiff::Timestamp::now().as_millisecond());
    let first = today
        .checked_sub(jiff::Span::new().days(days - 1))
        .map(start_of)
        .unwrap_or(end - days * 86_400_000);
    Range {
        from: first,
        to: end,
    }
}

pub async fn dashboard(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(q): Query<DashboardQuery>,
) -> PageResult {
    if !p.can(Permission::ViewAggregates) {
        return Err(AppError::Forbidden);
    }
    let l = layout(&state, &p, "website", &Done::default()).await?;
    let sites = state.store.sites(p.practice_id).await?;
    let site = match q.site {
        Some(id) => Some(
            sites
                .iter()
                .find(|s| s.id == id)
                .cloned()
                .ok_or(AppError::NotFound)?,
        ),
        None => sites.first().cloned(),
    };
    let (period, _, days) = PERIODS
        .iter()
        .find(|(k, ..)| Some(*k) == q.period.as_deref())
        .copied()
        .unwrap_or(PERIODS[1]);
    let tz = practice_tz(&state, p.practice_id).await?;
    let range = period_range(days, &tz);
    let mut page = DashboardPage {
        l,
        sites: sites.clone(),
        site: site.clone(),
        period,
        periods: PERIODS,
        cards: Vec::new(),
        bars: Vec::new(),
        chart_width: days * 10,
        chart_summary: String::new(),
        goals: Vec::new(),
        tables: Vec::new(),
    };
    let Some(site) = site else {
        return render(&page);
    };
    let report = state
        .store
        .website_report(p.practice_id, site.id, range)
        .await?;
    let now = &report.summary;
    page.cards = cards(now, &report.previous);
    let daily = &report.daily;
    let max = daily.iter().map(|b| b.visitors).max().unwrap_or(0).max(1) as f64;
    page.bars = daily
        .iter()
        .map(|b| {
            let day = jiff::Timestamp::from_millisecond(range.from + b.index * 86_400_000)
                .map(|t| t.strftime("%b %-d").to_string())
                .unwrap_or_default();
            Bar {
                x: b.index * 10,
                height: b.visitors as f64 / max * 100.0,
                label: format!("{day}: {} visitors", b.visitors),
            }
        })
        .collect();
    let busiest = daily.iter().max_by_key(|b| b.visitors);
    page.chart_summary = format!(
        "Visitors per day over {days} days: {} in all{}",
        now.visitors,
        busiest
            .map(|b| format!(", at most {} in a day", b.visitors))
            .unwrap_or_default()
    );
    page.goals = report
        .goals
        .iter()
        .map(|g| {
            let rate = conversion_rate(g.converting_visitors as u64, now.visitors as u64);
            // The industry bands describe lead actions; early-interest goals are not judged by them.
            let b = rate
                .filter(|_| g.goal.category == GoalCategory::LeadAction)
                .map(band);
            GoalRow {
                name: g.goal.name.clone(),
                category: g.goal.category.label(),
                converting: g.converting_visitors,
                conversions: g.conversions,
                rate: rate
                    .map(|r| format!("{r:.1}%"))
                    .unwrap_or_else(|| "–".into()),
                band: b.map(|b| b.label()).unwrap_or(""),
                band_class: match b.map(|b| b.as_str()) {
                    Some("needs_attention") => "bad",
                    Some("below_typical") => "warn",
                    Some(_) => "ok",
                    None => "",
                },
            }
        })
        .collect();
    let channels = report
        .channels
        .into_iter()
        .map(|mut r| {
            if let Ok(c) = r.key.parse::<Channel>() {
                r.key = format!("{} ({})", c.label(), c.direction().label().to_lowercase());
            }
            r
        })
        .collect();
    page.tables = vec![
        ("Sources", "Source", report.sources),
        ("Channels", "Channel", channels),
        ("Campaigns", "Campaign", report.campaigns),
        ("Top pages", "Page", report.pages),
        ("Landing pages", "Page", report.landing_pages),
        ("Devices", "Device", report.devices),
    ];
    render(&page)
}
