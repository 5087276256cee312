//! What a sandbox clip shows: a seeded, animated picture (moving diagonal colour bands or the
//! source image with a slow zoom), bouncing discs, the prompt, a "SANDBOX RENDER" label and a
//! clock with the frame counter.
//!
//! Owns every layout and motion decision, all derived from the seeded PRNG. Everything costly
//! (text rasterising, image scaling) happens once in [`Scene::new`]; [`Scene::paint`] only
//! blends. It must not encode.

use super::backdrop::Backdrop;
use super::canvas::{Frame, Mask, Yuv};
use super::rng::SplitMix64;
use super::text::{Atlas, Typeface, wrap};
use super::{FPS, RenderSpec};
use crate::MediaError;

/// Frames over which overlays fade in on image-to-video, so frame 0 is the image alone.
const FADE_FRAMES: u64 = 12;

/// A moving disc; positions bounce off the frame edges.
#[derive(Debug, Clone)]
struct Disc {
    start: (f32, f32),
    velocity: (f32, f32),
    radius: f32,
    color: Yuv,
}

/// A pre-rasterised block of text and where it goes.
struct Placed {
    mask: Mask,
    x: usize,
    y: usize,
}

/// Everything needed to paint any frame of one clip.
pub(crate) struct Scene {
    width: usize,
    height: usize,
    frames: u64,
    palette: [[f32; 3]; 3],
    bands: f32,
    band_speed: f32,
    discs: Vec<Disc>,
    prompt: Option<Placed>,
    label: Placed,
    clock: Atlas,
    /// Top of the clock: beside the label, or under it when both do not fit on one row.
    clock_y: usize,
    backdrop: Option<Backdrop>,
}

impl Scene {
    pub(crate) fn new(spec: &RenderSpec, frames: u64, rng: &mut SplitMix64) -> Result<Self, MediaError> {
        let (width, height) = (spec.width as usize, spec.height as usize);
        let short = width.min(height);
        let face = Typeface::load();
        let mut look = rng.fork("look");
        let backdrop = match &spec.source_image {
            Some(bytes) => {
                let rgb = crate::image_in::decode_cover(bytes, spec.width, spec.height)?;
                Some(Backdrop::new(&rgb, (look.range(0.2, 0.8), look.range(0.2, 0.8))))
            }
            None => None,
        };
        let label = place_label(&face, short);
        let clock = face.atlas("0123456789:./ f", text_px(short, 24.0));
        let clock_width = clock.width(&clock_text(frames.saturating_sub(1), frames));
        let row = label.x + label.mask.width + label.mask.height + clock_width + label.x;
        let clock_y = if row <= width { label.y } else { label.y + label.mask.height * 3 / 2 };
        Ok(Self {
            width,
            height,
            frames,
            palette: [palette_colour(&mut look), palette_colour(&mut look), palette_colour(&mut look)],
            bands: look.range(1.0, 3.0),
            band_speed: look.range(0.01, 0.03) * if look.below(2) == 0 { 1.0 } else { -1.0 },
            discs: discs(&mut rng.fork("discs"), width as f32, height as f32),
            prompt: place_prompt(&face, &spec.prompt, width, height),
            label,
            clock_y,
            clock,
            backdrop,
        })
    }

    /// Paints frame `index` (0-based).
    pub(crate) fn paint(&self, frame: &mut Frame, index: u64) {
        let alpha = match self.backdrop {
            Some(ref backdrop) => {
                backdrop.paint(frame, index as f32 / (self.frames.max(2) - 1) as f32);
                (index.min(FADE_FRAMES) * 256 / FADE_FRAMES) as u32
            }
            None => {
                frame.fill_diagonal(&self.band_lut(index));
                256
            }
        };
        if alpha == 0 {
            return;
        }
        let disc_alpha = if self.backdrop.is_some() { alpha / 2 } else { alpha * 3 / 4 };
        for disc in &self.discs {
            let (x, y) = disc.position(index, self.width as f32, self.height as f32);
            frame.disc(x, y, disc.radius, disc.color, disc_alpha);
        }
        self.paint_text(frame, index, alpha);
    }

    fn paint_text(&self, frame: &mut Frame, index: u64, alpha: u32) {
        if let Some(p) = &self.prompt {
            let pad = p.mask.height / 8 + 4;
            frame.rect(0, p.y.saturating_sub(pad), self.width, p.mask.height + 2 * pad, Yuv::BLACK, alpha * 5 / 8);
            frame.mask(&p.mask, p.x, p.y, Yuv::WHITE, alpha);
        }
        let l = &self.label;
        let pad = l.mask.height / 4;
        let red = Yuv::from_rgb(200, 30, 45);
        frame.rect(l.x - pad, l.y - pad / 2, l.mask.width + 2 * pad, l.mask.height + pad, red, alpha * 7 / 8);
        frame.mask(&l.mask, l.x, l.y, Yuv::WHITE, alpha);
        let text = clock_text(index, self.frames);
        let (w, y) = (self.clock.width(&text), self.clock_y);
        let x = self.width.saturating_sub(w + l.x);
        frame.rect(x.saturating_sub(pad), y - pad / 2, w + 2 * pad, self.clock.height + pad, Yuv::BLACK, alpha / 2);
        self.clock.draw(frame, &text, x, y, Yuv::WHITE, alpha);
    }

