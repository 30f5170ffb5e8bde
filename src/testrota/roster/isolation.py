"""Reading a workbook with calamine in a child process bounded in memory and time.

The survey (:mod:`testrota.roster.xlsx_parts`) refuses a sheet too large before calamine
reads it, with a message that names the sheet and the setting. But calamine's parser is
several readers (xlsx, xlsb, xls, ods) over zip parts, relationships, shared strings and
records, each with quirks of its own; review found small files that got past a survey written
to its rules one by one and made calamine ask for hundreds of gigabytes, which aborts the
process (a Rust allocation failure is no exception Python can catch). So calamine reads in a
forked child whose address space and CPU time are capped (``import.reader_memory_mb``,
``import.reader_seconds``): such a file ends the child, not the web process serving everyone
else, and its uploader is told what happened. An .xlsx sheet is then surveyed only where the
survey finds what calamine cannot (padded number formats), or after a read that ended at the
limits, to name the sheet and the setting (a tenth of a 300,000-row sheet's read saved).

The child parses what it read too, and hands back columns of texts: a column that repeats its
values (departments, results, sampling times) as its values once and a number for each cell,
which costs a few hundredths of a second across the pipe where the raw cells pickled cost
about a second each way for a 300,000-row results sheet. Where the system has no ``fork``
(Windows), calamine reads in the calling process.
"""

from __future__ import annotations

import contextlib
import faulthandler
import gc
import io
import os
import pickle
import resource
import select
import signal
import time
from array import array
from collections.abc import Callable
from typing import Any, TypeVar

from testrota.errors import UserError

T = TypeVar("T")
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
# How the child says what happened, first byte of its answer.
_OK, _USER_ERROR, _FAILED = b"o", b"u", b"f"
_NO_MEMORY = 71  # the child's exit status when Python ran out of its memory


class _AnswerTooLarge(Exception):
    pass


