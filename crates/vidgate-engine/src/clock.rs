//! The wall clock, in the store's unit (UTC milliseconds).

use vidgate_store::Millis;

/// Now, in UTC milliseconds since the epoch.
pub fn now_ms() -> Millis {
    let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock after 1970");
    d.as_millis() as Millis
}

/// RFC 3339 UTC text of a time in milliseconds, e.g. `2026-11-24T03:24:00.123Z`.
pub fn rfc3339(ms: Millis) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}
