//! Text for sandbox frames: the vendored DejaVu Sans Bold, word wrapping, rasterising lines
//! into a coverage [`Mask`] once, and a per-character [`Atlas`] for the per-frame clock.
//!
//! Owns ab_glyph. It must not draw onto frames except through [`Frame::mask`].

use ab_glyph::{Font, FontRef, PxScale, ScaleFont, point};

use super::canvas::{Frame, Mask, Yuv};

/// DejaVu Sans Bold, Bitstream Vera licence (see `assets/DejaVuSans-Bold.LICENSE.md`).
static FONT_BYTES: &[u8] = include_bytes!("../../assets/DejaVuSans-Bold.ttf");

/// The sandbox's one font at its pixel sizes.
pub(crate) struct Typeface {
    font: FontRef<'static>,
}

impl Typeface {
    pub(crate) fn load() -> Self {
        Self { font: FontRef::try_from_slice(FONT_BYTES).expect("the vendored font parses") }
    }

    /// Advance width of `text` at `px` pixels, kerning included.
    pub(crate) fn width(&self, text: &str, px: f32) -> f32 {
        let scaled = self.font.as_scaled(PxScale::from(px));
        let mut width = 0.0;
        let mut previous = None;
        for c in text.chars() {
            let id = scaled.glyph_id(c);
            if let Some(p) = previous {
                width += scaled.kern(p, id);
            }
            width += scaled.h_advance(id);
            previous = Some(id);
        }
        width
    }

    /// Distance between baselines at `px` pixels.
    pub(crate) fn line_height(&self, px: f32) -> usize {
        let scaled = self.font.as_scaled(PxScale::from(px));
        (scaled.height() + scaled.line_gap()).ceil() as usize
    }

    /// Rasterises lines, left-aligned, into one mask.
    pub(crate) fn render(&self, lines: &[String], px: f32) -> Mask {
        let line_height = self.line_height(px);
        let width = lines.iter().map(|l| self.width(l, px).ceil() as usize).max().unwrap_or(0) + 2;
        let mut mask =
            Mask { width, height: line_height * lines.len(), data: vec![0; width * line_height * lines.len()] };
        let ascent = self.font.as_scaled(PxScale::from(px)).ascent();
        for (i, line) in lines.iter().enumerate() {
            self.draw_line(&mut mask, line, px, 1.0, i as f32 * line_height as f32 + ascent);
        }
        mask
    }

    fn draw_line(&self, mask: &mut Mask, text: &str, px: f32, x: f32, baseline: f32) {
        let scaled = self.font.as_scaled(PxScale::from(px));
        let mut caret = x;
        let mut previous = None;
        for c in text.chars() {
            let mut glyph = scaled.scaled_glyph(c);
            if let Some(p) = previous {
                caret += scaled.kern(p, glyph.id);
            }
            glyph.position = point(caret, baseline);
            caret += scaled.h_advance(glyph.id);
            previous = Some(glyph.id);
            let Some(outline) = scaled.outline_glyph(glyph) else { continue };
            let bounds = outline.px_bounds();
            outline.draw(|gx, gy, c| {
                let (mx, my) = (bounds.min.x as i64 + i64::from(gx), bounds.min.y as i64 + i64::from(gy));
                if mx >= 0 && my >= 0 && (mx as usize) < mask.width && (my as usize) < mask.height {
                    let cell = &mut mask.data[my as usize * mask.width + mx as usize];
                    *cell = (*cell).max((c.clamp(0.0, 1.0) * 255.0).round() as u8);
                }
            });
        }
    }

    /// One mask per character of `chars`, each as wide as its advance.
    pub(crate) fn atlas(&self, chars: &str, px: f32) -> Atlas {
        let cells = chars.chars().map(|c| (c, self.render(&[c.to_string()], px))).collect();
        Atlas { cells, height: self.line_height(px) }
    }
}

/// Pre-rasterised characters, blitted side by side to draw short changing strings (the clock).
pub(crate) struct Atlas {
    cells: Vec<(char, Mask)>,
    pub(crate) height: usize,
}

impl Atlas {
    fn cell(&self, c: char) -> Option<&Mask> {
        self.cells.iter().find(|(k, _)| *k == c).map(|(_, m)| m)
    }

