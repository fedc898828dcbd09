"""Free TCP ports for the servers the lessons and tests start (TensorFlow's, lowtf serve, TensorBoard)."""
from __future__ import annotations

import socket


def free_ports(n: int) -> list[int]:
    """n distinct ports that were free on every interface a moment ago (tf.train.Server binds all of them)."""
    sockets, ports = [], []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("0.0.0.0", 0))
            sockets.append(s)
            ports.append(s.getsockname()[1])
    finally:
        for s in sockets:
            s.close()
    return ports


def port_is_free(port: int) -> bool:
    """Whether ``port`` can be bound on every interface, as tf.train.Server will bind it."""
    with socket.socket() as s:
        try:
            s.bind(("0.0.0.0", port))
        except OSError:
            return False
    return True
