//! Reads an MP4 (plain, moov-at-end or fragmented) into an owned [`Movie`]: its tracks, their
//! sample entries, sample tables and edit lists.
//!
//! Owns decoding the `moov` and walking its sample tables (through `shiguredo_mp4`'s box types
//! and `SampleTableAccessor`), plus the check that every sample's bytes lie inside the file.
//! Fragments (`moof`) are walked by [`super::fragments`]. It must not read sample payloads:
//! callers copy or decode them through [`Source`] using the offsets recorded here.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::path::Path;

use shiguredo_mp4::aux::SampleTableAccessor;
use shiguredo_mp4::boxes::{HdlrBox, MoovBox, SampleEntry, TrakBox};
use shiguredo_mp4::{Decode, TrackKind};

use super::source::{Layout, Source};
use crate::MediaError;

/// An MP4 file's tracks plus how it is laid out.
pub(crate) struct Movie {
    pub(crate) source: Source,
    pub(crate) layout: Layout,
    pub(crate) fragmented: bool,
    pub(crate) tracks: Vec<Track>,
    /// The `mvhd` creation time, since the Unix epoch (zero when it is earlier or unset).
    pub(crate) created: std::time::Duration,
}

/// One track: its codec configuration(s), timing and sample table.
#[derive(Debug, Clone)]
pub(crate) struct Track {
    /// `tkhd` track ID, which fragments refer to.
    pub(crate) id: u32,
    pub(crate) kind: TrackKind,
    pub(crate) timescale: NonZeroU32,
    /// The track's sample entries (`stsd`); [`SampleRef::entry`] indexes into this.
    pub(crate) entries: Vec<SampleEntry>,
    pub(crate) samples: Vec<SampleRef>,
    pub(crate) edit: Option<Edit>,
}

/// Where one sample's bytes are and when it is decoded and shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SampleRef {
    pub(crate) offset: u64,
    pub(crate) size: u32,
    /// Decode timestamp in the track's timescale.
    pub(crate) dts: u64,
    pub(crate) duration: u32,
    /// Composition offset (PTS - DTS), when the file has one.
    pub(crate) cto: Option<i64>,
    pub(crate) keyframe: bool,
    pub(crate) entry: u16,
}

impl SampleRef {
    /// Presentation timestamp in the track's timescale.
    pub(crate) fn pts(&self) -> i64 {
        self.dts as i64 + self.cto.unwrap_or(0)
    }
}

/// The presentation window an edit list selects, in the track's timescale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Edit {
    /// Media time shown at presentation time zero (e.g. the B-frame delay or AAC priming).
    pub(crate) media_time: u64,
    /// How much media is shown; `None` when the file leaves it open (fragmented files).
    pub(crate) duration: Option<u64>,
}

impl Track {
    /// Sum of all sample durations, in the track's timescale.
    pub(crate) fn media_duration(&self) -> u64 {
        self.samples.last().map_or(0, |s| s.dts + u64::from(s.duration))
    }

    /// Duration a player presents, in the track's timescale.
    pub(crate) fn presented_duration(&self) -> u64 {
        match self.edit {
            Some(Edit { duration: Some(d), .. }) if d > 0 => d,
            Some(Edit { media_time, .. }) => self.media_duration().saturating_sub(media_time),
            None => self.media_duration(),
        }
    }

    /// Converts a timescale value to milliseconds (rounded to nearest).
    pub(crate) fn ticks_to_ms(&self, value: u64) -> u64 {
        let ts = u64::from(self.timescale.get());
        ((u128::from(value) * 1000 + u128::from(ts / 2)) / u128::from(ts)) as u64
    }

    /// Converts milliseconds to this track's timescale (rounded to nearest).
    pub(crate) fn ms_to_ticks(&self, ms: u64) -> u64 {
        let ts = u128::from(self.timescale.get());
        ((u128::from(ms) * ts + 500) / 1000) as u64
    }

    /// The sample entry a sample uses.
    pub(crate) fn entry_of(&self, sample: &SampleRef) -> &SampleEntry {
        &self.entries[usize::from(sample.entry)]
    }
}

/// Seconds from 1904-01-01 (the MP4 epoch) to 1970-01-01.
const MP4_EPOCH_TO_UNIX_SECS: u64 = 2_082_844_800;

impl Movie {
    /// Opens and demuxes `path`. Fails with `NotMp4`, or `Corrupt` for damaged or truncated files.
    pub(crate) fn open(path: &Path) -> Result<Self, MediaError> {
        let source = Source::open(path)?;
        let layout = Layout::scan(&source)?;
        let moov = read_moov(&source, &layout)?;
        let fragmented = moov.mvex_box.is_some();
        let mut tracks = moov_tracks(&moov)?;
        if fragmented {
            super::fragments::append(&source, &layout, &moov, &mut tracks)?;
        }
        attach_edits(&moov, &mut tracks);
        check_inside_file(&tracks, source.len())?;
        // MP4 times count seconds from 1904-01-01.
        let created = std::time::Duration::from_secs(
            moov.mvhd_box.creation_time.as_secs().saturating_sub(MP4_EPOCH_TO_UNIX_SECS),
        );
        Ok(Self { source, layout, fragmented, tracks, created })
    }

    /// The first track of a kind.
    pub(crate) fn track(&self, kind: TrackKind) -> Option<&Track> {
        self.tracks.iter().find(|t| t.kind == kind)
    }
}

