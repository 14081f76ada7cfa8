//! Sign-in, sessions, CSRF, idle logoff, throttling and user management.

use stride_core::role::Role;

use crate::helpers::*;

#[tokio::test]
async fn sign_in_sets_a_protected_cookie_and_sign_out_ends_the_session() {
    let app = TestApp::spawn().await;
    let practice = app.practice("alpha").await;
    let owner = app.user(&practice, Role::Owner).await;
    let b = Browser::new(&app);
    let resp = b.sign_in(&owner, PASSWORD).await;
    assert_eq!(resp.status(), 303);
    let cookie = resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("stride_session="))
        .expect("session cookie");
    assert!(cookie.contains("HttpOnly"));
    assert!(cookie.contains("SameSite=Lax"));
    assert!(!cookie.contains("Secure"), "plain http in tests");
    assert_eq!(b.get("/app").await.status(), 200);

    let resp = b.post_form("/logout", &[]).await;
    assert_eq!(resp.status(), 303);
    let after = b.get("/app").await;
    assert_eq!(after.status(), 303);
    assert_eq!(after.headers()["location"], "/login");
    assert_eq!(app.store.session_count().await.unwrap(), 0);
}

#[tokio::test]
async fn cookies_are_secure_when_served_over_https() {
    let args = stride::config::ServeArgs {
        public_url: Some("https://stride.example".into()),
        ..Default::default()
    };
    let app = TestApp::spawn_with(args).await;
    let practice = app.practice("alpha").await;
    let owner = app.user(&practice, Role::Owner).await;
    let b = Browser::new(&app);
    let resp = b.sign_in(&owner, PASSWORD).await;
    let cookie = resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("stride_session="))
        .unwrap();
    assert!(cookie.contains("; Secure"));
}

#[tokio::test]
async fn wrong_passwords_are_refused_then_throttled() {
    let app = TestApp::spawn().await;
    let practice = app.practice("alpha").await;
    let owner = app.user(&practice, Role::Owner).await;
    let b = Browser::new(&app);
    for _ in 0..5 {
        let resp = b.sign_in(&owner, "not the password").await;
        assert_eq!(resp.status(), 401);
        assert!(
            resp.text()
                .await
                .unwrap()
                .contains("wrong email or password")
        );
    }
    // Now even the right password waits: the account is throttled.
    let resp = b.sign_in(&owner, PASSWORD).await;
    assert_eq!(resp.status(), 429);
    assert!(
        resp.text()
            .await
            .unwrap()
            .contains("too many failed sign-ins")
    );
    // Another account from the same address still works until the per-address limit.
    let front = app.user(&practice, Role::FrontDesk).await;
    assert_eq!(b.sign_in(&front, PASSWORD).await.status(), 303);
    // Unknown accounts get the same answer as wrong passwords.
    let resp = Browser::new(&app)
        .sign_in("nobody@alpha.example", PASSWORD)
        .await;
    assert_eq!(resp.status(), 401);
}

