//! `stride`: serve clinics, run the demo, and administer an instance from the command line.

use std::io::Read;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use stride::config::{Common, KeySource, ServeArgs, write_private};
use stride::{Application, demo, open_store, shutdown_signal};
use stride_core::email::EmailAddress;
use stride_core::role::Role;
use stride_core::slug::Slug;

/// mimalloc instead of the system allocator: under event intake, glibc malloc and free were about
/// 15% of the server's CPU time (see docs/benchmarks.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "stride",
    version,
    about = "Stride: grow a physical-therapy practice, from website visit to completed plan of care"
)]
struct Cli {
    #[command(flatten)]
    common: Common,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the web application and run background jobs.
    Serve(ServeArgs),
    /// Create or refresh the demo practice "Riverside Physical Therapy", then serve it.
    Demo(ServeArgs),
    /// Bring the database schema up to date and exit.
    Migrate,
    /// Manage practices.
    #[command(subcommand)]
    Practice(PracticeCmd),
    /// Manage users.
    #[command(subcommand)]
    User(UserCmd),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCmd),
    /// Write a consistent copy of the embedded SQLite database, even while Stride is serving.
    Backup {
        /// The file to write (must not exist); default: DATA_DIR/backups/stride-<time>.db
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Re-encrypt all patient data under a new key. Stop `stride serve` first.
    RotateKey,
    /// Times the Website dashboard's report for 7, 30 and 365 days (for docs/benchmarks.md).
    BenchReport {
        #[arg(long)]
        site: String,
        /// Read events and visits only, ignoring rollups.
        #[arg(long)]
        raw: bool,
        #[arg(long, default_value_t = 5)]
        runs: usize,
        /// Filter as the dashboard does.
        #[arg(long)]
        source: Option<String>,
        #[arg(long)]
        channel: Option<String>,
        #[arg(long)]
        campaign: Option<String>,
        #[arg(long)]
        device: Option<String>,
        #[arg(long)]
        page: Option<String>,
        /// Only these periods, in days (default 7, 30 and 365).
        #[arg(long, value_delimiter = ',')]
        days: Vec<i64>,
    },
    /// Brings the website reports' daily rollups up to date now (the server also does this in the
    /// background), e.g. after generating or importing traffic.
    Rollup,
    /// Write realistic website traffic for a site (for benchmarks and trials), from a fixed seed.
    GenerateTraffic {
        /// The site's domain, as registered in Stride.
        #[arg(long)]
        site: String,
        /// How many days, ending today.
        #[arg(long, default_value_t = 365)]
        days: i64,
        /// About how many visits a day (each visit is 2 to 8 events).
        #[arg(long, default_value_t = 100)]
        visits_per_day: u64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

#[derive(Subcommand)]
enum PracticeCmd {
    /// Add a practice (and its organization if new).
    Add {
        /// Short name used in public addresses, e.g. riverside
        #[arg(long)]
        slug: String,
        #[arg(long)]
        name: String,
        /// The practice group or agency it belongs to (default: the practice name).
        #[arg(long)]
        organization: Option<String>,
    },
}

#[derive(Subcommand)]
enum UserCmd {
    /// Add a user with a role in a practice (or give an existing user a role there).
    Add {
        #[arg(long)]
        email: String,
        #[arg(long, default_value = "")]
        name: String,
        /// The practice's slug.
        #[arg(long)]
        practice: String,
        /// owner, front_desk, clinician or marketer
        #[arg(long)]
        role: String,
        /// Read the password from standard input instead of generating one.
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(Subcommand)]
enum TokenCmd {
    /// Create an API token and print it on standard output.
    Create {
        /// The practice's slug.
        #[arg(long)]
        practice: String,
        /// owner, front_desk, clinician or marketer
        #[arg(long)]
        role: String,
        #[arg(long, default_value = "command line")]
        name: String,
    },
}

fn init_logging(format: &str) {
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_from_env("STRIDE_LOG").unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    init_logging(&cli.common.log_format);
    if let Err(e) = run(cli).await {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

async fn practice_id(store: &stride_store::Store, slug: &str) -> anyhow::Result<i64> {
    match store.practice_by_slug(slug).await {
        Ok(p) => Ok(p.id),
        Err(stride_store::StoreError::NotFound) => {
            bail!("no practice has the slug “{slug}”; see `stride practice add`")
        }
        Err(e) => Err(e.into()),
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let common = cli.common;
    match cli.command {
        Command::Serve(args) => {
            let store = open_store(&common).await?;
            let app = Application::build(store, args).await?;
            tracing::info!(address = %app.local_addr(), "Stride is serving");
            app.run_until_stopped(shutdown_signal()).await
        }
        Command::Demo(args) => {
            let store = open_store(&common).await?;
            let summary = demo::seed(&store)
                .await
                .context("creating the demo practice")?;
            let app = Application::build(store, args).await?;
            let addr = app.local_addr();
            println!();
            println!(
                "Stride demo: Riverside Physical Therapy {}",
                if summary.created {
                    "(created)"
                } else {
                    "(refreshed)"
                }
            );
            println!("  Open http://{addr}/login and sign in as one of:");
            for (role, email, _) in demo::LOGINS {
                println!(
                    "    {:<11} {email:<34} password: {}",
                    role.label(),
                    demo::PASSWORD
                );
            }
            println!("  Data directory: {}", common.data_dir.display());
            println!("  Stop with Ctrl-C.");
            println!();
            app.run_until_stopped(shutdown_signal()).await
        }
        Command::Migrate => {
            open_store(&common).await?;
            println!("The database schema is up to date.");
            Ok(())
        }
        Command::Practice(PracticeCmd::Add {
            slug,
            name,
            organization,
        }) => {
            let store = open_store(&common).await?;
            let slug = Slug::parse(&slug)?;
            let org_name = organization.unwrap_or_else(|| name.clone());
            let org = match store.find_organization_by_name(&org_name).await? {
                Some(o) => o,
                None => store.create_organization(&org_name, "group").await?,
            };
            let practice = store.create_practice(org.id, &slug, &name).await?;
            println!("Added practice {} ({}).", practice.name, practice.slug);
            Ok(())
        }
        Command::User(UserCmd::Add {
            email,
            name,
            practice,
            role,
            password_stdin,
        }) => {
            let store = open_store(&common).await?;
            let practice_id = practice_id(&store, &practice).await?;
            let email = EmailAddress::parse(&email)?;
            let role: Role = role.parse()?;
            let (user, password) = match store.user_by_email(&email).await? {
                Some(u) => (u, None),
                None => {
                    let password = if password_stdin {
                        let mut s = String::new();
                        std::io::stdin().read_to_string(&mut s)?;
                        s.trim_end_matches(['\n', '\r']).to_string()
                    } else {
                        stride_store::crypto::random_token(15)
                    };
                    let display = if name.trim().is_empty() {
                        email.local_part().to_string()
                    } else {
                        name.clone()
                    };
                    (
                        store.create_user(&email, &display, &password).await?,
                        (!password_stdin).then_some(password),
                    )
                }
            };
            store.grant_role(user.id, practice_id, role).await?;
            println!("{} is now {} of {}.", user.email, role.label(), practice);
            if let Some(p) = password {
                println!("First password: {p}");
            }
            Ok(())
        }
        Command::Token(TokenCmd::Create {
            practice,
            role,
            name,
        }) => {
            let store = open_store(&common).await?;
            let practice_id = practice_id(&store, &practice).await?;
            let role: Role = role.parse()?;
            let (_, secret) = store
                .create_api_token(practice_id, &name, role, None)
                .await?;
            println!("{secret}");
            Ok(())
        }
        Command::Backup { out } => {
            let store = open_store(&common).await?;
            let out = match out {
                Some(p) => p,
                None => {
                    let dir = common.data_dir.join("backups");
                    std::fs::create_dir_all(&dir)?;
                    let stamp = jiff::Timestamp::now()
                        .strftime("%Y%m%dT%H%M%SZ")
                        .to_string();
                    dir.join(format!("stride-{stamp}.db"))
                }
            };
            store.backup_sqlite(&out).await?;
            println!("Wrote {}", out.display());
            println!(
                "Keep the encryption key with it: without the key the patient data in the copy cannot be read."
            );
            Ok(())
        }
        Command::RotateKey => rotate_key(&common).await,
        Command::BenchReport {
            site,
            raw,
            runs,
            source,
            channel,
            campaign,
            device,
            page,
            days,
        } => {
            let store = open_store(&common).await?;
            let domain = stride_store::website::normalize_domain(&site)?;
            let Some(site) = store.site_by_domain(&domain).await? else {
                bail!("no site {domain} is registered");
            };
            let tz = store.practice_time_zone(site.practice_id).await?;
            let tz = tz
                .iana_name()
                .and_then(|n| stride_core::tz::TimeZoneName::parse(n).ok());
            let filters = stride_store::website::Filters {
                source,
                channel,
                campaign,
                device,
                page,
            }
            .normalized();
            let periods = if days.is_empty() {
                vec![7, 30, 365]
            } else {
                days
            };
            for days in periods {
                let range = stride_web::website::dashboard::period_range(days, &tz);
                let scope =
                    stride_store::website::reports::Scope::new(site.practice_id, site.id, range)
                        .with_filters(filters.clone());
                let mut times = Vec::new();
                let mut visitors = 0;
                for _ in 0..runs.max(1) {
                    let started = std::time::Instant::now();
                    visitors = if raw {
                        store.raw_report(&scope, 10).await?.summary.visitors
                    } else {
                        store.website_report(&scope).await?.summary.visitors
                    };
                    times.push(started.elapsed().as_secs_f64() * 1000.0);
                }
                times.sort_by(f64::total_cmp);
                let rolled = match store.rolled_up_part(&scope).await? {
                    _ if raw => "raw".to_string(),
                    Some(part) => format!(
                        "rollups for {} of {} days",
                        (part.to - part.from + 43_200_000) / 86_400_000,
                        (range.to - range.from + 43_200_000) / 86_400_000
                    ),
                    None => "no rollup serves these filters".to_string(),
                };
                println!(
                    "{days:>3} days: {visitors} visitors; report in {:.1} ms (median of {}, fastest {:.1} ms; {rolled})",
                    times[times.len() / 2],
                    times.len(),
                    times[0]
                );
            }
            Ok(())
        }
        Command::Rollup => {
            let store = open_store(&common).await?;
            let started = std::time::Instant::now();
            let mut days = 0;
            loop {
                let n = store.refresh_rollups(50).await?;
                if n == 0 {
                    break;
                }
                days += n;
                eprint!("\rRolled up {days} days...");
            }
            println!(
                "\rRolled up {days} days in {:.1} s.",
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Command::GenerateTraffic {
            site,
            days,
            visits_per_day,
            seed,
        } => {
            let store = open_store(&common).await?;
            let domain = stride_store::website::normalize_domain(&site)?;
            let Some(site) = store.site_by_domain(&domain).await? else {
                bail!("no site {domain} is registered; add it under Website → Tracking set-up");
            };
            if !(1..=3660).contains(&days) {
                bail!("--days must be between 1 and 3660");
            }
            let started = std::time::Instant::now();
            let n = stride::traffic::generate(&store, &site, days, visits_per_day, seed).await?;
            println!(
                "Wrote {n} events for {domain} over {days} days in {:.1} s.",
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
    }
}

/// With the generated key file: adds a new key, re-encrypts everything, then drops the old key.
/// With a key from the environment or a named file: re-encrypts under the first key listed, after
/// which the operator removes the old keys.
async fn rotate_key(common: &Common) -> anyhow::Result<()> {
    let store = open_store(common).await?;
    let (keys, source) = common.keyring()?;
    match source {
        KeySource::Generated(path) => {
            let next = keys.with_new_current();
            // The file holds both keys until every row is rewritten, so a crash loses nothing.
            write_private(&path, &next.to_text(), true)?;
            let n = store.with_keys(next.clone()).reencrypt_all().await?;
            write_private(&path, &next.only_current().to_text(), true)?;
            println!(
                "Re-encrypted {n} records under key {}. The old key was removed from {}.",
                next.current_id(),
                path.display()
            );
        }
        KeySource::Environment | KeySource::File(_) => {
            let n = store.with_keys(keys.clone()).reencrypt_all().await?;
            println!(
                "Re-encrypted {n} records under key {} (the first key given). Older keys are no longer needed and can be removed.",
                keys.current_id()
            );
        }
    }
    Ok(())
}
