-- Issue 17: the public sign-up page. One settings row per workspace (state test/open/closed, opening and
-- closing times, what the process is about), the test pool a test page writes to (never the real pool),
-- and the codes whose sign-up was withdrawn (a code is used once: a withdrawn code cannot sign up again).
CREATE TABLE signup_page (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    state       TEXT NOT NULL,            -- test / open / closed
    opens_at    TEXT,                     -- ISO-8601 UTC, or NULL: open as soon as the state is open
    closes_at   TEXT,                     -- ISO-8601 UTC, or NULL: open until the state is closed
    about_nl    TEXT NOT NULL,
    about_en    TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

CREATE TABLE signup_test_pool (
    letter_code     TEXT PRIMARY KEY REFERENCES letters(code),
    signed_up_at    TEXT NOT NULL,
    address_key     TEXT NOT NULL,
    features        TEXT NOT NULL,        -- JSON: {feature: value}
    contact         TEXT NOT NULL         -- JSON
);

CREATE TABLE signup_withdrawals (
    letter_code     TEXT NOT NULL REFERENCES letters(code),
    test            INTEGER NOT NULL,     -- 1: a withdrawal from the test pool
    withdrawn_at    TEXT NOT NULL,
    PRIMARY KEY (letter_code, test)
);
