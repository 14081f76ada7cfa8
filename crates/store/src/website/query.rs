//! Report queries assembled piece by piece: constant SQL text with numbered parameters, so the
//! filters a person picks on the dashboard only ever arrive as bound values.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::reports::Range;
use crate::{Backend, Store};

use crate::error::StoreResult;

enum Arg {
    Int(i64),
    Text(String),
}

/// SQL text and its arguments, numbered `$1`, `$2`, ... in the order they are bound.
#[derive(Default)]
pub(crate) struct Sql {
    text: String,
    args: Vec<Arg>,
}

impl Sql {
    pub(crate) fn new(text: &str) -> Sql {
        Sql {
            text: text.to_string(),
            args: Vec::new(),
        }
    }

    pub(crate) fn push(&mut self, text: &str) -> &mut Sql {
        self.text.push_str(text);
        self
    }

    pub(crate) fn int(&mut self, v: i64) -> &mut Sql {
        self.args.push(Arg::Int(v));
        self.text.push_str(&format!("${}", self.args.len()));
        self
    }

    pub(crate) fn text(&mut self, v: &str) -> &mut Sql {
        self.args.push(Arg::Text(v.to_string()));
        self.text.push_str(&format!("${}", self.args.len()));
        self
    }

    fn query(
        &self,
    ) -> sqlx::query::Query<'static, sqlx::Any, <sqlx::Any as sqlx::Database>::Arguments> {
        let mut q = sqlx::query(sqlx::AssertSqlSafe(self.text.clone()));
        for a in &self.args {
            q = match a {
                Arg::Int(v) => q.bind(*v),
                Arg::Text(v) => q.bind(v.clone()),
            };
        }
        q
    }

    pub(crate) async fn fetch_all(&self, store: &Store) -> StoreResult<Vec<AnyRow>> {
        Ok(self.query().fetch_all(store.pool()).await?)
    }

    pub(crate) async fn fetch_one(&self, store: &Store) -> StoreResult<AnyRow> {
        Ok(self.query().fetch_one(store.pool()).await?)
    }

    /// A query for many rows at once: the `columns` (SQL expressions) of every matching row, as
    /// one JSON array of arrays in a single result. A day of events then crosses from the database
    /// as one value instead of a row each: sqlx hands each row from SQLite's thread to the task
    /// and converts it for the `Any` driver, which cost several times SQLite's own work. Push
    /// `FROM ... WHERE ...` after it (no `ORDER BY`: the order inside the array is not defined),
    /// then read it with `fetch_json_rows`.
    pub(crate) fn json_rows(backend: Backend, columns: &str) -> Sql {
        Sql::new(&match backend {
            Backend::Sqlite => {
                format!("SELECT json_group_array(json_array({columns})) AS json_rows")
            }
            Backend::Postgres => {
                format!("SELECT CAST(json_agg(json_build_array({columns})) AS TEXT) AS json_rows")
            }
        })
    }

    /// The rows of a `json_rows` query, each array read as a `T` (a tuple of its columns).
    pub(crate) async fn fetch_json_rows<T: DeserializeOwned>(
        &self,
        store: &Store,
    ) -> StoreResult<Vec<T>> {
        // PostgreSQL's json_agg of no rows is NULL; SQLite's json_group_array is "[]".
        let text: Option<String> = self.fetch_one(store).await?.try_get("json_rows")?;
        let Some(text) = text else {
            return Ok(Vec::new());
        };
        serde_json::from_str(&text).map_err(|e| sqlx::Error::Decode(Box::new(e)).into())
    }
}

/// A page pattern ("/thank-you*") as a LIKE pattern, with LIKE's own wildcards escaped.
pub(crate) fn like_pattern(pattern: &str) -> String {
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

/// What the dashboard narrows visits to. Empty values mean "any".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filters {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign: Option<String>,
    /// A page the visit viewed; `*` stands for anything ("/conditions/*").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
}

impl Filters {
    /// Drops blank values, so an empty form field means "any".
    pub fn normalized(self) -> Filters {
        let clean = |v: Option<String>| v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
        Filters {
            source: clean(self.source),
            channel: clean(self.channel),
            campaign: clean(self.campaign),
            // Every path starts with "/": "conditions/*" means "/conditions/*".
            page: clean(self.page).map(|p| {
                if p.starts_with('/') {
                    p
                } else {
                    format!("/{p}")
                }
            }),
            device: clean(self.device),
        }
    }

    pub fn is_empty(&self) -> bool {
        *self == Filters::default()
    }

    /// The rollup segment that serves these filters (see `day_sums::segment_name`): "" without
    /// any, "channel=paid_search" for one, "channel=paid_search&device=mobile" for two that are
    /// not both pages. A page pattern with `*` has a segment only when it is one of `patterns`,
    /// those the site's goals, funnels and condition pages use. None for three filters or more or
    /// another pattern: those read the raw events and visits.
    pub(crate) fn segment(&self, patterns: &[String]) -> Option<String> {
        let page = self.page.as_deref().map(|p| ("page", p));
        let parts: Vec<(&str, &str)> = self.columns().chain(page).collect();
        if parts.len() > 2 {
            return None;
        }
        if let Some(p) = &self.page
            && p.contains('*')
            && !patterns.contains(p)
        {
            return None;
        }
        Some(super::day_sums::segment_name(&parts))
    }

