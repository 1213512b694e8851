DROP INDEX rfas_open_jurisdiction_due;
DROP INDEX rfas_open_due;
