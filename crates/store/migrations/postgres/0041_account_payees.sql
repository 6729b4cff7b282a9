-- Who each account has paid, by year: one row per (year, account, person) that a published roster
-- paid, written in the publication's transaction. An incremental screening asks it who its
-- rosters' accounts paid in their years (rule 6) and reads a few rows per account, in key order
-- within one year's rows, instead of every entry of the account and its roster's status. Rows are
-- never removed when a roster is withdrawn or superseded: the table may name more people than are
-- paid now, never fewer, and the entries read after it are checked against their rosters' status.
-- A finished key rotation rebuilds it from the entries.
CREATE TABLE account_payees (
    year BIGINT NOT NULL,
    account_idx TEXT NOT NULL,
    id_idx TEXT NOT NULL,
    PRIMARY KEY (year, account_idx, id_idx)
);
INSERT INTO account_payees (year, account_idx, id_idx)
    SELECT DISTINCT e.year, e.account_idx, e.id_idx FROM roster_entries e JOIN rosters r ON r.id = e.roster_id
    WHERE r.status = 'published' AND e.account_idx IS NOT NULL;
