-- The documents of a request: the letter, annexes, translations, correspondence and the
-- responses sent. The bytes are in the document store under their SHA-256; this row is
-- what the case file says about them. Nothing is deleted: a withdrawn document keeps its
-- row (and its bytes) with who withdrew it, when and why. Adding and withdrawing are also
-- events in the request's hash chain.
CREATE TABLE documents (
    id                TEXT PRIMARY KEY NOT NULL,
    rfa_id            TEXT NOT NULL REFERENCES rfas (id),
    kind              TEXT NOT NULL,
    media_type        TEXT NOT NULL,
    sha256            TEXT NOT NULL,
    size              BIGINT NOT NULL,
    file_name         TEXT NOT NULL,           -- as sent, cleaned; for display only
    description       TEXT,
    language          TEXT,
    added_by          TEXT NOT NULL REFERENCES users (id),
    added_at          TIMESTAMP NOT NULL,
    withdrawn_at      TIMESTAMP,
    withdrawn_by      TEXT REFERENCES users (id),
    withdrawal_reason TEXT
);
CREATE INDEX documents_rfa ON documents (rfa_id, added_at, id);
CREATE INDEX documents_sha256 ON documents (sha256);

-- Every time a document's bytes were served: who, when.
CREATE TABLE document_downloads (
    id          TEXT PRIMARY KEY NOT NULL,
    document_id TEXT NOT NULL REFERENCES documents (id),
    user_id     TEXT NOT NULL REFERENCES users (id),
    at          TIMESTAMP NOT NULL
);
CREATE INDEX document_downloads_document ON document_downloads (document_id, at);
