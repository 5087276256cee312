//! The Luma fake against its digest (docs/upstreams.md §14): an Agents generation goes
//! queued → processing → completed with `output[].url`, a Dream Machine one queued →
//! dreaming → completed with `assets.video`, each API with its own key; string durations,
//! `type`/`model` on Agents and URL-only keyframes on Dream Machine are enforced; results are
//! presigned URLs that need no key and expire; a Dream Machine DELETE removes the record; the
//! Dream Machine list pages the generations newest first.

use serde_json::{Value, json};
use vidgate_fakes::{FakeLuma, LumaApi, Outcome};

use crate::helpers::{client, json, probe};

async fn create(fake: &FakeLuma, api: LumaApi, body: &Value) -> (u16, Value) {
    let url = match api {
        LumaApi::Agents => format!("{}/generations", fake.agents_base()),
        LumaApi::DreamMachine => format!("{}/generations/video", fake.dream_machine_base()),
    };
    json(client().post(url).bearer_auth(fake.api_key(api)).json(body).send().await.unwrap()).await
}

async fn get(fake: &FakeLuma, api: LumaApi, id: &str) -> (u16, Value) {
    let base = if api == LumaApi::Agents { fake.agents_base() } else { fake.dream_machine_base() };
    let request = client().get(format!("{base}/generations/{id}")).bearer_auth(fake.api_key(api));
    json(request.send().await.unwrap()).await
}

fn agents(video: Value) -> Value {
    json!({"type": "video", "model": "ray-3.2", "prompt": "a tiger in snow", "aspect_ratio": "16:9", "video": video})
}

fn dream(extra: Value) -> Value {
    let mut body = json!({"model": "ray-2", "prompt": "a tiger in snow", "aspect_ratio": "9:16", "duration": "5s",
        "resolution": "720p"});
    body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    body
}

#[tokio::test]
async fn an_agents_generation_completes_with_an_output_url_that_needs_no_key_and_expires() {
    let fake = FakeLuma::start().await;
    let (status, created) =
        create(&fake, LumaApi::Agents, &agents(json!({"duration": "5s", "resolution": "720p"}))).await;
    assert_eq!((status, created["state"].clone()), (200, json!("queued")), "{created}");
    let id = created["id"].as_str().unwrap();
    assert_eq!(get(&fake, LumaApi::Agents, id).await.1["state"], "processing");
    let (_, done) = get(&fake, LumaApi::Agents, id).await;
    assert_eq!((done["state"].clone(), done["output"][0]["type"].clone()), (json!("completed"), json!("video")));
    let url = done["output"][0]["url"].as_str().unwrap();
    let mp4 = client().get(url).send().await.unwrap();
    assert_eq!(probe(&mp4.bytes().await.unwrap()), (1280, 720, 5000, false));
    fake.expire_results();
    assert_eq!(client().get(url).send().await.unwrap().status().as_u16(), 403);
    let wrong_key = client().get(format!("{}/generations/{id}", fake.agents_base()));
    let status = wrong_key.bearer_auth(fake.api_key(LumaApi::DreamMachine)).send().await.unwrap().status();
    assert_eq!(status.as_u16(), 401, "the Agents API with the Dream Machine key (trap 1)");
    assert_eq!(get(&fake, LumaApi::DreamMachine, id).await.0, 404, "not a Dream Machine generation");
}

#[tokio::test]
async fn a_dream_machine_generation_is_created_201_dreams_and_completes_with_assets_video() {
    let fake = FakeLuma::start().await;
    let (status, created) = create(&fake, LumaApi::DreamMachine, &dream(json!({"duration": "9s"}))).await;
    assert_eq!((status, created["state"].clone()), (201, json!("queued")), "{created}");
    let id = created["id"].as_str().unwrap();
    assert_eq!(get(&fake, LumaApi::DreamMachine, id).await.1["state"], "dreaming");
    let (_, done) = get(&fake, LumaApi::DreamMachine, id).await;
    let url = done["assets"]["video"].as_str().unwrap();
    let mp4 = client().get(url).send().await.unwrap();
    assert_eq!(probe(&mp4.bytes().await.unwrap()), (720, 1280, 9000, false));
    let delete = client().delete(format!("{}/generations/{id}", fake.dream_machine_base()));
    assert_eq!(delete.bearer_auth(fake.api_key(LumaApi::DreamMachine)).send().await.unwrap().status().as_u16(), 204);
    assert_eq!(get(&fake, LumaApi::DreamMachine, id).await.0, 404);
    assert_eq!(fake.deletions()[0].1, "completed");
    assert_eq!(fake.journal().notes().len(), 1, "deleting a finished generation is noted");
}

