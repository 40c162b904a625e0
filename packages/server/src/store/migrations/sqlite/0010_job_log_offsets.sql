-- A job's log lines get their offset in the job's log (0, 1, 2, …): the log is read a page at a
-- time from an offset, and a remote worker that resends a chunk after a reconnect has the lines
-- it already sent dropped by the unique index instead of stored twice.
ALTER TABLE job_logs ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
UPDATE job_logs SET seq = (SELECT count(*) FROM job_logs o WHERE o.job_id = job_logs.job_id AND o.id < job_logs.id);
CREATE UNIQUE INDEX job_logs_seq ON job_logs(job_id, seq);
DROP INDEX job_logs_job;
