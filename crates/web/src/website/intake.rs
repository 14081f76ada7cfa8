//! `POST /api/event`: the Plausible-compatible event intake. A request is validated, cleaned and
//! classified right away (cheap, in memory) and handed to a bounded queue; one writer task stores
//! the queue in batches. A full queue sheds load with a counted 503 instead of growing. Nothing that
//! identifies a visitor is kept: the address and user agent only feed a hash under a daily salt.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::to_bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::Value;
use stride_core::website::agents::{Device, classify_agent};
use stride_core::website::channels::{Attribution, VisitSource, classify};
use stride_core::website::insights::{path_matches, pattern_js_regex, viewport_class};
use stride_core::website::scrub::{looks_personal, scrub_props};
use stride_core::website::urls::{CleanUrl, clean_url_in_mode, referrer_host};
use stride_core::website::visitors::visitor_id;
use stride_store::website::insights::NewClick;
use stride_store::website::{NewEvent, Site, normalize_domain};
use stride_store::{Store, StoreError};
use tokio::sync::mpsc;

use crate::AppState;
use crate::auth::client_ip;

/// Largest event body accepted; Plausible's own trackers send well under 2 KiB.
pub const MAX_EVENT_BYTES: usize = 8 * 1024;
/// Events waiting for the writer before intake starts shedding load.
pub const QUEUE_CAPACITY: usize = 20_000;
const WRITE_BATCH: usize = 1_000;
/// How long intake trusts what it read about a site (its settings, heatmaps, time zone).
const CACHE_TTL: Duration = Duration::from_secs(30);

/// Referrers that only exist to appear in analytics reports.
const REFERRER_SPAM: &[&str] = &[
    "semalt.com",
    "buttons-for-website.com",
    "darodar.com",
    "ilovevitaly.com",
    "priceg.com",
    "hulfingtonpost.com",
    "best-seo-offer.com",
    "free-social-buttons.com",
    "site-auditor.online",
];

/// What the writer stores: an event, or a click on a page where a heatmap records.
pub enum Queued {
    Event(NewEvent),
    Click(NewClick),
    /// Where a heatmap page's call to action sits (site, path, device class, percent of the page).
    CtaDepth(i64, String, Device, i64),
}

/// A heatmap page's call to action: site, path and device class.
type CtaKey = (i64, String, Device);

/// A registered site, or None for a domain that is not one.
type CachedSite = Option<Arc<Site>>;

/// A site's recording pages: (pattern, call-to-action selector).
type HeatmapConfig = Arc<Vec<(String, String)>>;

/// A practice's time zone, today's local date there and when that date ends (ms).
type LocalDay = (jiff::tz::TimeZone, String, i64);

/// What intake read from the database, trusted for `CACHE_TTL`. When an entry goes stale, the
/// first request to find it reads it again while requests meanwhile keep the stale value: on a
/// busy site every request in flight would otherwise go to the database at the same moment, every
/// 30 seconds. If that read fails, the stale value serves another round.
struct Cache<K, V> {
    entries: Mutex<HashMap<K, (V, Instant)>>,
    ttl: Duration,
}

impl<K, V> Default for Cache<K, V> {
    fn default() -> Self {
        Cache {
            entries: Mutex::default(),
            ttl: CACHE_TTL,
        }
    }
}

impl<K: std::hash::Hash + Eq, V: Clone> Cache<K, V> {
    async fn get<Q, Fut>(&self, key: &Q, read: impl FnOnce() -> Fut) -> Result<V, StoreError>
    where
        K: std::borrow::Borrow<Q>,
        Q: std::hash::Hash + Eq + ToOwned<Owned = K> + ?Sized,
        Fut: Future<Output = Result<V, StoreError>>,
    {
        let stale = match self.entries.lock().expect("intake cache").get_mut(key) {
            Some((value, at)) if at.elapsed() < self.ttl => return Ok(value.clone()),
            Some((value, at)) => {
                *at = Instant::now();
                Some(value.clone())
            }
            None => None,
        };
        match read().await {
            Ok(value) => {
                self.put(key.to_owned(), value.clone());
                Ok(value)
            }
            Err(e) => match stale {
                Some(value) => {
                    tracing::warn!(error = %e, "intake keeps a cached value it could not read again");
                    Ok(value)
                }
                None => Err(e),
            },
        }
    }

