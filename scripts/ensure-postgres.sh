#!/bin/sh
# Prints the URL of a PostgreSQL server the tests may create databases on,
# making sure one runs: $RATEMESH_TEST_PG_URL if set; else the machine's
# server on 127.0.0.1:5432 if it lets postgres in without a password (started
# if it is stopped); else a throwaway cluster "ratemesh" on port 55432 with
# trust authentication on 127.0.0.1 only.
set -e
if [ -n "${RATEMESH_TEST_PG_URL:-}" ]; then
  echo "$RATEMESH_TEST_PG_URL"
  exit 0
fi
main_url="postgresql://postgres@127.0.0.1:5432/postgres"
try() { psql "$1" -Atqc 'SELECT 1' >/dev/null 2>&1; }
if try "$main_url"; then
  echo "$main_url"
  exit 0
fi
if command -v pg_lsclusters >/dev/null 2>&1; then
  # A stopped cluster on 5432: start it and try again.
  pg_lsclusters -h 2>/dev/null | awk '$3 == 5432 && $4 != "online" {print $1, $2}' | while read -r ver name; do
    pg_ctlcluster --skip-systemctl-redirect "$ver" "$name" start >&2 || true
  done
  for _ in 1 2 3 4 5 6 7 8 9 10; do try "$main_url" && break; sleep 0.5; done
  if try "$main_url"; then
    echo "$main_url"
    exit 0
  fi
  ver=$(ls /usr/lib/postgresql | sort -n | tail -n 1)
  if ! pg_lsclusters -h | awk '{print $2}' | grep -qx ratemesh; then
    pg_createcluster "$ver" ratemesh -p 55432 -- --auth-local=trust --auth-host=trust >&2
    echo "listen_addresses = '127.0.0.1'" >> "/etc/postgresql/$ver/ratemesh/postgresql.conf"
  fi
  pg_ctlcluster --skip-systemctl-redirect "$ver" ratemesh start >&2 2>/dev/null || true
  url="postgresql://postgres@127.0.0.1:55432/postgres"
  for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do try "$url" && break; sleep 0.5; done
  if try "$url"; then
    echo "$url"
    exit 0
  fi
fi
echo "no PostgreSQL server available for the tests (install postgresql, or set RATEMESH_TEST_PG_URL)" >&2
exit 1
