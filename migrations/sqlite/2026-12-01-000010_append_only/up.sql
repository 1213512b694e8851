-- The history is append-only in the database itself: an UPDATE or DELETE of an event, a
-- trail event, a registry change, a document download, a frozen snapshot or a signed
-- checkpoint is refused, whoever asks. (Someone who can drop a trigger can still edit;
-- verification and the signed checkpoints are what show that: see docs/security.md.)

-- The trail of accounts and the registry: a hash chain of its own, beside the requests'.
-- Each event names its subject (a user, or a jurisdiction with its assessments, assurances,
-- frameworks and authorities), who acted, and in `details.record` the subject's record
-- entry (whole, or the fields changed before and after, with the digest of the whole).
CREATE TABLE trail_events (
    seq          BIGINT PRIMARY KEY NOT NULL,
    subject_kind TEXT NOT NULL,
    subject_id   TEXT NOT NULL,
    actor_id     TEXT NOT NULL,
    at           TIMESTAMP NOT NULL,
    action       TEXT NOT NULL,
    details      TEXT NOT NULL,
    prev_hash    TEXT NOT NULL,
    hash         TEXT NOT NULL
);
CREATE INDEX trail_events_subject ON trail_events (subject_kind, subject_id, seq);
CREATE TABLE trail_head (
    id   INTEGER PRIMARY KEY NOT NULL,
    seq  BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO trail_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- Signed statements of the chain heads: the event log up to `seq` ends in `head_hash`,
-- the trail of accounts and the registry up to `trail_seq` in `trail_hash`, the access log up
-- to `access_seq` in `access_hash`.
-- `signature` is Ed25519 over the canonical statement (see service::checkpoint), by the key
-- whose public half is `public_key` (hex) and whose id is `key_id`.
CREATE TABLE chain_checkpoints (
    id         TEXT PRIMARY KEY NOT NULL,
    seq        BIGINT NOT NULL,
    head_hash  TEXT NOT NULL,
    at         TIMESTAMP NOT NULL,
    trail_seq  BIGINT NOT NULL,
    trail_hash TEXT NOT NULL,
    -- The access log's head (migration 11 makes the log; 0 and the genesis hash before it).
    access_seq  BIGINT NOT NULL DEFAULT 0,
    access_hash TEXT NOT NULL DEFAULT '0000000000000000000000000000000000000000000000000000000000000000',
    key_id     TEXT NOT NULL,
    public_key TEXT NOT NULL,
    signature  TEXT NOT NULL
);
CREATE UNIQUE INDEX chain_checkpoints_heads_key
    ON chain_checkpoints (seq, trail_seq, access_seq, key_id);

CREATE TRIGGER rfa_events_no_update BEFORE UPDATE ON rfa_events
BEGIN SELECT RAISE(ABORT, 'rfa_events is append-only'); END;
CREATE TRIGGER rfa_events_no_delete BEFORE DELETE ON rfa_events
BEGIN SELECT RAISE(ABORT, 'rfa_events is append-only'); END;

CREATE TRIGGER registry_changes_no_update BEFORE UPDATE ON registry_changes
BEGIN SELECT RAISE(ABORT, 'registry_changes is append-only'); END;
CREATE TRIGGER registry_changes_no_delete BEFORE DELETE ON registry_changes
BEGIN SELECT RAISE(ABORT, 'registry_changes is append-only'); END;

CREATE TRIGGER document_downloads_no_update BEFORE UPDATE ON document_downloads
BEGIN SELECT RAISE(ABORT, 'document_downloads is append-only'); END;
CREATE TRIGGER document_downloads_no_delete BEFORE DELETE ON document_downloads
BEGIN SELECT RAISE(ABORT, 'document_downloads is append-only'); END;

CREATE TRIGGER report_snapshots_no_update BEFORE UPDATE ON report_snapshots
BEGIN SELECT RAISE(ABORT, 'report_snapshots is append-only'); END;
CREATE TRIGGER report_snapshots_no_delete BEFORE DELETE ON report_snapshots
BEGIN SELECT RAISE(ABORT, 'report_snapshots is append-only'); END;

CREATE TRIGGER chain_checkpoints_no_update BEFORE UPDATE ON chain_checkpoints
BEGIN SELECT RAISE(ABORT, 'chain_checkpoints is append-only'); END;
CREATE TRIGGER chain_checkpoints_no_delete BEFORE DELETE ON chain_checkpoints
BEGIN SELECT RAISE(ABORT, 'chain_checkpoints is append-only'); END;

CREATE TRIGGER trail_events_no_update BEFORE UPDATE ON trail_events
BEGIN SELECT RAISE(ABORT, 'trail_events is append-only'); END;
CREATE TRIGGER trail_events_no_delete BEFORE DELETE ON trail_events
BEGIN SELECT RAISE(ABORT, 'trail_events is append-only'); END;

-- Optimistic concurrency on users, jurisdictions and authorities, as on requests: each
-- change through PATCH counts up `version`, which is the ETag a change must name in If-Match.
ALTER TABLE users ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
ALTER TABLE jurisdictions ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
ALTER TABLE authorities ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
