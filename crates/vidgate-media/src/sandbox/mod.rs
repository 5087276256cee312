//! The sandbox renderer: the gateway's offline "model". It turns a [`RenderSpec`] into a real,
//! browser-playable MP4 (H.264 Constrained Baseline 24 fps, optional AAC-LC 48 kHz stereo,
//! faststart) that shows the prompt, a "SANDBOX RENDER" label and a clock over seeded motion.
//!
//! Deterministic: the same spec gives the same bytes (no clock, no OS randomness; all choices
//! come from SplitMix64 seeded by an FNV-1a fingerprint of the whole spec).
//!
//! Layout: `rng` → `scene` (what to draw; uses `text`, `backdrop`, `canvas`) → `video`
//! (H.264); `audio` → `aac`; then `output` hands both to `mp4::mux`.

mod aac;
mod audio;
mod backdrop;
mod canvas;
mod output;
mod rng;
mod scene;
mod text;
mod video;

use std::path::Path;
use std::time::Instant;

use crate::MediaError;
use canvas::Frame;
use output::{Encoded, mux};
use rng::{Fnv64, SplitMix64};

/// Frames per second of every sandbox render.
pub(crate) const FPS: u64 = 24;
/// Longest accepted render.
const MAX_DURATION_MS: u64 = 10 * 60 * 1000;

/// What to render.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderSpec {
    /// Frame width in pixels (even, 16..=3840).
    pub width: u32,
    /// Frame height in pixels (even, 16..=2160; portrait up to 2160x3840).
    pub height: u32,
    /// Clip length; the video has `duration_ms * 24 / 1000` frames and lasts exactly this long.
    pub duration_ms: u64,
    /// Varies the picture and the sound.
    pub seed: u64,
    /// Drawn on every frame and turned into the melody.
    pub prompt: String,
    /// Add an AAC soundtrack; without it the file has no audio track at all.
    pub audio: bool,
    /// PNG/JPEG/WebP bytes for image-to-video: frame 0 is this image, cover-fit.
    pub source_image: Option<Vec<u8>>,
    /// The file's creation time (`mvhd`), since the Unix epoch: the caller's render time
    /// (the renderer reads no clock). It changes no picture or sound.
    pub created: std::time::Duration,
}

/// Where the time went and what came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RenderStats {
    /// Painting frames (and preparing the scene).
    pub render_ms: u64,
    /// H.264 encoding.
    pub encode_ms: u64,
    /// Synthesising and AAC-encoding the soundtrack (0 without audio).
    pub audio_ms: u64,
    /// Writing the MP4.
    pub mux_ms: u64,
    /// Size of the written file.
    pub bytes: u64,
    /// Video frames written.
    pub frames: u64,
}

/// Renders `spec` into an MP4 at `dst`.
pub fn render(spec: &RenderSpec, dst: &Path) -> Result<RenderStats, MediaError> {
    render_with_progress(spec, dst, &|_| {})
}

/// Renders `spec` into an MP4 at `dst`, reporting progress 0..=100 (non-decreasing, 100 last).
pub fn render_with_progress(spec: &RenderSpec, dst: &Path, progress: &dyn Fn(u8)) -> Result<RenderStats, MediaError> {
    check(spec)?;
    progress(0);
    let frames = spec.duration_ms * FPS / 1000;
    let mut rng = SplitMix64::new(fingerprint(spec));
    let mut stats = RenderStats { render_ms: 0, encode_ms: 0, audio_ms: 0, mux_ms: 0, bytes: 0, frames };
    let video = render_video(spec, frames, &mut rng.fork("video"), &mut stats, progress)?;
    let started = Instant::now();
    let audio = if spec.audio { Some(audio_track(spec, &mut rng.fork("audio"))?) } else { None };
    stats.audio_ms = elapsed_ms(started);
    progress(95);
    let started = Instant::now();
    stats.bytes = mux(dst, video, audio, spec.created)?;
    stats.mux_ms = elapsed_ms(started);
    progress(100);
    Ok(stats)
}

/// Rejects specs the encoder cannot honour.
fn check(spec: &RenderSpec) -> Result<(), MediaError> {
    let (w, h) = (spec.width, spec.height);
    let fits = (w <= 3840 && h <= 2160) || (w <= 2160 && h <= 3840);
    if w < 16 || h < 16 || w % 2 == 1 || h % 2 == 1 || !fits {
        return Err(MediaError::Invalid(format!("size {w}x{h} must be even, at least 16x16 and at most 3840x2160")));
    }
    if spec.duration_ms * FPS / 1000 == 0 || spec.duration_ms > MAX_DURATION_MS {
        return Err(MediaError::Invalid(format!(
            "duration {} ms must give at least one frame and be at most {MAX_DURATION_MS} ms",
            spec.duration_ms
        )));
    }
    Ok(())
}

