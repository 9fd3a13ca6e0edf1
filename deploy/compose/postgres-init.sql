-- Run once by the postgres image on an empty data directory, as the POSTGRES_USER (amiable),
-- who therefore owns every database. Each service owns one database on this one server; the
-- per-debtor encryption keys live apart in amiable_keys (erasing a key crypto-shreds a debtor).
-- One database per declared service (amiable_<service>; a new service adds its line) plus
-- amiable_keys, as amiable_cli.stack.databases() creates them (checked by tests/deploy).
CREATE DATABASE amiable_claims;
CREATE DATABASE amiable_risk;
CREATE DATABASE amiable_dunning;
CREATE DATABASE amiable_communications;
CREATE DATABASE amiable_disputes;
CREATE DATABASE amiable_keys;
