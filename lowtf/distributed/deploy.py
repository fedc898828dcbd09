"""From one machine to many: the per-task ``TF_CONFIG``s for a list of hosts, and a Kubernetes manifest.

A strategy script (lesson 36's worker, lesson 37's tasks) reads its whole cluster and its own role
from ``TF_CONFIG``; moving it to real machines changes only that variable. ``tf_configs`` writes one
per task for the addresses given. ``kubernetes_manifest`` describes the same cluster for Kubernetes,
in the shape TensorFlow's own ecosystem uses (the Kubeflow training operator, TensorFlow's
``tensorflow/ecosystem`` templates): one Pod per task, each with a stable DNS name from a headless
Service (``worker-0.NAME``), and ``TF_CONFIG`` in each Pod's environment naming those DNS names.
The manifest is JSON, which ``kubectl apply -f`` reads as it reads YAML.

The servers the tasks start run any op for anyone who reaches them: on a real cluster keep them on a
private network (a Kubernetes NetworkPolicy that admits only the job's own Pods, for instance).
"""
from __future__ import annotations

import json
from typing import Sequence

from lowtf.distributed.cluster import tf_config, validate

JOBS = ("chief", "ps", "worker", "evaluator")


def tf_configs(cluster: dict) -> dict[str, str]:
    """``{"worker0": TF_CONFIG json, ...}``: every task of ``cluster`` ({job: ["host:port", ...]})."""
    for job in cluster:
        validate(cluster, job, 0)
    return {f"{job}{i}": tf_config(cluster, job, i) for job, hosts in cluster.items() for i in range(len(hosts))}


def _dns_cluster(counts: dict, name: str, port: int) -> dict:
    return {job: [f"{name}-{job}-{i}.{name}:{port}" for i in range(n)] for job, n in counts.items() if n}


def kubernetes_manifest(counts: dict, image: str, command: Sequence[str], name: str = "lowtf",
                        port: int = 2222) -> dict:
    """A ``v1`` List: the headless Service, then a Pod per task of ``counts`` ({"worker": 2, "ps": 1}),
    each running ``command`` in ``image`` with its own TF_CONFIG."""
    unknown = sorted(set(counts) - set(JOBS))
    if unknown:
        raise ValueError(f"unknown job names {unknown}: TF_CONFIG's jobs are {', '.join(JOBS)}")
    if not counts.get("worker"):
        raise ValueError("a cluster needs at least one worker")
    cluster = _dns_cluster(counts, name, port)
    service = {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": name, "labels": {"app": name}},
        # headless: no virtual IP, one DNS record per Pod (hostname.subdomain), which TF_CONFIG names
        "spec": {"clusterIP": "None", "selector": {"app": name},
                 "ports": [{"name": "grpc", "port": port, "targetPort": port}]},
    }
    pods = []
    for job, hosts in cluster.items():
        for i in range(len(hosts)):
            host = f"{name}-{job}-{i}"
            pods.append({
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": host, "labels": {"app": name, "job": job, "index": str(i)}},
                "spec": {
                    "hostname": host, "subdomain": name,
                    # a lost task is restarted in place with the same name and TF_CONFIG
                    "restartPolicy": "OnFailure",
                    "containers": [{
                        "name": "tensorflow", "image": image, "command": list(command),
                        "ports": [{"containerPort": port, "name": "grpc"}],
                        "env": [{"name": "TF_CONFIG", "value": tf_config(cluster, job, i)}],
                    }],
                },
            })
    return {"apiVersion": "v1", "kind": "List", "items": [service, *pods]}


def manifest_text(manifest: dict) -> str:
    return json.dumps(manifest, indent=2) + "\n"
