-- Each entry carries its roster's year (a roster's year never changes), and the account index is
-- ordered by it: an incremental screening asks who an account paid in the new roster's years,
-- and now reads those years' index entries only, not every year's.
ALTER TABLE roster_entries ADD COLUMN year BIGINT NOT NULL DEFAULT 0;
UPDATE roster_entries SET year = (SELECT r.year FROM rosters r WHERE r.id = roster_entries.roster_id);
DROP INDEX roster_entries_account;
CREATE INDEX roster_entries_account ON roster_entries (account_idx, year, roster_id, id_idx);
