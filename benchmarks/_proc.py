"""Run a command as a whole process and measure its wall time and peak memory."""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass


@dataclass
class Measured:
    label: str
    seconds: float
    peak_mb: float
    output: str


def measure(label: str, argv: list[str], env: dict[str, str] | None = None) -> Measured:
    """Wall time and peak RSS (from wait4's rusage of that one child) of ``argv``."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, **(env or {})}
    )
    assert proc.stdout is not None and proc.stderr is not None
    out = proc.stdout.read()
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{label} failed ({proc.returncode}):\n{err.decode(errors='replace')}")
    return Measured(label, seconds, usage.ru_maxrss / 1024, out.decode(errors="replace"))


def table(rows: list[Measured], baseline: Measured | None = None) -> str:
    lines = [
        "| step | wall s | peak MB |" + (" x baseline |" if baseline else ""),
        "|---|---:|---:|" + ("---:|" if baseline else ""),
    ]
    for m in rows:
        ratio = f" {m.seconds / baseline.seconds:.1f} |" if baseline else ""
        lines.append(f"| {m.label} | {m.seconds:.2f} | {m.peak_mb:.0f} |{ratio}")
    return "\n".join(lines)
