//! The bytes the fakes hand out: real MP4 clips from the sandbox renderer (rendered once per
//! process for each size, length and audio choice), their audio tracks, still images, and the
//! not-an-MP4 bytes of a corrupt result.
//!
//! Owns the clip cache. It must not know which protocol asked.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use bytes::Bytes;
use tokio::sync::OnceCell;
use vidgate_media::sandbox::{RenderSpec, render};

use crate::errors::Refusal;
use crate::faults::Outcome;

/// What to render: the size, exact length and audio of a result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClipSpec {
    /// Frame width in pixels.
    pub width: u32,
    /// Frame height in pixels.
    pub height: u32,
    /// Exact length of the video track.
    pub duration_ms: u64,
    /// Whether the file has an AAC track.
    pub audio: bool,
}

type Cell = Arc<OnceCell<Result<Bytes, String>>>;

fn cache() -> &'static Mutex<HashMap<(ClipSpec, bool), Cell>> {
    static CACHE: OnceLock<Mutex<HashMap<(ClipSpec, bool), Cell>>> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

fn cell(spec: ClipSpec, audio_only: bool) -> Cell {
    let mut map = cache().lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    map.entry((spec, audio_only)).or_default().clone()
}

fn scratch_path(ext: &str) -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!("vidgate-fakes-{}-{n}.{ext}", std::process::id()))
}

/// A real MP4 for `spec`; concurrent callers share one render.
pub async fn clip(spec: ClipSpec) -> Result<Bytes, String> {
    cell(spec, false).get_or_init(|| blocking(move || render_clip(spec))).await.clone()
}

/// The audio track of the clip for `spec` as an `.m4a` (`spec.audio` must be true).
pub async fn audio_track(spec: ClipSpec) -> Result<Bytes, String> {
    let video = clip(spec).await?;
    cell(spec, true).get_or_init(|| blocking(move || extract(&video))).await.clone()
}

/// Starts rendering `spec` in the background, so the poll that answers "done" need not wait.
pub(crate) fn warm(spec: ClipSpec) {
    tokio::spawn(async move { drop(clip(spec).await) });
}

async fn blocking(work: impl FnOnce() -> Result<Bytes, String> + Send + 'static) -> Result<Bytes, String> {
    tokio::task::spawn_blocking(work).await.map_err(|e| e.to_string())?
}

fn render_clip(spec: ClipSpec) -> Result<Bytes, String> {
    let path = scratch_path("mp4");
    let render_spec = RenderSpec {
        width: spec.width,
        height: spec.height,
        duration_ms: spec.duration_ms,
        seed: 7,
        prompt: "vidgate-fakes".into(),
        audio: spec.audio,
        source_image: None,
        created: std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default(),
    };
    let result = render(&render_spec, &path).map_err(|e| e.to_string()).and_then(|_| read(&path));
    let _ = std::fs::remove_file(&path);
    result
}

fn extract(video: &[u8]) -> Result<Bytes, String> {
    let (src, dst) = (scratch_path("mp4"), scratch_path("m4a"));
    let result = std::fs::write(&src, video)
        .map_err(|e| e.to_string())
        .and_then(|()| vidgate_media::extract_audio(&src, &dst).map_err(|e| e.to_string()))
        .and_then(|_| read(&dst));
    let _ = std::fs::remove_file(&src);
    let _ = std::fs::remove_file(&dst);
    result
}

fn read(path: &std::path::Path) -> Result<Bytes, String> {
    std::fs::read(path).map(Bytes::from).map_err(|e| e.to_string())
}

/// Bytes that are not an MP4, for the `CorruptMedia` outcome.
/// A finished job's video as a fake serves it: the clip of `spec`, or bytes that are no MP4
/// when the job's scripted outcome is [`Outcome::CorruptMedia`]; a clip that cannot be
/// rendered is a 500.
pub(crate) async fn job_video(outcome: &Outcome, spec: ClipSpec) -> Result<Bytes, Refusal> {
    if *outcome == Outcome::CorruptMedia {
        return Ok(corrupt());
    }
    clip(spec).await.map_err(|e| Refusal::protocol(axum::http::StatusCode::INTERNAL_SERVER_ERROR, e))
}

pub fn corrupt() -> Bytes {
    Bytes::from_static(b"<html>this is not an MP4: the CorruptMedia outcome of vidgate-fakes</html>\n")
}

/// Image formats of [`still`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StillFormat {
    /// `image/png`.
    Png,
    /// `image/jpeg`.
    Jpeg,
    /// `image/webp` (lossless).
    WebP,
}

/// A flat grey still of `width`x`height` (thumbnails, sprite sheets, test reference images).
pub fn still(width: u32, height: u32, format: StillFormat) -> Result<Bytes, String> {
    let img = image::RgbImage::from_pixel(width.max(1), height.max(1), image::Rgb([90, 90, 90]));
    let format = match format {
        StillFormat::Png => image::ImageFormat::Png,
        StillFormat::Jpeg => image::ImageFormat::Jpeg,
        StillFormat::WebP => image::ImageFormat::WebP,
    };
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(img).write_to(&mut out, format).map_err(|e| e.to_string())?;
    Ok(Bytes::from(out.into_inner()))
}
