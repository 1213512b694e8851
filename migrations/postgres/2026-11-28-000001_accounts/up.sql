-- Accounts, roles and sign-in sessions. Ids are UUIDv7 text; times are UTC.
CREATE TABLE users (
    id                  TEXT PRIMARY KEY NOT NULL,
    email               TEXT NOT NULL UNIQUE,  -- trimmed and lower-cased by the service
    display_name        TEXT NOT NULL,
    password_hash       TEXT NOT NULL,         -- argon2id PHC string
    active              BOOLEAN NOT NULL DEFAULT TRUE,
    failed_logins       INTEGER NOT NULL DEFAULT 0,
    locked_until        TIMESTAMP,
    password_changed_at TIMESTAMP NOT NULL,
    created_at          TIMESTAMP NOT NULL,
    updated_at          TIMESTAMP NOT NULL,
    last_login_at       TIMESTAMP
);

CREATE TABLE user_roles (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role    TEXT NOT NULL CHECK (role IN ('admin', 'supervisor', 'liaison_officer', 'reporting')),
    PRIMARY KEY (user_id, role)
);

-- The jurisdictions a liaison officer covers. The registry adds the jurisdiction table.
CREATE TABLE user_jurisdictions (
    user_id         TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    jurisdiction_id TEXT NOT NULL,
    PRIMARY KEY (user_id, jurisdiction_id)
);

-- One row per sign-in: the refresh-token family. Revoking it ends the session's access
-- tokens at once too (they carry its id).
CREATE TABLE sessions (
    id             TEXT PRIMARY KEY NOT NULL,
    user_id        TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at     TIMESTAMP NOT NULL,
    last_used_at   TIMESTAMP NOT NULL,
    expires_at     TIMESTAMP NOT NULL,
    revoked_at     TIMESTAMP,
    revoked_reason TEXT
);
CREATE INDEX sessions_user_id ON sessions (user_id);

-- Refresh tokens, stored only as SHA-256. A used token that comes back means theft: the
-- whole session is revoked.
CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY NOT NULL,
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    used_at    TIMESTAMP
);
CREATE INDEX refresh_tokens_session_id ON refresh_tokens (session_id);
