"""Exercise 11 (a solution): a ClusterSpec for given hosts.

Describe a cluster of parameter servers and workers, and name the device of one task.

Checked as a learner file would be: lowtf check 11 --file exercises/solutions/11_cluster_spec.py
Re-read: lesson 14, step "a ClusterSpec names every task", and lesson 15.
"""
import tensorflow.compat.v1 as tf

tf.disable_v2_behavior()


def cluster_for(ps_hosts: list, worker_hosts: list) -> tf.train.ClusterSpec:
    """Jobs "ps" and "worker", tasks in the order given."""
    return tf.train.ClusterSpec({"ps": list(ps_hosts), "worker": list(worker_hosts)})


def device_for(job: str, index: int) -> str:
    """The device string that pins ops to that task, e.g. "/job:worker/task:1"."""
    return f"/job:{job}/task:{index}"
