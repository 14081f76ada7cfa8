//! Daily rollups: each ended day of a site's traffic summed once (visitors, visits, breakdowns,
//! pages, goals, funnels, condition pages), so a report over a year reads a row per day instead
//! of millions of events: a segment's day is one row, its summary in columns and its other sums
//! as JSON (`day_sums::encode_sums`). A report adds the rollups of the whole days it covers to the
//! raw queries for the rest (today, and days not rolled up yet), so it never waits for them.
//! Each day is also summed per filter value, alone and in pairs (segments; see `day_sums`), so a
//! report filtered by one or two of source, channel, campaign, device and page reads rollups too.
//!
//! Visitor ids come from a salt that rotates at the practice's local midnight, so no visitor id
//! appears on two days and per-day visitor counts add up to exactly what one query over the whole
//! range counts. Visits that cross midnight count on the day they began.

use std::collections::HashMap;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use sqlx::Row;

use super::VISIT_GAP_MS;
use super::day_sums::{
    DayEvent, DayVisit, Definitions, Extra, Segmenting, StoredSegment, Sums, day_rows, decode_sums,
    stored_segments,
};
use super::digests;
use super::insights::{ConditionResult, funnel_steps};
use super::query::Sql;
use super::reports::{
    BreakdownRow, Bucket, Confirmation, Earlier, FunnelResult, GoalResult, Range, Report, Scope,
    Summary,
};
use crate::error::StoreResult;
use crate::{Store, now_ms};

/// A day is rolled up this long after it ends, once the visits still open at midnight have closed.
pub const SETTLE_MS: i64 = VISIT_GAP_MS + 5 * 60_000;

/// How often today's partial rollup is brought up to date.
pub const TODAY_REFRESH_MS: i64 = 5 * 60_000;
/// Filter sets a site's reports may have rolled up besides the standard segments (see
/// `Store::remember_segment`): the least recently used go beyond this.
const MAX_REPORT_SEGMENTS: i64 = 30;
/// How many days' digests a report reads in one query (see `Store::filtered_report`).
const DIGESTS_AT_ONCE: usize = 31;
/// A site's sections prepared before anyone asks (see `Store::prepare_sections`), the largest first.
const MAX_SECTIONS: usize = 8;

/// A site's goals, funnels (id and steps) and condition pages, loaded once for many days.
#[derive(Clone)]
struct Loaded {
    goals: Vec<super::reports::Goal>,
    funnels: Vec<(i64, Vec<(super::reports::GoalKind, String)>)>,
    conditions: Vec<(String, Vec<String>)>,
    /// The page patterns with a `*` among the above, sorted: each is a rollup segment.
    patterns: Vec<String>,
    /// Page patterns nothing defines that were remembered on their own (a report asked for one, or
    /// it is one of the site's sections): each is rolled up as a *family*, alone and with each
    /// filter value, like a defined pattern, but from the day it is filled in from
    /// (`report_segments.done_from`).
    families: Vec<String>,
    /// The other filter sets reports asked for that no standard segment serves
    /// (`report_segments`): three filters or more.
    extras: Vec<Extra>,
}

/// Whether a remembered filter set is a family: a page pattern on its own.
fn is_family(filters: &super::query::Filters) -> bool {
    filters.page.as_ref().is_some_and(|p| p.contains('*'))
        && filters.source.is_none()
        && filters.channel.is_none()
        && filters.campaign.is_none()
        && filters.device.is_none()
}

/// Whether a segment belongs to the family of `page`: the pattern alone ("page=/blog/*") or with
/// one filter value ("device=mobile&page=/blog/*"). Values escape `&`, so the parts are counted.
fn in_family(segment: &str, page: &str) -> bool {
    let name = super::day_sums::segment_name(&[("page", page)]);
    segment == name
        || (segment.matches('&').count() == 1
            && segment
                .strip_suffix(name.as_str())
                .is_some_and(|head| head.ends_with('&')))
}

/// A local day's bounds in milliseconds.
fn day_bounds(date: Date, tz: &TimeZone) -> Option<(i64, i64)> {
    let start = date
        .to_zoned_datetime(tz.clone())
        .ok()?
        .timestamp()
        .as_millisecond();
    let end = date
        .tomorrow()
        .ok()?
        .to_zoned_datetime(tz.clone())
        .ok()?
        .timestamp()
        .as_millisecond();
    Some((start, end))
}

/// SQL for the local day (0 = the first) a visit that started at `started_at` falls on, for a
/// range starting at a local midnight: plain 24-hour steps, except around daylight-saving changes,
/// where days of 23 or 25 hours get their own branch so no visit lands on a neighbouring day.
pub(crate) fn day_index_sql(from: i64, to: i64, tz: &TimeZone) -> String {
    let plain = format!("(started_at - {from}) / 86400000");
    let Ok(ts) = jiff::Timestamp::from_millisecond(from) else {
        return plain;
    };
    let mut date = ts.to_zoned_datetime(tz.clone()).date();
    if day_bounds(date, tz).map(|b| b.0) != Some(from) {
        return plain;
    }
    // (first day index, first millisecond, whether the branch is that one day alone)
    let mut branches: Vec<(i64, i64, bool)> = Vec::new();
    let (mut k, mut start, mut previous_len) = (0i64, from, 86_400_000i64);
    while start < to && k < 4_000 {
        let Some((_, end)) = day_bounds(date, tz) else {
            return plain;
        };
        let len = end - start;
        if len != 86_400_000 {
            branches.push((k, start, true));
        } else if previous_len != 86_400_000 {
            branches.push((k, start, false));
        }
        previous_len = len;
        start = end;
        k += 1;
        match date.tomorrow() {
            Ok(d) => date = d,
            Err(_) => break,
        }
    }
    if branches.is_empty() {
        return plain;
    }
    let mut sql = String::from("CASE");
    for (k, start, alone) in branches.iter().rev() {
        if *alone {
            sql.push_str(&format!(" WHEN started_at >= {start} THEN {k}"));
        } else {
            sql.push_str(&format!(
                " WHEN started_at >= {start} THEN {k} + (started_at - {start}) / 86400000"
            ));
        }
    }
    sql.push_str(&format!(" ELSE {plain} END"));
    sql
}

/// The period just before `range`: as many local days when it is made of whole local days (so
/// it too starts at a midnight across a DST change), else the same number of milliseconds.
pub fn previous_range(range: Range, tz: &TimeZone) -> Range {
    let date_of = |ms: i64| {
        jiff::Timestamp::from_millisecond(ms)
            .ok()
            .map(|t| t.to_zoned_datetime(tz.clone()).date())
    };
    if let (Some(first), Some(end)) = (date_of(range.from), date_of(range.to))
        && day_bounds(first, tz).map(|b| b.0) == Some(range.from)
        && day_bounds(end, tz).map(|b| b.0) == Some(range.to)
        && let Ok(before) =
            first.checked_sub(jiff::Span::new().days(day_number(end) - day_number(first)))
        && let Some((from, _)) = day_bounds(before, tz)
    {
        return Range {
            from,
            to: range.from,
        };
    }
    range.previous()
}

/// The period a report of `range` is compared with at `now`: `previous_range`, and when `range` is
/// under way (it began before `now` and ends after), only as much of it as has passed of `range`:
/// up to the same time of day as `now`, as many days before. A period that ends with today so
/// far is then compared with the same stretch of time before it, not with a whole last day.
pub fn compared_range(range: Range, tz: &TimeZone, now: i64) -> Range {
    let before = previous_range(range, tz);
    if !(range.from < now && now < range.to) {
        return before;
    }
    let zoned = |ms: i64| {
        jiff::Timestamp::from_millisecond(ms)
            .ok()
            .map(|t| t.to_zoned_datetime(tz.clone()))
    };
    // Whole local days back when both periods start at a local midnight (across a DST change a
    // day is not 24 hours), else as many milliseconds as the periods are apart.
    let midnight =
        |ms: i64| zoned(ms).is_some_and(|z| day_bounds(z.date(), tz).map(|b| b.0) == Some(ms));
    let by_days = (midnight(range.from) && midnight(before.from))
        .then(|| {
            let days =
                day_number(zoned(range.from)?.date()) - day_number(zoned(before.from)?.date());
            let then = zoned(now)?.checked_sub(jiff::Span::new().days(days)).ok()?;
            Some(then.timestamp().as_millisecond())
        })
        .flatten();
    let to = by_days.unwrap_or(now - (range.from - before.from));
    Range {
        from: before.from,
        to: to.clamp(before.from, before.to),
    }
}

/// Visitors and pageviews per day of `range` by when each visit began, as `day_index_sql` counts
/// them: local days when the range starts at a local midnight, else 24-hour steps.
fn daily_buckets(range: Range, tz: &TimeZone, visits: &[Visited]) -> Vec<Bucket> {
    let mut days: std::collections::BTreeMap<i64, (std::collections::HashSet<i64>, i64)> =
        Default::default();
    // Runs of visits of one day: the day is worked out once per run.
    let mut last: Option<(i64, i64)> = None;
    for v in visits {
        let index = match last {
            Some((at, index)) if at == v.started_at => index,
            _ => {
                let index = bucket_index(range, tz, v.started_at);
                last = Some((v.started_at, index));
                index
            }
        };
        let day = days.entry(index).or_default();
        day.0.insert(v.visitor_id);
        day.1 += v.pageviews;
    }
    days.into_iter()
        .map(|(index, (visitors, pageviews))| Bucket {
            index,
            visitors: visitors.len() as i64,
            pageviews,
        })
        .collect()
}

/// The bucket of `daily_buckets` a visit that began at `at` falls in.
fn bucket_index(range: Range, tz: &TimeZone, at: i64) -> i64 {
    let date_of = |ms: i64| {
        jiff::Timestamp::from_millisecond(ms)
            .ok()
            .map(|t| t.to_zoned_datetime(tz.clone()).date())
    };
    let first = date_of(range.from).filter(|d| day_bounds(*d, tz).map(|b| b.0) == Some(range.from));
    match (first, date_of(at)) {
        (Some(a), Some(b)) => day_number(b) - day_number(a),
        _ => (at - range.from).div_euclid(86_400_000),
    }
}

