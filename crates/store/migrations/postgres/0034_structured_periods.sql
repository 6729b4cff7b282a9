-- A roster's period becomes structured: the year it covers, its kind (annual 年度, quarter 季度,
-- month 月, supplement 补发) and its number, with a comparison key (`2025-M03`) that the import's
-- cross-roster duplicate check and the screening rules compare, so that 2025年3月 and 2025年03月
-- are one period. The text the clerk typed (`period`) stays for display.
--
-- Carrying existing rows forward needs the parser of clerks' spellings (`core::period`), so it
-- is not done in SQL: right after this migration, `Store::migrate` reads every roster whose
-- `period_key` is still NULL and fills the four columns. A text that names no kind unambiguously
-- (上半年, 3月补发…) keeps its text, gets period_kind 'unread' (shown as 批次未识别 on the staff
-- pages) and the key `<year>-?<text without spaces>`, so it is compared as written, as before.

ALTER TABLE rosters ADD COLUMN period_year BIGINT;
ALTER TABLE rosters ADD COLUMN period_kind TEXT
    CHECK (period_kind IN ('annual', 'quarter', 'month', 'supplement', 'unread'));
ALTER TABLE rosters ADD COLUMN period_number BIGINT;
ALTER TABLE rosters ADD COLUMN period_key TEXT;
CREATE INDEX rosters_period ON rosters (programme_id, period_key, phase);
