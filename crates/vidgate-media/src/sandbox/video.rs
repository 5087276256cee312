//! H.264 encoding of sandbox frames with openh264, straight into MP4-ready samples.
//!
//! Owns the encoder settings (Constrained Baseline, bitrate by pixel count, an IDR every two
//! seconds, no frame skipping, low complexity, BT.601 signalled) and the Annex B → AVCC conversion of its output.
//! It must not paint or mux.

use openh264::OpenH264API;
use openh264::Timestamp;
use openh264::encoder::{
    BitRate, Complexity, Encoder, EncoderConfig, FrameRate, FrameType, IntraFramePeriod, RateControlMode, VuiConfig,
};
use openh264::formats::YUVSlices;
use shiguredo_mp4::boxes::SampleEntry;

use super::FPS;
use super::canvas::Frame;
use crate::MediaError;
use crate::avc::{NAL_PPS, NAL_SPS, avc1_entry, nal_type, push_avcc, split_annex_b};

/// One encoded frame as an MP4 sample.
pub(crate) struct EncodedFrame {
    pub(crate) data: Vec<u8>,
    pub(crate) keyframe: bool,
}

/// The encoder plus what it has produced so far.
pub(crate) struct VideoEncoder {
    encoder: Encoder,
    width: u16,
    height: u16,
    sps: Option<Vec<u8>>,
    pps: Option<Vec<u8>>,
    frames: Vec<EncodedFrame>,
    bitstream: Vec<u8>,
}

/// Stops OpenH264 printing to stderr. Without this every render writes a warning that bitrate
/// cannot be controlled with frame skipping off, which is expected here (rates come out fine).
fn silence(encoder: &mut Encoder) {
    let mut level = openh264_sys2::WELS_LOG_QUIET as std::os::raw::c_int;
    // SAFETY: the encoder handle is valid for the life of `encoder`; OpenH264 accepts
    // ENCODER_OPTION_TRACE_LEVEL before initialisation and only reads the int behind the pointer
    // during the call.
    unsafe {
        encoder.raw_api().set_option(openh264_sys2::ENCODER_OPTION_TRACE_LEVEL, (&raw mut level).cast());
    }
}

/// Target bitrate: about 0.14 bits per pixel per frame (≈3 Mb/s at 720p24, ≈7 Mb/s at 1080p24).
pub(crate) fn bitrate_for(width: u32, height: u32) -> u32 {
    (u64::from(width) * u64::from(height) * FPS / 7).clamp(100_000, 20_000_000) as u32
}

impl VideoEncoder {
    pub(crate) fn new(width: u32, height: u32) -> Result<Self, MediaError> {
        let config = EncoderConfig::new()
            .skip_frames(false)
            .max_frame_rate(FrameRate::from_hz(FPS as f32))
            .rate_control_mode(RateControlMode::Bitrate)
            .bitrate(BitRate::from_bps(bitrate_for(width, height)))
            .intra_frame_period(IntraFramePeriod::from_num_frames(2 * FPS as u32))
            .scene_change_detect(false)
            // The perceptual extras cost ~30% of encode time and buy nothing on synthetic frames.
            .complexity(Complexity::Low)
            .adaptive_quantization(false)
            .background_detection(false)
            .vui(VuiConfig::bt601())
            .num_threads(1);
        let mut encoder = Encoder::with_api_config(OpenH264API::from_source(), config)
            .map_err(|e| MediaError::encode("h264 encoder", e))?;
        silence(&mut encoder);
        Ok(Self {
            encoder,
            width: width as u16,
            height: height as u16,
            sps: None,
            pps: None,
            frames: Vec::new(),
            bitstream: Vec::new(),
        })
    }

    /// Encodes frame number `index`; every frame must produce a sample.
    pub(crate) fn encode(&mut self, frame: &Frame, index: u64) -> Result<(), MediaError> {
        let (w, h) = (frame.width, frame.height);
        let source = YUVSlices::new((&frame.y, &frame.u, &frame.v), (w, h), (w, w / 2, w / 2));
        let stamp = Timestamp::from_millis(index * 1000 / FPS);
        let encoded = self
            .encoder
            .encode_at(&source, stamp)
            .map_err(|e| MediaError::encode(&format!("h264 encode of frame {index}"), e))?;
        let keyframe = encoded.frame_type() == FrameType::IDR;
        self.bitstream.clear();
        encoded.write_vec(&mut self.bitstream);
        let data = self.take_sample(index)?;
        self.frames.push(EncodedFrame { data, keyframe });
        Ok(())
    }

    /// Splits the frame's Annex B output: parameter sets go to `avcC`, the rest to the sample.
    fn take_sample(&mut self, index: u64) -> Result<Vec<u8>, MediaError> {
        let mut sample = Vec::with_capacity(self.bitstream.len());
        for nal in split_annex_b(&self.bitstream) {
            match nal_type(nal) {
                NAL_SPS => self.sps = self.sps.take().or_else(|| Some(nal.to_vec())),
                NAL_PPS => self.pps = self.pps.take().or_else(|| Some(nal.to_vec())),
                _ => push_avcc(&mut sample, nal),
            }
        }
        if sample.is_empty() {
            return Err(MediaError::Encode(format!("the H.264 encoder skipped frame {index}")));
        }
        Ok(sample)
    }

    /// The `avc1` sample entry and the encoded frames in order.
    pub(crate) fn finish(self) -> Result<(SampleEntry, Vec<EncodedFrame>), MediaError> {
        let (Some(sps), Some(pps)) = (&self.sps, &self.pps) else {
            return Err(MediaError::Encode("the H.264 encoder produced no SPS/PPS".into()));
        };
        Ok((avc1_entry(sps, pps, self.width, self.height)?, self.frames))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bitrate_scales_with_pixels_and_is_clamped() {
        assert_eq!(bitrate_for(1280, 720), 3_159_771);
        assert_eq!(bitrate_for(1920, 1080), 7_109_485);
        assert_eq!(bitrate_for(16, 16), 100_000);
    }

    #[test]
    fn a_tiny_clip_encodes_every_frame_with_an_idr_first() {
        let mut enc = VideoEncoder::new(64, 48).unwrap();
        let mut frame = Frame::new(64, 48);
        for i in 0..5u8 {
            frame.y.fill(16 + i * 40);
            enc.encode(&frame, u64::from(i)).unwrap();
        }
        let (entry, frames) = enc.finish().unwrap();
        assert_eq!(entry.video_resolution(), Some((64, 48)));
        assert_eq!(frames.len(), 5);
        assert_eq!(frames.iter().map(|f| f.keyframe).collect::<Vec<_>>(), vec![true, false, false, false, false]);
        assert!(crate::info::codec_string(&entry).starts_with("avc1.42"));
    }
}
