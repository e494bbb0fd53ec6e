#!/bin/sh
# Creates Temporal's two databases on PostgreSQL and brings their schemas to this release's
# version. Safe to run on every `up`: existing databases are kept, schemas only move forward.
set -eu
: "${POSTGRES_SEEDS:?POSTGRES_SEEDS names the PostgreSQL host}"
: "${POSTGRES_USER:?POSTGRES_USER names the PostgreSQL user}"
port=${DB_PORT:-5432}
schemas=/etc/temporal/schema/postgresql/v12

nc -z -w 10 "$POSTGRES_SEEDS" "$port"
for db in temporal temporal_visibility; do
  case $db in temporal) dir=temporal ;; *) dir=visibility ;; esac
  sql() { temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -u "$POSTGRES_USER" -p "$port" --db "$db" "$@"; }
  sql create 2>/dev/null || echo "database $db exists"
  sql setup-schema -v 0.0 2>/dev/null || echo "schema of $db exists"
  sql update-schema -d "$schemas/$dir/versioned"
done
echo 'Temporal schema ready'
