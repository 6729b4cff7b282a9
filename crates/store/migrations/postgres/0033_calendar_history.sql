-- The working-day calendar as it stood at any moment: every listed day with the time from which
-- it held and the time it was changed or removed (NULL while it holds). A clock that restarts
-- later (a case reopened on 不满意, an extension) counts on the calendar as it was when the case
-- was filed, so holidays entered afterwards do not move its deadline. `calendar_days` stays the
-- current calendar.
--
-- The days listed at upgrade are carried forward as holding since the beginning (valid_from 0):
-- earlier versions of the calendar were not kept. Timestamps are UTC unix seconds.

CREATE TABLE calendar_day_history (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    on_date TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('holiday', 'workday')),
    name TEXT NOT NULL,
    valid_from BIGINT NOT NULL,
    valid_until BIGINT
);
CREATE INDEX calendar_day_history_date ON calendar_day_history (on_date, valid_until);

INSERT INTO calendar_day_history (on_date, kind, name, valid_from, valid_until)
    SELECT on_date, kind, name, 0, NULL FROM calendar_days;
