//! Sign-in and sign-out. The sign-in form is protected from cross-site posting by a double-submit
//! token (cookie and hidden field); failed attempts are throttled per account and per address.

use askama::Template;
use axum::extract::{Query, Request, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;
use stride_store::accounts::LoginError;
use stride_store::audit::Actor;
use stride_store::crypto::{constant_time_eq, random_token};

use crate::AppState;
use crate::auth::{LOGIN_COOKIE, SESSION_COOKIE, client_ip, cookie, cookie_value};
use crate::error::{AppError, PageResult};

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    token: &'a str,
    email: &'a str,
    error: Option<String>,
    notice: Option<&'static str>,
}

#[derive(Deserialize, Default)]
pub struct LoginQuery {
    expired: Option<String>,
    signed_out: Option<String>,
    password_changed: Option<String>,
}

fn login_page(
    state: &AppState,
    email: &str,
    error: Option<String>,
    notice: Option<&'static str>,
    status: axum::http::StatusCode,
) -> PageResult {
    let token = random_token(24);
    let body = LoginPage {
        token: &token,
        email,
        error,
        notice,
    }
    .render()?;
    let mut resp = (status, Html(body)).into_response();
    resp.headers_mut().append(
        header::SET_COOKIE,
        cookie(
            LOGIN_COOKIE,
            &token,
            Some(3600),
            state.config.secure_cookies,
        ),
    );
    Ok(resp)
}

pub async fn login_form(State(state): State<AppState>, Query(q): Query<LoginQuery>) -> PageResult {
    let notice = if q.expired.is_some() {
        Some("You were signed out after a period without activity. Sign in again to continue.")
    } else if q.password_changed.is_some() {
        Some(
            "Your password was changed and every session signed out. Sign in with the new password.",
        )
    } else if q.signed_out.is_some() {
        Some("You are signed out.")
    } else {
        None
    };
    login_page(&state, "", None, notice, axum::http::StatusCode::OK)
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct LoginForm {
    email: String,
    password: String,
    login_token: String,
}

pub async fn login(State(state): State<AppState>, req: Request) -> PageResult {
    let ip = client_ip(&state, &req);
    let expected = cookie_value(req.headers(), LOGIN_COOKIE).unwrap_or_default();
    let bytes = axum::body::to_bytes(req.into_body(), 64 * 1024)
        .await
        .map_err(|_| AppError::BadRequest("the form is too large".into()))?;
    let form: LoginForm = serde_urlencoded::from_bytes(&bytes).unwrap_or_default();
    if expected.is_empty() || !constant_time_eq(expected.as_bytes(), form.login_token.as_bytes()) {
        return login_page(
            &state,
            &form.email,
            Some("The sign-in form expired. Please try again.".into()),
            None,
            axum::http::StatusCode::FORBIDDEN,
        );
    }
    let user = match state
        .store
        .verify_login(&form.email, &form.password, &ip)
        .await
    {
        Ok(user) => user,
        Err(LoginError::Store(e)) => return Err(e.into()),
        Err(e @ LoginError::Throttled) => {
            return login_page(
                &state,
                &form.email,
                Some(e.to_string()),
                None,
                axum::http::StatusCode::TOO_MANY_REQUESTS,
            );
        }
        Err(e) => {
            return login_page(
                &state,
                &form.email,
                Some(e.to_string()),
                None,
                axum::http::StatusCode::UNAUTHORIZED,
            );
        }
    };
    let practices = state.store.practices_of(user.id).await?;
    let Some((practice, _)) = practices.first() else {
        return login_page(
            &state,
            &form.email,
            Some(LoginError::NoPractice.to_string()),
            None,
            axum::http::StatusCode::FORBIDDEN,
        );
    };
    let token = state.store.create_session(user.id, practice.id).await?;
    let actor = Actor {
        label: format!("{} <{}>", user.name, user.email),
        user_id: Some(user.id),
        token_id: None,
        ip,
    };
    state
        .store
        .audit(Some(practice.id), &actor, "sign_in", "session", None, "")
        .await?;
    let mut resp = Redirect::to("/app").into_response();
    let secure = state.config.secure_cookies;
    resp.headers_mut().append(
        header::SET_COOKIE,
        cookie(SESSION_COOKIE, &token, None, secure),
    );
    resp.headers_mut().append(
        header::SET_COOKIE,
        cookie(LOGIN_COOKIE, "", Some(0), secure),
    );
    Ok(resp)
}

/// Ends the session (the CSRF check ran in the session middleware).
pub async fn logout(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
) -> PageResult<Response> {
    if let Some(token) = cookie_value(&headers, SESSION_COOKIE) {
        state.store.delete_session(&token).await?;
    }
    let mut resp = Redirect::to("/login?signed_out=1").into_response();
    resp.headers_mut().append(
        header::SET_COOKIE,
        cookie(SESSION_COOKIE, "", Some(0), state.config.secure_cookies),
    );
    Ok(resp)
}
