-- A user whose password was generated (the first administrator's printed one, or a new
-- user's `initial_password`) must choose their own before anything else: until then their
-- sessions may only read their own account and change the password.
ALTER TABLE users ADD COLUMN must_change_password BOOLEAN NOT NULL DEFAULT FALSE;
