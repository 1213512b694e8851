-- The history is append-only in the database itself: an UPDATE, DELETE or TRUNCATE of an
-- event, a registry change, a document download, a frozen snapshot or a signed checkpoint
-- is refused, whoever asks. (The table owner can still drop a trigger; run the service as a
-- role that owns nothing — docs/operations.md — and see docs/security.md for what
-- verification and the signed checkpoints show.)

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
