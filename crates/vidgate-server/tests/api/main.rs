//! Black-box tests of the HTTP surfaces: each test spawns a fresh gateway (its own data dir,
//! port 0, a catalog with tiny clips) and talks to it over HTTP like a client would.

mod helpers;
mod receiver;
mod restart;
mod s3s;

mod accounts;
mod admin_accounts;
mod admin_keys;
mod audit;
mod channels;
mod console;
mod fairness;
mod files;
mod hostile;
mod hostile_body;
mod idempotency;
mod key_cache;
mod media_dates;
mod metrics_help;
mod money;
mod openai;
mod quickstart;
mod schema;
mod slow_clients;
mod storage_presigned;
mod storage_s3;
mod tasks;
mod upstream_cases;
mod upstream_chaos;
mod upstream_dashscope;
mod upstream_extension;
mod upstream_gemini;
mod upstream_guides;
mod upstream_helpers;
mod upstream_kling;
mod upstream_minimax;
mod upstream_modelark;
mod upstream_openai;
mod upstream_retries;
mod upstream_vertex;
mod upstream_vidgate;
mod upstreams;
mod usage_modes;
mod validation;
mod webhooks;
