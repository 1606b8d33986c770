# Sourced by the scripts that run one ingest under a tool (bench-instructions.sh, bench-profile.sh):
# reads BINARY [EXCHANGES] [INPUT] from the script's arguments, checks them and the tool, and makes
# a work directory (removed on exit) holding the first EXCHANGES lines of INPUT as input.ndjson and
# the demo configuration as config.toml. Sets `bin`, `exchanges` and `work`.
#
#   sample_ingest SCRIPT TOOL PACKAGE DEFAULT_EXCHANGES "$@"
sample_ingest() {
    local script="$1" tool="$2" package="$3" default_exchanges="$4"
    shift 4
    if [ $# -lt 1 ]; then
        echo "usage: scripts/$script BINARY [EXCHANGES] [INPUT]" >&2
        exit 2
    fi
    bin="$1"
    exchanges="${2:-$default_exchanges}"
    local input="${3:-bench-out/traffic-1000000.ndjson}" file
    for file in "$bin" "$input"; do
        if [ ! -e "$file" ]; then
            echo "${script%.sh}: $file does not exist (scripts/bench.sh makes the input)" >&2
            exit 2
        fi
    done
    if ! command -v "$tool" > /dev/null; then
        echo "${script%.sh}: needs $tool (apt-get install $package)" >&2
        exit 2
    fi
    work="$(mktemp -d)"
    # shellcheck disable=SC2064 # the directory is known now
    trap "rm -rf '$work'" EXIT
    head -n "$exchanges" "$input" > "$work/input.ndjson"
    "$bin" generate --print-config > "$work/config.toml"
}
