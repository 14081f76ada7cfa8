//! One local day of a site summed in memory, in one pass over its visits and events: for the whole
//! site (segment "") and for every filter the dashboard offers, alone and in pairs (see
//! `segment_name`): each value of source, channel, campaign and device ("channel=paid_search"), each
//! page the visit viewed ("page=/knee-pain") and each page pattern the site's goals, funnels and
//! condition pages use that it matched ("page=/conditions/*"), and every two of those that are not
//! both pages ("channel=paid_search&device=mobile", "device=mobile&page=/conditions/*"). The rules
//! are those of the raw
//! report queries in `reports` and `insights`, which the rollup tests compare against:
//!
//! - visit metrics (summary, breakdowns, funnels, confirmations) count visits that began in the
//!   day, by the visit's attributes;
//! - event metrics (pages, goals, condition pages) count events in the day, by the event's own
//!   attributes (which the writer copies from its visit);
//! - a visit "converts" when any of its events in the day completes a lead-action goal, whatever
//!   the segment.
//!
//! A visit never outlasts the local day it began in (visitor ids change at local midnight), so
//! the day's events are all the events its visits have.

// foldhash rather than std's SipHash: a busy day is millions of inserts into these sets (keys are
// visit and visitor ids and the day's own values, so hash flooding is not a concern here).
use foldhash::{HashMap, HashMapExt, HashSet};

use stride_core::website::insights::{funnel_counts, funnel_reached, path_matches};

use super::reports::{Goal, GoalCategory, GoalKind};

/// The breakdowns a rollup keeps, by the visits column they group (the order of `DayVisit::dims`).
pub(crate) const DIMENSIONS: [&str; 7] = [
    "source",
    "channel",
    "campaign",
    "entry_path",
    "device",
    "browser",
    "os",
];

/// The filters a rollup is segmented by, as indexes into `DIMENSIONS`.
const SEGMENTED: [usize; 4] = [0, 1, 2, 4];

/// One row of sums, as stored.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Sums {
    pub visitors: i64,
    pub visits: i64,
    pub pageviews: i64,
    pub bounces: i64,
    pub duration_ms: i64,
    pub converting: i64,
}

impl Sums {
    /// Both sums added: exact for visitors too, when the two cover different local days.
    pub fn plus(&self, o: &Sums) -> Sums {
        Sums {
            visitors: self.visitors + o.visitors,
            visits: self.visits + o.visits,
            pageviews: self.pageviews + o.pageviews,
            bounces: self.bounces + o.bounces,
            duration_ms: self.duration_ms + o.duration_ms,
            converting: self.converting + o.converting,
        }
    }
}

/// A visit that began in the day, its text borrowed from where it was loaded.
#[derive(Debug, Clone)]
pub(crate) struct DayVisit<'a> {
    pub id: i64,
    pub visitor_id: i64,
    pub started_at: i64,
    pub pageviews: i64,
    pub interactions: i64,
    pub duration_ms: i64,
    /// source, channel, campaign, entry_path, device, browser, os.
    pub dims: [&'a str; 7],
}

/// An event of the day that a report looks at (pageviews and the events goals and funnels name),
/// in the order of `(visit_id, at, id)`.
#[derive(Debug, Clone)]
pub(crate) struct DayEvent<'a> {
    pub visit_id: i64,
    pub visitor_id: i64,
    pub at: i64,
    pub name: &'a str,
    pub path: &'a str,
    /// source, channel, campaign, device.
    pub attrs: [&'a str; 4],
}

/// What a site defines that its reports count.
pub(crate) struct Definitions<'a> {
    pub goals: &'a [Goal],
    /// Each funnel's id and steps.
    pub funnels: Vec<(i64, Vec<(GoalKind, String)>)>,
    /// Each condition and its page patterns.
    pub conditions: &'a [(String, Vec<String>)],
    /// The page patterns with a `*` that goals, funnels and condition pages use: each is a segment.
    pub patterns: &'a [String],
    /// Filter sets reports asked for that no standard segment serves: each is a segment too.
    pub extras: &'a [Extra],
}

/// Which segments a day is summed for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Segmenting {
    /// Only segment "": for a report whose rows were already filtered.
    Site,
    /// Every segment: a day's rollup.
    All,
}

