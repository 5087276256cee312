//! Black-box tests of vidgate-media against ffmpeg/ffprobe as the independent judge.
//!
//! Fixtures come from `common::fixtures`; every module checks one public operation.

mod common;

#[path = "media/pictures.rs"]
mod pictures;
#[path = "media/probe.rs"]
mod probe;
#[path = "media/remux.rs"]
mod remux;
#[path = "media/sandbox.rs"]
mod sandbox;
#[path = "media/sandbox_audio.rs"]
mod sandbox_audio;
#[path = "media/validate.rs"]
mod validate;
