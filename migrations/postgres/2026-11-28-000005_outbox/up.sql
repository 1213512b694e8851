-- The transactional outbox: messages written in the same transaction as the change that
-- causes them, then claimed, sent and recorded by a worker in each server instance.
CREATE TABLE outbox (
    id              TEXT PRIMARY KEY NOT NULL,
    kind            TEXT NOT NULL,        -- acknowledgement, request_information, assignment, decision, digest
    rfa_id          TEXT REFERENCES rfas (id),
    recipient       TEXT NOT NULL,
    subject         TEXT NOT NULL,
    text_body       TEXT NOT NULL,
    html_body       TEXT NOT NULL,
    message_id      TEXT NOT NULL UNIQUE, -- stable Message-ID, the same on every attempt
    status          TEXT NOT NULL CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'skipped')),
    attempts        INTEGER NOT NULL,
    next_attempt_at TIMESTAMP NOT NULL,
    leased_until    TIMESTAMP,
    lease_owner     TEXT,
    last_error      TEXT,
    created_at      TIMESTAMP NOT NULL,
    sent_at         TIMESTAMP,
    dedupe_key      TEXT UNIQUE           -- one digest per supervisor and day, across instances
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
