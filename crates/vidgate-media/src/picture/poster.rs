//! [`poster`] and [`spritesheet`]: PNG stills of an H.264 MP4, decoded in-process.
//!
//! Owns choosing frames: the keyframe at or before a time for posters, and for sprite sheets one
//! frame per tile, evenly spread. Streams with B-frames (frames presented out of decode order)
//! are decoded keyframes-only because openh264 cannot decode B-slices.

use std::path::Path;

use shiguredo_mp4::TrackKind;

use super::decode::{AvcDecoder, ensure_h264};
use super::rgb::RgbImage;
use crate::MediaError;
use crate::mp4::demux::{Movie, Track};

/// Largest sprite sheet side, to keep memory bounded.
const MAX_SHEET_SIDE: u64 = 16_384;

/// Decodes the keyframe at or before `at_ms` of an H.264 MP4 into a PNG; returns its size.
pub fn poster(src: &Path, dst_png: &Path, at_ms: u64) -> Result<(u32, u32), MediaError> {
    let movie = Movie::open(src)?;
    let track = video(&movie)?;
    ensure_h264(track)?;
    let index = keyframe_at_or_before(track, target_pts(track, at_ms));
    let picture = AvcDecoder::new(&movie, track)?.decode(index, true)?.expect("asked for a picture");
    picture.write_png(dst_png)?;
    Ok((picture.width, picture.height))
}

/// Writes a `columns` x `rows` grid of frames spread evenly over an H.264 MP4, each scaled to
/// `tile_width` (height keeps the aspect ratio); returns the sheet's size.
pub fn spritesheet(
    src: &Path,
    dst_png: &Path,
    columns: u32,
    rows: u32,
    tile_width: u32,
) -> Result<(u32, u32), MediaError> {
    let movie = Movie::open(src)?;
    let track = video(&movie)?;
    ensure_h264(track)?;
    let (w, h) = crate::info::video_size(&track.entries[0]);
    let tile_height = tile_height(w, h, tile_width)?;
    check_grid(columns, rows, tile_width, tile_height)?;
    let frames = plan(track, columns * rows);
    let pictures = decode_frames(&movie, track, &frames)?;
    let mut sheet = RgbImage::new(columns * tile_width, rows * tile_height);
    for (i, picture) in pictures.iter().enumerate() {
        let tile = picture.resize(tile_width, tile_height);
        let (col, row) = (i as u32 % columns, i as u32 / columns);
        sheet.paste(&tile, col * tile_width, row * tile_height);
    }
    sheet.write_png(dst_png)?;
    Ok((sheet.width, sheet.height))
}

fn video(movie: &Movie) -> Result<&Track, MediaError> {
    movie.track(TrackKind::Video).filter(|t| !t.samples.is_empty()).ok_or(MediaError::NoVideo)
}

fn tile_height(width: u32, height: u32, tile_width: u32) -> Result<u32, MediaError> {
    if width == 0 || height == 0 {
        return Err(MediaError::Corrupt("the video track has no size".into()));
    }
    let th = (u64::from(tile_width) * u64::from(height) + u64::from(width) / 2) / u64::from(width);
    Ok(th.max(1) as u32)
}

fn check_grid(columns: u32, rows: u32, tile_width: u32, tile_height: u32) -> Result<(), MediaError> {
    let (sw, sh) = (u64::from(columns) * u64::from(tile_width), u64::from(rows) * u64::from(tile_height));
    if columns == 0 || rows == 0 || tile_width == 0 || sw > MAX_SHEET_SIDE || sh > MAX_SHEET_SIDE {
        return Err(MediaError::Invalid(format!(
            "a {columns}x{rows} sheet of {tile_width}px tiles is empty or larger than {MAX_SHEET_SIDE}px"
        )));
    }
    Ok(())
}

/// `ms` after the start of presentation, as a PTS in the track's timescale.
fn target_pts(track: &Track, ms: u64) -> i64 {
    (track.edit.map_or(0, |e| e.media_time) + track.ms_to_ticks(ms)) as i64
}

/// The latest keyframe presented at or before `pts` (the first keyframe if none is).
fn keyframe_at_or_before(track: &Track, pts: i64) -> usize {
    let keyframes = track.samples.iter().enumerate().filter(|(_, s)| s.keyframe);
    let before = keyframes.clone().filter(|(_, s)| s.pts() <= pts).max_by_key(|(_, s)| s.pts());
    before.or_else(|| keyframes.min_by_key(|(_, s)| s.pts())).map_or(0, |(i, _)| i)
}

