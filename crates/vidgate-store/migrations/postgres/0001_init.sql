-- vidgate schema v1 (PostgreSQL), the same tables as ../sqlite/0001_init.sql. Times are UTC
-- epoch milliseconds and money is micro-dollars, both BIGINT (every SQLite INTEGER is a
-- BIGINT here, so both backends decode the same i64). Differences, and why:
-- - flags (files_expired, submitting, possible_orphan) are BOOLEAN, not 0/1;
-- - JSON columns are JSONB (the SQLite side keeps TEXT JSON); values round-trip through
--   serde either way, and JSONB lets the metadata filter use `->>`;
-- - ids and every other compared or ordered TEXT column use COLLATE "C": SQLite compares
--   TEXT bytewise, and listings page by `id < $after`, which must not depend on the
--   server's locale;
-- - the engine's claim reads polls and submits separately (see postgres/claim.rs), so the
--   due index is split in two partial indexes.

CREATE TABLE settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE accounts (
    id              TEXT COLLATE "C" PRIMARY KEY,
    name            TEXT NOT NULL,
    webhook_secret  TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    -- running totals, always equal to the ledger sums (checked by the conformance suite)
    credited_micros BIGINT NOT NULL DEFAULT 0,
    held_micros     BIGINT NOT NULL DEFAULT 0,
    spent_micros    BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE api_keys (
    id                TEXT COLLATE "C" PRIMARY KEY,
    account_id        TEXT COLLATE "C" NOT NULL REFERENCES accounts(id),
    name              TEXT NOT NULL,
    mode              TEXT COLLATE "C" NOT NULL CHECK (mode IN ('live', 'test')),
    hash              TEXT NOT NULL,
    masked            TEXT NOT NULL,
    quota_micros      BIGINT,
    spend_limits      JSONB NOT NULL DEFAULT '{}',
    concurrency_limit BIGINT,
    models            JSONB,
    expires_at        BIGINT,
    ip_allow          JSONB NOT NULL DEFAULT '[]',
    created_at        BIGINT NOT NULL,
    revoked_at        BIGINT
);
CREATE INDEX api_keys_account ON api_keys(account_id);

CREATE TABLE tasks (
    id               TEXT COLLATE "C" PRIMARY KEY,
    account_id       TEXT COLLATE "C" NOT NULL REFERENCES accounts(id),
    key_id           TEXT COLLATE "C" NOT NULL REFERENCES api_keys(id),
    mode             TEXT COLLATE "C" NOT NULL,
    model            TEXT COLLATE "C" NOT NULL,
    params           JSONB NOT NULL,
    out_task_id      TEXT COLLATE "C",
    fingerprint      TEXT NOT NULL,
    status           TEXT COLLATE "C" NOT NULL,
    version          BIGINT NOT NULL DEFAULT 1,
    progress         BIGINT NOT NULL DEFAULT 0,
    estimated_micros BIGINT NOT NULL,
    used_micros      BIGINT NOT NULL DEFAULT 0,
    created_at       BIGINT NOT NULL,
    started_at       BIGINT,
    completed_at     BIGINT,
    error_code       TEXT,
    error_message    TEXT,
    result           JSONB,
    files_expire_at  BIGINT,
    files_expired    BOOLEAN NOT NULL DEFAULT FALSE,
    provider         TEXT COLLATE "C" NOT NULL,
    phase            TEXT COLLATE "C" NOT NULL,
    upstream_job     TEXT,
    upstream_state   JSONB NOT NULL DEFAULT 'null',
    submitting       BOOLEAN NOT NULL DEFAULT FALSE,
    submit_attempts  BIGINT NOT NULL DEFAULT 0,
    deadline_at      BIGINT,
    possible_orphan  BOOLEAN NOT NULL DEFAULT FALSE,
    plan             JSONB NOT NULL DEFAULT 'null',
    upstream_cost_micros BIGINT NOT NULL DEFAULT 0,
    -- the lease of the engine (lease pattern with a fencing token)
    next_run_at      BIGINT NOT NULL,
    lease_owner      TEXT,
    lease_token      BIGINT NOT NULL DEFAULT 0,
    lease_until      BIGINT,
    attempts         BIGINT NOT NULL DEFAULT 0
);
-- idempotency keys are scoped by (account, mode) and live as long as their task
CREATE UNIQUE INDEX tasks_out_task_id ON tasks(account_id, mode, out_task_id) WHERE out_task_id IS NOT NULL;
-- due work, as the claim reads it: polls and fetches first, then submits
CREATE INDEX tasks_due_poll ON tasks(next_run_at, id) WHERE phase IN ('poll', 'fetch');
CREATE INDEX tasks_due_submit ON tasks(next_run_at, id) WHERE phase = 'submit';
CREATE INDEX tasks_account ON tasks(account_id, id);
CREATE INDEX tasks_key_open ON tasks(key_id) WHERE phase <> 'done';
CREATE INDEX tasks_files_due ON tasks(files_expire_at) WHERE NOT files_expired AND files_expire_at IS NOT NULL;

CREATE TABLE task_inputs (
    task_id TEXT COLLATE "C" PRIMARY KEY REFERENCES tasks(id),
    mime    TEXT NOT NULL,
    sha256  TEXT NOT NULL,
    bytes   BYTEA NOT NULL
);

-- append-only: rows are only ever inserted. Every transaction that inserts an account's
-- entry holds that account's row lock first, so within one account the ids grow in commit
-- order and paging by `id > after` never skips an entry committed late.
CREATE TABLE ledger (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id TEXT COLLATE "C" NOT NULL REFERENCES accounts(id),
    task_id    TEXT COLLATE "C",
    key_id     TEXT COLLATE "C",
    kind       TEXT NOT NULL CHECK (kind IN ('credit', 'hold', 'capture', 'release')),
    amount_micros BIGINT NOT NULL,
    note       TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);
CREATE INDEX ledger_account ON ledger(account_id, created_at);
CREATE INDEX ledger_key ON ledger(key_id, created_at);
CREATE INDEX ledger_task ON ledger(task_id);

-- webhook deliveries waiting or done, written with the terminal transition
CREATE TABLE webhook_outbox (
    id           TEXT COLLATE "C" PRIMARY KEY,
    task_id      TEXT COLLATE "C" NOT NULL REFERENCES tasks(id),
    account_id   TEXT COLLATE "C" NOT NULL,
    url          TEXT NOT NULL,
    payload      TEXT NOT NULL,
    state        TEXT NOT NULL DEFAULT 'pending',
    attempts     BIGINT NOT NULL DEFAULT 0,
    next_run_at  BIGINT NOT NULL,
    lease_token  BIGINT NOT NULL DEFAULT 0,
    lease_until  BIGINT,
    created_at   BIGINT NOT NULL
);
CREATE INDEX webhook_outbox_due ON webhook_outbox(next_run_at) WHERE state = 'pending';
