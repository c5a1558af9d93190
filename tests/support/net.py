"""Loopback ports for servers a test starts itself."""

import socket


def free_port() -> int:
    """A port nothing listens on right now (and so, when closed again, a stopped dependency)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
