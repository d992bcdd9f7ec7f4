-- Personal data lifecycle (klero purge, klero person erase): replacing address keys by pseudonyms
-- changes the pool hash a draw recorded. Before it commits, the purge or erasure replays the draw with
-- the pseudonymised pool (`klero panel verify`); the hash of that pool is then accepted for the draw too.
CREATE TABLE pool_rehashes (
    draw_id     INTEGER NOT NULL REFERENCES selection_draws(id),
    pool_hash   TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    action      TEXT NOT NULL,            -- privacy.purge / privacy.erase
    PRIMARY KEY (draw_id, pool_hash)
);
