#!/usr/bin/env bash
# The two database roles of the service (README: Two database roles) and its database.
# The postgres image runs this once, as the superuser, when it starts on an empty data volume
# (it is mounted into /docker-entrypoint-initdb.d by docker-compose.yml):
#   cre_owner  owns the database and every table; only the migrations connect as it
#              (MIGRATION_DATABASE_URL)
#   cre_app    the service's role (DATABASE_URL): owns nothing; migration 0004 grants it DML on the
#              tables and only INSERT and SELECT on audit_events
# Passwords come from the container's environment; names and database may be changed there too.
set -euo pipefail

: "${CRE_OWNER_PASSWORD:?set CRE_OWNER_PASSWORD for the owner role}"
: "${CRE_APP_PASSWORD:?set CRE_APP_PASSWORD for the service role}"

psql --no-psqlrc -v ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" --dbname postgres \
    -v owner="${CRE_OWNER_ROLE:-cre_owner}" -v owner_password="$CRE_OWNER_PASSWORD" \
    -v app="${CRE_APP_ROLE:-cre_app}" -v app_password="$CRE_APP_PASSWORD" \
    -v db="${CRE_DB:-cre}" <<'SQL'
CREATE ROLE :"owner" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'owner_password';
CREATE ROLE :"app" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'app_password';
CREATE DATABASE :"db" OWNER :"owner";
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
GRANT CONNECT ON DATABASE :"db" TO :"app";
\connect :"db"
-- Only the owner creates objects (PostgreSQL 15's default, stated for older servers).
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
SQL
