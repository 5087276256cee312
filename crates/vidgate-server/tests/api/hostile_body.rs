//! Hostile input, part two: bodies. NUL characters in any text field on every surface, a
//! key given twice in a JSON object, a malformed chunked body, a `Content-Length` over the
//! limit (answered from the header, before the body arrives), and source images whose
//! header reads but whose pixels do not decode (data URI, multipart upload, fetched URL).
//! Every answer is the contract's JSON error, and nothing is created or held.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::hostile::{Answer, Hostile, live_config};

const BOUNDARY: &str = "hostile-boundary-3f9a";
const NO_TASK: &str = "task_01M85TJ9BB221AE4CYY857DJ4G";

/// A multipart/form-data body of raw parts: (name, content type of a file part, bytes).
fn form(parts: &[(&str, Option<&str>, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, file_type, bytes) in parts {
        let disposition = format!("--{BOUNDARY}\r\ncontent-disposition: form-data; name=\"{name}\"");
        body.extend(disposition.bytes());
        if let Some(ct) = file_type {
            body.extend(format!("; filename=\"f.png\"\r\ncontent-type: {ct}").bytes());
        }
        body.extend(b"\r\n\r\n");
        body.extend(*bytes);
        body.extend(b"\r\n");
    }
    body.extend(format!("--{BOUNDARY}--\r\n").bytes());
    body
}

async fn post_raw(h: &Hostile, path: &str, auth: &str, content_type: &str, body: Vec<u8>) -> Answer {
    let url = format!("{}{path}", h.app.base);
    let req = h.app.client.post(url).bearer_auth(auth).header("content-type", content_type).body(body);
    Answer::read(req.send().await.unwrap()).await
}

async fn post_form(h: &Hostile, path: &str, parts: &[(&str, Option<&str>, &[u8])]) -> Answer {
    post_raw(h, path, &h.key, &format!("multipart/form-data; boundary={BOUNDARY}"), form(parts)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nul_in_any_text_field_is_refused_naming_the_field_on_every_surface() {
    let h = Hostile::start().await;
    let (key, admin) = (h.key.clone(), h.app.admin_token.clone());
    let tiny = |extra: Value| {
        let mut body = json!({"model": "tiny", "prompt": "rain"});
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        body
    };
    let nul = "a\u{0}b";
    let (remix, credits) = (format!("/v1/videos/{NO_TASK}/remix"), format!("/admin/v1/accounts/{}/credits", h.account));
    let cases: Vec<(&str, &str, Value, &str)> = vec![
        ("/v1/videos/generations", &key, tiny(json!({"prompt": nul})), "prompt"),
        ("/v1/videos/generations", &key, tiny(json!({"model": "tiny\u{0}"})), "model"),
        ("/v1/videos/generations", &key, tiny(json!({"negative_prompt": nul})), "negative_prompt"),
        ("/v1/videos/generations", &key, tiny(json!({"metadata": {"k": nul}})), "metadata.k"),
        ("/v1/videos/generations", &key, tiny(json!({"metadata": {nul: "v"}})), "metadata"),
        ("/v1/videos/generations", &key, tiny(json!({"out_task_id": nul})), "out_task_id"),
        ("/v1/videos/generations", &key, tiny(json!({"callback_url": "https://h.example.com/\u{0}"})), "callback_url"),
        ("/v1/videos/generations", &key, tiny(json!({"size": "160x90\u{0}"})), "size"),
        ("/v1/tasks/submit", &key, json!({"model": "tiny", "params": {"prompt": nul}}), "params.prompt"),
        (
            "/v1/tasks/submit",
            &key,
            json!({"model": "tiny", "params": {"prompt": "x", "negative_prompt": nul}}),
            "params.negative_prompt",
        ),
        ("/v1/videos", &key, json!({"model": "tiny", "prompt": nul}), "prompt"),
        ("/v1/videos", &key, json!({"model": "tiny", "prompt": "x", "seconds": "1\u{0}"}), "seconds"),
        (
            "/v1/videos",
            &key,
            json!({"model": "tiny", "prompt": "x", "input_reference": {"image_url": nul}}),
            "input_reference.image_url",
        ),
        (&remix, &key, json!({"prompt": nul}), "prompt"),
        ("/v1/tasks/query", &key, json!({"task_id": nul}), "task_id"),
        ("/v1/tasks/cancel", &key, json!({"out_task_id": nul}), "out_task_id"),
        ("/admin/v1/accounts", &admin, json!({"name": nul}), "name"),
        ("/admin/v1/keys", &admin, json!({"account_id": h.account, "name": nul, "mode": "live"}), "name"),
        ("/admin/v1/keys", &admin, json!({"account_id": h.account, "name": "k", "models": ["tiny", nul]}), "models[1]"),
        (&credits, &admin, json!({"amount_usd": 1, "note": nul}), "note"),
    ];
    for (path, auth, body, param) in cases {
        let what = format!("{path} {body}");
        h.send(Method::POST, path, auth, &[], Some(&body)).await.assert_error(400, "invalid_param", Some(param), &what);
    }
    for (name, value) in [("prompt", b"a\0b".as_slice()), ("model", b"tiny\0"), ("seconds", b"\x001")] {
        let mut parts: Vec<(&str, Option<&str>, &[u8])> = vec![("model", None, b"tiny"), ("prompt", None, b"x")];
        parts.retain(|p| p.0 != name);
        parts.push((name, None, value));
        post_form(&h, "/v1/videos", &parts).await.assert_error(400, "invalid_param", Some(name), "multipart");
    }
    let (_, keys) = h.app.admin_get(&format!("/admin/v1/keys?account_id={}", h.account)).await;
    assert_eq!(keys["data"].as_array().unwrap().len(), 1, "no key was made: {keys}");
    h.assert_untouched().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_given_twice_in_one_json_object_is_invalid_json_everywhere() {
    let h = Hostile::start().await;
    let (key, admin) = (h.key.clone(), h.app.admin_token.clone());
    let cases: [(&str, &str, &str); 7] = [
        ("/v1/videos/generations", &key, r#"{"model":"tiny","prompt":"a","prompt":"b"}"#),
        ("/v1/videos/generations", &key, r#"{"model":"tiny","prompt":"a","metadata":{"k":"1","k":"1"}}"#),
        ("/v1/tasks/submit", &key, r#"{"model":"tiny","params":{"prompt":"a","prompt":"a"}}"#),
        ("/v1/videos", &key, r#"{"model":"tiny","model":"tiny","prompt":"a"}"#),
        ("/v1/tasks/query", &key, r#"{"out_task_id":"a","out_task_id":"b"}"#),
        ("/v1/tasks/cancel", &key, r#"{"task_id":"x","task_id":"y"}"#),
        ("/admin/v1/accounts", &admin, r#"{"name":"a","name":"b"}"#),
    ];
    for (path, auth, body) in cases {
        let a = post_raw(&h, path, auth, "application/json", body.as_bytes().to_vec()).await;
        a.assert_error(400, "invalid_json", None, &format!("{path} {body}"));
        assert!(a.body["error"]["message"].as_str().unwrap().contains("appears twice"), "{}", a.body);
    }
    h.assert_untouched().await;
}

/// Sends `head` and `body` on a raw connection and reads one response (status and JSON
/// body) without closing the sending side; `None` if none came within `limit`.
async fn raw_exchange(base: &str, head: &str, body: &[u8], limit: Duration) -> Option<(u16, Value)> {
    let mut stream = tokio::net::TcpStream::connect(base.trim_start_matches("http://")).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let read = async {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        let header_end = loop {
            let n = stream.read(&mut chunk).await.ok()?;
            if n == 0 {
                return None;
            }
            buf.extend_from_slice(&chunk[..n]);
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
        };
        let headers = String::from_utf8_lossy(&buf[..header_end]).to_ascii_lowercase();
        let status: u16 = headers.split(' ').nth(1)?.parse().ok()?;
        let length: usize = headers.lines().find_map(|l| l.strip_prefix("content-length:"))?.trim().parse().ok()?;
        while buf.len() < header_end + length {
            let n = stream.read(&mut chunk).await.ok()?;
            if n == 0 {
                return None;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        Some((status, serde_json::from_slice(&buf[header_end..header_end + length]).unwrap_or(Value::Null)))
    };
    tokio::time::timeout(limit, read).await.ok().flatten()
}

fn head(path: &str, auth: &str, content_type: &str, framing: &str) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nhost: localhost\r\nauthorization: Bearer {auth}\r\n\
         content-type: {content_type}\r\n{framing}\r\n\r\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_chunked_body_is_a_400_not_a_413() {
    let h = Hostile::start().await;
    let multipart = format!("multipart/form-data; boundary={BOUNDARY}");
    let cases: [(&str, &str, &str, &[u8]); 4] = [
        ("/v1/videos/generations", "application/json", "invalid_json", b"5\r\n{\"mod\r\nZZ\r\nel\"\r\n0\r\n\r\n"),
        ("/v1/tasks/submit", "application/json", "invalid_json", b"3\r\n{\"mXXXX\r\n0\r\n\r\n"),
        ("/v1/tasks/cancel", "application/json", "invalid_json", b"2\r\n{}\r\n-1\r\n\r\n"),
        ("/v1/videos", &multipart, "invalid_param", b"4\r\n--hoQQ\r\n0\r\n\r\n"),
    ];
    for (path, content_type, code, body) in cases {
        let head = head(path, &h.key, content_type, "transfer-encoding: chunked");
        let answer = raw_exchange(&h.app.base, &head, body, Duration::from_secs(10)).await;
        let (status, e) = answer.unwrap_or_else(|| panic!("{path}: no answer"));
        assert_eq!(
            (status, e["error"]["code"].as_str(), &e["error"]["param"]),
            (400, Some(code), &Value::Null),
            "{path}: {e}"
        );
    }
    h.assert_untouched().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_content_length_over_the_limit_is_413_at_once_without_waiting_for_the_body() {
    let h = Hostile::start().await;
    let admin = h.app.admin_token.clone();
    let multipart = format!("multipart/form-data; boundary={BOUNDARY}");
    let cases: [(&str, &str, &str); 5] = [
        ("/v1/videos/generations", &h.key, "application/json"),
        ("/v1/tasks/submit", &h.key, "application/json"),
        ("/v1/tasks/cancel", &h.key, "application/json"),
        ("/v1/videos", &h.key, &multipart),
        ("/admin/v1/accounts", &admin, "application/json"),
    ];
    for (path, auth, content_type) in cases {
        // 50 MiB declared, 1 KiB sent, and the connection left open for the rest.
        let head = head(path, auth, content_type, "content-length: 52428800");
        let started = Instant::now();
        let answer = raw_exchange(&h.app.base, &head, &[b' '; 1024], Duration::from_secs(5)).await;
        let (status, e) = answer.unwrap_or_else(|| panic!("{path}: no answer within 5 s while the body was pending"));
        assert_eq!((status, e["error"]["code"].as_str()), (413, Some("request_too_large")), "{path}: {e}");
        assert!(started.elapsed() < Duration::from_secs(5), "{path}: answered from the header");
    }
    h.assert_untouched().await;
}

/// The CRC-32 of PNG chunks (ISO 3309).
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut out = (data.len() as u32).to_be_bytes().to_vec();
    let body: Vec<u8> = kind.iter().chain(data).copied().collect();
    out.extend(&body);
    out.extend(crc32(&body).to_be_bytes());
    out
}

/// A 64x64 PNG of noise (so its pixel data does not compress away), and the same image
/// with every chunk well formed (signature, IHDR, CRCs, IEND) but only the first half of
/// its compressed pixel data.
fn intact_and_cut_png() -> (Vec<u8>, Vec<u8>) {
    let mut seed = 0x2545_F491u32;
    let pixels: Vec<u8> = (0..64 * 64 * 3)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            seed as u8
        })
        .collect();
    let mut png = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut png, 64, 64);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        enc.write_header().unwrap().write_image_data(&pixels).unwrap();
    }
    let ihdr_end = 8 + 25;
    let idat_len = u32::from_be_bytes(png[ihdr_end..ihdr_end + 4].try_into().unwrap()) as usize;
    assert_eq!(&png[ihdr_end + 4..ihdr_end + 8], b"IDAT");
    let idat = &png[ihdr_end + 8..ihdr_end + 8 + idat_len];
    let mut cut = png[..ihdr_end].to_vec();
    cut.extend(chunk(b"IDAT", &idat[..idat.len() / 2]));
    cut.extend(chunk(b"IEND", &[]));
    (png, cut)
}

/// A one-file HTTP server on loopback serving `bytes` as a PNG.
async fn image_server(bytes: Vec<u8>) -> String {
    let app = axum::Router::new().route(
        "/bad.png",
        axum::routing::get(move || {
            let bytes = bytes.clone();
            async move { ([("content-type", "image/png")], bytes) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/bad.png", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

fn data_uri(bytes: &[u8]) -> String {
    use base64::Engine as _;
    format!("data:image/png;base64,{}", base64::engine::general_purpose::STANDARD.encode(bytes))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_image_whose_pixels_do_not_decode_is_422_at_submit_on_every_way_in() {
    let mut config = live_config();
    config.fetch.allow_private_targets = true; // the image server is on loopback
    let h = Hostile::start_with(config).await;
    let (intact, cut) = intact_and_cut_png();
    assert_eq!(vidgate_media::decode_image_dimensions(&cut).unwrap(), (64, 64), "its header reads");
    assert!(vidgate_media::decode_image_fully(&cut).is_err(), "its pixels do not");
    let url = image_server(cut.clone()).await;
    let cases: [(&str, Value, &str); 5] = [
        (
            "/v1/videos/generations",
            json!({"model": "tiny", "prompt": "x", "source_image": data_uri(&cut)}),
            "source_image",
        ),
        ("/v1/videos/generations", json!({"model": "tiny", "prompt": "x", "source_image": url}), "source_image"),
        (
            "/v1/tasks/submit",
            json!({"model": "tiny", "params": {"prompt": "x", "image_init": data_uri(&cut)}}),
            "params.image_init",
        ),
        (
            "/v1/videos",
            json!({"model": "tiny", "prompt": "x", "input_reference": {"image_url": data_uri(&cut)}}),
            "input_reference",
        ),
        (
            "/v1/videos",
            json!({"model": "tiny", "prompt": "x", "input_reference": {"image_url": url}}),
            "input_reference",
        ),
    ];
    for (path, body, param) in cases {
        let a = h.send(Method::POST, path, &h.key, &[], Some(&body)).await;
        a.assert_error(422, "source_image_unreadable", Some(param), path);
    }
    let upload: Vec<(&str, Option<&str>, &[u8])> =
        vec![("model", None, b"tiny"), ("prompt", None, b"x"), ("input_reference", Some("image/png"), &cut)];
    post_form(&h, "/v1/videos", &upload).await.assert_error(
        422,
        "source_image_unreadable",
        Some("input_reference"),
        "upload",
    );
    h.assert_untouched().await;
    // The intact image is accepted the same ways.
    let ok = h
        .send(
            Method::POST,
            "/v1/videos/generations",
            &h.key,
            &[],
            Some(&json!({"model": "tiny", "prompt": "x", "source_image": data_uri(&intact)})),
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    let upload: Vec<(&str, Option<&str>, &[u8])> =
        vec![("model", None, b"tiny"), ("prompt", None, b"x"), ("input_reference", Some("image/png"), &intact)];
    let ok = post_form(&h, "/v1/videos", &upload).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
}
