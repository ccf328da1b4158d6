"""Django's database sessions without the lookup before each new key.

The stock store reads the table for every new session to make sure its random key is unused,
then inserts it with `force_insert`, which fails on a taken key anyway (and `create` then
draws another). With 190 random bits per key that read never finds one; it was a sixth of
the web process's Python time while customers opened chats (py-spy, `loadtest --idle`).
"""

from __future__ import annotations

from django.contrib.sessions.backends.base import VALID_KEY_CHARS
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.utils.crypto import get_random_string


class SessionStore(DatabaseSessionStore):
    def _get_new_session_key(self) -> str:
        # A taken key still cannot be reused: create() inserts with force_insert and draws
        # again on the IntegrityError.
        return get_random_string(32, VALID_KEY_CHARS)

    async def _aget_new_session_key(self) -> str:
        return self._get_new_session_key()
