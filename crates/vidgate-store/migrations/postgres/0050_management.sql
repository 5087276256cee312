-- Management changes (docs/api.md §12): suspending an account, disabling a key, and the
-- audit list of every management change. Mirrors ../sqlite/0050_management.sql.

ALTER TABLE accounts ADD COLUMN suspended BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE api_keys ADD COLUMN disabled BOOLEAN NOT NULL DEFAULT false;

-- Append-only: rows are only inserted. `changes` is a JSON object of the fields set or
-- changed with their new values, never a secret.
CREATE TABLE audit_log (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    created_at BIGINT NOT NULL,
    actor      TEXT NOT NULL,
    action     TEXT COLLATE "C" NOT NULL,
    target_id  TEXT COLLATE "C" NOT NULL,
    changes    JSONB NOT NULL
);
CREATE INDEX audit_log_target ON audit_log(target_id, id);
