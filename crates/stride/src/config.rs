//! Command-line flags and their `STRIDE_` environment variables, and the encryption keyring's
//! source. Secrets are held as `SecretString` so they never reach a Debug print or a log.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use secrecy::{ExposeSecret, SecretString};
use stride_store::Keyring;

fn secret(s: &str) -> Result<SecretString, String> {
    Ok(SecretString::from(s.to_string()))
}

/// Flags every command that touches the database shares.
#[derive(clap::Args, Clone)]
pub struct Common {
    /// Where the embedded database, the generated key and backups live.
    #[arg(
        long,
        env = "STRIDE_DATA_DIR",
        default_value = "./stride-data",
        global = true
    )]
    pub data_dir: PathBuf,
    /// postgres://… to use PostgreSQL; empty for the embedded SQLite database in the data directory.
    #[arg(
        long,
        env = "STRIDE_DATABASE_URL",
        global = true,
        hide_env_values = true
    )]
    pub database_url: Option<String>,
    /// The encryption keyring (base64 keys, the first encrypts); overrides the key file.
    #[arg(long, env = "STRIDE_ENCRYPTION_KEY", value_parser = secret, hide_env_values = true, global = true)]
    pub encryption_key: Option<SecretString>,
    /// A file holding the encryption keyring.
    #[arg(long, env = "STRIDE_ENCRYPTION_KEY_FILE", global = true)]
    pub encryption_key_file: Option<PathBuf>,
    /// Log format: text or json.
    #[arg(long, env = "STRIDE_LOG_FORMAT", default_value = "text", global = true)]
    pub log_format: String,
}

/// Flags of the commands that serve HTTP.
#[derive(clap::Args, Clone, Debug)]
pub struct ServeArgs {
    /// Address and port to listen on.
    #[arg(long, env = "STRIDE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// The address people use to reach Stride (https://… makes cookies Secure). Twilio signs its
    /// webhooks over this address, so set it to what Twilio is configured to call.
    #[arg(long, env = "STRIDE_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// The reverse proxies whose X-Forwarded-For names the client: `false`, `true` (this machine and
    /// private networks) or addresses and networks (`10.0.0.5,172.16.0.0/12`).
    #[arg(long, env = "STRIDE_TRUST_PROXY", default_value = "false", num_args = 0..=1,
          default_missing_value = "true", value_parser = stride_web::TrustedProxies::parse)]
    pub trust_proxy: stride_web::TrustedProxies,
    /// Background job workers in this process (0 runs none, e.g. for a web-only instance).
    #[arg(long, env = "STRIDE_WORKERS", default_value_t = 2)]
    pub workers: usize,
    /// Seconds a request may take before it is answered with 408.
    #[arg(long, env = "STRIDE_REQUEST_TIMEOUT", default_value_t = 30)]
    pub request_timeout: u64,
    /// Base URL of Twilio's REST API (change only to point at a stand-in for tests).
    #[arg(
        long,
        env = "STRIDE_TWILIO_API_BASE",
        default_value = "https://api.twilio.com",
        hide = true
    )]
    pub twilio_api_base: String,
    /// Base URL of Stripe's API (change only to point at a stand-in for tests).
    #[arg(
        long,
        env = "STRIDE_STRIPE_API_BASE",
        default_value = "https://api.stripe.com",
        hide = true
    )]
    pub stripe_api_base: String,
}

impl Default for ServeArgs {
    fn default() -> Self {
        ServeArgs {
            listen: "127.0.0.1:8080".parse().expect("valid address"),
            public_url: None,
            trust_proxy: stride_web::TrustedProxies::default(),
            workers: 2,
            request_timeout: 30,
            twilio_api_base: "https://api.twilio.com".into(),
            stripe_api_base: "https://api.stripe.com".into(),
        }
    }
}

/// Where the keyring came from decides how it can be rotated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    Environment,
    File(PathBuf),
    Generated(PathBuf),
}

impl Common {
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) if !url.trim().is_empty() => url.trim().to_string(),
            _ => stride_store::sqlite_url(&self.data_dir),
        }
    }

    pub fn ensure_data_dir(&self) -> anyhow::Result<()> {
        std::fs::create_dir_all(&self.data_dir).with_context(|| {
            format!(
                "cannot create the data directory {}",
                self.data_dir.display()
            )
        })
    }

    /// The keyring: from the environment, from a key file, or the data directory's own key file,
    /// generated with mode 0600 on first run.
    pub fn keyring(&self) -> anyhow::Result<(Keyring, KeySource)> {
        if let Some(key) = &self.encryption_key {
            let ring = Keyring::parse(key.expose_secret()).context("STRIDE_ENCRYPTION_KEY")?;
            return Ok((ring, KeySource::Environment));
        }
        if let Some(path) = &self.encryption_key_file {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the key file {}", path.display()))?;
            let ring =
                Keyring::parse(&text).with_context(|| format!("key file {}", path.display()))?;
            return Ok((ring, KeySource::File(path.clone())));
        }
        self.ensure_data_dir()?;
        let path = self.data_dir.join("encryption.key");
        if path.exists() {
            check_private(&path)?;
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read the key file {}", path.display()))?;
            let ring =
                Keyring::parse(&text).with_context(|| format!("key file {}", path.display()))?;
            return Ok((ring, KeySource::Generated(path)));
        }
        let ring = Keyring::generate();
        write_private(&path, &ring.to_text(), false)?;
        tracing::info!(path = %path.display(), "generated a new encryption key; back it up with the database");
        Ok((ring, KeySource::Generated(path)))
    }
}

#[cfg(unix)]
fn check_private(path: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)?.permissions().mode();
    if mode & 0o077 != 0 {
        bail!(
            "the key file {} can be read by other users (mode {:o}); run: chmod 600 {}",
            path.display(),
            mode & 0o777,
            path.display()
        );
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_path: &Path) -> anyhow::Result<()> {
    Ok(())
}

/// Writes a secret file readable only by its owner; `replace` swaps it in atomically.
pub fn write_private(path: &Path, text: &str, replace: bool) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let target = if replace {
        path.with_extension("key.new")
    } else {
        path.to_path_buf()
    };
    if replace {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    let mut file = options
        .open(&target)
        .with_context(|| format!("cannot write the key file {}", target.display()))?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    if replace {
        std::fs::rename(&target, path)?;
    }
    Ok(())
}
