//! The sandbox soundtrack: a little seeded melody whose notes come from the prompt's words,
//! a bass line, and filtered noise bursts, as 48 kHz stereo PCM.
//!
//! Owns the score (which note when) and the synthesis. It must stay audible and varied (tests
//! decode it and check that loudness and pitch change) and must not encode.

use super::rng::{Fnv64, SplitMix64};

pub(crate) const SAMPLE_RATE: u32 = 48_000;

/// Major pentatonic over two octaves, in semitones above the root.
const SCALE: [i32; 10] = [0, 2, 4, 7, 9, 12, 14, 16, 19, 21];

/// A tone: when, how long, which pitch, where in the stereo field, how loud.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Note {
    pub(crate) start: usize,
    pub(crate) length: usize,
    pub(crate) freq: f32,
    pub(crate) pan: f32,
    pub(crate) gain: f32,
}

/// A short burst of low-passed noise (a soft percussion hit).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Burst {
    start: usize,
    length: usize,
    pan: f32,
    gain: f32,
    smoothing: f32,
}

/// Interleaved stereo i16 PCM of exactly `frames` sample frames.
pub(crate) fn synthesize(prompt: &str, rng: &mut SplitMix64, frames: usize) -> Vec<i16> {
    let mut mix = vec![0f32; frames * 2];
    let notes = melody(prompt, &mut rng.fork("melody"), frames);
    let bass = bass_line(&notes, frames);
    for note in notes.iter().chain(bass.iter()) {
        add_tone(&mut mix, note);
    }
    for burst in bursts(&mut rng.fork("bursts"), frames) {
        add_noise(&mut mix, &burst, &mut rng.fork("noise"));
    }
    mix.iter().map(|s| (s.clamp(-1.0, 1.0) * 32_000.0) as i16).collect()
}

/// One note per beat-ish slot, pitch chosen by the prompt's words, never repeating a pitch
/// twice in a row.
pub(crate) fn melody(prompt: &str, rng: &mut SplitMix64, frames: usize) -> Vec<Note> {
    let words: Vec<&str> = prompt.split_whitespace().collect();
    let words = if words.is_empty() { vec!["sandbox"] } else { words };
    let beat = (rng.range(0.28, 0.42) * SAMPLE_RATE as f32) as usize;
    let root = 220.0 * 2f32.powf(rng.below(7) as f32 / 12.0);
    let mut notes = Vec::new();
    let (mut start, mut previous) = (0, usize::MAX);
    for k in 0.. {
        if start >= frames {
            break;
        }
        let word = words[k % words.len()];
        let mut degree =
            (Fnv64::new().field(word.as_bytes()).u64(k as u64 / words.len() as u64).finish() % 10) as usize;
        if degree == previous {
            degree = (degree + 3) % SCALE.len();
        }
        previous = degree;
        let length = beat * (1 + word.len() % 2);
        let freq = root * 2f32.powf(SCALE[degree] as f32 / 12.0);
        notes.push(Note { start, length, freq, pan: rng.range(0.2, 0.8), gain: rng.range(0.22, 0.32) });
        start += length;
    }
    notes
}

/// A quiet bass note an octave below the root, changing every four melody notes.
fn bass_line(melody: &[Note], frames: usize) -> Vec<Note> {
    melody
        .chunks(4)
        .map(|group| {
            let start = group[0].start;
            let end = group.last().map_or(start, |n| n.start + n.length).min(frames);
            let lowest = group.iter().map(|n| n.freq).fold(f32::MAX, f32::min);
            Note { start, length: end - start, freq: lowest / 2.0, pan: 0.5, gain: 0.1 }
        })
        .collect()
}

