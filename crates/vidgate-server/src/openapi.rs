//! The OpenAPI 3.1 document, generated from the handlers' `#[utoipa::path]` annotations and
//! the types they take and return. Every route must be listed here; a test checks that.
//!
//! [`document`] then states what the annotations cannot: the answers every operation of a
//! kind can give (a malformed query or path is 400, a bearer route 401, a body route 408,
//! 413 and 415, any connection 503 `server_busy`), the limits that come from the config
//! (`wait`), the metadata object's bounds, the media types of downloads, and the
//! exactly-one-of `task_id` / `out_task_id` of `GET /v1/tasks/query`.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::routes::openai::{content, create, read};
use crate::routes::{admin, files, models, money, ops, stream, tasks, upstreams, videos, webhooks};

/// The API document.
#[derive(OpenApi)]
#[openapi(
    info(title = "vidgate", description = "A self-hosted gateway for video-generation models."),
    paths(
        videos::submit, videos::get_task, tasks::submit, tasks::query_body, tasks::query_get, tasks::cancel_path,
        tasks::cancel_body, stream::stream, webhooks::deliveries, models::list, models::get_one,
        create::create, read::retrieve, read::list, read::delete, content::download, create::remix,
        admin::create_account, admin::get_account, admin::rotate_secret, admin::add_credits,
        admin::create_key, admin::list_keys, admin::revoke_key, admin::search_tasks,
        admin::list_accounts, admin::update_account, admin::get_key, admin::update_key, admin::list_audit,
        money::balance, money::usage, money::admin_usage,
        upstreams::list_upstreams, upstreams::get_upstream, upstreams::update_upstream,
        ops::healthz, ops::readyz, ops::metrics, ops::openapi, files::serve_file,
    ),
    modifiers(&Security)
)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "admin_token",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Statuses every operation of a kind can answer, with why.
const COMMON: [(u16, &str); 7] = [
    (400, "a malformed path segment or query parameter (unknown, repeated or invalid), or an invalid body"),
    (401, "a missing or invalid credential"),
    (403, "the API key may not be used from this address"),
    (408, "the request body arrived slower than `server.body_min_bytes_per_sec`"),
    (413, "the body is larger than `server.body_limit_bytes`"),
    (415, "the body's content type is not one this operation takes"),
    (503, "`server_busy`: every connection the server may hold is in a request (`Retry-After`)"),
];

/// Statuses particular operations can answer that their annotations do not list.
const EXTRA: [(&str, &str, u16, &str); 3] = [
    ("post", "/admin/v1/accounts/{id}/credits", 402, "a removal would take the balance below zero"),
    ("get", "/v1/videos/{video_id}/content", 304, "`If-None-Match` matched the `ETag`"),
    ("get", "/v1/videos/{video_id}/content", 416, "the range is outside the file"),
];

/// The published document: the generated one, completed as the module doc says.
pub fn document(server: &vidgate_domain::config::ServerConfig) -> serde_json::Value {
    let mut doc = serde_json::to_value(ApiDoc::openapi()).expect("the document serialises");
    for (_, item) in doc["paths"].as_object_mut().expect("paths").iter_mut() {
        for (_, op) in item.as_object_mut().expect("a path item").iter_mut() {
            complete_operation(op, server);
        }
    }
    for (method, path, status, why) in EXTRA {
        add_response(&mut doc["paths"][path][method], status, why);
    }
    let files = ["video/mp4", "audio/mp4", "image/png"];
    file_bodies(&mut doc["paths"]["/files/{task_id}/{name}"]["get"], &files);
    file_bodies(&mut doc["paths"]["/v1/videos/{video_id}/content"]["get"], &["video/mp4", "image/png"]);
    tasks_query_one_of(&mut doc["paths"]["/v1/tasks/query"]["get"]);
    for body in ["SubmitBody", "SubmitEnvelope"] {
        bound_metadata(&mut doc["components"]["schemas"][body]["properties"]["metadata"]);
    }
    doc
}

fn complete_operation(op: &mut serde_json::Value, server: &vidgate_domain::config::ServerConfig) {
    let has_params = op["parameters"].as_array().is_some_and(|p| !p.is_empty());
    let has_body = op.get("requestBody").is_some();
    let schemes: Vec<String> = op["security"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r.as_object())
        .flat_map(|r| r.keys().cloned())
        .collect();
    for (status, why) in COMMON {
        let applies = match status {
            400 => has_params || has_body,
            401 => !schemes.is_empty(),
            403 => schemes.iter().any(|s| s == "api_key"),
            408 | 413 | 415 => has_body,
            _ => true,
        };
        if applies {
            add_response(op, status, why);
        }
    }
    let params = op.get_mut("parameters").and_then(|p| p.as_array_mut());
    for param in params.into_iter().flatten() {
        if param["name"] == "wait" && param["in"] == "query" {
            param["schema"]["maximum"] = server.max_wait_secs.into();
        }
    }
}

/// Adds `status` with the error body unless the operation lists it already.
fn add_response(op: &mut serde_json::Value, status: u16, why: &str) {
    let responses = op["responses"].as_object_mut().expect("an operation with responses");
    responses.entry(status.to_string()).or_insert_with(|| {
        serde_json::json!({
            "description": why,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
        })
    });
}

/// A download's 200 and 206 carry the file in whichever of `types` it is.
fn file_bodies(op: &mut serde_json::Value, types: &[&str]) {
    let content: serde_json::Map<String, serde_json::Value> = types
        .iter()
        .map(|t| (t.to_string(), serde_json::json!({"schema": {"type": "string", "contentMediaType": t}})))
        .collect();
    for status in ["200", "206"] {
        if let Some(response) = op["responses"].get_mut(status) {
            response["content"] = serde_json::Value::Object(content.clone());
        }
    }
}

/// `GET /v1/tasks/query` takes exactly one of `task_id` and `out_task_id`: one exploded
/// form parameter whose object is one or the other.
fn tasks_query_one_of(op: &mut serde_json::Value) {
    let Some(params) = op.get_mut("parameters").and_then(|p| p.as_array_mut()) else { return };
    params.retain(|p| p["name"] != "task_id" && p["name"] != "out_task_id");
    let one = |name: &str, schema: serde_json::Value| {
        serde_json::json!({
            "type": "object",
            "properties": {name: schema},
            "required": [name],
            "additionalProperties": false
        })
    };
    params.insert(
        0,
        serde_json::json!({
            "name": "task",
            "in": "query",
            "required": true,
            "style": "form",
            "explode": true,
            "description": "exactly one of `task_id` and `out_task_id`",
            "schema": {"oneOf": [
                one("task_id", serde_json::json!({"type": "string", "minLength": 1})),
                one("out_task_id", serde_json::json!({"type": "string", "pattern": "^[A-Za-z0-9._:-]{1,128}$"})),
            ]}
        }),
    );
}

/// At most 16 pairs; keys of 1 to 64 characters; string values of at most 512.
fn bound_metadata(schema: &mut serde_json::Value) {
    if !schema.is_object() {
        return;
    }
    schema["maxProperties"] = 16.into();
    schema["propertyNames"] = serde_json::json!({"minLength": 1, "maxLength": 64});
    schema["additionalProperties"] = serde_json::json!({"type": "string", "maxLength": 512});
}
