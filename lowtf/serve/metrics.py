"""Request metrics in Prometheus's text format, on the REST port, as TF Serving exports them
(``--monitoring_config_file`` with ``prometheus_config { enable: true }``).

TF Serving's own names and labels, from its ``servables/tensorflow/util.cc`` (its exporter turns
``/tensorflow/serving/x`` into ``:tensorflow:serving:x``; latencies are in microseconds, in
33 exponential buckets from 10 us by a factor of 1.8):

    :tensorflow:serving:request_count{model_name, status}              counter
    :tensorflow:serving:request_latency{model_name, API, entrypoint}   histogram (us)

``API`` is Predict, Classify or Regress, ``entrypoint`` GRPC or REST, ``status`` the status
code's name (OK, INVALID_ARGUMENT, NOT_FOUND, ...). TF Serving has no version label; lowtf
adds one counter that has it, for every API (metadata and status too):

    :lowtf:serving:requests{model_name, version, API, entrypoint, status}   counter

With ``--enable_batching``, TF Serving's count of batched Session.runs (its
``batching_session.cc``), and lowtf's runs and examples per served version, whose ratio is
the mean batch size actually formed:

    :tensorflow:serving:batching_session:wrapped_run_count                 counter
    :lowtf:serving:batched_runs{model_name, version}                       counter
    :lowtf:serving:batched_examples{model_name, version}                   counter

Written here rather than with ``prometheus_client``: that library exposes a counter ``x`` as
``x_total``, which would not be TF Serving's name. A model name nobody serves is counted as
``model_name=""`` and a version not served as ``version=""``, so a client cannot grow the label
sets without bound.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, text_format

from lowtf.errors import CourseError

DEFAULT_PATH = "/monitoring/prometheus/metrics"     # TF Serving's PrometheusExporter::kPrometheusPath
BUCKETS_US = [10 * 1.8 ** i for i in range(33)]     # monitoring::Buckets::Exponential(10, 1.8, 33)
PREDICTION_APIS = ("Predict", "Classify", "Regress")
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class MonitoringConfigError(CourseError, ValueError):
    """The monitoring config file cannot be used; the message names the file and the fix."""


def _monitoring_config_class():
    """TF Serving's ``MonitoringConfig`` message (monitoring_config.proto), which the
    tensorflow-serving-api package does not ship: built from its two-message definition."""
    proto = descriptor_pb2.FileDescriptorProto(name="lowtf_monitoring_config.proto",
                                               package="tensorflow.serving", syntax="proto3")
    prometheus = proto.message_type.add(name="PrometheusConfig")
    prometheus.field.add(name="enable", number=1, type=descriptor_pb2.FieldDescriptorProto.TYPE_BOOL,
                         label=descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL)
    prometheus.field.add(name="path", number=2, type=descriptor_pb2.FieldDescriptorProto.TYPE_STRING,
                         label=descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL)
    monitoring = proto.message_type.add(name="MonitoringConfig")
    monitoring.field.add(name="prometheus_config", number=1, type=descriptor_pb2.FieldDescriptorProto.TYPE_MESSAGE,
                         type_name=".tensorflow.serving.PrometheusConfig",
                         label=descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(proto)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("tensorflow.serving.MonitoringConfig"))


def read_monitoring_config(path: str | Path) -> Optional[str]:
    """The URL path to serve metrics at, or None when the file does not enable Prometheus."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise MonitoringConfigError(f"cannot read --monitoring_config_file {path}: {e}") from None
    config = _monitoring_config_class()()
    try:
        text_format.Parse(text, config)
    except text_format.ParseError as e:
        raise MonitoringConfigError(f"--monitoring_config_file {path}: {e}; write it as TF Serving's "
                                    f"text format: prometheus_config {{ enable: true path: \"{DEFAULT_PATH}\" }}"
                                    ) from None
    if not config.prometheus_config.enable:
        return None
    where = config.prometheus_config.path or DEFAULT_PATH
    if not where.startswith("/") or where.startswith("/v1/"):
        raise MonitoringConfigError(f"--monitoring_config_file {path}: path {where!r} must start with / and not "
                                    f"with /v1/ (the model API); TF Serving's is {DEFAULT_PATH}")
    return where


@dataclass
class _Histogram:
    counts: list = field(default_factory=lambda: [0] * (len(BUCKETS_US) + 1))
    total_us: float = 0.0
    count: int = 0

    def add(self, us: float) -> None:
        i = next((i for i, limit in enumerate(BUCKETS_US) if us <= limit), len(BUCKETS_US))
        self.counts[i] += 1
        self.total_us += us
        self.count += 1


def _labels(**labels: str) -> str:
    def escape(value: str) -> str:
        return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
    return "{" + ",".join(f'{k}="{escape(v)}"' for k, v in labels.items()) + "}"


