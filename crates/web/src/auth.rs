//! Who is calling: session cookies for pages, bearer tokens (or the session plus a CSRF header) for
//! the API. Middleware resolves the caller once into a `Principal` and checks the CSRF token of
//! every state-changing form before a handler runs; handlers then only ask `require(permission)`.

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use stride_core::role::{Permission, Role};
use stride_store::accounts::{SessionLookup, User};
use stride_store::audit::Actor;
use stride_store::crypto::constant_time_eq;

use crate::AppState;
use crate::error::{ApiError, AppError};

pub const SESSION_COOKIE: &str = "stride_session";
pub const LOGIN_COOKIE: &str = "stride_login";
pub const CSRF_FIELD: &str = "_csrf";
pub const CSRF_HEADER: &str = "x-csrf-token";
/// Largest form body the CSRF check reads; larger bodies are refused before a handler runs.
const MAX_FORM_BYTES: usize = 1024 * 1024;

/// The resolved caller of a request.
#[derive(Debug, Clone)]
pub struct Principal {
    pub practice_id: i64,
    pub role: Role,
    pub actor: Actor,
    pub user: Option<User>,
    /// The session's CSRF token, for forms rendered to this caller.
    pub csrf: String,
}

impl Principal {
    pub fn can(&self, p: Permission) -> bool {
        self.role.allows(p)
    }

    pub fn require(&self, p: Permission) -> Result<(), AppError> {
        if self.can(p) {
            Ok(())
        } else {
            Err(AppError::Forbidden)
        }
    }
}

pub fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// A `Set-Cookie` value: HttpOnly and SameSite=Lax always, Secure when served over https.
pub fn cookie(name: &str, value: &str, max_age_secs: Option<i64>, secure: bool) -> HeaderValue {
    let mut c = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax");
    if secure {
        c.push_str("; Secure");
    }
    if let Some(age) = max_age_secs {
        c.push_str(&format!("; Max-Age={age}"));
    }
    HeaderValue::from_str(&c).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The client address: the socket peer, or behind a trusted proxy the address it forwarded for
/// (see `TrustedProxies::client`).
pub fn client_ip(state: &AppState, req: &Request) -> String {
    let peer = req
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip());
    state
        .config
        .trusted_proxies
        .client(peer, req.headers())
        .map(|ip| ip.to_string())
        .unwrap_or_default()
}

fn user_actor(user: &User, ip: String) -> Actor {
    Actor {
        label: format!("{} <{}>", user.name, user.email),
        user_id: Some(user.id),
        token_id: None,
        ip,
    }
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Compares the submitted CSRF token (header, or the `_csrf` field of a urlencoded form) with the
/// expected one, handing the request back with its body intact.
async fn check_csrf(req: Request, expected: &str) -> Result<Request, AppError> {
    if let Some(h) = req.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok()) {
        return if constant_time_eq(h.as_bytes(), expected.as_bytes()) {
            Ok(req)
        } else {
            Err(AppError::Csrf)
        };
    }
    let (parts, body) = req.into_parts();
    let bytes = to_bytes(body, MAX_FORM_BYTES)
        .await
        .map_err(|_| AppError::BadRequest("the form is too large".into()))?;
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let submitted = match content_type.strip_prefix("multipart/form-data") {
        Some(params) => multipart_value(&bytes, params, CSRF_FIELD),
        None => form_urlencoded_value(&bytes, CSRF_FIELD),
    };
    match submitted {
        Some(token) if constant_time_eq(token.as_bytes(), expected.as_bytes()) => {
            Ok(Request::from_parts(parts, Body::from(bytes)))
        }
        _ => Err(AppError::Csrf),
    }
}

/// A small text field of a multipart form (a file upload's CSRF token), found by its name.
fn multipart_value(body: &[u8], params: &str, key: &str) -> Option<String> {
    let boundary = params
        .split(';')
        .filter_map(|p| p.trim().strip_prefix("boundary="))
        .next()?
        .trim_matches('"');
    let delimiter = format!("--{boundary}");
    let text = String::from_utf8_lossy(body);
    let wanted = format!("name=\"{key}\"");
    text.split(delimiter.as_str()).find_map(|part| {
        let (head, value) = part.split_once("\r\n\r\n")?;
        let disposition = head
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with("content-disposition:"))?;
        let named = disposition.split(';').any(|p| p.trim() == wanted);
        named.then(|| value.strip_suffix("\r\n").unwrap_or(value).to_string())
    })
}

