//! What a task costs: the hold at submit and the capture at completion (API.md §7).

use crate::money::Usd;

/// The estimate held at submit: rate × requested seconds.
pub fn estimate(rate_per_second: Usd, requested_seconds: u32) -> Usd {
    Usd(rate_per_second.micros() * i64::from(requested_seconds))
}

/// Billed milliseconds: the requested length when the delivered video track is at least
/// the request minus one frame, otherwise the delivered length (never more than requested).
pub fn billed_ms(requested_seconds: u32, delivered_video_ms: u64, fps: f64) -> u64 {
    let requested_ms = u64::from(requested_seconds) * 1000;
    let frame_ms = if fps > 0.0 { (1000.0 / fps).ceil() as u64 } else { 42 };
    if delivered_video_ms + frame_ms >= requested_ms { requested_ms } else { delivered_video_ms.min(requested_ms) }
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
    fn prices_round_half_up_to_the_micro_dollar() {
        let rate = Usd::parse_decimal("0.4").unwrap();
        assert_eq!(price_for_ms(rate, 5000), Usd(2_000_000));
        assert_eq!(price_for_ms(Usd(3), 500), Usd(2), "1.5 micro-dollars rounds up");
        assert_eq!(price_for_ms(Usd(3), 100), Usd(0), "0.3 rounds down");
        assert_eq!(estimate(rate, 10), Usd(4_000_000));
    }
}
