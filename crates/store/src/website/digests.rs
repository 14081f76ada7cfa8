//! Day digests: an ended local day of a site's visits and events, as two compact values written
//! when the day is rolled up. A report whose filters no rollup serves (three filters, a page
//! pattern nothing defines) reads a day's digest and filters it in memory instead of asking the
//! database to scan the day's rows: the day is two blobs read, and comparing dictionary numbers
//! takes the place of comparing text in every row (`perf` showed SQLite's row lookups and text
//! comparisons as most of a raw report's time).
//!
//! A digest holds what day sums read (see `day_sums`). Its visits part: a dictionary of the day's
//! strings, each combination of a visit's seven dimensions once (a profile), each visit's rank,
//! visitor, pageviews, interactions, duration and profile, and for each page the visits that
//! viewed it (so a summary with a page filter needs no events). Its events part: every event of
//! the day except engagement, in the order of `(visit_id, at, id)`, with its name, path and (where
//! they differ from its visit's) its own visitor and attributes. Numbers are LEB128 varints.
//! Visit ids become their rank in the day and visitors a number in order of appearance, so the
//! digest keeps no visitor hash: they still tell visits and visitors apart within the day, which
//! is all a day's sums need (visitor ids rotate at local midnight). Times are not kept: a day
//! sums its events in their order, its visits all fall in its one day of a daily series, and a
//! digest only ever serves whole days.
//!
//! A digest does not depend on goals, funnels or condition pages, so it stays valid when they
//! change; it is dropped when the day's events change (see `Store::forget_digests`).

use std::collections::HashMap;

use stride_core::website::insights::{funnel_reached, path_matches};

use super::day_sums::{DIMENSIONS, DayEvent, DayVisit, Definitions, Kind, Row, Steps, Sums};
use super::query::Filters;

/// The format's first byte; a digest of another version is ignored (the day is read raw).
const VERSION: u8 = 1;

/// The one event name a digest leaves out: reports never count it.
pub(crate) const LEFT_OUT: &str = "engagement";

/// A decoded digest: dictionary numbers instead of strings, the strings borrowed from its bytes.
pub(crate) struct Digest<'a> {
    strings: Vec<&'a str>,
    /// Each combination of the seven dimensions the day's visits had (source, channel, campaign,
    /// entry_path, device, browser, os): far fewer than visits.
    profiles: Vec<[u32; 7]>,
    visits: Vec<Visit>,
    /// Each path with pageviews, and the ranks of the visits that viewed it, in order.
    pages: Vec<(u32, Vec<u32>)>,
    events: Vec<Event>,
    own: Vec<Own>,
    /// How many visitors the day has: they are numbered from 0.
    visitors: u32,
}

struct Visit {
    rank: u32,
    visitor: u32,
    pageviews: i64,
    interactions: i64,
    duration_ms: i64,
    /// Its seven dimensions, as an index into `Digest::profiles`.
    profile: u32,
}

struct Event {
    /// Its visit's rank.
    visit: u32,
    /// Its visit's index in `Digest::visits`, or `NONE` when the visit began the day before.
    index: u32,
    name: u32,
    path: u32,
    /// Where its visitor and attributes are: its visit's index in `Digest::visits`, or, when they
    /// are its own, `OWN` plus their index in `Digest::own`.
    from: u32,
}

/// `Event::from` at and above this points into `Digest::own`.
const OWN: u32 = 1 << 31;

/// No visit (see `Event::index`).
const NONE: u32 = u32::MAX;

/// An event's own visitor and attributes (source, channel, campaign, device), where they are not
/// its visit's (or its visit did not begin in the day).
struct Own {
    /// The event's index in `Digest::events`.
    event: u32,
    visitor: u32,
    attrs: [u32; 4],
}

/// Where an event's attributes come from in its visit's `dims`.
const ATTR_DIMS: [usize; 4] = [0, 1, 2, 4];

