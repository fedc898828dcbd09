"""Number formats: float32, float16 and bfloat16 bit by bit, loss scaling, and mixed precision by graph rewrite."""
from lowtf.lesson import Lesson  # first: loads TensorFlow quietly, with its fast CPU kernels on

import time

import keras
import numpy as np
import tensorflow.compat.v1 as tf

from lowtf import verdicts
from lowtf.data.splits import load_splits
from lowtf.host import this_host
from lowtf.models import lenet5
from lowtf.train.eigen_fallback import timed_rounds
from lowtf.train.precision import (
    bfloat16_ops,
    rewritten_graph,
    session_config,
)

lesson = Lesson(
    "27", "number formats", keras=True
)  # Keras runs eagerly: a process of its own

# --- knobs -----------------------------------------------------------------------------
NUMBERS = {
    "1/3": 1 / 3,
    "1e-8": 1e-8,
    "70,000": 70000.0,
    "a gradient of 1e-9": 1e-9,
}
FORMATS = {
    "float32": tf.float32,
    "float16": tf.float16,
    "bfloat16": tf.bfloat16,
}
LOSS_SCALE = (
    2.0**15
)  # a power of two (only the exponent changes); Keras starts its LossScaleOptimizer here
ROUNDS = {"fast": 6, "full": 10}  # timed rounds, float32 and bfloat16 in turn
STEPS_PER_ROUND = {"fast": 5, "full": 50}
TEST_IMAGES = {"fast": 2000, "full": 10000}  # scored in float32, paired
FALLBACK = {"rounds": 4, "steps": 2, "batch": 32}  # ~5 s on 2 AVX2 cores
BATCH_SIZE = 128
SEED = 27


def bits(value: float, dtype) -> str:
    """The bits of ``value`` stored as ``dtype``:
    sign | exponent | fraction."""
    width, exponent = {
        tf.float32: (32, 8),
        tf.float16: (16, 5),
        tf.bfloat16: (16, 8),
    }[dtype]
    as_int = tf.bitcast(
        tf.cast(tf.constant(value, tf.float32), dtype),
        tf.uint32 if width == 32 else tf.uint16,
    )
    with tf.Session() as sess:
        word = format(int(sess.run(as_int)), f"0{width}b")
    return f"{word[0]} {word[1 : 1 + exponent]} {word[1 + exponent :]}"


@lesson.step("three formats, bit by bit: what each stores of four numbers")
def formats(ctx):
    """A float is sign x 2^exponent x 1.fraction. The formats spend their bits
    differently (sign, exponent, fraction bits):

      float32   1, 8, 23: ~7 decimal digits, up to 3.4e38
      float16   1, 5, 10: ~3 digits, up to 65,504, down to 6e-8
      bfloat16  1, 8,  7: ~2 digits, float32's whole range

    bfloat16 is float32 with the last 16 bits dropped: the same exponent, so
    whatever float32 can hold, bfloat16 can hold roughly. Each number below is
    cast to each format in a Session and read back, so the table shows what the
    format really stores."""
    with tf.Graph().as_default():
        values = tf.constant(list(NUMBERS.values()), tf.float32)
        # cast to the format and back: what the format really stores
        stored = {
            name: tf.cast(tf.cast(values, dtype), tf.float32)
            for name, dtype in FORMATS.items()
        }
        with tf.Session() as sess:
            kept = sess.run(stored)
        layout = {name: bits(1 / 3, dtype) for name, dtype in FORMATS.items()}
    table = {
        number: {name: float(f"{kept[name][i]:.6g}") for name in FORMATS}
        for i, number in enumerate(NUMBERS)
    }
    ctx.record(stored=table)
    return {
        "1/3 in bits (sign exponent fraction)": layout,
        "what each format stores": table,
        "largest": {name: float(d.max) for name, d in FORMATS.items()},
        "step from 1 to the next number": {
            "float32": 2.0**-23,
            "float16": 2.0**-10,
            "bfloat16": 2.0**-7,
        },
    }


