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

-- Failed sign-ins of the whole service per minute (`minute`: minutes since the epoch), and
-- when that minute's failures went past the budget. Only the last two minutes are kept.
CREATE TABLE sign_in_budget (
    minute   BIGINT PRIMARY KEY NOT NULL,
    failures BIGINT NOT NULL,
    spent_at BIGINT
);
