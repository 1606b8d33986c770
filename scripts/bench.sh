#!/usr/bin/env bash
# The project's benchmark: ingest rate, peak memory and store bytes per exchange for generated
# traffic, then read-side latency on the filled store. Results go to bench-out/ and the terminal;
# BENCHMARKS.md records them with the machine they ran on.
#
#   scripts/bench.sh            1,000,000 exchanges
#   scripts/bench.sh 10000000   10,000,000 exchanges (needs ~7 GB of disk for the input)
set -euo pipefail
cd "$(dirname "$0")/.."

requests="${1:-1000000}"
out="bench-out"
mkdir -p "$out"

cargo build --release --locked -p sessionscope -p sessionscope-bench
bin="target/release/sessionscope"

input="$out/traffic-$requests.ndjson"
if [ ! -s "$input" ]; then
    echo "generating $requests exchanges …"
    "$bin" generate --requests "$requests" --seed 1 --start 2026-11-20T00:00:00Z --hours 48 --out "$input"
fi
config="$out/demo.toml"
"$bin" generate --print-config > "$config"

# Runs a command and prints its peak resident memory, CPU and wall seconds.
peak_rss() {
    python3 scripts/measure.py "$@"
}

db="$out/store-$requests.db"
rm -f "$db" "$db-wal" "$db-shm"
echo "== ingest $requests exchanges (analysis + SQLite) =="
peak_rss "$bin" --db "$db" --config "$config" --retention-days 3650 ingest --no-progress "$input" | tee "$out/ingest-$requests.txt"
db_bytes=$(stat -c %s "$db")
wal_bytes=$(stat -c %s "$db-wal" 2>/dev/null || echo 0)
size=$(( db_bytes + wal_bytes ))
echo "store_bytes $size (database $db_bytes, WAL left at exit $wal_bytes)"
echo "bytes_per_exchange $(( size / requests ))"
echo "database_bytes_per_exchange $(( db_bytes / requests ))"
echo "input_bytes_per_exchange $(( $(stat -c %s "$input") / requests ))"

# The same ingest without attack detection, to show what detection costs.
plain_db="$out/store-$requests-no-detection.db"
rm -f "$plain_db" "$plain_db-wal" "$plain_db-shm"
echo "== ingest $requests exchanges without attack detection =="
peak_rss "$bin" --db "$plain_db" --config "$config" --retention-days 3650 ingest --no-progress --no-detection "$input" | tee "$out/ingest-$requests-no-detection.txt"
rm -f "$plain_db" "$plain_db-wal" "$plain_db-shm"

echo "== read side =="
target/release/sessionscope-bench "sqlite:$db" | tee "$out/queries-$requests.txt"
