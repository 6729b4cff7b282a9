-- The self-query asks, per programme and village, for the latest year with a published payment
-- result; this index answers it without scanning the programme's rosters.
CREATE INDEX rosters_paid_year ON rosters (programme_id, org_code, phase, status, year);