    fn put(&self, key: K, value: V) {
        let mut entries = self.entries.lock().expect("intake cache");
        if entries.len() > 10_000 {
            entries.clear();
        }
        entries.insert(key, (value, Instant::now()));
    }
}

/// The intake's shared state: the queue's sending side, caches, and counts of what was dropped.
pub struct Intake {
    tx: mpsc::Sender<Queued>,
    sites: Cache<String, CachedSite>,
    heatmaps: Cache<i64, HeatmapConfig>,
    cta: Mutex<HashMap<CtaKey, (i64, Instant)>>,
    zones: Cache<i64, LocalDay>,
    salts: Mutex<HashMap<String, ([u8; 32], Instant)>>,
    drops: Mutex<HashMap<(i64, &'static str), i64>>,
}

/// The receiving side, owned by the writer task.
pub struct IntakeQueue(mpsc::Receiver<Queued>);

impl Intake {
    pub fn new(capacity: usize) -> (Intake, IntakeQueue) {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        let intake = Intake {
            tx,
            sites: Cache::default(),
            heatmaps: Cache::default(),
            cta: Mutex::default(),
            zones: Cache::default(),
            salts: Mutex::default(),
            drops: Mutex::default(),
        };
        (intake, IntakeQueue(rx))
    }

    fn drop_event(&self, site_id: i64, reason: &'static str) {
        metrics::counter!("stride_events_dropped_total", "reason" => reason).increment(1);
        *self
            .drops
            .lock()
            .expect("drops lock")
            .entry((site_id, reason))
            .or_default() += 1;
    }

    fn take_drops(&self) -> HashMap<(i64, &'static str), i64> {
        std::mem::take(&mut *self.drops.lock().expect("drops lock"))
    }

    pub(crate) async fn site(&self, store: &Store, domain: &str) -> Result<CachedSite, StoreError> {
        self.sites
            .get(domain, || async {
                Ok(store.site_by_domain(domain).await?.map(Arc::new))
            })
            .await
    }

    async fn heatmaps(&self, store: &Store, site_id: i64) -> Result<HeatmapConfig, StoreError> {
        self.heatmaps
            .get(&site_id, || async {
                Ok(Arc::new(store.heatmap_config(site_id).await?))
            })
            .await
    }

    /// Whether a reported call-to-action depth is news: a change, or ten minutes since the last.
    fn cta_changed(&self, site_id: i64, path: &str, device: Device, depth: i64) -> bool {
        let mut seen = self.cta.lock().expect("cta cache");
        if seen.len() > 10_000 {
            seen.clear();
        }
        let key = (site_id, path.to_string(), device);
        match seen.get(&key) {
            Some((d, at)) if *d == depth && at.elapsed() < Duration::from_secs(600) => false,
            _ => {
                seen.insert(key, (depth, Instant::now()));
                true
            }
        }
    }

    /// Today's local date at the practice ("2026-11-23"): visitor ids rotate at its local
    /// midnight, so a day's visitors can be summed into reports over many days.
    async fn local_day(
        &self,
        store: &Store,
        practice_id: i64,
        now: jiff::Timestamp,
    ) -> Result<String, StoreError> {
        let local = |tz: jiff::tz::TimeZone| {
            let date = now.to_zoned_datetime(tz.clone()).date();
            let until = date
                .tomorrow()
                .ok()
                .and_then(|d| d.to_zoned_datetime(tz.clone()).ok())
                .map_or(now.as_millisecond(), |z| z.timestamp().as_millisecond());
            (tz, date.to_string(), until)
        };
        let (tz, day, until) = self
            .zones
            .get(&practice_id, || async {
                Ok(local(store.practice_time_zone(practice_id).await?))
            })
            .await?;
        if now.as_millisecond() < until {
            return Ok(day);
        }
        // The practice's midnight has passed since the zone was read.
        let today = local(tz);
        self.zones.put(practice_id, today.clone());
        Ok(today.1)
    }

    /// Today's visitor id of a browser (address and user agent) on a site: the same hash the
    /// tracker's events get, so a form posted from that browser finds its visit.
    pub async fn visitor_id_now(
        &self,
        store: &Store,
        site: &Site,
        ip: &str,
        user_agent: &str,
    ) -> Result<i64, StoreError> {
        let day = self
            .local_day(store, site.practice_id, jiff::Timestamp::now())
            .await?;
        let salt = self.salt(store, &day).await?;
        Ok(visitor_id(&salt, site.id, ip, user_agent))
    }

