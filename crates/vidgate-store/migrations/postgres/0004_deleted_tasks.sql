-- Deleting a task (OpenAI `DELETE /v1/videos/{id}`): the row stays (the ledger refers to
-- it, usage counts it) but every client read treats it as unknown. Times are UTC epoch ms.
-- Mirrors ../sqlite/0004_deleted_tasks.sql.
ALTER TABLE tasks ADD COLUMN deleted_at BIGINT;

-- A deleted task's idempotency key is free again: it lives as long as the task a client
-- can see. (The submit's `INSERT … ON CONFLICT` names this predicate; keep them equal.)
DROP INDEX tasks_out_task_id;
CREATE UNIQUE INDEX tasks_out_task_id ON tasks(account_id, mode, out_task_id)
    WHERE out_task_id IS NOT NULL AND deleted_at IS NULL;
