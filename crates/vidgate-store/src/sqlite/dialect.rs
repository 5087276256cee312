//! The SQL fragments where SQLite differs from PostgreSQL, named for the shared modules
//! (src/sql/) that splice them into statements written once.

/// Row locks: none. Every write transaction holds SQLite's single write lock from its
/// `BEGIN IMMEDIATE`, so what it reads cannot change under it.
pub(super) const FOR_UPDATE: &str = "";

/// `POSITION_OF(haystack, needle) > 0`: whether a text contains another.
pub(super) const POSITION_OF: &str = "instr";

/// A compare-and-set claim: an `UPDATE` of `table` setting `set` on the rows `pick` (a
/// `SELECT id FROM table … LIMIT …`) chooses, returning `returning`. One statement under
/// the single writer, so the pick and the lease are atomic and two claimers never take
/// one row.
pub(super) fn claim_rows(table: &str, pick: &str, set: &str, returning: &str) -> String {
    format!("UPDATE {table} SET {set} WHERE id IN ({pick}) RETURNING {returning}")
}

/// The rows whose files are still kept, in the very words of the partial index
/// `tasks_files_due` (SQLite uses a partial index only when the query repeats its terms).
pub(super) const FILES_KEPT: &str = "files_expired = 0";

/// A task list's filter on one metadata entry: parameter `key` holds `value`.
pub(super) fn metadata_is(key: &str, value: &str) -> String {
    format!("EXISTS (SELECT 1 FROM json_each(params, '$.metadata') WHERE key = {key} AND value = {value})")
}
