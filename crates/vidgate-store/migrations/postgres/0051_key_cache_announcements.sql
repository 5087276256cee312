-- Every change that decides whether a key authenticates is announced at commit, so each
-- replica drops what its key cache (`auth.key_cache_ms`) holds at once: a key revoked,
-- disabled, renamed or given new limits (`key <key id>`), and an account suspended or
-- resumed (`account <account id>`, for all its keys). Replaces the revocation-only trigger
-- function of 0041. Mirrors ../sqlite/0051_key_cache_announcements.sql.
CREATE OR REPLACE FUNCTION vidgate_announce_key() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Not the spend counters (held_micros, spent_micros): they move with every submit.
    IF (NEW.name, NEW.quota_micros, NEW.spend_limits, NEW.concurrency_limit, NEW.models, NEW.expires_at,
        NEW.ip_allow, NEW.revoked_at, NEW.disabled)
       IS DISTINCT FROM (OLD.name, OLD.quota_micros, OLD.spend_limits, OLD.concurrency_limit, OLD.models,
        OLD.expires_at, OLD.ip_allow, OLD.revoked_at, OLD.disabled) THEN
        PERFORM pg_notify('vidgate_changes', 'key ' || NEW.id);
    END IF;
    RETURN NULL;
END;
$$;

CREATE FUNCTION vidgate_announce_account() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.suspended IS DISTINCT FROM OLD.suspended THEN
        PERFORM pg_notify('vidgate_changes', 'account ' || NEW.id);
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER accounts_announce AFTER UPDATE ON accounts
    FOR EACH ROW EXECUTE FUNCTION vidgate_announce_account();
