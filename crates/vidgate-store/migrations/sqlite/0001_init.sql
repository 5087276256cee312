-- vidgate schema v1 (SQLite). Times are UTC epoch milliseconds; money is micro-dollars.

CREATE TABLE settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE accounts (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    webhook_secret  TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    -- running totals, always equal to the ledger sums (checked by the conformance suite)
    credited_micros INTEGER NOT NULL DEFAULT 0,
    held_micros     INTEGER NOT NULL DEFAULT 0,
    spent_micros    INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE api_keys (
    id                TEXT PRIMARY KEY,
    account_id        TEXT NOT NULL REFERENCES accounts(id),
    name              TEXT NOT NULL,
    mode              TEXT NOT NULL CHECK (mode IN ('live', 'test')),
    hash              TEXT NOT NULL,
    masked            TEXT NOT NULL,
    quota_micros      INTEGER,
    spend_limits      TEXT NOT NULL DEFAULT '{}',
    concurrency_limit INTEGER,
    models            TEXT,
    expires_at        INTEGER,
    ip_allow          TEXT NOT NULL DEFAULT '[]',
    created_at        INTEGER NOT NULL,
    revoked_at        INTEGER
);
CREATE INDEX api_keys_account ON api_keys(account_id);

CREATE TABLE tasks (
    id               TEXT PRIMARY KEY,
    account_id       TEXT NOT NULL REFERENCES accounts(id),
    key_id           TEXT NOT NULL REFERENCES api_keys(id),
    mode             TEXT NOT NULL,
    model            TEXT NOT NULL,
    params           TEXT NOT NULL,
    out_task_id      TEXT,
    fingerprint      TEXT NOT NULL,
    status           TEXT NOT NULL,
    version          INTEGER NOT NULL DEFAULT 1,
    progress         INTEGER NOT NULL DEFAULT 0,
    estimated_micros INTEGER NOT NULL,
    used_micros      INTEGER NOT NULL DEFAULT 0,
    created_at       INTEGER NOT NULL,
    started_at       INTEGER,
    completed_at     INTEGER,
    error_code       TEXT,
    error_message    TEXT,
    result           TEXT,
    files_expire_at  INTEGER,
    files_expired    INTEGER NOT NULL DEFAULT 0,
    provider         TEXT NOT NULL,
    phase            TEXT NOT NULL,
    upstream_job     TEXT,
    upstream_state   TEXT NOT NULL DEFAULT 'null',
    submitting       INTEGER NOT NULL DEFAULT 0,
    submit_attempts  INTEGER NOT NULL DEFAULT 0,
    deadline_at      INTEGER,
    possible_orphan  INTEGER NOT NULL DEFAULT 0,
    plan             TEXT NOT NULL DEFAULT 'null',
    upstream_cost_micros INTEGER NOT NULL DEFAULT 0,
    -- the lease of the engine (lease pattern with a fencing token)
    next_run_at      INTEGER NOT NULL,
    lease_owner      TEXT,
    lease_token      INTEGER NOT NULL DEFAULT 0,
    lease_until      INTEGER,
    attempts         INTEGER NOT NULL DEFAULT 0
);
-- idempotency keys are scoped by (account, mode) and live as long as their task
CREATE UNIQUE INDEX tasks_out_task_id ON tasks(account_id, mode, out_task_id) WHERE out_task_id IS NOT NULL;
CREATE INDEX tasks_due ON tasks(next_run_at) WHERE phase <> 'done';
CREATE INDEX tasks_account ON tasks(account_id, id);
CREATE INDEX tasks_key_open ON tasks(key_id) WHERE phase <> 'done';
CREATE INDEX tasks_files_due ON tasks(files_expire_at) WHERE files_expired = 0 AND files_expire_at IS NOT NULL;

CREATE TABLE task_inputs (
    task_id TEXT PRIMARY KEY REFERENCES tasks(id),
    mime    TEXT NOT NULL,
    sha256  TEXT NOT NULL,
    bytes   BLOB NOT NULL
);

-- append-only: rows are only ever inserted
CREATE TABLE ledger (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    task_id    TEXT,
    key_id     TEXT,
    kind       TEXT NOT NULL CHECK (kind IN ('credit', 'hold', 'capture', 'release')),
    amount_micros INTEGER NOT NULL,
    note       TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL
);
CREATE INDEX ledger_account ON ledger(account_id, created_at);
CREATE INDEX ledger_key ON ledger(key_id, created_at);
CREATE INDEX ledger_task ON ledger(task_id);

-- webhook deliveries waiting or done, written with the terminal transition
CREATE TABLE webhook_outbox (
    id           TEXT PRIMARY KEY,
    task_id      TEXT NOT NULL REFERENCES tasks(id),
    account_id   TEXT NOT NULL,
    url          TEXT NOT NULL,
    payload      TEXT NOT NULL,
    state        TEXT NOT NULL DEFAULT 'pending',
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_run_at  INTEGER NOT NULL,
    lease_token  INTEGER NOT NULL DEFAULT 0,
    lease_until  INTEGER,
    created_at   INTEGER NOT NULL
);
CREATE INDEX webhook_outbox_due ON webhook_outbox(next_run_at) WHERE state = 'pending';
