//! Website tracking storage: each practice's sites, the daily visitor salts (encrypted, deleted
//! after 48 hours), recorded events and the per-day counts of what intake dropped. Events never hold
//! an IP address, a user agent, a query string beyond campaign parameters, or a form value.

pub(crate) mod day_sums;
mod digests;
pub mod insights;
mod query;
pub mod report_emails;
pub mod reports;
pub mod rollups;

pub use query::Filters;

use std::collections::HashMap;
use std::sync::Arc;

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::error::{StoreError, StoreResult};
use crate::{Store, now_ms};

#[derive(Debug, Clone, Serialize)]
pub struct Site {
    pub id: i64,
    pub practice_id: i64,
    pub domain: String,
    /// Query parameters kept besides the campaign ones (e.g. "service").
    pub allowed_params: Vec<String>,
    /// Drop events from browsers that send Do-Not-Track or Global Privacy Control.
    pub honor_dnt: bool,
}

/// One event, already cleaned and classified by the intake.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub site_id: i64,
    pub practice_id: i64,
    pub at: i64,
    pub visitor_id: i64,
    pub name: String,
    pub path: String,
    pub query: String,
    pub referrer_host: String,
    /// How this event's referrer and URL classify. An event that opens a visit gives the visit its
    /// attribution; a later event is stored with its visit's, not these.
    pub source: String,
    pub channel: String,
    pub campaign: String,
    pub device: String,
    pub browser: String,
    pub os: String,
    pub props: String,
    pub revenue_cents: Option<i64>,
    pub scroll_depth: Option<i64>,
    pub engaged_ms: Option<i64>,
    pub interactive: bool,
}

/// One visit as a lead's touch: where it came from and where it landed.
#[derive(Debug, Clone, Serialize)]
pub struct VisitTouch {
    pub id: i64,
    pub started_at: i64,
    pub last_at: i64,
    pub source: String,
    pub channel: String,
    pub campaign: String,
    pub entry_path: String,
    pub exit_path: String,
    pub device: String,
    pub browser: String,
    pub os: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct RecordedEvent {
    pub at: i64,
    pub visitor_id: i64,
    pub name: String,
    pub path: String,
    pub query: String,
    pub source: String,
    pub channel: String,
    pub campaign: String,
    pub device: String,
    pub browser: String,
    pub os: String,
    pub props: String,
    pub scroll_depth: Option<i64>,
    pub engaged_ms: Option<i64>,
}

/// Rows per multi-row event INSERT: 20 parameters each, well under both databases' limits.
const EVENT_INSERT_ROWS: usize = 64;

/// Rows per multi-row visit INSERT (17 parameters each).
const VISIT_INSERT_ROWS: usize = 64;

/// Appends `rows` parenthesized groups of `per_row` placeholders, numbered from `first`:
/// ($1, $2), ($3, $4), ... On SQLite they are plain `?`: SQLite looks named parameters up by a linear
/// scan, which made binding a long multi-row statement quadratic (it was 65% of the writer's time).
fn push_placeholders(
    sql: &mut String,
    backend: crate::Backend,
    first: usize,
    rows: usize,
    per_row: usize,
) {
    use std::fmt::Write;
    for r in 0..rows {
        sql.push_str(if r == 0 { "(" } else { ", (" });
        for k in 0..per_row {
            let sep = if k == 0 { "" } else { ", " };
            let _ = match backend {
                crate::Backend::Sqlite => write!(sql, "{sep}?"),
                crate::Backend::Postgres => write!(sql, "{sep}${}", first + r * per_row + k),
            };
        }
        sql.push(')');
    }
}

/// An event's visit within a batch: one already stored, or one the batch opens.
#[derive(Debug, Clone)]
enum VisitRef {
    Existing(i64, Arc<Attribution>),
    Opened(usize),
}

/// How a visit began, which every one of its events carries so that reports filter events by
/// source, channel or campaign without joining visits.
#[derive(Debug)]
struct Attribution {
    source: String,
    channel: String,
    campaign: String,
}

/// An open visit the writer remembers.
#[derive(Debug, Clone)]
struct OpenVisit {
    id: i64,
    last_at: i64,
    attribution: Arc<Attribution>,
}

/// A visit a batch opens, complete with the batch's later events before it is written.
struct NewVisit<'a> {
    first: &'a NewEvent,
    last_at: i64,
    exit_path: String,
    pageviews: i64,
    interactions: i64,
    engaged_ms: i64,
}

