//! Wiring: from a config and a data directory to a running engine and a [`Gateway`].

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use vidgate_domain::config::{Config, StorageKind};
use vidgate_media::MediaPool;
use vidgate_store::{ProviderCaps, Store};

use crate::files::{MediaStore, S3Settings};
use crate::gateway::{Credentials, Gateway, bootstrap};
use crate::notify::Notifier;
use crate::signer::UrlSigner;
use crate::start_error::StartError;
use crate::view::UrlMinter;
use crate::worker::{Engine, EngineSettings};

/// A built gateway, not yet running its background loops.
pub struct App {
    pub gateway: Arc<Gateway>,
    pub engine: Arc<Engine>,
    /// Set when this process bootstrapped the database.
    pub created_credentials: Option<(Credentials, PathBuf)>,
    /// The webhook delivery loop.
    pub webhooks: Arc<crate::webhooks::Deliverer>,
}

/// Builds everything: opens (and migrates) the database, bootstraps it if empty, opens the
/// file store and the media pool, and configures the providers.
pub async fn build(mut config: Config, data_dir: &Path, public_url: String) -> Result<App, StartError> {
    // Everything that can be wrong with the configuration (the catalog, upstream key files
    // and URLs) is found before any state exists: no data dir, database or credentials.json.
    let catalog = config.catalog().map_err(StartError::Config)?;
    // From here on each credential of a pool is an upstream of its own (docs/channels.md).
    config.upstreams = config.channels().map_err(StartError::Config)?;
    let threads = if config.engine.media_threads == 0 {
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2)
    } else {
        config.engine.media_threads
    };
    let media = Arc::new(MediaPool::new(threads));
    let (providers, per_provider) = crate::upstreams::providers(&config, media.clone()).map_err(StartError::Config)?;
    std::fs::create_dir_all(data_dir).map_err(|source| StartError::Io { path: data_dir.to_owned(), source })?;
    let db_url = config.effective_database_url(data_dir);
    // `db_url` prints without its password.
    let store: Arc<dyn Store> = vidgate_store::open(db_url.expose())
        .await
        .map_err(|source| StartError::Database { url: db_url.to_string(), source })?;
    let booted = bootstrap(store.as_ref(), &config, data_dir).await?;
    reclaim_stale_leases(store.as_ref()).await;
    let files_dir = config.effective_files_dir(data_dir);
    let files = match config.storage.kind {
        StorageKind::Local => {
            MediaStore::local(&files_dir).map_err(|source| StartError::Io { path: files_dir.clone(), source })?
        }
        StorageKind::S3 => {
            let s = &config.storage;
            let settings = S3Settings {
                bucket: s.s3_bucket.clone(),
                prefix: s.s3_prefix.clone(),
                endpoint: s.s3_endpoint.clone(),
                region: s.s3_region.clone(),
                access_key_id: s.s3_access_key_id.clone(),
                secret_access_key: s.s3_secret_access_key.clone(),
                allow_http: s.s3_allow_http,
                path_style: s.s3_path_style,
            };
            MediaStore::s3(&settings, files_dir.join(".tmp")).map_err(|e| StartError::Storage(e.to_string()))?
        }
    };
    files.clean_scratch().map_err(|source| StartError::Io { path: files_dir.join(".tmp"), source })?;
    let notifier = Notifier::default();
    let settings = EngineSettings {
        owner: format!("{}-{}", std::process::id(), ulid::Ulid::new()),
        workers: config.engine.workers,
        lease_ms: (config.engine.lease_secs * 1000) as i64,
        idle_poll_ms: config.engine.idle_poll_ms,
        caps: ProviderCaps {
            default: config.engine.max_in_flight_per_provider,
            per_provider,
            account_share_percent: config.engine.max_account_share_percent,
        },
        retention_ms: (config.files.retention_secs * 1000) as i64,
        max_result_bytes: config.files.max_result_bytes,
        max_deliveries: config.engine.max_deliveries,
    };
    let engine = Arc::new(Engine {
        store: store.clone(),
        providers,
        files,
        media,
        notifier: notifier.clone(),
        settings,
        wake: Notify::new(),
        webhooks_due: Notify::new(),
        at_cap: Default::default(),
        channels: crate::channels::Channels::new(&config.upstreams, config.engine.route_pick),
        key_cache: crate::gateway::key_cache::KeyCache::new(Duration::from_millis(config.auth.key_cache_ms)),
    });
    let fetch_policy = crate::net::Policy { allow_private: config.fetch.allow_private_targets };
    let timeout = Duration::from_secs(config.fetch.timeout_secs);
    let fetch_client = crate::net::outbound_client(fetch_policy, timeout.min(Duration::from_secs(5)), timeout)
        .map_err(|e| StartError::HttpClient { client: "HTTP client", reason: e.to_string() })?;
    let urls = UrlMinter {
        public_url,
        signer: UrlSigner::new(&booted.signing_key),
        ttl_secs: config.files.url_ttl_secs as i64,
        direct: config.storage.s3_presigned_urls.then(|| engine.files.clone()),
    };
    let gateway = Arc::new(Gateway {
        catalog,
        store,
        engine: engine.clone(),
        notifier,
        urls,
        admin_token_hash: booted.admin_token_hash,
        fetch_client,
        config,
    });
    crate::upstreams::log_report(&gateway.catalog, &gateway.live_upstreams());
    let webhooks = Arc::new(crate::webhooks::Deliverer::new(&gateway)?);
    Ok(App { gateway, engine, created_credentials: booted.created, webhooks })
}

/// Takes back the leases a dead predecessor left, when the store can prove this process
/// is alone on the database (SQLite; see `Store::reclaim_stale_leases_at_startup`), so
/// accepted work resumes at once after a crash instead of after `engine.lease_secs`.
/// Elsewhere, or if it fails, leases expire as usual.
async fn reclaim_stale_leases(store: &dyn Store) {
    match store.reclaim_stale_leases_at_startup().await {
        Ok(Some(n)) => tracing::info!(released = n, "took back the leases a previous process left"),
        Ok(None) => tracing::info!("other processes may share the database; their leases expire as usual"),
        Err(e) => tracing::warn!(error = %e, "could not take back stale leases; they expire as usual"),
    }
}

impl App {
    /// Runs the engine and the background loops until `shutdown` resolves.
    pub async fn run_background(&self, shutdown: tokio::sync::watch::Receiver<bool>) {
        let config = &self.gateway.config;
        let grace = Duration::from_secs(config.server.shutdown_grace_secs);
        let sweep = Duration::from_secs(config.files.sweep_interval_secs);
        let until = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|stop| *stop).await;
        };
        tokio::join!(
            self.engine.clone().run(until(shutdown.clone()), grace),
            crate::sweeper::retention_loop(self.engine.clone(), sweep, until(shutdown.clone())),
            crate::sweeper::gauges_loop(self.engine.clone(), Duration::from_secs(5), until(shutdown.clone())),
            self.webhooks.clone().run(until(shutdown.clone()), grace),
            crate::listen::listen_loop(self.engine.clone(), until(shutdown.clone())),
            crate::channels::refresh_loop(self.engine.clone(), until(shutdown.clone())),
        );
    }
}
