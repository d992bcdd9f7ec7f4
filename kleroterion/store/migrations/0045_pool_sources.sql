-- klero: foreign-keys-off
-- Issue 14 (polls from any source): a pool need not come from our letters. Respondents recruited by a
-- panel company, or a people file from the Sortition Foundation's tools, are pool members without an
-- invitation letter. pool_members is rebuilt (SQLite cannot drop NOT NULL in place; the runner turns
-- foreign keys off for this script and checks them with PRAGMA foreign_key_check before it commits):
--   source       'letters' (one sign-up per invitation letter, so one per address by the letter draw) or
--                'file' (a people file: klero pool import --format sortition-foundation);
--   letter_code  the invitation code for a letter pool, NULL for a file pool (a CHECK keeps them paired);
--   external_id  the id the file gives the person (its --id-column), unique; NULL for a letter pool.
-- A file pool's address_key is a keyed hash of its --address-columns (the household: at most one
-- person per household on the panel), or a key of the person alone when no address columns are given.
CREATE TABLE pool_members_new (
    id              TEXT PRIMARY KEY,
    source          TEXT NOT NULL DEFAULT 'letters' CHECK (source IN ('letters', 'file')),
    letter_code     TEXT UNIQUE REFERENCES letters(code),
    external_id     TEXT UNIQUE,
    signed_up_at    TEXT NOT NULL,
    address_key     TEXT NOT NULL,
    features        TEXT NOT NULL,
    contact         TEXT NOT NULL,
    CHECK ((source = 'letters') = (letter_code IS NOT NULL)),
    CHECK ((source = 'file') = (external_id IS NOT NULL))
);
INSERT INTO pool_members_new (id, source, letter_code, external_id, signed_up_at, address_key, features, contact)
SELECT id, 'letters', letter_code, NULL, signed_up_at, address_key, features, contact FROM pool_members;
DROP TABLE pool_members;
ALTER TABLE pool_members_new RENAME TO pool_members;

-- Dropping the old table dropped its triggers: the contact notes' purge trigger of 0031 comes back.
CREATE TRIGGER pool_contacts_purge AFTER UPDATE OF contact ON pool_members WHEN NEW.contact = '{}'
BEGIN UPDATE pool_contacts SET note = '' WHERE person_id = NEW.id; END;
