//! Turns the encoded video frames and AAC access units into MP4 tracks and writes the file.
//!
//! Owns sandbox timing in the container: video at timescale 24000 (1000 ticks a frame, the last
//! frame stretched so the track lasts exactly the requested time), audio at 48000 with 1024
//! ticks per access unit. It must not encode.

use std::num::NonZeroU32;
use std::path::Path;

use shiguredo_mp4::TrackKind;
use shiguredo_mp4::boxes::SampleEntry;

use super::FPS;
use super::aac::{AacTrack, FRAME_SAMPLES};
use super::audio::SAMPLE_RATE;
use super::video::EncodedFrame;
use crate::MediaError;
use crate::mp4::mux::{OutSample, OutTrack, write_mp4};

const VIDEO_TIMESCALE: u32 = 24_000;
const TICKS_PER_FRAME: u64 = VIDEO_TIMESCALE as u64 / FPS;

/// A track ready to mux, with its sample payloads.
pub(crate) struct Encoded {
    pub(crate) track: OutTrack,
    pub(crate) payloads: Vec<Vec<u8>>,
}

/// The video track for a clip of `duration_ms`.
pub(crate) fn video_track(duration_ms: u64, entry: SampleEntry, frames: Vec<EncodedFrame>) -> Encoded {
    let durations = frame_durations(duration_ms, frames.len() as u64);
    let mut entry = Some(entry);
    let mut payloads = Vec::with_capacity(frames.len());
    let samples = frames
        .into_iter()
        .zip(durations)
        .enumerate()
        .map(|(i, (frame, duration))| {
            let sample = OutSample {
                entry: entry.take(),
                keyframe: frame.keyframe,
                dts: i as u64 * TICKS_PER_FRAME,
                duration,
                cto: None,
                size: frame.data.len(),
            };
            payloads.push(frame.data);
            sample
        })
        .collect();
    let track = OutTrack { kind: TrackKind::Video, timescale: timescale(VIDEO_TIMESCALE), edit: None, samples };
    Encoded { track, payloads }
}

/// Each frame lasts 1000 ticks except the last, which takes whatever remains of the clip.
pub(crate) fn frame_durations(duration_ms: u64, frames: u64) -> Vec<u32> {
    let total = duration_ms * u64::from(VIDEO_TIMESCALE) / 1000;
    (0..frames).map(|i| if i + 1 == frames { total - i * TICKS_PER_FRAME } else { TICKS_PER_FRAME } as u32).collect()
}

/// The audio track: one sample per AAC access unit.
pub(crate) fn audio_track(aac: AacTrack) -> Encoded {
    let mut entry = Some(aac.entry);
    let samples = aac
        .frames
        .iter()
        .enumerate()
        .map(|(i, f)| OutSample {
            entry: entry.take(),
            keyframe: true,
            dts: (i * FRAME_SAMPLES) as u64,
            duration: FRAME_SAMPLES as u32,
            cto: None,
            size: f.len(),
        })
        .collect();
    let track = OutTrack { kind: TrackKind::Audio, timescale: timescale(SAMPLE_RATE), edit: None, samples };
    Encoded { track, payloads: aac.frames }
}

fn timescale(value: u32) -> NonZeroU32 {
    NonZeroU32::new(value).expect("non-zero constant")
}

/// Writes the tracks as a faststart MP4; returns the file size.
pub(crate) fn mux(
    dst: &Path,
    video: Encoded,
    audio: Option<Encoded>,
    created: std::time::Duration,
) -> Result<u64, MediaError> {
    let parts: Vec<Encoded> = std::iter::once(video).chain(audio).collect();
    let tracks: Vec<OutTrack> = parts.iter().map(|p| p.track.clone()).collect();
    let mut payload = |t: usize, s: usize, buf: &mut Vec<u8>| {
        buf.extend_from_slice(&parts[t].payloads[s]);
        Ok(())
    };
    write_mp4(dst, &tracks, &mut payload, created)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_frame_durations_are_all_one_frame_long() {
        assert_eq!(frame_durations(250, 6), vec![1000; 6]);
    }

    #[test]
    fn the_last_frame_absorbs_a_partial_frame_so_the_total_is_exact() {
        let d = frame_durations(1010, 24);
        assert_eq!(d[23], 1240);
        assert_eq!(d.iter().map(|&x| u64::from(x)).sum::<u64>(), 24_240);
    }
}
