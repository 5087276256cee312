//! [`validate`]: is an upstream result the video that was ordered?
//!
//! Owns the acceptance rules (an MP4, complete, with video of the ordered size and at least the
//! ordered length, not too large) and their human-readable reasons. It must not fix anything.

use std::path::Path;

use crate::mp4::probe::probe;
use crate::{MediaError, MediaInfo};

/// What a delivered file must satisfy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expectation {
    /// Exact coded width of the video track.
    pub width: u32,
    /// Exact coded height of the video track.
    pub height: u32,
    /// The video track must last at least this long.
    pub min_video_ms: u64,
    /// The file must not be larger than this (use `u64::MAX` for no limit).
    pub max_bytes: u64,
}

/// Probes `path` and checks it against `exp`. Every failure to meet it is `Invalid(reason)`;
/// only I/O errors (e.g. a missing file) keep their own variant.
pub fn validate(path: &Path, exp: &Expectation) -> Result<MediaInfo, MediaError> {
    let info = match probe(path) {
        Ok(info) => info,
        Err(MediaError::Io(e)) => return Err(MediaError::Io(e)),
        Err(e) => return Err(MediaError::Invalid(e.to_string())),
    };
    check(&info, exp).map_err(MediaError::Invalid)?;
    Ok(info)
}

/// The first rule `info` breaks, as a reason.
fn check(info: &MediaInfo, exp: &Expectation) -> Result<(), String> {
    let video = info.video.as_ref().ok_or("the file has no video track")?;
    if (video.width, video.height) != (exp.width, exp.height) {
        return Err(format!("video is {}x{}, expected {}x{}", video.width, video.height, exp.width, exp.height));
    }
    if video.duration_ms < exp.min_video_ms {
        return Err(format!("video lasts {} ms, expected at least {} ms", video.duration_ms, exp.min_video_ms));
    }
    if info.bytes > exp.max_bytes {
        return Err(format!("file is {} bytes, the limit is {}", info.bytes, exp.max_bytes));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{VideoCodec, VideoTrack};

    fn info(width: u32, height: u32, ms: u64, bytes: u64) -> MediaInfo {
        MediaInfo {
            duration_ms: ms,
            video: Some(VideoTrack {
                codec: "avc1.42c01f".into(),
                kind: VideoCodec::H264,
                width,
                height,
                fps: 24.0,
                frames: ms * 24 / 1000,
                duration_ms: ms,
            }),
            audio: None,
            fragmented: false,
            faststart: true,
            bytes,
        }
    }

    const EXP: Expectation = Expectation { width: 1280, height: 720, min_video_ms: 5000, max_bytes: 1000 };

    #[test]
    fn a_file_meeting_every_rule_passes() {
        assert_eq!(check(&info(1280, 720, 5000, 1000), &EXP), Ok(()));
    }

    #[test]
    fn each_broken_rule_gives_its_own_reason() {
        assert_eq!(check(&info(720, 1280, 5000, 10), &EXP).unwrap_err(), "video is 720x1280, expected 1280x720");
        assert_eq!(
            check(&info(1280, 720, 4999, 10), &EXP).unwrap_err(),
            "video lasts 4999 ms, expected at least 5000 ms"
        );
        assert_eq!(check(&info(1280, 720, 5000, 1001), &EXP).unwrap_err(), "file is 1001 bytes, the limit is 1000");
        let mut audio_only = info(1280, 720, 5000, 10);
        audio_only.video = None;
        assert_eq!(check(&audio_only, &EXP).unwrap_err(), "the file has no video track");
    }
}
