//! Shared helpers for the black-box tests: scratch directories, the external tools (ffmpeg,
//! ffprobe, chromium) used as independent judges, and the MP4 fixtures built with ffmpeg.
//!
//! The tools are required: a missing one fails the test with a pointer to `scripts/test.sh`.

#![allow(dead_code)]

pub mod fixtures;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;

/// A directory under the system temp dir, removed when dropped.
pub struct Scratch {
    pub dir: PathBuf,
}

impl Scratch {
    pub fn new(name: &str) -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("vidgate-media-test-{}-{n}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create scratch dir");
        Self { dir }
    }

    pub fn path(&self, file: &str) -> PathBuf {
        self.dir.join(file)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The absolute path of a required external tool, or a failing test that says how to get it.
pub fn tool(name: &str) -> PathBuf {
    let candidates = ["/usr/bin", "/usr/local/bin", "/bin"];
    candidates.iter().map(|d| Path::new(d).join(name)).find(|p| p.exists()).unwrap_or_else(|| {
        panic!(
            "`{name}` is required by the vidgate-media tests but was not found; \
                 run scripts/test.sh, which installs it (Debian packages: nasm ffmpeg chromium)"
        )
    })
}

/// Runs a tool, failing the test with its stderr if it exits non-zero.
pub fn run(name: &str, args: &[&str]) -> Output {
    let out = Command::new(tool(name)).args(args).output().unwrap_or_else(|e| panic!("cannot run {name}: {e}"));
    assert!(out.status.success(), "{name} {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    out
}

/// Runs ffmpeg quietly (`-v error -y` prepended).
pub fn ffmpeg(args: &[&str]) {
    let mut all = vec!["-v", "error", "-y"];
    all.extend_from_slice(args);
    run("ffmpeg", &all);
}

/// `ffprobe -show_streams -show_format` as JSON.
pub fn ffprobe(path: &Path) -> Value {
    let p = path.to_str().unwrap();
    let out = run("ffprobe", &["-v", "error", "-show_streams", "-show_format", "-of", "json", p]);
    serde_json::from_slice(&out.stdout).expect("ffprobe prints JSON")
}

/// The first stream of a codec type ("video" / "audio") in ffprobe output.
pub fn stream<'a>(probe: &'a Value, codec_type: &str) -> Option<&'a Value> {
    probe["streams"].as_array()?.iter().find(|s| s["codec_type"] == codec_type)
}

/// A numeric ffprobe field that ffprobe prints as a string ("2.500000").
pub fn num(v: &Value, key: &str) -> f64 {
    match &v[key] {
        Value::String(s) => s.parse().unwrap_or_else(|_| panic!("{key}={s} is not a number")),
        Value::Number(n) => n.as_f64().unwrap(),
        other => panic!("{key} missing: {other}"),
    }
}

/// A stream's duration in ms.
pub fn duration_ms(stream: &Value) -> f64 {
    num(stream, "duration") * 1000.0
}

/// Asserts that ffmpeg decodes the whole file without a single error message.
pub fn assert_decodes_cleanly(path: &Path) {
    let out = run("ffmpeg", &["-v", "error", "-i", path.to_str().unwrap(), "-f", "null", "-"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.trim().is_empty(), "decoding {} printed errors: {stderr}", path.display());
}

/// One video frame period at 24 fps, the tolerance for durations.
pub const FRAME_MS: f64 = 1000.0 / 24.0;

/// Asserts two durations agree to within one frame.
pub fn assert_within_frame(what: &str, actual: f64, expected: f64) {
    assert!((actual - expected).abs() <= FRAME_MS + 0.5, "{what}: {actual} ms vs expected {expected} ms");
}

/// Width, height, bit depth and colour type from a PNG's signature and IHDR chunk.
pub fn png_header(path: &Path) -> (u32, u32, u8, u8) {
    let bytes = std::fs::read(path).expect("read png");
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "PNG signature of {}", path.display());
    assert_eq!(&bytes[12..16], b"IHDR");
    let be = |i: usize| u32::from_be_bytes(bytes[i..i + 4].try_into().unwrap());
    (be(16), be(20), bytes[24], bytes[25])
}

/// Decodes frames of a video to packed RGB24 with ffmpeg (`extra` selects frames).
pub fn rgb_frames(path: &Path, extra: &[&str]) -> Vec<u8> {
    let mut args = vec!["-v", "error", "-i", path.to_str().unwrap()];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["-f", "rawvideo", "-pix_fmt", "rgb24", "-"]);
    run("ffmpeg", &args).stdout
}

/// Mean absolute difference between two equally long byte buffers.
pub fn mean_abs_diff(a: &[u8], b: &[u8]) -> f64 {
    assert_eq!(a.len(), b.len(), "buffers differ in length");
    a.iter().zip(b).map(|(x, y)| (i32::from(*x) - i32::from(*y)).unsigned_abs() as u64).sum::<u64>() as f64
        / a.len() as f64
}
