"""Exercise 26: bfloat16 by hand, from float32's bits."""
import numpy as np
import tensorflow.compat.v1 as tf

from lowtf.practice.checking import check, expect

HINT = ("bits = tf.bitcast(x, tf.uint32); lowest = tf.bitwise.bitwise_and(tf.bitwise.right_shift(bits, 16), 1); "
        "cleared = tf.bitwise.bitwise_and(bits + 0x7FFF + lowest, 0xFFFF0000) (as uint32 constants); "
        "tf.bitcast(cleared, tf.float32)")
FORMATS = ("27", "three formats, bit by bit")


def samples() -> np.ndarray:
    """Ordinary values of both signs and sizes, and exact ties (the low 16 bits exactly 0x8000)."""
    rng = np.random.RandomState(0)
    ordinary = (rng.randn(2000) * 10.0 ** rng.randint(-8, 8, 2000)).astype(np.float32)
    high = rng.randint(0x3F00, 0x4100, 400).astype(np.uint32)     # 0.5 to 8, each kept mantissa
    ties = high << 16 | np.uint32(0x8000)
    special = np.array([1 / 3, 70000.0, 1e-8, -1.0, 0.0, 65504.0], np.float32)
    return np.concatenate([ordinary, ties.view(np.float32), -ties.view(np.float32), special])


@check(HINT, FORMATS)
def test_equals_tensorflows_own_rounding(ex):
    values = samples()
    x = tf.placeholder(tf.float32, [None])
    mine = ex.to_bfloat16(x)
    expect(mine.dtype == tf.float32, "a float32 tensor", str(mine.dtype))
    with tf.Graph().as_default():     # TensorFlow's cast, in a graph of the check's own
        reference = tf.cast(tf.cast(tf.constant(values), tf.bfloat16), tf.float32)
        with tf.Session() as sess:
            want = sess.run(reference)
    with tf.Session() as sess:
        got = sess.run(mine, {x: values})
    truncated = (values.view(np.uint32) & np.uint32(0xFFFF0000)).view(np.float32)
    if np.array_equal(got, truncated):
        expect(False, "rounding to the nearest bfloat16", "the low 16 bits cut off (always rounding towards 0)",
               nudge="add 0x7FFF plus bit 16 before clearing the low 16 bits: that rounds to nearest, ties to even")
    wrong = np.flatnonzero(got != want)
    expect(not wrong.size, "every value as tf.cast(x, tf.bfloat16) rounds it",
           f"{wrong.size} of {values.size} differ, e.g. {values[wrong[:1]]} -> {got[wrong[:1]]}, "
           f"not {want[wrong[:1]]}" if wrong.size else "")


@check(HINT, FORMATS)
def test_by_bits_not_by_a_cast(ex):
    ex.to_bfloat16(tf.placeholder(tf.float32, [None]))
    ops = tf.get_default_graph().get_operations()
    halves = sorted({op.type for op in ops if any(t.dtype == tf.bfloat16 for t in op.outputs)})
    expect(not halves, "no bfloat16 tensor in your graph: the rounding done on the bits",
           f"ops making bfloat16 tensors: {halves}")
    python = sorted({op.type for op in ops if "PyFunc" in op.type})
    expect(not python, "TensorFlow ops only (the rounding in the graph)", f"Python called from the graph: {python}",
           nudge="tf.numpy_function runs numpy outside the graph: do the integer arithmetic with TensorFlow ops")
    kinds = {op.type for op in ops}
    expect({"Bitcast", "BitwiseAnd"} <= kinds, "tf.bitcast to read the bits and tf.bitwise.bitwise_and to clear them",
           f"ops of types {sorted(kinds)}")
