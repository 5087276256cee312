//! The OpenAI Videos surface (`/v1/videos`) as the official SDKs use it: JSON and multipart
//! creates, the video object and its poll pacing, list paging, content variants, delete,
//! remix, idempotency, and the same tasks on the other surfaces.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use vidgate_media::VideoCodec;

use crate::helpers::{TestApp, decode_png, probe_bytes, solid_png, spawn_app, spawn_app_with, test_config};

const BOUNDARY: &str = "vidgate-test-boundary-7MA4YWxkTrZu0gW";

/// A multipart/form-data body of text fields and, optionally, an `input_reference` file of
/// the given content type.
fn form(texts: &[(&str, &str)], file: Option<(&str, &[u8])>) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, value) in texts {
        body.extend(
            format!("--{BOUNDARY}\r\ncontent-disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").bytes(),
        );
    }
    if let Some((content_type, bytes)) = file {
        body.extend(
            format!(
                "--{BOUNDARY}\r\ncontent-disposition: form-data; name=\"input_reference\"; filename=\"ref.png\"\r\n\
                 content-type: {content_type}\r\n\r\n"
            )
            .bytes(),
        );
        body.extend(bytes);
        body.extend(b"\r\n");
    }
    body.extend(format!("--{BOUNDARY}--\r\n").bytes());
    body
}

async fn send(
    app: &TestApp,
    key: &str,
    path: &str,
    content_type: &str,
    body: Vec<u8>,
) -> (StatusCode, Value, HeaderMap) {
    let r = app
        .client
        .post(format!("{}{path}", app.base))
        .bearer_auth(key)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let (status, headers) = (r.status(), r.headers().clone());
    (status, r.json().await.unwrap_or(Value::Null), headers)
}

async fn create_form(
    app: &TestApp,
    texts: &[(&str, &str)],
    file: Option<(&str, &[u8])>,
) -> (StatusCode, Value, HeaderMap) {
    let content_type = format!("multipart/form-data; boundary={BOUNDARY}");
    send(app, &app.test_key, "/v1/videos", &content_type, form(texts, file)).await
}

async fn create_json(app: &TestApp, key: &str, body: Value) -> (StatusCode, Value, HeaderMap) {
    app.post("/v1/videos", key, &body).await
}

/// Waits (long-poll on the video-task surface) until the task is terminal, then reads the
/// video object.
async fn finished(app: &TestApp, key: &str, id: &str) -> (Value, HeaderMap) {
    app.wait_terminal(key, id, Duration::from_secs(30)).await;
    let r = app.client.get(format!("{}/v1/videos/{id}", app.base)).bearer_auth(key).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let headers = r.headers().clone();
    (r.json().await.unwrap(), headers)
}

async fn delete(app: &TestApp, key: &str, path: &str) -> (StatusCode, Value, HeaderMap) {
    let r = app.client.delete(format!("{}{path}", app.base)).bearer_auth(key).send().await.unwrap();
    let (status, headers) = (r.status(), r.headers().clone());
    (status, r.json().await.unwrap_or(Value::Null), headers)
}

/// A PNG of pseudo-random pixels (it does not compress): about `width * height * 3` bytes.
fn noise_png(width: u32, height: u32) -> Vec<u8> {
    let mut state = 0x2545_f491_u32;
    let data: Vec<u8> = (0..width * height * 3)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state as u8
        })
        .collect();
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, width, height);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    enc.write_header().unwrap().write_image_data(&data).unwrap();
    out
}

fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_multipart_create_is_a_video_object_that_completes_and_reads_on_every_surface() {
    let app = spawn_app().await;
    let before = unix_now();
    let texts = [("prompt", "a red ball bouncing"), ("model", "tiny"), ("seconds", "2"), ("size", "90x160")];
    let (s, video, headers) = create_form(&app, &texts, None).await;
    assert_eq!(s, StatusCode::OK, "{video}");
    assert_eq!(headers["openai-poll-after-ms"], "1000");
    let id = video["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("task_"), "{id}");
    let created_at = video["created_at"].as_i64().unwrap();
    assert!((before..=unix_now()).contains(&created_at), "unix seconds: {video}");
    let expected = json!({
        "id": id, "object": "video", "model": "tiny", "status": "queued", "progress": 0, "created_at": created_at,
        "completed_at": null, "expires_at": null, "prompt": "a red ball bouncing", "seconds": "2", "size": "90x160",
        "remixed_from_video_id": null, "error": null
    });
    assert_eq!(video, expected);

    let (done, headers) = finished(&app, &app.test_key, &id).await;
    assert_eq!((done["status"].as_str(), done["progress"].as_u64()), (Some("completed"), Some(100)), "{done}");
    assert!(headers.get("openai-poll-after-ms").is_none(), "a finished video needs no more polls");
    let completed_at = done["completed_at"].as_i64().unwrap();
    assert!(completed_at >= created_at && completed_at <= unix_now());
    let retention = test_config().files.retention_secs as i64;
    assert!((done["expires_at"].as_i64().unwrap() - completed_at - retention).abs() <= 1, "{done}");

    let (s, task) = app.get(&format!("/v1/videos/tasks/{id}"), &app.test_key).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!((task["status"].as_str(), task["duration_seconds"].as_u64()), (Some("completed"), Some(2)));
    assert_eq!((task["size"].as_str(), task["audio"].as_bool()), (Some("90x160"), Some(true)), "sora clips have sound");
    assert_eq!(task["credits_used"], json!(0.5), "0.25 USD/s x 2 s");
    let (s, queried) = app.get(&format!("/v1/tasks/query?task_id={id}"), &app.test_key).await;
    assert_eq!((s, queried["status"].as_str()), (StatusCode::OK, Some("completed")));
    let (_, other_key) = app.account_with_key("other", "test").await;
    let (s, e) = app.get(&format!("/v1/videos/{id}"), &other_key).await;
    assert_eq!((s, e["error"]["code"].as_str()), (StatusCode::NOT_FOUND, Some("task_not_found")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_json_create_takes_the_model_defaults_and_an_image_url() {
    let app = spawn_app().await;
    let png = solid_png(160, 90, [200, 30, 30]);
    let data_uri = format!("data:image/png;base64,{}", STANDARD.encode(&png));
    let body = json!({"prompt": "a red ball", "model": "tiny-alias", "input_reference": {"image_url": data_uri}});
    let (s, video, _) = create_json(&app, &app.test_key, body).await;
    assert_eq!(s, StatusCode::OK, "{video}");
    assert_eq!(
        (video["model"].as_str(), video["seconds"].as_str(), video["size"].as_str()),
        (Some("tiny"), Some("1"), Some("160x90"))
    );
    let id = video["id"].as_str().unwrap();
    let stored = app.app.gateway.store_for_tests().source_image(&id.parse().unwrap()).await.unwrap().unwrap();
    assert_eq!(stored.bytes, png);
    let (done, _) = finished(&app, &app.test_key, id).await;
    assert_eq!(done["status"], "completed", "{done}");
    let (s, e, _) = create_json(&app, &app.test_key, json!({"prompt": "p", "seconds": "1"})).await;
    assert_eq!((s, e["error"]["param"].as_str()), (StatusCode::BAD_REQUEST, Some("seconds")));
    assert!(e["error"]["message"].as_str().unwrap().ends_with("for model sora2"), "an omitted model is sora2: {e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_multipart_upload_is_limited_by_the_image_limit_and_the_multipart_body_limit() {
    let mut config = test_config();
    config.fetch.max_image_bytes = 2 * 1024 * 1024;
    let app = spawn_app_with(config).await;
    let texts = [("prompt", "noise"), ("model", "tiny")];
    let big = noise_png(800, 700);
    assert!(big.len() > 1024 * 1024 && big.len() < 2 * 1024 * 1024, "{}", big.len());
    let (s, video, _) = create_form(&app, &texts, Some(("image/png", &big))).await;
    assert_eq!(s, StatusCode::OK, "an image over the JSON body limit is fine in multipart: {video}");
    let stored =
        app.app.gateway.store_for_tests().source_image(&video["id"].as_str().unwrap().parse().unwrap()).await.unwrap();
    assert_eq!(stored.unwrap().bytes, big);
    let too_big = noise_png(1000, 1000);
    let (s, e, _) = create_form(&app, &texts, Some(("image/png", &too_big))).await;
    assert_eq!((s, e["error"]["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("source_image_unreadable")));
    assert_eq!(e["error"]["param"], "input_reference");
    // body limit 1 MiB + image limit 2 MiB + 1 MiB of room
    let (s, e, _) = create_form(&app, &texts, Some(("image/png", &vec![0; 4 * 1024 * 1024 + 1]))).await;
    assert_eq!((s, e["error"]["code"].as_str()), (StatusCode::PAYLOAD_TOO_LARGE, Some("request_too_large")));
    let (s, e, _) = create_form(&app, &texts, Some(("image/jpeg", &solid_png(16, 9, [0, 0, 0])))).await;
    assert_eq!((s, e["error"]["param"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("input_reference")));
    let json_limit = json!({"prompt": "p", "model": "tiny", "input_reference": {"image_url": "x".repeat(1024 * 1024)}});
    let (s, _, _) = create_json(&app, &app.test_key, json_limit).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "JSON keeps the body limit");
}

/// Text fields, and the error code and `param` they must get.
type FormCase = (&'static [(&'static str, &'static str)], &'static str, &'static str);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_fields_are_400s_naming_the_openai_parameter() {
    let app = spawn_app().await;
    let cases: [FormCase; 6] = [
        (&[("prompt", "p"), ("model", "tiny"), ("seconds", "3")], "unsupported_value", "seconds"),
        (&[("prompt", "p"), ("model", "tiny"), ("seconds", "two")], "invalid_param", "seconds"),
        (&[("prompt", "p"), ("model", "tiny"), ("size", "1280x720")], "unsupported_value", "size"),
        (&[("prompt", "p"), ("model", "sora-9")], "model_not_found", "model"),
        (&[("model", "tiny")], "invalid_param", "prompt"),
        (&[("prompt", "p"), ("model", "tiny"), ("audio", "true")], "unknown_param", "audio"),
    ];
    for (texts, code, param) in cases {
        let (s, e, headers) = create_form(&app, texts, None).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
        assert_eq!((e["error"]["code"].as_str(), e["error"]["param"].as_str()), (Some(code), Some(param)), "{e}");
        assert_eq!(e["error"]["type"], "invalid_request_error");
        assert!(headers.get("x-should-retry").is_none());
    }
    let (s, e, _) = create_json(&app, &app.test_key, json!({"prompt": "p", "model": "tiny", "seconds": "3"})).await;
    assert_eq!((s, e["error"]["param"].as_str()), (StatusCode::BAD_REQUEST, Some("seconds")));
    let (s, e, _) = send(&app, &app.test_key, "/v1/videos", "text/plain", b"prompt=p".to_vec()).await;
    assert_eq!((s, e["error"]["code"].as_str()), (StatusCode::UNSUPPORTED_MEDIA_TYPE, Some("unsupported_media_type")));
    let (s, e, _) = send(&app, &app.test_key, "/v1/videos", "multipart/form-data", b"junk".to_vec()).await;
    assert_eq!((s, e["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_param")), "no boundary");
    let (s, e, _) = send(&app, &app.test_key, "/v1/videos", "application/json", b"[1]".to_vec()).await;
    assert_eq!((s, e["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_json")));
    let (s, e, _) = create_json(&app, "sk-vg-test-nope", json!({"prompt": "p"})).await;
    assert_eq!((s, e["error"]["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_api_key")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_list_pages_newest_first_or_oldest_first_with_cursors() {
    let app = spawn_app().await;
    let mut ids = Vec::new();
    for n in 0..5 {
        let (s, v, _) = create_json(&app, &app.test_key, json!({"prompt": format!("clip {n}"), "model": "tiny"})).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        ids.push(v["id"].as_str().unwrap().to_owned());
    }
    ids.sort(); // ids sort by creation time
    let page = |query: String| {
        let app = &app;
        async move {
            let (s, list) = app.get(&format!("/v1/videos?{query}"), &app.test_key).await;
            assert_eq!(s, StatusCode::OK, "{list}");
            assert_eq!(list["object"], "list");
            let got: Vec<String> =
                list["data"].as_array().unwrap().iter().map(|v| v["id"].as_str().unwrap().to_owned()).collect();
            assert_eq!(list["first_id"].as_str(), got.first().map(String::as_str));
            assert_eq!(list["last_id"].as_str(), got.last().map(String::as_str));
            (got, list["has_more"].as_bool().unwrap())
        }
    };
    let desc: Vec<String> = ids.iter().rev().cloned().collect();
    assert_eq!(page("limit=2".into()).await, (desc[0..2].to_vec(), true));
    assert_eq!(page(format!("limit=2&after={}", desc[1])).await, (desc[2..4].to_vec(), true));
    assert_eq!(page(format!("limit=2&after={}", desc[3])).await, (desc[4..].to_vec(), false));
    assert_eq!(page("order=asc&limit=3".into()).await, (ids[0..3].to_vec(), true));
    assert_eq!(page(format!("order=asc&limit=3&after={}", ids[2])).await, (ids[3..].to_vec(), false));
    assert_eq!(page(String::new()).await, (desc.clone(), false), "default: 20, newest first");
    for (query, param) in [("limit=0", "limit"), ("limit=101", "limit"), ("order=up", "order"), ("after=x", "after")] {
        let (s, e) = app.get(&format!("/v1/videos?{query}"), &app.test_key).await;
        assert_eq!((s, e["error"]["param"].as_str()), (StatusCode::BAD_REQUEST, Some(param)), "{query}");
    }
    let (_, other_key) = app.account_with_key("other", "test").await;
    let (_, list) = app.get("/v1/videos", &other_key).await;
    assert_eq!(
        (list["data"].clone(), list["has_more"].clone(), list["last_id"].clone()),
        (json!([]), json!(false), json!(null))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn content_variants_stream_with_their_types_ranges_and_etags() {
    let app = spawn_app().await;
    let (_, video, _) = create_form(&app, &[("prompt", "p"), ("model", "tiny"), ("seconds", "1")], None).await;
    let id = video["id"].as_str().unwrap().to_owned();
    finished(&app, &app.test_key, &id).await;
    let get = |query: &'static str, range: Option<&'static str>| {
        let (app, id) = (&app, id.clone());
        async move {
            let mut r =
                app.client.get(format!("{}/v1/videos/{id}/content{query}", app.base)).bearer_auth(&app.test_key);
            if let Some(range) = range {
                r = r.header("range", range);
            }
            let r = r.send().await.unwrap();
            let (status, headers) = (r.status(), r.headers().clone());
            (status, headers, r.bytes().await.unwrap().to_vec())
        }
    };
    let (s, headers, mp4) = get("", None).await;
    assert_eq!((s, headers["content-type"].to_str().unwrap()), (StatusCode::OK, "video/mp4"));
    assert_eq!(&mp4[4..8], b"ftyp");
    let track = probe_bytes(&mp4, "mp4").video.unwrap();
    assert_eq!((track.kind, track.width, track.height), (VideoCodec::H264, 160, 90));
    assert_eq!(get("?variant=video", None).await.2, mp4);
    let (s, headers, part) = get("?variant=video", Some("bytes=0-9")).await;
    assert_eq!((s, part.as_slice()), (StatusCode::PARTIAL_CONTENT, &mp4[..10]));
    assert_eq!(headers["content-range"], format!("bytes 0-9/{}", mp4.len()).as_str());
    let etag = headers["etag"].clone();
    let r = app
        .client
        .get(format!("{}/v1/videos/{id}/content", app.base))
        .bearer_auth(&app.test_key)
        .header("if-none-match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_MODIFIED);
    for (query, width) in [("?variant=thumbnail", 160), ("?variant=spritesheet", 4 * 240)] {
        let (s, headers, png) = get(query, None).await;
        assert_eq!((s, headers["content-type"].to_str().unwrap()), (StatusCode::OK, "image/png"), "{query}");
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(decode_png(&png).0, width, "{query}");
    }
    let (s, _, body) = get("?variant=poster", None).await;
    let e: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!((s, e["error"]["param"].as_str()), (StatusCode::BAD_REQUEST, Some("variant")));

    let failed = app.submit_tiny(&app.test_key, json!({"metadata": {"sandbox.fault": "upstream_error"}})).await;
    let failed_id = failed["task_id"].as_str().unwrap();
    let (video, _) = finished(&app, &app.test_key, failed_id).await;
    assert_eq!((video["status"].as_str(), video["error"]["code"].as_str()), (Some("failed"), Some("upstream_error")));
    let (s, e) = app.get(&format!("/v1/videos/{failed_id}/content"), &app.test_key).await;
    assert_eq!((s, e["error"]["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_video_has_no_content_cannot_be_deleted_and_reads_failed_once_cancelled() {
    let mut config = test_config();
    config.sandbox.queue_delay_ms = 60_000;
    let app = spawn_app_with(config).await;
    let (_, video, _) = create_json(&app, &app.test_key, json!({"prompt": "p", "model": "tiny"})).await;
    let id = video["id"].as_str().unwrap();
    let (s, e, headers) = delete(&app, &app.test_key, &format!("/v1/videos/{id}")).await;
    assert_eq!((s, e["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("task_not_terminal")));
    assert_eq!(headers["x-should-retry"], "false");
    let (s, e) = app.get(&format!("/v1/videos/{id}/content"), &app.test_key).await;
    assert_eq!((s, e["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("task_not_terminal")));
    let (s, _, _) = app.post(&format!("/v1/tasks/cancel/{id}"), &app.test_key, &json!({})).await;
    assert_eq!(s, StatusCode::OK);
    let r = app.client.get(format!("{}/v1/videos/{id}", app.base)).bearer_auth(&app.test_key).send().await.unwrap();
    assert!(r.headers().get("openai-poll-after-ms").is_none());
    let cancelled: Value = r.json().await.unwrap();
    assert_eq!(
        (cancelled["status"].as_str(), cancelled["error"]["code"].as_str()),
        (Some("failed"), Some("cancelled"))
    );
    assert!(cancelled["completed_at"].is_i64() && cancelled["expires_at"].is_null(), "{cancelled}");
    let (s, deleted, _) = delete(&app, &app.test_key, &format!("/v1/videos/{id}")).await;
    assert_eq!((s, deleted), (StatusCode::OK, json!({"id": id, "object": "video.deleted", "deleted": true})));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_removes_the_files_and_the_task_from_every_surface() {
    let app = spawn_app().await;
    let (_, other_key) = app.account_with_key("other", "test").await;
    let task = app.submit_tiny(&app.test_key, json!({"out_task_id": "keep-1"})).await;
    let id = task["task_id"].as_str().unwrap().to_owned();
    let done = app.wait_terminal(&app.test_key, &id, Duration::from_secs(30)).await;
    let url = done["result_url"].as_str().unwrap().to_owned();
    assert_eq!(app.download(&url).await.0, StatusCode::OK);
    let (s, _, _) = delete(&app, &other_key, &format!("/v1/videos/{id}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "another account's video is unknown");
    let (s, deleted, _) = delete(&app, &app.test_key, &format!("/v1/videos/{id}")).await;
    assert_eq!((s, deleted), (StatusCode::OK, json!({"id": id, "object": "video.deleted", "deleted": true})));
    assert_eq!(app.stored_files(&id), Vec::<String>::new(), "the files are gone");
    for path in [
        format!("/v1/videos/{id}"),
        format!("/v1/videos/{id}/content"),
        format!("/v1/videos/tasks/{id}"),
        format!("/v1/tasks/query?task_id={id}"),
        "/v1/tasks/query?out_task_id=keep-1".to_owned(),
    ] {
        let (s, e) = app.get(&path, &app.test_key).await;
        assert_eq!((s, e["error"]["code"].as_str()), (StatusCode::NOT_FOUND, Some("task_not_found")), "{path}: {e}");
    }
    assert_eq!(app.download(&url).await.0, StatusCode::NOT_FOUND);
    let (_, list) = app.get("/v1/videos", &app.test_key).await;
    assert_eq!(list["data"], json!([]));
    let (s, _, _) = delete(&app, &app.test_key, &format!("/v1/videos/{id}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let again = app.submit_tiny(&app.test_key, json!({"out_task_id": "keep-1", "prompt": "another"})).await;
    assert_ne!(again["task_id"].as_str(), Some(id.as_str()), "the idempotency key died with the task");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remix_is_a_new_billed_task_with_the_originals_parameters_and_image() {
    let mut config = test_config();
    config.sandbox.serve_live_keys = true;
    let app = spawn_app_with(config).await;
    let (account, live_key) = app.account_with_key("acme", "live").await;
    let (s, _) = app.admin_post(&format!("/admin/v1/accounts/{account}/credits"), &json!({"amount_usd": 10})).await;
    assert_eq!(s, StatusCode::OK);
    let png = solid_png(90, 160, [20, 200, 20]);
    let content_type = format!("multipart/form-data; boundary={BOUNDARY}");
    let texts = [("prompt", "a green field"), ("model", "tiny"), ("seconds", "2"), ("size", "90x160")];
    let (s, original, _) =
        send(&app, &live_key, "/v1/videos", &content_type, form(&texts, Some(("image/png", &png)))).await;
    assert_eq!(s, StatusCode::OK, "{original}");
    let original_id = original["id"].as_str().unwrap().to_owned();
    finished(&app, &live_key, &original_id).await;

    let (s, remix, headers) = app
        .post(&format!("/v1/videos/{original_id}/remix"), &live_key, &json!({"prompt": "a green field at dusk"}))
        .await;
    assert_eq!(s, StatusCode::OK, "{remix}");
    assert_eq!(headers["openai-poll-after-ms"], "1000");
    let remix_id = remix["id"].as_str().unwrap().to_owned();
    assert_ne!(remix_id, original_id);
    assert_eq!(remix["remixed_from_video_id"].as_str(), Some(original_id.as_str()));
    assert_eq!(
        (remix["prompt"].as_str(), remix["seconds"].as_str(), remix["size"].as_str()),
        (Some("a green field at dusk"), Some("2"), Some("90x160"))
    );
    let stored = app.app.gateway.store_for_tests().source_image(&remix_id.parse().unwrap()).await.unwrap().unwrap();
    assert_eq!(stored.bytes, png, "the remix starts from the original's image");
    let (done, _) = finished(&app, &live_key, &remix_id).await;
    assert_eq!(done["status"], "completed", "{done}");
    let (_, acct) = app.admin_get(&format!("/admin/v1/accounts/{account}")).await;
    assert_eq!(
        (acct["spent_usd"].clone(), acct["held_usd"].clone()),
        (json!(1), json!(0)),
        "two tasks of 0.25 USD/s x 2 s"
    );

    let multipart = form(&[("prompt", "again")], None);
    let (s, by_form, _) =
        send(&app, &live_key, &format!("/v1/videos/{original_id}/remix"), &content_type, multipart).await;
    assert_eq!((s, by_form["remixed_from_video_id"].as_str()), (StatusCode::OK, Some(original_id.as_str())));
    let (s, e, _) =
        app.post(&format!("/v1/videos/{original_id}/remix"), &live_key, &json!({"prompt": "p", "seconds": "1"})).await;
    assert_eq!(
        (s, e["error"]["code"].as_str(), e["error"]["param"].as_str()),
        (StatusCode::BAD_REQUEST, Some("unknown_param"), Some("seconds"))
    );
    let (s, _, _) = app.post(&format!("/v1/videos/{original_id}/remix"), &app.test_key, &json!({"prompt": "p"})).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "another account's video cannot be remixed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_idempotency_key_header_replays_and_conflicts_like_on_every_surface() {
    let app = spawn_app().await;
    let send_keyed = |body: Value| {
        let app = &app;
        async move {
            let r = app
                .client
                .post(format!("{}/v1/videos", app.base))
                .bearer_auth(&app.test_key)
                .header("idempotency-key", "clip-42")
                .json(&body)
                .send()
                .await
                .unwrap();
            let (status, headers) = (r.status(), r.headers().clone());
            (status, r.json::<Value>().await.unwrap(), headers)
        }
    };
    let (s, first, headers) = send_keyed(json!({"prompt": "p", "model": "tiny"})).await;
    assert_eq!(s, StatusCode::OK);
    assert!(headers.get("idempotent-replayed").is_none());
    let (s, replay, headers) = send_keyed(json!({"prompt": "p", "model": "tiny", "seconds": "1"})).await;
    assert_eq!(
        (s, replay["id"].clone()),
        (StatusCode::OK, first["id"].clone()),
        "an omitted default is the same request"
    );
    assert_eq!(headers["idempotent-replayed"], "true");
    let (s, e, headers) = send_keyed(json!({"prompt": "other", "model": "tiny"})).await;
    assert_eq!(
        (s, e["error"]["code"].as_str(), e["error"]["param"].as_str()),
        (StatusCode::CONFLICT, Some("duplicate_out_task_id"), Some("Idempotency-Key"))
    );
    assert_eq!(headers["x-should-retry"], "false");
    let (s, q) = app.get("/v1/tasks/query?out_task_id=clip-42", &app.test_key).await;
    assert_eq!((s, q["task_id"].clone()), (StatusCode::OK, first["id"].clone()));
}
