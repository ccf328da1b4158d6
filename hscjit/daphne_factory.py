"""Daphne's WebSocket factory, set to close a connection it fails instead of dropping it.

Daphne builds autobahn's factory when it starts and offers no switch for autobahn's
`failByDrop`, which is on by default: when autobahn fails a connection (a message over
--websocket-max-message-size, a protocol violation, invalid UTF-8) it drops the TCP connection,
and the client sees 1006 with no reason, where the protocol promises 1009 for a frame that is
too big (an application may not send 1009 itself). With it off, autobahn sends the close frame
with the code the failure calls for, then closes.

Every command that starts daphne serves `hscjit.asgi:application`, which daphne imports before
it builds its factory: hscjit.asgi installs this there, so no command has to change.
"""

from __future__ import annotations

from typing import Any


def close_failed_websockets() -> None:
    """Make the daphne in this process close failed WebSockets with a close frame."""
    try:
        from daphne import server
        from daphne.ws_protocol import WebSocketFactory
    except ImportError:  # served by something other than daphne
        return
    if getattr(server.WebSocketFactory, "closes_failed_connections", False):
        return

    class ClosingWebSocketFactory(WebSocketFactory):
        closes_failed_connections = True

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            # Daphne's own setProtocolOptions call afterwards leaves this as it is.
            self.setProtocolOptions(failByDrop=False)

    server.WebSocketFactory = ClosingWebSocketFactory
