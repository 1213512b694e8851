DROP INDEX rfas_paused_due;
CREATE INDEX rfas_paused_due ON rfas (state, paused_due_key, id);