fn bursts(rng: &mut SplitMix64, frames: usize) -> Vec<Burst> {
    let step = SAMPLE_RATE as usize / 4;
    let mut bursts = Vec::new();
    for i in 0..frames / step {
        if rng.unit() >= 0.3 {
            continue;
        }
        bursts.push(Burst {
            start: i * step,
            length: (rng.range(0.06, 0.15) * SAMPLE_RATE as f32) as usize,
            pan: rng.range(0.0, 1.0),
            gain: rng.range(0.08, 0.18),
            smoothing: rng.range(0.05, 0.4),
        });
    }
    bursts
}

/// Gain over a note: 8 ms attack, exponential decay, 20 ms release (no clicks).
pub(crate) fn envelope(i: usize, length: usize) -> f32 {
    let t = i as f32 / SAMPLE_RATE as f32;
    let attack = (t / 0.008).min(1.0);
    let release = ((length - i) as f32 / (0.02 * SAMPLE_RATE as f32)).min(1.0);
    attack * release * (-2.5 * t).exp()
}

fn pan_gains(pan: f32) -> (f32, f32) {
    let angle = pan * std::f32::consts::FRAC_PI_2;
    (angle.cos(), angle.sin())
}

fn add_tone(mix: &mut [f32], note: &Note) {
    let (left, right) = pan_gains(note.pan);
    let step = std::f64::consts::TAU * f64::from(note.freq) / f64::from(SAMPLE_RATE);
    let end = (note.start + note.length).min(mix.len() / 2);
    for (i, frame) in (note.start..end).enumerate() {
        let phase = step * i as f64;
        let s = (phase.sin() + 0.3 * (2.0 * phase).sin()) as f32 * note.gain * envelope(i, note.length);
        mix[2 * frame] += s * left;
        mix[2 * frame + 1] += s * right;
    }
}

fn add_noise(mix: &mut [f32], burst: &Burst, rng: &mut SplitMix64) {
    let (left, right) = pan_gains(burst.pan);
    let end = (burst.start + burst.length).min(mix.len() / 2);
    let mut low = 0.0;
    for (i, frame) in (burst.start..end).enumerate() {
        low += burst.smoothing * (rng.range(-1.0, 1.0) - low);
        let decay = 1.0 - i as f32 / burst.length as f32;
        let s = low * burst.gain * decay * decay * 3.0;
        mix[2 * frame] += s * left;
        mix[2 * frame + 1] += s * right;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_melody_covers_the_clip_without_repeating_a_pitch_back_to_back() {
        let notes = melody("a red fox jumps over the lazy dog", &mut SplitMix64::new(3), 5 * 48_000);
        assert!(notes.len() >= 5, "{} notes", notes.len());
        assert_eq!(notes[0].start, 0);
        let last = notes.last().unwrap();
        assert!(last.start < 5 * 48_000 && last.start + last.length >= 5 * 48_000);
        assert!(notes.windows(2).all(|w| w[0].freq != w[1].freq));
        assert!(notes.windows(2).all(|w| w[1].start == w[0].start + w[0].length));
    }

    #[test]
    fn different_prompts_give_different_tunes() {
        let a = melody("ocean waves", &mut SplitMix64::new(1), 96_000);
        let b = melody("city traffic at night", &mut SplitMix64::new(1), 96_000);
        assert_ne!(a.iter().map(|n| n.freq).collect::<Vec<_>>(), b.iter().map(|n| n.freq).collect::<Vec<_>>());
    }

    #[test]
    fn the_envelope_starts_and_ends_silent() {
        assert_eq!(envelope(0, 1000), 0.0);
        assert_eq!(envelope(1000, 1000), 0.0);
        assert!(envelope(800, 20_000) > 0.9);
    }

    #[test]
    fn synthesis_is_exact_length_loud_enough_and_repeatable() {
        let pcm = synthesize("hello world", &mut SplitMix64::new(9), 48_000);
        assert_eq!(pcm.len(), 96_000);
        let peak = pcm.iter().map(|s| i32::from(*s).abs()).max().unwrap();
        assert!(peak > 5_000, "peak {peak}");
        assert_eq!(pcm, synthesize("hello world", &mut SplitMix64::new(9), 48_000));
    }
}
