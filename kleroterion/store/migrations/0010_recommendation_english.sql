-- Reports: a recommendation's English wording, for English reports ('' = none: the report marks the Dutch).
ALTER TABLE recommendations ADD COLUMN text_en TEXT NOT NULL DEFAULT '';
ALTER TABLE recommendations ADD COLUMN minority_en TEXT NOT NULL DEFAULT '';
