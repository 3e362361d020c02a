-- One database per service: no service reads another's tables.
CREATE DATABASE intake;
CREATE DATABASE triage;
CREATE DATABASE notify;
CREATE DATABASE assessment;
