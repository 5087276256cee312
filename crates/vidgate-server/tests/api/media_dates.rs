//! The delivered MP4 carries the time it was made (`mvhd` creation time), read by ffprobe.

use std::time::Duration;

use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivered_sandbox_video_is_dated_at_its_render_not_1970() {
    let app = spawn_app().await;
    let before = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let task = app.submit_tiny(&app.test_key.clone(), json!({})).await;
    let done =
        app.wait_terminal(&app.test_key.clone(), task["task_id"].as_str().unwrap(), Duration::from_secs(60)).await;
    let after = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let (_, bytes) = app.download(done["result_url"].as_str().unwrap()).await;
    let path = std::env::temp_dir().join(format!("vidgate-created-{}.mp4", ulid::Ulid::new()));
    std::fs::write(&path, bytes).unwrap();
    let out = std::process::Command::new("ffprobe")
        .args(["-v", "error", "-show_entries", "format_tags=creation_time", "-of", "default=nw=1:nk=1"])
        .arg(&path)
        .output()
        .expect("ffprobe");
    let _ = std::fs::remove_file(&path);
    let text = String::from_utf8(out.stdout).unwrap();
    let created = time::OffsetDateTime::parse(text.trim(), &time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|e| panic!("{e}: {text:?}"))
        .unix_timestamp() as u64;
    assert!((before..=after).contains(&created), "{} not in {before}..={after}", text.trim());
}
