//! The Website dashboard: for one site and period, the top-line numbers against the previous
//! period, a daily chart, goals with their conversion rates and benchmark bands, and where visits
//! came from. Periods end with today in the practice's time zone.

use askama::Template;
use axum::Extension;
use axum::extract::{Query, State};
use serde::Deserialize;
use stride_core::role::Permission;
use stride_core::website::channels::Channel;
use stride_core::website::conversion::{Band, band, conversion_rate};
use stride_core::website::insights::likely_meant;

/// Visitors a period needs before a lead action's rate is given its benchmark band.
pub(crate) const MIN_VISITORS_FOR_BAND: i64 = 200;
use stride_store::website::Filters;
use stride_store::website::Site;
use stride_store::website::insights::ConditionResult;
use stride_store::website::reports::{
    BreakdownRow, Earlier, GoalCategory, GoalKind, Range, Scope, Summary,
};

use crate::AppState;
use crate::auth::Principal;
use crate::error::{AppError, PageResult};
use crate::pages::{Done, Layout, count, layout, practice_tz, render};

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
    /// A custom range's first and last day (YYYY-MM-DD), overriding the period.
    from: Option<String>,
    to: Option<String>,
    /// The custom range the page showed when its form was sent: a named period picked while the
    /// dates are still those replaces them; changed dates replace the period.
    shown_from: Option<String>,
    shown_to: Option<String>,
    #[serde(flatten)]
    filters: Filters,
}

pub struct Card {
    pub label: &'static str,
    pub value: String,
    /// A line under the value ("7.2% of visitors"), or empty.
    pub note: String,
    pub change: Option<String>,
    /// The change badge's colour: "ok" for good news (bounce rate going down is), "warn" for bad,
    /// empty for a change too small to mean either.
    pub tone: &'static str,
}

pub struct Bar {
    pub x: i64,
    pub height: f64,
    pub label: String,
}

/// A date under the chart: its text and where it sits (CSS, as a share of the chart's width).
pub struct Tick {
    pub text: String,
    pub style: String,
}

pub struct GoalRow {
    pub name: String,
    pub category: &'static str,
    pub converting: i64,
    pub conversions: i64,
    pub rate: String,
    pub band: &'static str,
    pub band_class: &'static str,
    /// The rate's change from the previous period in percentage points ("+0.4 pts"), and whether
    /// it went up; empty when there is nothing to compare.
    pub rate_change: String,
    pub rate_up: bool,
}

#[derive(Template)]
#[template(path = "website_dashboard.html")]
struct DashboardPage {
    l: Layout,
    sites: Vec<Site>,
    site: Option<Site>,
    period: &'static str,
    periods: &'static [(&'static str, &'static str, i64)],
    custom: bool,
    error: Option<String>,
    picked: Picked,
    channels: Vec<(&'static str, &'static str)>,
    cards: Vec<Card>,
    bars: Vec<Bar>,
    ticks: Vec<Tick>,
    chart_width: i64,
    /// The period's days in words, and the previous period's ("Nov 2 – Dec 1, 2026").
    shown_range: String,
    previous_range: String,
    /// Values seen in the period, offered as suggestions in the source and campaign filters.
    source_values: Vec<String>,
    campaign_values: Vec<String>,
    page_values: Vec<String>,
    /// When the filters match nothing: values of the period close to what was typed ("google"
    /// for "Google"), as (filter label, value), and the dashboard's address with all of them.
    suggestions: Vec<(&'static str, String)>,
    suggestion_link: String,
    /// A source or campaign was typed in other capitals, or matches nothing at all.
    capitals_hint: bool,
    /// An exact page filter with pages under it: the pattern for all of them, and its address.
    page_hint: Option<(String, String)>,
    /// Every filter value is in the period, but no visit has them all.
    conflicting: bool,
    /// The previous period is being totalled again (after a change of goals), so goals and rows
    /// are not compared with it for now.
    recounting: bool,
    /// The days of a custom period still ahead ("Dec 2 – Dec 31, 2026"), if any: the period is
    /// read and compared through today.
    ahead: String,
    /// The whole period lies ahead: nothing can be in it yet.
    future: bool,
    chart_summary: String,
    goals: Vec<GoalRow>,
    confirmations: Vec<ConfirmRow>,
    funnels: Vec<FunnelView>,
    conditions: Vec<ConditionResult>,
    /// The page patterns goals, funnels and condition pages use, offered in the page filter: the
    /// rollups keep them, so filtering by one is as quick as by one page.
    page_patterns: Vec<String>,
    /// The filters are a combination the rollups do not serve yet: remembered by this report and
    /// filled in in the background, read from the raw events until then.
    preparing: bool,
    /// (title, what a row is, the filter a row sets, rows, a note under the table)
    tables: Vec<(
        &'static str,
        &'static str,
        &'static str,
        Vec<Row>,
        &'static str,
    )>,
}

impl DashboardPage {
    /// This report as a spreadsheet: the same site, range and filters.
    fn export_link(&self) -> String {
        let site = self.site.as_ref().map(|s| s.id).unwrap_or_default();
        query_string(
            site,
            self.period,
            self.from(),
            self.to(),
            &self.picked.filters,
        )
        .replacen("/app/website?", "/app/website/export.csv?", 1)
    }