/// A 64-bit digest of every field that shapes the output.
fn fingerprint(spec: &RenderSpec) -> u64 {
    let mut h = Fnv64::new();
    h.field(spec.prompt.as_bytes())
        .u64(spec.seed)
        .u64(u64::from(spec.width))
        .u64(u64::from(spec.height))
        .u64(spec.duration_ms)
        .u64(u64::from(spec.audio));
    match &spec.source_image {
        Some(bytes) => h.u64(1).field(bytes),
        None => h.u64(0),
    };
    h.finish()
}

fn elapsed_ms(since: Instant) -> u64 {
    since.elapsed().as_millis() as u64
}

/// Paints and encodes every frame; progress goes 0 → 90 along the way.
fn render_video(
    spec: &RenderSpec,
    frames: u64,
    rng: &mut SplitMix64,
    stats: &mut RenderStats,
    progress: &dyn Fn(u8),
) -> Result<Encoded, MediaError> {
    let started = Instant::now();
    let scene = scene::Scene::new(spec, frames, rng)?;
    let mut encoder = video::VideoEncoder::new(spec.width, spec.height)?;
    let mut frame = Frame::new(spec.width as usize, spec.height as usize);
    let mut render_time = started.elapsed();
    let mut last_reported = 0;
    for index in 0..frames {
        let painted = Instant::now();
        scene.paint(&mut frame, index);
        render_time += painted.elapsed();
        encoder.encode(&frame, index)?;
        let pct = ((index + 1) * 90 / frames) as u8;
        if pct != last_reported {
            progress(pct);
            last_reported = pct;
        }
    }
    stats.render_ms = render_time.as_millis() as u64;
    stats.encode_ms = elapsed_ms(started).saturating_sub(stats.render_ms);
    let (entry, encoded) = encoder.finish()?;
    Ok(output::video_track(spec.duration_ms, entry, encoded))
}

/// Synthesises and encodes the soundtrack.
fn audio_track(spec: &RenderSpec, rng: &mut SplitMix64) -> Result<Encoded, MediaError> {
    let samples = (spec.duration_ms * u64::from(audio::SAMPLE_RATE) / 1000) as usize;
    let pcm = audio::synthesize(&spec.prompt, rng, samples);
    Ok(output::audio_track(aac::encode(&pcm)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> RenderSpec {
        RenderSpec {
            width: 1280,
            height: 720,
            duration_ms: 5000,
            seed: 1,
            prompt: "p".into(),
            audio: true,
            source_image: None,
            created: std::time::Duration::from_secs(1_800_000_000),
        }
    }

    #[test]
    fn landscape_and_portrait_up_to_4k_are_accepted() {
        assert!(check(&RenderSpec { width: 3840, height: 2160, ..spec() }).is_ok());
        assert!(check(&RenderSpec { width: 2160, height: 3840, ..spec() }).is_ok());
        assert!(check(&RenderSpec { width: 16, height: 16, duration_ms: 42, ..spec() }).is_ok());
    }

    #[test]
    fn odd_tiny_huge_or_frameless_specs_are_rejected() {
        for bad in [
            RenderSpec { width: 1281, ..spec() },
            RenderSpec { height: 14, ..spec() },
            RenderSpec { width: 3842, ..spec() },
            RenderSpec { duration_ms: 41, ..spec() },
            RenderSpec { duration_ms: MAX_DURATION_MS + 1, ..spec() },
        ] {
            assert!(matches!(check(&bad), Err(MediaError::Invalid(_))), "{bad:?}");
        }
    }

    #[test]
    fn every_field_of_the_spec_changes_the_fingerprint() {
        let base = fingerprint(&spec());
        let variants = [
            RenderSpec { width: 1920, ..spec() },
            RenderSpec { height: 1080, ..spec() },
            RenderSpec { duration_ms: 4000, ..spec() },
            RenderSpec { seed: 2, ..spec() },
            RenderSpec { prompt: "q".into(), ..spec() },
            RenderSpec { audio: false, ..spec() },
            RenderSpec { source_image: Some(vec![1]), ..spec() },
            RenderSpec { source_image: Some(Vec::new()), ..spec() },
        ];
        for v in variants {
            assert_ne!(fingerprint(&v), base, "{v:?}");
        }
        assert_eq!(fingerprint(&spec()), base);
    }
}
