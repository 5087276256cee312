//! Stream-copy operations: [`extract_audio`], [`strip_audio`] and [`trim`].
//!
//! Owns choosing which samples of which tracks to keep and with what edit list. Sample bytes
//! are copied unchanged with the source's own sample entries: nothing here re-encodes, and
//! every output is a faststart MP4 written by [`super::mux`].

use std::path::Path;

use shiguredo_mp4::TrackKind;

use super::demux::{Edit, Movie, Track};
use super::mux::{OutSample, OutTrack, write_mp4};
use super::probe::probe;
use crate::{MediaError, MediaInfo};

/// Writes the audio track alone (same codec config, no re-encode) as a faststart `.m4a`.
pub fn extract_audio(src: &Path, dst: &Path) -> Result<MediaInfo, MediaError> {
    ensure_distinct(src, dst)?;
    let movie = Movie::open(src)?;
    let audio = movie.track(TrackKind::Audio).filter(|t| !t.samples.is_empty());
    let audio = audio.ok_or(MediaError::NoAudio)?;
    write_tracks(&movie, &[(audio, whole(audio))], dst)
}

/// Writes the same MP4 without its audio track (no re-encode), faststart.
pub fn strip_audio(src: &Path, dst: &Path) -> Result<MediaInfo, MediaError> {
    ensure_distinct(src, dst)?;
    let movie = Movie::open(src)?;
    let video = movie.track(TrackKind::Video).filter(|t| !t.samples.is_empty());
    let video = video.ok_or(MediaError::NoVideo)?;
    write_tracks(&movie, &[(video, whole(video))], dst)
}

/// Cuts the tail so the file lasts exactly `duration_ms` (video to within one frame), without
/// re-encoding. A file that is already no longer than that is copied unchanged.
pub fn trim(src: &Path, dst: &Path, duration_ms: u64) -> Result<MediaInfo, MediaError> {
    if duration_ms == 0 {
        return Err(MediaError::Invalid("cannot trim to zero length".into()));
    }
    ensure_distinct(src, dst)?;
    let movie = Movie::open(src)?;
    if super::probe::describe(&movie).duration_ms <= duration_ms {
        std::fs::copy(src, dst)?;
        return probe(dst);
    }
    let mut selection = Vec::new();
    for kind in [TrackKind::Video, TrackKind::Audio] {
        if let Some(track) = movie.track(kind).filter(|t| !t.samples.is_empty()) {
            selection.push((track, cut(track, duration_ms)));
        }
    }
    write_tracks(&movie, &selection, dst)
}

/// Writing over the input would truncate it before it is read.
fn ensure_distinct(src: &Path, dst: &Path) -> Result<(), MediaError> {
    let same = match (std::fs::canonicalize(src), std::fs::canonicalize(dst)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if same {
        return Err(MediaError::Invalid(format!("the output {} is the input file", dst.display())));
    }
    Ok(())
}

/// Which samples of a track to keep (a decode-order prefix) and the edit list to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Keep {
    count: usize,
    edit: Option<Edit>,
}

/// Keeps every sample and the source's presentation window.
fn whole(track: &Track) -> Keep {
    let edit = track.edit.map(|e| Edit { media_time: e.media_time, duration: Some(track.presented_duration()) });
    Keep { count: track.samples.len(), edit }
}

/// Keeps the shortest decode-order prefix that holds every sample presented before the cut,
/// and an edit list that ends presentation exactly at the cut.
fn cut(track: &Track, duration_ms: u64) -> Keep {
    let start = track.edit.map_or(0, |e| e.media_time);
    // A track shorter than the cut (audio slightly shorter than video, say) keeps its own end.
    let length = track.ms_to_ticks(duration_ms).min(track.presented_duration());
    let end = (start + length) as i64;
    let last_needed = track.samples.iter().rposition(|s| s.pts() < end);
    let count = last_needed.map_or(1, |i| i + 1);
    Keep { count, edit: Some(Edit { media_time: start, duration: Some(length) }) }
}