/// The digest of a day's visits (those that began in the day) and events (every event of the day
/// but engagement, sorted by `(visit_id, at, id)`), in two parts: the visits (with the dictionary,
/// and which visits viewed each page), and the events. A summary reads the first part only.
pub(crate) fn encode(visits: &[DayVisit], events: &[DayEvent]) -> (Vec<u8>, Vec<u8>) {
    let mut visit_ids: Vec<i64> = visits
        .iter()
        .map(|v| v.id)
        .chain(events.iter().map(|e| e.visit_id))
        .collect();
    visit_ids.sort_unstable();
    visit_ids.dedup();
    let rank = |id: i64| visit_ids.binary_search(&id).unwrap_or_default() as u64;
    // Visitors are numbered as they first appear: 0 for a new one, else its number + 1 (most
    // visits are a visitor's first, so this is mostly one byte).
    let mut numbers: HashMap<i64, u64> = HashMap::new();
    let mut visitor = |id: i64| -> (u64, u64) {
        match numbers.get(&id) {
            Some(n) => (*n, n + 1),
            None => {
                let n = numbers.len() as u64;
                numbers.insert(id, n);
                (n, 0)
            }
        }
    };

    // The dictionary, sorted, so a value is found by binary search.
    let mut words: Vec<&str> = visits
        .iter()
        .flat_map(|v| v.dims)
        .chain(
            events
                .iter()
                .flat_map(|e| [e.name, e.path].into_iter().chain(e.attrs)),
        )
        .collect();
    words.sort_unstable();
    words.dedup();
    let id_of = |s: &str| words.binary_search(&s).unwrap_or_default() as u64;

    let mut profiles: HashMap<[u64; 7], u64> = HashMap::new();
    let mut profile_part = Vec::new();
    let mut visit_part = Vec::new();
    let mut sorted: Vec<&DayVisit> = visits.iter().collect();
    sorted.sort_unstable_by_key(|v| v.id);
    put(&mut visit_part, sorted.len() as u64);
    let mut previous = 0;
    // Each visit's rank and what its events share with it.
    let mut by_rank: HashMap<u64, (u64, [u64; 4])> = HashMap::new();
    for v in &sorted {
        let r = rank(v.id);
        put(&mut visit_part, r - previous);
        previous = r;
        let (number, code) = visitor(v.visitor_id);
        put(&mut visit_part, code);
        put_signed(&mut visit_part, v.pageviews);
        put_signed(&mut visit_part, v.interactions);
        put_signed(&mut visit_part, v.duration_ms);
        let dims = v.dims.map(id_of);
        let next = profiles.len() as u64;
        let profile = *profiles.entry(dims).or_insert_with(|| {
            for d in dims {
                put(&mut profile_part, d);
            }
            next
        });
        put(&mut visit_part, profile);
        by_rank.insert(r, (number, ATTR_DIMS.map(|i| dims[i])));
    }

    // Which visits viewed each page: events come in visit order, so each list is in order.
    let mut pages: std::collections::BTreeMap<u64, Vec<u64>> = Default::default();
    for e in events.iter().filter(|e| e.name == "pageview") {
        let ranks = pages.entry(id_of(e.path)).or_default();
        let r = rank(e.visit_id);
        if ranks.last() != Some(&r) {
            ranks.push(r);
        }
    }
    put(&mut visit_part, pages.len() as u64);
    let mut previous_path = 0;
    for (path, ranks) in &pages {
        put(&mut visit_part, path - previous_path);
        previous_path = *path;
        put(&mut visit_part, ranks.len() as u64);
        let mut previous = 0;
        for r in ranks {
            put(&mut visit_part, r - previous);
            previous = *r;
        }
    }

    let mut event_part = Vec::new();
    put(&mut event_part, events.len() as u64);
    let mut previous = 0;
    for e in events {
        let r = rank(e.visit_id);
        put(&mut event_part, r - previous);
        previous = r;
        let attrs = e.attrs.map(id_of);
        let (number, code) = visitor(e.visitor_id);
        let own = by_rank.get(&r) != Some(&(number, attrs));
        put(&mut event_part, (id_of(e.name) << 1) | u64::from(own));
        put(&mut event_part, id_of(e.path));
        if own {
            put(&mut event_part, code);
            for a in attrs {
                put(&mut event_part, a);
            }
        }
    }

    let mut out = vec![VERSION];
    put(&mut out, words.len() as u64);
    for s in words {
        put(&mut out, s.len() as u64);
        out.extend_from_slice(s.as_bytes());
    }
    put(&mut out, profiles.len() as u64);
    out.extend_from_slice(&profile_part);
    out.extend_from_slice(&visit_part);
    (out, event_part)
}

/// A digest read back from its two parts (see `encode`), without events when their part is not
/// given; None when it is not one this version wrote, or is damaged.
pub(crate) fn decode<'a>(visit_part: &'a [u8], event_part: Option<&[u8]>) -> Option<Digest<'a>> {
    let mut r = Reader {
        bytes: visit_part,
        at: 0,
    };
    if r.byte()? != VERSION {
        return None;
    }
    let count = r.len()?;
    let mut strings = Vec::with_capacity(count);
    for _ in 0..count {
        let n = r.len()?;
        let s = std::str::from_utf8(visit_part.get(r.at..r.at.checked_add(n)?)?).ok()?;
        // Sorted and each once, as `encode` writes them: a value is one number.
        if strings.last().is_some_and(|last| *last >= s) {
            return None;
        }
        strings.push(s);
        r.at += n;
    }
    let words = strings.len() as u64;
    let known = |id: u64| (id < words).then_some(id as u32);

    let count = r.len()?;
    let mut profiles = Vec::with_capacity(count);
    for _ in 0..count {
        let mut dims = [0; 7];
        for d in &mut dims {
            *d = known(r.get()?)?;
        }
        profiles.push(dims);
    }
    // Visitor numbers as `encode` writes them: 0 for a new one, else its number + 1.
    let mut numbered = 0u32;
    let visitor = |numbered: &mut u32, code: u64| -> Option<u32> {
        if code == 0 {
            *numbered = numbered.checked_add(1)?;
            return Some(*numbered - 1);
        }
        u32::try_from(code - 1).ok().filter(|n| *n < *numbered)
    };

    let count = r.len()?;
    let mut visits: Vec<Visit> = Vec::with_capacity(count);
    let mut rank = 0u32;
    for _ in 0..count {
        rank = rank.checked_add(u32::try_from(r.get()?).ok()?)?;
        let visitor = visitor(&mut numbered, r.get()?)?;
        let (pageviews, interactions, duration_ms) = (r.signed()?, r.signed()?, r.signed()?);
        let profile = u32::try_from(r.get()?)
            .ok()
            .filter(|p| (*p as usize) < profiles.len())?;
        visits.push(Visit {
            rank,
            visitor,
            pageviews,
            interactions,
            duration_ms,
            profile,
        });
    }

    let count = r.len()?;
    let mut pages = Vec::with_capacity(count);
    let mut path = 0u64;
    for _ in 0..count {
        path = path.checked_add(r.get()?)?;
        let n = r.len()?;
        let mut ranks = Vec::with_capacity(n);
        let mut rank = 0u32;
        for _ in 0..n {
            rank = rank.checked_add(u32::try_from(r.get()?).ok()?)?;
            ranks.push(rank);
        }
        pages.push((known(path)?, ranks));
    }
    if r.at != visit_part.len() {
        return None;
    }

    let mut digest = Digest {
        strings,
        profiles,
        visits,
        pages,
        events: Vec::new(),
        own: Vec::new(),
        visitors: 0,
    };
    let Some(event_part) = event_part else {
        digest.visitors = numbered;
        return Some(digest);
    };
    let mut r = Reader {
        bytes: event_part,
        at: 0,
    };
    let count = r.len()?;
    digest.events.reserve(count);
    let visits = &digest.visits;
    let mut rank = 0u32;
    // Visits are in rank order, as are events: the visit of an event is found by walking along,
    // when the event is the first of its visit.
    let mut next_visit = 0;
    let mut index = NONE;
    for i in 0..count {
        let step = r.get()?;
        if step > 0 || i == 0 {
            rank = rank.checked_add(u32::try_from(step).ok()?)?;
            while next_visit < visits.len() && visits[next_visit].rank < rank {
                next_visit += 1;
            }
            index = match visits.get(next_visit) {
                Some(v) if v.rank == rank => u32::try_from(next_visit).ok().filter(|i| *i < OWN)?,
                _ => NONE,
            };
        }
        let head = r.get()?;
        let name = known(head >> 1)?;
        let path = known(r.get()?)?;
        let from = if head & 1 == 1 {
            let visitor = visitor(&mut numbered, r.get()?)?;
            let mut attrs = [0; 4];
            for a in &mut attrs {
                *a = known(r.get()?)?;
            }
            let event = u32::try_from(digest.events.len()).ok()?;
            digest.own.push(Own {
                event,
                visitor,
                attrs,
            });
            OWN.checked_add(u32::try_from(digest.own.len() - 1).ok()?)?
        } else if index == NONE {
            return None;
        } else {
            index
        };
        digest.events.push(Event {
            visit: rank,
            index,
            name,
            path,
            from,
        });
    }
    digest.visitors = numbered;
    (r.at == event_part.len()).then_some(digest)
}

