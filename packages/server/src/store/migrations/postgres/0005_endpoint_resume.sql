-- An endpoint taken out of service because it, its collection or its domain was disabled is put
-- back into service when it is enabled again: this marks the stopped endpoints that come back.
-- A user's own stop, start or deploy clears it. (Numbered 0004 for a while, next to another 0004:
-- IF NOT EXISTS lets a database that ran it under that number take it again.)
ALTER TABLE endpoints ADD COLUMN IF NOT EXISTS resume_on_enable INTEGER NOT NULL DEFAULT 0;
