#!/usr/bin/env python3
"""Runs ModSecurity v3 with the OWASP Core Rule Set over a request corpus and reports per-class detection.

The corpus is the NDJSON that `sessionscope-detect-bench --emit-corpus` writes, one request a line. Each request goes
through one ModSecurity transaction (connection, URI with query, request headers, request body). A request counts as
detected when CRS's inbound anomaly score reaches the blocking threshold, which is when rule 949110 (blocking
evaluation) interrupts the transaction. The output has the JSON shape of `sessionscope-detect-bench --json`, so
scripts/detect-compare.sh can put both engines in one table.

Needs the `libmodsecurity` Python package (bindings that bundle libmodsecurity 3) and Debian's `modsecurity-crs`.

    modsec_compare.py inspect --corpus bench-out/detect-corpus.ndjson --paranoia 1 > crs-pl1.json
    modsec_compare.py sample --corpus bench-out/detect-corpus.ndjson --limit 2000 --out sample.ndjson
    modsec_compare.py table sessionscope.json crs-pl1.json crs-pl2.json

`sample` and `table` need only the standard library.
"""

import argparse
import glob
import json
import os
import random
import re
import sys
import time

DEBIAN_CRS_SETUP = "/etc/modsecurity/crs/crs-setup.conf"
DEBIAN_CRS_RULES = "/usr/share/modsecurity-crs/rules"
# Debian keeps the site's own exclusion files beside crs-setup.conf; its loader includes them around the rules.
DEBIAN_CRS_EXCLUSIONS_BEFORE = "/etc/modsecurity/crs/REQUEST-900-EXCLUSION-RULES-BEFORE-CRS.conf"
DEBIAN_CRS_EXCLUSIONS_AFTER = "/etc/modsecurity/crs/RESPONSE-999-EXCLUSION-RULES-AFTER-CRS.conf"

# The rule of CRS (v3 and v4) that blocks once the inbound anomaly score reaches the threshold.
BLOCKING_EVALUATION_RULE_ID = "949110"

# The parts of ModSecurity's recommended base configuration that decide what a request rule sees: the engine blocks
# instead of only logging, request bodies are read, JSON and XML bodies are parsed into ARGS (CRS inspects ARGS, so
# without a body processor a JSON body would only be seen as raw REQUEST_BODY), and bodies that fail to parse are
# refused the way a production setup would. Audit and debug logs stay off: this measures inspection, not log writing.
BASE_CONFIGURATION = r"""
SecRuleEngine On
SecRequestBodyAccess On
SecRule REQUEST_HEADERS:Content-Type "^(?:application(?:/soap\+|/)|text/)xml" \
    "id:'200000',phase:1,t:none,t:lowercase,pass,nolog,ctl:requestBodyProcessor=XML"
SecRule REQUEST_HEADERS:Content-Type "^application/json" \
    "id:'200001',phase:1,t:none,t:lowercase,pass,nolog,ctl:requestBodyProcessor=JSON"
SecRequestBodyLimit 13107200
SecRequestBodyNoFilesLimit 131072
SecRequestBodyLimitAction Reject
SecRequestBodyJsonDepthLimit 512
SecRule REQBODY_ERROR "!@eq 0" \
    "id:'200002',phase:2,t:none,log,deny,status:400,msg:'Failed to parse request body.',logdata:'%{reqbody_error_msg}',severity:2"
SecPcreMatchLimit 1000
SecPcreMatchLimitRecursion 1000
SecResponseBodyAccess Off
SecArgumentSeparator &
SecCookieFormat 0
SecAuditEngine Off
SecDebugLogLevel 0
"""

# Headers a typical API client sends. CRS scores requests without Host, User-Agent or Accept, which would add the
# same points to every request (benign ones too), so the corpus requests carry them like real traffic does.
CLIENT_HEADERS = [
    ("Host", "shop.example"),
    ("User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"),
    ("Accept", "application/json, text/plain, */*"),
    ("Accept-Language", "en-US,en;q=0.5"),
    ("Accept-Encoding", "gzip, deflate"),
]


