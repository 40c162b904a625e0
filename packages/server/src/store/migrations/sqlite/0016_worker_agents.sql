-- Remote worker agents connected to any gateway process: the process that holds an agent's socket
-- rewrites its row (the GET /workers entry, as JSON) every lease heartbeat and deletes it on
-- close; a row past expires_at belongs to a process that died and is ignored, then swept.
-- control is a drain or disconnect another process asked for (it also NOTIFYs); the holder reads
-- it back at its next heartbeat, so a missed notice costs one heartbeat, not the request.
CREATE TABLE worker_agents (
  id         TEXT PRIMARY KEY,
  info       TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  control    TEXT
);
