//! Test harness: a fresh database per test (a temp SQLite file, or a new PostgreSQL database), the
//! real application on a random port, and an HTTP client that keeps cookies like a browser.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use reqwest::redirect::Policy;
use stride::Application;
use stride::config::ServeArgs;
use stride_core::email::EmailAddress;
use stride_core::role::Role;
use stride_core::slug::Slug;
use stride_store::tenancy::Practice;
use stride_store::{Keyring, Store};
use tokio::sync::oneshot;

pub const PASSWORD: &str = "correct horse battery";

/// Everything the application logged during this test process.
pub fn captured_logs() -> String {
    String::from_utf8_lossy(&log_buffer().lock().unwrap()).to_string()
}

fn log_buffer() -> &'static Arc<Mutex<Vec<u8>>> {
    static BUF: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    BUF.get_or_init(|| Arc::new(Mutex::new(Vec::new())))
}

struct BufWriter(Arc<Mutex<Vec<u8>>>);

impl Write for BufWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn init_logs() {
    static INIT: OnceLock<()> = OnceLock::new();
    INIT.get_or_init(|| {
        let buf = log_buffer().clone();
        let _ = tracing_subscriber::fmt()
            .with_env_filter("debug,sqlx=debug,hyper=info,reqwest=info,h2=info")
            .with_ansi(false)
            .with_writer(move || BufWriter(buf.clone()))
            .try_init();
    });
}

/// A database for one test.
pub struct TestDb {
    pub url: String,
    pub dir: tempfile::TempDir,
    pub postgres: bool,
}

impl TestDb {
    pub async fn new() -> TestDb {
        let dir = tempfile::tempdir().unwrap();
        match std::env::var("STRIDE_TEST_DATABASE_URL")
            .ok()
            .filter(|u| !u.is_empty())
        {
            Some(admin) => {
                let name = format!(
                    "stride_test_{}",
                    stride_store::crypto::random_token(9)
                        .to_lowercase()
                        .replace(['-', '_'], "x")
                );
                sqlx::any::install_default_drivers();
                let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&admin)
                    .await
                    .expect("connect to the test PostgreSQL server");
                sqlx::Executor::execute(
                    &mut conn,
                    sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")),
                )
                .await
                .unwrap();
                let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
                TestDb {
                    url: format!("{base}/{name}"),
                    dir,
                    postgres: true,
                }
            }
            None => {
                let url = stride_store::sqlite_url(dir.path());
                TestDb {
                    url,
                    dir,
                    postgres: false,
                }
            }
        }
    }
}

