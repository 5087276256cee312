//! In-process media work for vidgate: probing, stream-copy remuxing, posters, validation of
//! upstream results, and the sandbox renderer that stands in for a video model offline.
//!
//! Everything here is synchronous and CPU-bound; async callers go through [`MediaPool`]. Nothing
//! here runs ffmpeg or any other subprocess.
//!
//! # Layout
//!
//! - `mp4`: container only. `source` (reads, top-level boxes) → `demux` (sample tables, edit
//!   lists) → `probe` / `remux`; `mux` writes faststart files for both remuxing and rendering.
//! - `picture`: openh264 decoding of H.264 samples → posters and sprite sheets as PNG.
//! - `validate`: acceptance rules for a delivered file.
//! - [`sandbox`]: the deterministic renderer (frames → H.264, tones → AAC, then `mp4::mux`).
//! - `avc`: Annex B / AVCC plumbing shared by the decoder and the renderer.
//! - `image_in`: PNG/JPEG/WebP source images.
//! - `pool`: the bounded blocking pool.

mod avc;
mod error;
mod image_in;
mod info;
mod mp4;
mod picture;
mod pool;
pub mod sandbox;
mod validate;

pub use error::MediaError;
pub use image_in::{cover_png, decode_image_dimensions, decode_image_fully};
pub use info::{AudioCodec, AudioTrack, MediaInfo, VideoCodec, VideoTrack};
pub use mp4::probe::probe;
pub use mp4::remux::{extract_audio, strip_audio, trim};
pub use picture::poster::{poster, spritesheet};
pub use pool::MediaPool;
pub use validate::{Expectation, validate};
