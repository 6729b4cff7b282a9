-- 异议 become tracked requests: a reply deadline with reminder and overdue marks, the objector's
-- rating, a timeline, a per-programme reply limit, and the reason a paid roster was approved while
-- objections to its proposed roster were still open (shown on the public roster page).
--
-- Objections filed before get a deadline computed here: the earlier of the end of their roster's
-- publicity period (when not before the filing day) and 5 working days after the filing day, with
-- weekends skipped but the holiday calendar not consulted. Open ones already past that deadline
-- are marked reminded and overdue as of the deadline, so that the upgrade sends no burst of texts;
-- the alert scan still lists them. Timestamps are UTC unix seconds; days are Beijing days.

ALTER TABLE programmes ADD COLUMN objection_reply_days BIGINT NOT NULL DEFAULT 5
    CHECK (objection_reply_days BETWEEN 1 AND 30);

ALTER TABLE rosters ADD COLUMN objection_override TEXT;

ALTER TABLE objections ADD COLUMN reply_due BIGINT NOT NULL DEFAULT 0;
ALTER TABLE objections ADD COLUMN reply_remind_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE objections ADD COLUMN deadline_basis TEXT NOT NULL DEFAULT '';
ALTER TABLE objections ADD COLUMN reminded_at BIGINT;
ALTER TABLE objections ADD COLUMN overdue_at BIGINT;
ALTER TABLE objections ADD COLUMN replied_at BIGINT;
ALTER TABLE objections ADD COLUMN rating TEXT CHECK (rating IN ('satisfied', 'basic', 'unsatisfied'));
ALTER TABLE objections ADD COLUMN rating_comment TEXT;
ALTER TABLE objections ADD COLUMN rated_at BIGINT;

UPDATE objections SET
    reply_due = (((created_at + 28800) / 86400)
        + CASE (((created_at + 28800) / 86400) + 3) % 7 WHEN 5 THEN 6 WHEN 6 THEN 5 ELSE 7 END + 1) * 86400 - 28801,
    deadline_basis = '5个工作日内答复（升级时推算）',
    replied_at = CASE WHEN status = 'closed' THEN updated_at END;

UPDATE objections SET
    reply_due = (SELECT (CAST(strftime('%s', r.publicity_end) AS INTEGER) / 86400 + 1) * 86400 - 28801
        FROM rosters r WHERE r.id = objections.roster_id),
    deadline_basis = '公示期结束前答复'
WHERE EXISTS (SELECT 1 FROM rosters r WHERE r.id = objections.roster_id AND r.publicity_end IS NOT NULL
    AND CAST(strftime('%s', r.publicity_end) AS INTEGER) / 86400 >= (objections.created_at + 28800) / 86400
    AND (CAST(strftime('%s', r.publicity_end) AS INTEGER) / 86400 + 1) * 86400 - 28801 < objections.reply_due);

UPDATE objections SET reply_remind_at = CASE WHEN reply_due - 86400 > created_at THEN reply_due - 86400
    ELSE created_at END;

UPDATE objections SET reminded_at = reply_remind_at, overdue_at = reply_due
WHERE status <> 'closed' AND reply_due < CAST(strftime('%s', 'now') AS INTEGER);

CREATE INDEX objections_open ON objections (status, reply_due);

-- The timeline of an objection. `public` events are shown to the objector.
CREATE TABLE objection_events (
    id INTEGER PRIMARY KEY,
    objection_id BIGINT NOT NULL REFERENCES objections (id),
    kind TEXT NOT NULL,
    actor TEXT NOT NULL,
    staff_user_id BIGINT REFERENCES staff_users (id),
    note TEXT NOT NULL,
    public BIGINT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX objection_events_objection ON objection_events (objection_id, id);

INSERT INTO objection_events (objection_id, kind, actor, note, public, at)
SELECT id, 'submitted', '异议人', '提交异议', 1, created_at FROM objections;
INSERT INTO objection_events (objection_id, kind, actor, staff_user_id, note, public, at)
SELECT id, 'reply', '审核人员', handled_by, reply, 1, updated_at FROM objections WHERE reply IS NOT NULL;
