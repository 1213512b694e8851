-- The words of the open requests in the queue's due order: one row per word of each open
-- request, keyed so that the requests having a word are read in due order straight from the
-- key (`db::search::in_due_order`). A search of the open queue by due date then reads the
-- first matches of its rarest word instead of every match (FTS5 lists a common word's
-- matches in no useful order) or every open request.
--
-- Derived data, kept in step by the triggers below whatever writes the request or its words:
-- `paused` and `due_key` are what the queue orders by (a running pause orders by
-- `paused_due_key`, the others by `due_on`; `db::rfas`), and a closed request has no rows
-- here (the archive is searched through `rfa_search_index`).
--
-- The stored words (`rfa_search.body`) are letters and digits separated by single spaces
-- (`domain::search`), so quoting them as a JSON array for `json_each` cannot be broken.
CREATE TABLE rfa_open_words (
    word TEXT NOT NULL,
    paused BOOLEAN NOT NULL,
    due_key DATE NOT NULL,
    rfa_id TEXT NOT NULL,
    PRIMARY KEY (word, paused, due_key, rfa_id)
) WITHOUT ROWID;

INSERT OR IGNORE INTO rfa_open_words (word, paused, due_key, rfa_id)
SELECT w.value, r.paused_due_key IS NOT NULL, coalesce(r.paused_due_key, r.due_on), r.id
FROM rfas r
JOIN rfa_search s ON s.rfa_id = r.id,
     json_each('["' || replace(s.body, ' ', '","') || '"]') w
WHERE r.state <> 'closed' AND w.value <> '';

-- A request's words were written or rewritten: its rows follow, at its place in the queue.
CREATE TRIGGER rfa_open_words_added AFTER INSERT ON rfa_search BEGIN
    INSERT OR IGNORE INTO rfa_open_words (word, paused, due_key, rfa_id)
    SELECT w.value, r.paused_due_key IS NOT NULL, coalesce(r.paused_due_key, r.due_on), r.id
    FROM rfas r, json_each('["' || replace(new.body, ' ', '","') || '"]') w
    WHERE r.id = new.rfa_id AND r.state <> 'closed' AND w.value <> '';
END;
CREATE TRIGGER rfa_open_words_rewritten AFTER UPDATE OF body ON rfa_search
WHEN old.body IS NOT new.body BEGIN
    DELETE FROM rfa_open_words WHERE (word, paused, due_key, rfa_id) IN (
        SELECT w.value, r.paused_due_key IS NOT NULL, coalesce(r.paused_due_key, r.due_on), r.id
        FROM rfas r, json_each('["' || replace(old.body, ' ', '","') || '"]') w
        WHERE r.id = old.rfa_id
    );
    INSERT OR IGNORE INTO rfa_open_words (word, paused, due_key, rfa_id)
    SELECT w.value, r.paused_due_key IS NOT NULL, coalesce(r.paused_due_key, r.due_on), r.id
    FROM rfas r, json_each('["' || replace(new.body, ' ', '","') || '"]') w
    WHERE r.id = new.rfa_id AND r.state <> 'closed' AND w.value <> '';
END;
CREATE TRIGGER rfa_open_words_removed AFTER DELETE ON rfa_search BEGIN
    DELETE FROM rfa_open_words WHERE (word, paused, due_key, rfa_id) IN (
        SELECT w.value, r.paused_due_key IS NOT NULL, coalesce(r.paused_due_key, r.due_on), r.id
        FROM rfas r, json_each('["' || replace(old.body, ' ', '","') || '"]') w
        WHERE r.id = old.rfa_id
    );
END;

-- A request changed state, due date or pause: its rows move to its new place in the queue,
-- or leave when it closes (and come back if it is reopened).
CREATE TRIGGER rfa_open_words_moved AFTER UPDATE OF state, due_on, paused_due_key ON rfas
WHEN old.state IS NOT new.state
  OR old.due_on IS NOT new.due_on
  OR old.paused_due_key IS NOT new.paused_due_key BEGIN
    DELETE FROM rfa_open_words WHERE (word, paused, due_key, rfa_id) IN (
        SELECT w.value, old.paused_due_key IS NOT NULL, coalesce(old.paused_due_key, old.due_on), old.id
        FROM rfa_search s, json_each('["' || replace(s.body, ' ', '","') || '"]') w
        WHERE s.rfa_id = old.id AND old.state <> 'closed'
    );
    INSERT OR IGNORE INTO rfa_open_words (word, paused, due_key, rfa_id)
    SELECT w.value, new.paused_due_key IS NOT NULL, coalesce(new.paused_due_key, new.due_on), new.id
    FROM rfa_search s, json_each('["' || replace(s.body, ' ', '","') || '"]') w
    WHERE s.rfa_id = new.id AND new.state <> 'closed' AND w.value <> '';
END;
