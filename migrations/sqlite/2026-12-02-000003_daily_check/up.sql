-- The daily check (service::calendar): each day, every open request is evaluated again, so
-- that a human-rights assessment past its review date or an expired assurance changes the
-- decision without anyone touching the registry.

-- Who its events are by. `rfa_events.actor_id` names a user; the check is no person, so it
-- has an account of its own: a fixed id, inactive, no roles, a password hash that no
-- password matches ('!' is no PHC string) and an address that cannot exist. The service
-- leaves it out of the user count (bootstrap), the lists of users and the trail of accounts.
INSERT INTO users (id, email, display_name, password_hash, active, password_changed_at,
                   created_at, updated_at, must_change_password)
VALUES ('00000000-0000-0000-0000-000000000001', 'daily-check@rfa-tracker.invalid',
        'rfa-tracker (daily check)', '!', FALSE, '2026-12-02 00:00:00',
        '2026-12-02 00:00:00', '2026-12-02 00:00:00', FALSE);

-- One row per day (in the reporting time zone) and jurisdiction the check has done, written
-- in the same transaction as the re-evaluation: a crash rolls both back, and a second
-- instance that tries the same day and jurisdiction meets the primary key and leaves it.
CREATE TABLE calendar_runs (
    day             DATE NOT NULL,
    jurisdiction_id TEXT NOT NULL REFERENCES jurisdictions (id),
    ran_at          TIMESTAMP NOT NULL,
    evaluated       INTEGER NOT NULL,
    changed         INTEGER NOT NULL,
    PRIMARY KEY (day, jurisdiction_id)
);
