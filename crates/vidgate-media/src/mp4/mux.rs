//! Writes a faststart MP4 (moov before mdat) from already-encoded samples, with edit lists.
//!
//! Owns the `shiguredo_mp4` muxer workflow: a dry run to size the `moov`, interleaving the
//! tracks by decode time, writing payloads, and patching edit lists into the finished `moov`
//! (the muxer itself writes none). It must not encode or decode anything: payloads come from a
//! caller-supplied function, so remuxing and the sandbox renderer share this file.

use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::num::NonZeroU32;
use std::path::Path;
use std::time::Duration;

use shiguredo_mp4::boxes::{EdtsBox, ElstBox, ElstEntry, MoovBox, SampleEntry};
use shiguredo_mp4::mux::{FinalizedBoxes, Mp4FileMuxer, Mp4FileMuxerOptions, Sample};
use shiguredo_mp4::{BoxHeader, Encode, FixedPointNumber, TrackKind};

use super::demux::Edit;
use crate::MediaError;

/// A track to write.
#[derive(Debug, Clone)]
pub(crate) struct OutTrack {
    pub(crate) kind: TrackKind,
    pub(crate) timescale: NonZeroU32,
    /// Presentation window to record as an edit list (timescale units, duration required).
    pub(crate) edit: Option<Edit>,
    pub(crate) samples: Vec<OutSample>,
}

/// One sample to write; `entry` is set on the first sample and whenever the codec config changes.
#[derive(Debug, Clone)]
pub(crate) struct OutSample {
    pub(crate) entry: Option<SampleEntry>,
    pub(crate) keyframe: bool,
    pub(crate) dts: u64,
    pub(crate) duration: u32,
    pub(crate) cto: Option<i64>,
    pub(crate) size: usize,
}

/// Fills the buffer with the payload of sample `.1` of track `.0`.
pub(crate) type Payload<'a> = dyn FnMut(usize, usize, &mut Vec<u8>) -> Result<(), MediaError> + 'a;

/// Room left in the head region for edit lists and for offsets growing past 4 GiB.
const SLACK_BYTES: usize = 256;
const EDIT_BYTES_PER_TRACK: usize = 64;

/// Writes `tracks` to `dst` as a faststart MP4 and returns the file size; `created` (time
/// since the Unix epoch, from the caller: nothing here reads a clock) is the movie's
/// creation time. On failure the partly written file is removed.
pub(crate) fn write_mp4(
    dst: &Path,
    tracks: &[OutTrack],
    payload: &mut Payload<'_>,
    created: Duration,
) -> Result<u64, MediaError> {
    if tracks.iter().all(|t| t.samples.is_empty()) {
        return Err(MediaError::Invalid("nothing to write: no samples".into()));
    }
    let order = interleave(tracks);
    let reserve = dry_run_moov_size(tracks, &order, created)? + SLACK_BYTES + EDIT_BYTES_PER_TRACK * tracks.len();
    let out = BufWriter::new(File::create(dst)?);
    let written = write_file(out, tracks, &order, reserve, payload, created);
    if written.is_err() {
        let _ = std::fs::remove_file(dst);
    }
    written
}

fn write_file(
    mut out: BufWriter<File>,
    tracks: &[OutTrack],
    order: &[(usize, usize)],
    reserve: usize,
    payload: &mut Payload<'_>,
    created: Duration,
) -> Result<u64, MediaError> {
    let options =
        Mp4FileMuxerOptions { reserved_moov_box_size: reserve, creation_timestamp: created, ..Default::default() };
    let mut muxer = Mp4FileMuxer::with_options(options).map_err(mux_err)?;
    out.write_all(muxer.initial_boxes_bytes())?;
    let mut position = muxer.initial_boxes_bytes().len() as u64;
    let mut buf = Vec::new();
    for &(t, s) in order {
        buf.clear();
        payload(t, s, &mut buf)?;
        out.write_all(&buf)?;
        muxer.append_sample(&mux_sample(&tracks[t], s, position, buf.len())).map_err(mux_err)?;
        position += buf.len() as u64;
    }
    let finalized = muxer.finalize().map_err(mux_err)?;
    write_finalized(&mut out, finalized, tracks)?;
    out.flush()?;
    Ok(out.get_ref().metadata()?.len())
}

/// Sample order for writing: by decode time across tracks, video first on ties.
pub(crate) fn interleave(tracks: &[OutTrack]) -> Vec<(usize, usize)> {
    let mut order: Vec<(usize, usize)> =
        tracks.iter().enumerate().flat_map(|(t, track)| (0..track.samples.len()).map(move |s| (t, s))).collect();
    order.sort_by(|&(ta, sa), &(tb, sb)| {
        let (a, b) = (&tracks[ta], &tracks[tb]);
        let lhs = u128::from(a.samples[sa].dts) * u128::from(b.timescale.get());
        let rhs = u128::from(b.samples[sb].dts) * u128::from(a.timescale.get());
        lhs.cmp(&rhs).then(kind_rank(a.kind).cmp(&kind_rank(b.kind))).then(ta.cmp(&tb))
    });
    order
}

fn kind_rank(kind: TrackKind) -> u8 {
    match kind {
        TrackKind::Video => 0,
        TrackKind::Audio => 1,
        TrackKind::Subtitle => 2,
    }
}

fn mux_sample(track: &OutTrack, index: usize, offset: u64, size: usize) -> Sample {
    let s = &track.samples[index];
    Sample {
        track_kind: track.kind,
        sample_entry: s.entry.clone(),
        keyframe: s.keyframe,
        timescale: track.timescale,
        duration: s.duration,
        composition_time_offset: s.cto,
        data_offset: offset,
        data_size: size,
    }
}

