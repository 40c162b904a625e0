-- job_logs without its foreign key to jobs: the key's ON DELETE CASCADE ran a row-level trigger,
-- a query of its own, for every deleted job (a queue with retention 0 deletes each job as it
-- finishes; the retention sweep deletes the history), and a key check for every stored log line.
-- One statement-level trigger deletes the logs of all the jobs a statement deleted, in one query
-- over its transition table. Log writes lock their job FOR KEY SHARE instead of the key check
-- (jobs/sql/logs.ts, manage.ts), so a line is never stored for a job being deleted: the delete
-- waits for the write to commit and its trigger then sees the line, or the write waits for the
-- delete and finds no job. Measured in docs/performance.md ("Issue 14, events and job_logs").
ALTER TABLE job_logs DROP CONSTRAINT IF EXISTS job_logs_job_id_fkey;
CREATE FUNCTION edgeforge_delete_job_logs() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN DELETE FROM job_logs WHERE job_id IN (SELECT id FROM deleted_jobs); RETURN NULL; END $$;
CREATE TRIGGER jobs_delete_logs AFTER DELETE ON jobs REFERENCING OLD TABLE AS deleted_jobs FOR EACH STATEMENT EXECUTE FUNCTION edgeforge_delete_job_logs();