    /// Width in pixels of `text` (characters missing from the atlas count as nothing).
    pub(crate) fn width(&self, text: &str) -> usize {
        text.chars().filter_map(|c| self.cell(c)).map(|m| m.width - 2).sum()
    }

    /// Draws `text` with its top-left corner at (`x`, `y`).
    pub(crate) fn draw(&self, frame: &mut Frame, text: &str, x: usize, y: usize, color: Yuv, alpha: u32) {
        let mut caret = x;
        for cell in text.chars().filter_map(|c| self.cell(c)) {
            frame.mask(cell, caret, y, color, alpha);
            caret += cell.width - 2;
        }
    }
}

/// Greedy word wrap to `max_width`, breaking words that do not fit on a line of their own, and
/// ending with "…" when more than `max_lines` would be needed.
pub(crate) fn wrap(text: &str, max_width: f32, max_lines: usize, measure: impl Fn(&str) -> f32) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut current = String::new();
    for word in text.split_whitespace() {
        let candidate = if current.is_empty() { word.to_string() } else { format!("{current} {word}") };
        if measure(&candidate) <= max_width {
            current = candidate;
            continue;
        }
        if !current.is_empty() {
            lines.push(std::mem::take(&mut current));
        }
        current = word.to_string();
        while measure(&current) > max_width && current.chars().count() > 1 {
            let (head, tail) = split_to_fit(&current, max_width, &measure);
            lines.push(head);
            current = tail;
        }
    }
    if !current.is_empty() {
        lines.push(current);
    }
    ellipsize(lines, max_width, max_lines, &measure)
}

/// The longest prefix (at least one char) that fits, and the rest.
fn split_to_fit(word: &str, max_width: f32, measure: &impl Fn(&str) -> f32) -> (String, String) {
    let chars: Vec<char> = word.chars().collect();
    let mut n = 1;
    while n < chars.len() && measure(&chars[..=n].iter().collect::<String>()) <= max_width {
        n += 1;
    }
    (chars[..n].iter().collect(), chars[n..].iter().collect())
}

fn ellipsize(mut lines: Vec<String>, max_width: f32, max_lines: usize, measure: &impl Fn(&str) -> f32) -> Vec<String> {
    if lines.len() <= max_lines || max_lines == 0 {
        lines.truncate(max_lines);
        return lines;
    }
    lines.truncate(max_lines);
    let last = lines.last_mut().expect("max_lines > 0");
    while !last.is_empty() && measure(&format!("{last}…")) > max_width {
        last.pop();
    }
    *last = format!("{}…", last.trim_end());
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chars(s: &str) -> f32 {
        s.chars().count() as f32
    }

    #[test]
    fn words_fill_lines_greedily() {
        assert_eq!(wrap("the quick brown fox jumps", 10.0, 5, chars), vec!["the quick", "brown fox", "jumps"]);
    }

    #[test]
    fn whitespace_runs_collapse_and_an_empty_prompt_has_no_lines() {
        assert_eq!(wrap("  a \n\t b  ", 10.0, 5, chars), vec!["a b"]);
        assert!(wrap("   ", 10.0, 5, chars).is_empty());
    }

    #[test]
    fn a_word_longer_than_a_line_is_broken() {
        assert_eq!(wrap("abcdefghij xy", 4.0, 5, chars), vec!["abcd", "efgh", "ij", "xy"]);
    }

    #[test]
    fn overflowing_text_ends_with_an_ellipsis() {
        assert_eq!(wrap("one two three four", 5.0, 2, chars), vec!["one", "two…"]);
        assert_eq!(wrap("aaaaa bbbbb ccccc", 5.0, 2, chars), vec!["aaaaa", "bbbb…"]);
    }

    #[test]
    fn the_vendored_font_measures_and_rasterises_text() {
        let face = Typeface::load();
        let wide = face.width("WWWW", 32.0);
        assert!(wide > face.width("iiii", 32.0));
        let mask = face.render(&["Hi".to_string()], 32.0);
        assert_eq!(mask.height, face.line_height(32.0));
        assert!(mask.data.iter().filter(|&&c| c == 255).count() > 50, "solid glyph interiors");
    }

    #[test]
    fn an_atlas_draws_only_the_characters_it_holds() {
        let face = Typeface::load();
        let atlas = face.atlas("01", 20.0);
        assert_eq!(atlas.width("0101"), 2 * atlas.width("01"));
        assert_eq!(atlas.width("x"), 0);
    }
}
