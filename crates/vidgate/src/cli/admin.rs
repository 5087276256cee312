//! `vidgate admin tasks ls` and `vidgate admin audit ls`: every account's tasks and the
//! audit list of management changes, with the admin token.

use anyhow::Context;
use clap::Subcommand;
use serde_json::Value;
use vidgate_client::Task;

use super::{Global, output};
use output::cell;

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
