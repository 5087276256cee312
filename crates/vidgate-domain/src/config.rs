//! The typed configuration: a TOML file, then `VIDGATE_<SECTION>__<KEY>` environment
//! overrides, then command-line flags. Unknown keys are refused, secrets never print.
//!
//! Every limit the gateway enforces is a field here with its default written next to it,
//! so `vidgate config print` shows the whole truth.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use crate::catalog::Catalog;
use crate::duration::HumanDuration;
use crate::model_overrides::ModelsConfig;
use crate::secret::Secret;
use crate::upstream::UpstreamConfig;

/// The whole configuration.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    pub auth: AuthConfig,
    pub files: FilesConfig,
    pub storage: StorageConfig,
    pub engine: EngineConfig,
    pub sandbox: SandboxConfig,
    pub fetch: FetchConfig,
    pub webhooks: WebhooksConfig,
    pub log: LogConfig,
    pub console: ConsoleConfig,
    /// `[[models]]` replaces the shipped catalog when not empty; `[models."<id>"]` tables
    /// change single shipped models instead (price, durations, sizes, routes).
    #[serde(skip_serializing_if = "ModelsConfig::is_empty")]
    pub models: ModelsConfig,
    /// The real upstreams (`[[upstreams]]`); live keys reach them through model routes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub upstreams: Vec<UpstreamConfig>,
}

/// `[server]`
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address to listen on (the `--listen` flag wins).
    pub listen: SocketAddr,
    /// Base of every absolute URL handed to clients; default `http://<listen address>`.
    pub public_url: String,
    /// Largest accepted request body, bytes (larger: 413).
    pub body_limit_bytes: usize,
    /// Proxies whose `X-Forwarded-For` entry is trusted for IP allow-lists.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Longest `?wait=` a poll may ask for, seconds.
    pub max_wait_secs: u64,
    /// Seconds given to in-flight requests and steps at shutdown.
    pub shutdown_grace_secs: u64,
    /// Seconds between the comment heartbeats of an SSE stream.
    pub sse_heartbeat_secs: u64,
    /// Seconds a connection has to deliver a complete request head, counted from when the
    /// server starts waiting for it (a new connection, or an idle keep-alive one); then it is
    /// closed without an answer.
    pub header_read_timeout_secs: u64,
    /// Slowest accepted request body, bytes per second averaged since the head arrived;
    /// checked once `body_rate_grace_secs` have passed (slower: 408 and the connection closes).
    pub body_min_bytes_per_sec: u64,
    /// Seconds a request body may take before the minimum rate applies.
    pub body_rate_grace_secs: u64,
    /// Connections served at once. At the cap, a new connection takes the place of the one
    /// that has waited longest for a request head; when every connection is in a request it
    /// is answered 503 `server_busy`.
    pub max_connections: usize,
    /// Connections over `max_connections` held at once while they wait for a place or get
    /// their 503; beyond this a new connection is closed at once.
    pub connection_reserve: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: "127.0.0.1:8080".parse().expect("valid address"),
            public_url: String::new(),
            body_limit_bytes: 1024 * 1024,
            trusted_proxies: Vec::new(),
            max_wait_secs: 60,
            shutdown_grace_secs: 10,
            sse_heartbeat_secs: 15,
            header_read_timeout_secs: 30,
            body_min_bytes_per_sec: 1024,
            body_rate_grace_secs: 10,
            max_connections: 512,
            connection_reserve: 64,
        }
    }
}

/// `[database]`
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// `sqlite://PATH` or `postgres://USER:PASSWORD@HOST:PORT/DB`; default
    /// `<data-dir>/vidgate.db` (SQLite). The `--database-url` flag wins. Printed without its
    /// password.
    pub url: crate::database_url::DatabaseUrl,
}

/// `[auth]`
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// The admin token; generated at bootstrap when empty.
    pub admin_token: Secret,
    /// The URL-signing key; generated at bootstrap when empty.
    pub signing_key: Secret,
    /// How long an API key read from the database is kept in memory for the next requests,
    /// milliseconds (0: read it at every request). A revoke drops it at once in this process
    /// and, on PostgreSQL, in every replica that hears the database's announcements.
    pub key_cache_ms: u64,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig { admin_token: Secret::default(), signing_key: Secret::default(), key_cache_ms: 5000 }
    }
}

