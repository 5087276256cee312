//! What the per-adapter upstream tests share: `[[upstreams]]` entries pointing at the fakes of
//! `vidgate-fakes`, a gateway with a funded live key ([`Live`]), exact money checks in
//! micro-dollars, the probe of a delivered MP4, and a restart in the middle of a poll.
//!
//! It only drives the public HTTP API (and the admin API for money and the task's plan); the
//! fakes are read through their journals by the tests themselves.

use std::path::Path;
use std::time::Duration;

use base64::Engine as _;
use reqwest::StatusCode;
use serde_json::{Value, json};
use vidgate_domain::config::Config;
use vidgate_domain::upstream::UpstreamConfig;
use vidgate_fakes::{
    FakeDashscope, FakeFal, FakeGemini, FakeKling, FakeLuma, FakeMinimax, FakeModelark, FakeOpenAi, FakeRunway,
    FakeVertex, FakeVidgate, Journal,
};

use crate::helpers::{TestApp, probe_bytes, solid_png, spawn_app_with, test_config};
use crate::restart::Run;

/// How long a single task may take in these tests.
pub const WAIT: Duration = Duration::from_secs(180);
/// What each test account is funded with, micro-dollars.
pub const FUNDS: i64 = 100_000_000;

/// Catalog rates the tests bill at, micro-dollars per second.
pub const VEO31_RATE: i64 = 400_000;
pub const SORA2_RATE: i64 = 100_000;
pub const SEEDANCE2_RATE: i64 = 200_000;
pub const WAN26_RATE: i64 = 140_000;
pub const MINIMAX_H3_RATE: i64 = 110_000;
pub const KLING26_RATE: i64 = 200_000;
pub const GEN45_RATE: i64 = 160_000;
pub const RAY32_RATE: i64 = 100_000;
pub const RAY2_RATE: i64 = 200_000;

/// Settings every fake entry shares: a short expected latency (so the first poll is 2 s after
/// the submit), no request rate limit, short request timeouts.
fn common(mut entry: Value) -> Value {
    let defaults = json!({
        "expected_latency_secs": 1, "deadline_secs": 60, "timeout_secs": 10, "requests_per_second": 0,
    });
    for (k, v) in defaults.as_object().unwrap() {
        entry.as_object_mut().unwrap().entry(k.clone()).or_insert(v.clone());
    }
    entry
}

/// A Vertex entry serving `veo3.1` (results inline unless `storage_uri` is set).
pub fn vertex_entry(fake: &FakeVertex) -> Value {
    common(json!({
        "name": "vertex", "kind": "vertex", "model": "veo-3.1-generate-001", "serves": ["veo3.1"],
        "base_url": fake.base_url(), "token_url": fake.token_url(), "storage_url": fake.base_url(),
        "credentials": fake.key_file_json(),
        "usd_per_second": {"default": "0.20"}, "usd_per_second_with_audio": {"default": "0.40"},
    }))
}

/// A Gemini API entry serving `veo3.1`.
pub fn gemini_entry(fake: &FakeGemini) -> Value {
    common(json!({
        "name": "gemini", "kind": "gemini", "model": "veo-3.1-generate-preview", "serves": ["veo3.1"],
        "base_url": fake.base_url(), "credentials": fake.api_key(), "usd_per_second": {"default": "0.40"},
    }))
}

/// An OpenAI Videos entry serving `sora2` (named `name`, so two can be routes of one model).
pub fn openai_entry(name: &str, fake: &FakeOpenAi) -> Value {
    common(json!({
        "name": name, "kind": "openai", "model": "sora-2", "serves": ["sora2"],
        "base_url": fake.api_base(), "credentials": fake.api_key(), "usd_per_second": {"default": "0.10"},
    }))
}

/// A vidgate entry serving `veo3.1` under its own id.
pub fn vidgate_entry(fake: &FakeVidgate) -> Value {
    common(json!({
        "name": "chained", "kind": "vidgate", "serves": ["veo3.1"],
        "base_url": fake.base_url(), "credentials": fake.api_key(), "usd_per_second": {"default": "0.30"},
    }))
}

/// A ModelArk entry (BytePlus flavour) serving `seedance2` with Seedance 2.0, at the fake:
/// per-second prices for the plan, and the per-million-token price the measured cost uses.
pub fn modelark_entry(name: &str, fake: &FakeModelark) -> Value {
    common(json!({
        "name": name, "kind": "modelark", "flavor": "byteplus", "model": "dreamina-seedance-2-0-260128",
        "serves": ["seedance2"], "base_url": fake.api_base(), "credentials": fake.api_key(),
        "usd_per_second": {"720p": "0.12", "1080p": "0.30"}, "usd_per_million_tokens": {"default": "2.4"},
    }))
}