/// The bucket of `daily_buckets` of a day's visits that all began at `day_start` (read from a
/// digest), from their summary; None without visits.
fn day_bucket(
    range: Range,
    tz: &TimeZone,
    day_start: i64,
    summary: Option<Sums>,
) -> Option<Bucket> {
    let summary = summary.filter(|s| s.visits > 0)?;
    Some(Bucket {
        index: bucket_index(range, tz, day_start),
        visitors: summary.visitors,
        pageviews: summary.pageviews,
    })
}

/// A visit row as `Store::load_day` reads it: id, visitor_id, started_at, pageviews, interactions,
/// duration and the seven dimensions.
type VisitRow = (
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
);

/// An event row as `Store::load_day` reads it: visit_id, visitor_id, at, name, path, source,
/// channel, campaign, device and id.
type EventRow = (
    i64,
    i64,
    i64,
    String,
    String,
    String,
    String,
    String,
    String,
    i64,
);

/// A day's rows as read from the database, events in the order day sums read them.
struct RawDay {
    visits: Vec<VisitRow>,
    events: Vec<EventRow>,
}

impl RawDay {
    /// The rows as day sums read them.
    fn view(&self) -> (Vec<DayVisit<'_>>, Vec<DayEvent<'_>>) {
        let visits = self
            .visits
            .iter()
            .map(|r| DayVisit {
                id: r.0,
                visitor_id: r.1,
                started_at: r.2,
                pageviews: r.3,
                interactions: r.4,
                duration_ms: r.5,
                dims: [&r.6, &r.7, &r.8, &r.9, &r.10, &r.11, &r.12].map(String::as_str),
            })
            .collect();
        let events = self
            .events
            .iter()
            .map(|r| DayEvent {
                visit_id: r.0,
                visitor_id: r.1,
                at: r.2,
                name: &r.3,
                path: &r.4,
                attrs: [&r.5, &r.6, &r.7, &r.8].map(String::as_str),
            })
            .collect();
        (visits, events)
    }
}

/// What the daily series needs of a visit.
struct Visited {
    visitor_id: i64,
    started_at: i64,
    pageviews: i64,
}

impl Visited {
    fn of(v: &DayVisit) -> Visited {
        Visited {
            visitor_id: v.visitor_id,
            started_at: v.started_at,
            pageviews: v.pageviews,
        }
    }
}

/// A day's digest summed as `Store::sum_scope` sums the rows it stands for; None when it cannot
/// be read (another version's, or damaged: the day is then read from the database).
fn sum_digest(
    (visit_part, event_part): &Parts,
    day_start: i64,
    filters: &super::query::Filters,
    to: i64,
    loaded: &Loaded,
    segmenting: Segmenting,
) -> Option<(Vec<super::day_sums::Row>, Option<Vec<Visited>>)> {
    let digest = digests::decode(visit_part, Some(event_part))?;
    let names = event_names(loaded);
    if segmenting == Segmenting::Site {
        let defs = Definitions {
            goals: &loaded.goals,
            funnels: loaded.funnels.clone(),
            conditions: &loaded.conditions,
            patterns: &[],
            extras: &[],
        };
        return Some((digest.site_rows(filters, &names, &defs), None));
    }
    let (visits, events) = digest.select(filters, &names, day_start);
    let rows = sum_loaded(&visits, &events, to, loaded, segmenting);
    Some((rows, Some(visits.iter().map(Visited::of).collect())))
}

/// A day digest's two parts as stored (see `digests::encode`): its visits, and its events.
type Parts = (Vec<u8>, Vec<u8>);

/// Runs computation on tokio's blocking threads, passing on its panic.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> StoreResult<T> {
    match tokio::task::spawn_blocking(work).await {
        Ok(done) => Ok(done),
        Err(e) => match e.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(e) => Err(sqlx::Error::Io(std::io::Error::other(e)).into()),
        },
    }
}

/// Days in four runs of nearly equal length, in order.
fn quarters(days: &[Scope]) -> [&[Scope]; 4] {
    let n = days.len();
    let cut = |k: usize| n * k / 4;
    [1, 2, 3, 4].map(|k| &days[cut(k - 1)..cut(k)])
}

/// The events day sums read: pageviews and the events goals and funnels name (engagement and
/// the rest are not read).
fn event_names(loaded: &Loaded) -> Vec<&str> {
    let mut names: Vec<&str> = vec!["pageview"];
    let event_steps = loaded.funnels.iter().flat_map(|(_, steps)| steps.iter());
    for (kind, pattern) in loaded
        .goals
        .iter()
        .map(|g| (g.kind, g.pattern.as_str()))
        .chain(event_steps.map(|(k, p)| (*k, p.as_str())))
    {
        if kind == super::reports::GoalKind::Event && !names.contains(&pattern) {
            names.push(pattern);
        }
    }
    names
}

/// A day's loaded visits and events summed (see `day_rows`), the site's families rolled up as its
/// defined patterns are.
fn sum_loaded(
    visits: &[DayVisit],
    events: &[DayEvent],
    to: i64,
    loaded: &Loaded,
    segmenting: Segmenting,
) -> Vec<super::day_sums::Row> {
    let mut patterns = loaded.patterns.clone();
    patterns.extend(loaded.families.iter().cloned());
    let defs = Definitions {
        goals: &loaded.goals,
        funnels: loaded.funnels.clone(),
        conditions: &loaded.conditions,
        patterns: &patterns,
        extras: &loaded.extras,
    };
    day_rows(visits, events, to, &defs, segmenting)
}

/// Days since 1970-01-01 of a civil date, so runs of days can be checked for gaps.
fn day_number(date: Date) -> i64 {
    let epoch = Date::constant(1970, 1, 1);
    (date - epoch).get_days() as i64
}

/// The breakdown rows of `metric`, most visitors first.
fn rows_of(sums: &HashMap<(String, String), Sums>, metric: &str) -> Vec<BreakdownRow> {
    let mut rows: Vec<BreakdownRow> = sums
        .iter()
        .filter(|((m, _), _)| m == metric)
        .map(|((_, key), s)| BreakdownRow {
            key: key.clone(),
            visitors: s.visitors,
            visits: s.visits,
            converting: s.converting,
            previous: None,
        })
        .collect();
    sort_rows(&mut rows);
    rows
}

fn sort_rows(rows: &mut [BreakdownRow]) {
    rows.sort_by(|a, b| b.visitors.cmp(&a.visitors).then(a.key.cmp(&b.key)));
}

/// The scope cut at local midnights, each part knowing the local day it lies in.
fn local_days(scope: &Scope, tz: &TimeZone) -> Vec<Scope> {
    let mut days = Vec::new();
    let mut from = scope.range.from;
    while from < scope.range.to {
        let Some((day_start, day_end)) = jiff::Timestamp::from_millisecond(from)
            .ok()
            .and_then(|t| day_bounds(t.to_zoned_datetime(tz.clone()).date(), tz))
        else {
            break;
        };
        let to = day_end.min(scope.range.to);
        let day = Range {
            from: day_start,
            to: day_end,
        };
        days.push(scope.over(Range { from, to }).within_day(day));
        from = to;
    }
    days
}

/// Gives each goal and breakdown row of `report` its figures in `before` (the previous period);
/// left `None` when the previous period had no visits at all, as there is nothing to compare.
fn compare(report: &mut Report, before: &Report) {
    if before.summary.visits == 0 {
        return;
    }
    for g in &mut report.goals {
        let converting = before
            .goals
            .iter()
            .find(|b| b.goal.id == g.goal.id)
            .map_or(0, |b| b.converting_visitors);
        g.previous = Some(Earlier {
            visitors: before.summary.visitors,
            converting,
        });
    }
    for (rows, earlier) in [
        (&mut report.sources, &before.sources),
        (&mut report.channels, &before.channels),
        (&mut report.campaigns, &before.campaigns),
        (&mut report.pages, &before.pages),
        (&mut report.landing_pages, &before.landing_pages),
        (&mut report.devices, &before.devices),
        (&mut report.browsers, &before.browsers),
        (&mut report.systems, &before.systems),
    ] {
        let by_key: HashMap<&str, &BreakdownRow> =
            earlier.iter().map(|r| (r.key.as_str(), r)).collect();
        for r in rows.iter_mut() {
            r.previous = Some(
                by_key
                    .get(r.key.as_str())
                    .map_or_else(Earlier::default, |b| Earlier {
                        visitors: b.visitors,
                        converting: b.converting,
                    }),
            );
        }
    }
}

/// Two breakdowns of adjoining ranges, as one.
fn merge_rows(a: Vec<BreakdownRow>, b: Vec<BreakdownRow>) -> Vec<BreakdownRow> {
    let mut by_key: HashMap<String, BreakdownRow> = HashMap::new();
    for r in a.into_iter().chain(b) {
        match by_key.get_mut(&r.key) {
            Some(e) => {
                e.visitors += r.visitors;
                e.visits += r.visits;
                e.converting += r.converting;
            }
            None => {
                by_key.insert(r.key.clone(), r);
            }
        }
    }
    let mut rows: Vec<BreakdownRow> = by_key.into_values().collect();
    sort_rows(&mut rows);
    rows
}

