-- One monotone sequence of what happened to jobs and workers: the id is the cursor event streams
-- resume from. The engine writes these rows in batches (see jobs/events/recorder.ts); rows older
-- than the retention window are swept, and event_horizon remembers the highest id swept so a
-- cursor at or before it is answered cursor_expired instead of silently skipping events.
CREATE TABLE events (
  id     INTEGER PRIMARY KEY AUTOINCREMENT,
  at     INTEGER NOT NULL,
  type   TEXT NOT NULL,
  queue  TEXT,
  job_id TEXT,
  data   TEXT
);
CREATE TABLE event_horizon (
  one           INTEGER PRIMARY KEY CHECK (one = 1),
  swept_through INTEGER NOT NULL
);
INSERT INTO event_horizon (one, swept_through) VALUES (1, 0);