/// A filter set a report asked for that no standard segment serves (three filters or more, or a
/// page pattern nothing defines), rolled up as a segment of its own once asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Extra {
    /// Its segment name (`segment_name` of all its filters).
    pub name: String,
    /// Its column filters, by `segment_name`'s column names.
    pub columns: Vec<(&'static str, String)>,
    /// The page, or page pattern, its visits viewed.
    pub page: Option<String>,
}

impl Extra {
    /// Whether something with these column values, whose visit viewed these pages, is in it.
    fn contains(&self, columns: &[(&'static str, &str)], viewed: &[&str]) -> bool {
        self.columns
            .iter()
            .all(|(c, v)| columns.iter().any(|(cc, vv)| cc == c && vv == v))
            && self
                .page
                .as_deref()
                .is_none_or(|p| viewed.iter().any(|v| path_matches(p, v)))
    }
}

/// One rollup row: segment, metric, key and sums.
pub(crate) type Row = (String, &'static str, String, Sums);

/// A segment's day as stored: its summary, and its other sums encoded by `encode_sums`.
pub(crate) struct StoredSegment {
    pub segment: String,
    pub summary: Sums,
    pub sums: String,
}

/// A day's rows grouped into one stored row per segment.
pub(crate) fn stored_segments(rows: Vec<Row>) -> Vec<StoredSegment> {
    // Per segment: its summary and its other sums (metric, key, sums).
    type Day = (Sums, Vec<(&'static str, String, Sums)>);
    let mut by: HashMap<String, Day> = HashMap::new();
    for (segment, metric, key, sums) in rows {
        let entry = by.entry(segment).or_default();
        if metric == "summary" {
            entry.0 = sums;
        } else {
            entry.1.push((metric, key, sums));
        }
    }
    by.into_iter()
        .map(|(segment, (summary, rows))| StoredSegment {
            segment,
            summary,
            sums: encode_sums(&rows),
        })
        .collect()
}

/// Sums as JSON: `[[metric, key, [visitors, visits, pageviews, bounces, duration_ms,
/// converting]], ...]`, trailing zeros left out (most rows count only visitors and visits).
pub(crate) fn encode_sums(rows: &[(&str, String, Sums)]) -> String {
    let mut out = String::from("[");
    for (i, (metric, key, s)) in rows.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let values = [
            s.visitors,
            s.visits,
            s.pageviews,
            s.bounces,
            s.duration_ms,
            s.converting,
        ];
        let used = values.iter().rposition(|v| *v != 0).map_or(0, |i| i + 1);
        let values: Vec<String> = values[..used].iter().map(i64::to_string).collect();
        // A JSON string's Display is the string quoted and escaped.
        out.push_str(&format!(
            "[{},{},[{}]]",
            serde_json::Value::from(*metric),
            serde_json::Value::from(key.as_str()),
            values.join(",")
        ));
    }
    out.push(']');
    out
}

/// The sums `encode_sums` wrote.
pub(crate) fn decode_sums(text: &str) -> Result<Vec<(String, String, Sums)>, serde_json::Error> {
    let rows: Vec<(String, String, Vec<i64>)> = serde_json::from_str(text)?;
    Ok(rows
        .into_iter()
        .map(|(metric, key, v)| {
            let at = |i: usize| v.get(i).copied().unwrap_or(0);
            let sums = Sums {
                visitors: at(0),
                visits: at(1),
                pageviews: at(2),
                bounces: at(3),
                duration_ms: at(4),
                converting: at(5),
            };
            (metric, key, sums)
        })
        .collect())
}

fn matches(kind: GoalKind, pattern: &str, name: &str, path: &str) -> bool {
    match kind {
        GoalKind::Event => name == pattern,
        GoalKind::Page => name == "pageview" && path_matches(pattern, path),
    }
}

/// The name of the rollup segment for a set of filter values: "" for none, else `column=value`
/// parts in the order source, channel, campaign, device, page, joined by `&`. A `%` or `&` in a
/// value is escaped, so two different sets of filters never share a name.
pub(crate) fn segment_name(parts: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (i, (column, value)) in parts.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(column);
        out.push('=');
        for c in value.chars() {
            match c {
                '%' => out.push_str("%25"),
                '&' => out.push_str("%26"),
                c => out.push(c),
            }
        }
    }
    out
}

/// The segments something with these filter values belongs to: the whole site; each non-empty
/// value, each page its visit viewed and each pattern one of those pages matched; every two of
/// these that are not both pages; and each extra segment it is in. `columns` are in
/// `segment_name`'s order.
fn segments(
    columns: [(&'static str, &str); 4],
    viewed: &[&str],
    defs: &Definitions,
    segmenting: Segmenting,
) -> Vec<String> {
    let mut out = vec![String::new()];
    let extras = defs
        .extras
        .iter()
        .filter(|x| x.contains(&columns, viewed))
        .map(|x| x.name.clone());
    if segmenting == Segmenting::Site {
        return out;
    }
    let patterns = defs.patterns;
    let columns: Vec<(&str, &str)> = columns.into_iter().filter(|(_, v)| !v.is_empty()).collect();
    // A viewed path with a `*` is left out: a filter with a `*` is a pattern.
    let pages: Vec<&str> = viewed
        .iter()
        .copied()
        .filter(|p| !p.contains('*'))
        .chain(
            patterns
                .iter()
                .filter(|p| viewed.iter().any(|v| path_matches(p, v)))
                .map(String::as_str),
        )
        .collect();
    for (i, &a) in columns.iter().enumerate() {
        out.push(segment_name(&[a]));
        for &b in &columns[i + 1..] {
            out.push(segment_name(&[a, b]));
        }
        for &p in &pages {
            out.push(segment_name(&[a, ("page", p)]));
        }
    }
    for &p in &pages {
        out.push(segment_name(&[("page", p)]));
    }
    // An extra may have become a standard segment since it was remembered (a goal now uses its
    // pattern): it is counted once.
    for x in extras {
        if !out.contains(&x) {
            out.push(x);
        }
    }
    out
}

/// Ids (of visitors or visits) counted once each at the end: pushing to a list and sorting it once
/// is much quicker than a set insert per visit or event.
#[derive(Default, Clone)]
struct Ids(Vec<i64>);

impl Ids {
    fn push(&mut self, id: i64) {
        // Runs of one id (a visit's events, one after the other) are common.
        if self.0.last() != Some(&id) {
            self.0.push(id);
        }
    }

    /// The distinct ids, in order.
    fn distinct(&mut self) -> &[i64] {
        self.0.sort_unstable();
        self.0.dedup();
        &self.0
    }

    fn count(&mut self) -> i64 {
        self.distinct().len() as i64
    }
}

/// Visits of one value (a source, a page, ...), with their visitors and the converting ones.
#[derive(Default)]
struct Group {
    visitors: Ids,
    n: i64,
    converting: Ids,
}

impl Group {
    fn add(&mut self, visitor: i64, converts: bool) {
        self.visitors.push(visitor);
        self.n += 1;
        if converts {
            self.converting.push(visitor);
        }
    }

    fn sums(&mut self) -> Sums {
        Sums {
            visitors: self.visitors.count(),
            visits: self.n,
            converting: self.converting.count(),
            ..Sums::default()
        }
    }
}

#[derive(Default)]
struct Segment {
    visitors: Ids,
    visits: i64,
    pageviews: i64,
    bounces: i64,
    duration_ms: i64,
    dims: [HashMap<String, Group>; 7],
    pages: HashMap<String, Group>,
    /// Per goal: converting visitors and conversions.
    goals: Vec<(Ids, i64)>,
    /// Per goal with a confirming page: how far each visit got through [event, page].
    confirm: Vec<Vec<usize>>,
    /// Per funnel: how far each visit got.
    funnels: Vec<Vec<usize>>,
    /// Per condition: visitors and visits that read its pages.
    condition_visitors: Vec<Ids>,
    condition_visits: Vec<Ids>,
    /// Visits with a lead action among this segment's events.
    lead_visits: Ids,
}

impl Segment {
    fn new(defs: &Definitions, confirm_pairs: usize) -> Segment {
        Segment {
            goals: vec![Default::default(); defs.goals.len()],
            confirm: vec![Vec::new(); confirm_pairs],
            funnels: vec![Vec::new(); defs.funnels.len()],
            condition_visitors: vec![Ids::default(); defs.conditions.len()],
            condition_visits: vec![Ids::default(); defs.conditions.len()],
            ..Segment::default()
        }
    }
}

/// A day's segments, each named once and then known by its index.
struct Segments<'d> {
    ids: HashMap<String, usize>,
    list: Vec<(String, Segment)>,
    defs: &'d Definitions<'d>,
    confirm_pairs: usize,
}

impl<'d> Segments<'d> {
    /// The index of a segment, started empty the first time it is named.
    fn id(&mut self, name: String) -> usize {
        if let Some(&id) = self.ids.get(&name) {
            return id;
        }
        let id = self.list.len();
        self.list
            .push((name.clone(), Segment::new(self.defs, self.confirm_pairs)));
        self.ids.insert(name, id);
        id
    }
}

/// Counts a visitor (and whether it converts) in a group, keyed by a value of the day.
fn add_to(groups: &mut HashMap<String, Group>, key: &str, visitor: i64, converts: bool) {
    match groups.get_mut(key) {
        Some(g) => g.add(visitor, converts),
        None => {
            let mut g = Group::default();
            g.add(visitor, converts);
            groups.insert(key.to_string(), g);
        }
    }
}

/// Every list of steps a visit is followed through, in order: each event goal a page goal
/// confirms (the event, then the page), then each funnel.
pub(crate) struct Steps {
    /// Event goals confirmed by a page goal: (goal index, [event step, page step]).
    confirm_pairs: Vec<(usize, [(GoalKind, String); 2])>,
}

impl Steps {
    pub(crate) fn of(defs: &Definitions) -> Steps {
        let confirm_pairs = (defs.goals.iter().enumerate())
            .filter_map(|(i, g)| {
                let page = defs.goals.iter().find(|p| Some(p.id) == g.confirmed_by)?;
                let steps = [
                    (g.kind, g.pattern.clone()),
                    (page.kind, page.pattern.clone()),
                ];
                Some((i, steps))
            })
            .collect();
        Steps { confirm_pairs }
    }

    /// The lists: the confirmations, then the funnels.
    pub(crate) fn lists<'a>(&'a self, defs: &'a Definitions) -> Vec<&'a [(GoalKind, String)]> {
        (self.confirm_pairs.iter().map(|(_, steps)| steps.as_slice()))
            .chain(defs.funnels.iter().map(|(_, steps)| steps.as_slice()))
            .collect()
    }

    /// A segment's rows of confirmations ("confirm", "goal id:step") and funnels ("funnel",
    /// "funnel id:step"), from how many visits reached each step of each list, in order.
    pub(crate) fn rows(
        &self,
        segment: &str,
        defs: &Definitions,
        counts: impl Iterator<Item = Vec<u64>>,
        rows: &mut Vec<Row>,
    ) {
        let keys = (self.confirm_pairs.iter())
            .map(|(g, _)| ("confirm", defs.goals[*g].id))
            .chain(defs.funnels.iter().map(|(id, _)| ("funnel", *id)));
        for ((metric, id), counts) in keys.zip(counts) {
            for (step, n) in counts.iter().enumerate().filter(|(_, n)| **n > 0) {
                let sums = Sums {
                    visits: *n as i64,
                    ..Sums::default()
                };
                rows.push((segment.to_string(), metric, format!("{id}:{step}"), sums));
            }
        }
    }
}

/// What events of one name and path count towards.
pub(crate) struct Kind {
    /// It completes a lead-action goal.
    pub lead: bool,
    pub pageview: bool,
    /// The goals it completes, by index.
    pub goals: Vec<usize>,
    /// The condition pages it is a pageview of, by index.
    pub conditions: Vec<usize>,
    /// Per list of steps (see `Steps`), the steps it is, as bits.
    pub steps: Vec<u64>,
}

impl Kind {
    pub(crate) fn of(
        name: &str,
        path: &str,
        defs: &Definitions,
        step_lists: &[&[(GoalKind, String)]],
    ) -> Kind {
        let goals: Vec<usize> = (0..defs.goals.len())
            .filter(|&g| matches(defs.goals[g].kind, &defs.goals[g].pattern, name, path))
            .collect();
        let conditions = if name == "pageview" {
            (0..defs.conditions.len())
                .filter(|&c| defs.conditions[c].1.iter().any(|p| path_matches(p, path)))
                .collect()
        } else {
            Vec::new()
        };
        let steps = step_lists
            .iter()
            .map(|steps| {
                steps
                    .iter()
                    .enumerate()
                    .filter(|(_, (kind, pattern))| matches(*kind, pattern, name, path))
                    .fold(0u64, |m, (i, _)| m | (1 << i))
            })
            .collect();
        Kind {
            pageview: name == "pageview",
            lead: goals
                .iter()
                .any(|&g| defs.goals[g].category == GoalCategory::LeadAction),
            goals,
            conditions,
            steps,
        }
    }
}

/// Sums a day. `events` holds the day's events up to the day's end; those at or after `to` (a
/// partial day's cut-off) count only towards funnels of visits that began before it. `segmenting`
/// says which segments are summed (see `Segmenting`).
pub(crate) fn day_rows(
    visits: &[DayVisit],
    events: &[DayEvent],
    to: i64,
    defs: &Definitions,
    segmenting: Segmenting,
) -> Vec<Row> {
    let steps = Steps::of(defs);
    let confirm_pairs = &steps.confirm_pairs;
    let step_lists = steps.lists(defs);
    // What each event counts towards, worked out once for each name and path of the day (a day
    // has thousands of events but few distinct ones).
    let mut kinds: Vec<Kind> = Vec::new();
    let mut kind_ids: HashMap<(&str, &str), usize> = HashMap::new();
    let event_kinds: Vec<usize> = events
        .iter()
        .map(|e| {
            *kind_ids.entry((e.name, e.path)).or_insert_with(|| {
                kinds.push(Kind::of(e.name, e.path, defs, &step_lists));
                kinds.len() - 1
            })
        })
        .collect();
    let kind = |i: usize| &kinds[event_kinds[i]];

    let converting: HashSet<i64> = events
        .iter()
        .enumerate()
        .filter(|(i, e)| e.at < to && kind(*i).lead)
        .map(|(_, e)| e.visit_id)
        .collect();
    let mut by_segment = Segments {
        ids: HashMap::new(),
        list: Vec::new(),
        defs,
        confirm_pairs: confirm_pairs.len(),
    };
    by_segment.id(String::new());

    // Each visit's events, for funnels (already ordered by visit, time and id), by index.
    let mut visit_events: HashMap<i64, std::ops::Range<usize>> =
        HashMap::with_capacity(visits.len());
    let mut start = 0;
    for i in 1..=events.len() {
        if i == events.len() || events[i].visit_id != events[start].visit_id {
            visit_events.insert(events[start].visit_id, start..i);
            start = i;
        }
    }
    // The distinct pages each visit viewed.
    // Only segment "" when summing for the site alone: every visit and event is in it, and the
    // segments need not be worked out (nor the pages each visit viewed, which they depend on).
    let site_only = segmenting == Segmenting::Site;
    let viewed: HashMap<i64, Vec<&str>> = visit_events
        .iter()
        .filter(|_| !site_only)
        .map(|(&visit, evs)| {
            let mut paths: Vec<&str> = evs
                .clone()
                .filter(|&i| kind(i).pageview)
                .map(|i| events[i].path)
                .collect();
            paths.sort_unstable();
            paths.dedup();
            (visit, paths)
        })
        .collect();
    let viewed_by = |visit: i64| viewed.get(&visit).map(Vec::as_slice).unwrap_or_default();
    // How far a visit got through step list `list`.
    let reached = |list: usize, visit: i64| -> usize {
        let evs = visit_events.get(&visit).cloned().unwrap_or_default();
        funnel_reached(step_lists[list].len(), evs.map(|i| kind(i).steps[list]))
    };

    let mut visit_segments: HashMap<i64, Vec<usize>> = HashMap::with_capacity(visits.len());
    let visit_attrs: HashMap<i64, [&str; 4]> = visits
        .iter()
        .filter(|_| !site_only)
        .map(|v| (v.id, SEGMENTED.map(|d| v.dims[d])))
        .collect();
    for v in visits {
        let converts = converting.contains(&v.id);
        let confirm: Vec<usize> = (0..confirm_pairs.len())
            .map(|list| reached(list, v.id))
            .collect();
        let funnels: Vec<usize> = (0..defs.funnels.len())
            .map(|k| reached(confirm_pairs.len() + k, v.id))
            .collect();
        let values = SEGMENTED.map(|d| (DIMENSIONS[d], v.dims[d]));
        let segs: &[usize] = if site_only {
            &[0]
        } else {
            let segs = segments(values, viewed_by(v.id), defs, segmenting)
                .into_iter()
                .map(|name| by_segment.id(name))
                .collect();
            visit_segments.entry(v.id).or_insert(segs)
        };
        for &seg in segs {
            let s = &mut by_segment.list[seg].1;
            s.visitors.push(v.visitor_id);
            s.visits += 1;
            s.pageviews += v.pageviews;
            s.bounces += i64::from(v.pageviews <= 1 && v.interactions == 0);
            s.duration_ms += v.duration_ms;
            for (d, value) in v.dims.iter().enumerate() {
                if !value.is_empty() {
                    add_to(&mut s.dims[d], value, v.visitor_id, converts);
                }
            }
            for (k, r) in confirm.iter().enumerate() {
                s.confirm[k].push(*r);
            }
            for (k, r) in funnels.iter().enumerate() {
                s.funnels[k].push(*r);
            }
        }
    }

    for (i, e) in events.iter().enumerate().filter(|(_, e)| e.at < to) {
        let Kind {
            lead,
            pageview,
            goals,
            conditions,
            ..
        } = kind(i);
        let (lead, pageview) = (*lead, *pageview);
        let converts = converting.contains(&e.visit_id);
        // An event's segments are its visit's, unless its own attributes differ.
        let own: Vec<usize>;
        let segs: &[usize] = match (
            visit_segments.get(&e.visit_id),
            visit_attrs.get(&e.visit_id),
        ) {
            _ if site_only => &[0],
            (Some(segs), Some(attrs)) if attrs.iter().zip(&e.attrs).all(|(a, b)| a == b) => segs,
            _ => {
                let attrs = [0, 1, 2, 3].map(|i| (DIMENSIONS[SEGMENTED[i]], e.attrs[i]));
                own = segments(attrs, viewed_by(e.visit_id), defs, segmenting)
                    .into_iter()
                    .map(|name| by_segment.id(name))
                    .collect();
                &own
            }
        };
        for &seg in segs {
            let s = &mut by_segment.list[seg].1;
            if pageview {
                add_to(&mut s.pages, e.path, e.visitor_id, converts);
            }
            for &c in conditions {
                s.condition_visitors[c].push(e.visitor_id);
                s.condition_visits[c].push(e.visit_id);
            }
            for &g in goals {
                s.goals[g].0.push(e.visitor_id);
                s.goals[g].1 += 1;
            }
            if lead {
                s.lead_visits.push(e.visit_id);
            }
        }
    }

    let mut rows = Vec::new();
    for (seg, mut s) in by_segment.list {
        rows.push((
            seg.clone(),
            "summary",
            String::new(),
            Sums {
                visitors: s.visitors.count(),
                visits: s.visits,
                pageviews: s.pageviews,
                bounces: s.bounces,
                duration_ms: s.duration_ms,
                converting: 0,
            },
        ));
        for (d, groups) in s.dims.iter_mut().enumerate() {
            for (key, g) in groups {
                rows.push((seg.clone(), DIMENSIONS[d], key.clone(), g.sums()));
            }
        }
        for (key, g) in &mut s.pages {
            rows.push((seg.clone(), "page", key.clone(), g.sums()));
        }
        for (g, (visitors, n)) in s.goals.iter_mut().enumerate() {
            if *n > 0 {
                let sums = Sums {
                    visitors: visitors.count(),
                    visits: *n,
                    ..Sums::default()
                };
                rows.push((seg.clone(), "goal", defs.goals[g].id.to_string(), sums));
            }
        }
        let counts = (s
            .confirm
            .iter()
            .map(|r| funnel_counts(2, r.iter().copied())))
        .chain(
            (defs.funnels.iter().zip(&s.funnels))
                .map(|((_, steps), r)| funnel_counts(steps.len(), r.iter().copied())),
        );
        steps.rows(&seg, defs, counts, &mut rows);
        let lead_visits = s.lead_visits.distinct();
        for (c, (condition, _)) in defs.conditions.iter().enumerate() {
            let visitors = s.condition_visitors[c].count();
            if visitors > 0 {
                let leads = s.condition_visits[c]
                    .distinct()
                    .iter()
                    .filter(|v| lead_visits.binary_search(v).is_ok())
                    .count() as i64;
                let sums = Sums {
                    visitors,
                    converting: leads,
                    ..Sums::default()
                };
                rows.push((seg.clone(), "condition", condition.clone(), sums));
            }
        }
    }
    rows
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn visit<'a>(
        id: i64,
        visitor: i64,
        source: &'a str,
        device: &'a str,
        pageviews: i64,
    ) -> DayVisit<'a> {
        DayVisit {
            id,
            visitor_id: visitor,
            started_at: 0,
            pageviews,
            interactions: 0,
            duration_ms: 1_000,
            dims: [
                source,
                "organic_search",
                "",
                "/",
                device,
                "Chrome",
                "Android",
            ],
        }
    }

    fn event<'a>(visit: &DayVisit<'a>, at: i64, name: &'a str, path: &'a str) -> DayEvent<'a> {
        DayEvent {
            visit_id: visit.id,
            visitor_id: visit.visitor_id,
            at,
            name,
            path,
            attrs: [visit.dims[0], visit.dims[1], visit.dims[2], visit.dims[4]],
        }
    }