    /// Queues an event recorded by the server itself (a hosted form's conversion). False when the
    /// queue is full or closed: the event is then counted as dropped.
    pub fn record(&self, event: NewEvent) -> bool {
        let site_id = event.site_id;
        match self.tx.try_send(Queued::Event(event)) {
            Ok(()) => true,
            Err(_) => {
                self.drop_event(site_id, "queue_full");
                false
            }
        }
    }

    async fn salt(&self, store: &Store, day: &str) -> Result<[u8; 32], StoreError> {
        if let Some((salt, used)) = self.salts.lock().expect("salt cache").get_mut(day) {
            *used = Instant::now();
            return Ok(*salt);
        }
        let salt = store.visitor_salt(day).await?;
        let mut cache = self.salts.lock().expect("salt cache");
        // Local days differ across time zones, so a few are in use at once. Each new day's salt
        // drops those unused for an hour (days every practice is past), so a salt stays in
        // memory about as long as the database keeps it (48 hours), not for days on end.
        cache.retain(|_, (_, used)| used.elapsed() < Duration::from_secs(3600));
        cache.insert(day.to_string(), (salt, Instant::now()));
        Ok(salt)
    }
}

/// Stores queued events in batches until `finish` turns true (the server has stopped taking
/// requests); then closes the queue and stores what is left. Drop counts are written with each batch.
pub async fn run_writer(
    store: Store,
    intake: Arc<Intake>,
    mut queue: IntakeQueue,
    mut finish: tokio::sync::watch::Receiver<bool>,
) {
    let mut batch = Vec::with_capacity(WRITE_BATCH);
    let mut events = Vec::with_capacity(WRITE_BATCH);
    let mut clicks = Vec::new();
    let mut ctas = HashMap::new();
    let mut visits = stride_store::website::VisitCache::default();
    let mut finishing = false;
    loop {
        let received = if finishing {
            queue.0.recv_many(&mut batch, WRITE_BATCH).await
        } else {
            tokio::select! {
                n = queue.0.recv_many(&mut batch, WRITE_BATCH) => n,
                _ = tokio::time::sleep(Duration::from_secs(5)) => 0,
                _ = finish.changed() => {
                    finishing = true;
                    queue.0.close();
                    0
                }
            }
        };
        for q in batch.drain(..) {
            match q {
                Queued::Event(e) => events.push(e),
                Queued::Click(c) => clicks.push(c),
                Queued::CtaDepth(site, path, device, depth) => {
                    // Only the latest depth of a page and device matters.
                    ctas.insert((site, path, device), depth);
                }
            }
        }
        if !events.is_empty() {
            if let Err(e) = off_the_workers(store.insert_events(&events, &mut visits)).await {
                visits.clear();
                tracing::error!(error = %e, events = events.len(), "could not store a batch of events");
                for ev in &events {
                    intake.drop_event(ev.site_id, "write_failed");
                }
            } else {
                metrics::counter!("stride_events_stored_total").increment(events.len() as u64);
            }
            events.clear();
        }
        if !clicks.is_empty() {
            if let Err(e) = off_the_workers(store.insert_clicks(&clicks)).await {
                tracing::error!(error = %e, clicks = clicks.len(), "could not store a batch of clicks");
                for c in &clicks {
                    intake.drop_event(c.site_id, "write_failed");
                }
            }
            clicks.clear();
        }
        for ((site_id, path, device), depth) in ctas.drain() {
            if let Err(e) = store.report_cta_depth(site_id, &path, device, depth).await {
                tracing::warn!(error = %e, "could not record the call to action's depth");
            }
        }
        let day = jiff::Timestamp::now().strftime("%Y-%m-%d").to_string();
        for ((site_id, reason), n) in intake.take_drops() {
            let site = (site_id != 0).then_some(site_id);
            if let Err(e) = store.count_dropped(&day, site, reason, n).await {
                tracing::warn!(error = %e, "could not record dropped events");
            }
        }
        if finishing && received == 0 {
            break;
        }
    }
}

/// Runs a batch's statements to completion on this thread, which tokio first hands over from its
/// workers (`block_in_place`). Awaited on a worker, each of a batch's statements would resume only
/// after every request queued on that worker, so under a flood the writer fell behind and the
/// batch building delayed those requests; here the batch gets a thread of its own while requests
/// carry on. (On a single-threaded runtime, as in some tests, it is simply awaited.)
async fn off_the_workers<T>(work: impl Future<Output = T>) -> T {
    let handle = tokio::runtime::Handle::current();
    if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread {
        tokio::task::block_in_place(|| handle.block_on(work))
    } else {
        work.await
    }
}

#[derive(Deserialize)]
struct Incoming {
    #[serde(alias = "n")]
    name: String,
    #[serde(alias = "u")]
    url: String,
    #[serde(alias = "d")]
    domain: String,
    #[serde(alias = "r", default)]
    referrer: Option<String>,
    #[serde(alias = "p", default)]
    props: Option<Value>,
    #[serde(alias = "i", default)]
    interactive: Option<bool>,
    #[serde(default)]
    sd: Option<f64>,
    #[serde(default)]
    e: Option<f64>,
    #[serde(rename = "$", alias = "revenue", default)]
    revenue: Option<Revenue>,
    /// Plausible's hash mode (`h: 1`): the site routes by the fragment, so it is part of the path.
    #[serde(default)]
    h: Option<Value>,
    // Stride's own fields, sent by the click script for `$click` and `$cta`.
    #[serde(default)]
    x: Option<f64>,
    #[serde(default)]
    y: Option<f64>,
    #[serde(default)]
    ph: Option<f64>,
    #[serde(default)]
    vw: Option<f64>,
    #[serde(default)]
    s: Option<String>,
    #[serde(default)]
    t: Option<String>,
    #[serde(default)]
    l: Option<String>,
    #[serde(default)]
    a: Option<Value>,
    #[serde(default)]
    k: Option<String>,
}

#[derive(Deserialize)]
struct Revenue {
    amount: Value,
    currency: String,
}

/// The source, channel and campaign of a page view, from its referrer and campaign parameters.
pub(crate) fn attribute(site: &Site, url: &CleanUrl, referrer: Option<&str>) -> Attribution {
    let param = |k: &str| {
        url.query
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(k))
            .map(|(_, v)| v.as_str())
    };
    let click_ids: Vec<&str> = ["gclid", "gbraid", "wbraid", "msclkid", "fbclid"]
        .into_iter()
        .filter(|k| param(k).is_some())
        .collect();
    classify(&VisitSource {
        referrer_host: referrer,
        utm_source: param("utm_source"),
        utm_medium: param("utm_medium"),
        utm_campaign: param("utm_campaign"),
        click_ids: &click_ids,
        own_host: Some(&site.domain),
    })
}

