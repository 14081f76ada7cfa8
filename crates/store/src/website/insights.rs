//! Beyond visits and goals: heatmaps (click maps, dead and rage clicks, scroll depth, forms),
//! funnels, and condition pages ranked by the leads they bring.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};
use sqlx::Row;
use stride_core::website::agents::Device;
use stride_core::website::insights::{
    dead_click_advice, funnel_counts, funnel_reached, path_matches, scroll_quarters,
};

use super::query::{Sql, like_pattern};
use super::reports::{GoalCategory, GoalKind, Scope, goal_condition};
use crate::error::{StoreError, StoreResult};
use crate::{Store, now_ms};

/// Most steps a funnel may have.
pub const MAX_FUNNEL_STEPS: usize = 8;
/// Most clicks drawn on one click map (the newest).
pub const MAX_MAP_POINTS: i64 = 5_000;

#[derive(Debug, Clone, Serialize)]
pub struct Heatmap {
    pub id: i64,
    pub site_id: i64,
    /// The pages recorded, `*` standing for anything.
    pub pattern: String,
    /// The CSS selector of the page's main call to action, or empty.
    pub cta_selector: String,
    /// Stopped: no longer recording; its clicks stay viewable until it is resumed.
    pub stopped: bool,
}

/// One click as the click script reports it, already cleaned by the intake.
#[derive(Debug, Clone)]
pub struct NewClick {
    pub site_id: i64,
    pub practice_id: i64,
    pub at: i64,
    pub path: String,
    /// "mobile", "tablet" or "desktop", from the viewport width.
    pub width_class: String,
    /// Permille of the page's width.
    pub x: i64,
    /// Pixels from the top of the page.
    pub y: i64,
    pub page_h: i64,
    pub selector: String,
    pub tag: String,
    pub label: String,
    pub interactive: bool,
    /// "click", "dead" or "rage".
    pub kind: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ClickPoint {
    pub x: i64,
    pub y: i64,
    pub page_h: i64,
    pub kind: String,
}

/// Clicks on one element, most clicked first, with what to do about them for dead clicks.
#[derive(Debug, Clone, Serialize)]
pub struct ElementClicks {
    pub selector: String,
    pub tag: String,
    pub label: String,
    pub clicks: i64,
    pub advice: Option<&'static str>,
    /// Where its clicks land on average (permille of the width, pixels from the top).
    pub x: i64,
    pub y: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ScrollDepth {
    /// Visitors whose time on the page was measured.
    pub visitors: i64,
    /// How many of them reached 25, 50, 75 and 100 percent of the page.
    pub quarters: [i64; 4],
    /// Where the main call to action sits on this device class, in percent of the page's height, as
    /// last reported.
    pub cta_depth: Option<i64>,
    /// How many reached the main call to action, when its depth is known.
    pub reached_cta: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FormStats {
    pub form: String,
    /// Visitors who started filling the form in, and who submitted it.
    pub started: i64,
    pub submitted: i64,
    /// Share of starters who did not submit, in percent.
    pub abandonment: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct HeatmapReport {
    pub heatmap: Heatmap,
    pub device: String,
    pub clicks: i64,
    pub points: Vec<ClickPoint>,
    pub dead: Vec<ElementClicks>,
    pub rage: Vec<ElementClicks>,
    pub top: Vec<ElementClicks>,
    pub scroll: ScrollDepth,
    pub forms: Vec<FormStats>,
    /// The page of the heatmap's pattern with the most of these clicks, to show behind the map.
    pub page_path: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FunnelStep {
    pub kind: GoalKind,
    /// The event name, or the page pattern.
    pub pattern: String,
}

impl FunnelStep {
    /// The step in words: "Home page", "Page /insurance", "Pages /services/*" (a pattern),
    /// "Event “Appointment Request”".
    pub fn label(&self) -> String {
        match self.kind {
            GoalKind::Event => format!("Event “{}”", self.pattern),
            GoalKind::Page if self.pattern == "/" => "Home page".into(),
            GoalKind::Page if self.pattern.contains('*') => format!("Pages {}", self.pattern),
            GoalKind::Page => format!("Page {}", self.pattern),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Funnel {
    pub id: i64,
    pub site_id: i64,
    pub name: String,
    pub steps: Vec<FunnelStep>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FunnelStepResult {
    pub label: String,
    pub visits: i64,
    /// Share of the previous step's visits lost before this one, in percent.
    pub dropoff: Option<f64>,
    /// Share of the first step's visits that got here, in percent.
    pub of_first: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ConditionPage {
    pub id: i64,
    pub site_id: i64,
    pub condition: String,
    pub pattern: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ConditionResult {
    pub condition: String,
    pub patterns: Vec<String>,
    pub visitors: i64,
    /// Visits that read one of the condition's pages and completed a lead action.
    pub leads: i64,
    pub lead_rate: Option<f64>,
}

/// A funnel's steps with their visits, drop-off and share of the first step.
pub(crate) fn funnel_steps(funnel: &Funnel, counts: &[u64]) -> Vec<FunnelStepResult> {
    let first = counts.first().copied().unwrap_or(0) as i64;
    funnel
        .steps
        .iter()
        .zip(counts)
        .enumerate()
        .map(|(i, (step, &n))| FunnelStepResult {
            label: step.label(),
            visits: n as i64,
            dropoff: (i > 0)
                .then(|| pct(counts[i - 1] as i64 - n as i64, counts[i - 1] as i64))
                .flatten(),
            of_first: pct(n as i64, first),
        })
        .collect()
}

/// Most leads first, then most visitors, then by name.
pub(crate) fn sort_conditions(list: &mut [ConditionResult]) {
    list.sort_by(|a, b| {
        b.leads
            .cmp(&a.leads)
            .then(b.visitors.cmp(&a.visitors))
            .then(a.condition.cmp(&b.condition))
    });
}

fn pct(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| part as f64 * 100.0 / whole as f64)
}

fn group_conditions(pages: Vec<ConditionPage>) -> Vec<(String, Vec<String>)> {
    let mut by_condition: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for p in pages {
        by_condition.entry(p.condition).or_default().push(p.pattern);
    }
    by_condition.into_iter().collect()
}

fn check_pattern(pattern: &str) -> StoreResult<String> {
    let pattern = pattern.trim();
    if !pattern.starts_with('/') || pattern.chars().count() > 200 {
        return Err(StoreError::Invalid(
            "a page pattern is a path starting with /, e.g. /conditions/sciatica*".into(),
        ));
    }
    Ok(pattern.to_string())
}

fn heatmap_from(r: &sqlx::any::AnyRow) -> StoreResult<Heatmap> {
    Ok(Heatmap {
        id: r.try_get("id")?,
        site_id: r.try_get("site_id")?,
        pattern: r.try_get("pattern")?,
        cta_selector: r.try_get("cta_selector")?,
        stopped: r.try_get::<Option<i64>, _>("stopped_at")?.is_some(),
    })
}

fn funnel_from(r: &sqlx::any::AnyRow) -> StoreResult<Funnel> {
    let steps: String = r.try_get("steps")?;
    Ok(Funnel {
        id: r.try_get("id")?,
        site_id: r.try_get("site_id")?,
        name: r.try_get("name")?,
        steps: serde_json::from_str(&steps)
            .map_err(|e| StoreError::Invalid(format!("a stored funnel is unreadable: {e}")))?,
    })
}

impl Store {
    // ---- Heatmaps -------------------------------------------------------------------------

    pub async fn create_heatmap(
        &self,
        practice_id: i64,
        site_id: i64,
        pattern: &str,
        cta_selector: &str,
    ) -> StoreResult<Heatmap> {
        self.site(practice_id, site_id).await?;
        let pattern = check_pattern(pattern)?;
        let cta = cta_selector.trim();
        if cta.chars().count() > 200 {
            return Err(StoreError::Invalid(
                "the call to action's selector is at most 200 characters".into(),
            ));
        }
        // Adding a stopped page again resumes it, with this call to action.
        let row = sqlx::query(
            "INSERT INTO heatmaps (site_id, practice_id, pattern, cta_selector, created_at) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (site_id, pattern) DO UPDATE SET cta_selector = excluded.cta_selector, stopped_at = NULL \
             WHERE heatmaps.stopped_at IS NOT NULL \
             RETURNING id, site_id, pattern, cta_selector, stopped_at",
        )
        .bind(site_id)
        .bind(practice_id)
        .bind(pattern.clone())
        .bind(cta.to_string())
        .bind(now_ms())
        .fetch_optional(self.pool())
        .await?
        .ok_or_else(|| StoreError::Conflict(format!("{pattern} is already recording")))?;
        heatmap_from(&row)
    }

    /// A site's heatmaps, those recording first.
    pub async fn heatmaps(&self, practice_id: i64, site_id: i64) -> StoreResult<Vec<Heatmap>> {
        let rows = sqlx::query(
            "SELECT id, site_id, pattern, cta_selector, stopped_at FROM heatmaps \
             WHERE site_id = $1 AND practice_id = $2 ORDER BY stopped_at IS NOT NULL, pattern",
        )
        .bind(site_id)
        .bind(practice_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(heatmap_from).collect()
    }

    pub async fn heatmap(&self, practice_id: i64, id: i64) -> StoreResult<Heatmap> {
        let row = sqlx::query(
            "SELECT id, site_id, pattern, cta_selector, stopped_at FROM heatmaps WHERE id = $1 AND practice_id = $2",
        )
        .bind(id)
        .bind(practice_id)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        heatmap_from(&row)
    }

    /// Stops recording (or, with `stopped` false, starts again). The clicks already recorded stay,
    /// and so does the heatmap, so they can still be viewed.
    pub async fn set_heatmap_stopped(
        &self,
        practice_id: i64,
        id: i64,
        stopped: bool,
    ) -> StoreResult<()> {
        let done =
            sqlx::query("UPDATE heatmaps SET stopped_at = $3 WHERE id = $1 AND practice_id = $2")
                .bind(id)
                .bind(practice_id)
                .bind(stopped.then(now_ms))
                .execute(self.pool())
                .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Every recording page of a site, for the tracker: (pattern, call-to-action selector).
    pub async fn heatmap_config(&self, site_id: i64) -> StoreResult<Vec<(String, String)>> {
        let rows = sqlx::query(
            "SELECT pattern, cta_selector FROM heatmaps WHERE site_id = $1 AND stopped_at IS NULL ORDER BY id",
        )
        .bind(site_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("pattern")?, r.try_get("cta_selector")?)))
            .collect()
    }

    /// Records where the call to action sits on a page of the site (percent of the page height) for
    /// a device class.
    pub async fn report_cta_depth(
        &self,
        site_id: i64,
        path: &str,
        device: Device,
        depth: i64,
    ) -> StoreResult<()> {
        let rows = sqlx::query(
            "SELECT id, pattern FROM heatmaps WHERE site_id = $1 AND stopped_at IS NULL",
        )
        .bind(site_id)
        .fetch_all(self.pool())
        .await?;
        for r in rows {
            let pattern: String = r.try_get("pattern")?;
            if path_matches(&pattern, path) {
                sqlx::query(
                    "INSERT INTO heatmap_cta (heatmap_id, device, depth) VALUES ($1, $2, $3) \
                     ON CONFLICT (heatmap_id, device) DO UPDATE SET depth = excluded.depth",
                )
                .bind(r.try_get::<i64, _>("id")?)
                .bind(device.as_str())
                .bind(depth.clamp(0, 100))
                .execute(self.pool())
                .await?;
            }
        }
        Ok(())
    }

    /// Stores clicks in one transaction, as multi-row INSERTs.
    pub async fn insert_clicks(&self, clicks: &[NewClick]) -> StoreResult<()> {
        if clicks.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin().await?;
        for chunk in clicks.chunks(64) {
            let mut sql = String::from(
                "INSERT INTO clicks (site_id, practice_id, at, path, width_class, x, y, page_h, selector, tag, \
                 label, interactive, kind) VALUES ",
            );
            super::push_placeholders(&mut sql, self.backend(), 1, chunk.len(), 13);
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for c in chunk {
                q = q
                    .bind(c.site_id)
                    .bind(c.practice_id)
                    .bind(c.at)
                    .bind(c.path.clone())
                    .bind(c.width_class.clone())
                    .bind(c.x)
                    .bind(c.y)
                    .bind(c.page_h)
                    .bind(c.selector.clone())
                    .bind(c.tag.clone())
                    .bind(c.label.clone())
                    .bind(i64::from(c.interactive))
                    .bind(c.kind.clone());
            }
            q.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// A heatmap's click map, dead and rage clicks by element, scroll depth and forms, for one
    /// device class ("mobile", "tablet", "desktop") over the scope's range. Filters other than
    /// the range do not apply: clicks are not tied to visits.
    pub async fn heatmap_report(
        &self,
        scope: &Scope,
        heatmap_id: i64,
        device: &str,
    ) -> StoreResult<HeatmapReport> {
        let heatmap = self.heatmap(scope.practice_id, heatmap_id).await?;
        if heatmap.site_id != scope.site_id {
            return Err(StoreError::NotFound);
        }
        let like = like_pattern(&heatmap.pattern);
        let clicks_where = |sql: &mut Sql| {
            sql.push(" FROM clicks WHERE site_id = ")
                .int(scope.site_id)
                .push(" AND practice_id = ")
                .int(scope.practice_id)
                .push(" AND at >= ")
                .int(scope.range.from)
                .push(" AND at < ")
                .int(scope.range.to)
                .push(" AND path LIKE ")
                .text(&like)
                .push(" ESCAPE '\\' AND width_class = ")
                .text(device);
        };
        let mut sql = Sql::new("SELECT x, y, page_h, kind");
        clicks_where(&mut sql);
        sql.push(" ORDER BY at DESC LIMIT ").int(MAX_MAP_POINTS);
        let points = sql
            .fetch_all(self)
            .await?
            .iter()
            .map(|r| {
                Ok(ClickPoint {
                    x: r.try_get("x")?,
                    y: r.try_get("y")?,
                    page_h: r.try_get("page_h")?,
                    kind: r.try_get("kind")?,
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        let mut sql = Sql::new("SELECT COUNT(*) AS n");
        clicks_where(&mut sql);
        sql.push(" AND kind <> 'rage'");
        let clicks: i64 = sql.fetch_one(self).await?.try_get("n")?;
        let by_element = |kind: &'static str| {
            let mut sql = Sql::new(
                "SELECT selector, MAX(tag) AS tag, MAX(label) AS label, COUNT(*) AS n, \
                          CAST(AVG(x) AS BIGINT) AS ax, CAST(AVG(y) AS BIGINT) AS ay",
            );
            clicks_where(&mut sql);
            sql.push(" AND kind = ")
                .text(kind)
                .push(" GROUP BY selector ORDER BY n DESC, selector LIMIT 10");
            async move {
                sql.fetch_all(self)
                    .await?
                    .iter()
                    .map(|r| {
                        let tag: String = r.try_get("tag")?;
                        let label: String = r.try_get("label")?;
                        Ok(ElementClicks {
                            selector: r.try_get("selector")?,
                            advice: (kind == "dead").then(|| dead_click_advice(&tag, &label)),
                            tag,
                            label,
                            clicks: r.try_get("n")?,
                            x: r.try_get("ax")?,
                            y: r.try_get("ay")?,
                        })
                    })
                    .collect::<StoreResult<Vec<_>>>()
            }
        };
        let dead = by_element("dead").await?;
        let rage = by_element("rage").await?;
        let top = by_element("click").await?;
        let mut sql = Sql::new("SELECT path, COUNT(*) AS n");
        clicks_where(&mut sql);
        sql.push(" GROUP BY path ORDER BY n DESC, path LIMIT 1");
        let page_path = sql
            .fetch_all(self)
            .await?
            .first()
            .map(|r| r.try_get::<String, _>("path"))
            .transpose()?;
        let scroll = self.scroll_depth(scope, &heatmap, device).await?;
        let forms = self.form_stats(scope, &heatmap.pattern, device).await?;
        Ok(HeatmapReport {
            device: device.to_string(),
            clicks,
            points,
            dead,
            rage,
            top,
            scroll,
            forms,
            page_path,
            heatmap,
        })
    }

    /// How far down the heatmap's pages visitors on a device class scrolled, from their engagement
    /// events.
    async fn scroll_depth(
        &self,
        scope: &Scope,
        heatmap: &Heatmap,
        device: &str,
    ) -> StoreResult<ScrollDepth> {
        let cta_depth: Option<i64> =
            sqlx::query("SELECT depth FROM heatmap_cta WHERE heatmap_id = $1 AND device = $2")
                .bind(heatmap.id)
                .bind(device.to_string())
                .fetch_optional(self.pool())
                .await?
                .map(|r| r.try_get("depth"))
                .transpose()?;
        let mut sql = Sql::new("SELECT visitor_id, MAX(scroll_depth) AS depth");
        scope.events_where(&mut sql);
        sql.push(" AND name = 'engagement' AND scroll_depth IS NOT NULL AND device = ")
            .text(device)
            .push(" AND path LIKE ")
            .text(&like_pattern(&heatmap.pattern))
            .push(" ESCAPE '\\' GROUP BY visitor_id");
        let depths: Vec<i64> = sql
            .fetch_all(self)
            .await?
            .iter()
            .map(|r| r.try_get::<i64, _>("depth"))
            .collect::<Result<_, _>>()?;
        let q = scroll_quarters(depths.iter().copied());
        Ok(ScrollDepth {
            visitors: depths.len() as i64,
            quarters: q.map(|n| n as i64),
            cta_depth,
            reached_cta: cta_depth.map(|cta| depths.iter().filter(|d| **d >= cta).count() as i64),
        })
    }

    /// Form starts and submits by form (the tracker's "form" property) on pages of `pattern`, by
    /// visitors on a device class.
    pub async fn form_stats(
        &self,
        scope: &Scope,
        pattern: &str,
        device: &str,
    ) -> StoreResult<Vec<FormStats>> {
        let mut sql = Sql::new("SELECT name, props, visitor_id");
        scope.events_where(&mut sql);
        sql.push(" AND name IN ('Form Start', 'Form Submit') AND device = ")
            .text(device)
            .push(" AND path LIKE ")
            .text(&like_pattern(pattern))
            .push(" ESCAPE '\\'");
        let mut forms: BTreeMap<String, (HashSet<i64>, HashSet<i64>)> = BTreeMap::new();
        for r in sql.fetch_all(self).await? {
            let props: String = r.try_get("props")?;
            let form = serde_json::from_str::<HashMap<String, String>>(&props)
                .ok()
                .and_then(|p| p.get("form").cloned())
                .unwrap_or_else(|| "form".into());
            let entry = forms.entry(form).or_default();
            let visitor: i64 = r.try_get("visitor_id")?;
            if r.try_get::<String, _>("name")? == "Form Start" {
                entry.0.insert(visitor);
            } else {
                entry.1.insert(visitor);
            }
        }
        let mut out: Vec<FormStats> = forms
            .into_iter()
            .map(|(form, (started, submitted))| {
                let started_n = started.len().max(submitted.len()) as i64;
                let submitted_n = submitted.len() as i64;
                FormStats {
                    form,
                    started: started_n,
                    submitted: submitted_n,
                    abandonment: pct(started_n - submitted_n, started_n),
                }
            })
            .collect();
        out.sort_by(|a, b| b.started.cmp(&a.started).then(a.form.cmp(&b.form)));
        Ok(out)
    }

    // ---- Funnels --------------------------------------------------------------------------

    pub async fn create_funnel(
        &self,
        practice_id: i64,
        site_id: i64,
        name: &str,
        steps: &[FunnelStep],
    ) -> StoreResult<Funnel> {
        self.site(practice_id, site_id).await?;
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 120 {
            return Err(StoreError::Invalid(
                "give the funnel a name of up to 120 characters".into(),
            ));
        }
        if !(2..=MAX_FUNNEL_STEPS).contains(&steps.len()) {
            return Err(StoreError::Invalid(format!(
                "a funnel has 2 to {MAX_FUNNEL_STEPS} steps"
            )));
        }
        let mut clean = Vec::with_capacity(steps.len());
        for (i, s) in steps.iter().enumerate() {
            let pattern = match s.kind {
                GoalKind::Page => check_pattern(&s.pattern).map_err(|_| {
                    StoreError::Invalid(format!(
                        "step {}: a page step is a path starting with /, e.g. /book*",
                        i + 1
                    ))
                })?,
                GoalKind::Event => {
                    let p = s.pattern.trim();
                    if p.is_empty() || p.chars().count() > 120 {
                        return Err(StoreError::Invalid(format!(
                            "step {}: name the event, e.g. Appointment Request",
                            i + 1
                        )));
                    }
                    p.to_string()
                }
            };
            clean.push(FunnelStep {
                kind: s.kind,
                pattern,
            });
        }
        let steps_json = serde_json::to_string(&clean)
            .map_err(|e| StoreError::Invalid(format!("cannot store the steps: {e}")))?;
        let row = sqlx::query(
            "INSERT INTO funnels (site_id, practice_id, name, steps, created_at) VALUES ($1, $2, $3, $4, $5) \
             RETURNING id, site_id, name, steps",
        )
        .bind(site_id)
        .bind(practice_id)
        .bind(name.to_string())
        .bind(steps_json)
        .bind(now_ms())
        .fetch_one(self.pool())
        .await
        .map_err(|e| StoreError::on_unique(e, format!("a funnel is already called {name}")))?;
        self.forget_rollups(practice_id).await?;
        funnel_from(&row)
    }

    pub async fn funnels(&self, practice_id: i64, site_id: i64) -> StoreResult<Vec<Funnel>> {
        let rows = sqlx::query(
            "SELECT id, site_id, name, steps FROM funnels WHERE site_id = $1 AND practice_id = $2 ORDER BY name",
        )
        .bind(site_id)
        .bind(practice_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(funnel_from).collect()
    }

    pub async fn funnel(&self, practice_id: i64, id: i64) -> StoreResult<Funnel> {
        let row = sqlx::query(
            "SELECT id, site_id, name, steps FROM funnels WHERE id = $1 AND practice_id = $2",
        )
        .bind(id)
        .bind(practice_id)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        funnel_from(&row)
    }

    pub async fn delete_funnel(&self, practice_id: i64, id: i64) -> StoreResult<()> {
        self.delete_owned("funnels", practice_id, id).await?;
        self.forget_rollups(practice_id).await?;
        Ok(())
    }

    /// Visits that reached each step of a funnel in order, with the drop-off between steps.
    pub async fn funnel_report(
        &self,
        scope: &Scope,
        funnel: &Funnel,
    ) -> StoreResult<Vec<FunnelStepResult>> {
        let steps: Vec<(GoalKind, String)> = funnel
            .steps
            .iter()
            .map(|s| (s.kind, s.pattern.clone()))
            .collect();
        let counts = self.funnel_counts(scope, &steps).await?;
        Ok(funnel_steps(funnel, &counts))
    }

    /// How many visits in scope reached each of `steps` in order.
    pub(crate) async fn funnel_counts(
        &self,
        scope: &Scope,
        steps: &[(GoalKind, String)],
    ) -> StoreResult<Vec<u64>> {
        // Visits that began in the range, all their events (a visit may run past the range's end).
        let mut sql = Sql::new("SELECT visit_id, name, path FROM events WHERE site_id = ");
        sql.int(scope.site_id)
            .push(" AND at >= ")
            .int(scope.range.from)
            .push(" AND at < ")
            .int(scope.range.to + 86_400_000)
            .push(" AND visit_id IN (SELECT id");
        scope.visits_where(&mut sql);
        sql.push(") AND (");
        for (i, (kind, pattern)) in steps.iter().enumerate() {
            if i > 0 {
                sql.push(" OR ");
            }
            goal_condition(&mut sql, *kind, pattern);
        }
        sql.push(") ORDER BY visit_id, at, id");
        let rows = sql.fetch_all(self).await?;
        let mask = |name: &str, path: &str| -> u64 {
            steps
                .iter()
                .enumerate()
                .filter(|(_, (kind, pattern))| match kind {
                    GoalKind::Event => name == pattern,
                    GoalKind::Page => name == "pageview" && path_matches(pattern, path),
                })
                .fold(0, |m, (i, _)| m | (1 << i))
        };
        let mut reached = Vec::new();
        let mut current: Option<i64> = None;
        let mut hits: Vec<u64> = Vec::new();
        for r in &rows {
            let visit: i64 = r.try_get("visit_id")?;
            if current != Some(visit) {
                if current.is_some() {
                    reached.push(funnel_reached(steps.len(), hits.drain(..)));
                }
                current = Some(visit);
            }
            let name: String = r.try_get("name")?;
            let path: String = r.try_get("path")?;
            hits.push(mask(&name, &path));
        }
        if current.is_some() {
            reached.push(funnel_reached(steps.len(), hits.drain(..)));
        }
        Ok(funnel_counts(steps.len(), reached))
    }

    // ---- Condition pages ------------------------------------------------------------------

    pub async fn add_condition_page(
        &self,
        practice_id: i64,
        site_id: i64,
        condition: &str,
        pattern: &str,
    ) -> StoreResult<ConditionPage> {
        self.site(practice_id, site_id).await?;
        let condition = condition.trim();
        if condition.is_empty() || condition.chars().count() > 80 {
            return Err(StoreError::Invalid(
                "name the condition, e.g. Sciatica (up to 80 characters)".into(),
            ));
        }
        let pattern = check_pattern(pattern)?;
        let row = sqlx::query(
            "INSERT INTO condition_pages (site_id, practice_id, condition, pattern, created_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id, site_id, condition, pattern",
        )
        .bind(site_id)
        .bind(practice_id)
        .bind(condition.to_string())
        .bind(pattern.clone())
        .bind(now_ms())
        .fetch_one(self.pool())
        .await
        .map_err(|e| StoreError::on_unique(e, format!("{pattern} is already tagged")))?;
        self.forget_rollups(practice_id).await?;
        Ok(ConditionPage {
            id: row.try_get("id")?,
            site_id: row.try_get("site_id")?,
            condition: row.try_get("condition")?,
            pattern: row.try_get("pattern")?,
        })
    }

    pub async fn condition_pages(
        &self,
        practice_id: i64,
        site_id: i64,
    ) -> StoreResult<Vec<ConditionPage>> {
        let rows = sqlx::query(
            "SELECT id, site_id, condition, pattern FROM condition_pages WHERE site_id = $1 AND practice_id = $2 \
             ORDER BY condition, pattern",
        )
        .bind(site_id)
        .bind(practice_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ConditionPage {
                    id: r.try_get("id")?,
                    site_id: r.try_get("site_id")?,
                    condition: r.try_get("condition")?,
                    pattern: r.try_get("pattern")?,
                })
            })
            .collect()
    }

    pub async fn delete_condition_page(&self, practice_id: i64, id: i64) -> StoreResult<()> {
        self.delete_owned("condition_pages", practice_id, id)
            .await?;
        self.forget_rollups(practice_id).await?;
        Ok(())
    }

    /// Each condition's visitors and the leads (visits with a lead action) that read its pages,
    /// most leads first.
    pub async fn condition_results(&self, scope: &Scope) -> StoreResult<Vec<ConditionResult>> {
        let pages = self
            .condition_pages(scope.practice_id, scope.site_id)
            .await?;
        let lead_goals: Vec<_> = self
            .goals(scope.practice_id, scope.site_id)
            .await?
            .into_iter()
            .filter(|g| g.category == GoalCategory::LeadAction)
            .collect();
        let mut out = Vec::new();
        for (condition, patterns) in group_conditions(pages) {
            let read = |sql: &mut Sql| {
                sql.push(" AND name = 'pageview' AND (");
                for (i, p) in patterns.iter().enumerate() {
                    if i > 0 {
                        sql.push(" OR ");
                    }
                    sql.push("path LIKE ")
                        .text(&like_pattern(p))
                        .push(" ESCAPE '\\'");
                }
                sql.push(")");
            };
            let mut sql = Sql::new("SELECT COUNT(DISTINCT visitor_id) AS n");
            scope.events_where(&mut sql);
            read(&mut sql);
            let visitors: i64 = sql.fetch_one(self).await?.try_get("n")?;
            let leads = if lead_goals.is_empty() || visitors == 0 {
                0
            } else {
                let mut sql = Sql::new("SELECT COUNT(DISTINCT visit_id) AS n");
                scope.events_where(&mut sql);
                sql.push(" AND (");
                for (i, g) in lead_goals.iter().enumerate() {
                    if i > 0 {
                        sql.push(" OR ");
                    }
                    goal_condition(&mut sql, g.kind, &g.pattern);
                }
                sql.push(") AND visit_id IN (SELECT visit_id");
                scope.events_where(&mut sql);
                read(&mut sql);
                sql.push(")");
                sql.fetch_one(self).await?.try_get("n")?
            };
            out.push(ConditionResult {
                condition,
                patterns,
                visitors,
                leads,
                lead_rate: pct(leads, visitors),
            });
        }
        sort_conditions(&mut out);
        Ok(out)
    }

    /// The site's conditions, each with its page patterns.
    pub(crate) async fn condition_groups(
        &self,
        practice_id: i64,
        site_id: i64,
    ) -> StoreResult<Vec<(String, Vec<String>)>> {
        Ok(group_conditions(
            self.condition_pages(practice_id, site_id).await?,
        ))
    }
}
