-- Issue 16: compact stored distributions. A draw's panels were JSON arrays of member ids (hundreds of MB
-- for tens of thousands of panels of 175 at n = 4000). New draws store the sorted ids of everyone on some
-- panel once (draw_people.ids, a JSON array) and each panel as a zlib-compressed bitmap over that list
-- (draw_panels.packed; members is then ''). Rows written before this migration keep their JSON members.

CREATE TABLE draw_people (
    draw_id     INTEGER PRIMARY KEY REFERENCES selection_draws(id),
    ids         TEXT NOT NULL
);

ALTER TABLE draw_panels ADD COLUMN packed BLOB;
