//! Tiny MP4s in every shape the gateway meets upstream (moov at the end, faststart, no audio,
//! fragmented, HEVC, Opus, B-frames) made with ffmpeg, plus the sandbox's own output.
//!
//! The ffmpeg ones are built once per machine into a versioned temp directory (atomically, so
//! parallel test threads and runs share them); the sandbox one is re-rendered by every run.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use vidgate_media::sandbox::{RenderSpec, render};
use vidgate_media::{AudioCodec, VideoCodec};

use super::ffmpeg;

/// Fixture clips last this long.
pub const CLIP_MS: u64 = 2500;

/// One fixture file and what it is known to contain.
#[derive(Debug)]
pub struct Fixture {
    pub name: &'static str,
    pub path: PathBuf,
    pub video: VideoCodec,
    pub audio: Option<AudioCodec>,
    pub fragmented: bool,
    pub faststart: bool,
    /// True when frames are stored out of presentation order.
    pub bframes: bool,
}

struct Recipe {
    name: &'static str,
    args: &'static [&'static str],
    video: VideoCodec,
    audio: Option<AudioCodec>,
    fragmented: bool,
    faststart: bool,
    bframes: bool,
}

const X264: &[&str] = &["-c:v", "libx264", "-profile:v", "high", "-g", "24", "-pix_fmt", "yuv420p"];

const RECIPES: &[Recipe] = &[
    Recipe {
        name: "moov_at_end",
        args: &["X264", "-c:a", "aac"],
        video: VideoCodec::H264,
        audio: Some(AudioCodec::Aac),
        fragmented: false,
        faststart: false,
        bframes: true,
    },
    Recipe {
        name: "faststart",
        args: &["X264", "-c:a", "aac", "-movflags", "+faststart"],
        video: VideoCodec::H264,
        audio: Some(AudioCodec::Aac),
        fragmented: false,
        faststart: true,
        bframes: true,
    },
    Recipe {
        name: "no_audio",
        args: &["X264", "-an"],
        video: VideoCodec::H264,
        audio: None,
        fragmented: false,
        faststart: false,
        bframes: true,
    },
    Recipe {
        name: "fragmented",
        args: &["X264", "-c:a", "aac", "-movflags", "frag_keyframe+empty_moov"],
        video: VideoCodec::H264,
        audio: Some(AudioCodec::Aac),
        fragmented: true,
        faststart: true,
        bframes: true,
    },
    Recipe {
        name: "hevc",
        args: &[
            "-c:v",
            "libx265",
            "-tag:v",
            "hvc1",
            "-x265-params",
            "log-level=error:keyint=24",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
        ],
        video: VideoCodec::Hevc,
        audio: Some(AudioCodec::Aac),
        fragmented: false,
        faststart: false,
        bframes: true,
    },
    Recipe {
        name: "opus",
        args: &["X264", "-c:a", "libopus"],
        video: VideoCodec::H264,
        audio: Some(AudioCodec::Opus),
        fragmented: false,
        faststart: false,
        bframes: true,
    },
    Recipe {
        name: "main_bframes",
        args: &["-c:v", "libx264", "-profile:v", "main", "-bf", "3", "-g", "24", "-pix_fmt", "yuv420p", "-c:a", "aac"],
        video: VideoCodec::H264,
        audio: Some(AudioCodec::Aac),
        fragmented: false,
        faststart: false,
        bframes: true,
    },
    Recipe {
        name: "high_no_bframes",
        args: &["X264", "-bf", "0", "-c:a", "aac"],
        video: VideoCodec::H264,
        audio: Some(AudioCodec::Aac),
        fragmented: false,
        faststart: false,
        bframes: false,
    },
];

/// Every fixture, built on first use.
pub fn all() -> &'static [Fixture] {
    static FIXTURES: OnceLock<Vec<Fixture>> = OnceLock::new();
    FIXTURES.get_or_init(build_all)
}

/// The fixture called `name`.
pub fn get(name: &str) -> &'static Fixture {
    all().iter().find(|f| f.name == name).unwrap_or_else(|| panic!("no fixture {name}"))
}

fn build_all() -> Vec<Fixture> {
    let dir = std::env::temp_dir().join("vidgate-media-fixtures-v2");
    ensure_ffmpeg_fixtures(&dir);
    let mut fixtures: Vec<Fixture> = RECIPES
        .iter()
        .map(|r| Fixture {
            name: r.name,
            path: dir.join(format!("{}.mp4", r.name)),
            video: r.video,
            audio: r.audio,
            fragmented: r.fragmented,
            faststart: r.faststart,
            bframes: r.bframes,
        })
        .collect();
    fixtures.push(sandbox_fixture(&dir));
    fixtures
}

fn ensure_ffmpeg_fixtures(dir: &Path) {
    if dir.join("complete").exists() {
        return;
    }
    // A directory without the marker is debris from an interrupted run.
    let _ = std::fs::remove_dir_all(dir);
    let staging = dir.with_extension(format!("staging-{}", std::process::id()));
    std::fs::create_dir_all(&staging).unwrap();
    for recipe in RECIPES {
        make(&staging.join(format!("{}.mp4", recipe.name)), recipe.args);
    }
    std::fs::write(staging.join("complete"), b"ok").unwrap();
    // Another process may have finished first; either copy is good.
    if std::fs::rename(&staging, dir).is_err() {
        let _ = std::fs::remove_dir_all(&staging);
    }
}

fn make(out: &Path, recipe: &[&str]) {
    let duration = format!("{:.3}", CLIP_MS as f64 / 1000.0);
    let mut args = vec![
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=320x180:rate=24",
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:sample_rate=48000",
        "-t",
        &duration,
        "-ac",
        "2",
    ];
    for arg in recipe {
        match *arg {
            "X264" => args.extend_from_slice(X264),
            other => args.push(other),
        }
    }
    args.push(out.to_str().unwrap());
    ffmpeg(&args);
}

/// The sandbox's own output: 320x180, 2.5 s, with audio.
fn sandbox_fixture(dir: &Path) -> Fixture {
    let path = dir.join("sandbox.mp4");
    let staging = dir.join(format!("sandbox-{}.mp4", std::process::id()));
    render(&sandbox_spec(), &staging).expect("sandbox render");
    std::fs::rename(&staging, &path).unwrap();
    Fixture {
        name: "sandbox",
        path,
        video: VideoCodec::H264,
        audio: Some(AudioCodec::Aac),
        fragmented: false,
        faststart: true,
        bframes: false,
    }
}

pub fn sandbox_spec() -> RenderSpec {
    RenderSpec {
        width: 320,
        height: 180,
        duration_ms: CLIP_MS,
        seed: 7,
        prompt: "a paper boat drifting down a rainy street".into(),
        audio: true,
        source_image: None,
        created: std::time::Duration::from_secs(1_800_000_000),
    }
}
