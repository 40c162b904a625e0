-- An endpoint's environment variables and secrets (ctx.env): a JSON object NAME → value. Write-only
-- through the API: answers carry the names only.
ALTER TABLE endpoints ADD COLUMN env TEXT NOT NULL DEFAULT '{}';
