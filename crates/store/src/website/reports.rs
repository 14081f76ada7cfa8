//! Goals and the website reports: visitors, visits, pageviews, bounce rate and duration, a daily
//! series, breakdowns by source, channel and page, and each goal's conversions. All read from
//! `visits` and `events` inside one site of one practice, for a time range in milliseconds.

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::insights::{ConditionResult, Funnel, FunnelStepResult};
use super::query::{Filters, Sql, like_pattern};
use crate::error::{StoreError, StoreResult};
use crate::{Store, now_ms};

const DAY_MS: i64 = 86_400_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GoalKind {
    Event,
    Page,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GoalCategory {
    /// Appointment request, call tap, online booking: a visitor ready to become a patient.
    LeadAction,
    /// Guide download, video watched, newsletter, treatment page read.
    EarlyInterest,
}

impl GoalCategory {
    pub fn as_str(self) -> &'static str {
        match self {
            GoalCategory::LeadAction => "lead_action",
            GoalCategory::EarlyInterest => "early_interest",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            GoalCategory::LeadAction => "Lead action",
            GoalCategory::EarlyInterest => "Early interest",
        }
    }

    pub fn parse(s: &str) -> StoreResult<GoalCategory> {
        match s {
            "lead_action" => Ok(GoalCategory::LeadAction),
            "early_interest" => Ok(GoalCategory::EarlyInterest),
            _ => Err(StoreError::Invalid(
                "a goal is a lead action or early interest".into(),
            )),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Goal {
    pub id: i64,
    pub site_id: i64,
    pub name: String,
    pub kind: GoalKind,
    /// The event name, or the page pattern where `*` stands for anything.
    pub pattern: String,
    pub category: GoalCategory,
    /// The page goal that confirms this event goal, e.g. "/thank-you*" for "Request Appointment".
    pub confirmed_by: Option<i64>,
}

/// [from, to) in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Range {
    pub from: i64,
    pub to: i64,
}

impl Range {
    /// The range of the same length just before this one, for comparisons.
    pub fn previous(self) -> Range {
        Range {
            from: self.from - (self.to - self.from),
            to: self.from,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub visitors: i64,
    pub visits: i64,
    pub pageviews: i64,
    /// Share of visits with one pageview and nothing else done, in percent.
    pub bounce_rate: Option<f64>,
    pub avg_duration_ms: Option<i64>,
    /// Single-page visits with nothing done, and the visits' total length: what the two rates
    /// above are computed from, kept so parts of a range add up.
    #[serde(skip)]
    pub bounces: i64,
    #[serde(skip)]
    pub duration_ms: i64,
}

impl Summary {
    pub(crate) fn from_sums(
        visitors: i64,
        visits: i64,
        pageviews: i64,
        bounces: i64,
        duration_ms: i64,
    ) -> Summary {
        Summary {
            visitors,
            visits,
            pageviews,
            bounce_rate: (visits > 0).then(|| bounces as f64 * 100.0 / visits as f64),
            avg_duration_ms: (visits > 0).then(|| duration_ms / visits),
            bounces,
            duration_ms,
        }
    }

    /// This summary and another of an adjoining range, as one.
    pub(crate) fn add(&self, o: &Summary) -> Summary {
        Summary::from_sums(
            self.visitors + o.visitors,
            self.visits + o.visits,
            self.pageviews + o.pageviews,
            self.bounces + o.bounces,
            self.duration_ms + o.duration_ms,
        )
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Bucket {
    /// Which day of the range (0 = the first).
    pub index: i64,
    pub visitors: i64,
    pub pageviews: i64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct BreakdownRow {
    pub key: String,
    pub visitors: i64,
    pub visits: i64,
    /// Visitors who completed a lead action (any lead-action goal) in one of these visits.
    pub converting: i64,
    /// The same row in the previous period (`Store::website_report` fills it in).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous: Option<Earlier>,
}

/// A row's or goal's figures in the previous period: visitors and those who converted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Earlier {
    pub visitors: i64,
    pub converting: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct GoalResult {
    pub goal: Goal,
    pub converting_visitors: i64,
    pub conversions: i64,
    pub confirmation: Option<Confirmation>,
    /// In the previous period: its visitors, and those who completed this goal (`Store::website_report`
    /// fills it in).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous: Option<Earlier>,
}

/// Event vs goal: visits that did the event, and how many of them went on to the confirming page.
#[derive(Debug, Clone, Serialize)]
pub struct Confirmation {
    pub page_goal: String,
    pub clicked: i64,
    pub confirmed: i64,
}

fn goal_from(row: &AnyRow) -> StoreResult<Goal> {
    let kind: String = row.try_get("kind")?;
    Ok(Goal {
        id: row.try_get("id")?,
        site_id: row.try_get("site_id")?,
        name: row.try_get("name")?,
        kind: if kind == "page" {
            GoalKind::Page
        } else {
            GoalKind::Event
        },
        pattern: row.try_get("pattern")?,
        category: GoalCategory::parse(&row.try_get::<String, _>("category")?)?,
        confirmed_by: row.try_get("confirmed_by")?,
    })
}

impl Store {
    pub async fn create_goal(
        &self,
        practice_id: i64,
        site_id: i64,
        name: &str,
        kind: GoalKind,
        pattern: &str,
        category: GoalCategory,
    ) -> StoreResult<Goal> {
        self.site(practice_id, site_id).await?;
        let name = name.trim();
        let pattern = pattern.trim();
        if name.is_empty() || name.chars().count() > 120 {
            return Err(StoreError::Invalid(
                "give the goal a name of up to 120 characters".into(),
            ));
        }
        match kind {
            GoalKind::Event if pattern.is_empty() || pattern.chars().count() > 120 => {
                return Err(StoreError::Invalid(
                    "name the event the goal counts, e.g. Appointment Request".into(),
                ));
            }
            GoalKind::Page if !pattern.starts_with('/') || pattern.chars().count() > 200 => {
                return Err(StoreError::Invalid(
                    "a page goal is a path starting with /, e.g. /thank-you*".into(),
                ));
            }
            _ => {}
        }
        let kind_text = match kind {
            GoalKind::Event => "event",
            GoalKind::Page => "page",
        };
        let row = sqlx::query(
            "INSERT INTO goals (site_id, practice_id, name, kind, pattern, category, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id, site_id, name, kind, pattern, category, confirmed_by",
        )
        .bind(site_id)
        .bind(practice_id)
        .bind(name.to_string())
        .bind(kind_text)
        .bind(pattern.to_string())
        .bind(category.as_str())
        .bind(now_ms())
        .fetch_one(self.pool())
        .await
        .map_err(|e| StoreError::on_unique(e, format!("a goal already counts {pattern}")))?;
        self.forget_rollups(practice_id).await?;
        goal_from(&row)
    }

    /// Makes sure each of the practice's sites counts an event Stride itself records (a tracked
    /// call, an online booking) as a lead-action goal.
    pub async fn ensure_event_goal(
        &self,
        practice_id: i64,
        name: &str,
        event: &str,
    ) -> StoreResult<()> {
        for site in self.sites(practice_id).await? {
            let goals = self.goals(practice_id, site.id).await?;
            if !goals
                .iter()
                .any(|g| g.kind == GoalKind::Event && g.pattern == event)
            {
                match self
                    .create_goal(
                        practice_id,
                        site.id,
                        name,
                        GoalKind::Event,
                        event,
                        GoalCategory::LeadAction,
                    )
                    .await
                {
                    Ok(_) | Err(StoreError::Conflict(_)) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(())
    }

    pub async fn goals(&self, practice_id: i64, site_id: i64) -> StoreResult<Vec<Goal>> {
        let rows = sqlx::query(
            "SELECT id, site_id, name, kind, pattern, category, confirmed_by FROM goals WHERE site_id = $1 AND practice_id = $2 \
             ORDER BY category DESC, name",
        )
        .bind(site_id)
        .bind(practice_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(goal_from).collect()
    }

    pub async fn delete_goal(&self, practice_id: i64, id: i64) -> StoreResult<()> {
        self.delete_owned("goals", practice_id, id).await?;
        self.forget_rollups(practice_id).await?;
        Ok(())
    }
}

/// What a report covers: one site of one practice, a time range, and the dashboard's filters.
#[derive(Debug, Clone)]
pub struct Scope {
    pub practice_id: i64,
    pub site_id: i64,
    pub range: Range,
    pub filters: Filters,
    /// The local day the range lies in, when it lies in one: every event of its visits is then
    /// within that day (visits end at local midnight), so a page filter looks no further.
    pub(crate) day: Option<Range>,
}

impl Scope {
    pub fn new(practice_id: i64, site_id: i64, range: Range) -> Scope {
        Scope {
            practice_id,
            site_id,
            range,
            filters: Filters::default(),
            day: None,
        }
    }

    /// The same scope, its range known to lie in this local day (see `day`).
    pub(crate) fn within_day(mut self, day: Range) -> Scope {
        self.day = Some(day);
        self
    }

    /// Where the pageviews of this scope's visits and of its events' visits can be: within its
    /// day, or else from a day before the range (an event's visit began at most a day before it)
    /// to a day after (a visit's pageviews come at most a day after it began).
    fn page_window(&self) -> Range {
        self.day.unwrap_or(Range {
            from: self.range.from - DAY_MS,
            to: self.range.to + DAY_MS,
        })
    }

    pub fn with_filters(mut self, filters: Filters) -> Scope {
        self.filters = filters.normalized();
        self
    }

    /// The same scope over another range (the previous period, for comparisons).
    pub fn over(&self, range: Range) -> Scope {
        Scope {
            range,
            day: None,
            ..self.clone()
        }
    }

    /// `FROM visits WHERE ...` for this scope, visits counted by when they started.
    pub(crate) fn visits_where(&self, sql: &mut Sql) {
        sql.push(" FROM visits WHERE site_id = ")
            .int(self.site_id)
            .push(" AND practice_id = ")
            .int(self.practice_id)
            .push(" AND started_at >= ")
            .int(self.range.from)
            .push(" AND started_at < ")
            .int(self.range.to);
        // A visit's pageviews come after it began.
        let window = Range {
            from: self.range.from,
            to: self.page_window().to,
        };
        self.filters.on_visits(sql, self.site_id, window);
    }

    /// `FROM events WHERE ...` for this scope.
    pub(crate) fn events_where(&self, sql: &mut Sql) {
        sql.push(" FROM events WHERE site_id = ")
            .int(self.site_id)
            .push(" AND practice_id = ")
            .int(self.practice_id)
            .push(" AND at >= ")
            .int(self.range.from)
            .push(" AND at < ")
            .int(self.range.to);
        self.filters
            .on_events(sql, self.site_id, self.page_window());
    }
}

/// Appends the condition selecting a goal's events (an event name, or pageviews of a pattern).
pub(crate) fn goal_condition(sql: &mut Sql, kind: GoalKind, pattern: &str) {
    match kind {
        GoalKind::Event => {
            sql.push("name = ").text(pattern);
        }
        GoalKind::Page => {
            sql.push("(name = 'pageview' AND path LIKE ")
                .text(&like_pattern(pattern))
                .push(" ESCAPE '\\')");
        }
    }
}

impl Store {
    pub async fn website_summary(&self, scope: &Scope) -> StoreResult<Summary> {
        let mut sql = Sql::new(
            "SELECT COUNT(DISTINCT visitor_id) AS visitors, COUNT(*) AS visits, \
                    CAST(COALESCE(SUM(pageviews), 0) AS BIGINT) AS pageviews, \
                    COUNT(CASE WHEN pageviews <= 1 AND interactions = 0 THEN 1 END) AS bounces, \
                    CAST(COALESCE(SUM(last_at - started_at), 0) AS BIGINT) AS duration",
        );
        scope.visits_where(&mut sql);
        let row = sql.fetch_one(self).await?;
        Ok(Summary::from_sums(
            row.try_get("visitors")?,
            row.try_get("visits")?,
            row.try_get("pageviews")?,
            row.try_get("bounces")?,
            row.try_get("duration")?,
        ))
    }

    /// Visitors and pageviews per local day of the range (day 0 is the first), or per 24 hours from
    /// `range.from` when the range does not start at a local midnight.
    pub async fn website_daily(&self, scope: &Scope) -> StoreResult<Vec<Bucket>> {
        let tz = self.practice_time_zone(scope.practice_id).await?;
        let day = super::rollups::day_index_sql(scope.range.from, scope.range.to, &tz);
        let mut sql = Sql::new(&format!(
            "SELECT {day} AS bucket, COUNT(DISTINCT visitor_id) AS visitors, \
                    CAST(COALESCE(SUM(pageviews), 0) AS BIGINT) AS pageviews"
        ));
        scope.visits_where(&mut sql);
        sql.push(&format!(" GROUP BY {day} ORDER BY bucket"));
        let rows = sql.fetch_all(self).await?;
        rows.iter()
            .map(|r| {
                Ok(Bucket {
                    index: r.try_get("bucket")?,
                    visitors: r.try_get("visitors")?,
                    pageviews: r.try_get("pageviews")?,
                })
            })
            .collect()
    }

    /// Visits grouped by `source`, `channel`, `campaign`, `entry_path`, `device`, `browser` or `os`.
    pub async fn website_breakdown(
        &self,
        scope: &Scope,
        by: &str,
        limit: i64,
    ) -> StoreResult<Vec<BreakdownRow>> {
        let column = match by {
            "source" | "channel" | "campaign" | "entry_path" | "device" | "browser" | "os" => by,
            _ => {
                return Err(StoreError::Invalid(format!(
                    "cannot break visits down by {by}"
                )));
            }
        };
        let mut sql = Sql::new(&format!(
            "SELECT {column} AS k, COUNT(DISTINCT visitor_id) AS visitors, COUNT(*) AS n, "
        ));
        self.converting_visitors(scope, &mut sql, "id").await?;
        scope.visits_where(&mut sql);
        sql.push(&format!(
            " AND {column} <> '' GROUP BY {column} ORDER BY visitors DESC, k LIMIT "
        ))
        .int(limit.clamp(1, 1000));
        breakdown_rows(&sql.fetch_all(self).await?)
    }

    /// Pages by pageviews (as `visits`) and distinct visitors.
    pub async fn website_pages(&self, scope: &Scope, limit: i64) -> StoreResult<Vec<BreakdownRow>> {
        let mut sql =
            Sql::new("SELECT path AS k, COUNT(DISTINCT visitor_id) AS visitors, COUNT(*) AS n, ");
        self.converting_visitors(scope, &mut sql, "visit_id")
            .await?;
        scope.events_where(&mut sql);
        sql.push(" AND name = 'pageview' GROUP BY path ORDER BY visitors DESC, k LIMIT ")
            .int(limit.clamp(1, 1000));
        breakdown_rows(&sql.fetch_all(self).await?)
    }

    /// Appends `COUNT(DISTINCT ...) AS converting`: visitors whose visit (named by `visit_column`)
    /// completed a lead-action goal in the scope's range; 0 when the site has no such goal.
    async fn converting_visitors(
        &self,
        scope: &Scope,
        sql: &mut Sql,
        visit_column: &str,
    ) -> StoreResult<()> {
        let goals: Vec<Goal> = self
            .goals(scope.practice_id, scope.site_id)
            .await?
            .into_iter()
            .filter(|g| g.category == GoalCategory::LeadAction)
            .collect();
        if goals.is_empty() {
            sql.push("0 AS converting");
            return Ok(());
        }
        sql.push(&format!(
            "COUNT(DISTINCT CASE WHEN {visit_column} IN (SELECT visit_id FROM events WHERE site_id = "
        ))
        .int(scope.site_id)
        .push(" AND at >= ")
        .int(scope.range.from)
        .push(" AND at < ")
        .int(scope.range.to)
        .push(" AND (");
        for (i, g) in goals.iter().enumerate() {
            if i > 0 {
                sql.push(" OR ");
            }
            goal_condition(sql, g.kind, &g.pattern);
        }
        sql.push(")) THEN visitor_id END) AS converting");
        Ok(())
    }

    /// Each goal's converting visitors and conversions, and for an event goal confirmed by a page
    /// goal, how many visits did the first and how many of those then reached the second.
    pub async fn goal_results(&self, scope: &Scope) -> StoreResult<Vec<GoalResult>> {
        let goals = self.goals(scope.practice_id, scope.site_id).await?;
        let mut out = Vec::new();
        for goal in &goals {
            let mut sql = Sql::new("SELECT COUNT(DISTINCT visitor_id) AS visitors, COUNT(*) AS n");
            scope.events_where(&mut sql);
            sql.push(" AND ");
            goal_condition(&mut sql, goal.kind, &goal.pattern);
            let row = sql.fetch_one(self).await?;
            let page = goal
                .confirmed_by
                .and_then(|id| goals.iter().find(|g| g.id == id));
            let confirmation = match page {
                Some(page) => {
                    let steps = [
                        (goal.kind, goal.pattern.clone()),
                        (page.kind, page.pattern.clone()),
                    ];
                    let counts = self.funnel_counts(scope, &steps).await?;
                    Some(Confirmation {
                        page_goal: page.name.clone(),
                        clicked: counts[0] as i64,
                        confirmed: counts[1] as i64,
                    })
                }
                None => None,
            };
            out.push(GoalResult {
                converting_visitors: row.try_get("visitors")?,
                conversions: row.try_get("n")?,
                goal: goal.clone(),
                confirmation,
                previous: None,
            });
        }
        Ok(out)
    }

    /// Pairs an event goal ("Request Appointment" clicked) with the page goal that confirms it
    /// ("/thank-you*" reached), or unpairs it with `None`.
    pub async fn set_goal_confirmation(
        &self,
        practice_id: i64,
        goal_id: i64,
        page_goal_id: Option<i64>,
    ) -> StoreResult<()> {
        let goal = self.goal(practice_id, goal_id).await?;
        if let Some(id) = page_goal_id {
            let page = self.goal(practice_id, id).await?;
            if goal.kind != GoalKind::Event
                || page.kind != GoalKind::Page
                || page.site_id != goal.site_id
            {
                return Err(StoreError::Invalid(
                    "an event goal is confirmed by a page goal of the same site".into(),
                ));
            }
        }
        sqlx::query("UPDATE goals SET confirmed_by = $1 WHERE id = $2 AND practice_id = $3")
            .bind(page_goal_id)
            .bind(goal_id)
            .bind(practice_id)
            .execute(self.pool())
            .await?;
        self.forget_rollups(practice_id).await?;
        Ok(())
    }

    pub async fn goal(&self, practice_id: i64, id: i64) -> StoreResult<Goal> {
        let row = sqlx::query(
            "SELECT id, site_id, name, kind, pattern, category, confirmed_by FROM goals \
             WHERE id = $1 AND practice_id = $2",
        )
        .bind(id)
        .bind(practice_id)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        goal_from(&row)
    }
}

fn breakdown_rows(rows: &[AnyRow]) -> StoreResult<Vec<BreakdownRow>> {
    rows.iter()
        .map(|r| {
            Ok(BreakdownRow {
                key: r.try_get("k")?,
                visitors: r.try_get("visitors")?,
                visits: r.try_get("n")?,
                converting: r.try_get("converting")?,
                previous: None,
            })
        })
        .collect()
}

/// Everything the dashboard and `/api/v1/sites/{id}/report` show for one period.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub range: Range,
    pub summary: Summary,
    pub previous: Summary,
    /// The period `previous` (and each goal's and row's `previous`) covers: as many local days
    /// just before `range`, and when `range` is under way only up to the same time of day (see
    /// `rollups::compared_range`). None where nothing was compared.
    pub previous_range: Option<Range>,
    pub daily: Vec<Bucket>,
    pub goals: Vec<GoalResult>,
    pub sources: Vec<BreakdownRow>,
    pub channels: Vec<BreakdownRow>,
    pub campaigns: Vec<BreakdownRow>,
    pub pages: Vec<BreakdownRow>,
    pub landing_pages: Vec<BreakdownRow>,
    pub devices: Vec<BreakdownRow>,
    pub browsers: Vec<BreakdownRow>,
    pub systems: Vec<BreakdownRow>,
    pub funnels: Vec<FunnelResult>,
    pub conditions: Vec<ConditionResult>,
}

impl Report {
    /// Visitors who completed a lead action, in the period and in the previous one when its rows
    /// were compared: each visitor has one device class (the visitor id covers the browser), so the
    /// device rows add up to them without counting anyone twice.
    pub fn converting_visitors(&self) -> (i64, Option<i64>) {
        let now = self.devices.iter().map(|r| r.converting).sum();
        let before = self
            .devices
            .iter()
            .map(|r| r.previous.map(|p| p.converting))
            .sum::<Option<i64>>()
            .filter(|_| !self.devices.is_empty());
        (now, before)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct FunnelResult {
    pub funnel: Funnel,
    pub steps: Vec<FunnelStepResult>,
}

impl Store {
    /// The report computed from events and visits directly, without rollups (the previous period
    /// is left empty). Breakdowns keep `limit` rows.
    pub async fn raw_report(&self, scope: &Scope, limit: i64) -> StoreResult<Report> {
        let by = |column: &'static str| self.website_breakdown(scope, column, limit);
        Ok(Report {
            range: scope.range,
            summary: self.website_summary(scope).await?,
            previous: Summary::default(),
            previous_range: None,
            daily: self.website_daily(scope).await?,
            goals: self.goal_results(scope).await?,
            sources: by("source").await?,
            channels: by("channel").await?,
            campaigns: by("campaign").await?,
            pages: self.website_pages(scope, limit).await?,
            landing_pages: by("entry_path").await?,
            devices: by("device").await?,
            browsers: by("browser").await?,
            systems: by("os").await?,
            funnels: {
                let mut out = Vec::new();
                for funnel in self.funnels(scope.practice_id, scope.site_id).await? {
                    let steps = self.funnel_report(scope, &funnel).await?;
                    out.push(FunnelResult { funnel, steps });
                }
                out
            },
            conditions: self.condition_results(scope).await?,
        })
    }
}