/// `[files]`
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct FilesConfig {
    /// Directory of stored media; default `<data-dir>/files`.
    pub dir: String,
    /// Lifetime of a signed URL, seconds.
    pub url_ttl_secs: u64,
    /// How long files are kept after completion, seconds.
    pub retention_secs: u64,
    /// How often the retention sweeper runs, seconds.
    pub sweep_interval_secs: u64,
    /// Largest result file accepted from an upstream, bytes.
    pub max_result_bytes: u64,
}

impl Default for FilesConfig {
    fn default() -> Self {
        FilesConfig {
            dir: String::new(),
            url_ttl_secs: 24 * 3600,
            retention_secs: 7 * 24 * 3600,
            sweep_interval_secs: 60,
            max_result_bytes: 2 * 1024 * 1024 * 1024,
        }
    }
}

/// Where delivered files are kept (`[storage] kind`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StorageKind {
    /// The local directory `files.dir`.
    #[default]
    Local,
    /// An S3-compatible bucket (`storage.s3_*`); scratch work stays in `files.dir`.
    S3,
}

/// The longest a presigned S3 URL may live (SigV4 allows 7 days).
pub const MAX_PRESIGNED_TTL_SECS: u64 = 7 * 24 * 3600;

/// `[storage]`
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    /// `"local"` (default) or `"s3"`.
    pub kind: StorageKind,
    /// The bucket (must exist); required for `s3`.
    pub s3_bucket: String,
    /// Key prefix inside the bucket; objects are `<prefix>/<task_id>/<name>`. Empty: none.
    pub s3_prefix: String,
    /// `http(s)://host:port` of an S3-compatible server; empty: AWS S3 in `s3_region`.
    pub s3_endpoint: String,
    /// The bucket's region.
    pub s3_region: String,
    /// Access key id.
    pub s3_access_key_id: String,
    /// Secret access key (never printed).
    pub s3_secret_access_key: Secret,
    /// Allow a plain-http `s3_endpoint` (local test servers only).
    pub s3_allow_http: bool,
    /// Path-style requests (`endpoint/bucket/key`) instead of virtual-hosted ones.
    pub s3_path_style: bool,
    /// Hand clients presigned S3 URLs (straight to the bucket) instead of the gateway's
    /// signed `/files/...` URLs. The endpoint must be reachable by clients.
    pub s3_presigned_urls: bool,
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            kind: StorageKind::Local,
            s3_bucket: String::new(),
            s3_prefix: String::new(),
            s3_endpoint: String::new(),
            s3_region: "us-east-1".to_string(),
            s3_access_key_id: String::new(),
            s3_secret_access_key: Secret::default(),
            s3_allow_http: false,
            s3_path_style: true,
            s3_presigned_urls: false,
        }
    }
}

/// `[engine]`
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct EngineConfig {
    /// Task steps one process runs at once.
    pub workers: usize,
    /// How long a claimed step may run before another worker may take the task over, seconds.
    pub lease_secs: u64,
    /// How often an idle worker looks for due work, milliseconds.
    pub idle_poll_ms: u64,
    /// Threads for rendering and media work (0 = number of cores).
    pub media_threads: usize,
    /// Upstream jobs in flight per provider (the sandbox included).
    pub max_in_flight_per_provider: u32,
    /// The most of a provider's in-flight cap one account may hold, in percent (1–100; at
    /// least one slot). 100 lets an account alone fill the cap, and others then get the next
    /// slots that free; less keeps slots free for accounts that come while it is busy.
    pub max_account_share_percent: u32,
    /// How a new task's lead is picked within the best priority group of its model's routes:
    /// `weight` (default), `lowest_cost` or `most_free` (docs/channels.md).
    pub route_pick: crate::routing::RoutePick,
    /// Deliveries (validate, trim, audio, posters) that wait for or run on the media pool
    /// after giving their worker slot back, so polls go on under a burst; past this many,
    /// a delivery waits holding its worker slot.
    pub max_deliveries: usize,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            workers: 16,
            lease_secs: 60,
            idle_poll_ms: 500,
            media_threads: 0,
            max_in_flight_per_provider: 64,
            max_account_share_percent: 100,
            route_pick: crate::routing::RoutePick::Weight,
            max_deliveries: 16,
        }
    }
}

