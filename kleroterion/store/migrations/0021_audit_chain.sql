-- Issue 18 (provable draws): the audit log becomes a hash chain (sortition/audit_chain.py).
-- actor: who acted (store.actor: 'cli:<login>' or 'web:<user>'; '' for entries written before this migration).
-- subject: the draw rows the entry vouches for ('letter_draw:N', 'selection_draw:N', 'replacement:N' or '');
-- digest: SHA-256 of those rows (pseudonymous content only, so a personal-data purge keeps it valid);
-- previous_hash / entry_hash: the chain. Entries of older workspaces are chained when the store first
-- opens them after this migration (kleroterion/store/audit.py chain_pending); SQL cannot hash.
ALTER TABLE audit_log ADD COLUMN actor TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_log ADD COLUMN subject TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_log ADD COLUMN digest TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_log ADD COLUMN previous_hash TEXT;
ALTER TABLE audit_log ADD COLUMN entry_hash TEXT;
