-- A revoked API key is announced at commit to every replica (LISTEN vidgate_changes;
-- postgres/listen.rs reads `key <key id>`), so each drops it from its in-memory key cache at
-- once (`auth.key_cache_ms`). Mirrors ../sqlite/0041_key_announcements.sql.
CREATE FUNCTION vidgate_announce_key() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.revoked_at IS DISTINCT FROM OLD.revoked_at THEN
        PERFORM pg_notify('vidgate_changes', 'key ' || NEW.id);
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER api_keys_announce AFTER UPDATE ON api_keys
    FOR EACH ROW EXECUTE FUNCTION vidgate_announce_key();
