//! Website conversions: the tracker script, the event intake, and the Website section's pages.

pub mod api;
pub mod clinics;
pub mod dashboard;
pub mod insights;
pub mod intake;
pub mod pages;
pub mod weekly;

use std::io::Write;
use std::sync::OnceLock;

use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};

/// A script for clinics' websites, gzipped once (level 9) for the browsers that accept it: every
/// visitor of every page loads the tracker, and a proxy in front of Stride may not compress it.
struct Script {
    body: &'static str,
    gzipped: OnceLock<Vec<u8>>,
}

impl Script {
    const fn new(body: &'static str) -> Script {
        Script {
            body,
            gzipped: OnceLock::new(),
        }
    }

    fn gzipped(&self) -> &[u8] {
        self.gzipped.get_or_init(|| gzip(self.body.as_bytes()))
    }

    fn serve(&'static self, headers: &HeaderMap) -> Response {
        let common = [
            (
                header::CONTENT_TYPE,
                "application/javascript; charset=utf-8",
            ),
            (header::CACHE_CONTROL, "public, max-age=3600"),
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
            (header::VARY, "Accept-Encoding"),
        ];
        if accepts_gzip(headers) {
            (common, [(header::CONTENT_ENCODING, "gzip")], self.gzipped()).into_response()
        } else {
            (common, self.body).into_response()
        }
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(bytes)
        .and_then(|_| enc.finish())
        .expect("gzip into memory does not fail")
}

/// Whether `Accept-Encoding` lists gzip (or `*`) without `q=0`.
fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|part| {
            let mut it = part.split(';').map(str::trim);
            let coding = it.next().unwrap_or("");
            let refused = it.any(|p| {
                p.strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
                    .is_some_and(|q| q == 0.0)
            });
            (coding.eq_ignore_ascii_case("gzip") || coding == "*") && !refused
        })
}

static TRACKER: Script = Script::new(include_str!("../../assets/stride.js"));
static NUMBERS: Script = Script::new(include_str!("../../assets/stride-numbers.js"));
static CLICKS: Script = Script::new(include_str!("../../assets/stride-clicks.js"));

/// The tracker, served to clinics' websites from Stride's own origin.
pub async fn tracker_script(headers: HeaderMap) -> Response {
    TRACKER.serve(&headers)
}

/// The call-tracking script: swaps the clinic's main line for the visit's tracking number.
pub async fn numbers_script(headers: HeaderMap) -> Response {
    NUMBERS.serve(&headers)
}

/// The click script, which the tracker loads only on pages where a heatmap records.
pub async fn clicks_script(headers: HeaderMap) -> Response {
    CLICKS.serve(&headers)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn accept(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT_ENCODING, HeaderValue::from_str(v).unwrap());
        h
    }

    /// The size budget: the tracker at most 2 KB gzipped, the click script at most 1.5 KB.
    #[test]
    fn the_scripts_keep_their_size_budgets() {
        assert!(
            TRACKER.gzipped().len() <= 2048,
            "stride.js: {} bytes gzipped",
            TRACKER.gzipped().len()
        );
        assert!(
            CLICKS.gzipped().len() <= 1536,
            "stride-clicks.js: {} bytes gzipped",
            CLICKS.gzipped().len()
        );
        let mut back = String::new();
        std::io::Read::read_to_string(
            &mut flate2::read::GzDecoder::new(TRACKER.gzipped()),
            &mut back,
        )
        .unwrap();
        assert_eq!(back, TRACKER.body);
    }

    #[test]
    fn gzip_only_for_browsers_that_take_it() {
        assert!(accepts_gzip(&accept("gzip, deflate, br, zstd")));
        assert!(accepts_gzip(&accept("br;q=1.0, GZIP;q=0.5")));
        assert!(accepts_gzip(&accept("*")));
        assert!(!accepts_gzip(&accept("gzip;q=0, br")));
        assert!(!accepts_gzip(&accept("identity")));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }
}
