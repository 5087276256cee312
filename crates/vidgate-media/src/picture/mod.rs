//! Still pictures from video: decoding H.264 frames and writing PNG posters and sprite sheets.
//!
//! Layout: [`decode`] (openh264 on demuxed samples) → [`poster`] (frame choice) → [`rgb`]
//! (scaling, PNG). Only H.264 is decoded; other codecs are `UnsupportedCodec`.

pub(crate) mod decode;
pub(crate) mod poster;
pub(crate) mod rgb;