/// True when some frame is presented before one decoded ahead of it (B-frames).
fn reorders(track: &Track) -> bool {
    track.samples.windows(2).any(|w| w[1].pts() < w[0].pts())
}

/// One frame per tile: where decoding starts (a keyframe) and which frame to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pick {
    keyframe: usize,
    frame: usize,
}

fn plan(track: &Track, tiles: u32) -> Vec<Pick> {
    let start = track.edit.map_or(0, |e| e.media_time) as i64;
    let length = track.presented_duration() as i64;
    let keyframes_only = reorders(track);
    (0..i64::from(tiles))
        .map(|i| {
            let pts = start + length * (2 * i + 1) / (2 * i64::from(tiles));
            let keyframe = keyframe_at_or_before(track, pts);
            let frame = if keyframes_only { keyframe } else { frame_at_or_before(track, pts, keyframe) };
            Pick { keyframe, frame }
        })
        .collect()
}

/// Without reordering, decode order is presentation order: the last frame starting by `pts`.
fn frame_at_or_before(track: &Track, pts: i64, from: usize) -> usize {
    let later = track.samples[from..].iter().take_while(|s| s.pts() <= pts).count();
    from + later.saturating_sub(1)
}

/// Decodes the picked frames, continuing forward through a GOP instead of restarting.
fn decode_frames(movie: &Movie, track: &Track, picks: &[Pick]) -> Result<Vec<RgbImage>, MediaError> {
    let mut decoder = AvcDecoder::new(movie, track)?;
    let mut next = 0;
    let mut pictures: Vec<RgbImage> = Vec::with_capacity(picks.len());
    for pick in picks {
        if pick.frame + 1 == next {
            let same = pictures.last().cloned().expect("a frame was decoded before");
            pictures.push(same);
            continue;
        }
        if next <= pick.keyframe || next > pick.frame {
            next = pick.keyframe;
        }
        for index in next..pick.frame {
            decoder.decode(index, false)?;
        }
        pictures.push(decoder.decode(pick.frame, true)?.expect("asked for a picture"));
        next = pick.frame + 1;
    }
    Ok(pictures)
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU32;

    use super::*;
    use crate::mp4::demux::SampleRef;

    /// 12 frames at timescale 24 (24 fps), keyframes at 0 and 6, PTS as given.
    fn track(pts: &[i64]) -> Track {
        let samples = pts
            .iter()
            .enumerate()
            .map(|(i, &p)| SampleRef {
                offset: 0,
                size: 1,
                dts: i as u64,
                duration: 1,
                cto: Some(p - i as i64),
                keyframe: i % 6 == 0,
                entry: 0,
            })
            .collect();
        Track {
            id: 1,
            kind: TrackKind::Video,
            timescale: NonZeroU32::new(24).unwrap(),
            entries: Vec::new(),
            samples,
            edit: None,
        }
    }

    #[test]
    fn the_poster_frame_is_the_last_keyframe_not_after_the_time() {
        let t = track(&[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
        assert_eq!(keyframe_at_or_before(&t, 5), 0);
        assert_eq!(keyframe_at_or_before(&t, 6), 6);
        assert_eq!(keyframe_at_or_before(&t, 100), 6);
        assert_eq!(keyframe_at_or_before(&t, -3), 0);
    }

    #[test]
    fn tiles_pick_the_frame_at_the_middle_of_each_slice_of_the_clip() {
        let t = track(&[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
        let picks = plan(&t, 4);
        let frames: Vec<usize> = picks.iter().map(|p| p.frame).collect();
        assert_eq!(frames, vec![1, 4, 7, 10]);
        assert_eq!(picks[2], Pick { keyframe: 6, frame: 7 });
    }

    #[test]
    fn a_b_frame_stream_uses_keyframes_only() {
        let t = track(&[0, 3, 1, 2, 5, 4, 6, 9, 7, 8, 11, 10]);
        assert!(reorders(&t));
        let frames: Vec<usize> = plan(&t, 4).iter().map(|p| p.frame).collect();
        assert_eq!(frames, vec![0, 0, 6, 6]);
    }

    #[test]
    fn tile_height_keeps_the_aspect_ratio() {
        assert_eq!(tile_height(1920, 1080, 160).unwrap(), 90);
        assert_eq!(tile_height(720, 1280, 90).unwrap(), 160);
        assert_eq!(tile_height(1000, 1, 10).unwrap(), 1);
    }

    #[test]
    fn an_empty_or_huge_grid_is_invalid() {
        assert!(check_grid(0, 3, 160, 90).is_err());
        assert!(check_grid(200, 1, 160, 90).is_err());
        assert!(check_grid(4, 4, 160, 90).is_ok());
    }
}