/// Which of a day's visits pass a report's filters (see `Digest::select`).
struct Selection {
    /// Each column filter as (index into a visit's dims, the value's number).
    wanted: Vec<(usize, u32)>,
    /// With a page filter, which visits (by rank) viewed a matching page, as bits.
    viewed: Option<Vec<u64>>,
    /// Whether each visit passes, by index.
    passes: Vec<bool>,
}

impl Selection {
    fn in_page(&self, rank: u32) -> bool {
        (self.viewed.as_ref()).is_none_or(|bits| {
            let word = bits.get(rank as usize / 64).copied().unwrap_or(0);
            word >> (rank % 64) & 1 == 1
        })
    }
}

/// Sums counting each visitor once: the day's visitors are taken one after another (see
/// `Digest::site_rows`), so a visitor is new to a tally when it is not the last one counted.
#[derive(Default, Clone, Copy)]
struct Tally {
    visitors: u32,
    n: i64,
    converting: u32,
    /// The last visitor counted, and the last converting one, as their number + 1.
    last: u32,
    last_converting: u32,
}

impl Tally {
    fn add(&mut self, stamp: u32, converts: bool) {
        self.n += 1;
        if self.last != stamp {
            self.last = stamp;
            self.visitors += 1;
        }
        if converts && self.last_converting != stamp {
            self.last_converting = stamp;
            self.converting += 1;
        }
    }

    fn sums(&self) -> Sums {
        Sums {
            visitors: i64::from(self.visitors),
            visits: self.n,
            converting: i64::from(self.converting),
            ..Sums::default()
        }
    }
}

/// Items (visitor first) in order of visitor, in their order for each: a counting sort.
fn by_visitor<T: Copy>(items: &[(u32, T, bool)], visitors: u32) -> Vec<(u32, T, bool)> {
    let mut starts = vec![0usize; visitors as usize + 1];
    for (visitor, ..) in items {
        starts[*visitor as usize + 1] += 1;
    }
    for i in 1..starts.len() {
        starts[i] += starts[i - 1];
    }
    let mut out = items.to_vec();
    for item in items {
        let at = &mut starts[item.0 as usize];
        out[*at] = *item;
        *at += 1;
    }
    out
}

/// Tallies by breakdown and value, each numbered when its value first comes.
struct Tallies {
    /// Each tally's number by breakdown and value (`NONE`: none yet).
    at: Vec<u32>,
    strings: usize,
    /// Each tally's breakdown and value.
    keys: Vec<(usize, u32)>,
}

impl Tallies {
    fn index(&mut self, metric: usize, value: u32) -> u32 {
        let at = &mut self.at[metric * self.strings + value as usize];
        if *at == NONE {
            *at = self.keys.len() as u32;
            self.keys.push((metric, value));
        }
        *at
    }
}

/// The kinds of event (see `Kind`) of a day, by number, with what the summing reads of them
/// most laid out flat.
#[derive(Default)]
struct Kinds {
    list: Vec<Kind>,
    lead: Vec<bool>,
    /// Its page's tally, for a pageview.
    page: Vec<u32>,
    /// It completes a goal or is a pageview of a condition page.
    counted: Vec<bool>,
    /// Per list of steps, the steps it is, as bits: each kind's, one list after another.
    steps: Vec<u64>,
}

impl Kinds {
    fn add(&mut self, kind: Kind, page: u32) -> u32 {
        self.lead.push(kind.lead);
        self.page.push(page);
        (self.counted).push(!kind.goals.is_empty() || !kind.conditions.is_empty());
        self.steps.extend(&kind.steps);
        self.list.push(kind);
        self.list.len() as u32 - 1
    }
}

/// A day's sums for the site as `Digest::site_rows` adds them up, a visitor at a time: `stamp`
/// is the visitor's number + 1.
struct Summing {
    summary: Sums,
    /// The last visitor counted in the summary, as its stamp.
    last_visitor: u32,
    /// By the numbers of `Tallies`, made as they are first added to.
    tallies: Vec<Tally>,
    /// Per profile, the visits of visitors seen once (so as many visitors), and how many of them
    /// convert: added to the profile's tallies at the end, instead of seven tallies a visit.
    profiles: Vec<(i64, u32)>,
    goals: Vec<Tally>,
    condition_visitors: Vec<Tally>,
}

