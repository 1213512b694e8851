-- Browser sessions of the screens. The cookie holds a random token; only its SHA-256 is
-- kept. Each belongs to a row of `sessions`, so signing out, deactivation and a password
-- change end it exactly as they end the API's tokens. `csrf_token` is the per-session
-- token every form of the screens must send back.
CREATE TABLE web_sessions (
    token_hash TEXT PRIMARY KEY NOT NULL,
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL
);
CREATE INDEX web_sessions_session_id ON web_sessions (session_id);
