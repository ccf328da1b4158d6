"""The Redis channel layer, on a connection pool that waits for a free connection.

redis-py's asyncio pool holds at most `max_connections` (100 by default) and raises
`MaxConnectionsError` at once when all are in use. A web process whose loop is busy leaves
many commands in flight, each holding a connection until the loop reads its reply: opening
2,000 chat sockets at 150 a second made 1,216 of them fail to join their live-support group.
`BlockingConnectionPool` makes a burst wait for a connection (at most `timeout` seconds)
instead, and a command fails only if Redis really does not answer.
"""

from __future__ import annotations

from typing import Any

from channels_redis.core import RedisChannelLayer as ChannelsRedisLayer
from redis.asyncio import BlockingConnectionPool


class RedisChannelLayer(ChannelsRedisLayer):
    def create_pool(self, index: int) -> Any:
        host = dict(self.hosts[index])
        return BlockingConnectionPool.from_url(host.pop("address"), **host)
