-- The history is append-only in the database itself: an UPDATE, DELETE or TRUNCATE of an
-- event, a trail event, a registry change, a document download, a frozen snapshot or a
-- signed checkpoint is refused, whoever asks. (The table owner can still drop a trigger; run
-- the service as a role that owns nothing — docs/operations.md — and see docs/security.md
-- for what verification and the signed checkpoints show.)

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

CREATE FUNCTION refuse_rewrite() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER rfa_events_append_only BEFORE UPDATE OR DELETE ON rfa_events
    FOR EACH ROW EXECUTE FUNCTION refuse_rewrite();
CREATE TRIGGER rfa_events_no_truncate BEFORE TRUNCATE ON rfa_events
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_rewrite();

CREATE TRIGGER registry_changes_append_only BEFORE UPDATE OR DELETE ON registry_changes
    FOR EACH ROW EXECUTE FUNCTION refuse_rewrite();
CREATE TRIGGER registry_changes_no_truncate BEFORE TRUNCATE ON registry_changes
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_rewrite();

CREATE TRIGGER document_downloads_append_only BEFORE UPDATE OR DELETE ON document_downloads
    FOR EACH ROW EXECUTE FUNCTION refuse_rewrite();
CREATE TRIGGER document_downloads_no_truncate BEFORE TRUNCATE ON document_downloads
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_rewrite();

CREATE TRIGGER report_snapshots_append_only BEFORE UPDATE OR DELETE ON report_snapshots
    FOR EACH ROW EXECUTE FUNCTION refuse_rewrite();
CREATE TRIGGER report_snapshots_no_truncate BEFORE TRUNCATE ON report_snapshots
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_rewrite();

CREATE TRIGGER chain_checkpoints_append_only BEFORE UPDATE OR DELETE ON chain_checkpoints
    FOR EACH ROW EXECUTE FUNCTION refuse_rewrite();
CREATE TRIGGER chain_checkpoints_no_truncate BEFORE TRUNCATE ON chain_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_rewrite();

CREATE TRIGGER trail_events_append_only BEFORE UPDATE OR DELETE ON trail_events
    FOR EACH ROW EXECUTE FUNCTION refuse_rewrite();
CREATE TRIGGER trail_events_no_truncate BEFORE TRUNCATE ON trail_events
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_rewrite();

-- Optimistic concurrency on users, jurisdictions and authorities, as on requests: each
-- change through PATCH counts up `version`, which is the ETag a change must name in If-Match.
ALTER TABLE users ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
ALTER TABLE jurisdictions ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
ALTER TABLE authorities ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