    /// The custom range's first day for links, or nothing (refused dates stay in the form only).
    fn from(&self) -> &str {
        if self.custom { &self.picked.from } else { "" }
    }

    fn to(&self) -> &str {
        if self.custom { &self.picked.to } else { "" }
    }

    /// A count as the page shows it, with thousands separators.
    fn n(&self, v: &i64) -> String {
        count(*v)
    }

    /// The dashboard's address with one more filter set, for the rows of a breakdown.
    fn filter_link(&self, key: &str, value: &str) -> String {
        self.filters_link(&[(key, value)])
    }

    /// The dashboard's address with these filters set to these values, the others kept.
    fn filters_link(&self, changes: &[(&str, &str)]) -> String {
        let mut f = self.picked.filters.clone();
        for (key, value) in changes {
            let v = Some(value.to_string());
            match *key {
                "source" => f.source = v,
                "channel" => f.channel = v,
                "campaign" => f.campaign = v,
                "page" => f.page = v,
                _ => f.device = v,
            }
        }
        let site = self.site.as_ref().map(|s| s.id).unwrap_or_default();
        query_string(site, self.period, self.from(), self.to(), &f)
    }
}

pub(crate) fn change(now: f64, before: f64) -> Option<String> {
    if before <= 0.0 {
        return None;
    }
    let pct = (now - before) / before * 100.0;
    if pct.abs() < 0.5 {
        // Not "+0%" or "-0%".
        return Some("0%".into());
    }
    Some(format!("{}{:.0}%", if pct >= 0.0 { "+" } else { "" }, pct))
}

/// The badge colour of a change from `before` to `now` where up is good (or bad, when `up_good`
/// is false): none below two percent either way, which is day-to-day noise for a clinic's site.
pub(crate) fn tone(now: f64, before: f64, up_good: bool) -> &'static str {
    if before <= 0.0 || ((now - before) / before).abs() < 0.02 {
        ""
    } else if (now > before) == up_good {
        "ok"
    } else {
        "warn"
    }
}

/// A rate's change in percentage points ("+0.4 pts"), and its badge colour (none under 0.1 point).
pub(crate) fn points(now: f64, before: f64) -> (String, &'static str) {
    let d = now - before;
    let tone = match d {
        d if d.abs() < 0.1 => "",
        d if d > 0.0 => "ok",
        _ => "warn",
    };
    (
        format!("{}{d:.1} pts", if d >= 0.0 { "+" } else { "" }),
        tone,
    )
}

/// The badge colour of a benchmark band.
pub(crate) fn band_class(b: Band) -> &'static str {
    match b {
        Band::NeedsAttention => "bad",
        Band::BelowTypical => "warn",
        Band::Healthy | Band::Strong | Band::HighPerforming => "ok",
    }
}