class Metrics:
    """The server's request counts and latencies; both front ends ``record`` into one."""

    def __init__(self, path: str = DEFAULT_PATH):
        self.path = path
        self._lock = threading.Lock()
        self._status_counts: dict = {}     # (model, status) -> n
        self._latency: dict = {}           # (model, API, entrypoint) -> _Histogram
        self._requests: dict = {}          # (model, version, API, entrypoint, status) -> n

    def record(self, model: str, version: str, api: str, entrypoint: str, status: str, seconds: float) -> None:
        """One finished request (``model`` and ``version`` already reduced to served ones or "")."""
        with self._lock:
            key = (model, version, api, entrypoint, status)
            self._requests[key] = self._requests.get(key, 0) + 1
            if api in PREDICTION_APIS:
                self._status_counts[(model, status)] = self._status_counts.get((model, status), 0) + 1
                self._latency.setdefault((model, api, entrypoint), _Histogram()).add(seconds * 1e6)

    def render(self, models=None) -> bytes:
        """Everything counted so far, in Prometheus's text exposition format 0.0.4 (with ``models``,
        the batchers' counts too)."""
        with self._lock:
            lines = ["# HELP :tensorflow:serving:request_count The total number of requests.",
                     "# TYPE :tensorflow:serving:request_count counter"]
            for (model, status), n in sorted(self._status_counts.items()):
                lines.append(f":tensorflow:serving:request_count{_labels(model_name=model, status=status)} {n}")
            name = ":tensorflow:serving:request_latency"
            lines += [f"# HELP {name} Distribution of wall time (in microseconds) for Tensorflow Serving request.",
                      f"# TYPE {name} histogram"]
            for (model, api, entry), h in sorted(self._latency.items()):
                cumulative = 0
                for limit, n in zip(BUCKETS_US + ["+Inf"], h.counts):
                    cumulative += n
                    le = limit if isinstance(limit, str) else f"{limit:.6g}"
                    lines.append(f"{name}_bucket{_labels(model_name=model, API=api, entrypoint=entry, le=le)} "
                                 f"{cumulative}")
                lines.append(f"{name}_sum{_labels(model_name=model, API=api, entrypoint=entry)} {h.total_us:.1f}")
                lines.append(f"{name}_count{_labels(model_name=model, API=api, entrypoint=entry)} {h.count}")
            lines += ["# HELP :lowtf:serving:requests Requests by model, version, API, entrypoint and status.",
                      "# TYPE :lowtf:serving:requests counter"]
            for (model, version, api, entry, status), n in sorted(self._requests.items()):
                lines.append(":lowtf:serving:requests" + _labels(model_name=model, version=version, API=api,
                                                                 entrypoint=entry, status=status) + f" {n}")
        if models is not None:
            lines += _batching_lines(models)
        return ("\n".join(lines) + "\n").encode()


def _batching_lines(models) -> list[str]:
    """The batchers' counters of every served version (none without --enable_batching)."""
    counts = []
    for name, store in sorted(models.stores.items()):
        for version in store.serving_versions:
            try:
                batcher = store.get(version).batcher
            except Exception:       # the version left service meanwhile
                continue
            if batcher is not None:
                counts.append((name, str(version), batcher.batches, batcher.examples))
    if not counts:
        return []
    total = ":tensorflow:serving:batching_session:wrapped_run_count"
    lines = [f"# HELP {total} Total count of run calls on the wrapped session", f"# TYPE {total} counter",
             f"{total} {sum(c[2] for c in counts)}"]
    for metric, index, what in ((":lowtf:serving:batched_runs", 2, "Batched model runs"),
                                (":lowtf:serving:batched_examples", 3, "Examples in batched model runs")):
        lines += [f"# HELP {metric} {what} by model and version.", f"# TYPE {metric} counter"]
        lines += [f"{metric}{_labels(model_name=c[0], version=c[1])} {c[index]}" for c in counts]
    return lines


def served_labels(models, model: str, version: Optional[int]) -> tuple[str, str]:
    """``(model, version)`` as labels: a name or version that is not served becomes "" (bounded
    label sets); no version asked for is the newest served."""
    store = models.stores.get(model)
    if store is None:
        return "", ""
    if version is None:
        version = store.current_version
    return model, (str(version) if version is not None and version in store.serving_versions else "")


REST_APIS = {":predict": "Predict", ":classify": "Classify", ":regress": "Regress",
             "/metadata": "GetModelMetadata", "": "GetModelStatus"}
# an HTTP status as the status code TF Serving would have counted (errors.HTTP_STATUS read backwards)
HTTP_CODES = {200: "OK", 400: "INVALID_ARGUMENT", 404: "NOT_FOUND", 405: "UNIMPLEMENTED", 408: "DEADLINE_EXCEEDED",
              411: "INVALID_ARGUMENT", 413: "RESOURCE_EXHAUSTED", 429: "RESOURCE_EXHAUSTED", 501: "UNIMPLEMENTED",
              503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}


def record_rest(metrics: Metrics, models, path: str, http_status: int, seconds: float) -> None:
    """A finished REST request on a model's URL (other paths are not counted)."""
    from lowtf.serve.rest_json import route

    where = route(path)
    if where is None:
        return
    name, version, verb = where
    api = REST_APIS.get(verb)
    if api is None:
        return
    model, version_label = served_labels(models, name, version)
    metrics.record(model, version_label, api, "REST", HTTP_CODES.get(http_status, "INTERNAL"), seconds)
