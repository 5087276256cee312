//! Sandbox renders of every catalog size and duration play to the end in headless Chromium.
//!
//! One Chromium process plays all clips in turn from a generated page (muted, fast playback) and
//! reports each result with `console.log`, which `--enable-logging=stderr` surfaces. Chromium is
//! required: a missing binary fails the test with a pointer to `scripts/test.sh`.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;
use vidgate_media::probe;
use vidgate_media::sandbox::{RenderSpec, render};

use common::{Scratch, ffprobe, num, stream, tool};

/// The shipped catalog: sizes (rendered at 5 s) and durations (rendered at 1280x720).
const SIZES: [(u32, u32); 4] = [(1280, 720), (1920, 1080), (720, 1280), (1080, 1920)];
const DURATIONS_S: [u64; 7] = [4, 5, 8, 10, 12, 15, 20];
const PLAYBACK_RATE: u32 = 8;

struct Clip {
    file: String,
    width: u32,
    height: u32,
    frames: u64,
    /// Longest track, seconds (what `video.duration` reports).
    seconds: f64,
}

#[test]
fn every_catalog_size_and_duration_plays_to_the_end_in_chromium() {
    let chromium = tool("chromium");
    let scratch = Scratch::new("browser");
    let mut clips = Vec::new();
    let shapes = SIZES.iter().map(|&(w, h)| (w, h, 5)).chain(DURATIONS_S.iter().map(|&s| (1280, 720, s)));
    for (i, (width, height, seconds)) in shapes.enumerate() {
        clips.push(render_clip(&scratch.dir, i, width, height, seconds));
    }
    std::fs::write(scratch.path("play.html"), page(&clips)).unwrap();
    let results = play_all(&chromium, &scratch, clips.len());
    assert_eq!(results.len(), clips.len(), "one result per clip: {results:?}");
    for (clip, result) in clips.iter().zip(&results) {
        eprintln!("{}: {result}", clip.file);
        check_playback(clip, result);
    }
}

fn render_clip(dir: &Path, index: usize, width: u32, height: u32, seconds: u64) -> Clip {
    let file = format!("clip{index}-{width}x{height}-{seconds}s.mp4");
    let spec = RenderSpec {
        width,
        height,
        duration_ms: seconds * 1000,
        seed: 100 + index as u64,
        prompt: format!("catalog check {width}x{height} for {seconds} seconds: a hot air balloon over hills"),
        audio: true,
        source_image: None,
        created: std::time::Duration::from_secs(1_800_000_000),
    };
    let path = dir.join(&file);
    let stats = render(&spec, &path).unwrap_or_else(|e| panic!("{file}: {e}"));
    let p = ffprobe(&path);
    let (v, a) = (stream(&p, "video").expect("video"), stream(&p, "audio").expect("audio"));
    assert_eq!(
        (v["width"].as_u64(), v["height"].as_u64()),
        (Some(u64::from(width)), Some(u64::from(height))),
        "{file}"
    );
    assert_eq!(v["nb_frames"].as_str().map(str::to_string), Some((seconds * 24).to_string()), "{file}");
    assert_eq!(num(v, "duration"), seconds as f64, "{file}");
    assert_eq!((a["codec_name"].as_str(), num(a, "sample_rate")), (Some("aac"), 48_000.0), "{file}");
    assert_eq!(stats.frames, seconds * 24);
    let info = probe(&path).unwrap();
    assert!(info.faststart, "{file}");
    Clip { file, width, height, frames: seconds * 24, seconds: info.duration_ms as f64 / 1000.0 }
}

