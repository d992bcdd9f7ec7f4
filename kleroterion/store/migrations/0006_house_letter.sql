-- Letters (issue 12): the huisletter and huisnummertoevoeging exactly as the registry extract has them,
-- so the mail merge addresses "Molenstraat 643 B" and not "Molenstraat 643". Extracts imported before
-- this migration leave them NULL; the letters export then reads them back from the address key
-- (postcode|huisnummer|HUISLETTER|TOEVOEGING, upper case).
ALTER TABLE residents ADD COLUMN house_letter TEXT;
ALTER TABLE residents ADD COLUMN house_suffix TEXT;
