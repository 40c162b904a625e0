-- An endpoint taken out of service because it, its collection or its domain was disabled is put
-- back into service when it is enabled again: this marks the stopped endpoints that come back.
-- A user's own stop, start or deploy clears it.
ALTER TABLE endpoints ADD COLUMN resume_on_enable INTEGER NOT NULL DEFAULT 0;