/// A page that plays each clip in turn and logs one JSON line per clip, then `VIDGATE_DONE`.
fn page(clips: &[Clip]) -> String {
    let files: Vec<String> = clips.iter().map(|c| format!("\"{}\"", c.file)).collect();
    format!(
        r#"<!doctype html><html><body><script>
const clips = [{files}];
function play(src) {{
  return new Promise(resolve => {{
    const v = document.createElement("video");
    v.muted = true; v.preload = "auto";
    let presented = 0, error = null, done = false;
    const count = () => {{ presented++; v.requestVideoFrameCallback(count); }};
    v.requestVideoFrameCallback(count);
    const finish = how => {{
      if (done) return; done = true; clearTimeout(timer);
      const q = v.getVideoPlaybackQuality();
      resolve({{src, how, error, currentTime: v.currentTime, duration: v.duration, width: v.videoWidth,
        height: v.videoHeight, presented, decoded: q.totalVideoFrames, dropped: q.droppedVideoFrames,
        videoBytes: v.webkitVideoDecodedByteCount, audioBytes: v.webkitAudioDecodedByteCount}});
      v.remove();
    }};
    const timer = setTimeout(() => finish("timeout"), 90000);
    v.addEventListener("ended", () => finish("ended"));
    v.addEventListener("error", () => {{ error = v.error ? v.error.code + ": " + v.error.message : "error"; finish("error"); }});
    v.addEventListener("loadedmetadata", () => {{
      v.playbackRate = {PLAYBACK_RATE};
      v.play().catch(e => {{ error = String(e); finish("play-rejected"); }});
    }});
    v.src = src;
    document.body.appendChild(v);
  }});
}}
(async () => {{
  for (const c of clips) console.log("VIDGATE_RESULT " + JSON.stringify(await play(c)));
  console.log("VIDGATE_DONE");
}})();
</script></body></html>"#,
        files = files.join(",")
    )
}

/// Runs Chromium on the page and collects the logged results; kills it when done.
fn play_all(chromium: &Path, scratch: &Scratch, expected: usize) -> Vec<Value> {
    let profile = scratch.path("chromium-profile");
    let url = format!("file://{}", scratch.path("play.html").display());
    let mut child = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--mute-audio",
            "--autoplay-policy=no-user-gesture-required",
            "--allow-file-access-from-files",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(&url)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start chromium: {e}"));
    let (tx, rx) = mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let results = collect(&rx, expected);
    let _ = child.kill();
    let _ = child.wait();
    results
}

fn collect(rx: &mpsc::Receiver<String>, expected: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(60 + 40 * expected as u64);
    let mut results = Vec::new();
    let mut tail: Vec<String> = Vec::new();
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        let Ok(line) = rx.recv_timeout(left) else { break };
        tail.push(line.clone());
        if tail.len() > 20 {
            tail.remove(0);
        }
        if line.contains("VIDGATE_DONE") {
            return results;
        }
        if let Some(json) = line.split("VIDGATE_RESULT ").nth(1) {
            // The console line ends with `", source: file:///… (N)`.
            let json = json.rsplit_once("\", source:").map_or(json, |(j, _)| j);
            results.push(serde_json::from_str(&json.replace("\\\"", "\"")).unwrap_or_else(|e| panic!("{e}: {json}")));
        }
    }
    panic!(
        "chromium did not finish playing (exited or timed out); results so far: {results:?}\nlast stderr lines:\n{}",
        tail.join("\n")
    );
}

fn check_playback(clip: &Clip, r: &Value) {
    let name = &clip.file;
    assert_eq!(r["how"], "ended", "{name}: {r}");
    assert!(r["error"].is_null(), "{name}: {r}");
    assert_eq!(
        (r["width"].as_u64(), r["height"].as_u64()),
        (Some(u64::from(clip.width)), Some(u64::from(clip.height))),
        "{name}"
    );
    let (current, duration) = (r["currentTime"].as_f64().unwrap(), r["duration"].as_f64().unwrap());
    assert!((duration - clip.seconds).abs() < 0.05, "{name}: duration {duration} vs {}", clip.seconds);
    assert!(current >= duration - 0.05, "{name}: stopped at {current} of {duration}");
    let decoded = r["decoded"].as_u64().unwrap();
    assert!(decoded * 10 >= clip.frames * 9, "{name}: decoded {decoded} of {} frames", clip.frames);
    assert!(r["videoBytes"].as_u64().unwrap() > 0 && r["audioBytes"].as_u64().unwrap() > 0, "{name}: {r}");
}
