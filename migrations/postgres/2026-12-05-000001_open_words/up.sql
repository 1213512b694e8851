-- The words of the open requests in the queue's due order: one row per word of each open
-- request, keyed so that the requests having a word are read in due order straight from the
-- key (`db::search::in_due_order`). A search of the open queue by due date then reads the
-- first matches of its rarest word instead of every match (the GIN index lists a common
-- word's matches in no useful order) or every open request.
--
-- Derived data, kept in step by the triggers below whatever writes the request or its words:
-- `paused` and `due_key` are what the queue orders by (a running pause orders by
-- `paused_due_key`, the others by `due_on`; `db::rfas`), and a closed request has no rows
-- here (the archive is searched through `rfa_search.terms`).
--
-- `word` compares byte by byte (COLLATE "C"), as SQLite's does, so that the words beginning
-- with a prefix are one range of the key on both backends.
CREATE TABLE rfa_open_words (
    word TEXT COLLATE "C" NOT NULL,
    paused BOOLEAN NOT NULL,
    due_key DATE NOT NULL,
    rfa_id TEXT NOT NULL,
    PRIMARY KEY (word, paused, due_key, rfa_id)
);

INSERT INTO rfa_open_words (word, paused, due_key, rfa_id)
SELECT w, r.paused_due_key IS NOT NULL, coalesce(r.paused_due_key, r.due_on), r.id
FROM rfas r
JOIN rfa_search s ON s.rfa_id = r.id,
     unnest(string_to_array(s.body, ' ')) w
WHERE r.state <> 'closed' AND w <> ''
ON CONFLICT DO NOTHING;

-- A request's words were written or rewritten: its rows follow, at its place in the queue.
CREATE FUNCTION rfa_open_words_of_search() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.body = NEW.body THEN
        RETURN NULL;
    END IF;
    IF TG_OP <> 'INSERT' THEN
        DELETE FROM rfa_open_words o USING rfas r
        WHERE r.id = OLD.rfa_id
          AND o.word = ANY (string_to_array(OLD.body, ' '))
          AND o.paused = (r.paused_due_key IS NOT NULL)
          AND o.due_key = coalesce(r.paused_due_key, r.due_on)
          AND o.rfa_id = r.id;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        INSERT INTO rfa_open_words (word, paused, due_key, rfa_id)
        SELECT w, r.paused_due_key IS NOT NULL, coalesce(r.paused_due_key, r.due_on), r.id
        FROM rfas r, unnest(string_to_array(NEW.body, ' ')) w
        WHERE r.id = NEW.rfa_id AND r.state <> 'closed' AND w <> ''
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER rfa_open_words_of_search AFTER INSERT OR DELETE OR UPDATE OF body ON rfa_search
FOR EACH ROW EXECUTE FUNCTION rfa_open_words_of_search();

-- A request changed state, due date or pause: its rows move to its new place in the queue,
-- or leave when it closes (and come back if it is reopened).
CREATE FUNCTION rfa_open_words_of_rfa() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.state IS NOT DISTINCT FROM NEW.state
       AND OLD.due_on IS NOT DISTINCT FROM NEW.due_on
       AND OLD.paused_due_key IS NOT DISTINCT FROM NEW.paused_due_key THEN
        RETURN NULL;
    END IF;
    IF OLD.state <> 'closed' THEN
        DELETE FROM rfa_open_words o USING rfa_search s
        WHERE s.rfa_id = OLD.id
          AND o.word = ANY (string_to_array(s.body, ' '))
          AND o.paused = (OLD.paused_due_key IS NOT NULL)
          AND o.due_key = coalesce(OLD.paused_due_key, OLD.due_on)
          AND o.rfa_id = OLD.id;
    END IF;
    IF NEW.state <> 'closed' THEN
        INSERT INTO rfa_open_words (word, paused, due_key, rfa_id)
        SELECT w, NEW.paused_due_key IS NOT NULL, coalesce(NEW.paused_due_key, NEW.due_on), NEW.id
        FROM rfa_search s, unnest(string_to_array(s.body, ' ')) w
        WHERE s.rfa_id = NEW.id AND w <> ''
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER rfa_open_words_of_rfa AFTER UPDATE OF state, due_on, paused_due_key ON rfas
FOR EACH ROW EXECUTE FUNCTION rfa_open_words_of_rfa();
