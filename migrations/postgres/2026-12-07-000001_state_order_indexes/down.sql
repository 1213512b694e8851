DROP INDEX rfas_state_priority;
DROP INDEX rfas_state_updated;
DROP INDEX rfas_state_received;
