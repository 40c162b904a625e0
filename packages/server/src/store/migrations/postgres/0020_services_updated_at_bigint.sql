-- 0006 gave services.updated_at a 32-bit INTEGER: a millisecond timestamp does not fit, so no
-- service could be stored on PostgreSQL. BIGINT, as created_at and every other table's times.
ALTER TABLE services ALTER COLUMN updated_at TYPE BIGINT;
