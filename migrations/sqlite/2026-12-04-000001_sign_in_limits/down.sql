DROP TABLE sign_in_budget;
DROP TABLE sign_in_sources;
