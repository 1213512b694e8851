-- What each request is found by: the distinct words of its reference, subject, description,
-- requester's name, national case reference and notes, folded by the service before they are
-- stored (domain::search: decomposed, marks dropped, lower-cased), so that both backends
-- index and compare the very same words. Derived data, rebuilt from the request and its
-- notes whenever they change; the service fills it at start for requests that lack it.
--
-- `terms` takes the stored words as lexemes exactly as they are (array_to_tsvector runs no
-- parser and no dictionary), so it needs no text-search configuration, no extension, and
-- finds what SQLite's index finds. The GIN index answers prefix queries ('word':*).
CREATE TABLE rfa_search (
    rfa_id TEXT PRIMARY KEY REFERENCES rfas (id),
    body TEXT NOT NULL,
    terms TSVECTOR GENERATED ALWAYS AS (array_to_tsvector(string_to_array(body, ' '))) STORED
);
CREATE INDEX rfa_search_terms ON rfa_search USING GIN (terms);