/// A DashScope entry serving `wan2.6` with Wan 2.6 (text and image models) at the fake,
/// priced per second as docs/upstreams.md §9.7 lists.
pub fn dashscope_entry(fake: &FakeDashscope) -> Value {
    common(json!({
        "name": "dashscope", "kind": "dashscope", "model": "wan2.6-t2v", "image_model": "wan2.6-i2v",
        "serves": ["wan2.6"], "base_url": fake.api_base(), "credentials": fake.api_key(),
        "usd_per_second": {"720p": "0.10", "1080p": "0.15"},
    }))
}

/// A MiniMax entry serving `minimax-h3` with MiniMax-H3 on the v2 API at the fake, priced
/// per second as docs/upstreams.md §11.7 lists.
pub fn minimax_entry(fake: &FakeMinimax) -> Value {
    common(json!({
        "name": "minimax", "kind": "minimax", "model": "MiniMax-H3", "serves": ["minimax-h3"],
        "base_url": fake.base_url(), "credentials": fake.api_key(),
        "usd_per_second": {"default": "0.08", "2560x1440": "0.13", "1440x2560": "0.13"},
    }))
}

/// A Kling entry serving `kling2.6` with `kling-v2-6` at the fake, signing JWTs with the
/// fake's access and secret keys, priced per second and per unit as docs/upstreams.md §10.7
/// lists.
pub fn kling_entry(fake: &FakeKling) -> Value {
    common(json!({
        "name": "kling", "kind": "kling", "model": "kling-v2-6", "serves": ["kling2.6"],
        "base_url": fake.base_url(), "credentials": fake.access_credentials(),
        "usd_per_second": {"1080p": "0.07"}, "usd_per_second_with_audio": {"1080p": "0.14"},
        "usd_per_unit": "0.14",
    }))
}

/// A fal entry at the fake: the endpoint `model` (and `image_model` when not empty) serving
/// `serves`, at Veo 3.1's prices on fal (docs/upstreams.md §12.7).
pub fn fal_entry(fake: &FakeFal, model: &str, image_model: &str, serves: &str) -> Value {
    common(json!({
        "name": "fal", "kind": "fal", "model": model, "image_model": image_model, "serves": [serves],
        "base_url": fake.base_url(), "credentials": fake.key(),
        "usd_per_second": {"default": "0.20"}, "usd_per_second_with_audio": {"default": "0.40"},
    }))
}

/// A Runway entry serving `gen4.5` with `gen4.5` at the fake, priced per second as
/// docs/upstreams.md §13.7 lists (12 credits of $0.01).
pub fn runway_entry(fake: &FakeRunway) -> Value {
    common(json!({
        "name": "runway", "kind": "runway", "model": "gen4.5", "serves": ["gen4.5"],
        "base_url": fake.base_url(), "credentials": fake.api_key(), "usd_per_second": {"default": "0.12"},
    }))
}

/// A Luma entry serving `ray-3.2` on the Agents API at the fake, priced per second from the
/// 5 s prices docs/upstreams.md §14.7 lists (UNCONFIRMED there).
pub fn luma_entry(fake: &FakeLuma) -> Value {
    common(json!({
        "name": "luma", "kind": "luma", "model": "ray-3.2", "serves": ["ray-3.2"],
        "base_url": fake.agents_base(), "credentials": fake.api_key(vidgate_fakes::LumaApi::Agents),
        "usd_per_second": {"720p": "0.06", "1080p": "0.24"},
    }))
}

/// A Luma entry serving `ray-2` on the Dream Machine API at the fake.
pub fn luma_dream_entry(fake: &FakeLuma) -> Value {
    common(json!({
        "name": "luma-dm", "kind": "luma", "model": "ray-2", "serves": ["ray-2"],
        "base_url": fake.dream_machine_base(), "credentials": fake.api_key(vidgate_fakes::LumaApi::DreamMachine),
        "usd_per_second": {"720p": "0.142", "1080p": "0.318"},
    }))
}

/// `entry` with `changes` merged in.
pub fn with(mut entry: Value, changes: Value) -> Value {
    entry.as_object_mut().unwrap().extend(changes.as_object().unwrap().clone());
    entry
}

/// The test config with these upstream entries.
pub fn config_with(entries: Vec<Value>) -> Config {
    let mut c = test_config();
    c.upstreams =
        entries.into_iter().map(|e| serde_json::from_value::<UpstreamConfig>(e).expect("an upstream entry")).collect();
    c
}

