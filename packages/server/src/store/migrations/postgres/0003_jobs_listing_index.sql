-- PostgreSQL only. An UPDATE that cannot be HOT adds an entry to every index whose predicate the
-- new row version matches, whether or not the indexed columns changed. jobs_queue_status_id
-- covered every row, so a claim and a completion each wrote it: about a quarter of a job's
-- database time in bench/queue.ts. Its replacement leaves out the two states of the hot path:
-- 'running' rows are listed through jobs_running (few: bounded by the workers), 'succeeded' rows
-- by walking the primary key (id order), where they are the common case.
-- SQLite keeps jobs_queue_status_id: it only rewrites index entries whose columns changed.
DROP INDEX jobs_queue_status_id;
CREATE INDEX jobs_listing ON jobs(queue, status, id) WHERE status NOT IN ('running', 'succeeded');
