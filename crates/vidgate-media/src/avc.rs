//! H.264 byte-stream plumbing between openh264 (Annex B, start codes) and MP4 (AVCC, length
//! prefixes, parameter sets in `avcC`).
//!
//! Owns NAL splitting and re-framing and building the `avc1` sample entry. It must not call a
//! codec: it only moves bytes around.

use shiguredo_mp4::Uint;
use shiguredo_mp4::boxes::{Avc1Box, AvccBox, SampleEntry, VisualSampleEntryFields};

use crate::MediaError;

/// NAL unit types that matter here.
pub(crate) const NAL_SPS: u8 = 7;
pub(crate) const NAL_PPS: u8 = 8;

/// The NAL units of an Annex B byte stream, without their start codes.
pub(crate) fn split_annex_b(stream: &[u8]) -> Vec<&[u8]> {
    let mut starts = Vec::new();
    let mut i = 0;
    while i + 3 <= stream.len() {
        if stream[i] == 0 && stream[i + 1] == 0 && stream[i + 2] == 1 {
            starts.push((i, i + 3));
            i += 3;
        } else {
            i += 1;
        }
    }
    let mut nals = Vec::with_capacity(starts.len());
    for (k, &(_, payload_start)) in starts.iter().enumerate() {
        let end = starts.get(k + 1).map_or(stream.len(), |&(next, _)| next);
        // A 4-byte start code leaves its leading zero at the end of the previous unit.
        let nal = trim_trailing_zeros(&stream[payload_start..end]);
        if !nal.is_empty() {
            nals.push(nal);
        }
    }
    nals
}

fn trim_trailing_zeros(nal: &[u8]) -> &[u8] {
    let end = nal.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    &nal[..end]
}

/// The `nal_unit_type` of a NAL unit.
pub(crate) fn nal_type(nal: &[u8]) -> u8 {
    nal.first().map_or(0, |b| b & 0x1f)
}

/// Appends NAL units as 4-byte-length-prefixed AVCC to `out`.
pub(crate) fn push_avcc(out: &mut Vec<u8>, nal: &[u8]) {
    out.extend_from_slice(&(nal.len() as u32).to_be_bytes());
    out.extend_from_slice(nal);
}

/// Converts one AVCC sample (length prefixes of `length_size` bytes) to Annex B.
pub(crate) fn avcc_to_annex_b(sample: &[u8], length_size: usize, out: &mut Vec<u8>) -> Result<(), MediaError> {
    let mut rest = sample;
    while !rest.is_empty() {
        if rest.len() < length_size {
            return Err(MediaError::Corrupt("an H.264 sample ends inside a NAL length".into()));
        }
        let len = rest[..length_size].iter().fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        let body = rest.get(length_size..length_size + len);
        let body = body.ok_or_else(|| MediaError::Corrupt("an H.264 NAL runs past its sample".into()))?;
        out.extend_from_slice(&[0, 0, 0, 1]);
        out.extend_from_slice(body);
        rest = &rest[length_size + len..];
    }
    Ok(())
}

/// Annex B start code + SPS and PPS from an `avcC`, to prime a decoder.
pub(crate) fn parameter_sets_annex_b(avcc: &AvccBox) -> Vec<u8> {
    let mut out = Vec::new();
    for nal in avcc.sps_list.iter().chain(avcc.pps_list.iter()) {
        out.extend_from_slice(&[0, 0, 0, 1]);
        out.extend_from_slice(nal);
    }
    out
}

/// The `avc1` sample entry for a stream with this SPS and PPS, 4-byte NAL lengths.
pub(crate) fn avc1_entry(sps: &[u8], pps: &[u8], width: u16, height: u16) -> Result<SampleEntry, MediaError> {
    if sps.len() < 4 {
        return Err(MediaError::Encode("the encoder produced a short SPS".into()));
    }
    let avcc_box = AvccBox {
        avc_profile_indication: sps[1],
        profile_compatibility: sps[2],
        avc_level_indication: sps[3],
        length_size_minus_one: Uint::new(3),
        sps_list: vec![sps.to_vec()],
        pps_list: vec![pps.to_vec()],
        chroma_format: None,
        bit_depth_luma_minus8: None,
        bit_depth_chroma_minus8: None,
        sps_ext_list: Vec::new(),
    };
    Ok(SampleEntry::Avc1(Avc1Box { visual: visual_fields(width, height), avcc_box, unknown_boxes: Vec::new() }))
}

fn visual_fields(width: u16, height: u16) -> VisualSampleEntryFields {
    VisualSampleEntryFields {
        data_reference_index: VisualSampleEntryFields::DEFAULT_DATA_REFERENCE_INDEX,
        width,
        height,
        horizresolution: VisualSampleEntryFields::DEFAULT_HORIZRESOLUTION,
        vertresolution: VisualSampleEntryFields::DEFAULT_VERTRESOLUTION,
        frame_count: VisualSampleEntryFields::DEFAULT_FRAME_COUNT,
        compressorname: VisualSampleEntryFields::NULL_COMPRESSORNAME,
        depth: VisualSampleEntryFields::DEFAULT_DEPTH,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annex_b_splits_on_three_and_four_byte_start_codes() {
        let stream = [0, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x68, 3, 0, 0, 0, 1, 0x65, 4, 5];
        let nals = split_annex_b(&stream);
        assert_eq!(nals, vec![&[0x67, 1, 2][..], &[0x68, 3][..], &[0x65, 4, 5][..]]);
        assert_eq!(nals.iter().map(|n| nal_type(n)).collect::<Vec<_>>(), vec![7, 8, 5]);
    }

    #[test]
    fn a_stream_without_start_codes_has_no_nal_units() {
        assert!(split_annex_b(&[1, 2, 3, 4]).is_empty());
    }

    #[test]
    fn avcc_round_trips_to_annex_b() {
        let mut avcc = Vec::new();
        push_avcc(&mut avcc, &[0x65, 9, 9]);
        push_avcc(&mut avcc, &[0x06, 1]);
        assert_eq!(avcc, vec![0, 0, 0, 3, 0x65, 9, 9, 0, 0, 0, 2, 0x06, 1]);
        let mut annex_b = Vec::new();
        avcc_to_annex_b(&avcc, 4, &mut annex_b).unwrap();
        assert_eq!(annex_b, vec![0, 0, 0, 1, 0x65, 9, 9, 0, 0, 0, 1, 0x06, 1]);
        assert_eq!(split_annex_b(&annex_b), vec![&[0x65, 9, 9][..], &[0x06, 1][..]]);
    }

    #[test]
    fn a_nal_length_past_the_sample_end_is_corrupt() {
        let mut out = Vec::new();
        let err = avcc_to_annex_b(&[0, 0, 0, 9, 0x65], 4, &mut out).unwrap_err();
        assert!(matches!(err, MediaError::Corrupt(_)));
    }

    #[test]
    fn the_avc1_entry_takes_profile_and_level_from_the_sps() {
        let entry = avc1_entry(&[0x67, 0x42, 0xc0, 0x1f, 0xaa], &[0x68, 0xce], 1280, 720).unwrap();
        assert_eq!(crate::info::codec_string(&entry), "avc1.42c01f");
        assert_eq!(entry.video_resolution(), Some((1280, 720)));
    }
}
