//! `vidgate accounts|credits|keys|admin …`: the management API, with the admin token.
//! Updates send only the fields given on the command line.

use anyhow::Context;
use clap::Subcommand;
use serde_json::{Map, Number, Value, json};
use vidgate_client::{Account, ApiKey, NewKey, Task};

use super::{Global, output};
use output::cell;

#[derive(Subcommand)]
pub enum AccountAction {
    /// Accounts, a page at a time.
    Ls {
        /// Only accounts whose name matches.
        #[arg(long)]
        name: Option<String>,
        #[arg(long, default_value_t = 20)]
        limit: u32,
        /// The last id of the previous page.
        #[arg(long)]
        after: Option<String>,
    },
    /// Create an account (balance 0).
    Create {
        #[arg(long)]
        name: String,
    },
    /// One account.
    Show { account_id: String },
    /// Rename, suspend or reactivate an account.
    Update {
        account_id: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long, value_parser = ["active", "suspended"])]
        status: Option<String>,
    },
}

#[derive(Subcommand)]
pub enum CreditAction {
    /// Add AMOUNT_USD to an account (negative to remove; at most 6 decimals).
    Add {
        account_id: String,
        #[arg(allow_hyphen_values = true)]
        amount_usd: String,
        /// Why, kept in the ledger.
        #[arg(long)]
        note: Option<String>,
    },
}

/// The limits a key may carry, for create and update.
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

#[derive(Subcommand)]
pub enum AdminAction {
    /// Every account's tasks.
    Tasks {
        #[command(subcommand)]
        action: AdminTasks,
    },
    /// The audit list of management changes.
    Audit {
        #[command(subcommand)]
        action: AdminAudit,
    },
}

#[derive(Subcommand)]
pub enum AdminAudit {
    /// Changes, newest first.
    Ls {
        /// Only the changes of this account or key.
        #[arg(long = "target")]
        target_id: Option<String>,
        #[arg(long, default_value_t = 20)]
        limit: u32,
        #[arg(long)]
        after: Option<String>,
    },
}

#[derive(Subcommand)]
pub enum AdminTasks {
    /// Search tasks, newest first.
    Ls {
        #[arg(long = "account")]
        account_id: Option<String>,
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        model: Option<String>,
        /// KEY=VALUE, exact match; may be repeated.
        #[arg(long, value_name = "KEY=VALUE")]
        metadata: Vec<String>,
        #[arg(long, default_value_t = 20)]
        limit: u32,
        #[arg(long)]
        after: Option<String>,
    },
}

/// Runs `vidgate accounts …`.
pub async fn accounts(g: &Global, action: AccountAction) -> anyhow::Result<()> {
    let c = g.client()?;
    match action {
        AccountAction::Ls { name, limit, after } => {
            let list = c.accounts(&[("name", name), ("limit", Some(limit.to_string())), ("after", after)]).await?;
            if g.json {
                return output::json(&list);
            }
            output::table(
                &["ID", "NAME", "STATUS", "BALANCE", "HELD", "SPENT", "CREATED"],
                &list.data.iter().map(account_row).collect::<Vec<_>>(),
            );
            if list.has_more {
                println!("more: --after {}", list.last_id.unwrap_or_default());
            }
            Ok(())
        }
        AccountAction::Create { name } => print_account(g, &c.create_account(&name).await?),
        AccountAction::Show { account_id } => print_account(g, &c.account(&account_id).await?),
        AccountAction::Update { account_id, name, status } => {
            let mut changes = Map::new();
            name.map(|n| changes.insert("name".into(), json!(n)));
            status.map(|s| changes.insert("status".into(), json!(s)));
            anyhow::ensure!(!changes.is_empty(), "nothing to change: give --name or --status");
            print_account(g, &c.update_account(&account_id, &Value::Object(changes)).await?)
        }
    }
}

