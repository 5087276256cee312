//! Shared plumbing: an HTTP client, JSON helpers, and a check that bytes are a real MP4 of a
//! given size, length and audio.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;
use vidgate_fakes::FakeVertex;

/// A client that does not follow redirects (tests look at them) and never leaves loopback.
pub fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).no_proxy().build().unwrap()
}

/// A client that follows redirects, as the docs require for Gemini downloads.
pub fn following_client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().no_proxy().build().unwrap()
}

pub fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

pub async fn json(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}")))
}

/// Probes `bytes` as an MP4: (width, height, video ms, has audio).
pub fn probe(bytes: &[u8]) -> (u32, u32, u64, bool) {
    let path = std::env::temp_dir().join(format!("fakes-test-{}.mp4", ulid::Ulid::new()));
    std::fs::write(&path, bytes).unwrap();
    let info = vidgate_media::probe(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    let video = info.video.expect("a video track");
    (video.width, video.height, video.duration_ms, info.audio.is_some())
}

/// A Vertex access token from the fake's token endpoint.
pub async fn vertex_token(fake: &FakeVertex) -> String {
    let form = [
        ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer".to_owned()),
        ("assertion", fake.account().assertion(unix_now())),
    ];
    let response = client().post(fake.token_url()).form(&form).send().await.unwrap();
    let (status, body) = json(response).await;
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}
