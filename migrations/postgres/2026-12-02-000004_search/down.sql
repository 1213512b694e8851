DROP TABLE rfa_search;