impl<'a> NewVisit<'a> {
    fn starting_with(e: &'a NewEvent, pageview: bool, interaction: bool) -> NewVisit<'a> {
        NewVisit {
            first: e,
            last_at: e.at,
            exit_path: e.path.clone(),
            pageviews: i64::from(pageview),
            interactions: i64::from(interaction),
            engaged_ms: e.engaged_ms.unwrap_or(0),
        }
    }

    fn add(&mut self, e: &NewEvent, pageview: bool, interaction: bool) {
        if e.at >= self.last_at {
            self.last_at = e.at;
            if pageview {
                self.exit_path = e.path.clone();
            }
        }
        self.pageviews += i64::from(pageview);
        self.interactions += i64::from(interaction);
        self.engaged_ms += e.engaged_ms.unwrap_or(0);
    }
}

/// What a batch adds to a visit that already exists.
#[derive(Debug, Default)]
struct VisitDelta {
    last_at: i64,
    exit_path: Option<String>,
    pageviews: i64,
    interactions: i64,
    engaged_ms: i64,
}

impl VisitDelta {
    fn add(&mut self, e: &NewEvent, pageview: bool, interaction: bool) {
        if e.at >= self.last_at {
            self.last_at = e.at;
            if pageview {
                self.exit_path = Some(e.path.clone());
            }
        }
        self.pageviews += i64::from(pageview);
        self.interactions += i64::from(interaction);
        self.engaged_ms += e.engaged_ms.unwrap_or(0);
    }
}

/// A visit ends after this long without an event.
pub const VISIT_GAP_MS: i64 = 30 * 60 * 1000;

/// The writer's memory of open visits, so most events need no lookup. Several instances stay
/// correct because a miss falls back to the database.
#[derive(Debug, Default)]
pub struct VisitCache {
    open: HashMap<(i64, i64), OpenVisit>,
}

impl VisitCache {
    /// Forgets everything, after a batch failed and its visits were rolled back.
    pub fn clear(&mut self) {
        self.open.clear();
    }

    fn prune(&mut self) {
        if self.open.len() > 50_000 {
            let newest = self
                .open
                .values()
                .map(|v| v.last_at)
                .max()
                .unwrap_or_default();
            self.open.retain(|_, v| newest - v.last_at <= VISIT_GAP_MS);
        }
    }
}

/// A site's domain as typed by a person: "https://www.RiversidePT.com/" → "riversidept.com".
pub fn normalize_domain(input: &str) -> StoreResult<String> {
    let mut d = input.trim().to_ascii_lowercase();
    for prefix in ["https://", "http://"] {
        if let Some(rest) = d.strip_prefix(prefix) {
            d = rest.to_string();
        }
    }
    let d = d.split(['/', '?', '#']).next().unwrap_or_default();
    let d = d.strip_prefix("www.").unwrap_or(d).trim_end_matches('.');
    let valid = d.len() <= 253
        && d.contains('.')
        && d.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        });
    if !valid {
        return Err(StoreError::Invalid(format!(
            "“{}” is not a website domain (for example riversidept.com)",
            input.trim()
        )));
    }
    Ok(d.to_string())
}

fn site_from(row: &AnyRow) -> StoreResult<Site> {
    let params: String = row.try_get("allowed_params")?;
    Ok(Site {
        id: row.try_get("id")?,
        practice_id: row.try_get("practice_id")?,
        domain: row.try_get("domain")?,
        allowed_params: params
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(String::from)
            .collect(),
        honor_dnt: row.try_get::<i64, _>("honor_dnt")? != 0,
    })
}

fn clean_params(params: &[String]) -> StoreResult<String> {
    let mut out = Vec::new();
    for p in params {
        let p = p.trim().to_ascii_lowercase();
        if p.is_empty() {
            continue;
        }
        if p.len() > 40
            || !p
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(StoreError::Invalid(format!(
                "“{p}” is not a query parameter name"
            )));
        }
        if !out.contains(&p) {
            out.push(p);
        }
    }
    Ok(out.join(","))
}

