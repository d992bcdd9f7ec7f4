-- Issue 18 (provable draws): append-only tables. The database refuses UPDATE and DELETE of the audit log
-- (except chaining an entry that has no hash yet) and of every stored draw. Two columns may still change:
-- letters.address_key (the documented purge replaces it by a pseudonym; it is not in the chained digest)
-- and panel_members.status (a replacement; `klero audit verify` replays the replacements to check it).
-- The store turns the refusal into a StoreError (kleroterion/store/core.py).

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log WHEN OLD.entry_hash IS NOT NULL
BEGIN SELECT RAISE(ABORT, 'append-only: audit_log rows cannot be changed'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'append-only: audit_log rows cannot be deleted'); END;
CREATE TRIGGER letter_draws_no_update BEFORE UPDATE ON letter_draws
BEGIN SELECT RAISE(ABORT, 'append-only: letter_draws rows cannot be changed'); END;
CREATE TRIGGER letter_draws_no_delete BEFORE DELETE ON letter_draws
BEGIN SELECT RAISE(ABORT, 'append-only: letter_draws rows cannot be deleted'); END;
CREATE TRIGGER selection_draws_no_update BEFORE UPDATE ON selection_draws
BEGIN SELECT RAISE(ABORT, 'append-only: selection_draws rows cannot be changed'); END;
CREATE TRIGGER selection_draws_no_delete BEFORE DELETE ON selection_draws
BEGIN SELECT RAISE(ABORT, 'append-only: selection_draws rows cannot be deleted'); END;
CREATE TRIGGER selection_probabilities_no_update BEFORE UPDATE ON selection_probabilities
BEGIN SELECT RAISE(ABORT, 'append-only: selection_probabilities rows cannot be changed'); END;
CREATE TRIGGER selection_probabilities_no_delete BEFORE DELETE ON selection_probabilities
BEGIN SELECT RAISE(ABORT, 'append-only: selection_probabilities rows cannot be deleted'); END;
CREATE TRIGGER draw_panels_no_update BEFORE UPDATE ON draw_panels
BEGIN SELECT RAISE(ABORT, 'append-only: draw_panels rows cannot be changed'); END;
CREATE TRIGGER draw_panels_no_delete BEFORE DELETE ON draw_panels
BEGIN SELECT RAISE(ABORT, 'append-only: draw_panels rows cannot be deleted'); END;
CREATE TRIGGER draw_people_no_update BEFORE UPDATE ON draw_people
BEGIN SELECT RAISE(ABORT, 'append-only: draw_people rows cannot be changed'); END;
CREATE TRIGGER draw_people_no_delete BEFORE DELETE ON draw_people
BEGIN SELECT RAISE(ABORT, 'append-only: draw_people rows cannot be deleted'); END;
CREATE TRIGGER lottery_tickets_no_update BEFORE UPDATE ON lottery_tickets
BEGIN SELECT RAISE(ABORT, 'append-only: lottery_tickets rows cannot be changed'); END;
CREATE TRIGGER lottery_tickets_no_delete BEFORE DELETE ON lottery_tickets
BEGIN SELECT RAISE(ABORT, 'append-only: lottery_tickets rows cannot be deleted'); END;
CREATE TRIGGER replacements_no_update BEFORE UPDATE ON replacements
BEGIN SELECT RAISE(ABORT, 'append-only: replacements rows cannot be changed'); END;
CREATE TRIGGER replacements_no_delete BEFORE DELETE ON replacements
BEGIN SELECT RAISE(ABORT, 'append-only: replacements rows cannot be deleted'); END;
CREATE TRIGGER quota_sets_no_update BEFORE UPDATE ON quota_sets
BEGIN SELECT RAISE(ABORT, 'append-only: quota_sets rows cannot be changed'); END;
CREATE TRIGGER quota_sets_no_delete BEFORE DELETE ON quota_sets
BEGIN SELECT RAISE(ABORT, 'append-only: quota_sets rows cannot be deleted'); END;
CREATE TRIGGER quotas_no_update BEFORE UPDATE ON quotas
BEGIN SELECT RAISE(ABORT, 'append-only: quotas rows cannot be changed'); END;
CREATE TRIGGER quotas_no_delete BEFORE DELETE ON quotas
BEGIN SELECT RAISE(ABORT, 'append-only: quotas rows cannot be deleted'); END;
CREATE TRIGGER pool_rehashes_no_update BEFORE UPDATE ON pool_rehashes
BEGIN SELECT RAISE(ABORT, 'append-only: pool_rehashes rows cannot be changed'); END;
CREATE TRIGGER pool_rehashes_no_delete BEFORE DELETE ON pool_rehashes
BEGIN SELECT RAISE(ABORT, 'append-only: pool_rehashes rows cannot be deleted'); END;
CREATE TRIGGER letters_no_update BEFORE UPDATE OF code, draw_id, resident_id, stratum, inclusion_probability
ON letters BEGIN SELECT RAISE(ABORT, 'append-only: letters rows cannot be changed'); END;
CREATE TRIGGER letters_no_delete BEFORE DELETE ON letters
BEGIN SELECT RAISE(ABORT, 'append-only: letters rows cannot be deleted'); END;
CREATE TRIGGER panel_members_no_update BEFORE UPDATE OF draw_id, person_id, role, rank ON panel_members
BEGIN SELECT RAISE(ABORT, 'append-only: panel_members rows cannot be changed'); END;
CREATE TRIGGER panel_members_no_delete BEFORE DELETE ON panel_members
BEGIN SELECT RAISE(ABORT, 'append-only: panel_members rows cannot be deleted'); END;