impl Summing {
    fn tally(&mut self, at: u32) -> &mut Tally {
        let at = at as usize;
        if at >= self.tallies.len() {
            self.tallies.resize(at + 1, Tally::default());
        }
        &mut self.tallies[at]
    }

    /// The visit of a visitor seen once.
    fn only_visit(&mut self, visit: &Visit, converts: bool) {
        let s = &mut self.summary;
        s.visitors += 1;
        s.visits += 1;
        s.pageviews += visit.pageviews;
        s.bounces += i64::from(visit.pageviews <= 1 && visit.interactions == 0);
        s.duration_ms += visit.duration_ms;
        let profile = &mut self.profiles[visit.profile as usize];
        profile.0 += 1;
        profile.1 += u32::from(converts);
    }

    fn visit(&mut self, stamp: u32, visit: &Visit, tallies: &[u32; 7], converts: bool) {
        let s = &mut self.summary;
        if self.last_visitor != stamp {
            self.last_visitor = stamp;
            s.visitors += 1;
        }
        s.visits += 1;
        s.pageviews += visit.pageviews;
        s.bounces += i64::from(visit.pageviews <= 1 && visit.interactions == 0);
        s.duration_ms += visit.duration_ms;
        for &t in tallies.iter().filter(|t| **t != NONE) {
            self.tally(t).add(stamp, converts);
        }
    }

    fn event(&mut self, stamp: u32, kinds: &Kinds, kind: u32, converts: bool) {
        let page = kinds.page[kind as usize];
        if page != NONE {
            self.tally(page).add(stamp, converts);
        }
        if kinds.counted[kind as usize] {
            let kind = &kinds.list[kind as usize];
            for &g in &kind.goals {
                self.goals[g].add(stamp, false);
            }
            for &c in &kind.conditions {
                self.condition_visitors[c].add(stamp, false);
            }
        }
    }
}

impl<'a> Digest<'a> {
    fn id_of(&self, s: &str) -> Option<u32> {
        self.strings.binary_search(&s).ok().map(|i| i as u32)
    }

    /// Which visits pass `filters`: by their own attributes, and with a page filter only if they
    /// viewed a matching page. None when nothing passes: a filter's value never occurs in the
    /// day (or the digest is damaged).
    fn selection(&self, filters: &Filters) -> Option<Selection> {
        let mut wanted: Vec<(usize, u32)> = Vec::new();
        for (dim, value) in [
            (0, &filters.source),
            (1, &filters.channel),
            (2, &filters.campaign),
            (4, &filters.device),
        ] {
            if let Some(value) = value {
                wanted.push((dim, self.id_of(value)?));
            }
        }
        let viewed = match filters.page.as_deref() {
            None => None,
            Some(pattern) => {
                let matching: Vec<&Vec<u32>> = (self.pages.iter())
                    .filter(|(path, _)| path_matches(pattern, self.strings[*path as usize]))
                    .map(|(_, ranks)| ranks)
                    .collect();
                // Ranks are below a day's visits and events, so a rank past hundreds of
                // millions is a damaged digest: nothing is taken from it.
                let last = matching.iter().filter_map(|r| r.last()).max().copied();
                let words = (last.unwrap_or(0) as usize / 64) + 1;
                if words > 1 << 22 {
                    return None;
                }
                let mut bits = vec![0u64; words];
                for rank in matching.into_iter().flatten() {
                    bits[*rank as usize / 64] |= 1 << (rank % 64);
                }
                Some(bits)
            }
        };
        let profile_passes: Vec<bool> = (self.profiles.iter())
            .map(|dims| wanted.iter().all(|(d, id)| dims[*d] == *id))
            .collect();
        let mut selection = Selection {
            wanted,
            viewed,
            passes: Vec::new(),
        };
        selection.passes = (self.visits.iter())
            .map(|v| profile_passes[v.profile as usize] && selection.in_page(v.rank))
            .collect();
        Some(selection)
    }

    /// Whether an event passes: with its visit when it has its visit's attributes, else by its
    /// own (and with a page filter, only if its visit viewed a matching page).
    fn event_passes(&self, selection: &Selection, e: &Event) -> bool {
        match e.from.checked_sub(OWN) {
            None => selection.passes[e.from as usize],
            Some(own) => {
                let attrs = &self.own[own as usize].attrs;
                let attr_of = |dim: usize| ATTR_DIMS.iter().position(|d| *d == dim).unwrap_or(0);
                (selection.wanted.iter()).all(|(d, id)| attrs[attr_of(*d)] == *id)
                    && selection.in_page(e.visit)
            }
        }
    }

    /// An event's visitor and attributes.
    fn event_source(&self, e: &Event) -> (u32, [u32; 4]) {
        match e.from.checked_sub(OWN) {
            None => {
                let v = &self.visits[e.from as usize];
                let dims = &self.profiles[v.profile as usize];
                (v.visitor, ATTR_DIMS.map(|d| dims[d]))
            }
            Some(own) => {
                let own = &self.own[own as usize];
                (own.visitor, own.attrs)
            }
        }
    }

