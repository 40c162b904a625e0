-- Packed events: one row may carry `n` events of one write batch, with the cursors id .. id + n - 1
-- (the writer reserves the range from events_id_seq under the write lock). `packed` holds them as
-- a JSON array of [at, type, queue, job_id, data] (data a JSON object or null); `at` is then the
-- newest event's time (what the sweep compares), `queue` / `job_id` the value all of them share,
-- else NULL, and `type` is 'packed'. Rows written before this migration keep n = 1, packed NULL,
-- and are read as they were. Both columns are added without rewriting the table.
ALTER TABLE events ADD COLUMN n INTEGER NOT NULL DEFAULT 1;
ALTER TABLE events ADD COLUMN packed TEXT;
-- A packed row is about 3 to 6 kB: keep it in the heap page, uncompressed, rather than compress it
-- or move it to the TOAST table (what a row past about 2 kB gets by default).
ALTER TABLE events SET (toast_tuple_target = 8160);
