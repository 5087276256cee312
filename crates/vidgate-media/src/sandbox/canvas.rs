//! An I420 frame drawn on directly: BT.601 limited-range colours, alpha-blended discs,
//! rectangles and coverage masks.
//!
//! Drawing straight into Y/U/V planes skips a per-frame RGB→YUV pass (blending is linear, so the
//! result is the same). Owns pixel loops only; what to draw where is [`super::scene`]'s job.

/// A colour in BT.601 limited-range Y'CbCr.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Yuv {
    pub(crate) y: u8,
    pub(crate) u: u8,
    pub(crate) v: u8,
}

impl Yuv {
    /// Converts sRGB (0..=255) with the usual 8-bit integer BT.601 studio-swing formulas.
    pub(crate) fn from_rgb(r: u8, g: u8, b: u8) -> Self {
        let (r, g, b) = (i32::from(r), i32::from(g), i32::from(b));
        let y = ((66 * r + 129 * g + 25 * b + 128) >> 8) + 16;
        let u = ((-38 * r - 74 * g + 112 * b + 128) >> 8) + 128;
        let v = ((112 * r - 94 * g - 18 * b + 128) >> 8) + 128;
        Self { y: clamp(y), u: clamp(u), v: clamp(v) }
    }

    pub(crate) const WHITE: Yuv = Yuv { y: 235, u: 128, v: 128 };
    pub(crate) const BLACK: Yuv = Yuv { y: 16, u: 128, v: 128 };
}

fn clamp(v: i32) -> u8 {
    v.clamp(0, 255) as u8
}

/// Blends `src` over `dst` with `alpha` in 0..=256.
#[inline]
pub(crate) fn mix(dst: u8, src: u8, alpha: u32) -> u8 {
    ((u32::from(src) * alpha + u32::from(dst) * (256 - alpha) + 128) >> 8) as u8
}

/// An 8-bit coverage mask (0 = transparent, 255 = opaque), rows top to bottom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Mask {
    pub(crate) width: usize,
    pub(crate) height: usize,
    pub(crate) data: Vec<u8>,
}

/// A planar 4:2:0 frame: full-size Y, half-size U and V. Width and height are even.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Frame {
    pub(crate) width: usize,
    pub(crate) height: usize,
    pub(crate) y: Vec<u8>,
    pub(crate) u: Vec<u8>,
    pub(crate) v: Vec<u8>,
}

impl Frame {
    pub(crate) fn new(width: usize, height: usize) -> Self {
        let chroma = (width / 2) * (height / 2);
        Self { width, height, y: vec![16; width * height], u: vec![128; chroma], v: vec![128; chroma] }
    }

    /// Fills with diagonal bands: luma pixel (x, y) takes `lut[x + y]`; chroma samples take the
    /// entry at the centre of their 2x2 block. `lut` needs `width + height` entries.
    pub(crate) fn fill_diagonal(&mut self, lut: &[Yuv]) {
        let (w, h) = (self.width, self.height);
        for (row, line) in self.y.chunks_exact_mut(w).enumerate() {
            for (x, px) in line.iter_mut().enumerate() {
                *px = lut[x + row].y;
            }
        }
        let cw = w / 2;
        for cy in 0..h / 2 {
            for cx in 0..cw {
                let c = lut[2 * cx + 2 * cy + 1];
                self.u[cy * cw + cx] = c.u;
                self.v[cy * cw + cx] = c.v;
            }
        }
    }

    /// Blends a filled, anti-aliased disc. `alpha` is 0..=256.
    pub(crate) fn disc(&mut self, cx: f32, cy: f32, radius: f32, color: Yuv, alpha: u32) {
        let w = self.width;
        blend_disc(&mut self.y, w, self.height, (cx, cy, radius), color.y, alpha);
        let (cw, ch) = (w / 2, self.height / 2);
        let chroma_disc = ((cx - 0.5) / 2.0, (cy - 0.5) / 2.0, radius / 2.0);
        blend_disc(&mut self.u, cw, ch, chroma_disc, color.u, alpha);
        blend_disc(&mut self.v, cw, ch, chroma_disc, color.v, alpha);
    }

    /// Blends a solid rectangle (clipped). `alpha` is 0..=256.
    pub(crate) fn rect(&mut self, x: usize, y: usize, w: usize, h: usize, color: Yuv, alpha: u32) {
        let (x1, y1) = ((x + w).min(self.width), (y + h).min(self.height));
        for row in y.min(y1)..y1 {
            for p in &mut self.y[row * self.width + x.min(x1)..row * self.width + x1] {
                *p = mix(*p, color.y, alpha);
            }
        }
        let cw = self.width / 2;
        for cy in y / 2..y1 / 2 {
            for cx in x / 2..x1 / 2 {
                let i = cy * cw + cx;
                self.u[i] = mix(self.u[i], color.u, alpha);
                self.v[i] = mix(self.v[i], color.v, alpha);
            }
        }
    }

