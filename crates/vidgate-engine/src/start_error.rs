//! Why a gateway could not start ([`StartError`]): what [`crate::app::build`] reports before
//! anything runs. Each variant says which part failed; none carries a credential (database
//! URLs print without their password, upstream errors name the entry only).

use std::path::PathBuf;

use vidgate_store::StoreError;

/// A start-up failure, by the part that failed.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The configuration cannot run: the catalog, a model override, an upstream entry
    /// (its credentials missing or unreadable, its URL invalid). Found before any state
    /// exists (no data directory, database or credentials file is created).
    #[error("{0}")]
    Config(String),
    /// A file or directory the gateway needs (the data directory, the files directory, the
    /// credentials file) could not be created or written.
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    /// The database could not be opened or migrated (`url` has no password in it).
    #[error("database {url}: {source}")]
    Database { url: String, source: StoreError },
    /// A database step of the first start (bootstrap) failed.
    #[error("{step}: {source}")]
    Bootstrap { step: &'static str, source: StoreError },
    /// The database was bootstrapped by another process but lacks a setting it writes.
    #[error("database has no {0}")]
    MissingSetting(&'static str),
    /// The S3 file store could not be configured.
    #[error("storage: {0}")]
    Storage(String),
    /// An outbound HTTP client (media fetches, webhooks) could not be built.
    #[error("building the {client}: {reason}")]
    HttpClient { client: &'static str, reason: String },
}
