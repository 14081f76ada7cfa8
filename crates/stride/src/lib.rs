//! The `stride` program: configuration, start-up and shutdown, background workers, the demo practice
//! and the command-line tools. `Application::build` binds the listener (port 0 in tests) and
//! `run_until_stopped` serves until a shutdown signal, finishing in-flight requests and jobs.

pub mod config;
pub mod demo;
pub mod providers;
pub mod traffic;
pub mod worker;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use anyhow::Context;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use stride_store::Store;
use stride_web::{AppState, WebConfig};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::config::{Common, ServeArgs};

/// Opens the database named by the flags, runs migrations and checks the key matches.
pub async fn open_store(common: &Common) -> anyhow::Result<Store> {
    let url = common.database_url();
    if url.starts_with("sqlite:") {
        common.ensure_data_dir()?;
    }
    let (keys, _) = common.keyring()?;
    let store = Store::open(&url, keys)
        .await
        .context("opening the database")?;
    store.verify_keys().await?;
    Ok(store)
}

/// TLS for outgoing connections uses rustls with the ring provider; installed once per process.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The Prometheus recorder is process-wide; tests start many applications in one process.
/// Request durations go into fixed buckets (a Prometheus histogram: constant memory, summable across
/// instances). The recorder buffers each recorded value until upkeep drains it, so a thread of its
/// own runs upkeep every five seconds: memory stays bounded under a flood even if nothing scrapes
/// `/metrics`.
fn metrics_handle() -> Option<PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    metrics_exporter_prometheus::Matcher::Full(
                        "stride_http_request_duration_seconds".into(),
                    ),
                    &[
                        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                        5.0, 10.0,
                    ],
                )
                .ok()?
                .build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).ok()?;
            let upkeep = handle.clone();
            std::thread::Builder::new()
                .name("metrics-upkeep".into())
                .spawn(move || {
                    loop {
                        std::thread::sleep(Duration::from_secs(5));
                        upkeep.run_upkeep();
                    }
                })
                .ok()?;
            Some(handle)
        })
        .clone()
}

pub struct Application {
    listener: TcpListener,
    store: Store,
    state: AppState,
    queue: stride_web::website::intake::IntakeQueue,
    serve: ServeArgs,
}

impl Application {
    pub async fn build(store: Store, serve: ServeArgs) -> anyhow::Result<Application> {
        install_crypto_provider();
        let listener = TcpListener::bind(serve.listen)
            .await
            .with_context(|| format!("cannot listen on {}", serve.listen))?;
        let config = WebConfig {
            secure_cookies: serve
                .public_url
                .as_deref()
                .is_some_and(|u| u.starts_with("https://")),
            trusted_proxies: serve.trust_proxy.clone(),
            public_url: serve.public_url.clone(),
            request_timeout: Duration::from_secs(serve.request_timeout.max(1)),
            stripe_api_base: serve.stripe_api_base.trim_end_matches('/').to_string(),
            ..WebConfig::default()
        };
        let (intake, queue) =
            stride_web::website::intake::Intake::new(stride_web::website::intake::QUEUE_CAPACITY);
        let state = AppState::new(stride_web::Shared {
            store: store.clone(),
            intake: Arc::new(intake),
            config: Arc::new(config),
            metrics: metrics_handle(),
        });
        Ok(Application {
            listener,
            store,
            state,
            queue,
            serve,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("bound listener has an address")
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Serves HTTP and runs the job workers until `shutdown` resolves; then stops accepting, lets
    /// in-flight requests finish, and waits for each worker to finish its current job.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let (stop_tx, stop_rx) = watch::channel(false);
        let base_url = self
            .serve
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.local_addr()));
        let delivery = providers::Delivery::new(
            &self.serve.twilio_api_base,
            &self.serve.stripe_api_base,
            &base_url,
        )?;
        let instance = format!("{}-{}", std::process::id(), self.local_addr().port());
        let workers: Vec<_> = (0..self.serve.workers)
            .map(|i| {
                tokio::spawn(worker::run(
                    self.store.clone(),
                    delivery.clone(),
                    format!("{instance}-{i}"),
                    stop_rx.clone(),
                ))
            })
            .collect();
        let rollups = tokio::spawn(roll_up(self.store.clone(), stop_rx.clone()));
        let weekly = tokio::spawn(send_weekly_summaries(
            self.store.clone(),
            base_url.clone(),
            stop_rx.clone(),
        ));
        let reminders = tokio::spawn(send_reminders(
            self.store.clone(),
            base_url,
            stop_rx.clone(),
        ));
        let (finish_tx, finish_rx) = watch::channel(false);
        let writer = tokio::spawn(stride_web::website::intake::run_writer(
            self.store.clone(),
            self.state.intake.clone(),
            self.queue,
            finish_rx,
        ));
        let app = stride_web::router(self.state);
        let server = axum::serve(
            self.listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            shutdown.await;
            tracing::info!("shutting down: finishing in-flight requests and jobs");
            let _ = stop_tx.send(true);
        });
        server.await.context("the HTTP server failed")?;
        // No request is in flight any more: the writer stores what is queued, then ends.
        let _ = finish_tx.send(true);
        let _ = writer.await;
        for w in workers {
            let _ = w.await;
        }
        let _ = rollups.await;
        let _ = reminders.await;
        let _ = weekly.await;
        self.store.close().await;
        tracing::info!("stopped");
        Ok(())
    }
}

