#!/usr/bin/env bash
# Peak memory of `ingest` on inputs shaped to exhaust it: lines far over the record limit, a huge
# URL, many URLs just under the record limit, a first line longer than what format detection
# reads, and a HAR file of large bodies. Each file is generated into bench-out/limits/; the table
# it prints is what BENCHMARKS.md records.
#
#   scripts/bench-limits.sh
set -euo pipefail
cd "$(dirname "$0")/.."

out="bench-out/limits"
mkdir -p "$out"
cargo build --release --locked -p sessionscope
bin="target/release/sessionscope"

python3 - "$out" <<'PY'
import json, os, sys
out = sys.argv[1]
def exchange(i, url="/a", body=None):
    request = {"method": "POST", "url": url, "headers": [["host", "api.example"], ["cookie", "sid=s%d" % i]]}
    if body is not None:
        request["body"] = body
    return json.dumps({"ts": "2026-12-01T10:00:%02dZ" % (i % 60), "request": request, "response": {"status": 200}}) + "\n"
def write(name, lines):
    path = os.path.join(out, name)
    if not os.path.exists(path):
        with open(path, "w") as f:
            for line in lines:
                f.write(line)
big = "x" * (50 << 20)
write("ten-50mb-lines.ndjson", [exchange(0)] + [exchange(i, body=big) for i in range(1, 11)] + [exchange(11)])
write("one-50mb-url.ndjson", [exchange(1, url="/a?q=" + "y" * (50 << 20)), exchange(2)])
write("ten-15mb-urls.ndjson", (exchange(i, url="/a?q=" + "y" * (15 << 20)) for i in range(10)))
write("first-line-2mb.ndjson", [exchange(1, body="z" * (2 << 20))] + [exchange(i) for i in range(2, 20)])
path = os.path.join(out, "300-entries-1.5mb.har")
if not os.path.exists(path):
    body = "b" * (3 << 19)
    with open(path, "w") as f:
        f.write('{"log":{"version":"1.2","creator":{"name":"bench","version":"1"},"entries":[')
        for i in range(300):
            entry = {"startedDateTime": "2026-12-01T10:%02d:%02dZ" % (i // 60, i % 60), "time": 1,
                     "request": {"method": "GET", "url": "https://api.example/x/%d" % i, "httpVersion": "HTTP/1.1",
                                 "headers": [{"name": "cookie", "value": "sid=a"}], "cookies": [], "queryString": [],
                                 "headersSize": -1, "bodySize": 0},
                     "response": {"status": 200, "statusText": "OK", "httpVersion": "HTTP/1.1", "headers": [], "cookies": [],
                                  "content": {"size": len(body), "mimeType": "text/plain", "text": body},
                                  "redirectURL": "", "headersSize": -1, "bodySize": len(body)},
                     "cache": {}, "timings": {"send": 0, "wait": 1, "receive": 0}}
            f.write(("," if i else "") + json.dumps(entry))
        f.write("]}}")
PY

printf '%-28s %-16s %10s %10s %9s %9s\n' input flags "size MB" "RSS MB" accepted rejected
run() {
    local file="$1"; shift
    rm -f "$out/s.db" "$out/s.db-wal" "$out/s.db-shm"
    local stats
    /usr/bin/time -o "$out/time.txt" -f "%M" "$bin" --db "$out/s.db" ingest "$@" "$out/$file" >"$out/summary.txt" 2>/dev/null || true
    stats=$(tail -1 "$out/time.txt")
    local accepted rejected size
    accepted=$(awk '/^accepted/ {print $2}' "$out/summary.txt")
    rejected=$(awk '/^rejected/ {print $2}' "$out/summary.txt")
    size=$(( $(stat -c %s "$out/$file") / 1000000 ))
    printf '%-28s %-16s %10s %10s %9s %9s\n' "$file" "${*:-}" "$size" "$(( stats / 1024 ))" "$accepted" "$rejected"
}
run ten-50mb-lines.ndjson
run ten-50mb-lines.ndjson --format ndjson
run one-50mb-url.ndjson
run ten-15mb-urls.ndjson
run first-line-2mb.ndjson
run 300-entries-1.5mb.har