/// `[sandbox]`
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SandboxConfig {
    /// Simulated queue time before rendering starts, milliseconds.
    pub queue_delay_ms: u64,
    /// Simulated run time before the render is ready, milliseconds.
    pub run_delay_ms: u64,
    /// After queue + run delay, how long a job may stay unfinished before it times out, ms.
    pub deadline_grace_ms: u64,
    /// Route live keys to the sandbox too (staging, demos); money then moves.
    pub serve_live_keys: bool,
    /// The largest `metadata."sandbox.delay_ms"` a submit may ask for, ms; more is refused
    /// with 400, so a test key cannot hold the sandbox's slots for hours.
    pub max_delay_ms: u64,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            queue_delay_ms: 1000,
            run_delay_ms: 1500,
            deadline_grace_ms: 30_000,
            serve_live_keys: false,
            max_delay_ms: 300_000,
        }
    }
}

/// `[log]`
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `text` (one readable line per event; ANSI colours only when stderr is a terminal)
    /// or `json` (one JSON object per line). The `--log-format` flag wins.
    pub format: LogFormat,
}

/// How log lines are written (`[log] format`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// `[fetch]` (source images given as URLs)
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct FetchConfig {
    /// Allow `http://` and private, loopback and link-local targets (tests, private networks).
    pub allow_private_targets: bool,
    /// Whole-request timeout, seconds.
    pub timeout_secs: u64,
    /// Largest image accepted, bytes.
    pub max_image_bytes: usize,
}

impl Default for FetchConfig {
    fn default() -> Self {
        FetchConfig { allow_private_targets: false, timeout_secs: 10, max_image_bytes: 10 * 1024 * 1024 }
    }
}

/// `[webhooks]`
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebhooksConfig {
    /// Allow `http://` and private, loopback and link-local targets (tests, private networks).
    pub allow_private_targets: bool,
    /// The waits between a failed attempt and the next (jittered ±10%); after the last one
    /// fails, delivery gives up. The default adds up to about 24 h over 8 attempts.
    pub retry_schedule: Vec<HumanDuration>,
    /// Whole-attempt timeout (connect at most 5 s), seconds.
    pub timeout_secs: u64,
}

impl Default for WebhooksConfig {
    fn default() -> Self {
        let schedule = ["5s", "5m", "30m", "2h", "5h", "10h", "6h"];
        WebhooksConfig {
            allow_private_targets: false,
            retry_schedule: schedule.iter().map(|s| s.parse().expect("valid default")).collect(),
            timeout_secs: 15,
        }
    }
}

/// `[console]`: the web console under `/console/`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsoleConfig {
    /// Serve the console (off: `/console/` answers 404 and `GET /` never redirects).
    pub enabled: bool,
    /// How long a console session lasts from sign-in, seconds.
    pub session_secs: u64,
    /// Console sessions one process keeps at once (past it, the oldest ends).
    pub max_sessions: usize,
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        ConsoleConfig { enabled: true, session_secs: 12 * 3600, max_sessions: 10_000 }
    }
}

/// The prefix of environment overrides.
pub const ENV_PREFIX: &str = "VIDGATE_";

impl Config {
    /// Parses a config file's text, then applies `VIDGATE_<SECTION>__<KEY>=value` overrides
    /// from `env` (values are read as TOML literals, falling back to a plain string).
    pub fn load(file_text: &str, env: impl IntoIterator<Item = (String, String)>) -> Result<Config, String> {
        let file: toml::Table = toml::from_str(file_text).map_err(|e| format!("config file: {e}"))?;
        let env: Vec<(String, String)> = env.into_iter().collect();
        let overrides: Vec<_> = env.iter().filter(|(name, _)| env_key(name).is_some()).collect();
        let mut config = match with_overrides(file.clone(), &overrides) {
            Ok(config) => config,
            // Name what is at fault: the file alone, or else the first variable that breaks it.
            Err(e) => {
                with_overrides(file.clone(), &[]).map_err(|e| format!("config file: {e}"))?;
                let culprit = (1..=overrides.len())
                    .find_map(|n| with_overrides(file.clone(), &overrides[..n]).err().map(|e| (overrides[n - 1], e)));
                return Err(match culprit {
                    Some(((name, _), e)) => format!("environment variable {name}: {e}"),
                    None => format!("config: {e}"),
                });
            }
        };
        config.read_credentials_env(&env)?;
        config.check()?;
        Ok(config)
    }

