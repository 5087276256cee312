//! `vidgate serve` and `vidgate config print`: the commands that run on the gateway's own
//! machine and read its config, not the HTTP API.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Subcommand;
use vidgate_domain::config::{Config, LogFormat};

/// What `serve` and `config print` both take: the effective configuration is the same.
#[derive(clap::Args)]
pub struct Setup {
    /// Address to listen on (overrides `server.listen`).
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Directory of the database, files and credentials.json.
    #[arg(long, default_value = "./vidgate-data")]
    data_dir: PathBuf,
    /// A TOML config file.
    #[arg(long)]
    config: Option<PathBuf>,
    /// The database (overrides `database.url`): `postgres://USER:PASSWORD@HOST:PORT/DB` or
    /// `sqlite://PATH`. Command lines are visible to other local users; prefer the
    /// `VIDGATE_DATABASE__URL` variable for a URL with a password.
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
}

/// `vidgate serve`'s flags.
#[derive(clap::Args)]
pub struct ServeArgs {
    #[command(flatten)]
    setup: Setup,
    /// Log lines as `text` or `json` (one object per line); overrides `log.format`.
    #[arg(long, value_name = "FORMAT", value_parser = ["text", "json"])]
    log_format: Option<String>,
}

/// `vidgate config …`.
#[derive(Subcommand)]
pub enum ConfigAction {
    /// Print the effective config (file + environment + flags) with the values the server
    /// derives (`database.url`, `files.dir`, `server.public_url`) filled in, secrets masked.
    Print {
        #[command(flatten)]
        setup: Setup,
    },
}

pub(super) fn load_config(path: Option<&Path>) -> anyhow::Result<Config> {
    let text = match path {
        Some(p) => std::fs::read_to_string(p).with_context(|| format!("reading the config file {}", p.display()))?,
        None => String::new(),
    };
    Config::load(&text, std::env::vars()).map_err(|e| match path {
        Some(p) => anyhow::anyhow!("{}", e.replacen("config file:", &format!("config file {}:", p.display()), 1)),
        None => anyhow::anyhow!(e),
    })
}

impl Setup {
    /// The config file, then the environment, then the flags.
    fn config(&self) -> anyhow::Result<Config> {
        let mut config = load_config(self.config.as_deref())?;
        if let Some(listen) = self.listen {
            config.server.listen = listen;
        }
        if let Some(url) = &self.database_url {
            config.database.url = vidgate_domain::database_url::DatabaseUrl::new(url.clone());
        }
        Ok(config)
    }
}

/// Runs `vidgate config …`.
pub fn config(action: ConfigAction) -> anyhow::Result<()> {
    let ConfigAction::Print { setup } = action;
    let config = setup.config()?;
    // What the server derives, by the code it derives it with (before it binds, the
    // address it will listen on stands for the bound one).
    let effective = config.effective(&setup.data_dir, config.server.listen).map_err(|e| anyhow::anyhow!(e))?;
    print!("{}", toml::to_string(&effective).context("printing the config")?);
    Ok(())
}

/// Runs `vidgate serve`.
pub async fn run_serve(args: ServeArgs) -> anyhow::Result<()> {
    let ServeArgs { setup, log_format } = args;
    let mut config = setup.config()?;
    if let Some(format) = log_format {
        config.log.format = if format == "json" { LogFormat::Json } else { LogFormat::Text };
    }
    serve(config, &setup.data_dir).await
}

/// Logs go to stderr: text (colours only when stderr is a terminal, so a file or a pipe
/// gets plain lines) or JSON lines. `VIDGATE_LOG` sets the filter.
fn init_logs(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("VIDGATE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        LogFormat::Json => logs.json().init(),
        LogFormat::Text => logs.with_ansi(std::io::stderr().is_terminal()).init(),
    }
}

async fn serve(config: Config, data_dir: &Path) -> anyhow::Result<()> {
    init_logs(config.log.format);
    let _ = rustls::crypto::ring::default_provider().install_default();
    let listener = tokio::net::TcpListener::bind(config.server.listen)
        .await
        .with_context(|| format!("listening on {}", config.server.listen))?;
    let bound = listener.local_addr()?;
    let public = config.effective_public_url(bound).map_err(|e| anyhow::anyhow!(e))?;
    let app = vidgate_engine::app::build(config, data_dir, public.clone()).await?;
    announce(&app, &public);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let background = {
        let rx = stop_rx.clone();
        let app_bg = std::sync::Arc::new(app);
        let bg = app_bg.clone();
        (tokio::spawn(async move { bg.run_background(rx).await }), app_bg)
    };
    let router = vidgate_server::router(background.1.gateway.clone());
    tracing::info!(listen = %bound, public_url = %public, "vidgate is serving");
    let limits = vidgate_server::ConnLimits::from_config(&background.1.gateway.config.server);
    vidgate_server::serve(listener, router, limits, shutdown_signal()).await?;
    tracing::info!("shutting down: no new work; finishing what is in flight");
    let _ = stop_tx.send(true);
    let _ = background.0.await;
    Ok(())
}

fn announce(app: &vidgate_engine::app::App, public: &str) {
    let Some((creds, path)) = &app.created_credentials else { return };
    if std::io::stdout().is_terminal() {
        println!("vidgate bootstrapped a new database. These are shown once (also in {}):", path.display());
        println!("  admin token:  {}", creds.admin_token);
        println!("  account id:   {}", creds.account_id);
        println!("  test API key: {}", creds.test_api_key);
        println!("  gateway URL:  {public}");
    } else {
        println!("vidgate bootstrapped a new database; credentials written to {}", path.display());
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}
