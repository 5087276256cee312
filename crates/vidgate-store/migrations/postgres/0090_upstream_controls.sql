-- Routing and health of each upstream, shared by every replica (docs/channels.md): the
-- operator's switches (disabled, weight and priority overrides) and the circuit breaker's
-- state. Rows are written only when a state changes, never per request. Mirrors
-- ../sqlite/0090_upstream_controls.sql.
CREATE TABLE upstream_controls (
    name          TEXT COLLATE "C" PRIMARY KEY,
    disabled      BOOLEAN NOT NULL DEFAULT false,
    weight        BIGINT,
    priority      BIGINT,
    -- closed, open (ejected until open_until, then one half-open probe) or auth_failed
    -- (the upstream refused the credentials: out until an operator resets it).
    health        TEXT NOT NULL DEFAULT 'closed',
    open_until    BIGINT NOT NULL DEFAULT 0,
    -- A rate limit (429) cools it down until then, without counting as a breakage.
    cool_until    BIGINT NOT NULL DEFAULT 0,
    last_error    TEXT NOT NULL DEFAULT '',
    last_error_at BIGINT NOT NULL DEFAULT 0,
    changed_at    BIGINT NOT NULL
);

-- Spend per upstream per day and month (budgets): a range of creation times.
CREATE INDEX tasks_created_cost ON tasks(created_at, provider, upstream_cost_micros);

-- Every change is announced at commit, so each replica re-reads the controls at once.
CREATE FUNCTION vidgate_announce_upstream() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('vidgate_changes', 'upstream ' || NEW.name);
    RETURN NULL;
END;
$$;
CREATE TRIGGER upstream_controls_announce AFTER INSERT OR UPDATE ON upstream_controls
    FOR EACH ROW EXECUTE FUNCTION vidgate_announce_upstream();