    /// The visits that pass `filters` and their events named one of `names`, as the raw queries
    /// of a whole day load them (`Scope::visits_where`, `Scope::events_where`): a visit by its own
    /// attributes, an event by its own, and with a page filter both only if the visit viewed a
    /// matching page. Ids are ranks within the day; every visit and event is at `day_start`.
    pub(crate) fn select(
        &self,
        filters: &Filters,
        names: &[&str],
        day_start: i64,
    ) -> (Vec<DayVisit<'a>>, Vec<DayEvent<'a>>) {
        let Some(selection) = self.selection(filters) else {
            return (Vec::new(), Vec::new());
        };
        let name_ids: Vec<u32> = names.iter().filter_map(|n| self.id_of(n)).collect();
        let text = |id: u32| self.strings[id as usize];
        let visits = (self.visits.iter().zip(&selection.passes))
            .filter(|(_, pass)| **pass)
            .map(|(v, _)| DayVisit {
                id: i64::from(v.rank),
                visitor_id: i64::from(v.visitor),
                started_at: day_start,
                pageviews: v.pageviews,
                interactions: v.interactions,
                duration_ms: v.duration_ms,
                dims: self.profiles[v.profile as usize].map(text),
            })
            .collect();
        let events = (self.events.iter())
            .filter(|e| name_ids.contains(&e.name) && self.event_passes(&selection, e))
            .map(|e| {
                let (visitor, attrs) = self.event_source(e);
                DayEvent {
                    visit_id: i64::from(e.visit),
                    visitor_id: i64::from(visitor),
                    at: day_start,
                    name: text(e.name),
                    path: text(e.path),
                    attrs: attrs.map(text),
                }
            })
            .collect();
        (visits, events)
    }

    /// The summary of the visits that pass `filters` (needs the visits part only): visitors,
    /// visits, pageviews, bounces and duration.
    pub(crate) fn summary(&self, filters: &Filters) -> Sums {
        let mut sums = Sums::default();
        let Some(selection) = self.selection(filters) else {
            return sums;
        };
        let mut seen = vec![false; self.visitors as usize];
        for (v, _) in (self.visits.iter().zip(&selection.passes)).filter(|(_, pass)| **pass) {
            let seen = &mut seen[v.visitor as usize];
            sums.visitors += i64::from(!*seen);
            *seen = true;
            sums.visits += 1;
            sums.pageviews += v.pageviews;
            sums.bounces += i64::from(v.pageviews <= 1 && v.interactions == 0);
            sums.duration_ms += v.duration_ms;
        }
        sums
    }