#[tokio::test]
async fn a_form_without_its_csrf_token_changes_nothing() {
    let app = TestApp::spawn().await;
    let practice = app.practice("alpha").await;
    let owner = app.user(&practice, Role::Owner).await;
    let b = app.login(&owner).await;
    let resp = b
        .client
        .post(format!("{}/app/settings/practice", b.base))
        .form(&[("name", "Hijacked PT"), ("idle_timeout_minutes", "15")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    let resp = b
        .client
        .post(format!("{}/app/settings/practice", b.base))
        .form(&[
            ("_csrf", "forged"),
            ("name", "Hijacked PT"),
            ("idle_timeout_minutes", "15"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    assert_eq!(
        app.store.practice(practice.id).await.unwrap().name,
        "alpha PT"
    );
    // The sign-in form is protected too.
    let resp = b
        .client
        .post(format!("{}/login", b.base))
        .form(&[("email", owner.as_str()), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    // With the token, the same change goes through.
    let resp = b
        .post_form(
            "/app/settings/practice",
            &[
                ("name", "Alpha Physical Therapy"),
                ("idle_timeout_minutes", "20"),
                ("website", ""),
            ],
        )
        .await;
    assert_eq!(resp.status(), 303);
    let p = app.store.practice(practice.id).await.unwrap();
    assert_eq!(
        (p.name.as_str(), p.idle_timeout_minutes),
        ("Alpha Physical Therapy", 20)
    );
}

#[tokio::test]
async fn an_idle_session_is_signed_out() {
    let app = TestApp::spawn().await;
    let practice = app.practice("alpha").await;
    let owner = app.user(&practice, Role::Owner).await;
    let b = app.login(&owner).await;
    assert_eq!(b.get("/app").await.status(), 200);
    // Sixteen minutes without activity, past the default 15-minute limit.
    sqlx::query("UPDATE sessions SET last_seen_at = last_seen_at - $1")
        .bind(16 * 60 * 1000i64)
        .execute(app.store.pool())
        .await
        .unwrap();
    let resp = b.get("/app").await;
    assert_eq!(resp.status(), 303);
    assert_eq!(resp.headers()["location"], "/login?expired=1");
    let (_, page) = b.text("/login?expired=1").await;
    assert!(page.contains("signed out after a period without activity"));
    assert_eq!(
        b.get("/app").await.status(),
        303,
        "the session is gone, not only hidden"
    );
}

#[tokio::test]
async fn owners_manage_users_and_a_practice_keeps_an_owner() {
    let app = TestApp::spawn().await;
    let practice = app.practice("alpha").await;
    let owner = app.user(&practice, Role::Owner).await;
    let b = app.login(&owner).await;
    let resp = b
        .post_form(
            "/app/settings/users",
            &[
                ("email", "new.hire@alpha.example"),
                ("name", "New Hire"),
                ("role", "front_desk"),
                ("password", "a-long-password"),
            ],
        )
        .await;
    assert_eq!(resp.status(), 303);
    let newbie = Browser::new(&app);
    assert_eq!(
        newbie
            .sign_in("new.hire@alpha.example", "a-long-password")
            .await
            .status(),
        303
    );
    assert_eq!(newbie.get("/app/patients").await.status(), 200);
    assert_eq!(
        newbie.get("/app/settings/users").await.status(),
        403,
        "front desk cannot manage users"
    );

    // The same email again is a clear conflict, and what was typed is kept.
    let resp = b
        .post_form(
            "/app/settings/users",
            &[
                ("email", "new.hire@alpha.example"),
                ("name", "Again"),
                ("role", "owner"),
                ("password", "a-long-password"),
            ],
        )
        .await;
    assert_eq!(resp.status(), 422);
    let body = resp.text().await.unwrap();
    assert!(body.contains("already has access"), "{body}");
    assert!(body.contains("value=\"new.hire@alpha.example\""));

    // A short password is refused with the rule.
    let resp = b
        .post_form(
            "/app/settings/users",
            &[
                ("email", "short@alpha.example"),
                ("name", "Short"),
                ("role", "clinician"),
                ("password", "short"),
            ],
        )
        .await;
    assert_eq!(resp.status(), 422);
    assert!(
        resp.text()
            .await
            .unwrap()
            .contains("at least 10 characters")
    );

    // The only owner cannot be demoted or removed.
    let me = app
        .store
        .user_by_email(&stride_core::email::EmailAddress::parse(&owner).unwrap())
        .await
        .unwrap()
        .unwrap();
    let resp = b
        .post_form(
            &format!("/app/settings/users/{}/role", me.id),
            &[("role", "marketer")],
        )
        .await;
    assert_eq!(resp.status(), 422);
    assert!(resp.text().await.unwrap().contains("at least one owner"));
    assert_eq!(
        app.store.role_in(me.id, practice.id).await.unwrap(),
        Some(Role::Owner)
    );
}

#[tokio::test]
async fn an_agency_marketer_switches_between_the_practices_they_serve() {
    let app = TestApp::spawn().await;
    let alpha = app.practice("alpha").await;
    let beta = app.practice("beta").await;
    let marketer = app.user(&alpha, Role::Marketer).await;
    let user = app
        .store
        .user_by_email(&stride_core::email::EmailAddress::parse(&marketer).unwrap())
        .await
        .unwrap()
        .unwrap();
    app.store
        .grant_role(user.id, beta.id, Role::Marketer)
        .await
        .unwrap();
    let b = app.login(&marketer).await;
    let (_, page) = b.text("/app").await;
    assert!(
        page.contains("alpha PT") && page.contains("beta PT"),
        "the switcher lists both"
    );
    // Switched from the Website section, the other practice opens on its Website section.
    let resp = b
        .post_form(
            "/app/switch-practice",
            &[
                ("practice_id", &beta.id.to_string()),
                ("section", "website"),
            ],
        )
        .await;
    assert_eq!(resp.status(), 303);
    assert_eq!(resp.headers()["location"], "/app/website");
    let (_, page) = b.text("/app/settings/locations").await;
    assert!(page.contains("beta main") && !page.contains("alpha main"));
    // A practice they do not serve cannot be switched to.
    let gamma = app.practice("gamma").await;
    let resp = b
        .post_form(
            "/app/switch-practice",
            &[("practice_id", &gamma.id.to_string())],
        )
        .await;
    assert_eq!(resp.status(), 404);
}

#[tokio::test]
async fn people_change_their_own_password_and_every_session_ends() {
    let app = TestApp::spawn().await;
    let practice = app.practice("alpha").await;
    let email = app.user(&practice, Role::FrontDesk).await;
    let laptop = app.login(&email).await;
    let phone = app.login(&email).await;
    let (status, page) = laptop.text("/app/account").await;
    assert_eq!(status, 200);
    assert!(page.contains(&email) && page.contains("alpha PT: Front desk"));

    let resp = laptop
        .post_form(
            "/app/account/password",
            &[
                ("current", "wrong guess!"),
                ("new", "a brand new secret"),
                ("confirm", "a brand new secret"),
            ],
        )
        .await;
    assert_eq!(resp.status(), 422);
    assert!(
        resp.text()
            .await
            .unwrap()
            .contains("current password is not right")
    );
    let resp = laptop
        .post_form(
            "/app/account/password",
            &[
                ("current", PASSWORD),
                ("new", "a brand new secret"),
                ("confirm", "a different one!"),
            ],
        )
        .await;
    assert_eq!(resp.status(), 422);
    assert!(resp.text().await.unwrap().contains("differ"));
    let resp = laptop
        .post_form(
            "/app/account/password",
            &[
                ("current", PASSWORD),
                ("new", "short"),
                ("confirm", "short"),
            ],
        )
        .await;
    assert_eq!(resp.status(), 422);
    assert!(
        resp.text()
            .await
            .unwrap()
            .contains("at least 10 characters")
    );

    let resp = laptop
        .post_form(
            "/app/account/password",
            &[
                ("current", PASSWORD),
                ("new", "a brand new secret"),
                ("confirm", "a brand new secret"),
            ],
        )
        .await;
    assert_eq!(resp.status(), 303);
    assert_eq!(resp.headers()["location"], "/login?password_changed=1");
    assert_eq!(laptop.get("/app").await.status(), 303, "this session ended");
    assert_eq!(
        phone.get("/app").await.status(),
        303,
        "the other session ended too"
    );
    assert_eq!(
        Browser::new(&app).sign_in(&email, PASSWORD).await.status(),
        401,
        "the old password no longer works"
    );
    assert_eq!(
        Browser::new(&app)
            .sign_in(&email, "a brand new secret")
            .await
            .status(),
        303
    );
}
