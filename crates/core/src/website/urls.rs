//! Page and referrer URLs reduced to what analytics needs: host, path and
//! campaign tags. Every other query parameter is dropped before storage, since
//! search terms, tokens and "?email=" links are where personal data leaks in.

use serde::{Deserialize, Serialize};

use super::truncate_chars;

/// Query parameters always kept: UTM tags and ad click ids (and any other `utm_` tag, see `is_utm_tag`).
pub const CAMPAIGN_PARAMS: &[&str] = &[
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "gclid",
    "gbraid",
    "wbraid",
    "msclkid",
    "fbclid",
];

pub const MAX_URL_CHARS: usize = 2000;
pub const MAX_PATH_CHARS: usize = 500;
pub const MAX_VALUE_CHARS: usize = 200;
const MAX_HOST_CHARS: usize = 253;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CleanUrl {
    /// Lowercase, without "www." or port.
    pub host: String,
    /// Starts with '/', still percent-encoded, at most 500 characters. A
    /// hash route ("#/book") is part of it because single-page apps use the
    /// fragment as their path.
    pub path: String,
    /// Campaign and allow-listed parameters in their original order; keys are
    /// spelled as in the list that matched, values are decoded and capped.
    pub query: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error("The page address is empty")]
    Empty,
    #[error("The page address is too long (the limit is 2,000 characters)")]
    TooLong,
    #[error("The page address contains control characters such as line breaks")]
    ControlCharacter,
    #[error("Only full web addresses starting with http:// or https:// can be tracked")]
    NotHttp,
    #[error("The page address has no site name after http://")]
    NoHost,
    #[error("The page address has a site name with characters that aren’t allowed")]
    BadHost,
    #[error("The page address has an invalid port number")]
    BadPort,
}

/// Parses `scheme://[userinfo@]host[:port][/path][?query][#fragment]` by
/// hand, keeping only the parts listed on [`CleanUrl`]. `allow` names extra
/// query parameters to keep besides [`CAMPAIGN_PARAMS`].
pub fn clean_url(raw: &str, allow: &[&str]) -> Result<CleanUrl, UrlError> {
    clean_url_in_mode(raw, allow, false)
}

/// [`clean_url`] for a site that routes by the fragment: with `hash_mode` (Plausible's `h: 1`) any
/// fragment is part of the path ("#pricing" as well as "#/book").
pub fn clean_url_in_mode(raw: &str, allow: &[&str], hash_mode: bool) -> Result<CleanUrl, UrlError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(UrlError::Empty);
    }
    // Checking bytes first keeps a multi-megabyte input from being walked.
    if raw.len() > MAX_URL_CHARS * 4 || raw.chars().count() > MAX_URL_CHARS {
        return Err(UrlError::TooLong);
    }
    // Browsers never send raw control characters; one means a forged or
    // header-injection attempt.
    if raw.chars().any(char::is_control) {
        return Err(UrlError::ControlCharacter);
    }
    let rest = strip_scheme(raw).ok_or(UrlError::NotHttp)?;

    // Browsers treat '\' like '/' in http(s) URLs, so it ends the authority
    // too; otherwise "http://evil.com\@good.com" would disagree with them.
    let authority_end = rest.find(['/', '?', '#', '\\']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let host = parse_host(authority)?;

    let (before_fragment, fragment) = match tail.split_once('#') {
        Some((before, fragment)) => (before, Some(fragment)),
        None => (tail, None),
    };
    let (path, query) = match before_fragment.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (before_fragment, None),
    };
    let mut path = path.replace('\\', "/");
    if path.is_empty() {
        path.push('/');
    }

    let mut params = Vec::new();
    if let Some(query) = query {
        collect_params(query, allow, &mut params);
    }
    if let Some(route) = fragment.filter(|f| f.starts_with('/') || hash_mode && !f.is_empty()) {
        // Hash routers carry their own query ("#/book?utm_source=x"); it is
        // filtered like the real one instead of leaking into the path.
        let (route, route_query) = match route.split_once('?') {
            Some((route, query)) => (route, Some(query)),
            None => (route, None),
        };
        path.push('#');
        path.push_str(route);
        if let Some(query) = route_query {
            collect_params(query, allow, &mut params);
        }
    }
    truncate_chars(&mut path, MAX_PATH_CHARS);

    Ok(CleanUrl {
        host,
        path,
        query: params,
    })
}

/// The referrer's host, normalized like [`CleanUrl::host`]; `None` for
/// anything that is not a parsable http(s) URL.
pub fn referrer_host(raw: &str) -> Option<String> {
    clean_url(raw, &[]).ok().map(|u| u.host)
}

