"""Exercise 11: a ClusterSpec for given hosts.

Describe a cluster of parameter servers and workers, and name the device of one task.

Complete the functions marked TODO, then check your work: lowtf check 11
Re-read: lesson 14, step "a ClusterSpec names every task", and lesson 15.
"""
import tensorflow.compat.v1 as tf

tf.disable_v2_behavior()


def cluster_for(ps_hosts: list, worker_hosts: list) -> tf.train.ClusterSpec:
    """Jobs "ps" and "worker", tasks in the order given."""
    # TODO: tf.train.ClusterSpec({"ps": [...], "worker": [...]})
    raise NotImplementedError("cluster_for is not written yet")


def device_for(job: str, index: int) -> str:
    """The device string that pins ops to that task, e.g. "/job:worker/task:1"."""
    # TODO: the form "/job:NAME/task:INDEX"
    raise NotImplementedError("device_for is not written yet")
