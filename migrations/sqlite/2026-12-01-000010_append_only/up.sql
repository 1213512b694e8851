-- The history is append-only in the database itself: an UPDATE or DELETE of an event, a
-- registry change, a document download, a frozen snapshot or a signed checkpoint is refused,
-- whoever asks. (Someone who can drop a trigger can still edit; verification and the signed
-- checkpoints are what show that: see docs/security.md.)

-- Signed statements of the chain head: the event log up to `seq` ends in `head_hash`.
-- `signature` is Ed25519 over the canonical statement (see service::checkpoint), by the key
-- whose public half is `public_key` (hex) and whose id is `key_id`.
CREATE TABLE chain_checkpoints (
    id         TEXT PRIMARY KEY NOT NULL,
    seq        BIGINT NOT NULL,
    head_hash  TEXT NOT NULL,
    at         TIMESTAMP NOT NULL,
    key_id     TEXT NOT NULL,
    public_key TEXT NOT NULL,
    signature  TEXT NOT NULL
);
CREATE UNIQUE INDEX chain_checkpoints_seq_key ON chain_checkpoints (seq, key_id);

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
