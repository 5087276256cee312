//! The image-to-video background: the source image, cover-fit to the frame, with a slow zoom
//! and pan. At progress 0 it is the cover-fit image itself, pixel for pixel.
//!
//! Owns the image's Y'CbCr 4:4:4 copy and bilinear resampling into 4:2:0 frames. It must not
//! decode image files (that is [`crate::image_in`]).

use super::canvas::{Frame, Yuv};

/// How far the camera zooms in by the end of the clip.
const MAX_ZOOM: f32 = 0.15;

/// A cover-fit source image ready to be resampled every frame.
pub(crate) struct Backdrop {
    width: usize,
    height: usize,
    y: Vec<u8>,
    u: Vec<u8>,
    v: Vec<u8>,
    /// Where the zoom heads, as a fraction of the frame (0.5, 0.5 = centre).
    focus: (f32, f32),
}

impl Backdrop {
    /// Takes an RGB image already scaled to exactly the frame size.
    pub(crate) fn new(rgb: &image::RgbImage, focus: (f32, f32)) -> Self {
        let n = rgb.width() as usize * rgb.height() as usize;
        let (mut y, mut u, mut v) = (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n));
        for p in rgb.pixels() {
            let c = Yuv::from_rgb(p[0], p[1], p[2]);
            y.push(c.y);
            u.push(c.u);
            v.push(c.v);
        }
        Self { width: rgb.width() as usize, height: rgb.height() as usize, y, u, v, focus }
    }

    /// Paints the view at `progress` (0 at the first frame, 1 at the last).
    pub(crate) fn paint(&self, frame: &mut Frame, progress: f32) {
        let eased = progress * progress * (3.0 - 2.0 * progress);
        let zoom = 1.0 + MAX_ZOOM * eased;
        let (vw, vh) = (self.width as f32 / zoom, self.height as f32 / zoom);
        let x0 = (self.width as f32 - vw) * (0.5 + (self.focus.0 - 0.5) * eased);
        let y0 = (self.height as f32 - vh) * (0.5 + (self.focus.1 - 0.5) * eased);
        let view = View { x0, y0, zoom };
        let (w, h) = (frame.width, frame.height);
        resample(&self.y, self.width, self.height, &mut frame.y, w, h, &view, 1);
        resample(&self.u, self.width, self.height, &mut frame.u, w / 2, h / 2, &view, 2);
        resample(&self.v, self.width, self.height, &mut frame.v, w / 2, h / 2, &view, 2);
    }
}

/// The visible window: top-left corner in source pixels and magnification.
struct View {
    x0: f32,
    y0: f32,
    zoom: f32,
}

/// 16.16 fixed-point source positions (integer index, 8-bit weight) for each output position.
fn taps(count: usize, step: usize, origin: f32, zoom: f32, limit: usize) -> Vec<(usize, u32)> {
    (0..count)
        .map(|i| {
            // Centre of output sample i (a `step`-wide block) in source pixel coordinates.
            let centre = (i * step) as f32 + step as f32 / 2.0;
            let s = (origin + centre / zoom - 0.5).clamp(0.0, (limit - 1) as f32);
            let fixed = (s * 256.0).round() as u32;
            let index = (fixed >> 8) as usize;
            if index + 1 >= limit { (limit - 2, 256) } else { (index, fixed & 0xff) }
        })
        .collect()
}

/// Bilinear resampling of a full-resolution plane into `dst` (`step` = 2 for chroma).
#[allow(clippy::too_many_arguments)]
fn resample(src: &[u8], sw: usize, sh: usize, dst: &mut [u8], dw: usize, dh: usize, view: &View, step: usize) {
    let xs = taps(dw, step, view.x0, view.zoom, sw);
    let ys = taps(dh, step, view.y0, view.zoom, sh);
    for (row, &(iy, fy)) in dst.chunks_exact_mut(dw).zip(&ys) {
        let (top, bottom) = (&src[iy * sw..(iy + 1) * sw], &src[(iy + 1) * sw..(iy + 2) * sw]);
        for (out, &(ix, fx)) in row.iter_mut().zip(&xs) {
            let t = u32::from(top[ix]) * (256 - fx) + u32::from(top[ix + 1]) * fx;
            let b = u32::from(bottom[ix]) * (256 - fx) + u32::from(bottom[ix + 1]) * fx;
            *out = ((t * (256 - fy) + b * fy + (1 << 15)) >> 16) as u8;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_zoom_one_luma_taps_land_exactly_on_pixels() {
        assert_eq!(taps(4, 1, 0.0, 1.0, 4), vec![(0, 0), (1, 0), (2, 0), (2, 256)]);
    }

    #[test]
    fn at_zoom_one_chroma_taps_average_each_pixel_pair() {
        assert_eq!(taps(2, 2, 0.0, 1.0, 4), vec![(0, 128), (2, 128)]);
    }

    #[test]
    fn the_first_frame_reproduces_the_image_and_later_frames_zoom() {
        let mut rgb = image::RgbImage::new(8, 8);
        for (x, y, p) in rgb.enumerate_pixels_mut() {
            *p = image::Rgb([(x * 30) as u8, (y * 30) as u8, 100]);
        }
        let backdrop = Backdrop::new(&rgb, (0.2, 0.8));
        let mut first = Frame::new(8, 8);
        backdrop.paint(&mut first, 0.0);
        assert_eq!(first.y, backdrop.y);
        let expected_u =
            (backdrop.u[0] as u32 + backdrop.u[1] as u32 + backdrop.u[8] as u32 + backdrop.u[9] as u32 + 2) / 4;
        assert!((i64::from(first.u[0]) - i64::from(expected_u)).abs() <= 1);
        let mut last = Frame::new(8, 8);
        backdrop.paint(&mut last, 1.0);
        assert_ne!(last.y, first.y);
    }
}
