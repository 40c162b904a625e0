-- Packed event rows compressed with lz4: a row of 50 events is about 6 kB of JSON that repeats its
-- type, queue and worker, and lz4 makes it about a tenth of that (the table and its WAL with it)
-- for less server CPU than writing the bytes uncompressed (docs/performance.md, "Issue 14, held
-- claims"). A row is compressed when it is over toast_tuple_target, and stays in its heap page
-- compressed. A server built without lz4 keeps them uncompressed as before (0031): pglz costs more
-- CPU than it saves. Rows already stored stay as they are; readers see no difference. One line: the
-- migration runner splits statements at a semicolon that ends a line.
DO $$ BEGIN ALTER TABLE events ALTER COLUMN packed SET COMPRESSION lz4; ALTER TABLE events SET (toast_tuple_target = 2048); EXCEPTION WHEN feature_not_supported THEN NULL; END $$;
