//! The ComfyUI fake against the digest (docs/upstreams.md §15): API-format graphs validated
//! as `POST /prompt` does (node_errors, missing node types, canonical prompt ids, uploaded
//! images), one worker running prompts in queue order with `/history/{id}` empty until each
//! ends, a real MP4 of the graph's rounded size and length through `/view`, an
//! `execution_error` for a scripted OOM, cancels through the jobs API, `/queue` delete and
//! `/interrupt`, and a restart that wipes queue and history.

use serde_json::{Value, json};
use vidgate_fakes::{FakeComfyui, Latency, Outcome};

use crate::helpers::{client, json, probe};

/// A small LTX-shaped graph: 161×97 asked (rounded to 160×96), `length` frames at 24 fps.
fn graph(text: &str, length: u32) -> Value {
    json!({
        "1": {"class_type": "VAELoader", "inputs": {"vae_name": "wan_2.1_vae.safetensors"}},
        "2": {"class_type": "EmptyLTXVLatentVideo", "inputs": {"width": 161, "height": 97, "length": length, "batch_size": 1}},
        "3": {"class_type": "VAEDecode", "inputs": {"samples": ["2", 0], "vae": ["1", 0]}},
        "4": {"class_type": "CreateVideo", "inputs": {"images": ["3", 0], "fps": 24.0}},
        "5": {"class_type": "SaveVideo", "inputs": {"video": ["4", 0], "filename_prefix": "video/kit", "format": "mp4", "codec": "auto"}},
        "6": {"class_type": "CLIPTextEncode", "inputs": {"text": text, "clip": ["7", 0]}},
        "7": {"class_type": "CLIPLoader", "inputs": {"clip_name": "umt5_xxl_fp8_e4m3fn_scaled.safetensors", "type": "wan"}},
    })
}

const ID_A: &str = "0b7e6f1c-1d2e-4f30-8a41-5b6c7d8e9f00";
const ID_B: &str = "1b7e6f1c-1d2e-4f30-8a41-5b6c7d8e9f01";

async fn submit(fake: &FakeComfyui, graph: &Value, id: &str) -> (u16, Value) {
    let body = json!({"prompt": graph, "prompt_id": id, "client_id": "kit"});
    json(client().post(format!("{}/prompt", fake.base_url())).json(&body).send().await.unwrap()).await
}

async fn get(fake: &FakeComfyui, path: &str) -> Value {
    let (status, body) = json(client().get(format!("{}{path}", fake.base_url())).send().await.unwrap()).await;
    assert_eq!(status, 200, "{path}: {body}");
    body
}

