DROP TRIGGER rfa_open_words_moved;
DROP TRIGGER rfa_open_words_removed;
DROP TRIGGER rfa_open_words_rewritten;
DROP TRIGGER rfa_open_words_added;
DROP TABLE rfa_open_words;