def crs_major_version(rules_dir):
    """Reads the CRS version from the `ver:'OWASP_CRS/x.y.z'` action of the initialization rules."""
    # The `ver:` action, not any mention: the file's comments name older versions too.
    pattern = re.compile(r"ver:'(OWASP_CRS/(\d+)\.\d+\.\d+)'")
    for path in sorted(glob.glob(os.path.join(rules_dir, "REQUEST-901-*.conf"))):
        with open(path, encoding="utf-8", errors="replace") as rules_file:
            match = pattern.search(rules_file.read())
        if match:
            return int(match.group(2)), match.group(1)
    raise SystemExit(f"modsec_compare: no CRS version found in {rules_dir}/REQUEST-901-*.conf")


def paranoia_configuration(major_version, paranoia_level, threshold):
    """The setup rule 900000 / 900110 that crs-setup.conf would carry, for the installed CRS generation.

    CRS v3 names the level `paranoia_level` (rules run up to `executing_paranoia_level`); CRS v4 renamed them to
    `blocking_paranoia_level` and `detection_paranoia_level`. Both take the threshold as
    `inbound_anomaly_score_threshold`.
    """
    if major_version >= 4:
        level_variables = (
            f"setvar:tx.blocking_paranoia_level={paranoia_level},"
            f"setvar:tx.detection_paranoia_level={paranoia_level}"
        )
    else:
        level_variables = (
            f"setvar:tx.paranoia_level={paranoia_level},"
            f"setvar:tx.executing_paranoia_level={paranoia_level}"
        )
    # CRS's default policy refuses `text/plain` bodies outright (rule 920420), which would count every plain-text
    # request as an attack; the corpus sends values as plain-text bodies, so the policy lists it beside CRS's own
    # defaults, as an API that reads such bodies would configure it (rule 900220 of crs-setup.conf).
    allowed_types = ("|application/x-www-form-urlencoded| |multipart/form-data| |multipart/related| |text/xml| "
                     "|application/xml| |application/soap+xml| |application/json| |application/cloudevents+json| "
                     "|application/cloudevents-batch+json| |text/plain|")
    return (
        f'SecAction "id:900000,phase:1,pass,nolog,t:none,{level_variables}"\n'
        f'SecAction "id:900110,phase:1,pass,nolog,t:none,'
        f'setvar:tx.inbound_anomaly_score_threshold={threshold}"\n'
        f"SecAction \"id:900220,phase:1,pass,nolog,t:none,setvar:'tx.allowed_request_content_type={allowed_types}'\"\n"
    )


def load_rules(libmodsecurity, setup_path, rules_dir, paranoia_level, threshold):
    """Builds one RulesSet in the order Debian's loader uses, with the paranoia level set before the rules run.

    Returns the rules, the CRS version text and the rule files that this libmodsecurity build cannot load.
    """
    major_version, version_text = crs_major_version(rules_dir)
    rules = libmodsecurity.RulesSet()

    def load_text(text, what):
        if rules.load(text) < 0:
            raise SystemExit(f"modsec_compare: failed to load {what}: {rules.get_parser_error()}")

    def load_file(path):
        if rules.load_from_uri(path) < 0:
            raise SystemExit(f"modsec_compare: failed to load `{path}`: {rules.get_parser_error()}")

    load_text(BASE_CONFIGURATION, "the base configuration")
    load_file(setup_path)
    load_text(paranoia_configuration(major_version, paranoia_level, threshold), "the paranoia level setup")
    if os.path.exists(DEBIAN_CRS_EXCLUSIONS_BEFORE):
        load_file(DEBIAN_CRS_EXCLUSIONS_BEFORE)
    rule_files = sorted(glob.glob(os.path.join(rules_dir, "*.conf")))
    if not rule_files:
        raise SystemExit(f"modsec_compare: no rule files in `{rules_dir}`")
    skipped_files = []
    for path in rule_files:
        if rules.load_from_uri(path) >= 0:
            continue
        error = rules.get_parser_error()
        # The libmodsecurity the package bundles is built without GeoIP/MaxMind, so the parser refuses the
        # IP-reputation file (REQUEST-910) for its @geoLookup rule. Its rules only act when the site configures
        # high-risk countries or an IP block list, which the default setup does not, so skipping the file changes no
        # verdict here. A failed load adds none of the file's rules; any other parse error still stops the run.
        if "GeoIP" in error or "MaxMind" in error:
            skipped_files.append(os.path.basename(path))
            continue
        raise SystemExit(f"modsec_compare: failed to load `{path}`: {error}")
    if os.path.exists(DEBIAN_CRS_EXCLUSIONS_AFTER):
        load_file(DEBIAN_CRS_EXCLUSIONS_AFTER)
    return rules, version_text, skipped_files


