"""Cluster descriptions from the standard ``TF_CONFIG`` variable (or flags), validated.

``TF_CONFIG`` is JSON: ``{"cluster": {"ps": ["host:port"], "worker": ["host:port", ...]},
"task": {"type": "worker", "index": 0}}``. The same JSON, with real host names, runs the
same script on real machines: each host sets its own ``task``.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass

from lowtf.errors import CourseError


class ClusterError(CourseError, ValueError):
    """A cluster description that cannot work; the message names the field and the fix."""


@dataclass(frozen=True)
class TaskConfig:
    cluster: dict          # {job name: [address, ...]}
    job: str
    index: int

    @property
    def is_chief(self) -> bool:
        """Worker 0 is the chief: it initialises, checkpoints and writes summaries."""
        return self.job == "worker" and self.index == 0

    @property
    def address(self) -> str:
        return self.cluster[self.job][self.index]

    def cluster_spec(self):
        import tensorflow.compat.v1 as tf

        return tf.train.ClusterSpec(self.cluster)


def _check_address(job: str, i: int, address) -> None:
    where = f"cluster['{job}'][{i}]"
    if not isinstance(address, str) or address.count(":") != 1:
        raise ClusterError(f"{where} = {address!r} is not 'host:port'")
    host, port = address.split(":")
    if not host:
        raise ClusterError(f"{where} = {address!r} has no host")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ClusterError(f"{where} = {address!r}: port must be a number in 1..65535")


def validate(cluster, job, index) -> TaskConfig:
    """Check a cluster and a task within it; return the TaskConfig."""
    if not isinstance(cluster, dict) or not cluster:
        raise ClusterError("'cluster' must be a non-empty object of job name -> list of 'host:port'")
    seen = {}
    for name, addresses in cluster.items():
        if not isinstance(addresses, list) or not addresses:
            raise ClusterError(f"cluster['{name}'] must be a non-empty list of 'host:port'")
        for i, address in enumerate(addresses):
            _check_address(name, i, address)
            if address in seen:
                raise ClusterError(f"address {address} is used twice: by {seen[address]} and {name}:{i}")
            seen[address] = f"{name}:{i}"
    if job not in cluster:
        raise ClusterError(f"task type '{job}' is not a job of the cluster (jobs: {sorted(cluster)})")
    if isinstance(index, bool) or not isinstance(index, int):
        raise ClusterError(f"task index must be an integer, got {index!r}")
    if not 0 <= index < len(cluster[job]):
        raise ClusterError(f"task index {index} is out of range: job '{job}' has {len(cluster[job])} tasks "
                           f"(0..{len(cluster[job]) - 1})")
    return TaskConfig(cluster, job, index)


def from_tf_config(text: str | None = None) -> TaskConfig:
    """Parse ``TF_CONFIG`` (the environment variable unless ``text`` is given)."""
    text = os.environ.get("TF_CONFIG") if text is None else text
    if not text:
        raise ClusterError("TF_CONFIG is not set; set it to {\"cluster\": {...}, \"task\": {...}} "
                           "or start the task with `lowtf cluster local`")
    try:
        config = json.loads(text)
    except json.JSONDecodeError as e:
        raise ClusterError(f"TF_CONFIG is not valid JSON: {e}") from None
    if not isinstance(config, dict) or "cluster" not in config or "task" not in config:
        raise ClusterError("TF_CONFIG needs both 'cluster' and 'task' keys")
    task = config["task"]
    if not isinstance(task, dict) or "type" not in task or "index" not in task:
        raise ClusterError("TF_CONFIG 'task' needs 'type' and 'index', e.g. {\"type\": \"worker\", \"index\": 0}")
    return validate(config["cluster"], task["type"], task["index"])


def tf_config(cluster: dict, job: str, index: int) -> str:
    """The TF_CONFIG JSON for one task of ``cluster``."""
    return json.dumps({"cluster": cluster, "task": {"type": job, "index": index}})