/// Keeps the website reports' daily rollups up to date: shortly after start, then every minute
/// (today's partial rollup is refreshed every five) or at once when a report remembers a new
/// filter set, a batch of days at a time so a large backlog never holds the database for long.
/// Each round also deletes visitor salts past 48 hours, even on a day no event arrives.
async fn roll_up(store: Store, mut stop: watch::Receiver<bool>) {
    let mut wait = std::time::Duration::from_secs(5);
    loop {
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            // A report remembered a new filter set: fill it in now rather than in a minute.
            _ = store.rollups_wanted() => {}
            _ = stop.changed() => return,
        }
        if let Err(e) = store.delete_old_visitor_salts().await {
            tracing::warn!(error = %e, "could not delete old visitor salts");
        }
        wait = match store.refresh_rollups(20).await {
            // More to do: carry on soon, leaving room for other writers.
            Ok(n) if n > 0 => std::time::Duration::from_millis(200),
            Ok(_) => std::time::Duration::from_secs(60),
            Err(e) => {
                tracing::warn!(error = %e, "could not roll up website reports");
                std::time::Duration::from_secs(300)
            }
        };
    }
}

/// Queues the appointment reminders that are due, every half minute. Each reminder is queued once
/// however often this runs and however many processes run it (see `stride_store::reminders`).
/// Queues the weekly website summaries when they fall due (Monday mornings, practice time).
async fn send_weekly_summaries(store: Store, base_url: String, mut stop: watch::Receiver<bool>) {
    loop {
        match stride_web::website::weekly::send_due(&store, &base_url, stride_store::now_ms()).await
        {
            Ok(n) => {
                metrics::counter!("stride_weekly_summaries_queued_total").increment(n as u64);
            }
            Err(e) => tracing::warn!(error = %e, "could not queue the weekly website summaries"),
        }
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_secs(300)) => {}
            _ = stop.changed() => return,
        }
    }
}

async fn send_reminders(store: Store, base_url: String, mut stop: watch::Receiver<bool>) {
    loop {
        match store
            .send_due_reminders(&base_url, stride_store::now_ms())
            .await
        {
            Ok(sweep) => {
                metrics::counter!("stride_reminders_queued_total").increment(sweep.queued as u64);
                metrics::counter!("stride_reminders_without_consent_total")
                    .increment(sweep.no_consent as u64);
            }
            Err(e) => tracing::warn!(error = %e, "could not queue appointment reminders"),
        }
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_secs(30)) => {}
            _ = stop.changed() => return,
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
