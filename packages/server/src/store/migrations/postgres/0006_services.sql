-- Service records: a kind, its plain config and its write-only secrets (JSON objects).
CREATE TABLE services (
  id           TEXT PRIMARY KEY,
  name         TEXT NOT NULL UNIQUE,
  service_type TEXT NOT NULL,
  config       TEXT NOT NULL DEFAULT '{}',
  secrets      TEXT NOT NULL DEFAULT '{}',
  enabled      INTEGER NOT NULL DEFAULT 1,
  created_at   BIGINT NOT NULL,
  updated_at   INTEGER NOT NULL
);

-- Which service each name a handler uses reaches, per endpoint. Bound by service name, so a
-- binding may name a service that does not exist yet (the call then answers 503).
CREATE TABLE endpoint_services (
  endpoint_id  TEXT NOT NULL REFERENCES endpoints(id) ON DELETE CASCADE,
  binding      TEXT NOT NULL,
  service_name TEXT NOT NULL,
  PRIMARY KEY (endpoint_id, binding)
);
CREATE INDEX endpoint_services_service ON endpoint_services(service_name);
