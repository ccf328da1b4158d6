"""The channel layer waits for a free Redis connection instead of failing a burst."""

from __future__ import annotations

import asyncio

import pytest
from channels_redis.core import RedisChannelLayer as ChannelsRedisLayer
from redis.exceptions import MaxConnectionsError

from apps.devtools.processes import RedisServer
from hscjit.channel_layers import RedisChannelLayer


async def _join_all(layer: ChannelsRedisLayer, count: int) -> None:
    try:
        await asyncio.gather(*(layer.group_add(f"chat.{n}", f"test.{n}") for n in range(count)))
    finally:
        await layer.close_pools()


def _layer(cls: type[ChannelsRedisLayer], url: str, **pool: int) -> ChannelsRedisLayer:
    return cls(hosts=[{"address": url, "max_connections": 2, **pool}])


async def test_a_burst_past_the_pool_waits_for_connections(private_redis: RedisServer) -> None:
    await _join_all(_layer(RedisChannelLayer, private_redis.url, timeout=5), 40)
    layer = _layer(RedisChannelLayer, private_redis.url, timeout=5)
    try:
        for n in range(40):
            await layer.group_send(f"chat.{n}", {"type": "test.joined", "n": n})
            assert await layer.receive(f"test.{n}") == {"type": "test.joined", "n": n}
    finally:
        await layer.close_pools()


async def test_channels_redis_own_pool_fails_the_same_burst(private_redis: RedisServer) -> None:
    # What the layer above is for: the library's pool raises instead of waiting.
    with pytest.raises(MaxConnectionsError):
        await _join_all(_layer(ChannelsRedisLayer, private_redis.url), 40)
