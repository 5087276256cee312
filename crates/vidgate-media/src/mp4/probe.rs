//! [`probe`]: what is inside an MP4, from its sample tables alone.
//!
//! Owns turning a demuxed [`Movie`] into a [`MediaInfo`]. It must not read sample payloads, so
//! probing a large file costs a few header reads.

use std::path::Path;

use shiguredo_mp4::TrackKind;

use super::demux::{Movie, Track};
use crate::info::{audio_codec, audio_format, codec_string, video_codec, video_size};
use crate::{AudioTrack, MediaError, MediaInfo, VideoTrack};

/// Describes an MP4: plain, moov-at-end or fragmented; H.264, HEVC, AV1, VP9; AAC or Opus.
pub fn probe(path: &Path) -> Result<MediaInfo, MediaError> {
    Ok(describe(&Movie::open(path)?))
}

/// The [`MediaInfo`] of an already-demuxed file.
pub(crate) fn describe(movie: &Movie) -> MediaInfo {
    let video = usable(movie, TrackKind::Video).map(video_track);
    let audio = usable(movie, TrackKind::Audio).map(audio_track);
    let duration_ms = [video.as_ref().map(|v| v.duration_ms), audio.as_ref().map(|a| a.duration_ms)]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(0);
    MediaInfo {
        duration_ms,
        video,
        audio,
        fragmented: movie.fragmented,
        faststart: movie.layout.faststart(),
        bytes: movie.source.len(),
    }
}

/// The first track of a kind that has samples (an empty track describes nothing).
fn usable(movie: &Movie, kind: TrackKind) -> Option<&Track> {
    movie.tracks.iter().find(|t| t.kind == kind && !t.samples.is_empty() && !t.entries.is_empty())
}

fn video_track(track: &Track) -> VideoTrack {
    let entry = &track.entries[0];
    let (width, height) = video_size(entry);
    let frames = track.samples.len() as u64;
    let media = track.media_duration();
    let fps = if media == 0 { 0.0 } else { frames as f64 * f64::from(track.timescale.get()) / media as f64 };
    VideoTrack {
        codec: codec_string(entry),
        kind: video_codec(entry),
        width,
        height,
        fps,
        frames,
        duration_ms: track.ticks_to_ms(track.presented_duration()),
    }
}

fn audio_track(track: &Track) -> AudioTrack {
    let entry = &track.entries[0];
    let (sample_rate, channels) = audio_format(entry, track.timescale.get());
    AudioTrack {
        codec: codec_string(entry),
        kind: audio_codec(entry),
        sample_rate,
        channels,
        duration_ms: track.ticks_to_ms(track.presented_duration()),
    }
}
