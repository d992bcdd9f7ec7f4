-- The server store of `klero serve`: staff accounts, roles per process, sessions, login attempts, jobs.
-- It lives in <serve root>/klero-server.sqlite, beside the process workspaces (which keep their own stores).

CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    is_admin INTEGER NOT NULL DEFAULT 0,  -- beheerder of the server: every process, user management
    totp_secret TEXT,  -- base32; NULL when two-factor sign-in is off
    created_at TEXT NOT NULL,
    password_changed_at TEXT NOT NULL
);

CREATE TABLE roles (
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    process TEXT NOT NULL,  -- the workspace folder's name under the serve root
    role TEXT NOT NULL CHECK (role IN ('beheerder', 'medewerker', 'auditor')),
    PRIMARY KEY (user_id, process)
);

CREATE TABLE sessions (
    id TEXT PRIMARY KEY,  -- random; the cookie carries it signed
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    totp_pending INTEGER NOT NULL DEFAULT 0,  -- password checked, code not yet
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE login_attempts (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL,
    client TEXT NOT NULL,
    ok INTEGER NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX login_attempts_username ON login_attempts (username, at);
CREATE INDEX login_attempts_client ON login_attempts (client, at);

CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    process TEXT NOT NULL,
    owner TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed', 'cancelled')),
    stage TEXT NOT NULL DEFAULT '',
    done INTEGER NOT NULL DEFAULT 0,
    total INTEGER,
    message TEXT NOT NULL DEFAULT '',
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    result TEXT,  -- JSON
    error TEXT,  -- JSON: {"code", "message", "problems": [{"file", "row", "column", "value", "message"}]}
    created_at TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT
);
CREATE INDEX jobs_process ON jobs (process, created_at);
