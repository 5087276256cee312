//! The published `/openapi.json` states what the server enforces: ranges, patterns, the
//! one-of of a task reference, refused unknown fields, the statuses an operation can answer,
//! limits taken from the config, and the signed file route.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app_with, test_config};

async fn document(app: &TestApp) -> Value {
    let r = app.client.get(format!("{}/openapi.json", app.base)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.unwrap()
}

fn param<'d>(op: &'d Value, name: &str) -> &'d Value {
    op["parameters"].as_array().unwrap().iter().find(|p| p["name"] == name).unwrap_or_else(|| panic!("no {name}"))
}

fn statuses(op: &Value) -> Vec<String> {
    let mut s: Vec<String> = op["responses"].as_object().unwrap().keys().cloned().collect();
    s.sort();
    s
}

#[tokio::test]
async fn the_published_schema_states_ranges_patterns_and_the_configured_wait() {
    let mut config = test_config();
    config.server.max_wait_secs = 7;
    let app = spawn_app_with(config).await;
    let doc = document(&app).await;
    let paths = &doc["paths"];

    let wait = &param(&paths["/v1/videos/tasks/{task_id}"]["get"], "wait")["schema"];
    assert_eq!((wait["minimum"].clone(), wait["maximum"].clone()), (json!(1), json!(7)));
    let wait = &param(&paths["/v1/tasks/query"]["get"], "wait")["schema"];
    assert_eq!(wait["maximum"], json!(7));
    let limit = &param(&paths["/v1/videos"]["get"], "limit")["schema"];
    assert_eq!((limit["minimum"].clone(), limit["maximum"].clone()), (json!(1), json!(100)));
    let limit = &param(&paths["/admin/v1/tasks"]["get"], "limit")["schema"];
    assert_eq!((limit["minimum"].clone(), limit["maximum"].clone()), (json!(1), json!(100)));
    let variant = &param(&paths["/v1/videos/{video_id}/content"]["get"], "variant")["schema"];
    assert_eq!(variant["pattern"], "^(video|thumbnail|spritesheet)$");
    let account = &param(&paths["/admin/v1/keys"]["get"], "account_id")["schema"];
    assert_eq!(account["pattern"], "^acct_[0-7][0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{25}$");

    // GET /v1/tasks/query: exactly one of task_id and out_task_id.
    let by = param(&paths["/v1/tasks/query"]["get"], "task");
    assert_eq!(
        (by["style"].clone(), by["explode"].clone(), by["required"].clone()),
        (json!("form"), json!(true), json!(true))
    );
    let one_of = by["schema"]["oneOf"].as_array().unwrap();
    assert_eq!(
        one_of.iter().map(|s| s["required"].clone()).collect::<Vec<_>>(),
        [json!(["task_id"]), json!(["out_task_id"])]
    );
    assert!(paths["/v1/tasks/query"]["get"]["parameters"].as_array().unwrap().iter().all(|p| p["name"] != "task_id"));

    let schemas = &doc["components"]["schemas"];
    let submit = &schemas["SubmitBody"];
    assert_eq!(submit["additionalProperties"], json!(false));
    assert_eq!(submit["properties"]["prompt"]["minLength"], json!(1));
    assert_eq!(submit["properties"]["out_task_id"]["pattern"], "^[A-Za-z0-9._:-]{1,128}$");
    assert_eq!(submit["properties"]["seed"]["maximum"], json!(4294967295_u64));
    let metadata = &submit["properties"]["metadata"];
    assert_eq!(metadata["maxProperties"], json!(16));
    assert_eq!(metadata["propertyNames"], json!({"minLength": 1, "maxLength": 64}));
    assert_eq!(metadata["additionalProperties"], json!({"type": "string", "maxLength": 512}));
    let refs: Vec<Value> =
        schemas["TaskRefBody"]["oneOf"].as_array().unwrap().iter().map(|s| s["$ref"].clone()).collect();
    assert_eq!(refs, [json!("#/components/schemas/ByTaskId"), json!("#/components/schemas/ByOutTaskId")]);
    assert_eq!(schemas["ByTaskId"]["additionalProperties"], json!(false));
    let envelope: Vec<Value> =
        schemas["TasksSubmitBody"]["oneOf"].as_array().unwrap().iter().map(|s| s["$ref"].clone()).collect();
    assert_eq!(envelope, [json!("#/components/schemas/SubmitBody"), json!("#/components/schemas/SubmitEnvelope")]);
    for body in ["CreateVideoJson", "CreateVideoForm", "RemixBody", "NewAccount", "Credit", "NewKeyRequest"] {
        assert_eq!(schemas[body]["additionalProperties"], json!(false), "{body}");
    }
}

#[tokio::test]
async fn every_operation_lists_the_statuses_it_can_answer_and_the_file_route_is_documented() {
    let app = spawn_app_with(test_config()).await;
    let doc = document(&app).await;
    let paths = &doc["paths"];
    assert_eq!(statuses(&paths["/admin/v1/keys"]["get"]), ["200", "400", "401", "503"]);
    assert_eq!(
        statuses(&paths["/admin/v1/accounts/{id}/credits"]["post"]),
        ["200", "400", "401", "402", "404", "408", "413", "415", "503"]
    );
    assert_eq!(
        statuses(&paths["/v1/videos/generations"]["post"]),
        ["200", "400", "401", "402", "403", "408", "409", "413", "415", "422", "429", "503"]
    );
    assert_eq!(statuses(&paths["/healthz"]["get"]), ["200", "503"]);
    let busy = &paths["/healthz"]["get"]["responses"]["503"]["content"]["application/json"]["schema"]["$ref"];
    assert_eq!(busy, "#/components/schemas/ErrorBody");

    let files = &paths["/files/{task_id}/{name}"]["get"];
    assert_eq!(statuses(files), ["200", "206", "304", "400", "403", "404", "410", "416", "503"]);
    assert_eq!(param(files, "name")["schema"]["pattern"], r"^(video\.mp4|audio\.m4a|thumbnail\.png|spritesheet\.png)$");
    assert_eq!(
        (param(files, "exp")["required"].clone(), param(files, "sig")["required"].clone()),
        (json!(true), json!(true))
    );
    assert!(files.get("security").is_none(), "the signature is the credential");
    let types = |op: &Value, status: &str| -> Vec<String> {
        op["responses"][status]["content"].as_object().unwrap().keys().cloned().collect()
    };
    assert_eq!(types(files, "200"), ["audio/mp4", "image/png", "video/mp4"]);
    assert_eq!(types(files, "206"), ["audio/mp4", "image/png", "video/mp4"]);
    let content = &paths["/v1/videos/{video_id}/content"]["get"];
    assert_eq!(types(content, "200"), ["image/png", "video/mp4"]);
}
