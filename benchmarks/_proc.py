"""Run a command as a whole process and measure its wall time and peak memory."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass

# A forked child starts with its parent's peak RSS as its own, so a benchmark driver that has
# built 100,000 rows in memory would be charged to every child. A small wrapper process forks
# the measured command instead and reports that child's own peak.
_WRAPPER = """
import os, sys
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
cpu = usage.ru_utime + usage.ru_stime
sys.stderr.write(f"\\n__peak_kb__ {usage.ru_maxrss} {cpu}\\n")
sys.exit(os.waitstatus_to_exitcode(status))
"""


@dataclass
class Measured:
    label: str
    seconds: float
    peak_mb: float
    output: str
    cpu_seconds: float = 0.0


def measure(label: str, argv: list[str], env: dict[str, str] | None = None) -> Measured:
    """Wall time and peak RSS of ``argv``, run as a process of its own."""
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-S", "-c", _WRAPPER, *argv],
        capture_output=True,
        env={**os.environ, **(env or {})},
        check=False,
    )
    seconds = time.perf_counter() - start
    err = proc.stderr.decode(errors="replace")
    if proc.returncode != 0:
        raise SystemExit(f"{label} failed ({proc.returncode}):\n{err}")
    peak_kb, cpu = err.rsplit("__peak_kb__", 1)[1].split()[:2]
    return Measured(
        label, seconds, int(peak_kb) / 1024, proc.stdout.decode(errors="replace"), float(cpu)
    )


def table(rows: list[Measured], baseline: Measured | None = None) -> str:
    """A Markdown table; the ratio is of CPU time, which a busy shared machine disturbs less."""
    lines = [
        "| step | wall s | CPU s | peak MB |" + (" CPU x baseline |" if baseline else ""),
        "|---|---:|---:|---:|" + ("---:|" if baseline else ""),
    ]
    for m in rows:
        ratio = f" {m.cpu_seconds / baseline.cpu_seconds:.1f} |" if baseline else ""
        lines.append(
            f"| {m.label} | {m.seconds:.2f} | {m.cpu_seconds:.2f} | {m.peak_mb:.0f} |{ratio}"
        )
    return "\n".join(lines)
