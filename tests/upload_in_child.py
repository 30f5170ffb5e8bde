"""Upload one file to the web app's roster page, in a process whose memory is capped.

    python -m tests.upload_in_child DATABASE_URL EXTRA_MB FILE

Builds the app on the (migrated) database, adds and signs in an HR user (the calling test
empties the tables afterwards), then caps the process's address
space at what it uses now plus EXTRA_MB and uploads FILE. Prints ``{status, alert}`` as JSON: the
response's status code and the text of its alert. A reader that allocates without limit makes
this process die instead of printing.
"""

from __future__ import annotations

import json
import resource
import sys
from pathlib import Path


def _address_space() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmSize:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmSize in /proc/self/status")


def main(argv: list[str]) -> int:
    database_url, extra_mb, file_name = argv[0], int(argv[1]), Path(argv[2])
    from fastapi.testclient import TestClient

    from testrota.db.engine import make_engine
    from testrota.web.app import create_app
    from tests.web_support import csrf_of, make_user, sign_in, soup, web_settings_for

    engine = make_engine(database_url)
    make_user(engine, "hr-upload", "hr")
    try:
        with TestClient(
            create_app(web_settings_for(database_url)), headers={"Accept-Language": "en"}
        ) as client:
            sign_in(client, "hr-upload")
            token = csrf_of(client, "/upload/roster")
            limit = _address_space() + (extra_mb << 20)
            _, hard = resource.getrlimit(resource.RLIMIT_AS)
            resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
            response = client.post(
                "/upload/roster",
                data={"csrf_token": token},
                files={"file": (file_name.name, file_name.read_bytes())},
                follow_redirects=False,
            )
            resource.setrlimit(resource.RLIMIT_AS, (hard, hard))
            alert = soup(response).select_one('[role="alert"]')
            print(
                json.dumps(
                    {
                        "status": response.status_code,
                        "alert": alert.get_text(" ", strip=True) if alert else "",
                    },
                    ensure_ascii=False,
                )
            )
    finally:
        engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
