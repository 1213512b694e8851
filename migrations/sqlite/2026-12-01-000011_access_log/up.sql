-- Who looked at what: every read of a case, its history or its documents, every search of
-- the queue (the text only by its length), every report and export, every sign-in, failed
-- sign-in and sign-out, and every reading of this log. Hash-chained like the event log, with
-- its own head, and append-only.
CREATE TABLE access_log (
    seq       BIGINT PRIMARY KEY NOT NULL,
    at        TIMESTAMP NOT NULL,
    user_id   TEXT,               -- null: nobody signed in (a sign-in for no known account)
    action    TEXT NOT NULL,
    rfa_id    TEXT,               -- the case, when the access was to one
    detail    TEXT NOT NULL,      -- JSON: what exactly, and the answer's status
    address   TEXT NOT NULL,      -- the client's address
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);
CREATE INDEX access_log_rfa ON access_log (rfa_id, seq);
CREATE INDEX access_log_user ON access_log (user_id, seq);
CREATE TABLE access_head (
    id   INTEGER PRIMARY KEY NOT NULL,
    seq  BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO access_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE TRIGGER access_log_no_update BEFORE UPDATE ON access_log
BEGIN SELECT RAISE(ABORT, 'access_log is append-only'); END;
CREATE TRIGGER access_log_no_delete BEFORE DELETE ON access_log
BEGIN SELECT RAISE(ABORT, 'access_log is append-only'); END;
