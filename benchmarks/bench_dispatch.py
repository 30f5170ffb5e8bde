"""Dispatch throughput: N due texts to the fake Twilio API with 50 ms latency a request.

The goal (issue 6): at least 500 texts a second from one process with the rate limit off, so
testrota is never the bottleneck next to Twilio's own limits; and the same run with three
processes on PostgreSQL. Every scenario starts a fresh fake server (its own process, so it
does not share the dispatcher's interpreter) and a fresh database, runs real
``testrota dispatch --once --json`` processes through the real twilio client, and checks at the
fake that every text arrived exactly once.

    python benchmarks/bench_dispatch.py                      # 20,000 texts, SQLite and PostgreSQL
    python benchmarks/bench_dispatch.py --rows 2000          # quicker
    python benchmarks/bench_dispatch.py --pg postgresql+psycopg://postgres@127.0.0.1:5432/postgres
    python benchmarks/bench_dispatch.py --channel aliyun     # the real Aliyun SDK, fake Aliyun
    python benchmarks/bench_dispatch.py --channel wecom      # httpx2, fake WeCom

With ``--channel aliyun`` every text is a template (SendSms with a signed request, through the
SDK); with ``wecom`` a member lookup by mobile, then ``message/send``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import insert, make_url, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from testrota.db.engine import make_engine  # noqa: E402
from testrota.db.models import Message  # noqa: E402
from testrota.db.schema import upgrade  # noqa: E402

DEFAULT_PG = os.environ.get(
    "TESTROTA_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


@dataclass
class Result:
    scenario: str
    processes: int
    rows: int
    seconds: float  # first process start to last process end, start-up included
    send_seconds: float  # the dispatchers' own longest run
    accepted: int
    duplicates: int

    @property
    def rate(self) -> float:
        return self.rows / self.send_seconds if self.send_seconds else 0.0


class FakeServer:
    def __init__(self, latency: float, channel: str = "twilio", rows: int = 0) -> None:
        args = {
            "twilio": ["tests.fake_twilio", "--latency", str(latency)],
            "aliyun": ["tests.fake_aliyun", "--latency", str(latency)],
            "wecom": ["tests.fake_wecom", "--members", str(rows), "--latency", str(latency)],
        }[channel]
        self.channel = channel
        self.proc = subprocess.Popen(
            [sys.executable, "-m", *args], cwd=ROOT, stdout=subprocess.PIPE, text=True
        )
        assert self.proc.stdout is not None
        self.info: dict[str, str] = json.loads(self.proc.stdout.readline())
        if channel == "aliyun":
            self.base_url = f"http://{self.info['endpoint']}"
        elif channel == "wecom":
            self.base_url = self.info["api_base"]
        else:
            self.base_url = self.info["base_url"]

    def env(self) -> dict[str, str]:
        if self.channel == "aliyun":
            return {
                "TESTROTA_SMS_BACKEND": "aliyun",
                "ALIYUN_ACCESS_KEY_ID": self.info["access_key_id"],
                "ALIYUN_ACCESS_KEY_SECRET": self.info["access_key_secret"],
                "ALIYUN_SMS_SIGN_NAME": "核酸检测",
                "TESTROTA_ALIYUN_ENDPOINT": self.info["endpoint"],
                "TESTROTA_ALIYUN_PROTOCOL": "http",
            }
        if self.channel == "wecom":
            from tests.fake_wecom import AGENT_ID, CORP_ID, SECRET

            return {
                "TESTROTA_SMS_BACKEND": "wecom",
                "WECOM_CORP_ID": CORP_ID,
                "WECOM_SECRET": SECRET,
                "WECOM_AGENT_ID": str(AGENT_ID),
                "TESTROTA_WECOM_API_BASE": self.base_url,
            }
        return {
            "TESTROTA_SMS_BACKEND": "twilio",
            "TWILIO_ACCOUNT_SID": self.info["account_sid"],
            "TWILIO_AUTH_TOKEN": self.info["auth_token"],
            "TWILIO_FROM": "+15005550006",
            "TESTROTA_TWILIO_API_BASE": self.base_url,
        }

    def stats(self) -> dict[str, Any]:
        with urllib.request.urlopen(self.base_url + "/_fake/stats", timeout=30) as response:
            stats = dict(json.loads(response.read()))
        stats.setdefault("accepted", stats.get("delivered", 0))
        return stats

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def _config(tmp: Path, concurrency: int) -> Path:
    target = tmp / "config"
    shutil.copytree(ROOT / "config", target, dirs_exist_ok=True)
    data = yaml.safe_load((target / "policy.yaml").read_text(encoding="utf-8"))
    data["sms"].update({"rate_per_second": 0, "concurrency": concurrency, "batch_size": 500})
    (target / "policy.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return target


def _fill(url: str, rows: int) -> None:
    engine = make_engine(url)
    upgrade(engine)
    due = datetime.now(UTC) - timedelta(minutes=1)
    table = Message.__table__  # type: ignore[attr-defined]
    with engine.begin() as conn:
        for start in range(0, rows, 5000):
            conn.execute(
                insert(table),
                [
                    {
                        "kind": "booster",
                        "dedupe_key": f"bench:{n}",
                        "to": f"+86138{n + 1:08d}",
                        "body": f"Testrota: benchmark text {n}",
                        "language": "zh-Hans",
                        "params": {"name": f"员工{n}", "link": f"https://r.example/m/{n}"},
                        "due_at": due,
                        "status": "pending",
                        "attempts": 0,
                        "segments": 1,
                        "created_at": due,
                    }
                    for n in range(start, min(rows, start + 5000))
                ],
            )
    engine.dispose()


def _run(
    scenario: str,
    url: str,
    processes: int,
    rows: int,
    latency: float,
    concurrency: int,
    tmp: Path,
    channel: str = "twilio",
) -> Result:
    _fill(url, rows)
    fake = FakeServer(latency, channel, rows)
    try:
        prefixes = ("TESTROTA_", "TWILIO_", "ALIYUN_", "WECOM_")
        env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
        env.update(
            {
                "TESTROTA_DATABASE_URL": url,
                "TESTROTA_CONFIG_DIR": str(_config(tmp, concurrency)),
                "TESTROTA_SECRET_KEY": "bench",
                "TESTROTA_PUBLIC_URL": "https://rota.example.com",
                "PYTHONPATH": str(ROOT / "src"),
                **fake.env(),
            }
        )
        started = time.monotonic()
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "testrota.cli.main", "dispatch", "--once", "--json"],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
            )
            for _ in range(processes)
        ]
        reports = []
        for proc in procs:
            out, _ = proc.communicate(timeout=3600)
            if proc.returncode != 0:
                raise SystemExit(f"{scenario}: a dispatcher failed (exit {proc.returncode})")
            reports.append(json.loads(out))
        wall = time.monotonic() - started
        stats = fake.stats()
    finally:
        fake.stop()
    sent = sum(r["sent"] for r in reports)
    if sent != rows or stats["accepted"] != rows or stats["duplicates"]:
        raise SystemExit(
            f"{scenario}: sent {sent}, accepted {stats['accepted']}, "
            f"duplicates {stats['duplicates']} of {rows}"
        )
    return Result(
        scenario,
        processes,
        rows,
        wall,
        max(r["seconds"] for r in reports),
        stats["accepted"],
        stats["duplicates"],
    )


def _pg_database(admin_url: str) -> tuple[str, Any]:
    url = make_url(admin_url)
    name = f"testrota_bench_{uuid.uuid4().hex[:8]}"
    admin = make_engine(url.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    return url.set(database=name).render_as_string(hide_password=False), admin


def main() -> None:
    parser = argparse.ArgumentParser(description="SMS dispatch throughput")
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--pg", default=DEFAULT_PG, help="admin URL of a PostgreSQL server")
    parser.add_argument("--no-pg", action="store_true")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--channel", choices=("twilio", "aliyun", "wecom"), default="twilio")
    args = parser.parse_args()

    results: list[Result] = []
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        sqlite_url = f"sqlite:///{tmp / 'bench.db'}"
        results.append(
            _run(
                "sqlite, 1 process",
                sqlite_url,
                1,
                args.rows,
                args.latency,
                args.concurrency,
                tmp,
                args.channel,
            )
        )
        if not args.no_pg:
            for processes in (1, 3):
                url, admin = _pg_database(args.pg)
                try:
                    results.append(
                        _run(
                            f"postgresql, {processes} process" + ("es" if processes > 1 else ""),
                            url,
                            processes,
                            args.rows,
                            args.latency,
                            args.concurrency,
                            tmp,
                            args.channel,
                        )
                    )
                finally:
                    with admin.connect() as conn:
                        conn.execute(
                            text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')
                        )
                    admin.dispose()

    if args.json:
        print(json.dumps([r.__dict__ | {"rate": round(r.rate, 1)} for r in results], indent=2))
        return
    print(
        f"dispatch {args.rows:,} due texts, fake {args.channel} latency "
        f"{args.latency * 1000:.0f} ms, "
        f"rate limit off, {args.concurrency} sends in flight per process, {os.cpu_count()} CPUs"
    )
    print(f"{'scenario':<26}{'texts/s':>9}{'send s':>9}{'wall s':>9}{'dupes':>7}")
    for r in results:
        print(
            f"{r.scenario:<26}{r.rate:>9.0f}{r.send_seconds:>9.1f}{r.seconds:>9.1f}"
            f"{r.duplicates:>7}"
        )


if __name__ == "__main__":
    main()
