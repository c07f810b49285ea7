"""Run one command and report its wall time and peak memory, from a small parent.

    python benchmarks/launch.py RESULT.json -- COMMAND [ARG ...]

Linux counts a process's peak resident set from the moment it was forked, so a
command started directly by ``run.py`` would be charged ``run.py``'s own memory
(over 100 MB once it has compared large results). Started from this small
process instead, the command's ``ru_maxrss`` is its own. Standard library only.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time


def main() -> int:
    if len(sys.argv) < 4 or sys.argv[2] != "--":
        print(__doc__, file=sys.stderr)
        return 2
    result_path, argv = sys.argv[1], sys.argv[3:]
    started = time.perf_counter()
    process = subprocess.Popen(argv)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    # Linux reports ru_maxrss in KiB (macOS in bytes).
    rss = usage.ru_maxrss // 1024 if sys.platform == "darwin" else usage.ru_maxrss
    with open(result_path, "w", encoding="utf-8") as handle:
        json.dump(
            {
                "seconds": elapsed,
                "max_rss_kb": int(rss),
                "returncode": os.waitstatus_to_exitcode(status),
            },
            handle,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