fn account_row(a: &Account) -> Vec<String> {
    let extra = |k: &str| a.extra.get(k).map(cell).unwrap_or_else(|| "-".into());
    vec![
        a.id.clone(),
        a.name.clone(),
        extra("status"),
        a.balance_usd.to_string(),
        a.held_usd.to_string(),
        a.spent_usd.to_string(),
        extra("created_at"),
    ]
}

fn print_account(g: &Global, a: &Account) -> anyhow::Result<()> {
    if g.json {
        return output::json(a);
    }
    let row = account_row(a);
    let labels = ["account", "name", "status", "balance USD", "held USD", "spent USD", "created"];
    output::fields(&labels.into_iter().zip(row).collect::<Vec<_>>());
    Ok(())
}

/// Runs `vidgate credits …`.
pub async fn credits(g: &Global, action: CreditAction) -> anyhow::Result<()> {
    let CreditAction::Add { account_id, amount_usd, note } = action;
    let amount: Number = amount_usd
        .parse()
        .ok()
        .filter(|n: &Number| n.as_f64().is_some_and(f64::is_finite))
        .with_context(|| format!("AMOUNT_USD must be a number, such as 25 or 12.50 (got {amount_usd:?})"))?;
    print_account(g, &g.client()?.add_credits(&account_id, amount, note.as_deref()).await?)
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

/// Runs `vidgate admin …`.
pub async fn admin(g: &Global, action: AdminAction) -> anyhow::Result<()> {
    match action {
        AdminAction::Tasks { action } => admin_tasks(g, action).await,
        AdminAction::Audit { action: AdminAudit::Ls { target_id, limit, after } } => {
            let list = g
                .client()?
                .audit(&[("target_id", target_id), ("limit", Some(limit.to_string())), ("after", after)])
                .await?;
            if g.json {
                return output::json(&list);
            }
            let row = |e: &Value| {
                let changes = serde_json::to_string(&e["changes"]).unwrap_or_default();
                vec![cell(&e["id"]), cell(&e["created_at"]), cell(&e["action"]), cell(&e["target_id"]), changes]
            };
            let rows: Vec<Vec<String>> = list.data.iter().map(row).collect();
            output::table(&["ID", "AT", "ACTION", "TARGET", "CHANGES"], &rows);
            if list.has_more {
                println!("more: --after {}", list.last_id.unwrap_or_default());
            }
            Ok(())
        }
    }
}

async fn admin_tasks(g: &Global, action: AdminTasks) -> anyhow::Result<()> {
    let AdminTasks::Ls { account_id, status, model, metadata, limit, after } = action;
    let mut query: Vec<(String, Option<String>)> = vec![
        ("account_id".into(), account_id),
        ("status".into(), status),
        ("model".into(), model),
        ("limit".into(), Some(limit.to_string())),
        ("after".into(), after),
    ];
    for pair in metadata {
        let (k, v) = pair.split_once('=').with_context(|| format!("--metadata takes KEY=VALUE (got {pair:?})"))?;
        query.push((format!("metadata.{k}"), Some(v.to_owned())));
    }
    let borrowed: Vec<(&str, Option<String>)> = query.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    let list = g.client()?.admin_tasks(&borrowed).await?;
    if g.json {
        return output::json(&list);
    }
    let row = |t: &Task| {
        let extra = |k: &str| t.extra.get(k).map(cell).unwrap_or_else(|| "-".into());
        vec![
            t.task_id.clone(),
            extra("account_id"),
            t.status.as_str().into(),
            t.model.clone(),
            extra("mode"),
            t.duration_seconds.to_string(),
            t.credits_used.to_string(),
            extra("upstream"),
            extra("created_at"),
        ]
    };
    let rows: Vec<Vec<String>> = list.data.iter().map(row).collect();
    output::table(&["ID", "ACCOUNT", "STATUS", "MODEL", "MODE", "SECONDS", "USD", "UPSTREAM", "CREATED"], &rows);
    if list.has_more {
        println!("more: --after {}", list.last_id.unwrap_or_default());
    }
    Ok(())
}
