//! Metrics: one Prometheus recorder per process, and a middleware that counts requests by
//! route (the matched pattern, never the raw path, so ids do not explode the series) and
//! status.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process's recorder, installed on first use.
pub fn handle() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new().build_recorder();
        describe(&recorder);
        let handle = recorder.handle();
        // Another recorder may exist in tests that build several apps; keep ours usable.
        let _ = metrics::set_global_recorder(recorder);
        handle
    })
}

/// Every metric the gateway records, with the `# HELP` text `/metrics` shows for it.
pub const METRICS: &[(Kind, &str, &str)] = &[
    (Kind::Counter, "vidgate_http_requests_total", "HTTP requests answered, by route pattern, method and status."),
    (
        Kind::Histogram,
        "vidgate_http_request_duration_seconds",
        "Seconds to answer an HTTP request, by route pattern and method.",
    ),
    (Kind::Counter, "vidgate_task_transitions_total", "Task status changes, by model, provider and the new status."),
    (Kind::Counter, "vidgate_provider_jobs_total", "Upstream jobs started, by provider (the sandbox included)."),
    (
        Kind::Counter,
        "vidgate_failovers_total",
        "Submits moved to the next route of their plan before any upstream took them, by route left and route taken.",
    ),
    (
        Kind::Counter,
        "vidgate_possible_orphans_total",
        "Submits with no answer: the upstream may run a job no task follows, by provider.",
    ),
    (
        Kind::Counter,
        "vidgate_result_redownloads_total",
        "Results downloaded again after failing validation, by provider.",
    ),
    (
        Kind::Counter,
        "vidgate_upstream_requests_throttled_total",
        "Upstream requests that found no slot in their upstream's throttle within a second; their step is put back.",
    ),
    (Kind::Counter, "vidgate_webhook_deliveries_total", "Webhook delivery attempts, by outcome."),
    (
        Kind::Counter,
        "vidgate_upstream_calls_total",
        "Upstream submits and polls, by upstream, call and what the answer says of its health (docs/channels.md).",
    ),
    (
        Kind::Histogram,
        "vidgate_upstream_call_seconds",
        "Seconds an upstream took to answer a submit or a poll (its retries and lookups included), by upstream and call.",
    ),
    (
        Kind::Counter,
        "vidgate_upstream_health_changes_total",
        "Moves of an upstream's breaker or cool-down made by this process, by upstream and new state.",
    ),
    (Kind::Gauge, "vidgate_upstream_state", "Whether an upstream takes new tasks: 0 ready, 1 waiting, 2 out."),
    (
        Kind::Gauge,
        "vidgate_upstream_spend_today_usd",
        "The recorded upstream cost of an upstream's tasks this UTC day, in USD.",
    ),
    (Kind::Gauge, "vidgate_queue_depth", "Tasks queued (accepted, not yet running at their upstream)."),
    (Kind::Gauge, "vidgate_tasks_in_flight", "Tasks running at their upstream."),
    (Kind::Gauge, "vidgate_tasks_open", "Tasks queued or running, by provider and status."),
    (
        Kind::Gauge,
        "vidgate_media_pool_busy",
        "Media pool threads at work (validation, trims, posters, sandbox renders).",
    ),
];

/// The type of a metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

/// Describes every metric on the recorder itself (not the global one, which a test binary
/// building several apps may have given to another recorder).
fn describe(recorder: &impl metrics::Recorder) {
    for (kind, name, help) in METRICS {
        let (key, help) = (metrics::KeyName::from(*name), metrics::SharedString::from(*help));
        match kind {
            Kind::Counter => recorder.describe_counter(key, None, help),
            Kind::Gauge => recorder.describe_gauge(key, None, help),
            Kind::Histogram => recorder.describe_histogram(key, Some(metrics::Unit::Seconds), help),
        }
    }
}

/// Counts every request by route, method and status, and times it.
pub async fn track(req: Request, next: Next) -> Response {
    handle();
    let route =
        req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned()).unwrap_or_else(|| "unmatched".into());
    let method = req.method().to_string();
    let started = Instant::now();
    let response = next.run(req).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("vidgate_http_requests_total", "route" => route.clone(), "method" => method.clone(), "status" => status).increment(1);
    metrics::histogram!("vidgate_http_request_duration_seconds", "route" => route, "method" => method)
        .record(started.elapsed().as_secs_f64());
    response
}
