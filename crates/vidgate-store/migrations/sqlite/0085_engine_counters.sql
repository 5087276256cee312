-- The engine's counts for a task (failed polls and downloads, unsent submits, a chain's
-- earlier submits) get their own column instead of keys inside the provider's
-- `upstream_state`. Unfinished tasks carry theirs over; finished ones keep their state as
-- it was (nothing reads their counts again).
ALTER TABLE tasks ADD COLUMN engine_counters TEXT NOT NULL DEFAULT '{}';

UPDATE tasks
SET engine_counters = json_object(
        'fetch_failures', COALESCE(json_extract(upstream_state, '$.fetch_failures'), 0),
        'poll_failures', COALESCE(json_extract(upstream_state, '$.poll_failures'), 0),
        'unsent_submits', COALESCE(json_extract(upstream_state, '$.unsent_submits'), 0),
        'chain_submits_before', COALESCE(json_extract(upstream_state, '$.chain_submits_before'), 0)),
    upstream_state = json_remove(upstream_state, '$.fetch_failures', '$.poll_failures', '$.unsent_submits',
        '$.chain_submits_before')
WHERE phase <> 'done' AND json_valid(upstream_state) AND json_type(upstream_state) = 'object';
