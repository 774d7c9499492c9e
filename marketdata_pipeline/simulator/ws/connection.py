"""One client connection: its streams, and an ordered outbox that can delay every message."""

from __future__ import annotations

import asyncio
import contextlib

from aiohttp import web


class Connection:
    """Messages leave in the order queued, each no earlier than its due time (the
    ``ws_delay_ms`` fault); a queued close frame goes out after what was queued before it."""

    def __init__(self, ws: web.WebSocketResponse, request: web.Request, combined: bool) -> None:
        self.ws, self.transport, self.combined = ws, request.transport, combined
        self.streams: list[str] = []
        self.opened_ms = 0
        self.cause = "client"
        """Why the connection ended; the hub sets it before closing the connection itself."""
        self._loop = asyncio.get_running_loop()
        self._outbox: asyncio.Queue[tuple[float, str | None, int]] = asyncio.Queue()
        self._closing = False
        self._writer = asyncio.create_task(self._write())

    def send(self, text: str, delay_s: float, stream: str | None = None) -> None:
        """Queue an answer (``stream`` None) or a stream event (wrapped on ``/stream``)."""
        if stream is not None and self.combined:
            text = f'{{"stream":"{stream}","data":{text}}}'
        self._outbox.put_nowait((self._loop.time() + delay_s, text, 0))

    def close_after_queued(self, code: int, cause: str, delay_s: float) -> None:
        self.cause = cause
        self._outbox.put_nowait((self._loop.time() + delay_s, None, code))

    def drop(self, cause: str) -> None:
        """Cut the TCP connection without a close frame: the client sees 1006."""
        self.cause = cause
        if self.transport is not None:
            self.transport.close()

    async def _write(self) -> None:
        while True:
            due, text, code = await self._outbox.get()
            wait = due - self._loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            try:
                if text is None:
                    self._closing = True
                    await self.ws.close(code=code)
                    return
                await self.ws.send_str(text)
            except (ConnectionError, RuntimeError):
                return  # closed under us; the handler records the disconnect

    async def finish(self) -> None:
        """Stop writing; a close handshake under way is left to finish."""
        if not self._closing:
            self._writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._writer
