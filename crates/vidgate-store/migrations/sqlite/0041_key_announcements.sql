-- PostgreSQL announces revoked API keys to every replica (../postgres/0041_key_announcements.sql).
-- A SQLite file serves one process, whose revoke drops the key from its own cache: nothing to
-- change here; the version is recorded so the two schemas keep one numbering.
SELECT 1;