#[tokio::test]
async fn string_durations_typed_jobs_and_url_keyframes_are_enforced() {
    let fake = FakeLuma::start().await;
    let refused = [
        (LumaApi::Agents, agents(json!({"duration": 5}))),
        (LumaApi::Agents, agents(json!({"duration": "9s"}))),
        (LumaApi::Agents, agents(json!({"duration": "10s", "loop": true}))),
        (LumaApi::Agents, json!({"model": "ray-3.2", "prompt": "x", "video": {"duration": "5s"}})),
        (LumaApi::Agents, agents(json!({"duration": "5s", "start_frame": {"data": "AQID"}}))),
        (LumaApi::DreamMachine, dream(json!({"duration": "10s"}))),
        (LumaApi::DreamMachine, dream(json!({"model": "ray-1-6", "duration": "9s"}))),
        (
            LumaApi::DreamMachine,
            dream(json!({"keyframes": {"frame0": {"type": "image", "url": "data:image/png;base64,AQID"}}})),
        ),
    ];
    for (api, body) in &refused {
        let (status, answer) = create(&fake, *api, body).await;
        assert_eq!(status, 400, "{body} → {answer}");
        assert!(answer["detail"].is_string(), "{answer}");
    }
    let frames = json!({"duration": "5s", "start_frame": {"data": "AQID", "media_type": "image/png"},
        "end_frame": {"url": "https://example.com/end.jpg"}});
    assert_eq!(create(&fake, LumaApi::Agents, &agents(frames)).await.0, 200);
    assert_eq!(fake.journal().counters().jobs_created, 1);
}

#[tokio::test]
async fn scripted_outcomes_fail_with_content_moderated_or_a_code() {
    let fake = FakeLuma::start().await;
    fake.faults()
        .push_outcome(Outcome::SafetyBlock)
        .push_outcome(Outcome::Error { code: "generation_failed".into(), message: "boom".into() });
    let mut ends = Vec::new();
    for prompt in ["one", "two"] {
        let mut body = agents(json!({"duration": "5s"}));
        body["prompt"] = json!(prompt);
        let id = create(&fake, LumaApi::Agents, &body).await.1["id"].as_str().unwrap().to_owned();
        get(&fake, LumaApi::Agents, &id).await;
        let (_, done) = get(&fake, LumaApi::Agents, &id).await;
        ends.push((done["state"].clone(), done["failure_code"].clone()));
    }
    assert_eq!(ends, [(json!("failed"), json!("content_moderated")), (json!("failed"), json!("generation_failed"))]);
}

#[tokio::test]
async fn the_dream_machine_list_pages_the_key_s_generations_newest_first_with_their_requests() {
    let fake = FakeLuma::start().await;
    let mut ids = Vec::new();
    for prompt in ["first", "second", "third"] {
        let (status, g) = create(&fake, LumaApi::DreamMachine, &dream(json!({"prompt": prompt}))).await;
        assert_eq!(status, 201, "{g}");
        ids.push(g["id"].as_str().unwrap().to_owned());
    }
    let list = |query: &str| {
        let url = format!("{}/generations?{query}", fake.dream_machine_base());
        client().get(url).bearer_auth(fake.api_key(LumaApi::DreamMachine)).send()
    };
    let (status, page) = json(list("limit=2&offset=0").await.unwrap()).await;
    assert_eq!(status, 200, "{page}");
    let listed: Vec<&str> = page["generations"].as_array().unwrap().iter().map(|g| g["id"].as_str().unwrap()).collect();
    assert_eq!(listed, [ids[2].as_str(), ids[1].as_str()], "newest first");
    assert_eq!((page["count"].clone(), page["has_more"].clone()), (json!(2), json!(true)));
    assert_eq!(page["generations"][0]["request"]["prompt"], "third");
    let (_, last) = json(list("limit=2&offset=2").await.unwrap()).await;
    assert_eq!(
        (last["generations"][0]["id"].as_str(), last["has_more"].clone()),
        (Some(ids[0].as_str()), json!(false))
    );
    assert_eq!(json(list("limit=0").await.unwrap()).await.0, 400);
    let agents_key = client()
        .get(format!("{}/generations", fake.dream_machine_base()))
        .bearer_auth(fake.api_key(LumaApi::Agents))
        .send()
        .await
        .unwrap();
    assert_eq!(agents_key.status().as_u16(), 401, "the list takes the Dream Machine key");
}