def request_uri(request):
    path = request.get("path") or "/"
    query = request.get("query")
    return f"{path}?{query}" if query else path


class Outcome:
    DETECTED = "detected"
    PASSED = "passed"
    # Refused by something other than the anomaly threshold, e.g. a body the JSON parser rejected.
    OTHER_INTERRUPTION = "other"


def inspect(libmodsecurity, engine, rules, request):
    """Runs one request through phases 1 and 2 and says whether CRS blocked it on its anomaly score."""
    transaction = libmodsecurity.Transaction(engine, rules)
    body = request.get("body")
    body_bytes = body.encode("utf-8") if body is not None else b""

    def interruption():
        intervention = transaction.intervention()
        if intervention is None or not intervention.disruptive:
            return None
        log = intervention.log or ""
        if f'[id "{BLOCKING_EVALUATION_RULE_ID}"]' in log:
            return Outcome.DETECTED
        return Outcome.OTHER_INTERRUPTION

    transaction.process_connection("198.51.100.7", 51234, "127.0.0.1", 80)
    transaction.process_uri(request_uri(request), request.get("method") or "GET", "1.1")
    outcome = interruption()
    if outcome:
        return outcome
    for name, value in CLIENT_HEADERS:
        transaction.add_request_header(name, value)
    for name, value in request.get("headers") or []:
        transaction.add_request_header(name, value)
    if request.get("content_type"):
        transaction.add_request_header("Content-Type", request["content_type"])
    if body is not None:
        transaction.add_request_header("Content-Length", str(len(body_bytes)))
    transaction.process_request_headers()
    outcome = interruption()
    if outcome:
        return outcome
    if body_bytes:
        transaction.append_request_body(body_bytes)
    # Phase 2 runs here even without a body; CRS's blocking evaluation lives in phase 2.
    transaction.process_request_body()
    # Phase 5 (logging, CRS's correlation rules) is skipped: it decides nothing about blocking.
    return interruption() or Outcome.PASSED


