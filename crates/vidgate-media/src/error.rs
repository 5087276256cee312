//! The crate's one error type, [`MediaError`].
//!
//! Owns the mapping from the libraries underneath (file I/O, the MP4 demuxer and muxer, the
//! H.264 and AAC codecs, the PNG and image decoders) onto a few variants a caller can act on.
//! It must not leak those libraries' types: every foreign error becomes a message string.

use std::fmt::Display;

/// Everything that can go wrong while reading, remuxing, decoding or rendering media.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// Reading or writing a file failed.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    /// The bytes are not an ISO base media (MP4) file at all.
    #[error("not an MP4 file: {0}")]
    NotMp4(String),
    /// It looks like an MP4 but its structure or sample data is damaged.
    #[error("corrupt media: {0}")]
    Corrupt(String),
    /// The operation needs a video track and the file has none.
    #[error("the file has no video track")]
    NoVideo,
    /// The operation needs an audio track and the file has none.
    #[error("the file has no audio track")]
    NoAudio,
    /// The track's codec cannot be handled by this operation (e.g. a poster of HEVC).
    #[error("unsupported codec: {0}")]
    UnsupportedCodec(String),
    /// An encoder or decoder (H.264, AAC, PNG) failed.
    #[error("encode/decode error: {0}")]
    Encode(String),
    /// The input or its parameters are not acceptable (a failed validation, a bad render spec).
    #[error("invalid: {0}")]
    Invalid(String),
}

impl MediaError {
    /// Wraps a codec library's error message.
    pub(crate) fn encode(context: &str, err: impl Display) -> Self {
        Self::Encode(format!("{context}: {err}"))
    }

    /// Wraps a structural problem found while demuxing or muxing.
    pub(crate) fn corrupt(context: &str, err: impl Display) -> Self {
        Self::Corrupt(format!("{context}: {err}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_errors_convert_with_their_message() {
        let err: MediaError = std::io::Error::new(std::io::ErrorKind::NotFound, "gone").into();
        assert_eq!(err.to_string(), "i/o error: gone");
    }

    #[test]
    fn helper_constructors_prefix_the_context() {
        assert_eq!(MediaError::encode("h264", "bad frame").to_string(), "encode/decode error: h264: bad frame");
        assert_eq!(MediaError::corrupt("moov", "truncated").to_string(), "corrupt media: moov: truncated");
    }
}
