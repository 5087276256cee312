-- Several replicas on one database (docs/deploy.md "Several replicas"). Mirrors
-- ../sqlite/0005_replicas.sql, plus the change announcements only PostgreSQL has.

-- The retention sweeper claims its batch with a lease (UTC epoch ms), so two replicas
-- never remove the files of one task at once.
ALTER TABLE tasks ADD COLUMN sweep_until BIGINT;

-- Changes announced at commit to every replica (LISTEN vidgate_changes; postgres/listen.rs
-- reads them): `due <task>` when a task may be claimable now (inserted, rerouted, or its
-- lease given back while due), `changed <task>` when a client can see the change (its
-- version moved), `webhook <task>` when a webhook message became deliverable (written, or
-- its lease given back). Claims, heartbeats and the submit marker announce nothing.
-- pg_notify folds equal announcements of one transaction into one.
CREATE FUNCTION vidgate_announce_task() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM pg_notify('vidgate_changes', 'due ' || NEW.id);
        RETURN NULL;
    END IF;
    IF NEW.version <> OLD.version THEN
        PERFORM pg_notify('vidgate_changes', 'changed ' || NEW.id);
    END IF;
    IF NEW.phase <> 'done' AND OLD.lease_until IS NOT NULL AND NEW.lease_until IS NULL
       AND NEW.next_run_at <= (EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT THEN
        PERFORM pg_notify('vidgate_changes', 'due ' || NEW.id);
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER tasks_announce AFTER INSERT OR UPDATE ON tasks
    FOR EACH ROW EXECUTE FUNCTION vidgate_announce_task();

CREATE FUNCTION vidgate_announce_webhook() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.state = 'pending' AND (TG_OP = 'INSERT'
       OR (OLD.lease_until IS NOT NULL AND NEW.lease_until IS NULL AND NEW.attempts = OLD.attempts)) THEN
        PERFORM pg_notify('vidgate_changes', 'webhook ' || NEW.task_id);
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER webhook_outbox_announce AFTER INSERT OR UPDATE ON webhook_outbox
    FOR EACH ROW EXECUTE FUNCTION vidgate_announce_webhook();
