"""Sends a manual's status to its channel-layer group, from web processes and workers alike.

With Redis, each send uses a fresh layer and closes its pools before returning: a Celery
worker has no event loop of its own, and a layer kept across `async_to_sync` calls would hold
connections bound to loops that no longer exist. Status changes are few (a handful per
fetch), so the extra connection is cheap. The in-memory layer only reaches this process, so
there the shared instance is the one consumers listen on.
"""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import DEFAULT_CHANNEL_LAYER, InMemoryChannelLayer, channel_layers

logger = logging.getLogger(__name__)


def group_send(group: str, message: dict[str, Any]) -> None:
    """Deliver `message` to `group`; a broken channel layer is logged, never raised."""
    try:
        async_to_sync(_send)(group, message)
    except Exception:
        logger.warning("could not publish %s to %s", message.get("type"), group, exc_info=True)


async def _send(group: str, message: dict[str, Any]) -> None:
    shared = channel_layers[DEFAULT_CHANNEL_LAYER]
    if isinstance(shared, InMemoryChannelLayer):
        await shared.group_send(group, message)
        return
    layer = channel_layers.make_backend(DEFAULT_CHANNEL_LAYER)
    try:
        await layer.group_send(group, message)
    finally:
        close = getattr(layer, "close_pools", None)
        if close is not None:
            await close()
