DROP TRIGGER rfa_search_removed;
DROP TRIGGER rfa_search_changed;
DROP TRIGGER rfa_search_added;
DROP TABLE rfa_search_index;
DROP TABLE rfa_search;
