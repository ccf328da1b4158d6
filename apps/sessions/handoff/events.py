"""The channel-layer groups of live support and the events services hand back to publish.

Services write to the database and return the events that tell other processes about it; the
caller publishes them once the write has committed: a consumer with its own channel layer
(`apublish`), anything else after the transaction (`publish_after_commit`). An event lost to a
Redis outage loses nothing: every socket reads the database again when it reconnects.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

from apps.manuals.broadcast import group_send
from hscjit.background import after_commit

logger = logging.getLogger(__name__)

QUEUE_GROUP = "support.queue"


def chat_group(session_id: uuid.UUID | str) -> str:
    """Every customer socket of one chat session (several tabs, several processes)."""
    return f"chat.session.{uuid.UUID(str(session_id)).hex}"


def conversation_group(session_id: uuid.UUID | str) -> str:
    """Every staff console that has this conversation open."""
    return f"support.conversation.{uuid.UUID(str(session_id)).hex}"


@dataclass(frozen=True)
class Event:
    group: str
    message: dict[str, Any]


async def apublish(layer: Any, events: list[Event]) -> None:
    for event in events:
        try:
            await layer.group_send(event.group, event.message)
        except Exception:
            logger.warning("could not publish %s to %s", event.message["type"], event.group)


def publish_after_commit(events: list[Event]) -> None:
    def send() -> None:
        for event in events:
            group_send(event.group, event.message)

    after_commit(send)
