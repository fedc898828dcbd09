"""Exercise 24: Variables on the parameter servers, computation on the worker."""
import tensorflow.compat.v1 as tf

from lowtf.practice.checking import check, expect

HINT = ("with tf.device(tf.train.replica_device_setter(worker_device=f\"/job:worker/task:{worker}\", "
        "cluster=cluster)): return build()")
PLACEMENT = [("15", "the task program"), "14"]


def cluster(ps: int):
    return tf.train.ClusterSpec({"ps": [f"ps{i}:2222" for i in range(ps)],
                                 "worker": ["w0:2222", "w1:2222", "w2:2222"]})


def build():
    """Four Variables (two layers), a loss and a training step."""
    x = tf.placeholder(tf.float32, [None, 5], name="x")
    w1 = tf.Variable(tf.ones([5, 4]), name="w1")
    b1 = tf.Variable(tf.zeros([4]), name="b1")
    w2 = tf.Variable(tf.ones([4, 1]), name="w2")
    b2 = tf.Variable(tf.zeros([1]), name="b2")
    loss = tf.reduce_mean(tf.square(tf.matmul(tf.nn.relu(tf.matmul(x, w1) + b1), w2) + b2))
    step = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
    return [w1, b1, w2, b2], loss, step


def device(op) -> str:
    return tf.DeviceSpec.from_string(op.device).to_string() if op.device else "(none)"


@check(HINT, PLACEMENT)
def test_variables_round_robin_over_the_ps_tasks(ex):
    for ps in (1, 2):
        with tf.Graph().as_default():
            variables, _, _ = ex.build_on_cluster(cluster(ps), 1, build)
            got = [device(v.op) for v in variables]
            want = [f"/job:ps/task:{i % ps}" for i in range(4)]
            expect(got == want, f"with {ps} ps task(s), w1 b1 w2 b2 on {want}", got,
                   nudge="replica_device_setter places Variables in turn over the cluster's ps tasks; it needs "
                         "the cluster (cluster=...) to know how many there are")


@check(HINT, PLACEMENT)
def test_the_computation_on_this_worker(ex):
    variables, loss, step = ex.build_on_cluster(cluster(2), 2, build)
    for name, op in (("the loss", loss.op), ("the training step", step)):
        expect(device(op) == "/job:worker/task:2", f"{name} on /job:worker/task:2", device(op),
               nudge="ops that are not Variables go to worker_device: replica_device_setter(worker_device="
                     "\"/job:worker/task:<worker>\", ...)")
    matmuls = {device(op) for op in tf.get_default_graph().get_operations() if op.type == "MatMul"}
    expect(matmuls == {"/job:worker/task:2"}, "every MatMul on /job:worker/task:2", sorted(matmuls))
