"""Request guards that act before the application reads a body: size and time.

``BodyGuard`` is plain ASGI middleware, outermost, so it sees a request before
the web framework parses a byte of it:

* a ``Content-Length`` over the limit is answered 413 at once, without reading
  the body; a body without one (chunked) is counted as it arrives and stopped
  at the limit;
* every wait for the next piece of the body has a time limit, so a client that
  stalls mid-upload is answered 408 and its connection closed instead of being
  held open for ever.

Answers are JSON in the service's documented shape, ``{"error": "..."}``.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

Scope = dict[str, Any]
Message = dict[str, Any]


class BodyGuard:
    """Size and time limits on request bodies (see the module notes)."""

    def __init__(
        self,
        app: Any,
        *,
        max_bytes: int,
        read_timeout: float,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.read_timeout = read_timeout
        self.headers = [
            (name.lower().encode("latin-1"), value.encode("latin-1"))
            for name, value in (headers or {}).items()
        ]

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = _content_length(scope)
        if length is not None and length > self.max_bytes:
            await _answer(send, 413, self._too_large(), self.headers)
            return
        received = 0
        refusal: tuple[int, str] | None = None

        async def guarded_receive() -> Message:
            # On a refusal the application is told the client has gone, so it stops
            # reading; its own answer is then replaced by this one.
            nonlocal received, refusal
            if refusal is not None:
                return {"type": "http.disconnect"}
            try:
                message: Message = await asyncio.wait_for(receive(), self.read_timeout)
            except TimeoutError:
                refusal = (
                    408,
                    f"the upload stalled: nothing arrived for {self.read_timeout:g} seconds. "
                    "Send it again.",
                )
                return {"type": "http.disconnect"}
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    refusal = (413, self._too_large())
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if refusal is None:
                await send(message)

        try:
            await self.app(scope, guarded_receive, guarded_send)
        except Exception:
            if refusal is None:
                raise
        if refusal is not None:
            await _answer(send, *refusal, self.headers)

    def _too_large(self) -> str:
        return (
            f"the upload is larger than the {self.max_bytes // (1024 * 1024)} MB this service "
            "accepts. Keep only the columns the audit needs, save it as Parquet, or run "
            "`inclusion-audit audit` on your own computer."
        )


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _answer(send: Any, status: int, message: str, headers: list[tuple[bytes, bytes]]) -> None:
    body = json.dumps({"error": message}).encode("utf-8")
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
