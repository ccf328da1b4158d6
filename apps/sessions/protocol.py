"""The chat protocol (PROTOCOL.md, docs/protocol.md): reading client messages, building server ones.

Each reader returns the message's fields, typed, or raises `ProtocolError` with the code
and a sentence the client can show; the consumer turns that into an `error` message. Every
message the chat socket sends is built by one of the builders at the end of this module, so
its shape is written down once, whichever module sends it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

MAX_REF = 64
MAX_TYPING = 1000
MAX_QUESTION = 4000
MAX_COMMENT = 2000
MAX_PRODUCT_ID = 200

ERROR_CODES = frozenset(
    {
        "bad_json",
        "bad_frame",
        "unknown_type",
        "invalid",
        "too_large",
        "rate_limited",
        "not_found",
        "unavailable",
        "internal",
    }
)
CLIENT_TYPES = frozenset(
    # Version 1.1 adds the live-support messages (docs/protocol.md).
    {"typing", "select", "ask", "feedback", "ping", "handoff_request", "contact", "handoff_cancel"}
)
# `\ud800` to `\udfff`: half of a surrogate pair, spelled as a JSON escape.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89abcdefABCDEF]")


class ProtocolError(Exception):
    """A message the server cannot act on; `ref` is set once the message's ref was read."""

    def __init__(self, code: str, message: str, ref: str | None = None) -> None:
        assert code in ERROR_CODES, code
        super().__init__(message)
        self.code = code
        self.message = message
        self.ref = ref


@dataclass(frozen=True, slots=True)
class Envelope:
    type: str
    ref: str | None
    body: dict[str, Any]


def parse_frame(text: str | None) -> Envelope:
    """The message in one text frame; its `ref` is checked before anything else can fail."""
    if not text:
        raise ProtocolError("bad_frame", "Send one JSON object per text frame.")
    try:
        body = json.loads(text)
    except (ValueError, RecursionError):
        # RecursionError: arrays or objects nested deeper than Python's recursion limit.
        raise ProtocolError("bad_json", "That frame is not valid JSON.") from None
    if not _encodable(text, body):
        raise ProtocolError("bad_json", "Text must be valid Unicode (no lone surrogates).")
    if not isinstance(body, dict):
        raise ProtocolError("bad_json", "A message must be a JSON object.")
    ref = body.get("ref")
    if ref is not None and (not isinstance(ref, str) or len(ref) > MAX_REF):
        raise ProtocolError("invalid", f"`ref` must be a string of at most {MAX_REF} characters.")
    kind = body.get("type")
    if not isinstance(kind, str):
        raise ProtocolError("invalid", "Every message needs a string `type`.", ref)
    if kind not in CLIENT_TYPES:
        raise ProtocolError("unknown_type", f"Unknown message type {kind[:40]!r}.", ref)
    return Envelope(type=kind, ref=ref, body=body)


