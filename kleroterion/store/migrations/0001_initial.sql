-- Kleroterion schema, version 1: the whole chain, from registry to council response.
-- Portable SQL (TEXT/INTEGER/REAL, no SQLite-only types) so PostgreSQL can follow.

CREATE TABLE audit_log (
    id            INTEGER PRIMARY KEY,
    recorded_at   TEXT NOT NULL,
    action        TEXT NOT NULL,
    parameters    TEXT NOT NULL,          -- JSON
    input_hashes  TEXT NOT NULL,          -- JSON: {file name: sha256}
    result        TEXT NOT NULL           -- JSON
);

-- Stage 0: registry extracts (minimised: no BSN, names only for the mail merge)
CREATE TABLE registry_imports (
    id              INTEGER PRIMARY KEY,
    imported_at     TEXT NOT NULL,
    source_name     TEXT NOT NULL,
    sha256          TEXT NOT NULL,
    reference_date  TEXT NOT NULL,
    row_count       INTEGER NOT NULL,
    restricted_count INTEGER NOT NULL,
    legal_basis     TEXT NOT NULL
);

CREATE TABLE residents (
    id              TEXT PRIMARY KEY,     -- pseudonymous id (keyed hash of the registry id)
    import_id       INTEGER NOT NULL REFERENCES registry_imports(id),
    birth_date      TEXT NOT NULL,
    gender          TEXT NOT NULL,        -- M / V / O
    address_key     TEXT NOT NULL,        -- postcode + huisnummer + letter + toevoeging
    postcode        TEXT NOT NULL,
    house_number    TEXT NOT NULL,
    wijk            TEXT,
    buurt           TEXT,
    restricted      INTEGER NOT NULL DEFAULT 0,
    given_names     TEXT,
    name_prefix     TEXT,
    surname         TEXT,
    street          TEXT,
    city            TEXT
);
CREATE INDEX residents_address ON residents(address_key);

-- Stage 1: invitation letters
CREATE TABLE letter_draws (
    id          INTEGER PRIMARY KEY,
    drawn_at    TEXT NOT NULL,
    seed        TEXT NOT NULL,
    parameters  TEXT NOT NULL,            -- JSON
    letter_count INTEGER NOT NULL
);

CREATE TABLE letters (
    code            TEXT PRIMARY KEY,     -- invitation code
    draw_id         INTEGER NOT NULL REFERENCES letter_draws(id),
    resident_id     TEXT NOT NULL REFERENCES residents(id),
    address_key     TEXT NOT NULL UNIQUE,
    stratum         TEXT NOT NULL,
    inclusion_probability REAL NOT NULL
);

-- Registration: the pool
CREATE TABLE pool_members (
    id              TEXT PRIMARY KEY,     -- person id in the pool (pseudonymous)
    letter_code     TEXT NOT NULL UNIQUE REFERENCES letters(code),
    signed_up_at    TEXT NOT NULL,
    address_key     TEXT NOT NULL,
    features        TEXT NOT NULL,        -- JSON: {feature: value}
    contact         TEXT NOT NULL         -- JSON
);

-- Stage 2: quotas, draws, panel and alternates
CREATE TABLE quota_sets (
    id          INTEGER PRIMARY KEY,
    created_at  TEXT NOT NULL,
    panel_size  INTEGER NOT NULL,
    source      TEXT NOT NULL,
    tolerance   REAL NOT NULL
);

CREATE TABLE quotas (
    quota_set_id INTEGER NOT NULL REFERENCES quota_sets(id),
    category    TEXT NOT NULL,
    feature     TEXT NOT NULL,
    population_share REAL,
    target      REAL,
    min_count   INTEGER NOT NULL,
    max_count   INTEGER NOT NULL,
    PRIMARY KEY (quota_set_id, category, feature)
);

CREATE TABLE selection_draws (
    id              INTEGER PRIMARY KEY,
    drawn_at        TEXT NOT NULL,
    quota_set_id    INTEGER NOT NULL REFERENCES quota_sets(id),
    kind            TEXT NOT NULL,        -- panel / alternates
    algorithm       TEXT NOT NULL,
    engine          TEXT NOT NULL,
    seed            TEXT NOT NULL,
    pool_hash       TEXT NOT NULL,
    parameters      TEXT NOT NULL,        -- JSON
    versions        TEXT NOT NULL,        -- JSON
    result          TEXT NOT NULL         -- JSON: summary of probabilities
);

CREATE TABLE selection_probabilities (
    draw_id     INTEGER NOT NULL REFERENCES selection_draws(id),
    person_id   TEXT NOT NULL REFERENCES pool_members(id),
    probability REAL NOT NULL,
    PRIMARY KEY (draw_id, person_id)
);

CREATE TABLE panel_members (
    draw_id     INTEGER NOT NULL REFERENCES selection_draws(id),
    person_id   TEXT NOT NULL REFERENCES pool_members(id),
    role        TEXT NOT NULL,            -- panel / alternate
    rank        INTEGER NOT NULL,
    status      TEXT NOT NULL DEFAULT 'active',
    PRIMARY KEY (draw_id, person_id)
);

