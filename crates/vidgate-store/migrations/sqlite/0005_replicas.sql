-- Several processes on one database (docs/deploy.md "Several replicas"). SQLite serves one
-- process, but keeps the same schema as ../postgres/0005_replicas.sql: the retention
-- sweeper claims its batch with a lease (UTC epoch ms), so two sweepers never remove the
-- files of one task at once. (The change announcements of PostgreSQL have no SQLite side.)
ALTER TABLE tasks ADD COLUMN sweep_until INTEGER;
