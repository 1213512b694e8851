-- What each request is found by: the distinct words of its reference, subject, description,
-- requester's name, national case reference and notes, folded by the service before they are
-- stored (domain::search: decomposed, marks dropped, lower-cased), so that both backends
-- index and compare the very same words. Derived data, rebuilt from the request and its
-- notes whenever they change; the service fills it at start for requests that lack it.
--
-- The words live in rfa_search; the FTS5 index over them is an external-content table kept
-- in step by the triggers below. The `ascii` tokenizer splits at ASCII spaces and
-- punctuation only and folds nothing beyond ASCII case, so it finds exactly the words the
-- service stored (unicode61 would fold again, by its own tables, and differ from
-- PostgreSQL). The prefix indexes make short prefix searches cheap.
CREATE TABLE rfa_search (
    doc INTEGER PRIMARY KEY,
    rfa_id TEXT NOT NULL UNIQUE REFERENCES rfas (id),
    body TEXT NOT NULL
);
CREATE VIRTUAL TABLE rfa_search_index USING fts5 (
    body,
    content = 'rfa_search',
    content_rowid = 'doc',
    tokenize = 'ascii',
    prefix = '1 2 3'
);
CREATE TRIGGER rfa_search_added AFTER INSERT ON rfa_search BEGIN
    INSERT INTO rfa_search_index (rowid, body) VALUES (new.doc, new.body);
END;
CREATE TRIGGER rfa_search_changed AFTER UPDATE ON rfa_search BEGIN
    INSERT INTO rfa_search_index (rfa_search_index, rowid, body) VALUES ('delete', old.doc, old.body);
    INSERT INTO rfa_search_index (rowid, body) VALUES (new.doc, new.body);
END;
CREATE TRIGGER rfa_search_removed AFTER DELETE ON rfa_search BEGIN
    INSERT INTO rfa_search_index (rfa_search_index, rowid, body) VALUES ('delete', old.doc, old.body);
END;
