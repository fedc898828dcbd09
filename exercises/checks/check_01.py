"""Exercise 01: a small graph with placeholders."""
import numpy as np
import tensorflow.compat.v1 as tf

from lowtf.practice.checking import check, expect, expect_close

HINT = "tf.placeholder(tf.float32, [None], name=\"a\"), the same for b, tf.reduce_sum(a * b, name=\"dot\")"


@check(HINT, ("02", "a placeholder with a None dimension"))
def test_placeholders_take_any_length(ex):
    a, b, dot = ex.build()
    for t, name in ((a, "a"), (b, "b")):
        expect(t.op.type == "Placeholder", f"{name} to be a placeholder", f"a {t.op.type} op")
        expect(t.dtype == tf.float32 and t.shape.as_list() == [None], f"{name}: float32 of shape [None]",
               f"{t.dtype.name} of shape {t.shape}")
    expect(dot.op.name == "dot" and dot.shape.ndims == 0, "a scalar named 'dot'", f"{dot.op.name} {dot.shape}")


@check(HINT, ("01", "Session.run executes the graph"))
def test_dot_product_in_a_session(ex):
    for n in (3, 7):
        a_values, b_values = np.arange(n, dtype=np.float32), np.linspace(-1, 1, n).astype(np.float32)
        expect_close(ex.run(a_values, b_values), float(a_values @ b_values), f"the dot product of {n}-vectors")
