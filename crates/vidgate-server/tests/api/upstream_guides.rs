//! Veo 3.1's other inputs end to end against `FakeVertex` and `FakeGemini`: a last frame
//! (interpolation), reference images, a negative prompt and 4K, each reaching the upstream
//! where the fake checks it against the protocol notes, or refused at submit with the
//! reason, leaving nothing behind.

use reqwest::StatusCode;
use serde_json::{Value, json};
use vidgate_fakes::{FakeGemini, FakeVertex, JobGuides, Latency};

use crate::upstream_helpers::{
    Live, VEO31_RATE, assert_billed, assert_delivered, assert_no_violations, config_with, gemini_entry, png_data_url,
    vertex_entry,
};

/// A gateway whose `veo3.1` also sells 8 s (a last frame is never trimmed, and Veo
/// interpolates only in 8 s clips), with these upstream entries.
async fn live(entries: Vec<Value>) -> Live {
    let mut config = config_with(entries);
    let veo = config.models.whole_mut().iter_mut().find(|m| m.id == "veo3.1").unwrap();
    veo.durations = vec![5, 8, 10];
    Live::start_with(config).await
}

fn guides_of(journal: &vidgate_fakes::Journal, prompt: &str) -> Vec<JobGuides> {
    journal.guides().into_iter().filter(|(p, _)| p == prompt).map(|(_, g)| g).collect()
}

#[tokio::test]
async fn a_last_frame_reaches_vertex_as_an_eight_second_interpolation_and_is_billed_as_asked() {
    let fake = FakeVertex::start().await;
    fake.faults().set_latency(Latency::polls(0));
    let live = live(vec![vertex_entry(&fake)]).await;
    let body = json!({"model": "veo3.1", "prompt": "from dawn to dusk", "duration_seconds": 8,
        "source_image": png_data_url(64, 36), "last_frame": png_data_url(64, 36)});
    let done = live.run(body).await;
    let spent = assert_billed(&done, VEO31_RATE, 8);
    let guides = guides_of(fake.journal(), "from dawn to dusk");
    assert_eq!(guides, [JobGuides { image: true, last_frame: true, reference_images: 0 }]);
    assert_delivered(&live.probe_result(&done).await, 1280, 720, 8000, false);
    live.assert_settled(spent).await;
    assert_no_violations(fake.journal());
}

#[tokio::test]
async fn reference_images_reach_gemini_in_an_eight_second_clip_trimmed_to_five() {
    let fake = FakeGemini::start().await;
    fake.faults().set_latency(Latency::polls(0));
    let live = live(vec![gemini_entry(&fake)]).await;
    let refs = json!([png_data_url(32, 32), {"image": png_data_url(48, 48), "reference_type": "asset"}]);
    let body = json!({"model": "veo3.1", "prompt": "the same red kite", "duration_seconds": 5,
        "reference_images": refs, "negative_prompt": "blur, text"});
    let done = live.run(body).await;
    let spent = assert_billed(&done, VEO31_RATE, 5);
    let guides = guides_of(fake.journal(), "the same red kite");
    assert_eq!(guides, [JobGuides { image: false, last_frame: false, reference_images: 2 }]);
    assert_delivered(&live.probe_result(&done).await, 1280, 720, 5000, false);
    let plan = &live.admin_task(done["task_id"].as_str().unwrap()).await["plan"]["routes"][0];
    assert_eq!((plan["upstream_seconds"].as_u64(), plan["trim_to_ms"].as_u64()), (Some(8), Some(5000)));
    live.assert_settled(spent).await;
    assert_no_violations(fake.journal());
}

