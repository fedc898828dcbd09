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


def cannot_listen(host: str, port: int, reuse_address: bool = True) -> str:
    """Why ``host:port`` cannot be bound now ("" if it can). ``reuse_address`` as the REST server binds
    (a port in TIME_WAIT is fine); without it, as tf.train.Server binds."""
    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
            if reuse_address:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((host, port))
    except OSError as e:
        return e.strerror or str(e)
    return ""


def port_is_free(port: int) -> bool:
    """Whether ``port`` can be bound on every interface, as tf.train.Server will bind it."""
    return not cannot_listen("0.0.0.0", port, reuse_address=False)