    /// Blends `color` through a coverage mask placed at (`x`, `y`) (clipped). `alpha` is 0..=256.
    pub(crate) fn mask(&mut self, mask: &Mask, x: usize, y: usize, color: Yuv, alpha: u32) {
        let w = mask.width.min(self.width.saturating_sub(x));
        let h = mask.height.min(self.height.saturating_sub(y));
        for my in 0..h {
            let src = &mask.data[my * mask.width..my * mask.width + w];
            let dst = &mut self.y[(y + my) * self.width + x..][..w];
            for (d, &m) in dst.iter_mut().zip(src) {
                if m != 0 {
                    *d = mix(*d, color.y, coverage(m, alpha));
                }
            }
        }
        self.mask_chroma(mask, x, y, w, h, color, alpha);
    }

    /// Chroma for [`Frame::mask`]: each chroma sample takes the mean coverage of its 2x2 block.
    #[allow(clippy::too_many_arguments)]
    fn mask_chroma(&mut self, mask: &Mask, x: usize, y: usize, w: usize, h: usize, color: Yuv, alpha: u32) {
        let cw = self.width / 2;
        for cy in y.div_ceil(2)..(y + h) / 2 {
            for cx in x.div_ceil(2)..(x + w) / 2 {
                let (mx, my) = (2 * cx - x, 2 * cy - y);
                let at = |dx: usize, dy: usize| u32::from(mask.data[(my + dy) * mask.width + mx + dx]);
                let m = (at(0, 0) + at(1, 0) + at(0, 1) + at(1, 1) + 2) / 4;
                if m != 0 {
                    let a = coverage(m as u8, alpha);
                    let i = cy * cw + cx;
                    self.u[i] = mix(self.u[i], color.u, a);
                    self.v[i] = mix(self.v[i], color.v, a);
                }
            }
        }
    }
}

/// Mask coverage (0..=255) times a global alpha (0..=256) → alpha 0..=256.
#[inline]
fn coverage(m: u8, alpha: u32) -> u32 {
    (u32::from(m) * alpha + 127) / 255
}

/// Blends a disc of one plane; coverage falls off over one pixel at the edge.
fn blend_disc(plane: &mut [u8], w: usize, h: usize, (cx, cy, r): (f32, f32, f32), value: u8, alpha: u32) {
    let x0 = (cx - r - 1.0).floor().max(0.0) as usize;
    let y0 = (cy - r - 1.0).floor().max(0.0) as usize;
    let x1 = ((cx + r + 1.0).ceil().max(0.0) as usize).min(w);
    let y1 = ((cy + r + 1.0).ceil().max(0.0) as usize).min(h);
    let (inner, outer) = ((r - 0.5).max(0.0).powi(2), (r + 0.5).powi(2));
    for py in y0..y1 {
        let dy = py as f32 - cy;
        for px in x0..x1 {
            let dx = px as f32 - cx;
            let d2 = dx * dx + dy * dy;
            if d2 >= outer {
                continue;
            }
            let a = if d2 <= inner { alpha } else { ((r + 0.5 - d2.sqrt()) * alpha as f32) as u32 };
            let p = &mut plane[py * w + px];
            *p = mix(*p, value, a.min(256));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn primary_colours_convert_to_the_standard_bt601_codes() {
        assert_eq!(Yuv::from_rgb(255, 255, 255), Yuv::WHITE);
        assert_eq!(Yuv::from_rgb(0, 0, 0), Yuv::BLACK);
        assert_eq!(Yuv::from_rgb(255, 0, 0), Yuv { y: 82, u: 90, v: 240 });
        assert_eq!(Yuv::from_rgb(0, 255, 0), Yuv { y: 144, u: 54, v: 34 });
        assert_eq!(Yuv::from_rgb(0, 0, 255), Yuv { y: 41, u: 240, v: 110 });
    }

    #[test]
    fn mixing_at_the_alpha_extremes_keeps_one_side() {
        assert_eq!(mix(10, 200, 0), 10);
        assert_eq!(mix(10, 200, 256), 200);
        assert_eq!(mix(0, 255, 128), 128);
    }

    #[test]
    fn diagonal_fill_reads_the_lut_at_x_plus_y() {
        let mut f = Frame::new(4, 2);
        let lut: Vec<Yuv> = (0..6).map(|i| Yuv { y: i * 10, u: i, v: 100 + i }).collect();
        f.fill_diagonal(&lut);
        assert_eq!(f.y, vec![0, 10, 20, 30, 10, 20, 30, 40]);
        assert_eq!((f.u.clone(), f.v.clone()), (vec![1, 3], vec![101, 103]));
    }

    #[test]
    fn an_opaque_disc_covers_its_centre_and_spares_far_pixels() {
        let mut f = Frame::new(16, 16);
        f.disc(8.0, 8.0, 3.0, Yuv::WHITE, 256);
        assert_eq!(f.y[8 * 16 + 8], 235);
        assert_eq!(f.y[0], 16);
        assert_eq!(f.y[8 * 16 + 15], 16);
    }

    #[test]
    fn a_mask_blends_only_where_it_has_coverage_and_clips_at_the_edge() {
        let mut f = Frame::new(4, 4);
        let m = Mask { width: 2, height: 2, data: vec![255, 0, 255, 255] };
        f.mask(&m, 3, 3, Yuv::WHITE, 256);
        assert_eq!(f.y[15], 235);
        assert_eq!(f.y.iter().filter(|&&v| v != 16).count(), 1);
        f.mask(&m, 0, 0, Yuv::WHITE, 256);
        assert_eq!(&f.y[0..2], &[235, 16]);
        assert_eq!(&f.y[4..6], &[235, 235]);
    }
}