    /// These filters as a segment of their own, named by all of them: what a report remembers
    /// when no standard segment serves it (see `Store::rollup_segment`).
    pub(crate) fn extra(&self) -> super::day_sums::Extra {
        let page = self.page.as_deref().map(|p| ("page", p));
        let parts: Vec<(&str, &str)> = self.columns().chain(page).collect();
        super::day_sums::Extra {
            name: super::day_sums::segment_name(&parts),
            columns: self.columns().map(|(c, v)| (c, v.to_string())).collect(),
            page: self.page.clone(),
        }
    }

    fn columns(&self) -> impl Iterator<Item = (&'static str, &str)> {
        [
            ("source", &self.source),
            ("channel", &self.channel),
            ("campaign", &self.campaign),
            ("device", &self.device),
        ]
        .into_iter()
        .filter_map(|(c, v)| v.as_deref().map(|v| (c, v)))
    }

    /// Conditions on a query over `visits` (unaliased) of site `site_id`: the visit must pass the
    /// filters. A page filter looks for a matching pageview of the visit in `window`, which must
    /// hold every pageview of the visits asked about (see `Scope::page_window`).
    pub(crate) fn on_visits(&self, sql: &mut Sql, site_id: i64, window: Range) {
        self.on(sql, "id", site_id, window);
    }

    /// Conditions on a query over `events` (unaliased) of site `site_id`: the event's visit must
    /// pass the filters. An event carries its visit's device, source, channel and campaign (the
    /// writer copies them), so those are plain conditions on the event; a page filter looks for
    /// a matching pageview of the visit in `window`, as for visits.
    pub(crate) fn on_events(&self, sql: &mut Sql, site_id: i64, window: Range) {
        self.on(sql, "visit_id", site_id, window);
    }

    fn on(&self, sql: &mut Sql, visit_column: &str, site_id: i64, window: Range) {
        for (column, value) in self.columns() {
            sql.push(&format!(" AND {column} = ")).text(value);
        }
        if let Some(page) = &self.page {
            sql.push(&format!(
                " AND {visit_column} IN (SELECT visit_id FROM events WHERE site_id = "
            ))
            .int(site_id)
            .push(" AND at >= ")
            .int(window.from)
            .push(" AND at < ")
            .int(window.to)
            .push(" AND name = 'pageview' AND path LIKE ")
            .text(&like_pattern(page))
            .push(" ESCAPE '\\')");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_filter_always_starts_with_a_slash() {
        let f = |page: &str| {
            Filters {
                page: Some(page.to_string()),
                ..Filters::default()
            }
            .normalized()
            .page
        };
        assert_eq!(f(" conditions/* ").as_deref(), Some("/conditions/*"));
        assert_eq!(f("/about").as_deref(), Some("/about"));
        assert_eq!(f("  "), None);
    }

    #[test]
    fn page_patterns_become_like_patterns() {
        assert_eq!(like_pattern("/thank-you*"), "/thank-you%");
        assert_eq!(like_pattern("/100%_done"), "/100\\%\\_done");
        assert_eq!(like_pattern("*"), "%");
    }

    #[test]
    fn filters_name_a_rollup_segment_up_to_two_at_once() {
        let f = |source: Option<&str>, device: Option<&str>, page: Option<&str>| Filters {
            source: source.map(String::from),
            device: device.map(String::from),
            page: page.map(String::from),
            ..Filters::default()
        };
        let patterns = ["/conditions/*".to_string()];
        let segment = |f: Filters| f.segment(&patterns);
        assert_eq!(segment(f(None, None, None)).as_deref(), Some(""));
        assert_eq!(
            segment(f(Some("Google"), None, None)).as_deref(),
            Some("source=Google")
        );
        assert_eq!(
            segment(f(None, None, Some("/knee"))).as_deref(),
            Some("page=/knee")
        );
        assert_eq!(
            segment(f(None, Some("mobile"), Some("/conditions/*"))).as_deref(),
            Some("device=mobile&page=/conditions/*")
        );
        assert_eq!(
            segment(f(Some("Google"), Some("mobile"), None)).as_deref(),
            Some("source=Google&device=mobile")
        );
        // A pattern no goal, funnel or condition page uses, and three filters: no segment.
        assert_eq!(segment(f(None, None, Some("/blog/*"))), None);
        assert_eq!(
            segment(f(Some("Google"), Some("mobile"), Some("/knee"))),
            None
        );
    }

    #[test]
    fn filters_bind_values_and_number_them() {
        let f = Filters {
            channel: Some("paid_search".into()),
            page: Some("/knee*".into()),
            ..Filters::default()
        };
        let mut sql = Sql::new("SELECT 1 FROM visits WHERE site_id = ");
        sql.int(7);
        f.on_visits(&mut sql, 7, Range { from: 0, to: 10 });
        assert_eq!(
            sql.text,
            "SELECT 1 FROM visits WHERE site_id = $1 AND channel = $2 AND id IN (SELECT visit_id FROM events \
             WHERE site_id = $3 AND at >= $4 AND at < $5 AND name = 'pageview' AND path LIKE $6 ESCAPE '\\')"
        );
        assert_eq!(sql.args.len(), 6);
    }
}
