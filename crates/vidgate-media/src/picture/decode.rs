//! Decodes H.264 samples of a demuxed MP4 to RGB pictures with the openh264 decoder.
//!
//! Owns feeding parameter sets and AVCC samples (converted to Annex B) to the decoder. It must
//! not pick which frames to decode: openh264 fails on B-frames, so callers decide when only
//! keyframes are safe (see [`super::poster`]).

use openh264::OpenH264API;
use openh264::decoder::{DecodedYUV, Decoder, DecoderConfig};
use openh264::formats::YUVSource;
use shiguredo_mp4::boxes::SampleEntry;

use super::rgb::RgbImage;
use crate::MediaError;
use crate::avc::{avcc_to_annex_b, parameter_sets_annex_b};
use crate::info::codec_string;
use crate::mp4::demux::{Movie, Track};

/// An openh264 decoder bound to one H.264 track of a movie.
pub(crate) struct AvcDecoder<'a> {
    movie: &'a Movie,
    track: &'a Track,
    decoder: Decoder,
    primed_entry: Option<u16>,
    sample: Vec<u8>,
    annex_b: Vec<u8>,
}

/// `UnsupportedCodec` unless every sample entry of the track is `avc1`.
pub(crate) fn ensure_h264(track: &Track) -> Result<(), MediaError> {
    match track.entries.iter().find(|e| !matches!(e, SampleEntry::Avc1(_))) {
        Some(other) => {
            Err(MediaError::UnsupportedCodec(format!("{} (only H.264 can be decoded in-process)", codec_string(other))))
        }
        None => Ok(()),
    }
}

impl<'a> AvcDecoder<'a> {
    /// A fresh decoder for `track`, which must be H.264.
    pub(crate) fn new(movie: &'a Movie, track: &'a Track) -> Result<Self, MediaError> {
        ensure_h264(track)?;
        let decoder = Decoder::with_api_config(OpenH264API::from_source(), DecoderConfig::new())
            .map_err(|e| MediaError::encode("h264 decoder", e))?;
        Ok(Self { movie, track, decoder, primed_entry: None, sample: Vec::new(), annex_b: Vec::new() })
    }

    /// Decodes sample `index` (in decode order). Returns its picture when `want_picture`.
    pub(crate) fn decode(&mut self, index: usize, want_picture: bool) -> Result<Option<RgbImage>, MediaError> {
        let sample = self.track.samples[index];
        let SampleEntry::Avc1(avc1) = self.track.entry_of(&sample) else {
            return Err(MediaError::UnsupportedCodec("not H.264".into()));
        };
        let length_size = usize::from(avc1.avcc_box.length_size_minus_one.get()) + 1;
        self.annex_b.clear();
        if self.primed_entry != Some(sample.entry) {
            self.annex_b.extend_from_slice(&parameter_sets_annex_b(&avc1.avcc_box));
            self.primed_entry = Some(sample.entry);
        }
        self.sample.resize(sample.size as usize, 0);
        self.movie.source.read_exact_at(&mut self.sample, sample.offset)?;
        avcc_to_annex_b(&self.sample, length_size, &mut self.annex_b)?;
        let decoded = self
            .decoder
            .decode(&self.annex_b)
            .map_err(|e| MediaError::encode(&format!("h264 decode of frame {index}"), e))?;
        match decoded {
            Some(yuv) if want_picture => Ok(Some(to_rgb(&yuv))),
            Some(_) => Ok(None),
            None if want_picture => {
                Err(MediaError::Encode(format!("the decoder returned no picture for frame {index}")))
            }
            None => Ok(None),
        }
    }
}

fn to_rgb(yuv: &DecodedYUV<'_>) -> RgbImage {
    let (w, h) = yuv.dimensions();
    let mut img = RgbImage::new(w as u32, h as u32);
    yuv.write_rgb8(&mut img.data);
    img
}