@lesson.step("a gradient of 1e-9 in float16, with loss scaling, in bfloat16")
def loss_scaling(ctx):
    """Gradients are often tiny: here the loss is 1e-4 * w * x with x = 1e-5, so
    dloss/dw = 1e-9. Computed in float16 that product is below float16's smallest number
    (6e-8) and becomes 0: the weight never learns. Loss scaling multiplies the loss by
    2^15 before the backward pass (every gradient is then 32,768x larger, inside
    float16) and divides the gradient by 2^15 after it, in float32. Not 2^16: 65,536 is
    already past float16's largest number, 65,504, and the gradient would be inf (Keras's
    LossScaleOptimizer starts at 2^15 and lowers the scale when it sees inf). bfloat16 has
    float32's exponent: 1e-9 survives unscaled, with bfloat16's 2-3 digits. That is why
    float16 training needs loss scaling and bfloat16 training does not."""

    def gradient(dtype, scale=1.0):
        with tf.Graph().as_default():
            w = tf.Variable(1.0)  # the master weight: float32
            x = tf.cast(1e-5, dtype)
            loss = tf.cast(1e-4, dtype) * tf.cast(w, dtype) * x  # in dtype
            scaled = loss * tf.cast(scale, dtype)
            (grad,) = tf.gradients(scaled, [w])  # float32 again at the Cast
            with tf.Session() as sess:
                sess.run(w.initializer)
                return float(sess.run(grad / scale))  # unscaled in float32

    found = {
        "float32": gradient(tf.float32),
        "float16": gradient(tf.float16),
        "float16, loss x 2^15": gradient(tf.float16, LOSS_SCALE),
        "bfloat16": gradient(tf.bfloat16),
    }
    ctx.record(gradients=found)
    said = {
        name: f"{g:.4g} (off by {abs(g - 1e-9) / 1e-9:.1%})"
        if g
        else "lost (0.0)"
        for name, g in found.items()
    }
    return {"dloss/dw, exact: 1e-9": said}


@lesson.step(
    "the graph rewrite: one line of ConfigProto, and the ops it changed"
)
def rewrite(ctx):
    """Mixed precision on a CPU, the graph way: Grappler (TensorFlow's graph
    optimiser) rewrites the graph when the Session first runs it, if the
    ConfigProto asks, with one setting:

      options = config.graph_options.rewrite_options
      options.auto_mixed_precision_onednn_bfloat16 = RewriterConfig.ON

    The model code does not change. Convolutions, matrix products, their
    gradients and the cheap ops between them compute in bfloat16, with Cast ops
    at the borders; the Variables (the master weights Adam updates), the loss
    and the softmax stay float32. Here Grappler is asked directly, with that
    ConfigProto, for the graph a Session would run: TensorFlow's own entry
    point (tf_optimizer.OptimizeGraph), the same rewrite, nothing run yet. Count
    its ops by type and format. Which kernels then run those ops depends on the
    CPU: the next step measures it on this one."""
    with tf.Graph().as_default() as graph:
        tf.set_random_seed(SEED)
        images = tf.random_uniform([BATCH_SIZE, 28, 28, 1], seed=SEED)
        labels = tf.random_uniform([BATCH_SIZE], 0, 10, tf.int64, seed=SEED)
        logits, _ = lenet5(images, tf.constant(True), init="he")
        loss = tf.reduce_mean(
            tf.nn.sparse_softmax_cross_entropy_with_logits(
                labels=labels, logits=logits
            )
        )
        train_op = tf.train.AdamOptimizer(1e-3).minimize(loss)
    # the graph a Session with session_config("bfloat16") would run
    optimized = rewritten_graph(graph, keep=[train_op])
    changed = bfloat16_ops(optimized)  # {op type: count} in bfloat16
    float32 = tf.float32.as_datatype_enum
    kept = sorted(
        {
            n.op
            for n in optimized.node
            if n.attr["T"].type == float32
            and ("Adam" in n.op or "Softmax" in n.op)
        }
    )
    ctx.record(bfloat16_ops=sum(changed.values()))
    return {
        "ops in bfloat16": ", ".join(f"{op} {n}" for op, n in changed.items()),
        "still float32": ", ".join(kept),
    }


def lenet5_step():
    """Lesson 10's LeNet-5 and Adam step in the default graph, fed
    batches: {"x": [N, 28, 28, 1] images in 0-1, "y": [N] labels,
    "training": dropout on when fed True, "train_op", "right": [N] 1.0
    where the prediction is right, "weights": {name: Variable}, "init"}."""
    x = tf.placeholder(tf.float32, [None, 28, 28, 1], name="images")
    y = tf.placeholder(tf.int64, [None], name="labels")
    training = tf.placeholder_with_default(False, [], name="training")
    logits, weights = lenet5(x, training, init="he")
    loss = tf.reduce_mean(
        tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=y, logits=logits
        )
    )
    train_op = tf.train.AdamOptimizer(1e-3).minimize(loss)
    right = tf.cast(tf.equal(tf.argmax(logits, 1), y), tf.float32)
    init = tf.global_variables_initializer()
    return dict(x=x, y=y, training=training, train_op=train_op,
                right=right, weights=weights, init=init)


