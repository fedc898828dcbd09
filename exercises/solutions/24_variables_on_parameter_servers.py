"""Exercise 24 (a solution): Variables on the parameter servers, computation on the worker.

Place a model's graph for a cluster with tf.train.replica_device_setter: every Variable on
a ps task, round-robin, every other op on this worker. No server is started: placement is
written into the graph, and read back from each op's device.

Checked as a learner file would be: lowtf check 24 --file exercises/solutions/24_variables_on_parameter_servers.py
Re-read: lesson 15, step "the task program" and lesson 14.
"""
import tensorflow.compat.v1 as tf

tf.disable_v2_behavior()


def build_on_cluster(cluster: tf.train.ClusterSpec, worker: int, build):
    """Call ``build()`` (a function that makes a model's Variables and ops in the default graph)
    so that its Variables go to /job:ps/task:0, /job:ps/task:1, ... in turn and its other ops
    to /job:worker/task:<worker>; return what build() returns."""
    setter = tf.train.replica_device_setter(
        worker_device=f"/job:worker/task:{worker}", cluster=cluster)
    with tf.device(setter):
        return build()
