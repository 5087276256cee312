-- The usage roll-ups (GET /v1/usage, /admin/v1/usage, the console's usage page) group the
-- charged tasks of a period: this index holds every column they read, so a roll-up reads
-- the index alone instead of each task's row. Mirrors ../postgres/0052_usage_index.sql.
CREATE INDEX tasks_usage ON tasks(completed_at, mode, model, account_id, key_id, status, billed_ms, used_micros)
    WHERE completed_at IS NOT NULL;
