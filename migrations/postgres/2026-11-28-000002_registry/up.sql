-- The registry: jurisdictions, what the eligibility rules read about them, the authorities
-- that send requests, and a record of every change with who made it and when.
CREATE TABLE jurisdictions (
    id                   TEXT PRIMARY KEY NOT NULL,
    name                 TEXT NOT NULL UNIQUE,
    country_code         TEXT NOT NULL,        -- ISO 3166-1 alpha-2, upper case
    death_penalty_status TEXT NOT NULL CHECK (death_penalty_status IN
        ('abolished_all_crimes', 'abolished_ordinary_crimes', 'abolished_in_practice', 'retentionist')),
    competence_bases     TEXT NOT NULL,        -- JSON: [{"basis": …, "crimes": [...]}]
    active               BOOLEAN NOT NULL DEFAULT TRUE,
    created_at           TIMESTAMP NOT NULL,
    updated_at           TIMESTAMP NOT NULL
);

-- History: rows are only ever added; the latest by assessed_on counts.
CREATE TABLE human_rights_assessments (
    id              TEXT PRIMARY KEY NOT NULL,
    jurisdiction_id TEXT NOT NULL REFERENCES jurisdictions (id),
    outcome         TEXT NOT NULL CHECK (outcome IN ('meets', 'concerns', 'fails')),
    assessed_on     DATE NOT NULL,
    review_due      DATE NOT NULL,
    assessor        TEXT NOT NULL,
    summary         TEXT NOT NULL,
    recorded_by     TEXT NOT NULL REFERENCES users (id),
    recorded_at     TIMESTAMP NOT NULL,
    CHECK (review_due >= assessed_on)
);
CREATE INDEX human_rights_assessments_jurisdiction ON human_rights_assessments (jurisdiction_id, assessed_on);

-- Standing assurances that the death penalty will not be sought or applied.
CREATE TABLE death_penalty_assurances (
    id              TEXT PRIMARY KEY NOT NULL,
    jurisdiction_id TEXT NOT NULL REFERENCES jurisdictions (id),
    reference       TEXT NOT NULL,
    given_on        DATE NOT NULL,
    scope           TEXT NOT NULL,             -- JSON array of crimes; [] = every crime
    expires_on      DATE,
    recorded_by     TEXT NOT NULL REFERENCES users (id),
    recorded_at     TIMESTAMP NOT NULL,
    CHECK (expires_on IS NULL OR expires_on >= given_on)
);
CREATE INDEX death_penalty_assurances_jurisdiction ON death_penalty_assurances (jurisdiction_id);

CREATE TABLE cooperation_frameworks (
    id              TEXT PRIMARY KEY NOT NULL,
    jurisdiction_id TEXT NOT NULL REFERENCES jurisdictions (id),
    kind            TEXT NOT NULL,
    reference       TEXT NOT NULL,
    signed_on       DATE NOT NULL,
    recorded_by     TEXT NOT NULL REFERENCES users (id),
    recorded_at     TIMESTAMP NOT NULL
);
CREATE INDEX cooperation_frameworks_jurisdiction ON cooperation_frameworks (jurisdiction_id);

CREATE TABLE authorities (
    id              TEXT PRIMARY KEY NOT NULL,
    jurisdiction_id TEXT NOT NULL REFERENCES jurisdictions (id),
    name            TEXT NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN
        ('court', 'prosecution', 'investigating_judge', 'law_enforcement', 'other_judicial')),
    contact_email   TEXT,
    active          BOOLEAN NOT NULL DEFAULT TRUE,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL,
    UNIQUE (jurisdiction_id, name)
);

-- Every registry change: what, by whom, when, and the values after the change.
CREATE TABLE registry_changes (
    id              TEXT PRIMARY KEY NOT NULL,
    jurisdiction_id TEXT NOT NULL REFERENCES jurisdictions (id),
    entity          TEXT NOT NULL,             -- jurisdiction, assessment, assurance, framework, authority
    entity_id       TEXT NOT NULL,
    action          TEXT NOT NULL,             -- created, updated
    actor_id        TEXT NOT NULL REFERENCES users (id),
    at              TIMESTAMP NOT NULL,
    details         TEXT NOT NULL              -- JSON
);
CREATE INDEX registry_changes_jurisdiction ON registry_changes (jurisdiction_id, id);
