-- Requests for assistance, their tags and assurances, and the append-only event log with
-- its hash chain.
CREATE TABLE rfas (
    id                      TEXT PRIMARY KEY NOT NULL,
    reference               TEXT NOT NULL UNIQUE,      -- RFA-YYYY-NNNN
    jurisdiction_id         TEXT NOT NULL REFERENCES jurisdictions (id),
    authority_id            TEXT NOT NULL REFERENCES authorities (id),
    received_at             TIMESTAMP NOT NULL,
    subject                 TEXT NOT NULL,
    description             TEXT NOT NULL,
    -- The rest of the intake (channel, requester, assistance types, proceeding type, crimes,
    -- conduct, national case reference, confidentiality) as JSON: read whole, never queried.
    intake                  TEXT NOT NULL,
    priority                TEXT NOT NULL,
    priority_rank           INTEGER NOT NULL,          -- urgent 0, high 1, routine 2 (sorting)
    confidentiality         TEXT NOT NULL,
    tags                    TEXT NOT NULL,             -- JSON array (also in rfa_tags)
    state                   TEXT NOT NULL CHECK (state IN
        ('received', 'under_review', 'in_progress', 'awaiting_requester', 'closed')),
    outcome                 TEXT,
    assignee_id             TEXT REFERENCES users (id),
    eligibility_outcome     TEXT NOT NULL,
    eligibility             TEXT NOT NULL,             -- JSON decision
    eligibility_override    TEXT,                      -- JSON {justification, by, at}
    received_on             DATE NOT NULL,             -- in the reporting time zone
    due_on                  DATE NOT NULL,             -- without a pause still running
    paused_days             INTEGER NOT NULL,
    paused_since            TIMESTAMP,
    extended_to             DATE,
    extensions              TEXT NOT NULL,             -- JSON [{due_on, reason, by, at}]
    version                 BIGINT NOT NULL,
    created_by              TEXT NOT NULL REFERENCES users (id),
    created_at              TIMESTAMP NOT NULL,
    updated_at              TIMESTAMP NOT NULL,
    idempotency_key         TEXT,
    request_digest          TEXT,
    UNIQUE (created_by, idempotency_key)
);
CREATE INDEX rfas_queue_due ON rfas (state, due_on, id);
CREATE INDEX rfas_jurisdiction_due ON rfas (jurisdiction_id, state, due_on, id);
CREATE INDEX rfas_received ON rfas (received_at, id);
CREATE INDEX rfas_updated ON rfas (updated_at, id);
CREATE INDEX rfas_priority ON rfas (priority_rank, id);
CREATE INDEX rfas_assignee ON rfas (assignee_id);

CREATE TABLE rfa_tags (
    rfa_id TEXT NOT NULL REFERENCES rfas (id),
    tag    TEXT NOT NULL,
    PRIMARY KEY (tag, rfa_id)
);

-- Assurances given for one request that the death penalty will not be sought or applied.
CREATE TABLE rfa_assurances (
    id          TEXT PRIMARY KEY NOT NULL,
    rfa_id      TEXT NOT NULL REFERENCES rfas (id),
    reference   TEXT NOT NULL,
    given_on    DATE NOT NULL,
    recorded_by TEXT NOT NULL REFERENCES users (id),
    recorded_at TIMESTAMP NOT NULL
);
CREATE INDEX rfa_assurances_rfa ON rfa_assurances (rfa_id);

-- Reference numbers: the last sequence given out per year of receipt.
CREATE TABLE reference_counters (
    year INTEGER PRIMARY KEY NOT NULL,
    last INTEGER NOT NULL
);

-- The head of the hash chain. Every write that appends events updates this one row first,
-- which serialises appenders across instances and keeps the chain a single line.
CREATE TABLE chain_head (
    id   INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    seq  BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO chain_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- The append-only event log. The service has no update or delete path for it.
CREATE TABLE rfa_events (
    seq          BIGINT PRIMARY KEY NOT NULL,
    rfa_id       TEXT NOT NULL REFERENCES rfas (id),
    actor_id     TEXT NOT NULL REFERENCES users (id),
    at           TIMESTAMP NOT NULL,
    action       TEXT NOT NULL,
    state_before TEXT,
    state_after  TEXT NOT NULL,
    details      TEXT NOT NULL,     -- JSON
    prev_hash    TEXT NOT NULL,
    hash         TEXT NOT NULL
);
CREATE INDEX rfa_events_rfa ON rfa_events (rfa_id, seq);
