DROP TRIGGER access_log_no_truncate ON access_log;
DROP TRIGGER access_log_append_only ON access_log;
DROP TABLE access_head;
DROP TABLE access_log;
