-- Runners serving a queue, one row per (runner, queue), refreshed every heartbeat interval: the
-- queue overview counts live workers from here, so every process sees the whole cluster's.
-- A row past expires_at belongs to a runner that stopped without saying so (killed, frozen).
CREATE TABLE job_workers (
  owner      TEXT NOT NULL,
  queue      TEXT NOT NULL,
  expires_at BIGINT NOT NULL,
  PRIMARY KEY (owner, queue)
);
