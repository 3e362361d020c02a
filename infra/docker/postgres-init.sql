-- One database per service, each owned by the service's own role, and no one else may connect to it: "no service
-- reads another's tables" is enforced by PostgreSQL, not by convention (docs/security.md).
--
-- Run once by psql on an empty server (infra/docker/postgres-init.sh, from the image's entrypoint), with each
-- role's password as a variable: psql -v intake_password=... -v triage_password=... -v notify_password=...
-- -v assessment_password=... -f postgres-init.sql. `prefix` (empty by default) is prepended to every role and
-- database name (the tests run this same file on a shared server).
\set ON_ERROR_STOP on
\if :{?prefix}
\else
\set prefix ''
\endif

\set service :prefix intake
CREATE ROLE :"service" LOGIN PASSWORD :'intake_password';
CREATE DATABASE :"service" OWNER :"service";
REVOKE ALL ON DATABASE :"service" FROM PUBLIC;

\set service :prefix triage
CREATE ROLE :"service" LOGIN PASSWORD :'triage_password';
CREATE DATABASE :"service" OWNER :"service";
REVOKE ALL ON DATABASE :"service" FROM PUBLIC;

\set service :prefix notify
CREATE ROLE :"service" LOGIN PASSWORD :'notify_password';
CREATE DATABASE :"service" OWNER :"service";
REVOKE ALL ON DATABASE :"service" FROM PUBLIC;

\set service :prefix assessment
CREATE ROLE :"service" LOGIN PASSWORD :'assessment_password';
CREATE DATABASE :"service" OWNER :"service";
REVOKE ALL ON DATABASE :"service" FROM PUBLIC;
