"""What a response may disclose: the one place personal numbers are masked and links are cut.

Every response of the web app passes through :class:`DisclosureGuard`, an ASGI middleware, on
its way out. Pages, exports and API calls build their rows with the numbers in full; the guard
then rewrites the finished body for its reader:

- a reader whose role is in ``privacy.mask_for_roles`` (and anyone not signed in) gets every
  phone number and resident ID number masked to its last ``privacy.keep_digits`` characters;
- every reader gets the token of every personal link (``/me/<token>``) cut out: whoever holds a
  token can act as its person.

Doing it here rather than where rows are built means a page, an export or an API call added
later cannot forget it. Phones are stored in E.164, which the pattern always recognises;
HTML, CSV and plain text are rewritten as text, JSON string by string (a number is never
touched), and an .xlsx workbook cell by cell. Only the link's owner is exempt: ``/me/...``
pages and the TwiML replies sent to a person's phone carry their own link.
"""

from __future__ import annotations

import io
import json
import logging
import re
import zipfile
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

from testrota.auth.users import UserInfo
from testrota.policy import Policy
from testrota.privacy.masking import (
    Masker,
    mask_personal_numbers,
    masker_for_policy,
    redact_personal_links,
)

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_TEXT_TYPES = ("text/html", "text/csv", "text/plain")
# The link's owner (the personal page and the texts Twilio relays to them), Prometheus' figures
# and the static files: nothing about anyone else, and rewriting would break them.
EXEMPT_PREFIXES = ("/me/", "/twilio/", "/static/", "/metrics")


@dataclass(frozen=True)
class Reader:
    """Who a response is for: how they see personal numbers. Links are cut for everyone."""

    masker: Masker

    def text(self, value: str) -> str:
        value = redact_personal_links(value)
        if self.masker.masked:
            value = mask_personal_numbers(value, self.masker.keep)
        return value


def reader_for(user: UserInfo | None, policy: Policy) -> Reader:
    """The reader of a response: a signed-in user, or nobody (masked, like the strictest role)."""
    return Reader(masker_for_policy(user.role if user is not None else None, policy))


# --- bodies (pure) --------------------------------------------------------------------------------


def redact_body(body: bytes, content_type: str, reader: Reader) -> bytes:
    """``body`` of ``content_type`` as ``reader`` may see it (unchanged when nothing shows)."""
    kind = content_type.split(";")[0].strip().lower()
    if kind == XLSX:
        return _redact_xlsx(body, reader)
    text = body.decode("utf-8", errors="surrogateescape")
    if kind == "application/json" or kind.endswith("+json"):
        out = _redact_json(text, reader)
    else:
        out = reader.text(text)
    return body if out == text else out.encode("utf-8", errors="surrogateescape")


