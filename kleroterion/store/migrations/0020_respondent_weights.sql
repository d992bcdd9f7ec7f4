-- Design weights from survey files (klero survey import --weights COLUMN): one value per respondent,
-- wave and weight column, as the file gave it. Never used as frequency weights (see deliberation/design.py).
CREATE TABLE respondent_weights (
    wave_code       TEXT NOT NULL REFERENCES waves(code),
    participant_id  TEXT NOT NULL REFERENCES participants(id),
    name            TEXT NOT NULL,        -- the file's column name
    weight          REAL NOT NULL,
    PRIMARY KEY (wave_code, participant_id, name)
);