/// Two reports of adjoining ranges (`a` first), as one report over both.
fn merge(a: Report, b: Report) -> Report {
    let shift = (b.range.from - a.range.from + 43_200_000).div_euclid(86_400_000);
    let mut daily = a.daily;
    daily.extend(b.daily.into_iter().map(|d| Bucket {
        index: d.index + shift,
        ..d
    }));
    let goals = a
        .goals
        .into_iter()
        .zip(b.goals)
        .map(|(x, y)| GoalResult {
            converting_visitors: x.converting_visitors + y.converting_visitors,
            conversions: x.conversions + y.conversions,
            confirmation: match (x.confirmation, y.confirmation) {
                (Some(p), Some(q)) => Some(Confirmation {
                    clicked: p.clicked + q.clicked,
                    confirmed: p.confirmed + q.confirmed,
                    ..p
                }),
                (p, q) => p.or(q),
            },
            previous: None,
            goal: x.goal,
        })
        .collect();
    let funnels = a
        .funnels
        .into_iter()
        .zip(b.funnels)
        .map(|(x, y)| {
            let counts: Vec<u64> = x
                .steps
                .iter()
                .zip(&y.steps)
                .map(|(p, q)| (p.visits + q.visits) as u64)
                .collect();
            FunnelResult {
                steps: funnel_steps(&x.funnel, &counts),
                funnel: x.funnel,
            }
        })
        .collect();
    // Each part is sorted by its own leads, so conditions are matched by name.
    let mut conditions: Vec<ConditionResult> = a.conditions;
    for y in b.conditions {
        match conditions.iter_mut().find(|x| x.condition == y.condition) {
            Some(x) => {
                x.visitors += y.visitors;
                x.leads += y.leads;
                x.lead_rate = (x.visitors > 0).then(|| x.leads as f64 * 100.0 / x.visitors as f64);
            }
            None => conditions.push(y),
        }
    }
    super::insights::sort_conditions(&mut conditions);
    Report {
        range: Range {
            from: a.range.from,
            to: b.range.to,
        },
        summary: a.summary.add(&b.summary),
        previous: a.previous,
        previous_range: None,
        daily,
        goals,
        sources: merge_rows(a.sources, b.sources),
        channels: merge_rows(a.channels, b.channels),
        campaigns: merge_rows(a.campaigns, b.campaigns),
        pages: merge_rows(a.pages, b.pages),
        landing_pages: merge_rows(a.landing_pages, b.landing_pages),
        devices: merge_rows(a.devices, b.devices),
        browsers: merge_rows(a.browsers, b.browsers),
        systems: merge_rows(a.systems, b.systems),
        funnels,
        conditions,
    }
}

impl Store {
    /// Everything the dashboard and `/api/v1/sites/{id}/report` show for one period: rollups for
    /// the whole days they cover, day sums of the raw data for the rest, and the previous period's
    /// summary. Rollups serve no filter, or one or two of source, channel, campaign, device and
    /// page (an exact page or a pattern the site's definitions use); three filters or another page
    /// pattern are summed from the raw events and visits.
    pub async fn website_report(&self, scope: &Scope) -> StoreResult<Report> {
        self.website_report_rows(scope, None).await
    }

    /// [`Store::website_report`] with up to `limit` rows in every breakdown (the dashboard's own
    /// lengths when `None`: ten, five devices, eight browsers and systems).
    pub async fn website_report_rows(
        &self,
        scope: &Scope,
        limit: Option<usize>,
    ) -> StoreResult<Report> {
        let tz = self.practice_time_zone(scope.practice_id).await?;
        // The previous period in full where rollups serve it, so each goal and row can be compared;
        // otherwise (filters not rolled up yet, read raw) only its summary, so as not to double a
        // slow report. Both periods are read at once.
        let earlier = scope.over(compared_range(scope.range, &tz, now_ms()));
        let previous_range = earlier.range;
        let in_full = match self.rollup_segment(&earlier).await? {
            Some(_) => true,
            // A day or less before a period under way (today so far: yesterday up to this time of
            // day, which rollups do not cover as they are whole days) is read in full when rollups
            // serve these filters, as the period's own part-day is.
            None => {
                earlier.range.to - earlier.range.from <= 25 * 3_600_000
                    && self.rollup_segment(scope).await?.is_some()
            }
        };
        let (mut report, before) = tokio::try_join!(self.combined_report(scope), async {
            match in_full {
                true => Ok((Some(self.combined_report(&earlier).await?), None)),
                false => Ok((None, Some(self.combined_summary(&earlier).await?))),
            }
        })?;
        if let Some(before) = before.0 {
            compare(&mut report, &before);
            report.previous = before.summary;
        }
        if let Some(summary) = before.1 {
            report.previous = summary;
        }
        report.previous_range = Some(previous_range);
        for (rows, n) in [
            (&mut report.sources, 10),
            (&mut report.channels, 10),
            (&mut report.campaigns, 10),
            (&mut report.pages, 10),
            (&mut report.landing_pages, 10),
            (&mut report.devices, 5),
            (&mut report.browsers, 8),
            (&mut report.systems, 8),
        ] {
            rows.truncate(limit.unwrap_or(n));
        }
        Ok(report)
    }

    async fn combined_report(&self, scope: &Scope) -> StoreResult<Report> {
        let Some((covered, segment)) = self.rollup_segment(scope).await? else {
            return self.filtered_report(scope).await;
        };
        let mut report = self.rollup_report(scope, covered, &segment).await?;
        if scope.range.from < covered.from {
            let before = self
                .filtered_report(&scope.over(Range {
                    from: scope.range.from,
                    to: covered.from,
                }))
                .await?;
            report = merge(before, report);
        }
        if covered.to < scope.range.to {
            let after = self
                .filtered_report(&scope.over(Range {
                    from: covered.to,
                    to: scope.range.to,
                }))
                .await?;
            report = merge(report, after);
        }
        report.range = scope.range;
        Ok(report)
    }

    /// A report with filters no rollup segment serves (three filters, an undefined page pattern), and the
    /// parts of a range not rolled up: the matching visits and their events, loaded one local day
    /// at a time (a month of digests at a time, the next read while one is summed: memory stays
    /// bounded by two months' digests per part, about 10 MB at 10 million events a year) and
    /// summed in memory by the rules rollups follow. Per-day sums add up exactly because visitor ids rotate at local midnight.
    async fn filtered_report(&self, scope: &Scope) -> StoreResult<Report> {
        let tz = self.practice_time_zone(scope.practice_id).await?;
        let loaded = self.definitions(scope.practice_id, scope.site_id).await?;
        let days = local_days(scope, &tz);
        // Four parts of the range are read at once, on four connections: the database's work (on
        // SQLite, each connection's own thread) and the summing of digests (on blocking threads)
        // of one part go on while another waits, which keeps both cores busy.
        let [p, q, r, t] = quarters(&days);
        let (mut a, b, c, d) = tokio::try_join!(
            self.sum_days(scope, p, &tz, &loaded),
            self.sum_days(scope, q, &tz, &loaded),
            self.sum_days(scope, r, &tz, &loaded),
            self.sum_days(scope, t, &tz, &loaded)
        )?;
        for part in [b, c, d] {
            for (key, s) in part.0 {
                let total = a.0.entry(key).or_default();
                *total = total.plus(&s);
            }
            a.1.extend(part.1);
        }
        let daily = a.1;
        self.report_from_sums(scope, scope.range, &a.0, daily).await
    }

    /// The summary of a range no rollup serves, summed a local day at a time (visitor ids rotate
    /// at local midnight, so the days add up exactly), four parts at once as in
    /// [`Store::filtered_report`]: whole days from their digests, the rest from the database. (In
    /// one query over the range, a page filter's subquery gathers every matching pageview of the
    /// range first: 0.77 s for 30 days at 10 million events on PostgreSQL, 0.85 s on SQLite,
    /// against 13 and 24 ms a day.)
    async fn raw_summary(&self, scope: &Scope) -> StoreResult<Summary> {
        let tz = self.practice_time_zone(scope.practice_id).await?;
        let days = local_days(scope, &tz);
        let [p, q, r, t] = quarters(&days);
        let sum = async |days: &[Scope]| {
            let mut total = Summary::default();
            for month in days.chunks(DIGESTS_AT_ONCE) {
                let mut digests = self.digests_of(month, &[], false).await?;
                for day in month {
                    let digest = digests.remove(&day.range.from).map(|(visits, _)| visits);
                    total = total.add(&self.day_summary(day, digest).await?);
                }
            }
            StoreResult::Ok(total)
        };
        let (a, b, c, d) = tokio::try_join!(sum(p), sum(q), sum(r), sum(t))?;
        Ok(a.add(&b).add(&c).add(&d))
    }

    /// The summary of a part of a scope within a local day: from the visits part of the day's
    /// digest when it is the whole day and has one (see `Store::digests_of`), else from the
    /// database.
    async fn day_summary(&self, day: &Scope, digest: Option<Vec<u8>>) -> StoreResult<Summary> {
        if let Some(data) = digest {
            let filters = day.filters.clone();
            let summary = blocking(move || {
                // The visits part says which visits viewed each page: no events are needed.
                let s = digests::decode(&data, None)?.summary(&filters);
                let (visits, pageviews) = (s.visits, s.pageviews);
                Some(Summary::from_sums(
                    s.visitors,
                    visits,
                    pageviews,
                    s.bounces,
                    s.duration_ms,
                ))
            })
            .await?;
            if let Some(summary) = summary {
                return Ok(summary);
            }
        }
        self.website_summary(day).await
    }

