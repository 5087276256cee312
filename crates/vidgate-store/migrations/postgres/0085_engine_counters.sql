-- The engine's counts for a task (failed polls and downloads, unsent submits, a chain's
-- earlier submits) get their own column instead of keys inside the provider's
-- `upstream_state`. Unfinished tasks carry theirs over; finished ones keep their state as
-- it was (nothing reads their counts again).
ALTER TABLE tasks ADD COLUMN engine_counters JSONB NOT NULL DEFAULT '{}';

UPDATE tasks
SET engine_counters = jsonb_build_object(
        'fetch_failures', COALESCE((upstream_state->>'fetch_failures')::BIGINT, 0),
        'poll_failures', COALESCE((upstream_state->>'poll_failures')::BIGINT, 0),
        'unsent_submits', COALESCE((upstream_state->>'unsent_submits')::BIGINT, 0),
        'chain_submits_before', COALESCE((upstream_state->>'chain_submits_before')::BIGINT, 0)),
    upstream_state = upstream_state - 'fetch_failures' - 'poll_failures' - 'unsent_submits' - 'chain_submits_before'
WHERE phase <> 'done' AND jsonb_typeof(upstream_state) = 'object';
