//! Everything that reads or writes the MP4 container: probing, stream-copy remuxing, and the
//! shared faststart writer the sandbox renderer also uses.
//!
//! Layout: [`source`] (positioned reads, top-level boxes) → [`demux`] (owned sample tables) →
//! [`probe`] / [`remux`]; [`mux`] writes. Nothing here decodes or encodes media.

pub(crate) mod demux;
pub(crate) mod fragments;
pub(crate) mod mux;
pub(crate) mod probe;
pub(crate) mod remux;
pub(crate) mod source;
