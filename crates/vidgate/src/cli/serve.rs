//! `vidgate serve` and `vidgate config print`: the commands that run on the gateway's own
//! machine and read its config, not the HTTP API.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Subcommand;
use vidgate_domain::config::Config;

fn load_config(path: Option<&Path>) -> anyhow::Result<Config> {
    let text = match path {
        Some(p) => std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?,
        None => String::new(),
    };
    Config::load(&text, std::env::vars()).map_err(|e| anyhow::anyhow!(e))
}

/// `vidgate serve`'s flags.
#[derive(clap::Args)]
pub struct ServeArgs {
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

/// `vidgate config …`.
#[derive(Subcommand)]
pub enum ConfigAction {
    /// Print the effective config (file + environment), secrets masked.
    Print {
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

/// Runs `vidgate config …`.
pub fn config(action: ConfigAction) -> anyhow::Result<()> {
    let ConfigAction::Print { config } = action;
    let config = load_config(config.as_deref())?;
    print!("{}", toml::to_string(&config).context("printing the config")?);
    Ok(())
}

/// Runs `vidgate serve`.
pub async fn run_serve(args: ServeArgs) -> anyhow::Result<()> {
    let ServeArgs { listen, data_dir, config, database_url } = args;
    let mut config = load_config(config.as_deref())?;
    if let Some(listen) = listen {
        config.server.listen = listen;
    }
    if let Some(url) = database_url {
        config.database.url = vidgate_domain::database_url::DatabaseUrl::new(url);
    }
    serve(config, &data_dir).await
}

fn public_url(config: &Config, bound: SocketAddr) -> anyhow::Result<String> {
    if !config.server.public_url.is_empty() {
        return Ok(config.server.public_url.trim_end_matches('/').to_owned());
    }
    if config.server.listen.ip().is_unspecified() {
        bail!("server.public_url is required when listening on an unspecified address ({})", config.server.listen);
    }
    Ok(format!("http://{bound}"))
}

async fn serve(config: Config, data_dir: &Path) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("VIDGATE_LOG").unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let listener = tokio::net::TcpListener::bind(config.server.listen)
        .await
        .with_context(|| format!("listening on {}", config.server.listen))?;
    let bound = listener.local_addr()?;
    let public = public_url(&config, bound)?;
    let app = vidgate_engine::app::build(config, data_dir, public.clone()).await.map_err(|e| anyhow::anyhow!(e))?;
    announce(&app, &public);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let background = {
        let rx = stop_rx.clone();
        let app_bg = std::sync::Arc::new(app);
        let bg = app_bg.clone();
        (tokio::spawn(async move { bg.run_background(rx).await }), app_bg)
    };
    let router = vidgate_server::router(background.1.gateway.clone());
    let limits = vidgate_server::ConnLimits::from_config(&background.1.gateway.config.server);
    tracing::info!(listen = %bound, public_url = %public, "vidgate is serving");
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
