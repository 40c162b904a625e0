-- Messages sent to a running job with POST /jobs/{id}/input, numbered per job (1, 2, …): the
-- process that holds the run (its in-process runner, or the worker hub holding the agent's socket)
-- reads them in seq order, and an agent that reconnects says the last seq it has, so the hub
-- resends exactly the rest. The rows go with their job (retention sweep, DELETE /jobs/{id}).
CREATE TABLE job_inputs (
  job_id     TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  seq        INTEGER NOT NULL,
  message    TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (job_id, seq)
);
