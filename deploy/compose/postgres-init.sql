-- Run once by the postgres image on an empty data directory, as the POSTGRES_USER (amiable),
-- who therefore owns every database. Each service owns one database on this one server; the
-- per-debtor encryption keys live apart in amiable_keys (erasing a key crypto-shreds a debtor).
-- Must list the same databases as amiable_cli.stack.DATABASES (checked by tests/deploy).
CREATE DATABASE amiable_claims;
CREATE DATABASE amiable_risk;
CREATE DATABASE amiable_dunning;
CREATE DATABASE amiable_communications;
CREATE DATABASE amiable_disputes;
CREATE DATABASE amiable_keys;
