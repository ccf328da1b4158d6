"""Liveness (`/health`) and readiness (`/ready`).

`/health` answers from this process alone, so an orchestrator restarts a process only when
the process itself is stuck. `/ready` asks every dependency a request may need; a failing one
takes the instance out of the load balancer (503) without restarting it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import os
import shutil
import time
import uuid
from collections.abc import Generator
from pathlib import Path
from typing import Any

import psutil
from channels.layers import get_channel_layer
from django.conf import settings
from django.http import HttpRequest, JsonResponse
from health_check.base import HealthCheck
from health_check.checks import Cache, Database
from health_check.contrib.celery import Ping
from health_check.exceptions import ServiceUnavailable
from health_check.views import HealthCheckView
from redis.exceptions import RedisError

from hscjit.metrics import WEBSOCKET_ACTIVE_CONNECTIONS

_process = psutil.Process()


def _open_websockets() -> int:
    # The gauge's own value in this process (in multiprocess mode too), not an aggregate.
    return int(WEBSOCKET_ACTIVE_CONNECTIONS.collect()[0].samples[0].value)


async def health(request: HttpRequest) -> JsonResponse:
    with _process.oneshot():
        memory = _process.memory_info()
        cpu = _process.cpu_times()
        started = _process.create_time()
        # Since the previous call; the first call in a process reports 0.0.
        cpu_percent = _process.cpu_percent(interval=None)
    return JsonResponse(
        {
            "status": "ok",
            "pid": os.getpid(),
            "uptime_seconds": round(time.time() - started, 1),
            "memory_rss_bytes": memory.rss,
            "cpu_seconds": round(cpu.user + cpu.system, 2),
            "cpu_percent": cpu_percent,
            "websocket_connections": _open_websockets(),
        },
        headers={"Cache-Control": "no-store"},
    )


@dataclasses.dataclass
class ChannelLayerRoundTrip(HealthCheck):
    """A message sent to a fresh channel comes back through the channel layer."""

    alias: str = "default"
    timeout: datetime.timedelta = dataclasses.field(
        default=datetime.timedelta(seconds=2), repr=False
    )

    async def run(self) -> None:
        layer = get_channel_layer(self.alias)
        if layer is None:
            raise ServiceUnavailable("No channel layer is configured")
        nonce = uuid.uuid4().hex
        try:
            # The default prefix, as consumers use: channels_redis lets one receive at a time
            # pop the process's channels, and it pops only its own prefix's, so a "health."
            # channel would never be read while any chat socket of this process is open.
            channel = await layer.new_channel()
            await layer.send(channel, {"type": "health.ping", "nonce": nonce})
            message = await asyncio.wait_for(layer.receive(channel), self.timeout.total_seconds())
        except (OSError, TimeoutError, RedisError) as error:
            name = type(error).__name__
            raise ServiceUnavailable(f"Channel layer unreachable: {name}") from error
        if message.get("nonce") != nonce:
            raise ServiceUnavailable("Channel layer returned another message")


@dataclasses.dataclass
class DiskSpace(HealthCheck):
    """Room on the disk that holds stored manuals (MEDIA_ROOT)."""

    path: Path = dataclasses.field(default_factory=lambda: Path(settings.MEDIA_ROOT))
    min_free_mb: int = dataclasses.field(
        default_factory=lambda: settings.READY_MIN_FREE_DISK_MB, repr=False
    )

    def run(self) -> None:
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            free_mb = shutil.disk_usage(self.path).free // (1024 * 1024)
        except OSError as error:
            raise ServiceUnavailable(f"Media folder unusable: {error.strerror}") from error
        if not os.access(self.path, os.W_OK):
            raise ServiceUnavailable("Media folder is not writable")
        if free_mb < self.min_free_mb:
            raise ServiceUnavailable(f"{free_mb} MB free, below {self.min_free_mb} MB")


def readiness_checks() -> list[tuple[str, HealthCheck]]:
    """What an instance needs to serve; none of them leaves this network."""
    timeout = datetime.timedelta(seconds=settings.READY_CHECK_TIMEOUT)
    checks: list[tuple[str, HealthCheck]] = [
        ("database", Database()),
        ("cache", Cache(timeout=timeout)),
        ("channel_layer", ChannelLayerRoundTrip(timeout=timeout)),
        ("disk", DiskSpace()),
    ]
    if settings.CELERY_ENABLED:
        from hscjit.celery import app

        checks.append(("celery", Ping(app=app, timeout=timeout, limit=1)))
    return checks


class ReadyView(HealthCheckView):
    """Always JSON: status ("ok" or "unavailable"), each check's outcome, the failed ones."""

    def get_checks(self) -> Generator[HealthCheck, None, None]:
        for _name, check in self._named:
            yield check

    async def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        self._named = readiness_checks()
        with self.get_executor() as executor:
            self.results = await asyncio.gather(
                *(check.get_result(executor) for check in self.get_checks())
            )
        report = {
            name: "OK" if result.error is None else str(result.error)
            for (name, _check), result in zip(self._named, self.results, strict=True)
        }
        failed = [name for name, outcome in report.items() if outcome != "OK"]
        return JsonResponse(
            {"status": "unavailable" if failed else "ok", "checks": report, "failed": failed},
            status=503 if failed else 200,
        )
