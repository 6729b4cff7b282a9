-- 超一个季度未公开 alerts become one per village and overdue quarter (naming every lapsed
-- category) instead of one per village and category. The per-category alerts raised before
-- (subject `<village>:<category>`) that are not yet resolved are closed here with a note saying
-- so; the next scan raises the grouped alert for each village still lapsed, so nothing is lost
-- and the commission's list no longer carries two alerts for one lapse. Timestamps are UTC
-- unix seconds.

UPDATE alerts SET
    status = 'resolved',
    resolved_at = CAST(EXTRACT(EPOCH FROM now()) AS BIGINT),
    note = '系统升级：超一个季度未公开预警改为按村、按季度合并，本条已并入该村的合并预警'
WHERE kind = 'disclosure_overdue' AND subject_kind = 'village' AND subject_id LIKE '%:%' AND status <> 'resolved';
