//! Turning an upstream's raw MP4 into what a client gets: validated, trimmed to the
//! requested length without re-encoding, its audio stripped (audio off) or extracted into
//! its own `.m4a` (audio on), a poster and a spritesheet for H.264, and the billed length.
//! Runs on the media pool (CPU work, blocking I/O).

use std::path::{Path, PathBuf};

use vidgate_domain::billing;
use vidgate_media::{Expectation, MediaError, MediaInfo, VideoCodec};
use vidgate_store::{StoredFile, Task, TaskResult};

/// The shortest video accepted at all, ms. A shorter-than-requested but longer delivery is
/// accepted and billed by its delivered length (docs/api.md §7).
pub const MIN_VIDEO_MS: u64 = 1000;
/// Spritesheet grid: columns × rows of tiles this wide.
pub const SPRITE_COLUMNS: u32 = 4;
pub const SPRITE_ROWS: u32 = 3;
pub const SPRITE_TILE_WIDTH: u32 = 240;

/// Files ready to publish, and the result to record.
pub struct Delivered {
    pub files: Vec<(PathBuf, &'static str)>,
    pub result: TaskResult,
}

/// Why a result was refused (the task fails with `invalid_result`, unbilled).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct InvalidResult(pub String);

impl From<MediaError> for InvalidResult {
    fn from(e: MediaError) -> Self {
        InvalidResult(e.to_string())
    }
}

/// Processes `raw` inside `scratch` for `task`.
pub fn process(raw: &Path, scratch: &Path, task: &Task, max_bytes: u64) -> Result<Delivered, InvalidResult> {
    let p = &task.params;
    let exp = Expectation { width: p.size.width, height: p.size.height, min_video_ms: MIN_VIDEO_MS, max_bytes };
    vidgate_media::validate(raw, &exp)?;
    let requested_ms = u64::from(p.duration_seconds) * 1000;
    let trimmed = scratch.join("trimmed.mp4");
    let info = vidgate_media::trim(raw, &trimmed, requested_ms)?;
    let video_path = scratch.join("video.mp4");
    let info = if !p.audio && info.audio.is_some() {
        vidgate_media::strip_audio(&trimmed, &video_path)?
    } else {
        std::fs::rename(&trimmed, &video_path).map_err(|e| InvalidResult(e.to_string()))?;
        info
    };
    let video = info.video.clone().ok_or_else(|| InvalidResult("the result has no video track".into()))?;
    let mut files = vec![(video_path.clone(), "video.mp4")];
    let audio = if p.audio && info.audio.is_some() {
        let path = scratch.join("audio.m4a");
        let a = vidgate_media::extract_audio(&video_path, &path)?;
        files.push((path, "audio.m4a"));
        Some(stored("audio.m4a", "audio/mp4", &a, false))
    } else {
        None
    };
    let (thumbnail, spritesheet) = if video.kind == VideoCodec::H264 {
        let thumb = scratch.join("thumbnail.png");
        let (w, h) = vidgate_media::poster(&video_path, &thumb, (video.duration_ms / 2).min(1000))?;
        let sheet = scratch.join("spritesheet.png");
        let (sw, sh) = vidgate_media::spritesheet(&video_path, &sheet, SPRITE_COLUMNS, SPRITE_ROWS, SPRITE_TILE_WIDTH)?;
        let t = image_file("thumbnail.png", &thumb, w, h)?;
        let s = image_file("spritesheet.png", &sheet, sw, sh)?;
        files.push((thumb, "thumbnail.png"));
        files.push((sheet, "spritesheet.png"));
        (Some(t), Some(s))
    } else {
        (None, None)
    };
    let billed_ms = billing::billed_ms(p.duration_seconds, video.duration_ms, video.fps);
    let result =
        TaskResult { video: stored("video.mp4", "video/mp4", &info, true), audio, thumbnail, spritesheet, billed_ms };
    Ok(Delivered { files, result })
}

/// Whether two files hold the same bytes (a second download that changed nothing).
pub fn same_bytes(a: &Path, b: &Path) -> bool {
    use std::io::Read as _;
    let (Ok(fa), Ok(fb)) = (std::fs::File::open(a), std::fs::File::open(b)) else {
        return false;
    };
    if fa.metadata().map(|m| m.len()).ok() != fb.metadata().map(|m| m.len()).ok() {
        return false;
    }
    let (mut ra, mut rb) = (std::io::BufReader::new(fa), std::io::BufReader::new(fb));
    let (mut ba, mut bb) = (vec![0u8; 64 * 1024], vec![0u8; 64 * 1024]);
    loop {
        let n = match ra.read(&mut ba) {
            Ok(0) => return rb.read(&mut bb).is_ok_and(|m| m == 0),
            Ok(n) => n,
            Err(_) => return false,
        };
        if rb.read_exact(&mut bb[..n]).is_err() || ba[..n] != bb[..n] {
            return false;
        }
    }
}

fn stored(name: &str, mime: &str, info: &MediaInfo, is_video: bool) -> StoredFile {
    let (duration_ms, width, height) = match (&info.video, &info.audio, is_video) {
        (Some(v), _, true) => (v.duration_ms, Some(v.width), Some(v.height)),
        (_, Some(a), false) => (a.duration_ms, None, None),
        _ => (info.duration_ms, None, None),
    };
    StoredFile {
        name: name.into(),
        mime: mime.into(),
        bytes: info.bytes,
        duration_ms: Some(duration_ms),
        width,
        height,
    }
}

fn image_file(name: &str, path: &Path, width: u32, height: u32) -> Result<StoredFile, InvalidResult> {
    let bytes = std::fs::metadata(path).map_err(|e| InvalidResult(e.to_string()))?.len();
    Ok(StoredFile {
        name: name.into(),
        mime: "image/png".into(),
        bytes,
        duration_ms: None,
        width: Some(width),
        height: Some(height),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_bytes_compares_whole_contents() {
        let dir = std::env::temp_dir().join(format!("vidgate-deliver-{}", ulid::Ulid::new()));
        std::fs::create_dir_all(&dir).unwrap();
        let big: Vec<u8> = (0..200_000u32).map(|i| (i % 253) as u8).collect();
        let mut other = big.clone();
        other[150_000] ^= 1;
        let write = |name: &str, bytes: &[u8]| {
            let p = dir.join(name);
            std::fs::write(&p, bytes).unwrap();
            p
        };
        let (a, b, c, d) = (write("a", &big), write("b", &big), write("c", &other), write("d", &big[..1000]));
        assert!(same_bytes(&a, &b));
        assert!(!same_bytes(&a, &c), "one byte differs");
        assert!(!same_bytes(&a, &d), "a prefix is not the same");
        assert!(!same_bytes(&a, &dir.join("missing")));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
