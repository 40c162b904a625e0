-- Clients of the control plane (and of protected data-plane endpoints). The access token is never
-- stored: token_hash is its SHA-256, public_key the Ed25519 key derived from it that verifies the
-- client's temporary credentials and signed URLs. scopes is a JSON array of strings.
CREATE TABLE auth_clients (
  client_id    TEXT PRIMARY KEY,
  description  TEXT NOT NULL DEFAULT '',
  scopes       TEXT NOT NULL,
  token_hash   TEXT NOT NULL UNIQUE,
  public_key   TEXT NOT NULL,
  expires_at   INTEGER,
  disabled     INTEGER NOT NULL DEFAULT 0,
  created_at   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL,
  token_reset_at INTEGER NOT NULL
);
