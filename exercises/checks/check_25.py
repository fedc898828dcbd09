"""Exercise 25: transfer learning: train a new head, the copied layers frozen."""
import numpy as np
import tensorflow.compat.v1 as tf

from lowtf.practice.checking import check, expect

HINT = ("head = tf.get_collection(tf.GraphKeys.TRAINABLE_VARIABLES, scope=head_scope + \"/\"); "
        "return optimizer.minimize(loss, var_list=head)")
FREEZE = ("20", "freeze them, train a new head")


def network():
    """A base (two layers) and a head, in variable scopes "base" and "head"; a loss on fixed data.
    A scope named "header" shares the head's prefix and must stay frozen too."""
    rng = np.random.RandomState(0)
    x, y = tf.constant(rng.randn(16, 6).astype(np.float32)), tf.constant(rng.randint(0, 3, 16))
    init = tf.glorot_uniform_initializer(seed=1)
    with tf.variable_scope("base"):
        h = tf.nn.relu(tf.matmul(x, tf.get_variable("w1", [6, 8], initializer=init)))
        h = tf.nn.relu(tf.matmul(h, tf.get_variable("w2", [8, 8], initializer=init)))
    with tf.variable_scope("header"):
        h = h * tf.get_variable("gain", [8], initializer=tf.ones_initializer())
    with tf.variable_scope("head"):
        logits = tf.matmul(h, tf.get_variable("w", [8, 3], initializer=init)) + tf.get_variable(
            "b", [3], initializer=tf.zeros_initializer())
    loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
    return loss


@check(HINT, FREEZE)
def test_the_base_is_untouched_and_the_head_learns(ex):
    loss = network()
    step = ex.train_head_only(loss, tf.train.AdamOptimizer(0.05), "head")
    variables = tf.global_variables()
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        before, loss_before = sess.run({v.op.name: v for v in variables}), sess.run(loss)
        for _ in range(5):
            sess.run(step)
        after, loss_after = sess.run({v.op.name: v for v in variables}), sess.run(loss)
    moved = sorted(name for name in ("base/w1", "base/w2", "header/gain", "head/w", "head/b")
                   if not np.array_equal(before[name], after[name]))
    expect(moved == ["head/b", "head/w"], "only head/w and head/b changed (base and header bitwise the same)",
           f"changed: {moved}",
           nudge="minimize(loss, var_list=...) updates only the Variables in var_list; scope=\"head\" "
                 "matches every scope whose name starts with head (header too): end it with a slash")
    expect(loss_after < loss_before, "the loss to fall as the head learns",
           f"{loss_before:.4f} -> {loss_after:.4f}")


@check(HINT, FREEZE)
def test_no_update_ops_for_the_frozen_layers(ex):
    """Frozen by leaving them out of var_list: the optimizer makes no slots and no update op for them."""
    loss = network()
    ex.train_head_only(loss, tf.train.AdamOptimizer(0.05), "head")
    slotted = sorted({v.op.name.split("/Adam")[0] for v in tf.global_variables() if "/Adam" in v.op.name})
    expect(slotted == ["head/b", "head/w"], "Adam's slots for head/w and head/b only", slotted,
           nudge="a frozen layer gets no update op at all when it is left out of var_list")
