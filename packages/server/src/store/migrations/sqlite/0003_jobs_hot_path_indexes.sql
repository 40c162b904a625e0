-- The indexes a claim and a completion write on SQLite. SQLite rewrites an index entry when one of
-- its columns changes, and `status` changes in both: jobs_queue_status_id and jobs_status_id (both
-- over every row) cost a delete and an insert each per transition, four b-tree writes per job for
-- listings only. As on PostgreSQL (its 0003), the listing indexes leave out the two states of the
-- hot path: 'running' rows are few (bounded by the workers) and reached through jobs_running;
-- 'succeeded' rows are listed by walking the primary key (id order), where they are the common case.
DROP INDEX jobs_queue_status_id;
DROP INDEX jobs_status_id;
CREATE INDEX jobs_listing ON jobs(queue, status, id) WHERE status NOT IN ('running', 'succeeded');
CREATE INDEX jobs_status_listing ON jobs(status, id) WHERE status NOT IN ('running', 'succeeded');
