-- PostgreSQL only. Three cuts in what a job costs the server (docs/performance.md, "Issue 14,
-- collation and lean indexes").
--
-- 1. Keys compared byte by byte. Job ids, queue names and owners are ASCII identifiers, but the
--    database's default collation (C.UTF-8 here, often en_US.UTF-8) makes every b-tree comparison
--    of them a locale comparison (varstr_cmp → strcoll), a tenth of the server's CPU in one profile
--    of claims and completions (the A/B after it moved the claim's cost less than its noise). Under
--    "C" the same comparison is a memcmp. Job ids (lowercase hex and '-', what listing cursors
--    compare) sort the same under both; queue names (a-z, 0-9, '_', '.', '-') may list in another
--    order under a language collation such as en_US ('_' and '.' sort by code point now).
--    Every column that is compared with these (joins, the dedup index, events, logs, inputs,
--    artifacts, settings, workers, endpoints) gets the same collation: mixing two implicit
--    collations in one comparison is an error.
ALTER TABLE jobs
  ALTER COLUMN id TYPE TEXT COLLATE "C",
  ALTER COLUMN queue TYPE TEXT COLLATE "C",
  ALTER COLUMN lease_owner TYPE TEXT COLLATE "C",
  ALTER COLUMN dedup_key TYPE TEXT COLLATE "C";
ALTER TABLE job_logs ALTER COLUMN job_id TYPE TEXT COLLATE "C";
ALTER TABLE job_artifacts ALTER COLUMN job_id TYPE TEXT COLLATE "C";
ALTER TABLE job_inputs ALTER COLUMN job_id TYPE TEXT COLLATE "C";
ALTER TABLE events ALTER COLUMN queue TYPE TEXT COLLATE "C", ALTER COLUMN job_id TYPE TEXT COLLATE "C";
ALTER TABLE queue_settings ALTER COLUMN queue TYPE TEXT COLLATE "C";
ALTER TABLE cron_schedules ALTER COLUMN queue TYPE TEXT COLLATE "C";
ALTER TABLE job_workers ALTER COLUMN owner TYPE TEXT COLLATE "C", ALTER COLUMN queue TYPE TEXT COLLATE "C";
ALTER TABLE endpoints ALTER COLUMN queue TYPE TEXT COLLATE "C";

-- 2. No listing entry for queued rows. jobs_claim already holds every queued row's queue and id,
--    so listing queued jobs reads it (as SQLite does since its 0021): one b-tree insert less per
--    enqueue, and one less partial-index condition checked by every claim and completion.
DROP INDEX jobs_listing;
CREATE INDEX jobs_listing ON jobs(queue, status, id)
  WHERE status <> 'queued' AND status <> 'running' AND status <> 'succeeded';

-- 3. The retention sweep finds finished rows by a block range index on finished_at instead of a
--    b-tree entry per completion (about 1.2 µs of server CPU a job). Rows finish roughly in table
--    order, so each 32-page range summarizes a narrow span of times; the sweep passes a constant
--    bound (the shortest retention of any queue) the index can use, and checks each row's own
--    queue's retention on the rows it finds. New ranges are summarized by the sweep itself
--    (brin_summarize_new_values) and by vacuum; an unsummarized range is always read, never
--    skipped wrongly. Not autosummarize: it asks autovacuum for one range at a time, and at queue
--    rates autovacuum's short work list overflows and the server logs each request it drops.
DROP INDEX jobs_finished;
CREATE INDEX jobs_finished ON jobs USING brin (finished_at) WITH (pages_per_range = 32);
