"""A small round-robin TCP proxy: several web processes behind one loopback address.

Used by the load test to spread clients over web processes the way a Kubernetes Service
or an ingress would; each accepted connection is piped to the next backend port.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Sequence


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


class RoundRobinProxy:
    def __init__(self, backend_ports: Sequence[int], *, host: str = "127.0.0.1") -> None:
        if not backend_ports:
            raise ValueError("a proxy needs at least one backend")
        self.host = host
        self._ports = itertools.cycle(backend_ports)
        self._server: asyncio.Server | None = None

    async def _handle(
        self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter
    ) -> None:
        try:
            backend_reader, backend_writer = await asyncio.open_connection(
                self.host, next(self._ports)
            )
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(
            _pipe(client_reader, backend_writer), _pipe(backend_reader, client_writer)
        )

    async def start(self, port: int = 0) -> int:
        self._server = await asyncio.start_server(self._handle, self.host, port)
        return int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
