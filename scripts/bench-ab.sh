#!/usr/bin/env bash
# Compares the ingest of two sessionscope binaries on the same input, alternating them so that both
# see the same moments of a shared machine (whose rate drifts by a quarter between minutes).
# Prints rate, CPU seconds and peak RSS per run; judge on medians, not on one pair.
#
#   scripts/bench-ab.sh OLD_BINARY NEW_BINARY [ROUNDS] [INPUT]
#
# INPUT defaults to the 1 M traffic file `scripts/bench.sh` generates; ROUNDS to 4. Extra `ingest`
# flags (e.g. --no-detection) can be given in INGEST_FLAGS.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ $# -lt 2 ]; then
    echo "usage: scripts/bench-ab.sh OLD_BINARY NEW_BINARY [ROUNDS] [INPUT]" >&2
    exit 2
fi
old="$1"
new="$2"
rounds="${3:-4}"
input="${4:-bench-out/traffic-1000000.ndjson}"
for file in "$old" "$new" "$input"; do
    if [ ! -e "$file" ]; then
        echo "bench-ab: $file does not exist (scripts/bench.sh makes the input)" >&2
        exit 2
    fi
done
config="bench-out/demo.toml"
"$new" generate --print-config > "$config"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for round in $(seq "$rounds"); do
    for bin in "$old" "$new"; do
        rm -f "$work"/ab.db*
        # shellcheck disable=SC2086 # INGEST_FLAGS is a list of flags
        python3 scripts/measure.py "$bin" --db "$work/ab.db" --config "$config" \
            --retention-days 3650 ingest --no-progress ${INGEST_FLAGS:-} "$input" > "$work/out" 2>&1
        rate=$(awk '/^rate/ {print $2}' "$work/out")
        cpu=$(awk '/^cpu_seconds/ {print $2}' "$work/out")
        rss=$(awk '/^peak_rss_mb/ {print $2}' "$work/out")
        echo "round $round  $bin  rate $rate/s  cpu $cpu s  peak_rss $rss MB"
    done
done
