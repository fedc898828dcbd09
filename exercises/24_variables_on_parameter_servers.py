"""Exercise 24: Variables on the parameter servers, computation on the worker.

Place a model's graph for a cluster with tf.train.replica_device_setter: every Variable on
a ps task, round-robin, every other op on this worker. No server is started: placement is
written into the graph, and read back from each op's device.

Complete the functions marked TODO, then check your work: lowtf check 24
Re-read: lesson 15, step "the task program" and lesson 14.
"""
import tensorflow.compat.v1 as tf

tf.disable_v2_behavior()


def build_on_cluster(cluster: tf.train.ClusterSpec, worker: int, build):
    """Call ``build()`` (a function that makes a model's Variables and ops in the default graph)
    so that its Variables go to /job:ps/task:0, /job:ps/task:1, ... in turn and its other ops
    to /job:worker/task:<worker>; return what build() returns."""
    # TODO: with tf.device(tf.train.replica_device_setter(worker_device=..., cluster=cluster)):
    raise NotImplementedError("build_on_cluster is not written yet")
