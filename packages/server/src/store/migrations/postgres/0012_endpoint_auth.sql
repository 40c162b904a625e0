-- A protected endpoint: the JSON array of scopes a caller's bearer credential must hold; NULL is public.
ALTER TABLE endpoints ADD COLUMN auth_scopes TEXT;
