"""A light HTTP/1.1 client for load generators: kept-alive connections on asyncio streams.

A load generator on the same 2 cores as the servers and the database must cost far less than
what it measures. httpx spends about a millisecond of CPU per request on its transport,
cookies and URL models; at 60 requests a second against four processes that was more CPU than
the servers used (README, "The morning peak"). This client writes the request line and headers
by hand, reads a response by its ``Content-Length`` (or chunks), keeps the connection for the
next request and carries one cookie header, which is all a signed-in benchmark user needs.
"""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode


class HttpError(Exception):
    """The connection failed or the answer was not HTTP: counted as an error, never retried."""


@dataclass
class Answer:
    status: int
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class _Conn:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter


@dataclass
class LightClient:
    """One user's connections to 127.0.0.1, by port, and their session cookie."""

    cookie: str = ""
    timeout: float = 30.0
    idle: dict[int, list[_Conn]] = field(default_factory=lambda: defaultdict(list))

    async def get(self, port: int, path: str, params: dict[str, str] | None = None) -> Answer:
        if params:
            path += "?" + urlencode(params)
        return await self.request(port, "GET", path)

    async def post_json(self, port: int, path: str, body: Any, csrf: str) -> Answer:
        data = json.dumps(body, ensure_ascii=False).encode()
        return await self.request(
            port,
            "POST",
            path,
            data,
            {"Content-Type": "application/json", "X-CSRF-Token": csrf},
        )

    async def request(
        self,
        port: int,
        method: str,
        path: str,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
    ) -> Answer:
        pool = self.idle[port]
        conn = pool.pop() if pool else None
        reused = conn is not None
        if conn is None:
            conn = await self._open(port)
        head = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Accept: */*"]
        if self.cookie:
            head.append(f"Cookie: {self.cookie}")
        for name, value in (headers or {}).items():
            head.append(f"{name}: {value}")
        if body or method != "GET":
            head.append(f"Content-Length: {len(body)}")
        raw = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body
        try:
            answer, keep = await asyncio.wait_for(self._exchange(conn, raw), self.timeout)
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as exc:
            conn.writer.close()
            if reused and isinstance(exc, (asyncio.IncompleteReadError, ConnectionError)):
                # The server closed a kept-alive connection as we reused it (its keep-alive
                # timeout): what a browser does too, send once more on a new connection.
                return await self.request(port, method, path, body, headers)
            raise HttpError(f"{type(exc).__name__}: {exc}") from exc
        if keep:
            pool.append(conn)
        else:
            conn.writer.close()
        return answer

    async def _open(self, port: int) -> _Conn:
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection("127.0.0.1", port), self.timeout
            )
        except (TimeoutError, OSError) as exc:
            raise HttpError(f"connect: {exc}") from exc
        return _Conn(reader, writer)

    async def _exchange(self, conn: _Conn, raw: bytes) -> tuple[Answer, bool]:
        conn.writer.write(raw)
        await conn.writer.drain()
        head = await conn.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        length = -1
        chunked = False
        keep = True
        for line in lines[1:]:
            name, _, value = line.partition(":")
            name = name.lower()
            value = value.strip()
            if name == "content-length":
                length = int(value)
            elif name == "transfer-encoding" and "chunked" in value.lower():
                chunked = True
            elif name == "connection" and value.lower() == "close":
                keep = False
            elif name == "set-cookie":
                self._take_cookie(value)
        if chunked:
            body = await self._chunks(conn.reader)
        elif length >= 0:
            body = await conn.reader.readexactly(length)
        else:
            body = await conn.reader.read()
            keep = False
        return Answer(status, body), keep

    @staticmethod
    async def _chunks(reader: asyncio.StreamReader) -> bytes:
        parts = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                return b"".join(parts)
            parts.append(await reader.readexactly(size))
            await reader.readexactly(2)

    def _take_cookie(self, header: str) -> None:
        pair = header.split(";", 1)[0].strip()
        name = pair.split("=", 1)[0]
        kept = [c for c in self.cookie.split("; ") if c and c.split("=", 1)[0] != name]
        self.cookie = "; ".join([*kept, pair])

    def close(self) -> None:
        for pool in self.idle.values():
            for conn in pool:
                conn.writer.close()
        self.idle.clear()
