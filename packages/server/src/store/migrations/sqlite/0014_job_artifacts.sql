-- Job artifacts: one row per (job, name), written once the upload is complete; the bytes live
-- in the artifact blob store under blob_key (never derived from the name). Rows whose job is
-- gone are swept with their blobs. downloads is advanced by buffered flushes.
CREATE TABLE job_artifacts (
  job_id TEXT NOT NULL,
  name TEXT NOT NULL,
  blob_key TEXT NOT NULL,
  size INTEGER NOT NULL,
  sha256 TEXT NOT NULL,
  content_type TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  downloads INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (job_id, name)
);
-- Blobs a replaced or swept row left behind, deleted from the backend by the sweep (so a
-- delete that failed is retried, and nothing stays unreferenced).
CREATE TABLE job_artifact_garbage (
  blob_key TEXT PRIMARY KEY,
  queued_at INTEGER NOT NULL
);