pub(crate) fn cors(mut resp: Response) -> Response {
    resp.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    resp
}

fn reject(status: StatusCode, code: &str, message: &str) -> Response {
    let body = serde_json::json!({"error": {"code": code, "message": message}});
    cors((status, axum::Json(body)).into_response())
}

fn accepted() -> Response {
    cors((StatusCode::ACCEPTED, "ok").into_response())
}

/// Answers the CORS preflight a tracker sending `application/json` triggers.
pub async fn preflight() -> Response {
    let mut resp = cors(StatusCode::NO_CONTENT.into_response());
    let h = resp.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("POST, OPTIONS"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("content-type"),
    );
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("86400"),
    );
    resp
}

/// Whether `host` is `domain` or one of its subdomains.
fn is_within(host: &str, domain: &str) -> bool {
    host.strip_suffix(domain)
        .is_some_and(|rest| rest.is_empty() || rest.ends_with('.'))
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// Props may arrive as an object or as a JSON string of one (older trackers).
fn props_list(props: Option<Value>) -> Vec<(String, String)> {
    let obj = match props {
        Some(Value::Object(o)) => o,
        Some(Value::String(s)) => match serde_json::from_str::<Value>(&s) {
            Ok(Value::Object(o)) => o,
            _ => return Vec::new(),
        },
        _ => return Vec::new(),
    };
    obj.into_iter()
        .filter_map(|(k, v)| match v {
            Value::String(s) => Some((k, s)),
            Value::Number(n) => Some((k, n.to_string())),
            Value::Bool(b) => Some((k, b.to_string())),
            _ => None,
        })
        .collect()
}

fn revenue_cents(r: &Revenue) -> Option<i64> {
    if !r.currency.eq_ignore_ascii_case("USD") {
        return None;
    }
    let amount: f64 = match &r.amount {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.trim().parse().ok()?,
        _ => return None,
    };
    (amount.is_finite() && (0.0..1e9).contains(&amount)).then(|| (amount * 100.0).round() as i64)
}

pub async fn event(State(state): State<AppState>, req: Request) -> Response {
    let ip = client_ip(&state, &req);
    let (parts, body) = req.into_parts();
    let headers = &parts.headers;
    let Ok(body) = to_bytes(body, MAX_EVENT_BYTES).await else {
        state.intake.drop_event(0, "too_large");
        return reject(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            "an event is at most 8 KiB",
        );
    };
    let incoming: Incoming = match serde_json::from_slice(&body) {
        Ok(i) => i,
        Err(e) => {
            state.intake.drop_event(0, "bad_json");
            return reject(
                StatusCode::BAD_REQUEST,
                "bad_request",
                &format!("the event is not valid JSON of the expected shape: {e}"),
            );
        }
    };
    let name = incoming.name.trim();
    if name.is_empty() || name.chars().count() > 120 {
        state.intake.drop_event(0, "bad_name");
        return reject(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "the event name must have 1 to 120 characters",
        );
    }
    // A tracker may name several domains (a roll-up); the first one registered here is used.
    let mut site = None;
    for d in incoming.domain.split(',').take(5) {
        let Ok(domain) = normalize_domain(d) else {
            continue;
        };
        match state.intake.site(&state.store, &domain).await {
            Ok(Some(s)) => {
                site = Some(s);
                break;
            }
            Ok(None) => {}
            Err(e) => {
                tracing::error!(error = %e, "site lookup failed");
                return reject(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "try again shortly",
                );
            }
        }
    }
    let Some(site) = site else {
        state.intake.drop_event(0, "unknown_site");
        return reject(
            StatusCode::NOT_FOUND,
            "unknown_site",
            "no site with this domain is registered in Stride",
        );
    };
    let ua = header_str(headers, "user-agent");
    let agent = classify_agent(ua);
    if agent.bot {
        state.intake.drop_event(site.id, "bot");
        return accepted();
    }
    if site.honor_dnt
        && (header_str(headers, "dnt") == "1" || header_str(headers, "sec-gpc") == "1")
    {
        state.intake.drop_event(site.id, "do_not_track");
        return accepted();
    }
    let allow: Vec<&str> = site.allowed_params.iter().map(String::as_str).collect();
    let hash_mode = match &incoming.h {
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64().is_some_and(|n| n != 0.0),
        _ => false,
    };
    let url = match clean_url_in_mode(&incoming.url, &allow, hash_mode) {
        Ok(u) => u,
        Err(e) => {
            state.intake.drop_event(site.id, "bad_url");
            return reject(
                StatusCode::BAD_REQUEST,
                "bad_request",
                &format!("the page address is not usable: {e}"),
            );
        }
    };
    if !is_within(&url.host, &site.domain) {
        state.intake.drop_event(site.id, "foreign_url");
        return reject(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "the page address is not on the site's domain",
        );
    }
    if name == "$click" || name == "$cta" {
        return heatmap_event(&state, &site, &incoming, url.path, agent.device).await;
    }
    let referrer = incoming.referrer.as_deref().and_then(referrer_host);
    if let Some(r) = &referrer
        && REFERRER_SPAM.iter().any(|spam| is_within(r, spam))
    {
        state.intake.drop_event(site.id, "referrer_spam");
        return accepted();
    }
    let attribution = attribute(&site, &url, referrer.as_deref());
    let (props, scrubbed) = scrub_props(props_list(incoming.props));
    if scrubbed > 0 {
        metrics::counter!("stride_event_props_scrubbed_total").increment(scrubbed as u64);
    }
    let now = jiff::Timestamp::now();
    let salt = match state
        .intake
        .local_day(&state.store, site.practice_id, now)
        .await
    {
        Ok(day) => state.intake.salt(&state.store, &day).await,
        Err(e) => Err(e),
    };
    let salt = match salt {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "visitor salt unavailable");
            return reject(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "try again shortly",
            );
        }
    };
    // `clean_url` kept only campaign tags and the allow-list; values are encoded again so that an `&` or
    // `=` inside one cannot run into the next.
    let query = serde_urlencoded::to_string(&url.query).unwrap_or_default();
    let event = NewEvent {
        site_id: site.id,
        practice_id: site.practice_id,
        at: now.as_millisecond(),
        visitor_id: visitor_id(&salt, site.id, &ip, ua),
        name: name.to_string(),
        path: url.path,
        query,
        referrer_host: referrer.unwrap_or_default(),
        source: attribution.source,
        channel: attribution.channel.as_str().to_string(),
        campaign: attribution.campaign.unwrap_or_default(),
        device: agent.device.as_str().to_string(),
        browser: agent.browser.to_string(),
        os: agent.os.to_string(),
        props: serde_json::Value::Object(
            props
                .into_iter()
                .map(|(k, v)| (k, Value::String(v)))
                .collect(),
        )
        .to_string(),
        revenue_cents: incoming.revenue.as_ref().and_then(revenue_cents),
        scroll_depth: incoming
            .sd
            .filter(|v| v.is_finite())
            .map(|v| v.clamp(0.0, 100.0) as i64),
        engaged_ms: incoming
            .e
            .filter(|v| v.is_finite())
            .map(|v| v.clamp(0.0, 86_400_000.0) as i64),
        interactive: incoming.interactive.unwrap_or(true),
    };
    enqueue(&state, site.id, Queued::Event(event))
}

