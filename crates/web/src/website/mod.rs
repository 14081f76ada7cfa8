//! Website conversions: the tracker script, the event intake, and the Website section's pages.

pub mod api;
pub mod dashboard;
pub mod intake;
pub mod pages;

use axum::http::header;
use axum::response::{IntoResponse, Response};

/// The tracker, served to clinics' websites from Stride's own origin.
pub async fn tracker_script() -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                "application/javascript; charset=utf-8",
            ),
            (header::CACHE_CONTROL, "public, max-age=3600"),
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
        ],
        include_str!("../../assets/stride.js"),
    )
        .into_response()
}
