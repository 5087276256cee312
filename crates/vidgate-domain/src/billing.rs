//! What a task costs: the hold at submit and the capture at completion (docs/api.md §7).

use crate::money::Usd;

/// The estimate held at submit: rate × requested seconds.
pub fn estimate(rate_per_second: Usd, requested_seconds: u32) -> Usd {
    Usd(rate_per_second.micros() * i64::from(requested_seconds))
}

/// The frame rate assumed when a track does not say (the common rate of generated video).
pub const DEFAULT_FPS: f64 = 24.0;

/// Billed milliseconds: the requested length when the delivered video track is at least
/// the request minus one frame, otherwise the delivered length (never more than requested).
///
/// `delivered_video_ms` is the probe's length rounded to the nearest millisecond, so the
/// true length is at least `delivered − 0.5` ms; the frame is `1000 / fps` ms, not rounded
/// (rounding it up would bill a full request for a delivery up to a millisecond shorter
/// than one frame short). In halves of a millisecond: `2·(requested − delivered) − 1 ≤ 2000 / fps`.
pub fn billed_ms(requested_seconds: u32, delivered_video_ms: u64, fps: f64) -> u64 {
    let requested_ms = u64::from(requested_seconds) * 1000;
    let delivered = delivered_video_ms.min(requested_ms);
    let fps = if fps.is_finite() && fps > 0.0 { fps } else { DEFAULT_FPS };
    let short_halves = (2 * (requested_ms - delivered)).saturating_sub(1);
    if short_halves as f64 * fps <= 2000.0 { requested_ms } else { delivered }
}

/// rate × milliseconds / 1000, rounded half-up to the micro-dollar.
pub fn price_for_ms(rate_per_second: Usd, ms: u64) -> Usd {
    let product = i128::from(rate_per_second.micros()) * i128::from(ms);
    Usd(((product + 500) / 1000) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_length_delivery_bills_the_request() {
        assert_eq!(billed_ms(5, 5000, 24.0), 5000);
        assert_eq!(billed_ms(5, 4959, 24.0), 5000, "one frame short still bills the request");
        assert_eq!(billed_ms(5, 6000, 24.0), 5000, "never more than requested");
    }

    #[test]
    fn a_short_delivery_bills_what_was_delivered() {
        assert_eq!(billed_ms(5, 4000, 24.0), 4000);
        assert_eq!(billed_ms(10, 8000, 24.0), 8000);
    }

    #[test]
    fn one_frame_short_is_exact_to_the_frame_not_the_rounded_frame() {
        // 30 fps: a frame is 33.3 ms; 4966 ms (at most 4966.5) is more than a frame short
        assert_eq!(billed_ms(5, 4966, 30.0), 4966);
        assert_eq!(billed_ms(5, 4967, 30.0), 5000);
        // 24 fps: a frame is 41.7 ms; 4958 ms may be 4958.4, one frame short (4958.3)
        assert_eq!(billed_ms(5, 4958, 24.0), 5000);
        assert_eq!(billed_ms(5, 4957, 24.0), 4957);
        assert_eq!(billed_ms(5, 4957, 0.0), 4957, "an unknown rate is taken as 24 fps");
        assert_eq!(billed_ms(5, 4958, f64::NAN), 5000);
    }

    #[test]
    fn prices_round_half_up_to_the_micro_dollar() {
        let rate = Usd::parse_decimal("0.4").unwrap();
        assert_eq!(price_for_ms(rate, 5000), Usd(2_000_000));
        assert_eq!(price_for_ms(Usd(3), 500), Usd(2), "1.5 micro-dollars rounds up");
        assert_eq!(price_for_ms(Usd(3), 100), Usd(0), "0.3 rounds down");
        assert_eq!(estimate(rate, 10), Usd(4_000_000));
    }
}
