-- Money: per-key running totals (what a key's lifetime quota counts, read in O(1)), the
-- billed length of every charged task (usage `seconds`), and the indexes of the spend
-- windows and the usage roll-ups. Money is micro-dollars; times UTC epoch milliseconds.
-- Mirrors ../sqlite/0003_money.sql (the back-fills read JSONB instead of json_extract).

-- Always equal to the ledger's sums over the key's entries (checked by the conformance
-- suite): held = holds − captures − releases, spent = captures. Live tasks only.
ALTER TABLE api_keys ADD COLUMN held_micros BIGINT NOT NULL DEFAULT 0;
ALTER TABLE api_keys ADD COLUMN spent_micros BIGINT NOT NULL DEFAULT 0;
UPDATE api_keys SET
    spent_micros = (SELECT COALESCE(SUM(amount_micros), 0) FROM ledger WHERE key_id = api_keys.id AND kind = 'capture'),
    held_micros = (SELECT COALESCE(SUM(CASE kind WHEN 'hold' THEN amount_micros ELSE -amount_micros END), 0)
                   FROM ledger WHERE key_id = api_keys.id AND kind IN ('hold', 'capture', 'release'));

-- Milliseconds billed, written by the terminal transition: the delivered length of a
-- completed task (docs/api.md §7), the requested length of a cancel under `charge`, else 0.
ALTER TABLE tasks ADD COLUMN billed_ms BIGINT NOT NULL DEFAULT 0;
UPDATE tasks SET billed_ms = COALESCE((result->>'billed_ms')::BIGINT, 0)
    WHERE status = 'completed';
UPDATE tasks SET billed_ms = (params->>'duration_seconds')::BIGINT * 1000
    WHERE status = 'cancelled' AND used_micros > 0;

-- spend windows: a key's tasks by creation time
CREATE INDEX tasks_key_created ON tasks(key_id, created_at);
-- usage: tasks by the time of their terminal transition (= the capture's time)
CREATE INDEX tasks_completed ON tasks(completed_at) WHERE completed_at IS NOT NULL;
CREATE INDEX tasks_account_completed ON tasks(account_id, completed_at) WHERE completed_at IS NOT NULL;
