#!/bin/sh
# Run by the postgres image's entrypoint on an empty server: a role and a database per service
# (postgres-init.sql), each role with its password from the environment.
set -eu
psql --no-psqlrc --username "$POSTGRES_USER" --dbname postgres \
  -v intake_password="$INTAKE_DB_PASSWORD" -v triage_password="$TRIAGE_DB_PASSWORD" \
  -v notify_password="$NOTIFY_DB_PASSWORD" -v assessment_password="$ASSESSMENT_DB_PASSWORD" \
  -f /vigil/postgres-init.sql
