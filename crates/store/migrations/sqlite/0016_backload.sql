-- Rosters of past years loaded directly from files by `xiaowei roster import` (历史补录):
-- they never went through the online draft → review → publish workflow, and the public pages
-- say so.
ALTER TABLE rosters ADD COLUMN backloaded BIGINT NOT NULL DEFAULT 0;