/// A gateway with upstreams and one funded account with a live key.
pub struct Live {
    pub app: TestApp,
    pub account: String,
    pub key: String,
}

impl Live {
    /// Starts a gateway with these upstream entries and funds a live key with [`FUNDS`].
    pub async fn start(entries: Vec<Value>) -> Live {
        Live::start_with(config_with(entries)).await
    }

    /// Starts a gateway with `config` and funds a live key with [`FUNDS`].
    pub async fn start_with(config: Config) -> Live {
        let app = spawn_app_with(config).await;
        let (account, key) = app.account_with_key("live", "live").await;
        let credits = json!({"amount_usd": FUNDS / 1_000_000, "note": "upstream tests"});
        let (s, body) = app.admin_post(&format!("/admin/v1/accounts/{account}/credits"), &credits).await;
        assert_eq!(s, StatusCode::OK, "{body}");
        Live { app, account, key }
    }

    /// Submits; panics unless accepted. Returns the task id.
    pub async fn submit(&self, body: Value) -> String {
        self.app.submit(&self.key, body).await["task_id"].as_str().unwrap().to_owned()
    }

    /// Waits until the task is terminal.
    pub async fn wait(&self, id: &str) -> Value {
        self.app.wait_terminal(&self.key, id, WAIT).await
    }

    /// Submits and waits until the task is terminal.
    pub async fn run(&self, body: Value) -> Value {
        let id = self.submit(body).await;
        self.wait(&id).await
    }

    /// A submit that must be refused: its status and error object.
    pub async fn refused(&self, body: Value) -> (StatusCode, Value) {
        let (status, err, _) = self.app.post("/v1/videos/generations", &self.key, &body).await;
        assert_ne!(status, StatusCode::OK, "{err}");
        (status, err["error"].clone())
    }

    /// The admin view of a task (plan, upstream, orphan flag, submits).
    pub async fn admin_task(&self, id: &str) -> Value {
        let (s, task) = self.app.admin_get(&format!("/admin/v1/tasks?account_id={}&limit=100", self.account)).await;
        assert_eq!(s, StatusCode::OK, "{task}");
        task["data"].as_array().unwrap().iter().find(|t| t["task_id"] == id).cloned().expect("the task is listed")
    }

    /// Every task of the account, through the admin search (pages of 100).
    pub async fn admin_tasks(&self) -> Vec<Value> {
        let (mut out, mut after) = (Vec::new(), String::new());
        loop {
            let path = format!("/admin/v1/tasks?account_id={}&limit=100{after}", self.account);
            let (s, page) = self.app.admin_get(&path).await;
            assert_eq!(s, StatusCode::OK, "{page}");
            out.extend(page["data"].as_array().unwrap().iter().cloned());
            if page["has_more"] != true {
                return out;
            }
            after = format!("&after={}", page["last_id"].as_str().unwrap());
        }
    }

    /// The money identities after every task is terminal: nothing held, `spent` captured,
    /// and `balance = credits − captures`.
    pub async fn assert_settled(&self, spent: i64) {
        let (s, b) = self.app.get("/v1/balance", &self.key).await;
        assert_eq!(s, StatusCode::OK, "{b}");
        assert_eq!(micros(&b["held_usd"]), 0, "no hold is left behind: {b}");
        assert_eq!(micros(&b["spent_usd"]), spent, "spent is the sum of the captures: {b}");
        assert_eq!(micros(&b["balance_usd"]), FUNDS - spent, "balance = credits − captures − holds: {b}");
    }

    /// Downloads the task's result and probes it.
    pub async fn probe_result(&self, task: &Value) -> vidgate_media::MediaInfo {
        let (status, bytes) = self.app.download(task["result_url"].as_str().expect("a result_url")).await;
        assert_eq!(status, StatusCode::OK);
        probe_bytes(&bytes, "mp4")
    }
}

/// A JSON money amount (USD, at most 6 decimals) in micro-dollars, read from its decimal text
/// so no float rounding hides a wrong micro-dollar.
pub fn micros(v: &Value) -> i64 {
    let text = v.as_number().unwrap_or_else(|| panic!("not a number: {v}")).to_string();
    let (units, frac) = text.split_once('.').unwrap_or((&text, ""));
    assert!(frac.len() <= 6 && !text.contains(['e', 'E']), "more than micro-dollar precision: {text}");
    let frac: i64 = format!("{frac:0<6}").parse().unwrap();
    let units: i64 = units.parse().unwrap();
    units * 1_000_000 + if text.starts_with('-') { -frac } else { frac }
}