    /// The day's sums for the site alone (`day_rows` with `Segmenting::Site`) of the visits that
    /// pass `filters` and their events named one of `names`, as `select` chooses them, worked out
    /// on the digest's numbers: strings are compared once per distinct value rather than per
    /// visit and event, and each visitor is counted once per value by taking the day's visitors
    /// one after another (see `Tally`) instead of collecting and sorting their ids.
    pub(crate) fn site_rows(
        &self,
        filters: &Filters,
        names: &[&str],
        defs: &Definitions,
    ) -> Vec<Row> {
        let Some(selection) = self.selection(filters) else {
            return vec![(String::new(), "summary", String::new(), Sums::default())];
        };
        let passes = &selection.passes;
        let steps = Steps::of(defs);
        let lists = steps.lists(defs);
        let strings = self.strings.len();
        const PAGE: usize = 7;
        let mut tallies = Tallies {
            at: vec![NONE; (PAGE + 1) * strings],
            strings,
            keys: Vec::new(),
        };
        // Each profile's tallies (`NONE` for a blank value).
        let empty = self.id_of("");
        let profile_tallies: Vec<[u32; 7]> = (self.profiles.iter())
            .map(|dims| {
                let mut at = [NONE; 7];
                for (d, &value) in dims.iter().enumerate().filter(|(_, v)| Some(**v) != empty) {
                    at[d] = tallies.index(d, value);
                }
                at
            })
            .collect();
        let mut name_slot = vec![NONE; strings];
        for (i, name) in names.iter().enumerate() {
            if let Some(id) = self.id_of(name) {
                name_slot[id as usize] = i as u32;
            }
        }
        let chosen =
            |e: &Event| name_slot[e.name as usize] != NONE && self.event_passes(&selection, e);

        // A visitor whose visits and events all come from one visit of the day (nearly all) is
        // summed as that visit comes; the others (a second visit, an event whose visitor is not
        // its visit's) are put apart and summed visitor by visitor at the end.
        let mut sources = vec![0u8; self.visitors as usize];
        for (v, _) in self.visits.iter().zip(passes).filter(|(_, pass)| **pass) {
            sources[v.visitor as usize] = sources[v.visitor as usize].saturating_add(1);
        }
        for own in &self.own {
            let e = &self.events[own.event as usize];
            if !chosen(e) {
                continue;
            }
            let n = &mut sources[own.visitor as usize];
            *n = match (self.visits.get(e.index as usize)).filter(|_| passes[e.index as usize]) {
                // With its visit's visitor: summed with that visit.
                Some(v) if v.visitor == own.visitor => *n,
                // Within another visitor's visit: put apart, or it would come between that
                // visitor's events.
                Some(_) => 2,
                None => n.saturating_add(1),
            };
        }
        let apart = |visitor: u32| sources[visitor as usize] > 1;

        let mut sums = Summing {
            summary: Sums::default(),
            last_visitor: 0,
            tallies: vec![Tally::default(); tallies.keys.len()],
            profiles: vec![(0, 0); self.profiles.len()],
            goals: vec![Tally::default(); defs.goals.len()],
            condition_visitors: vec![Tally::default(); defs.conditions.len()],
        };
        let mut kind_at: Vec<Vec<u32>> = vec![Vec::new(); names.len()];
        let mut kinds = Kinds::default();
        // Per list of steps, how many visits got how far.
        let mut reached: Vec<Vec<u64>> = lists.iter().map(|l| vec![0; l.len() + 1]).collect();
        // Per condition, its leads (converting visits with a pageview of it) and the last one.
        let mut condition_leads = vec![(0i64, NONE); defs.conditions.len()];
        let mut apart_visits: Vec<(u32, u32, bool)> = Vec::new();
        let mut apart_events: Vec<(u32, u32, bool)> = Vec::new();
        // One visit's chosen events at a time, as (kind, visitor).
        let mut run: Vec<(u32, u32)> = Vec::new();
        let (mut next_event, mut next_visit) = (0, 0);
        loop {
            run.clear();
            let done = next_event >= self.events.len();
            let rank = self.events.get(next_event).map_or(u32::MAX, |e| e.visit);
            while let Some(e) = self.events.get(next_event).filter(|e| e.visit == rank) {
                next_event += 1;
                if !chosen(e) {
                    continue;
                }
                let slot = name_slot[e.name as usize] as usize;
                let at = &mut kind_at[slot];
                if at.is_empty() {
                    at.resize(strings, NONE);
                }
                let kind = &mut at[e.path as usize];
                if *kind == NONE {
                    let (name, path) =
                        (self.strings[e.name as usize], self.strings[e.path as usize]);
                    let of = Kind::of(name, path, defs, &lists);
                    let page = match of.pageview {
                        true => tallies.index(PAGE, e.path),
                        false => NONE,
                    };
                    *kind = kinds.add(of, page);
                }
                run.push((*kind, self.event_source(e).0));
            }
            // The visits before this one, with no events chosen, then this one.
            let converts = run.iter().any(|(kind, _)| kinds.lead[*kind as usize]);
            while let Some(v) = self.visits.get(next_visit).filter(|v| v.rank <= rank) {
                let (events, converts): (&[(u32, u32)], bool) = match v.rank == rank {
                    true => (&run, converts),
                    false => (&[], false),
                };
                if passes[next_visit] {
                    for (k, steps) in lists.iter().enumerate() {
                        let masks = events
                            .iter()
                            .map(|(kind, _)| kinds.steps[*kind as usize * lists.len() + k]);
                        reached[k][funnel_reached(steps.len(), masks)] += 1;
                    }
                    match apart(v.visitor) {
                        true => apart_visits.push((v.visitor, next_visit as u32, converts)),
                        false => sums.only_visit(v, converts),
                    }
                }
                next_visit += 1;
            }
            if done {
                break;
            }
            for &(kind, visitor) in &run {
                if converts {
                    for &c in &kinds.list[kind as usize].conditions {
                        let (leads, last) = &mut condition_leads[c];
                        if *last != rank {
                            *last = rank;
                            *leads += 1;
                        }
                    }
                }
                match apart(visitor) {
                    true => apart_events.push((visitor, kind, converts)),
                    false => sums.event(visitor + 1, &kinds, kind, converts),
                }
            }
        }
        // The visitors put apart, one after another: each visitor's visits, then its events.
        let apart_visits = by_visitor(&apart_visits, self.visitors);
        let apart_events = by_visitor(&apart_events, self.visitors);
        let (mut a, mut b) = (0, 0);
        while a < apart_visits.len() || b < apart_events.len() {
            let visitor = match (apart_visits.get(a), apart_events.get(b)) {
                (Some(x), Some(y)) => x.0.min(y.0),
                (Some(x), None) => x.0,
                (None, Some(y)) => y.0,
                (None, None) => break,
            };
            while let Some(&(_, i, converts)) = apart_visits.get(a).filter(|x| x.0 == visitor) {
                let v = &self.visits[i as usize];
                let tallies = &profile_tallies[v.profile as usize];
                sums.visit(visitor + 1, v, tallies, converts);
                a += 1;
            }
            while let Some(&(_, kind, converts)) = apart_events.get(b).filter(|x| x.0 == visitor) {
                sums.event(visitor + 1, &kinds, kind, converts);
                b += 1;
            }
        }

        // The visits of visitors seen once, by profile, into their profile's tallies.
        for (p, &(visits, converting)) in sums.profiles.iter().enumerate() {
            for &t in profile_tallies[p].iter().filter(|t| **t != NONE) {
                let t = &mut sums.tallies[t as usize];
                t.visitors += visits as u32;
                t.n += visits;
                t.converting += converting;
            }
        }

        let mut rows: Vec<Row> = vec![(String::new(), "summary", String::new(), sums.summary)];
        for ((metric, value), t) in tallies.keys.iter().zip(&sums.tallies) {
            if t.n > 0 {
                let metric = DIMENSIONS.get(*metric).copied().unwrap_or("page");
                let key = self.strings[*value as usize].to_string();
                rows.push((String::new(), metric, key, t.sums()));
            }
        }
        for (goal, t) in defs.goals.iter().zip(&sums.goals).filter(|(_, t)| t.n > 0) {
            let s = Sums {
                visitors: i64::from(t.visitors),
                visits: t.n,
                ..Sums::default()
            };
            rows.push((String::new(), "goal", goal.id.to_string(), s));
        }
        // How many visits reached each step: those that got at least one step further.
        let counts = reached.iter().map(|got| {
            (0..got.len() - 1)
                .map(|step| got[step + 1..].iter().sum())
                .collect()
        });
        steps.rows("", defs, counts, &mut rows);
        for (c, (condition, _)) in defs.conditions.iter().enumerate() {
            let visitors = sums.condition_visitors[c].visitors;
            if visitors > 0 {
                let s = Sums {
                    visitors: i64::from(visitors),
                    converting: condition_leads[c].0,
                    ..Sums::default()
                };
                rows.push((String::new(), "condition", condition.clone(), s));
            }
        }
        rows
    }
}

