//! `vidgate accounts ls|create|show|update` and `vidgate credits add`: accounts and their
//! money, with the admin token. An update sends only the fields given.

use anyhow::Context;
use clap::Subcommand;
use serde_json::{Map, Number, Value, json};
use vidgate_client::Account;

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