    /// A lead-action goal whose name is its pattern.
    pub(crate) fn goal(id: i64, kind: GoalKind, pattern: &str, confirmed_by: Option<i64>) -> Goal {
        Goal {
            id,
            site_id: 1,
            name: pattern.into(),
            kind,
            pattern: pattern.into(),
            category: GoalCategory::LeadAction,
            confirmed_by,
        }
    }

    #[test]
    fn a_day_is_summed_for_the_site_and_each_filter_value() {
        let a = visit(1, 10, "Google", "mobile", 2);
        let b = visit(2, 20, "Bing", "desktop", 1);
        let events = vec![
            event(&a, 1, "pageview", "/"),
            event(&a, 2, "Request", "/"),
            event(&a, 3, "pageview", "/thank-you"),
            event(&b, 1, "pageview", "/knee"),
            // After the cut-off: counts only towards funnels.
            event(&b, 50, "Request", "/knee"),
        ];
        let goals = vec![
            goal(7, GoalKind::Event, "Request", Some(8)),
            goal(8, GoalKind::Page, "/thank-you*", None),
        ];
        let conditions = vec![("Knee pain".to_string(), vec!["/knee*".to_string()])];
        let defs = Definitions {
            goals: &goals,
            funnels: vec![(
                3,
                vec![
                    (GoalKind::Page, "/*".to_string()),
                    (GoalKind::Event, "Request".to_string()),
                ],
            )],
            conditions: &conditions,
            patterns: &["/knee*".to_string(), "/nowhere*".to_string()],
            extras: &[
                // Three filters, and a pattern nothing defines: segments once a report asks.
                Extra {
                    name: "source=Google&channel=organic_search&device=mobile".into(),
                    columns: vec![
                        ("source", "Google".into()),
                        ("channel", "organic_search".into()),
                        ("device", "mobile".into()),
                    ],
                    page: None,
                },
                Extra {
                    name: "page=/thank*".into(),
                    columns: Vec::new(),
                    page: Some("/thank*".into()),
                },
                // The same as a standard segment (the site's pattern): counted once.
                Extra {
                    name: "page=/knee*".into(),
                    columns: Vec::new(),
                    page: Some("/knee*".into()),
                },
                Extra {
                    name: "source=Bing&device=mobile&page=/knee".into(),
                    columns: vec![("source", "Bing".into()), ("device", "mobile".into())],
                    page: Some("/knee".into()),
                },
            ],
        };
        let rows = day_rows(&[a.clone(), b.clone()], &events, 10, &defs, Segmenting::All);
        let plain = day_rows(&[a, b], &events, 10, &defs, Segmenting::Site);
        assert!(plain.iter().all(|r| r.0.is_empty()));
        let get = |seg: &str, metric: &str, key: &str| {
            rows.iter()
                .find(|r| r.0 == seg && r.1 == metric && r.2 == key)
                .map(|r| r.3)
                .unwrap_or_default()
        };
        let all = get("", "summary", "");
        assert_eq!((all.visitors, all.visits, all.bounces), (2, 2, 1));
        assert_eq!(get("source=Google", "summary", "").visits, 1);
        assert_eq!(get("device=desktop", "summary", "").bounces, 1);
        // Breakdowns carry converting visitors; the lead action was visitor 10's.
        assert_eq!(get("", "source", "Google").converting, 1);
        assert_eq!(get("", "source", "Bing").converting, 0);
        assert_eq!(get("channel=organic_search", "source", "Bing").visits, 1);
        // The goal after the cut-off is not counted; both visits reached the funnel's last step.
        assert_eq!(get("", "goal", "7").visits, 1);
        assert_eq!(get("", "funnel", "3:1").visits, 2);
        assert_eq!(get("source=Bing", "funnel", "3:1").visits, 1);
        assert_eq!(
            (
                get("", "confirm", "7:0").visits,
                get("", "confirm", "7:1").visits
            ),
            (2, 1)
        );
        let knee = get("", "condition", "Knee pain");
        assert_eq!((knee.visitors, knee.converting), (1, 0));
        assert_eq!(get("source=Google", "page", "/thank-you").converting, 1);
        // No empty segment for a blank campaign.
        assert!(!rows.iter().any(|r| r.0.starts_with("campaign=")));
        // Visits that viewed a page: visitor 10's two pages and goal, not visitor 20's.
        let thanks = get("page=/thank-you", "summary", "");
        assert_eq!((thanks.visits, thanks.pageviews), (1, 2));
        assert_eq!(get("page=/thank-you", "page", "/").visits, 1);
        assert_eq!(get("page=/knee", "goal", "7").visits, 0);
        assert_eq!(get("page=/knee", "condition", "Knee pain").visitors, 1);
        // Pairs of filters, and the site's page patterns, alone and with a filter.
        assert_eq!(get("source=Google&device=mobile", "summary", "").visits, 1);
        assert_eq!(get("source=Google&device=desktop", "summary", "").visits, 0);
        assert_eq!(
            get("channel=organic_search&device=desktop", "page", "/knee").visits,
            1
        );
        assert_eq!(get("device=mobile&page=/thank-you", "goal", "7").visits, 1);
        assert_eq!(get("page=/knee*", "summary", "").visits, 1);
        assert_eq!(get("source=Bing&page=/knee*", "source", "Bing").visits, 1);
        assert!(!rows.iter().any(|r| r.0.contains("/nowhere")));
        // Never two pages at once: a visit views one page or another, not a pair to filter by.
        assert!(!rows.iter().any(|r| r.0.matches("page=").count() > 1));
        // The extras: visitor 10 matches all three filters; only visitor 10 reached /thank-you;
        // visitor 20 read /knee from a desktop, so is not in the third.
        let three = get(
            "source=Google&channel=organic_search&device=mobile",
            "summary",
            "",
        );
        assert_eq!((three.visitors, three.pageviews), (1, 2));
        assert_eq!(get("page=/thank*", "goal", "7").visits, 1);
        assert!(
            !rows
                .iter()
                .any(|r| r.0 == "source=Bing&device=mobile&page=/knee")
        );
    }

