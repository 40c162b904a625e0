-- Remote worker agents connected to any gateway process: the process that holds an agent's socket
-- rewrites its row (the GET /workers entry, as JSON) every lease heartbeat and deletes it on
-- close; a row past expires_at belongs to a process that died and is ignored, then swept.
CREATE TABLE worker_agents (
  id         TEXT PRIMARY KEY,
  info       TEXT NOT NULL,
  expires_at BIGINT NOT NULL
);
