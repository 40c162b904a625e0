-- The job queue. See packages/server/src/jobs/engine/engine.ts for the state machine.
CREATE TABLE jobs (
  id               TEXT PRIMARY KEY,
  queue            TEXT NOT NULL,
  payload          TEXT NOT NULL,
  priority         INTEGER NOT NULL DEFAULT 0,
  run_at           INTEGER NOT NULL,
  attempts         INTEGER NOT NULL DEFAULT 0,
  max_attempts     INTEGER NOT NULL,
  status           TEXT NOT NULL,
  result           TEXT,
  last_error       TEXT,
  progress         REAL,
  lease_owner      TEXT,
  lease_expires_at INTEGER,
  cancel_requested INTEGER NOT NULL DEFAULT 0,
  dedup_key        TEXT,
  created_at       INTEGER NOT NULL,
  started_at       INTEGER,
  finished_at      INTEGER,
  updated_at       INTEGER NOT NULL
);

-- Claims read this index in order and stop after LIMIT rows: no sort, no table scan.
CREATE INDEX jobs_claim ON jobs(queue, priority DESC, run_at, id) WHERE status = 'queued';

-- The reaper's scan and the per-queue running count (max_workers).
CREATE INDEX jobs_running ON jobs(queue, lease_expires_at) WHERE status = 'running';

-- A dedup key is unique per queue only while its job is alive.
CREATE UNIQUE INDEX jobs_dedup ON jobs(queue, dedup_key) WHERE dedup_key IS NOT NULL AND status IN ('queued', 'running');

-- listJobs filters and pages by id; the sweeper finds finished jobs by age.
CREATE INDEX jobs_queue_status_id ON jobs(queue, status, id);
CREATE INDEX jobs_status_id ON jobs(status, id);
CREATE INDEX jobs_finished ON jobs(status, finished_at) WHERE finished_at IS NOT NULL;

CREATE TABLE job_logs (
  id     INTEGER PRIMARY KEY AUTOINCREMENT,
  job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  at     INTEGER NOT NULL,
  line   TEXT NOT NULL
);
CREATE INDEX job_logs_job ON job_logs(job_id, id);

CREATE TABLE queue_settings (
  queue                 TEXT PRIMARY KEY,
  max_workers           INTEGER,
  paused                INTEGER NOT NULL DEFAULT 0,
  retention_seconds     INTEGER NOT NULL,
  backoff_base_seconds  REAL NOT NULL,
  backoff_factor        REAL NOT NULL,
  backoff_max_seconds   REAL NOT NULL,
  backoff_jitter        REAL NOT NULL,
  rate_limit_per_second REAL,
  rate_limit_burst      INTEGER,
  updated_at            INTEGER NOT NULL
);

CREATE TABLE cron_schedules (
  name          TEXT PRIMARY KEY,
  cron          TEXT NOT NULL,
  timezone      TEXT NOT NULL,
  queue         TEXT NOT NULL,
  payload       TEXT NOT NULL,
  priority      INTEGER NOT NULL DEFAULT 0,
  max_attempts  INTEGER NOT NULL,
  enabled       INTEGER NOT NULL DEFAULT 1,
  last_fired_at INTEGER,
  next_fire_at  INTEGER,
  created_at    INTEGER NOT NULL,
  updated_at    INTEGER NOT NULL
);