/// Runs the muxer on metadata only to learn how big the final `moov` will be.
fn dry_run_moov_size(tracks: &[OutTrack], order: &[(usize, usize)], created: Duration) -> Result<usize, MediaError> {
    let options = Mp4FileMuxerOptions { creation_timestamp: created, ..Default::default() };
    let mut muxer = Mp4FileMuxer::with_options(options).map_err(mux_err)?;
    let mut position = muxer.initial_boxes_bytes().len() as u64;
    for &(t, s) in order {
        let size = tracks[t].samples[s].size;
        muxer.append_sample(&mux_sample(&tracks[t], s, position, size)).map_err(mux_err)?;
        position += size as u64;
    }
    Ok(muxer.finalize().map_err(mux_err)?.moov_box_size())
}

/// Writes the head region (ftyp, moov with edit lists, free) and the mdat header.
fn write_finalized(
    out: &mut BufWriter<File>,
    finalized: &FinalizedBoxes,
    tracks: &[OutTrack],
) -> Result<(), MediaError> {
    if !finalized.is_faststart_enabled() {
        return Err(MediaError::Encode("the moov box did not fit in its reserved space".into()));
    }
    let mut pairs = finalized.offset_and_bytes_pairs();
    let (_, head) = pairs.next().expect("the muxer always returns the head boxes first");
    let head = if tracks.iter().any(|t| t.edit.is_some()) {
        with_edits(head, finalized.moov_box(), tracks)?
    } else {
        head.to_vec()
    };
    out.seek(SeekFrom::Start(0))?;
    out.write_all(&head)?;
    for (offset, bytes) in pairs {
        out.seek(SeekFrom::Start(offset))?;
        out.write_all(bytes)?;
    }
    Ok(())
}

/// Rebuilds the head region with `edts` boxes added; its length does not change.
fn with_edits(head: &[u8], moov: &MoovBox, tracks: &[OutTrack]) -> Result<Vec<u8>, MediaError> {
    let ftyp_len = u32::from_be_bytes(head[0..4].try_into().expect("4 bytes")) as usize;
    let moov = add_edits(moov.clone(), tracks);
    let moov_bytes = moov.encode_to_vec().map_err(|e| MediaError::encode("moov", e))?;
    let used = ftyp_len + moov_bytes.len();
    let free = head.len().checked_sub(used).filter(|&n| n == 0 || n >= BoxHeader::MIN_SIZE);
    let free = free.ok_or_else(|| MediaError::Encode("edit lists did not fit".into()))?;
    let mut bytes = head[..ftyp_len].to_vec();
    bytes.extend_from_slice(&moov_bytes);
    if free > 0 {
        bytes.extend_from_slice(&(free as u32).to_be_bytes());
        bytes.extend_from_slice(b"free");
        bytes.resize(head.len(), 0);
    }
    Ok(bytes)
}

/// Sets each track's edit list and the track and movie durations that follow from it.
fn add_edits(mut moov: MoovBox, tracks: &[OutTrack]) -> MoovBox {
    let movie_ts = u128::from(moov.mvhd_box.timescale.get());
    let mut movie_duration = 0;
    for trak in &mut moov.trak_boxes {
        let kind = match &trak.mdia_box.hdlr_box.handler_type {
            b"vide" => TrackKind::Video,
            b"soun" => TrackKind::Audio,
            _ => TrackKind::Subtitle,
        };
        let track = tracks.iter().find(|t| t.kind == kind);
        if let Some((track, edit)) = track.and_then(|t| t.edit.map(|e| (t, e))) {
            let media = u128::from(edit.duration.unwrap_or_else(|| media_end(track)));
            let duration = (media * movie_ts / u128::from(track.timescale.get())) as u64;
            trak.tkhd_box.duration = duration;
            trak.edts_box = Some(edts(duration, edit.media_time));
        }
        movie_duration = movie_duration.max(trak.tkhd_box.duration);
    }
    moov.mvhd_box.duration = movie_duration;
    moov
}

fn media_end(track: &OutTrack) -> u64 {
    track.samples.last().map_or(0, |s| s.dts + u64::from(s.duration))
}

fn edts(duration: u64, media_time: u64) -> EdtsBox {
    let entry =
        ElstEntry { edit_duration: duration, media_time: media_time as i64, media_rate: FixedPointNumber::new(1, 0) };
    EdtsBox { elst_box: Some(ElstBox { entries: vec![entry] }), unknown_boxes: Vec::new() }
}

fn mux_err(e: shiguredo_mp4::mux::MuxError) -> MediaError {
    MediaError::encode("mp4 mux", e)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn track(kind: TrackKind, timescale: u32, step: u64, count: u64) -> OutTrack {
        let samples = (0..count)
            .map(|i| OutSample {
                entry: None,
                keyframe: true,
                dts: i * step,
                duration: step as u32,
                cto: None,
                size: 1,
            })
            .collect();
        OutTrack { kind, timescale: NonZeroU32::new(timescale).unwrap(), edit: None, samples }
    }

    #[test]
    fn interleaving_orders_samples_by_decode_time_across_timescales() {
        // Video: 24 fps at 24000; audio: 1024-sample frames at 48000 (21.3 ms each).
        let tracks = [track(TrackKind::Video, 24000, 1000, 2), track(TrackKind::Audio, 48000, 1024, 3)];
        let order = interleave(&tracks);
        assert_eq!(order, vec![(0, 0), (1, 0), (1, 1), (0, 1), (1, 2)]);
    }

    #[test]
    fn an_edit_list_entry_carries_duration_and_media_time() {
        let e = edts(5000, 1024);
        let entry = &e.elst_box.unwrap().entries[0];
        assert_eq!((entry.edit_duration, entry.media_time), (5000, 1024));
    }
}
