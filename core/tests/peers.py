"""Misbehaving database peers on local ports, for the tests of bounded waits: a port that
refuses connections, a server that accepts and never answers, and a proxy to a real database
that can be frozen (it keeps every connection open and stops forwarding)."""

from __future__ import annotations

import socket
import threading
import time


def closed_port() -> int:
    """A local port nothing listens on (connections are refused at once)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class _LocalListener:
    """Listens on a free local port and keeps every connection it accepts, each handed to
    `_accepted` in a daemon thread, until `close()` closes them all."""

    def __init__(self) -> None:
        self._closed = threading.Event()
        self._sockets: list[socket.socket] = []
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self._closed.set()
        self._listener.close()
        for sock in self._sockets:
            try:
                sock.close()
            except OSError:
                pass

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return
            self._sockets.append(connection)
            self._accepted(connection)

    def _accepted(self, connection: socket.socket) -> None:
        pass


class SilentServer(_LocalListener):
    """Accepts connections and never sends a byte."""


class FreezableProxy(_LocalListener):
    """Forwards local connections to `target` until `freeze()`: from then on it forwards nothing
    and answers nothing, new connections included, while keeping every socket open (a database
    that stops answering, as seen from its clients)."""

    def __init__(self, target: tuple[str, int]) -> None:
        self._target = target
        self._frozen = threading.Event()
        super().__init__()  # last: the accepting thread starts here

    def freeze(self) -> None:
        self._frozen.set()

    def close(self) -> None:
        self._closed.set()  # before unfreezing, so that waiting pipes stop instead of forwarding
        self._frozen.clear()
        super().close()

    def _accepted(self, client: socket.socket) -> None:
        if self._frozen.is_set():
            return
        upstream = socket.create_connection(self._target)
        self._sockets.append(upstream)
        for source, sink in ((client, upstream), (upstream, client)):
            threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        while True:
            try:
                data = source.recv(65536)
            except OSError:
                return
            if not data:
                return
            while self._frozen.is_set() and not self._closed.is_set():
                time.sleep(0.05)
            if self._closed.is_set():
                return
            try:
                sink.sendall(data)
            except OSError:
                return
