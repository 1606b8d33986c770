#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: installs what the tests need when it is missing,
# builds once, then runs every test in parallel.
set -euo pipefail
cd "$(dirname "$0")/.."

# Test-time tools from Debian packages, as "command:package" pairs. Nothing here is needed to
# build sessionscope itself: the console tests drive a headless Chromium through chromedriver,
# and the API contract check runs Schemathesis from a Python virtual environment.
required_tools=(chromium:chromium chromedriver:chromium-driver python3:python3)
need_apt=()
for pair in "${required_tools[@]}"; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || need_apt+=("${pair##*:}")
done
if ! python3 -c "import venv, ensurepip" >/dev/null 2>&1; then
    need_apt+=(python3-venv)
fi
if [ "${#need_apt[@]}" -gt 0 ]; then
    echo "installing ${need_apt[*]} …"
    if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if [ ! -d ../shared/data ]; then
    echo "error: ../shared/data is missing; the tests read public data from there" >&2
    exit 1
fi

export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
cargo build --workspace --all-targets --locked
if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --workspace --locked --no-fail-fast
else
    cargo test --workspace --locked --no-fail-fast
fi
# Documentation examples are not run by nextest.
cargo test --workspace --locked --doc
# The REST API against its own OpenAPI document (Schemathesis, every check).
scripts/schemathesis.sh
