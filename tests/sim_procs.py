"""Real processes for the simulated week and the fault tests: their environment, start, stop,
wall time and peak memory.

Every service runs as a process of its own (``testrota serve``, the fake Twilio server, the
simulation workers of :mod:`tests.sim_worker`, one-shot CLI commands), so nothing is shared but
the database, the clock file and the network.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable

# A forked child starts with its parent's peak RSS as its own; a tiny wrapper process forks the
# measured command instead and reports that child's own peak (as benchmarks/_proc.py does).
_PEAK_WRAPPER = """
import os, sys
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
sys.stderr.write(f"\\n__peak_kb__ {usage.ru_maxrss}\\n")
sys.exit(os.waitstatus_to_exitcode(status))
"""


def base_env(**extra: str) -> dict[str, str]:
    """This process's environment without any testrota or Twilio setting, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TESTROTA_", "TWILIO_"))}
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT / "src"), str(ROOT), env.get("PYTHONPATH", "")) if p
    )
    env.update(extra)
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def peak_rss_mb(pid: int) -> float | None:
    """The peak resident memory of a running process (``VmHWM``), in MB; None if it is gone."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return None


def cli_argv(*args: str) -> list[str]:
    return [PYTHON, "-m", "testrota.cli.main", *args]


# ---------------------------------------------------------------- one-shot commands


@dataclass
class Finished:
    label: str
    argv: list[str]
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    peak_mb: float

    def json(self) -> Any:
        return json.loads(self.stdout)

    def check(self) -> Finished:
        if self.returncode != 0:
            raise RuntimeError(
                f"{self.label} failed with exit code {self.returncode}:\n{self.stderr[-3000:]}"
            )
        return self


def readline_within(stream: IO[str], timeout: float, label: str) -> str:
    """``stream.readline()``, failing after ``timeout`` seconds rather than waiting for ever on
    a process that hung (the read goes on in a daemon thread until the process is stopped)."""
    got: list[str] = []
    reader = threading.Thread(target=lambda: got.append(stream.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    if not got:
        raise RuntimeError(f"{label} wrote no line in {timeout:.0f} s")
    return got[0]


class Running:
    """A one-shot command started in the background, measured like :func:`run_measured`."""

    def __init__(self, label: str, argv: list[str], env: dict[str, str], cwd: Path = ROOT) -> None:
        self.label, self.argv = label, argv
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            [PYTHON, "-S", "-c", _PEAK_WRAPPER, *argv],
            env=env,
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def wait(self, timeout: float = 3600) -> Finished:
        out, err = self.proc.communicate(timeout=timeout)
        seconds = time.perf_counter() - self.started
        peak = 0.0
        if "__peak_kb__" in err:
            head, _, tail = err.rpartition("__peak_kb__")
            peak = int(tail.split()[0]) / 1024
            err = head
        return Finished(self.label, self.argv, self.proc.returncode, out, err, seconds, peak)


def run_measured(
    label: str, argv: list[str], env: dict[str, str], timeout: float = 3600
) -> Finished:
    """Run ``argv`` to the end; its wall time and its own peak memory."""
    return Running(label, argv, env).wait(timeout)


# ---------------------------------------------------------------- long-running services


@dataclass
class Service:
    """A long-running process; its peak memory is read just before it is stopped."""

    label: str
    proc: subprocess.Popen[str]
    peak_mb: float | None = None
    log_path: Path | None = None
    stopped: bool = False

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, timeout: float = 30) -> None:
        if self.stopped:
            return
        self.stopped = True
        if self.alive():
            self.peak_mb = peak_rss_mb(self.proc.pid)
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def kill(self) -> None:
        """SIGKILL: no clean-up of any kind, as when a machine loses power."""
        self.stopped = True
        if self.alive():
            self.peak_mb = peak_rss_mb(self.proc.pid)
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(30)

    def log_tail(self, chars: int = 3000) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")[-chars:]


def _log_file(log_dir: Path, label: str) -> IO[str]:
    log_dir.mkdir(parents=True, exist_ok=True)
    return (log_dir / f"{label}.log").open("w")


class FakeTwilioProcess(Service):
    """``python -m tests.fake_twilio`` in its own process, steered over HTTP."""

    def __init__(self, log_dir: Path, latency: float = 0.0, label: str = "fake-twilio") -> None:
        with _log_file(log_dir, label) as log:
            proc = subprocess.Popen(
                [PYTHON, "-m", "tests.fake_twilio", "--latency", str(latency)],
                cwd=ROOT,
                env=base_env(),
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
            )
        super().__init__(label, proc, log_path=log_dir / f"{label}.log")
        assert proc.stdout is not None
        info = json.loads(readline_within(proc.stdout, 60, label))
        self.base_url: str = info["base_url"]
        self.account_sid: str = info["account_sid"]
        self.auth_token: str = info["auth_token"]

    def env(self) -> dict[str, str]:
        return {
            "TESTROTA_SMS_BACKEND": "twilio",
            "TWILIO_ACCOUNT_SID": self.account_sid,
            "TWILIO_AUTH_TOKEN": self.auth_token,
            "TWILIO_FROM": "+15005550006",
            "TESTROTA_TWILIO_API_BASE": self.base_url,
        }

    def _call(self, path: str, body: dict[str, Any] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.base_url + path, data=data, method="GET" if body is None else "POST"
        )
        with urllib.request.urlopen(request, timeout=120) as response:
            return json.loads(response.read())

    def stats(self) -> dict[str, Any]:
        return dict(self._call("/_fake/stats"))

    def messages(self) -> list[dict[str, Any]]:
        return list(self._call("/_fake/messages"))

    def received(self) -> list[dict[str, Any]]:
        return list(self._call("/_fake/received"))

    def fail(self, kind: str, times: int | None = 1, to: str | None = None) -> None:
        self._call("/_fake/fail", {"kind": kind, "times": times, "to": to})


class WebProcess(Service):
    """``testrota serve`` on a free port, ready once ``/healthz`` answers."""

    def __init__(self, env: dict[str, str], log_dir: Path, label: str) -> None:
        self.port = free_port()
        with _log_file(log_dir, label) as log:
            proc = subprocess.Popen(
                cli_argv("serve", "--port", str(self.port)),
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                text=True,
            )
        super().__init__(label, proc, log_path=log_dir / f"{label}.log")
        self.base_url = f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"{self.label} exited:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.base_url + "/healthz", timeout=5) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.label} did not answer /healthz in {timeout} s")


class LineProcess(Service):
    """A process commanded by JSON lines on stdin that answers with JSON lines on stdout."""

    def __init__(self, argv: list[str], env: dict[str, str], log_dir: Path, label: str) -> None:
        with _log_file(log_dir, label) as log:
            proc = subprocess.Popen(
                argv,
                cwd=ROOT,
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                bufsize=1,
            )
        super().__init__(label, proc, log_path=log_dir / f"{label}.log")

    def send(self, command: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(command) + "\n")
        self.proc.stdin.flush()

    def receive(self, timeout: float = 900) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = readline_within(self.proc.stdout, timeout, self.label)
        if not line:
            raise RuntimeError(f"{self.label} exited (code {self.proc.poll()}):\n{self.log_tail()}")
        return dict(json.loads(line))

    def stop(self, timeout: float = 30) -> None:
        if not self.stopped and self.alive():
            self.peak_mb = peak_rss_mb(self.proc.pid)
            with contextlib.suppress(OSError, ValueError):
                self.send({"stop": True})
                assert self.proc.stdin is not None
                self.proc.stdin.close()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout)
        super().stop(timeout)


@dataclass
class Fleet:
    """Every process a run started, stopped in reverse order whatever happens."""

    services: list[Service] = field(default_factory=list)

    def add(self, service: Service) -> Service:
        self.services.append(service)
        return service

    def stop_all(self) -> None:
        for service in reversed(self.services):
            with contextlib.suppress(Exception):
                service.stop()

    def __enter__(self) -> Fleet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_all()
