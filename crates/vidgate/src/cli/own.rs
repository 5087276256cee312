//! `vidgate models`, `balance` and `usage`: what the caller's API key can see of the
//! catalog and of its own account.

use serde_json::Value;

use super::{Global, output};
use output::cell;

/// `vidgate usage`'s flags.
#[derive(clap::Args)]
pub struct UsageArgs {
    /// From this day or instant, inclusive (YYYY-MM-DD or RFC 3339, UTC; default 30 days ago).
    #[arg(long)]
    from: Option<String>,
    /// Up to this day or instant, exclusive.
    #[arg(long)]
    to: Option<String>,
    /// A comma list of day, model, key, mode (default day; "" for one row).
    #[arg(long)]
    group_by: Option<String>,
    /// Only this model.
    #[arg(long)]
    model: Option<String>,
    /// Only live or test.
    #[arg(long)]
    mode: Option<String>,
}

/// Runs `vidgate models`.
pub async fn models(g: &Global) -> anyhow::Result<()> {
    let list = g.client()?.models().await?;
    if g.json {
        return output::json(&list);
    }
    let has = |m: &vidgate_client::Model, c: &str| if m.capabilities.iter().any(|x| x == c) { "yes" } else { "no" };
    let rows: Vec<Vec<String>> = list
        .data
        .iter()
        .map(|m| {
            vec![
                m.id.clone(),
                m.aliases.join(","),
                m.durations.iter().map(u32::to_string).collect::<Vec<_>>().join(","),
                m.sizes.join(","),
                has(m, "native_audio").into(),
                has(m, "image_to_video").into(),
                price(&m.pricing),
                if m.available { "yes" } else { "no" }.into(),
            ]
        })
        .collect();
    output::table(&["ID", "ALIASES", "SECONDS", "SIZES", "AUDIO", "IMAGE", "USD/S", "AVAILABLE"], &rows);
    Ok(())
}

/// `0.3; 1920x1080 0.5`.
fn price(pricing: &Value) -> String {
    let mut s = cell(&pricing["usd_per_second"]);
    if let Some(per_size) = pricing["per_size"].as_object() {
        for (size, usd) in per_size {
            s.push_str(&format!("; {size} {}", cell(usd)));
        }
    }
    s
}

/// Runs `vidgate balance`.
pub async fn balance(g: &Global) -> anyhow::Result<()> {
    let b = g.client()?.balance().await?;
    if g.json {
        return output::json(&b);
    }
    let k = &b["key"];
    let mut lines: Vec<(String, String)> = vec![
        ("account", cell(&b["account_id"])),
        ("balance", format!("{} USD", cell(&b["balance_usd"]))),
        ("held", format!("{} USD", cell(&b["held_usd"]))),
        ("spent", format!("{} USD", cell(&b["spent_usd"]))),
        ("key", format!("{} ({}, {})", cell(&k["id"]), cell(&k["name"]), cell(&k["mode"]))),
        ("quota left", cell(&k["quota_remaining_usd"])),
        ("in flight", format!("{} (limit {})", cell(&k["in_flight"]), cell(&k["concurrency_limit"]))),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    if let Some(windows) = k["spend_windows"].as_object() {
        for (name, w) in windows {
            let text =
                format!("{} of {} USD, resets {}", cell(&w["used_usd"]), cell(&w["limit_usd"]), cell(&w["resets_at"]));
            lines.push((format!("window {name}"), text));
        }
    }
    output::fields(&lines);
    Ok(())
}

/// Runs `vidgate usage`.
pub async fn usage(g: &Global, a: UsageArgs) -> anyhow::Result<()> {
    let query = [("since", a.from), ("until", a.to), ("group_by", a.group_by), ("model", a.model), ("mode", a.mode)];
    let u = g.client()?.usage(&query).await?;
    if g.json {
        return output::json(&u);
    }
    let row = |r: &Value, first: String| {
        let opt = |k: &str| r.get(k).map(cell).unwrap_or_else(|| "-".into());
        vec![first, opt("model"), opt("key_id"), opt("mode"), cell(&r["tasks"]), cell(&r["seconds"]), cell(&r["usd"])]
    };
    let mut rows: Vec<Vec<String>> =
        u["data"].as_array().into_iter().flatten().map(|r| row(r, cell(&r["bucket"]))).collect();
    rows.push(row(&u["totals"], "total".into()));
    output::table(&["BUCKET", "MODEL", "KEY", "MODE", "TASKS", "SECONDS", "USD"], &rows);
    Ok(())
}
