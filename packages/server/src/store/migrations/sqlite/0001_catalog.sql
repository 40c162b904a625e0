CREATE TABLE domains (
  id          TEXT PRIMARY KEY,
  name        TEXT NOT NULL,
  host        TEXT NOT NULL UNIQUE,
  description TEXT,
  enabled     INTEGER NOT NULL DEFAULT 1,
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL
);

CREATE TABLE collections (
  id          TEXT PRIMARY KEY,
  domain_id   TEXT NOT NULL REFERENCES domains(id) ON DELETE CASCADE,
  name        TEXT NOT NULL,
  description TEXT,
  base_path   TEXT NOT NULL DEFAULT '',
  enabled     INTEGER NOT NULL DEFAULT 1,
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL
);
CREATE INDEX collections_domain ON collections(domain_id);

CREATE TABLE endpoints (
  id               TEXT PRIMARY KEY,
  name             TEXT NOT NULL UNIQUE,
  kind             TEXT NOT NULL DEFAULT 'http',
  queue            TEXT,
  path             TEXT,
  method           TEXT,
  domain           TEXT NOT NULL DEFAULT '*',
  collection_id    TEXT REFERENCES collections(id) ON DELETE CASCADE,
  description      TEXT,
  code             TEXT NOT NULL DEFAULT '',
  dependencies     TEXT NOT NULL DEFAULT '{}',
  enabled          INTEGER NOT NULL DEFAULT 1,
  status           TEXT NOT NULL DEFAULT 'created',
  running_version  INTEGER,
  compiled_version INTEGER,
  last_error       TEXT,
  timeout_ms       INTEGER NOT NULL DEFAULT 30000,
  body_limit_bytes INTEGER NOT NULL DEFAULT 1048576,
  drain_timeout_ms INTEGER NOT NULL DEFAULT 30000,
  created_at       INTEGER NOT NULL,
  updated_at       INTEGER NOT NULL
);
CREATE INDEX endpoints_collection ON endpoints(collection_id);
-- Deleting or re-hosting a domain finds the endpoints served on its host.
CREATE INDEX endpoints_domain ON endpoints(domain);

-- One row per successful compile: what a restart loads without compiling again.
CREATE TABLE endpoint_versions (
  endpoint_id  TEXT NOT NULL REFERENCES endpoints(id) ON DELETE CASCADE,
  version      INTEGER NOT NULL,
  source       TEXT NOT NULL,
  dependencies TEXT NOT NULL,
  bundle       TEXT NOT NULL,
  source_map   TEXT NOT NULL,
  created_at   INTEGER NOT NULL,
  PRIMARY KEY (endpoint_id, version)
);
