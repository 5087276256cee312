//! The SQL fragments where PostgreSQL differs from SQLite, named for the shared modules
//! (src/sql/) that splice them into statements written once.

/// Locks the rows a read-check-write sequence depends on until its transaction ends
/// (READ COMMITTED runs transactions side by side; see the module doc of `postgres`).
pub(super) const FOR_UPDATE: &str = " FOR UPDATE";

/// `POSITION_OF(haystack, needle) > 0`: whether a text contains another.
pub(super) const POSITION_OF: &str = "strpos";