fn form_urlencoded_value(body: &[u8], key: &str) -> Option<String> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
        .ok()?
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
}

/// Guards `/app`: a live session or a redirect to the sign-in page; CSRF on every unsafe method.
pub async fn require_session(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let ip = client_ip(&state, &req);
    let Some(token) = cookie_value(req.headers(), SESSION_COOKIE) else {
        return Redirect::to("/login").into_response();
    };
    let session = match state.store.session(&token).await {
        Ok(SessionLookup::Active(s)) => s,
        Ok(SessionLookup::Expired) => {
            let mut resp = Redirect::to("/login?expired=1").into_response();
            resp.headers_mut().append(
                header::SET_COOKIE,
                cookie(SESSION_COOKIE, "", Some(0), state.config.secure_cookies),
            );
            return resp;
        }
        Ok(SessionLookup::Missing) => return Redirect::to("/login").into_response(),
        Err(e) => return AppError::from(e).into_response(),
    };
    let mut req = req;
    if !is_safe(req.method()) {
        req = match check_csrf(req, &session.csrf_token).await {
            Ok(r) => r,
            Err(e) => return e.into_response(),
        };
    }
    let principal = Principal {
        practice_id: session.practice_id,
        role: session.role,
        actor: user_actor(&session.user, ip),
        user: Some(session.user),
        csrf: session.csrf_token,
    };
    req.extensions_mut().insert(principal);
    next.run(req).await
}

/// Guards `/api/v1`: a bearer token, or the browser session with the CSRF token in a header.
pub async fn require_api_caller(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    match api_principal(&state, req).await {
        Ok(req) => next.run(req).await,
        Err(e) => e.into_response(),
    }
}

async fn api_principal(state: &AppState, mut req: Request) -> Result<Request, ApiError> {
    let ip = client_ip(state, &req);
    let bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|v| v.trim().to_string());
    let principal = if let Some(secret) = bearer {
        let token = state
            .store
            .api_token(&secret)
            .await?
            .ok_or(AppError::Unauthorized)?;
        Principal {
            practice_id: token.practice_id,
            role: token.role,
            actor: Actor {
                label: format!("API token “{}” ({}…)", token.name, token.prefix),
                user_id: None,
                token_id: Some(token.id),
                ip,
            },
            user: None,
            csrf: String::new(),
        }
    } else if let Some(cookie) = cookie_value(req.headers(), SESSION_COOKIE) {
        let SessionLookup::Active(session) = state.store.session(&cookie).await? else {
            return Err(AppError::Unauthorized.into());
        };
        if !is_safe(req.method()) {
            let header = req
                .headers()
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if !constant_time_eq(header.as_bytes(), session.csrf_token.as_bytes()) {
                return Err(AppError::Csrf.into());
            }
        }
        Principal {
            practice_id: session.practice_id,
            role: session.role,
            actor: user_actor(&session.user, ip),
            user: Some(session.user),
            csrf: session.csrf_token,
        }
    } else {
        return Err(AppError::Unauthorized.into());
    };
    req.extensions_mut().insert(principal);
    Ok(req)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_multipart_forms_csrf_field_is_found_by_its_exact_name() {
        let body = "--XyZ\r\nContent-Disposition: form-data; name=\"_csrf_other\"\r\n\r\nnope\r\n\
                    --XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\n\r\nname=\"_csrf\"\r\n\
                    --XyZ\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\ntok123\r\n--XyZ--\r\n";
        assert_eq!(
            multipart_value(body.as_bytes(), "; boundary=XyZ", "_csrf").as_deref(),
            Some("tok123")
        );
        assert_eq!(
            multipart_value(body.as_bytes(), "; boundary=\"XyZ\"", "_csrf").as_deref(),
            Some("tok123")
        );
        assert_eq!(multipart_value(body.as_bytes(), "", "_csrf"), None);
        assert_eq!(multipart_value(b"garbage", "; boundary=XyZ", "_csrf"), None);
    }
}
