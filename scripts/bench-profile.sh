#!/usr/bin/env bash
# Profiles an ingest with perf and call graphs, then summarises where the samples went: by thread,
# by function with what it calls, and by function alone (scripts/profile_stacks.py). Unlike
# `scripts/bench-instructions.sh` it sees the real CPU: cache misses, the SHA instructions, waits.
#
#   scripts/bench-profile.sh BINARY [EXCHANGES] [INPUT]
#
# EXCHANGES (default 200000) are the first lines of INPUT (default: the 1 M traffic file
# `scripts/bench.sh` generates). Extra `ingest` flags go in INGEST_FLAGS. The `perf script` output is
# kept as bench-out/profile-<binary name>.txt, to ask more of it:
#
#   python3 scripts/profile_stacks.py --under 'Analyzer::analyze' < bench-out/profile-sessionscope.txt
#   python3 scripts/profile_stacks.py --callers __memcmp < bench-out/profile-sessionscope.txt
#
# perf works without hardware counters here (`-e cpu-clock`); the release profile keeps debug
# information, so inlined functions show up as frames.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/sample-ingest.sh
. scripts/sample-ingest.sh
sample_ingest bench-profile.sh perf linux-perf 200000 "$@"
# shellcheck disable=SC2086 # INGEST_FLAGS is a list of flags
perf record -q -e cpu-clock -F 4000 --call-graph dwarf,12288 -o "$work/perf.data" \
    "$bin" --db "$work/store.db" --config "$work/config.toml" --retention-days 3650 \
    ingest --no-progress ${INGEST_FLAGS:-} "$work/input.ndjson" > "$work/out" 2>&1
grep -E '^rate' "$work/out" || true
mkdir -p bench-out
stacks="bench-out/profile-$(basename "$bin").txt"
perf script -i "$work/perf.data" 2> /dev/null > "$stacks"
python3 scripts/profile_stacks.py < "$stacks"
echo "stacks $stacks"