    /// The defaults, with the shipped catalog, for tests.
    pub fn for_tests() -> Config {
        Config::default()
    }

    /// The catalog this config describes.
    pub fn catalog(&self) -> Result<Catalog, String> {
        crate::upstream::with_served_routes(self.models.catalog()?, &self.channels()?)
    }

    /// The upstreams as channels: each `[[upstreams]]` entry, or each member of its pool
    /// (`crate::pool::expand`). The engine runs on these; the file's entries are what
    /// `config print` shows.
    pub fn channels(&self) -> Result<Vec<crate::upstream::UpstreamConfig>, String> {
        crate::pool::expand(&self.upstreams)
    }

    /// `[[upstreams]]` cannot be overridden field by field from the environment (it is an
    /// array), so an entry may name the variable holding its credentials instead.
    fn read_credentials_env(&mut self, env: &[(String, String)]) -> Result<(), String> {
        let read = |who: String, var: &str| {
            let value = env.iter().find(|(k, _)| *k == var).map(|(_, v)| v.clone());
            value.map(Secret::new).ok_or_else(|| format!("upstream {who}: {var} is not set"))
        };
        // An entry with a pool and credentials of its own is refused by the pool's check.
        for u in self.upstreams.iter_mut() {
            if !u.credentials_env.is_empty() && u.pool.is_none() {
                u.credentials = read(u.name.clone(), &u.credentials_env)?;
            }
            for m in u.pool.iter_mut().flatten().filter(|m| !m.credentials_env.is_empty()) {
                m.credentials = read(format!("{} (pool member {:?})", u.name, m.label), &m.credentials_env)?;
            }
        }
        Ok(())
    }

    fn check(&self) -> Result<(), String> {
        crate::upstream::check_all(&self.channels()?)?;
        self.catalog()?;
        let positive = [
            ("server.body_limit_bytes", self.server.body_limit_bytes as u64),
            ("files.url_ttl_secs", self.files.url_ttl_secs),
            ("files.retention_secs", self.files.retention_secs),
            ("files.sweep_interval_secs", self.files.sweep_interval_secs),
            ("engine.workers", self.engine.workers as u64),
            ("engine.lease_secs", self.engine.lease_secs),
            ("engine.idle_poll_ms", self.engine.idle_poll_ms),
            ("engine.max_in_flight_per_provider", u64::from(self.engine.max_in_flight_per_provider)),
            ("engine.max_deliveries", self.engine.max_deliveries as u64),
            ("fetch.timeout_secs", self.fetch.timeout_secs),
            ("webhooks.timeout_secs", self.webhooks.timeout_secs),
            ("server.max_wait_secs", self.server.max_wait_secs),
            ("server.header_read_timeout_secs", self.server.header_read_timeout_secs),
            ("server.body_min_bytes_per_sec", self.server.body_min_bytes_per_sec),
            ("server.body_rate_grace_secs", self.server.body_rate_grace_secs),
            ("server.max_connections", self.server.max_connections as u64),
            ("server.connection_reserve", self.server.connection_reserve as u64),
            ("console.session_secs", self.console.session_secs),
            ("console.max_sessions", self.console.max_sessions as u64),
        ];
        if let Some((name, _)) = positive.iter().find(|(_, v)| *v == 0) {
            return Err(format!("{name} must be positive"));
        }
        if !(1..=100).contains(&self.engine.max_account_share_percent) {
            return Err("engine.max_account_share_percent must be between 1 and 100".into());
        }
        if self.storage.kind == StorageKind::S3 && self.storage.s3_bucket.is_empty() {
            return Err("storage.s3_bucket is required when storage.kind = \"s3\"".into());
        }
        if self.storage.s3_presigned_urls && self.storage.kind != StorageKind::S3 {
            return Err("storage.s3_presigned_urls needs storage.kind = \"s3\"".into());
        }
        if self.storage.s3_presigned_urls && self.files.url_ttl_secs > MAX_PRESIGNED_TTL_SECS {
            return Err(format!(
                "files.url_ttl_secs must be at most {MAX_PRESIGNED_TTL_SECS} (7 days, the SigV4 limit) with storage.s3_presigned_urls"
            ));
        }
        if !self.server.public_url.is_empty() {
            let url = url::Url::parse(&self.server.public_url).map_err(|e| format!("server.public_url: {e}"))?;
            if !matches!(url.scheme(), "http" | "https") {
                return Err("server.public_url must be an http or https URL".into());
            }
        }
        Ok(())
    }
}

