-- Management changes (docs/api.md §12): suspending an account, disabling a key, and the
-- audit list of every management change.

ALTER TABLE accounts ADD COLUMN suspended INTEGER NOT NULL DEFAULT 0;
ALTER TABLE api_keys ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0;

-- Append-only: rows are only inserted. `changes` is a JSON object of the fields set or
-- changed with their new values, never a secret.
CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at INTEGER NOT NULL,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    target_id  TEXT NOT NULL,
    changes    TEXT NOT NULL
);
CREATE INDEX audit_log_target ON audit_log(target_id, id);
