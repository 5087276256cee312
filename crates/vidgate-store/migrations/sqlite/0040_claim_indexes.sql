-- The engine's claim reads only unfinished work (sqlite/claim.rs): partial indexes hold the
-- rows of tasks not yet done, so a claim costs the same whatever the number of finished
-- tasks, and a provider at its cap costs nothing however many submits wait for it.
-- Mirrors ../postgres/0040_claim_indexes.sql.

-- due polls and fetches (replaces tasks_due, which also held the queued submits)
DROP INDEX tasks_due;
CREATE INDEX tasks_due_poll ON tasks(next_run_at, id) WHERE phase IN ('poll', 'fetch');
-- jobs in flight per provider and account (the cap and its fair shares)
CREATE INDEX tasks_in_flight ON tasks(provider, account_id, phase) WHERE phase IN ('poll', 'fetch');
-- waiting submits per provider and account, earliest due first
CREATE INDEX tasks_submits ON tasks(provider, account_id, next_run_at, id) WHERE phase = 'submit';
-- submits being sent (leased) also hold a slot of their provider
CREATE INDEX tasks_submits_leased ON tasks(lease_until) WHERE phase = 'submit' AND lease_until IS NOT NULL;
-- open tasks per provider and status (the engine's gauges, every few seconds), read from
-- the index alone
CREATE INDEX tasks_open_status ON tasks(provider, status, phase) WHERE phase <> 'done';
