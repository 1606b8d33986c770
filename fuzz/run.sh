#!/usr/bin/env bash
# Fuzzes each target in turn for SECONDS (default 600) with libFuzzer, one at a time:
#   fuzz/run.sh [SECONDS] [TARGET...]
# Needs a nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`). New inputs go into
# fuzz/corpus/TARGET, crashes into fuzz/artifacts/TARGET; each run's log into fuzz/logs/.
# Fork mode with -ignore_crashes keeps a run going after a crash, so one known bug cannot end it.
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-600}"
shift || true
targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then
    targets=(ndjson reader har combined nginx_json zeek filters decode detect point settings jwt)
fi
mkdir -p logs
for target in "${targets[@]}"; do
    echo "== $target: ${seconds}s"
    cargo +nightly fuzz run --debug-assertions "$target" -- \
        -max_total_time="$seconds" -fork=1 -ignore_crashes=1 -timeout=10 -rss_limit_mb=2048 \
        >"logs/$target.log" 2>&1 || true
    grep -E '^#[0-9]+: cov' "logs/$target.log" | tail -1 || true
    ls "artifacts/$target" 2>/dev/null | sed 's/^/   artifact: /' || true
done