    /// The sums of these parts of a scope, each within a local day, and the daily buckets of
    /// their visits, in order.
    async fn sum_days(
        &self,
        scope: &Scope,
        days: &[Scope],
        tz: &TimeZone,
        loaded: &Loaded,
    ) -> StoreResult<(HashMap<(String, String), Sums>, Vec<Bucket>)> {
        let mut sums: HashMap<(&'static str, String), Sums> = HashMap::new();
        let mut daily = Vec::new();
        let names = event_names(loaded);
        let months: Vec<&[Scope]> = days.chunks(DIGESTS_AT_ONCE).collect();
        let mut fetched = HashMap::new();
        if let Some(first) = months.first() {
            fetched = self.digests_of(first, &names, true).await?;
        }
        for (i, month) in months.iter().enumerate() {
            let mut digests = std::mem::take(&mut fetched);
            // The next month's digests are read while this month's are summed.
            let next = async {
                match months.get(i + 1) {
                    Some(next) => self.digests_of(next, &names, true).await,
                    None => Ok(HashMap::new()),
                }
            };
            let sum = async {
                for day in month.iter() {
                    let digest = digests
                        .remove(&day.range.from)
                        .and_then(|(visits, events)| Some((visits, events?)));
                    let (rows, visits) =
                        self.sum_day(day, Segmenting::Site, loaded, digest).await?;
                    match visits {
                        Some(visits) => daily.extend(daily_buckets(scope.range, tz, &visits)),
                        None => {
                            // Summed from a digest: every visit began at the day's start.
                            let summary = rows.iter().find(|r| r.1 == "summary").map(|r| r.3);
                            let day_start = day.range.from;
                            daily.extend(day_bucket(scope.range, tz, day_start, summary));
                        }
                    }
                    for (_, metric, key, s) in rows {
                        let total = sums.entry((metric, key)).or_default();
                        *total = total.plus(&s);
                    }
                }
                StoreResult::Ok(())
            };
            let (next, summed) = tokio::join!(next, sum);
            summed?;
            fetched = next?;
        }
        let sums = (sums.into_iter())
            .map(|((metric, key), s)| ((metric.to_string(), key), s))
            .collect();
        Ok((sums, daily))
    }

    /// The site's goals, funnels and condition pages, as day sums read them.
    async fn definitions(&self, practice_id: i64, site_id: i64) -> StoreResult<Loaded> {
        let mut loaded = Loaded {
            goals: self.goals(practice_id, site_id).await?,
            funnels: self
                .funnels(practice_id, site_id)
                .await?
                .into_iter()
                .map(|f| {
                    (
                        f.id,
                        f.steps.into_iter().map(|s| (s.kind, s.pattern)).collect(),
                    )
                })
                .collect(),
            conditions: self.condition_groups(practice_id, site_id).await?,
            patterns: Vec::new(),
            families: Vec::new(),
            extras: Vec::new(),
        };
        for (filters, _) in self.report_segments(site_id).await? {
            match filters.page.clone().filter(|_| is_family(&filters)) {
                Some(page) => loaded.families.push(page),
                None => loaded.extras.push(filters.extra()),
            }
        }
        let page = super::reports::GoalKind::Page;
        let mut patterns: Vec<String> = loaded
            .goals
            .iter()
            .filter(|g| g.kind == page)
            .map(|g| g.pattern.clone())
            .chain(loaded.funnels.iter().flat_map(|(_, steps)| {
                steps
                    .iter()
                    .filter(|(kind, _)| *kind == page)
                    .map(|(_, p)| p.clone())
            }))
            .chain(
                loaded
                    .conditions
                    .iter()
                    .flat_map(|(_, p)| p.iter().cloned()),
            )
            .filter(|p| p.contains('*'))
            .collect();
        patterns.sort();
        patterns.dedup();
        loaded.families.retain(|f| !patterns.contains(f));
        loaded.families.sort();
        loaded.patterns = patterns;
        Ok(loaded)
    }

    /// The rolled-up part of the scope's range and the rollup segment that serves its filters, if
    /// any: the newest run of rolled-up days in the range (see `rolled_up`). Standard segments
    /// serve no filter, or up to two that are not both pages, with page patterns only those the
    /// site's definitions use. Other filter sets are remembered the first time they are asked for
    /// (`report_segments`) and read raw until the background task has filled in their days.
    async fn rollup_segment(&self, scope: &Scope) -> StoreResult<Option<(Range, String)>> {
        let patterns = if scope.filters.page.as_ref().is_some_and(|p| p.contains('*')) {
            self.definitions(scope.practice_id, scope.site_id)
                .await?
                .patterns
        } else {
            Vec::new()
        };
        if let Some(segment) = scope.filters.segment(&patterns) {
            return Ok(self
                .rolled_up(scope.site_id, scope.range)
                .await?
                .map(|covered| (covered, segment)));
        }
        // A page pattern nothing defines, alone or with one other filter: its family, which is
        // remembered (and filled in) as the pattern on its own.
        let f = &scope.filters;
        let others = [&f.source, &f.channel, &f.campaign, &f.device]
            .iter()
            .filter(|v| v.is_some())
            .count();
        let remembered = match f.page.clone().filter(|p| p.contains('*') && others <= 1) {
            Some(page) => super::query::Filters {
                page: Some(page),
                ..super::query::Filters::default()
            },
            None => f.clone(),
        };
        let extra = scope.filters.extra();
        let Some(done_from) = self.remember_segment(scope.site_id, &remembered).await? else {
            return Ok(None);
        };
        let from = scope.range.from.max(done_from);
        if from >= scope.range.to {
            return Ok(None);
        }
        Ok(self
            .rolled_up(
                scope.site_id,
                Range {
                    from,
                    ..scope.range
                },
            )
            .await?
            .map(|covered| (covered, extra.name)))
    }

    /// Remembers a filter set no standard segment serves, or notes that it was used again. Returns
    /// where its filled-in days begin (see `report_segments.done_from`), None before the first.
    /// A site keeps at most `MAX_REPORT_SEGMENTS`; the least recently used go, with their rows.
    async fn remember_segment(
        &self,
        site_id: i64,
        filters: &super::query::Filters,
    ) -> StoreResult<Option<i64>> {
        let extra = filters.extra();
        let now = now_ms();
        let known = sqlx::query(
            "SELECT done_from, used_at FROM report_segments WHERE site_id = $1 AND segment = $2",
        )
        .bind(site_id)
        .bind(extra.name.as_str())
        .fetch_optional(self.pool())
        .await?;
        if let Some(row) = known {
            // Written at most once a day per segment: a report is a read.
            if row.try_get::<i64, _>("used_at")? + 86_400_000 < now {
                sqlx::query(
                    "UPDATE report_segments SET used_at = $3 WHERE site_id = $1 AND segment = $2",
                )
                .bind(site_id)
                .bind(extra.name.as_str())
                .bind(now)
                .execute(self.pool())
                .await?;
            }
            return Ok(row.try_get("done_from")?);
        }
        let json = serde_json::to_string(filters)
            .map_err(|e| crate::StoreError::Invalid(format!("filters as JSON: {e}")))?;
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO report_segments (site_id, segment, filters, done_from, used_at) VALUES ($1, $2, $3, NULL, $4) \
             ON CONFLICT (site_id, segment) DO NOTHING",
        )
        .bind(site_id)
        .bind(extra.name.as_str())
        .bind(json)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let stale = sqlx::query(
            "SELECT segment FROM report_segments WHERE site_id = $1 ORDER BY used_at DESC, segment LIMIT 1000 OFFSET $2",
        )
        .bind(site_id)
        .bind(MAX_REPORT_SEGMENTS)
        .fetch_all(&mut *tx)
        .await?;
        for row in stale {
            let segment: String = row.try_get("segment")?;
            // A family's rows are its pattern's alone and with each filter value.
            let mut rows = vec![segment.clone()];
            if let Some(page) = segment
                .strip_prefix("page=")
                .filter(|p| p.contains('*') && !p.contains('&'))
            {
                let page = page.replace("%26", "&").replace("%25", "%");
                let all: Vec<String> =
                    sqlx::query("SELECT DISTINCT segment FROM rollups WHERE site_id = $1")
                        .bind(site_id)
                        .fetch_all(&mut *tx)
                        .await?
                        .iter()
                        .map(|r| r.try_get("segment"))
                        .collect::<Result<_, _>>()?;
                rows = all.into_iter().filter(|s| in_family(s, &page)).collect();
            }
            for name in &rows {
                sqlx::query("DELETE FROM rollups WHERE site_id = $1 AND segment = $2")
                    .bind(site_id)
                    .bind(name.as_str())
                    .execute(&mut *tx)
                    .await?;
            }
            sqlx::query("DELETE FROM report_segments WHERE site_id = $1 AND segment = $2")
                .bind(site_id)
                .bind(segment.as_str())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        self.rollups_wanted.notify_one();
        Ok(None)
    }

    /// Resolves when a report has asked for a filter set the rollup task should fill in (at once
    /// if one did since the last call): the task then need not wait for its next round.
    pub async fn rollups_wanted(&self) {
        self.rollups_wanted.notified().await;
    }

    /// The filter sets a site's reports asked for (see `remember_segment`), each with where its
    /// filled-in days begin.
    async fn report_segments(
        &self,
        site_id: i64,
    ) -> StoreResult<Vec<(super::query::Filters, Option<i64>)>> {
        sqlx::query(
            "SELECT filters, done_from FROM report_segments WHERE site_id = $1 ORDER BY used_at DESC, segment",
        )
        .bind(site_id)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(|r| {
            let filters: super::query::Filters =
                serde_json::from_str(&r.try_get::<String, _>("filters")?).map_err(|e| {
                    crate::StoreError::Invalid(format!("a stored report segment: {e}"))
                })?;
            Ok((filters, r.try_get("done_from")?))
        })
        .collect()
    }

    /// The page patterns (with a `*`) the site's goals, funnels and condition pages use, and those
    /// remembered on their own (a report filtered by one before, or one of the site's sections)
    /// that matched visits on a rolled-up day: rollups keep a segment for each, so a report
    /// filtered by one is as quick as by one page. A mistyped pattern someone tried is not offered
    /// again, since its segment never has a row.
    pub async fn rolled_up_patterns(
        &self,
        practice_id: i64,
        site_id: i64,
    ) -> StoreResult<Vec<String>> {
        let loaded = self.definitions(practice_id, site_id).await?;
        let mut patterns = loaded.patterns;
        for page in loaded.families {
            let name = super::day_sums::segment_name(&[("page", &page)]);
            let seen =
                sqlx::query("SELECT 1 FROM rollups WHERE site_id = $1 AND segment = $2 LIMIT 1")
                    .bind(site_id)
                    .bind(name.as_str())
                    .fetch_optional(self.pool())
                    .await?;
            if seen.is_some() {
                patterns.push(page);
            }
        }
        patterns.sort();
        patterns.dedup();
        Ok(patterns)
    }

    /// The part of the scope's range a report reads from rollups, if any (the rest is summed from
    /// the raw events and visits): for benchmarks and tests.
    pub async fn rolled_up_part(&self, scope: &Scope) -> StoreResult<Option<Range>> {
        Ok(self
            .rollup_segment(scope)
            .await?
            .map(|(covered, _)| covered))
    }

    /// Only the summary, for the previous period: rollups where they cover the range, raw visits for
    /// the rest (all of it with filters).
    async fn combined_summary(&self, scope: &Scope) -> StoreResult<Summary> {
        let Some((covered, segment)) = self.rollup_segment(scope).await? else {
            return self.raw_summary(scope).await;
        };
        let r = sqlx::query(
            "SELECT CAST(COALESCE(SUM(visitors), 0) AS BIGINT) AS visitors, CAST(COALESCE(SUM(visits), 0) AS BIGINT) AS visits, \
                    CAST(COALESCE(SUM(pageviews), 0) AS BIGINT) AS pageviews, CAST(COALESCE(SUM(bounces), 0) AS BIGINT) AS bounces, \
                    CAST(COALESCE(SUM(duration_ms), 0) AS BIGINT) AS duration_ms \
             FROM rollups WHERE site_id = $1 AND segment = $2 AND day_start >= $3 AND day_start < $4",
        )
        .bind(scope.site_id)
        .bind(segment)
        .bind(covered.from)
        .bind(covered.to)
        .fetch_one(self.pool())
        .await?;
        let mut summary = Summary::from_sums(
            r.try_get("visitors")?,
            r.try_get("visits")?,
            r.try_get("pageviews")?,
            r.try_get("bounces")?,
            r.try_get("duration_ms")?,
        );
        for part in [
            Range {
                from: scope.range.from,
                to: covered.from,
            },
            Range {
                from: covered.to,
                to: scope.range.to,
            },
        ] {
            if part.from < part.to {
                summary = summary.add(&self.raw_summary(&scope.over(part)).await?);
            }
        }
        Ok(summary)
    }

    /// The newest run of rolled-up days inside `range` without gaps. Only its newest day may be
    /// partial (today's, rolled up to a minute ago).
    async fn rolled_up(&self, site_id: i64, range: Range) -> StoreResult<Option<Range>> {
        let rows = sqlx::query(
            "SELECT day_start, day_end FROM rollup_days WHERE site_id = $1 AND day_start >= $2 AND day_end <= $3 \
             ORDER BY day_start DESC",
        )
        .bind(site_id)
        .bind(range.from)
        .bind(range.to)
        .fetch_all(self.pool())
        .await?;
        let mut covered: Option<Range> = None;
        for r in &rows {
            let (start, end): (i64, i64) = (r.try_get("day_start")?, r.try_get("day_end")?);
            covered = match covered {
                None => Some(Range {
                    from: start,
                    to: end,
                }),
                Some(c) if end == c.from => Some(Range { from: start, ..c }),
                Some(_) => break,
            };
        }
        Ok(covered.filter(|c| c.from < c.to))
    }

    /// The report of `covered` (whole rolled-up days) from the rollups alone.
    async fn rollup_report(
        &self,
        scope: &Scope,
        covered: Range,
        segment: &str,
    ) -> StoreResult<Report> {
        let rows = sqlx::query(
            "SELECT day_start, visitors, visits, pageviews, bounces, duration_ms, sums FROM rollups \
             WHERE site_id = $1 AND segment = $2 AND day_start >= $3 AND day_start < $4 ORDER BY day_start",
        )
        .bind(scope.site_id)
        .bind(segment.to_string())
        .bind(covered.from)
        .bind(covered.to)
        .fetch_all(self.pool())
        .await?;
        let mut sums: HashMap<(String, String), Sums> = HashMap::new();
        let mut daily = Vec::with_capacity(rows.len());
        for r in &rows {
            let start: i64 = r.try_get("day_start")?;
            let summary = Sums {
                visitors: r.try_get("visitors")?,
                visits: r.try_get("visits")?,
                pageviews: r.try_get("pageviews")?,
                bounces: r.try_get("bounces")?,
                duration_ms: r.try_get("duration_ms")?,
                converting: 0,
            };
            daily.push(Bucket {
                // Rounded, so a day of 23 or 25 hours still lands on its own index.
                index: (start - covered.from + 43_200_000).div_euclid(86_400_000),
                visitors: summary.visitors,
                pageviews: summary.pageviews,
            });
            let day = std::iter::once(("summary".to_string(), String::new(), summary));
            let text: String = r.try_get("sums")?;
            let decoded = decode_sums(&text)
                .map_err(|e| crate::error::StoreError::Db(sqlx::Error::Decode(Box::new(e))))?;
            for (metric, key, s) in day.chain(decoded) {
                let total = sums.entry((metric, key)).or_default();
                *total = total.plus(&s);
            }
        }
        self.report_from_sums(scope, covered, &sums, daily).await
    }

    /// A report made of sums by (metric, key) and a daily series.
    async fn report_from_sums(
        &self,
        scope: &Scope,
        range: Range,
        sums: &HashMap<(String, String), Sums>,
        daily: Vec<Bucket>,
    ) -> StoreResult<Report> {
        let get = |metric: &str, key: &str| {
            sums.get(&(metric.to_string(), key.to_string()))
                .copied()
                .unwrap_or_default()
        };
        let total = get("summary", "");
        let goal_list = self.goals(scope.practice_id, scope.site_id).await?;
        let goals = goal_list
            .iter()
            .map(|g| {
                let s = get("goal", &g.id.to_string());
                let confirmation = g
                    .confirmed_by
                    .and_then(|id| goal_list.iter().find(|p| p.id == id))
                    .map(|page| Confirmation {
                        page_goal: page.name.clone(),
                        clicked: get("confirm", &format!("{}:0", g.id)).visits,
                        confirmed: get("confirm", &format!("{}:1", g.id)).visits,
                    });
                GoalResult {
                    goal: g.clone(),
                    converting_visitors: s.visitors,
                    conversions: s.visits,
                    confirmation,
                    previous: None,
                }
            })
            .collect();
        let mut funnels = Vec::new();
        for funnel in self.funnels(scope.practice_id, scope.site_id).await? {
            let counts: Vec<u64> = (0..funnel.steps.len())
                .map(|i| get("funnel", &format!("{}:{i}", funnel.id)).visits as u64)
                .collect();
            funnels.push(FunnelResult {
                steps: funnel_steps(&funnel, &counts),
                funnel,
            });
        }
        let mut conditions: Vec<ConditionResult> = self
            .condition_groups(scope.practice_id, scope.site_id)
            .await?
            .into_iter()
            .map(|(condition, patterns)| {
                let s = get("condition", &condition);
                ConditionResult {
                    condition,
                    patterns,
                    visitors: s.visitors,
                    leads: s.converting,
                    lead_rate: (s.visitors > 0)
                        .then(|| s.converting as f64 * 100.0 / s.visitors as f64),
                }
            })
            .collect();
        super::insights::sort_conditions(&mut conditions);
        Ok(Report {
            range,
            summary: Summary::from_sums(
                total.visitors,
                total.visits,
                total.pageviews,
                total.bounces,
                total.duration_ms,
            ),
            previous: Summary::default(),
            previous_range: None,
            daily,
            goals,
            sources: rows_of(sums, "source"),
            channels: rows_of(sums, "channel"),
            campaigns: rows_of(sums, "campaign"),
            pages: rows_of(sums, "page"),
            landing_pages: rows_of(sums, "entry_path"),
            devices: rows_of(sums, "device"),
            browsers: rows_of(sums, "browser"),
            systems: rows_of(sums, "os"),
            funnels,
            conditions,
        })
    }

    /// Rolls up one local day of a site from its events and visits, or its first part up to
    /// `until` (today's), replacing what was there.
    pub async fn roll_up_day(
        &self,
        practice_id: i64,
        site_id: i64,
        date: Date,
        tz: &TimeZone,
        until: Option<i64>,
    ) -> StoreResult<()> {
        let Some((from, end)) = day_bounds(date, tz) else {
            return Ok(());
        };
        let to = until.map_or(end, |u| u.clamp(from, end));
        // Goals, funnels or condition pages may change while the day is computed; the rollup is
        // then stale, and the generation check below discards it.
        let generation = self.rollup_generation(site_id).await?;
        let scope = Scope::new(practice_id, site_id, Range { from, to })
            .within_day(Range { from, to: end });
        let loaded = self.definitions(practice_id, site_id).await?;
        // An ended day gets its digest, made from the same rows as its rollup, unless it has one.
        let names = event_names(&loaded);
        let (rows, digest) = if to < end || self.digest_of(&scope, &names).await?.is_some() {
            (
                self.sum_scope(&scope, Segmenting::All, &loaded).await?.0,
                None,
            )
        } else {
            let raw = self.load_day(&scope, None).await?;
            let (visits, mut events) = raw.view();
            let digest = digests::encode(&visits, &events);
            events.retain(|e| names.contains(&e.name));
            let rows = sum_loaded(&visits, &events, to, &loaded, Segmenting::All);
            (rows, Some(digest))
        };
        let mut tx = self.begin().await?;
        if !still_current(&mut tx, site_id, generation).await? {
            tx.rollback().await?;
            return Ok(());
        }
        if let Some(digest) = digest {
            // Also a digest of the day by other bounds, from before a change of time zone.
            sqlx::query(
                "DELETE FROM day_digests WHERE site_id = $1 AND day_start < $2 AND day_end > $3",
            )
            .bind(site_id)
            .bind(end)
            .bind(from)
            .execute(&mut *tx)
            .await?;
            let (visit_part, event_part) = digest;
            sqlx::query(
                "INSERT INTO day_digests (site_id, day_start, day_end, visits, events) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(site_id)
            .bind(from)
            .bind(end)
            .bind(visit_part)
            .bind(event_part)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query("DELETE FROM rollups WHERE site_id = $1 AND day_start = $2")
            .bind(site_id)
            .bind(from)
            .execute(&mut *tx)
            .await?;
        insert_segments(
            &mut tx,
            self.backend(),
            site_id,
            from,
            &stored_segments(rows),
        )
        .await?;
        sqlx::query(
            "INSERT INTO rollup_days (site_id, day_number, day_start, day_end, computed_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (site_id, day_number) DO UPDATE SET day_start = $3, day_end = $4, computed_at = $5",
        )
        .bind(site_id)
        .bind(day_number(date))
        .bind(from)
        .bind(to)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The scope's visits (those that began in its range, which lies in one local day: see
    /// `Scope::within_day`) and their events up to the day's end, loaded with the scope's filters
    /// (from the day's digest when the scope is a whole day that has one) and summed in memory
    /// (see `day_sums`): the rollup rows of the segments `segmenting` names (see `Segmenting`).
    /// Also returns the visits, or None when they were summed from a digest for the site alone:
    /// they then all began at the day's start, and the summary row counts their visitors and
    /// pageviews.
    async fn sum_scope(
        &self,
        scope: &Scope,
        segmenting: Segmenting,
        loaded: &Loaded,
    ) -> StoreResult<(Vec<super::day_sums::Row>, Option<Vec<Visited>>)> {
        let digest = self.digest_of(scope, &event_names(loaded)).await?;
        self.sum_day(scope, segmenting, loaded, digest).await
    }

    /// `Store::sum_scope` with the day's digest already read, if it has one.
    async fn sum_day(
        &self,
        scope: &Scope,
        segmenting: Segmenting,
        loaded: &Loaded,
        digest: Option<Parts>,
    ) -> StoreResult<(Vec<super::day_sums::Row>, Option<Vec<Visited>>)> {
        if let Some(data) = digest {
            // Decoding and summing are all computation: off the async threads, so the parts
            // of a report (see `filtered_report`) use both cores.
            let day_start = scope.range.from;
            let (filters, to, loaded) = (scope.filters.clone(), scope.range.to, loaded.clone());
            let summed =
                blocking(move || sum_digest(&data, day_start, &filters, to, &loaded, segmenting))
                    .await?;
            if let Some(summed) = summed {
                return Ok(summed);
            }
        }
        let raw = self.load_day(scope, Some(&event_names(loaded))).await?;
        let (visits, events) = raw.view();
        let rows = sum_loaded(&visits, &events, scope.range.to, loaded, segmenting);
        Ok((rows, Some(visits.iter().map(Visited::of).collect())))
    }

    /// The digest of the scope's day, when the scope is that whole day without a filter on the one
    /// event a digest leaves out, and the day has one (see `digests`).
    async fn digest_of(&self, scope: &Scope, names: &[&str]) -> StoreResult<Option<Parts>> {
        Ok(self
            .digests_of(std::slice::from_ref(scope), names, true)
            .await?
            .remove(&scope.range.from)
            .and_then(|(visits, events)| Some((visits, events?))))
    }

    /// The digests of those of `days` (parts of one scope, in order) that are whole days with
    /// one, read in one query, by day start (see `Store::digest_of`): their visits part, and
    /// their events part if `with_events`.
    async fn digests_of(
        &self,
        days: &[Scope],
        names: &[&str],
        with_events: bool,
    ) -> StoreResult<HashMap<i64, (Vec<u8>, Option<Vec<u8>>)>> {
        let whole: HashMap<i64, i64> = days
            .iter()
            .filter_map(|d| d.day.filter(|day| *day == d.range))
            .map(|day| (day.from, day.to))
            .collect();
        let (Some(first), Some(last)) = (whole.keys().min(), whole.keys().max()) else {
            return Ok(HashMap::new());
        };
        if names.contains(&digests::LEFT_OUT) {
            return Ok(HashMap::new());
        }
        // On PostgreSQL a part not selected is not even read from its out-of-line storage.
        let columns = if with_events {
            "visits, events"
        } else {
            "visits"
        };
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT day_start, day_end, {columns} FROM day_digests \
             WHERE site_id = $1 AND day_start >= $2 AND day_start <= $3"
        )))
        .bind(days[0].site_id)
        .bind(*first)
        .bind(*last)
        .fetch_all(self.pool())
        .await?;
        let mut found = HashMap::new();
        for row in rows {
            let (start, end): (i64, i64) = (row.try_get("day_start")?, row.try_get("day_end")?);
            if whole.get(&start) == Some(&end) {
                let events = match with_events {
                    true => Some(row.try_get("events")?),
                    false => None,
                };
                found.insert(start, (row.try_get("visits")?, events));
            }
        }
        Ok(found)
    }

    /// The scope's visits and their events up to the day's end, read from the database with the
    /// scope's filters: the events named one of `names`, or every event but engagement (what a
    /// digest keeps) when `None`. Events are in the order day sums read them: `(visit_id, at, id)`.
    async fn load_day(&self, scope: &Scope, names: Option<&[&str]>) -> StoreResult<RawDay> {
        let mut sql = Sql::json_rows(
            self.backend(),
            "id, visitor_id, started_at, pageviews, interactions, last_at - started_at, source, \
             channel, campaign, entry_path, device, browser, os",
        );
        scope.visits_where(&mut sql);
        let visits = sql.fetch_json_rows::<VisitRow>(self).await?;

        let mut sql = Sql::json_rows(
            self.backend(),
            "visit_id, visitor_id, at, name, path, source, channel, campaign, device, id",
        );
        let events_to = scope.day.map_or(scope.range.to, |day| day.to);
        Scope {
            range: Range {
                from: scope.range.from,
                to: events_to.max(scope.range.to),
            },
            ..scope.clone()
        }
        .events_where(&mut sql);
        match names {
            Some(names) => {
                sql.push(" AND name IN (");
                for (i, n) in names.iter().enumerate() {
                    if i > 0 {
                        sql.push(", ");
                    }
                    sql.text(n);
                }
                sql.push(")");
            }
            None => {
                sql.push(" AND name <> ").text(digests::LEFT_OUT);
            }
        }
        let mut events = sql.fetch_json_rows::<EventRow>(self).await?;
        // Day sums read each visit's events together, in the order they happened.
        events.sort_unstable_by_key(|r| (r.0, r.2, r.9));
        Ok(RawDay { visits, events })
    }

    /// Drops the day digests of a practice's sites after events were written into days already
    /// rolled up (the demo's calls from website visitors, generated benchmark traffic); the days
    /// are rolled up again with new ones (see `Store::forget_rollups`).
    pub async fn forget_digests(&self, practice_id: i64) -> StoreResult<()> {
        sqlx::query(
            "DELETE FROM day_digests WHERE site_id IN (SELECT id FROM sites WHERE practice_id = $1)",
        )
        .bind(practice_id)
        .execute(self.pool())
        .await?;
        self.forget_rollups(practice_id).await
    }

    /// Rolls up at most `max_days` ended days that are not rolled up yet, newest first, across all
    /// sites. Returns how many it did; call again until it returns 0.
    pub async fn refresh_rollups(&self, max_days: usize) -> StoreResult<usize> {
        let sites = sqlx::query(
            // A subquery per site, so the minimum is one index seek rather than a scan of all visits.
            "SELECT s.id, s.practice_id, (SELECT MIN(v.started_at) FROM visits v WHERE v.site_id = s.id) AS first_at \
             FROM sites s ORDER BY s.id",
        )
        .fetch_all(self.pool())
        .await?;
        let mut done = 0;
        for site in &sites {
            let site_id: i64 = site.try_get("id")?;
            let practice_id: i64 = site.try_get("practice_id")?;
            let Some(first_at) = site.try_get::<Option<i64>, _>("first_at")? else {
                continue;
            };
            let tz = self.practice_time_zone(practice_id).await?;
            // Each day rolled up so far, with where its rollup ends (before the day's end: today's).
            let have: HashMap<i64, i64> =
                sqlx::query("SELECT day_number, day_end FROM rollup_days WHERE site_id = $1")
                    .bind(site_id)
                    .fetch_all(self.pool())
                    .await?
                    .iter()
                    .map(|r| Ok((r.try_get::<i64, _>("day_number")?, r.try_get("day_end")?)))
                    .collect::<StoreResult<_>>()?;
            // Ended days rolled up before digests existed are rolled up again to get one.
            let digested: std::collections::HashSet<i64> =
                sqlx::query("SELECT day_start FROM day_digests WHERE site_id = $1")
                    .bind(site_id)
                    .fetch_all(self.pool())
                    .await?
                    .iter()
                    .map(|r| r.try_get("day_start"))
                    .collect::<Result<_, _>>()?;
            let Ok(first) = jiff::Timestamp::from_millisecond(first_at) else {
                continue;
            };
            let first = first.to_zoned_datetime(tz.clone()).date();
            let now = now_ms();
            let mut date = jiff::Timestamp::from_millisecond(now)
                .map(|t| t.to_zoned_datetime(tz.clone()).date())
                .unwrap_or(first);
            let today = day_number(date);
            // Today so far, up to a minute ago, refreshed every few minutes: a report then reads
            // only the last minutes raw. Visits still in progress catch up at the next refresh.
            let cutoff = now - now.rem_euclid(60_000) - 60_000;
            if let Some((start, end)) = day_bounds(date, &tz)
                && end > now
                && cutoff > start
                && have
                    .get(&day_number(date))
                    .is_none_or(|until| *until + TODAY_REFRESH_MS <= cutoff)
            {
                self.roll_up_day(practice_id, site_id, date, &tz, Some(cutoff))
                    .await?;
                done += 1;
            }
            // Remembered filter sets are filled in for the days already rolled up before older
            // days are rolled up (which include them anyway).
            if done < max_days {
                done += self
                    .fill_in_segments(practice_id, site_id, &tz, max_days - done)
                    .await?;
            }
            while date >= first && done < max_days {
                if let Some((start, end)) = day_bounds(date, &tz)
                    && end + SETTLE_MS <= now
                    && (have.get(&day_number(date)) != Some(&end) || !digested.contains(&start))
                {
                    self.roll_up_day(practice_id, site_id, date, &tz, None)
                        .await?;
                    done += 1;
                }
                match date.yesterday() {
                    Ok(d) => date = d,
                    Err(_) => break,
                }
            }
            self.prepare_sections(practice_id, site_id, today).await?;
            if done >= max_days {
                break;
            }
        }
        Ok(done)
    }

    /// Remembers the site's sections ("/blog/*": see `sections`) among the pages its last four
    /// rolled-up weeks saw, once a local day, so a report filtered by one is served by rollups
    /// from the first time: a page pattern nothing defines is otherwise read from the raw events
    /// the first time (seconds for a year of a busy site) and filled in afterwards. Patterns the
    /// site's definitions use are standard segments already; a section remembered before is left
    /// as it is.
    async fn prepare_sections(
        &self,
        practice_id: i64,
        site_id: i64,
        today: i64,
    ) -> StoreResult<()> {
        let checked = self
            .sections_checked
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&site_id)
            .copied();
        if checked == Some(today) {
            return Ok(());
        }
        let since = now_ms() - 28 * 86_400_000;
        // The primary key (site, segment, day) holds all this: no row is read.
        let pages: Vec<String> = sqlx::query(
            "SELECT DISTINCT segment FROM rollups WHERE site_id = $1 AND segment LIKE 'page=/%' \
             AND day_start >= $2",
        )
        .bind(site_id)
        .bind(since)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(|r| r.try_get::<String, _>("segment"))
        .collect::<Result<_, _>>()?;
        // One page on its own: not a pair, a pattern or an escaped value.
        let pages: Vec<&str> = pages
            .iter()
            .filter_map(|s| s.strip_prefix("page="))
            .filter(|p| !p.contains(['&', '*', '%']))
            .collect();
        if pages.is_empty() {
            // Nothing rolled up yet: looked for again after the next days are.
            return Ok(());
        }
        self.sections_checked
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(site_id, today);
        let wanted = sections(&pages);
        if wanted.is_empty() {
            return Ok(());
        }
        let loaded = self.definitions(practice_id, site_id).await?;
        let known: Vec<String> = loaded.families.into_iter().chain(loaded.patterns).collect();
        for section in wanted.into_iter().filter(|s| !known.contains(s)) {
            let filters = super::query::Filters {
                page: Some(section),
                ..super::query::Filters::default()
            };
            self.remember_segment(site_id, &filters).await?;
        }
        Ok(())
    }

