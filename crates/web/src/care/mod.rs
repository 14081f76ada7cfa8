//! Plans of care: the plan page with its goals and visits, visit notes, the daily drop-off list
//! with outreach, and the completion report. Clinical content (condition, goals, notes) needs the
//! clinical-notes permissions; the front desk sees visit counts, risk reasons and outreach, which
//! name no condition. Marketers reach none of it.

pub mod audit;
pub mod fhir;
pub mod hep;
pub mod notes;
pub mod plans;
pub mod risk;

/// A form read as its raw pairs, for repeated checkboxes and per-row fields.
pub struct Pairs(pub Vec<(String, String)>);

impl Pairs {
    pub fn get(&self, key: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map_or("", |(_, v)| v.as_str())
    }

    pub fn all(&self, key: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    pub fn on(&self, key: &str) -> bool {
        !self.get(key).is_empty()
    }
}

/// An optional date field: empty is `None`, anything else must be YYYY-MM-DD.
pub fn opt_date(v: &str, what: &str) -> Result<Option<jiff::civil::Date>, crate::error::AppError> {
    match v.trim() {
        "" => Ok(None),
        s => s.parse().map(Some).map_err(|_| {
            crate::error::AppError::invalid(format!("the {what} should look like 2026-12-01"))
        }),
    }
}

/// Today in the practice's time zone.
pub fn today(tz: &jiff::tz::TimeZone) -> jiff::civil::Date {
    jiff::Timestamp::now().to_zoned_datetime(tz.clone()).date()
}

/// The address links in messages point to: the configured public URL, or the address this
/// request came to.
pub fn base_url(state: &crate::AppState, headers: &axum::http::HeaderMap) -> String {
    match &state.config.public_url {
        Some(u) => u.trim_end_matches('/').to_string(),
        None => format!(
            "http://{}",
            headers
                .get(axum::http::header::HOST)
                .and_then(|h| h.to_str().ok())
                .unwrap_or("localhost")
        ),
    }
}
