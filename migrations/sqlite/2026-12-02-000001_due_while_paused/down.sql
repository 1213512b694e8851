DROP INDEX rfas_paused_due;
ALTER TABLE rfas DROP COLUMN paused_due_key;