def _encodable(text: str, body: Any) -> bool:
    """Whether the message's strings can go back out as UTF-8.

    A frame arrives as valid UTF-8, but a JSON escape can still spell a lone surrogate
    (`"\\ud800"`): Python decodes it and then cannot encode it, so echoing it in a reply (a
    `ref`, a typed text) would break the send. Only frames that contain such an escape, or
    that are not plain ASCII, pay for the check.
    """
    try:
        if not text.isascii():
            text.encode("utf-8")
        if _SURROGATE_ESCAPE.search(text):
            json.dumps(body, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def text_field(body: dict[str, Any], name: str, *, maximum: int, minimum: int = 0) -> str:
    value = body.get(name)
    if not isinstance(value, str):
        raise ProtocolError("invalid", f"`{name}` must be a string.")
    if len(value) > maximum:
        raise ProtocolError("too_large", f"`{name}` may be at most {maximum} characters long.")
    if len(value.strip()) < minimum:
        raise ProtocolError("invalid", f"`{name}` must not be empty.")
    # PostgreSQL cannot store NUL in text, and no one types it (Django's forms refuse it too).
    if "\x00" in value:
        raise ProtocolError("invalid", f"`{name}` must not contain NUL characters.")
    return value


def optional_text_field(body: dict[str, Any], name: str, *, maximum: int) -> str | None:
    if body.get(name) is None:
        return None
    return text_field(body, name, maximum=maximum)


_LANGUAGE_TAG = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*$")
MAX_LANG = 35


def lang_field(body: dict[str, Any]) -> str | None:
    """The optional `lang` of `ask` (protocol 1.1): a language tag such as "he" or "en-US",
    returned as its primary subtag in lower case; a language we do not serve is kept too
    (the answer then falls back to the question's own language)."""
    value = body.get("lang")
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > MAX_LANG or not _LANGUAGE_TAG.match(value):
        raise ProtocolError("invalid", '`lang` must be a language tag such as "he" or "en".')
    return value.split("-", 1)[0].lower()


def message_id_field(body: dict[str, Any]) -> int:
    value = body.get("message_id")
    # bool is an int in Python; `true` is not a message id.
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ProtocolError("invalid", "`message_id` must be a positive integer.")
    return value


def rating_field(body: dict[str, Any]) -> int:
    value = body.get("rating")
    if isinstance(value, bool) or value not in (1, -1):
        raise ProtocolError("invalid", "`rating` must be 1 or -1.")
    return int(value)


# --- server messages ------------------------------------------------------------------------

Outgoing = dict[str, Any]
# A product card (apps.manuals.selectors.card_with_documents, or the typing path's cards).
Card = dict[str, Any]


class Scored(Protocol):
    """A candidate of the prediction index."""

    pk: int
    confidence: float
    confident: bool


def with_ref(message: Outgoing, ref: str | None) -> Outgoing:
    """A message built without a `ref` (groups carry it too), with the `ref` of the client
    message it answers, or None when nothing asked for it."""
    return {**message, "ref": ref}


def error(*, ref: str | None, code: str, message: str) -> Outgoing:
    return {"type": "error", "ref": ref, "code": code, "message": message}


def pong(*, ref: str | None) -> Outgoing:
    return {"type": "pong", "ref": ref}


def prediction(
    *,
    ref: str | None,
    text: str,
    candidates: Iterable[Scored],
    cards: Mapping[int, Card],
    took_ms: float,
) -> Outgoing:
    """The candidates in their order; one without a card (not in the catalog) is left out."""
    return {
        "type": "prediction",
        "ref": ref,
        "text": text,
        "candidates": [
            {"product": cards[c.pk], "confidence": c.confidence, "confident": c.confident}
            for c in candidates
            if c.pk in cards
        ],
        "took_ms": took_ms,
    }


def prediction_text(
    *,
    ref: str | None,
    text: str,
    candidates: Iterable[Scored],
    cards: Mapping[int, str],
    took_ms: float,
) -> str:
    """`prediction` as the frame it is sent as, from cards already encoded (`cards` holds
    their JSON text): the same text `json.dumps(prediction(...), ensure_ascii=False)` gives."""
    listed = ", ".join(
        f'{{"product": {cards[c.pk]}, "confidence": {float(c.confidence)!r}, '
        f'"confident": {"true" if c.confident else "false"}}}'
        for c in candidates
        if c.pk in cards
    )
    quoted_ref = "null" if ref is None else _quoted(ref)
    return (
        f'{{"type": "prediction", "ref": {quoted_ref}, "text": {_quoted(text)}, '
        f'"candidates": [{listed}], "took_ms": {float(took_ms)!r}}}'
    )


# One encoder for the strings of a prediction frame: `json.dumps` with an option builds a new
# encoder on every call, which cost more than the rest of the frame.
_quoted = json.JSONEncoder(ensure_ascii=False).encode


def selected(*, ref: str | None, product: Card) -> Outgoing:
    return {"type": "selected", "ref": ref, "product": product}


def manual_status(status: Mapping[str, Any], *, product_id: str | None) -> Outgoing:
    """`status` has the fields of apps.manuals.selectors.manual_status_payload, as a
    `manual.status` group event carries them."""
    return {
        "type": "manual_status",
        "manual_id": status.get("manual_id"),
        "product_id": product_id,
        "status": status.get("status"),
        "progress": status.get("progress"),
        "pages": status.get("pages"),
        "error": status.get("error"),
    }


def feedback_saved(*, ref: str | None, message_id: int) -> Outgoing:
    return {"type": "feedback_saved", "ref": ref, "message_id": message_id}


def answer_start(*, ref: str | None, question_id: int, product: Card | None) -> Outgoing:
    return {"type": "answer_start", "ref": ref, "question_id": question_id, "product": product}


def answer_delta(*, ref: str | None, text: str) -> Outgoing:
    return {"type": "answer_delta", "ref": ref, "text": text}


def answer_end(
    *,
    ref: str | None,
    message_id: int | None,
    text: str,
    state: str,
    citations: list[dict[str, Any]],
    engine: str,
    first_delta_ms: int,
    total_ms: int,
    lang: str | None = None,
) -> Outgoing:
    """`lang` (1.1) is the answer's language; an answer a person takes has none."""
    message = {
        "type": "answer_end",
        "ref": ref,
        "message_id": message_id,
        "text": text,
        "state": state,
        "citations": citations,
        "engine": engine,
        "took_ms": {"first_delta": first_delta_ms, "total": total_ms},
    }
    if lang is not None:
        message["lang"] = lang
    return message


def handoff_state(
    *,
    handoff_id: int,
    state: str,
    reason: str,
    text: str,
    wait_minutes: int | None,
    position: int | None,
    agent_name: str | None,
    open_now: bool,
    agents_available: bool,
    opens_at: datetime | None,
    needs_contact: bool,
    contact_saved: bool,
) -> Outgoing:
    """Pushed to every tab of the chat, so built without a `ref` (see `with_ref`)."""
    return {
        "type": "handoff_state",
        "handoff_id": handoff_id,
        "state": state,
        "reason": reason,
        "text": text,
        "wait_minutes": wait_minutes,
        "position": position,
        "agent": {"name": agent_name} if agent_name is not None else None,
        "open_now": open_now,
        "agents_available": agents_available,
        "opens_at": opens_at.isoformat() if opens_at else None,
        "needs_contact": needs_contact,
        "contact_saved": contact_saved,
    }


def handoff_offer(
    *,
    reason: str,
    text: str,
    open_now: bool,
    agents_available: bool,
    wait_minutes: int | None,
    opens_at: datetime | None,
) -> Outgoing:
    """Sent after the message it follows, with that message's `ref` (see `with_ref`)."""
    return {
        "type": "handoff_offer",
        "reason": reason,
        "text": text,
        "open_now": open_now,
        "agents_available": agents_available,
        "wait_minutes": wait_minutes,
        "opens_at": opens_at.isoformat() if opens_at else None,
    }


def agent_message(*, handoff_id: int, message: Mapping[str, Any]) -> Outgoing:
    """`message` is a saved message as the transcript lists it (selectors.message_payload)."""
    return {"type": "agent_message", "handoff_id": handoff_id, **message}


def agent_typing(*, typing: bool, agent: str) -> Outgoing:
    return {"type": "agent_typing", "typing": typing, "agent": agent}