def run_inspection(arguments):
    """The `inspect` command: CRS verdicts for every corpus request, as the engine-result JSON on stdout."""
    try:
        import libmodsecurity
    except ImportError:
        raise SystemExit("modsec_compare: the `libmodsecurity` package is missing; run it from the venv that "
                         "scripts/detect-compare.sh creates")
    for path in (arguments.crs_setup, arguments.crs_rules):
        if not os.path.exists(path):
            raise SystemExit(f"modsec_compare: `{path}` not found; install Debian's modsecurity-crs")
    engine_name = arguments.engine_name or f"crs-pl{arguments.paranoia}"

    engine = libmodsecurity.ModSecurity()
    engine.set_connector_information("sessionscope detect-compare")
    # Without a callback the bindings print every rule match to stderr, which would flood the terminal and charge
    # CRS for terminal output. A no-op callback costs one Python call per matched rule, small beside the rules.
    engine.set_log_callback(lambda message: None)
    load_started = time.perf_counter()
    rules, crs_version, skipped_files = load_rules(
        libmodsecurity, arguments.crs_setup, arguments.crs_rules, arguments.paranoia, arguments.threshold)
    load_seconds = time.perf_counter() - load_started

    classes = {}
    variants = {}
    benign_variants = {}
    benign = {"total": 0, "flagged": 0}
    other_interruptions = 0
    requests = 0
    inspection_seconds = 0.0
    inspection_cpu_seconds = 0.0
    # Streams the corpus: only the counters stay in memory. The clocks run around the ModSecurity calls only, not
    # around reading and decoding the corpus line, so the rate is the WAF's own single-process rate. Wall time is
    # the headline (as for sessionscope); CPU time is kept beside it because on a shared machine the wall rate
    # drops with the load while the CPU rate does not.
    for request in read_corpus(arguments.corpus):
        started = time.perf_counter()
        started_cpu = time.process_time()
        outcome = inspect(libmodsecurity, engine, rules, request)
        inspection_cpu_seconds += time.process_time() - started_cpu
        inspection_seconds += time.perf_counter() - started
        requests += 1
        if outcome == Outcome.OTHER_INTERRUPTION:
            other_interruptions += 1
        request_class = request.get("class", "unknown")
        variant = request.get("variant", "unknown")
        if request_class == "benign":
            benign["total"] += 1
            benign["flagged"] += outcome == Outcome.DETECTED
            counts = benign_variants.setdefault(variant, {"total": 0, "detected": 0})
        else:
            counts = classes.setdefault(request_class, {"total": 0, "detected": 0})
            counts["total"] += 1
            counts["detected"] += outcome == Outcome.DETECTED
            counts = variants.setdefault(variant, {"total": 0, "detected": 0})
        counts["total"] += 1
        counts["detected"] += outcome == Outcome.DETECTED
        if arguments.progress and requests % 10000 == 0:
            print(f"  {engine_name}: {requests} requests, {requests / inspection_seconds:.0f}/s",
                  file=sys.stderr, flush=True)

    result = {
        "engine": engine_name,
        "classes": dict(sorted(classes.items())),
        "variants": dict(sorted(variants.items())),
        "benign_variants": dict(sorted(benign_variants.items())),
        "benign": benign,
        "seconds": round(inspection_seconds, 3),
        "requests_per_second": round(requests / inspection_seconds, 1) if inspection_seconds > 0 else 0.0,
        # Extra fields the table ignores; they make a run reproducible and show anything odd.
        "requests": requests,
        "cpu_seconds": round(inspection_cpu_seconds, 3),
        "requests_per_cpu_second": round(requests / inspection_cpu_seconds, 1) if inspection_cpu_seconds > 0 else 0.0,
        "crs_version": crs_version,
        "modsecurity": engine.who_am_i(),
        "paranoia_level": arguments.paranoia,
        "inbound_anomaly_score_threshold": arguments.threshold,
        "other_interruptions": other_interruptions,
        "skipped_rule_files": skipped_files,
        "rules_load_seconds": round(load_seconds, 3),
    }
    engine.set_log_callback(None)
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


def read_corpus(path):
    with open(path, encoding="utf-8") as corpus:
        for line_number, line in enumerate(corpus, start=1):
            if not line.strip():
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError as error:
                raise SystemExit(f"modsec_compare: {path}:{line_number}: not JSON: {error}")


def run_sampling(arguments):
    """The `sample` command: about `--limit` corpus lines, drawn at random within each class.

    Every class keeps its share of the limit, and at least `--minimum-per-class` lines (or all it has), so that a
    quick run still shows a number for the small classes. The draw is seeded, so the same corpus and limit give the
    same sample; it is random rather than evenly spaced because the corpus may alternate variants (query, JSON) and
    an even stride would then keep only one of them. Memory stays bounded by the sample size.
    """
    lines_per_class = {}
    for request in read_corpus(arguments.corpus):
        request_class = request.get("class", "unknown")
        lines_per_class[request_class] = lines_per_class.get(request_class, 0) + 1
    total = sum(lines_per_class.values())
    if total == 0:
        raise SystemExit(f"modsec_compare: `{arguments.corpus}` holds no requests")
    draw = random.Random(arguments.seed)
    chosen_indices = {}
    for request_class, count in sorted(lines_per_class.items()):
        share = round(count * arguments.limit / total)
        quota = min(count, max(share, arguments.minimum_per_class))
        chosen_indices[request_class] = set(draw.sample(range(count), quota))

    seen = {request_class: 0 for request_class in lines_per_class}
    kept = 0
    with open(arguments.corpus, encoding="utf-8") as corpus, open(arguments.out, "w", encoding="utf-8") as out:
        for line in corpus:
            if not line.strip():
                continue
            request_class = json.loads(line).get("class", "unknown")
            index = seen[request_class]
            seen[request_class] += 1
            if index in chosen_indices[request_class]:
                out.write(line if line.endswith("\n") else line + "\n")
                kept += 1
    print(f"sampled {kept} of {total} requests into {arguments.out}", file=sys.stderr)