async fn post(fake: &FakeComfyui, path: &str, body: Value) -> u16 {
    client().post(format!("{}{path}", fake.base_url())).json(&body).send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn prompts_run_one_at_a_time_in_queue_order_and_the_history_is_empty_until_each_ends() {
    let fake = FakeComfyui::start().await;
    fake.faults().set_latency(Latency::polls(1));
    fake.set_gpu_ms(Some(2500));
    assert_eq!(
        submit(&fake, &graph("a fox", 26), ID_A).await,
        (200, json!({"prompt_id": ID_A, "number": 1, "node_errors": {}}))
    );
    assert_eq!(submit(&fake, &graph("a cat", 26), ID_B).await.0, 200);
    let queue = get(&fake, "/queue").await;
    assert_eq!(
        (queue["queue_running"][0][1].clone(), queue["queue_pending"][0][1].clone()),
        (json!(ID_A), json!(ID_B))
    );
    assert_eq!(get(&fake, "/api/prompt").await, json!({"exec_info": {"queue_remaining": 2}}));
    assert_eq!(get(&fake, &format!("/history/{ID_B}")).await, json!({}), "queued; the running one polled once");
    let done = get(&fake, &format!("/history/{ID_A}")).await;
    let entry = &done[ID_A];
    assert_eq!(entry["status"]["status_str"], "success", "{done}");
    let messages = entry["status"]["messages"].as_array().unwrap();
    let at = |i: usize| messages[i][1]["timestamp"].as_u64().unwrap();
    assert_eq!((messages[0][0].clone(), at(messages.len() - 1) - at(0)), (json!("execution_start"), 2500));
    let item = &entry["outputs"]["5"];
    assert_eq!(item["animated"], json!([true]));
    assert_eq!(
        (item["images"][0]["subfolder"].clone(), item["images"][0]["filename"].clone()),
        (json!("video"), json!("kit_00001_.mp4"))
    );
    let url = format!("{}/view?filename=kit_00001_.mp4&subfolder=video&type=output", fake.base_url());
    let mp4 = client().get(url).send().await.unwrap().bytes().await.unwrap();
    // 26 frames ask for 8k+1 → 25 frames at 24 fps; 161×97 → 160×96.
    assert_eq!(probe(&mp4), (160, 96, 1042, false));
    assert_eq!(fake.queue(), (vec![], Some(ID_B.to_owned())));
    let traversal = client().get(format!("{}/view?filename=../x.mp4", fake.base_url())).send().await.unwrap();
    assert_eq!(traversal.status().as_u16(), 400);
    assert!(fake.journal().notes().is_empty());
}

#[tokio::test]
async fn bad_graphs_are_refused_with_node_errors_and_queue_nothing() {
    let fake = FakeComfyui::start().await;
    let mut missing_model = graph("a fox", 25);
    missing_model["1"]["inputs"]["vae_name"] = json!("nope.safetensors");
    let (status, e) = submit(&fake, &missing_model, ID_A).await;
    assert_eq!((status, e["error"]["type"].clone()), (400, json!("prompt_outputs_failed_validation")));
    assert_eq!(e["node_errors"]["1"]["errors"][0]["type"], "value_not_in_list", "{e}");
    let mut unknown = graph("a fox", 25);
    unknown["8"] = json!({"class_type": "NoSuchNode", "inputs": {}});
    assert_eq!(submit(&fake, &unknown, ID_A).await.1["error"]["type"], "missing_node_type");
    assert_eq!(submit(&fake, &graph("a fox", 25), "NOT-A-UUID").await.1["error"]["type"], "invalid_prompt_id");
    let mut with_image = graph("a fox", 25);
    with_image["9"] = json!({"class_type": "LoadImage", "inputs": {"image": "first.png"}});
    let e = submit(&fake, &with_image, ID_A).await.1;
    assert_eq!(e["node_errors"]["9"]["errors"][0]["type"], "custom_validation_failed", "{e}");
    assert_eq!(fake.journal().counters().jobs_created, 0);
    let part = reqwest::multipart::Part::bytes(vec![1, 2, 3]).file_name("first.png");
    let form = reqwest::multipart::Form::new().part("image", part).text("type", "input");
    let (status, up) =
        json(client().post(format!("{}/upload/image", fake.base_url())).multipart(form).send().await.unwrap()).await;
    assert_eq!((status, up), (200, json!({"name": "first.png", "subfolder": "", "type": "input"})));
    assert_eq!(submit(&fake, &with_image, ID_A).await.0, 200);
}

#[tokio::test]
async fn an_oom_fails_the_prompt_cancels_land_and_a_restart_wipes_queue_and_history() {
    let fake = FakeComfyui::start().await;
    fake.faults().set_latency(Latency::polls(0));
    fake.faults().push_outcome(Outcome::Error { code: "oom".into(), message: "CUDA out of memory.".into() });
    submit(&fake, &graph("too big", 25), ID_A).await;
    let entry = get(&fake, &format!("/history/{ID_A}")).await[ID_A].clone();
    let last = entry["status"]["messages"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (last[0].clone(), last[1]["exception_type"].clone()),
        (json!("execution_error"), json!("torch.OutOfMemoryError"))
    );
    fake.faults().push_outcome(Outcome::Never).push_outcome(Outcome::Never);
    let id_c = "2b7e6f1c-1d2e-4f30-8a41-5b6c7d8e9f02";
    submit(&fake, &graph("forever", 25), ID_B).await;
    submit(&fake, &graph("behind", 25), id_c).await;
    assert_eq!(
        client().post(format!("{}/api/jobs/{id_c}/cancel", fake.base_url())).send().await.unwrap().status(),
        200
    );
    assert_eq!(fake.queue(), (vec![], Some(ID_B.to_owned())), "dequeued");
    assert_eq!(post(&fake, "/interrupt", json!({"prompt_id": id_c})).await, 200);
    assert_eq!(fake.queue().1, Some(ID_B.to_owned()), "not the running one: no-op");
    post(&fake, "/interrupt", json!({"prompt_id": ID_B})).await;
    assert_eq!(fake.history().last().unwrap(), &(ID_B.to_owned(), "error".to_owned()));
    submit(&fake, &graph("lost", 25), id_c).await;
    fake.restart();
    assert_eq!((fake.history(), fake.queue()), (vec![], (vec![], None)));
    assert_eq!(get(&fake, &format!("/history/{ID_A}")).await, json!({}));
}
