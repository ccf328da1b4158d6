"""Django's database sessions without the lookup before each new key, and without writing a
new session's row twice.

The stock store reads the table for every new session to make sure its random key is unused,
then inserts it with `force_insert`, which fails on a taken key anyway (and `create` then
draws another). With 190 random bits per key that read never finds one; it was a sixth of
the web process's Python time while customers opened chats (py-spy, `loadtest --idle`).

A view that needs the key of a first visit saves the session to get one, which marks it
modified, and SessionMiddleware then writes the same data again on the way out: an UPDATE
per new customer that changes nothing. That save is skipped when the data is what the row
already holds; the cookie is set all the same.
"""

from __future__ import annotations

from django.contrib.sessions.backends.base import VALID_KEY_CHARS
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.utils.crypto import get_random_string


class SessionStore(DatabaseSessionStore):
    _inserted: bytes | None = None  # the data a row created here holds, until it is saved again

    def _get_new_session_key(self) -> str:
        # A taken key still cannot be reused: create() inserts with force_insert and draws
        # again on the IntegrityError.
        return get_random_string(32, VALID_KEY_CHARS)

    async def _aget_new_session_key(self) -> str:
        return self._get_new_session_key()

    def create(self) -> None:
        super().create()
        self._inserted = self._serialized()

    def save(self, must_create: bool = False) -> None:
        if not must_create and self._inserted is not None and self._inserted == self._serialized():
            return
        self._inserted = None
        super().save(must_create=must_create)

    def _serialized(self) -> bytes:
        # Serialized, not copied: a value changed in place must not compare as unchanged.
        return self.serializer().dumps(self._get_session(no_load=True))
