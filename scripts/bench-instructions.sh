#!/usr/bin/env bash
# Counts the CPU instructions an ingest executes, with valgrind's callgrind. Unlike a rate, the
# count hardly moves between runs or with what else the machine is doing, so it can judge a
# change worth 1–2% that `scripts/bench-ab.sh` cannot tell from noise. It is a proxy: it does not
# see cache misses or waits, and valgrind runs SHA-256 without the CPU's SHA instructions, so
# hashing looks far dearer than it is. Confirm a change on rates before keeping it.
#
#   scripts/bench-instructions.sh BINARY [EXCHANGES] [INPUT]
#
# EXCHANGES (default 100000) are the first lines of INPUT (default: the 1 M traffic file
# `scripts/bench.sh` generates). Extra `ingest` flags go in INGEST_FLAGS. The callgrind profile is
# kept as bench-out/callgrind-<binary name>.out for `callgrind_annotate`.
#
# CACHE_SIM=1 also simulates the data caches, with a 1 MiB last level (one core's L2 here), and
# prints the misses: what an exchange's memory traffic costs, which instructions do not show and
# which decides the rate on this machine (its L3 is shared with other tenants). Valgrind runs the
# threads one at a time, so run one binary at a time: two at once shift the interleaving and
# the miss counts by up to 20%.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/sample-ingest.sh
. scripts/sample-ingest.sh
sample_ingest bench-instructions.sh valgrind valgrind 100000 "$@"
profile="bench-out/callgrind-$(basename "$bin").out"
# shellcheck disable=SC2086 # INGEST_FLAGS is a list of flags
cache_flags=()
if [ "${CACHE_SIM:-0}" = 1 ]; then
    cache_flags=(--cache-sim=yes --LL=1048576,8,64)
fi
valgrind --tool=callgrind "${cache_flags[@]}" --callgrind-out-file="$profile" "$bin" --db "$work/store.db" \
    --config "$work/config.toml" --retention-days 3650 ingest --no-progress ${INGEST_FLAGS:-} \
    "$work/input.ndjson" > "$work/out" 2>&1
total=$(awk '/I *refs:/ {gsub(",", "", $NF); print $NF}' "$work/out")
echo "instructions $total"
echo "instructions_per_exchange $(( total / exchanges ))"
if [ "${CACHE_SIM:-0}" = 1 ]; then
    misses=$(awk '/LLd misses:/ {gsub(",", "", $4); print $4}' "$work/out")
    echo "l2_data_misses $misses"
    echo "l2_data_misses_per_exchange $(( misses / exchanges ))"
fi
echo "profile $profile"
