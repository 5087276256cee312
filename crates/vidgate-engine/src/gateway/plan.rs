//! Routing a submit through the plan (docs/api.md §11): test keys (and live keys with
//! `sandbox.serve_live_keys`) go to the sandbox; live keys get the cheapest covering job
//! on each configured route of the model, led by the route `channels` picks (priority,
//! weight, health, budget; docs/channels.md) and the others after it as failover,
//! recorded on the task with its upstream cost. Every route out of rotation is 503. A combination no route can deliver is refused with 400
//! `unsupported_value` naming why; a model without any configured route is 503.

use vidgate_domain::plan::{PlanRequest, Refusal, RoutePlan, TaskPlan, plan_request};
use vidgate_domain::request::{GuideRole, SubmitRequest};
use vidgate_domain::upstream::UpstreamConfig;
use vidgate_domain::{ErrorCode, RequestError, Usd};
use vidgate_store::ApiKey;

use super::{ApiError, Gateway};

/// Where a task runs: its provider, its plan and the upstream cost.
pub(super) struct Routed {
    pub provider: String,
    pub plan: TaskPlan,
    pub upstream_cost: Usd,
}

impl Gateway {
    /// The configured upstreams this process could build (live routes).
    pub fn live_upstreams(&self) -> Vec<UpstreamConfig> {
        let built = |u: &&UpstreamConfig| self.engine.providers.get(&u.name).is_some();
        self.config.upstreams.iter().filter(built).cloned().collect()
    }

    /// Picks the route and plans the job for a parsed request.
    pub(super) fn plan_submit(&self, key: &ApiKey, req: &SubmitRequest) -> Result<Routed, ApiError> {
        let sandbox = crate::provider::sandbox::SANDBOX;
        if key.mode == vidgate_domain::task::Mode::Test || self.config.sandbox.serve_live_keys {
            crate::provider::sandbox::check_hooks(&req.metadata, self.config.sandbox.max_delay_ms)?;
            // The sandbox renders exactly what was asked, at no upstream cost.
            let plan = TaskPlan::single(RoutePlan {
                route: sandbox.to_owned(),
                upstream_seconds: req.duration_seconds,
                extensions: 0,
                extension_seconds: 0,
                upstream_audio: req.audio,
                trim_to_ms: u64::from(req.duration_seconds) * 1000,
                delivered_ms: 0,
                upstream_cost: Usd::ZERO,
                margin: Usd::ZERO,
            });
            return Ok(Routed { provider: sandbox.to_owned(), plan, upstream_cost: Usd::ZERO });
        }
        let spec =
            self.catalog.resolve(&req.model).ok_or_else(|| ApiError::new(ErrorCode::ModelNotFound, "no such model"))?;
        let ask = PlanRequest {
            duration_seconds: req.duration_seconds,
            size: req.size,
            audio: req.audio,
            image: req.source_image.is_some(),
            last_frame: req.guides.last_frame.is_some(),
            references: req.guides.reference_images.len() as u32,
            style_references: req.guides.reference_images.iter().any(|(r, _)| *r == GuideRole::Style),
        };
        match plan_request(spec, &ask, &self.live_upstreams()) {
            Ok(plan) => {
                let engine = &self.engine;
                let busy = |name: &str| engine.at_cap.contains(name);
                let Some(plan) = engine.channels.arrange(plan, busy, crate::clock::now_ms()) else {
                    return Err(ApiError::new(
                        ErrorCode::ModelUnavailable,
                        format!(
                            "every upstream of model {} is unavailable now (disabled, failing or over budget)",
                            req.model
                        ),
                    ));
                };
                let first = plan.route().expect("a plan has a route").clone();
                engine.channels.add_routed(&first.route, first.upstream_cost);
                Ok(Routed { provider: first.route, plan, upstream_cost: first.upstream_cost })
            }
            Err(Refusal::NoRoute) => Err(ApiError::new(
                ErrorCode::ModelUnavailable,
                format!("no upstream is configured for model {}; test keys use the sandbox", req.model),
            )),
            Err(refusal) => {
                let mut what =
                    format!("{} s at {}{}", req.duration_seconds, req.size, if req.audio { " with audio" } else { "" });
                if req.guides.last_frame.is_some() {
                    what.push_str(" with a last frame");
                }
                match req.guides.reference_images.len() {
                    0 => {}
                    1 => what.push_str(" with 1 reference image"),
                    n => what.push_str(&format!(" with {n} reference images")),
                }
                let message = format!("model {} cannot be delivered as {what}: {refusal}", req.model);
                Err(RequestError::param(ErrorCode::UnsupportedValue, refusal.param(), message).into())
            }
        }
    }
}