/// The (section, key) a `VIDGATE_<SECTION>__<KEY>` variable overrides, lower-cased.
fn env_key(name: &str) -> Option<(String, String)> {
    let (section, key) = name.strip_prefix(ENV_PREFIX)?.split_once("__")?;
    (!section.is_empty() && !key.is_empty()).then(|| (section.to_ascii_lowercase(), key.to_ascii_lowercase()))
}

/// The config of a file's table with environment overrides applied, in order.
fn with_overrides(mut root: toml::Table, overrides: &[&(String, String)]) -> Result<Config, String> {
    for (name, value) in overrides {
        let Some((section, key)) = env_key(name) else { continue };
        let entry = root.entry(section.clone()).or_insert_with(|| toml::Value::Table(toml::Table::new()));
        let toml::Value::Table(table) = entry else {
            return Err(format!("[{section}] is not a section"));
        };
        table.insert(key, parse_env_value(value));
    }
    toml::Value::Table(root).try_into().map_err(|e: toml::de::Error| e.to_string().trim().replace('\n', " "))
}

fn parse_env_value(text: &str) -> toml::Value {
    let wrapped = format!("v = {text}");
    match toml::from_str::<toml::Table>(&wrapped) {
        Ok(mut t) => t.remove("v").unwrap_or_else(|| toml::Value::String(text.to_owned())),
        Err(_) => toml::Value::String(text.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn an_empty_file_gives_the_defaults() {
        let c = Config::load("", env(&[])).unwrap();
        assert_eq!(c.server.body_limit_bytes, 1024 * 1024);
        assert_eq!(c.files.url_ttl_secs, 86_400);
        assert_eq!(c.files.retention_secs, 604_800);
        assert!(!c.sandbox.serve_live_keys);
        assert_eq!(c.catalog().unwrap().models().len(), 18);
    }

    #[test]
    fn environment_overrides_win_over_the_file() {
        let file = "[sandbox]\nserve_live_keys = false\nrun_delay_ms = 5\n";
        let c = Config::load(
            file,
            env(&[
                ("VIDGATE_SANDBOX__SERVE_LIVE_KEYS", "true"),
                ("VIDGATE_SERVER__PUBLIC_URL", "https://videos.example.com"),
                ("VIDGATE_AUTH__ADMIN_TOKEN", "s3cret"),
                ("HOME", "/root"),
            ]),
        )
        .unwrap();
        assert!(c.sandbox.serve_live_keys);
        assert_eq!(c.sandbox.run_delay_ms, 5);
        assert_eq!(c.server.public_url, "https://videos.example.com");
        assert_eq!(c.auth.admin_token.expose(), "s3cret");
    }

    #[test]
    fn unknown_keys_are_refused() {
        let err = Config::load("[sandbox]\nqueue_delay = 5\n", env(&[])).unwrap_err();
        assert!(err.contains("queue_delay"), "{err}");
        let err = Config::load("", env(&[("VIDGATE_NOPE__X", "1")])).unwrap_err();
        assert!(err.contains("nope"), "{err}");
    }

    #[test]
    fn printing_the_config_masks_secrets() {
        let c = Config::load("", env(&[("VIDGATE_AUTH__SIGNING_KEY", "abc")])).unwrap();
        let text = toml::to_string(&c).unwrap();
        assert!(text.contains("signing_key = \"***\""), "{text}");
        assert!(!text.contains("abc"));
    }

    #[test]
    fn printing_the_config_masks_the_database_password() {
        let url = "postgres://vg:pw-123@db:5432/vidgate";
        let c = Config::load("", env(&[("VIDGATE_DATABASE__URL", url)])).unwrap();
        assert_eq!(c.database.url.expose(), url);
        let text = toml::to_string(&c).unwrap();
        assert!(text.contains("url = \"postgres://vg:***@db:5432/vidgate\""), "{text}");
        assert!(!text.contains("pw-123") && !format!("{c:?}").contains("pw-123"));
    }

    #[test]
    fn the_webhook_retry_schedule_comes_from_a_list_of_durations() {
        let default: u64 = Config::default().webhooks.retry_schedule.iter().map(|d| d.as_millis()).sum();
        assert_eq!(default, (5 + 300 + 1800 + 7200 + 18_000 + 36_000 + 21_600) * 1000, "about 24 h");
        let overrides = env(&[("VIDGATE_WEBHOOKS__RETRY_SCHEDULE", r#"["200ms", "1s", "2m"]"#)]);
        let c = Config::load("", overrides).unwrap();
        let ms: Vec<u64> = c.webhooks.retry_schedule.iter().map(|d| d.as_millis()).collect();
        assert_eq!(ms, [200, 1000, 120_000]);
        let err = Config::load("[webhooks]\nretry_schedule = [\"5 minutes\"]\n", env(&[])).unwrap_err();
        assert!(err.contains("5 minutes"), "{err}");
    }

    #[test]
    fn upstream_credentials_can_come_from_a_named_environment_variable() {
        let file = "[[upstreams]]\nname = \"g\"\nkind = \"gemini\"\nmodel = \"veo\"\n\
                    credentials_env = \"GEMINI_KEY\"\nserves = [\"veo3.1\"]\n";
        let c = Config::load(file, env(&[("GEMINI_KEY", "k-123")])).unwrap();
        assert_eq!(c.upstreams[0].credentials.expose(), "k-123");
        assert_eq!(c.catalog().unwrap().resolve("veo3.1").unwrap().routes, ["g"]);
        assert!(!toml::to_string(&c).unwrap().contains("k-123"), "config print masks it");
        let err = Config::load(file, env(&[])).unwrap_err();
        assert!(err.contains("GEMINI_KEY is not set"), "{err}");
    }

    #[test]
    fn presigned_urls_need_s3_and_a_url_lifetime_sigv4_allows() {
        let s3 = "[storage]\nkind = \"s3\"\ns3_bucket = \"b\"\ns3_presigned_urls = true\n";
        assert!(Config::load(s3, env(&[])).unwrap().storage.s3_presigned_urls);
        let week = env(&[("VIDGATE_FILES__URL_TTL_SECS", "604800")]);
        assert_eq!(Config::load(s3, week).unwrap().files.url_ttl_secs, 604_800);
        let err = Config::load(s3, env(&[("VIDGATE_FILES__URL_TTL_SECS", "604801")])).unwrap_err();
        assert!(err.contains("files.url_ttl_secs must be at most 604800"), "{err}");
        let err = Config::load("[storage]\ns3_presigned_urls = true\n", env(&[])).unwrap_err();
        assert!(err.contains("needs storage.kind = \"s3\""), "{err}");
    }

    #[test]
    fn a_zero_limit_is_refused() {
        let err = Config::load("[engine]\nworkers = 0\n", env(&[])).unwrap_err();
        assert!(err.contains("engine.workers"), "{err}");
    }

    #[test]
    fn a_bad_environment_variable_is_named_in_the_error() {
        let vars = [("VIDGATE_SERVER__LISTEN", "127.0.0.1:9000"), ("VIDGATE_SERVER__LISTN", "127.0.0.1:9001")];
        let err = Config::load("", env(&vars)).unwrap_err();
        assert!(err.starts_with("environment variable VIDGATE_SERVER__LISTN: unknown field `listn`"), "{err}");
        let err = Config::load("", env(&[("VIDGATE_ENGINE__WORKERS", "many")])).unwrap_err();
        assert!(err.starts_with("environment variable VIDGATE_ENGINE__WORKERS: "), "{err}");
        let err = Config::load(
            "[server]
listn = 1
",
            env(&vars),
        )
        .unwrap_err();
        assert!(err.starts_with("config file: unknown field `listn`"), "the file's own fault: {err}");
        let err = Config::load("", env(&[("VIDGATE_SERVER__LISTEN", "x"), ("VIDGATE_X__Y", "1")])).unwrap_err();
        assert!(err.starts_with("environment variable VIDGATE_SERVER__LISTEN: "), "{err}");
    }
}