/// "Mobile" for "mobile".
fn capitalized(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
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

/// The top-line cards. `converting` is the visitors who completed a lead action, now and in the
/// previous period when known.
fn cards(now: &Summary, before: &Summary, converting: (i64, Option<i64>)) -> Vec<Card> {
    let f = |v: i64| v as f64;
    let counted = |label, now: i64, before: i64| Card {
        label,
        value: count(now),
        note: String::new(),
        change: change(f(now), f(before)),
        tone: tone(f(now), f(before), true),
    };
    let (bounce_change, bounce_tone) = match (now.bounce_rate, before.bounce_rate) {
        (Some(a), Some(b)) => (
            Some(format!("{}{:.1} pts", if a >= b { "+" } else { "" }, a - b)),
            match a - b {
                d if d.abs() < 0.5 => "",
                d if d < 0.0 => "ok",
                _ => "warn",
            },
        ),
        _ => (None, ""),
    };
    let (lead_now, lead_before) = converting;
    let rate = |n: i64, of: i64| (of > 0).then(|| n as f64 * 100.0 / of as f64);
    let (rate_now, rate_before) = (
        rate(lead_now, now.visitors),
        lead_before.and_then(|b| rate(b, before.visitors)),
    );
    let (duration_now, duration_before) = (
        now.avg_duration_ms.unwrap_or(0) as f64,
        before.avg_duration_ms.unwrap_or(0) as f64,
    );
    vec![
        counted("Visitors", now.visitors, before.visitors),
        counted("Visits", now.visits, before.visits),
        Card {
            note: rate_now
                .map(|r| format!("{r:.1}% of visitors"))
                .unwrap_or_default(),
            change: rate_now.zip(rate_before).map(|(a, b)| points(a, b).0),
            tone: rate_now
                .zip(rate_before)
                .map_or("", |(a, b)| points(a, b).1),
            ..counted("Converting visitors", lead_now, 0)
        },
        counted("Pageviews", now.pageviews, before.pageviews),
        Card {
            label: "Bounce rate",
            value: now
                .bounce_rate
                .map(|b| format!("{b:.0}%"))
                .unwrap_or_else(|| "–".into()),
            note: String::new(),
            change: bounce_change,
            tone: bounce_tone,
        },
        Card {
            label: "Visit duration",
            value: duration(now.avg_duration_ms),
            note: String::new(),
            change: change(duration_now, duration_before),
            tone: tone(duration_now, duration_before, true),
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

/// A range that runs past today, cut at the end of today: the days ahead hold nothing yet, and
/// the previous period it is compared with then has as many days as have happened. A range that
/// has not begun is left whole.
pub fn through_today(range: Range, tz: &Option<stride_core::tz::TimeZoneName>) -> Range {
    let end_of_today = period_range(1, tz).to;
    if range.from < end_of_today && end_of_today < range.to {
        Range {
            to: end_of_today,
            ..range
        }
    } else {
        range
    }
}

/// The range a report covers: `from`/`to` dates in the practice's time zone, or a named period.
pub fn report_range(
    period: Option<&str>,
    from: Option<&str>,
    to: Option<&str>,
    tz: &Option<stride_core::tz::TimeZoneName>,
) -> Result<Range, AppError> {
    match (from, to) {
        (Some(from), Some(to)) => {
            let parse = |s: &str| {
                s.parse::<jiff::civil::Date>()
                    .map_err(|_| AppError::invalid(format!("“{s}” is not a date like 2026-11-01")))
            };
            let (from, to) = (parse(from)?, parse(to)?);
            if to < from {
                return Err(AppError::invalid("the range ends before it starts"));
            }
            if (to - from).get_days() > 3660 {
                return Err(AppError::invalid("a range covers at most ten years"));
            }
            let zone = tz
                .as_ref()
                .map(|t| t.tz())
                .unwrap_or(jiff::tz::TimeZone::UTC);
            let start = |d: jiff::civil::Date| {
                d.to_zoned_datetime(zone.clone())
                    .map(|z| z.timestamp().as_millisecond())
                    .map_err(|_| AppError::invalid("date out of range"))
            };
            let end = to
                .tomorrow()
                .map_err(|_| AppError::invalid("date out of range"))?;
            Ok(Range {
                from: start(from)?,
                to: start(end)?,
            })
        }
        (None, None) => {
            let (_, _, days) = match period {
                Some(p) => *PERIODS
                    .iter()
                    .find(|(k, ..)| *k == p)
                    .ok_or_else(|| AppError::invalid("period must be 7d, 30d, 90d or 12mo"))?,
                None => PERIODS[1],
            };
            Ok(period_range(days, tz))
        }
        _ => Err(AppError::invalid("give both from and to, or neither")),
    }
}

/// Where the dashboard's query string says a filter or a range goes, kept for links and forms.
pub struct Picked {
    pub from: String,
    pub to: String,
    pub filters: Filters,
    /// The active filters as (label, value, the dashboard's address without this one).
    pub chips: Vec<(&'static str, String, String)>,
}

fn query_string(site: i64, period: &str, from: &str, to: &str, filters: &Filters) -> String {
    let custom = !from.is_empty() && !to.is_empty();
    let mut pairs: Vec<(&str, &str)> = vec![("period", if custom { "custom" } else { period })];
    if custom {
        pairs.push(("from", from));
        pairs.push(("to", to));
    }
    for (k, v) in [
        ("source", &filters.source),
        ("channel", &filters.channel),
        ("campaign", &filters.campaign),
        ("page", &filters.page),
        ("device", &filters.device),
    ] {
        if let Some(v) = v {
            pairs.push((k, v));
        }
    }
    let site = site.to_string();
    pairs.insert(0, ("site", &site));
    format!(
        "/app/website?{}",
        serde_urlencoded::to_string(&pairs).unwrap_or_default()
    )
}

/// "Nov 2 – Dec 1, 2026" for the local days of `range` (its end is exclusive).
pub(crate) fn days_in_words(range: Range, zone: &jiff::tz::TimeZone) -> String {
    let day = |ms: i64| {
        jiff::Timestamp::from_millisecond(ms)
            .unwrap_or_default()
            .to_zoned_datetime(zone.clone())
            .date()
    };
    let (first, last) = (day(range.from), day(range.to - 1));
    if first == last {
        first.strftime("%b %-d, %Y").to_string()
    } else if first.year() == last.year() {
        format!(
            "{} – {}",
            first.strftime("%b %-d"),
            last.strftime("%b %-d, %Y")
        )
    } else {
        format!(
            "{} – {}",
            first.strftime("%b %-d, %Y"),
            last.strftime("%b %-d, %Y")
        )
    }
}

/// Dates under a chart of `days` bars from `first`: each day for up to ten days, each week's
/// first day up to two months, and each month beyond (at its first day, or at the chart's start
/// when that is early in a month). A label near an edge is
/// anchored to it so it stays within the chart.
fn ticks(first: jiff::civil::Date, days: i64) -> Vec<Tick> {
    let mut out = Vec::new();
    for i in 0..days {
        let Ok(d) = first.checked_add(jiff::Span::new().days(i)) else {
            break;
        };
        let (show, text) = if days <= 10 {
            (true, d.strftime("%b %-d").to_string())
        } else if days <= 62 {
            (i % 7 == 0, d.strftime("%b %-d").to_string())
        } else if d.day() == 1 || (i == 0 && d.day() < 20) {
            // The year on January and on the first label; a first day late in its month is left
            // to the next month's label, which follows within days.
            let fmt = if d.month() == 1 || out.is_empty() {
                "%b %Y"
            } else {
                "%b"
            };
            (true, d.strftime(fmt).to_string())
        } else {
            (false, String::new())
        };
        if !show {
            continue;
        }
        let centre = (i as f64 + 0.5) / days as f64 * 100.0;
        let style = if centre < 6.0 {
            format!("left:{:.2}%", i as f64 / days as f64 * 100.0)
        } else if centre > 94.0 {
            format!("right:{:.2}%", (days - i - 1) as f64 / days as f64 * 100.0)
        } else {
            format!("left:{centre:.2}%;transform:translateX(-50%)")
        };
        out.push(Tick { text, style });
    }
    out
}

/// A breakdown row: shown name, a channel's direction ("inbound", "outbound", or empty), filter
/// value, visitors, their change from the previous period ("+12%", "new", or empty), converting
/// visitors and the conversion rate.
type Row = (String, &'static str, String, i64, String, i64, String);

/// A row's change in visitors from the previous period: a percentage, "new" for a row the previous
/// period did not have, or nothing when there is no previous period to compare with.
fn row_change(visitors: i64, previous: Option<Earlier>) -> String {
    match previous {
        None => String::new(),
        Some(p) if p.visitors == 0 => "new".into(),
        Some(p) => change(visitors as f64, p.visitors as f64).unwrap_or_default(),
    }
}

pub struct ConfirmRow {
    pub event: String,
    pub page: String,
    pub clicked: i64,
    pub confirmed: i64,
    pub gap: i64,
    pub gap_pct: String,
}

pub struct FunnelView {
    pub name: String,
    /// (label, visits, bar width in percent of the first step, drop-off text)
    pub steps: Vec<(String, i64, f64, String)>,
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
    let mut from = q.from.clone().unwrap_or_default();
    let mut to = q.to.clone().unwrap_or_default();
    // A named period picked while the form still held the custom dates it showed: the period.
    let named = PERIODS
        .iter()
        .any(|(k, ..)| Some(*k) == q.period.as_deref());
    if named
        && q.shown_from.as_deref() == Some(from.as_str())
        && q.shown_to.as_deref() == Some(to.as_str())
    {
        from.clear();
        to.clear();
    }
    let mut error = None;
    let range = if from.is_empty() || to.is_empty() {
        if q.period.as_deref() == Some("custom") {
            error = Some("for custom dates, pick both the first and the last day".to_string());
        }
        period_range(days, &tz)
    } else {
        match report_range(None, Some(&from), Some(&to), &tz) {
            Ok(r) => r,
            Err(e) => {
                error = Some(crate::pages::form_error(e)?);
                period_range(days, &tz)
            }
        }
    };
    let custom = error.is_none() && !from.is_empty() && !to.is_empty();
    let days = ((range.to - range.from + 3_600_000) / 86_400_000).max(1);
    let filters = q.filters.clone().normalized();
    let site_id = site.as_ref().map(|s| s.id).unwrap_or_default();
    let (cf, ct) = if custom {
        (from.as_str(), to.as_str())
    } else {
        ("", "")
    };
    let chips = [
        (
            "Source",
            &filters.source,
            Filters {
                source: None,
                ..filters.clone()
            },
        ),
        (
            "Channel",
            &filters.channel,
            Filters {
                channel: None,
                ..filters.clone()
            },
        ),
        (
            "Campaign",
            &filters.campaign,
            Filters {
                campaign: None,
                ..filters.clone()
            },
        ),
        (
            "Page",
            &filters.page,
            Filters {
                page: None,
                ..filters.clone()
            },
        ),
        (
            "Device",
            &filters.device,
            Filters {
                device: None,
                ..filters.clone()
            },
        ),
    ]
    .into_iter()
    .filter_map(|(label, v, without)| {
        v.as_ref().map(|v| {
            let shown = match label {
                "Channel" => v
                    .parse::<Channel>()
                    .map(|c| c.label().to_string())
                    .unwrap_or_else(|_| v.clone()),
                _ => v.clone(),
            };
            (
                label,
                shown,
                query_string(site_id, period, cf, ct, &without),
            )
        })
    })
    .collect();
    // Dates that were refused stay in the form, to be corrected.
    let picked = Picked {
        from: from.clone(),
        to: to.clone(),
        filters: filters.clone(),
        chips,
    };
    let mut page = DashboardPage {
        l,
        sites: sites.clone(),
        site: site.clone(),
        period,
        periods: PERIODS,
        custom,
        error,
        picked,
        channels: Channel::ALL
            .iter()
            .map(|c| (c.as_str(), c.label()))
            .collect(),
        cards: Vec::new(),
        bars: Vec::new(),
        ticks: Vec::new(),
        chart_width: days * 10,
        shown_range: String::new(),
        previous_range: String::new(),
        source_values: Vec::new(),
        campaign_values: Vec::new(),
        page_values: Vec::new(),
        suggestions: Vec::new(),
        suggestion_link: String::new(),
        capitals_hint: false,
        page_hint: None,
        conflicting: false,
        recounting: false,
        ahead: String::new(),
        future: false,
        chart_summary: String::new(),
        goals: Vec::new(),
        confirmations: Vec::new(),
        funnels: Vec::new(),
        conditions: Vec::new(),
        page_patterns: Vec::new(),
        preparing: false,
        tables: Vec::new(),
    };
    let Some(site) = site else {
        return render(&page);
    };
    // Custom dates running past today are read, and compared, through today.
    let whole = range;
    let range = through_today(range, &tz);
    // The chart covers the days counted.
    let days = ((range.to - range.from + 3_600_000) / 86_400_000).max(1);
    page.chart_width = days * 10;
    let scope = Scope::new(p.practice_id, site.id, range).with_filters(filters);
    // A combination of filters the rollups do not serve yet, on a site whose rollups serve the
    // plain report. Asked before the report is read: asking remembers the combination, and the
    // rollup task, woken, may fill in a small site before this request is answered.
    page.preparing = !scope.filters.is_empty()
        && state.store.rolled_up_part(&scope).await?.is_none()
        && state
            .store
            .rolled_up_part(&Scope::new(p.practice_id, site.id, range))
            .await?
            .is_some();
    let report = state.store.website_report(&scope).await?;
    let now = &report.summary;
    page.cards = cards(now, &report.previous, report.converting_visitors());
    // Rows are compared with the previous period only where rollups serve it; right after goals
    // change, they are being totalled again.
    page.recounting = now.visitors > 0
        && report.previous.visitors > 0
        && report.goals.iter().all(|g| g.previous.is_none())
        && scope.filters.is_empty();
    let daily = &report.daily;
    let zone = tz
        .as_ref()
        .map(|t| t.tz())
        .unwrap_or(jiff::tz::TimeZone::UTC);
    let first_day = jiff::Timestamp::from_millisecond(range.from)
        .unwrap_or_default()
        .to_zoned_datetime(zone.clone())
        .date();
    page.ticks = ticks(first_day, days);
    page.future = range.from > jiff::Timestamp::now().as_millisecond();
    if page.future {
        // Nothing to compare: the period before may not have ended either.
        for card in &mut page.cards {
            card.change = None;
            card.tone = "";
        }
    }
    page.shown_range = days_in_words(range, &zone);
    let now_ms = jiff::Timestamp::now().as_millisecond();
    let under_way = !page.future && range.to > now_ms;
    if under_way {
        page.shown_range.push_str(" (today so far)");
    }
    if range != whole {
        page.ahead = days_in_words(
            Range {
                from: range.to,
                to: whole.to,
            },
            &zone,
        );
    }
    // The period the store compared with: for one under way, the same stretch of time before it.
    if let Some(compared) = report.previous_range {
        page.previous_range = days_in_words(compared, &zone);
    }
    if under_way {
        page.previous_range
            .push_str(" (up to the same time of day)");
    }
    // The period's values without the filters, for suggestions: the filtered report has only
    // those that match.
    let all = if scope.filters.is_empty() {
        None
    } else {
        Some(
            state
                .store
                .website_report_rows(&Scope::new(p.practice_id, site.id, range), Some(1000))
                .await?,
        )
    };
    let unfiltered = all.as_ref().unwrap_or(&report);
    if let Some(all) = all.as_ref().filter(|_| now.visitors == 0) {
        // Nothing matches: look for what was likely meant among the period's own values.
        let keys = |rows: &[BreakdownRow]| rows.iter().map(|r| r.key.clone()).collect::<Vec<_>>();
        let mut found = Vec::new();
        for (key, label, typed, values) in [
            (
                "source",
                "Source",
                &scope.filters.source,
                keys(&all.sources),
            ),
            (
                "campaign",
                "Campaign",
                &scope.filters.campaign,
                keys(&all.campaigns),
            ),
            ("page", "Page", &scope.filters.page, keys(&all.pages)),
        ] {
            if let Some(meant) = typed.as_deref().and_then(|t| likely_meant(t, &values))
                && Some(meant) != typed.as_deref()
            {
                found.push((key, label, meant.to_string()));
            }
        }
        let changes: Vec<(&str, &str)> = found.iter().map(|(k, _, v)| (*k, v.as_str())).collect();
        page.suggestion_link = page.filters_link(&changes);
        page.suggestions = found.into_iter().map(|(_, l, v)| (l, v)).collect();
        let f = &scope.filters;
        let has = |rows: &[BreakdownRow], v: &Option<String>| {
            v.as_ref().is_none_or(|v| rows.iter().any(|r| &r.key == v))
        };
        // Capitals are a likely mistake in a source or campaign the period does not have.
        page.capitals_hint = !has(&all.sources, &f.source) || !has(&all.campaigns, &f.campaign);
        let page_seen = f.page.as_ref().is_none_or(|p| {
            all.pages
                .iter()
                .any(|r| stride_core::website::insights::path_matches(p, &r.key))
        });
        // An exact page with pages under it ("/blog" for "/blog/…"): offer the pattern.
        if let Some(p) = f.page.as_ref().filter(|p| !p.contains('*')) {
            let under = format!("{}/", p.trim_end_matches('/'));
            if all.pages.iter().any(|r| r.key.starts_with(&under)) {
                let pattern = format!("{under}*");
                page.page_hint = Some((pattern.clone(), page.filters_link(&[("page", &pattern)])));
            }
        }
        // Each value is in the period, yet no visit has them all.
        page.conflicting = page.suggestions.is_empty()
            && page.page_hint.is_none()
            && has(&all.sources, &f.source)
            && has(&all.campaigns, &f.campaign)
            && has(&all.channels, &f.channel)
            && has(&all.devices, &f.device)
            && page_seen;
    }
    page.source_values = unfiltered.sources.iter().map(|r| r.key.clone()).collect();
    page.campaign_values = unfiltered.campaigns.iter().map(|r| r.key.clone()).collect();
    // The period's busiest pages, after the patterns.
    page.page_values = unfiltered
        .pages
        .iter()
        .take(15)
        .map(|r| r.key.clone())
        .collect();
    let max = daily.iter().map(|b| b.visitors).max().unwrap_or(0).max(1) as f64;
    page.bars = daily
        .iter()
        .map(|b| {
            let day = first_day
                .checked_add(jiff::Span::new().days(b.index))
                .map(|d| d.strftime("%b %-d").to_string())
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
        count(now.visitors),
        busiest
            .map(|b| format!(", at most {} in a day", count(b.visitors)))
            .unwrap_or_default()
    );
    // An event goal that counts nothing may name an event the site never sends.
    let silent = if report
        .goals
        .iter()
        .any(|g| g.goal.kind == GoalKind::Event && g.conversions == 0)
    {
        let since = jiff::Timestamp::now().as_millisecond() - 30 * 86_400_000;
        let received = state
            .store
            .event_names_since(p.practice_id, site.id, since)
            .await?;
        report
            .goals
            .iter()
            .filter(|g| g.goal.kind == GoalKind::Event && !received.contains(&g.goal.pattern))
            .map(|g| g.goal.id)
            .collect()
    } else {
        Vec::new()
    };
    page.goals = report
        .goals
        .iter()
        .map(|g| {
            let rate = conversion_rate(g.converting_visitors as u64, now.visitors as u64);
            // The industry bands describe lead actions; early-interest goals are not judged by them,
            // nor is a period with too few visitors for a rate to mean much (one conversion more or
            // less would move it a band).
            let lead = g.goal.category == GoalCategory::LeadAction;
            let judged = now.visitors >= MIN_VISITORS_FOR_BAND;
            let unheard = silent.contains(&g.goal.id);
            let b = rate.filter(|_| lead && judged && !unheard).map(band);
            let before = g
                .previous
                .and_then(|p| conversion_rate(p.converting as u64, p.visitors as u64));
            let delta = rate.zip(before).map(|(now, then)| now - then);
            GoalRow {
                name: g.goal.name.clone(),
                category: g.goal.category.label(),
                converting: g.converting_visitors,
                conversions: g.conversions,
                rate: rate
                    .map(|r| format!("{r:.1}%"))
                    .unwrap_or_else(|| "–".into()),
                band: match b {
                    None if unheard => "no such event in 30 days: check its name in set-up",
                    Some(b) => b.label(),
                    None if lead && rate.is_some() => "too few visitors to judge",
                    None => "",
                },
                band_class: match b {
                    None if unheard => "warn",
                    Some(b) => band_class(b),
                    None => "",
                },
                rate_change: delta
                    .map(|d| format!("{}{d:.1} pts", if d >= 0.0 { "+" } else { "" }))
                    .unwrap_or_default(),
                rate_up: delta.is_some_and(|d| d >= 0.0),
            }
        })
        .collect();
    page.confirmations = report
        .goals
        .iter()
        .filter_map(|g| {
            let c = g.confirmation.as_ref()?;
            let gap = (c.clicked - c.confirmed).max(0);
            Some(ConfirmRow {
                event: g.goal.name.clone(),
                page: c.page_goal.clone(),
                clicked: c.clicked,
                confirmed: c.confirmed,
                gap,
                gap_pct: if c.clicked > 0 {
                    format!("{:.0}%", gap as f64 * 100.0 / c.clicked as f64)
                } else {
                    "–".into()
                },
            })
        })
        .collect();
    page.page_patterns = state
        .store
        .rolled_up_patterns(p.practice_id, site.id)
        .await?;
    // A step a goal also counts goes by the goal's name ("Reached the thank-you page"), with the
    // step itself after it.
    let goals = &report.goals;
    page.funnels = report
        .funnels
        .into_iter()
        .map(|f| FunnelView {
            name: f.funnel.name,
            steps: f
                .steps
                .into_iter()
                .zip(&f.funnel.steps)
                .map(|(s, step)| {
                    let named = goals
                        .iter()
                        .find(|g| g.goal.kind == step.kind && g.goal.pattern == step.pattern);
                    (
                        match named {
                            // "Appointment request" for the event "Appointment Request" says it all.
                            Some(g) if g.goal.name.eq_ignore_ascii_case(&step.pattern) => {
                                g.goal.name.clone()
                            }
                            Some(g) => format!("{} ({})", g.goal.name, s.label),
                            None => s.label.clone(),
                        },
                        s.visits,
                        s.of_first.unwrap_or(0.0),
                        s.dropoff
                            .map(|d| format!("{d:.0}% dropped off"))
                            .unwrap_or_default(),
                    )
                })
                .collect(),
        })
        .collect();
    page.conditions = report.conditions;
    // Only the Channels table's keys are channels: a source named "Direct" or "email" is shown as is.
    let rows = |rows: Vec<BreakdownRow>, channels: bool| -> Vec<Row> {
        rows.into_iter()
            .map(|r| {
                let (shown, direction) = match r.key.parse::<Channel>() {
                    Ok(c) if channels => (c.label().to_string(), c.direction().as_str()),
                    _ => (r.key.clone(), ""),
                };
                let rate = conversion_rate(r.converting as u64, r.visitors as u64)
                    .map(|r| format!("{r:.1}%"))
                    .unwrap_or_else(|| "–".into());
                let changed = row_change(r.visitors, r.previous);
                (
                    shown,
                    direction,
                    r.key,
                    r.visitors,
                    changed,
                    r.converting,
                    rate,
                )
            })
            .collect()
    };
    page.tables = vec![
        (
            "Sources",
            "Source",
            "source",
            rows(report.sources, false),
            "",
        ),
        (
            "Channels",
            "Channel",
            "channel",
            rows(report.channels, true),
            "Inbound: people who found the clinic themselves (search, social posts, referrals, \
             typing the address). Outbound: people the clinic reached (ads, email, print).",
        ),
        (
            "Campaigns",
            "Campaign",
            "campaign",
            rows(report.campaigns, false),
            "",
        ),
        ("Top pages", "Page", "page", rows(report.pages, false), ""),
        (
            "Landing pages",
            "Page",
            "page",
            rows(report.landing_pages, false),
            "",
        ),
        (
            "Devices",
            "Device",
            "device",
            rows(report.devices, false)
                .into_iter()
                .map(|mut r| {
                    r.0 = capitalized(&r.0);
                    r
                })
                .collect(),
            "",
        ),
        ("Browsers", "Browser", "", rows(report.browsers, false), ""),
        ("Systems", "System", "", rows(report.systems, false), ""),
    ];
    render(&page)
}

/// The dashboard's report as a spreadsheet (`/app/website/export.csv`, the dashboard's query):
/// one row per total, goal and breakdown row, with the previous period's visitors where known,
/// for an agency's monthly report. Figures only: no visitor is identifiable in it.
pub async fn export(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(q): Query<DashboardQuery>,
) -> Result<axum::response::Response, AppError> {
    use axum::http::header;
    use axum::response::IntoResponse;
    if !p.can(Permission::ViewAggregates) {
        return Err(AppError::Forbidden);
    }
    let sites = state.store.sites(p.practice_id).await?;
    let site = match q.site {
        Some(id) => sites.iter().find(|s| s.id == id),
        None => sites.first(),
    }
    .ok_or(AppError::NotFound)?;
    let tz = practice_tz(&state, p.practice_id).await?;
    let dates = (q.from.as_deref(), q.to.as_deref());
    let range = match dates {
        (Some(f), Some(t)) if !f.is_empty() && !t.is_empty() => {
            report_range(None, Some(f), Some(t), &tz)?
        }
        _ => report_range(
            q.period.as_deref().filter(|p| *p != "custom"),
            None,
            None,
            &tz,
        )?,
    };
    let scope = Scope::new(p.practice_id, site.id, through_today(range, &tz))
        .with_filters(q.filters.clone());
    let report = state.store.website_report_rows(&scope, Some(1000)).await?;
    let zone = tz
        .as_ref()
        .map(|t| t.tz())
        .unwrap_or(jiff::tz::TimeZone::UTC);
    let day = |ms: i64| {
        jiff::Timestamp::from_millisecond(ms)
            .unwrap_or_default()
            .to_zoned_datetime(zone.clone())
            .date()
            .to_string()
    };
    let (first, last) = (day(range.from), day(range.to - 1));
    // The filters, named in the total row so a filtered file is told apart.
    let filtered: String = [
        ("source", &scope.filters.source),
        ("channel", &scope.filters.channel),
        ("campaign", &scope.filters.campaign),
        ("page", &scope.filters.page),
        ("device", &scope.filters.device),
    ]
    .iter()
    .filter_map(|(k, v)| v.as_ref().map(|v| format!(", only {k} {v}")))
    .collect();
    let rate = |n: i64, of: i64| {
        conversion_rate(n as u64, of as u64)
            .map(|r| format!("{r:.1}"))
            .unwrap_or_default()
    };
    let visitors = report.summary.visitors;
    let (converting, _) = report.converting_visitors();
    let mut out = String::from(
        "section,name,visitors,visits,converting_visitors,conversion_rate_pct,previous_visitors\n",
    );
    let mut line = |fields: [String; 7]| {
        let cells: Vec<String> = fields
            .iter()
            .map(|f| crate::pages::settings::csv_field(f))
            .collect();
        out.push_str(&cells.join(","));
        out.push('\n');
    };
    line([
        "Total".into(),
        format!("{} {first} to {last}{filtered}", site.domain),
        visitors.to_string(),
        report.summary.visits.to_string(),
        converting.to_string(),
        rate(converting, visitors),
        report.previous.visitors.to_string(),
    ]);
    for g in &report.goals {
        line([
            format!("Goal ({})", g.goal.category.label()),
            g.goal.name.clone(),
            visitors.to_string(),
            String::new(),
            g.converting_visitors.to_string(),
            rate(g.converting_visitors, visitors),
            g.previous
                .map(|p| p.visitors.to_string())
                .unwrap_or_default(),
        ]);
    }
    for (section, rows) in [
        ("Source", &report.sources),
        ("Channel", &report.channels),
        ("Campaign", &report.campaigns),
        ("Page", &report.pages),
        ("Landing page", &report.landing_pages),
        ("Device", &report.devices),
        ("Browser", &report.browsers),
        ("System", &report.systems),
    ] {
        for r in rows {
            let name = match r.key.parse::<Channel>() {
                Ok(c) if section == "Channel" => c.label().to_string(),
                _ => r.key.clone(),
            };
            line([
                section.into(),
                name,
                r.visitors.to_string(),
                r.visits.to_string(),
                r.converting.to_string(),
                rate(r.converting, r.visitors),
                r.previous
                    .map(|p| p.visitors.to_string())
                    .unwrap_or_default(),
            ]);
        }
    }
    let file = format!(
        "{}-{first}-to-{last}.csv",
        site.domain.replace(['"', '/'], "")
    );
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        out,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_have_thousands_separators() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(11_492), "11,492");
        assert_eq!(count(2_823_500), "2,823,500");
        assert_eq!(count(-1_000), "-1,000");
    }

    #[test]
    fn long_charts_name_their_months_and_where_they_start() {
        let texts = |first: &str, days| {
            ticks(first.parse().unwrap(), days)
                .into_iter()
                .map(|t| t.text)
                .collect::<Vec<_>>()
        };
        assert_eq!(texts("2026-09-02", 90), ["Sep 2026", "Oct", "Nov"]);
        assert_eq!(texts("2025-09-25", 90)[..2], ["Oct 2025", "Nov"]);
        let year = texts("2025-12-01", 365);
        assert_eq!(year.len(), 12);
        assert_eq!(year[..2], ["Dec 2025", "Jan 2026"]);
        assert_eq!(
            texts("2026-11-01", 30),
            ["Nov 1", "Nov 8", "Nov 15", "Nov 22", "Nov 29"]
        );
    }

    #[test]
    fn small_changes_are_not_coloured() {
        assert_eq!(tone(1005.0, 1000.0, true), "");
        assert_eq!(tone(1015.0, 1000.0, true), "");
        assert_eq!(tone(1100.0, 1000.0, true), "ok");
        assert_eq!(tone(900.0, 1000.0, true), "warn");
        assert_eq!(tone(900.0, 1000.0, false), "ok");
        assert_eq!(tone(5.0, 0.0, true), "");
    }
}