    #[test]
    fn stored_sums_read_back_the_same() {
        let rows = vec![
            (
                "page",
                "/a \"quoted\" & odd\tpath".to_string(),
                Sums {
                    visitors: 3,
                    visits: 4,
                    ..Sums::default()
                },
            ),
            (
                "condition",
                "Knee pain".to_string(),
                Sums {
                    visitors: 2,
                    converting: 1,
                    ..Sums::default()
                },
            ),
            ("goal", "7".to_string(), Sums::default()),
        ];
        let text = encode_sums(&rows);
        assert!(text.contains(r#"["goal","7",[]]"#), "{text}");
        assert!(
            text.contains(r#"["page","/a \"quoted\" & odd\tpath",[3,4]]"#),
            "{text}"
        );
        let back = decode_sums(&text).unwrap();
        let expected: Vec<(String, String, Sums)> = rows
            .into_iter()
            .map(|(m, k, s)| (m.to_string(), k, s))
            .collect();
        assert_eq!(back, expected);
        assert_eq!(decode_sums("[]").unwrap(), vec![]);
        assert!(decode_sums("not json").is_err());
    }

    #[test]
    fn segment_names_cannot_collide() {
        assert_eq!(segment_name(&[]), "");
        assert_eq!(
            segment_name(&[("channel", "email"), ("page", "/a&b")]),
            "channel=email&page=/a%26b"
        );
        assert_ne!(
            segment_name(&[("campaign", "x&device=mobile")]),
            segment_name(&[("campaign", "x"), ("device", "mobile")])
        );
        assert_eq!(segment_name(&[("page", "/100%")]), "page=/100%25");
    }
}
