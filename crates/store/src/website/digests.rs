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

use stride_core::website::insights::path_matches;

use super::day_sums::{DayEvent, DayVisit};
use super::query::Filters;

/// The format's first byte; a digest of another version is ignored (the day is read raw).
const VERSION: u8 = 1;

/// The one event name a digest leaves out: reports never count it.
pub(crate) const LEFT_OUT: &str = "engagement";

/// A decoded digest: dictionary numbers instead of strings.
pub(crate) struct Digest {
    strings: Vec<String>,
    /// Each combination of the seven dimensions the day's visits had (source, channel, campaign,
    /// entry_path, device, browser, os): far fewer than visits.
    profiles: Vec<[u32; 7]>,
    visits: Vec<Visit>,
    /// Each path with pageviews, and the ranks of the visits that viewed it, in order.
    pages: Vec<(u32, Vec<u32>)>,
    events: Vec<Event>,
    own: Vec<Own>,
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
    name: u32,
    path: u32,
    /// Where its visitor and attributes are: its visit's index in `Digest::visits`, or, when they
    /// are its own, `OWN` plus their index in `Digest::own`.
    from: u32,
}

/// `Event::from` at and above this points into `Digest::own`.
const OWN: u32 = 1 << 31;

/// An event's own visitor and attributes (source, channel, campaign, device), where they are not
/// its visit's (or its visit did not begin in the day).
struct Own {
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
pub(crate) fn decode(visit_part: &[u8], event_part: Option<&[u8]>) -> Option<Digest> {
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
        let s = r.bytes.get(r.at..r.at.checked_add(n)?)?;
        strings.push(std::str::from_utf8(s).ok()?.to_string());
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
    // Visitor numbers as `encode` writes them.
    let mut numbered = 0u32;
    let mut visitor = |code: u64| -> Option<u32> {
        if code == 0 {
            numbered = numbered.checked_add(1)?;
            return Some(numbered - 1);
        }
        u32::try_from(code - 1).ok().filter(|n| *n < numbered)
    };

    let count = r.len()?;
    let mut visits: Vec<Visit> = Vec::with_capacity(count);
    let mut rank = 0u32;
    for _ in 0..count {
        rank = rank.checked_add(u32::try_from(r.get()?).ok()?)?;
        let visitor = visitor(r.get()?)?;
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
    };
    let Some(event_part) = event_part else {
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
    // Visits are in rank order, as are events: the visit of an event is found by walking along.
    let mut next_visit = 0;
    for _ in 0..count {
        rank = rank.checked_add(u32::try_from(r.get()?).ok()?)?;
        let head = r.get()?;
        let name = known(head >> 1)?;
        let path = known(r.get()?)?;
        while next_visit < visits.len() && visits[next_visit].rank < rank {
            next_visit += 1;
        }
        let from = if head & 1 == 1 {
            let visitor = visitor(r.get()?)?;
            let mut attrs = [0; 4];
            for a in &mut attrs {
                *a = known(r.get()?)?;
            }
            digest.own.push(Own { visitor, attrs });
            OWN.checked_add(u32::try_from(digest.own.len() - 1).ok()?)?
        } else {
            visits.get(next_visit).filter(|v| v.rank == rank)?;
            u32::try_from(next_visit).ok().filter(|i| *i < OWN)?
        };
        digest.events.push(Event {
            visit: rank,
            name,
            path,
            from,
        });
    }
    (r.at == event_part.len()).then_some(digest)
}

impl Digest {
    /// The visits that pass `filters` and their events named one of `names`, as the raw queries
    /// of a whole day load them (`Scope::visits_where`, `Scope::events_where`): a visit by its own
    /// attributes, an event by its own, and with a page filter both only if the visit viewed a
    /// matching page. Ids are ranks within the day; every visit and event is at `day_start`.
    pub(crate) fn select(
        &self,
        filters: &Filters,
        names: &[&str],
        day_start: i64,
    ) -> (Vec<DayVisit<'_>>, Vec<DayEvent<'_>>) {
        let id_of = |s: &str| {
            self.strings
                .binary_search_by(|x| x.as_str().cmp(s))
                .ok()
                .map(|i| i as u32)
        };
        // Each column filter as (index into a visit's dims, the value's number); a value the day
        // never saw matches nothing.
        let mut wanted: Vec<(usize, u32)> = Vec::new();
        for (dim, value) in [
            (0, &filters.source),
            (1, &filters.channel),
            (2, &filters.campaign),
            (4, &filters.device),
        ] {
            if let Some(value) = value {
                match id_of(value) {
                    Some(id) => wanted.push((dim, id)),
                    None => return (Vec::new(), Vec::new()),
                }
            }
        }
        // With a page filter, the ranks of visits with a matching pageview.
        let viewed: Option<Vec<u32>> = filters.page.as_deref().map(|pattern| {
            let mut ranks: Vec<u32> = self
                .pages
                .iter()
                .filter(|(path, _)| path_matches(pattern, &self.strings[*path as usize]))
                .flat_map(|(_, ranks)| ranks.iter().copied())
                .collect();
            ranks.sort_unstable();
            ranks.dedup();
            ranks
        });
        let in_page = |rank: u32| {
            viewed
                .as_ref()
                .is_none_or(|ranks| ranks.binary_search(&rank).is_ok())
        };
        let name_ids: Vec<u32> = names.iter().filter_map(|n| id_of(n)).collect();
        let text = |id: u32| self.strings[id as usize].as_str();

        // Which visits pass, by index: their own attributes, and the page filter.
        let profile_passes: Vec<bool> = self
            .profiles
            .iter()
            .map(|dims| wanted.iter().all(|(d, id)| dims[*d] == *id))
            .collect();
        let passes: Vec<bool> = self
            .visits
            .iter()
            .map(|v| profile_passes[v.profile as usize] && in_page(v.rank))
            .collect();
        let visits = self
            .visits
            .iter()
            .zip(&passes)
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
        // An event with its visit's attributes passes with its visit; one with its own is checked
        // on its own.
        let attr_of = |dim: usize| ATTR_DIMS.iter().position(|d| *d == dim).unwrap_or(0);
        let events = self
            .events
            .iter()
            .filter(|e| name_ids.contains(&e.name))
            .filter(|e| match e.from.checked_sub(OWN) {
                None => passes[e.from as usize],
                Some(own) => {
                    let own = &self.own[own as usize];
                    wanted.iter().all(|(d, id)| own.attrs[attr_of(*d)] == *id) && in_page(e.visit)
                }
            })
            .map(|e| {
                let (visitor, attrs) = match e.from.checked_sub(OWN) {
                    None => {
                        let v = &self.visits[e.from as usize];
                        let dims = &self.profiles[v.profile as usize];
                        (v.visitor, ATTR_DIMS.map(|d| dims[d]))
                    }
                    Some(own) => {
                        let own = &self.own[own as usize];
                        (own.visitor, own.attrs)
                    }
                };
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

    /// Visitor ids are hashes (large, in no order); one visitor comes twice; one event carries
    /// attributes of its own; one event's visit began the day before.
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
        ];
        let (a, b, c) = (&visits[0], &visits[1], &visits[2]);
        let mut own = event(b, 5, "Phone Call", "/back-pain");
        own.attrs[3] = "tablet";
        let earlier = DayVisit {
            id: 12,
            ..c.clone()
        };
        let events = vec![
            event(&earlier, 1, "pageview", "/thank-you"),
            event(a, 1, "pageview", "/"),
            event(a, 2, "pageview", "/conditions/sciatica"),
            event(a, 3, "Appointment Request", "/conditions/sciatica"),
            event(a, 4, "pageview", "/thank-you"),
            event(b, 1, "pageview", "/back-pain"),
            own,
            event(c, 1, "pageview", "/knee"),
            event(c, 2, "pageview", "/conditions/knee-pain"),
        ];
        (visits, events)
    }

    fn goal(id: i64, kind: GoalKind, pattern: &str) -> Goal {
        Goal {
            id,
            site_id: 1,
            name: pattern.into(),
            kind,
            pattern: pattern.into(),
            category: GoalCategory::LeadAction,
            confirmed_by: None,
        }
    }

    /// A day's sums, sorted, with everything a report shows.
    fn sums(visits: &[DayVisit], events: &[DayEvent]) -> Vec<String> {
        let goals = [
            goal(1, GoalKind::Event, "Appointment Request"),
            goal(2, GoalKind::Page, "/thank-you*"),
            goal(3, GoalKind::Event, "Phone Call"),
        ];
        let conditions = [(
            "Knee pain".to_string(),
            vec!["/conditions/knee*".to_string()],
        )];
        let defs = Definitions {
            goals: &goals,
            funnels: vec![(
                5,
                vec![
                    (GoalKind::Page, "/conditions/*".to_string()),
                    (GoalKind::Event, "Appointment Request".to_string()),
                ],
            )],
            conditions: &conditions,
            patterns: &[],
            extras: &[],
        };
        let mut rows: Vec<String> = day_rows(visits, events, i64::MAX, &defs, Segmenting::Site)
            .into_iter()
            .map(|r| format!("{r:?}"))
            .collect();
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
        for f in [
            Filters::default(),
            filters(Some("Google"), None, None),
            filters(None, Some("tablet"), None),
            filters(None, Some("mobile"), Some("/conditions/*")),
            filters(Some("Google"), Some("desktop"), Some("/back-pain")),
            filters(None, None, Some("/thank-you")),
            // A value the day never saw.
            filters(Some("DuckDuckGo"), None, None),
        ] {
            let (v, e) = reference(&f, &visits, &events);
            let (dv, de) = digest.select(&f, &NAMES, 0);
            assert_eq!(dv.len(), v.len(), "visits for {f:?}");
            assert_eq!(de.len(), e.len(), "events for {f:?}");
            assert_eq!(sums(&dv, &de), sums(&v, &e), "sums for {f:?}");
        }
        // Without its events, a digest still gives the visits, page filter included (a summary).
        let visits_only = decode(&visit_part, None).unwrap();
        for f in [
            filters(Some("Google"), None, None),
            filters(None, Some("mobile"), Some("/conditions/*")),
            filters(None, None, Some("/thank-you")),
        ] {
            let (v, e) = visits_only.select(&f, &[], 0);
            assert_eq!(
                (v.len(), e.len()),
                (reference(&f, &visits, &events).0.len(), 0)
            );
        }
        // No visitor hash is kept: a day's visitors become their rank.
        let (v, _) = digest.select(&Filters::default(), &NAMES, 0);
        assert!(v.iter().all(|v| v.visitor_id < 3));
    }

    #[test]
    fn a_damaged_or_foreign_digest_is_refused_not_misread() {
        let (visits, events) = day();
        let (visit_part, event_part) = encode(&visits, &events);
        let read = |v: &[u8], e: &[u8]| decode(v, Some(e));
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
                    if let Some(d) = digest {
                        d.select(&Filters::default(), &NAMES, 0);
                        d.select(
                            &Filters {
                                page: Some("/*".into()),
                                ..Filters::default()
                            },
                            &NAMES,
                            0,
                        );
                    }
                }
            }
        }
    }
}