    /// Fills in the segments of filter sets reports asked for (see `remember_segment`) for days
    /// rolled up before they were asked for, newest first, at most `max_days` days. Returns how
    /// many days it filled in.
    async fn fill_in_segments(
        &self,
        practice_id: i64,
        site_id: i64,
        tz: &TimeZone,
        max_days: usize,
    ) -> StoreResult<usize> {
        let mut done = 0;
        while done < max_days {
            let Some((filters, done_from)) = self
                .report_segments(site_id)
                .await?
                .into_iter()
                .find(|(_, done_from)| *done_from != Some(0))
            else {
                break;
            };
            let extra = filters.extra();
            let days = sqlx::query(
                "SELECT day_start, day_end FROM rollup_days WHERE site_id = $1 AND day_start < $2 \
                 ORDER BY day_start DESC LIMIT $3",
            )
            .bind(site_id)
            .bind(done_from.unwrap_or(i64::MAX))
            .bind((max_days - done) as i64)
            .fetch_all(self.pool())
            .await?;
            if days.is_empty() {
                // Every rolled-up day has it, and every day rolled up from now on will.
                self.segment_done_from(site_id, &extra.name, 0).await?;
                continue;
            }
            let loaded = self.definitions(practice_id, site_id).await?;
            let scope =
                Scope::new(practice_id, site_id, Range { from: 0, to: 0 }).with_filters(filters);
            for day in &days {
                let (start, until): (i64, i64) =
                    (day.try_get("day_start")?, day.try_get("day_end")?);
                if !self.fill_in_day(&scope, &loaded, tz, start, until).await? {
                    return Ok(done);
                }
                self.segment_done_from(site_id, &extra.name, start).await?;
                done += 1;
            }
        }
        Ok(done)
    }

