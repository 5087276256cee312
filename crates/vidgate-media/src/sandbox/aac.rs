//! AAC-LC encoding of the sandbox soundtrack with fdk-aac (raw access units, 128 kb/s CBR).
//!
//! Owns the encoder loop and the `mp4a` sample entry. fdk-aac's safe wrapper has no flush, so
//! the input is padded with silence until exactly `ceil(samples / 1024)` access units come out:
//! the track then lasts as long as the video to within one AAC frame (21 ms).

use fdk_aac::enc::{AudioObjectType, BitRate, ChannelMode, Encoder, EncoderParams, Transport};
use shiguredo_mp4::boxes::{AudioSampleEntryFields, EsdsBox, Mp4aBox, SampleEntry};
use shiguredo_mp4::descriptors::{DecoderConfigDescriptor, DecoderSpecificInfo, EsDescriptor, SlConfigDescriptor};
use shiguredo_mp4::{FixedPointNumber, Uint};

use super::audio::SAMPLE_RATE;
use crate::MediaError;

pub(crate) const FRAME_SAMPLES: usize = 1024;
const CHANNELS: usize = 2;
const BITRATE: u32 = 128_000;

/// Encoded access units plus the sample entry describing them.
pub(crate) struct AacTrack {
    pub(crate) entry: SampleEntry,
    pub(crate) frames: Vec<Vec<u8>>,
}

/// How many AAC frames carry `samples` sample frames.
pub(crate) fn frame_count(samples: usize) -> usize {
    samples.div_ceil(FRAME_SAMPLES)
}

/// Encodes interleaved stereo PCM into `frame_count(pcm.len() / 2)` AAC-LC access units.
pub(crate) fn encode(pcm: &[i16]) -> Result<AacTrack, MediaError> {
    let encoder = Encoder::new(EncoderParams {
        bit_rate: BitRate::Cbr(BITRATE),
        sample_rate: SAMPLE_RATE,
        transport: Transport::Raw,
        channels: ChannelMode::Stereo,
        audio_object_type: AudioObjectType::Mpeg4LowComplexity,
    })
    .map_err(|e| MediaError::encode("aac encoder", e))?;
    let info = encoder.info().map_err(|e| MediaError::encode("aac encoder", e))?;
    let asc = info.confBuf[..info.confSize as usize].to_vec();
    let wanted = frame_count(pcm.len() / CHANNELS);
    let frames = encode_frames(&encoder, pcm, wanted)?;
    Ok(AacTrack { entry: mp4a_entry(asc), frames })
}

fn encode_frames(encoder: &Encoder, pcm: &[i16], wanted: usize) -> Result<Vec<Vec<u8>>, MediaError> {
    let chunk = FRAME_SAMPLES * CHANNELS;
    let silence = vec![0i16; chunk];
    let mut out = vec![0u8; 8192];
    let mut frames = Vec::with_capacity(wanted);
    let mut offset = 0;
    // The encoder's look-ahead holds back about two frames; silence pushes them out.
    let max_calls = wanted + 16;
    for _ in 0..max_calls {
        if frames.len() == wanted {
            return Ok(frames);
        }
        let input = match pcm.get(offset..) {
            Some(rest) if !rest.is_empty() => padded(rest, chunk),
            _ => silence.clone(),
        };
        let info = encoder.encode(&input, &mut out).map_err(|e| MediaError::encode("aac encode", e))?;
        offset += info.input_consumed;
        if info.output_size > 0 {
            frames.push(out[..info.output_size].to_vec());
        }
    }
    Err(MediaError::Encode(format!("the AAC encoder gave {} of {wanted} frames", frames.len())))
}

/// The next `chunk` samples, zero-padded at the end of the input.
fn padded(rest: &[i16], chunk: usize) -> Vec<i16> {
    let mut v = rest[..rest.len().min(chunk)].to_vec();
    v.resize(chunk, 0);
    v
}

fn mp4a_entry(asc: Vec<u8>) -> SampleEntry {
    let dec_config_descr = DecoderConfigDescriptor {
        object_type_indication: DecoderConfigDescriptor::OBJECT_TYPE_INDICATION_AUDIO_ISO_IEC_14496_3,
        stream_type: Uint::new(5),
        up_stream: Uint::new(0),
        buffer_size_db: Uint::new(0),
        max_bitrate: BITRATE,
        avg_bitrate: BITRATE,
        dec_specific_info: Some(DecoderSpecificInfo { payload: asc }),
    };
    let es = EsDescriptor {
        es_id: EsDescriptor::MIN_ES_ID,
        stream_priority: EsDescriptor::LOWEST_STREAM_PRIORITY,
        depends_on_es_id: None,
        url_string: None,
        ocr_es_id: None,
        dec_config_descr,
        sl_config_descr: SlConfigDescriptor,
    };
    let audio = AudioSampleEntryFields {
        data_reference_index: AudioSampleEntryFields::DEFAULT_DATA_REFERENCE_INDEX,
        channelcount: CHANNELS as u16,
        samplesize: AudioSampleEntryFields::DEFAULT_SAMPLESIZE,
        samplerate: FixedPointNumber::new(SAMPLE_RATE as u16, 0),
    };
    SampleEntry::Mp4a(Mp4aBox { audio, esds_box: EsdsBox { es }, unknown_boxes: Vec::new() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_count_rounds_up_to_whole_aac_frames() {
        assert_eq!(frame_count(240_000), 235);
        assert_eq!(frame_count(1024), 1);
        assert_eq!(frame_count(1025), 2);
    }

    #[test]
    fn a_second_of_tone_becomes_exactly_47_lc_frames_with_a_48khz_stereo_config() {
        let pcm: Vec<i16> = (0..48_000 * 2).map(|i| ((i as f32 * 0.03).sin() * 8000.0) as i16).collect();
        let track = encode(&pcm).unwrap();
        assert_eq!(track.frames.len(), 47);
        assert!(track.frames.iter().all(|f| !f.is_empty()));
        assert_eq!(crate::info::codec_string(&track.entry), "mp4a.40.2");
        // AudioSpecificConfig: AOT 2 (LC), frequency index 3 (48 kHz), 2 channels.
        let SampleEntry::Mp4a(mp4a) = &track.entry else { panic!("mp4a") };
        let asc = &mp4a.esds_box.es.dec_config_descr.dec_specific_info.as_ref().unwrap().payload;
        assert_eq!(&asc[..2], &[0x11, 0x90]);
    }
}
