"""Short, readable lines out of TensorFlow's long error messages."""
from __future__ import annotations


def tf_error_line(error: BaseException, *keywords: str, limit: int = 300) -> str:
    """The first line of ``error``'s message containing any of ``keywords`` (case-insensitive).

    TF 2.x error texts start with a generic 'Graph execution error:' and a traceback of
    where the op was defined; the informative line is further down.
    """
    message = getattr(error, "message", None) or str(error)
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    for line in lines:
        if any(k.lower() in line.lower() for k in keywords):
            return f"{type(error).__name__}: {line[:limit]}"
    said = [line for line in lines if not is_boilerplate(line)]
    return f"{type(error).__name__}: {said[-1][:limit]}" if said else what_tf_stopped_at(error)


# Lines of a TF 2.x error text that say where, not what
BOILERPLATE = ("Graph execution error", "Detected at node", "File ", "[[", "Node:", "Original stack trace",
               "Traceback")


def is_boilerplate(line: str) -> bool:
    return line.strip().startswith(BOILERPLATE)


def what_tf_stopped_at(error: BaseException) -> str:
    """For an error whose text is only "Graph execution error:" (and where it happened): what is left
    to say, from the error object itself: its kind, TensorFlow's error code, the op and node."""
    parts = [type(error).__name__]
    code = getattr(error, "error_code", None)
    if code is not None:
        parts.append(f"error code {code}")
    op = getattr(error, "op", None)
    node = getattr(error, "node_def", None)
    if op is not None:
        parts.append(f"at op {op.name!r} ({op.type})")
    elif node is not None and getattr(node, "name", ""):
        parts.append(f"at node {node.name!r} ({node.op})")
    return (", ".join(parts) + ": TensorFlow gave no reason beyond 'Graph execution error'; run that op "
            "alone in a Session to see its inputs, or look for a Python exception printed before this")