    /// The band colours along x + y for one frame.
    fn band_lut(&self, index: u64) -> Vec<Yuv> {
        let span = (self.width + self.height) as f32;
        (0..self.width + self.height)
            .map(|s| {
                let phase = s as f32 / span * self.bands + index as f32 * self.band_speed;
                let k = phase.rem_euclid(3.0);
                let i = k as usize % 3;
                let t = smoothstep(k - k.floor());
                let (a, b) = (self.palette[i], self.palette[(i + 1) % 3]);
                let c = |n: usize| (a[n] + (b[n] - a[n]) * t).round() as u8;
                Yuv::from_rgb(c(0), c(1), c(2))
            })
            .collect()
    }
}

impl Disc {
    fn position(&self, index: u64, width: f32, height: f32) -> (f32, f32) {
        let t = index as f32;
        (
            bounce(self.start.0 + self.velocity.0 * t, self.radius, width - self.radius),
            bounce(self.start.1 + self.velocity.1 * t, self.radius, height - self.radius),
        )
    }
}

/// Folds a free coordinate into [lo, hi] as if it bounced off both ends.
pub(crate) fn bounce(p: f32, lo: f32, hi: f32) -> f32 {
    let span = (hi - lo).max(1.0);
    let q = (p - lo).rem_euclid(2.0 * span);
    lo + if q <= span { q } else { 2.0 * span - q }
}

fn smoothstep(t: f32) -> f32 {
    t * t * (3.0 - 2.0 * t)
}

/// A dark, saturated colour so white text stays readable on it.
fn palette_colour(rng: &mut SplitMix64) -> [f32; 3] {
    hsv(rng.unit() * 360.0, rng.range(0.5, 0.85), rng.range(0.3, 0.6))
}

fn hsv(h: f32, s: f32, v: f32) -> [f32; 3] {
    let c = v * s;
    let x = c * (1.0 - ((h / 60.0).rem_euclid(2.0) - 1.0).abs());
    let (r, g, b) = match (h / 60.0) as u32 {
        0 => (c, x, 0.0),
        1 => (x, c, 0.0),
        2 => (0.0, c, x),
        3 => (0.0, x, c),
        4 => (x, 0.0, c),
        _ => (c, 0.0, x),
    };
    let m = v - c;
    [(r + m) * 255.0, (g + m) * 255.0, (b + m) * 255.0]
}

fn discs(rng: &mut SplitMix64, width: f32, height: f32) -> Vec<Disc> {
    let short = width.min(height);
    (0..4 + rng.below(4))
        .map(|_| {
            let radius = short * rng.range(0.05, 0.13);
            let speed = short * rng.range(0.004, 0.012);
            let angle = rng.range(0.0, std::f32::consts::TAU);
            let rgb = hsv(rng.unit() * 360.0, rng.range(0.4, 0.9), rng.range(0.7, 1.0));
            Disc {
                start: (rng.range(0.0, width), rng.range(0.0, height)),
                velocity: (speed * angle.cos(), speed * angle.sin()),
                radius,
                color: Yuv::from_rgb(rgb[0] as u8, rgb[1] as u8, rgb[2] as u8),
            }
        })
        .collect()
}

/// Text size for a frame's short side: `short / divisor`, never below 10 px.
fn text_px(short: usize, divisor: f32) -> f32 {
    (short as f32 / divisor).max(10.0)
}

fn place_label(face: &Typeface, short: usize) -> Placed {
    let mask = face.render(&["SANDBOX RENDER".to_string()], text_px(short, 20.0));
    let margin = short / 24 + 4;
    Placed { mask, x: margin, y: margin }
}

/// The prompt, wrapped to most of the width, centred in the lower part of the frame.
fn place_prompt(face: &Typeface, prompt: &str, width: usize, height: usize) -> Option<Placed> {
    let px = text_px(width.min(height), 22.0);
    let max_width = width as f32 * 0.86;
    let lines = wrap(prompt, max_width, 4, |s| face.width(s, px));
    if lines.is_empty() {
        return None;
    }
    let mask = face.render(&lines, px);
    let x = width.saturating_sub(mask.width) / 2;
    let y = height.saturating_sub(mask.height + height / 12);
    Some(Placed { mask, x, y })
}

/// `mm:ss.mmm  f 0042/0120` for frame `index` of `frames`.
pub(crate) fn clock_text(index: u64, frames: u64) -> String {
    let ms = index * 1000 / FPS;
    format!("{:02}:{:02}.{:03}  f {:04}/{:04}", ms / 60_000, ms / 1000 % 60, ms % 1000, index + 1, frames)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bouncing_reflects_off_both_walls() {
        assert_eq!(bounce(5.0, 0.0, 10.0), 5.0);
        assert_eq!(bounce(12.0, 0.0, 10.0), 8.0);
        assert_eq!(bounce(-3.0, 0.0, 10.0), 3.0);
        assert_eq!(bounce(25.0, 0.0, 10.0), 5.0);
    }

    #[test]
    fn the_clock_shows_time_and_frame_counter() {
        assert_eq!(clock_text(0, 120), "00:00.000  f 0001/0120");
        assert_eq!(clock_text(51, 120), "00:02.125  f 0052/0120");
        assert_eq!(clock_text(1440, 1441), "01:00.000  f 1441/1441");
    }

    #[test]
    fn hsv_primaries_are_exact() {
        assert_eq!(hsv(0.0, 1.0, 1.0), [255.0, 0.0, 0.0]);
        assert_eq!(hsv(120.0, 1.0, 1.0), [0.0, 255.0, 0.0]);
        assert_eq!(hsv(240.0, 1.0, 0.5), [0.0, 0.0, 127.5]);
    }
}
