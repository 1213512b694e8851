-- The queue's other orders, by state: a page of one state ordered by receipt, last change or
-- priority is then one ordered range of an index that stops at the page, and a page of
-- several states is read a state at a time and merged (`db::rfas::each_state`). Without them
-- SQLite, which keeps no statistics per value, read the Closed tab (850,000 closed of
-- 1,000,000 requests, newest received first) through the state index and sorted every closed
-- request: 1.1 s a page (docs/benchmarks.md).
CREATE INDEX rfas_state_received ON rfas (state, received_at, id);
CREATE INDEX rfas_state_updated ON rfas (state, updated_at, id);
CREATE INDEX rfas_state_priority ON rfas (state, priority_rank, id);
-- A person's cases ("My cases", `assignee_id=`) by state in due order: through the state's due
-- index alone, a page of someone with few open cases walked every open request of each state
-- looking for theirs (380 ms at 1,000,000 RFAs on SQLite, against 1 ms).
CREATE INDEX rfas_assignee_state_due ON rfas (assignee_id, state, due_on, id);

-- SQLite keeps statistics only where ANALYZE has been run. On a database that has them (a
-- routine ANALYZE by its operator), new indexes without them look far more selective than
-- they are: the planner read the open queue by due date through rfas_state_priority and
-- sorted every request of the state (257 ms a page at 1,000,000 RFAs). Statistics for the
-- whole table, new indexes included, are taken here, in full (a sample of 1,000 rows an
-- index reckoned each state 1,000 requests); 1.3 s at 1,000,000 RFAs.
ANALYZE rfas;