fn put(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_signed(out: &mut Vec<u8>, v: i64) {
    put(out, ((v << 1) ^ (v >> 63)) as u64);
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    #[inline(always)]
    fn byte(&mut self) -> Option<u8> {
        let b = *self.bytes.get(self.at)?;
        self.at += 1;
        Some(b)
    }

    #[inline(always)]
    fn get(&mut self) -> Option<u64> {
        // Most numbers of a digest fit one byte.
        let b = self.byte()?;
        if b < 0x80 {
            return Some(u64::from(b));
        }
        self.get_more(b)
    }

    #[cold]
    fn get_more(&mut self, first: u8) -> Option<u64> {
        let mut v = u64::from(first & 0x7f);
        let mut shift = 7;
        while shift < 64 {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Some(v);
            }
            shift += 7;
        }
        None
    }

    #[inline(always)]
    fn signed(&mut self) -> Option<i64> {
        let v = self.get()?;
        Some((v >> 1) as i64 ^ -((v & 1) as i64))
    }

    /// A count or length, which cannot exceed what is left to read.
    fn len(&mut self) -> Option<usize> {
        usize::try_from(self.get()?)
            .ok()
            .filter(|n| *n <= self.bytes.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::website::day_sums::tests::goal;
    use crate::website::day_sums::{Definitions, Segmenting, day_rows};
    use crate::website::reports::{Goal, GoalCategory, GoalKind};

    fn visit<'a>(id: i64, visitor: i64, dims: [&'a str; 7], pageviews: i64) -> DayVisit<'a> {
        DayVisit {
            id,
            visitor_id: visitor,
            started_at: 1_000 + id,
            pageviews,
            interactions: id % 2,
            duration_ms: 7_000 * id,
            dims,
        }
    }

    fn event<'a>(v: &DayVisit<'a>, at: i64, name: &'a str, path: &'a str) -> DayEvent<'a> {
        DayEvent {
            visit_id: v.id,
            visitor_id: v.visitor_id,
            at,
            name,
            path,
            attrs: ATTR_DIMS.map(|d| v.dims[d]),
        }
    }

    /// Visitor ids are hashes (large, in no order); one visitor comes twice (and converts twice);
    /// one event carries attributes of its own, another a visitor not its visit's; two events'
    /// visit began the day before; two visitors come once, one of them without events; one
    /// visitor is seen only in another's visit.
    fn day() -> (Vec<DayVisit<'static>>, Vec<DayEvent<'static>>) {
        let google = [
            "Google",
            "organic_search",
            "",
            "/",
            "mobile",
            "Chrome",
            "Android",
        ];
        let ads = [
            "Google",
            "paid_search",
            "Back pain",
            "/back-pain",
            "desktop",
            "Edge",
            "Windows",
        ];
        let bing = [
            "Bing",
            "organic_search",
            "",
            "/knee",
            "mobile",
            "Safari",
            "iOS",
        ];
        let visits = vec![
            visit(40, 9_000_000_001, google, 3),
            visit(41, 7_123_456_789, ads, 1),
            visit(43, 9_000_000_001, bing, 2),
            visit(44, 5_000_000_005, google, 2),
            visit(46, 6_000_000_006, bing, 1),
        ];
        let (a, b, c, d) = (&visits[0], &visits[1], &visits[2], &visits[3]);
        let mut own = event(b, 5, "Phone Call", "/back-pain");
        own.attrs[3] = "tablet";
        let earlier = DayVisit {
            id: 12,
            ..c.clone()
        };
        // Events whose visitor is not their visit's: one seen in a visit of their own, one not
        // (between two pageviews of the same page by its visit's visitor).
        let mut other = event(a, 5, "pageview", "/conditions/knee-pain");
        other.visitor_id = b.visitor_id;
        let mut stranger = event(d, 2, "pageview", "/");
        stranger.visitor_id = 8_000_000_008;
        let events = vec![
            event(&earlier, 1, "pageview", "/thank-you"),
            event(&earlier, 2, "Appointment Request", "/thank-you"),
            event(a, 1, "pageview", "/"),
            event(a, 2, "pageview", "/conditions/sciatica"),
            event(a, 3, "Appointment Request", "/conditions/sciatica"),
            event(a, 4, "pageview", "/thank-you"),
            other,
            event(b, 1, "pageview", "/back-pain"),
            event(b, 2, "pageview", "/conditions/knee-pain"),
            own,
            event(c, 1, "pageview", "/knee"),
            event(c, 2, "pageview", "/conditions/knee-pain"),
            event(c, 3, "Appointment Request", "/conditions/knee-pain"),
            event(d, 1, "pageview", "/"),
            stranger,
            event(d, 3, "pageview", "/"),
            event(d, 4, "pageview", "/conditions/knee-pain"),
            event(d, 5, "Appointment Request", "/conditions/knee-pain"),
        ];
        (visits, events)
    }

    /// Goals (the appointment request confirmed by the thank-you page; the call only early
    /// interest), and a condition.
    fn goals_and_conditions() -> (Vec<Goal>, Vec<(String, Vec<String>)>) {
        let goals = vec![
            goal(1, GoalKind::Event, "Appointment Request", Some(2)),
            goal(2, GoalKind::Page, "/thank-you*", None),
            Goal {
                category: GoalCategory::EarlyInterest,
                ..goal(3, GoalKind::Event, "Phone Call", None)
            },
        ];
        let conditions = vec![(
            "Knee pain".to_string(),
            vec!["/conditions/knee*".to_string()],
        )];
        (goals, conditions)
    }

    /// What a report counts: those goals and conditions, and a funnel.
    fn definitions<'a>(
        goals: &'a [Goal],
        conditions: &'a [(String, Vec<String>)],
    ) -> Definitions<'a> {
        Definitions {
            goals,
            funnels: vec![(
                5,
                vec![
                    (GoalKind::Page, "/conditions/*".to_string()),
                    (GoalKind::Event, "Appointment Request".to_string()),
                ],
            )],
            conditions,
            patterns: &[],
            extras: &[],
        }
    }

    /// Rows as text, sorted.
    fn sorted(rows: Vec<Row>) -> Vec<String> {
        let mut rows: Vec<String> = rows.into_iter().map(|r| format!("{r:?}")).collect();
        rows.sort();
        rows
    }

    const NAMES: [&str; 4] = [
        "pageview",
        "Appointment Request",
        "Phone Call",
        "Form Start",
    ];

    /// What the raw queries load for these filters: visits by their attributes, events by theirs,
    /// and with a page filter both only when the visit viewed a matching page.
    fn reference<'a>(
        filters: &Filters,
        visits: &[DayVisit<'a>],
        events: &[DayEvent<'a>],
    ) -> (Vec<DayVisit<'a>>, Vec<DayEvent<'a>>) {
        let columns = |values: [&str; 4]| {
            [
                &filters.source,
                &filters.channel,
                &filters.campaign,
                &filters.device,
            ]
            .iter()
            .zip(values)
            .all(|(f, v)| f.as_deref().is_none_or(|f| f == v))
        };
        let viewed = |visit: i64| {
            filters.page.as_deref().is_none_or(|p| {
                events
                    .iter()
                    .any(|e| e.visit_id == visit && e.name == "pageview" && path_matches(p, e.path))
            })
        };
        (
            visits
                .iter()
                .filter(|v| columns(ATTR_DIMS.map(|d| v.dims[d])) && viewed(v.id))
                .cloned()
                .collect(),
            events
                .iter()
                .filter(|e| NAMES.contains(&e.name) && columns(e.attrs) && viewed(e.visit_id))
                .cloned()
                .collect(),
        )
    }

    #[test]
    fn a_digest_sums_to_what_the_day_s_rows_sum_to_under_any_filters() {
        let (visits, events) = day();
        let (visit_part, event_part) = encode(&visits, &events);
        let digest = decode(&visit_part, Some(&event_part)).expect("reads back");
        let filters = |source: Option<&str>, device: Option<&str>, page: Option<&str>| Filters {
            source: source.map(String::from),
            device: device.map(String::from),
            page: page.map(String::from),
            ..Filters::default()
        };
        let (goals, conditions) = goals_and_conditions();
        let defs = definitions(&goals, &conditions);
        let rows = |v: &[DayVisit], e: &[DayEvent]| {
            sorted(day_rows(v, e, i64::MAX, &defs, Segmenting::Site))
        };
        // Without its events, a digest still gives the visits, page filter included (a summary).
        let visits_only = decode(&visit_part, None).unwrap();
        for f in [
            Filters::default(),
            filters(Some("Google"), None, None),
            filters(None, Some("tablet"), None),
            filters(None, Some("mobile"), Some("/conditions/*")),
            filters(Some("Google"), Some("desktop"), Some("/back-pain")),
            filters(None, None, Some("/thank-you")),
            filters(None, None, Some("/conditions/knee*")),
            // A value the day never saw.
            filters(Some("DuckDuckGo"), None, None),
        ] {
            let (v, e) = reference(&f, &visits, &events);
            let expected = rows(&v, &e);
            let (dv, de) = digest.select(&f, &NAMES, 0);
            assert_eq!(dv.len(), v.len(), "visits for {f:?}");
            assert_eq!(de.len(), e.len(), "events for {f:?}");
            assert_eq!(rows(&dv, &de), expected, "sums for {f:?}");
            // Summed on the digest's numbers.
            let numbers = sorted(digest.site_rows(&f, &NAMES, &defs));
            assert_eq!(numbers, expected, "sums on numbers for {f:?}");
            let summary = day_rows(&v, &e, i64::MAX, &defs, Segmenting::Site)
                .into_iter()
                .find(|r| r.1 == "summary")
                .unwrap()
                .3;
            assert_eq!(visits_only.summary(&f), summary, "summary for {f:?}");
        }
        // Everything a report shows is there to compare.
        let all = rows(&visits, &events).join("\n");
        for metric in [
            "confirm",
            "funnel",
            "condition",
            "goal",
            "page",
            "entry_path",
        ] {
            assert!(all.contains(&format!("\"{metric}\"")), "{metric} in {all}");
        }
        // No visitor hash is kept: a day's visitors become their rank.
        let (v, _) = digest.select(&Filters::default(), &NAMES, 0);
        assert!(v.iter().all(|v| v.visitor_id < visits.len() as i64));
    }

    #[test]
    fn a_damaged_or_foreign_digest_is_refused_not_misread() {
        let (visits, events) = day();
        let (goals, conditions) = goals_and_conditions();
        let defs = definitions(&goals, &conditions);
        let (visit_part, event_part) = encode(&visits, &events);
        fn read<'a>(v: &'a [u8], e: &[u8]) -> Option<Digest<'a>> {
            decode(v, Some(e))
        }
        for n in 0..visit_part.len() {
            assert!(read(&visit_part[..n], &event_part).is_none(), "cut at {n}");
        }
        for n in 0..event_part.len() {
            assert!(read(&visit_part, &event_part[..n]).is_none(), "cut at {n}");
        }
        let mut other = visit_part.clone();
        other[0] = VERSION + 1;
        assert!(read(&other, &event_part).is_none());
        let mut longer = event_part.clone();
        longer.push(0);
        assert!(read(&visit_part, &longer).is_none());
        // Any byte changed: read or refused, never a panic.
        for part in 0..2 {
            let bytes = [&visit_part, &event_part][part];
            for i in 0..bytes.len() {
                for b in [0u8, 0x7f, 0x80, 0xff] {
                    let mut changed = bytes.clone();
                    changed[i] = b;
                    let digest = match part {
                        0 => read(&changed, &event_part),
                        _ => read(&visit_part, &changed),
                    };
                    let Some(d) = digest else { continue };
                    let pages = Filters {
                        page: Some("/*".into()),
                        ..Filters::default()
                    };
                    for f in [Filters::default(), pages] {
                        d.select(&f, &NAMES, 0);
                        d.site_rows(&f, &NAMES, &defs);
                        d.summary(&f);
                    }
                    if let Some(d) = decode(&changed, None).filter(|_| part == 0) {
                        d.summary(&Filters::default());
                    }
                }
            }
        }
    }
}