    async fn segment_done_from(&self, site_id: i64, segment: &str, from: i64) -> StoreResult<()> {
        sqlx::query(
            "UPDATE report_segments SET done_from = $3 WHERE site_id = $1 AND segment = $2",
        )
        .bind(site_id)
        .bind(segment)
        .bind(from)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// One rolled-up day's rows of the segment of the scope's filters, up to `until` as the day was
    /// rolled up: the day's matching visits and their events, summed as a filtered report sums
    /// them (the filters work in SQL, so only the segment's own rows are read). False when the
    /// site's definitions changed meanwhile (its rollups are then being rebuilt) or the set was
    /// dropped.
    async fn fill_in_day(
        &self,
        scope: &Scope,
        loaded: &Loaded,
        tz: &TimeZone,
        start: i64,
        until: i64,
    ) -> StoreResult<bool> {
        let site_id = scope.site_id;
        let extra = scope.filters.extra();
        let Some((from, end)) = jiff::Timestamp::from_millisecond(start)
            .ok()
            .and_then(|t| day_bounds(t.to_zoned_datetime(tz.clone()).date(), tz))
        else {
            return Ok(true);
        };
        let generation = self.rollup_generation(site_id).await?;
        let day = scope
            .over(Range { from, to: until })
            .within_day(Range { from, to: end });
        let family = scope
            .filters
            .page
            .clone()
            .filter(|_| is_family(&scope.filters));
        let rows: Vec<super::day_sums::Row> = match &family {
            // The visits that viewed the pattern, segmented as a day's rollup segments them with
            // the pattern as its only one: the family's rows are those of the pattern alone and
            // with each filter value (the rest would describe those visits only).
            Some(page) => {
                let mut own = loaded.clone();
                own.patterns = vec![page.clone()];
                own.families.clear();
                own.extras.clear();
                let (rows, _) = self.sum_scope(&day, Segmenting::All, &own).await?;
                rows.into_iter().filter(|r| in_family(&r.0, page)).collect()
            }
            None => {
                let (rows, _) = self.sum_scope(&day, Segmenting::Site, loaded).await?;
                // A day without visits in the segment has no row, as in a day's rollup.
                let visited = rows.iter().any(|r| r.1 == "summary" && r.3.visits > 0);
                rows.into_iter()
                    .filter(|_| visited)
                    .map(|(_, metric, key, sums)| (extra.name.clone(), metric, key, sums))
                    .collect()
            }
        };
        let mut tx = self.begin().await?;
        let current = still_current(&mut tx, site_id, generation).await?;
        // The set may have been dropped meanwhile (a site keeps the most recently used few).
        let kept = sqlx::query("SELECT 1 FROM report_segments WHERE site_id = $1 AND segment = $2")
            .bind(site_id)
            .bind(extra.name.as_str())
            .fetch_optional(&mut *tx)
            .await?
            .is_some();
        if !current || !kept {
            tx.rollback().await?;
            return Ok(false);
        }
        let mut replaced = vec![extra.name.clone()];
        if let Some(page) = &family {
            replaced =
                sqlx::query("SELECT segment FROM rollups WHERE site_id = $1 AND day_start = $2")
                    .bind(site_id)
                    .bind(from)
                    .fetch_all(&mut *tx)
                    .await?
                    .iter()
                    .map(|r| r.try_get::<String, _>("segment"))
                    .collect::<Result<Vec<_>, _>>()?
                    .into_iter()
                    .filter(|s| in_family(s, page))
                    .collect();
        }
        for name in &replaced {
            sqlx::query(
                "DELETE FROM rollups WHERE site_id = $1 AND day_start = $2 AND segment = $3",
            )
            .bind(site_id)
            .bind(from)
            .bind(name.as_str())
            .execute(&mut *tx)
            .await?;
        }
        insert_segments(
            &mut tx,
            self.backend(),
            site_id,
            from,
            &stored_segments(rows),
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The site's rollup generation, bumped whenever its rollups are dropped (see `still_current`).
    async fn rollup_generation(&self, site_id: i64) -> StoreResult<i64> {
        Ok(
            sqlx::query("SELECT rollup_generation FROM sites WHERE id = $1")
                .bind(site_id)
                .fetch_one(self.pool())
                .await?
                .try_get("rollup_generation")?,
        )
    }

    /// Drops a practice's rollups after its goals, funnels or condition pages changed, or events
    /// were written into days already rolled up (the demo's calls from website visitors); they are
    /// rebuilt in the background and reports read the raw data meanwhile.
    pub async fn forget_rollups(&self, practice_id: i64) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "UPDATE sites SET rollup_generation = rollup_generation + 1 WHERE practice_id = $1",
        )
        .bind(practice_id)
        .execute(&mut *tx)
        .await?;
        for table in ["rollups", "rollup_days"] {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DELETE FROM {table} WHERE site_id IN (SELECT id FROM sites WHERE practice_id = $1)"
            )))
            .bind(practice_id)
            .execute(&mut *tx)
            .await?;
        }
        // Every day rolled up again includes the remembered filter sets: none needs filling in.
        sqlx::query(
            "UPDATE report_segments SET done_from = 0 WHERE site_id IN (SELECT id FROM sites WHERE practice_id = $1)",
        )
        .bind(practice_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The practice's time zone: its first location's (by name), else UTC.
    pub async fn practice_time_zone(&self, practice_id: i64) -> StoreResult<TimeZone> {
        let row = sqlx::query(
            "SELECT time_zone FROM locations WHERE practice_id = $1 ORDER BY name LIMIT 1",
        )
        .bind(practice_id)
        .fetch_optional(self.pool())
        .await?;
        Ok(match row {
            Some(r) => {
                let name: String = r.try_get("time_zone")?;
                stride_core::tz::TimeZoneName::parse(&name)
                    .map(|t| t.tz())
                    .unwrap_or(TimeZone::UTC)
            }
            None => TimeZone::UTC,
        })
    }
}

