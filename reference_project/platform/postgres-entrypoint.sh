#!/bin/bash
# First start on an empty volume: create the cluster, a TLS key pair, the application's role and
# database. Every start: run PostgreSQL with TLS required on TCP (pg_hba rejects plaintext).
# Environment: POSTGRES_PASSWORD, APP_DB_NAME, APP_DB_USER, APP_DB_PASSWORD (passwords re-applied on every start).
set -euo pipefail
PGBIN=/usr/lib/postgresql/15/bin
PGDATA=${PGDATA:-/var/lib/postgresql/data/pgdata}

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  : "${POSTGRES_PASSWORD:?}" "${APP_DB_NAME:?}" "${APP_DB_USER:?}" "${APP_DB_PASSWORD:?}"
  mkdir -p "$PGDATA" && chmod 700 "$PGDATA"
  pwfile=$(mktemp)
  printf '%s' "$POSTGRES_PASSWORD" > "$pwfile"
  "$PGBIN/initdb" -D "$PGDATA" -U postgres --pwfile="$pwfile" --auth-local=peer --auth-host=scram-sha-256 \
    --encoding=UTF8 --locale=C.UTF-8 > /dev/null
  rm -f "$pwfile"
  openssl req -x509 -newkey rsa:2048 -nodes -days 825 -subj "/CN=postgres" \
    -keyout "$PGDATA/server.key" -out "$PGDATA/server.crt" 2> /dev/null
  chmod 600 "$PGDATA/server.key"
  cat > "$PGDATA/pg_hba.conf" <<HBA
local     all all     peer
hostssl   all all all scram-sha-256
hostnossl all all all reject
HBA
  "$PGBIN/pg_ctl" -D "$PGDATA" -o "-c listen_addresses='' -c unix_socket_directories=/tmp" -w start > /dev/null
  "$PGBIN/psql" -h /tmp -U postgres -d postgres -v ON_ERROR_STOP=1 -q \
    -v app_db="$APP_DB_NAME" -v app_user="$APP_DB_USER" -v app_password="$APP_DB_PASSWORD" <<'SQL'
CREATE ROLE :"app_user" LOGIN PASSWORD :'app_password';
CREATE DATABASE :"app_db" OWNER :"app_user";
REVOKE ALL ON DATABASE :"app_db" FROM PUBLIC;
SQL
  "$PGBIN/pg_ctl" -D "$PGDATA" -m fast -w stop > /dev/null
elif [ -n "${APP_DB_PASSWORD:-}" ]; then
  # An existing volume: the environment stays the source of truth for credentials, so a rotated
  # secret (or a new deployment reusing the volume) takes effect on restart instead of locking the app out.
  "$PGBIN/pg_ctl" -D "$PGDATA" -o "-c listen_addresses='' -c unix_socket_directories=/tmp" -w start > /dev/null
  "$PGBIN/psql" -h /tmp -U postgres -d postgres -v ON_ERROR_STOP=1 -q \
    -v app_user="${APP_DB_USER:?}" -v app_password="$APP_DB_PASSWORD" -v su_password="${POSTGRES_PASSWORD:?}" <<'SQL'
ALTER ROLE :"app_user" PASSWORD :'app_password';
ALTER ROLE postgres PASSWORD :'su_password';
SQL
  "$PGBIN/pg_ctl" -D "$PGDATA" -m fast -w stop > /dev/null
fi

exec "$PGBIN/postgres" -D "$PGDATA" -c listen_addresses='*' -c unix_socket_directories=/tmp \
  -c ssl=on -c ssl_cert_file=server.crt -c ssl_key_file=server.key -c ssl_min_protocol_version=TLSv1.2 \
  -c password_encryption=scram-sha-256 -c log_connections=on -c log_min_duration_statement=500
