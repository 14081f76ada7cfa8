//! Realistic website traffic from a fixed seed: for the demo practice's twelve months of visits and
//! for the data sets that benchmarks need (`stride generate-traffic`). Visitors arrive through the
//! channels PT clinics see, read condition pages, and some request an appointment or call.

use stride_store::Store;
use stride_store::website::insights::NewClick;
use stride_store::website::{NewEvent, Site, VisitCache};

/// A small deterministic generator (SplitMix64): the same seed gives the same traffic everywhere.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in [0, n).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    pub(crate) fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    pub(crate) fn pick<'a, T>(&mut self, weighted: &'a [(T, u64)]) -> &'a T {
        let total: u64 = weighted.iter().map(|w| w.1).sum();
        let mut roll = self.below(total);
        for (item, weight) in weighted {
            if roll < *weight {
                return item;
            }
            roll -= weight;
        }
        &weighted[0].0
    }
}

/// Source, channel, referrer host and campaign of a visit.
type Origin = (&'static str, &'static str, &'static str, &'static str);

const SOURCES: &[(Origin, u64)] = &[
    (("Google", "organic_search", "google.com", ""), 46),
    (("Direct", "direct", "", ""), 18),
    (
        ("Google", "paid_search", "google.com", "Back pain – search"),
        9,
    ),
    (("Facebook", "organic_social", "facebook.com", ""), 7),
    (
        (
            "Facebook",
            "paid_social",
            "facebook.com",
            "Spring open house",
        ),
        4,
    ),
    (("Bing", "organic_search", "bing.com", ""), 4),
    (("Yelp", "referral", "yelp.com", ""), 3),
    (("newsletter", "email", "", "Monthly newsletter"), 3),
    (("flyer", "offline", "", "Health fair flyer"), 2),
    (("Instagram", "organic_social", "instagram.com", ""), 2),
    (("drsmithortho.com", "referral", "drsmithortho.com", ""), 2),
];

const LANDING: &[(&str, u64)] = &[
    ("/", 30),
    ("/conditions/back-pain", 14),
    ("/conditions/knee-pain", 10),
    ("/conditions/sciatica", 9),
    ("/conditions/shoulder-pain", 6),
    ("/services/dry-needling", 6),
    ("/blog/5-stretches-for-lower-back-pain", 12),
    ("/blog/knee-pain-after-running", 5),
    ("/blog/what-to-expect-at-your-first-visit", 3),
    ("/insurance", 5),
    ("/about", 4),
    ("/locations/downtown", 4),
];

const NEXT: &[(&str, u64)] = &[
    ("/request-appointment", 6),
    ("/insurance", 14),
    ("/about", 10),
    ("/services", 14),
    ("/locations/downtown", 10),
    ("/locations/lakewood", 8),
    ("/conditions/back-pain", 10),
    ("/team", 10),
];

const DEVICES: &[((&str, &str, &str), u64)] = &[
    (("mobile", "Safari", "iOS"), 38),
    (("mobile", "Chrome", "Android"), 22),
    (("desktop", "Chrome", "Windows"), 22),
    (("desktop", "Safari", "macOS"), 9),
    (("desktop", "Edge", "Windows"), 5),
    (("tablet", "Safari", "iOS"), 4),
];

