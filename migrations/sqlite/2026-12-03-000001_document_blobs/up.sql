-- The document store kept in the database itself (`documents.store = "database"`): a
-- backup of the database file is then a backup of the documents. A document's bytes are
-- cut into chunks (1 MiB, see src/documents) so that neither a write nor a read holds more
-- than one chunk in memory. The chunks and their `document_blobs` row are written in one
-- transaction: a blob row exists only once all its chunks do.
CREATE TABLE document_blobs (
    sha256    TEXT PRIMARY KEY NOT NULL,
    size      INTEGER NOT NULL,
    chunks    INTEGER NOT NULL,
    stored_at TIMESTAMP NOT NULL
);
CREATE TABLE document_chunks (
    sha256 TEXT NOT NULL,
    seq    INTEGER NOT NULL,
    bytes  BLOB NOT NULL,
    PRIMARY KEY (sha256, seq)
);

-- Stored bytes never change and are never removed (documents are withdrawn, not deleted).
CREATE TRIGGER document_blobs_no_update BEFORE UPDATE ON document_blobs
BEGIN SELECT RAISE(ABORT, 'document_blobs is append-only'); END;
CREATE TRIGGER document_blobs_no_delete BEFORE DELETE ON document_blobs
BEGIN SELECT RAISE(ABORT, 'document_blobs is append-only'); END;
CREATE TRIGGER document_chunks_no_update BEFORE UPDATE ON document_chunks
BEGIN SELECT RAISE(ABORT, 'document_chunks is append-only'); END;
CREATE TRIGGER document_chunks_no_delete BEFORE DELETE ON document_chunks
BEGIN SELECT RAISE(ABORT, 'document_chunks is append-only'); END;
