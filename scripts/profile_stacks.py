"""Summarises `perf script` output of a profile recorded with call graphs: where the samples of an
ingest went, by thread, by function including what it calls, and by function alone.

    perf script -i perf.data | python3 scripts/profile_stacks.py [--top N]
    ... | python3 scripts/profile_stacks.py --under NAME     frames NAME calls directly
    ... | python3 scripts/profile_stacks.py --callers NAME   who calls NAME (outside the std library)

NAME is matched as a substring of demangled function names (`Analyzer::analyze`, `scan_json`).
Inlined frames count as frames, as perf reports them with `--call-graph dwarf`.
"""
import argparse
import collections
import sys

# Frames of the standard library and of generic helpers, skipped when looking for a caller.
LIBRARY_PREFIXES = (
    "core::", "<core::", "alloc::", "<alloc::", "std::", "<std::", "hashbrown", "<hashbrown",
    "__mem", "mi_", "_mi_", "<mimalloc", "__rustc", "<A as core", "<str as core", "<[",
    "memchr::", "<memchr", "compact_str", "<compact_str", "<Q as hashbrown",
)
# Frames every thread starts from: left out of the list by function.
THREAD_ROOTS = ("clone3", "start_thread")


def frame_name(line):
    """`addr name+0xoff (object)` or `addr name (inlined)` -> name."""
    parts = line.strip().split(None, 1)
    name = parts[1] if len(parts) > 1 else parts[0]
    name = name.replace(" (inlined)", "")
    name = name.split(" (/")[0]
    plus = name.rfind("+0x")
    return name[:plus] if plus > 0 else name


def samples(stream):
    """Yields (thread name, [leaf frame, ..., root frame]) for every sample."""
    thread, frames = None, []
    for line in stream:
        if not line.strip():
            if thread is not None and frames:
                yield thread, frames
            thread, frames = None, []
        elif line[0] in " \t":
            frames.append(frame_name(line))
        else:
            thread, frames = line.split(None, 1)[0], []
    if thread is not None and frames:
        yield thread, frames


def percent(count, total):
    return f"{100 * count / total:6.2f}%"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--under")
    parser.add_argument("--callers")
    args = parser.parse_args()

    total = 0
    threads = collections.Counter()
    inclusive = collections.Counter()
    leaves = collections.Counter()
    picked = collections.Counter()
    picked_samples = 0
    for thread, frames in samples(sys.stdin):
        total += 1
        threads[thread] += 1
        leaves[frames[0]] += 1
        for name in set(frames):
            inclusive[name] += 1
        if args.under:
            for depth, name in enumerate(frames):
                if args.under in name:
                    picked_samples += 1
                    picked["(itself)" if depth == 0 else frames[depth - 1]] += 1
                    break
        if args.callers and args.callers in frames[0]:
            picked_samples += 1
            caller = next((name for name in frames[1:] if not name.startswith(LIBRARY_PREFIXES)), "?")
            picked[caller] += 1
    if total == 0:
        sys.exit("profile_stacks: no samples on standard input (pipe `perf script` into it)")

    if args.under or args.callers:
        what = f"under {args.under}" if args.under else f"callers of {args.callers}"
        print(f"{what}: {percent(picked_samples, total)} of {total} samples")
        for name, count in picked.most_common(args.top):
            print(f"  {percent(count, total)}  {name}")
        return
    print(f"{total} samples")
    print("\nby thread")
    for name, count in threads.most_common():
        print(f"  {percent(count, total)}  {name}")
    print("\nby function, with what it calls (the std library and thread roots left out)")
    own = [
        (name, count)
        for name, count in inclusive.most_common()
        if not name.startswith(LIBRARY_PREFIXES) and name not in THREAD_ROOTS
    ]
    for name, count in own[: args.top]:
        print(f"  {percent(count, total)}  {name}")
    print("\nby function alone")
    for name, count in leaves.most_common(args.top):
        print(f"  {percent(count, total)}  {name}")


if __name__ == "__main__":
    main()
