"""A cluster in one job (the computation-framework article): two tf.train.Servers, ops pinned to each task, one computation across both."""
from lowtf.lesson import Lesson  # first: loads TensorFlow quietly, with its fast CPU kernels on

import tensorflow.compat.v1 as tf

import socket

from lowtf.distributed.sandbox import listening_ports, require_private_network
from lowtf.ports import free_ports
from lowtf.run_metadata import ops_by_device

tf.disable_v2_behavior()

lesson = Lesson("14", "cluster in one job", private_network=True)


@lesson.step("a ClusterSpec names every task's address; a Server is one task")
def servers(ctx):
    """The course's source article ran two tasks of a job called 'my_job', each a
    tf.train.Server on its own port, started from two terminals. Here both servers live in this process; the next
    lessons put each task in its own process, as on real machines.

    A warning the article left out: a tf.train.Server has no password and no bind address. It
    listens on every network interface (0.0.0.0), whatever host the ClusterSpec names, and runs
    any op, file reads and writes included, for whoever connects. So `lowtf lesson 14` started
    this process in a Linux network namespace of its own, whose only interface is loopback:
    the servers reach each other on 127.0.0.1 and nothing outside reaches them.
    require_private_network() checks that before any server starts."""
    require_private_network()
    ports = free_ports(2)
    addresses = [f"127.0.0.1:{port}" for port in ports]
    ctx.cluster = tf.train.ClusterSpec({"my_job": addresses})
    ctx.servers = [
        tf.train.Server(ctx.cluster, job_name="my_job", task_index=i)
        for i in range(2)
    ]
    return {
        "cluster": ctx.cluster.as_dict(),
        "server targets": [s.target for s in ctx.servers],
        "this process's network interfaces": [
            name for _, name in socket.if_nameindex()
        ],
        "ports listening in this namespace": sorted(listening_ports()),
    }


@lesson.step("pin ops with tf.device('/job:my_job/task:N'); one run, 2 tasks")
def pinned(ctx):
    """x lives on task 0, y is computed on task 1 from x, and the sum back on task 0: the
    tensors travel between the servers over gRPC. The Session connects to task 0's target
    and the runtime does the rest."""
    with tf.device("/job:my_job/task:0"):
        x = tf.Variable(tf.range(1.0, 5.0), name="x")
    with tf.device("/job:my_job/task:1"):
        y = tf.square(x, name="y_on_task1")
    with tf.device("/job:my_job/task:0"):
        total = tf.reduce_sum(y, name="total_on_task0")
    options = tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE)
    metadata = tf.RunMetadata()
    with tf.Session(ctx.servers[0].target) as sess:
        sess.run(x.initializer)
        value = sess.run(total, options=options, run_metadata=metadata)
    placement = ops_by_device(metadata)
    task_of = {
        op: dev.split("/task:")[1][0]
        for dev, ops in placement.items()
        for op in ops
    }
    ctx.record(
        total=float(value),
        y_task=task_of.get("y_on_task1"),
        total_task=task_of.get("total_on_task0"),
    )
    return {"sum of squares of 1..4": value, "where each op ran": placement}


@lesson.step("where variables live: any task's Session reads the same value")
def variables(ctx):
    """A Variable's value is held by the server it is placed on; any Session connected to the
    cluster reads the same value. This is what parameter servers are: tasks that hold
    Variables for workers that compute."""
    with tf.Session(ctx.servers[1].target) as other:
        x = tf.get_default_graph().get_tensor_by_name("x:0")
        seen_from_task1 = other.run(x)
    ctx.record(variable_seen_from_task1=seen_from_task1.tolist())
    return {"x read through task 1's session": seen_from_task1}


if __name__ == "__main__":
    raise SystemExit(lesson.main())
