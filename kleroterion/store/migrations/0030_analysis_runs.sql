-- One `klero analyse` = one analysis run, saved whole in one transaction: the run (its parameters as
-- JSON, status 'complete' once every table is in) and its tables keyed by run id. Reports read the
-- latest complete run, so a failure halfway never mixes tables of two runs. Earlier runs stay as
-- history. The `analyses` table keeps the tables saved outside a run (group_balance) and those of
-- workspaces analysed before this migration.
CREATE TABLE analysis_runs (
    id          INTEGER PRIMARY KEY,
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    status      TEXT NOT NULL CHECK (status IN ('running', 'complete')),
    parameters  TEXT NOT NULL             -- JSON: the options the core used
);

CREATE TABLE analysis_tables (
    run_id      INTEGER NOT NULL REFERENCES analysis_runs(id),
    name        TEXT NOT NULL,
    parameters  TEXT NOT NULL,            -- JSON: the parameters that made this table
    result      TEXT NOT NULL,            -- JSON records of the tidy table
    PRIMARY KEY (run_id, name)
);