class ReaderFailed(Exception):
    """The child ended without an answer: killed at a limit, or crashed."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def can_isolate() -> bool:
    return hasattr(os, "fork")


def run_isolated(
    work: Callable[[], T],
    encode: Callable[[T], bytes],
    decode: Callable[[bytes], T],
    *,
    memory_mb: int,
    seconds: int,
) -> T:
    """``decode(encode(work()))``, with ``work`` run in a forked child limited to
    ``memory_mb`` of address space beyond what this process has mapped and ``seconds`` of CPU
    (and of the wall clock, with a little to spare). A UserError in the child is raised here as
    it was; :class:`ReaderFailed` when the child ends without answering; a RuntimeError when
    ``work`` failed otherwise (a bug: the server's log gets it)."""
    read_end, write_end = os.pipe()
    try:
        pid = os.fork()
    except OSError as exc:  # no memory or no process left for a child
        os.close(read_end)
        os.close(write_end)
        raise ReaderFailed(f"no child ({exc.strerror})") from exc
    if pid == 0:  # the child: never returns
        _child(read_end, write_end, work, encode, memory_mb, seconds)
    os.close(write_end)
    answer = b""
    reason = ""
    try:
        # No more than the child may hold: whatever it sends is built again here.
        answer = _read_all(read_end, time.monotonic() + seconds + 10, memory_mb << 20)
    except TimeoutError:
        pass
    except _AnswerTooLarge:
        reason = f"an answer over {memory_mb} MB"
    finally:
        os.close(read_end)
        if answer[:1] not in (_OK, _USER_ERROR, _FAILED):
            _kill(pid)
        status = _reap(pid)
    if answer[:1] == _OK:
        return decode(answer[1:])
    if answer[:1] == _USER_ERROR:
        template, params = pickle.loads(answer[1:])
        raise UserError(template, **params)
    if answer[:1] == _FAILED:
        raise RuntimeError(f"the workbook reader failed: {answer[1:].decode('utf-8', 'replace')}")
    if reason:
        raise ReaderFailed(reason)
    if status is not None and os.WIFEXITED(status) and os.WEXITSTATUS(status) == _NO_MEMORY:
        raise ReaderFailed("MemoryError")
    if status is not None and os.WIFSIGNALED(status):
        raise ReaderFailed(signal.Signals(os.WTERMSIG(status)).name)
    if status is not None and os.WIFEXITED(status):
        raise ReaderFailed(f"exit {os.WEXITSTATUS(status)}")
    raise ReaderFailed("no answer")


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _reap(pid: int) -> int | None:
    try:
        return os.waitpid(pid, 0)[1]
    except ChildProcessError:  # SIGCHLD ignored: the system reaped it already
        return None


def _child(
    read_end: int,
    out: int,
    work: Callable[[], T],
    encode: Callable[[T], bytes],
    memory_mb: int,
    seconds: int,
) -> None:
    code = 0
    try:
        # Nothing the parent holds is ours: no collection of its garbage (a finaliser could
        # roll back a database connection it shares), none of its files or sockets (another
        # upload's pipe, held open here, would wait for this child to end).
        gc.disable()
        os.closerange(3, out)
        os.closerange(out + 1, _max_fd())
        # calamine's last words on a refused allocation (a Rust backtrace) are the parent's to
        # tell, in one line: not the server log's; and no core dump of the server's memory
        quiet = os.open(os.devnull, os.O_WRONLY)
        os.dup2(quiet, 2)
        os.close(quiet)
        faulthandler.disable()  # it writes to a copy of stderr of its own
        _limit(memory_mb, seconds)
        try:
            answer = _OK + encode(work())
        except MemoryError:
            code = _NO_MEMORY  # the limit reached in Python, not a bug: said as the limit
            return
        except UserError as exc:
            try:
                answer = _USER_ERROR + pickle.dumps((exc.template, exc.params))
            except Exception:
                answer = _USER_ERROR + pickle.dumps((str(exc), {}))
        except Exception as exc:
            answer = _FAILED + f"{type(exc).__name__}: {exc}"[:500].encode()
        view = memoryview(answer)
        while view:
            view = view[os.write(out, view) :]
    except BaseException:
        code = 70
    finally:
        # no atexit handlers, no flushing of the parent's buffers, no finalisers
        os._exit(code)


def _max_fd() -> int:
    limit = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    return limit if limit != resource.RLIM_INFINITY and limit < 1 << 20 else 1 << 16


def _limit(memory_mb: int, seconds: int) -> None:
    try:
        with open("/proc/self/statm", "rb") as f:
            mapped = int(f.read().split()[0]) * _PAGE
    except (OSError, ValueError, IndexError):
        mapped = 0
    if mapped:  # the budget on top of what the fork already maps
        _lower(resource.RLIMIT_AS, mapped + memory_mb * 1024 * 1024)
    used = resource.getrusage(resource.RUSAGE_SELF)
    spent = int(used.ru_utime + used.ru_stime)  # a forked child starts with none, but be sure
    signal.signal(signal.SIGXCPU, signal.SIG_DFL)  # an ignored SIGXCPU would void the limit
    _lower(resource.RLIMIT_CPU, spent + seconds, spare=5)
    _lower(resource.RLIMIT_CORE, 0)
    _not_dumpable()


def _lower(which: int, cap: int, spare: int = 0) -> None:
    """Lower a limit to ``cap`` (its hard limit to ``cap + spare``), never above one already
    set: a process may not raise its hard limit, and one started under a tighter cap keeps it."""
    soft, hard = resource.getrlimit(which)
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    new_hard = cap + spare if hard == resource.RLIM_INFINITY else min(hard, cap + spare)
    if soft == resource.RLIM_INFINITY or cap < soft or new_hard != hard:
        resource.setrlimit(which, (cap, new_hard))


def _not_dumpable() -> None:
    """No core even where the system pipes cores to a program (PR_SET_DUMPABLE, Linux)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE, 0
    except (OSError, AttributeError):
        return


def _read_all(fd: int, deadline: float, limit: int) -> bytes:
    parts: list[bytes] = []
    size = 0
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            continue
        piece = os.read(fd, 1 << 20)
        if not piece:
            return b"".join(parts)
        size += len(piece)
        if size > limit:
            raise _AnswerTooLarge
        parts.append(piece)


# --- cells across the pipe -----------------------------------------------------------------


def dumps(value: Any) -> bytes:
    """The child's answer as pickle writes it without its memo: the cells are plain values
    and lists with no object twice, and the memo was half the time of the dump."""
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.fast = True
    pickler.dump(value)
    return buffer.getvalue()


def loads(data: bytes) -> Any:
    """What :func:`dumps` wrote, in the parent (our own child's bytes, never a file's)."""
    return pickle.loads(data)


_SAMPLE = 2_000  # cells looked at to decide whether a column repeats its values


def pack_texts(texts: list[str], *, by_value: bool = False) -> list[str] | tuple[list[str], bytes]:
    """A column of texts for :func:`dumps`: as it is, or, when it mostly repeats values (or
    ``by_value``: it holds one object in many cells, which pickle without its memo would
    write out each time), each value once and a 4-byte number for each cell (which
    :func:`unpack_texts` makes one string object per value again, as ``reader._shared``
    does)."""
    if not by_value and (len(texts) <= _SAMPLE or len(set(texts[:_SAMPLE])) > _SAMPLE // 2):
        return texts
    index: dict[str, int] = {}
    codes = array("I", [index.setdefault(t, len(index)) for t in texts])
    return list(index), codes.tobytes()


def unpack_texts(packed: list[str] | tuple[list[str], bytes]) -> list[str]:
    if isinstance(packed, list):
        return packed
    values, raw = packed
    codes = array("I")
    codes.frombytes(raw)
    return list(map(values.__getitem__, codes))


def pack_ints(numbers: list[int]) -> bytes:
    return array("q", numbers).tobytes()


def unpack_ints(raw: bytes) -> list[int]:
    numbers = array("q")
    numbers.frombytes(raw)
    return numbers.tolist()
