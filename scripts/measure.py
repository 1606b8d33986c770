"""Runs a command and prints what it cost, from the kernel's accounting of the child: peak
resident memory, CPU seconds (user + system) and wall seconds. Exits with the command's code.

    python3 scripts/measure.py COMMAND [ARGS...]
"""
import resource
import subprocess
import sys
import time

started = time.monotonic()
code = subprocess.call(sys.argv[1:])
elapsed = time.monotonic() - started
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(f"peak_rss_mb {usage.ru_maxrss / 1024:.1f}")
print(f"cpu_seconds {usage.ru_utime + usage.ru_stime:.2f}")
print(f"wall_seconds {elapsed:.2f}")
sys.exit(code)
