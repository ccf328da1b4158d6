"""The chat socket: the consumer (chat.py), what typing moves (typing_focus.py), the tasks it
starts (tracked.py), and what it needs from Channels beyond the stock consumer (base.py)."""

from __future__ import annotations

from apps.sessions.consumers.chat import ChatConsumer

__all__ = ["ChatConsumer"]
