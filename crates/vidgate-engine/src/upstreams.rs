//! Start-up wiring of the real upstreams: building a provider for each `[[upstreams]]`
//! entry (with its in-flight cap for the store's claims), and the start-up report of every
//! catalog combination with its plan, upstream cost and margin, or why no route can
//! deliver it (docs/api.md §11).

use std::collections::BTreeMap;
use std::sync::Arc;

use vidgate_domain::catalog::Catalog;
use vidgate_domain::config::Config;
use vidgate_domain::plan::report;
use vidgate_domain::upstream::UpstreamConfig;
use vidgate_media::MediaPool;

use crate::provider::{Providers, SandboxProvider, Upstream};

/// The sandbox and every configured upstream, and each upstream's cap of jobs in flight.
/// A misconfigured upstream stops start-up (the error names it, never its credentials).
pub fn providers(config: &Config, media: Arc<MediaPool>) -> Result<(Providers, BTreeMap<String, u32>), String> {
    let mut entries = vec![Upstream::Sandbox(Arc::new(SandboxProvider::new(config.sandbox.clone(), media)))];
    let mut caps = BTreeMap::new();
    for u in &config.upstreams {
        let upstream = Upstream::from_config(u, config.files.max_result_bytes)?;
        check_comfyui_at_start(&upstream);
        entries.push(upstream);
        caps.insert(u.name.clone(), u.max_in_flight);
        tracing::info!(upstream = %u.name, kind = u.kind.as_str(), model = %u.model, "upstream configured");
    }
    Ok((Providers::new(entries), caps))
}

/// Logs the plan of every catalog combination for live keys; warns about negative margins,
/// upstreams without prices, and combinations no route can deliver.
pub fn log_report(catalog: &Catalog, upstreams: &[UpstreamConfig]) {
    // A ComfyUI entry with a GPU-second rate records its measured cost per task instead.
    let gpu_priced = |u: &UpstreamConfig| u.comfyui.as_ref().is_some_and(|c| c.usd_per_gpu_second.micros() > 0);
    for u in upstreams.iter().filter(|u| !u.has_prices() && !gpu_priced(u)) {
        tracing::warn!(upstream = %u.name, "no usd_per_second configured: upstream costs and margins are unknown (shown as 0)");
    }
    let mut unrouted = Vec::new();
    let lines = report(catalog, upstreams);
    let summary = vidgate_domain::plan::ReportSummary::of(&lines);
    for line in lines {
        match &line.outcome {
            Err(vidgate_domain::plan::Refusal::NoRoute) => {
                if !unrouted.contains(&line.model) {
                    unrouted.push(line.model.clone());
                }
            }
            Err(_) => tracing::warn!("plan: {line}"),
            Ok(_) if line.negative_margin() => tracing::warn!("plan (NEGATIVE MARGIN): {line}"),
            Ok(_) => tracing::info!("plan: {line}"),
        }
    }
    match summary.is_clean() {
        true if summary.plans > 0 => tracing::info!("plan summary: {summary}"),
        true => {}
        false => tracing::warn!("plan summary: {summary}"),
    }
    if !unrouted.is_empty() {
        tracing::info!(models = %unrouted.join(", "), "no upstream route configured: live keys get 503 model_unavailable (test keys use the sandbox)");
    }
}

/// One `[[upstreams]]` entry's (or pool member's) check (`vidgate upstreams check`).
pub struct CheckedUpstream {
    pub name: String,
    pub kind: &'static str,
    pub model: String,
    pub check: crate::provider::check::Check,
}

/// Checks every configured upstream at once, without generating anything: its credentials
/// and model id against the live API where the API allows (`Provider::check`). An entry
/// that cannot be built is reported, not fatal, so one bad entry does not hide the others.
pub async fn check_all(config: &Config) -> Vec<CheckedUpstream> {
    use crate::provider::check::{Check, Verdict};
    // Each credential of a pool is checked on its own (a loaded config's pools are valid).
    let channels = config.channels().unwrap_or_else(|_| config.upstreams.clone());
    let checks = channels.iter().map(|u| async move {
        let check = match Upstream::from_config(u, config.files.max_result_bytes) {
            Ok(upstream) => upstream.provider().check().await,
            Err(why) => Check { credentials: Verdict::Bad(why), model: Verdict::Unknown("not built".into()) },
        };
        CheckedUpstream { name: u.name.clone(), kind: u.kind.as_str(), model: u.model.clone(), check }
    });
    futures::future::join_all(checks).await
}

/// Checks a ComfyUI upstream's workflow against each server's `/object_info` in the
/// background and logs the outcome (docs/upstreams.md §15.8): a GPU box that is down at
/// start-up must not stop the gateway, and each server is checked again before its first job.
fn check_comfyui_at_start(upstream: &Upstream) {
    let (Upstream::Comfyui(p), Ok(runtime)) = (upstream, tokio::runtime::Handle::try_current()) else { return };
    let p = p.clone();
    runtime.spawn(async move {
        for (server, outcome) in p.check_servers().await {
            match outcome {
                Ok(()) => tracing::info!(upstream = %crate::provider::Provider::name(p.as_ref()), %server, "workflow fits the ComfyUI server"),
                Err(e) => tracing::error!(upstream = %crate::provider::Provider::name(p.as_ref()), %server, "ComfyUI check failed: {e}"),
            }
        }
    });
}
