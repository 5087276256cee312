//! `vidgate upstreams check`: every `[[upstreams]]` entry of a config checked against its
//! live API without generating anything (credentials and model id, where the API allows),
//! as a table or JSON; exit status 1 when anything was refused. `list`, `show` and `set`
//! control a running gateway's upstreams ([`super::upstream_control`]).

use std::path::PathBuf;

use anyhow::bail;
use clap::Subcommand;
use vidgate_engine::provider::check::Verdict;

use super::{Global, output, upstream_control};

#[derive(Subcommand)]
pub enum UpstreamsAction {
    /// Check each upstream's credentials and model id against its API (nothing is generated).
    Check {
        /// The config file (TOML); the environment applies on top, as for `serve`.
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// A running gateway's upstreams with their state: health, in flight, spend, last error
    /// (admin token).
    #[command(visible_alias = "ls")]
    List,
    /// One upstream with every field (admin token).
    Show {
        /// The upstream (a pool member is `<entry>:<label>`).
        name: String,
    },
    /// Disable or enable an upstream, change its weight or priority, or reset its breaker,
    /// on a running gateway (admin token); prints the upstream after the change.
    Set(upstream_control::SetArgs),
}

pub async fn run(g: &Global, action: UpstreamsAction) -> anyhow::Result<()> {
    let config = match action {
        UpstreamsAction::Check { config } => config,
        UpstreamsAction::List => return upstream_control::list(g).await,
        UpstreamsAction::Show { name } => return upstream_control::show(g, &name).await,
        UpstreamsAction::Set(args) => return upstream_control::set(g, args).await,
    };
    let config = super::serve::load_config(config.as_deref())?;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let checked = vidgate_engine::upstreams::check_all(&config).await;
    if g.json {
        let rows: Vec<serde_json::Value> = checked.iter().map(json_row).collect();
        output::json(&rows)?;
    } else if checked.is_empty() {
        println!("no [[upstreams]] configured (test keys and the sandbox need none)");
    } else {
        let rows: Vec<Vec<String>> = checked
            .iter()
            .map(|c| {
                let (creds, model) = (&c.check.credentials, &c.check.model);
                vec![
                    c.name.clone(),
                    c.kind.to_owned(),
                    c.model.clone(),
                    creds.label().to_owned(),
                    model.label().to_owned(),
                    detail(creds, model),
                ]
            })
            .collect();
        output::table(&["UPSTREAM", "KIND", "MODEL", "CREDENTIALS", "MODEL ID", "DETAIL"], &rows);
    }
    let failed: Vec<&str> = checked.iter().filter(|c| c.check.failed()).map(|c| c.name.as_str()).collect();
    if !failed.is_empty() {
        bail!("refused by the upstream: {}", failed.join(", "));
    }
    Ok(())
}

/// What explains the row: a refusal first, then what could not be told.
fn detail(creds: &Verdict, model: &Verdict) -> String {
    let order = |v: &Verdict| match v {
        Verdict::Bad(_) => 0,
        Verdict::Unknown(_) => 1,
        Verdict::NotChecked(_) => 2,
        Verdict::Good(_) => 3,
    };
    let first = if order(model) < order(creds) { model } else { creds };
    first.detail().to_owned()
}

fn json_row(c: &vidgate_engine::upstreams::CheckedUpstream) -> serde_json::Value {
    let verdict = |v: &Verdict| serde_json::json!({"verdict": v.label(), "detail": v.detail()});
    serde_json::json!({
        "name": c.name,
        "kind": c.kind,
        "model": c.model,
        "credentials": verdict(&c.check.credentials),
        "model_id": verdict(&c.check.model),
    })
}
