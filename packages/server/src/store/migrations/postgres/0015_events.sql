-- One monotone sequence of what happened to jobs and workers: the id is the cursor event streams
-- resume from. The engine writes these rows in batches under a transaction-scoped advisory lock
-- (see jobs/events/sql.ts), so ids become visible in id order and a reader at cursor c never
-- later finds an id below c committed. Rows older than the retention window are swept, and
-- event_horizon remembers the highest id swept so an older cursor is answered cursor_expired.
CREATE TABLE events (
  id     BIGSERIAL PRIMARY KEY,
  at     BIGINT NOT NULL,
  type   TEXT NOT NULL,
  queue  TEXT,
  job_id TEXT,
  data   TEXT
);
CREATE TABLE event_horizon (
  one           INTEGER PRIMARY KEY CHECK (one = 1),
  swept_through BIGINT NOT NULL
);
INSERT INTO event_horizon (one, swept_through) VALUES (1, 0);
