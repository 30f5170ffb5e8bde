"""Read files with the roster reader, each in a child process under memory and CPU limits.

    python -m tests.read_in_child [--in-process] MEMORY_MB CPU_SECONDS FILE...

The reader is imported once; each file is then read in a forked child whose address space and
CPU time are capped with setrlimit, so a reader that allocates without limit dies alone and
the others are still measured. ``--in-process``: the reader's own bound is off
(``import.isolate_reader: false``), so the survey before calamine is all that stands. Prints
one JSON object per line and file: ``file``, ``outcome`` (ok | refused | crashed | killed),
``message``, ``status`` (the child's exit status), ``peak_mb`` (its peak resident memory)
and ``cpu_s``.
"""

from __future__ import annotations

import json
import os
import resource
import sys
from pathlib import Path


def _read(path: Path, isolate: bool) -> dict[str, str]:
    from testrota.errors import UserError
    from testrota.policy import ImportPolicy
    from testrota.roster.columns import REQUIRED_FIELDS, load_roster_columns
    from testrota.roster.reader import read_workbook

    aliases = load_roster_columns(Path(__file__).resolve().parents[1] / "config")
    try:
        read_workbook(path, aliases, REQUIRED_FIELDS, ImportPolicy(isolate_reader=isolate))
    except UserError as exc:
        return {"outcome": "refused", "message": str(exc)}
    except BaseException as exc:  # what the test is looking for: anything but a refusal
        return {"outcome": "crashed", "message": f"{type(exc).__name__}: {exc}"[:500]}
    return {"outcome": "ok", "message": ""}


def main(argv: list[str]) -> int:
    isolate = argv[:1] != ["--in-process"]
    argv = argv if isolate else argv[1:]
    memory = int(argv[0]) << 20
    cpu = int(argv[1])
    # Imported before forking, so each child pays only for reading its file.
    import python_calamine  # noqa: F401

    import testrota.roster.reader  # noqa: F401

    for name in argv[2:]:
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read_end)
            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
            resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
            result = _read(Path(name), isolate)
            os.write(write_end, json.dumps(result).encode())
            os._exit(0)
        os.close(write_end)
        chunks = []
        while chunk := os.read(read_end, 65536):
            chunks.append(chunk)
        os.close(read_end)
        _, status, usage = os.wait4(pid, 0)
        reported = json.loads(b"".join(chunks) or b'{"outcome": "killed", "message": ""}')
        print(
            json.dumps(
                {
                    "file": name,
                    **reported,
                    "status": os.waitstatus_to_exitcode(status),
                    "peak_mb": usage.ru_maxrss / 1024,
                    "cpu_s": usage.ru_utime + usage.ru_stime,
                },
                ensure_ascii=False,
            ),
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