/// A completed task billed exactly `rate` × `seconds`; returns the price.
pub fn assert_billed(task: &Value, rate: i64, seconds: i64) -> i64 {
    assert_eq!(task["status"], "completed", "{task}");
    assert_eq!(micros(&task["credits_used"]), rate * seconds, "rate × billed seconds: {task}");
    rate * seconds
}

/// A failed task with `code`, billed nothing.
pub fn assert_failed_unbilled(task: &Value, code: &str) {
    assert_eq!(task["status"], "failed", "{task}");
    assert_eq!(task["error"]["code"], code, "{task}");
    assert_eq!(micros(&task["credits_used"]), 0, "a failure is not billed: {task}");
    assert!(task["result_url"].is_null(), "{task}");
}

/// The delivered video is `width`x`height`, exactly `ms` long (within a frame at 24 fps), with
/// an audio track exactly when `audio`.
pub fn assert_delivered(info: &vidgate_media::MediaInfo, width: u32, height: u32, ms: u64, audio: bool) {
    let video = info.video.as_ref().expect("a video track");
    assert_eq!((video.width, video.height), (width, height));
    assert!((ms - 41..=ms).contains(&video.duration_ms), "trimmed to {ms} ms: {}", video.duration_ms);
    assert_eq!(info.audio.is_some(), audio, "audio track present: {:?}", info.audio);
}

/// A PNG data URL of one colour, for image-to-video.
pub fn png_data_url(width: u32, height: u32) -> String {
    let png = solid_png(width, height, [30, 120, 200]);
    format!("data:image/png;base64,{}", base64::engine::general_purpose::STANDARD.encode(png))
}

/// Asserts the fake saw nothing that breaks its documented protocol.
pub fn assert_no_violations(journal: &Journal) {
    assert_eq!(journal.violations(), Vec::new(), "the adapter kept to the documented protocol");
}

/// Waits (up to [`WAIT`]) until `cond` holds.
pub async fn until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !cond() {
        assert!(tokio::time::Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Runs `body` on a gateway that is stopped and started again (same data dir) once the fake
/// behind `journal` has answered a poll of the job; returns the terminal task and its admin
/// view as the second process saw them.
pub async fn restart_during_a_poll(config: Config, journal: &Journal, body: Value) -> (Value, Value) {
    let dir = crate::restart::fresh_data_dir();
    let (run, creds) = Run::start(config.clone(), &dir).await;
    let admin = creds.expect("first start bootstraps").admin_token;
    let (key, account) = funded_key(&run, &admin).await;
    let (s, task) = run.post("/v1/videos/generations", &key, &body).await;
    assert_eq!(s, StatusCode::OK, "{task}");
    let id = task["task_id"].as_str().unwrap().to_owned();
    until("the upstream answered a poll", || journal.counters().polls() >= 1).await;
    run.stop().await;
    let (run, _) = Run::start(config, &dir).await;
    let done = wait_on(&run, &key, &id).await;
    let (_, list) = run.get(&format!("/admin/v1/tasks?account_id={account}"), &admin).await;
    let admin_view = list["data"][0].clone();
    run.stop().await;
    let _ = std::fs::remove_dir_all(Path::new(&dir));
    (done, admin_view)
}

/// A funded account with a live key on a restartable gateway: (key, account id).
pub async fn funded_key(run: &Run, admin: &str) -> (String, String) {
    let (_, account) = run.post("/admin/v1/accounts", admin, &json!({"name": "live"})).await;
    let account = account["id"].as_str().unwrap().to_owned();
    let credits = json!({"amount_usd": FUNDS / 1_000_000, "note": "t"});
    let (s, body) = run.post(&format!("/admin/v1/accounts/{account}/credits"), admin, &credits).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (_, key) =
        run.post("/admin/v1/keys", admin, &json!({"account_id": account, "name": "k", "mode": "live"})).await;
    (key["key"].as_str().unwrap().to_owned(), account)
}

/// Polls with `?wait=` until the task is terminal.
pub async fn wait_on(run: &Run, key: &str, id: &str) -> Value {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let (s, task) = run.get(&format!("/v1/videos/tasks/{id}?wait=2"), key).await;
        assert_eq!(s, StatusCode::OK, "{task}");
        if ["completed", "failed", "cancelled"].contains(&task["status"].as_str().unwrap()) {
            return task;
        }
        assert!(tokio::time::Instant::now() < deadline, "task {id} not terminal after the restart: {task}");
    }
}
