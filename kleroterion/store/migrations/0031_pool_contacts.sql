-- Issue 13 (staff web app): the contact workflow of the pool. Each change of a sign-up's contact status
-- (aangemeld / gebeld / bevestigd / afgemeld) is a new row with its note, who changed it and when, so the
-- history per person stays visible; the latest row is the current status. The notes are personal data:
-- an erasure of the person (DELETE of the pool member) removes their rows, and the purge (which empties
-- pool_members.contact) empties their notes.
CREATE TABLE pool_contacts (
    id          INTEGER PRIMARY KEY,
    person_id   TEXT NOT NULL REFERENCES pool_members(id) ON DELETE CASCADE,
    status      TEXT NOT NULL CHECK (status IN ('aangemeld', 'gebeld', 'bevestigd', 'afgemeld')),
    note        TEXT NOT NULL,
    changed_by  TEXT NOT NULL,
    changed_at  TEXT NOT NULL
);
CREATE INDEX pool_contacts_person ON pool_contacts (person_id, id);

CREATE TRIGGER pool_contacts_purge AFTER UPDATE OF contact ON pool_members WHEN NEW.contact = '{}'
BEGIN UPDATE pool_contacts SET note = '' WHERE person_id = NEW.id; END;
