-- Failed sign-ins per account and client source (an IPv4 address, or an IPv6 /64). Enough
-- failures from one source lock the account for that source alone, so a guesser elsewhere
-- cannot lock its owner out; each further lock without a successful sign-in from that source
-- lasts twice as long (service::accounts). In the database, so that several instances count
-- together. A row idle for a day is forgotten.
CREATE TABLE sign_in_failures (
    user_id        TEXT NOT NULL REFERENCES users (id),
    source         TEXT NOT NULL,
    failures       INTEGER NOT NULL,
    locks          INTEGER NOT NULL,
    locked_until   TIMESTAMP,
    last_failed_at TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, source)
);
CREATE INDEX sign_in_failures_idle ON sign_in_failures (last_failed_at);
