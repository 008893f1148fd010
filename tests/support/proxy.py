"""A TCP proxy in a background thread, so a test can cut the service's connections to PostgreSQL or the broker
without stopping the shared server (or losing the in-memory broker's data)."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import Future


class TcpProxy:
    """Listens on 127.0.0.1:`listen_port` and forwards to a TCP (host, port) or a Unix socket path."""

    def __init__(self, listen_port: int, *, target_host: str | None = None, target_port: int | None = None,
                 target_unix: str | None = None) -> None:
        self.listen_port = listen_port
        self.target_host, self.target_port, self.target_unix = target_host, target_port, target_unix
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=f"proxy-{listen_port}", daemon=True)
        self._server: asyncio.AbstractServer | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._cut = False
        self.connections = 0

    # -- control (called from the test thread) --

    def start(self) -> TcpProxy:
        self._thread.start()
        self._call(self._start())
        return self

    def stop(self) -> None:
        self._call(self._stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    def cut(self) -> None:
        """Drop every open connection and refuse new ones until `restore()`."""
        self._call(self._set_cut(True))

    def restore(self) -> None:
        self._call(self._set_cut(False))

    @property
    def is_cut(self) -> bool:
        return self._cut

    def _call(self, coro) -> object:
        fut: Future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        return fut.result(timeout=10)

    # -- the proxy itself (on its own loop) --

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.listen_port)

    async def _stop(self) -> None:
        await self._set_cut(True)
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _set_cut(self, cut: bool) -> None:
        self._cut = cut
        if cut:
            for writer in list(self._writers):
                writer.transport.abort()
            self._writers.clear()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._cut:
            writer.transport.abort()
            return
        try:
            if self.target_unix:
                up_reader, up_writer = await asyncio.open_unix_connection(self.target_unix)
            else:
                up_reader, up_writer = await asyncio.open_connection(self.target_host, self.target_port)
        except OSError:
            writer.transport.abort()
            return
        self.connections += 1
        self._writers.update((writer, up_writer))

        async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while not self._cut:
                    data = await src.read(65536)
                    if not data:
                        break
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError, asyncio.CancelledError):
                pass
            finally:
                dst.transport.abort() if self._cut else dst.close()

        await asyncio.gather(pump(reader, up_writer), pump(up_reader, writer))
        self._writers.discard(writer)
        self._writers.discard(up_writer)
