-- While a request waits for its requester, its due date moves on a day with every day of the
-- pause. To sort and filter those requests by the due date they have today with an index,
-- each keeps the due date it would have had if its pause had begun on 2000-01-01: the due date
-- today is that key plus the days since 2000-01-01 (service::rfas::view::pause_key). NULL
-- while the clock runs. The key is derived from due_on and paused_since, so it is not part of
-- the case record; the service fills it for requests already paused when it starts.
ALTER TABLE rfas ADD COLUMN paused_due_key DATE;
CREATE INDEX rfas_paused_due ON rfas (state, paused_due_key, id);
