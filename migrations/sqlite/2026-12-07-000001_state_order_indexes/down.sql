DROP INDEX rfas_assignee_state_due;
DROP INDEX rfas_state_priority;
DROP INDEX rfas_state_updated;
DROP INDEX rfas_state_received;
