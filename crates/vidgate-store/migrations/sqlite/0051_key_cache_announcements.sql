-- PostgreSQL announces key and account changes to every replica
-- (../postgres/0051_key_cache_announcements.sql). A SQLite file serves one process, whose
-- own writes drop what its key cache holds: nothing to change here; the version is recorded
-- so the two schemas keep one numbering.
SELECT 1;