CREATE TABLE replacements (
    id              INTEGER PRIMARY KEY,
    replaced_at     TEXT NOT NULL,
    draw_id         INTEGER NOT NULL REFERENCES selection_draws(id),
    person_out      TEXT NOT NULL REFERENCES pool_members(id),
    person_in       TEXT REFERENCES pool_members(id),
    reason          TEXT NOT NULL
);

-- Deliberative poll: instrument, participants, waves, answers
CREATE TABLE instruments (
    id          INTEGER PRIMARY KEY,
    defined_at  TEXT NOT NULL,
    name        TEXT NOT NULL,
    definition  TEXT NOT NULL             -- JSON of the whole instrument
);

CREATE TABLE instrument_items (
    instrument_id INTEGER NOT NULL REFERENCES instruments(id),
    code        TEXT NOT NULL,
    position    INTEGER NOT NULL,
    kind        TEXT NOT NULL,            -- likert / scale / yesno / knowledge / ranking
    text        TEXT NOT NULL,
    scale_min   REAL,
    scale_max   REAL,
    correct     TEXT,
    PRIMARY KEY (instrument_id, code)
);

CREATE TABLE participants (
    id          TEXT PRIMARY KEY,         -- pseudonymous respondent id
    letter_code TEXT REFERENCES letters(code),
    arm         TEXT NOT NULL,            -- participant / invited / control
    features    TEXT NOT NULL             -- JSON
);

CREATE TABLE waves (
    code        TEXT PRIMARY KEY,         -- T1, T2, T3, T4
    kind        TEXT NOT NULL,            -- recruit / arrival / post / followup
    held_on     TEXT,
    imported_at TEXT,
    source_sha256 TEXT
);

CREATE TABLE answers (
    wave_code       TEXT NOT NULL REFERENCES waves(code),
    participant_id  TEXT NOT NULL REFERENCES participants(id),
    item_code       TEXT NOT NULL,
    value           REAL,                 -- NULL when missing or don't know
    raw             TEXT NOT NULL,
    PRIMARY KEY (wave_code, participant_id, item_code)
);

CREATE TABLE packets (
    id          INTEGER PRIMARY KEY,
    title       TEXT NOT NULL,
    version     INTEGER NOT NULL,
    created_at  TEXT NOT NULL,
    UNIQUE (title, version)
);

CREATE TABLE packet_arguments (
    packet_id   INTEGER NOT NULL REFERENCES packets(id),
    position    INTEGER NOT NULL,
    option_code TEXT NOT NULL,
    side        TEXT NOT NULL,            -- pro / con
    text        TEXT NOT NULL,
    source      TEXT NOT NULL,
    PRIMARY KEY (packet_id, position)
);

CREATE TABLE packet_signoffs (
    packet_id   INTEGER NOT NULL REFERENCES packets(id),
    reviewer    TEXT NOT NULL,
    signed_at   TEXT NOT NULL,
    remark      TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (packet_id, reviewer)
);

CREATE TABLE packet_receipts (
    packet_id       INTEGER NOT NULL REFERENCES packets(id),
    participant_id  TEXT NOT NULL REFERENCES participants(id),
    received_on     TEXT NOT NULL,
    PRIMARY KEY (packet_id, participant_id)
);

CREATE TABLE small_groups (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    moderator   TEXT NOT NULL DEFAULT '',
    assignment_seed TEXT NOT NULL
);

CREATE TABLE group_members (
    group_id        INTEGER NOT NULL REFERENCES small_groups(id),
    participant_id  TEXT NOT NULL REFERENCES participants(id),
    assigned_at     TEXT NOT NULL,
    active          INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (group_id, participant_id)
);

CREATE TABLE analyses (
    id          INTEGER PRIMARY KEY,
    run_at      TEXT NOT NULL,
    kind        TEXT NOT NULL,
    parameters  TEXT NOT NULL,            -- JSON
    result      TEXT NOT NULL             -- JSON records of the tidy table
);

-- Outcomes: recommendations and the council's response
CREATE TABLE recommendations (
    id          INTEGER PRIMARY KEY,
    added_at    TEXT NOT NULL,
    text        TEXT NOT NULL,
    support     REAL,
    minority    TEXT NOT NULL DEFAULT ''
);

CREATE TABLE council_responses (
    id                  INTEGER PRIMARY KEY,
    recommendation_id   INTEGER NOT NULL REFERENCES recommendations(id),
    recorded_at         TEXT NOT NULL,
    status              TEXT NOT NULL,    -- adopted / partly / rejected / pending
    reason              TEXT NOT NULL,
    due                 TEXT
);

CREATE TABLE reports (
    id          INTEGER PRIMARY KEY,
    made_at     TEXT NOT NULL,
    kind        TEXT NOT NULL,
    lang        TEXT NOT NULL,
    format      TEXT NOT NULL,
    path        TEXT NOT NULL,
    sha256      TEXT NOT NULL
);
