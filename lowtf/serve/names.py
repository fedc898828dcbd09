"""Model names a URL can carry: checked for --model_name and for every name in a --model_config_file."""
from __future__ import annotations


def name_problem(name: str) -> str:
    """Why no URL can reach a model called ``name`` (/v1/models/NAME:predict), or "" if one can."""
    if not name:
        return "the model name is empty; give it a name"
    bad = sorted({c for c in name if c in "/:?#%" or c.isspace() or not c.isprintable()})
    if bad:
        return (f"the model name {name!r} holds {', '.join(repr(c) for c in bad)}, which a URL "
                "/v1/models/NAME:predict cannot carry; use letters, digits, '.', '_' and '-'")
    return ""
