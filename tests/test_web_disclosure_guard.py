"""The response guard's rewriting, body type by body type, and how it fails: closed."""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.testclient import TestClient
from openpyxl import Workbook, load_workbook

from testrota.policy import load_policy
from testrota.privacy import UNMASKED, masker_for
from testrota.web.disclosure import XLSX, DisclosureGuard, Reader, redact_body
from tests.conftest import CONFIG_DIR

MASKED = Reader(masker_for("supervisor", ["supervisor"], 4))
STAFF = Reader(UNMASKED)
LINK = "https://t.example/me/1.YnsYoA.5jsj5nMb9p1uSEuC"


def test_json_strings_are_rewritten_and_numbers_never() -> None:
    body = json.dumps(
        {
            "phone": "+8613812345678",
            "rate": 0.13812345678,
            "n": 13812345678,
            "text": f"改约：{LINK}",
            "nested": [{"id": "11010119900307451X"}],
        },
        ensure_ascii=False,
    ).encode()
    out = json.loads(redact_body(body, "application/json", MASKED))
    assert out == {
        "phone": "+*********5678",
        "rate": 0.13812345678,
        "n": 13812345678,
        "text": "改约：https://t.example/me/…",
        "nested": [{"id": "**************451X"}],
    }
    staff = json.loads(redact_body(body, "application/json", STAFF))
    assert staff["phone"] == "+8613812345678" and staff["text"].endswith("/me/…")
    plain = b'{"status":"ok"}'
    assert redact_body(plain, "application/json", MASKED) is plain


def test_html_and_csv_are_rewritten_as_text() -> None:
    html = f'<td>+86 138 1234 5678</td><td><a href="{LINK}">x</a></td>'.encode()
    assert (
        redact_body(html, "text/html; charset=utf-8", MASKED)
        == '<td>+** *** **** 5678</td><td><a href="https://t.example/me/…">x</a></td>'.encode()
    )
    csv = "\ufeffphone\n13812345678\n".encode()
    assert redact_body(csv, "text/csv", MASKED) == "\ufeffphone\n*******5678\n".encode()


def test_a_workbook_is_rewritten_cell_by_cell() -> None:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["phone", "typed as a number", "count", "text", "a time of day"])
    ws.append(["+8613812345678", 13812345678, 42, f"改约 {LINK}", 44690.13888888889])
    buf = io.BytesIO()
    wb.save(buf)
    out = redact_body(buf.getvalue(), XLSX, MASKED)
    sheet = load_workbook(io.BytesIO(out)).active
    assert sheet is not None
    assert list(sheet.iter_rows(min_row=2, values_only=True)) == [
        ("+*********5678", "*******5678", 42, "改约 https://t.example/me/…", 44690.13888888889)
    ]
    clean = io.BytesIO()
    Workbook().save(clean)
    assert redact_body(clean.getvalue(), XLSX, MASKED) == clean.getvalue()


def _app(tmp_path: Path) -> TestClient:
    app = FastAPI()
    file = tmp_path / "list.csv"
    file.write_text("13812345678\n" * 1000)

    @app.get("/gzipped")
    def gzipped() -> Response:
        return Response(
            gzip.compress(b'{"phone":"+8613812345678"}'),
            media_type="application/json",
            headers={"Content-Encoding": "gzip"},
        )

    @app.get("/file")
    def a_file() -> FileResponse:
        return FileResponse(file, media_type="text/csv")

    @app.get("/xlsx")
    def broken_xlsx() -> Response:
        return Response(b"13812345678 not a zip", media_type=XLSX)

    @app.get("/pdf")
    def unknown_type() -> Response:
        return Response(b"%PDF 13812345678", media_type="application/pdf")

    @app.get("/png")
    def image() -> Response:
        return Response(b"\x89PNG 13812345678", media_type="image/png")

    @app.get("/me/{token}")
    def own_page(token: str) -> JSONResponse:
        return JSONResponse({"link": f"/me/{token}"})

    app.add_middleware(DisclosureGuard, policy=load_policy(CONFIG_DIR))
    return TestClient(app)


def test_what_cannot_be_read_is_withheld_and_ranges_get_the_whole(tmp_path: Path) -> None:
    client = _app(tmp_path)
    for url in ("/gzipped", "/xlsx", "/pdf"):
        r = client.get(url)
        assert r.status_code == 500 and b"1381234" not in r.content, url
    # nobody is signed in: masked; a byte range would bypass the check, so the whole body
    r = client.get("/file", headers={"Range": "bytes=0-11"})
    assert r.status_code == 200 and r.text == "*******5678\n" * 1000
    assert int(r.headers["content-length"]) == len(r.content)
    assert client.get("/png").content == b"\x89PNG 13812345678"  # an image is no text
    # the link's owner gets their own link back
    token = "1.YnsYoA.5jsj5nMb9p1uSEuC"
    assert client.get(f"/me/{token}").json() == {"link": f"/me/{token}"}