pub struct TestApp {
    pub addr: String,
    pub store: Store,
    pub db: TestDb,
    pub keys: Keyring,
    stop: Option<oneshot::Sender<()>>,
    done: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(ServeArgs::default()).await
    }

    pub async fn spawn_with(mut args: ServeArgs) -> TestApp {
        init_logs();
        let db = TestDb::new().await;
        let keys = Keyring::generate();
        let store = Store::open(&db.url, keys.clone())
            .await
            .expect("open store");
        store.verify_keys().await.unwrap();
        args.listen = "127.0.0.1:0".parse().unwrap();
        let app = Application::build(store.clone(), args)
            .await
            .expect("build app");
        let addr = format!("http://{}", app.local_addr());
        let (stop, stopped) = oneshot::channel::<()>();
        let done = tokio::spawn(app.run_until_stopped(async move {
            let _ = stopped.await;
        }));
        TestApp {
            addr,
            store,
            db,
            keys,
            stop: Some(stop),
            done: Some(done),
        }
    }

    /// Stops the server the way SIGTERM does and waits until it has finished.
    pub async fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(done) = self.done.take() {
            done.await.unwrap().unwrap();
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.addr, path)
    }

    /// A new practice with one location, and a user of each requested role.
    pub async fn practice(&self, slug: &str) -> Practice {
        let org = self
            .store
            .create_organization(&format!("{slug} group"), "group")
            .await
            .unwrap();
        let practice = self
            .store
            .create_practice(org.id, &Slug::parse(slug).unwrap(), &format!("{slug} PT"))
            .await
            .unwrap();
        self.store
            .create_location(
                practice.id,
                &stride_store::tenancy::LocationInput {
                    name: format!("{slug} main"),
                    address: "1 Main St".into(),
                    main_phone: stride_core::phone::PhoneE164::parse("(312) 555-0100").unwrap(),
                    time_zone: stride_core::tz::TimeZoneName::parse("America/Chicago").unwrap(),
                    hours: stride_core::hours::WeeklyHours::parse("Mon-Fri 08:00-17:00").unwrap(),
                },
            )
            .await
            .unwrap();
        practice
    }

    /// Creates a user with a role in a practice; the email is ROLE@SLUG.example.
    pub async fn user(&self, practice: &Practice, role: Role) -> String {
        let email = format!(
            "{}@{}.example",
            role.as_str().replace('_', ""),
            practice.slug
        );
        let parsed = EmailAddress::parse(&email).unwrap();
        let user = match self.store.user_by_email(&parsed).await.unwrap() {
            Some(u) => u,
            None => self
                .store
                .create_user(
                    &parsed,
                    &format!("{} of {}", role.label(), practice.slug),
                    PASSWORD,
                )
                .await
                .unwrap(),
        };
        self.store
            .grant_role(user.id, practice.id, role)
            .await
            .unwrap();
        email
    }

    pub async fn token(&self, practice: &Practice, role: Role) -> String {
        self.store
            .create_api_token(practice.id, "test", role, None)
            .await
            .unwrap()
            .1
    }

    /// A browser-like client (cookies kept, redirects not followed) signed in as `email`.
    pub async fn login(&self, email: &str) -> Browser {
        let b = Browser::new(self);
        let resp = b.sign_in(email, PASSWORD).await;
        assert_eq!(resp.status(), 303, "sign-in of {email} should redirect");
        b
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

pub struct Browser {
    pub client: reqwest::Client,
    pub base: String,
}

impl Browser {
    pub fn new(app: &TestApp) -> Browser {
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(Policy::none())
            .build()
            .unwrap();
        Browser {
            client,
            base: app.addr.clone(),
        }
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{}", self.base, path))
            .send()
            .await
            .unwrap()
    }

    pub async fn text(&self, path: &str) -> (u16, String) {
        let r = self.get(path).await;
        (r.status().as_u16(), r.text().await.unwrap())
    }

    /// The CSRF token rendered into the page at `path`.
    pub async fn csrf(&self, path: &str) -> String {
        let (_, body) = self.text(path).await;
        extract(&body, "name=\"_csrf\" value=\"").expect("page has a CSRF field")
    }

    /// Submits a form the way the page does, CSRF token included.
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let csrf = self.csrf("/app").await;
        let mut all: Vec<(&str, &str)> = vec![("_csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        self.client
            .post(format!("{}{}", self.base, path))
            .form(&all)
            .send()
            .await
            .unwrap()
    }

    /// Submits a public form (no session, no CSRF token), as a patient's browser does.
    pub async fn post_public(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        self.client
            .post(format!("{}{}", self.base, path))
            .form(fields)
            .send()
            .await
            .unwrap()
    }

    pub async fn sign_in(&self, email: &str, password: &str) -> reqwest::Response {
        let (_, page) = self.text("/login").await;
        let token = extract(&page, "name=\"login_token\" value=\"").unwrap();
        self.client
            .post(format!("{}/login", self.base))
            .form(&[
                ("email", email),
                ("password", password),
                ("login_token", token.as_str()),
            ])
            .send()
            .await
            .unwrap()
    }
}

pub fn extract(body: &str, marker: &str) -> Option<String> {
    let start = body.find(marker)? + marker.len();
    let end = body[start..].find('"')? + start;
    Some(body[start..end].to_string())
}

/// A JSON API client with a bearer token.
pub struct Api {
    pub client: reqwest::Client,
    pub base: String,
    pub token: String,
}

impl Api {
    pub fn new(app: &TestApp, token: &str) -> Api {
        Api {
            client: reqwest::Client::new(),
            base: app.addr.clone(),
            token: token.to_string(),
        }
    }

    pub async fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self
            .client
            .request(method, format!("{}{}", self.base, path))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
        )
    }

    pub async fn get(&self, path: &str) -> (u16, serde_json::Value) {
        self.call("GET", path, None).await
    }
}

/// Waits (bounded) until `check` is true, for work done by background workers.
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..200 {
        if check().await {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for: {what}");
}

/// 10:00 yesterday in the test practices' zone (America/Chicago): visits placed there fall inside
/// one local day whatever the hour a test runs (visitor ids are per local day).
pub fn yesterday_at_ten() -> i64 {
    let chicago = jiff::tz::TimeZone::get("America/Chicago").unwrap();
    jiff::Timestamp::now()
        .to_zoned_datetime(chicago.clone())
        .date()
        .yesterday()
        .unwrap()
        .at(10, 0, 0, 0)
        .to_zoned_datetime(chicago)
        .unwrap()
        .timestamp()
        .as_millisecond()
}

/// A patient with a phone number (and no email), texts allowed or not.
pub async fn patient_with_phone(
    app: &TestApp,
    practice_id: i64,
    first: &str,
    last: &str,
    phone: &str,
    sms_consent: bool,
) -> stride_store::patients::Patient {
    app.store
        .create_patient(
            practice_id,
            &stride_store::patients::PatientInput {
                first_name: first.into(),
                last_name: last.into(),
                phone: Some(stride_core::phone::PhoneE164::parse(phone).unwrap()),
                email: None,
                birth_date: None,
                address: None,
                member_id: None,
                sms_consent,
                email_consent: false,
            },
            &stride_store::audit::Actor::system("test"),
        )
        .await
        .unwrap()
}
