#!/usr/bin/env bash
# Runs once, on the first start of the postgres container (empty data volume), from
# /docker-entrypoint-initdb.d. It creates what the local, Docker-free stack creates
# (names mirror include/tracker/settings.py; tests/test_compose.py checks they agree):
#
#   warehouse  database: schemas raw / silver / gold owned by tracker_loader;
#              analyst may only read gold (also tables created later by tracker_loader).
#   airflow    database owned by the airflow role (Airflow's metadata DB).
#   metabase   database owned by the metabase role (Metabase's own application DB).
#
# Passwords come from the environment (docker-compose.yml passes them from .env) and are
# read inside psql with \getenv, so they never appear on a command line or in this file.
# To re-run after changing names or passwords: `docker compose down -v` (drops ALL data) or
# change the roles by hand with ALTER ROLE ... PASSWORD.
set -euo pipefail

# Names, keep in sync with include/tracker/settings.py
WAREHOUSE_DB=warehouse
AIRFLOW_DB=airflow
LOADER_ROLE=tracker_loader
AIRFLOW_ROLE=airflow
ANALYST_ROLE=analyst
METABASE_DB=metabase
METABASE_ROLE=metabase

: "${TRACKER_LOADER_PASSWORD:?TRACKER_LOADER_PASSWORD is not set}"
: "${TRACKER_AIRFLOW_DB_PASSWORD:?TRACKER_AIRFLOW_DB_PASSWORD is not set}"
: "${TRACKER_ANALYST_PASSWORD:?TRACKER_ANALYST_PASSWORD is not set}"
: "${METABASE_DB_PASSWORD:?METABASE_DB_PASSWORD is not set}"

psql -v ON_ERROR_STOP=1 --no-psqlrc \
    --username "${POSTGRES_USER:-postgres}" --dbname "${POSTGRES_DB:-postgres}" \
    -v warehouse_db="$WAREHOUSE_DB" -v airflow_db="$AIRFLOW_DB" -v metabase_db="$METABASE_DB" \
    -v loader_role="$LOADER_ROLE" -v airflow_role="$AIRFLOW_ROLE" \
    -v analyst_role="$ANALYST_ROLE" -v metabase_role="$METABASE_ROLE" <<'EOSQL'
\getenv loader_pw TRACKER_LOADER_PASSWORD
\getenv airflow_pw TRACKER_AIRFLOW_DB_PASSWORD
\getenv analyst_pw TRACKER_ANALYST_PASSWORD
\getenv metabase_pw METABASE_DB_PASSWORD

SET password_encryption = 'scram-sha-256';

-- Roles ------------------------------------------------------------------------------------
CREATE ROLE :"loader_role" LOGIN PASSWORD :'loader_pw';
CREATE ROLE :"airflow_role" LOGIN PASSWORD :'airflow_pw';
CREATE ROLE :"analyst_role" LOGIN PASSWORD :'analyst_pw';
CREATE ROLE :"metabase_role" LOGIN PASSWORD :'metabase_pw';

-- The analyst role is for BI tools: read-only sessions, gold first on the search path.
ALTER ROLE :"analyst_role" SET default_transaction_read_only = on;
ALTER ROLE :"analyst_role" SET search_path = gold;

-- Databases --------------------------------------------------------------------------------
CREATE DATABASE :"warehouse_db";
CREATE DATABASE :"airflow_db" OWNER :"airflow_role";
CREATE DATABASE :"metabase_db" OWNER :"metabase_role";

REVOKE ALL ON DATABASE :"warehouse_db" FROM PUBLIC;
REVOKE ALL ON DATABASE :"airflow_db" FROM PUBLIC;
REVOKE ALL ON DATABASE :"metabase_db" FROM PUBLIC;
-- nobody but the superuser connects to the maintenance databases (the analyst: the warehouse only)
REVOKE ALL ON DATABASE postgres FROM PUBLIC;
REVOKE ALL ON DATABASE template1 FROM PUBLIC;
-- no load or Airflow statement waits for a lock forever (loads queue on per-table advisory locks)
ALTER ROLE :"loader_role" SET lock_timeout = '15min';
ALTER ROLE :"airflow_role" SET lock_timeout = '5min';
ALTER ROLE :"analyst_role" SET idle_in_transaction_session_timeout = '5min';
-- tracker_loader may create further schemas (for example dbt's test-failure audit schema).
GRANT CONNECT, CREATE, TEMPORARY ON DATABASE :"warehouse_db" TO :"loader_role";
GRANT CONNECT ON DATABASE :"warehouse_db" TO :"analyst_role";

-- Warehouse schemas ------------------------------------------------------------------------
\connect :"warehouse_db"

REVOKE ALL ON SCHEMA public FROM PUBLIC;

-- advisory locks are the loader's: an analyst holding one would stall every load of that table
SELECT format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', p.oid::regprocedure)
FROM pg_proc p WHERE p.pronamespace = 'pg_catalog'::regnamespace AND p.proname ~ '^pg_(try_)?advisory_'
\gexec
SELECT format('GRANT EXECUTE ON FUNCTION %s TO %I', p.oid::regprocedure, :'loader_role')
FROM pg_proc p WHERE p.pronamespace = 'pg_catalog'::regnamespace AND p.proname ~ '^pg_(try_)?advisory_'
\gexec
CREATE SCHEMA raw AUTHORIZATION :"loader_role";
CREATE SCHEMA silver AUTHORIZATION :"loader_role";
CREATE SCHEMA gold AUTHORIZATION :"loader_role";

-- analyst: read-only on gold, now and for every table or view tracker_loader creates later.
GRANT USAGE ON SCHEMA gold TO :"analyst_role";
GRANT SELECT ON ALL TABLES IN SCHEMA gold TO :"analyst_role";
ALTER DEFAULT PRIVILEGES FOR ROLE :"loader_role" IN SCHEMA gold GRANT SELECT ON TABLES TO :"analyst_role";
EOSQL

echo "tracker init: roles, databases and warehouse schemas created"