#[tokio::test]
async fn four_k_is_made_by_gemini_at_eight_seconds_and_trimmed_while_vertex_refuses_it() {
    let fake = FakeGemini::start().await;
    fake.faults().set_latency(Latency::polls(0));
    let gemini = live(vec![gemini_entry(&fake)]).await;
    let done = gemini.run(json!({"model": "veo3.1", "prompt": "a 4k sunrise", "resolution": "4k"})).await;
    let spent = assert_billed(&done, 600_000, 5);
    assert_eq!(done["size"], "3840x2160");
    assert_delivered(&gemini.probe_result(&done).await, 3840, 2160, 5000, false);
    gemini.assert_settled(spent).await;
    assert_no_violations(fake.journal());

    let vertex = FakeVertex::start().await;
    let only_vertex = live(vec![vertex_entry(&vertex)]).await;
    let (status, err) = only_vertex.refused(json!({"model": "veo3.1", "prompt": "4k", "size": "2160x3840"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!((err["code"].as_str(), err["param"].as_str()), (Some("unsupported_value"), Some("size")));
    assert_eq!(
        err["message"],
        "model veo3.1 cannot be delivered as 5 s at 2160x3840: no configured route can deliver this combination: \
         vertex: it does not make this size"
    );
    assert_eq!(vertex.journal().counters().submits(), 0);
}

#[tokio::test]
async fn what_veo_cannot_make_with_guide_images_is_refused_with_the_reason_and_nothing_is_held() {
    let fake = FakeGemini::start().await;
    let live = live(vec![gemini_entry(&fake)]).await;
    let img = png_data_url(32, 32);
    let cases = [
        (
            json!({"duration_seconds": 5, "source_image": img, "last_frame": img}),
            "unsupported_value",
            "duration_seconds",
            "model veo3.1 cannot be delivered as 5 s at 1280x720 with a last frame: no configured route can \
             deliver this combination: gemini: it interpolates to a last frame only in 8 s clips, and a last \
             frame ends the video so it is never trimmed: ask for 8 s",
        ),
        (
            json!({"duration_seconds": 10, "reference_images": [img]}),
            "unsupported_value",
            "duration_seconds",
            "model veo3.1 cannot be delivered as 10 s at 1280x720 with 1 reference image: no configured route \
             can deliver this combination: gemini: with a last frame or reference images it makes one 8 s clip \
             and extends none, so at most 8 s",
        ),
        (
            json!({"size": "720x1280", "reference_images": [img]}),
            "unsupported_value",
            "size",
            "model veo3.1 cannot be delivered as 5 s at 720x1280 with 1 reference image: no configured route can \
             deliver this combination: gemini: it makes reference-image videos only at 1280x720, 1920x1080, \
             3840x2160 (16:9)",
        ),
        (
            json!({"reference_images": [{"image": img, "reference_type": "style"}]}),
            "unsupported_value",
            "reference_images",
            "model veo3.1 cannot be delivered as 5 s at 1280x720 with 1 reference image: no configured route can \
             deliver this combination: gemini: it takes only asset reference images, not style ones",
        ),
        (
            json!({"duration_seconds": 8, "last_frame": img}),
            "invalid_param",
            "last_frame",
            "last_frame needs a first frame (source_image): a last frame ends an interpolation from it",
        ),
        (
            json!({"reference_images": [img, img, img, img]}),
            "invalid_param",
            "reference_images",
            "reference_images has 4 images; at most 3 are accepted",
        ),
    ];
    for (extra, code, param, message) in cases {
        let mut body = json!({"model": "veo3.1", "prompt": "refused"});
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        let (status, err) = live.refused(body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!((err["code"].as_str(), err["param"].as_str()), (Some(code), Some(param)), "{err}");
        assert_eq!(err["message"], message);
    }
    assert!(live.admin_tasks().await.is_empty(), "a refusal creates no task");
    live.assert_settled(0).await;
    assert_eq!(fake.journal().counters().submits(), 0);
}

#[tokio::test]
async fn the_sandbox_takes_every_guide_image_the_catalog_offers_on_every_surface() {
    let app = crate::helpers::spawn_app().await;
    let (_, key) = app.account_with_key("test", "test").await;
    let img = png_data_url(32, 32);
    let native = json!({"model": "veo3.1", "prompt": "ends here", "source_image": img, "last_frame": img,
        "negative_prompt": "fog"});
    let task = app.submit(&key, native).await;
    let done = app.wait_terminal(&key, task["task_id"].as_str().unwrap(), crate::upstream_helpers::WAIT).await;
    assert_eq!(done["status"], "completed", "{done}");
    let envelope = json!({"model": "veo3.1", "params": {"prompt": "kites", "reference_images": [img, img, img]}});
    let (status, body, _) = app.post("/v1/tasks/submit", &key, &envelope).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let openai = json!({"model": "veo3.1", "prompt": "kites", "seconds": "5", "negative_prompt": "fog",
        "reference_images": [{"image": img, "reference_type": "asset"}]});
    let (status, body, _) = app.post("/v1/videos", &key, &openai).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let bad = json!({"model": "veo3.1", "params": {"prompt": "x", "reference_images": ["data:image/png;base64,AAAA"]}});
    let (status, body, _) = app.post("/v1/tasks/submit", &key, &bad).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["param"], "params.reference_images[0]");
}
