#!/usr/bin/env bash
# Run the suite on SQLite, then on PostgreSQL (a fresh test database each run).
# Usage: scripts/test.sh [sqlite|postgres|all] [pytest args...]
set -uo pipefail
cd "$(dirname "$0")/.."
which="${1:-all}"; [ $# -gt 0 ] && shift
PG_URL="${PG_URL:-postgres://postgres@127.0.0.1:5432/milepost}"
export MILEPOST_TESTING=1
ran=(); failed=0

pg_up() {
  .venv/bin/python - "$PG_URL" <<'PY' 2>/dev/null
import sys, psycopg, dj_database_url
c = dj_database_url.parse(sys.argv[1])
psycopg.connect(host=c["HOST"], port=c["PORT"] or 5432, user=c["USER"], dbname="postgres", connect_timeout=3).close()
PY
}

if [ "$which" = all ] || [ "$which" = sqlite ]; then
  echo "=== Test suite on SQLite ==="
  if .venv/bin/pytest -n 2 "$@"; then ran+=("sqlite: passed"); else ran+=("sqlite: FAILED"); failed=1; fi
fi
if [ "$which" = all ] || [ "$which" = postgres ]; then
  if pg_up; then
    echo "=== Test suite on PostgreSQL ($PG_URL) ==="
    if DATABASE_URL="$PG_URL" .venv/bin/pytest -n 2 -m "not e2e" "$@"; then
      ran+=("postgresql: passed"); else ran+=("postgresql: FAILED"); failed=1; fi
  else
    echo
    echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
    echo "!!! PostgreSQL is NOT reachable at $PG_URL — the PostgreSQL run was SKIPPED. !!!"
    echo "!!! Start it (see README) to test both back-ends.                            !!!"
    echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
    ran+=("postgresql: SKIPPED (not reachable)")
  fi
fi
echo
echo "Back-ends run:"; printf '  %s\n' "${ran[@]}"
exit $failed
