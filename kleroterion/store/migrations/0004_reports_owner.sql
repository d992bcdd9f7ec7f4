-- Reports: who in the municipality owns the follow-up of a council response (DOMAIN.md §1c).
ALTER TABLE council_responses ADD COLUMN owner TEXT NOT NULL DEFAULT '';
