DROP TRIGGER rfa_open_words_of_rfa ON rfas;
DROP FUNCTION rfa_open_words_of_rfa();
DROP TRIGGER rfa_open_words_of_search ON rfa_search;
DROP FUNCTION rfa_open_words_of_search();
DROP TABLE rfa_open_words;
