//! Website conversions: the tracker script, the event intake, and the Website section's pages.

pub mod api;
pub mod dashboard;
pub mod insights;
pub mod intake;
pub mod pages;

use axum::http::header;
use axum::response::{IntoResponse, Response};

fn script(body: &'static str) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                "application/javascript; charset=utf-8",
            ),
            (header::CACHE_CONTROL, "public, max-age=3600"),
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
        ],
        body,
    )
        .into_response()
}

/// The tracker, served to clinics' websites from Stride's own origin.
pub async fn tracker_script() -> Response {
    script(include_str!("../../assets/stride.js"))
}

/// The call-tracking script: swaps the clinic's main line for the visit's tracking number.
pub async fn numbers_script() -> Response {
    script(include_str!("../../assets/stride-numbers.js"))
}

/// The click script, which the tracker loads only on pages where a heatmap records.
pub async fn clicks_script() -> Response {
    script(include_str!("../../assets/stride-clicks.js"))
}
