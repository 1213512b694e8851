DROP TABLE registry_changes;
DROP TABLE authorities;
DROP TABLE cooperation_frameworks;
DROP TABLE death_penalty_assurances;
DROP TABLE human_rights_assessments;
DROP TABLE jurisdictions;
