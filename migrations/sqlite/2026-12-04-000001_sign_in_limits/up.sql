-- Sign-in limits that every instance shares (service::sign_in_limits): counted here so that
-- three instances behind a balancer do not give a guesser three times the attempts. Times
-- are microseconds since the Unix epoch, UTC.
--
-- Each client source (an IPv4 address, or an IPv6 /64): the pace of its sign-in attempts as
-- the generic cell rate algorithm keeps it (`next_at`: when the source's allowance is next
-- whole), and its latest failed sign-in. A row idle for a quarter of an hour is removed.
CREATE TABLE sign_in_sources (
    source    TEXT PRIMARY KEY NOT NULL,
    next_at   BIGINT NOT NULL,
    failed_at BIGINT
);
CREATE INDEX sign_in_sources_idle ON sign_in_sources (next_at);

-- The failure budget of the whole service, one row: failed sign-ins paced as above, one
-- every minute / `auth.failure_budget_per_minute` (`next_at`), and the end of the strain that
-- a failure beyond the budget starts or prolongs (`strained_until`).
CREATE TABLE sign_in_budget (
    id             INTEGER PRIMARY KEY NOT NULL,
    next_at        BIGINT NOT NULL,
    strained_until BIGINT NOT NULL
);
