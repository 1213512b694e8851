-- The document store kept in the database itself (`documents.store = "database"`), for
-- several instances behind a load balancer: every instance reads the same bytes, and a
-- backup of the database is a backup of the documents. A document's bytes are cut into
-- chunks (1 MiB, see src/documents) so that neither a write nor a read holds more than one
-- chunk in memory. The chunks and their `document_blobs` row are written in one
-- transaction: a blob row exists only once all its chunks do.
CREATE TABLE document_blobs (
    sha256    TEXT PRIMARY KEY NOT NULL,
    size      BIGINT NOT NULL,
    chunks    INTEGER NOT NULL,
    stored_at TIMESTAMP NOT NULL
);
CREATE TABLE document_chunks (
    sha256 TEXT NOT NULL,
    seq    INTEGER NOT NULL,
    bytes  BYTEA NOT NULL,
    PRIMARY KEY (sha256, seq)
);
-- Documents are mostly compressed already (PDF, DOCX, JPEG): storing the chunks out of line
-- without trying to compress them saves the work of a failed attempt on every write.
ALTER TABLE document_chunks ALTER COLUMN bytes SET STORAGE EXTERNAL;

-- Stored bytes never change and are never removed (documents are withdrawn, not deleted).
CREATE TRIGGER document_blobs_append_only BEFORE UPDATE OR DELETE ON document_blobs
    FOR EACH ROW EXECUTE FUNCTION refuse_rewrite();
CREATE TRIGGER document_blobs_no_truncate BEFORE TRUNCATE ON document_blobs
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_rewrite();
CREATE TRIGGER document_chunks_append_only BEFORE UPDATE OR DELETE ON document_chunks
    FOR EACH ROW EXECUTE FUNCTION refuse_rewrite();
CREATE TRIGGER document_chunks_no_truncate BEFORE TRUNCATE ON document_chunks
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_rewrite();
