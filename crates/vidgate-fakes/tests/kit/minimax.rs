//! The MiniMax fake against the H3 digest (docs/upstreams.md §11): a v2 create goes queued →
//! running → succeeded with `usage.output_seconds` the requested seconds, a delivered clip of
//! 17n + 5 frames (5 s → 5.167 s) at a URL that needs no key and expires; integer durations
//! and a concrete ratio on text only are enforced in the v2 error envelope with the code at
//! the end of the message; scripted outcomes give moderation, refusals at create and failures.

use serde_json::{Value, json};
use vidgate_fakes::{FakeMinimax, Outcome};

use crate::helpers::{client, json, probe};

async fn create(fake: &FakeMinimax, body: &Value) -> (u16, Value) {
    let request = client().post(format!("{}/v2/video_generation", fake.base_url())).bearer_auth(fake.api_key());
    json(request.json(body).send().await.unwrap()).await
}

async fn query(fake: &FakeMinimax, id: &str) -> Value {
    let url = format!("{}/v2/query/video_generation/{id}", fake.base_url());
    let (status, body) = json(client().get(url).bearer_auth(fake.api_key()).send().await.unwrap()).await;
    assert_eq!(status, 200, "{body}");
    body["task"].clone()
}

fn t2v(prompt: &str) -> Value {
    json!({"model": "MiniMax-H3", "content": [{"type": "text", "text": prompt}],
        "resolution": "768P", "duration": 5, "ratio": "16:9", "generate_audio": true})
}

#[tokio::test]
async fn a_5_s_task_succeeds_billing_5_s_and_delivers_5_167_s_at_a_url_that_needs_no_key_and_expires() {
    let fake = FakeMinimax::start().await;
    let (status, created) = create(&fake, &t2v("a red fox")).await;
    assert_eq!(status, 200, "{created}");
    let id = created["task_id"].as_str().unwrap().to_owned();
    assert_eq!(query(&fake, &id).await["status"], "running");
    let done = query(&fake, &id).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!((done["duration"].clone(), done["usage"]["output_seconds"].clone()), (json!(5.167), json!(5)));
    let url = done["content"]["url"].as_str().unwrap();
    let mp4 = client().get(url).send().await.unwrap();
    assert_eq!(mp4.status().as_u16(), 200);
    assert_eq!(probe(&mp4.bytes().await.unwrap()), (1344, 768, 5167, true));
    fake.expire_results();
    assert_eq!(client().get(url).send().await.unwrap().status().as_u16(), 403);
    assert!(fake.journal().violations().is_empty());
    assert!(fake.journal().notes().is_empty(), "{:?}", fake.journal().notes());
}

#[tokio::test]
async fn string_durations_and_adaptive_text_only_are_refused_with_2013_and_create_nothing() {
    let fake = FakeMinimax::start().await;
    let mut body = t2v("fox");
    body["duration"] = json!("5");
    let (status, e) = create(&fake, &body).await;
    assert_eq!((status, e["error"]["type"].as_str()), (400, Some("bad_request_error")), "{e}");
    assert!(e["error"]["message"].as_str().unwrap().ends_with("(2013)"), "{e}");
    let mut adaptive = t2v("fox");
    adaptive["ratio"] = json!("adaptive");
    assert_eq!(create(&fake, &adaptive).await.0, 400);
    assert_eq!(fake.journal().counters().jobs_created, 0);
    assert_eq!(fake.journal().violations().len(), 2);
}

#[tokio::test]
async fn scripted_outcomes_refuse_at_create_or_fail_the_task_with_their_code() {
    let fake = FakeMinimax::start().await;
    let error = |code: &str| Outcome::Error { code: code.into(), message: "m".into() };
    fake.faults().outcome_for_prompt("broke", error("1008"));
    let (status, e) = create(&fake, &t2v("broke")).await;
    assert_eq!((status, e["error"]["type"].as_str()), (402, Some("insufficient_balance_error")), "{e}");
    fake.faults().outcome_for_prompt("nsfw", Outcome::SafetyBlock);
    let (_, created) = create(&fake, &t2v("nsfw")).await;
    let id = created["task_id"].as_str().unwrap();
    query(&fake, id).await;
    let failed = query(&fake, id).await;
    assert_eq!((failed["status"].clone(), failed["error"]["code"].clone()), (json!("failed"), json!(1027)), "{failed}");
    assert_eq!(fake.journal().counters().jobs_created, 1);
    let wrong_key = client().post(format!("{}/v2/video_generation", fake.base_url())).bearer_auth("nope");
    let (status, e) = json(wrong_key.json(&t2v("x")).send().await.unwrap()).await;
    assert_eq!((status, e["error"]["type"].as_str()), (401, Some("authorized_error")), "{e}");
}

async fn list_page(fake: &FakeMinimax, n: u32) -> (u16, Value) {
    let url = format!("{}/v2/query/video_generation?page_num={n}&page_size=2", fake.base_url());
    json(client().get(url).bearer_auth(fake.api_key()).send().await.unwrap()).await
}

#[tokio::test]
async fn the_v2_task_list_pages_newest_first_with_the_task_fields_and_moves_no_task() {
    let fake = FakeMinimax::start().await;
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(create(&fake, &t2v(&format!("listed {i}"))).await.1["task_id"].as_str().unwrap().to_owned());
    }
    let (status, first) = list_page(&fake, 1).await;
    assert_eq!((status, first["total"].clone()), (200, json!(3)), "{first}");
    let listed = |p: &Value| -> Vec<String> {
        p["items"].as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap().to_owned()).collect()
    };
    assert_eq!(listed(&first), vec![ids[2].clone(), ids[1].clone()]);
    let item = &first["items"][0];
    assert_eq!(
        (item["model"].as_str(), item["resolution"].as_str(), item["ratio"].as_str()),
        (Some("MiniMax-H3"), Some("768P"), Some("16:9"))
    );
    assert!(item["created_at"].as_u64().is_some(), "{item}");
    assert_eq!(item["status"], "queued");
    assert_eq!(listed(&list_page(&fake, 2).await.1), vec![ids[0].clone()]);
    assert_eq!(query(&fake, &ids[0]).await["status"], "running", "listing moved nothing");
}
