"""Limits a real client meets over a real socket on daphne (issue 14, items 5 and 15)."""

from __future__ import annotations

import asyncio
import json

import pytest
import websockets

from apps.devtools.processes import web_server
from hscjit.tests.system.support import Deployment, chat_client, predict

pytestmark = [pytest.mark.services, pytest.mark.slow, pytest.mark.timeout(240)]


@pytest.mark.parametrize("size", [70 * 1024, 1024 * 1024])
async def test_an_oversized_frame_closes_the_socket_with_1009_and_others_go_on(
    deployment: Deployment, size: int
) -> None:
    with web_server(deployment.env(), workdir=deployment.workdir) as port:
        site = f"http://127.0.0.1:{port}"
        hostile, bystander = await chat_client(site), await chat_client(site)
        try:
            frame = json.dumps({"type": "typing", "text": "x" * size})
            await hostile.socket.send(frame)
            await asyncio.wait_for(hostile.socket.wait_closed(), timeout=10)
            # Autobahn refuses the message itself and, with failByDrop off (hscjit/
            # daphne_factory.py), says why in a close frame instead of dropping the connection.
            assert hostile.socket.close_code == 1009
            # Nothing was answered on that socket: no `internal` error before the close.
            assert hostile.recorder.errors.get("internal", 0) == 0
            assert isinstance(await predict(bystander, "boss"), list)
        finally:
            await hostile.close()
            await bystander.close()


async def test_an_unrouted_socket_path_is_closed_with_4404(deployment: Deployment) -> None:
    with web_server(deployment.env(), workdir=deployment.workdir) as port:
        site = f"http://127.0.0.1:{port}"
        async with websockets.connect(
            f"ws://127.0.0.1:{port}/ws/nowhere/", additional_headers={"Origin": site}
        ) as socket:
            await socket.wait_closed()
            assert socket.close_code == 4404
        log = "".join(p.read_text() for p in deployment.workdir.glob("daphne-*.log"))
        assert "Traceback" not in log and "No route found" not in log