/// Whether the site's rollup generation is still `generation`, so what was summed under it may be
/// written. Also locks the site's row, so a concurrent change waits for this write and then drops
/// it.
async fn still_current(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    site_id: i64,
    generation: i64,
) -> StoreResult<bool> {
    let updated = sqlx::query(
        "UPDATE sites SET rollup_generation = rollup_generation WHERE id = $1 AND rollup_generation = $2",
    )
    .bind(site_id)
    .bind(generation)
    .execute(&mut **tx)
    .await?;
    Ok(updated.rows_affected() > 0)
}

/// Writes a day's stored segments, 60 rows to a statement.
async fn insert_segments(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    backend: crate::Backend,
    site_id: i64,
    day_start: i64,
    segments: &[StoredSegment],
) -> StoreResult<()> {
    for chunk in segments.chunks(60) {
        let mut sql = String::from(
            "INSERT INTO rollups (site_id, segment, day_start, visitors, visits, pageviews, bounces, \
             duration_ms, sums) VALUES ",
        );
        super::push_placeholders(&mut sql, backend, 1, chunk.len(), 9);
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for row in chunk {
            let s = &row.summary;
            q = q
                .bind(site_id)
                .bind(row.segment.as_str())
                .bind(day_start)
                .bind(s.visitors)
                .bind(s.visits)
                .bind(s.pageviews)
                .bind(s.bounces)
                .bind(s.duration_ms)
                .bind(row.sums.as_str());
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

/// A site's sections among these pages: "/blog/*" for each first path segment with at least two
/// pages under it ("/blog/a", "/blog/b"), those with the most pages first, at most `MAX_SECTIONS`.
fn sections(pages: &[&str]) -> Vec<String> {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for page in pages {
        if let Some((first, rest)) = page.strip_prefix('/').and_then(|p| p.split_once('/'))
            && !first.is_empty()
            && !rest.is_empty()
        {
            *counts.entry(first).or_default() += 1;
        }
    }
    let mut found: Vec<(&str, usize)> = counts.into_iter().filter(|(_, n)| *n >= 2).collect();
    found.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    found
        .into_iter()
        .take(MAX_SECTIONS)
        .map(|(first, _)| format!("/{first}/*"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_numbered_without_gaps_across_a_dst_change() {
        let tz = TimeZone::get("America/Chicago").unwrap();
        let spring = Date::constant(2026, 3, 8);
        let (s, e) = day_bounds(spring, &tz).unwrap();
        assert_eq!(e - s, 23 * 3_600_000);
        assert_eq!(
            day_number(spring.tomorrow().unwrap()) - day_number(spring),
            1
        );
        assert_eq!(day_number(Date::constant(1970, 1, 2)), 1);
    }

    #[test]
    fn day_indexes_follow_local_days_across_dst() {
        let tz = TimeZone::get("America/Chicago").unwrap();
        let (from, _) = day_bounds(Date::constant(2026, 10, 30), &tz).unwrap();
        let (_, to) = day_bounds(Date::constant(2026, 11, 5), &tz).unwrap();
        let sql = day_index_sql(from, to, &tz);
        // Evaluate the CASE by hand for a few instants.
        let index = |t: i64| -> i64 {
            let body = sql.trim_start_matches("CASE").trim_end_matches(" END");
            let (whens, plain) = body.split_once(" ELSE ").unwrap();
            for w in whens
                .split(" WHEN started_at >= ")
                .filter(|w| !w.trim().is_empty())
            {
                let (start, then) = w.split_once(" THEN ").unwrap();
                let start: i64 = start.trim().parse().unwrap();
                if t >= start {
                    return match then.split_once(" + ") {
                        Some((k, _)) => k.parse::<i64>().unwrap() + (t - start) / 86_400_000,
                        None => then.trim().parse().unwrap(),
                    };
                }
            }
            assert!(plain.starts_with("(started_at - "));
            (t - from) / 86_400_000
        };
        for (day, k) in [(30, 0), (31, 1), (1, 2), (2, 3), (3, 4), (4, 5)] {
            let month = if day >= 30 { 10 } else { 11 };
            let (s, e) = day_bounds(Date::constant(2026, month, day), &tz).unwrap();
            assert_eq!(index(s), k, "start of {month}/{day}");
            assert_eq!(index(e - 1), k, "end of {month}/{day}");
        }
        // Without a change in the range, plain 24-hour steps.
        let (from, _) = day_bounds(Date::constant(2026, 6, 1), &tz).unwrap();
        assert!(day_index_sql(from, from + 7 * 86_400_000, &tz).starts_with("(started_at"));
    }

    #[test]
    fn the_previous_period_is_made_of_whole_local_days() {
        let tz = TimeZone::get("America/Chicago").unwrap();
        let (from, _) = day_bounds(Date::constant(2026, 11, 1), &tz).unwrap();
        let (to, _) = day_bounds(Date::constant(2026, 11, 8), &tz).unwrap();
        let prev = previous_range(Range { from, to }, &tz);
        assert_eq!(prev.to, from);
        assert_eq!(
            prev.from,
            day_bounds(Date::constant(2026, 10, 25), &tz).unwrap().0
        );
        // Not on day boundaries: the same length just before.
        let odd = Range { from: 5, to: 15 };
        assert_eq!(previous_range(odd, &tz), Range { from: -5, to: 5 });
    }

    #[test]
    fn a_period_under_way_is_compared_with_as_much_time_before_it() {
        let tz = TimeZone::get("America/Chicago").unwrap();
        let at = |y, m, d, h, min| {
            (Date::constant(y, m, d)
                .at(h, min, 0, 0)
                .to_zoned_datetime(tz.clone()))
            .unwrap()
            .timestamp()
            .as_millisecond()
        };
        // Nov 1-7, 2026 (clocks went back on Nov 1), at 10:30 on Nov 7: the week before up to
        // 10:30 on Oct 31, by the clock on the wall.
        let (from, _) = day_bounds(Date::constant(2026, 11, 1), &tz).unwrap();
        let (to, _) = day_bounds(Date::constant(2026, 11, 8), &tz).unwrap();
        let week = Range { from, to };
        let compared = compared_range(week, &tz, at(2026, 11, 7, 10, 30));
        assert_eq!(compared.from, previous_range(week, &tz).from);
        assert_eq!(compared.to, at(2026, 10, 31, 10, 30));
        // Once the period is over, or before it begins: the whole period before.
        for now in [to, to + 1, from - 1] {
            assert_eq!(compared_range(week, &tz, now), previous_range(week, &tz));
        }
        // Not on day boundaries: as far into the period before.
        let odd = Range { from: 5, to: 15 };
        assert_eq!(compared_range(odd, &tz, 8), Range { from: -5, to: -2 });
    }

    #[test]
    fn merged_breakdowns_add_up_and_stay_sorted() {
        let row = |k: &str, v| BreakdownRow {
            key: k.into(),
            visitors: v,
            visits: v,
            converting: 1,
            previous: None,
        };
        let merged = merge_rows(
            vec![row("a", 5), row("b", 4)],
            vec![row("b", 3), row("c", 1)],
        );
        let keys: Vec<(&str, i64, i64)> = merged
            .iter()
            .map(|r| (r.key.as_str(), r.visitors, r.converting))
            .collect();
        assert_eq!(keys, vec![("b", 7, 2), ("a", 5, 1), ("c", 1, 1)]);
    }

    #[test]
    fn sections_are_first_path_segments_with_several_pages() {
        let pages = [
            "/",
            "/about",
            "/blog/knee-pain-after-running",
            "/blog/5-stretches",
            "/blog/when-to-see-a-pt",
            "/locations/downtown",
            "/locations/lakewood",
            "/services/dry-needling",
            "/services/",
            "//double",
        ];
        // "/services/" is the section's own index, not a page under it; "/about" has no section.
        assert_eq!(sections(&pages), vec!["/blog/*", "/locations/*"]);
        let many: Vec<String> = (0..12).map(|i| format!("/s{i:02}/a")).collect();
        let mut pages: Vec<&str> = many.iter().map(String::as_str).collect();
        let more: Vec<String> = (0..12).map(|i| format!("/s{i:02}/b")).collect();
        pages.extend(more.iter().map(String::as_str));
        pages.push("/s11/c");
        let found = sections(&pages);
        assert_eq!(found.len(), MAX_SECTIONS);
        assert_eq!(
            found[0], "/s11/*",
            "the section with the most pages comes first"
        );
    }

    #[test]
    fn a_family_is_its_pattern_alone_and_with_one_filter() {
        let p = "/blog/*";
        assert!(in_family("page=/blog/*", p));
        assert!(in_family("device=mobile&page=/blog/*", p));
        assert!(
            in_family("source=A%26B&page=/blog/*", p),
            "an escaped & is a value's"
        );
        assert!(
            !in_family("source=Google&device=mobile&page=/blog/*", p),
            "three filters"
        );
        assert!(!in_family("page=/blog/a", p));
        assert!(!in_family("device=mobile&page=/x/blog/*", p));
        assert!(!in_family("xpage=/blog/*", p));
        let f = |page: &str, device: Option<&str>| super::super::query::Filters {
            page: Some(page.into()),
            device: device.map(String::from),
            ..Default::default()
        };
        assert!(is_family(&f("/blog/*", None)));
        assert!(!is_family(&f("/blog/*", Some("mobile"))));
        assert!(!is_family(&f("/blog", None)));
    }
}
