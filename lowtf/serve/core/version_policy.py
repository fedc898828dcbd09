"""Which versions on disk to serve: TF Serving's ``model_version_policy`` (latest N, all, specific)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class VersionPolicy:
    """Which versions on disk to serve: ``latest`` (the newest ``num_versions``), ``all``, or ``specific``."""

    kind: str = "latest"
    num_versions: int = 1
    versions: tuple = ()

    def __post_init__(self):
        if self.kind not in ("latest", "all", "specific"):
            raise ValueError(f"version policy must be latest, all or specific, got {self.kind!r}")
        if self.kind == "latest" and self.num_versions < 1:
            raise ValueError(f"latest {{ num_versions }} must be at least 1, got {self.num_versions}")
        if self.kind == "specific" and not self.versions:
            raise ValueError("a specific version policy needs at least one version")

    def candidates(self, on_disk: list[int]) -> list[int]:
        """The versions worth trying, newest first (``latest`` takes the newest that load)."""
        newest_first = sorted(on_disk, reverse=True)
        if self.kind == "specific":
            return [v for v in newest_first if v in self.versions]
        return newest_first