fn strip_scheme(raw: &str) -> Option<&str> {
    ["https://", "http://"].into_iter().find_map(|scheme| {
        raw.get(..scheme.len())
            .filter(|s| s.eq_ignore_ascii_case(scheme))
            .map(|_| &raw[scheme.len()..])
    })
}

fn parse_host(authority: &str) -> Result<String, UrlError> {
    // The last '@' ends the userinfo, as in browsers: "http://evil.com@good.com"
    // is a visit to good.com.
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);

    if let Some(bracketed) = host_port.strip_prefix('[') {
        let (ip, after) = bracketed.split_once(']').ok_or(UrlError::BadHost)?;
        if !after.is_empty() {
            check_port(after.strip_prefix(':').ok_or(UrlError::BadPort)?)?;
        }
        if ip.is_empty()
            || !ip
                .chars()
                .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
        {
            return Err(UrlError::BadHost);
        }
        return Ok(format!("[{}]", ip.to_ascii_lowercase()));
    }

    let host = match host_port.rsplit_once(':') {
        Some((host, port)) => {
            check_port(port)?;
            host
        }
        None => host_port,
    };
    let lower = host.to_lowercase();
    let host = lower.strip_suffix('.').unwrap_or(&lower);
    if host.is_empty() {
        return Err(UrlError::NoHost);
    }
    let valid = host.chars().count() <= MAX_HOST_CHARS
        && host.split('.').all(|label| {
            !label.is_empty()
                && label
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
        });
    if !valid {
        return Err(UrlError::BadHost);
    }
    let host = host
        .strip_prefix("www.")
        .filter(|rest| !rest.is_empty())
        .unwrap_or(host);
    Ok(host.to_owned())
}

/// The port is dropped, but a malformed one means the URL was not built by a
/// browser. An empty port ("a.com:/") is valid, as in browsers.
fn check_port(port: &str) -> Result<(), UrlError> {
    let valid = port.is_empty()
        || (port.bytes().all(|b| b.is_ascii_digit()) && port.parse::<u16>().is_ok());
    if valid {
        Ok(())
    } else {
        Err(UrlError::BadPort)
    }
}

fn collect_params(query: &str, allow: &[&str], out: &mut Vec<(String, String)>) {
    for pair in query.split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if key.is_empty() {
            continue;
        }
        if let Some(name) = CAMPAIGN_PARAMS
            .iter()
            .chain(allow)
            .find(|name| name.eq_ignore_ascii_case(key))
        {
            out.push(((*name).to_owned(), decode_value(value)));
        } else if is_utm_tag(key) {
            out.push((key.to_ascii_lowercase(), decode_value(value)));
        }
    }
}

