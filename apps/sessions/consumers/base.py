"""What the chat socket needs from Channels beyond the stock consumer.

Its frames are read without a task each, its reads of the channel layer survive an outage of
Redis, its frames skip the one thread all sockets share, its cleanup runs however the consumer
ends, and its closes carry the code the protocol promises (or at least close).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from channels.consumer import get_handler_name
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import get_channel_layer
from redis.exceptions import RedisError

from hscjit.logging_context import log_context

logger = logging.getLogger(__name__)

# What the Redis channel layer raises while Redis is away (redis-py's errors are not OSErrors).
LAYER_ERRORS: tuple[type[BaseException], ...] = (OSError, RedisError)
LAYER_RETRY_FIRST = 0.5
LAYER_RETRY_MAX = 5.0


class SocketConsumer(AsyncWebsocketConsumer):
    """Subclasses say what to clean up (`clean_up`, idempotent) and what to log with."""

    _closing = False

    async def clean_up(self) -> None:
        raise NotImplementedError

    def log_fields(self) -> dict[str, object]:
        raise NotImplementedError

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Every record logged while handling this socket's events (and in the tasks they
        # start, which copy the context) carries the socket's fields.
        with log_context(**self.log_fields()):
            # Channels' own dispatch first closes stale database connections on the one
            # thread all sockets share, a thread hop per frame: under a flood of frames every
            # socket's next frame queues there. These sockets' database work runs on_pool,
            # which hands each connection back after its call: there is nothing to close.
            handler = getattr(self, get_handler_name(message), None)
            if handler is None:
                raise ValueError(f"No handler for message type {message['type']}")
            await handler(message)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        # disconnect() is skipped when daphne cancels a consumer whose disconnect waits behind
        # queued frames, or when the channel layer fails: the cleanup runs however it ends.
        try:
            await self._serve(scope, receive, send)
        finally:
            await asyncio.shield(self.clean_up())

    async def _serve(self, scope: Any, receive: Any, send: Any) -> None:
        """Channels' consumer, with its dispatch loop replaced.

        Channels waits for the socket and the channel layer together by making a task per
        message and waiting on both: three passes of the event loop from a frame to its handler,
        each behind every other socket's work in that pass. Here each source has one reader for
        the socket's life; a frame reaches its handler in the pass after daphne queues it, and
        frames queued meanwhile are handled in that same pass (latest wins for all of them).
        Handlers still run one at a time, as Channels promises: the readers share a lock.
        """
        self.scope = scope
        self.base_send = send
        self.channel_layer = get_channel_layer(self.channel_layer_alias)
        self._dispatching = asyncio.Lock()
        # Daphne hands each socket its frames through an asyncio.Queue's `get`.
        queue = getattr(receive, "__self__", None)
        self._socket_queue = queue if isinstance(queue, asyncio.Queue) else None
        sources = [receive]
        if self.channel_layer is not None:
            self.channel_name = await self.channel_layer.new_channel()
            self.channel_receive = functools.partial(self.channel_layer.receive, self.channel_name)
            sources.append(self.channel_receive)
        readers = [asyncio.ensure_future(self._read(source)) for source in sources]
        try:
            done, _ = await asyncio.wait(readers, return_when=asyncio.FIRST_COMPLETED)
            for reader in done:
                reader.result()  # the handler's error, or StopConsumer
        except StopConsumer:
            pass
        finally:
            for reader in readers:
                reader.cancel()
            await asyncio.gather(*readers, return_exceptions=True)

    async def _read(self, receive: Callable[[], Awaitable[dict[str, Any]]]) -> None:
        while True:
            # A queued message is returned without a pass of the loop.
            message = await receive()
            async with self._dispatching:
                await self.dispatch(message)

    def frames_queued(self) -> bool:
        """Whether frames of this socket wait behind the one being handled (unknown: no)."""
        return self._socket_queue is not None and not self._socket_queue.empty()

    async def disconnect(self, code: int) -> None:
        await self.clean_up()

    # Channels reads the channel layer through `channel_receive`; through this wrapper an
    # outage of the layer (Redis) no longer ends the consumer: the socket stays open for what
    # needs no Redis (typing, answers from ready manuals) while reads are retried.
    @property
    def channel_receive(self) -> Callable[[], Awaitable[dict[str, Any]]]:
        return self._receive_from_layer

    @channel_receive.setter
    def channel_receive(self, receive: Callable[[], Awaitable[dict[str, Any]]]) -> None:
        self._layer_receive = receive

    async def _receive_from_layer(self) -> dict[str, Any]:
        pause = LAYER_RETRY_FIRST
        lost = False
        while True:
            try:
                if lost:
                    # A restarted Redis has forgotten this socket's groups: join them again
                    # before reading, or pushes and agents' replies would never reach it.
                    for group in self.layer_groups():
                        await self.channel_layer.group_add(group, self.channel_name)
                    lost = False
                return await self._layer_receive()
            except LAYER_ERRORS as error:
                lost = True
                logger.warning("channel layer unavailable, retrying in %.1f s: %r", pause, error)
                await asyncio.sleep(pause)
                pause = min(LAYER_RETRY_MAX, pause * 2)

    def layer_groups(self) -> list[str]:
        """The channel-layer groups this socket is in now (joined again after an outage)."""
        return []

    async def close_with(self, code: int) -> None:
        """Close with `code`; frames that arrive meanwhile are to be ignored (`_closing`)."""
        self._closing = True
        try:
            await self.close(code=code)
        except Exception:
            # Autobahn refuses 1009 from an application: daphne should have refused the frame
            # itself (--websocket-max-message-size). The socket must not stay open regardless.
            logger.warning("the server refused close code %s; closing with 1000", code)
            await self.close(code=1000)
