-- Webhook delivery: the outbox is claimed like tasks (a lease with a fencing token), and
-- every attempt is recorded. Times are UTC epoch milliseconds. Mirrors
-- ../sqlite/0002_webhook_attempts.sql.

-- Who holds the lease (so a graceful shutdown can hand its leases back), and when the
-- message reached a final state ('delivered', or 'failed' after the last retry).
ALTER TABLE webhook_outbox ADD COLUMN lease_owner TEXT;
ALTER TABLE webhook_outbox ADD COLUMN finished_at BIGINT;
CREATE INDEX webhook_outbox_task ON webhook_outbox(task_id);

-- append-only: one row per attempt, written with the outbox row's move in one transaction
CREATE TABLE webhook_attempts (
    outbox_id     TEXT COLLATE "C" NOT NULL REFERENCES webhook_outbox(id),
    attempt       BIGINT NOT NULL,
    attempted_at  BIGINT NOT NULL,
    outcome       TEXT NOT NULL CHECK (outcome IN ('delivered', 'retry', 'gave_up')),
    http_status   BIGINT,
    error         TEXT,
    duration_ms   BIGINT NOT NULL,
    next_retry_at BIGINT,
    PRIMARY KEY (outbox_id, attempt)
);
