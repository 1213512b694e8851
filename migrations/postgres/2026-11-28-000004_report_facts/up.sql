-- What the annual figures count, copied out of each event's (hashed) details into indexed
-- columns: the kind of fact (received, processed, reopened, redated), the day it counts on in
-- the reporting time zone, and the breakdown keys. Verification checks the copies against
-- the details, so they are as tamper-evident as the chain.
ALTER TABLE rfa_events ADD COLUMN report_kind TEXT;
ALTER TABLE rfa_events ADD COLUMN report_day DATE;
ALTER TABLE rfa_events ADD COLUMN report_day_from DATE;
ALTER TABLE rfa_events ADD COLUMN jurisdiction_id TEXT;
ALTER TABLE rfa_events ADD COLUMN outcome TEXT;
ALTER TABLE rfa_events ADD COLUMN priority TEXT;
ALTER TABLE rfa_events ADD COLUMN assistance_types TEXT;
ALTER TABLE rfa_events ADD COLUMN processing_days INTEGER;
ALTER TABLE rfa_events ADD COLUMN paused_days INTEGER;
CREATE INDEX rfa_events_report ON rfa_events (report_kind, report_day, jurisdiction_id, at);
CREATE INDEX rfa_events_report_from ON rfa_events (report_kind, report_day_from, jurisdiction_id, at);
-- Counting everything before a day per kind and jurisdiction (pending at the start of a
-- period) streams through this index in group order, with no sort.
CREATE INDEX rfa_events_report_groups ON rfa_events (report_kind, jurisdiction_id, report_day, at);

-- Frozen reports: their parameters, figures, the event sequence they covered and a digest.
CREATE TABLE report_snapshots (
    id          TEXT PRIMARY KEY NOT NULL,
    kind        TEXT NOT NULL,        -- annual, range, cumulative
    parameters  TEXT NOT NULL,        -- JSON
    as_of       TIMESTAMP NOT NULL,
    covered_seq BIGINT NOT NULL,
    figures     TEXT NOT NULL,        -- JSON, canonical
    digest      TEXT NOT NULL,        -- SHA-256 of kind, parameters, as_of, covered_seq, figures
    label       TEXT,
    created_by  TEXT NOT NULL REFERENCES users (id),
    created_at  TIMESTAMP NOT NULL
);
