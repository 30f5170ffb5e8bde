"""Commands print only what the user needs: `testrota init` is one line, not alembic's
narration of every plugin and revision first."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import CONFIG_DIR


def test_init_prints_one_line(tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("testrota")
    env = {
        **os.environ,
        "TESTROTA_DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.db'}",
        "TESTROTA_CONFIG_DIR": str(CONFIG_DIR),
    }
    done = subprocess.run(
        [str(exe), "init"], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("schema at revision "), lines