fn enqueue(state: &AppState, site_id: i64, item: Queued) -> Response {
    match state.intake.tx.try_send(item) {
        Ok(()) => accepted(),
        Err(mpsc::error::TrySendError::Full(_)) => {
            state.intake.drop_event(site_id, "queue_full");
            reject(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                "too many events right now; this one was not recorded",
            )
        }
        Err(mpsc::error::TrySendError::Closed(_)) => reject(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the server is shutting down",
        ),
    }
}

/// A click (`$click`) or the call to action's position (`$cta`) from the click script, on a page
/// where one of the site's heatmaps records; anything else is dropped and counted.
async fn heatmap_event(
    state: &AppState,
    site: &Site,
    incoming: &Incoming,
    path: String,
    agent_device: Device,
) -> Response {
    let config = match state.intake.heatmaps(&state.store, site.id).await {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "heatmap lookup failed");
            return reject(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "try again shortly",
            );
        }
    };
    if !config
        .iter()
        .any(|(pattern, _)| path_matches(pattern, &path))
    {
        state.intake.drop_event(site.id, "not_recording");
        return accepted();
    }
    let num = |v: Option<f64>, max: f64| {
        v.filter(|v| v.is_finite())
            .map(|v| v.clamp(0.0, max) as i64)
    };
    if incoming.name.trim() == "$cta" {
        let Some(depth) = num(incoming.y, 100.0) else {
            state.intake.drop_event(site.id, "bad_click");
            return reject(
                StatusCode::BAD_REQUEST,
                "bad_request",
                "a $cta event gives y, a percentage",
            );
        };
        // Layouts differ by viewport, so the depth is kept per device class (the agent's, from an
        // older click script that does not send the width).
        let device = num(incoming.vw, 100_000.0).map_or(agent_device, viewport_class);
        if state.intake.cta_changed(site.id, &path, device, depth) {
            let key = (site.id, path.clone(), device);
            let resp = enqueue(
                state,
                site.id,
                Queued::CtaDepth(site.id, path, device, depth),
            );
            if resp.status() != StatusCode::ACCEPTED {
                // Not queued (a full queue): the next report of it is news again.
                state.intake.cta.lock().expect("cta cache").remove(&key);
            }
            return resp;
        }
        return accepted();
    }
    let kind = incoming.k.as_deref().unwrap_or("click");
    let selector = incoming.s.as_deref().unwrap_or("").trim();
    let tag = incoming
        .t
        .as_deref()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let (Some(x), Some(y), Some(width)) = (
        num(incoming.x, 1000.0),
        num(incoming.y, 1_000_000.0),
        num(incoming.vw, 100_000.0),
    ) else {
        state.intake.drop_event(site.id, "bad_click");
        return reject(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "a click gives x, y and vw as numbers",
        );
    };
    if !["click", "dead", "rage"].contains(&kind)
        || selector.is_empty()
        || selector.chars().count() > 200
        || tag.is_empty()
        || tag.len() > 20
        || !tag.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        state.intake.drop_event(site.id, "bad_click");
        return reject(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "a click names its kind (click, dead or rage), a selector of up to 200 characters and a tag",
        );
    }
    // Labels are page text; anything shaped like contact details is replaced, never stored.
    let mut label: String = incoming
        .l
        .as_deref()
        .unwrap_or("")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(40)
        .collect();
    if looks_personal(&label) {
        label = if label.contains('@') {
            "[email]".into()
        } else {
            "[phone]".into()
        };
    }
    let interactive = match &incoming.a {
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_i64() == Some(1),
        _ => false,
    };
    let click = NewClick {
        site_id: site.id,
        practice_id: site.practice_id,
        at: jiff::Timestamp::now().as_millisecond(),
        path,
        width_class: viewport_class(width).as_str().to_string(),
        x,
        y,
        page_h: num(incoming.ph, 1_000_000.0).unwrap_or(0).max(y),
        selector: selector.to_string(),
        tag,
        label,
        interactive,
        kind: kind.to_string(),
    };
    enqueue(state, site.id, Queued::Click(click))
}