fn read_moov(src: &Source, layout: &Layout) -> Result<MoovBox, MediaError> {
    let moov = layout.find(b"moov").ok_or_else(|| {
        MediaError::Corrupt(if layout.truncated {
            "truncated: the file ends inside a box and has no moov box".into()
        } else {
            "no moov box".into()
        })
    })?;
    let bytes = src.read_at(moov.offset, usize::try_from(moov.size).ok())?;
    if (bytes.len() as u64) < moov.size {
        return Err(MediaError::Corrupt("the moov box is cut off by the end of the file".into()));
    }
    MoovBox::decode(&bytes).map(|(b, _)| b).map_err(|e| MediaError::corrupt("moov", e))
}

/// The video and audio tracks of the `moov`, with the samples its own sample tables list
/// (none for a fragmented file written with an empty `moov`).
fn moov_tracks(moov: &MoovBox) -> Result<Vec<Track>, MediaError> {
    let mut tracks = Vec::new();
    for trak in &moov.trak_boxes {
        let kind = match trak.mdia_box.hdlr_box.handler_type {
            HdlrBox::HANDLER_TYPE_VIDE => TrackKind::Video,
            HdlrBox::HANDLER_TYPE_SOUN => TrackKind::Audio,
            _ => continue,
        };
        let stbl = &trak.mdia_box.minf_box.stbl_box;
        tracks.push(Track {
            id: trak.tkhd_box.track_id,
            kind,
            timescale: trak.mdia_box.mdhd_box.timescale,
            entries: stbl.stsd_box.entries.clone(),
            samples: table_samples(trak)?,
            edit: None,
        });
    }
    Ok(tracks)
}

fn table_samples(trak: &TrakBox) -> Result<Vec<SampleRef>, MediaError> {
    let stbl = &trak.mdia_box.minf_box.stbl_box;
    let table = SampleTableAccessor::new(stbl).map_err(|e| MediaError::corrupt("sample table", e))?;
    let audio = trak.mdia_box.hdlr_box.handler_type == HdlrBox::HANDLER_TYPE_SOUN;
    Ok(table
        .samples()
        .map(|s| SampleRef {
            offset: s.data_offset(),
            size: s.data_size(),
            dts: s.timestamp(),
            duration: s.duration(),
            cto: s.composition_time_offset(),
            keyframe: audio || s.is_sync_sample(),
            entry: s.chunk().sample_entry_index() as u16,
        })
        .collect())
}

/// Copies each track's first non-empty edit-list entry onto the demuxed track.
fn attach_edits(moov: &MoovBox, tracks: &mut [Track]) {
    let movie_ts = u128::from(moov.mvhd_box.timescale.get());
    let mut by_id: HashMap<u32, Edit> = HashMap::new();
    for trak in &moov.trak_boxes {
        let media_ts = u128::from(trak.mdia_box.mdhd_box.timescale.get());
        let entries = trak.edts_box.as_ref().and_then(|e| e.elst_box.as_ref());
        let Some(entry) = entries.and_then(|e| e.entries.iter().find(|x| x.media_time >= 0)) else {
            continue;
        };
        // Fragmented files often leave the edit open (duration 0): the fragments decide.
        let duration = (u128::from(entry.edit_duration) * media_ts / movie_ts) as u64;
        let edit = Edit { media_time: entry.media_time as u64, duration: (duration > 0).then_some(duration) };
        by_id.insert(trak.tkhd_box.track_id, edit);
    }
    for track in tracks {
        track.edit = by_id.get(&track.id).copied();
    }
}

fn check_inside_file(tracks: &[Track], file_len: u64) -> Result<(), MediaError> {
    let end = tracks.iter().flat_map(|t| t.samples.iter()).map(|s| s.offset + u64::from(s.size)).max().unwrap_or(0);
    if end > file_len {
        return Err(MediaError::Corrupt(format!(
            "truncated: sample data runs to byte {end} but the file has {file_len} bytes"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn track(samples: &[(u64, u32)], edit: Option<Edit>) -> Track {
        Track {
            id: 1,
            kind: TrackKind::Video,
            timescale: NonZeroU32::new(12288).unwrap(),
            entries: Vec::new(),
            samples: samples
                .iter()
                .map(|&(dts, duration)| SampleRef {
                    offset: 0,
                    size: 1,
                    dts,
                    duration,
                    cto: None,
                    keyframe: true,
                    entry: 0,
                })
                .collect(),
            edit,
        }
    }

    #[test]
    fn media_duration_is_the_end_of_the_last_sample() {
        let t = track(&[(0, 512), (512, 512), (1024, 512)], None);
        assert_eq!(t.media_duration(), 1536);
        assert_eq!(t.presented_duration(), 1536);
    }

    #[test]
    fn an_edit_duration_overrides_the_media_duration() {
        let edit = Some(Edit { media_time: 1024, duration: Some(1000) });
        assert_eq!(track(&[(0, 512), (512, 512), (1024, 512)], edit).presented_duration(), 1000);
    }

    #[test]
    fn an_open_edit_subtracts_its_media_time() {
        let edit = Some(Edit { media_time: 1024, duration: None });
        assert_eq!(track(&[(0, 512), (512, 512), (1024, 512)], edit).presented_duration(), 512);
    }

    #[test]
    fn milliseconds_round_trip_through_the_timescale() {
        let t = track(&[], None);
        assert_eq!(t.ticks_to_ms(12288), 1000);
        assert_eq!(t.ticks_to_ms(512), 42);
        assert_eq!(t.ms_to_ticks(1000), 12288);
    }

    #[test]
    fn sample_data_past_the_end_of_the_file_is_reported_as_truncation() {
        let t = track(&[(0, 512)], None);
        assert!(check_inside_file(std::slice::from_ref(&t), 1).is_ok());
        let err = check_inside_file(&[t], 0).unwrap_err();
        assert!(err.to_string().contains("truncated"), "{err}");
    }
}
