"""A streaming client for OpenAI-compatible chat completions (the only LLM I/O).

Any failure (connection, timeout, HTTP status, malformed event, a stream cut short or ending
without `data: [DONE]`) is raised as LLMError, so the caller has one thing to fall back on.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx


class LLMError(Exception):
    """The endpoint did not deliver a complete answer."""


async def stream_chat(
    *,
    base_url: str,
    model: str,
    api_key: str,
    messages: list[dict[str, str]],
    timeout: float,
    temperature: float = 0.1,
) -> AsyncIterator[str]:
    """Yield the content pieces of one streamed chat completion."""
    headers = {"Accept": "text/event-stream"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    body: dict[str, Any] = {
        "model": model,
        "messages": messages,
        "stream": True,
        "temperature": temperature,
    }
    try:
        async with (
            httpx.AsyncClient(timeout=httpx.Timeout(timeout), follow_redirects=False) as client,
            client.stream(
                "POST", f"{base_url}/chat/completions", json=body, headers=headers
            ) as response,
        ):
            if response.status_code != 200:
                raise LLMError(f"the model endpoint answered HTTP {response.status_code}")
            async for line in response.aiter_lines():
                if not line.startswith("data:"):
                    continue  # blank separators, comments and other SSE fields
                data = line[5:].strip()
                if data == "[DONE]":
                    return
                piece = _content(data)
                if piece:
                    yield piece
            raise LLMError("the model's stream ended without [DONE]")
    except httpx.TimeoutException as error:
        raise LLMError("the model endpoint timed out") from error
    except httpx.HTTPError as error:
        raise LLMError(f"the model endpoint failed: {type(error).__name__}") from error


def _content(data: str) -> str:
    try:
        event = json.loads(data)
    except json.JSONDecodeError as error:
        raise LLMError("the model sent an event that is not JSON") from error
    if not isinstance(event, dict):
        raise LLMError("the model sent an unexpected event")
    if "error" in event:
        raise LLMError("the model reported an error mid-stream")
    choices = event.get("choices") or []
    if not choices or not isinstance(choices[0], dict):
        return ""  # some servers send a usage-only event at the end
    delta = choices[0].get("delta") or {}
    content = delta.get("content") if isinstance(delta, dict) else None
    return content if isinstance(content, str) else ""
