-- Native engine (issue 4): the distribution each panel draw came from, and its transparent lottery.
-- draw_panels: the panels of the distribution with their weights, in canonical order (position 1..);
-- members is a JSON array of the sorted person ids.
-- lottery_tickets: for a draw made with --lottery-size m, tickets 1..m, each naming a panel of the
-- distribution; a panel with x tickets has probability x / m.

CREATE TABLE draw_panels (
    draw_id     INTEGER NOT NULL REFERENCES selection_draws(id),
    position    INTEGER NOT NULL,
    weight      REAL NOT NULL,
    members     TEXT NOT NULL,
    PRIMARY KEY (draw_id, position)
);

CREATE TABLE lottery_tickets (
    draw_id     INTEGER NOT NULL,
    ticket      INTEGER NOT NULL,
    position    INTEGER NOT NULL,
    PRIMARY KEY (draw_id, ticket),
    FOREIGN KEY (draw_id, position) REFERENCES draw_panels(draw_id, position)
);
