#!/usr/bin/env bash
# Checks that the REST API keeps the contract its OpenAPI document publishes: Schemathesis (every
# check) against a real server on loopback with a store of generated traffic, as an admin. The
# test command runs it; Schemathesis is installed into a virtual environment under target/ the
# first time.
#
#   scripts/schemathesis.sh [MAX_EXAMPLES]     default 40 examples per operation and phase
set -euo pipefail
cd "$(dirname "$0")/.."

examples="${1:-40}"
version="4.32.5"
venv="target/schemathesis-venv"
if ! "$venv/bin/schemathesis" --version 2>/dev/null | grep -q "$version"; then
    echo "installing schemathesis $version into $venv …"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$version"
fi

cargo build --locked -p sessionscope
bin="target/debug/sessionscope"
work=$(mktemp -d)
server=""
cleanup() {
    if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

"$bin" generate --requests 3000 --seed 7 --start 2026-11-20T12:00:00Z --out "$work/traffic.ndjson" >/dev/null
"$bin" --db "$work/s.db" ingest "$work/traffic.ndjson" >/dev/null
token=$("$bin" token create --role admin --db "$work/s.db" | tail -1)

mkfifo "$work/out"
"$bin" --db "$work/s.db" serve --listen 127.0.0.1:0 >"$work/out" 2>"$work/server.log" &
server=$!
exec 3<"$work/out"
base=""
while read -r line <&3; do
    case "$line" in
        "serving on "*) base="${line#serving on }"; break ;;
    esac
done
if [ -z "$base" ]; then
    echo "error: the server did not start:" >&2
    cat "$work/server.log" >&2
    exit 1
fi
# Keep reading the server's output so it never blocks on a full pipe.
cat <&3 >/dev/null &

status=0
"$venv/bin/schemathesis" run "$base/api/v1/openapi.json" \
    --checks all \
    --header "Authorization: Bearer $token" \
    --max-examples "$examples" \
    --seed 1 \
    --workers 1 \
    --no-color \
    --warnings off ${SCHEMATHESIS_ARGS:-} || status=$?
if grep -q "panicked" "$work/server.log"; then
    echo "error: the server logged a panic:" >&2
    grep -m 5 "panicked" "$work/server.log" >&2
    status=1
fi
exit "$status"