def _redact_json(text: str, reader: Reader) -> str:
    if "\\" not in text:
        # Fast path: the whole document as text. Without escapes a string's characters are
        # the text's own, so this is exact for strings; it is wrong only when it took a
        # number (a rate, a count) for a phone, and then the result is no longer JSON.
        out = reader.text(text)
        if out == text:
            return text
        try:
            json.loads(out)
        except ValueError:
            pass
        else:
            return out
    try:
        data = json.loads(text)
    except ValueError:
        return reader.text(text)
    changed = False

    def walk(value: Any) -> Any:
        nonlocal changed
        if isinstance(value, str):
            out = reader.text(value)
            changed = changed or out != value
            return out
        if isinstance(value, list):
            return [walk(v) for v in value]
        if isinstance(value, dict):
            return {k: walk(v) for k, v in value.items()}
        return value  # numbers stay numbers: 0.13812345678 is a rate, not a phone

    redacted = walk(data)
    if not changed:
        return text
    return json.dumps(redacted, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


# A cell's value: a number, a date as a number, an index into the shared strings.
_VALUE = re.compile(r"(<v>[^<]*</v>)")
# A whole number long enough to be a phone typed as a number.
_LONG_NUMBER_CELL = re.compile(r'<c((?:\s+[\w:]+="[^"]*")*)\s*><v>(\d{7,})</v></c>')
_LONG_NUMBER = re.compile(r"<v>\d{7,}</v>")
_TYPE_ATTRIBUTE = re.compile(r'\s+t="[^"]*"')
_SEPARATOR = "\x00"  # never in XML, and not part of any number


def _redact_xml(xml: str, reader: Reader) -> str:
    if not reader.masker.masked:
        return reader.text(xml)  # links only, and no link is ever a number

    def number(m: re.Match[str]) -> str:
        shown = reader.text(m.group(2))
        if shown == m.group(2):
            return m.group(0)
        attributes = _TYPE_ATTRIBUTE.sub("", m.group(1))
        return f'<c{attributes} t="inlineStr"><is><t>{shown}</t></is></c>'

    if _LONG_NUMBER.search(xml):
        xml = _LONG_NUMBER_CELL.sub(number, xml)
    # Everything but the values as one text, so a value is never read as part of a number
    # (0.13888888889, a time of day, is not a phone); one call for the whole sheet.
    parts = _VALUE.split(xml)
    parts[0::2] = reader.text(_SEPARATOR.join(parts[0::2])).split(_SEPARATOR)
    return "".join(parts)


def _redact_xlsx(body: bytes, reader: Reader) -> bytes:
    # BadZipFile (or a part that is not UTF-8): the guard withholds the body
    with zipfile.ZipFile(io.BytesIO(body)) as source:
        parts = [(info, source.read(info)) for info in source.infolist()]
    redacted: dict[str, bytes] = {}
    for info, data in parts:
        if info.filename.endswith(".xml"):
            xml = data.decode("utf-8")
            shown = _redact_xml(xml, reader)
            if shown != xml:
                redacted[info.filename] = shown.encode("utf-8")
    if not redacted:
        return body
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info, data in parts:
            target.writestr(info, redacted.get(info.filename, data))
    return out.getvalue()


def _guarded(content_type: str) -> bool:
    kind = content_type.split(";")[0].strip().lower()
    return (
        kind in _TEXT_TYPES or kind == XLSX or kind == "application/json" or kind.endswith("+json")
    )


def _raster_pdf(content_type: str, body: bytes) -> bool:
    """A PDF with no font anywhere (Pillow's, drawn as images) cannot show a number as text.

    Font resources are dictionaries in the file's clear text (no object streams in such a
    file), so one that has any is read as a PDF that needs teaching, and withheld."""
    kind = content_type.split(";")[0].strip().lower()
    return (
        kind == "application/pdf"
        and body.startswith(b"%PDF-")
        and b"/Font" not in body
        and b"/ObjStm" not in body
    )


def _opaque(content_type: str) -> bool:
    """Types that cannot carry a number as text: passed on as they are."""
    return content_type.split(";")[0].strip().lower().startswith(("image/", "font/"))


# --- the middleware -------------------------------------------------------------------------------


class DisclosureGuard:
    """Rewrites every guarded response for its reader (see the module's docstring).

    The reader is the user the request's dependencies signed in (``request.state.user``),
    known once the response starts; a request nobody signed in to is read as "nobody".
    """

    def __init__(self, app: ASGIApp, policy: Policy) -> None:
        self.app = app
        self.policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(EXEMPT_PREFIXES):
            await self.app(scope, receive, send)
            return
        # A byte range of a body cannot be checked, and a file handed to the server by path
        # would bypass this: whole bodies only.
        scope["headers"] = [(k, v) for k, v in scope["headers"] if k.lower() != b"range"]
        extensions = scope.get("extensions") or {}
        if "http.response.pathsend" in extensions:
            scope["extensions"] = {
                k: v for k, v in extensions.items() if k != "http.response.pathsend"
            }
        state = scope.setdefault("state", {})
        start: Message | None = None
        chunks: list[bytes] = []

        async def guarded_send(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                headers = dict((k.lower(), v) for k, v in message.get("headers", []))
                content_type = headers.get(b"content-type", b"").decode("latin-1")
                if _opaque(content_type):
                    await send(message)
                    return
                start = message  # read whole; a type it cannot read is withheld
                return
            if start is None or message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            await self._send_whole(start, b"".join(chunks), state, send)

        await self.app(scope, receive, guarded_send)

    async def _send_whole(
        self, start: Message, body: bytes, state: MutableMapping[str, Any], send: Send
    ) -> None:
        headers = [(k, v) for k, v in start.get("headers", [])]
        content_type = next(
            (v.decode("latin-1") for k, v in headers if k.lower() == b"content-type"), ""
        )
        encoding = next((v for k, v in headers if k.lower() == b"content-encoding"), b"")
        if not body:  # HEAD, a redirect: nothing to read, and the length is the GET's
            await send(start)
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        user = state.get("user")
        reader = reader_for(user if isinstance(user, UserInfo) else None, self.policy)
        status = int(start["status"])
        problem = None
        if encoding not in (b"", b"identity"):
            problem = f"{encoding.decode('latin-1')}-encoded"
        elif _raster_pdf(content_type, body):
            pass  # pages that are pictures only: no text to carry a number (badge sheets)
        elif not _guarded(content_type):
            problem = "of a type the guard cannot read (teach testrota.web.disclosure)"
        else:
            try:
                body = redact_body(body, content_type, reader)
            except (zipfile.BadZipFile, UnicodeDecodeError, ValueError) as exc:
                problem = f"unreadable ({exc})"
        if problem is not None:
            # A body the guard cannot read is withheld rather than passed on unread.
            log.error("a %s response was %s: withheld", content_type, problem)
            status, body = 500, b""
            headers = [(b"content-type", b"text/plain; charset=utf-8")]
        headers = [(k, v) for k, v in headers if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode("latin-1")))
        await send({**start, "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body, "more_body": False})
