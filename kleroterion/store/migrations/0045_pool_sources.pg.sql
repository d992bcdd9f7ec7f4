-- PostgreSQL form of 0045_pool_sources.sql (issue 14: a pool need not come from our letters). SQLite must
-- rebuild pool_members to drop NOT NULL; PostgreSQL alters it in place, which keeps the foreign keys of
-- the tables that reference it and its triggers (0031's purge of contact notes). Same columns, same rules:
--   source       'letters' or 'file'; letter_code NULL exactly for a file pool; external_id the file's id.
ALTER TABLE pool_members ALTER COLUMN letter_code DROP NOT NULL;
ALTER TABLE pool_members ADD COLUMN source TEXT NOT NULL DEFAULT 'letters' CHECK (source IN ('letters', 'file'));
ALTER TABLE pool_members ADD COLUMN external_id TEXT UNIQUE;
ALTER TABLE pool_members ADD CONSTRAINT pool_members_letter_source CHECK ((source = 'letters') = (letter_code IS NOT NULL));
ALTER TABLE pool_members ADD CONSTRAINT pool_members_file_source CHECK ((source = 'file') = (external_id IS NOT NULL));
