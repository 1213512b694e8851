DROP TABLE rfa_events;
DROP TABLE chain_head;
DROP TABLE reference_counters;
DROP TABLE rfa_assurances;
DROP TABLE rfa_tags;
DROP TABLE rfas;