def percent(part, whole):
    return f"{100.0 * part / whole:.1f}%" if whole else "n/a"


def run_table(arguments):
    """The `table` command: engine results side by side as a Markdown table, then the issue's targets.

    The first result is the engine under test; the second is the reference the targets compare against (CRS at
    paranoia level 1). Exits 1 with `--check` when a target is missed.
    """
    results = []
    for path in arguments.results:
        with open(path, encoding="utf-8") as result_file:
            results.append(json.load(result_file))
    names = [result["engine"] for result in results]
    all_classes = sorted({name for result in results for name in result["classes"]})

    def class_counts(result, request_class):
        return result["classes"].get(request_class, {"total": 0, "detected": 0})

    warnings = []
    rows = []
    header = ["class", "requests"] + names
    for request_class in all_classes:
        totals = {class_counts(result, request_class)["total"] for result in results}
        if len(totals) > 1:
            warnings.append(f"engines saw different numbers of `{request_class}` requests: {sorted(totals)}")
        total = max(totals)
        cells = []
        for result in results:
            counts = class_counts(result, request_class)
            cells.append(f"{percent(counts['detected'], counts['total'])} ({counts['detected']:,})")
        rows.append([request_class, f"{total:,}"] + cells)

    attack_total = sum(class_counts(results[0], request_class)["total"] for request_class in all_classes)
    cells = []
    for result in results:
        detected = sum(counts["detected"] for counts in result["classes"].values())
        seen = sum(counts["total"] for counts in result["classes"].values())
        cells.append(f"**{percent(detected, seen)} ({detected:,})**")
    rows.append(["**all attacks (recall)**", f"**{attack_total:,}**"] + cells)

    benign_total = results[0]["benign"]["total"]
    cells = [f"{percent(result['benign']['flagged'], result['benign']['total'])} ({result['benign']['flagged']:,})"
             for result in results]
    rows.append(["**benign flagged (false-positive rate)**", f"{benign_total:,}"] + cells)

    all_requests = attack_total + benign_total
    rows.append(["**throughput, requests/s**", f"{all_requests:,}"]
                + [f"{result['requests_per_second']:,.0f}" for result in results])
    if any("requests_per_cpu_second" in result for result in results):
        rows.append(["requests per CPU-second", ""]
                    + [f"{result['requests_per_cpu_second']:,.0f}" if "requests_per_cpu_second" in result else "n/a"
                       for result in results])
    reference_rate = results[1]["requests_per_second"] if len(results) > 1 else 0
    if reference_rate:
        rows.append([f"throughput relative to {names[1]}", ""]
                    + [f"{result['requests_per_second'] / reference_rate:,.1f}×" for result in results])

    # Per delivery: recall on the attacks delivered that way, then the benign requests flagged there.
    all_variants = sorted({name for result in results for name in result.get("variants", {})})
    for variant in all_variants:
        counts = [result.get("variants", {}).get(variant, {"total": 0, "detected": 0}) for result in results]
        rows.append([f"delivery `{variant}` (recall)", f"{max(c['total'] for c in counts):,}"]
                    + [f"{percent(c['detected'], c['total'])} ({c['detected']:,})" for c in counts])
    for variant in sorted({name for result in results for name in result.get("benign_variants", {})}):
        counts = [result.get("benign_variants", {}).get(variant, {"total": 0, "detected": 0})
                  for result in results]
        rows.append([f"delivery `{variant}` (benign flagged)", f"{max(c['total'] for c in counts):,}"]
                    + [f"{percent(c['detected'], c['total'])} ({c['detected']:,})" for c in counts])

    widths = [max(len(row[column]) for row in rows + [header]) for column in range(len(header))]

    def markdown_row(cells):
        return "| " + " | ".join(cell.ljust(width) for cell, width in zip(cells, widths)) + " |"

    print(markdown_row(header))
    print("|" + "|".join("-" * (width + 2) for width in widths) + "|")
    for row in rows:
        print(markdown_row(row))
    for result in results:
        if result.get("other_interruptions"):
            warnings.append(f"{result['engine']}: {result['other_interruptions']} requests were refused by a rule "
                            "other than the anomaly threshold (counted as not detected)")
    for warning in warnings:
        print(f"\nwarning: {warning}")

    if len(results) < 2 or arguments.no_targets:
        return
    missed = print_targets(results[0], results[1], all_classes, arguments.minimum_speedup)
    if missed and arguments.check:
        sys.exit(1)