/// Any other UTM tag (`utm_id`, `utm_source_platform`, …), as the tracker keeps them: `utm_` and up to 40
/// letters, digits or underscores.
fn is_utm_tag(key: &str) -> bool {
    key.len() > 4
        && key.len() <= 44
        && key.as_bytes()[..4].eq_ignore_ascii_case(b"utm_")
        && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// '+' becomes a space and valid %XX escapes are decoded; if the result is not
/// UTF-8 the raw value is kept, so nothing is silently mangled.
fn decode_value(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let digit = |at: usize| bytes.get(at).copied().and_then(hex);
                if let (Some(hi), Some(lo)) = (digit(i + 1), digit(i + 2)) {
                    out.push((hi << 4) | lo);
                    i += 3;
                    continue;
                }
                out.push(b'%');
            }
            b => out.push(b),
        }
        i += 1;
    }
    // A decoded %0A must not smuggle a line break into reports or exports.
    let mut value: String = match String::from_utf8(out) {
        Ok(decoded) => decoded.chars().filter(|c| !c.is_control()).collect(),
        Err(_) => raw.to_owned(),
    };
    truncate_chars(&mut value, MAX_VALUE_CHARS);
    value
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ok(raw: &str) -> CleanUrl {
        clean_url(raw, &[]).unwrap_or_else(|e| panic!("{raw}: {e}"))
    }

    fn pairs(url: &CleanUrl) -> Vec<(&str, &str)> {
        url.query
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }

    #[test]
    fn keeps_host_path_and_campaign_tags() {
        let u = ok(concat!(
            "https://WWW.RiversidePT.com:443/services/back-pain",
            "?utm_source=Google&q=my+knee&UTM_Medium=cpc&email=a%40b.com#top",
        ));
        assert_eq!(u.host, "riversidept.com");
        assert_eq!(u.path, "/services/back-pain");
        assert_eq!(pairs(&u), [("utm_source", "Google"), ("utm_medium", "cpc")]);
    }

    #[test]
    fn a_plain_fragment_is_part_of_the_path_only_in_hash_mode() {
        let raw = "https://a.com/app#pricing?utm_source=x&name=Jane";
        assert_eq!(ok(raw).path, "/app");
        let u = clean_url_in_mode(raw, &[], true).unwrap();
        assert_eq!(u.path, "/app#pricing");
        assert_eq!(pairs(&u), [("utm_source", "x")]);
        assert_eq!(
            clean_url_in_mode("https://a.com/#", &[], true)
                .unwrap()
                .path,
            "/"
        );
    }

    #[test]
    fn keeps_every_utm_tag_but_nothing_that_only_starts_like_one() {
        // A key whose fourth byte falls inside a character (found by the proptest below).
        assert!(
            ok("https://a.com/?ut\u{e9}x=1&utm\u{e9}=2")
                .query
                .is_empty()
        );
        let u =
            ok("https://a.com/?UTM_ID=42&utm_source_platform=Google+Ads&utm_=x&utm_a-b=y&utmz=z");
        assert_eq!(
            pairs(&u),
            [("utm_id", "42"), ("utm_source_platform", "Google Ads")]
        );
    }

    #[test]
    fn path_defaults_and_encoding() {
        assert_eq!(ok("http://a.com").path, "/");
        assert_eq!(ok("http://a.com?utm_source=x").path, "/");
        assert_eq!(ok("http://a.com#x").path, "/");
        assert_eq!(ok("https://a.com/caf%C3%A9").path, "/caf%C3%A9");
        assert_eq!(ok("https://a.com\\b\\c").path, "/b/c");
        assert_eq!(ok("HTTPS://A.COM./x").host, "a.com");
    }

    #[test]
    fn hash_routes_are_paths() {
        assert_eq!(ok("https://a.com/#/book").path, "/#/book");
        assert_eq!(ok("https://a.com/app#/book/new").path, "/app#/book/new");
        assert_eq!(ok("https://a.com/#section-2").path, "/");
        let u = ok("https://a.com/?utm_source=fb#/book?utm_campaign=spring&name=Jane");
        assert_eq!(u.path, "/#/book");
        assert_eq!(
            pairs(&u),
            [("utm_source", "fb"), ("utm_campaign", "spring")]
        );
    }

    #[test]
    fn query_values_are_decoded_carefully() {
        let u = ok(concat!(
            "https://a.com/?utm_campaign=Spring+Sale%21",
            "&utm_term=%E2%9C%93&utm_content=%FF%FE&utm_medium=50%",
            "&utm_source=%zz&gclid&fbclid=&=x&&utm_source=a=b%0Ac",
        ));
        assert_eq!(
            pairs(&u),
            [
                ("utm_campaign", "Spring Sale!"),
                ("utm_term", "✓"),
                ("utm_content", "%FF%FE"),
                ("utm_medium", "50%"),
                ("utm_source", "%zz"),
                ("gclid", ""),
                ("fbclid", ""),
                ("utm_source", "a=bc"),
            ]
        );
    }

    #[test]
    fn allow_list_extends_campaign_params() {
        let u = clean_url(
            "https://a.com/?ref=doc&Page=2&token=secret",
            &["ref", "page"],
        )
        .unwrap();
        assert_eq!(pairs(&u), [("ref", "doc"), ("page", "2")]);
    }

    #[test]
    fn limits() {
        let long_value = format!("https://a.com/?utm_term={}", "é".repeat(300));
        let u = ok(&long_value);
        assert_eq!(u.query[0].1.chars().count(), MAX_VALUE_CHARS);
        let long_path = format!("https://a.com/{}", "ü".repeat(800));
        let u = ok(&long_path);
        assert_eq!(u.path.chars().count(), MAX_PATH_CHARS);
        let at_limit = format!("https://a.com/{}", "a".repeat(MAX_URL_CHARS - 14));
        assert_eq!(at_limit.chars().count(), MAX_URL_CHARS);
        assert!(clean_url(&at_limit, &[]).is_ok());
        let over = format!("{at_limit}a");
        assert_eq!(clean_url(&over, &[]), Err(UrlError::TooLong));
        let huge = "https://a.com/".to_owned() + &"x".repeat(1_000_000);
        assert_eq!(clean_url(&huge, &[]), Err(UrlError::TooLong));
    }

    #[test]
    fn userinfo_and_ports() {
        assert_eq!(ok("http://evil.com@good.com/").host, "good.com");
        assert_eq!(ok("http://user:pass@good.com:8080/x").host, "good.com");
        assert_eq!(ok("http://a@b@good.com/").host, "good.com");
        assert_eq!(ok("http://good.com:/").host, "good.com");
        // Browsers read this as evil.com with path "/@good.com".
        let u = ok("http://evil.com\\@good.com/");
        assert_eq!(
            (u.host.as_str(), u.path.as_str()),
            ("evil.com", "/@good.com/")
        );
        assert_eq!(ok("http://[::1]:3000/").host, "[::1]");
        assert_eq!(ok("http://127.0.0.1:8000/x").host, "127.0.0.1");
        assert_eq!(
            clean_url("http://a.com:99999/", &[]),
            Err(UrlError::BadPort)
        );
        assert_eq!(clean_url("http://a.com:80a/", &[]), Err(UrlError::BadPort));
        assert_eq!(clean_url("http://[::1/", &[]), Err(UrlError::BadHost));
    }

    #[test]
    fn unicode_hosts() {
        assert_eq!(ok("https://Bücher.de/").host, "bücher.de");
        assert_eq!(
            ok("https://www.ＥＸＡＭＰＬＥ.com/").host,
            "ｅｘａｍｐｌｅ.com"
        );
        assert_eq!(ok("https://xn--bcher-kva.de/").host, "xn--bcher-kva.de");
        assert_eq!(
            clean_url("https://bü cher.de/", &[]),
            Err(UrlError::BadHost)
        );
    }

    #[test]
    fn rejects_hostile_and_non_http() {
        let cases: &[(&str, UrlError)] = &[
            ("", UrlError::Empty),
            ("   ", UrlError::Empty),
            ("javascript:alert(1)", UrlError::NotHttp),
            ("JAVASCRIPT://a.com/%0Aalert(1)", UrlError::NotHttp),
            (
                "data:text/html,<script>alert(1)</script>",
                UrlError::NotHttp,
            ),
            ("/relative/path", UrlError::NotHttp),
            ("//a.com/protocol-relative", UrlError::NotHttp),
            ("ftp://a.com/", UrlError::NotHttp),
            ("http:/a.com", UrlError::NotHttp),
            ("a.com", UrlError::NotHttp),
            (
                "https://a.com/\nSet-Cookie: x=1",
                UrlError::ControlCharacter,
            ),
            ("https://a.com/x\u{0}", UrlError::ControlCharacter),
            ("https://a.com/x\u{85}y", UrlError::ControlCharacter),
            ("https://a.com/x\ty", UrlError::ControlCharacter),
            ("https://", UrlError::NoHost),
            ("https:///path", UrlError::NoHost),
            ("https://user@/path", UrlError::NoHost),
            ("https://:80/", UrlError::NoHost),
            ("https://./", UrlError::NoHost),
            ("https://a..com/", UrlError::BadHost),
            ("https://<script>.com/", UrlError::BadHost),
            ("https://\"a\".com/", UrlError::BadHost),
        ];
        for (raw, want) in cases {
            assert_eq!(clean_url(raw, &[]).as_ref(), Err(want), "{raw:?}");
        }
        // Surrounding whitespace, including a trailing line break, is trimmed.
        assert_eq!(ok(" https://a.com/x\r\n").path, "/x");
        // An encoded '/' does not end the userinfo.
        assert_eq!(ok("https://a.com%2F@b/").host, "b");
        assert_eq!(
            UrlError::NotHttp.to_string(),
            "Only full web addresses starting with http:// or https:// can be tracked"
        );
    }

    #[test]
    fn referrer_hosts() {
        assert_eq!(
            referrer_host("https://www.google.com/search?q=pt+near+me").as_deref(),
            Some("google.com")
        );
        assert_eq!(
            referrer_host("http://L.Facebook.com/").as_deref(),
            Some("l.facebook.com")
        );
        assert_eq!(referrer_host("android-app://com.google.android.gm/"), None);
        assert_eq!(referrer_host("not a url"), None);
        assert_eq!(referrer_host(""), None);
    }

    proptest! {
        #[test]
        fn never_panics(
            s in any::<String>(),
            allow in proptest::collection::vec(any::<String>(), 0..3),
        ) {
            let allow: Vec<&str> = allow.iter().map(String::as_str).collect();
            let _ = clean_url(&s, &allow);
            let _ = referrer_host(&s);
        }

        #[test]
        fn never_panics_on_url_shaped_input(
            s in "(https?|HTTP)://[a-zA-Z0-9@:.\\[\\]é%/?#=&+_-]{0,60}",
        ) {
            if let Ok(u) = clean_url(&s, &["a"]) {
                prop_assert!(u.path.starts_with('/'));
                prop_assert!(!u.host.is_empty());
                prop_assert!(u.path.chars().count() <= MAX_PATH_CHARS);
                prop_assert!(u.query.iter().all(|(_, v)| v.chars().count() <= MAX_VALUE_CHARS));
            }
        }
    }
}