const SITE_COLS: &str = "id, practice_id, domain, allowed_params, honor_dnt";

impl Store {
    pub async fn create_site(
        &self,
        practice_id: i64,
        domain: &str,
        allowed_params: &[String],
        honor_dnt: bool,
    ) -> StoreResult<Site> {
        let domain = normalize_domain(domain)?;
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO sites (practice_id, domain, allowed_params, honor_dnt, created_at) VALUES ($1, $2, $3, $4, $5) \
             RETURNING {SITE_COLS}"
        )))
        .bind(practice_id)
        .bind(domain.clone())
        .bind(clean_params(allowed_params)?)
        .bind(i64::from(honor_dnt))
        .bind(now_ms())
        .fetch_one(self.pool())
        .await
        .map_err(|e| StoreError::on_unique(e, format!("{domain} is already registered in Stride")))?;
        site_from(&row)
    }

    pub async fn update_site(
        &self,
        practice_id: i64,
        id: i64,
        allowed_params: &[String],
        honor_dnt: bool,
    ) -> StoreResult<Site> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE sites SET allowed_params = $1, honor_dnt = $2 WHERE id = $3 AND practice_id = $4 RETURNING {SITE_COLS}"
        )))
        .bind(clean_params(allowed_params)?)
        .bind(i64::from(honor_dnt))
        .bind(id)
        .bind(practice_id)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        site_from(&row)
    }

    pub async fn sites(&self, practice_id: i64) -> StoreResult<Vec<Site>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {SITE_COLS} FROM sites WHERE practice_id = $1 ORDER BY domain"
        )))
        .bind(practice_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(site_from).collect()
    }

    pub async fn site(&self, practice_id: i64, id: i64) -> StoreResult<Site> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {SITE_COLS} FROM sites WHERE id = $1 AND practice_id = $2"
        )))
        .bind(id)
        .bind(practice_id)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        site_from(&row)
    }

    /// For the intake, which serves every practice: the site a tracker names in `d`.
    pub async fn site_by_domain(&self, domain: &str) -> StoreResult<Option<Site>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {SITE_COLS} FROM sites WHERE domain = $1"
        )))
        .bind(domain.to_string())
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(site_from).transpose()
    }

    /// The visitor salt of a local day ("2026-11-23"), created on first use and shared by every
    /// instance through the database. Salts older than two days are deleted here.
    pub async fn visitor_salt(&self, day: &str) -> StoreResult<[u8; 32]> {
        const AAD: &[u8] = b"visitor_salts.salt";
        let mut fresh = [0u8; 32];
        getrandom::fill(&mut fresh)
            .map_err(|e| StoreError::Invalid(format!("no randomness: {e}")))?;
        sqlx::query("INSERT INTO visitor_salts (day, salt_enc, created_at) VALUES ($1, $2, $3) ON CONFLICT (day) DO NOTHING")
            .bind(day.to_string())
            .bind(self.keys().encrypt(&fresh, AAD))
            .bind(now_ms())
            .execute(self.pool())
            .await?;
        self.delete_old_visitor_salts().await?;
        let blob: Vec<u8> = sqlx::query("SELECT salt_enc FROM visitor_salts WHERE day = $1")
            .bind(day.to_string())
            .fetch_one(self.pool())
            .await?
            .try_get("salt_enc")?;
        let salt = self.keys().decrypt(&blob, AAD)?;
        salt.try_into()
            .map_err(|_| StoreError::Invalid("a stored visitor salt has the wrong length".into()))
    }

    /// Deletes visitor salts created over 48 hours ago, so a visitor id can never be linked to
    /// the day before yesterday. Run when a day's salt is created and every minute by the server.
    pub async fn delete_old_visitor_salts(&self) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM visitor_salts WHERE created_at < $1")
            .bind(now_ms() - 48 * 3600 * 1000)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected())
    }

    /// Writes a batch of events in one transaction (all of them or none), each joined to its visit:
    /// the visitor's open visit (no gap over 30 minutes) or a new one attributed to this event. An
    /// engagement event never opens a visit on its own; without one it is dropped. Existing visits
    /// get one UPDATE each per batch and events go in as multi-row INSERTs, so a batch costs a few
    /// statements per visit rather than several per event.
    pub async fn insert_events(
        &self,
        events: &[NewEvent],
        visits: &mut VisitCache,
    ) -> StoreResult<()> {
        if events.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin().await?;
        // A few queries find the open visits of the visitors the cache does not know, per site, as
        // `site_id = ? AND visitor_id IN (...)` so PostgreSQL searches its index for each id (a list
        // of (site, visitor) pairs made it scan all of a site's visits).
        let mut unknown: std::collections::BTreeMap<i64, Vec<(i64, i64)>> = Default::default();
        for e in events {
            if !visits.open.contains_key(&(e.site_id, e.visitor_id)) {
                unknown
                    .entry(e.site_id)
                    .or_default()
                    .push((e.visitor_id, e.at));
            }
        }
        for (site_id, mut visitors) in unknown {
            visitors.sort_unstable();
            visitors.dedup_by_key(|v| v.0);
            for chunk in visitors.chunks(64) {
                let earliest = chunk.iter().map(|v| v.1).min().unwrap_or_default() - VISIT_GAP_MS;
                let mut sql = String::from(match self.backend() {
                    crate::Backend::Sqlite => {
                        "SELECT id, site_id, visitor_id, last_at, source, channel, campaign FROM visits WHERE site_id = ? \
                         AND last_at >= ? \
                         AND visitor_id IN ("
                    }
                    crate::Backend::Postgres => {
                        "SELECT id, site_id, visitor_id, last_at, source, channel, campaign FROM visits WHERE site_id = $1 \
                         AND last_at >= $2 \
                         AND visitor_id IN ("
                    }
                });
                push_placeholders(&mut sql, self.backend(), 3, chunk.len(), 1);
                sql.push_str(") ORDER BY last_at");
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(site_id)
                    .bind(earliest);
                for v in chunk {
                    q = q.bind(v.0);
                }
                for r in q.fetch_all(&mut *tx).await? {
                    // Ordered by last_at, so the newest visit of a visitor wins.
                    visits.open.insert(
                        (r.try_get("site_id")?, r.try_get("visitor_id")?),
                        OpenVisit {
                            id: r.try_get("id")?,
                            last_at: r.try_get("last_at")?,
                            attribution: Arc::new(Attribution {
                                source: r.try_get("source")?,
                                channel: r.try_get("channel")?,
                                campaign: r.try_get("campaign")?,
                            }),
                        },
                    );
                }
            }
        }
        // Resolve every event to an existing visit (by id) or a visit this batch opens (by index
        // into `opened`), building each new visit completely in memory first.
        let mut deltas: HashMap<i64, VisitDelta> = HashMap::new();
        let mut opened: Vec<NewVisit> = Vec::new();
        let mut pending: HashMap<(i64, i64), usize> = HashMap::new();
        let mut resolved: Vec<(&NewEvent, VisitRef)> = Vec::with_capacity(events.len());
        for e in events {
            let key = (e.site_id, e.visitor_id);
            let pageview = e.name == "pageview";
            let interaction = e.interactive && !pageview && e.name != "engagement";
            if let Some(&n) = pending.get(&key) {
                if e.at - opened[n].last_at <= VISIT_GAP_MS {
                    opened[n].add(e, pageview, interaction);
                    resolved.push((e, VisitRef::Opened(n)));
                    continue;
                }
            } else if let Some(open) = visits.open.get_mut(&key)
                && e.at - open.last_at <= VISIT_GAP_MS
            {
                deltas
                    .entry(open.id)
                    .or_default()
                    .add(e, pageview, interaction);
                open.last_at = open.last_at.max(e.at);
                resolved.push((e, VisitRef::Existing(open.id, open.attribution.clone())));
                continue;
            }
            if e.name == "engagement" {
                continue;
            }
            pending.insert(key, opened.len());
            resolved.push((e, VisitRef::Opened(opened.len())));
            opened.push(NewVisit::starting_with(e, pageview, interaction));
        }
        // Existing visits are updated 64 at a time from a VALUES list (UPDATE ... FROM, in both
        // databases) rather than with one statement each.
        let deltas: Vec<(&i64, &VisitDelta)> = deltas.iter().collect();
        for chunk in deltas.chunks(64) {
            let mut sql = String::from(
                "UPDATE visits SET last_at = CASE WHEN visits.last_at > d.column2 THEN visits.last_at ELSE d.column2 END, \
                 exit_path = COALESCE(d.column3, visits.exit_path), pageviews = visits.pageviews + d.column4, \
                 interactions = visits.interactions + d.column5, engaged_ms = visits.engaged_ms + d.column6 FROM (VALUES ",
            );
            push_placeholders(&mut sql, self.backend(), 1, chunk.len(), 6);
            sql.push_str(") AS d WHERE visits.id = d.column1");
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (id, d) in chunk {
                q = q
                    .bind(**id)
                    .bind(d.last_at)
                    .bind(d.exit_path.as_deref())
                    .bind(d.pageviews)
                    .bind(d.interactions)
                    .bind(d.engaged_ms);
            }
            q.execute(&mut *tx).await?;
        }
        // New visits go in as multi-row INSERTs; RETURNING names each row by site, visitor and start,
        // since the order of returned rows is not promised.
        let mut opened_ids = vec![0i64; opened.len()];
        for (c, chunk) in opened.chunks(VISIT_INSERT_ROWS).enumerate() {
            let mut sql = String::from(
                "INSERT INTO visits (site_id, practice_id, visitor_id, started_at, last_at, entry_path, exit_path, \
                 pageviews, interactions, engaged_ms, referrer_host, source, channel, campaign, device, browser, os) VALUES ",
            );
            push_placeholders(&mut sql, self.backend(), 1, chunk.len(), 17);
            sql.push_str(" RETURNING id, site_id, visitor_id, started_at");
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for v in chunk {
                let e = v.first;
                q = q
                    .bind(e.site_id)
                    .bind(e.practice_id)
                    .bind(e.visitor_id)
                    .bind(e.at)
                    .bind(v.last_at)
                    .bind(e.path.as_str())
                    .bind(v.exit_path.as_str())
                    .bind(v.pageviews)
                    .bind(v.interactions)
                    .bind(v.engaged_ms)
                    .bind(e.referrer_host.as_str())
                    .bind(e.source.as_str())
                    .bind(e.channel.as_str())
                    .bind(e.campaign.as_str())
                    .bind(e.device.as_str())
                    .bind(e.browser.as_str())
                    .bind(e.os.as_str());
            }
            let base = c * VISIT_INSERT_ROWS;
            let by_start: HashMap<(i64, i64, i64), usize> = chunk
                .iter()
                .enumerate()
                .map(|(i, v)| ((v.first.site_id, v.first.visitor_id, v.first.at), base + i))
                .collect();
            for r in q.fetch_all(&mut *tx).await? {
                let key = (
                    r.try_get("site_id")?,
                    r.try_get("visitor_id")?,
                    r.try_get("started_at")?,
                );
                if let Some(&n) = by_start.get(&key) {
                    opened_ids[n] = r.try_get("id")?;
                }
            }
        }
        let opened_attribution: Vec<Arc<Attribution>> = opened
            .iter()
            .map(|v| {
                Arc::new(Attribution {
                    source: v.first.source.clone(),
                    channel: v.first.channel.clone(),
                    campaign: v.first.campaign.clone(),
                })
            })
            .collect();
        for (n, v) in opened.iter().enumerate() {
            visits.open.insert(
                (v.first.site_id, v.first.visitor_id),
                OpenVisit {
                    id: opened_ids[n],
                    last_at: v.last_at,
                    attribution: opened_attribution[n].clone(),
                },
            );
        }
        // Every event carries its visit's attribution (see `Attribution`).
        let rows: Vec<(&NewEvent, i64, &Attribution)> = resolved
            .iter()
            .map(|(e, r)| match r {
                VisitRef::Existing(id, a) => (*e, *id, &**a),
                VisitRef::Opened(n) => (*e, opened_ids[*n], &*opened_attribution[*n]),
            })
            .collect();
        for chunk in rows.chunks(EVENT_INSERT_ROWS) {
            let mut sql = String::from(
                "INSERT INTO events (site_id, practice_id, at, visitor_id, name, path, query, referrer_host, source, \
                 channel, campaign, device, browser, os, props, revenue_cents, scroll_depth, engaged_ms, interactive, \
                 visit_id) VALUES ",
            );
            push_placeholders(&mut sql, self.backend(), 1, chunk.len(), 20);
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (e, visit_id, a) in chunk {
                q = q
                    .bind(e.site_id)
                    .bind(e.practice_id)
                    .bind(e.at)
                    .bind(e.visitor_id)
                    .bind(e.name.as_str())
                    .bind(e.path.as_str())
                    .bind(e.query.as_str())
                    .bind(e.referrer_host.as_str())
                    .bind(a.source.as_str())
                    .bind(a.channel.as_str())
                    .bind(a.campaign.as_str())
                    .bind(e.device.as_str())
                    .bind(e.browser.as_str())
                    .bind(e.os.as_str())
                    .bind(e.props.as_str())
                    .bind(e.revenue_cents)
                    .bind(e.scroll_depth)
                    .bind(e.engaged_ms)
                    .bind(i64::from(e.interactive))
                    .bind(*visit_id);
            }
            q.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        visits.prune();
        Ok(())
    }

    /// Counts events intake refused or filtered (bots, unknown sites, a full queue, ...).
    pub async fn count_dropped(
        &self,
        day: &str,
        site_id: Option<i64>,
        reason: &str,
        n: i64,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO event_drops (day, site_id, reason, n) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (day, site_id, reason) DO UPDATE SET n = event_drops.n + excluded.n",
        )
        .bind(day.to_string())
        .bind(site_id.unwrap_or(0))
        .bind(reason.to_string())
        .bind(n)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Drop counts by reason for a site (0 for drops that named no known site).
    pub async fn dropped(&self, site_id: i64) -> StoreResult<Vec<(String, i64)>> {
        let rows = sqlx::query("SELECT reason, CAST(SUM(n) AS BIGINT) AS n FROM event_drops WHERE site_id = $1 GROUP BY reason ORDER BY reason")
            .bind(site_id)
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("reason")?, r.try_get("n")?)))
            .collect()
    }

    /// A visitor's visits to a site that were active at or after `since`, oldest first: where a
    /// lead's first and last touch come from.
    pub async fn visitor_visits(
        &self,
        site_id: i64,
        visitor_id: i64,
        since: i64,
    ) -> StoreResult<Vec<VisitTouch>> {
        sqlx::query(
            "SELECT id, started_at, last_at, source, channel, campaign, entry_path, exit_path, device, browser, os \
             FROM visits WHERE site_id = $1 AND visitor_id = $2 AND last_at >= $3 ORDER BY started_at, id",
        )
        .bind(site_id)
        .bind(visitor_id)
        .bind(since)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(read_visit_touch)
        .collect()
    }

    /// A visit of a practice's site with its site and visitor, to add an event to it (a tracked call).
    pub async fn visit_by_id(
        &self,
        practice_id: i64,
        visit_id: i64,
    ) -> StoreResult<Option<(i64, i64, VisitTouch)>> {
        let Some(r) = sqlx::query(
            "SELECT v.id, v.site_id, v.visitor_id, v.started_at, v.last_at, v.source, v.channel, v.campaign, \
             v.entry_path, v.exit_path, v.device, v.browser, v.os FROM visits v JOIN sites s ON s.id = v.site_id \
             WHERE v.id = $1 AND s.practice_id = $2",
        )
        .bind(visit_id)
        .bind(practice_id)
        .fetch_optional(self.pool())
        .await?
        else {
            return Ok(None);
        };
        Ok(Some((
            r.try_get("site_id")?,
            r.try_get("visitor_id")?,
            read_visit_touch(&r)?,
        )))
    }

    /// The names of the events a site has received since `since` (ms), pageviews included, in
    /// alphabetical order: what event goals and funnel steps can count. Found by a walk along
    /// the (site, name, at) index, one step per name, so a site's millions of events are not read.
    pub async fn event_names_since(
        &self,
        practice_id: i64,
        site_id: i64,
        since: i64,
    ) -> StoreResult<Vec<String>> {
        self.site(practice_id, site_id).await?;
        let names: Vec<String> = sqlx::query_scalar(
            "WITH RECURSIVE n(name) AS ( \
               SELECT MIN(name) FROM events WHERE site_id = $1 \
               UNION ALL \
               SELECT (SELECT MIN(e.name) FROM events e WHERE e.site_id = $1 AND e.name > n.name) \
               FROM n WHERE n.name IS NOT NULL) \
             SELECT name FROM n WHERE name IS NOT NULL LIMIT 500",
        )
        .bind(site_id)
        .fetch_all(self.pool())
        .await?;
        let mut recent = Vec::with_capacity(names.len());
        for name in names {
            let seen: Option<i64> = sqlx::query_scalar(
                "SELECT at FROM events WHERE site_id = $1 AND name = $2 AND at >= $3 LIMIT 1",
            )
            .bind(site_id)
            .bind(&name)
            .bind(since)
            .fetch_optional(self.pool())
            .await?;
            if seen.is_some() {
                recent.push(name);
            }
        }
        Ok(recent)
    }

    /// The newest events of a site by when they happened, for the live view and tests.
    pub async fn recent_events(
        &self,
        practice_id: i64,
        site_id: i64,
        limit: i64,
    ) -> StoreResult<Vec<RecordedEvent>> {
        let rows = sqlx::query(
            "SELECT at, visitor_id, name, path, query, source, channel, campaign, device, browser, os, props, scroll_depth, \
             engaged_ms FROM events WHERE site_id = $1 AND practice_id = $2 ORDER BY at DESC, id DESC LIMIT $3",
        )
        .bind(site_id)
        .bind(practice_id)
        .bind(limit.clamp(1, 1000))
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(RecordedEvent {
                    at: r.try_get("at")?,
                    visitor_id: r.try_get("visitor_id")?,
                    name: r.try_get("name")?,
                    path: r.try_get("path")?,
                    query: r.try_get("query")?,
                    source: r.try_get("source")?,
                    channel: r.try_get("channel")?,
                    campaign: r.try_get("campaign")?,
                    device: r.try_get("device")?,
                    browser: r.try_get("browser")?,
                    os: r.try_get("os")?,
                    props: r.try_get("props")?,
                    scroll_depth: r.try_get("scroll_depth")?,
                    engaged_ms: r.try_get("engaged_ms")?,
                })
            })
            .collect()
    }
}

