#!/usr/bin/env bash
# Server time of the console's pages on a store filled by scripts/bench.sh: signs in, then loads
# the session list (unfiltered and with common filters) and an expanded session (full page and
# the fragment the browser fetches) repeatedly, and prints the median and p95 of the time to the
# first response byte on loopback.
#
#   scripts/bench-console.sh            the 1,000,000-exchange store
#   scripts/bench-console.sh 10000000   the 10,000,000-exchange store
set -euo pipefail
cd "$(dirname "$0")/.."

requests="${1:-1000000}"
runs="${RUNS:-20}"
db="bench-out/store-$requests.db"
if [ ! -s "$db" ]; then
    echo "error: $db is missing; run scripts/bench.sh $requests first" >&2
    exit 1
fi
cargo build --release --locked -p sessionscope
bin="target/release/sessionscope"

password="bench-console-password"
if ! "$bin" --db "$db" user list 2>/dev/null | grep -q '^bench-console\b'; then
    echo "$password" | "$bin" --db "$db" user add bench-console --role analyst --password-stdin >/dev/null
fi

work="$(mktemp -d)"
log="$work/serve.log"
"$bin" --db "$db" --retention-days 3650 serve --listen 127.0.0.1:0 >"$log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 200); do
    grep -q "serving on" "$log" && break
    sleep 0.05
done
base="$(grep -o 'http://[0-9.:]*' "$log" | head -1)"
[ -n "$base" ] || { echo "error: serve did not start: $(cat "$log")" >&2; exit 1; }

jar="$work/cookies"
prelogin="$(curl -s -c "$jar" "$base/login" | grep -o 'name="prelogin" value="[^"]*"' | cut -d'"' -f4)"
curl -s -o /dev/null -b "$jar" -c "$jar" \
    --data-urlencode "user=bench-console" --data-urlencode "password=$password" \
    --data-urlencode "prelogin=$prelogin" --data-urlencode "next=/sessions" "$base/login"

# The busiest of the 500 most recent sessions (the API answers the same login cookie).
busiest="$(curl -s -b "$jar" "$base/api/v1/sessions?limit=500" | python3 -c '
import json, sys
sessions = json.load(sys.stdin)["sessions"]
best = max(sessions, key=lambda row: row["requests"])
print(best["session_id"], best["part"], best["requests"])')"
read -r session part session_requests <<<"$busiest"
[ -n "$session" ] || { echo "error: the store lists no session" >&2; exit 1; }

measure() {
    local name="$1" path="$2" header="${3:-}"
    local times=()
    for _ in $(seq "$runs"); do
        if [ -n "$header" ]; then
            times+=("$(curl -s -o /dev/null -b "$jar" -H "$header" -w '%{time_starttransfer}' "$base$path")")
        else
            times+=("$(curl -s -o /dev/null -b "$jar" -w '%{time_starttransfer}' "$base$path")")
        fi
    done
    printf '%s\n' "${times[@]}" | sort -n | awk -v name="$name" '
        { value[NR] = $1 * 1000 }
        END {
            median = value[int((NR + 1) / 2)]
            p95 = value[int(NR * 0.95 + 0.999)]
            printf "%-34s median %7.1f ms   p95 %7.1f ms\n", name, median, p95
        }'
}

echo "== console pages, $requests stored exchanges, $runs runs each =="
measure "list (no filter)" "/sessions"
measure "list, method POST" "/sessions?method=POST"
measure "list, status 5xx" "/sessions?status=5xx"
measure "list, endpoint /v1/orders/*" "/sessions?endpoint=/v1/orders/*"
echo "expanded session: $session (part $part, $session_requests requests)"
measure "list + expanded session (page)" "/sessions?open=$session&part=$part"
measure "expanded session (fragment)" "/sessions?open=$session&part=$part&fragment=session" "x-console-fragment: 1"
measure "expanded session, sort -duration" "/sessions?open=$session&part=$part&sort=-duration&fragment=session" "x-console-fragment: 1"
