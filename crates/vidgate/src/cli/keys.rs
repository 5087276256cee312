//! `vidgate keys ls|create|update|disable|delete`: API keys, with the admin token. The
//! secret is printed once, at creation; an update sends only the fields given.

use clap::Subcommand;
use serde_json::{Map, Value, json};
use vidgate_client::{ApiKey, NewKey};

use super::{Global, output};

#[derive(clap::Args)]
pub struct KeyLimits {
    /// Lifetime spend quota, USD.
    #[arg(long)]
    quota_usd: Option<f64>,
    /// Spend cap over a rolling 5 hours, USD.
    #[arg(long)]
    spend_5h: Option<f64>,
    /// Spend cap over a rolling day, USD.
    #[arg(long)]
    spend_1d: Option<f64>,
    /// Spend cap over a rolling 7 days, USD.
    #[arg(long)]
    spend_7d: Option<f64>,
    /// Tasks queued or running at once.
    #[arg(long)]
    concurrency_limit: Option<u32>,
    /// The models it may use (comma list).
    #[arg(long, value_delimiter = ',')]
    models: Option<Vec<String>>,
    /// When it stops working (RFC 3339).
    #[arg(long)]
    expires_at: Option<String>,
    /// Addresses or CIDR ranges it may be used from (comma list).
    #[arg(long, value_delimiter = ',')]
    ip_allow: Option<Vec<String>>,
}

impl KeyLimits {
    fn spend_limits(&self) -> Map<String, Value> {
        [("5h", self.spend_5h), ("1d", self.spend_1d), ("7d", self.spend_7d)]
            .into_iter()
            .filter_map(|(k, v)| Some((k.to_owned(), json!(v?))))
            .collect()
    }
}

#[derive(Subcommand)]
pub enum KeyAction {
    /// Every key, or one account's (masked).
    Ls {
        #[arg(long = "account")]
        account_id: Option<String>,
    },
    /// Create a key; its secret is printed once.
    Create {
        #[arg(long = "account")]
        account_id: String,
        #[arg(long)]
        name: String,
        #[arg(long, value_parser = ["live", "test"])]
        mode: String,
        #[command(flatten)]
        limits: KeyLimits,
    },
    /// Change a key's name, limits, or whether it is disabled. Only what is given changes;
    /// any --spend-* replaces all three spend windows at once.
    Update {
        key_id: String,
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        limits: KeyLimits,
        /// true disables the key (its requests are refused), false enables it again.
        #[arg(long)]
        disabled: Option<bool>,
        /// Remove a limit; may be repeated.
        #[arg(long, value_name = "LIMIT", value_parser = ["quota_usd", "spend_limits", "concurrency_limit", "models", "expires_at", "ip_allow"])]
        clear: Vec<String>,
    },
    /// Disable a key (it can be enabled again with `keys update ID --disabled false`).
    Disable { key_id: String },
    /// Revoke a key for good.
    Delete { key_id: String },
}

/// Runs `vidgate keys …`.
pub async fn keys(g: &Global, action: KeyAction) -> anyhow::Result<()> {
    let c = g.client()?;
    match action {
        KeyAction::Ls { account_id } => {
            let list = c.keys(account_id.as_deref()).await?;
            if g.json {
                return output::json(&list);
            }
            output::table(
                &["ID", "NAME", "ACCOUNT", "MODE", "KEY", "STATE"],
                &list.data.iter().map(key_row).collect::<Vec<_>>(),
            );
            Ok(())
        }
        KeyAction::Create { account_id, name, mode, limits } => {
            let new = NewKey {
                account_id,
                name,
                mode,
                quota_usd: limits.quota_usd,
                spend_limits: limits.spend_limits(),
                concurrency_limit: limits.concurrency_limit,
                models: limits.models,
                expires_at: limits.expires_at,
                ip_allow: limits.ip_allow,
            };
            let key = c.create_key(&new).await?;
            if g.json {
                return output::json(&key);
            }
            print_key(&key);
            println!("The key is shown only this once; store it now.");
            Ok(())
        }
        KeyAction::Update { key_id, name, limits, disabled, clear } => {
            let mut changes = match serde_json::to_value(NewKey {
                quota_usd: limits.quota_usd,
                spend_limits: limits.spend_limits(),
                concurrency_limit: limits.concurrency_limit,
                models: limits.models,
                expires_at: limits.expires_at,
                ip_allow: limits.ip_allow,
                ..NewKey::default()
            })? {
                Value::Object(m) => m,
                _ => unreachable!("a struct serialises to an object"),
            };
            // NewKey's required fields are not changed by an update.
            for k in ["account_id", "name", "mode"] {
                changes.remove(k);
            }
            for field in clear {
                anyhow::ensure!(!changes.contains_key(&field), "{field} is both set and cleared");
                changes.insert(field, Value::Null);
            }
            name.map(|n| changes.insert("name".into(), json!(n)));
            disabled.map(|d| changes.insert("disabled".into(), json!(d)));
            anyhow::ensure!(!changes.is_empty(), "nothing to change: give --name, a limit, --clear or --disabled");
            show_key(g, &c.update_key(&key_id, &Value::Object(changes)).await?)
        }
        KeyAction::Disable { key_id } => show_key(g, &c.update_key(&key_id, &json!({"disabled": true})).await?),
        KeyAction::Delete { key_id } => show_key(g, &c.delete_key(&key_id).await?),
    }
}

fn key_state(k: &ApiKey) -> &'static str {
    if k.revoked_at.is_some() {
        "revoked"
    } else if k.extra.get("disabled").and_then(Value::as_bool) == Some(true) {
        "disabled"
    } else {
        "active"
    }
}

fn key_row(k: &ApiKey) -> Vec<String> {
    vec![k.id.clone(), k.name.clone(), k.account_id.clone(), k.mode.clone(), k.masked.clone(), key_state(k).into()]
}

fn show_key(g: &Global, k: &ApiKey) -> anyhow::Result<()> {
    if g.json {
        return output::json(k);
    }
    print_key(k);
    Ok(())
}

fn print_key(k: &ApiKey) {
    let mut lines = vec![
        ("key id", k.id.clone()),
        ("name", k.name.clone()),
        ("account", k.account_id.clone()),
        ("mode", k.mode.clone()),
        ("state", key_state(k).into()),
    ];
    lines.push(("key", k.key.clone().unwrap_or_else(|| k.masked.clone())));
    output::fields(&lines);
}
