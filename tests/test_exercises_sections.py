"""Red team for exercises 20 onwards (sequences, regularisation, dropout, optimizers, clusters, transfer,
number formats): each known way to get a green check without doing the exercise keeps failing. The checks
themselves run on every solution and template in tests/test_exercises.py."""
import pytest

from lowtf.practice.checking import CheckFailed, load_module
from test_exercises import EXERCISES, call, checks_of

CHEATS = {
    "20": {
        "a Python loop that unrolls the cell": '''
def gru_step(v, h, x_t):
    both = tf.concat([x_t, h], axis=1)
    z = tf.sigmoid(tf.matmul(both, v["Wz"]) + v["bz"])
    r = tf.sigmoid(tf.matmul(both, v["Wr"]) + v["br"])
    c = tf.tanh(tf.matmul(tf.concat([x_t, r * h], axis=1), v["Wc"]) + v["bc"])
    return z * h + (1.0 - z) * c
def all_states(v, xs):
    h = tf.zeros([tf.shape(xs)[1], int(v["bz"].shape[0])])
    found = []
    for t in range(xs.shape[0]):
        h = gru_step(v, h, xs[t])
        found.append(h)
    return tf.stack(found)
''',
        "the recurrence in numpy through tf.numpy_function": '''
import numpy as np
def _np_states(wz, wr, wc, bz, br, bc, xs):
    sig = lambda a: 1 / (1 + np.exp(-a))
    h, out = np.zeros((xs.shape[1], bz.shape[0]), np.float32), []
    for x in xs:
        both = np.concatenate([x, h], 1)
        z, r = sig(both @ wz + bz), sig(both @ wr + br)
        h = z * h + (1 - z) * np.tanh(np.concatenate([x, r * h], 1) @ wc + bc)
        out.append(h)
    return np.stack(out).astype(np.float32)
def gru_step(v, h, x_t):
    both = tf.concat([x_t, h], axis=1)
    z = tf.sigmoid(tf.matmul(both, v["Wz"]) + v["bz"])
    r = tf.sigmoid(tf.matmul(both, v["Wr"]) + v["br"])
    c = tf.tanh(tf.matmul(tf.concat([x_t, r * h], axis=1), v["Wc"]) + v["bc"])
    return z * h + (1.0 - z) * c
def all_states(v, xs):
    args = [v[k] for k in ("Wz", "Wr", "Wc", "bz", "br", "bc")] + [xs]
    return tf.numpy_function(_np_states, args, tf.float32)
''',
        "z and 1 - z swapped, the last state only": '''
def gru_step(v, h, x_t):
    both = tf.concat([x_t, h], axis=1)
    z = tf.sigmoid(tf.matmul(both, v["Wz"]) + v["bz"])
    r = tf.sigmoid(tf.matmul(both, v["Wr"]) + v["br"])
    c = tf.tanh(tf.matmul(tf.concat([x_t, r * h], axis=1), v["Wc"]) + v["bc"])
    return (1.0 - z) * h + z * c
def all_states(v, xs):
    h0 = tf.zeros([tf.shape(xs)[1], int(v["bz"].shape[0])])
    return tf.scan(lambda h, x: gru_step(v, h, x), xs, initializer=h0)[-1]
''',
    },
    "21": {
        "the penalty as a number computed in numpy": '''
def l2_penalty(weights, weight_decay):
    with tf.Session() as sess:
        sess.run(tf.variables_initializer(weights))
        values = sess.run(weights)
    return tf.constant(weight_decay * sum(float((w ** 2).sum()) / 2 for w in values))
def regularised_loss(logits, labels, weights, weight_decay):
    return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)) \\
        + l2_penalty(weights, weight_decay)
''',
        "sum of squares without the half, every Variable penalised": '''
def l2_penalty(weights, weight_decay):
    return weight_decay * tf.add_n([tf.reduce_sum(tf.square(w)) for w in weights])
def regularised_loss(logits, labels, weights, weight_decay):
    everything = [tf.nn.l2_loss(v) for v in tf.trainable_variables()]
    return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)) \\
        + weight_decay * tf.add_n(everything)
''',
    },
    "22": {
        "tf.nn.dropout with its second argument read as keep_prob": """
def dropout(x, rate, training):
    return tf.cond(training, lambda: tf.nn.dropout(x, rate), lambda: tf.identity(x))
""",
        "survivors not scaled up": """
def dropout(x, rate, training):
    keep = tf.cast(tf.random_uniform(tf.shape(x)) >= rate, x.dtype)
    return tf.cond(training, lambda: x * keep, lambda: tf.identity(x))
""",
        "one mask made in numpy": """
import numpy as np
def dropout(x, rate, training):
    keep = (np.random.RandomState(0).rand(*x.shape.as_list()) >= rate) / (1 - rate)
    return tf.cond(training, lambda: x * keep.astype(np.float32), lambda: tf.identity(x))
""",
        "a Python if on the training tensor": """
def dropout(x, rate, training):
    if training:
        return x * tf.cast(tf.random_uniform(tf.shape(x)) >= rate, x.dtype) / (1 - rate)
    return x
""",
    },
    "23": {
        "plain gradient descent": """
def momentum_step(loss, variables, rate, momentum):
    grads = tf.gradients(loss, variables)
    return tf.group(*[tf.assign_sub(v, rate * g) for v, g in zip(variables, grads)])
""",
        "MomentumOptimizer itself": """
def momentum_step(loss, variables, rate, momentum):
    return tf.train.MomentumOptimizer(rate, momentum).minimize(loss, var_list=variables)
""",
        "the velocity a tensor, forgotten between runs": """
def momentum_step(loss, variables, rate, momentum):
    updates = []
    for v, g in zip(variables, tf.gradients(loss, variables)):
        u = momentum * tf.zeros_like(v) + g
        updates.append(tf.assign_sub(v, rate * u))
    return tf.group(*updates)
""",
    },
    "24": {
        "everything on the first ps task": """
def build_on_cluster(cluster, worker, build):
    with tf.device("/job:ps/task:0"):
        return build()
""",
        "everything on the worker": """
def build_on_cluster(cluster, worker, build):
    with tf.device(f"/job:worker/task:{worker}"):
        return build()
""",
        "the setter told of one ps task, not the cluster": """
def build_on_cluster(cluster, worker, build):
    with tf.device(tf.train.replica_device_setter(1, worker_device=f"/job:worker/task:{worker}")):
        return build()
""",
    },
    "25": {
        "every Variable trained": """
def train_head_only(loss, optimizer, head_scope):
    return optimizer.minimize(loss)
""",
        "the scope without its slash (header trained too)": """
def train_head_only(loss, optimizer, head_scope):
    return optimizer.minimize(loss, var_list=tf.trainable_variables(scope=head_scope))
""",
        "nothing trained": """
def train_head_only(loss, optimizer, head_scope):
    return tf.no_op()
""",
    },
    "26": {
        "a cast to bfloat16 and back": """
def to_bfloat16(x):
    return tf.cast(tf.cast(x, tf.bfloat16), tf.float32)
""",
        "the low bits cut off": """
def to_bfloat16(x):
    bits = tf.bitcast(x, tf.uint32)
    return tf.bitcast(tf.bitwise.bitwise_and(bits, tf.constant(0xFFFF0000, tf.uint32)), tf.float32)
""",
        "the rounding in numpy, a bitcast for show": """
import numpy as np
def _np(v):
    bits = v.view(np.uint32)
    return ((bits + np.uint32(0x7FFF) + ((bits >> 16) & 1)) & np.uint32(0xFFFF0000)).view(np.float32)
def to_bfloat16(x):
    tf.bitcast(x, tf.uint32)
    return tf.numpy_function(_np, [x], tf.float32)
""",
    },
}


@pytest.mark.parametrize("number,name", [(n, name) for n, cheats in CHEATS.items() for name in cheats])
def test_known_cheats_keep_failing(number, name, tmp_path):
    """Each cheat fails at least one of its exercise's checks, with a report in words."""
    cheat = tmp_path / f"cheat_{number}.py"
    cheat.write_text("import tensorflow.compat.v1 as tf\ntf.disable_v2_behavior()\n" + CHEATS[number][name])
    module = load_module(cheat)
    failures = []
    for check_name, check in checks_of(EXERCISES[number]):
        try:
            call(check, module, tmp_path / check_name)
        except CheckFailed as e:
            failures.append((check_name, e))
    assert failures, f"exercise {number}: '{name}' passed every check"
    assert all(e.expected and "Traceback" not in str(e) for _, e in failures)
