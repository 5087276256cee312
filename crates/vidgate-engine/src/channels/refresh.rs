//! Keeping every replica's picture current: the shared controls re-read every [`REFRESH`]
//! (and at once when another replica announced a change), spend every [`SPEND_REFRESH`],
//! and the per-upstream gauges set from them.

use std::time::Duration;

use vidgate_store::Millis;

/// How often the shared controls are read again.
pub const REFRESH: Duration = Duration::from_millis(500);
/// How often spend is read again from the tasks.
pub const SPEND_REFRESH: Duration = Duration::from_secs(5);

/// The start of `now`'s UTC day and of its UTC calendar month.
pub fn day_and_month_start(now: Millis) -> (Millis, Millis) {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(now) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let day = t.replace_time(time::Time::MIDNIGHT);
    let month = day.replace_day(1).unwrap_or(day);
    let ms = |t: time::OffsetDateTime| (t.unix_timestamp_nanos() / 1_000_000) as Millis;
    (ms(day), ms(month))
}

/// Reads the shared controls every [`REFRESH`] and spend every [`SPEND_REFRESH`] until
/// `shutdown` resolves.
pub async fn refresh_loop(
    engine: std::sync::Arc<crate::worker::Engine>,
    shutdown: impl std::future::Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    let mut spend_at = tokio::time::Instant::now();
    loop {
        engine.channels.refresh_controls(engine.store.as_ref()).await;
        if tokio::time::Instant::now() >= spend_at {
            let now = crate::clock::now_ms();
            engine.channels.refresh_spend(engine.store.as_ref(), now).await;
            engine.channels.record_gauges(|name| engine.at_cap.contains(name), now);
            spend_at = tokio::time::Instant::now() + SPEND_REFRESH;
        }
        tokio::select! {
            _ = &mut shutdown => return,
            _ = tokio::time::sleep(REFRESH) => {}
            _ = engine.channels.announced.notified() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_and_months_start_at_utc_midnight() {
        // 2026-12-05T02:01:15.500Z
        let now = 1_796_436_075_500;
        assert_eq!(day_and_month_start(now), (1_796_428_800_000, 1_796_083_200_000));
    }
}
