//! The plain description of an MP4 that [`crate::probe`] returns: [`MediaInfo`] and its tracks.
//!
//! Owns the mapping from an MP4 sample entry to a codec family and RFC 6381 codec string.
//! It must not read files: it only describes what the demuxer found.

use shiguredo_mp4::{BaseBox, boxes::SampleEntry};

/// What a probe learned about one MP4 file.
#[derive(Debug, Clone, PartialEq)]
pub struct MediaInfo {
    /// Duration of the longest track, in milliseconds.
    pub duration_ms: u64,
    /// The first video track, if any.
    pub video: Option<VideoTrack>,
    /// The first audio track, if any.
    pub audio: Option<AudioTrack>,
    /// True for a fragmented MP4 (`moov` with `mvex`, samples in `moof`/`mdat` pairs).
    pub fragmented: bool,
    /// True when the `moov` box comes before the first `mdat` (playable while downloading).
    pub faststart: bool,
    /// Size of the file in bytes.
    pub bytes: u64,
}

/// The video track of a file.
#[derive(Debug, Clone, PartialEq)]
pub struct VideoTrack {
    /// RFC 6381 codec string, e.g. `avc1.42c01f` or `hvc1.1.6.L93.90`.
    pub codec: String,
    /// Codec family.
    pub kind: VideoCodec,
    /// Coded width in pixels.
    pub width: u32,
    /// Coded height in pixels.
    pub height: u32,
    /// Average frame rate (frames divided by track duration).
    pub fps: f64,
    /// Number of video samples (frames).
    pub frames: u64,
    /// Presented duration of the track, in milliseconds.
    pub duration_ms: u64,
}

/// Video codec families the gateway cares about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VideoCodec {
    /// H.264 / AVC (`avc1`).
    H264,
    /// H.265 / HEVC (`hvc1`, `hev1`).
    Hevc,
    /// AV1 (`av01`).
    Av1,
    /// VP9 (`vp09`).
    Vp9,
    /// Anything else.
    Other,
}

/// The audio track of a file.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioTrack {
    /// RFC 6381 codec string, e.g. `mp4a.40.2` or `Opus`.
    pub codec: String,
    /// Codec family.
    pub kind: AudioCodec,
    /// Sample rate in Hz.
    pub sample_rate: u32,
    /// Channel count.
    pub channels: u16,
    /// Presented duration of the track, in milliseconds.
    pub duration_ms: u64,
}

/// Audio codec families the gateway cares about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AudioCodec {
    /// AAC (`mp4a.40.*`, `mp4a.66`..`mp4a.68`).
    Aac,
    /// Opus (`Opus`).
    Opus,
    /// Anything else.
    Other,
}

/// The RFC 6381 string for a sample entry, or its four-character code when there is none.
pub(crate) fn codec_string(entry: &SampleEntry) -> String {
    shiguredo_mp4::codec_string::from_sample_entry(entry).unwrap_or_else(|_| format!("{}", entry.box_type()))
}

/// The video codec family of a sample entry.
pub(crate) fn video_codec(entry: &SampleEntry) -> VideoCodec {
    match entry {
        SampleEntry::Avc1(_) => VideoCodec::H264,
        SampleEntry::Hev1(_) | SampleEntry::Hvc1(_) => VideoCodec::Hevc,
        SampleEntry::Av01(_) => VideoCodec::Av1,
        SampleEntry::Vp09(_) => VideoCodec::Vp9,
        _ => VideoCodec::Other,
    }
}

/// The audio codec family of a sample entry.
pub(crate) fn audio_codec(entry: &SampleEntry) -> AudioCodec {
    match entry {
        SampleEntry::Mp4a(mp4a) => {
            // 0x40 is MPEG-4 audio; 0x66..=0x68 are the MPEG-2 AAC profiles.
            match mp4a.esds_box.es.dec_config_descr.object_type_indication {
                0x40 | 0x66..=0x68 => AudioCodec::Aac,
                _ => AudioCodec::Other,
            }
        }
        SampleEntry::Opus(_) => AudioCodec::Opus,
        _ => AudioCodec::Other,
    }
}

/// Width and height stored in a visual sample entry.
pub(crate) fn video_size(entry: &SampleEntry) -> (u32, u32) {
    entry.video_resolution().map(|(w, h)| (u32::from(w), u32::from(h))).unwrap_or((0, 0))
}

/// Sample rate and channel count stored in an audio sample entry.
pub(crate) fn audio_format(entry: &SampleEntry, timescale: u32) -> (u32, u16) {
    let fields = match entry {
        SampleEntry::Mp4a(b) => Some(&b.audio),
        SampleEntry::Opus(b) => Some(&b.audio),
        SampleEntry::Flac(b) => Some(&b.audio),
        _ => None,
    };
    let Some(a) = fields else { return (timescale, 0) };
    // The 16.16 field cannot hold rates above 65535 Hz; the media timescale can.
    let rate = u32::from(a.samplerate.integer);
    let rate = if rate == 0 || rate == 65535 { timescale } else { rate };
    match entry {
        SampleEntry::Opus(b) => (rate, u16::from(b.dops_box.output_channel_count)),
        // Muxers often write a placeholder channel count in mp4a; the decoder config is the truth.
        SampleEntry::Mp4a(b) => b
            .esds_box
            .es
            .dec_config_descr
            .dec_specific_info
            .as_ref()
            .and_then(|asc| asc_format(&asc.payload))
            .map_or((rate, a.channelcount), |(r, c)| (r, c)),
        _ => (rate, a.channelcount),
    }
}

/// Sample rate and channel count from an MPEG-4 AudioSpecificConfig, when it states them.
pub(crate) fn asc_format(asc: &[u8]) -> Option<(u32, u16)> {
    const RATES: [u32; 13] = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];
    let mut bits = Bits { data: asc, pos: 0 };
    if bits.take(5)? == 31 {
        bits.take(6)?;
    }
    let rate = match bits.take(4)? {
        15 => bits.take(24)?,
        i => *RATES.get(i as usize)?,
    };
    let channels = match bits.take(4)? {
        c @ 1..=6 => c as u16,
        7 | 12 | 14 => 8,
        11 => 7,
        _ => return None,
    };
    Some((rate, channels))
}

/// A big-endian bit reader.
struct Bits<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Bits<'_> {
    fn take(&mut self, n: usize) -> Option<u32> {
        let mut v = 0;
        for _ in 0..n {
            let byte = self.data.get(self.pos / 8)?;
            v = (v << 1) | u32::from((byte >> (7 - self.pos % 8)) & 1);
            self.pos += 1;
        }
        Some(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audio_specific_config_gives_rate_and_channels() {
        assert_eq!(asc_format(&[0x11, 0x90]), Some((48000, 2)));
        assert_eq!(asc_format(&[0x11, 0x88]), Some((48000, 1)));
        assert_eq!(asc_format(&[0x12, 0x10]), Some((44100, 2)));
    }

    #[test]
    fn a_config_without_a_channel_layout_or_too_short_says_nothing() {
        assert_eq!(asc_format(&[0x11, 0x80]), None);
        assert_eq!(asc_format(&[0x11]), None);
    }
}
