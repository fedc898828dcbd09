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
    return f"{type(error).__name__}: {(lines or [''])[-1][:limit]}"
