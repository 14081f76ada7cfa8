//! Goals and the website reports: visitors, visits, pageviews, bounce rate and duration, a daily
//! series, breakdowns by source, channel and page, and each goal's conversions. All read from
//! `visits` and `events` inside one site of one practice, for a time range in milliseconds.

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::error::{StoreError, StoreResult};
use crate::{Store, now_ms};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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
}

#[derive(Debug, Clone, Serialize)]
pub struct Bucket {
    /// Which day of the range (0 = the first).
    pub index: i64,
    pub visitors: i64,
    pub pageviews: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct BreakdownRow {
    pub key: String,
    pub visitors: i64,
    pub visits: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct GoalResult {
    pub goal: Goal,
    pub converting_visitors: i64,
    pub conversions: i64,
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
    })
}

/// A page pattern ("/thank-you*") as a LIKE pattern, with LIKE's own wildcards escaped.
fn like_pattern(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 4);
    for c in pattern.chars() {
        match c {
            '\\' | '%' | '_' => {
                out.push('\\');
                out.push(c);
            }
            '*' => out.push('%'),
            c => out.push(c),
        }
    }
    out
}

/// The SQL condition and bound value that select a goal's events.
fn goal_condition(goal: &Goal) -> (&'static str, String) {
    match goal.kind {
        GoalKind::Event => ("name = $4", goal.pattern.clone()),
        GoalKind::Page => (
            "name = 'pageview' AND path LIKE $4 ESCAPE '\\'",
            like_pattern(&goal.pattern),
        ),
    }
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
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id, site_id, name, kind, pattern, category",
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
        goal_from(&row)
    }

    pub async fn goals(&self, practice_id: i64, site_id: i64) -> StoreResult<Vec<Goal>> {
        let rows = sqlx::query(
            "SELECT id, site_id, name, kind, pattern, category FROM goals WHERE site_id = $1 AND practice_id = $2 \
             ORDER BY category DESC, name",
        )
        .bind(site_id)
        .bind(practice_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(goal_from).collect()
    }

    pub async fn delete_goal(&self, practice_id: i64, id: i64) -> StoreResult<()> {
        let done = sqlx::query("DELETE FROM goals WHERE id = $1 AND practice_id = $2")
            .bind(id)
            .bind(practice_id)
            .execute(self.pool())
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    pub async fn website_summary(
        &self,
        practice_id: i64,
        site_id: i64,
        range: Range,
    ) -> StoreResult<Summary> {
        let row = sqlx::query(
            "SELECT COUNT(DISTINCT visitor_id) AS visitors, COUNT(*) AS visits, \
                    CAST(COALESCE(SUM(pageviews), 0) AS BIGINT) AS pageviews, \
                    COUNT(CASE WHEN pageviews <= 1 AND interactions = 0 THEN 1 END) AS bounces, \
                    CAST(COALESCE(SUM(last_at - started_at), 0) AS BIGINT) AS duration \
             FROM visits WHERE site_id = $1 AND practice_id = $2 AND started_at >= $3 AND started_at < $4",
        )
        .bind(site_id)
        .bind(practice_id)
        .bind(range.from)
        .bind(range.to)
        .fetch_one(self.pool())
        .await?;
        let visits: i64 = row.try_get("visits")?;
        let bounces: i64 = row.try_get("bounces")?;
        let duration: i64 = row.try_get("duration")?;
        Ok(Summary {
            visitors: row.try_get("visitors")?,
            visits,
            pageviews: row.try_get("pageviews")?,
            bounce_rate: (visits > 0).then(|| bounces as f64 * 100.0 / visits as f64),
            avg_duration_ms: (visits > 0).then(|| duration / visits),
        })
    }

    /// Visitors and pageviews per day of the range; day `i` starts at `range.from + i × 24 h`.
    pub async fn website_daily(
        &self,
        practice_id: i64,
        site_id: i64,
        range: Range,
    ) -> StoreResult<Vec<Bucket>> {
        let rows = sqlx::query(
            "SELECT (started_at - $3) / 86400000 AS bucket, COUNT(DISTINCT visitor_id) AS visitors, \
                    CAST(COALESCE(SUM(pageviews), 0) AS BIGINT) AS pageviews \
             FROM visits WHERE site_id = $1 AND practice_id = $2 AND started_at >= $3 AND started_at < $4 \
             GROUP BY (started_at - $3) / 86400000 ORDER BY bucket",
        )
        .bind(site_id)
        .bind(practice_id)
        .bind(range.from)
        .bind(range.to)
        .fetch_all(self.pool())
        .await?;
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

    /// Visits grouped by `source`, `channel`, `campaign`, `entry_path` or `device`.
    pub async fn website_breakdown(
        &self,
        practice_id: i64,
        site_id: i64,
        range: Range,
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
        self.breakdown(
            format!(
                "SELECT {column} AS k, COUNT(DISTINCT visitor_id) AS visitors, COUNT(*) AS n FROM visits \
                 WHERE site_id = $1 AND practice_id = $2 AND started_at >= $3 AND started_at < $4 AND {column} <> '' \
                 GROUP BY {column} ORDER BY visitors DESC, k LIMIT $5"
            ),
            practice_id,
            site_id,
            range,
            limit,
        )
        .await
    }

    /// Pages by pageviews (as `visits`) and distinct visitors.
    pub async fn website_pages(
        &self,
        practice_id: i64,
        site_id: i64,
        range: Range,
        limit: i64,
    ) -> StoreResult<Vec<BreakdownRow>> {
        self.breakdown(
            "SELECT path AS k, COUNT(DISTINCT visitor_id) AS visitors, COUNT(*) AS n FROM events \
             WHERE site_id = $1 AND practice_id = $2 AND at >= $3 AND at < $4 AND name = 'pageview' \
             GROUP BY path ORDER BY visitors DESC, k LIMIT $5"
                .to_string(),
            practice_id,
            site_id,
            range,
            limit,
        )
        .await
    }

    /// Runs a breakdown query whose parameters are site, practice, range and limit, and whose
    /// columns are `k`, `visitors` and `n`. The SQL is built only from constant text.
    async fn breakdown(
        &self,
        sql: String,
        practice_id: i64,
        site_id: i64,
        range: Range,
        limit: i64,
    ) -> StoreResult<Vec<BreakdownRow>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(site_id)
            .bind(practice_id)
            .bind(range.from)
            .bind(range.to)
            .bind(limit.clamp(1, 1000))
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|r| {
                Ok(BreakdownRow {
                    key: r.try_get("k")?,
                    visitors: r.try_get("visitors")?,
                    visits: r.try_get("n")?,
                })
            })
            .collect()
    }

    pub async fn goal_results(
        &self,
        practice_id: i64,
        site_id: i64,
        range: Range,
    ) -> StoreResult<Vec<GoalResult>> {
        let mut out = Vec::new();
        for goal in self.goals(practice_id, site_id).await? {
            let (condition, value) = goal_condition(&goal);
            let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT COUNT(DISTINCT visitor_id) AS visitors, COUNT(*) AS n FROM events \
                 WHERE site_id = $1 AND at >= $2 AND at < $3 AND {condition} AND practice_id = $5"
            )))
            .bind(site_id)
            .bind(range.from)
            .bind(range.to)
            .bind(value)
            .bind(practice_id)
            .fetch_one(self.pool())
            .await?;
            out.push(GoalResult {
                converting_visitors: row.try_get("visitors")?,
                conversions: row.try_get("n")?,
                goal,
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_patterns_become_like_patterns() {
        assert_eq!(like_pattern("/thank-you*"), "/thank-you%");
        assert_eq!(like_pattern("/100%_done"), "/100\\%\\_done");
        assert_eq!(like_pattern("*"), "%");
    }
}

/// Everything the dashboard and `/api/v1/sites/{id}/report` show for one period.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub range: Range,
    pub summary: Summary,
    pub previous: Summary,
    pub daily: Vec<Bucket>,
    pub goals: Vec<GoalResult>,
    pub sources: Vec<BreakdownRow>,
    pub channels: Vec<BreakdownRow>,
    pub campaigns: Vec<BreakdownRow>,
    pub pages: Vec<BreakdownRow>,
    pub landing_pages: Vec<BreakdownRow>,
    pub devices: Vec<BreakdownRow>,
}

impl Store {
    pub async fn website_report(
        &self,
        practice_id: i64,
        site_id: i64,
        range: Range,
    ) -> StoreResult<Report> {
        let by = |column: &'static str, limit: i64| {
            self.website_breakdown(practice_id, site_id, range, column, limit)
        };
        Ok(Report {
            range,
            summary: self.website_summary(practice_id, site_id, range).await?,
            previous: self
                .website_summary(practice_id, site_id, range.previous())
                .await?,
            daily: self.website_daily(practice_id, site_id, range).await?,
            goals: self.goal_results(practice_id, site_id, range).await?,
            sources: by("source", 10).await?,
            channels: by("channel", 10).await?,
            campaigns: by("campaign", 10).await?,
            pages: self.website_pages(practice_id, site_id, range, 10).await?,
            landing_pages: by("entry_path", 10).await?,
            devices: by("device", 5).await?,
        })
    }
}
