"""TF Serving's ``--model_config_file``: several models, each with a base path and a version policy.

The file is TF Serving's own text format (a ``ModelServerConfig`` protocol buffer, parsed
with the official ``tensorflow-serving-api`` message), so a config written for
``tensorflow_model_server`` works unchanged::

    model_config_list {
      config { name: "classifier"  base_path: "/models/classifier"  model_platform: "tensorflow" }
      config {
        name: "planet"  base_path: "/models/planet"
        model_version_policy { specific { versions: 1 versions: 2 } }   # or latest { num_versions: N }, all {}
      }
    }

A relative ``base_path`` is read from the folder the server was started in.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from google.protobuf import text_format
from tensorflow_serving.config import model_server_config_pb2

import re

from lowtf.errors import CourseError
from lowtf.serve.core.servable import Batching
from lowtf.serve.core.version_policy import VersionPolicy
from lowtf.serve.names import name_problem


class ModelConfigError(CourseError, ValueError):
    """The config file cannot be used; the message names the file, the problem and the fix."""


@dataclass(frozen=True)
class ModelConfig:
    name: str
    base_path: Path
    policy: VersionPolicy


def _policy(proto, where: str) -> VersionPolicy:
    choice = proto.WhichOneof("policy_choice")
    try:
        if choice == "all":
            return VersionPolicy("all")
        if choice == "specific":
            return VersionPolicy("specific", versions=tuple(proto.specific.versions))
        if choice == "latest":
            return VersionPolicy("latest", num_versions=proto.latest.num_versions or 1)
        return VersionPolicy()
    except ValueError as e:
        raise ModelConfigError(f"{where}: {e}") from None


def _read_text(path: Path, flag: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as e:
        raise ModelConfigError(f"cannot read {flag} {path}: {e.strerror}") from None
    except UnicodeDecodeError as e:
        raise ModelConfigError(f"{flag} {path} is not a text file (byte {e.start} is not UTF-8); "
                               "give TF Serving's text format") from None


def read_model_config(path: str | Path) -> list[ModelConfig]:
    """The models listed in a ``--model_config_file``, checked: names unique, paths and platforms given."""
    path = Path(path)
    text = _read_text(path, "--model_config_file")
    try:
        config = text_format.Parse(text, model_server_config_pb2.ModelServerConfig())
    except text_format.ParseError as e:
        raise ModelConfigError(f"{path} is not a ModelServerConfig in text format ({e}); "
                               "see TF Serving's model_config_list example in `lowtf serve --help`") from None
    if config.WhichOneof("config") != "model_config_list" or not config.model_config_list.config:
        raise ModelConfigError(f"{path} lists no model: it needs model_config_list {{ config {{ name: ... "
                               "base_path: ... }} }}")
    models, seen = [], set()
    for i, entry in enumerate(config.model_config_list.config, 1):
        where = f"{path}, model {i}" + (f" ({entry.name})" if entry.name else "")
        if not entry.name or not entry.base_path:
            raise ModelConfigError(f"{where}: every config needs a name and a base_path")
        problem = name_problem(entry.name)
        if problem:
            raise ModelConfigError(f"{where}: {problem}")
        if entry.name in seen:
            raise ModelConfigError(f"{where}: the name {entry.name} is used twice; model names must be unique")
        if entry.model_platform not in ("", "tensorflow"):
            raise ModelConfigError(f"{where}: model_platform {entry.model_platform!r} is not served here; "
                                   "lowtf serve loads TensorFlow SavedModels (model_platform: \"tensorflow\")")
        seen.add(entry.name)
        models.append(ModelConfig(entry.name, Path(entry.base_path), _policy(entry.model_version_policy, where)))
    return models


_BATCHING_FIELDS = {"max_batch_size", "batch_timeout_micros", "num_batch_threads"}


def read_batching_parameters(path: str | Path) -> tuple[Batching, list[str]]:
    """TF Serving's ``--batching_parameters_file`` (``max_batch_size { value: 32 }``, ...): the three
    fields lowtf serve uses (batch size, how long a batch waits for more, how many batches run at
    once), and the names of the fields it ignores (its batching has no queues to size)."""
    path = Path(path)
    text = _read_text(path, "--batching_parameters_file")
    fields = dict(re.findall(r"(\w+)\s*\{\s*value\s*:\s*([^\s}]+)\s*\}", text))
    if not fields and text.strip():
        raise ModelConfigError(f"{path}: no field like `max_batch_size {{ value: 32 }}` found")
    default = Batching()
    try:
        size = int(fields.get("max_batch_size", default.max_batch_size))
        micros = int(fields.get("batch_timeout_micros", 0))
        threads = int(fields.get("num_batch_threads", default.threads))
    except ValueError:
        raise ModelConfigError(f"{path}: max_batch_size, batch_timeout_micros and num_batch_threads take "
                               "whole numbers") from None
    if size < 1 or micros < 0 or not 1 <= threads <= 64:
        raise ModelConfigError(f"{path}: max_batch_size must be at least 1, batch_timeout_micros at least 0 and "
                               "num_batch_threads from 1 to 64")
    return Batching(size, micros / 1e6, threads), sorted(set(fields) - _BATCHING_FIELDS)
