//! Sample tables of a fragmented MP4: every `moof`'s track fragments and runs, resolved to
//! absolute file offsets and decode times.
//!
//! Owns the ISO/IEC 14496-12 defaulting rules (trun → tfhd → trex) and all three ways a track
//! fragment can say where its data is (explicit base offset as ffmpeg writes it,
//! default-base-is-moof, and the implicit chaining), which `shiguredo_mp4`'s own fMP4 file
//! demuxer does not all support. It must not read sample payloads.

use shiguredo_mp4::boxes::{MoofBox, MoovBox, TfhdBox, TrafBox, TrexBox, TrunBox};
use shiguredo_mp4::{Decode, SampleFlags, TrackKind};

use super::demux::{SampleRef, Track};
use super::source::{Layout, Source, TopBox};
use crate::MediaError;

/// Appends the samples of every `moof` in the file to the matching tracks.
pub(crate) fn append(src: &Source, layout: &Layout, moov: &MoovBox, tracks: &mut [Track]) -> Result<(), MediaError> {
    let trex: Vec<TrexBox> = moov.mvex_box.as_ref().map_or_else(Vec::new, |m| m.trex_boxes.clone());
    for moof_box in layout.boxes.iter().filter(|b| &b.kind == b"moof") {
        let moof = read_moof(src, moof_box)?;
        let mut chained_base = moof_box.offset;
        for traf in &moof.traf_boxes {
            let Some(track) = tracks.iter_mut().find(|t| t.id == traf.tfhd_box.track_id) else {
                continue;
            };
            let defaults = trex.iter().find(|t| t.track_id == traf.tfhd_box.track_id);
            let base = base_offset(&traf.tfhd_box, moof_box.offset, chained_base);
            chained_base = append_traf(track, traf, defaults, base)?;
        }
    }
    Ok(())
}

fn read_moof(src: &Source, at: &TopBox) -> Result<MoofBox, MediaError> {
    let bytes = src.read_at(at.offset, usize::try_from(at.size).ok())?;
    if (bytes.len() as u64) < at.size {
        return Err(MediaError::Corrupt("a moof box is cut off by the end of the file".into()));
    }
    MoofBox::decode(&bytes).map(|(b, _)| b).map_err(|e| MediaError::corrupt("moof", e))
}

/// Where a track fragment's data offsets count from.
fn base_offset(tfhd: &TfhdBox, moof_offset: u64, chained: u64) -> u64 {
    match tfhd.base_data_offset {
        Some(explicit) => explicit,
        None if tfhd.default_base_is_moof => moof_offset,
        // The first traf starts at the moof; later ones where the previous one's data ended.
        None => chained,
    }
}

/// Per-sample values a run may omit, in the order they are looked up.
struct Defaults<'a> {
    tfhd: &'a TfhdBox,
    trex: Option<&'a TrexBox>,
}

impl Defaults<'_> {
    fn duration(&self) -> u32 {
        self.tfhd.default_sample_duration.or(self.trex.map(|t| t.default_sample_duration)).unwrap_or(0)
    }
    fn size(&self) -> u32 {
        self.tfhd.default_sample_size.or(self.trex.map(|t| t.default_sample_size)).unwrap_or(0)
    }
    fn flags(&self) -> SampleFlags {
        self.tfhd.default_sample_flags.or(self.trex.map(|t| t.default_sample_flags)).unwrap_or(SampleFlags::empty())
    }
    fn entry(&self) -> u16 {
        let index = self.tfhd.sample_description_index.or(self.trex.map(|t| t.default_sample_description_index));
        index.unwrap_or(1).saturating_sub(1) as u16
    }
}

/// Appends one track fragment's samples; returns the file offset where its data ends.
fn append_traf(track: &mut Track, traf: &TrafBox, trex: Option<&TrexBox>, base: u64) -> Result<u64, MediaError> {
    let defaults = Defaults { tfhd: &traf.tfhd_box, trex };
    let mut dts = match &traf.tfdt_box {
        Some(tfdt) => tfdt.base_media_decode_time,
        None => track.media_duration(),
    };
    let mut position = base;
    for trun in &traf.trun_boxes {
        if let Some(offset) = trun.data_offset {
            position = base.checked_add_signed(i64::from(offset)).ok_or_else(bad_offset)?;
        }
        for (i, sample) in trun.samples.iter().enumerate() {
            let s = resolve(track.kind, trun, i, sample, &defaults, position, dts);
            position += u64::from(s.size);
            dts += u64::from(s.duration);
            track.samples.push(s);
        }
    }
    Ok(position)
}

fn bad_offset() -> MediaError {
    MediaError::Corrupt("a track run's data offset points before the file start".into())
}

fn resolve(
    kind: TrackKind,
    trun: &TrunBox,
    index: usize,
    sample: &shiguredo_mp4::boxes::TrunSample,
    defaults: &Defaults<'_>,
    offset: u64,
    dts: u64,
) -> SampleRef {
    let first_flags = if index == 0 { trun.first_sample_flags } else { None };
    let flags = sample.flags.or(first_flags).unwrap_or_else(|| defaults.flags());
    SampleRef {
        offset,
        size: sample.size.unwrap_or_else(|| defaults.size()),
        dts,
        duration: sample.duration.unwrap_or_else(|| defaults.duration()),
        cto: sample.composition_time_offset,
        keyframe: kind == TrackKind::Audio || !flags.sample_is_non_sync_sample(),
        entry: defaults.entry(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tfhd(base: Option<u64>, moof: bool) -> TfhdBox {
        TfhdBox {
            track_id: 1,
            base_data_offset: base,
            sample_description_index: None,
            default_sample_duration: Some(512),
            default_sample_size: None,
            default_sample_flags: None,
            duration_is_empty: false,
            default_base_is_moof: moof,
        }
    }

    #[test]
    fn the_three_base_offset_rules_pick_the_right_origin() {
        assert_eq!(base_offset(&tfhd(Some(5000), false), 100, 300), 5000);
        assert_eq!(base_offset(&tfhd(None, true), 100, 300), 100);
        assert_eq!(base_offset(&tfhd(None, false), 100, 300), 300);
    }

    #[test]
    fn run_values_fall_back_to_track_fragment_then_track_defaults() {
        let header = tfhd(None, false);
        let trex = TrexBox {
            track_id: 1,
            default_sample_description_index: 2,
            default_sample_duration: 1,
            default_sample_size: 77,
            default_sample_flags: SampleFlags::new(0x0001_0000),
        };
        let d = Defaults { tfhd: &header, trex: Some(&trex) };
        assert_eq!((d.duration(), d.size(), d.entry()), (512, 77, 1));
        assert!(d.flags().sample_is_non_sync_sample());
    }
}
