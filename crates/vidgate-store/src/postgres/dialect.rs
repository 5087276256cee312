//! The SQL fragments where PostgreSQL differs from SQLite, named for the shared modules
//! (src/sql/) that splice them into statements written once.

/// Locks the rows a read-check-write sequence depends on until its transaction ends
/// (READ COMMITTED runs transactions side by side; see the module doc of `postgres`).
pub(super) const FOR_UPDATE: &str = " FOR UPDATE";

/// `POSITION_OF(haystack, needle) > 0`: whether a text contains another.
pub(super) const POSITION_OF: &str = "strpos";

/// A claim that replicas run side by side: an `UPDATE` of `table` setting `set` on the
/// rows `pick` (a `SELECT id FROM table … LIMIT …`) chooses, returning `returning`. The
/// pick skips rows another claimer has locked (`FOR UPDATE SKIP LOCKED`), so concurrent
/// claims take disjoint rows without waiting on each other.
pub(super) fn claim_rows(table: &str, pick: &str, set: &str, returning: &str) -> String {
    format!(
        "WITH due(due_id) AS ({pick} FOR UPDATE SKIP LOCKED) \
         UPDATE {table} SET {set} FROM due WHERE id = due.due_id RETURNING {returning}"
    )
}

/// The rows whose files are still kept, in the words of the partial index
/// `tasks_files_due`.
pub(super) const FILES_KEPT: &str = "NOT files_expired";

/// A task list's filter on one metadata entry: parameter `key` holds `value`.
pub(super) fn metadata_is(key: &str, value: &str) -> String {
    format!("params->'metadata'->>{key} = {value}")
}
