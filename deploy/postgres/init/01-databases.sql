-- Run once by the postgres:15 image, on an empty data volume, as the superuser
-- `postgres` (docker-compose.yml mounts this folder at /docker-entrypoint-initdb.d).
-- The native stack (`headwater stack up`) creates the same two databases.
--
-- app:       the source database, standing in for the application's RDS
--            PostgreSQL; captured by Debezium (wal_level=logical).
-- warehouse: where the sinks write staging and final tables.
CREATE DATABASE app;
CREATE DATABASE warehouse;
