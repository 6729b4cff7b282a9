-- An objection's code is drawn at random and retried on a clash, so a repeated submission of
-- one form is recognised by its once-only form key instead. Objections filed before have none.
ALTER TABLE objections ADD COLUMN submit_key TEXT;
CREATE UNIQUE INDEX objections_submit_key_key ON objections (submit_key);