/// Writes about `visits_per_day` visits for each of the `days` days that end now, with their events.
/// Returns the number of events written.
pub async fn generate(
    store: &Store,
    site: &Site,
    days: i64,
    visits_per_day: u64,
    seed: u64,
) -> anyhow::Result<u64> {
    let mut rng = Rng(seed);
    let mut cache = VisitCache::default();
    let now = stride_store::now_ms();
    // Visits fall between 6 am and 10 pm in the practice's time zone and end well before midnight,
    // as with real visitors, whose ids change at local midnight.
    let days_back = local_days(store, site, days).await?;
    let mut batch = Vec::with_capacity(2_000);
    let mut written = 0u64;
    let mut visitor = (seed as i64) << 20;
    for (day, (day_start, weekend)) in days_back.into_iter().enumerate() {
        let day = day as i64;
        // Traffic grows through the year and dips at weekends.
        let growth = 70 + 30 * day as u64 / days.max(1) as u64;
        let weekend = if weekend { 55 } else { 100 };
        let today = visits_per_day * growth / 100 * weekend / 100;
        for _ in 0..today + rng.below(today / 5 + 1) {
            visitor += 1;
            let mut at = day_start + 6 * 3_600_000 + rng.below(16 * 3_600_000) as i64;
            let mut came_from = *rng.pick(SOURCES);
            let (device, browser, os) = *rng.pick(DEVICES);
            // One visitor in eight comes back later the same day, typing the address or searching
            // the clinic's name: a second visit of the same visitor.
            let visits = if rng.chance(12) { 2 } else { 1 };
            for round in 0..visits {
                if round > 0 {
                    at += 45 * 60_000 + rng.below(3 * 3_600_000) as i64;
                    came_from = if rng.chance(50) {
                        SOURCES[0].0
                    } else {
                        SOURCES[1].0
                    };
                }
                // Visits end well before local midnight, when visitor ids change.
                if at > now || at > day_start + 23 * 3_600_000 {
                    break;
                }
                let (source, channel, referrer, campaign) = came_from;
                let event = |at: i64, name: &str, path: &str, props: &str| NewEvent {
                    site_id: site.id,
                    practice_id: site.practice_id,
                    at,
                    visitor_id: visitor,
                    name: name.into(),
                    path: path.into(),
                    query: String::new(),
                    referrer_host: referrer.into(),
                    source: source.into(),
                    channel: channel.into(),
                    campaign: campaign.into(),
                    device: device.into(),
                    browser: browser.into(),
                    os: os.into(),
                    props: props.into(),
                    revenue_cents: None,
                    scroll_depth: None,
                    engaged_ms: None,
                    interactive: name != "engagement",
                };
                let mut t = at;
                let mut path = *rng.pick(LANDING);
                batch.push(event(t, "pageview", path, "{}"));
                let pages = if rng.chance(45) { 1 } else { 2 + rng.below(4) };
                for _ in 1..pages {
                    t += 20_000 + rng.below(120_000) as i64;
                    path = *rng.pick(NEXT);
                    batch.push(event(t, "pageview", path, "{}"));
                    if path == "/request-appointment" {
                        batch.push(event(
                            t + 5_000,
                            "Form Start",
                            path,
                            r#"{"form":"request"}"#,
                        ));
                        if rng.chance(35) {
                            t += 60_000 + rng.below(120_000) as i64;
                            batch.push(event(t, "Form Submit", path, r#"{"form":"request"}"#));
                            batch.push(event(
                                t,
                                "Appointment Request",
                                path,
                                r#"{"service":"evaluation"}"#,
                            ));
                            // Some submissions never reach the confirmation (a slow page, a closed tab).
                            if rng.chance(88) {
                                batch.push(event(t + 2_000, "pageview", "/thank-you", "{}"));
                            }
                            break;
                        }
                    }
                }
                if device != "desktop" && rng.chance(4) {
                    batch.push(event(t + 10_000, "Phone Call", path, "{}"));
                }
                if path.starts_with("/blog") && rng.chance(8) {
                    batch.push(event(
                        t + 30_000,
                        "Guide Download",
                        path,
                        r#"{"guide":"back-pain"}"#,
                    ));
                }
                let mut end = event(t + 15_000, "engagement", path, "{}");
                end.scroll_depth = Some(20 + rng.below(81) as i64);
                end.engaged_ms = Some(5_000 + rng.below(180_000) as i64);
                batch.push(end);
            }
            if batch.len() >= 1_500 {
                batch.sort_by_key(|e| e.at);
                store.insert_events(&batch, &mut cache).await?;
                written += batch.len() as u64;
                batch.clear();
            }
        }
    }
    batch.sort_by_key(|e| e.at);
    store.insert_events(&batch, &mut cache).await?;
    written += batch.len() as u64;
    // Days already rolled up (a server ran meanwhile) are rolled up again with these events.
    store.forget_digests(site.practice_id).await?;
    Ok(written)
}

/// The first millisecond of each of the `days` local days that end today, oldest first.
async fn local_days(store: &Store, site: &Site, days: i64) -> anyhow::Result<Vec<(i64, bool)>> {
    let tz = store.practice_time_zone(site.practice_id).await?;
    let today = jiff::Timestamp::now().to_zoned_datetime(tz.clone()).date();
    let mut out = Vec::with_capacity(days as usize);
    for back in (0..days).rev() {
        let date = today.checked_sub(jiff::Span::new().days(back))?;
        let weekend = matches!(
            date.weekday(),
            jiff::civil::Weekday::Saturday | jiff::civil::Weekday::Sunday
        );
        out.push((
            date.to_zoned_datetime(tz.clone())?
                .timestamp()
                .as_millisecond(),
            weekend,
        ));
    }
    Ok(out)
}

/// An element of the demo home page that visitors click: selector, tag, label, whether it responds,
/// where it sits (x in permille of the width, y in pixels) on a desktop and on a phone, and weight.
struct Target {
    selector: &'static str,
    tag: &'static str,
    label: &'static str,
    interactive: bool,
    desktop: (i64, i64),
    mobile: (i64, i64),
    weight: u64,
}

const HOME_TARGETS: &[Target] = &[
    Target {
        selector: "#request-appointment",
        tag: "a",
        label: "Request an appointment",
        interactive: true,
        desktop: (500, 620),
        mobile: (500, 900),
        weight: 30,
    },
    Target {
        selector: "#nav > a:nth-of-type(2)",
        tag: "a",
        label: "Conditions",
        interactive: true,
        desktop: (420, 40),
        mobile: (900, 40),
        weight: 14,
    },
    Target {
        selector: "#nav > a:nth-of-type(4)",
        tag: "a",
        label: "Insurance",
        interactive: true,
        desktop: (640, 40),
        mobile: (900, 40),
        weight: 10,
    },
    Target {
        selector: "#call",
        tag: "a",
        label: "[phone]",
        interactive: true,
        desktop: (880, 40),
        mobile: (500, 1400),
        weight: 12,
    },
    Target {
        selector: "#insurers > img:nth-of-type(2)",
        tag: "img",
        label: "Aetna",
        interactive: false,
        desktop: (380, 1650),
        mobile: (500, 2900),
        weight: 9,
    },
    Target {
        selector: "#insurers > img:nth-of-type(1)",
        tag: "img",
        label: "Blue Cross Blue Shield",
        interactive: false,
        desktop: (220, 1650),
        mobile: (500, 2750),
        weight: 6,
    },
    Target {
        selector: "#hours > p:nth-of-type(1)",
        tag: "p",
        label: "[phone]",
        interactive: false,
        desktop: (760, 2300),
        mobile: (500, 3900),
        weight: 5,
    },
    Target {
        selector: "#team > figure:nth-of-type(1)",
        tag: "figure",
        label: "Dr. Maya Chen, PT, DPT",
        interactive: false,
        desktop: (300, 1200),
        mobile: (500, 2100),
        weight: 4,
    },
];

/// The demo home page's height in pixels on a desktop, a phone (its columns stacked) and a tablet
/// (laid out as on a desktop, a little taller).
const DESKTOP_PAGE_H: i64 = 2600;
const MOBILE_PAGE_H: i64 = 4300;
const TABLET_PAGE_H: i64 = 3100;

/// Where the demo home page's call to action sits, in percent of the page's height, on each class
/// of device: where its generated clicks land.
pub fn home_cta_depths() -> [(stride_core::website::agents::Device, i64); 3] {
    use stride_core::website::agents::Device;
    let cta = &HOME_TARGETS[0];
    [
        (Device::Desktop, cta.desktop.1 * 100 / DESKTOP_PAGE_H),
        (Device::Tablet, cta.desktop.1 * 100 / TABLET_PAGE_H),
        (Device::Mobile, cta.mobile.1 * 100 / MOBILE_PAGE_H),
    ]
}

/// Clicks on the demo home page's heatmap over `days` days: mostly on links and the call to
/// action, some dead clicks on insurer logos, a plain-text phone number and team photos, and a few
/// rage bursts on the logos. Returns the number of clicks written.
pub async fn generate_clicks(
    store: &Store,
    site: &Site,
    days: i64,
    per_day: u64,
    seed: u64,
) -> anyhow::Result<u64> {
    let mut rng = Rng(seed ^ 0x5eed_c11c);
    let now = stride_store::now_ms();
    let days_back = local_days(store, site, days).await?;
    let weights: Vec<(usize, u64)> = HOME_TARGETS
        .iter()
        .enumerate()
        .map(|(i, t)| (i, t.weight))
        .collect();
    let mut batch = Vec::new();
    let mut written = 0u64;
    for (day_start, _) in days_back {
        for _ in 0..per_day + rng.below(per_day / 2 + 1) {
            let t = &HOME_TARGETS[*rng.pick(&weights)];
            let (class, (x, y), page_h) = match rng.below(100) {
                0..55 => ("desktop", t.desktop, DESKTOP_PAGE_H),
                55..95 => ("mobile", t.mobile, MOBILE_PAGE_H),
                _ => ("tablet", t.desktop, TABLET_PAGE_H),
            };
            let jitter = |rng: &mut Rng, v: i64, spread: u64| {
                v - spread as i64 / 2 + rng.below(spread) as i64
            };
            let at = (day_start + 6 * 3_600_000 + rng.below(16 * 3_600_000) as i64).min(now);
            let click = |kind: &str, x: i64, y: i64| NewClick {
                site_id: site.id,
                practice_id: site.practice_id,
                at,
                path: "/".into(),
                width_class: class.into(),
                x: x.clamp(0, 1000),
                y: y.max(0),
                page_h,
                selector: t.selector.into(),
                tag: t.tag.into(),
                label: t.label.into(),
                interactive: t.interactive,
                kind: kind.into(),
            };
            let (cx, cy) = (jitter(&mut rng, x, 80), jitter(&mut rng, y, 40));
            batch.push(click(if t.interactive { "click" } else { "dead" }, cx, cy));
            if t.tag == "img" && rng.chance(15) {
                batch.push(click("rage", cx, cy));
            }
        }
        if batch.len() >= 1_000 {
            store.insert_clicks(&batch).await?;
            written += batch.len() as u64;
            batch.clear();
        }
    }
    store.insert_clicks(&batch).await?;
    written += batch.len() as u64;
    Ok(written)
}