def train_both(ctx):
    """One graph, two Sessions: the ConfigProto alone decides the format.
    Same start, same batches; rounds of steps in turns, timed; then both
    models scored in float32 on the same test images."""
    print("   two Sessions of one LeNet-5 graph, float32 and bfloat16: "
          "a first step\n   in each (the rewrite happens then), untimed",
          flush=True)
    splits = load_splits(validation_size=0)
    n_test = TEST_IMAGES[ctx.mode]
    test_x = splits.test.images[:n_test].astype(np.float32) / 255.0
    test_y = splits.test.labels[:n_test]
    rng = np.random.RandomState(SEED)

    def batches(n):  # the same batches for both formats
        for _ in range(n):
            i = rng.randint(0, len(splits.train), BATCH_SIZE)
            yield {net["x"]: splits.train.images[i] / np.float32(255),
                   net["y"]: splits.train.labels[i], net["training"]: True}

    rates = {"float32": [], "bfloat16": []}
    with tf.Graph().as_default():
        tf.set_random_seed(SEED)  # both Sessions draw the same weights
        net = lenet5_step()
        with tf.Session(config=session_config("float32")) as fp32, \
                tf.Session(config=session_config("bfloat16")) as bf16:
            sessions = {"float32": fp32, "bfloat16": bf16}
            (first,) = batches(1)
            for sess in sessions.values():
                sess.run(net["init"])
                # the first run rewrites the graph, picks kernels: untimed
                sess.run(net["train_op"], first)
            print(f"   then rounds of {STEPS_PER_ROUND[ctx.mode]} steps, "
                  "timed, each format in turn", flush=True)
            for r in range(ROUNDS[ctx.mode]):
                feeds = list(batches(STEPS_PER_ROUND[ctx.mode]))
                order = ["float32", "bfloat16"][:: 1 if r % 2 else -1]
                for name in order:  # turns alternate: busy spells hit both
                    t0 = time.perf_counter()
                    for feed in feeds:
                        sessions[name].run(net["train_op"], feed)
                    seconds = time.perf_counter() - t0
                    images = len(feeds) * BATCH_SIZE
                    rates[name].append(round(images / seconds))
                print(f"   round {r + 1}/{ROUNDS[ctx.mode]}: float32 "
                      f"{rates['float32'][-1]:,} img/s, bfloat16 "
                      f"{rates['bfloat16'][-1]:,} img/s", flush=True)
            # both scored in float32: each model's weights loaded into the
            # float32 Session in turn, images 500 at a time
            right = {}
            for name, sess in sessions.items():
                trained = sess.run(net["weights"])
                for key, variable in net["weights"].items():
                    variable.load(trained[key], fp32)
                right[name] = np.concatenate([
                    fp32.run(net["right"], {net["x"]: test_x[i:i + 500],
                                            net["y"]: test_y[i:i + 500]})
                    for i in range(0, n_test, 500)
                ])
    speed = ctx.verdict(
        verdicts.speeds(
            "training images/s, bfloat16 vs float32",
            rates["bfloat16"],
            rates["float32"],
            names=("bfloat16", "float32"),
        )
    )
    same = ctx.verdict(
        verdicts.paired(
            "test accuracy, bfloat16 vs float32",
            right["bfloat16"],
            right["float32"],
            names=("bfloat16", "float32"),
        )
    )
    accuracy = {n: round(float(r.mean()), 4) for n, r in right.items()}
    steps = 1 + ROUNDS[ctx.mode] * STEPS_PER_ROUND[ctx.mode]
    ctx.record(
        rates=rates,
        steps=steps,
        float32_accuracy=accuracy["float32"],
        bfloat16_accuracy=accuracy["bfloat16"],
    )
    return {
        "images/s, mean of rounds": {
            name: round(np.mean(r)) for name, r in rates.items()
        },
        "speed": speed,
        f"test accuracy after {steps} steps ({n_test:,} images)": accuracy,
        "accuracy": same,
    }