fn write_tracks(movie: &Movie, keep: &[(&Track, Keep)], dst: &Path) -> Result<MediaInfo, MediaError> {
    let tracks: Vec<OutTrack> = keep.iter().map(|(t, k)| out_track(t, *k)).collect();
    let mut payload = |t: usize, s: usize, buf: &mut Vec<u8>| {
        let sample = &keep[t].0.samples[s];
        buf.resize(sample.size as usize, 0);
        movie.source.read_exact_at(buf, sample.offset)
    };
    // The copy keeps the source's creation time.
    write_mp4(dst, &tracks, &mut payload, movie.created)?;
    probe(dst)
}

fn out_track(track: &Track, keep: Keep) -> OutTrack {
    let first_dts = track.samples.first().map_or(0, |s| s.dts);
    let mut previous_entry = None;
    let samples = track.samples[..keep.count]
        .iter()
        .map(|s| {
            let changed = previous_entry != Some(s.entry);
            previous_entry = Some(s.entry);
            OutSample {
                entry: changed.then(|| track.entry_of(s).clone()),
                keyframe: s.keyframe,
                dts: s.dts - first_dts,
                duration: s.duration,
                cto: s.cto,
                size: s.size as usize,
            }
        })
        .collect();
    OutTrack { kind: track.kind, timescale: track.timescale, edit: keep.edit, samples }
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU32;

    use super::*;
    use crate::mp4::demux::SampleRef;

    /// A 24 fps track at timescale 24 whose samples have the given (decode order) PTS values.
    fn track_with_pts(pts: &[i64], edit: Option<Edit>) -> Track {
        let samples = pts
            .iter()
            .enumerate()
            .map(|(i, &p)| SampleRef {
                offset: 0,
                size: 1,
                dts: i as u64,
                duration: 1,
                cto: Some(p - i as i64),
                keyframe: i == 0,
                entry: 0,
            })
            .collect();
        Track {
            id: 1,
            kind: TrackKind::Video,
            timescale: NonZeroU32::new(24).unwrap(),
            entries: Vec::new(),
            samples,
            edit,
        }
    }

    #[test]
    fn cutting_a_stream_without_reordering_keeps_the_frames_before_the_cut() {
        let t = track_with_pts(&[0, 1, 2, 3, 4, 5, 6, 7], None);
        // 250 ms at 24 fps is 6 frame periods: frames 0..=5.
        let keep = cut(&t, 250);
        assert_eq!(keep.count, 6);
        assert_eq!(keep.edit, Some(Edit { media_time: 0, duration: Some(6) }));
    }

    #[test]
    fn cutting_a_b_frame_stream_keeps_the_reference_frames_later_b_frames_need() {
        // Decode order I0 P4 B1 B2 B3 P8 B5 B6 B7, shifted by a 2-frame edit (media_time 2).
        let t = track_with_pts(&[2, 6, 3, 4, 5, 10, 7, 8, 9], Some(Edit { media_time: 2, duration: Some(9) }));
        // Show frames 0..=4 (pts 2..=6): P8 (pts 10) is not needed, B5 (pts 7) is not either.
        let keep = cut(&t, 209);
        assert_eq!(keep.count, 5);
        // Show frames 0..=5: B5 (decode index 6) needs P8 (decode index 5) too.
        let keep = cut(&t, 250);
        assert_eq!(keep.count, 7);
        assert_eq!(keep.edit, Some(Edit { media_time: 2, duration: Some(6) }));
    }

    #[test]
    fn keeping_a_whole_track_normalises_an_open_edit_to_its_presented_duration() {
        let t = track_with_pts(&[0, 1, 2, 3], Some(Edit { media_time: 1, duration: None }));
        assert_eq!(whole(&t), Keep { count: 4, edit: Some(Edit { media_time: 1, duration: Some(3) }) });
    }
}
