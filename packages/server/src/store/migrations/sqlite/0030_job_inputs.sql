-- Messages sent to a running job with POST /jobs/{id}/input, numbered per job (1, 2, …): the
-- process that holds the run (its in-process runner, or the worker hub holding the agent's socket)
-- reads them in seq order, and an agent that reconnects says the last seq it has, so the hub
-- resends exactly the rest. The rows go with their job: DELETE /jobs/{id} deletes them, and the
-- maintenance sweep deletes those whose job is gone (retention). No foreign key: a queue with
-- retention 0 deletes each job as it finishes, and a cascade would add a probe (a trigger on
-- PostgreSQL) to every one of those deletes.
CREATE TABLE job_inputs (
  job_id     TEXT NOT NULL,
  seq        INTEGER NOT NULL,
  message    TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (job_id, seq)
);
