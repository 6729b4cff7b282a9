-- The account index also carries the roster and the person, so an incremental screening finds
-- the accounts that pay more than one person in a year (rule 6) from the index alone.
DROP INDEX roster_entries_account;
CREATE INDEX roster_entries_account ON roster_entries (account_idx, roster_id, id_idx);