#[derive(Deserialize)]
pub struct ConfigQuery {
    d: Option<String>,
}

/// `GET /api/heatmaps?d=DOMAIN`: the pages of a site where the click script should load, as
/// anchored JavaScript regular expressions, with each page's call-to-action selector. An unknown
/// domain gets an empty list, so the answer tells nothing about which domains exist.
pub async fn heatmap_config(
    State(state): State<AppState>,
    axum::extract::Query(q): axum::extract::Query<ConfigQuery>,
) -> Response {
    let mut pages = Vec::new();
    if let Some(domain) = q.d.as_deref().and_then(|d| normalize_domain(d).ok())
        && let Ok(Some(site)) = state.intake.site(&state.store, &domain).await
    {
        match state.intake.heatmaps(&state.store, site.id).await {
            Ok(config) => {
                pages = config
                    .iter()
                    .map(|(pattern, cta)| serde_json::json!({"r": pattern_js_regex(pattern), "c": cta}))
                    .collect();
            }
            Err(e) => {
                tracing::error!(error = %e, "heatmap lookup failed");
                return reject(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "try again shortly",
                );
            }
        }
    }
    let mut resp = cors(axum::Json(serde_json::json!({ "p": pages })).into_response());
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::{Cache, is_within};
    use std::time::Duration;
    use stride_store::StoreError;

    #[tokio::test]
    async fn a_stale_cache_entry_is_read_again_once_and_kept_if_that_fails() {
        let cache: Cache<String, i64> = Cache {
            ttl: Duration::from_millis(50),
            ..Cache::default()
        };
        let unused = || async { panic!("a fresh entry is not read again") };
        assert_eq!(cache.get("a", || async { Ok(1) }).await.unwrap(), 1);
        assert_eq!(cache.get("a", unused).await.unwrap(), 1);

        // Stale: the first request reads it again; one arriving meanwhile keeps the old value.
        tokio::time::sleep(Duration::from_millis(60)).await;
        let (tx, rx) = tokio::sync::oneshot::channel();
        let refresh = cache.get("a", || async { Ok(rx.await.unwrap()) });
        let meanwhile = async {
            let value = cache.get("a", unused).await.unwrap();
            tx.send(2).unwrap();
            value
        };
        let (refreshed, meanwhile) = tokio::join!(refresh, meanwhile);
        assert_eq!((refreshed.unwrap(), meanwhile), (2, 1));
        assert_eq!(cache.get("a", unused).await.unwrap(), 2);

        // A failed read keeps the stale value; with nothing cached, the error is the answer.
        tokio::time::sleep(Duration::from_millis(60)).await;
        let down = || async { Err(StoreError::Invalid("database down".into())) };
        assert_eq!(cache.get("a", down).await.unwrap(), 2);
        assert!(cache.get("b", down).await.is_err());
    }

    #[test]
    fn a_host_is_within_its_domain_and_subdomains_only() {
        assert!(is_within("semalt.com", "semalt.com"));
        assert!(is_within("www.semalt.com", "semalt.com"));
        assert!(!is_within("notsemalt.com", "semalt.com"));
        assert!(!is_within("semalt.com.evil.example", "semalt.com"));
        assert!(is_within("blog.riversidept.com", "riversidept.com"));
        assert!(!is_within("riversidept.co", "riversidept.com"));
    }
}