def time_the_fallback(ctx):
    """bfloat16 on Eigen's fallback: timed, not trained."""
    # float32 here on oneDNN; the rewritten graph on Eigen in a helper
    # process; a round of each in turn
    def say(line):  # each part as it starts, each round as it ends
        print("   " + line, flush=True)

    found = timed_rounds(**FALLBACK, say=say)
    fp32_rates, eigen_rates = found["float32"], found["bfloat16 on Eigen"]
    # each round's ratio: a busy spell of the machine slows both alike
    ratios = np.array(eigen_rates) / np.array(fp32_rates)
    speed = ctx.verdict(
        verdicts.with_se(
            "speed of bfloat16 on Eigen as a fraction of float32's",
            float(ratios.mean()),
            1.0,  # as fast as float32
            float(ratios.std(ddof=1) / np.sqrt(len(ratios))),
            names=("bfloat16 on Eigen", "float32"),
            digits=3,
            ahead="faster than",
            kind="rounds",
            df=len(ratios) - 1,
        )
    )
    steps = 1 + ROUNDS[ctx.mode] * STEPS_PER_ROUND[ctx.mode]
    images = steps * BATCH_SIZE  # what train_both trains in each format
    seconds = {
        "float32": round(images / np.mean(fp32_rates)),
        "bfloat16 on Eigen": round(images / np.mean(eigen_rates)),
    }
    ctx.record(
        fallback_rounds=found,
        fallback_ratios=[round(r, 4) for r in ratios],
        fallback_seconds=seconds,
    )
    means = {
        "float32": round(np.mean(fp32_rates)),
        "bfloat16 on Eigen": round(np.mean(eigen_rates)),
    }
    return {
        "images/s, mean of rounds": means,
        "bfloat16 on Eigen, as a fraction of float32, by round": [
            round(r, 3) for r in ratios
        ],
        "speed": speed,
        f"seconds to train {steps} steps": seconds,
        "bfloat16 needs": "AVX-512 (oneDNN's kernels); faster than "
        "float32 only with avx512_bf16 or amx_bf16 units",
    }


@lesson.step("float32 against bfloat16 on this CPU: speed, and accuracy")
def compare(ctx):
    """What the rewrite buys depends on the CPU, so first the host, in one line.
    TensorFlow hands bfloat16 ops to oneDNN only on CPUs with AVX-512: oneDNN's
    bfloat16 kernels are written in AVX-512 instructions, and pay with bfloat16
    units (avx512_bf16 multiplies pairs of bfloat16 into float32 sums; AMX,
    amx_bf16, whole tiles). Anywhere else (AVX2 laptops, Apple Silicon)
    TensorFlow runs those ops on its generic Eigen kernels, about ten times
    slower than float32: there this step times a few rounds of a few steps of
    the rewritten graph on Eigen (in a helper process with oneDNN off, exactly
    that path) against float32, and trains nothing in bfloat16.
    Where bfloat16 trains: one graph of LeNet-5, two Sessions (one with the
    rewrite), the same initial weights and the same batches. Rounds of a few
    training steps take turns (so a busy moment of the machine hits both) and
    are timed; then the two models are scored in float32 on the same test
    images, image by image (a paired verdict: what both get right or both get
    wrong adds no noise). Each verdict is read from the numbers and their
    standard errors; under two standard errors it says "no difference beyond
    noise", which does not show the two are equal."""
    host = this_host()  # CPU flags, and ONEDNN_MAX_CPU_ISA if set
    print(f"   {host.line()}", flush=True)
    ctx.record(host=host.as_dict())
    if host.bfloat16_trains:  # oneDNN runs bfloat16 (native or emulated)
        return train_both(ctx)
    return time_the_fallback(ctx)


@lesson.step("the same idea in Keras 3: the mixed_bfloat16 policy")
def keras_policy(ctx):
    """Keras decides per layer: a dtype policy says what a layer computes in and what its
    weights are stored in. "mixed_bfloat16" computes in bfloat16 and keeps the weights
    float32 (the master weights again); the last layer is given dtype="float32" so the
    softmax and the loss stay float32, as the graph rewrite keeps them. The formats
    are read from the model's symbolic outputs (a model built from keras.Input
    knows them without running), so this step computes nothing in bfloat16 and
    is the same on every CPU. Keras runs eagerly: this step is outside any graph,
    and sets the policy back when done."""
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        model = keras.Sequential(
            [
                keras.Input((28, 28, 1)),
                keras.layers.Conv2D(8, 5, activation="relu"),
                keras.layers.Flatten(),
                keras.layers.Dense(10, dtype="float32"),
            ]
        )  # logits in float32
        conv, head = model.layers[0], model.layers[-1]
        found = {
            "conv computes in": conv.compute_dtype,
            "conv weights stored as": conv.kernel.dtype,
            "conv output": conv.output.dtype,  # symbolic: nothing runs
            "last layer computes in": head.compute_dtype,
            "logits": model.outputs[0].dtype,
        }
    finally:
        keras.mixed_precision.set_global_policy("float32")
    ctx.record(keras_policy=found)
    return found


if __name__ == "__main__":
    raise SystemExit(lesson.main())
