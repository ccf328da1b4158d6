"""Daphne's WebSocket factory and protocol, with two things daphne has no switch for.

- A connection it fails is closed, not dropped. Autobahn's `failByDrop` is on by default:
  when autobahn fails a connection (a message over --websocket-max-message-size, a protocol
  violation, invalid UTF-8) it drops the TCP connection, and the client sees 1006 with no
  reason, where the protocol promises 1009 for a frame that is too big (an application may not
  send 1009 itself). With it off, autobahn sends the close frame with the code the failure
  calls for, then closes.
- An application may stop reading a socket for a while (the ASGI extension `READING`): a
  socket over its prediction budget then costs nothing until the budget refills. Its frames
  wait in the kernel, not in daphne's queue, and are read together when reading resumes, so a
  flood from many sockets in step does not reach the event loop in step either. Daphne passes
  unknown message types to the protocol, which ignores them; this one acts on two.

Every command that starts daphne serves `hscjit.asgi:application`, which daphne imports before
it builds its factory: hscjit.asgi installs these there, so no command has to change.
"""

from __future__ import annotations

from typing import Any

# The scope's extension, and the messages an application sends to use it.
READING = "hscjit.reading"
PAUSE_READING = "hscjit.reading.pause"
RESUME_READING = "hscjit.reading.resume"


def install_websocket_protocol() -> None:
    """Make the daphne in this process close failed WebSockets with a close frame, and let
    applications pause reading a socket."""
    try:
        from daphne import server
        from daphne.ws_protocol import WebSocketFactory, WebSocketProtocol
    except ImportError:  # served by something other than daphne
        return
    if getattr(server.WebSocketFactory, "hscjit_protocol", False):
        return

    class PausingWebSocketProtocol(WebSocketProtocol):
        def handle_reply(self, message: dict[str, Any]) -> None:
            kind = message.get("type")
            if kind == PAUSE_READING:
                self.transport.pauseProducing()
            elif kind == RESUME_READING:
                # Twisted resumes only a connection that is still open.
                self.transport.resumeProducing()
            else:
                super().handle_reply(message)

    class HscjitWebSocketFactory(WebSocketFactory):
        hscjit_protocol = True
        protocol = PausingWebSocketProtocol

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            # Daphne's own setProtocolOptions call afterwards leaves this as it is.
            self.setProtocolOptions(failByDrop=False)

    create_application = server.Server.create_application

    def create_with_extensions(self: Any, protocol: Any, scope: dict[str, Any]) -> Any:
        if isinstance(protocol, PausingWebSocketProtocol):
            scope = {**scope, "extensions": {**scope.get("extensions", {}), READING: {}}}
        return create_application(self, protocol, scope)

    server.Server.create_application = create_with_extensions
    server.WebSocketFactory = HscjitWebSocketFactory
