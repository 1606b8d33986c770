#!/usr/bin/env bash
# Runs sessionscope's attack detection and ModSecurity v3 + OWASP CRS (paranoia levels 1 and 2) over the same request
# corpus in one run and prints one table: recall per class, false-positive rate on the benign values, throughput.
# The corpus is built by `sessionscope-detect-bench --emit-corpus` from ../shared/data/attacks.
#
#   scripts/detect-compare.sh                  the whole corpus (CRS takes a few minutes per paranoia level)
#   scripts/detect-compare.sh --limit 2000     a seeded per-class sample, for a quick look
#
# Options:
#   --limit N        inspect about N requests, sampled per class (every class keeps at least 20)
#   --data DIR       the public attack data (default ../shared/data/attacks)
#   --corpus FILE    use this NDJSON corpus instead of emitting one
#   --crs-only       run only CRS (no Rust build), e.g. on a hand-made corpus given with --corpus
#   --check          exit 1 when sessionscope misses one of the issue's targets against CRS PL1
#
# Installs what it needs when missing: Debian's modsecurity-crs and python3-venv (through apt-get), and the
# `libmodsecurity` Python package (bindings that bundle libmodsecurity 3) into the git-ignored bench-out/modsec-venv.
# Results go to bench-out/detect-*.json and the table to bench-out/detect-compare.md.
set -euo pipefail
cd "$(dirname "$0")/.."

limit=""
data_dir="../shared/data/attacks"
corpus=""
crs_only=false
check_flag=()
while [ $# -gt 0 ]; do
    case "$1" in
        --limit) limit="${2:?--limit needs a number}"; shift 2 ;;
        --data) data_dir="${2:?--data needs a folder}"; shift 2 ;;
        --corpus) corpus="${2:?--corpus needs a file}"; shift 2 ;;
        --crs-only) crs_only=true; shift ;;
        --check) check_flag=(--check); shift ;;
        -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "detect-compare: unknown argument \`$1\` (see --help)" >&2; exit 2 ;;
    esac
done
if [ -n "$limit" ] && ! [[ "$limit" =~ ^[1-9][0-9]*$ ]]; then
    echo "detect-compare: --limit takes a positive number, not \`$limit\`" >&2
    exit 2
fi

out="bench-out"
mkdir -p "$out"
compare_script="scripts/modsec_compare.py"

# --- system packages -------------------------------------------------------------------------------------------
# The CRS rules come from Debian rather than a copy in the repository, so the comparison runs the rule set a Debian
# server would run. python3-venv is what lets Debian's python3 create the virtual environment.
missing_packages=()
for package in modsecurity-crs python3-venv; do
    if ! dpkg -s "$package" >/dev/null 2>&1; then
        missing_packages+=("$package")
    fi
done
if [ ${#missing_packages[@]} -gt 0 ]; then
    if [ "$(id -u)" -eq 0 ]; then
        as_root=()
    elif command -v sudo >/dev/null 2>&1; then
        as_root=(sudo)
    else
        echo "detect-compare: missing Debian packages ${missing_packages[*]}, and neither root nor sudo to install them" >&2
        exit 1
    fi
    echo "== installing ${missing_packages[*]} =="
    # A fresh machine may have no package lists yet; one update first is cheaper than a failed install.
    "${as_root[@]}" apt-get update -qq
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing_packages[@]}"
fi

# --- Python environment ----------------------------------------------------------------------------------------
venv="$out/modsec-venv"
venv_python="$venv/bin/python"
if ! { [ -x "$venv_python" ] && "$venv_python" -c 'import libmodsecurity' >/dev/null 2>&1; }; then
    echo "== creating $venv with the libmodsecurity package =="
    # --clear rebuilds a venv left half-made or pointing at a Python that has since moved.
    python3 -m venv --clear "$venv"
    "$venv_python" -m pip install --quiet --disable-pip-version-check libmodsecurity
fi
echo "ModSecurity: $("$venv_python" -c 'import libmodsecurity; print(libmodsecurity.ModSecurity().who_am_i(), "via libmodsecurity", libmodsecurity.__version__)')"
echo "CRS: modsecurity-crs $(dpkg-query -W -f '${Version}' modsecurity-crs)"

# --- corpus and sessionscope -----------------------------------------------------------------------------------
results=()
if [ "$crs_only" = false ]; then
    echo "== building sessionscope-detect-bench (release) =="
    cargo build --release --locked -p sessionscope-detect --bin sessionscope-detect-bench
    bench_bin="${CARGO_TARGET_DIR:-target}/release/sessionscope-detect-bench"
fi
if [ -z "$corpus" ]; then
    if [ "$crs_only" = true ]; then
        echo "detect-compare: --crs-only needs --corpus FILE (emitting the corpus needs the Rust bench)" >&2
        exit 2
    fi
    if [ ! -d "$data_dir" ]; then
        echo "detect-compare: no attack data at \`$data_dir\` (pass --data DIR)" >&2
        exit 1
    fi
    corpus="$out/detect-corpus.ndjson"
    echo "== emitting the corpus from $data_dir to $corpus =="
    # The bench also evaluates while it emits; that report goes to a file, the comparison below is what counts.
    "$bench_bin" --emit-corpus "$corpus" --data "$data_dir" > "$out/detect-emit-report.txt"
fi
if [ ! -s "$corpus" ]; then
    echo "detect-compare: corpus \`$corpus\` is missing or empty" >&2
    exit 1
fi
if [ -n "$limit" ]; then
    sampled="$out/detect-corpus-sample-$limit.ndjson"
    "$venv_python" "$compare_script" sample --corpus "$corpus" --limit "$limit" --out "$sampled"
    corpus="$sampled"
fi
echo "corpus: $corpus ($(wc -l < "$corpus") requests)"

if [ "$crs_only" = false ]; then
    echo "== sessionscope =="
    # Best of 10 passes: one pass over a 40,000-request sample takes a third of a second, short enough for a
    # scheduler hiccup to move it. The corpus just written (about 1 GB) is flushed first, so the kernel's writeback
    # does not run beside the timed passes.
    sync
    "$bench_bin" --corpus "$corpus" --json --passes 10 > "$out/detect-sessionscope.json"
    results+=("$out/detect-sessionscope.json")
fi

# --- ModSecurity + CRS -----------------------------------------------------------------------------------------
# One level after the other, never in parallel: each run's throughput is a single process's, measured on a machine
# that the two runs would otherwise share.
for level in 1 2; do
    echo "== ModSecurity + CRS, paranoia level $level =="
    "$venv_python" "$compare_script" inspect --corpus "$corpus" --paranoia "$level" --progress \
        > "$out/detect-crs-pl$level.json"
    results+=("$out/detect-crs-pl$level.json")
done

# --- table -----------------------------------------------------------------------------------------------------
echo
echo "== detection on $corpus =="
table="$out/detect-compare.md"
status=0
table_flags=("${check_flag[@]}")
# The targets compare sessionscope with CRS PL1; without sessionscope there is nothing to hold to them.
if [ "$crs_only" = true ]; then
    table_flags=(--no-targets)
fi
"$venv_python" "$compare_script" table "${results[@]}" "${table_flags[@]}" | tee "$table" || status=$?
echo
echo "table written to $table"
exit "$status"
