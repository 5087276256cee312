//! First start of a database: create, in one transaction, the admin token (kept only as a
//! hash), the URL-signing key, a `default` account and a test key, and write them to
//! `<data-dir>/credentials.json` (mode 0600). Later starts, and other replicas, find the
//! database bootstrapped and read the signing key from it.

use std::io::Write;
use std::path::{Path, PathBuf};

use rand::RngExt;
use vidgate_domain::config::Config;
use vidgate_domain::task::Mode;
use vidgate_domain::{AccountId, KeyId};
use vidgate_store::{Bootstrap, BootstrapPlan, KeyLimits, NewKey, Store};

use super::admin::new_webhook_secret;
use super::auth::{generate_admin_token, generate_key, sha256_hex};
use crate::clock::now_ms;
use crate::start_error::StartError;

/// What bootstrap created, shown once.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Credentials {
    pub admin_token: String,
    pub account_id: String,
    pub test_api_key: String,
}

/// The outcome: the signing key and admin token hash in force, and the credentials file
/// when this process created it.
pub struct Booted {
    pub signing_key: Vec<u8>,
    pub admin_token_hash: String,
    pub created: Option<(Credentials, PathBuf)>,
}

/// Bootstraps the database if it is empty.
pub async fn bootstrap(store: &dyn Store, config: &Config, data_dir: &Path) -> Result<Booted, StartError> {
    let admin_token = if config.auth.admin_token.is_empty() {
        generate_admin_token()
    } else {
        config.auth.admin_token.expose().to_owned()
    };
    let signing_key = if config.auth.signing_key.is_empty() {
        hex::encode(rand::rng().random::<[u8; 32]>())
    } else {
        config.auth.signing_key.expose().to_owned()
    };
    let account = AccountId::generate();
    let key_id = KeyId::generate();
    let (test_key, hash, masked) = generate_key(&key_id, Mode::Test);
    let plan = BootstrapPlan {
        admin_token_hash: sha256_hex(&admin_token),
        signing_key: signing_key.clone(),
        account: (account.clone(), "default".into()),
        webhook_secret: new_webhook_secret(),
        test_key: NewKey {
            id: key_id,
            account_id: account.clone(),
            name: "test".into(),
            mode: Mode::Test,
            hash,
            masked,
            limits: KeyLimits::default(),
        },
        now: now_ms(),
    };
    let outcome = store.bootstrap(plan).await.map_err(|source| StartError::Bootstrap { step: "bootstrap", source })?;
    let stored_key = setting(store, "signing_key", "signing key").await?;
    let stored_hash = setting(store, "admin_token_hash", "admin token").await?;
    let signing = if config.auth.signing_key.is_empty() { stored_key } else { signing_key };
    let admin_hash = if config.auth.admin_token.is_empty() { stored_hash } else { sha256_hex(&admin_token) };
    let created = match outcome {
        Bootstrap::Existing => None,
        Bootstrap::Created => {
            let creds = Credentials { admin_token, account_id: account.to_string(), test_api_key: test_key };
            let path = data_dir.join("credentials.json");
            write_private(&path, &serde_json::to_vec_pretty(&creds).expect("serializes"))
                .map_err(|source| StartError::Io { path: path.clone(), source })?;
            Some((creds, path))
        }
    };
    Ok(Booted { signing_key: signing.into_bytes(), admin_token_hash: admin_hash, created })
}

/// A setting every bootstrapped database holds.
async fn setting(store: &dyn Store, name: &'static str, what: &'static str) -> Result<String, StartError> {
    let value =
        store.setting(name).await.map_err(|source| StartError::Bootstrap { step: "reading settings", source })?;
    value.ok_or(StartError::MissingSetting(what))
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options.open(path)?;
    f.write_all(bytes)?;
    f.write_all(b"\n")?;
    f.sync_all()
}
