//! The signed-in person's own account: who they are, where they have access, and changing their
//! password (which signs out every session of theirs, this one included).

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect};
use axum::{Extension, Form};
use serde::Deserialize;
use stride_core::role::Role;
use stride_store::accounts::LoginError;

use super::{Done, Layout, layout, render, unprocessable};
use crate::AppState;
use crate::auth::Principal;
use crate::error::{AppError, PageResult};

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    l: Layout,
    email: String,
    practices: Vec<(String, Role)>,
    error: Option<String>,
}

async fn page(state: &AppState, p: &Principal, error: Option<String>) -> PageResult {
    let user = p.user.as_ref().ok_or(AppError::Forbidden)?;
    let l = layout(state, p, "account", &Done::default()).await?;
    let practices = state
        .store
        .practices_of(user.id)
        .await?
        .into_iter()
        .map(|(practice, role)| (practice.name, role))
        .collect();
    let page = AccountPage {
        l,
        email: user.email.clone(),
        practices,
        error,
    };
    if page.error.is_some() {
        unprocessable(&page)
    } else {
        render(&page)
    }
}

pub async fn show(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(_): Query<Done>,
) -> PageResult {
    page(&state, &p, None).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct PasswordForm {
    current: String,
    new: String,
    confirm: String,
}

pub async fn change_password(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Form(f): Form<PasswordForm>,
) -> PageResult {
    let user = p.user.clone().ok_or(AppError::Forbidden)?;
    if f.new != f.confirm {
        return page(
            &state,
            &p,
            Some("the new password and its confirmation differ".into()),
        )
        .await;
    }
    match state
        .store
        .verify_login(&user.email, &f.current, &p.actor.ip)
        .await
    {
        Ok(_) => {}
        Err(LoginError::Store(e)) => return Err(e.into()),
        Err(LoginError::WrongCredentials) => {
            return page(&state, &p, Some("the current password is not right".into())).await;
        }
        Err(e) => return page(&state, &p, Some(e.to_string())).await,
    }
    if let Err(e) = state.store.set_password(user.id, &f.new).await {
        return page(&state, &p, Some(super::form_error(e.into())?)).await;
    }
    state
        .store
        .audit(
            Some(p.practice_id),
            &p.actor,
            "change_password",
            "user",
            Some(user.id),
            "",
        )
        .await?;
    Ok(Redirect::to("/login?password_changed=1").into_response())
}