fn read_visit_touch(r: &sqlx::any::AnyRow) -> StoreResult<VisitTouch> {
    Ok(VisitTouch {
        id: r.try_get("id")?,
        started_at: r.try_get("started_at")?,
        last_at: r.try_get("last_at")?,
        source: r.try_get("source")?,
        channel: r.try_get("channel")?,
        campaign: r.try_get("campaign")?,
        entry_path: r.try_get("entry_path")?,
        exit_path: r.try_get("exit_path")?,
        device: r.try_get("device")?,
        browser: r.try_get("browser")?,
        os: r.try_get("os")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_for_postgres_and_anonymous_for_sqlite() {
        let mut pg = String::new();
        push_placeholders(&mut pg, crate::Backend::Postgres, 2, 2, 3);
        assert_eq!(pg, "($2, $3, $4), ($5, $6, $7)");
        let mut lite = String::new();
        push_placeholders(&mut lite, crate::Backend::Sqlite, 2, 2, 3);
        assert_eq!(lite, "(?, ?, ?), (?, ?, ?)");
    }

    #[test]
    fn domains_are_normalized_and_checked() {
        assert_eq!(
            normalize_domain(" https://www.RiversidePT.com/book?x=1 ").unwrap(),
            "riversidept.com"
        );
        for bad in [
            "",
            "localhost",
            "not a domain",
            "-bad.com",
            "a..com",
            "javascript:alert(1)",
        ] {
            assert!(normalize_domain(bad).is_err(), "{bad}");
        }
    }
}