def print_targets(candidate, reference, all_classes, minimum_speedup):
    """The issue's bar against the reference: recall at least as high in every class the reference detects at all,
    a false-positive rate no higher, and `minimum_speedup` times the throughput. Returns how many were missed."""
    def recall(result, request_class):
        counts = result["classes"].get(request_class, {"total": 0, "detected": 0})
        return counts["detected"] / counts["total"] if counts["total"] else 0.0

    def false_positive_rate(result):
        benign = result["benign"]
        return benign["flagged"] / benign["total"] if benign["total"] else 0.0

    checks = []
    # "Covered" is read from the result: a class in which the reference blocks at least one request.
    for request_class in all_classes:
        if reference["classes"].get(request_class, {}).get("detected", 0) == 0:
            continue
        checks.append((f"recall {request_class}: {recall(candidate, request_class):.1%} "
                       f">= {recall(reference, request_class):.1%}",
                       recall(candidate, request_class) >= recall(reference, request_class)))
    checks.append((f"false-positive rate: {false_positive_rate(candidate):.2%} "
                   f"<= {false_positive_rate(reference):.2%}",
                   false_positive_rate(candidate) <= false_positive_rate(reference)))
    reference_rate = reference["requests_per_second"]
    speedup = candidate["requests_per_second"] / reference_rate if reference_rate else float("inf")
    checks.append((f"throughput: {speedup:,.1f}× >= {minimum_speedup:g}×", speedup >= minimum_speedup))

    print(f"\ntargets, {candidate['engine']} against {reference['engine']}:")
    missed = 0
    for description, met in checks:
        print(f"  {'met   ' if met else 'MISSED'} {description}")
        missed += not met
    return missed


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    inspect_parser = commands.add_parser("inspect", help="run CRS over a corpus, print the engine-result JSON")
    inspect_parser.add_argument("--corpus", required=True, help="NDJSON request corpus")
    inspect_parser.add_argument("--paranoia", type=int, default=1, choices=[1, 2, 3, 4], help="CRS paranoia level")
    inspect_parser.add_argument("--threshold", type=int, default=5,
                                help="inbound anomaly score that blocks (CRS default 5)")
    inspect_parser.add_argument("--crs-setup", default=DEBIAN_CRS_SETUP, help="crs-setup.conf to load")
    inspect_parser.add_argument("--crs-rules", default=DEBIAN_CRS_RULES, help="directory of the CRS rule files")
    inspect_parser.add_argument("--engine-name", help="name in the output (default crs-plN)")
    inspect_parser.add_argument("--progress", action="store_true",
                                help="print a progress line to stderr every 10,000 requests")
    inspect_parser.set_defaults(run=run_inspection)

    sample_parser = commands.add_parser("sample", help="write an even per-class sample of a corpus")
    sample_parser.add_argument("--corpus", required=True)
    sample_parser.add_argument("--limit", type=int, required=True, help="about how many requests to keep")
    sample_parser.add_argument("--minimum-per-class", type=int, default=20)
    sample_parser.add_argument("--seed", type=int, default=1)
    sample_parser.add_argument("--out", required=True)
    sample_parser.set_defaults(run=run_sampling)

    table_parser = commands.add_parser("table", help="print engine results side by side")
    table_parser.add_argument("results", nargs="+",
                              help="engine-result JSON files: the engine under test first, the reference second")
    table_parser.add_argument("--minimum-speedup", type=float, default=100.0)
    table_parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    table_parser.add_argument("--no-targets", action="store_true", help="print the table only")
    table_parser.set_defaults(run=run_table)

    arguments = parser.parse_args()
    arguments.run(arguments)


if __name__ == "__main__":
    main()
